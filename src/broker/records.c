/*
 * records.c -- record-level work the broker does on top of the log, which
 * itself only ever looks at batch headers:
 *   - produce-time validation: every record of every produced batch is
 *     walked once (proto/validate.h) against the topic's timestamp, key and
 *     size rules; compressed batches are decompressed with a budget, so a
 *     compression bomb is an error and never an allocation;
 *   - record-exact ListOffsets by timestamp (the log's time index finds the
 *     batch; the records inside it give the exact offset).
 */
#include "broker/broker_int.h"

#include "base/time.h"
#include "proto/record.h"

#include <unistd.h>

/* Largest decompressed size accepted for one produced batch. */
#define DECOMPRESS_BUDGET (64u << 20)
/* Scratch memory kept between requests; more is returned to the system. */
#define SCRATCH_KEEP (1u << 20)

static void
scratch_done(sl_broker_t *b)
{
    if (b->scratch.cap > SCRATCH_KEEP)
        sl_buf_deinit(&b->scratch);
    else
        sl_buf_reset(&b->scratch);
}

int
sl_records_validate(sl_broker_t *b, const sl_topic_config_t *tc, uint8_t *p, size_t len,
                    sl_validate_result_t *res)
{
    sl_validate_opts_t o;
    int rc;

    sl_validate_opts_init(&o);
    o.now_ms = sl_wall_ms();
    o.create_time = tc->message_timestamp_type == SL_CFG_TS_CREATE_TIME;
    o.ts_before_max_ms = tc->message_timestamp_before_max_ms;
    o.ts_after_max_ms = tc->message_timestamp_after_max_ms;
    o.require_key = (tc->cleanup_policy & SL_CFG_CLEANUP_COMPACT) != 0;
    o.max_batch_bytes = tc->max_message_bytes;
    o.max_decompressed = DECOMPRESS_BUDGET;
    rc = sl_validate_produce(p, len, &o, &b->scratch, res);
    scratch_done(b);
    /* A single batch (validated), so len is its size. */
    if (rc == SL_OK && res->max_ts_differs)
        sl_batch_set_max_timestamp(p, len, res->max_timestamp);
    return rc;
}

/* Reads the batch at `base` and finds its first record with timestamp >= ts. */
static int
exact_in_batch(sl_broker_t *b, sl_plog_t *pl, int64_t base, int64_t ts, int64_t *offset,
               int64_t *found_ts)
{
    sl_log_region_t rg;
    sl_record_iter_t it;
    sl_record_t r;
    uint8_t *data;
    int rc;

    rc = sl_plog_read(pl, base, 1, sl_plog_leo(pl), true, &rg);
    if (rc != SL_OK || rg.len <= 0)
        return rc == SL_OK ? SL_ENOENT : rc;
    data = sl_xmalloc((size_t)rg.len);
    if (pread(rg.fd, data, (size_t)rg.len, rg.pos) != rg.len) {
        rc = SL_EIO;
        goto done;
    }
    rc = sl_record_iter_init(&it, data, (size_t)rg.len - 0, &b->scratch, DECOMPRESS_BUDGET);
    if (rc != SL_OK) {
        /* The region may hold more than one batch: look at the first only. */
        sl_batch_hdr_t h;

        if (sl_batch_hdr_parse(data, (size_t)rg.len, &h) == SL_OK && h.batch_length > 0 &&
            sl_batch_size(&h) <= rg.len)
            rc = sl_record_iter_init(&it, data, (size_t)sl_batch_size(&h), &b->scratch,
                                     DECOMPRESS_BUDGET);
    }
    while (rc == SL_OK && (rc = sl_record_iter_next(&it, &r)) == 1) {
        rc = SL_OK;
        if (r.timestamp >= ts) {
            *offset = r.offset;
            *found_ts = r.timestamp;
            goto done;
        }
    }
    if (rc >= 0)
        rc = SL_ENOENT;
done:
    free(data);
    sl_log_region_release(&rg);
    scratch_done(b);
    return rc;
}

int
sl_offset_for_time(sl_broker_t *b, sl_plog_t *pl, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    int64_t base, batch_ts;
    int rc = sl_plog_offset_for_time(pl, ts, &base, &batch_ts);

    if (rc != SL_OK)
        return rc;
    *offset = base;
    *found_ts = batch_ts;
    /* Within the batch, CreateTime records may be out of order: the first
     * whose own timestamp reaches ts is the answer, as in Kafka. */
    if (exact_in_batch(b, pl, base, ts, offset, found_ts) != SL_OK) {
        *offset = base;
        *found_ts = batch_ts;
    }
    return SL_OK;
}
