/*
 * legacy_down.c -- down-conversion of stored magic-2 batches into message
 * sets of magic 0 or 1 for old Fetch versions (rules in legacy.h).
 *
 * Output is built entry by entry and each entry is kept only if it fits the
 * byte limit: an uncompressed batch gives one message per record, a
 * compressed one gives wrappers of the same codec. A wrapper is closed when
 * the next record would make its inner set larger than about 3/4 of the room
 * left, so that even incompressible data, once compressed and wrapped,
 * still fits; a client that grows its fetch size (sarama, kafka-python)
 * therefore always gets its next wrapper eventually, which would not hold if
 * one wrapper per batch had a size independent of the limit and the batch
 * were larger than the client's maximum.
 */
#include "proto/compress.h"
#include "proto/legacy.h"

#include "proto/wire.h"

/* What one batch may decompress to, unless told; and the most we accept
 * from a caller (the inner set of a wrapper must fit an int32 size). */
#define DEFAULT_MAX_DECOMPRESSED (64u << 20)
#define MAX_DECOMPRESSED_CAP     (1u << 30)
/* Room kept for the wrapper header and the codec's framing. */
#define WRAP_SLACK 64

typedef struct down {
    const sl_legacy_down_opts_t *o;
    sl_buf_t *out;
    size_t start; /* out->len on entry */
    sl_legacy_down_info_t *info;
    bool full;    /* the limit is reached: stop */
    bool any;     /* a record was taken (prev is set) */
    int64_t prev; /* offset of the last record taken */
    /* the wrapper being filled */
    sl_buf_t inner;
    sl_buf_t comp;
    int32_t n_inner;
    int64_t first_offset, last_offset, max_ts;
    sl_codec_t codec;
    bool lat;       /* the batch carries LogAppendTime */
    int64_t lat_ts; /* ... which is its maxTimestamp */
} down_t;

void
sl_legacy_down_opts_init(sl_legacy_down_opts_t *o, int8_t magic, int64_t fetch_offset,
                         size_t max_bytes)
{
    memset(o, 0, sizeof(*o));
    o->magic = magic;
    o->fetch_offset = fetch_offset;
    o->max_bytes = max_bytes;
    o->max_decompressed = DEFAULT_MAX_DECOMPRESSED;
}

static size_t
emitted(const down_t *d)
{
    return d->out->len - d->start;
}

static size_t
room(const down_t *d)
{
    size_t e = emitted(d);

    return e < d->o->max_bytes ? d->o->max_bytes - e : 0;
}

/*
 * The entry at out[at..] (messages records, the last at last_offset) was
 * just written: keep it if it fits, else apply the first-entry rules (whole
 * under min_one, cut under partial_tail) or drop it. Returns false once
 * nothing more may be added.
 */
static bool
commit(down_t *d, size_t at, int32_t messages, int64_t last_offset)
{
    size_t before = at - d->start, n = d->out->len - at;

    if (before + n <= d->o->max_bytes || (before == 0 && d->o->min_one)) {
        d->info->messages += messages;
        d->info->next_offset = (int64_t)((uint64_t)last_offset + 1); /* wraps like Kafka's longs */
        if (before + n >= d->o->max_bytes)
            d->full = true;
        return !d->full;
    }
    if (before == 0 && d->o->partial_tail && d->o->max_bytes > 0) {
        d->out->len = at + d->o->max_bytes;
        d->info->partial = true;
    } else {
        d->out->len = at;
    }
    d->full = true;
    return false;
}

/* Rewrites an LZ4F header checksum the way Kafka 0.8/0.9 computed it (over
 * the frame magic too), which magic-0 readers of that era expect. */
static void
lz4_break_header_checksum(uint8_t *frame, size_t len)
{
    size_t hc_pos;

    if (len < 7)
        return;
    hc_pos = 6 + (frame[4] & 0x08 ? 8 : 0) + (frame[4] & 0x01 ? 4 : 0);
    if (len <= hc_pos)
        return;
    frame[hc_pos] = (uint8_t)(sl_xxh32(frame, hc_pos, 0) >> 8);
}

/* Closes the current wrapper: compress, wrap, commit. */
static bool
flush_wrapper(down_t *d)
{
    int8_t magic = d->o->magic;
    int8_t attr = (int8_t)d->codec;
    size_t at = d->out->len;
    int64_t ts;
    bool ok;
    int rc;

    if (d->n_inner == 0)
        return !d->full;
    sl_buf_reset(&d->comp);
    /* Only gzip/snappy/lz4 get here and the default level is valid for
     * each, so compression cannot fail. */
    rc = sl_compress(d->codec, SL_COMPRESS_LEVEL_DEFAULT, d->inner.data, d->inner.len, &d->comp);
    SL_ASSERT(rc == SL_OK);
    if (magic == 0 && d->codec == SL_CODEC_LZ4)
        lz4_break_header_checksum(d->comp.data, d->comp.len);
    if (magic == 1 && d->lat)
        attr |= SL_LEGACY_ATTR_LOG_APPEND_TIME;
    ts = d->lat ? d->lat_ts : d->max_ts;
    sl_legacy_msg_write(d->out, magic, d->last_offset, attr, ts, SL_BYTES_NULL,
                        (sl_bytes_t){d->comp.data, (int32_t)d->comp.len});
    ok = commit(d, at, d->n_inner, d->last_offset);
    sl_buf_reset(&d->inner);
    d->n_inner = 0;
    return ok;
}

/* Largest inner set for a wrapper given the room left (see the top). */
static size_t
inner_limit(const down_t *d)
{
    size_t r = room(d);

    return r > WRAP_SLACK ? (r - WRAP_SLACK) / 4 * 3 : 0;
}

static bool
add_wrapped(down_t *d, const sl_record_t *r)
{
    size_t e = sl_legacy_msg_size(d->o->magic, r->key.len, r->value.len);
    int64_t inner_offset;
    int8_t attr = 0;

    if (d->n_inner > 0 && d->inner.len + e > inner_limit(d) && !flush_wrapper(d))
        return false;
    if (d->n_inner == 0) {
        d->first_offset = r->offset;
        d->max_ts = r->timestamp;
    }
    /* Magic 1: relative to the wrapper's first record; magic 0: absolute. */
    inner_offset = d->o->magic == 1 ? r->offset - d->first_offset : r->offset;
    if (d->o->magic == 1 && d->lat)
        attr = SL_LEGACY_ATTR_LOG_APPEND_TIME;
    sl_legacy_msg_write(&d->inner, d->o->magic, inner_offset, attr, r->timestamp, r->key, r->value);
    d->n_inner++;
    d->last_offset = r->offset;
    if (r->timestamp > d->max_ts)
        d->max_ts = r->timestamp;
    return true;
}

static bool
add_plain(down_t *d, const sl_record_t *r)
{
    int8_t attr = d->o->magic == 1 && d->lat ? SL_LEGACY_ATTR_LOG_APPEND_TIME : 0;
    size_t e = sl_legacy_msg_size(d->o->magic, r->key.len, r->value.len);
    size_t at = d->out->len;

    /* Not the first entry and too big: stop before copying it. */
    if (emitted(d) > 0 && e > room(d)) {
        d->full = true;
        return false;
    }
    sl_legacy_msg_write(d->out, d->o->magic, r->offset, attr, r->timestamp, r->key, r->value);
    return commit(d, at, 1, r->offset);
}

static int
convert_batch(down_t *d, const uint8_t *p, size_t len, sl_buf_t *scratch)
{
    sl_record_iter_t it;
    sl_record_t r;
    int rc;

    rc = sl_record_iter_init(&it, p, len, scratch, d->o->max_decompressed);
    if (rc != SL_OK)
        return rc;
    d->codec = sl_batch_codec(&it.hdr);
    d->lat = (it.hdr.attributes & SL_ATTR_LOG_APPEND_TIME) != 0;
    d->lat_ts = it.hdr.max_timestamp;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        bool more;

        if (r.offset < d->o->fetch_offset)
            continue;
        /* Offsets only grow in a log; bytes that say otherwise (or wrap)
         * end the conversion as if the region ended there. */
        if (d->any && r.offset <= d->prev) {
            d->full = true;
            break;
        }
        d->any = true;
        d->prev = r.offset;
        more = d->codec == SL_CODEC_NONE ? add_plain(d, &r) : add_wrapped(d, &r);
        if (!more)
            return SL_OK;
    }
    if (rc < 0) {
        /* Keep no half wrapper of a batch that turned out to be bad. */
        sl_buf_reset(&d->inner);
        d->n_inner = 0;
        return rc;
    }
    flush_wrapper(d);
    return SL_OK;
}

int
sl_legacy_down_convert(const uint8_t *batches, size_t len, const sl_legacy_down_opts_t *o,
                       sl_buf_t *out, sl_buf_t *scratch, sl_legacy_down_info_t *info)
{
    sl_legacy_down_opts_t opts = *o;
    down_t d = {.o = &opts, .out = out, .start = out->len, .info = info};
    size_t pos = 0;
    int rc = SL_OK;

    memset(info, 0, sizeof(*info));
    info->next_offset = -1;
    if (opts.magic != 0 && opts.magic != 1)
        return SL_EINVAL;
    if (opts.max_decompressed > MAX_DECOMPRESSED_CAP)
        opts.max_decompressed = MAX_DECOMPRESSED_CAP;
    while (!d.full && len - pos >= SL_BATCH_HEADER_SIZE) {
        sl_batch_hdr_t h;
        int64_t size;

        if (sl_batch_hdr_parse(batches + pos, len - pos, &h) != SL_OK)
            break;
        size = sl_batch_size(&h);
        if (h.batch_length < SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD ||
            (uint64_t)size > len - pos)
            break; /* a partial batch at the end of the region */
        if (h.magic == 2 && (h.attributes & SL_ATTR_CONTROL)) {
            pos += (size_t)size; /* markers mean nothing to old clients */
            continue;
        }
        if (h.magic == 2 && sl_batch_codec(&h) == SL_CODEC_ZSTD) {
            info->stopped_zstd = true;
            if (emitted(&d) == 0)
                rc = SL_EUNSUP;
            break;
        }
        rc = convert_batch(&d, batches + pos, (size_t)size, scratch);
        if (rc != SL_OK) {
            if (emitted(&d) > 0)
                rc = SL_OK; /* return what converted before the bad batch */
            break;
        }
        pos += (size_t)size;
    }
    if (rc != SL_OK) {
        out->len = d.start;
        info->messages = 0;
        info->next_offset = -1;
        info->partial = false;
    }
    sl_buf_deinit(&d.inner);
    sl_buf_deinit(&d.comp);
    return rc;
}
