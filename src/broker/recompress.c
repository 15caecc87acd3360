/*
 * recompress.c -- compression.type on the produce path (Kafka's
 * LogValidator): `producer` keeps the batch as the client compressed it;
 * a codec (or `uncompressed`) rebuilds a batch whose codec differs, with the
 * level of compression.gzip.level / compression.lz4.level /
 * compression.zstd.level. A batch already in the topic's codec is kept
 * whatever level it was made with, as in Kafka. Records, offsets deltas,
 * timestamps, headers and the producer fields are carried over unchanged.
 */
#include "broker/broker_int.h"

#include "proto/record.h"

#define RECOMPRESS_BUDGET (64u << 20) /* as records.c's validation budget */

int
sl_topic_codec_level(const sl_topic_config_t *tc)
{
    int level;

    switch (tc->compression_type) {
    case SL_CFG_COMPRESSION_GZIP:
        level = tc->compression_gzip_level;
        break;
    case SL_CFG_COMPRESSION_LZ4:
        level = tc->compression_lz4_level;
        break;
    case SL_CFG_COMPRESSION_ZSTD:
        level = tc->compression_zstd_level;
        break;
    default:
        return SL_COMPRESS_LEVEL_DEFAULT;
    }
    return level == -1 ? SL_COMPRESS_LEVEL_DEFAULT : level;
}

int
sl_records_recompress(sl_broker_t *b, const sl_topic_config_t *tc, const uint8_t *p, size_t len,
                      sl_buf_t *out)
{
    sl_batch_hdr_t h;
    sl_record_iter_t it;
    sl_record_t r;
    sl_batch_opts_t o;
    sl_batch_builder_t bld;
    int rc;

    sl_buf_reset(out);
    if (tc->compression_type == SL_CFG_COMPRESSION_PRODUCER ||
        sl_batch_hdr_parse(p, len, &h) != SL_OK || (h.attributes & SL_ATTR_CONTROL) ||
        (int)sl_batch_codec(&h) == tc->compression_type || h.record_count == 0)
        return SL_OK;
    rc = sl_record_iter_init_validated(&it, &h, p, len, &b->scratch, RECOMPRESS_BUDGET);
    if (rc != SL_OK)
        return rc;
    sl_batch_opts_init(&o);
    o.codec = (sl_codec_t)tc->compression_type;
    o.level = sl_topic_codec_level(tc);
    o.attributes = (int16_t)(h.attributes & ~SL_ATTR_CODEC_MASK);
    o.base_offset = h.base_offset;
    o.leader_epoch = h.leader_epoch;
    o.producer_id = h.producer_id;
    o.producer_epoch = h.producer_epoch;
    o.base_sequence = h.base_sequence;
    sl_batch_builder_init(&bld, &o);
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        if ((rc = sl_batch_builder_append_record(&bld, &r, r.offset_delta)) != SL_OK)
            break;
    }
    if (rc == 0)
        rc = sl_batch_builder_finish(&bld, out);
    sl_batch_builder_deinit(&bld);
    if (b->scratch.cap > (1u << 20))
        sl_buf_deinit(&b->scratch);
    else
        sl_buf_reset(&b->scratch);
    return rc;
}
