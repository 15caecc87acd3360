/*
 * test_validate.c -- proto/validate.h: every kind of malformed batch with a
 * valid CRC gets the status (hence Kafka code) Kafka answers with; keys,
 * timestamps and the bookkeeping the broker uses (record errors, the real
 * maxTimestamp) for well-formed ones.
 */
#include "proto/compress.h"
#include "proto/record.h"
#include "proto/validate.h"
#include "proto/wire.h"
#include "test.h"

#define MiB   ((size_t)1 << 20)
#define NOW   1700000000000LL
#define HOUR  3600000LL
#define YEARS ((int64_t)50 * 365 * 24 * HOUR)

/* ---- raw writers: records exactly as a hostile producer sends them ---- */

static void
put_uv(sl_buf_t *b, uint64_t v)
{
    while (v >= 0x80) {
        uint8_t c = (uint8_t)(v | 0x80);

        sl_buf_append(b, &c, 1);
        v >>= 7;
    }
    uint8_t c = (uint8_t)v;
    sl_buf_append(b, &c, 1);
}

static void
put_vi(sl_buf_t *b, int64_t v)
{
    put_uv(b, sl_zigzag64(v));
}

/* One record's body (no length prefix). key/value NULL = null. */
static void
body(sl_buf_t *b, int64_t ts_delta, int32_t delta, const char *key, const char *value)
{
    uint8_t attr = 0;

    sl_buf_append(b, &attr, 1);
    put_vi(b, ts_delta);
    put_vi(b, delta);
    put_vi(b, key ? (int64_t)strlen(key) : -1);
    if (key)
        sl_buf_append(b, key, strlen(key));
    put_vi(b, value ? (int64_t)strlen(value) : -1);
    if (value)
        sl_buf_append(b, value, strlen(value));
    put_vi(b, 0); /* headers */
}

/* A record with its length prefix: body length + len_adjust. */
static void
rec_adj(sl_buf_t *sec, int64_t ts_delta, int32_t delta, const char *key, const char *value,
        int len_adjust)
{
    sl_buf_t b = SL_BUF_INIT;

    body(&b, ts_delta, delta, key, value);
    put_vi(sec, (int64_t)b.len + len_adjust);
    sl_buf_append(sec, b.data, b.len);
    sl_buf_deinit(&b);
}

static void
rec(sl_buf_t *sec, int64_t ts_delta, int32_t delta, const char *key, const char *value)
{
    rec_adj(sec, ts_delta, delta, key, value, 0);
}

/* Prefixes the records body already in b with its length. */
static void
rec_raw(sl_buf_t *sec, const sl_buf_t *b)
{
    put_vi(sec, (int64_t)b->len);
    sl_buf_append(sec, b->data, b->len);
}

typedef struct hdr_spec {
    int16_t attributes; /* codec bits included */
    int32_t last_delta;
    int32_t count;
    int64_t base_ts, max_ts;
    int64_t base_offset;
    int64_t producer_id;
    int32_t base_sequence;
} hdr_spec_t;

static hdr_spec_t
spec(int32_t count)
{
    return (hdr_spec_t){0, count - 1, count, NOW, NOW, 0, -1, -1};
}

/* Wraps a records section (compressed with the codec bits of s) in a batch
 * with a correct batchLength and CRC. */
static void
wrap(sl_buf_t *out, const sl_buf_t *sec, hdr_spec_t s)
{
    sl_codec_t codec = (sl_codec_t)(s.attributes & SL_ATTR_CODEC_MASK);
    uint8_t *p;

    sl_buf_reset(out);
    (void)sl_buf_extend(out, SL_BATCH_HEADER_SIZE);
    if (codec == SL_CODEC_NONE || codec > SL_CODEC_ZSTD)
        sl_buf_append(out, sec->data, sec->len);
    else
        SL_CHECK_OK(sl_compress(codec, SL_COMPRESS_LEVEL_DEFAULT, sec->data, sec->len, out));
    p = out->data;
    memset(p, 0, SL_BATCH_HEADER_SIZE);
    sl_put_be64(p + SL_BATCH_OFF_BASE_OFFSET, (uint64_t)s.base_offset);
    sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(out->len - SL_BATCH_LOG_OVERHEAD));
    sl_put_be32(p + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
    p[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be16(p + SL_BATCH_OFF_ATTRIBUTES, (uint16_t)s.attributes);
    sl_put_be32(p + SL_BATCH_OFF_LAST_DELTA, (uint32_t)s.last_delta);
    sl_put_be64(p + SL_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)s.base_ts);
    sl_put_be64(p + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)s.max_ts);
    sl_put_be64(p + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)s.producer_id);
    sl_put_be16(p + SL_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    sl_put_be32(p + SL_BATCH_OFF_BASE_SEQUENCE, (uint32_t)s.base_sequence);
    sl_put_be32(p + SL_BATCH_OFF_RECORD_COUNT, (uint32_t)s.count);
    sl_batch_update_crc(p, out->len);
}

static sl_validate_opts_t
opts(void)
{
    sl_validate_opts_t o;

    sl_validate_opts_init(&o);
    o.now_ms = NOW;
    o.max_decompressed = MiB;
    return o;
}

/* Validates batch with o; returns the status, res filled. */
static int
check(const sl_buf_t *batch, const sl_validate_opts_t *o, sl_validate_result_t *res)
{
    sl_buf_t scratch = SL_BUF_INIT;
    int rc = sl_validate_produce(batch->data, batch->len, o, &scratch, res);

    /* Whatever the answer, the scratch buffer stayed within the budget. */
    SL_CHECK(scratch.cap <= o->max_decompressed + 1 || scratch.cap <= 4096);
    sl_buf_deinit(&scratch);
    SL_CHECK((rc == SL_OK) == (res->reason == NULL));
    return rc;
}

static int
check_sec(const sl_buf_t *sec, hdr_spec_t s, sl_validate_result_t *res)
{
    sl_buf_t batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    int rc;

    wrap(&batch, sec, s);
    rc = check(&batch, &o, res);
    sl_buf_deinit(&batch);
    return rc;
}

/* ------------------------------------------------------------------ */

SL_TEST(validate_accepts_well_formed_batches_of_every_codec)
{
    static const sl_codec_t codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                                        SL_CODEC_ZSTD};
    sl_validate_result_t res;

    for (size_t c = 0; c < SL_ARRAY_LEN(codecs); c++) {
        sl_buf_t sec = SL_BUF_INIT;
        hdr_spec_t s = spec(3);

        rec(&sec, 0, 0, "k0", "v0");
        rec(&sec, 5, 1, NULL, "v1");
        rec(&sec, 2, 2, "k2", NULL);
        s.attributes = (int16_t)codecs[c];
        s.max_ts = NOW + 5;
        SL_CHECK_OK(check_sec(&sec, s, &res));
        SL_CHECK_EQ(res.record_count, 3);
        SL_CHECK_EQ(res.max_timestamp, NOW + 5);
        SL_CHECK(!res.max_ts_differs);
        SL_CHECK_EQ(res.n_record_errors, 0);
        sl_buf_deinit(&sec);
    }
}

SL_TEST(validate_builder_batches_with_headers_pass)
{
    sl_batch_opts_t bo;
    sl_batch_builder_t b;
    sl_buf_t out = SL_BUF_INIT;
    sl_header_t h[2] = {{sl_str_c("a"), {(const uint8_t *)"1", 1}}, {sl_str_c("b"), SL_BYTES_NULL}};
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;

    sl_batch_opts_init(&bo);
    bo.codec = SL_CODEC_LZ4;
    sl_batch_builder_init(&b, &bo);
    for (int i = 0; i < 100; i++)
        SL_CHECK_OK(sl_batch_builder_append(&b, NOW - i, (sl_bytes_t){(const uint8_t *)"k", 1},
                                            (sl_bytes_t){(const uint8_t *)"value", 5}, h, 2));
    SL_CHECK_OK(sl_batch_builder_finish(&b, &out));
    SL_CHECK_OK(check(&out, &o, &res));
    SL_CHECK_EQ(res.record_count, 100);
    SL_CHECK_EQ(res.max_timestamp, NOW);
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&out);
}

/* Every structural lie inside a batch whose CRC is right: INVALID_RECORD. */
SL_TEST(validate_malformed_records_are_invalid_record)
{
    static const sl_codec_t codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_ZSTD};
    sl_validate_result_t res;

    for (size_t c = 0; c < SL_ARRAY_LEN(codecs); c++) {
        sl_buf_t sec = SL_BUF_INIT, b = SL_BUF_INIT;
        hdr_spec_t s2 = spec(2);

        s2.attributes = (int16_t)codecs[c];
#define EXPECT_INVALID(sp)                                                                         \
    do {                                                                                           \
        SL_CHECK_EQ(check_sec(&sec, (sp), &res), SL_EINVAL);                                       \
        SL_CHECK(res.reason != NULL);                                                              \
        SL_CHECK_EQ(res.n_record_errors, 0);                                                       \
        sl_buf_reset(&sec);                                                                        \
        sl_buf_reset(&b);                                                                          \
    } while (0)

        /* Record length past the end of the batch. */
        rec(&sec, 0, 0, NULL, "a");
        rec_adj(&sec, 0, 1, NULL, "b", 5);
        EXPECT_INVALID(s2);
        /* Record length shorter than its fields. */
        rec(&sec, 0, 0, NULL, "a");
        rec_adj(&sec, 0, 1, NULL, "bbbb", -2);
        EXPECT_INVALID(s2);
        /* Record length longer than its fields use (the next record's bytes
         * swallowed, or a pad byte). */
        rec_adj(&sec, 0, 0, NULL, "a", 1);
        sl_buf_append(&sec, "\0", 1);
        rec(&sec, 0, 1, NULL, "b");
        EXPECT_INVALID(s2);
        /* A varint of 6 bytes (offsetDelta). */
        rec(&sec, 0, 0, NULL, "a");
        {
            static const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
            uint8_t z = 0;

            sl_buf_append(&b, &z, 1); /* attributes */
            put_vi(&b, 0);            /* ts delta */
            sl_buf_append(&b, six, sizeof(six));
            put_vi(&b, -1);
            put_vi(&b, -1);
            put_vi(&b, 0);
            rec_raw(&sec, &b);
        }
        EXPECT_INVALID(s2);
        /* A record length varint cut by the end of the batch. */
        rec(&sec, 0, 0, NULL, "a");
        sl_buf_append(&sec, "\x80", 1);
        EXPECT_INVALID(s2);
        /* Key length -2 (only -1 means null). */
        rec(&sec, 0, 0, NULL, "a");
        {
            uint8_t z = 0;

            sl_buf_append(&b, &z, 1);
            put_vi(&b, 0);
            put_vi(&b, 1);
            put_vi(&b, -2);
            put_vi(&b, -1);
            put_vi(&b, 0);
            rec_raw(&sec, &b);
        }
        EXPECT_INVALID(s2);
        /* Value length -7. */
        rec(&sec, 0, 0, NULL, "a");
        {
            uint8_t z = 0;

            sl_buf_append(&b, &z, 1);
            put_vi(&b, 0);
            put_vi(&b, 1);
            put_vi(&b, -1);
            put_vi(&b, -7);
            put_vi(&b, 0);
            rec_raw(&sec, &b);
        }
        EXPECT_INVALID(s2);
        /* Absurd and negative header counts. */
        for (int k = 0; k < 2; k++) {
            uint8_t z = 0;

            rec(&sec, 0, 0, NULL, "a");
            sl_buf_append(&b, &z, 1);
            put_vi(&b, 0);
            put_vi(&b, 1);
            put_vi(&b, -1);
            put_vi(&b, -1);
            put_vi(&b, k ? -3 : 1000000);
            sl_buf_append(&b, "\0\0", 2);
            rec_raw(&sec, &b);
            EXPECT_INVALID(s2);
        }
        /* A null header key. */
        {
            uint8_t z = 0;

            rec(&sec, 0, 0, NULL, "a");
            sl_buf_append(&b, &z, 1);
            put_vi(&b, 0);
            put_vi(&b, 1);
            put_vi(&b, -1);
            put_vi(&b, -1);
            put_vi(&b, 1);
            put_vi(&b, -1); /* key */
            put_vi(&b, -1); /* value */
            rec_raw(&sec, &b);
            EXPECT_INVALID(s2);
        }
        /* Offset deltas out of order, repeated, with a gap. */
        rec(&sec, 0, 1, NULL, "a");
        rec(&sec, 0, 0, NULL, "b");
        EXPECT_INVALID(s2);
        rec(&sec, 0, 0, NULL, "a");
        rec(&sec, 0, 0, NULL, "b");
        EXPECT_INVALID(s2);
        rec(&sec, 0, 0, NULL, "a");
        rec(&sec, 0, 2, NULL, "b");
        EXPECT_INVALID(s2);
        /* Fewer records than recordCount, and trailing bytes after them. */
        rec(&sec, 0, 0, NULL, "a");
        EXPECT_INVALID(s2);
        rec(&sec, 0, 0, NULL, "a");
        rec(&sec, 0, 1, NULL, "b");
        sl_buf_append(&sec, "\0", 1);
        EXPECT_INVALID(s2);
        /* More records than recordCount. */
        rec(&sec, 0, 0, NULL, "a");
        rec(&sec, 0, 1, NULL, "b");
        rec(&sec, 0, 2, NULL, "c");
        EXPECT_INVALID(s2);
        /* lastOffsetDelta disagreeing with recordCount, either way. */
        rec(&sec, 0, 0, NULL, "a");
        rec(&sec, 0, 1, NULL, "b");
        {
            hdr_spec_t s = s2;

            s.last_delta = 2;
            SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
            s.last_delta = 0;
            SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
            s.last_delta = -1;
            SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
        }
        sl_buf_reset(&sec);
        /* recordCount 0 and negative. */
        {
            hdr_spec_t s = s2;

            s.count = 0;
            s.last_delta = -1;
            EXPECT_INVALID(s);
            s.count = -1;
            EXPECT_INVALID(s);
        }
#undef EXPECT_INVALID
        sl_buf_deinit(&sec);
        sl_buf_deinit(&b);
    }
}

SL_TEST(validate_batch_fields_kafka_refuses)
{
    sl_buf_t sec = SL_BUF_INIT;
    sl_validate_result_t res;
    hdr_spec_t s = spec(1);

    rec(&sec, 0, 0, "k", "v");
    s.base_offset = 7;
    SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
    s = spec(1);
    s.attributes = SL_ATTR_CONTROL;
    SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
    s = spec(1);
    s.producer_id = 42; /* idempotent, but no sequence */
    SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EINVAL);
    s.base_sequence = 0;
    SL_CHECK_OK(check_sec(&sec, s, &res));
    s = spec(1);
    s.attributes = SL_ATTR_LOG_APPEND_TIME;
    SL_CHECK_EQ(check_sec(&sec, s, &res), SL_ERANGE);
    s = spec(1);
    s.attributes = 6; /* no such codec */
    SL_CHECK_EQ(check_sec(&sec, s, &res), SL_EPROTO);
    sl_buf_deinit(&sec);
}

SL_TEST(validate_envelope_and_crc_are_corrupt_message)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT, two = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;

    rec(&sec, 0, 0, "k", "v");
    wrap(&batch, &sec, spec(1));
    SL_CHECK_OK(check(&batch, &o, &res));
    /* CRC: CORRUPT_MESSAGE even when the records are also bad. */
    batch.data[batch.len - 1] ^= 0x40;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ECORRUPT);
    batch.data[batch.len - 1] ^= 0x40;
    /* batchLength too large, too small; magic 3; too short for a header. */
    sl_put_be32(batch.data + SL_BATCH_OFF_LENGTH,
                (uint32_t)(batch.len - SL_BATCH_LOG_OVERHEAD + 1));
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EPROTO);
    sl_put_be32(batch.data + SL_BATCH_OFF_LENGTH, 10);
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EPROTO);
    sl_put_be32(batch.data + SL_BATCH_OFF_LENGTH, (uint32_t)(batch.len - SL_BATCH_LOG_OVERHEAD));
    batch.data[SL_BATCH_OFF_MAGIC] = 3;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EPROTO);
    batch.data[SL_BATCH_OFF_MAGIC] = 2;
    {
        sl_buf_t cut = SL_BUF_INIT;

        sl_buf_append(&cut, batch.data, 40);
        SL_CHECK_EQ(check(&cut, &o, &res), SL_EPROTO);
        sl_buf_deinit(&cut);
    }
    /* Two whole batches: INVALID_RECORD; one and a cut one: CORRUPT. */
    sl_buf_append(&two, batch.data, batch.len);
    sl_buf_append(&two, batch.data, batch.len);
    SL_CHECK_EQ(check(&two, &o, &res), SL_EINVAL);
    two.len -= 3;
    SL_CHECK_EQ(check(&two, &o, &res), SL_EPROTO);
    two.len = batch.len + 1;
    SL_CHECK_EQ(check(&two, &o, &res), SL_EPROTO);
    /* max.message.bytes comes before anything inside. */
    o.max_batch_bytes = (int64_t)batch.len - 1;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ETOOBIG);
    o.max_batch_bytes = (int64_t)batch.len;
    SL_CHECK_OK(check(&batch, &o, &res));
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
    sl_buf_deinit(&two);
}

SL_TEST(validate_compressed_stream_problems)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;
    hdr_spec_t s = spec(1);

    /* A gzip stream that is not one: CORRUPT_MESSAGE. */
    sl_buf_append(&sec, "this is not gzip at all", 23);
    s.attributes = SL_CODEC_GZIP;
    s.count = 1;
    s.last_delta = 0;
    wrap(&batch, &sec, (hdr_spec_t){SL_CODEC_NONE, 0, 1, NOW, NOW, 0, -1, -1});
    sl_put_be16(batch.data + SL_BATCH_OFF_ATTRIBUTES, SL_CODEC_GZIP);
    sl_batch_update_crc(batch.data, batch.len);
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EPROTO);
    /* Over the decompression budget: MESSAGE_TOO_LARGE, bounded memory. */
    sl_buf_reset(&sec);
    {
        sl_buf_t b = SL_BUF_INIT;
        char *big = calloc(1, 2 * MiB);

        memset(big, 'x', 2 * MiB - 1);
        body(&b, 0, 0, NULL, big);
        rec_raw(&sec, &b);
        free(big);
        sl_buf_deinit(&b);
    }
    wrap(&batch, &sec, s);
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ETOOBIG);
    o.max_decompressed = 4 * MiB;
    SL_CHECK_OK(check(&batch, &o, &res));
    /* An empty compressed section where records are declared. */
    sl_buf_reset(&sec);
    wrap(&batch, &sec, (hdr_spec_t){SL_CODEC_NONE, 0, 1, NOW, NOW, 0, -1, -1});
    sl_put_be16(batch.data + SL_BATCH_OFF_ATTRIBUTES, SL_CODEC_LZ4);
    sl_batch_update_crc(batch.data, batch.len);
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EINVAL);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(validate_record_timestamps_against_before_and_after)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;
    hdr_spec_t s = spec(3);

    /* An honest header, one record 50 years ahead. */
    rec(&sec, 0, 0, NULL, "a");
    rec(&sec, YEARS, 1, NULL, "b");
    rec(&sec, 1, 2, NULL, "c");
    s.max_ts = NOW + YEARS;
    wrap(&batch, &sec, s);
    SL_CHECK_OK(check(&batch, &o, &res)); /* Kafka 3.9 defaults: no limits */
    o.ts_after_max_ms = HOUR;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ERANGE);
    SL_CHECK_EQ(res.n_record_errors, 1);
    SL_CHECK_EQ(res.record_errors[0].index, 1);
    SL_CHECK_EQ(res.record_count, 3); /* every record looked at */
    /* The same batch with a header that hides it (maxTimestamp = now). */
    s.max_ts = NOW;
    wrap(&batch, &sec, s);
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ERANGE);
    /* LogAppendTime topics overwrite timestamps: nothing to check. */
    o.create_time = false;
    SL_CHECK_OK(check(&batch, &o, &res));
    SL_CHECK(!res.max_ts_differs);
    o.create_time = true;
    /* Exactly at the bound passes; one past fails; before likewise. */
    sl_buf_reset(&sec);
    rec(&sec, HOUR, 0, NULL, "a");
    rec(&sec, -HOUR, 1, NULL, "b");
    wrap(&batch, &sec, (hdr_spec_t){0, 1, 2, NOW, NOW + HOUR, 0, -1, -1});
    o.ts_before_max_ms = HOUR;
    SL_CHECK_OK(check(&batch, &o, &res));
    o.now_ms = NOW + 1; /* the second record is now HOUR + 1 old */
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ERANGE);
    SL_CHECK_EQ(res.record_errors[0].index, 1);
    o.now_ms = NOW - 1; /* the first is now HOUR + 1 ahead */
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ERANGE);
    SL_CHECK_EQ(res.record_errors[0].index, 0);
    /* NO_TIMESTAMP (-1) records are never out of range. */
    sl_buf_reset(&sec);
    rec(&sec, 0, 0, NULL, "a");
    wrap(&batch, &sec, (hdr_spec_t){0, 0, 1, -1, -1, 0, -1, -1});
    o.ts_before_max_ms = 0;
    o.ts_after_max_ms = 0;
    SL_CHECK_OK(check(&batch, &o, &res));
    SL_CHECK_EQ(res.max_timestamp, -1);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(validate_ts_out_of_range_extremes)
{
    SL_CHECK(!sl_validate_ts_out_of_range(NOW, INT64_MAX, INT64_MAX, INT64_MAX));
    SL_CHECK(!sl_validate_ts_out_of_range(NOW, INT64_MIN, INT64_MAX, INT64_MAX));
    /* Differences past INT64_MAX do not wrap into "in range". */
    SL_CHECK(sl_validate_ts_out_of_range(-NOW, INT64_MAX, 0, INT64_MAX - 1));
    SL_CHECK(sl_validate_ts_out_of_range(NOW, INT64_MIN, INT64_MAX - 1, 0));
    SL_CHECK(!sl_validate_ts_out_of_range(NOW, INT64_MAX, 0, INT64_MAX - NOW));
    SL_CHECK(sl_validate_ts_out_of_range(NOW, INT64_MAX, 0, INT64_MAX - NOW - 1));
    SL_CHECK(!sl_validate_ts_out_of_range(NOW, NOW, 0, 0));
    SL_CHECK(sl_validate_ts_out_of_range(NOW, NOW + 1, 0, 0));
    SL_CHECK(sl_validate_ts_out_of_range(NOW, NOW - 1, 0, 0));
}

SL_TEST(validate_max_timestamp_is_the_records_largest)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;

    rec(&sec, 0, 0, NULL, "a");
    rec(&sec, 30, 1, NULL, "b");
    rec(&sec, 10, 2, NULL, "c");
    /* A header claiming far in the future (retention would never delete
     * the segment) or in the past: the records' real maximum wins. */
    wrap(&batch, &sec, (hdr_spec_t){0, 2, 3, NOW, NOW + YEARS, 0, -1, -1});
    SL_CHECK_OK(check(&batch, &o, &res));
    SL_CHECK(res.max_ts_differs);
    SL_CHECK_EQ(res.max_timestamp, NOW + 30);
    sl_batch_set_max_timestamp(batch.data, batch.len, res.max_timestamp);
    SL_CHECK_OK(check(&batch, &o, &res));
    SL_CHECK(!res.max_ts_differs);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(validate_compacted_topic_needs_keys)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;

    rec(&sec, 0, 0, "k", "a");
    rec(&sec, 0, 1, NULL, "b");
    rec(&sec, YEARS, 2, NULL, "c"); /* no key and a bad timestamp */
    rec(&sec, YEARS, 3, "k", "d");  /* a key and a bad timestamp */
    wrap(&batch, &sec, (hdr_spec_t){0, 3, 4, NOW, NOW + YEARS, 0, -1, -1});
    SL_CHECK_OK(check(&batch, &o, &res));
    o.require_key = true;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EINVAL);
    SL_CHECK_EQ(res.n_record_errors, 2);
    SL_CHECK_EQ(res.record_errors[0].index, 1);
    SL_CHECK_EQ(res.record_errors[1].index, 2);
    /* Kafka: a key error hides the record's timestamp error, and any
     * timestamp error makes the batch's answer INVALID_TIMESTAMP. */
    o.ts_after_max_ms = HOUR;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_ERANGE);
    SL_CHECK_EQ(res.n_record_errors, 3);
    SL_CHECK_EQ(res.record_errors[2].index, 3);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}

SL_TEST(validate_record_errors_are_capped)
{
    sl_buf_t sec = SL_BUF_INIT, batch = SL_BUF_INIT;
    sl_validate_opts_t o = opts();
    sl_validate_result_t res;

    for (int i = 0; i < 1000; i++)
        rec(&sec, 0, i, NULL, "v");
    wrap(&batch, &sec, spec(1000));
    o.require_key = true;
    SL_CHECK_EQ(check(&batch, &o, &res), SL_EINVAL);
    SL_CHECK_EQ(res.n_record_errors, 1000);
    SL_CHECK_EQ(res.n_record_errors_kept, SL_VALIDATE_MAX_RECORD_ERRORS);
    SL_CHECK_EQ(res.record_errors[SL_VALIDATE_MAX_RECORD_ERRORS - 1].index,
                SL_VALIDATE_MAX_RECORD_ERRORS - 1);
    sl_buf_deinit(&sec);
    sl_buf_deinit(&batch);
}
