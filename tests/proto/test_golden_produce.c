/*
 * test_golden_produce.c -- Produce frames captured from real clients through
 * a recording proxy in front of sluice (golden/capture_produce.py): kcat
 * (librdkafka 2.0.2) and kafka-python 2.0.2 with every codec, confluent-kafka
 * (librdkafka via Python) with zstd, a null key and a null header value.
 *
 * Each frame must decode to the records the capture script sent (same keys,
 * values and headers, hardcoded below: change both together), carry the
 * codec in the batch attributes, and re-encode header + body byte for byte.
 * The records section is then rebuilt with our batch builder: uncompressed
 * it must equal what the client compressed (for codec none, the whole batch
 * byte for byte); compressed with our codec it must read back the same.
 * Timestamps come from the clients' clocks, so they are checked for
 * consistency (deltas, maxTimestamp), not for value.
 */
#include "test.h"

#include "golden.h"

#include "proto/gen/kmsgs.h"
#include "proto/record.h"

#define VALUE_REPEAT     4 /* each value is its phrase 4 times (compressible) */
#define MAX_DECOMPRESSED (1 << 20)

typedef struct want_rec {
    const char *key; /* NULL = null key */
    const char *phrase;
} want_rec_t;

typedef struct want_hdr {
    const char *key;
    const char *value; /* NULL = null value */
} want_hdr_t;

typedef struct produce_case {
    const char *file;
    const char *client_id;
    int32_t correlation_id;
    sl_codec_t codec;
    bool xerial; /* snappy in xerial (snappy-java) framing */
    const want_rec_t *recs;
    size_t nrecs;
    const want_hdr_t *hdrs;
    size_t nhdrs;
} produce_case_t;

static const want_rec_t recs[] = {
    {"k0", "golden value zero "},
    {"k1", "golden value one "},
    {"k2", "golden value two "},
};
static const want_hdr_t hdrs[] = {{"h1", "v1"}, {"h2", "v2"}};

static const want_rec_t confluent_recs[] = {
    {"k0", "golden value zero "},
    {"k1", "golden value one "},
    {"k2", "golden value two "},
    {NULL, "golden value null key "},
};
static const want_hdr_t confluent_hdrs[] = {{"h1", "v1"}, {"h2", "v2"}, {"h3", NULL}};

#define KCAT(codec_name, codec)                                                                    \
    {                                                                                              \
        "kcat-Produce-v7-" codec_name ".hex", "rdkafka", 3, codec, false, recs,                    \
            SL_ARRAY_LEN(recs), hdrs, SL_ARRAY_LEN(hdrs)                                           \
    }
#define KAFKA_PYTHON(codec_name, codec, xerial)                                                    \
    {                                                                                              \
        "kafka-python-Produce-v7-" codec_name ".hex", "kafka-python-producer-1", 1, codec, xerial, \
            recs, SL_ARRAY_LEN(recs), hdrs, SL_ARRAY_LEN(hdrs)                                     \
    }

static const produce_case_t cases[] = {
    KCAT("none", SL_CODEC_NONE),
    KCAT("gzip", SL_CODEC_GZIP),
    KCAT("snappy", SL_CODEC_SNAPPY),
    KCAT("lz4", SL_CODEC_LZ4),
    KCAT("zstd", SL_CODEC_ZSTD),
    KAFKA_PYTHON("none", SL_CODEC_NONE, false),
    KAFKA_PYTHON("gzip", SL_CODEC_GZIP, false),
    KAFKA_PYTHON("snappy", SL_CODEC_SNAPPY, true),
    KAFKA_PYTHON("lz4", SL_CODEC_LZ4, false),
    KAFKA_PYTHON("zstd", SL_CODEC_ZSTD, false),
    {"confluent-kafka-Produce-v7-zstd.hex", "rdkafka", 3, SL_CODEC_ZSTD, false, confluent_recs,
     SL_ARRAY_LEN(confluent_recs), confluent_hdrs, SL_ARRAY_LEN(confluent_hdrs)},
};

/* ---- expectations ---- */

static void
check_bytes(sl_bytes_t got, const char *want, int repeat)
{
    size_t n;

    if (want == NULL) {
        SL_CHECK_EQ(got.len, -1);
        return;
    }
    n = strlen(want);
    SL_CHECK_EQ(got.len, (long long)(n * (size_t)repeat));
    for (int i = 0; i < repeat; i++)
        SL_CHECK_MEM(got.ptr + n * (size_t)i, want, n);
}

static void
check_headers(const sl_record_t *r, const produce_case_t *pc)
{
    sl_header_iter_t hi;
    sl_header_t h;

    SL_CHECK_EQ(r->header_count, pc->nhdrs);
    sl_header_iter_init(&hi, r);
    for (size_t i = 0; i < pc->nhdrs; i++) {
        SL_CHECK_EQ(sl_header_iter_next(&hi, &h), 1);
        SL_CHECK(sl_str_eq_c(h.key, pc->hdrs[i].key));
        check_bytes(h.value, pc->hdrs[i].value, 1);
    }
    SL_CHECK_EQ(sl_header_iter_next(&hi, &h), 0);
}

/* The first bytes of the compressed stream: which framing the client used. */
static void
check_stream_magic(const produce_case_t *pc, const uint8_t *p, size_t len)
{
    static const uint8_t gzip[] = {0x1f, 0x8b};
    static const uint8_t lz4[] = {0x04, 0x22, 0x4d, 0x18};
    static const uint8_t zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t xerial[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

    SL_CHECK(len >= sizeof(xerial));
    switch (pc->codec) {
    case SL_CODEC_GZIP:
        SL_CHECK_MEM(p, gzip, sizeof(gzip));
        break;
    case SL_CODEC_SNAPPY:
        SL_CHECK_EQ(memcmp(p, xerial, sizeof(xerial)) == 0, pc->xerial);
        break;
    case SL_CODEC_LZ4:
        SL_CHECK_MEM(p, lz4, sizeof(lz4));
        break;
    case SL_CODEC_ZSTD:
        SL_CHECK_MEM(p, zstd, sizeof(zstd));
        break;
    case SL_CODEC_NONE:
        break;
    }
}

/* Header fields of a producer batch that is neither idempotent nor
 * transactional. Both librdkafka and kafka-python send partitionLeaderEpoch
 * 0 where the Java producer sends -1. */
static void
check_batch_header(const sl_batch_hdr_t *bh, const produce_case_t *pc)
{
    SL_CHECK_EQ(bh->base_offset, 0);
    SL_CHECK_EQ(bh->leader_epoch, 0);
    SL_CHECK_EQ(bh->magic, 2);
    SL_CHECK_EQ(sl_batch_codec(bh), pc->codec);
    SL_CHECK_EQ(bh->attributes & ~SL_ATTR_CODEC_MASK, 0); /* CreateTime, not txn/control */
    SL_CHECK_EQ(bh->record_count, pc->nrecs);
    SL_CHECK_EQ(bh->last_offset_delta, pc->nrecs - 1);
    SL_CHECK_EQ(bh->producer_id, -1);
    SL_CHECK_EQ(bh->producer_epoch, -1);
    SL_CHECK_EQ(bh->base_sequence, -1);
    SL_CHECK(bh->base_timestamp > 0);
    SL_CHECK(bh->max_timestamp >= bh->base_timestamp);
}

/* Iterates the batch and checks every record against pc; returns the max
 * record timestamp. */
static int64_t
check_records(const uint8_t *batch, size_t len, const produce_case_t *pc, sl_buf_t *scratch)
{
    sl_record_iter_t it;
    sl_record_t r;
    int64_t max_ts = INT64_MIN;

    SL_CHECK_OK(sl_record_iter_init(&it, batch, len, scratch, MAX_DECOMPRESSED));
    for (size_t i = 0; i < pc->nrecs; i++) {
        SL_CHECK_EQ(sl_record_iter_next(&it, &r), 1);
        SL_CHECK_EQ(r.attributes, 0);
        SL_CHECK_EQ(r.offset_delta, i);
        SL_CHECK_EQ(r.offset, i);
        SL_CHECK(r.timestamp_delta >= 0);
        SL_CHECK_EQ(r.timestamp, it.hdr.base_timestamp + r.timestamp_delta);
        if (r.timestamp > max_ts)
            max_ts = r.timestamp;
        check_bytes(r.key, pc->recs[i].key, 1);
        check_bytes(r.value, pc->recs[i].phrase, VALUE_REPEAT);
        check_headers(&r, pc);
    }
    SL_CHECK_EQ(sl_record_iter_next(&it, &r), 0);
    return max_ts;
}

/* Rebuilds the client's batch from its records with our builder, using
 * codec; appends the result to out. */
static void
rebuild(const uint8_t *batch, size_t len, sl_codec_t codec, sl_buf_t *out)
{
    sl_buf_t scratch = SL_BUF_INIT;
    sl_record_iter_t it;
    sl_record_t r;
    sl_batch_opts_t o;
    sl_batch_builder_t b;
    int rc;

    sl_batch_opts_init(&o);
    o.codec = codec;
    o.leader_epoch = 0; /* as the clients send it */
    sl_batch_builder_init(&b, &o);
    SL_CHECK_OK(sl_record_iter_init(&it, batch, len, &scratch, MAX_DECOMPRESSED));
    while ((rc = sl_record_iter_next(&it, &r)) == 1)
        SL_CHECK_OK(sl_batch_builder_append_record(&b, &r, r.offset_delta));
    SL_CHECK_EQ(rc, 0);
    SL_CHECK_OK(sl_batch_builder_finish(&b, out));
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&scratch);
}

/* ---- one frame ---- */

static void
check_case(const char *file)
{
    const produce_case_t *pc = NULL;
    sl_golden_t g;
    const sl_ProduceRequest_t *m;
    const sl_ProduceRequest_TopicProduceData_t *td;
    const sl_ProduceRequest_PartitionProduceData_t *pd;
    sl_batch_hdr_t bh;
    sl_buf_t scratch = SL_BUF_INIT, plain = SL_BUF_INIT, ours = SL_BUF_INIT;
    size_t len;

    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++)
        if (strcmp(cases[i].file, file) == 0)
            pc = &cases[i];
    SL_CHECK(pc != NULL);

    /* Frame: header and body decode, and re-encode byte for byte. */
    sl_golden_load(&g, pc->file);
    SL_CHECK_EQ(g.h.api_key, SL_API_Produce);
    SL_CHECK_EQ(g.h.api_version, 7);
    SL_CHECK_EQ(g.h.header_version, 1);
    SL_CHECK_EQ(g.h.correlation_id, pc->correlation_id);
    SL_CHECK(sl_str_eq_c(g.h.client_id, pc->client_id));
    m = g.body;
    SL_CHECK(sl_str_is_null(m->TransactionalId));
    SL_CHECK_EQ(m->Acks, -1);
    SL_CHECK_EQ(m->TimeoutMs, 30000); /* both clients' request timeout default */
    SL_CHECK_EQ(m->TopicData.len, 1);
    td = &m->TopicData.items[0];
    SL_CHECK(sl_str_eq_c(td->Name, "golden"));
    SL_CHECK_EQ(td->PartitionData.len, 1);
    pd = &td->PartitionData.items[0];
    SL_CHECK_EQ(pd->Index, 0);
    SL_CHECK(pd->Records.len > SL_BATCH_HEADER_SIZE);
    len = (size_t)pd->Records.len;

    /* Batch: envelope, framing of the compressed stream, records. */
    SL_CHECK_OK(sl_batch_validate(pd->Records.ptr, len, &bh));
    check_batch_header(&bh, pc);
    check_stream_magic(pc, pd->Records.ptr + SL_BATCH_HEADER_SIZE, len - SL_BATCH_HEADER_SIZE);
    SL_CHECK_EQ(check_records(pd->Records.ptr, len, pc, &scratch), bh.max_timestamp);
    if (pc->codec == SL_CODEC_NONE)
        SL_CHECK_EQ(scratch.len, 0); /* read in place */

    /* Our builder, uncompressed: the same records section the client
     * compressed, and for codec none the very same batch. */
    rebuild(pd->Records.ptr, len, SL_CODEC_NONE, &plain);
    if (pc->codec == SL_CODEC_NONE) {
        SL_CHECK_EQ(plain.len, len);
        SL_CHECK_MEM(plain.data, pd->Records.ptr, len);
    } else {
        SL_CHECK_EQ(plain.len - SL_BATCH_HEADER_SIZE, scratch.len);
        SL_CHECK_MEM(plain.data + SL_BATCH_HEADER_SIZE, scratch.data, scratch.len);
        /* Outside the CRC'd part only length, CRC and codec bits differ. */
        SL_CHECK_MEM(plain.data + SL_BATCH_OFF_LAST_DELTA,
                     pd->Records.ptr + SL_BATCH_OFF_LAST_DELTA,
                     SL_BATCH_HEADER_SIZE - SL_BATCH_OFF_LAST_DELTA);
    }

    /* Our builder with the client's codec reads back the same records. */
    rebuild(pd->Records.ptr, len, pc->codec, &ours);
    SL_CHECK_OK(sl_batch_validate(ours.data, ours.len, &bh));
    check_batch_header(&bh, pc);
    SL_CHECK_EQ(check_records(ours.data, ours.len, pc, &scratch), bh.max_timestamp);

    sl_buf_deinit(&ours);
    sl_buf_deinit(&plain);
    sl_buf_deinit(&scratch);
    sl_golden_free(&g);
}

SL_TEST(golden_produce_kcat_none)
{
    check_case("kcat-Produce-v7-none.hex");
}

SL_TEST(golden_produce_kcat_gzip)
{
    check_case("kcat-Produce-v7-gzip.hex");
}

SL_TEST(golden_produce_kcat_snappy)
{
    check_case("kcat-Produce-v7-snappy.hex");
}

SL_TEST(golden_produce_kcat_lz4)
{
    check_case("kcat-Produce-v7-lz4.hex");
}

SL_TEST(golden_produce_kcat_zstd)
{
    check_case("kcat-Produce-v7-zstd.hex");
}

SL_TEST(golden_produce_kafka_python_none)
{
    check_case("kafka-python-Produce-v7-none.hex");
}

SL_TEST(golden_produce_kafka_python_gzip)
{
    check_case("kafka-python-Produce-v7-gzip.hex");
}

SL_TEST(golden_produce_kafka_python_snappy_xerial)
{
    check_case("kafka-python-Produce-v7-snappy.hex");
}

SL_TEST(golden_produce_kafka_python_lz4)
{
    check_case("kafka-python-Produce-v7-lz4.hex");
}

SL_TEST(golden_produce_kafka_python_zstd)
{
    check_case("kafka-python-Produce-v7-zstd.hex");
}

SL_TEST(golden_produce_confluent_kafka_zstd_null_key_and_header)
{
    check_case("confluent-kafka-Produce-v7-zstd.hex");
}
