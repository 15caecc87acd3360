/*
 * validate.h -- what a broker checks in a produced magic-2 batch before it
 * stores it: the envelope, the CRC, and then every record, in one pass.
 *
 * The rules and the order follow Kafka 3.9 (ProduceRequest.validateRecords,
 * UnifiedLog.analyzeAndValidateRecords, LogValidator), so each problem gets
 * the status whose Kafka code Kafka would answer with:
 *
 *   SL_EPROTO    CORRUPT_MESSAGE   envelope: too short, batchLength, magic,
 *                                  codec, trailing partial batch, compressed
 *                                  stream that does not decompress
 *   SL_ECORRUPT  CORRUPT_MESSAGE   CRC-32C mismatch
 *   SL_ETOOBIG   MESSAGE_TOO_LARGE batch over max.message.bytes, or its
 *                                  records over the decompression budget
 *   SL_EINVAL    INVALID_RECORD    a second batch, baseOffset != 0, count vs
 *                                  lastOffsetDelta, control batch, producer
 *                                  id without a sequence, any malformed
 *                                  record, a record without a key for a
 *                                  compacted topic
 *   SL_ERANGE    INVALID_TIMESTAMP a CreateTime timestamp out of bounds, or
 *                                  a producer claiming LogAppendTime
 *
 * Pure function of its inputs (the clock is passed in): no allocation except
 * the decompression into the caller's scratch buffer, linear in the batch.
 */
#ifndef SL_PROTO_VALIDATE_H
#define SL_PROTO_VALIDATE_H

#include "base/buf.h"
#include "base/common.h"

/* Record errors kept for the response (Kafka lists every one; a batch of
 * tiny bad records must not turn into a response many times its size). */
#define SL_VALIDATE_MAX_RECORD_ERRORS 16

typedef struct sl_validate_opts {
    int64_t now_ms;
    bool create_time;         /* message.timestamp.type=CreateTime: check timestamps */
    int64_t ts_before_max_ms; /* message.timestamp.before.max.ms (INT64_MAX: none) */
    int64_t ts_after_max_ms;  /* message.timestamp.after.max.ms (INT64_MAX: none) */
    bool require_key;         /* cleanup.policy contains compact */
    int64_t max_batch_bytes;  /* max.message.bytes */
    size_t max_decompressed;  /* records section of a compressed batch, decompressed */
} sl_validate_opts_t;

/* Sets the limits to "none", CreateTime, no key needed. */
void sl_validate_opts_init(sl_validate_opts_t *o);

typedef struct sl_validate_record_error {
    int32_t index;      /* record index in the batch (Kafka's BatchIndex) */
    const char *reason; /* static text */
} sl_validate_record_error_t;

typedef struct sl_validate_result {
    const char *reason;           /* static text: why the batch was refused, NULL if not */
    int32_t record_count;         /* records walked (all of them on success) */
    int64_t max_timestamp;        /* largest record timestamp (CreateTime), -1 if none */
    bool max_ts_differs;          /* CreateTime and the header's maxTimestamp is not it */
    int32_t n_record_errors;      /* records refused (key, timestamp); may pass the cap */
    int32_t n_record_errors_kept; /* entries filled in record_errors */
    sl_validate_record_error_t record_errors[SL_VALIDATE_MAX_RECORD_ERRORS];
} sl_validate_result_t;

/*
 * Validates the records of one produced partition, p[0..len): exactly one
 * complete magic-2 batch. Returns SL_OK or a status from the table above
 * with res->reason set. Per-record errors (key, timestamp) are collected
 * over the whole batch, as Kafka does; any timestamp error makes the answer
 * SL_ERANGE, otherwise SL_EINVAL. Structural errors stop at once.
 * scratch receives decompressed records (reset first, owned by the caller).
 */
SL_MUST_CHECK int sl_validate_produce(const uint8_t *p, size_t len, const sl_validate_opts_t *o,
                                      sl_buf_t *scratch, sl_validate_result_t *res);

/* Kafka's `now - ts > before || ts - now > after`, without overflow; an
 * INT64_MAX limit is no limit. */
bool sl_validate_ts_out_of_range(int64_t now, int64_t ts, int64_t before_max, int64_t after_max);

#endif
