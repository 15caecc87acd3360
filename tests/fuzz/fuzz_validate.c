/*
 * fuzz_validate.c -- libFuzzer target for produce-time record validation
 * (proto/validate.h).
 *
 * Input: one mode byte, then the records of one produced partition.
 *   bit 0   rewrite the first batch's batchLength and CRC to match the input,
 *           so mutations reach the record walk instead of dying at the CRC
 *   bit 1   compacted topic (records need keys)
 *   bit 2   LogAppendTime topic (no timestamp checks)
 *   bit 3   before/after limits of one hour around the batch's baseTimestamp
 *   bit 4   clear what stops a batch before its records (baseOffset, control
 *           and LogAppendTime bits, producer id), and set lastOffsetDelta to
 *           recordCount - 1
 *
 * On success the batch must be what the log and every consumer expect:
 * an independent walk with the record iterator gives exactly recordCount
 * records with offset deltas 0..n-1, keys and timestamps obey the options,
 * maxTimestamp is the records' largest, and a copy through the builder
 * validates the same. On failure: a reason, a known status, record errors
 * only for key/timestamp answers. Decompression budget 1 MiB, never passed.
 */
#include "proto/record.h"
#include "proto/validate.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET (1u << 20)
#define HOUR   3600000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
prepare(uint8_t *p, size_t len, uint8_t mode)
{
    size_t size;

    if (len < SL_BATCH_HEADER_SIZE)
        return;
    if (mode & 16) {
        uint16_t attr = sl_be16(p + SL_BATCH_OFF_ATTRIBUTES);
        uint32_t count = sl_be32(p + SL_BATCH_OFF_RECORD_COUNT);

        sl_put_be64(p + SL_BATCH_OFF_BASE_OFFSET, 0);
        sl_put_be16(p + SL_BATCH_OFF_ATTRIBUTES,
                    (uint16_t)(attr & ~(SL_ATTR_CONTROL | SL_ATTR_LOG_APPEND_TIME)));
        sl_put_be64(p + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
        sl_put_be32(p + SL_BATCH_OFF_LAST_DELTA, count - 1u); /* wraps like Java's int */
    }
    if (mode & 1) {
        /* Keep a declared length shorter than the input (tests the "bytes
         * after the batch" paths), else make it match. */
        size = (size_t)sl_be32(p + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;
        if (size < SL_BATCH_HEADER_SIZE || size > len) {
            size = len;
            sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
        }
        sl_batch_update_crc(p, size);
    }
}

/* A second, independent look at an accepted batch. */
static void
recheck_accepted(const uint8_t *p, size_t len, const sl_validate_opts_t *o,
                 const sl_validate_result_t *res)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_buf_t scratch = SL_BUF_INIT, copy = SL_BUF_INIT;
    sl_batch_builder_t b;
    sl_batch_opts_t bo;
    int64_t max_ts = -1;
    int32_t n = 0;
    int rc;

    if (sl_record_iter_init(&it, p, len, &scratch, BUDGET) != SL_OK)
        abort();
    /* What the log's append checks (log/plog.c) must hold. */
    if (it.hdr.base_offset != 0 || it.hdr.record_count < 1 ||
        it.hdr.last_offset_delta != it.hdr.record_count - 1 ||
        (it.hdr.attributes & (SL_ATTR_CONTROL | SL_ATTR_LOG_APPEND_TIME)))
        abort();
    sl_batch_opts_init(&bo);
    sl_batch_builder_init(&b, &bo);
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        if (r.offset_delta != n)
            abort();
        if (o->require_key && r.key.len < 0)
            abort();
        if (o->create_time && r.timestamp != -1 &&
            sl_validate_ts_out_of_range(o->now_ms, r.timestamp, o->ts_before_max_ms,
                                        o->ts_after_max_ms))
            abort();
        if (r.timestamp > max_ts)
            max_ts = r.timestamp;
        if (sl_batch_builder_append_record(&b, &r, r.offset_delta) != SL_OK)
            abort();
        n++;
    }
    if (rc != 0 || n != res->record_count || n != it.hdr.record_count)
        abort();
    if (max_ts != res->max_timestamp ||
        res->max_ts_differs != (o->create_time && it.hdr.max_timestamp != max_ts))
        abort();
    /* The builder's copy (base timestamp = first record's) validates too. */
    if (sl_batch_builder_finish(&b, &copy) != SL_OK)
        abort();
    {
        sl_validate_result_t res2;

        if (sl_validate_produce(copy.data, copy.len, o, &scratch, &res2) != SL_OK ||
            res2.record_count != n || res2.max_timestamp != max_ts)
            abort();
    }
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&copy);
    sl_buf_deinit(&scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_validate_opts_t o;
    sl_validate_result_t res;
    sl_buf_t scratch = SL_BUF_INIT;
    uint8_t mode, *p;
    int rc;

    if (size < 1)
        return 0;
    mode = data[0];
    size--;
    p = malloc(size ? size : 1);
    memcpy(p, data + 1, size);
    prepare(p, size, mode);

    sl_validate_opts_init(&o);
    o.max_decompressed = BUDGET;
    o.require_key = (mode & 2) != 0;
    o.create_time = (mode & 4) == 0;
    o.now_ms = size >= SL_BATCH_HEADER_SIZE ? (int64_t)sl_be64(p + SL_BATCH_OFF_BASE_TIMESTAMP)
                                            : 1700000000000LL;
    if (mode & 8) {
        o.ts_before_max_ms = HOUR;
        o.ts_after_max_ms = HOUR;
    }
    rc = sl_validate_produce(p, size, &o, &scratch, &res);
    if (scratch.cap > BUDGET + 1)
        abort();
    if (rc == SL_OK) {
        if (res.reason != NULL || res.n_record_errors != 0)
            abort();
        recheck_accepted(p, size, &o, &res);
    } else {
        if (res.reason == NULL)
            abort();
        if (rc != SL_EPROTO && rc != SL_ECORRUPT && rc != SL_ETOOBIG && rc != SL_EINVAL &&
            rc != SL_ERANGE)
            abort();
        if (res.n_record_errors_kept > SL_VALIDATE_MAX_RECORD_ERRORS ||
            res.n_record_errors_kept > res.n_record_errors)
            abort();
        if (res.n_record_errors > 0 && rc != SL_EINVAL && rc != SL_ERANGE)
            abort();
    }
    sl_buf_deinit(&scratch);
    free(p);
    return 0;
}
