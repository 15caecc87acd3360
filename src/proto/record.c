/*
 * record.c -- record batch (magic 2) envelope: parse, validate, patch.
 * See record.h for the layout.
 */
#include "proto/record.h"

#include "base/crc32c.h"
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
sl_batch_set_log_append_time(uint8_t *batch, size_t len, int64_t ts)
{
    uint16_t attr = sl_be16(batch + SL_BATCH_OFF_ATTRIBUTES);

    sl_put_be16(batch + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | SL_ATTR_LOG_APPEND_TIME));
    sl_put_be64(batch + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    sl_batch_update_crc(batch, len);
}
