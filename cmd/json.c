/*
 * json.c -- the streaming JSON writer behind --json (see json.h).
 */
#include "json.h"

#include <math.h>

void
sl_json_init(sl_json_t *j, FILE *out)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
    size_t len;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

static void
write_string(FILE *out, const uint8_t *p, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        uint8_t ch = p[i];
        size_t len;
        if (ch == '"' || ch == '\\') {
            fputc('\\', out);
            fputc(ch, out);
            i++;
        } else if (ch == '\n') {
            fputs("\\n", out);
            i++;
        } else if (ch == '\t') {
            fputs("\\t", out);
            i++;
        } else if (ch == '\r') {
            fputs("\\r", out);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(out, "\\u%04x", ch);
            i++;
        } else if ((len = utf8_len(p + i, n - i)) > 0) {
            fwrite(p + i, 1, len, out);
            i += len;
        } else {
            fprintf(out, "\\u%04x", ch);
            i++;
        }
    }
    fputc('"', out);
}

/* Comma and key before a value. */
static void
pre(sl_json_t *j, const char *key)
{
    if (j->depth > 0 && j->comma[j->depth])
        fputc(',', j->out);
    j->comma[j->depth] = true;
    if (key) {
        write_string(j->out, (const uint8_t *)key, strlen(key));
        fputc(':', j->out);
    }
}

static void
post(sl_json_t *j)
{
    if (j->depth == 0) {
        fputc('\n', j->out);
        j->comma[0] = false;
    }
}

static void
open_(sl_json_t *j, const char *key, char ch)
{
    pre(j, key);
    fputc(ch, j->out);
    SL_ASSERT(j->depth + 1 < SL_JSON_MAX_DEPTH);
    j->depth++;
    j->comma[j->depth] = false;
}

static void
close_(sl_json_t *j, char ch)
{
    SL_ASSERT(j->depth > 0);
    fputc(ch, j->out);
    j->depth--;
    post(j);
}

void
sl_json_obj(sl_json_t *j, const char *key)
{
    open_(j, key, '{');
}

void
sl_json_end_obj(sl_json_t *j)
{
    close_(j, '}');
}

void
sl_json_arr(sl_json_t *j, const char *key)
{
    open_(j, key, '[');
}

void
sl_json_end_arr(sl_json_t *j)
{
    close_(j, ']');
}

void
sl_json_str(sl_json_t *j, const char *key, const char *v)
{
    sl_json_strn(j, key, v, v ? strlen(v) : 0);
}

void
sl_json_strn(sl_json_t *j, const char *key, const void *p, size_t n)
{
    pre(j, key);
    if (p)
        write_string(j->out, p, n);
    else
        fputs("null", j->out);
    post(j);
}

void
sl_json_int(sl_json_t *j, const char *key, int64_t v)
{
    pre(j, key);
    fprintf(j->out, "%lld", (long long)v);
    post(j);
}

void
sl_json_num(sl_json_t *j, const char *key, double v)
{
    pre(j, key);
    if (isfinite(v))
        fprintf(j->out, "%.3f", v);
    else
        fputs("null", j->out);
    post(j);
}

void
sl_json_bool(sl_json_t *j, const char *key, bool v)
{
    pre(j, key);
    fputs(v ? "true" : "false", j->out);
    post(j);
}

void
sl_json_null(sl_json_t *j, const char *key)
{
    pre(j, key);
    fputs("null", j->out);
    post(j);
}
