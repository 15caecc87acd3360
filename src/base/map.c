/*
 * map.c -- open-addressing hash map; see map.h.
 */
#include "base/map.h"

static char tombstone_mark;
#define SL_MAP_TOMBSTONE (&tombstone_mark)

uint64_t
sl_hash_bytes(const void *p, size_t n)
{
    /* FNV-1a with a final avalanche: keys are short (topic and group names). */
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

void
sl_map_init(sl_map_t *m)
{
    memset(m, 0, sizeof(*m));
}

void
sl_map_deinit(sl_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key && m->slots[i].key != SL_MAP_TOMBSTONE)
            free(m->slots[i].key);
    }
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static sl_map_slot_t *
find(const sl_map_t *m, const void *key, size_t key_len, uint64_t h)
{
    size_t mask = m->cap - 1;

    if (m->cap == 0)
        return NULL;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        sl_map_slot_t *s = &m->slots[i];

        if (s->key == NULL)
            return NULL;
        if (s->key != SL_MAP_TOMBSTONE && s->hash == h && s->key_len == key_len &&
            memcmp(s->key, key, key_len) == 0)
            return s;
    }
}

static void
grow(sl_map_t *m)
{
    sl_map_slot_t *old = m->slots;
    size_t old_cap = m->cap;
    size_t cap = 16;

    /* Rehash to at most 50% load; a table full of tombstones may stay the same size. */
    while ((m->len + 1) * 2 > cap)
        cap *= 2;
    m->slots = sl_xcalloc(cap, sizeof(*m->slots));
    m->cap = cap;
    m->used = m->len;
    for (size_t i = 0; i < old_cap; i++) {
        sl_map_slot_t *s = &old[i];

        if (s->key == NULL || s->key == SL_MAP_TOMBSTONE)
            continue;
        for (size_t j = s->hash & (cap - 1);; j = (j + 1) & (cap - 1)) {
            if (m->slots[j].key == NULL) {
                m->slots[j] = *s;
                break;
            }
        }
    }
    free(old);
}

void *
sl_map_get(const sl_map_t *m, const void *key, size_t key_len)
{
    sl_map_slot_t *s = find(m, key, key_len, sl_hash_bytes(key, key_len));

    return s ? s->value : NULL;
}

void *
sl_map_put(sl_map_t *m, const void *key, size_t key_len, void *value)
{
    uint64_t h = sl_hash_bytes(key, key_len);
    sl_map_slot_t *s = find(m, key, key_len, h);
    size_t mask;

    if (s) {
        void *prev = s->value;

        s->value = value;
        return prev;
    }
    if ((m->used + 1) * 10 > m->cap * 7)
        grow(m);
    mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s = &m->slots[i];
        if (s->key == NULL || s->key == SL_MAP_TOMBSTONE) {
            if (s->key == NULL)
                m->used++;
            s->key = sl_xstrndup(key, key_len);
            s->key_len = key_len;
            s->hash = h;
            s->value = value;
            m->len++;
            return NULL;
        }
    }
}

void *
sl_map_del(sl_map_t *m, const void *key, size_t key_len)
{
    sl_map_slot_t *s = find(m, key, key_len, sl_hash_bytes(key, key_len));
    void *prev;

    if (s == NULL)
        return NULL;
    prev = s->value;
    free(s->key);
    s->key = SL_MAP_TOMBSTONE;
    s->value = NULL;
    m->len--;
    return prev;
}

bool
sl_map_next(const sl_map_t *m, size_t *iter, const sl_map_slot_t **slot)
{
    while (*iter < m->cap) {
        const sl_map_slot_t *s = &m->slots[(*iter)++];

        if (s->key && s->key != SL_MAP_TOMBSTONE) {
            *slot = s;
            return true;
        }
    }
    return false;
}
