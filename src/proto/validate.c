/*
 * validate.c -- produce-time validation of one magic-2 batch (validate.h):
 * envelope and CRC first, then one walk over the records (decompressed into
 * scratch for a compressed batch) that checks their structure, keys and
 * timestamps together. Each byte is read by the CRC and by the walk, once
 * each; headers are skipped once by the record iterator.
 */
#include "proto/validate.h"

#include "base/crc32c.h"
#include "proto/record.h"

#define NO_TIMESTAMP (-1) /* Kafka's RecordBatch.NO_TIMESTAMP */

void
sl_validate_opts_init(sl_validate_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->create_time = true;
    o->ts_before_max_ms = INT64_MAX;
    o->ts_after_max_ms = INT64_MAX;
    o->max_batch_bytes = INT64_MAX;
    o->max_decompressed = (size_t)64 << 20;
}

bool
sl_validate_ts_out_of_range(int64_t now, int64_t ts, int64_t before_max, int64_t after_max)
{
    if (ts < now)
        return before_max != INT64_MAX && before_max >= 0 &&
               (uint64_t)now - (uint64_t)ts > (uint64_t)before_max;
    return after_max != INT64_MAX && after_max >= 0 &&
           (uint64_t)ts - (uint64_t)now > (uint64_t)after_max;
}

static int
refuse(sl_validate_result_t *res, int rc, const char *reason)
{
    res->reason = reason;
    return rc;
}

/* What follows the first batch: another whole batch is Kafka's "exactly one
 * record batch per partition" (INVALID_RECORD); anything shorter is a cut
 * batch, i.e. garbage. */
static int
check_rest(const uint8_t *p, size_t len, sl_validate_result_t *res)
{
    sl_batch_hdr_t h;

    if (len == 0)
        return SL_OK;
    if (sl_batch_hdr_parse(p, len, &h) == SL_OK &&
        h.batch_length >= SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD &&
        (uint64_t)sl_batch_size(&h) <= len)
        return refuse(res, SL_EINVAL, "more than one record batch for the partition");
    return refuse(res, SL_EPROTO, "bytes after the record batch");
}

/* Envelope, size, CRC: the checks Kafka makes before looking inside. */
static int
check_envelope(const uint8_t *p, size_t len, const sl_validate_opts_t *o, sl_batch_hdr_t *h,
               sl_validate_result_t *res)
{
    int64_t size;
    int rc;

    if (sl_batch_hdr_parse(p, len, h) != SL_OK)
        return refuse(res, SL_EPROTO, "shorter than a record batch header");
    size = sl_batch_size(h);
    if (h->batch_length < SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD)
        return refuse(res, SL_EPROTO, "batchLength smaller than the batch header");
    if ((uint64_t)size > len)
        return refuse(res, SL_EPROTO, "batchLength past the end of the records");
    if (h->magic != 2)
        return refuse(res, SL_EPROTO, "magic is not 2");
    if ((rc = check_rest(p + size, len - (size_t)size, res)) != SL_OK)
        return rc;
    if (size > o->max_batch_bytes)
        return refuse(res, SL_ETOOBIG, "batch larger than max.message.bytes");
    if (h->base_offset != 0)
        return refuse(res, SL_EINVAL, "baseOffset of a produced batch must be 0");
    if (sl_crc32c(p + SL_BATCH_CRC_START, (size_t)size - SL_BATCH_CRC_START) != h->crc)
        return refuse(res, SL_ECORRUPT, "CRC-32C mismatch");
    if (sl_batch_codec(h) > SL_CODEC_ZSTD)
        return refuse(res, SL_EPROTO, "unknown compression codec");
    return SL_OK;
}

/* LogValidator.validateBatch, for a client's batch. */
static int
check_batch_fields(const sl_batch_hdr_t *h, sl_validate_result_t *res)
{
    if (h->record_count <= 0)
        return refuse(res, SL_EINVAL, "recordCount must be positive");
    if (h->last_offset_delta < 0 || h->last_offset_delta != h->record_count - 1)
        return refuse(res, SL_EINVAL, "lastOffsetDelta does not match recordCount");
    if (h->attributes & SL_ATTR_CONTROL)
        return refuse(res, SL_EINVAL, "clients may not write control batches");
    if (h->producer_id >= 0 && h->base_sequence < 0)
        return refuse(res, SL_EINVAL, "producer id without a base sequence");
    /* Kafka refuses this in a LogAppendTime topic and, in a CreateTime
     * topic, checks maxTimestamp and then rewrites the batch to CreateTime
     * -- exposing record timestamps it never checked. Refused everywhere. */
    if (h->attributes & SL_ATTR_LOG_APPEND_TIME)
        return refuse(res, SL_ERANGE, "producers may not set the LogAppendTime attribute");
    return SL_OK;
}

static void
record_error(sl_validate_result_t *res, int32_t index, const char *reason)
{
    if (res->n_record_errors_kept < SL_VALIDATE_MAX_RECORD_ERRORS) {
        res->record_errors[res->n_record_errors_kept].index = index;
        res->record_errors[res->n_record_errors_kept].reason = reason;
        res->n_record_errors_kept++;
    }
    res->n_record_errors++;
}

/* LogValidator.validateRecord for one record: the key first, then (only if
 * the key is fine, as in Kafka) the timestamp. Returns true if refused as a
 * timestamp problem. */
static bool
check_record(const sl_record_t *r, int32_t index, const sl_validate_opts_t *o,
             sl_validate_result_t *res)
{
    if (o->require_key && r->key.len < 0) {
        record_error(res, index, "compacted topic cannot accept a record without a key");
        return false;
    }
    if (o->create_time && r->timestamp != NO_TIMESTAMP &&
        sl_validate_ts_out_of_range(o->now_ms, r->timestamp, o->ts_before_max_ms,
                                    o->ts_after_max_ms)) {
        record_error(res, index, "timestamp out of range (message.timestamp.before/after.max.ms)");
        return true;
    }
    return false;
}

static int
walk_records(const uint8_t *p, size_t size, const sl_batch_hdr_t *h, const sl_validate_opts_t *o,
             sl_buf_t *scratch, sl_validate_result_t *res)
{
    sl_record_iter_t it;
    sl_record_t r;
    bool ts_error = false;
    int rc;

    rc = sl_record_iter_init_validated(&it, h, p, size, scratch, o->max_decompressed);
    if (rc == SL_EPROTO)
        return refuse(res, SL_EPROTO, "compressed records do not decompress");
    if (rc == SL_ETOOBIG)
        return refuse(res, SL_ETOOBIG, "decompressed records over the broker's budget");
    if (rc != SL_OK)
        return refuse(res, rc, "records could not be read");
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        ts_error |= check_record(&r, res->record_count, o, res);
        if (r.timestamp > res->max_timestamp)
            res->max_timestamp = r.timestamp;
        res->record_count++;
    }
    if (rc < 0)
        return refuse(res, SL_EINVAL, it.reason ? it.reason : "malformed record");
    if (res->n_record_errors > 0)
        return refuse(res, ts_error ? SL_ERANGE : SL_EINVAL,
                      ts_error ? "one or more records have an invalid timestamp"
                               : "one or more records failed validation");
    return SL_OK;
}

int
sl_validate_produce(const uint8_t *p, size_t len, const sl_validate_opts_t *o, sl_buf_t *scratch,
                    sl_validate_result_t *res)
{
    sl_batch_hdr_t h;
    int rc;

    memset(res, 0, sizeof(*res));
    res->max_timestamp = NO_TIMESTAMP;
    if ((rc = check_envelope(p, len, o, &h, res)) != SL_OK)
        return rc;
    if ((rc = check_batch_fields(&h, res)) != SL_OK)
        return rc;
    if ((rc = walk_records(p, (size_t)sl_batch_size(&h), &h, o, scratch, res)) != SL_OK)
        return rc;
    /* Kafka stores the largest record timestamp as the batch's maxTimestamp
     * (CreateTime); the time index and retention trust that field. */
    res->max_ts_differs = o->create_time && h.max_timestamp != res->max_timestamp;
    return SL_OK;
}
