/*
 * buf.c -- growable byte buffer.
 */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

void
sl_buf_init(sl_buf_t *b)
{
    *b = SL_BUF_INIT;
}

void
sl_buf_deinit(sl_buf_t *b)
{
    free(b->data);
    *b = SL_BUF_INIT;
}

void
sl_buf_reserve(sl_buf_t *b, size_t extra)
{
    size_t need = b->len + extra;
    size_t cap;

    SL_ASSERT(need >= b->len);
    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = sl_xrealloc(b->data, cap);
    b->cap = cap;
}

void
sl_buf_append(sl_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    sl_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

uint8_t *
sl_buf_extend(sl_buf_t *b, size_t n)
{
    uint8_t *p;

    sl_buf_reserve(b, n);
    p = b->data + b->len;
    b->len += n;
    return p;
}

void
sl_buf_reset(sl_buf_t *b)
{
    b->len = 0;
}

uint8_t *
sl_buf_take(sl_buf_t *b, size_t *len)
{
    uint8_t *p = b->data;

    if (len)
        *len = b->len;
    *b = SL_BUF_INIT;
    return p;
}
