/*
 * record.h -- Kafka record batches (magic 2), the unit the log stores.
 *
 * Batch layout (all big-endian; "CRC" covers attributes..end):
 *
 *   off  size  field
 *     0     8  baseOffset
 *     8     4  batchLength          bytes after this field
 *    12     4  partitionLeaderEpoch
 *    16     1  magic                2
 *    17     4  crc                  CRC-32C of bytes 21..end
 *    21     2  attributes           bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *    23     4  lastOffsetDelta
 *    27     8  baseTimestamp
 *    35     8  maxTimestamp
 *    43     8  producerId
 *    51     2  producerEpoch
 *    53     4  baseSequence
 *    57     4  recordCount
 *    61     -  records (possibly compressed)
 *
 * baseOffset and partitionLeaderEpoch sit outside the CRC, so the broker
 * patches them in place on append.
 *
 * The records section holds recordCount records, compressed as one stream
 * when the codec bits are set (proto/compress.h). Each record:
 *
 *   length          varint   bytes after this field
 *   attributes      int8     unused by Kafka, kept as is
 *   timestampDelta  varlong  timestamp - baseTimestamp
 *   offsetDelta     varint   offset - baseOffset
 *   key             varint length (-1 = null) + bytes
 *   value           varint length (-1 = null) + bytes
 *   headers         varint count, then per header: key (varint length +
 *                   bytes, never null), value (varint length, -1 = null)
 *
 * Sections: the envelope (parse, validate, patch), then record iteration,
 * then the batch builder (record_build.c).
 */
#ifndef SL_PROTO_RECORD_H
#define SL_PROTO_RECORD_H

#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "proto/wire.h"

#define SL_BATCH_HEADER_SIZE  61
#define SL_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define SL_BATCH_CRC_START    21

#define SL_BATCH_OFF_BASE_OFFSET    0
#define SL_BATCH_OFF_LENGTH         8
#define SL_BATCH_OFF_LEADER_EPOCH   12
#define SL_BATCH_OFF_MAGIC          16
#define SL_BATCH_OFF_CRC            17
#define SL_BATCH_OFF_ATTRIBUTES     21
#define SL_BATCH_OFF_LAST_DELTA     23
#define SL_BATCH_OFF_BASE_TIMESTAMP 27
#define SL_BATCH_OFF_MAX_TIMESTAMP  35
#define SL_BATCH_OFF_PRODUCER_ID    43
#define SL_BATCH_OFF_PRODUCER_EPOCH 51
#define SL_BATCH_OFF_BASE_SEQUENCE  53
#define SL_BATCH_OFF_RECORD_COUNT   57

#define SL_ATTR_CODEC_MASK      0x07
#define SL_ATTR_LOG_APPEND_TIME 0x08
#define SL_ATTR_TRANSACTIONAL   0x10
#define SL_ATTR_CONTROL         0x20

typedef enum sl_codec {
    SL_CODEC_NONE = 0,
    SL_CODEC_GZIP = 1,
    SL_CODEC_SNAPPY = 2,
    SL_CODEC_LZ4 = 3,
    SL_CODEC_ZSTD = 4,
} sl_codec_t;

/* "Use the codec's default level" for sl_compress and the batch builder. */
#define SL_COMPRESS_LEVEL_DEFAULT INT32_MIN

typedef struct sl_batch_hdr {
    int64_t base_offset;
    int32_t batch_length;
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} sl_batch_hdr_t;

/* Total bytes of the batch on the wire/disk: batchLength + 12. */
static inline int64_t
sl_batch_size(const sl_batch_hdr_t *h)
{
    return (int64_t)h->batch_length + SL_BATCH_LOG_OVERHEAD;
}

static inline sl_codec_t
sl_batch_codec(const sl_batch_hdr_t *h)
{
    return (sl_codec_t)(h->attributes & SL_ATTR_CODEC_MASK);
}

/* Decodes the 61-byte header; SL_EPROTO if len is shorter than the header.
 * Does not check magic, length or CRC: see sl_batch_validate. */
SL_MUST_CHECK int sl_batch_hdr_parse(const uint8_t *p, size_t len, sl_batch_hdr_t *h);

/*
 * Checks a complete batch of exactly len bytes: batchLength matches len,
 * magic 2, CRC-32C, recordCount >= 0 and consistent with lastOffsetDelta
 * (count - 1 == lastOffsetDelta, or count == 0 only for an empty batch),
 * codec known. Does not decompress. Fills *h on success.
 * Returns SL_OK, SL_EPROTO (malformed) or SL_ECORRUPT (CRC mismatch).
 */
SL_MUST_CHECK int sl_batch_validate(const uint8_t *p, size_t len, sl_batch_hdr_t *h);

/* In-place patches of fields outside the CRC. */
void sl_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void sl_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
/* Stores maxTimestamp, then rewrites the CRC. */
void sl_batch_set_max_timestamp(uint8_t *batch, size_t len, int64_t ts);
/* Sets the LogAppendTime attribute and maxTimestamp, then rewrites the CRC. */
void sl_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t ts);
/* Recomputes and stores the CRC over bytes 21..len. */
void sl_batch_update_crc(uint8_t *batch, size_t len);

/* ------------------------------------------------------------------ */
/* Records: iteration                                                   */
/* ------------------------------------------------------------------ */

/*
 * One record, as views into the batch (uncompressed) or into the scratch
 * buffer the batch was decompressed into. Valid while both stay untouched.
 */
typedef struct sl_record {
    int8_t attributes;
    int32_t offset_delta;
    int64_t timestamp_delta;
    int64_t offset;    /* baseOffset + offsetDelta */
    int64_t timestamp; /* baseTimestamp + timestampDelta, or the batch's
                        * maxTimestamp when it carries LogAppendTime (as
                        * Kafka reports it) */
    sl_bytes_t key;    /* len -1 = null */
    sl_bytes_t value;  /* len -1 = null */
    int32_t header_count;
    const uint8_t *headers; /* header_count encoded headers, already checked */
    size_t headers_len;
} sl_record_t;

typedef struct sl_header {
    sl_str_t key;     /* never null */
    sl_bytes_t value; /* len -1 = null */
} sl_header_t;

/*
 * Record iterator. hdr is public (read it for base offset, attributes,
 * producer fields); the rest is private. No allocation except the
 * decompression into the caller's scratch buffer.
 *
 * Checks, all failing with SL_EPROTO and sticking (every later call
 * returns the same error): each record's declared length fits the bytes
 * left and equals what its fields used; key/value/header lengths fit;
 * header keys are not null; offsetDelta strictly increases and stays
 * <= lastOffsetDelta; exactly recordCount records and no trailing bytes.
 * Single owner, any thread.
 */
typedef struct sl_record_iter {
    sl_batch_hdr_t hdr;
    sl_reader_t rd;     /* over the records section */
    int32_t left;       /* records not yet returned */
    int64_t prev_delta; /* offsetDelta of the previous record, -1 at start */
    int err;
    const char *reason; /* static text naming the first problem, NULL if none */
} sl_record_iter_t;

/*
 * Validates the batch (sl_batch_validate: length, magic, CRC...) and
 * prepares iteration. Uncompressed batches are read in place and scratch
 * may be NULL. Compressed ones are decompressed into scratch (reset first,
 * then owned by the caller as before) with at most max_decompressed bytes.
 * Returns SL_OK, SL_EPROTO (malformed, including a corrupt compressed
 * stream), SL_ECORRUPT (CRC), SL_ETOOBIG (over the budget), SL_EINVAL
 * (compressed batch and no scratch).
 */
SL_MUST_CHECK int sl_record_iter_init(sl_record_iter_t *it, const uint8_t *batch, size_t len,
                                      sl_buf_t *scratch, size_t max_decompressed);

/* The same for a batch the caller already ran through sl_batch_validate
 * (h is its result): skips the CRC pass, e.g. on the produce path. */
SL_MUST_CHECK int sl_record_iter_init_validated(sl_record_iter_t *it, const sl_batch_hdr_t *h,
                                                const uint8_t *batch, size_t len, sl_buf_t *scratch,
                                                size_t max_decompressed);

/* Next record: 1 and *r filled, 0 at the end (all recordCount records read
 * and nothing left over), or a negative status (see above). */
SL_MUST_CHECK int sl_record_iter_next(sl_record_iter_t *it, sl_record_t *r);

/* Headers of a record returned by sl_record_iter_next. */
typedef struct sl_header_iter {
    sl_reader_t rd;
    int32_t left;
} sl_header_iter_t;

void sl_header_iter_init(sl_header_iter_t *hi, const sl_record_t *r);
/* 1 and *h filled, 0 at the end, SL_EPROTO if the bytes do not parse
 * (cannot happen for a record from the iterator, which checked them). */
SL_MUST_CHECK int sl_header_iter_next(sl_header_iter_t *hi, sl_header_t *h);

/* ------------------------------------------------------------------ */
/* Records: building (record_build.c)                                   */
/* ------------------------------------------------------------------ */

/* Batch-level fields of a built batch. sl_batch_opts_init sets the
 * producer defaults: codec none, default level, base offset 0, leader epoch
 * -1, no producer id/epoch/sequence (-1), no attribute bits. */
typedef struct sl_batch_opts {
    sl_codec_t codec;
    int level;          /* SL_COMPRESS_LEVEL_DEFAULT or see sl_compress */
    int16_t attributes; /* SL_ATTR_* other than the codec bits */
    int64_t base_offset;
    int32_t leader_epoch;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
} sl_batch_opts_t;

void sl_batch_opts_init(sl_batch_opts_t *o);

/*
 * Accumulates encoded records in an owned buffer, then writes the batch.
 * baseTimestamp is the first record's timestamp and maxTimestamp the
 * largest, as Kafka's producer does. Reusable: finish leaves it empty with
 * the same options. Single owner, any thread.
 */
typedef struct sl_batch_builder {
    sl_batch_opts_t opts;
    sl_buf_t records;   /* uncompressed records section so far */
    int32_t count;      /* records appended */
    int32_t last_delta; /* offsetDelta of the last record, -1 if none */
    int64_t base_ts;    /* timestamp of the first record */
    int64_t max_ts;
} sl_batch_builder_t;

void sl_batch_builder_init(sl_batch_builder_t *b, const sl_batch_opts_t *opts);
void sl_batch_builder_deinit(sl_batch_builder_t *b);
/* Drops appended records, keeps options and memory. */
void sl_batch_builder_reset(sl_batch_builder_t *b);

/*
 * Appends a record at the next offset delta (0, 1, 2...). Key and value
 * may be null (len -1); headers[0..header_count) are copied. Returns SL_OK,
 * SL_EINVAL (a null header key, negative count), SL_ETOOBIG (the record or
 * the batch would pass Kafka's 2 GiB int32 limits).
 */
SL_MUST_CHECK int sl_batch_builder_append(sl_batch_builder_t *b, int64_t timestamp, sl_bytes_t key,
                                          sl_bytes_t value, const sl_header_t *headers,
                                          int32_t header_count);

/* The same at an explicit offset delta, which must be greater than the
 * previous one (gaps allowed: compaction, legacy inner offsets); else
 * SL_EINVAL. */
SL_MUST_CHECK int sl_batch_builder_append_at(sl_batch_builder_t *b, int32_t offset_delta,
                                             int64_t timestamp, sl_bytes_t key, sl_bytes_t value,
                                             const sl_header_t *headers, int32_t header_count);

/* Copies a record read by sl_record_iter_next (attributes, key, value,
 * headers verbatim) at offset_delta, with r->timestamp. */
SL_MUST_CHECK int sl_batch_builder_append_record(sl_batch_builder_t *b, const sl_record_t *r,
                                                 int32_t offset_delta);

/*
 * Appends the complete batch (header, compressed records, CRC) to out and
 * resets the builder. Returns SL_OK, SL_EINVAL (no records: Kafka never
 * writes an empty batch from a producer; or a bad compression level),
 * SL_ETOOBIG (batch over 2 GiB). On failure out is unchanged and the
 * builder keeps its records (fix the options and finish again).
 */
SL_MUST_CHECK int sl_batch_builder_finish(sl_batch_builder_t *b, sl_buf_t *out);

#endif
