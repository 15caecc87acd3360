/*
 * compress.c -- gzip, snappy, lz4 and zstd for record batches (compress.h).
 *
 * Every decoder writes through out_space(), which hands out room in the
 * caller's buffer but never lets it hold more than start + max_out + 1
 * bytes. Reaching that last byte means the stream is over budget: the
 * decoder stops there, so a bomb costs at most max_out bytes of output and
 * the time to produce them.
 */
#include "proto/compress.h"

#include "proto/wire.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ------------------------------------------------------------------ */
/* Bounded output                                                       */
/* ------------------------------------------------------------------ */

typedef struct sink {
    sl_buf_t *out;
    size_t start; /* out->len on entry: restored on failure */
    size_t limit; /* out->len may never pass this (start + max_out + 1) */
} sink_t;

static void
sink_init(sink_t *s, sl_buf_t *out, size_t max_out)
{
    s->out = out;
    s->start = out->len;
    /* Saturate instead of wrapping when a caller passes SIZE_MAX. */
    s->limit = max_out >= SIZE_MAX - out->len - 1 ? SIZE_MAX : out->len + max_out + 1;
}

/* Bytes still allowed before the over-budget byte. */
static size_t
sink_budget(const sink_t *s)
{
    return s->limit - s->out->len - 1;
}

/* Grows the buffer to at least `need` bytes of capacity, geometrically,
 * but never past the limit. sl_buf_reserve would round up to a power of
 * two, which could allocate nearly twice the budget. */
static void
sink_grow(sink_t *s, size_t need)
{
    sl_buf_t *b = s->out;
    size_t cap;

    if (need <= b->cap)
        return;
    cap = b->cap < 4096 ? 4096 : b->cap;
    while (cap < need && cap < SIZE_MAX / 2)
        cap *= 2;
    cap = SL_MAX(cap, need);
    cap = SL_MIN(cap, s->limit);
    b->data = sl_xrealloc(b->data, cap);
    b->cap = cap;
}

/* Room to write at out->data + out->len; *avail = 0 means "at the limit". */
static uint8_t *
sink_space(sink_t *s, size_t *avail)
{
    sl_buf_t *b = s->out;

    if (b->len >= s->limit) {
        *avail = 0;
        return NULL;
    }
    if (b->cap <= b->len)
        sink_grow(s, b->len + 1);
    *avail = SL_MIN(b->cap, s->limit) - b->len;
    return b->data + b->len;
}

static int
sink_finish(sink_t *s, int rc)
{
    if (rc == SL_OK && s->out->len >= s->limit)
        rc = SL_ETOOBIG;
    if (rc != SL_OK)
        s->out->len = s->start;
    return rc;
}

/* ------------------------------------------------------------------ */
/* gzip (zlib)                                                          */
/* ------------------------------------------------------------------ */

static int
gzip_decode(sink_t *s, const uint8_t *in, size_t in_len)
{
    z_stream zs;
    int rc = SL_OK;

    memset(&zs, 0, sizeof(zs));
    /* 32 + 15: accept a gzip or zlib header, 32 KiB window. */
    if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK)
        return SL_EPROTO;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)SL_MIN(in_len, UINT_MAX);
    in_len -= zs.avail_in;
    for (;;) {
        size_t avail;
        uint8_t *dst = sink_space(s, &avail);
        int zrc;

        if (dst == NULL) {
            rc = SL_ETOOBIG;
            break;
        }
        zs.next_out = dst;
        zs.avail_out = (uInt)SL_MIN(avail, UINT_MAX);
        zrc = inflate(&zs, Z_NO_FLUSH);
        s->out->len += SL_MIN(avail, UINT_MAX) - zs.avail_out;
        if (zs.avail_in == 0 && in_len > 0) {
            zs.avail_in = (uInt)SL_MIN(in_len, UINT_MAX);
            in_len -= zs.avail_in;
        }
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in == 0)
                break;
            /* Another gzip member follows (Java reads concatenated members). */
            if (inflateReset(&zs) != Z_OK) {
                rc = SL_EPROTO;
                break;
            }
            continue;
        }
        if (zrc == Z_OK)
            continue;
        /* Z_BUF_ERROR with input left means "output full": loop grows it.
         * With no input left the stream is truncated. Anything else is
         * corrupt data (Z_DATA_ERROR, Z_NEED_DICT) or zlib giving up. */
        if (zrc == Z_BUF_ERROR && zs.avail_in > 0)
            continue;
        rc = SL_EPROTO;
        break;
    }
    inflateEnd(&zs);
    return rc;
}

static int
gzip_encode(int level, const uint8_t *in, size_t len, sl_buf_t *out)
{
    z_stream zs;
    int zrc;

    if (level == SL_COMPRESS_LEVEL_DEFAULT)
        level = Z_DEFAULT_COMPRESSION;
    else if (level < 1 || level > 9)
        return SL_EINVAL;
    memset(&zs, 0, sizeof(zs));
    /* 16 + 15: gzip wrapper (mtime 0, no name), 32 KiB window. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return SL_EINVAL;
    zs.next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        if (zs.avail_in == 0) {
            zs.avail_in = (uInt)SL_MIN(len, UINT_MAX);
            len -= zs.avail_in;
        }
        /* Room for the worst case of what is still queued: progress is
         * guaranteed, so the loop ends. */
        sl_buf_reserve(out, deflateBound(&zs, zs.avail_in));
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)SL_MIN(out->cap - out->len, UINT_MAX);
        zrc = deflate(&zs, len == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len = (size_t)(zs.next_out - out->data);
        if (zrc != Z_OK && zrc != Z_BUF_ERROR)
            break;
    }
    deflateEnd(&zs);
    /* deflateBound guarantees room, so anything but STREAM_END is a bug. */
    SL_ASSERT(zrc == Z_STREAM_END);
    return SL_OK;
}

/* ------------------------------------------------------------------ */
/* snappy                                                               */
/* ------------------------------------------------------------------ */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16
#define XERIAL_BLOCK_SIZE  (32 * 1024)

/* One raw snappy block. Its declared length is checked against the budget
 * before any memory is reserved for it. */
static int
snappy_block_decode(sink_t *s, const uint8_t *in, size_t in_len)
{
    size_t ulen, got;

    if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK)
        return SL_EPROTO;
    if (ulen > sink_budget(s))
        return SL_ETOOBIG;
    /* +1: an empty block must still get a real pointer (NULL + 0 is
     * undefined); the limit always leaves room for it. */
    sink_grow(s, s->out->len + ulen + 1);
    got = ulen;
    if (snappy_uncompress((const char *)in, in_len, (char *)s->out->data + s->out->len, &got) !=
            SNAPPY_OK ||
        got != ulen)
        return SL_EPROTO;
    s->out->len += ulen;
    return SL_OK;
}

static int
snappy_decode(sink_t *s, const uint8_t *in, size_t in_len)
{
    size_t pos = XERIAL_HEADER_SIZE;

    if (in_len < XERIAL_HEADER_SIZE || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
        return snappy_block_decode(s, in, in_len);
    /* Version and compat words are not checked: every writer uses 1/1
     * and the block layout has never changed. */
    while (pos < in_len) {
        uint32_t blen;
        int rc;

        if (in_len - pos < 4)
            return SL_EPROTO;
        blen = sl_be32(in + pos);
        pos += 4;
        if (blen > in_len - pos)
            return SL_EPROTO;
        if ((rc = snappy_block_decode(s, in + pos, blen)) != SL_OK)
            return rc;
        pos += blen;
    }
    return SL_OK;
}

static int
snappy_encode(const uint8_t *in, size_t len, sl_buf_t *out)
{
    uint8_t *hdr = sl_buf_extend(out, XERIAL_HEADER_SIZE);
    size_t pos = 0;

    memcpy(hdr, xerial_magic, sizeof(xerial_magic));
    sl_put_be32(hdr + 8, 1);  /* version */
    sl_put_be32(hdr + 12, 1); /* minimum compatible version */
    while (pos < len) {
        size_t blk = SL_MIN(len - pos, XERIAL_BLOCK_SIZE);
        size_t clen = snappy_max_compressed_length(blk);
        uint8_t *p;

        sl_buf_reserve(out, 4 + clen);
        p = out->data + out->len;
        if (snappy_compress((const char *)in + pos, blk, (char *)p + 4, &clen) != SNAPPY_OK)
            sl_panic(__FILE__, __LINE__, "snappy_compress failed with a bound-sized buffer");
        sl_put_be32(p, (uint32_t)clen);
        out->len += 4 + clen;
        pos += blk;
    }
    return SL_OK;
}

/* ------------------------------------------------------------------ */
/* lz4 (frame format)                                                   */
/* ------------------------------------------------------------------ */

static int
lz4_decode(sink_t *s, const uint8_t *in, size_t in_len)
{
    LZ4F_dctx *dctx = NULL;
    size_t hint = 1; /* 0 once a frame is complete and fully flushed */
    int rc = SL_OK;

    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return SL_EPROTO;
    while (in_len > 0 || hint != 0) {
        size_t avail, dlen, slen = in_len;
        uint8_t *dst = sink_space(s, &avail);

        if (dst == NULL) {
            rc = SL_ETOOBIG;
            break;
        }
        dlen = avail;
        hint = LZ4F_decompress(dctx, dst, &dlen, in, &slen, NULL);
        if (LZ4F_isError(hint)) {
            rc = SL_EPROTO;
            break;
        }
        s->out->len += dlen;
        in += slen;
        in_len -= slen;
        /* No input taken and no output made with room available: the
         * frame is truncated (or liblz4 is stuck, which we refuse to spin on). */
        if (slen == 0 && dlen == 0) {
            rc = SL_EPROTO;
            break;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

static int
lz4_encode(int level, const uint8_t *in, size_t len, sl_buf_t *out)
{
    LZ4F_preferences_t prefs;
    size_t bound, n;

    if (level == SL_COMPRESS_LEVEL_DEFAULT)
        level = 0;
    else if (level < 0 || level > 17)
        return SL_EINVAL;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.compressionLevel = level;
    bound = LZ4F_compressFrameBound(len, &prefs);
    sl_buf_reserve(out, bound);
    n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
    if (LZ4F_isError(n))
        sl_panic(__FILE__, __LINE__, "LZ4F_compressFrame: %s", LZ4F_getErrorName(n));
    out->len += n;
    return SL_OK;
}

uint32_t
sl_xxh32(const void *data, size_t len, uint32_t seed)
{
    /* XXH32 as specified in the xxHash format description. */
    static const uint32_t p1 = 2654435761u, p2 = 2246822519u, p3 = 3266489917u, p4 = 668265263u,
                          p5 = 374761393u;
    const uint8_t *p = data, *end = p + len;
    uint32_t h;

#define ROTL32(x, r) (((x) << (r)) | ((x) >> (32 - (r))))
#define LE32(q)                                                                                    \
    ((uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 | (uint32_t)(q)[3] << 24)
    if (len >= 16) {
        uint32_t v[4] = {seed + p1 + p2, seed + p2, seed, seed - p1};

        while (end - p >= 16) {
            for (int i = 0; i < 4; i++, p += 4) {
                v[i] += LE32(p) * p2;
                v[i] = ROTL32(v[i], 13) * p1;
            }
        }
        h = ROTL32(v[0], 1) + ROTL32(v[1], 7) + ROTL32(v[2], 12) + ROTL32(v[3], 18);
    } else {
        h = seed + p5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4)
        h = ROTL32(h + LE32(p) * p3, 17) * p4;
    for (; p < end; p++)
        h = ROTL32(h + *p * p5, 11) * p1;
#undef ROTL32
#undef LE32
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

int
sl_decompress_lz4_legacy(const uint8_t *in, size_t in_len, sl_buf_t *out, size_t max_out)
{
    uint8_t hdr[LZ4F_HEADER_SIZE_MAX];
    size_t hc_pos;
    sl_buf_t fixed = SL_BUF_INIT;
    sink_t s;
    int rc;

    /* magic (4, LE 0x184D2204), FLG, BD, [content size 8], [dict id 4], HC */
    if (in_len < 7 || in[0] != 0x04 || in[1] != 0x22 || in[2] != 0x4d || in[3] != 0x18)
        return SL_EPROTO;
    hc_pos = 6 + (in[4] & 0x08 ? 8 : 0) + (in[4] & 0x01 ? 4 : 0);
    if (in_len <= hc_pos)
        return SL_EPROTO;
    memcpy(hdr, in, hc_pos);
    hdr[hc_pos] = (uint8_t)(sl_xxh32(in + 4, hc_pos - 4, 0) >> 8);
    /* A legacy batch is small (one old message set); copying it keeps the
     * decoder single-input. */
    sl_buf_append(&fixed, hdr, hc_pos + 1);
    sl_buf_append(&fixed, in + hc_pos + 1, in_len - hc_pos - 1);
    sink_init(&s, out, max_out);
    rc = sink_finish(&s, lz4_decode(&s, fixed.data, fixed.len));
    sl_buf_deinit(&fixed);
    return rc;
}

/* ------------------------------------------------------------------ */
/* zstd                                                                 */
/* ------------------------------------------------------------------ */

/* Window cap: enough for every level up to 19 (8 MiB) whatever the budget,
 * more only when the budget itself is larger, never past zstd's default
 * limit of 2^27. A frame with a larger window is refused before its window
 * buffer is allocated. */
static int
zstd_window_log_max(size_t max_out)
{
    int wlog = 23;

    while (wlog < 27 && ((size_t)1 << wlog) < max_out)
        wlog++;
    return wlog;
}

static int
zstd_decode(sink_t *s, const uint8_t *in, size_t in_len)
{
    ZSTD_DCtx *dctx;
    ZSTD_inBuffer ib = {in, in_len, 0};
    unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
    size_t ret = 1; /* 0 once a frame is complete and fully flushed */
    int rc = SL_OK;

    /* Fail a declared bomb before any work; reserve a declared size once. */
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR) {
        if (fcs > sink_budget(s))
            return SL_ETOOBIG;
        sink_grow(s, s->out->len + (size_t)fcs + 1);
    }
    dctx = ZSTD_createDCtx();
    if (dctx == NULL)
        sl_panic(__FILE__, __LINE__, "ZSTD_createDCtx: out of memory");
    /* The common case (one frame with its size, as librdkafka and our
     * encoder write it): decode straight into place, no window buffer and
     * no extra copy. The output capacity is exactly the declared size. */
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
        ZSTD_findFrameCompressedSize(in, in_len) == in_len) {
        size_t n = ZSTD_decompressDCtx(dctx, s->out->data + s->out->len, (size_t)fcs, in, in_len);

        if (!ZSTD_isError(n) && n == fcs)
            s->out->len += n;
        else
            rc = SL_EPROTO;
        ZSTD_freeDCtx(dctx);
        return rc;
    }
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
                                            zstd_window_log_max(sink_budget(s))))) {
        ZSTD_freeDCtx(dctx);
        return SL_EINVAL;
    }
    while (ib.pos < ib.size || ret != 0) {
        size_t avail, before = ib.pos;
        uint8_t *dst = sink_space(s, &avail);
        ZSTD_outBuffer ob;

        if (dst == NULL) {
            rc = SL_ETOOBIG;
            break;
        }
        ob = (ZSTD_outBuffer){dst, avail, 0};
        ret = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            rc = ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge ? SL_ETOOBIG
                                                                                    : SL_EPROTO;
            break;
        }
        s->out->len += ob.pos;
        if (ob.pos == 0 && ib.pos == before) {
            rc = SL_EPROTO; /* truncated frame: no progress possible */
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

static int
zstd_encode(int level, const uint8_t *in, size_t len, sl_buf_t *out)
{
    size_t bound = ZSTD_compressBound(len), n;

    if (level == SL_COMPRESS_LEVEL_DEFAULT)
        level = ZSTD_CLEVEL_DEFAULT;
    else if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return SL_EINVAL;
    sl_buf_reserve(out, bound);
    /* One-shot compression records the content size in the frame header,
     * which lets decoders size their output exactly. */
    n = ZSTD_compress(out->data + out->len, bound, in, len, level);
    if (ZSTD_isError(n))
        sl_panic(__FILE__, __LINE__, "ZSTD_compress: %s", ZSTD_getErrorName(n));
    out->len += n;
    return SL_OK;
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                  */
/* ------------------------------------------------------------------ */

int
sl_decompress(sl_codec_t codec, const uint8_t *in, size_t in_len, sl_buf_t *out, size_t max_out)
{
    sink_t s;
    int rc;

    sink_init(&s, out, max_out);
    switch (codec) {
    case SL_CODEC_NONE:
        if (in_len > max_out)
            return SL_ETOOBIG;
        sl_buf_append(out, in, in_len);
        return SL_OK;
    case SL_CODEC_GZIP:
        rc = gzip_decode(&s, in, in_len);
        break;
    case SL_CODEC_SNAPPY:
        rc = snappy_decode(&s, in, in_len);
        break;
    case SL_CODEC_LZ4:
        rc = lz4_decode(&s, in, in_len);
        break;
    case SL_CODEC_ZSTD:
        rc = zstd_decode(&s, in, in_len);
        break;
    default:
        return SL_EUNSUP;
    }
    return sink_finish(&s, rc);
}

int
sl_compress(sl_codec_t codec, int level, const uint8_t *in, size_t len, sl_buf_t *out)
{
    switch (codec) {
    case SL_CODEC_NONE:
        sl_buf_append(out, in, len);
        return SL_OK;
    case SL_CODEC_GZIP:
        return gzip_encode(level, in, len, out);
    case SL_CODEC_SNAPPY:
        return snappy_encode(in, len, out);
    case SL_CODEC_LZ4:
        return lz4_encode(level, in, len, out);
    case SL_CODEC_ZSTD:
        return zstd_encode(level, in, len, out);
    default:
        return SL_EUNSUP;
    }
}

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

const char *
sl_codec_name(sl_codec_t codec)
{
    if ((unsigned)codec < SL_ARRAY_LEN(codec_names))
        return codec_names[codec];
    return "unknown";
}

int
sl_codec_parse(const char *name, sl_codec_t *codec)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(codec_names); i++) {
        if (strcmp(name, codec_names[i]) == 0) {
            *codec = (sl_codec_t)i;
            return SL_OK;
        }
    }
    return SL_EINVAL;
}
