/*
 * topic_name.c -- Kafka's topic name rules.
 *
 * A name is 1-249 characters of [a-zA-Z0-9._-] and not "." or "..". Kafka
 * turns topic names into metric names with '.' replaced by '_', so two
 * topics that differ only there ("a.b" and "a_b") collide; it refuses to
 * create the second one, and so does the store (sl_topics_create).
 */
#include "admin/admin_int.h"

static bool
legal_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int
sl_topic_name_validate(sl_str_t name, sl_errbuf_t *err)
{
    int shown = (int)SL_MIN(SL_MAX(name.len, 0), 300);

    if (name.len <= 0)
        return sl_errbuf_set(err, SL_EINVALID_TOPIC, "Topic name is illegal, it can't be empty");
    if (sl_str_eq_c(name, ".") || sl_str_eq_c(name, ".."))
        return sl_errbuf_set(err, SL_EINVALID_TOPIC, "Topic name cannot be \".\" or \"..\"");
    if (name.len > SL_TOPIC_NAME_MAX)
        return sl_errbuf_set(err, SL_EINVALID_TOPIC,
                             "Topic name is illegal, it can't be longer than %d characters, "
                             "topic name: %.*s",
                             SL_TOPIC_NAME_MAX, shown, name.ptr);
    for (int32_t i = 0; i < name.len; i++) {
        if (!legal_char(name.ptr[i]))
            return sl_errbuf_set(err, SL_EINVALID_TOPIC,
                                 "Topic name \"%.*s\" is illegal, it contains a character other "
                                 "than ASCII alphanumerics, '.', '_' and '-'",
                                 shown, name.ptr);
    }
    return SL_OK;
}

bool
sl_topic_name_is_internal(sl_str_t name)
{
    return sl_str_eq_c(name, SL_TOPIC_OFFSETS) || sl_str_eq_c(name, SL_TOPIC_TRANSACTIONS);
}

bool
sl_topic_name_has_collision_chars(sl_str_t name)
{
    for (int32_t i = 0; i < name.len; i++) {
        if (name.ptr[i] == '.' || name.ptr[i] == '_')
            return true;
    }
    return false;
}

bool
sl_topic_name_collide(sl_str_t a, sl_str_t b)
{
    if (a.len != b.len || a.len <= 0 || sl_str_eq(a, b))
        return false;
    for (int32_t i = 0; i < a.len; i++) {
        char x = a.ptr[i] == '.' ? '_' : a.ptr[i];
        char y = b.ptr[i] == '.' ? '_' : b.ptr[i];

        if (x != y)
            return false;
    }
    return true;
}
