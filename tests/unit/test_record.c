/*
 * test_record.c -- proto/record.h records: builder -> iterator round trips
 * for every codec, randomized records, CRC and truncation handling, every
 * kind of length/count/offset lie, and batches written by an independent
 * encoder (kafka-python; tests/unit/data/gen_batches.py) and by a real
 * client (librdkafka; tests/unit/data/gen_rdkafka.py).
 */
#include "base/arena.h"
#include "proto/compress.h"
#include "proto/record.h"
#include "proto/wire.h"
#include "test.h"

#define MiB ((size_t)1 << 20)

static const sl_codec_t all_codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                                        SL_CODEC_ZSTD};

/* A record as the tests want it back. */
typedef struct trec {
    int32_t delta;
    int64_t ts;
    sl_bytes_t key, value;
    sl_header_t hdrs[6];
    int32_t nh;
} trec_t;

static sl_bytes_t
bytes_c(const char *s)
{
    return (sl_bytes_t){(const uint8_t *)s, (int32_t)strlen(s)};
}

static bool
bytes_eq(sl_bytes_t a, sl_bytes_t b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

/* Mirrors rec() in tests/unit/data/gen_batches.py. */
#define FIX_BASE_TS 1700000000000LL
static void
fixture_record(int i, trec_t *r, sl_arena_t *a)
{
    memset(r, 0, sizeof(*r));
    r->delta = i;
    r->ts = FIX_BASE_TS + i * 10 - (i % 6 == 2 ? 7 : 0);
    r->key = i % 5 == 0 ? SL_BYTES_NULL : bytes_c(sl_arena_printf(a, "key-%d", i));
    if (i % 7 == 3) {
        r->value = SL_BYTES_NULL;
    } else {
        const char *one = sl_arena_printf(a, "value-%d ", i);
        char *v = sl_arena_alloc(a, strlen(one) * 4 + 1);

        v[0] = 0;
        for (int k = 0; k < 1 + i % 4; k++)
            memcpy(v + k * strlen(one), one, strlen(one) + 1);
        r->value = bytes_c(v);
    }
    r->nh = i % 3;
    for (int j = 0; j < r->nh; j++) {
        r->hdrs[j].key = sl_str_c(sl_arena_printf(a, "h%d", j));
        r->hdrs[j].value = j == 1 ? SL_BYTES_NULL : bytes_c(sl_arena_printf(a, "hv-%d-%d", i, j));
    }
}

static void
random_bytes(sl_arena_t *a, sl_bytes_t *b, int null_one_in, size_t max)
{
    size_t n = sl_test_rand() % (max + 1);
    uint8_t *p = sl_arena_alloc(a, n + 1);

    if (sl_test_rand() % (uint64_t)null_one_in == 0) {
        *b = SL_BYTES_NULL;
        return;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)sl_test_rand();
    *b = (sl_bytes_t){p, (int32_t)n};
}

static void
random_record(trec_t *r, int32_t delta, sl_arena_t *a)
{
    memset(r, 0, sizeof(*r));
    r->delta = delta;
    /* Around a base, both directions, sometimes far. */
    r->ts = FIX_BASE_TS + (int64_t)(sl_test_rand() % 2000001) - 1000000;
    if (sl_test_rand() % 10 == 0)
        r->ts = (int64_t)sl_test_rand();
    random_bytes(a, &r->key, 6, 40);
    random_bytes(a, &r->value, 8, sl_test_rand() % 4 == 0 ? 3000 : 100);
    r->nh = (int32_t)(sl_test_rand() % SL_ARRAY_LEN(r->hdrs));
    for (int j = 0; j < r->nh; j++) {
        sl_bytes_t k;

        random_bytes(a, &k, 1000000, 20);
        if (k.len < 0)
            k = bytes_c("");
        r->hdrs[j].key = (sl_str_t){(const char *)k.ptr, k.len};
        random_bytes(a, &r->hdrs[j].value, 4, 30);
    }
}

static void
build(const trec_t *recs, int n, const sl_batch_opts_t *opts, sl_buf_t *out)
{
    sl_batch_builder_t b;

    sl_batch_builder_init(&b, opts);
    for (int i = 0; i < n; i++)
        SL_CHECK_OK(sl_batch_builder_append_at(&b, recs[i].delta, recs[i].ts, recs[i].key,
                                               recs[i].value, recs[i].hdrs, recs[i].nh));
    SL_CHECK_OK(sl_batch_builder_finish(&b, out));
    SL_CHECK_EQ(b.count, 0); /* finish leaves it reusable */
    sl_batch_builder_deinit(&b);
}

static void
check_record(const sl_record_t *got, const trec_t *want, int64_t base_offset)
{
    sl_header_iter_t hi;
    sl_header_t h;

    SL_CHECK_EQ(got->offset_delta, want->delta);
    SL_CHECK_EQ(got->offset, base_offset + want->delta);
    SL_CHECK_EQ(got->timestamp, want->ts);
    SL_CHECK_EQ(got->attributes, 0);
    SL_CHECK(bytes_eq(got->key, want->key));
    SL_CHECK(bytes_eq(got->value, want->value));
    SL_CHECK_EQ(got->header_count, want->nh);
    sl_header_iter_init(&hi, got);
    for (int j = 0; j < want->nh; j++) {
        SL_CHECK_EQ(sl_header_iter_next(&hi, &h), 1);
        SL_CHECK(sl_str_eq(h.key, want->hdrs[j].key));
        SL_CHECK(bytes_eq(h.value, want->hdrs[j].value));
    }
    SL_CHECK_EQ(sl_header_iter_next(&hi, &h), 0);
}

/* Iterates the whole batch, checking each record against recs. */
static void
check_batch(const uint8_t *batch, size_t len, const trec_t *recs, int n, int64_t base_offset)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_buf_t scratch = SL_BUF_INIT;
    int i = 0, rc;

    SL_CHECK_OK(sl_record_iter_init(&it, batch, len, &scratch, 64 * MiB));
    SL_CHECK_EQ(it.hdr.record_count, n);
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        SL_CHECK(i < n);
        check_record(&r, &recs[i], base_offset);
        i++;
    }
    SL_CHECK_EQ(rc, 0);
    SL_CHECK_EQ(i, n);
    SL_CHECK_EQ(sl_record_iter_next(&it, &r), 0); /* end is stable */
    sl_buf_deinit(&scratch);
}

/* Runs the iterator to completion: 0 if every record parsed, else the error. */
static int
iterate_all(const uint8_t *batch, size_t len, size_t budget, int *records)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_buf_t scratch = SL_BUF_INIT;
    int rc;

    *records = 0;
    rc = sl_record_iter_init(&it, batch, len, &scratch, budget);
    if (rc == SL_OK) {
        while ((rc = sl_record_iter_next(&it, &r)) == 1)
            (*records)++;
    }
    sl_buf_deinit(&scratch);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Round trips                                                          */
/* ------------------------------------------------------------------ */

static void
round_trip(sl_codec_t codec, int n)
{
    sl_arena_t a;
    trec_t *recs;
    sl_batch_opts_t o;
    sl_batch_hdr_t h;
    sl_buf_t out = SL_BUF_INIT;
    int64_t max_ts = INT64_MIN;

    sl_arena_init(&a, 4096);
    recs = sl_arena_array(&a, (size_t)n, sizeof(*recs));
    for (int i = 0; i < n; i++) {
        fixture_record(i, &recs[i], &a);
        max_ts = SL_MAX(max_ts, recs[i].ts);
    }
    sl_batch_opts_init(&o);
    o.codec = codec;
    o.base_offset = 1000000007;
    o.producer_id = 77;
    o.producer_epoch = 3;
    o.base_sequence = 12;
    build(recs, n, &o, &out);
    SL_CHECK_OK(sl_batch_validate(out.data, out.len, &h));
    SL_CHECK_EQ(sl_batch_codec(&h), codec);
    SL_CHECK_EQ(h.base_offset, 1000000007);
    SL_CHECK_EQ(h.leader_epoch, -1);
    SL_CHECK_EQ(h.record_count, n);
    SL_CHECK_EQ(h.last_offset_delta, n - 1);
    SL_CHECK_EQ(h.base_timestamp, recs[0].ts);
    SL_CHECK_EQ(h.max_timestamp, max_ts);
    SL_CHECK_EQ(h.producer_id, 77);
    SL_CHECK_EQ(h.producer_epoch, 3);
    SL_CHECK_EQ(h.base_sequence, 12);
    check_batch(out.data, out.len, recs, n, 1000000007);
    sl_buf_deinit(&out);
    sl_arena_deinit(&a);
}

SL_TEST(record_round_trip_every_codec_1_and_1000_records)
{
    for (size_t c = 0; c < SL_ARRAY_LEN(all_codecs); c++) {
        round_trip(all_codecs[c], 1);
        round_trip(all_codecs[c], 1000);
    }
}

SL_TEST(record_round_trip_randomized)
{
    sl_arena_t a;

    sl_arena_init(&a, 1 << 16);
    for (int round = 0; round < 40; round++) {
        int n = 1 + (int)(sl_test_rand() % 300);
        trec_t *recs = sl_arena_array(&a, (size_t)n, sizeof(*recs));
        sl_batch_opts_t o;
        sl_buf_t out = SL_BUF_INIT;
        int32_t delta = -1;

        for (int i = 0; i < n; i++) {
            /* Mostly consecutive offsets, sometimes gaps (compacted). */
            delta += sl_test_rand() % 8 == 0 ? 1 + (int32_t)(sl_test_rand() % 1000) : 1;
            random_record(&recs[i], delta, &a);
        }
        sl_batch_opts_init(&o);
        o.codec = all_codecs[sl_test_rand() % SL_ARRAY_LEN(all_codecs)];
        o.base_offset = (int64_t)(sl_test_rand() >> 2);
        o.leader_epoch = (int32_t)(sl_test_rand() % 100);
        /* A few bytes before the batch: finish appends. */
        sl_buf_append(&out, "xyz", 3);
        build(recs, n, &o, &out);
        check_batch(out.data + 3, out.len - 3, recs, n, o.base_offset);
        sl_buf_deinit(&out);
        sl_arena_reset(&a);
    }
    sl_arena_deinit(&a);
}

SL_TEST(record_copy_through_builder_is_byte_identical)
{
    sl_arena_t a;
    trec_t recs[40];
    sl_batch_opts_t o;
    sl_buf_t orig = SL_BUF_INIT, copy = SL_BUF_INIT;
    sl_record_iter_t it;
    sl_record_t r;
    sl_batch_builder_t b;
    int rc;

    sl_arena_init(&a, 4096);
    for (int i = 0; i < 40; i++)
        random_record(&recs[i], i * 2, &a);
    sl_batch_opts_init(&o);
    build(recs, 40, &o, &orig);
    sl_batch_builder_init(&b, &o);
    SL_CHECK_OK(sl_record_iter_init(&it, orig.data, orig.len, NULL, 0));
    while ((rc = sl_record_iter_next(&it, &r)) == 1)
        SL_CHECK_OK(sl_batch_builder_append_record(&b, &r, r.offset_delta));
    SL_CHECK_EQ(rc, 0);
    SL_CHECK_OK(sl_batch_builder_finish(&b, &copy));
    SL_CHECK_EQ(copy.len, orig.len);
    SL_CHECK_MEM(copy.data, orig.data, orig.len);
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&orig);
    sl_buf_deinit(&copy);
    sl_arena_deinit(&a);
}

SL_TEST(record_log_append_time_reported_for_every_record)
{
    static const int64_t ts[3] = {100, 50, 300};
    trec_t recs[3];
    sl_batch_opts_t o;
    sl_buf_t out = SL_BUF_INIT;
    sl_record_iter_t it;
    sl_record_t r;

    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 3; i++) {
        recs[i].delta = i;
        recs[i].ts = ts[i];
        recs[i].key = recs[i].value = SL_BYTES_NULL;
    }
    sl_batch_opts_init(&o);
    build(recs, 3, &o, &out);
    check_batch(out.data, out.len, recs, 3, 0);
    sl_batch_set_log_append_time(out.data, out.len, 999);
    SL_CHECK_OK(sl_record_iter_init(&it, out.data, out.len, NULL, 0));
    for (int i = 0; i < 3; i++) {
        SL_CHECK_EQ(sl_record_iter_next(&it, &r), 1);
        SL_CHECK_EQ(r.timestamp, 999);
        SL_CHECK_EQ(r.timestamp_delta, recs[i].ts - 100);
    }
    sl_buf_deinit(&out);
}

SL_TEST(record_builder_rejects_bad_input)
{
    sl_batch_opts_t o;
    sl_batch_builder_t b;
    sl_buf_t out = SL_BUF_INIT;
    sl_header_t bad = {SL_STR_NULL, SL_BYTES_NULL};

    sl_batch_opts_init(&o);
    sl_batch_builder_init(&b, &o);
    SL_CHECK_EQ(sl_batch_builder_finish(&b, &out), SL_EINVAL); /* no records */
    SL_CHECK_EQ(sl_batch_builder_append(&b, 1, SL_BYTES_NULL, SL_BYTES_NULL, &bad, 1), SL_EINVAL);
    SL_CHECK_EQ(sl_batch_builder_append(&b, 1, SL_BYTES_NULL, SL_BYTES_NULL, NULL, 2), SL_EINVAL);
    SL_CHECK_EQ(sl_batch_builder_append(&b, 1, SL_BYTES_NULL, SL_BYTES_NULL, NULL, -1), SL_EINVAL);
    SL_CHECK_EQ(b.count, 0);
    SL_CHECK_OK(sl_batch_builder_append_at(&b, 5, 1, SL_BYTES_NULL, SL_BYTES_NULL, NULL, 0));
    SL_CHECK_EQ(sl_batch_builder_append_at(&b, 5, 1, SL_BYTES_NULL, SL_BYTES_NULL, NULL, 0),
                SL_EINVAL);
    SL_CHECK_EQ(sl_batch_builder_append_at(&b, 4, 1, SL_BYTES_NULL, SL_BYTES_NULL, NULL, 0),
                SL_EINVAL);
    SL_CHECK_OK(sl_batch_builder_append(&b, 2, SL_BYTES_NULL, SL_BYTES_NULL, NULL, 0));
    SL_CHECK_EQ(b.last_delta, 6);
    /* A bad level fails at finish and leaves out and the records alone. */
    b.opts.codec = SL_CODEC_GZIP;
    b.opts.level = 42;
    SL_CHECK_EQ(sl_batch_builder_finish(&b, &out), SL_EINVAL);
    SL_CHECK_EQ(out.len, 0);
    SL_CHECK_EQ(b.count, 2);
    b.opts.level = SL_COMPRESS_LEVEL_DEFAULT;
    SL_CHECK_OK(sl_batch_builder_finish(&b, &out));
    {
        sl_batch_hdr_t h;

        SL_CHECK_OK(sl_batch_validate(out.data, out.len, &h));
        SL_CHECK_EQ(h.record_count, 2);
        SL_CHECK_EQ(h.last_offset_delta, 6);
    }
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&out);
}

/* ------------------------------------------------------------------ */
/* Damaged batches                                                      */
/* ------------------------------------------------------------------ */

static void
small_batch(sl_codec_t codec, sl_buf_t *out)
{
    sl_arena_t a;
    trec_t recs[6];
    sl_batch_opts_t o;

    sl_arena_init(&a, 4096);
    for (int i = 0; i < 6; i++)
        fixture_record(i + 1, &recs[i], &a);
    for (int i = 0; i < 6; i++)
        recs[i].delta = i;
    sl_batch_opts_init(&o);
    o.codec = codec;
    build(recs, 6, &o, out);
    sl_arena_deinit(&a);
}

SL_TEST(record_crc_corruption_detected)
{
    sl_buf_t b = SL_BUF_INIT;
    int n;

    for (size_t c = 0; c < SL_ARRAY_LEN(all_codecs); c++) {
        sl_buf_reset(&b);
        small_batch(all_codecs[c], &b);
        for (size_t pos = SL_BATCH_OFF_CRC; pos < b.len; pos++) {
            int rc;

            b.data[pos] ^= 0x10;
            rc = iterate_all(b.data, b.len, MiB, &n);
            /* Past the header only the CRC can catch it. */
            if (pos >= SL_BATCH_HEADER_SIZE || pos < SL_BATCH_CRC_START)
                SL_CHECK_EQ(rc, SL_ECORRUPT);
            else
                SL_CHECK(rc == SL_ECORRUPT || rc == SL_EPROTO);
            b.data[pos] ^= 0x10;
        }
        /* Fields outside the CRC may change freely. */
        sl_batch_set_base_offset(b.data, 123456);
        sl_batch_set_leader_epoch(b.data, 9);
        SL_CHECK_EQ(iterate_all(b.data, b.len, MiB, &n), 0);
        SL_CHECK_EQ(n, 6);
    }
    sl_buf_deinit(&b);
}

/* Cuts the batch to len bytes and, when fix, makes the envelope agree
 * (batchLength, CRC) so the damage reaches the record parser. */
static int
iterate_cut(const sl_buf_t *b, size_t len, bool fix, int *n)
{
    uint8_t *p = malloc(len ? len : 1);
    int rc;

    memcpy(p, b->data, len);
    if (fix) {
        sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
        sl_batch_update_crc(p, len);
    }
    rc = iterate_all(p, len, MiB, n);
    free(p);
    return rc;
}

SL_TEST(record_every_truncation_rejected)
{
    sl_buf_t b = SL_BUF_INIT;
    int n;

    for (size_t c = 0; c < SL_ARRAY_LEN(all_codecs); c++) {
        sl_buf_reset(&b);
        small_batch(all_codecs[c], &b);
        for (size_t len = 0; len < b.len; len++) {
            /* As received: the envelope no longer matches. */
            SL_CHECK_EQ(iterate_cut(&b, len, false, &n), SL_EPROTO);
            SL_CHECK_EQ(n, 0);
            /* With a consistent envelope: records or the stream are short. */
            if (len >= SL_BATCH_HEADER_SIZE) {
                int rc = iterate_cut(&b, len, true, &n);

                if (rc != SL_EPROTO)
                    sl_test_fail(__FILE__, __LINE__, "%s cut at %zu/%zu: rc %d after %d records",
                                 sl_codec_name(all_codecs[c]), len, b.len, rc, n);
                SL_CHECK(n < 6);
            }
        }
    }
    sl_buf_deinit(&b);
}

/* ---- hand-made records for the lies ---- */

typedef struct raw {
    int32_t len_adj;  /* added to the true length */
    int32_t delta;    /* offsetDelta */
    int32_t key_len;  /* written key length (the key is "k") */
    int32_t hcount;   /* header count written */
    int32_t hwritten; /* headers actually written */
    bool null_hkey;   /* write a null header key */
    bool extra_byte;  /* a stray byte inside the record, counted in its length */
} raw_t;

static raw_t
raw_ok(int32_t delta)
{
    return (raw_t){0, delta, 1, 1, 1, false, false};
}

static void
put_raw(sl_buf_t *sec, const raw_t *r)
{
    sl_buf_t body = SL_BUF_INIT;
    sl_writer_t bw = {&body}, sw = {sec};

    sl_wr_i8(&bw, 0);
    sl_wr_varlong(&bw, 5);
    sl_wr_varint(&bw, r->delta);
    sl_wr_varint(&bw, r->key_len);
    sl_wr_raw(&bw, "k", 1);
    sl_wr_varbytes(&bw, bytes_c("value"));
    sl_wr_varint(&bw, r->hcount);
    for (int i = 0; i < r->hwritten; i++) {
        sl_wr_varbytes(&bw, r->null_hkey ? SL_BYTES_NULL : bytes_c("hk"));
        sl_wr_varbytes(&bw, bytes_c("hv"));
    }
    if (r->extra_byte)
        sl_wr_i8(&bw, 0);
    sl_wr_varint(&sw, (int32_t)body.len + r->len_adj);
    sl_wr_raw(&sw, body.data, body.len);
    sl_buf_deinit(&body);
}

/* Wraps a records section in a batch header with a valid CRC. */
static void
wrap(sl_buf_t *out, const sl_buf_t *sec, int32_t count, int32_t last_delta, sl_codec_t codec)
{
    uint8_t *p;

    sl_buf_reset(out);
    (void)sl_buf_extend(out, SL_BATCH_HEADER_SIZE);
    memset(out->data, 0, SL_BATCH_HEADER_SIZE);
    if (sec->len > 0)
        SL_CHECK_OK(sl_compress(codec, SL_COMPRESS_LEVEL_DEFAULT, sec->data, sec->len, out));
    p = out->data;
    sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(out->len - SL_BATCH_LOG_OVERHEAD));
    p[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be16(p + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)codec);
    sl_put_be32(p + SL_BATCH_OFF_LAST_DELTA, (uint32_t)last_delta);
    sl_put_be64(p + SL_BATCH_OFF_PRODUCER_ID, UINT64_MAX);
    sl_put_be32(p + SL_BATCH_OFF_RECORD_COUNT, (uint32_t)count);
    sl_batch_update_crc(p, out->len);
}

/* Builds the batch from raw records and returns what iteration ends with. */
static int
lie(const raw_t *recs, int nrecs, int32_t count, int32_t last_delta, sl_codec_t codec, int *n)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    int rc;

    for (int i = 0; i < nrecs; i++)
        put_raw(&sec, &recs[i]);
    wrap(&batch, &sec, count, last_delta, codec);
    rc = iterate_all(batch.data, batch.len, MiB, n);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
    return rc;
}

SL_TEST(record_lies_rejected)
{
    for (size_t c = 0; c < SL_ARRAY_LEN(all_codecs); c++) {
        sl_codec_t codec = all_codecs[c];
        raw_t r[3] = {raw_ok(0), raw_ok(1), raw_ok(2)};
        int n;

        /* The honest version parses: the helpers are right. */
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), 0);
        SL_CHECK_EQ(n, 3);
        /* Record length one too long / short / far too long / negative. */
        for (int k = 0; k < 3; k++) {
            int32_t adj[] = {1, -1, 1000, INT32_MIN / 2};

            for (size_t j = 0; j < SL_ARRAY_LEN(adj); j++) {
                r[k].len_adj = adj[j];
                SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
                SL_CHECK(n <= k);
            }
            r[k].len_adj = 0;
        }
        /* A stray byte inside a record's declared length. */
        r[1].extra_byte = true;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 1);
        r[1].extra_byte = false;
        /* Count lies: one more than present, one fewer (trailing record). */
        SL_CHECK_EQ(lie(r, 3, 4, 3, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 3);
        SL_CHECK_EQ(lie(r, 3, 2, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 2);
        /* offsetDelta: repeated, decreasing, past lastOffsetDelta, negative. */
        r[1].delta = 0;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 1);
        r[1].delta = 5;
        SL_CHECK_EQ(lie(r, 3, 3, 4, codec, &n), SL_EPROTO); /* 5 > 4 */
        SL_CHECK_EQ(n, 1);
        SL_CHECK_EQ(lie(r, 3, 3, 9, codec, &n), SL_EPROTO); /* then 2 < 5 */
        SL_CHECK_EQ(n, 2);
        r[1].delta = 1;
        r[0].delta = -1;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 0);
        r[0].delta = 0;
        /* Gaps are fine (compaction keeps lastOffsetDelta). */
        r[2].delta = 7;
        SL_CHECK_EQ(lie(r, 3, 3, 9, codec, &n), 0);
        SL_CHECK_EQ(n, 3);
        r[2].delta = 2;
        /* Key length past the record / below -1. */
        r[1].key_len = 50;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        r[1].key_len = -2;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 1);
        r[1].key_len = 1;
        /* Header count: negative, more than present, absurd; null key. */
        int32_t hc[] = {-1, 2, 1000000, INT32_MAX};
        for (size_t j = 0; j < SL_ARRAY_LEN(hc); j++) {
            r[2].hcount = hc[j];
            SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
            SL_CHECK_EQ(n, 2);
        }
        r[2].hcount = 1;
        r[2].null_hkey = true;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 2);
        r[2].null_hkey = false;
        /* Fewer headers than counted, the difference made up by a later
         * record's bytes: the length check catches it. */
        r[0].hcount = 2;
        SL_CHECK_EQ(lie(r, 3, 3, 2, codec, &n), SL_EPROTO);
        SL_CHECK_EQ(n, 0);
    }
}

SL_TEST(record_errors_are_sticky)
{
    raw_t r[2] = {raw_ok(0), raw_ok(0)};
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_record_iter_t it;
    sl_record_t rec;

    put_raw(&sec, &r[0]);
    put_raw(&sec, &r[1]);
    wrap(&batch, &sec, 2, 1, SL_CODEC_NONE);
    SL_CHECK_OK(sl_record_iter_init(&it, batch.data, batch.len, NULL, 0));
    SL_CHECK_EQ(sl_record_iter_next(&it, &rec), 1);
    SL_CHECK_EQ(sl_record_iter_next(&it, &rec), SL_EPROTO);
    SL_CHECK_EQ(sl_record_iter_next(&it, &rec), SL_EPROTO);
    /* A failed init leaves an iterator that only fails. */
    batch.data[batch.len - 1] ^= 1;
    SL_CHECK_EQ(sl_record_iter_init(&it, batch.data, batch.len, NULL, 0), SL_ECORRUPT);
    SL_CHECK(sl_record_iter_next(&it, &rec) < 0);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(record_empty_and_scratchless_batches)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    raw_t r = raw_ok(0);
    sl_record_iter_t it;
    sl_record_t rec;
    sl_batch_hdr_t h;

    /* What compaction leaves: no records, codec bits kept, no stream. */
    wrap(&batch, &sec, 0, 3, SL_CODEC_GZIP);
    SL_CHECK_OK(sl_record_iter_init(&it, batch.data, batch.len, NULL, 0));
    SL_CHECK_EQ(sl_record_iter_next(&it, &rec), 0);
    /* A compressed batch needs somewhere to decompress to. */
    put_raw(&sec, &r);
    wrap(&batch, &sec, 1, 0, SL_CODEC_ZSTD);
    SL_CHECK_EQ(sl_record_iter_init(&it, batch.data, batch.len, NULL, MiB), SL_EINVAL);
    SL_CHECK(sl_record_iter_next(&it, &rec) < 0);
    /* The pre-validated entry point skips the CRC but nothing else. */
    SL_CHECK_OK(sl_batch_validate(batch.data, batch.len, &h));
    batch.data[SL_BATCH_OFF_CRC] ^= 1;
    {
        sl_buf_t scratch = SL_BUF_INIT;

        SL_CHECK_OK(sl_record_iter_init_validated(&it, &h, batch.data, batch.len, &scratch, MiB));
        SL_CHECK_EQ(sl_record_iter_next(&it, &rec), 1);
        SL_CHECK_EQ(sl_record_iter_next(&it, &rec), 0);
        sl_buf_deinit(&scratch);
    }
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(record_compressed_bomb_stops_at_budget)
{
    size_t big = 64 * MiB;
    uint8_t *zeros = calloc(1, big);
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT, scratch = SL_BUF_INIT;
    sl_record_iter_t it;

    /* The records section only has to inflate; it need not parse. */
    sl_buf_append(&sec, zeros, big);
    free(zeros);
    for (size_t c = 1; c < SL_ARRAY_LEN(all_codecs); c++) {
        if (all_codecs[c] == SL_CODEC_GZIP)
            continue; /* 64 MiB at gzip's default level is slow; test_compress covers it */
        wrap(&batch, &sec, 1, 0, all_codecs[c]);
        sl_buf_reset(&scratch);
        SL_CHECK_EQ(sl_record_iter_init(&it, batch.data, batch.len, &scratch, MiB), SL_ETOOBIG);
        SL_CHECK(scratch.cap <= MiB + 1);
    }
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
    sl_buf_deinit(&scratch);
}

/* ------------------------------------------------------------------ */
/* Batches from an independent encoder (kafka-python)                   */
/* ------------------------------------------------------------------ */

static void
read_fixture(const char *name, sl_buf_t *out)
{
    char path[512];
    const char *src = getenv("SL_SRC_DIR");
    FILE *f;
    size_t n;
    uint8_t tmp[4096];

    snprintf(path, sizeof(path), "%s/tests/unit/data/%s", src ? src : ".", name);
    f = fopen(path, "rb");
    if (f == NULL)
        sl_test_fail(__FILE__, __LINE__, "fixture %s missing (run from the repo root)", path);
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        sl_buf_append(out, tmp, n);
    fclose(f);
}

SL_TEST(record_reads_kafka_python_batches)
{
    static const struct {
        const char *file;
        sl_codec_t codec;
    } fx[] = {
        {"batch_none.bin", SL_CODEC_NONE},     {"batch_gzip.bin", SL_CODEC_GZIP},
        {"batch_snappy.bin", SL_CODEC_SNAPPY}, {"batch_snappy_raw.bin", SL_CODEC_SNAPPY},
        {"batch_lz4.bin", SL_CODEC_LZ4},       {"batch_lz4_linked.bin", SL_CODEC_LZ4},
        {"batch_zstd.bin", SL_CODEC_ZSTD},     {"batch_zstd_stream.bin", SL_CODEC_ZSTD},
    };
    sl_arena_t a;
    trec_t recs[50];

    sl_arena_init(&a, 4096);
    for (int i = 0; i < 50; i++)
        fixture_record(i, &recs[i], &a);
    for (size_t f = 0; f < SL_ARRAY_LEN(fx); f++) {
        sl_buf_t b = SL_BUF_INIT;
        sl_batch_hdr_t h;

        read_fixture(fx[f].file, &b);
        SL_CHECK_OK(sl_batch_validate(b.data, b.len, &h));
        SL_CHECK_EQ(sl_batch_codec(&h), fx[f].codec);
        SL_CHECK_EQ(h.base_timestamp, FIX_BASE_TS);
        SL_CHECK_EQ(h.max_timestamp, FIX_BASE_TS + 490);
        check_batch(b.data, b.len, recs, 50, 0);
        /* The framings really are the ones the file names say. */
        if (strcmp(fx[f].file, "batch_snappy.bin") == 0)
            SL_CHECK_MEM(b.data + SL_BATCH_HEADER_SIZE, "\x82SNAPPY", 7);
        if (strcmp(fx[f].file, "batch_snappy_raw.bin") == 0)
            SL_CHECK(b.data[SL_BATCH_HEADER_SIZE] != 0x82);
        sl_buf_deinit(&b);
    }
    sl_arena_deinit(&a);
}

SL_TEST(record_builder_matches_kafka_python_bytes)
{
    sl_arena_t a;
    trec_t recs[50];
    sl_batch_opts_t o;
    sl_buf_t want = SL_BUF_INIT, got = SL_BUF_INIT;

    sl_arena_init(&a, 4096);
    for (int i = 0; i < 50; i++)
        fixture_record(i, &recs[i], &a);
    sl_batch_opts_init(&o);
    o.leader_epoch = 0; /* kafka-python writes 0 where Java writes -1 */
    build(recs, 50, &o, &got);
    read_fixture("batch_none.bin", &want);
    SL_CHECK_EQ(got.len, want.len);
    SL_CHECK_MEM(got.data, want.data, want.len);

    /* Transactional, idempotent producer fields. */
    sl_buf_reset(&got);
    sl_buf_reset(&want);
    o.attributes = SL_ATTR_TRANSACTIONAL;
    o.producer_id = 4242;
    o.producer_epoch = 7;
    o.base_sequence = 100;
    build(recs, 3, &o, &got);
    read_fixture("batch_txn.bin", &want);
    SL_CHECK_EQ(got.len, want.len);
    SL_CHECK_MEM(got.data, want.data, want.len);
    check_batch(want.data, want.len, recs, 3, 0);
    sl_buf_deinit(&want);
    sl_buf_deinit(&got);
    sl_arena_deinit(&a);
}

SL_TEST(record_lz4_legacy_fixture)
{
    sl_buf_t in = SL_BUF_INIT, out = SL_BUF_INIT;

    read_fixture("lz4_legacy.bin", &in);
    SL_CHECK_EQ(sl_decompress(SL_CODEC_LZ4, in.data, in.len, &out, MiB), SL_EPROTO);
    SL_CHECK_OK(sl_decompress_lz4_legacy(in.data, in.len, &out, MiB));
    SL_CHECK_EQ(out.len, 18 * 100);
    for (int i = 0; i < 100; i++)
        SL_CHECK_MEM(out.data + i * 18, "sluice legacy lz4 ", 18);
    sl_buf_deinit(&in);
    sl_buf_deinit(&out);
}

/* ------------------------------------------------------------------ */
/* Batches from a real client (librdkafka 2.0.2; gen_rdkafka.py)        */
/* ------------------------------------------------------------------ */

SL_TEST(record_reads_librdkafka_batches)
{
    static const char *const files[] = {"rdkafka_none.bin", "rdkafka_gzip.bin",
                                        "rdkafka_snappy.bin", "rdkafka_lz4.bin",
                                        "rdkafka_zstd.bin"};
    sl_arena_t a;
    trec_t recs[50];

    sl_arena_init(&a, 4096);
    for (int i = 0; i < 50; i++)
        fixture_record(i, &recs[i], &a);
    for (size_t f = 0; f < SL_ARRAY_LEN(files); f++) {
        sl_buf_t b = SL_BUF_INIT, ours = SL_BUF_INIT;
        sl_batch_hdr_t h;
        sl_batch_opts_t o;

        read_fixture(files[f], &b);
        SL_CHECK_OK(sl_batch_validate(b.data, b.len, &h));
        SL_CHECK_EQ(sl_batch_codec(&h), all_codecs[f]);
        check_batch(b.data, b.len, recs, 50, h.base_offset);
        /* librdkafka writes raw snappy (no xerial header) and LZ4F. */
        if (all_codecs[f] == SL_CODEC_SNAPPY)
            SL_CHECK(b.data[SL_BATCH_HEADER_SIZE] != 0x82);
        if (all_codecs[f] == SL_CODEC_LZ4)
            SL_CHECK_MEM(b.data + SL_BATCH_HEADER_SIZE, "\x04\x22\x4d\x18", 4);
        /* Uncompressed, our builder writes the very same bytes. */
        if (all_codecs[f] == SL_CODEC_NONE) {
            sl_batch_opts_init(&o);
            o.base_offset = h.base_offset;
            o.leader_epoch = h.leader_epoch;
            build(recs, 50, &o, &ours);
            SL_CHECK_EQ(ours.len, b.len);
            SL_CHECK_MEM(ours.data, b.data, b.len);
        }
        sl_buf_deinit(&b);
        sl_buf_deinit(&ours);
    }
    sl_arena_deinit(&a);
}
