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
 * patches them in place on append. This header covers the batch envelope;
 * record-level parsing/building and compression follow below it.
 */
#ifndef SL_PROTO_RECORD_H
#define SL_PROTO_RECORD_H

#include "base/common.h"

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
/* Sets the LogAppendTime attribute and maxTimestamp, then rewrites the CRC. */
void sl_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t ts);
/* Recomputes and stores the CRC over bytes 21..len. */
void sl_batch_update_crc(uint8_t *batch, size_t len);

#endif
