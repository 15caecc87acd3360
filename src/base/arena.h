/*
 * arena.h -- a bump allocator for per-request memory (nginx's r->pool).
 *
 * A request owns one arena: the decoded request, the response and scratch
 * data live in it and are released together by sl_arena_reset. Nothing in an
 * arena is freed one by one. Blocks grow geometrically; a large allocation
 * gets its own block. Not thread-safe: one owner at a time.
 */
#ifndef SL_BASE_ARENA_H
#define SL_BASE_ARENA_H

#include "base/common.h"
#include "base/str.h"

typedef struct sl_arena_block sl_arena_block_t;

typedef struct sl_arena {
    sl_arena_block_t *head;
    size_t block_size; /* size of the next ordinary block */
    size_t total;      /* bytes handed out since the last reset */
} sl_arena_t;

void sl_arena_init(sl_arena_t *a, size_t first_block);
void sl_arena_deinit(sl_arena_t *a);
/* Frees every block but the first and rewinds it. */
void sl_arena_reset(sl_arena_t *a);
/* 16-byte aligned, uninitialised. Never NULL (aborts on OOM). */
void *sl_arena_alloc(sl_arena_t *a, size_t n);
void *sl_arena_zalloc(sl_arena_t *a, size_t n);
/* Array of count elements; count * size must not overflow (asserted). */
void *sl_arena_array(sl_arena_t *a, size_t count, size_t size);
void *sl_arena_memdup(sl_arena_t *a, const void *p, size_t n);
/* NUL-terminated copy of a view; NULL for a null view. */
char *sl_arena_strdup(sl_arena_t *a, sl_str_t s);
char *sl_arena_printf(sl_arena_t *a, const char *fmt, ...) SL_PRINTF(2, 3);

#endif
