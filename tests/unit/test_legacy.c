/*
 * test_legacy.c -- proto/legacy.h: message-set entries, up-conversion of
 * produced magic 0/1 sets (every codec and framing, Kafka's rejections) and
 * down-conversion of v2 batches for old fetches (both magics, every codec,
 * the byte limit and its first-entry rules), plus a random round trip
 * v2 -> old -> v2.
 *
 * Old sets are read back by a small reader written here the way a client
 * reads them (wrapper offsets resolved per magic), independent of the
 * converter under test.
 */
#include "base/arena.h"
#include "proto/compress.h"
#include "proto/legacy.h"
#include "proto/record.h"
#include "proto/wire.h"
#include "test.h"

#include <snappy-c.h>
#include <zlib.h>

#define MiB ((size_t)1 << 20)
#define TS0 1700000000000LL

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* One message as a client sees it. */
typedef struct tmsg {
    int64_t offset;
    int64_t ts;
    int8_t attr;
    sl_bytes_t key, value;
} tmsg_t;

typedef struct tset {
    tmsg_t m[4096];
    int n;
    bool partial; /* ended inside an entry */
    sl_arena_t arena;
} tset_t;

static sl_bytes_t
bc(const char *s)
{
    return s ? (sl_bytes_t){(const uint8_t *)s, (int32_t)strlen(s)} : SL_BYTES_NULL;
}

static bool
beq(sl_bytes_t a, sl_bytes_t b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static void
put_msg(sl_buf_t *out, int8_t magic, int64_t off, int8_t attr, int64_t ts, const char *k,
        const char *v)
{
    sl_legacy_msg_write(out, magic, off, attr, ts, bc(k), bc(v));
}

/* The KAFKA-3160 header checksum (over the frame magic too). */
static void
lz4_break_hc(sl_buf_t *b, size_t at)
{
    uint8_t *f = b->data + at;
    size_t hc = 6 + (f[4] & 0x08 ? 8 : 0) + (f[4] & 0x01 ? 4 : 0);

    f[hc] = (uint8_t)(sl_xxh32(f, hc, 0) >> 8);
}

/* Compresses inner the way a client of that era would. snappy_raw picks
 * raw snappy instead of the xerial framing sl_compress writes. */
static void
compress_as_client(sl_codec_t codec, int8_t magic, bool snappy_raw, const sl_buf_t *inner,
                   sl_buf_t *out)
{
    if (codec == SL_CODEC_SNAPPY && snappy_raw) {
        size_t n = snappy_max_compressed_length(inner->len);
        uint8_t *p = sl_buf_extend(out, n);

        SL_CHECK(snappy_compress((const char *)inner->data, inner->len, (char *)p, &n) ==
                 SNAPPY_OK);
        out->len -= snappy_max_compressed_length(inner->len) - n;
        return;
    }
    SL_CHECK_OK(sl_compress(codec, SL_COMPRESS_LEVEL_DEFAULT, inner->data, inner->len, out));
    if (codec == SL_CODEC_LZ4 && magic == 0)
        lz4_break_hc(out, 0);
}

/* Wraps inner as one compressed entry at offset off. */
static void
put_wrapper(sl_buf_t *out, int8_t magic, int64_t off, sl_codec_t codec, int8_t extra_attr,
            int64_t ts, const sl_buf_t *inner, bool snappy_raw)
{
    sl_buf_t comp = SL_BUF_INIT;

    compress_as_client(codec, magic, snappy_raw, inner, &comp);
    sl_legacy_msg_write(out, magic, off, (int8_t)(codec | extra_attr), ts, SL_BYTES_NULL,
                        (sl_bytes_t){comp.data, (int32_t)comp.len});
    sl_buf_deinit(&comp);
}

/* Reads an old message set like a client: wrapper offsets resolved (magic
 * 1 relative to wrapper - last inner, magic 0 absolute), LogAppendTime
 * wrappers' timestamp given to their messages. */
static void
read_set(const uint8_t *p, size_t len, tset_t *s)
{
    size_t pos = 0;

    while (pos < len) {
        sl_legacy_msg_t m;
        int rc = sl_legacy_msg_parse(p + pos, len - pos, &m);

        if (rc == SL_EAGAIN) {
            s->partial = true;
            return;
        }
        SL_CHECK_OK(rc);
        if (m.attributes & SL_ATTR_CODEC_MASK) {
            sl_codec_t codec = (sl_codec_t)(m.attributes & SL_ATTR_CODEC_MASK);
            sl_buf_t inner = SL_BUF_INIT;
            size_t ipos = 0;
            int64_t last_rel = 0, base;
            int first = s->n;

            if (codec == SL_CODEC_LZ4 && m.magic == 0)
                SL_CHECK_OK(
                    sl_decompress_lz4_legacy(m.value.ptr, (size_t)m.value.len, &inner, 64 * MiB));
            else
                SL_CHECK_OK(
                    sl_decompress(codec, m.value.ptr, (size_t)m.value.len, &inner, 64 * MiB));
            while (ipos < inner.len) {
                sl_legacy_msg_t im;
                tmsg_t *t = &s->m[s->n++];

                SL_CHECK(s->n <= (int)SL_ARRAY_LEN(s->m));
                SL_CHECK_OK(sl_legacy_msg_parse(inner.data + ipos, inner.len - ipos, &im));
                SL_CHECK_EQ(im.magic, m.magic);
                SL_CHECK_EQ(im.attributes & SL_ATTR_CODEC_MASK, 0);
                t->offset = im.offset;
                t->attr = im.attributes;
                t->ts = (m.magic == 1 && (m.attributes & SL_LEGACY_ATTR_LOG_APPEND_TIME))
                            ? m.timestamp
                            : im.timestamp;
                t->key =
                    im.key.len < 0
                        ? im.key
                        : (sl_bytes_t){sl_arena_memdup(&s->arena, im.key.ptr, (size_t)im.key.len),
                                       im.key.len};
                t->value = im.value.len < 0 ? im.value
                                            : (sl_bytes_t){sl_arena_memdup(&s->arena, im.value.ptr,
                                                                           (size_t)im.value.len),
                                                           im.value.len};
                last_rel = im.offset;
                ipos += im.size;
            }
            base = m.magic == 1 ? m.offset - last_rel : 0;
            for (int i = first; i < s->n; i++)
                s->m[i].offset += base;
            /* The wrapper names the last inner offset. */
            SL_CHECK_EQ(s->m[s->n - 1].offset, m.offset);
            sl_buf_deinit(&inner);
        } else {
            tmsg_t *t = &s->m[s->n++];

            SL_CHECK(s->n <= (int)SL_ARRAY_LEN(s->m));
            *t = (tmsg_t){m.offset, m.timestamp, m.attributes, m.key, m.value};
        }
        pos += m.size;
    }
}

static tset_t *
tset_new(void)
{
    tset_t *s = calloc(1, sizeof(*s));

    sl_arena_init(&s->arena, 4096);
    return s;
}

static void
tset_free(tset_t *s)
{
    sl_arena_deinit(&s->arena);
    free(s);
}

/* Reads back a v2 batch into a tset (offsets = deltas + base). */
static void
read_batch(const sl_buf_t *b, tset_t *s, sl_batch_hdr_t *h)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_buf_t scratch = SL_BUF_INIT;
    int rc;

    SL_CHECK_OK(sl_record_iter_init(&it, b->data, b->len, &scratch, 64 * MiB));
    *h = it.hdr;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        tmsg_t *t = &s->m[s->n++];

        t->offset = r.offset;
        t->ts = r.timestamp;
        t->key =
            r.key.len < 0
                ? r.key
                : (sl_bytes_t){sl_arena_memdup(&s->arena, r.key.ptr, (size_t)r.key.len), r.key.len};
        t->value = r.value.len < 0
                       ? r.value
                       : (sl_bytes_t){sl_arena_memdup(&s->arena, r.value.ptr, (size_t)r.value.len),
                                      r.value.len};
        SL_CHECK_EQ(r.header_count, 0);
    }
    SL_CHECK_EQ(rc, 0);
    sl_buf_deinit(&scratch);
}

static int
up(const sl_buf_t *set, const sl_legacy_up_opts_t *o, sl_buf_t *out, sl_legacy_up_info_t *info)
{
    sl_buf_t scratch = SL_BUF_INIT;
    int rc = sl_legacy_up_convert(set->data, set->len, o, out, &scratch, info);

    sl_buf_deinit(&scratch);
    return rc;
}

static int
up_default(const sl_buf_t *set, sl_buf_t *out)
{
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;

    sl_legacy_up_opts_init(&o);
    return up(set, &o, out, &info);
}

/* A v2 batch at base with n records "k<i>"/"v<i>..." (i from 0). */
static void
make_batch(sl_buf_t *out, sl_codec_t codec, int64_t base, int n, int16_t attrs, size_t vlen)
{
    sl_batch_opts_t o;
    sl_batch_builder_t b;
    sl_header_t h = {SL_STR_LIT("hk"), bc("hv")};
    char *v = malloc(vlen + 32);

    sl_batch_opts_init(&o);
    o.codec = codec;
    o.base_offset = base;
    o.attributes = attrs;
    sl_batch_builder_init(&b, &o);
    for (int i = 0; i < n; i++) {
        char k[32];

        snprintf(k, sizeof(k), "k%d", i);
        for (size_t j = 0; j < vlen; j++)
            v[j] = (char)('a' + (i * 7 + (int)j) % 26);
        v[vlen] = 0;
        SL_CHECK_OK(sl_batch_builder_append(&b, TS0 + i, i % 9 == 4 ? SL_BYTES_NULL : bc(k),
                                            (sl_bytes_t){(const uint8_t *)v, (int32_t)vlen}, &h,
                                            1));
    }
    SL_CHECK_OK(sl_batch_builder_finish(&b, out));
    sl_batch_builder_deinit(&b);
    free(v);
}

static int
down(const sl_buf_t *in, const sl_legacy_down_opts_t *o, sl_buf_t *out, sl_legacy_down_info_t *info)
{
    sl_buf_t scratch = SL_BUF_INIT;
    int rc = sl_legacy_down_convert(in->data, in->len, o, out, &scratch, info);

    sl_buf_deinit(&scratch);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Entries                                                              */
/* ------------------------------------------------------------------ */

SL_TEST(legacy_msg_write_parse_round_trip_both_magics)
{
    for (int8_t magic = 0; magic <= 1; magic++) {
        sl_buf_t b = SL_BUF_INIT;
        sl_legacy_msg_t m;

        put_msg(&b, magic, 42, 0, TS0, "key", "value");
        put_msg(&b, magic, 43, 0, TS0 + 1, NULL, NULL);
        SL_CHECK_EQ(b.len, sl_legacy_msg_size(magic, 3, 5) + sl_legacy_msg_size(magic, -1, -1));
        SL_CHECK_OK(sl_legacy_msg_parse(b.data, b.len, &m));
        /* The CRC is zlib's CRC-32 of magic..end. */
        SL_CHECK_EQ(sl_be32(b.data + 12), crc32(0, b.data + 16, (uInt)(m.size - 16)));
        SL_CHECK_EQ(m.offset, 42);
        SL_CHECK_EQ(m.magic, magic);
        SL_CHECK_EQ(m.timestamp, magic ? TS0 : SL_NO_TIMESTAMP);
        SL_CHECK(beq(m.key, bc("key")) && beq(m.value, bc("value")));
        SL_CHECK_OK(sl_legacy_msg_parse(b.data + m.size, b.len - m.size, &m));
        SL_CHECK(m.key.len == -1 && m.value.len == -1);
        SL_CHECK_EQ(m.size, sl_legacy_msg_size(magic, -1, -1));
        sl_buf_deinit(&b);
    }
}

SL_TEST(legacy_msg_parse_rejects_and_waits)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_legacy_msg_t m;

    put_msg(&b, 1, 0, 0, TS0, "k", "v");
    /* Every truncation is "not yet" (a partial tail), never an error. */
    for (size_t n = 0; n < b.len; n++)
        SL_CHECK_EQ(sl_legacy_msg_parse(b.data, n, &m), SL_EAGAIN);
    /* Any flipped bit after the CRC field fails the CRC. */
    for (size_t i = 16; i < b.len; i++) {
        b.data[i] ^= 0x10;
        SL_CHECK(sl_legacy_msg_parse(b.data, b.len, &m) != SL_OK);
        b.data[i] ^= 0x10;
    }
    b.data[20] ^= 1; /* timestamp byte: CRC mismatch exactly */
    SL_CHECK_EQ(sl_legacy_msg_parse(b.data, b.len, &m), SL_ECORRUPT);
    b.data[20] ^= 1;
    /* Size below the overhead of magic 1; magic 2/3; size < 14. */
    sl_put_be32(b.data + 8, 20);
    SL_CHECK_EQ(sl_legacy_msg_parse(b.data, b.len, &m), SL_EPROTO);
    sl_put_be32(b.data + 8, 13);
    SL_CHECK_EQ(sl_legacy_msg_parse(b.data, 14, &m), SL_EPROTO);
    sl_put_be32(b.data + 8, (uint32_t)(b.len - 12));
    b.data[16] = 3;
    SL_CHECK_EQ(sl_legacy_msg_parse(b.data, b.len, &m), SL_EPROTO);
    sl_buf_deinit(&b);

    /* Key length larger than the message (CRC recomputed so only the
     * structure is wrong). */
    put_msg(&b, 0, 0, 0, 0, "kk", "v");
    sl_put_be32(b.data + 18, 50);
    sl_put_be32(b.data + 12, (uint32_t)crc32(0, b.data + 16, (uInt)(b.len - 16)));
    SL_CHECK_EQ(sl_legacy_msg_parse(b.data, b.len, &m), SL_EPROTO);
    sl_buf_deinit(&b);
}

SL_TEST(legacy_peek_magic)
{
    uint8_t b[17] = {0};

    SL_CHECK_EQ(sl_legacy_peek_magic(b, 16), -1);
    b[16] = 1;
    SL_CHECK_EQ(sl_legacy_peek_magic(b, 17), 1);
    b[16] = 2;
    SL_CHECK_EQ(sl_legacy_peek_magic(b, 17), 2);
}

/* ------------------------------------------------------------------ */
/* Up-conversion                                                        */
/* ------------------------------------------------------------------ */

SL_TEST(legacy_up_plain_magic0_gets_no_timestamp_and_sequential_offsets)
{
    sl_buf_t set = SL_BUF_INIT, out = SL_BUF_INIT;
    tset_t *s = tset_new();
    sl_batch_hdr_t h;

    /* Client offsets are meaningless on produce (kafka-python sends 0s,
     * others 0..n-1): they must not matter. */
    put_msg(&set, 0, 7, 0, 0, "a", "1");
    put_msg(&set, 0, 7, 0, 0, NULL, "2");
    put_msg(&set, 0, 99, 0, 0, "c", NULL);
    SL_CHECK_OK(up_default(&set, &out));
    read_batch(&out, s, &h);
    SL_CHECK_EQ(h.magic, 2);
    SL_CHECK_EQ(sl_batch_codec(&h), SL_CODEC_NONE);
    SL_CHECK_EQ(h.record_count, 3);
    SL_CHECK_EQ(h.base_offset, 0);
    SL_CHECK_EQ(h.producer_id, -1);
    SL_CHECK_EQ(h.max_timestamp, SL_NO_TIMESTAMP);
    SL_CHECK_EQ(s->n, 3);
    for (int i = 0; i < 3; i++) {
        SL_CHECK_EQ(s->m[i].offset, i);
        SL_CHECK_EQ(s->m[i].ts, SL_NO_TIMESTAMP);
    }
    SL_CHECK(beq(s->m[0].key, bc("a")) && beq(s->m[0].value, bc("1")));
    SL_CHECK(s->m[1].key.len == -1 && beq(s->m[1].value, bc("2")));
    SL_CHECK(beq(s->m[2].key, bc("c")) && s->m[2].value.len == -1);
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    tset_free(s);
}

SL_TEST(legacy_up_plain_magic1_keeps_timestamps)
{
    sl_buf_t set = SL_BUF_INIT, out = SL_BUF_INIT;
    tset_t *s = tset_new();
    sl_batch_hdr_t h;

    put_msg(&set, 1, 0, 0, TS0 + 5, "a", "1");
    put_msg(&set, 1, 1, 0, TS0, "b", "2");
    SL_CHECK_OK(up_default(&set, &out));
    read_batch(&out, s, &h);
    SL_CHECK_EQ(s->m[0].ts, TS0 + 5);
    SL_CHECK_EQ(s->m[1].ts, TS0);
    SL_CHECK_EQ(h.max_timestamp, TS0 + 5);
    SL_CHECK(!(h.attributes & SL_ATTR_LOG_APPEND_TIME));
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    tset_free(s);
}

/* Every codec and framing inside a wrapper of either magic: magic 0 with
 * absolute inner offsets (here 1000..), magic 1 with relative ones. */
SL_TEST(legacy_up_compressed_wrappers_every_codec_and_framing)
{
    struct {
        sl_codec_t codec;
        bool snappy_raw;
    } cases[] = {{SL_CODEC_GZIP, false},
                 {SL_CODEC_SNAPPY, true},
                 {SL_CODEC_SNAPPY, false},
                 {SL_CODEC_LZ4, false}};

    for (int8_t magic = 0; magic <= 1; magic++) {
        for (size_t c = 0; c < SL_ARRAY_LEN(cases); c++) {
            sl_buf_t inner = SL_BUF_INIT, set = SL_BUF_INIT, out = SL_BUF_INIT;
            tset_t *s = tset_new();
            sl_legacy_up_opts_t o;
            sl_legacy_up_info_t info;
            sl_batch_hdr_t h;
            const int n = 50;

            for (int i = 0; i < n; i++) {
                char k[16], v[64];

                snprintf(k, sizeof(k), "k%d", i);
                snprintf(v, sizeof(v), "value %d value %d", i, i * i);
                put_msg(&inner, magic, magic == 0 ? 1000 + i : i, 0, TS0 + i, k, v);
            }
            put_wrapper(&set, magic, magic == 0 ? 1000 + n - 1 : n - 1, cases[c].codec, 0, TS0 + n,
                        &inner, cases[c].snappy_raw);
            sl_legacy_up_opts_init(&o);
            SL_CHECK_OK(up(&set, &o, &out, &info));
            SL_CHECK_EQ(info.magic, magic);
            SL_CHECK_EQ(info.wire_codec, cases[c].codec);
            SL_CHECK_EQ(info.count, n);
            read_batch(&out, s, &h);
            /* Recompressed with the wrapper's codec, offsets from 0. */
            SL_CHECK_EQ(sl_batch_codec(&h), cases[c].codec);
            SL_CHECK_EQ(s->n, n);
            for (int i = 0; i < n; i++) {
                char k[16];

                snprintf(k, sizeof(k), "k%d", i);
                SL_CHECK_EQ(s->m[i].offset, i);
                SL_CHECK_EQ(s->m[i].ts, magic ? TS0 + i : SL_NO_TIMESTAMP);
                SL_CHECK(beq(s->m[i].key, bc(k)));
            }
            sl_buf_deinit(&inner);
            sl_buf_deinit(&set);
            sl_buf_deinit(&out);
            tset_free(s);
        }
    }
}

SL_TEST(legacy_up_magic1_log_append_time_wrapper_stamps_inner_messages)
{
    sl_buf_t inner = SL_BUF_INIT, set = SL_BUF_INIT, out = SL_BUF_INIT;
    tset_t *s = tset_new();
    sl_batch_hdr_t h;

    put_msg(&inner, 1, 0, 0, 5, "a", "1");
    put_msg(&inner, 1, 1, 0, 6, "b", "2");
    put_wrapper(&set, 1, 1, SL_CODEC_GZIP, SL_LEGACY_ATTR_LOG_APPEND_TIME, TS0 + 77, &inner, false);
    SL_CHECK_OK(up_default(&set, &out));
    read_batch(&out, s, &h);
    SL_CHECK_EQ(s->m[0].ts, TS0 + 77);
    SL_CHECK_EQ(s->m[1].ts, TS0 + 77);
    sl_buf_deinit(&inner);
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    tset_free(s);
}

SL_TEST(legacy_up_topic_codec_overrides_wire_codec)
{
    sl_buf_t set = SL_BUF_INIT, out = SL_BUF_INIT;
    tset_t *s = tset_new();
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;
    sl_batch_hdr_t h;

    put_msg(&set, 1, 0, 0, TS0, "a", "1");
    sl_legacy_up_opts_init(&o);
    o.codec = SL_CODEC_ZSTD;
    SL_CHECK_OK(up(&set, &o, &out, &info));
    read_batch(&out, s, &h);
    SL_CHECK_EQ(sl_batch_codec(&h), SL_CODEC_ZSTD);
    SL_CHECK(beq(s->m[0].value, bc("1")));
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    tset_free(s);
}

SL_TEST(legacy_up_partial_trailing_entry_is_dropped_as_kafka_does)
{
    sl_buf_t set = SL_BUF_INIT, out = SL_BUF_INIT;
    tset_t *s = tset_new();
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;
    sl_batch_hdr_t h;
    size_t whole;

    put_msg(&set, 0, 0, 0, 0, "a", "1");
    put_msg(&set, 0, 1, 0, 0, "b", "2");
    whole = set.len;
    put_msg(&set, 0, 2, 0, 0, "c", "3");
    set.len -= 3;
    sl_legacy_up_opts_init(&o);
    SL_CHECK_OK(up(&set, &o, &out, &info));
    SL_CHECK_EQ(info.trimmed, set.len - whole);
    read_batch(&out, s, &h);
    SL_CHECK_EQ(s->n, 2);
    /* Nothing whole at all: corrupt. */
    set.len = 20;
    sl_buf_reset(&out);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EPROTO);
    SL_CHECK_EQ(out.len, 0);
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    tset_free(s);
}

/* Kafka's LogValidator rejections, each with the status the handler maps
 * to the same Kafka error. */
SL_TEST(legacy_up_rejections_match_kafka)
{
    sl_buf_t inner = SL_BUF_INIT, set = SL_BUF_INIT, out = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;

    sl_legacy_up_opts_init(&o);
    /* Mixed magic. */
    put_msg(&set, 0, 0, 0, 0, "a", "1");
    put_msg(&set, 1, 1, 0, TS0, "b", "2");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* A v2 batch after an old message. */
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, 0, TS0, "a", "1");
    make_batch(&batch, SL_CODEC_NONE, 0, 2, 0, 4);
    sl_buf_append(&set, batch.data, batch.len);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* A wrapper with company (before or after). */
    put_msg(&inner, 1, 0, 0, TS0, "x", "y");
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, 0, TS0, "a", "1");
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    put_wrapper(&set, 1, 1, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* Inner message of another magic; compressed inner message. */
    sl_buf_reset(&inner);
    put_msg(&inner, 0, 0, 0, 0, "x", "y");
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    sl_buf_reset(&inner);
    put_msg(&inner, 1, 0, SL_CODEC_GZIP, TS0, "x", "y");
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* Empty wrapper; null-value wrapper. */
    sl_buf_reset(&inner);
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, SL_CODEC_GZIP, TS0, NULL, NULL);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* Inner CRC mismatch: corrupt. */
    sl_buf_reset(&inner);
    put_msg(&inner, 1, 0, 0, TS0, "x", "y");
    inner.data[inner.len - 1] ^= 1;
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_SNAPPY, 0, TS0, &inner, true);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_ECORRUPT);
    /* A cut inner set: corrupt. */
    sl_buf_reset(&inner);
    put_msg(&inner, 1, 0, 0, TS0, "x", "y");
    inner.len -= 1;
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EPROTO);
    /* zstd and unknown codecs in an old format. */
    sl_buf_reset(&inner);
    put_msg(&inner, 1, 0, 0, TS0, "x", "y");
    for (int codec = 4; codec <= 7; codec++) {
        sl_buf_reset(&set);
        put_msg(&set, 1, 0, (int8_t)codec, TS0, NULL, "garbage");
        SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EUNSUP);
    }
    /* Garbage in a gzip wrapper: corrupt. */
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, SL_CODEC_GZIP, TS0, NULL, "not gzip at all");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EPROTO);
    /* magic 1 lz4 must carry a correct header checksum (KIP-57). */
    sl_buf_reset(&set);
    {
        sl_buf_t comp = SL_BUF_INIT;

        SL_CHECK_OK(
            sl_compress(SL_CODEC_LZ4, SL_COMPRESS_LEVEL_DEFAULT, inner.data, inner.len, &comp));
        lz4_break_hc(&comp, 0);
        sl_legacy_msg_write(&set, 1, 0, SL_CODEC_LZ4, TS0, SL_BYTES_NULL,
                            (sl_bytes_t){comp.data, (int32_t)comp.len});
        sl_buf_deinit(&comp);
    }
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EPROTO);
    SL_CHECK_EQ(out.len, 0); /* nothing written on any failure */
    sl_buf_deinit(&inner);
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
    sl_buf_deinit(&batch);
}

SL_TEST(legacy_up_topic_rules_keys_timestamps_budget)
{
    sl_buf_t inner = SL_BUF_INIT, set = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;

    /* Compacted topic: a null key is an invalid record. */
    sl_legacy_up_opts_init(&o);
    o.require_key = true;
    put_msg(&set, 0, 0, 0, 0, NULL, "v");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_EINVAL);
    /* CreateTime limits, per record; magic 0 (no timestamp) is exempt. */
    sl_legacy_up_opts_init(&o);
    o.now_ms = TS0;
    o.ts_before_max_ms = 1000;
    o.ts_after_max_ms = 1000;
    SL_CHECK_OK(up(&set, &o, &out, &info));
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, 0, TS0 - 1000, "k", "v");
    put_msg(&set, 1, 0, 0, TS0 + 1000, "k", "v");
    SL_CHECK_OK(up(&set, &o, &out, &info));
    put_msg(&set, 1, 0, 0, TS0 + 1001, "k", "v");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_ERANGE);
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, 0, INT64_MIN, "k", "v");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_ERANGE);
    /* LogAppendTime topic: a producer claiming LogAppendTime is refused. */
    sl_legacy_up_opts_init(&o);
    o.log_append_time = true;
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, 0, TS0, "k", "v");
    SL_CHECK_OK(up(&set, &o, &out, &info));
    sl_buf_reset(&set);
    put_msg(&set, 1, 0, SL_LEGACY_ATTR_LOG_APPEND_TIME, TS0, "k", "v");
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_ERANGE);
    /* Decompression budget. */
    sl_legacy_up_opts_init(&o);
    o.max_decompressed = 4096;
    {
        char *big = malloc(8192);

        memset(big, 'x', 8191);
        big[8191] = 0;
        put_msg(&inner, 1, 0, 0, TS0, "k", big);
        free(big);
    }
    sl_buf_reset(&set);
    put_wrapper(&set, 1, 0, SL_CODEC_GZIP, 0, TS0, &inner, false);
    sl_buf_reset(&out);
    SL_CHECK_EQ(up(&set, &o, &out, &info), SL_ETOOBIG);
    SL_CHECK_EQ(out.len, 0);
    sl_buf_deinit(&inner);
    sl_buf_deinit(&set);
    sl_buf_deinit(&out);
}

/* Bytes written by kafka-python 2.0.2's LegacyRecordBuilder (magic 0,
 * lz4 with the KAFKA-3160 checksum; tests/unit/data/gen_legacy.py). */
SL_TEST(legacy_up_reads_independent_encoder_output)
{
    FILE *f = fopen("tests/unit/data/legacy_kp_sets.bin", "rb");
    uint8_t *data;
    long size;
    size_t pos = 0;
    int sets = 0;

    if (f == NULL)
        SL_SKIP("tests/unit/data/legacy_kp_sets.bin missing");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)size);
    SL_CHECK_EQ(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    /* Records: i32 magic, i32 codec, i32 length, set bytes. Each set holds
     * 20 messages "key-<i>" / "value-<i>" * (1 + i % 3), timestamps
     * 1700000000000 + i for magic 1. */
    while (pos + 12 <= (size_t)size) {
        int8_t magic = (int8_t)sl_be32(data + pos);
        sl_codec_t codec = (sl_codec_t)sl_be32(data + pos + 4);
        size_t len = sl_be32(data + pos + 8);
        sl_buf_t set = SL_BUF_INIT, out = SL_BUF_INIT;
        sl_legacy_up_opts_t o;
        sl_legacy_up_info_t info;
        sl_batch_hdr_t h;
        tset_t *s = tset_new();

        pos += 12;
        SL_CHECK(pos + len <= (size_t)size);
        sl_buf_append(&set, data + pos, len);
        pos += len;
        sl_legacy_up_opts_init(&o);
        SL_CHECK_OK(up(&set, &o, &out, &info));
        SL_CHECK_EQ(info.magic, magic);
        SL_CHECK_EQ(info.wire_codec, codec);
        read_batch(&out, s, &h);
        SL_CHECK_EQ(s->n, 20);
        for (int i = 0; i < 20; i++) {
            char k[32], v[64] = "";

            snprintf(k, sizeof(k), "key-%d", i);
            for (int r = 0; r < 1 + i % 3; r++)
                snprintf(v + strlen(v), sizeof(v) - strlen(v), "value-%d", i);
            SL_CHECK(beq(s->m[i].key, bc(k)));
            SL_CHECK(beq(s->m[i].value, bc(v)));
            SL_CHECK_EQ(s->m[i].ts, magic ? 1700000000000LL + i : SL_NO_TIMESTAMP);
        }
        sets++;
        sl_buf_deinit(&set);
        sl_buf_deinit(&out);
        tset_free(s);
    }
    SL_CHECK_EQ(sets, 8); /* 2 magics x none/gzip/snappy/lz4 */
    free(data);
}

/* ------------------------------------------------------------------ */
/* Down-conversion                                                      */
/* ------------------------------------------------------------------ */

/* Every codec to both magics: offsets, timestamps, keys, values; headers
 * gone; compressed batches stay compressed with the same codec. */
SL_TEST(legacy_down_every_codec_both_magics)
{
    for (int8_t magic = 0; magic <= 1; magic++) {
        for (int c = 0; c <= SL_CODEC_LZ4; c++) {
            sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
            sl_legacy_down_opts_t o;
            sl_legacy_down_info_t info;
            tset_t *s = tset_new();
            size_t pos = 0;
            int wrappers = 0;

            make_batch(&in, (sl_codec_t)c, 100, 10, 0, 20);
            make_batch(&in, (sl_codec_t)c, 110, 5, 0, 20);
            sl_legacy_down_opts_init(&o, magic, 100, 1 << 20);
            SL_CHECK_OK(down(&in, &o, &out, &info));
            SL_CHECK_EQ(info.messages, 15);
            SL_CHECK_EQ(info.next_offset, 115);
            read_set(out.data, out.len, s);
            SL_CHECK_EQ(s->n, 15);
            for (int i = 0; i < 15; i++) {
                int r = i < 10 ? i : i - 10;
                char k[16];

                snprintf(k, sizeof(k), "k%d", r);
                SL_CHECK_EQ(s->m[i].offset, 100 + i);
                SL_CHECK_EQ(s->m[i].ts, magic ? TS0 + r : SL_NO_TIMESTAMP);
                SL_CHECK(r % 9 == 4 ? s->m[i].key.len == -1 : beq(s->m[i].key, bc(k)));
                SL_CHECK_EQ(s->m[i].value.len, 20);
            }
            /* One wrapper per batch, with the batch's codec. */
            while (pos < out.len) {
                sl_legacy_msg_t m;

                SL_CHECK_OK(sl_legacy_msg_parse(out.data + pos, out.len - pos, &m));
                SL_CHECK_EQ(m.magic, magic);
                SL_CHECK_EQ(m.attributes & SL_ATTR_CODEC_MASK, c);
                wrappers++;
                pos += m.size;
            }
            SL_CHECK_EQ(wrappers, c == SL_CODEC_NONE ? 15 : 2);
            sl_buf_deinit(&in);
            sl_buf_deinit(&out);
            tset_free(s);
        }
    }
}

SL_TEST(legacy_down_inner_offsets_relative_for_magic1_absolute_for_magic0)
{
    for (int8_t magic = 0; magic <= 1; magic++) {
        sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT, inner = SL_BUF_INIT;
        sl_legacy_down_opts_t o;
        sl_legacy_down_info_t info;
        sl_legacy_msg_t w, m;
        size_t pos = 0;
        int i = 0;

        make_batch(&in, SL_CODEC_GZIP, 5000, 4, 0, 8);
        sl_legacy_down_opts_init(&o, magic, 0, 1 << 20);
        SL_CHECK_OK(down(&in, &o, &out, &info));
        SL_CHECK_OK(sl_legacy_msg_parse(out.data, out.len, &w));
        SL_CHECK_EQ(w.size, out.len);
        SL_CHECK_EQ(w.offset, 5003); /* the last inner offset */
        SL_CHECK(w.key.len == -1);
        if (magic == 1)
            SL_CHECK_EQ(w.timestamp, TS0 + 3); /* max inner timestamp */
        SL_CHECK_OK(sl_decompress(SL_CODEC_GZIP, w.value.ptr, (size_t)w.value.len, &inner, MiB));
        for (; pos < inner.len; i++) {
            SL_CHECK_OK(sl_legacy_msg_parse(inner.data + pos, inner.len - pos, &m));
            SL_CHECK_EQ(m.offset, magic == 1 ? i : 5000 + i);
            pos += m.size;
        }
        SL_CHECK_EQ(i, 4);
        sl_buf_deinit(&in);
        sl_buf_deinit(&out);
        sl_buf_deinit(&inner);
    }
}

SL_TEST(legacy_down_magic0_lz4_uses_kafka08_header_checksum)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT, tmp = SL_BUF_INIT;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    sl_legacy_msg_t w;
    const uint8_t *f;
    size_t hc;

    make_batch(&in, SL_CODEC_LZ4, 0, 3, 0, 30);
    sl_legacy_down_opts_init(&o, 0, 0, 1 << 20);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_OK(sl_legacy_msg_parse(out.data, out.len, &w));
    f = w.value.ptr;
    hc = 6 + (f[4] & 0x08 ? 8 : 0) + (f[4] & 0x01 ? 4 : 0);
    SL_CHECK_EQ(f[hc], (uint8_t)(sl_xxh32(f, hc, 0) >> 8));
    SL_CHECK(f[hc] != (uint8_t)(sl_xxh32(f + 4, hc - 4, 0) >> 8));
    SL_CHECK_OK(sl_decompress_lz4_legacy(w.value.ptr, (size_t)w.value.len, &tmp, MiB));
    /* Magic 1 gets the proper one (KIP-57): liblz4 reads it as is. */
    sl_buf_reset(&out);
    sl_buf_reset(&tmp);
    o.magic = 1;
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_OK(sl_legacy_msg_parse(out.data, out.len, &w));
    SL_CHECK_OK(sl_decompress(SL_CODEC_LZ4, w.value.ptr, (size_t)w.value.len, &tmp, MiB));
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
    sl_buf_deinit(&tmp);
}

SL_TEST(legacy_down_log_append_time_and_control_batches)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    tset_t *s = tset_new();
    sl_legacy_msg_t m;

    make_batch(&in, SL_CODEC_NONE, 0, 2, SL_ATTR_CONTROL, 4); /* a marker */
    make_batch(&in, SL_CODEC_NONE, 2, 2, 0, 4);
    make_batch(&in, SL_CODEC_SNAPPY, 4, 2, 0, 4);
    /* Stamp the last two batches LogAppendTime (as the log does). */
    {
        size_t b2 = 0;
        sl_batch_hdr_t h;

        SL_CHECK_OK(sl_batch_hdr_parse(in.data, in.len, &h));
        b2 = (size_t)sl_batch_size(&h);
        SL_CHECK_OK(sl_batch_hdr_parse(in.data + b2, in.len - b2, &h));
        sl_batch_set_log_append_time(in.data + b2, (size_t)sl_batch_size(&h), TS0 + 500);
        b2 += (size_t)sl_batch_size(&h);
        sl_batch_set_log_append_time(in.data + b2, in.len - b2, TS0 + 600);
    }
    sl_legacy_down_opts_init(&o, 1, 0, 1 << 20);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    read_set(out.data, out.len, s);
    SL_CHECK_EQ(s->n, 4); /* the control batch left out */
    SL_CHECK_EQ(s->m[0].offset, 2);
    SL_CHECK_EQ(s->m[0].ts, TS0 + 500);
    SL_CHECK(s->m[0].attr & SL_LEGACY_ATTR_LOG_APPEND_TIME);
    SL_CHECK_EQ(s->m[3].ts, TS0 + 600);
    /* The wrapper carries the LogAppendTime bit and the time. */
    SL_CHECK_OK(sl_legacy_msg_parse(out.data + 2 * sl_legacy_msg_size(1, 2, 4),
                                    out.len - 2 * sl_legacy_msg_size(1, 2, 4), &m));
    SL_CHECK(m.attributes & SL_LEGACY_ATTR_LOG_APPEND_TIME);
    SL_CHECK_EQ(m.timestamp, TS0 + 600);
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
    tset_free(s);
}

SL_TEST(legacy_down_skips_records_before_fetch_offset)
{
    for (int c = 0; c <= SL_CODEC_LZ4; c += SL_CODEC_LZ4) {
        sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
        sl_legacy_down_opts_t o;
        sl_legacy_down_info_t info;
        tset_t *s = tset_new();

        make_batch(&in, (sl_codec_t)c, 10, 10, 0, 4);
        sl_legacy_down_opts_init(&o, 1, 16, 1 << 20);
        SL_CHECK_OK(down(&in, &o, &out, &info));
        read_set(out.data, out.len, s);
        SL_CHECK_EQ(s->n, 4);
        SL_CHECK_EQ(s->m[0].offset, 16);
        SL_CHECK_EQ(info.next_offset, 20);
        sl_buf_deinit(&in);
        sl_buf_deinit(&out);
        tset_free(s);
    }
}

SL_TEST(legacy_down_zstd_is_unsupported_first_or_stops_later)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    tset_t *s = tset_new();

    make_batch(&in, SL_CODEC_ZSTD, 0, 3, 0, 4);
    sl_legacy_down_opts_init(&o, 1, 0, 1 << 20);
    SL_CHECK_EQ(down(&in, &o, &out, &info), SL_EUNSUP);
    SL_CHECK_EQ(out.len, 0);
    sl_buf_reset(&in);
    make_batch(&in, SL_CODEC_GZIP, 0, 3, 0, 4);
    make_batch(&in, SL_CODEC_ZSTD, 3, 3, 0, 4);
    make_batch(&in, SL_CODEC_NONE, 6, 3, 0, 4);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK(info.stopped_zstd);
    SL_CHECK_EQ(info.next_offset, 3);
    read_set(out.data, out.len, s);
    SL_CHECK_EQ(s->n, 3);
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
    tset_free(s);
}

SL_TEST(legacy_down_bad_batches)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    tset_t *s = tset_new();

    make_batch(&in, SL_CODEC_NONE, 0, 3, 0, 4);
    make_batch(&in, SL_CODEC_NONE, 3, 3, 0, 4);
    in.data[in.len - 1] ^= 1; /* second batch: bad CRC */
    sl_legacy_down_opts_init(&o, 0, 0, 1 << 20);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    read_set(out.data, out.len, s);
    SL_CHECK_EQ(s->n, 3);
    in.data[30] ^= 1; /* now the first too */
    sl_buf_reset(&out);
    SL_CHECK_EQ(down(&in, &o, &out, &info), SL_ECORRUPT);
    SL_CHECK_EQ(out.len, 0);
    /* A cut last batch is ignored like the log's region end. */
    in.data[30] ^= 1;
    in.len -= 5;
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_EQ(info.messages, 3);
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
    tset_free(s);
}

/* A batch larger than the fetch limit, uncompressed: whole messages up to
 * the limit; if not even one fits, the first comes whole (v3, min_one),
 * cut (v0-2, partial_tail) or not at all. */
SL_TEST(legacy_down_batch_larger_than_limit_uncompressed)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    size_t one = sl_legacy_msg_size(1, 2, 1000);
    tset_t *s = tset_new();

    /* Keys "k0".."k9" but k4 is null: ten messages take one * 10 - 2. */
    make_batch(&in, SL_CODEC_NONE, 0, 100, 0, 1000);
    sl_legacy_down_opts_init(&o, 1, 0, one * 10 + one / 2);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_EQ(out.len, one * 10 - 2);
    SL_CHECK_EQ(info.next_offset, 10);
    SL_CHECK(!info.partial);
    /* Limit below one message. */
    o.max_bytes = 100;
    sl_buf_reset(&out);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_EQ(out.len, 0);
    o.partial_tail = true;
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_EQ(out.len, 100);
    SL_CHECK(info.partial);
    SL_CHECK_EQ(info.messages, 0);
    read_set(out.data, out.len, s);
    SL_CHECK(s->partial && s->n == 0);
    o.partial_tail = false;
    o.min_one = true;
    sl_buf_reset(&out);
    SL_CHECK_OK(down(&in, &o, &out, &info));
    SL_CHECK_EQ(out.len, one);
    SL_CHECK_EQ(info.next_offset, 1);
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
    tset_free(s);
}

/* A compressed batch larger than the limit: split over wrappers, none past
 * the limit, and fetching from next_offset again and again returns every
 * record exactly once -- for incompressible values too. */
SL_TEST(legacy_down_batch_larger_than_limit_compressed_makes_progress)
{
    for (int8_t magic = 0; magic <= 1; magic++) {
        for (int c = SL_CODEC_GZIP; c <= SL_CODEC_LZ4; c++) {
            sl_buf_t in = SL_BUF_INIT;
            sl_batch_opts_t bo;
            sl_batch_builder_t b;
            int64_t next = 0;
            int got = 0, fetches = 0;
            const int n = 300;

            /* Random (incompressible) values of 100..400 bytes. */
            sl_batch_opts_init(&bo);
            bo.codec = (sl_codec_t)c;
            sl_batch_builder_init(&b, &bo);
            for (int i = 0; i < n; i++) {
                uint8_t v[400];
                int32_t vl = 100 + (int32_t)(sl_test_rand() % 300);

                for (int32_t j = 0; j < vl; j++)
                    v[j] = (uint8_t)sl_test_rand();
                SL_CHECK_OK(sl_batch_builder_append(&b, TS0 + i, SL_BYTES_NULL, (sl_bytes_t){v, vl},
                                                    NULL, 0));
            }
            SL_CHECK_OK(sl_batch_builder_finish(&b, &in));
            sl_batch_builder_deinit(&b);
            SL_CHECK(in.len > 8192);
            while (next < n) {
                sl_buf_t out = SL_BUF_INIT;
                sl_legacy_down_opts_t o;
                sl_legacy_down_info_t info;
                tset_t *s = tset_new();

                sl_legacy_down_opts_init(&o, magic, next, 8192);
                o.partial_tail = true;
                SL_CHECK_OK(down(&in, &o, &out, &info));
                SL_CHECK(out.len <= 8192);
                SL_CHECK(!info.partial);
                read_set(out.data, out.len, s);
                SL_CHECK(s->n > 0);
                for (int i = 0; i < s->n; i++)
                    SL_CHECK_EQ(s->m[i].offset, next + i);
                next += s->n;
                got += s->n;
                fetches++;
                sl_buf_deinit(&out);
                tset_free(s);
            }
            SL_CHECK_EQ(got, n);
            SL_CHECK(fetches > 1);
            sl_buf_deinit(&in);
        }
    }
}

/* Random batches of every codec go v2 -> old -> v2 and come back with the
 * same keys and values (and timestamps for magic 1). */
SL_TEST(legacy_round_trip_random)
{
    for (int iter = 0; iter < 200; iter++) {
        sl_codec_t codec = (sl_codec_t)(sl_test_rand() % 4);
        int8_t magic = (int8_t)(sl_test_rand() % 2);
        int n = 1 + (int)(sl_test_rand() % 40);
        sl_buf_t in = SL_BUF_INIT, old = SL_BUF_INIT, back = SL_BUF_INIT;
        sl_legacy_down_opts_t o;
        sl_legacy_down_info_t info;
        sl_batch_hdr_t h;
        tset_t *a = tset_new(), *z = tset_new();
        sl_batch_opts_t bo;
        sl_batch_builder_t b;

        sl_batch_opts_init(&bo);
        bo.codec = codec;
        sl_batch_builder_init(&b, &bo);
        for (int i = 0; i < n; i++) {
            uint8_t k[16], v[200];
            int32_t kl = (int32_t)(sl_test_rand() % 17) - 1;
            int32_t vl = (int32_t)(sl_test_rand() % 201) - 1;

            for (int j = 0; j < 16; j++)
                k[j] = (uint8_t)sl_test_rand();
            for (int j = 0; j < 200; j++)
                v[j] = (uint8_t)(sl_test_rand() % 4);
            SL_CHECK_OK(sl_batch_builder_append(&b, TS0 + (int64_t)(sl_test_rand() % 1000),
                                                kl < 0 ? SL_BYTES_NULL : (sl_bytes_t){k, kl},
                                                vl < 0 ? SL_BYTES_NULL : (sl_bytes_t){v, vl}, NULL,
                                                0));
        }
        SL_CHECK_OK(sl_batch_builder_finish(&b, &in));
        sl_batch_builder_deinit(&b);
        read_batch(&in, a, &h);
        sl_legacy_down_opts_init(&o, magic, 0, 1 << 20);
        SL_CHECK_OK(down(&in, &o, &old, &info));
        SL_CHECK_OK(up_default(&old, &back));
        read_batch(&back, z, &h);
        SL_CHECK_EQ(sl_batch_codec(&h), codec);
        SL_CHECK_EQ(z->n, n);
        for (int i = 0; i < n; i++) {
            SL_CHECK(beq(a->m[i].key, z->m[i].key));
            SL_CHECK(beq(a->m[i].value, z->m[i].value));
            SL_CHECK_EQ(z->m[i].ts, magic ? a->m[i].ts : SL_NO_TIMESTAMP);
        }
        sl_buf_deinit(&in);
        sl_buf_deinit(&old);
        sl_buf_deinit(&back);
        tset_free(a);
        tset_free(z);
    }
}
