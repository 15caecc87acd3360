/*
 * map.h -- a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and tombstones; capacity is a power of
 * two kept under 70% load (tombstones included). Keys are copied into the map
 * (the map owns them); values are borrowed pointers the caller owns. Iteration
 * order is unspecified. Not thread-safe.
 */
#ifndef SL_BASE_MAP_H
#define SL_BASE_MAP_H

#include "base/common.h"
#include "base/str.h"

typedef struct sl_map_slot {
    char *key; /* NULL = empty; SL_MAP_TOMBSTONE = deleted */
    size_t key_len;
    uint64_t hash;
    void *value;
} sl_map_slot_t;

typedef struct sl_map {
    sl_map_slot_t *slots;
    size_t cap;  /* power of two, or 0 */
    size_t len;  /* live entries */
    size_t used; /* live + tombstones */
} sl_map_t;

void sl_map_init(sl_map_t *m);
/* Frees the keys and the table, not the values. */
void sl_map_deinit(sl_map_t *m);
void *sl_map_get(const sl_map_t *m, const void *key, size_t key_len);
/* Inserts or replaces; returns the previous value or NULL. */
void *sl_map_put(sl_map_t *m, const void *key, size_t key_len, void *value);
/* Removes; returns the removed value or NULL. */
void *sl_map_del(sl_map_t *m, const void *key, size_t key_len);

static inline void *
sl_map_get_str(const sl_map_t *m, sl_str_t s)
{
    return s.len < 0 ? NULL : sl_map_get(m, s.ptr, (size_t)s.len);
}

static inline void *
sl_map_get_c(const sl_map_t *m, const char *s)
{
    return sl_map_get(m, s, strlen(s));
}

/* Iteration: for (size_t i = 0; sl_map_next(m, &i, &slot);) ... Safe against
 * deleting the current entry, not against inserting. */
bool sl_map_next(const sl_map_t *m, size_t *iter, const sl_map_slot_t **slot);

uint64_t sl_hash_bytes(const void *p, size_t n);

#endif
