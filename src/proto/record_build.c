/*
 * record_build.c -- writes magic-2 record batches (the builder in record.h).
 *
 * Records are encoded straight into an owned buffer as they are appended
 * (one size pass, one write pass, no temporaries); finish() compresses that
 * buffer behind a header and computes the CRC. Used by tests and benchmarks,
 * by the broker for the records it writes itself (control batches,
 * __consumer_offsets) and by legacy message-set conversion.
 */
#include "proto/compress.h"
#include "proto/record.h"

#include "base/crc32c.h"
#include "proto/wire.h"

void
sl_batch_opts_init(sl_batch_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->codec = SL_CODEC_NONE;
    o->level = SL_COMPRESS_LEVEL_DEFAULT;
    o->base_offset = 0;
    o->leader_epoch = -1;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
}

void
sl_batch_builder_init(sl_batch_builder_t *b, const sl_batch_opts_t *opts)
{
    memset(b, 0, sizeof(*b));
    b->opts = *opts;
    sl_buf_init(&b->records);
    b->last_delta = -1;
}

void
sl_batch_builder_deinit(sl_batch_builder_t *b)
{
    sl_buf_deinit(&b->records);
}

void
sl_batch_builder_reset(sl_batch_builder_t *b)
{
    sl_buf_reset(&b->records);
    b->count = 0;
    b->last_delta = -1;
    b->base_ts = 0;
    b->max_ts = 0;
}

/* ------------------------------------------------------------------ */
/* Record encoding                                                      */
/* ------------------------------------------------------------------ */

/* Bytes of a uvarint: 1 + (bits above the first 7) / 7, without a loop. */
static inline size_t
uv_size(uint64_t v)
{
    return (size_t)(((64 - __builtin_clzll(v | 1)) + 6) / 7);
}

static inline size_t
put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t
put_varbytes(uint8_t *p, sl_bytes_t v)
{
    size_t n = put_uvarint(p, sl_zigzag32(v.len < 0 ? -1 : v.len));

    if (v.len > 0) {
        memcpy(p + n, v.ptr, (size_t)v.len);
        n += (size_t)v.len;
    }
    return n;
}

static uint64_t
varbytes_size(int32_t len)
{
    return len < 0 ? 1 : uv_size(sl_zigzag32(len)) + (uint64_t)len;
}

/* Encoded headers come either as an array or as already-encoded bytes
 * (copied from a parsed record). */
typedef struct hdr_src {
    const sl_header_t *arr;
    const uint8_t *raw;
    size_t raw_len;
    int32_t count;
} hdr_src_t;

static int
headers_size(const hdr_src_t *hs, uint64_t *size)
{
    uint64_t n = 0;

    if (hs->count < 0)
        return SL_EINVAL;
    if (hs->raw != NULL || hs->count == 0) {
        *size = hs->raw_len;
        return SL_OK;
    }
    for (int32_t i = 0; i < hs->count; i++) {
        if (hs->arr[i].key.len < 0)
            return SL_EINVAL; /* Kafka: header keys are never null */
        n += varbytes_size(hs->arr[i].key.len) + varbytes_size(hs->arr[i].value.len);
    }
    *size = n;
    return SL_OK;
}

static size_t
put_headers(uint8_t *p, const hdr_src_t *hs)
{
    size_t n = 0;

    if (hs->raw != NULL || hs->count == 0) {
        if (hs->raw_len > 0)
            memcpy(p, hs->raw, hs->raw_len);
        return hs->raw_len;
    }
    for (int32_t i = 0; i < hs->count; i++) {
        const sl_header_t *h = &hs->arr[i];

        n += put_varbytes(p + n, (sl_bytes_t){(const uint8_t *)h->key.ptr, h->key.len});
        n += put_varbytes(p + n, h->value);
    }
    return n;
}

static int
append_rec(sl_batch_builder_t *b, int32_t delta, int64_t ts, int8_t attr, sl_bytes_t key,
           sl_bytes_t value, const hdr_src_t *hs)
{
    int64_t ts_delta;
    uint64_t body, hsize, total;
    uint8_t *p;
    size_t n;
    int rc;

    if (delta <= b->last_delta)
        return SL_EINVAL;
    if ((rc = headers_size(hs, &hsize)) != SL_OK)
        return rc;
    /* Wrapping subtraction: Kafka's own arithmetic on longs wraps too. */
    ts_delta = b->count == 0 ? 0 : (int64_t)((uint64_t)ts - (uint64_t)b->base_ts);
    body = 1 + uv_size(sl_zigzag64(ts_delta)) + uv_size(sl_zigzag32(delta)) +
           varbytes_size(key.len) + varbytes_size(value.len) + uv_size(sl_zigzag32(hs->count)) +
           hsize;
    if (body > INT32_MAX)
        return SL_ETOOBIG;
    total = uv_size(sl_zigzag32((int32_t)body)) + body;
    /* The whole batch length is an int32 too, header included. */
    if (b->records.len + total > (uint64_t)INT32_MAX - SL_BATCH_HEADER_SIZE)
        return SL_ETOOBIG;

    p = sl_buf_extend(&b->records, (size_t)total);
    n = put_uvarint(p, sl_zigzag32((int32_t)body));
    p[n++] = (uint8_t)attr;
    n += put_uvarint(p + n, sl_zigzag64(ts_delta));
    n += put_uvarint(p + n, sl_zigzag32(delta));
    n += put_varbytes(p + n, key);
    n += put_varbytes(p + n, value);
    n += put_uvarint(p + n, sl_zigzag32(hs->count));
    n += put_headers(p + n, hs);
    SL_ASSERT(n == total);

    if (b->count == 0) {
        b->base_ts = ts;
        b->max_ts = ts;
    } else if (ts > b->max_ts) {
        b->max_ts = ts;
    }
    b->count++;
    b->last_delta = delta;
    return SL_OK;
}

int
sl_batch_builder_append_at(sl_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                           sl_bytes_t key, sl_bytes_t value, const sl_header_t *headers,
                           int32_t header_count)
{
    hdr_src_t hs = {headers, NULL, 0, header_count};

    if (header_count > 0 && headers == NULL)
        return SL_EINVAL;
    return append_rec(b, offset_delta, timestamp, 0, key, value, &hs);
}

int
sl_batch_builder_append(sl_batch_builder_t *b, int64_t timestamp, sl_bytes_t key, sl_bytes_t value,
                        const sl_header_t *headers, int32_t header_count)
{
    if (b->last_delta == INT32_MAX)
        return SL_ETOOBIG;
    return sl_batch_builder_append_at(b, b->last_delta + 1, timestamp, key, value, headers,
                                      header_count);
}

int
sl_batch_builder_append_record(sl_batch_builder_t *b, const sl_record_t *r, int32_t offset_delta)
{
    hdr_src_t hs = {NULL, r->headers, r->headers_len, r->header_count};

    if (r->header_count > 0 && r->headers == NULL)
        return SL_EINVAL;
    return append_rec(b, offset_delta, r->timestamp, r->attributes, r->key, r->value, &hs);
}

/* ------------------------------------------------------------------ */
/* Batch                                                                */
/* ------------------------------------------------------------------ */

int
sl_batch_builder_finish(sl_batch_builder_t *b, sl_buf_t *out)
{
    const sl_batch_opts_t *o = &b->opts;
    size_t start = out->len, total;
    uint8_t *p;
    int rc;

    if (b->count == 0)
        return SL_EINVAL;
    (void)sl_buf_extend(out, SL_BATCH_HEADER_SIZE);
    rc = sl_compress(o->codec, o->level, b->records.data, b->records.len, out);
    if (rc != SL_OK)
        goto fail;
    total = out->len - start;
    if (total - SL_BATCH_LOG_OVERHEAD > INT32_MAX) {
        rc = SL_ETOOBIG; /* compression made it bigger than the limit */
        goto fail;
    }
    p = out->data + start;
    sl_put_be64(p + SL_BATCH_OFF_BASE_OFFSET, (uint64_t)o->base_offset);
    sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(total - SL_BATCH_LOG_OVERHEAD));
    sl_put_be32(p + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)o->leader_epoch);
    p[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be16(p + SL_BATCH_OFF_ATTRIBUTES,
                (uint16_t)((o->attributes & ~SL_ATTR_CODEC_MASK) | (int)o->codec));
    sl_put_be32(p + SL_BATCH_OFF_LAST_DELTA, (uint32_t)b->last_delta);
    sl_put_be64(p + SL_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_ts);
    sl_put_be64(p + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_ts);
    sl_put_be64(p + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)o->producer_id);
    sl_put_be16(p + SL_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    sl_put_be32(p + SL_BATCH_OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    sl_put_be32(p + SL_BATCH_OFF_RECORD_COUNT, (uint32_t)b->count);
    sl_batch_update_crc(p, total);
    sl_batch_builder_reset(b);
    return SL_OK;

fail:
    out->len = start;
    return rc;
}
