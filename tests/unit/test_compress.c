/*
 * test_compress.c -- proto/compress.h: round trips for every codec, the
 * output budget against compression bombs, corrupt and truncated streams,
 * both snappy framings, and the legacy lz4 header checksum.
 */
#include "proto/compress.h"
#include "test.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

static const sl_codec_t all_codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                                        SL_CODEC_ZSTD};
static const sl_codec_t real_codecs[] = {SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                                         SL_CODEC_ZSTD};

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

/* Half text-like (compressible), half random bytes. */
static void
fill_mixed(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = i % 2048 < 1024 ? (uint8_t)("sluice record "[i % 14]) : (uint8_t)sl_test_rand();
}

static void
check_round_trip(sl_codec_t codec, int level, const uint8_t *in, size_t len)
{
    sl_buf_t c = SL_BUF_INIT, d = SL_BUF_INIT;

    SL_CHECK_OK(sl_compress(codec, level, in, len, &c));
    SL_CHECK_OK(sl_decompress(codec, c.data, c.len, &d, len));
    SL_CHECK_EQ(d.len, len);
    if (len > 0)
        SL_CHECK_MEM(d.data, in, len);
    /* The exact size is within budget; one byte less is not. */
    if (len > 0) {
        sl_buf_reset(&d);
        SL_CHECK_EQ(sl_decompress(codec, c.data, c.len, &d, len - 1), SL_ETOOBIG);
        SL_CHECK_EQ(d.len, 0);
    }
    sl_buf_deinit(&c);
    sl_buf_deinit(&d);
}

SL_TEST(compress_round_trip_every_codec_and_size)
{
    static const size_t sizes[] = {0, 1, 13, 1000, 32 * 1024, 32 * 1024 + 1, 300 * 1000};
    uint8_t *in = malloc(300 * 1000);

    fill_mixed(in, 300 * 1000);
    for (size_t c = 0; c < SL_ARRAY_LEN(all_codecs); c++)
        for (size_t s = 0; s < SL_ARRAY_LEN(sizes); s++)
            check_round_trip(all_codecs[c], SL_COMPRESS_LEVEL_DEFAULT, in, sizes[s]);
    free(in);
}

SL_TEST(compress_levels_round_trip_and_bad_levels_rejected)
{
    uint8_t in[5000];
    sl_buf_t out = SL_BUF_INIT;

    fill_mixed(in, sizeof(in));
    for (int lvl = 1; lvl <= 9; lvl++)
        check_round_trip(SL_CODEC_GZIP, lvl, in, sizeof(in));
    for (int lvl = 0; lvl <= 17; lvl++)
        check_round_trip(SL_CODEC_LZ4, lvl, in, sizeof(in));
    for (int lvl = -5; lvl <= 19; lvl += 3)
        check_round_trip(SL_CODEC_ZSTD, lvl, in, sizeof(in));
    SL_CHECK_EQ(sl_compress(SL_CODEC_GZIP, 0, in, 10, &out), SL_EINVAL);
    SL_CHECK_EQ(sl_compress(SL_CODEC_GZIP, 10, in, 10, &out), SL_EINVAL);
    SL_CHECK_EQ(sl_compress(SL_CODEC_LZ4, -1, in, 10, &out), SL_EINVAL);
    SL_CHECK_EQ(sl_compress(SL_CODEC_ZSTD, 23, in, 10, &out), SL_EINVAL);
    SL_CHECK_EQ(sl_compress((sl_codec_t)5, SL_COMPRESS_LEVEL_DEFAULT, in, 10, &out), SL_EUNSUP);
    SL_CHECK_EQ(sl_decompress((sl_codec_t)7, in, 10, &out, 100), SL_EUNSUP);
    SL_CHECK_EQ(out.len, 0);
    sl_buf_deinit(&out);
}

SL_TEST(compress_appends_and_restores_length_on_failure)
{
    sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;
    const char *msg = "hello hello hello hello";

    for (size_t i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
        sl_buf_reset(&c);
        sl_buf_reset(&out);
        sl_buf_append(&out, "prefix", 6);
        SL_CHECK_OK(sl_compress(all_codecs[i], SL_COMPRESS_LEVEL_DEFAULT, (const uint8_t *)msg,
                                strlen(msg), &c));
        SL_CHECK_OK(sl_decompress(all_codecs[i], c.data, c.len, &out, 100));
        SL_CHECK_EQ(out.len, 6 + strlen(msg));
        SL_CHECK_MEM(out.data, "prefix", 6);
        SL_CHECK_MEM(out.data + 6, msg, strlen(msg));
        /* A failure leaves what was there. */
        SL_CHECK(sl_decompress(all_codecs[i], c.data, c.len, &out, 3) == SL_ETOOBIG);
        SL_CHECK_EQ(out.len, 6 + strlen(msg));
    }
    sl_buf_deinit(&c);
    sl_buf_deinit(&out);
}

SL_TEST(compress_codec_names)
{
    sl_codec_t c;

    for (size_t i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
        SL_CHECK_OK(sl_codec_parse(sl_codec_name(all_codecs[i]), &c));
        SL_CHECK_EQ(c, all_codecs[i]);
    }
    SL_CHECK_STR(sl_codec_name(SL_CODEC_SNAPPY), "snappy");
    SL_CHECK_STR(sl_codec_name((sl_codec_t)9), "unknown");
    SL_CHECK_EQ(sl_codec_parse("producer", &c), SL_EINVAL);
}

/* ---- corrupt and truncated input ---- */

SL_TEST(compress_every_truncation_is_rejected)
{
    uint8_t in[3000];
    sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;

    fill_mixed(in, sizeof(in));
    for (size_t i = 0; i < SL_ARRAY_LEN(real_codecs); i++) {
        sl_codec_t codec = real_codecs[i];

        sl_buf_reset(&c);
        SL_CHECK_OK(sl_compress(codec, SL_COMPRESS_LEVEL_DEFAULT, in, sizeof(in), &c));
        for (size_t n = 0; n < c.len; n++) {
            int rc;

            sl_buf_reset(&out);
            rc = sl_decompress(codec, c.data, n, &out, 1 * MiB);
            /* A xerial stream cut at a block boundary is a valid shorter
             * stream; every other cut must fail. 3000 bytes is one block,
             * so only the 16-byte header alone is such a cut. */
            if (codec == SL_CODEC_SNAPPY && n == 16) {
                SL_CHECK_OK(rc);
                SL_CHECK_EQ(out.len, 0);
                continue;
            }
            if (rc != SL_EPROTO)
                sl_test_fail(__FILE__, __LINE__, "%s cut at %zu/%zu: rc %d", sl_codec_name(codec),
                             n, c.len, rc);
            SL_CHECK_EQ(out.len, 0);
        }
    }
    sl_buf_deinit(&c);
    sl_buf_deinit(&out);
}

SL_TEST(compress_random_corruption_never_crashes_or_overruns)
{
    uint8_t in[4000];
    sl_buf_t c = SL_BUF_INIT, bad = SL_BUF_INIT, out = SL_BUF_INIT;
    int failures = 0;

    fill_mixed(in, sizeof(in));
    for (size_t i = 0; i < SL_ARRAY_LEN(real_codecs); i++) {
        sl_buf_reset(&c);
        SL_CHECK_OK(sl_compress(real_codecs[i], SL_COMPRESS_LEVEL_DEFAULT, in, sizeof(in), &c));
        for (int round = 0; round < 300; round++) {
            int rc;

            sl_buf_reset(&bad);
            sl_buf_append(&bad, c.data, c.len);
            for (int k = 0; k < 1 + round % 4; k++)
                bad.data[sl_test_rand() % bad.len] ^= (uint8_t)(1 + sl_test_rand() % 255);
            sl_buf_reset(&out);
            rc = sl_decompress(real_codecs[i], bad.data, bad.len, &out, 8000);
            SL_CHECK(rc == SL_OK || rc == SL_EPROTO || rc == SL_ETOOBIG);
            SL_CHECK(out.len <= 8000);
            SL_CHECK(out.cap <= 8001 || rc == SL_OK);
            failures += rc != SL_OK;
        }
    }
    /* Checksummed formats (gzip, zstd's block checks) must notice most of it. */
    SL_CHECK(failures > 300);
    sl_buf_deinit(&c);
    sl_buf_deinit(&bad);
    sl_buf_deinit(&out);
}

SL_TEST(compress_trailing_garbage_rejected)
{
    const char *msg = "some payload some payload some payload";
    sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_codec_t strict[] = {SL_CODEC_GZIP, SL_CODEC_LZ4, SL_CODEC_ZSTD};

    for (size_t i = 0; i < SL_ARRAY_LEN(strict); i++) {
        sl_buf_reset(&c);
        SL_CHECK_OK(sl_compress(strict[i], SL_COMPRESS_LEVEL_DEFAULT, (const uint8_t *)msg,
                                strlen(msg), &c));
        sl_buf_append(&c, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
        sl_buf_reset(&out);
        SL_CHECK_EQ(sl_decompress(strict[i], c.data, c.len, &out, 1000), SL_EPROTO);
    }
    sl_buf_deinit(&c);
    sl_buf_deinit(&out);
}

SL_TEST(compress_empty_input_is_not_a_stream)
{
    sl_buf_t out = SL_BUF_INIT;

    for (size_t i = 0; i < SL_ARRAY_LEN(real_codecs); i++)
        SL_CHECK_EQ(sl_decompress(real_codecs[i], (const uint8_t *)"", 0, &out, 100), SL_EPROTO);
    SL_CHECK_OK(sl_decompress(SL_CODEC_NONE, (const uint8_t *)"", 0, &out, 100));
    sl_buf_deinit(&out);
}

SL_TEST(compress_snappy_empty_block_into_empty_buffer)
{
    /* Found by fuzz_batch: a raw snappy block of length 0 decoded into a
     * buffer that had never been allocated (UBSan: NULL + 0). */
    sl_buf_t out = SL_BUF_INIT;

    SL_CHECK_OK(sl_decompress(SL_CODEC_SNAPPY, (const uint8_t *)"\0", 1, &out, 0));
    SL_CHECK_EQ(out.len, 0);
    SL_CHECK_OK(sl_decompress(
        SL_CODEC_SNAPPY, (const uint8_t *)"\x82SNAPPY\0\0\0\0\1\0\0\0\1\0\0\0\1\0", 21, &out, 0));
    SL_CHECK_EQ(out.len, 0);
    sl_buf_deinit(&out);
}

/* ---- gzip variants ---- */

SL_TEST(compress_gzip_accepts_zlib_and_concatenated_members)
{
    const char *a = "first member, first member. ", *b = "second member!";
    uint8_t z[256];
    uLongf zlen = sizeof(z);
    sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;

    /* zlib (RFC 1950) stream, as some clients' "gzip" really is. */
    SL_CHECK_EQ(compress2(z, &zlen, (const Bytef *)a, strlen(a), 6), Z_OK);
    SL_CHECK_OK(sl_decompress(SL_CODEC_GZIP, z, zlen, &out, 100));
    SL_CHECK_EQ(out.len, strlen(a));
    SL_CHECK_MEM(out.data, a, strlen(a));

    SL_CHECK_OK(sl_compress(SL_CODEC_GZIP, 9, (const uint8_t *)a, strlen(a), &c));
    SL_CHECK(c.len > 10 && c.data[0] == 0x1f && c.data[1] == 0x8b); /* gzip magic */
    SL_CHECK_OK(sl_compress(SL_CODEC_GZIP, 1, (const uint8_t *)b, strlen(b), &c));
    sl_buf_reset(&out);
    SL_CHECK_OK(sl_decompress(SL_CODEC_GZIP, c.data, c.len, &out, 100));
    SL_CHECK_EQ(out.len, strlen(a) + strlen(b));
    SL_CHECK_MEM(out.data + strlen(a), b, strlen(b));
    sl_buf_deinit(&c);
    sl_buf_deinit(&out);
}

/* ---- snappy framings ---- */

SL_TEST(compress_snappy_raw_and_xerial_both_decode)
{
    uint8_t in[100000];
    size_t rlen = snappy_max_compressed_length(sizeof(in));
    char *raw = malloc(rlen);
    sl_buf_t x = SL_BUF_INIT, out = SL_BUF_INIT;

    fill_mixed(in, sizeof(in));
    SL_CHECK_EQ(snappy_compress((const char *)in, sizeof(in), raw, &rlen), SNAPPY_OK);
    SL_CHECK_OK(sl_decompress(SL_CODEC_SNAPPY, (const uint8_t *)raw, rlen, &out, sizeof(in)));
    SL_CHECK_EQ(out.len, sizeof(in));
    SL_CHECK_MEM(out.data, in, sizeof(in));

    /* Ours is xerial: header, then 32 KiB blocks (4 of them here). */
    SL_CHECK_OK(sl_compress(SL_CODEC_SNAPPY, SL_COMPRESS_LEVEL_DEFAULT, in, sizeof(in), &x));
    SL_CHECK_MEM(x.data, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
    {
        size_t pos = 16, blocks = 0;

        while (pos < x.len) {
            pos += 4 + ((size_t)x.data[pos] << 24 | (size_t)x.data[pos + 1] << 16 |
                        (size_t)x.data[pos + 2] << 8 | x.data[pos + 3]);
            blocks++;
        }
        SL_CHECK_EQ(pos, x.len);
        SL_CHECK_EQ(blocks, 4);
    }
    sl_buf_reset(&out);
    SL_CHECK_OK(sl_decompress(SL_CODEC_SNAPPY, x.data, x.len, &out, sizeof(in)));
    SL_CHECK_EQ(out.len, sizeof(in));
    SL_CHECK_MEM(out.data, in, sizeof(in));

    /* A block length running past the end is malformed. */
    x.data[16 + 3]++;
    sl_buf_reset(&out);
    SL_CHECK_EQ(sl_decompress(SL_CODEC_SNAPPY, x.data, x.len, &out, sizeof(in)), SL_EPROTO);
    free(raw);
    sl_buf_deinit(&x);
    sl_buf_deinit(&out);
}

/* ---- bombs ---- */

/* Checks the bomb fails over budget without the output buffer ever
 * growing past the budget (+1 probe byte). */
static void
check_bomb(sl_codec_t codec, const sl_buf_t *bomb, size_t budget)
{
    sl_buf_t out = SL_BUF_INIT;

    SL_CHECK_EQ(sl_decompress(codec, bomb->data, bomb->len, &out, budget), SL_ETOOBIG);
    SL_CHECK_EQ(out.len, 0);
    SL_CHECK(out.cap <= budget + 1);
    sl_buf_deinit(&out);
}

static void
gzip_zeros(size_t total, sl_buf_t *out)
{
    static uint8_t zero[1 << 16];
    z_stream zs;
    int zrc = Z_OK;

    memset(&zs, 0, sizeof(zs));
    SL_CHECK_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    for (size_t done = 0; zrc != Z_STREAM_END;) {
        size_t n = SL_MIN(sizeof(zero), total - done);

        zs.next_in = zero;
        zs.avail_in = (uInt)n;
        done += n;
        do {
            sl_buf_reserve(out, 1 << 16);
            zs.next_out = out->data + out->len;
            zs.avail_out = (uInt)(out->cap - out->len);
            zrc = deflate(&zs, done == total ? Z_FINISH : Z_NO_FLUSH);
            out->len = (size_t)(zs.next_out - out->data);
        } while (zs.avail_out == 0 && zrc != Z_STREAM_END);
    }
    deflateEnd(&zs);
}

SL_TEST(compress_gzip_bombs_stop_at_budget)
{
    sl_buf_t one = SL_BUF_INIT, many = SL_BUF_INIT;

    /* One member inflating to 64 MiB. */
    gzip_zeros(64 * MiB, &one);
    check_bomb(SL_CODEC_GZIP, &one, 1 * MiB);
    /* 1 GiB as 64 concatenated 16 MiB members (cheap to build). */
    sl_buf_reset(&one);
    gzip_zeros(16 * MiB, &one);
    for (int i = 0; i < 64; i++)
        sl_buf_append(&many, one.data, one.len);
    check_bomb(SL_CODEC_GZIP, &many, 1 * MiB);
    sl_buf_deinit(&one);
    sl_buf_deinit(&many);
}

SL_TEST(compress_lz4_bomb_stops_at_budget)
{
    static uint8_t zero[1 << 20];
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    sl_buf_t bomb = SL_BUF_INIT;
    size_t n;

    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max4MB;
    SL_CHECK(!LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    sl_buf_reserve(&bomb, LZ4F_HEADER_SIZE_MAX);
    n = LZ4F_compressBegin(cctx, bomb.data, bomb.cap, &prefs);
    SL_CHECK(!LZ4F_isError(n));
    bomb.len += n;
    for (size_t done = 0; done < GiB; done += sizeof(zero)) {
        size_t bound = LZ4F_compressBound(sizeof(zero), &prefs);

        sl_buf_reserve(&bomb, bound);
        n = LZ4F_compressUpdate(cctx, bomb.data + bomb.len, bound, zero, sizeof(zero), NULL);
        SL_CHECK(!LZ4F_isError(n));
        bomb.len += n;
    }
    sl_buf_reserve(&bomb, LZ4F_compressBound(0, &prefs));
    n = LZ4F_compressEnd(cctx, bomb.data + bomb.len, bomb.cap - bomb.len, NULL);
    SL_CHECK(!LZ4F_isError(n));
    bomb.len += n;
    LZ4F_freeCompressionContext(cctx);
    check_bomb(SL_CODEC_LZ4, &bomb, 1 * MiB);
    sl_buf_deinit(&bomb);
}

static void
zstd_zeros(size_t total, bool pledge, sl_buf_t *out)
{
    static uint8_t zero[1 << 20];
    ZSTD_CCtx *cctx = ZSTD_createCCtx();

    if (pledge)
        SL_CHECK(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, total)));
    for (size_t done = 0; done < total;) {
        ZSTD_inBuffer ib = {zero, SL_MIN(sizeof(zero), total - done), 0};
        size_t left;

        done += ib.size;
        do {
            ZSTD_outBuffer ob;

            sl_buf_reserve(out, 1 << 16);
            ob = (ZSTD_outBuffer){out->data + out->len, out->cap - out->len, 0};
            left =
                ZSTD_compressStream2(cctx, &ob, &ib, done == total ? ZSTD_e_end : ZSTD_e_continue);
            SL_CHECK(!ZSTD_isError(left));
            out->len += ob.pos;
        } while (ib.pos < ib.size || (done == total && left != 0));
    }
    ZSTD_freeCCtx(cctx);
}

SL_TEST(compress_zstd_bombs_stop_at_budget)
{
    sl_buf_t bomb = SL_BUF_INIT;

    /* Streamed: no content size in the header, so decoding must stop. */
    zstd_zeros(GiB, false, &bomb);
    SL_CHECK_EQ(ZSTD_getFrameContentSize(bomb.data, bomb.len), ZSTD_CONTENTSIZE_UNKNOWN);
    check_bomb(SL_CODEC_ZSTD, &bomb, 1 * MiB);
    /* Declared size over budget: refused before decoding. */
    sl_buf_reset(&bomb);
    zstd_zeros(GiB, true, &bomb);
    SL_CHECK_EQ(ZSTD_getFrameContentSize(bomb.data, bomb.len), GiB);
    check_bomb(SL_CODEC_ZSTD, &bomb, 1 * MiB);
    sl_buf_deinit(&bomb);
}

SL_TEST(compress_zstd_window_over_cap_is_refused)
{
    /* A frame header asking for a 2 GiB window (windowLog 31) and no
     * content size: refused without allocating the window. */
    static const uint8_t frame[] = {0x28,           0xb5, 0x2f, 0xfd, /* magic */
                                    0x00,                        /* FHD: no FCS, window present */
                                    (31 - 10) << 3,              /* window descriptor */
                                    0x01,           0x00, 0x00}; /* last raw block, size 0 */
    sl_buf_t out = SL_BUF_INIT;
    int rc = sl_decompress(SL_CODEC_ZSTD, frame, sizeof(frame), &out, 1 * MiB);

    SL_CHECK(rc == SL_ETOOBIG);
    SL_CHECK(out.cap <= 1 * MiB + 1);
    sl_buf_deinit(&out);
}

SL_TEST(compress_snappy_bombs_stop_at_budget)
{
    static uint8_t zero[4 << 20];
    size_t blen = snappy_max_compressed_length(sizeof(zero));
    char *block = malloc(blen);
    sl_buf_t bomb = SL_BUF_INIT;
    uint8_t lie[16];
    size_t n = 0;

    /* xerial: 16 blocks of 4 MiB each (snappy cannot beat ~21:1). */
    SL_CHECK_EQ(snappy_compress((const char *)zero, sizeof(zero), block, &blen), SNAPPY_OK);
    sl_buf_append(&bomb, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
    for (int i = 0; i < 16; i++) {
        uint8_t len4[4] = {(uint8_t)(blen >> 24), (uint8_t)(blen >> 16), (uint8_t)(blen >> 8),
                           (uint8_t)blen};

        sl_buf_append(&bomb, len4, 4);
        sl_buf_append(&bomb, block, blen);
    }
    check_bomb(SL_CODEC_SNAPPY, &bomb, 1 * MiB);
    /* Raw: a block that claims 1 GiB is refused from its length alone. */
    for (uint64_t v = GiB;; v >>= 7) {
        lie[n++] = (uint8_t)(v >= 0x80 ? v | 0x80 : v);
        if (v < 0x80)
            break;
    }
    lie[n++] = 0x00; /* a literal tag, truncated: never looked at */
    sl_buf_reset(&bomb);
    sl_buf_append(&bomb, lie, n);
    check_bomb(SL_CODEC_SNAPPY, &bomb, 1 * MiB);
    free(block);
    sl_buf_deinit(&bomb);
}

/* ---- lz4 legacy framing ---- */

SL_TEST(compress_xxh32_matches_liblz4_header_checksums)
{
    uint8_t in[200], frame[512];
    LZ4F_preferences_t prefs;

    SL_CHECK_EQ(sl_xxh32("", 0, 0), 0x02cc5d05u); /* published test vector */
    fill_mixed(in, sizeof(in));
    /* liblz4 computes HC = (XXH32(descriptor) >> 8) & 0xff; vary the
     * descriptor (content size on/off, block sizes) so lengths differ. */
    for (int cs = 0; cs < 2; cs++) {
        for (int bs = LZ4F_max64KB; bs <= LZ4F_max4MB; bs++) {
            size_t n, hc_pos = cs ? 14 : 6;

            memset(&prefs, 0, sizeof(prefs));
            prefs.frameInfo.contentSize = cs ? sizeof(in) : 0;
            prefs.frameInfo.blockSizeID = (LZ4F_blockSizeID_t)bs;
            n = LZ4F_compressFrame(frame, sizeof(frame), in, sizeof(in), &prefs);
            SL_CHECK(!LZ4F_isError(n));
            SL_CHECK_EQ(frame[hc_pos], (sl_xxh32(frame + 4, hc_pos - 4, 0) >> 8) & 0xff);
        }
    }
    /* Longer inputs take the four-lane path. */
    SL_CHECK(sl_xxh32(in, 100, 0) != sl_xxh32(in, 100, 1));
}

SL_TEST(compress_lz4_legacy_header_checksum_fixed_up)
{
    uint8_t in[1000];
    sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;
    size_t hc;

    fill_mixed(in, sizeof(in));
    SL_CHECK_OK(sl_compress(SL_CODEC_LZ4, SL_COMPRESS_LEVEL_DEFAULT, in, sizeof(in), &c));
    SL_CHECK_EQ(c.data[4] & 0x09, 0); /* ours: no content size, no dict id */
    hc = 6;
    /* Correct frames decode through the legacy path too. */
    SL_CHECK_OK(sl_decompress_lz4_legacy(c.data, c.len, &out, sizeof(in)));
    SL_CHECK_EQ(out.len, sizeof(in));
    SL_CHECK_MEM(out.data, in, sizeof(in));
    /* Kafka 0.8's checksum: over magic + descriptor. */
    c.data[hc] = (uint8_t)(sl_xxh32(c.data, hc, 0) >> 8);
    SL_CHECK(c.data[hc] != (uint8_t)(sl_xxh32(c.data + 4, hc - 4, 0) >> 8));
    sl_buf_reset(&out);
    SL_CHECK_EQ(sl_decompress(SL_CODEC_LZ4, c.data, c.len, &out, sizeof(in)), SL_EPROTO);
    SL_CHECK_OK(sl_decompress_lz4_legacy(c.data, c.len, &out, sizeof(in)));
    SL_CHECK_EQ(out.len, sizeof(in));
    SL_CHECK_MEM(out.data, in, sizeof(in));
    /* Budget and garbage behave as in sl_decompress. */
    sl_buf_reset(&out);
    SL_CHECK_EQ(sl_decompress_lz4_legacy(c.data, c.len, &out, 10), SL_ETOOBIG);
    SL_CHECK_EQ(sl_decompress_lz4_legacy(c.data, 6, &out, 10), SL_EPROTO);
    SL_CHECK_EQ(sl_decompress_lz4_legacy((const uint8_t *)"garbage!", 8, &out, 10), SL_EPROTO);
    SL_CHECK_EQ(out.len, 0);
    sl_buf_deinit(&c);
    sl_buf_deinit(&out);
}

SL_TEST(compress_concatenated_lz4_and_zstd_frames)
{
    /* Two frames back to back decode to both payloads (zstd then takes the
     * streaming path rather than the single-frame one). */
    sl_codec_t codecs[] = {SL_CODEC_LZ4, SL_CODEC_ZSTD};
    const char *a = "first frame first frame", *b = "second frame";

    for (size_t i = 0; i < SL_ARRAY_LEN(codecs); i++) {
        sl_buf_t c = SL_BUF_INIT, out = SL_BUF_INIT;

        SL_CHECK_OK(
            sl_compress(codecs[i], SL_COMPRESS_LEVEL_DEFAULT, (const uint8_t *)a, strlen(a), &c));
        SL_CHECK_OK(
            sl_compress(codecs[i], SL_COMPRESS_LEVEL_DEFAULT, (const uint8_t *)b, strlen(b), &c));
        SL_CHECK_OK(sl_decompress(codecs[i], c.data, c.len, &out, 100));
        SL_CHECK_EQ(out.len, strlen(a) + strlen(b));
        SL_CHECK_MEM(out.data, a, strlen(a));
        SL_CHECK_MEM(out.data + strlen(a), b, strlen(b));
        sl_buf_reset(&out);
        SL_CHECK_EQ(sl_decompress(codecs[i], c.data, c.len, &out, strlen(a) + 3), SL_ETOOBIG);
        sl_buf_deinit(&c);
        sl_buf_deinit(&out);
    }
}
