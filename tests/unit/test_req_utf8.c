/*
 * test_req_utf8.c -- the UTF-8 check behind reading request strings as
 * Kafka does (src/broker/req_utf8.c): RFC 3629 exactly.
 */
#include "test.h"

#include "broker/broker_int.h"

static bool
valid(const char *s, size_t n)
{
    return sl_utf8_valid((const uint8_t *)s, n);
}

SL_TEST(utf8_accepts_well_formed_text)
{
    SL_CHECK(valid("", 0));
    SL_CHECK(valid("topic-1", 7));
    SL_CHECK(valid("\xC3\xA9", 2));         /* U+00E9 */
    SL_CHECK(valid("\xE2\x82\xAC", 3));     /* U+20AC */
    SL_CHECK(valid("\xEF\xBF\xBD", 3));     /* U+FFFD */
    SL_CHECK(valid("\xF0\x9F\x98\x80", 4)); /* U+1F600 */
    SL_CHECK(valid("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
    SL_CHECK(valid("a\0b", 3));             /* NUL is a character */
}

SL_TEST(utf8_refuses_what_java_replaces)
{
    SL_CHECK(!valid("\xFF", 1));
    SL_CHECK(!valid("\x80", 1));             /* lone continuation */
    SL_CHECK(!valid("\xC3", 1));             /* truncated */
    SL_CHECK(!valid("\xE2\x82", 2));         /* truncated */
    SL_CHECK(!valid("\xC0\xAF", 2));         /* overlong '/' */
    SL_CHECK(!valid("\xE0\x80\xAF", 3));     /* overlong */
    SL_CHECK(!valid("\xF0\x80\x80\xAF", 4)); /* overlong */
    SL_CHECK(!valid("\xED\xA0\x80", 3));     /* surrogate U+D800 */
    SL_CHECK(!valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
    SL_CHECK(!valid("\xF5\x80\x80\x80", 4));
    SL_CHECK(!valid("ok\xC3(", 4)); /* bad continuation */
}
