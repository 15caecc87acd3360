/*
 * req_utf8.c -- Kafka strings are UTF-8; a decoded request whose strings
 * are not is made to read the way Kafka's Java decoder reads it: every
 * malformed sequence becomes U+FFFD (the replacement character). Handlers
 * then never see, store or echo raw non-UTF-8 bytes, and a topic name that
 * held them is simply an illegal name (U+FFFD is outside [a-zA-Z0-9._-]),
 * which gets INVALID_TOPIC_EXCEPTION wherever names are checked.
 *
 * One walk over the decoded message, guided by the same descriptor tables
 * the codec uses: linear in the request's size. Only strings that fail the
 * check are copied (into the request's arena).
 */
#include "broker/broker_int.h"

#define REPLACEMENT     "\xEF\xBF\xBD"
#define REPLACEMENT_LEN 3

/* Length of the well-formed UTF-8 sequence at p[0..n), or 0 if it is not
 * one (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    }
    return len;
}

bool
sl_utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);

        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* The replaced copy of s in the arena, cut at a character boundary so it
 * still fits a Kafka string (INT16_MAX bytes). */
static sl_str_t
utf8_replace(sl_str_t s, sl_arena_t *a)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = (size_t)s.len, cap = SL_MIN(n * REPLACEMENT_LEN, (size_t)INT16_MAX);
    char *out = sl_arena_alloc(a, cap > 0 ? cap : 1);
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        const char *src = k ? (const char *)p + i : REPLACEMENT;
        size_t w = k ? k : REPLACEMENT_LEN;

        if (o + w > cap)
            break;
        memcpy(out + o, src, w);
        o += w;
        i += k ? k : 1;
    }
    return (sl_str_t){out, (int32_t)o};
}

static bool sanitize_struct(const sl_kstruct_t *sd, uint8_t *p, sl_arena_t *a, int depth);

/* One value of f's kind at p (an array element or a plain field). */
static bool
sanitize_value(const sl_kfield_t *f, uint8_t *p, sl_arena_t *a, int depth)
{
    if (f->kind == SL_KK_STRING) {
        sl_str_t *s = (sl_str_t *)p;

        if (s->len <= 0 || sl_utf8_valid((const uint8_t *)s->ptr, (size_t)s->len))
            return false;
        *s = utf8_replace(*s, a);
        return true;
    }
    if (f->kind != SL_KK_STRUCT)
        return false;
    if (f->flags & SL_KF_PTR) {
        uint8_t *q;

        memcpy(&q, p, sizeof(q));
        return q != NULL && sanitize_struct(f->child, q, a, depth + 1);
    }
    return sanitize_struct(f->child, p, a, depth + 1);
}

static size_t
elem_size(const sl_kfield_t *f)
{
    /* As the decoder lays arrays out: strings or inline structs. */
    return f->kind == SL_KK_STRING ? sizeof(sl_str_t) : f->child->size;
}

static bool
sanitize_struct(const sl_kstruct_t *sd, uint8_t *p, sl_arena_t *a, int depth)
{
    bool any = false;

    if (depth > SL_KMAX_DEPTH)
        return false; /* the decoder refuses deeper messages anyway */
    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];
        sl_karray_t arr;

        if (f->kind != SL_KK_STRING && f->kind != SL_KK_STRUCT)
            continue;
        if (!(f->flags & SL_KF_ARRAY)) {
            any |= sanitize_value(f, p + f->offset, a, depth);
            continue;
        }
        memcpy(&arr, p + f->offset, sizeof(arr));
        for (int32_t j = 0; j < arr.len; j++)
            any |= sanitize_value(f, (uint8_t *)arr.items + (size_t)j * elem_size(f), a, depth);
    }
    return any;
}

bool
sl_req_sanitize_utf8(sl_req_t *req)
{
    sl_str_t *cid = &req->hdr.client_id;
    bool any = false;

    /* The header's client id is echoed too (DescribeGroups members). */
    if (cid->len > 0 && !sl_utf8_valid((const uint8_t *)cid->ptr, (size_t)cid->len)) {
        *cid = utf8_replace(*cid, &req->arena);
        any = true;
    }
    return sanitize_struct(req->desc->request->root, req->body, &req->arena, 0) || any;
}
