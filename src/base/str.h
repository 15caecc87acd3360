/*
 * str.h -- borrowed string and byte views.
 *
 * A view points into memory somebody else owns (usually a frame in a
 * connection's rx buffer, or an arena). len == -1 means "null" in Kafka's
 * sense (nullable string/bytes); len == 0 is the empty value. Copy a view with
 * sl_str_dup before keeping it past the owner's lifetime.
 */
#ifndef SL_BASE_STR_H
#define SL_BASE_STR_H

#include "base/common.h"

#include <string.h>

typedef struct sl_str {
    const char *ptr;
    int32_t len; /* -1 = null */
} sl_str_t;

typedef struct sl_bytes {
    const uint8_t *ptr;
    int32_t len; /* -1 = null */
} sl_bytes_t;

#define SL_STR_NULL   ((sl_str_t){NULL, -1})
#define SL_STR_LIT(s) ((sl_str_t){(s), (int32_t)(sizeof(s) - 1)})
#define SL_BYTES_NULL ((sl_bytes_t){NULL, -1})

static inline sl_str_t
sl_str_c(const char *s)
{
    return s ? (sl_str_t){s, (int32_t)strlen(s)} : SL_STR_NULL;
}

static inline bool
sl_str_is_null(sl_str_t s)
{
    return s.len < 0;
}

static inline bool
sl_str_eq(sl_str_t a, sl_str_t b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

static inline bool
sl_str_eq_c(sl_str_t a, const char *c)
{
    return sl_str_eq(a, sl_str_c(c));
}

/* Heap copy, NUL-terminated; NULL for a null view. Caller frees. */
char *sl_str_dup(sl_str_t s);

#endif
