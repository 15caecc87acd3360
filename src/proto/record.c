/*
 * record.c -- record batch (magic 2) envelope (parse, validate, patch) and
 * record iteration. Building lives in record_build.c.
 * See record.h for the layout.
 */
#include "proto/record.h"

#include "base/crc32c.h"
#include "proto/compress.h"
#include "proto/wire.h"

int
sl_batch_hdr_parse(const uint8_t *p, size_t len, sl_batch_hdr_t *h)
{
    if (len < SL_BATCH_HEADER_SIZE)
        return SL_EPROTO;
    h->base_offset = (int64_t)sl_be64(p + SL_BATCH_OFF_BASE_OFFSET);
    h->batch_length = (int32_t)sl_be32(p + SL_BATCH_OFF_LENGTH);
    h->leader_epoch = (int32_t)sl_be32(p + SL_BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[SL_BATCH_OFF_MAGIC];
    h->crc = sl_be32(p + SL_BATCH_OFF_CRC);
    h->attributes = (int16_t)sl_be16(p + SL_BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)sl_be32(p + SL_BATCH_OFF_LAST_DELTA);
    h->base_timestamp = (int64_t)sl_be64(p + SL_BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)sl_be64(p + SL_BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)sl_be64(p + SL_BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)sl_be16(p + SL_BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)sl_be32(p + SL_BATCH_OFF_BASE_SEQUENCE);
    h->record_count = (int32_t)sl_be32(p + SL_BATCH_OFF_RECORD_COUNT);
    return SL_OK;
}

int
sl_batch_validate(const uint8_t *p, size_t len, sl_batch_hdr_t *h)
{
    uint32_t crc;

    if (sl_batch_hdr_parse(p, len, h) != SL_OK)
        return SL_EPROTO;
    if (h->batch_length < SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD ||
        (uint64_t)sl_batch_size(h) != len)
        return SL_EPROTO;
    if (h->magic != 2)
        return SL_EPROTO;
    if (h->record_count < 0 || h->last_offset_delta < 0)
        return SL_EPROTO;
    /* Kafka allows lastOffsetDelta > count - 1 only after compaction. */
    if (h->record_count > 0 && h->last_offset_delta < h->record_count - 1)
        return SL_EPROTO;
    if (sl_batch_codec(h) > SL_CODEC_ZSTD)
        return SL_EPROTO;
    crc = sl_crc32c(p + SL_BATCH_CRC_START, len - SL_BATCH_CRC_START);
    if (crc != h->crc)
        return SL_ECORRUPT;
    return SL_OK;
}

void
sl_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
    sl_put_be64(batch + SL_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void
sl_batch_set_leader_epoch(uint8_t *batch, int32_t epoch)
{
    sl_put_be32(batch + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void
sl_batch_update_crc(uint8_t *batch, size_t len)
{
    SL_ASSERT(len >= SL_BATCH_HEADER_SIZE);
    sl_put_be32(batch + SL_BATCH_OFF_CRC,
                sl_crc32c(batch + SL_BATCH_CRC_START, len - SL_BATCH_CRC_START));
}

void
sl_batch_set_max_timestamp(uint8_t *batch, size_t len, int64_t ts)
{
    sl_put_be64(batch + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    sl_batch_update_crc(batch, len);
}

void
sl_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t ts)
{
    uint16_t attr = sl_be16(batch + SL_BATCH_OFF_ATTRIBUTES);

    sl_put_be16(batch + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | SL_ATTR_LOG_APPEND_TIME));
    sl_put_be64(batch + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    sl_batch_update_crc(batch, len);
}

/* ------------------------------------------------------------------ */
/* Record iteration                                                     */
/* ------------------------------------------------------------------ */

int
sl_record_iter_init(sl_record_iter_t *it, const uint8_t *batch, size_t len, sl_buf_t *scratch,
                    size_t max_decompressed)
{
    sl_batch_hdr_t h;
    int rc;

    memset(it, 0, sizeof(*it));
    it->err = SL_EPROTO; /* until initialised: next() on a failed init fails */
    if ((rc = sl_batch_validate(batch, len, &h)) != SL_OK)
        return rc;
    return sl_record_iter_init_validated(it, &h, batch, len, scratch, max_decompressed);
}

int
sl_record_iter_init_validated(sl_record_iter_t *it, const sl_batch_hdr_t *h, const uint8_t *batch,
                              size_t len, sl_buf_t *scratch, size_t max_decompressed)
{
    const uint8_t *body;
    size_t body_len;
    int rc;

    memset(it, 0, sizeof(*it));
    it->err = SL_EINVAL;
    if (len < SL_BATCH_HEADER_SIZE || h->record_count < 0)
        return SL_EINVAL;
    it->hdr = *h;
    body = batch + SL_BATCH_HEADER_SIZE;
    body_len = len - SL_BATCH_HEADER_SIZE;
    /* An empty records section is what compaction leaves of an emptied
     * batch; it keeps its codec bits but has no stream to decode. */
    if (sl_batch_codec(h) == SL_CODEC_NONE || body_len == 0) {
        sl_rd_init(&it->rd, body, body_len);
    } else {
        if (scratch == NULL)
            return SL_EINVAL;
        sl_buf_reset(scratch);
        rc = sl_decompress(sl_batch_codec(h), body, body_len, scratch, max_decompressed);
        if (rc != SL_OK) {
            it->err = rc;
            return rc;
        }
        /* An empty stream may leave scratch unallocated: never read from
         * a NULL base (NULL + 0 is undefined). */
        sl_rd_init(&it->rd, scratch->len ? scratch->data : body, scratch->len);
    }
    it->left = h->record_count;
    it->prev_delta = -1;
    it->err = SL_OK;
    return SL_OK;
}

/*
 * Hot-path readers. Most record varints take one or two bytes; those are
 * read inline and everything else goes to wire.c, which keeps the error rules
 * (a failed reader has p == end, so it always takes the slow path).
 */
static inline uint64_t
rd_uv(sl_reader_t *rd, int max_bits)
{
    const uint8_t *p = rd->p;

    if (SL_LIKELY(rd->end - p >= 2)) {
        if (!(p[0] & 0x80)) {
            rd->p = p + 1;
            return p[0];
        }
        if (!(p[1] & 0x80)) {
            rd->p = p + 2;
            return (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        }
    } else if (p < rd->end && !(p[0] & 0x80)) {
        rd->p = p + 1;
        return p[0];
    }
    return sl_rd_uvarint_bits(rd, max_bits);
}

static inline int32_t
rd_varint(sl_reader_t *rd)
{
    uint32_t u = (uint32_t)rd_uv(rd, 32);

    return (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
}

static inline int64_t
rd_varlong(sl_reader_t *rd)
{
    uint64_t u = rd_uv(rd, 64);

    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Varint-length bytes; -1 = null, anything below fails the reader. */
static inline sl_bytes_t
rd_varbytes(sl_reader_t *rd)
{
    int32_t n = rd_varint(rd);
    const uint8_t *p = rd->p;

    if (SL_LIKELY(n >= 0 && (size_t)n <= sl_rd_left(rd))) {
        rd->p += n;
        return (sl_bytes_t){p, n};
    }
    if (n == -1)
        return SL_BYTES_NULL; /* a failed reader yields 0, never -1 */
    sl_rd_fail(rd);
    return (sl_bytes_t){(const uint8_t *)"", 0};
}

/* Walks count headers in rd, checking each; leaves rd after the last. */
static void
skip_headers(sl_reader_t *rd, int32_t count)
{
    for (int32_t i = 0; i < count && !rd->err; i++) {
        sl_bytes_t k = rd_varbytes(rd);

        if (k.len < 0)
            sl_rd_fail(rd); /* Kafka: header keys are never null */
        (void)rd_varbytes(rd);
    }
}

static int
iter_fail(sl_record_iter_t *it, const char *reason)
{
    it->err = SL_EPROTO;
    it->reason = reason;
    return SL_EPROTO;
}

/* Wrapping addition: base values come from the wire and may be extreme. */
static int64_t
add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int
sl_record_iter_next(sl_record_iter_t *it, sl_record_t *r)
{
    sl_reader_t rr;
    int32_t len;

    if (it->err)
        return it->err;
    if (it->left == 0)
        return sl_rd_left(&it->rd) == 0 ? 0 : iter_fail(it, "bytes left after the last record");
    len = rd_varint(&it->rd);
    if (it->rd.err)
        return iter_fail(it, it->left == it->hdr.record_count && sl_rd_left(&it->rd) == 0
                                 ? "no records where the batch declares some"
                                 : "bad record length varint or fewer records than declared");
    if (len < 0 || (size_t)len > sl_rd_left(&it->rd))
        return iter_fail(it, "record length past the end of the batch");
    /* Parse inside the declared length, then demand it was used exactly. */
    sl_rd_init(&rr, it->rd.p, (size_t)len);
    it->rd.p += len;
    r->attributes = sl_rd_i8(&rr);
    r->timestamp_delta = rd_varlong(&rr);
    r->offset_delta = rd_varint(&rr);
    r->key = rd_varbytes(&rr);
    r->value = rd_varbytes(&rr);
    r->header_count = rd_varint(&rr);
    if (rr.err)
        return iter_fail(it, "bad varint, or key/value length not -1..bytes left in the record");
    /* A header is at least two bytes (two one-byte lengths). */
    if (r->header_count < 0 || (size_t)r->header_count > sl_rd_left(&rr) / 2)
        return iter_fail(it, "header count negative or larger than the record");
    r->headers = rr.p;
    skip_headers(&rr, r->header_count);
    if (rr.err)
        return iter_fail(it, "bad header: null key or length past the record");
    if (sl_rd_left(&rr) != 0)
        return iter_fail(it, "record fields do not use exactly the record's length");
    r->headers_len = (size_t)(rr.p - r->headers);
    if (r->offset_delta <= it->prev_delta || r->offset_delta > it->hdr.last_offset_delta)
        return iter_fail(it, "offset deltas not increasing within 0..lastOffsetDelta");
    it->prev_delta = r->offset_delta;
    it->left--;
    r->offset = add_wrap(it->hdr.base_offset, r->offset_delta);
    if (it->hdr.attributes & SL_ATTR_LOG_APPEND_TIME)
        r->timestamp = it->hdr.max_timestamp;
    else
        r->timestamp = add_wrap(it->hdr.base_timestamp, r->timestamp_delta);
    return 1;
}

void
sl_header_iter_init(sl_header_iter_t *hi, const sl_record_t *r)
{
    sl_rd_init(&hi->rd, r->headers, r->headers_len);
    hi->left = r->header_count;
}

int
sl_header_iter_next(sl_header_iter_t *hi, sl_header_t *h)
{
    sl_bytes_t k;

    if (hi->rd.err)
        return SL_EPROTO;
    if (hi->left <= 0)
        return 0;
    k = sl_rd_varbytes(&hi->rd);
    h->value = sl_rd_varbytes(&hi->rd);
    if (hi->rd.err || k.len < 0) {
        sl_rd_fail(&hi->rd);
        return SL_EPROTO;
    }
    h->key = (sl_str_t){(const char *)k.ptr, k.len};
    hi->left--;
    return 1;
}
