/*
 * arena.c -- bump allocator; see arena.h.
 */
#include "base/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_arena_block {
    sl_arena_block_t *next;
    size_t size;
    size_t used;
    max_align_t data[];
};

#define ARENA_ALIGN 16

static sl_arena_block_t *
block_new(size_t size)
{
    sl_arena_block_t *b = sl_xmalloc(sizeof(*b) + size);

    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void
sl_arena_init(sl_arena_t *a, size_t first_block)
{
    a->block_size = first_block ? first_block : 4096;
    a->head = NULL;
    a->total = 0;
}

void
sl_arena_deinit(sl_arena_t *a)
{
    sl_arena_block_t *b = a->head, *next;

    for (; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->total = 0;
}

void
sl_arena_reset(sl_arena_t *a)
{
    sl_arena_block_t *b, *last = NULL, *next;

    /* Keep the oldest block (the tail of the list) and free the rest. */
    for (b = a->head; b; b = next) {
        next = b->next;
        if (next == NULL)
            last = b;
        else
            free(b);
    }
    a->head = last;
    if (last) {
        last->used = 0;
        last->next = NULL;
    }
    a->total = 0;
}

void *
sl_arena_alloc(sl_arena_t *a, size_t n)
{
    sl_arena_block_t *b = a->head;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    SL_ASSERT(need >= n);
    if (b == NULL || b->size - b->used < need) {
        size_t size = a->block_size;

        if (need > size / 2) {
            /* Large: own block, linked behind the head so the head keeps its space. */
            sl_arena_block_t *big = block_new(need);

            big->used = need;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            a->total += need;
            return big->data;
        }
        b = block_new(size);
        b->next = a->head;
        a->head = b;
        if (a->block_size < (1u << 20))
            a->block_size *= 2;
    }
    p = (char *)b->data + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *
sl_arena_zalloc(sl_arena_t *a, size_t n)
{
    void *p = sl_arena_alloc(a, n);

    memset(p, 0, n);
    return p;
}

void *
sl_arena_array(sl_arena_t *a, size_t count, size_t size)
{
    SL_ASSERT(size == 0 || count <= SIZE_MAX / size);
    return sl_arena_zalloc(a, count * size);
}

void *
sl_arena_memdup(sl_arena_t *a, const void *p, size_t n)
{
    void *d = sl_arena_alloc(a, n);

    if (n)
        memcpy(d, p, n);
    return d;
}

char *
sl_arena_strdup(sl_arena_t *a, sl_str_t s)
{
    char *d;

    if (s.len < 0)
        return NULL;
    d = sl_arena_alloc(a, (size_t)s.len + 1);
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

char *
sl_arena_printf(sl_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *d;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    SL_ASSERT(n >= 0);
    d = sl_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}
