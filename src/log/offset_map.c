/*
 * offset_map.c -- the cleaner's dedupe map: key hash -> latest offset, open
 * addressing with linear probing. Bounded by log.cleaner.dedupe.buffer.size
 * (per cleaner thread) and log.cleaner.io.buffer.load.factor, like Kafka's
 * SkimpyOffsetMap; it starts small and doubles up to that bound so a small
 * log does not cost the whole buffer.
 */
#include "log/cleaner_int.h"

#define OMAP_MIN_SLOTS 1024u

/* Two independent 64-bit hashes (FNV-1a with different bases, then a
 * splitmix64 finaliser): 128 bits, so a collision is as unlikely as with
 * Kafka's MD5. */
static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static void
key_hash(const uint8_t *key, size_t len, uint64_t *h1, uint64_t *h2)
{
    uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull ^ (uint64_t)len;

    for (size_t i = 0; i < len; i++) {
        a = (a ^ key[i]) * 0x100000001b3ull;
        b = (b ^ key[i]) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
    *h1 = mix64(a ^ (uint64_t)len);
    *h2 = mix64(b) | 1; /* never both zero: zero marks an empty slot */
}

void
sl_omap_init(sl_omap_t *m, size_t max_bytes, double load_factor)
{
    size_t max_slots = OMAP_MIN_SLOTS;

    memset(m, 0, sizeof(*m));
    while (max_slots * 2 * sizeof(sl_omap_entry_t) <= max_bytes)
        max_slots *= 2;
    m->max_slots = max_slots;
    m->load_factor = load_factor > 0 && load_factor <= 1 ? load_factor : 0.9;
}

void
sl_omap_deinit(sl_omap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

void
sl_omap_release(sl_omap_t *m)
{
    free(m->slots);
    m->slots = NULL;
    m->nslots = 0;
    m->count = 0;
}

void
sl_omap_clear(sl_omap_t *m)
{
    if (m->slots != NULL)
        memset(m->slots, 0, m->nslots * sizeof(*m->slots));
    m->count = 0;
}

size_t
sl_omap_capacity(const sl_omap_t *m)
{
    return (size_t)((double)m->max_slots * m->load_factor);
}

static sl_omap_entry_t *
probe(sl_omap_entry_t *slots, size_t nslots, uint64_t h1, uint64_t h2)
{
    size_t i = (size_t)h1 & (nslots - 1);

    while (slots[i].h1 != h1 || slots[i].h2 != h2) {
        if (slots[i].h2 == 0)
            return &slots[i];
        i = (i + 1) & (nslots - 1);
    }
    return &slots[i];
}

static void
grow(sl_omap_t *m)
{
    size_t n = m->nslots ? m->nslots * 2 : OMAP_MIN_SLOTS;
    sl_omap_entry_t *slots = sl_xcalloc(n, sizeof(*slots));

    for (size_t i = 0; i < m->nslots; i++) {
        if (m->slots[i].h2 != 0)
            *probe(slots, n, m->slots[i].h1, m->slots[i].h2) = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
}

int
sl_omap_put(sl_omap_t *m, const uint8_t *key, size_t len, int64_t offset)
{
    uint64_t h1, h2;
    sl_omap_entry_t *e;

    key_hash(key, len, &h1, &h2);
    if (m->slots == NULL)
        grow(m);
    e = probe(m->slots, m->nslots, h1, h2);
    if (e->h2 != 0) {
        if (offset > e->offset)
            e->offset = offset;
        return SL_OK;
    }
    if ((double)(m->count + 1) > (double)m->nslots * m->load_factor) {
        if (m->nslots >= m->max_slots)
            return SL_ETOOBIG;
        grow(m);
        e = probe(m->slots, m->nslots, h1, h2);
    }
    e->h1 = h1;
    e->h2 = h2;
    e->offset = offset;
    m->count++;
    return SL_OK;
}

int64_t
sl_omap_get(const sl_omap_t *m, const uint8_t *key, size_t len)
{
    uint64_t h1, h2;
    const sl_omap_entry_t *e;

    if (m->slots == NULL)
        return -1;
    key_hash(key, len, &h1, &h2);
    e = probe(m->slots, m->nslots, h1, h2);
    return e->h2 != 0 ? e->offset : -1;
}
