/*
 * legacy.c -- message-set entries (magic 0/1): parse and write, and the
 * up-conversion of a produced message set into one magic-2 batch. The
 * formats and the rules are in legacy.h; down-conversion for old fetch
 * versions is in legacy_down.c.
 */
#include "proto/legacy.h"

#include "proto/compress.h"
#include "proto/wire.h"

#include <zlib.h>

/* Largest inner set a produced wrapper may expand to, unless told. */
#define DEFAULT_MAX_DECOMPRESSED (64u << 20)

/* ------------------------------------------------------------------ */
/* Entries                                                              */
/* ------------------------------------------------------------------ */

static uint32_t
legacy_crc(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    /* zlib takes a uInt length: feed big inputs in pieces. */
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

int
sl_legacy_peek_magic(const uint8_t *p, size_t len)
{
    return len > SL_LEGACY_OFF_MAGIC ? (int)(int8_t)p[SL_LEGACY_OFF_MAGIC] : -1;
}

int
sl_legacy_msg_parse(const uint8_t *p, size_t len, sl_legacy_msg_t *m)
{
    sl_reader_t rd;
    int32_t size;
    size_t overhead;

    /* The order of the checks is Kafka's (ByteBufferLogInputStream): a size
     * too small to be a message is corrupt even when the bytes are short. */
    if (len < SL_LEGACY_LOG_OVERHEAD)
        return SL_EAGAIN;
    size = (int32_t)sl_be32(p + 8);
    if (size < SL_LEGACY_V0_OVERHEAD)
        return SL_EPROTO;
    if (len <= SL_LEGACY_OFF_MAGIC)
        return SL_EAGAIN;
    m->magic = (int8_t)p[SL_LEGACY_OFF_MAGIC];
    if (m->magic != 0 && m->magic != 1)
        return SL_EPROTO;
    overhead = m->magic == 0 ? SL_LEGACY_V0_OVERHEAD : SL_LEGACY_V1_OVERHEAD;
    if ((size_t)size < overhead)
        return SL_EPROTO;
    if (len - SL_LEGACY_LOG_OVERHEAD < (size_t)size)
        return SL_EAGAIN;
    m->size = SL_LEGACY_LOG_OVERHEAD + (size_t)size;
    if (legacy_crc(p + SL_LEGACY_OFF_MAGIC, m->size - SL_LEGACY_OFF_MAGIC) !=
        sl_be32(p + SL_LEGACY_OFF_CRC))
        return SL_ECORRUPT;
    m->offset = (int64_t)sl_be64(p);
    m->attributes = (int8_t)p[SL_LEGACY_OFF_ATTR];
    sl_rd_init(&rd, p + SL_LEGACY_OFF_ATTR + 1, m->size - SL_LEGACY_OFF_ATTR - 1);
    m->timestamp = m->magic == 0 ? SL_NO_TIMESTAMP : sl_rd_i64(&rd);
    m->key = sl_rd_bytes(&rd, false);
    m->value = sl_rd_bytes(&rd, false);
    /* Key and value must fill the declared size exactly. */
    if (rd.err || sl_rd_left(&rd) != 0)
        return SL_EPROTO;
    return SL_OK;
}

size_t
sl_legacy_msg_size(int8_t magic, int32_t key_len, int32_t value_len)
{
    return SL_LEGACY_LOG_OVERHEAD + (magic == 0 ? SL_LEGACY_V0_OVERHEAD : SL_LEGACY_V1_OVERHEAD) +
           (size_t)(key_len > 0 ? key_len : 0) + (size_t)(value_len > 0 ? value_len : 0);
}

void
sl_legacy_msg_write(sl_buf_t *out, int8_t magic, int64_t offset, int8_t attributes,
                    int64_t timestamp, sl_bytes_t key, sl_bytes_t value)
{
    size_t n = sl_legacy_msg_size(magic, key.len, value.len);
    size_t start = out->len;
    sl_writer_t wr = {out};
    uint8_t *p;

    /* Callers bound what they write far below the int32 size field. */
    SL_ASSERT(n - SL_LEGACY_LOG_OVERHEAD <= INT32_MAX);
    sl_buf_reserve(out, n);
    sl_wr_i64(&wr, offset);
    sl_wr_i32(&wr, (int32_t)(n - SL_LEGACY_LOG_OVERHEAD));
    sl_wr_u32(&wr, 0); /* CRC, filled below */
    sl_wr_i8(&wr, magic);
    sl_wr_i8(&wr, attributes);
    if (magic != 0)
        sl_wr_i64(&wr, timestamp);
    sl_wr_bytes(&wr, false, key);
    sl_wr_bytes(&wr, false, value);
    SL_ASSERT(out->len - start == n);
    p = out->data + start;
    sl_put_be32(p + SL_LEGACY_OFF_CRC,
                legacy_crc(p + SL_LEGACY_OFF_MAGIC, n - SL_LEGACY_OFF_MAGIC));
}

/* ------------------------------------------------------------------ */
/* Up-conversion                                                        */
/* ------------------------------------------------------------------ */

void
sl_legacy_up_opts_init(sl_legacy_up_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->max_decompressed = DEFAULT_MAX_DECOMPRESSED;
    o->codec = -1;
    o->level = SL_COMPRESS_LEVEL_DEFAULT;
    o->ts_before_max_ms = INT64_MAX;
    o->ts_after_max_ms = INT64_MAX;
}

/* Kafka's `now - ts > before || ts - now > after`, without overflow. */
static bool
ts_out_of_range(const sl_legacy_up_opts_t *o, int64_t ts)
{
    if (ts < o->now_ms)
        return o->ts_before_max_ms != INT64_MAX && o->ts_before_max_ms >= 0 &&
               (uint64_t)o->now_ms - (uint64_t)ts > (uint64_t)o->ts_before_max_ms;
    return o->ts_after_max_ms != INT64_MAX && o->ts_after_max_ms >= 0 &&
           (uint64_t)ts - (uint64_t)o->now_ms > (uint64_t)o->ts_after_max_ms;
}

/* Checks one message the way LogValidator.validateRecord does, then adds
 * it at the next offset. claims_lat: the producer marked it LogAppendTime. */
static int
add_record(sl_batch_builder_t *b, const sl_legacy_up_opts_t *o, const sl_legacy_msg_t *m,
           int64_t ts, bool claims_lat, sl_legacy_up_info_t *info)
{
    int rc;

    if (o->require_key && m->key.len < 0)
        return SL_EINVAL;
    if (!o->log_append_time && ts != SL_NO_TIMESTAMP) {
        if (ts_out_of_range(o, ts))
            return SL_ERANGE;
    } else if (claims_lat) {
        return SL_ERANGE; /* "Producer should not set timestamp type to LogAppendTime" */
    }
    rc = sl_batch_builder_append(b, ts, m->key, m->value, NULL, 0);
    if (rc == SL_OK)
        info->count++;
    return rc;
}

static int
decompress_wrapper(const sl_legacy_msg_t *w, size_t budget, sl_buf_t *scratch)
{
    sl_codec_t codec = (sl_codec_t)(w->attributes & SL_ATTR_CODEC_MASK);

    if (codec > SL_CODEC_LZ4)
        return SL_EUNSUP; /* zstd needs magic 2; 5..7 name no codec */
    if (w->value.len < 0)
        return SL_EINVAL; /* Kafka: "compressed record set with null value" */
    sl_buf_reset(scratch);
    /* Kafka reads magic-0 lz4 ignoring the header checksum (KAFKA-3160). */
    if (codec == SL_CODEC_LZ4 && w->magic == 0)
        return sl_decompress_lz4_legacy(w->value.ptr, (size_t)w->value.len, scratch, budget);
    return sl_decompress(codec, w->value.ptr, (size_t)w->value.len, scratch, budget);
}

/* Adds every inner message of wrapper w; their offsets are ignored. */
static int
unwrap(sl_batch_builder_t *b, const sl_legacy_up_opts_t *o, const sl_legacy_msg_t *w,
       sl_buf_t *scratch, sl_legacy_up_info_t *info)
{
    bool lat = w->magic == 1 && (w->attributes & SL_LEGACY_ATTR_LOG_APPEND_TIME);
    int32_t before = info->count;
    size_t pos = 0;
    int rc;

    if ((rc = decompress_wrapper(w, o->max_decompressed, scratch)) != SL_OK)
        return rc;
    while (pos < scratch->len) {
        sl_legacy_msg_t m;

        if (sl_legacy_peek_magic(scratch->data + pos, scratch->len - pos) == 2)
            return SL_EINVAL;
        rc = sl_legacy_msg_parse(scratch->data + pos, scratch->len - pos, &m);
        if (rc != SL_OK)
            return rc == SL_EAGAIN ? SL_EPROTO : rc; /* a cut inner set is corrupt */
        if (m.magic != w->magic || (m.attributes & SL_ATTR_CODEC_MASK) != 0)
            return SL_EINVAL;
        rc = add_record(b, o, &m, lat ? w->timestamp : m.timestamp,
                        lat || (m.magic == 1 && (m.attributes & SL_LEGACY_ATTR_LOG_APPEND_TIME)),
                        info);
        if (rc != SL_OK)
            return rc;
        pos += m.size;
    }
    return info->count > before ? SL_OK : SL_EINVAL;
}

int
sl_legacy_up_convert(const uint8_t *set, size_t len, const sl_legacy_up_opts_t *o, sl_buf_t *out,
                     sl_buf_t *scratch, sl_legacy_up_info_t *info)
{
    sl_batch_builder_t b;
    sl_batch_opts_t bo;
    bool wrapped = false;
    size_t pos = 0;
    int rc = SL_OK;

    memset(info, 0, sizeof(*info));
    info->magic = -1;
    sl_batch_opts_init(&bo);
    sl_batch_builder_init(&b, &bo);
    while (pos < len) {
        sl_legacy_msg_t m;
        int peek = sl_legacy_peek_magic(set + pos, len - pos);

        /* A v2 batch among old messages: Kafka's "batch magic is not the
         * same as the first batch's". */
        if (peek == 2 && info->magic >= 0) {
            rc = SL_EINVAL;
            goto done;
        }
        rc = sl_legacy_msg_parse(set + pos, len - pos, &m);
        if (rc == SL_EAGAIN) {
            info->trimmed = len - pos; /* Kafka trims a partial tail too */
            rc = SL_OK;
            break;
        }
        if (rc != SL_OK)
            goto done;
        if (info->magic < 0)
            info->magic = m.magic;
        /* One wrapper and nothing else, or only plain messages, all of the
         * same magic (LogValidator.validateBatch and
         * getFirstBatchAndMaybeValidateNoMoreBatches). */
        if (m.magic != info->magic || wrapped ||
            ((m.attributes & SL_ATTR_CODEC_MASK) != 0 && info->count > 0)) {
            rc = SL_EINVAL;
            goto done;
        }
        if ((m.attributes & SL_ATTR_CODEC_MASK) != 0) {
            wrapped = true;
            info->wire_codec = (sl_codec_t)(m.attributes & SL_ATTR_CODEC_MASK);
            rc = unwrap(&b, o, &m, scratch, info);
        } else {
            rc = add_record(&b, o, &m, m.timestamp,
                            m.magic == 1 && (m.attributes & SL_LEGACY_ATTR_LOG_APPEND_TIME), info);
        }
        if (rc != SL_OK)
            goto done;
        pos += m.size;
    }
    if (info->count == 0) {
        rc = SL_EPROTO; /* not one whole message */
        goto done;
    }
    if (o->codec >= 0) {
        b.opts.codec = (sl_codec_t)o->codec;
        b.opts.level = o->level;
    } else {
        b.opts.codec = info->wire_codec;
    }
    rc = sl_batch_builder_finish(&b, out);
    if (rc == SL_EINVAL)
        rc = SL_EUNSUP; /* a level the codec refuses: the caller's config */
done:
    sl_batch_builder_deinit(&b);
    return rc;
}
