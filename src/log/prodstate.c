/*
 * prodstate.c -- producer state of a partition: the idempotence checks of
 * Kafka's ProducerAppendInfo (epoch, sequence, duplicates of the last 5
 * batches), the table they run against, expiry, and the ProducerSnapshot
 * v1 encoding. Files and the rebuild from the log are in psnap.c.
 *
 * Snapshot layout (big-endian, Kafka's ProducerSnapshot.json, version 1):
 *
 *   version i16 (= 1) | crc u32 | count i32 | count x entry
 *   entry: producerId i64, epoch i16, lastSequence i32, lastOffset i64,
 *          offsetDelta i32, timestamp i64, coordinatorEpoch i32,
 *          currentTxnFirstOffset i64                       (46 bytes)
 *
 * crc is CRC-32C of every byte after it (from the count on). Only the last
 * batch of each producer is stored, as Kafka does: after a load from a
 * snapshot alone, a retry of an older in-flight batch is no longer
 * recognised (the replay of the log past the snapshot restores the rest).
 */
#include "log/prodstate.h"

#include "base/crc32c.h"
#include "base/log.h"
#include "proto/wire.h"

/* ======================================================================
 * The table
 * ====================================================================== */

sl_prodstate_t *
sl_prodstate_new(void)
{
    sl_prodstate_t *ps = sl_xcalloc(1, sizeof(*ps));

    sl_map_init(&ps->by_id);
    return ps;
}

void
sl_prodstate_clear(sl_prodstate_t *ps)
{
    size_t it = 0;
    const sl_map_slot_t *s;

    while (sl_map_next(&ps->by_id, &it, &s))
        free(s->value);
    sl_map_deinit(&ps->by_id);
    sl_map_init(&ps->by_id);
}

void
sl_prodstate_free(sl_prodstate_t *ps)
{
    if (ps == NULL)
        return;
    sl_prodstate_clear(ps);
    sl_map_deinit(&ps->by_id);
    free(ps);
}

size_t
sl_prodstate_count(const sl_prodstate_t *ps)
{
    return ps->by_id.len;
}

sl_pentry_t *
sl_prodstate_get(const sl_prodstate_t *ps, int64_t producer_id)
{
    return sl_map_get(&ps->by_id, &producer_id, sizeof(producer_id));
}

void
sl_prodstate_put(sl_prodstate_t *ps, const sl_pentry_t *e)
{
    sl_pentry_t *cur = sl_prodstate_get(ps, e->producer_id);

    if (cur == NULL) {
        cur = sl_xmalloc(sizeof(*cur));
        sl_map_put(&ps->by_id, &e->producer_id, sizeof(e->producer_id), cur);
    }
    *cur = *e;
}

void
sl_pentry_init(sl_pentry_t *e, int64_t producer_id)
{
    memset(e, 0, sizeof(*e));
    e->producer_id = producer_id;
    e->epoch = -1;
    e->coordinator_epoch = -1;
    e->txn_first_offset = -1;
    e->last_timestamp = -1;
}

size_t
sl_prodstate_expire(sl_prodstate_t *ps, int64_t now_ms, int64_t expiration_ms)
{
    size_t it = 0, n = 0, nold = 0;
    const sl_map_slot_t *s;
    int64_t *old = NULL;

    /* Collect first: deleting while iterating would skip slots. */
    while (sl_map_next(&ps->by_id, &it, &s)) {
        const sl_pentry_t *e = s->value;

        if (e->txn_first_offset < 0 && now_ms - e->last_timestamp >= expiration_ms) {
            old = sl_xrealloc(old, (nold + 1) * sizeof(*old));
            old[nold++] = e->producer_id;
        }
    }
    for (size_t i = 0; i < nold; i++) {
        free(sl_map_del(&ps->by_id, &old[i], sizeof(old[i])));
        n++;
    }
    free(old);
    return n;
}

/* ======================================================================
 * Checks (Kafka 3.9's ProducerAppendInfo for data batches)
 * ====================================================================== */

int32_t
sl_prodstate_seq_add(int32_t seq, int32_t delta)
{
    if (seq > INT32_MAX - delta)
        return delta - (INT32_MAX - seq) - 1;
    return seq + delta;
}

int32_t
sl_prodstate_seq_sub(int32_t seq, int32_t delta)
{
    if (seq < delta)
        return INT32_MAX - (delta - seq) + 1;
    return seq - delta;
}

static bool
in_sequence(int32_t last, int32_t next)
{
    return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

int
sl_prodstate_check(const sl_pentry_t *e, int16_t epoch, int32_t first_seq, int32_t last_seq,
                   const sl_pbatch_t **dup)
{
    *dup = NULL;
    if (first_seq < 0)
        return SL_EOUT_OF_ORDER_SEQUENCE;
    if (e == NULL || e->epoch < 0)
        return epoch < 0 ? SL_EINVALID_PRODUCER_EPOCH : SL_OK;
    if (epoch == e->epoch) {
        for (int i = 0; i < e->nbatches; i++) {
            if (e->batches[i].first_seq == first_seq && e->batches[i].last_seq == last_seq) {
                *dup = &e->batches[i];
                return SL_EEXIST;
            }
        }
    }
    if (epoch < e->epoch)
        return SL_EINVALID_PRODUCER_EPOCH;
    if (epoch != e->epoch)
        return first_seq == 0 ? SL_OK : SL_EOUT_OF_ORDER_SEQUENCE;
    /* Same epoch with no batch retained (a snapshot entry without data,
     * lastSequence -1): Kafka expects the sequence after -1, i.e. 0. */
    if (e->nbatches == 0)
        return first_seq == 0 ? SL_OK : SL_EOUT_OF_ORDER_SEQUENCE;
    return in_sequence(e->batches[e->nbatches - 1].last_seq, first_seq) ? SL_OK
                                                                        : SL_EOUT_OF_ORDER_SEQUENCE;
}

void
sl_pentry_add_batch(sl_pentry_t *e, int16_t epoch, const sl_pbatch_t *b)
{
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->nbatches = 0;
    }
    if (e->nbatches == SL_PSTATE_BATCHES) {
        memmove(e->batches, e->batches + 1, (SL_PSTATE_BATCHES - 1) * sizeof(*b));
        e->nbatches--;
    }
    e->batches[e->nbatches++] = *b;
    e->last_timestamp = b->timestamp;
}

/* ======================================================================
 * Appends
 * ====================================================================== */

sl_prodstate_t *
sl_prodstate_of(sl_plog_t *pl)
{
    if (pl->pstate == NULL)
        pl->pstate = sl_prodstate_new();
    return pl->pstate;
}

static sl_pentry_t *
work_entry(sl_plog_t *pl, sl_prodstate_update_t *up, size_t cap, int64_t producer_id)
{
    const sl_pentry_t *cur;

    for (size_t i = 0; i < up->n; i++) {
        if (up->work[i].producer_id == producer_id)
            return &up->work[i];
    }
    SL_ASSERT(up->n < cap);
    cur = pl->pstate != NULL ? sl_prodstate_get(pl->pstate, producer_id) : NULL;
    if (cur != NULL)
        up->work[up->n] = *cur;
    else
        sl_pentry_init(&up->work[up->n], producer_id);
    return &up->work[up->n++];
}

static size_t
count_producer_batches(const uint8_t *buf, size_t len)
{
    size_t off = 0, n = 0;

    while (off < len) {
        int64_t pid = (int64_t)sl_be64(buf + off + SL_BATCH_OFF_PRODUCER_ID);

        n += pid >= 0;
        off += (size_t)sl_be32(buf + off + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;
    }
    return n;
}

static void
batch_meta(const sl_batch_hdr_t *h, int64_t first_offset, sl_pbatch_t *b)
{
    b->first_seq = h->base_sequence;
    b->last_seq = sl_prodstate_seq_add(h->base_sequence, h->last_offset_delta);
    b->first_offset = first_offset;
    b->last_offset = first_offset + h->last_offset_delta;
    b->timestamp = h->max_timestamp;
}

static int
check_client_batch(const sl_pentry_t *e, const sl_batch_hdr_t *h, const sl_pbatch_t *b,
                   sl_pbatch_t *dup)
{
    const sl_pbatch_t *d;
    int rc;

    if (h->attributes & SL_ATTR_TRANSACTIONAL)
        return SL_EINVALID_TXN_STATE;
    rc = sl_prodstate_check(e, h->producer_epoch, b->first_seq, b->last_seq, &d);
    if (rc == SL_EEXIST)
        *dup = *d;
    return rc;
}

int
sl_prodstate_prepare(sl_plog_t *pl, sl_append_origin_t origin, const uint8_t *buf, size_t len,
                     int64_t first_offset, sl_prodstate_update_t *up, sl_pbatch_t *dup)
{
    size_t cap = count_producer_batches(buf, len), off = 0;
    int64_t next = first_offset;
    int rc = SL_OK;

    up->work = NULL;
    up->n = 0;
    if (cap == 0)
        return SL_OK;
    up->work = cap == 1 ? &up->one : sl_xmalloc(cap * sizeof(*up->work));
    while (off < len) {
        sl_batch_hdr_t h;
        sl_pbatch_t b;
        sl_pentry_t *e;

        SL_ASSERT(sl_batch_hdr_parse(buf + off, len - off, &h) == SL_OK);
        off += (size_t)sl_batch_size(&h);
        if (origin == SL_APPEND_REPLICATION)
            next = h.base_offset;
        batch_meta(&h, next, &b);
        next += (int64_t)h.last_offset_delta + 1;
        /* Control batches (transaction markers) carry no sequence; they
         * matter once transactions exist. */
        if (h.producer_id < 0 || (h.attributes & SL_ATTR_CONTROL))
            continue;
        e = work_entry(pl, up, cap, h.producer_id);
        if (origin != SL_APPEND_REPLICATION && (rc = check_client_batch(e, &h, &b, dup)) != SL_OK) {
            sl_prodstate_discard(up);
            return rc;
        }
        sl_pentry_add_batch(e, h.producer_epoch, &b);
    }
    return SL_OK;
}

void
sl_prodstate_apply(sl_plog_t *pl, sl_prodstate_update_t *up)
{
    for (size_t i = 0; i < up->n; i++)
        sl_prodstate_put(sl_prodstate_of(pl), &up->work[i]);
    sl_prodstate_discard(up);
}

void
sl_prodstate_discard(sl_prodstate_update_t *up)
{
    if (up->work != &up->one)
        free(up->work);
    up->work = NULL;
    up->n = 0;
}

void
sl_prodstate_replay(sl_prodstate_t *ps, const sl_batch_hdr_t *h)
{
    sl_pentry_t *e, fresh;
    sl_pbatch_t b;

    if (h->producer_id < 0 || (h->attributes & SL_ATTR_CONTROL))
        return;
    e = sl_prodstate_get(ps, h->producer_id);
    if (e == NULL) {
        sl_pentry_init(&fresh, h->producer_id);
        sl_prodstate_put(ps, &fresh);
        e = sl_prodstate_get(ps, h->producer_id);
    }
    batch_meta(h, h->base_offset, &b);
    sl_pentry_add_batch(e, h->producer_epoch, &b);
}

/* ======================================================================
 * ProducerSnapshot v1
 * ====================================================================== */

static int
cmp_entry(const void *a, const void *b)
{
    int64_t x = (*(const sl_pentry_t *const *)a)->producer_id;
    int64_t y = (*(const sl_pentry_t *const *)b)->producer_id;

    return (x > y) - (x < y);
}

static uint8_t *
put_entry(uint8_t *p, const sl_pentry_t *e)
{
    const sl_pbatch_t *last = e->nbatches > 0 ? &e->batches[e->nbatches - 1] : NULL;

    sl_put_be64(p, (uint64_t)e->producer_id);
    sl_put_be16(p + 8, (uint16_t)e->epoch);
    sl_put_be32(p + 10, (uint32_t)(last ? last->last_seq : -1));
    sl_put_be64(p + 14, (uint64_t)(last ? last->last_offset : -1));
    sl_put_be32(p + 22, (uint32_t)(last ? (int32_t)(last->last_offset - last->first_offset) : 0));
    sl_put_be64(p + 26, (uint64_t)e->last_timestamp);
    sl_put_be32(p + 34, (uint32_t)e->coordinator_epoch);
    sl_put_be64(p + 38, (uint64_t)e->txn_first_offset);
    return p + SL_PSNAP_ENTRY;
}

uint8_t *
sl_prodstate_encode(const sl_prodstate_t *ps, size_t *len)
{
    size_t n = ps->by_id.len, it = 0, i = 0;
    const sl_pentry_t **sorted = sl_xmalloc((n ? n : 1) * sizeof(*sorted));
    uint8_t *out, *p;
    const sl_map_slot_t *s;

    while (sl_map_next(&ps->by_id, &it, &s))
        sorted[i++] = s->value;
    qsort(sorted, n, sizeof(*sorted), cmp_entry);
    *len = SL_PSNAP_HEADER + n * SL_PSNAP_ENTRY;
    out = sl_xmalloc(*len);
    sl_put_be16(out, SL_PSNAP_VERSION);
    sl_put_be32(out + 6, (uint32_t)n);
    p = out + SL_PSNAP_HEADER;
    for (i = 0; i < n; i++)
        p = put_entry(p, sorted[i]);
    sl_put_be32(out + 2, sl_crc32c(out + 6, *len - 6));
    free(sorted);
    return out;
}

static void
get_entry(const uint8_t *p, sl_pentry_t *e)
{
    int32_t last_seq = (int32_t)sl_be32(p + 10);
    int64_t last_offset = (int64_t)sl_be64(p + 14);
    int32_t delta = (int32_t)sl_be32(p + 22);

    sl_pentry_init(e, (int64_t)sl_be64(p));
    e->epoch = (int16_t)sl_be16(p + 8);
    e->last_timestamp = (int64_t)sl_be64(p + 26);
    e->coordinator_epoch = (int32_t)sl_be32(p + 34);
    e->txn_first_offset = (int64_t)sl_be64(p + 38);
    if (last_offset >= 0 && last_seq >= 0 && delta >= 0 && delta <= last_offset) {
        e->nbatches = 1;
        e->batches[0].last_seq = last_seq;
        e->batches[0].first_seq = sl_prodstate_seq_sub(last_seq, delta);
        e->batches[0].last_offset = last_offset;
        e->batches[0].first_offset = last_offset - delta;
        e->batches[0].timestamp = e->last_timestamp;
    }
}

int
sl_prodstate_decode(sl_prodstate_t *ps, const uint8_t *p, size_t len)
{
    int64_t n;

    if (len < SL_PSNAP_HEADER || sl_be16(p) != SL_PSNAP_VERSION)
        return SL_ECORRUPT;
    if (sl_be32(p + 2) != sl_crc32c(p + 6, len - 6))
        return SL_ECORRUPT;
    n = (int32_t)sl_be32(p + 6);
    if (n < 0 || n > SL_PSNAP_MAX_PRODUCERS ||
        (size_t)n != (len - SL_PSNAP_HEADER) / SL_PSNAP_ENTRY ||
        (len - SL_PSNAP_HEADER) % SL_PSNAP_ENTRY != 0)
        return SL_ECORRUPT;
    sl_prodstate_clear(ps);
    for (int64_t i = 0; i < n; i++) {
        sl_pentry_t e;

        get_entry(p + SL_PSNAP_HEADER + (size_t)i * SL_PSNAP_ENTRY, &e);
        sl_prodstate_put(ps, &e);
    }
    return SL_OK;
}
