/*
 * test_golden.c -- request frames captured from real clients on loopback
 * (golden/capture.py: kcat/librdkafka 2.0.2 and kafka-python 2.0.2) must
 * decode to the expected values and re-encode byte for byte, size prefix,
 * header and body.
 */
#include "test.h"

#include "golden.h"

#include "proto/gen/kmsgs.h"

SL_TEST(golden_kcat_api_versions_v3)
{
    sl_golden_t g;
    const sl_ApiVersionsRequest_t *m;

    sl_golden_load(&g, "kcat-ApiVersions-v3.hex");
    m = g.body;
    SL_CHECK_EQ(g.h.api_key, SL_API_ApiVersions);
    SL_CHECK_EQ(g.h.api_version, 3);
    SL_CHECK_EQ(g.h.header_version, 2);
    SL_CHECK(sl_str_eq_c(g.h.client_id, "rdkafka"));
    SL_CHECK_EQ(g.h._unknown_tags.len, 0);
    SL_CHECK(sl_str_eq_c(m->ClientSoftwareName, "librdkafka"));
    SL_CHECK(sl_str_eq_c(m->ClientSoftwareVersion, "2.0.2"));
    SL_CHECK_EQ(m->_unknown_tags.len, 0);
    sl_golden_free(&g);
}

SL_TEST(golden_kafka_python_api_versions_v0)
{
    sl_golden_t g;

    sl_golden_load(&g, "kafka-python-ApiVersions-v0.hex");
    SL_CHECK_EQ(g.h.api_key, SL_API_ApiVersions);
    SL_CHECK_EQ(g.h.api_version, 0);
    SL_CHECK_EQ(g.h.header_version, 1);
    SL_CHECK_EQ(g.h.correlation_id, 1);
    SL_CHECK(sl_str_eq_c(g.h.client_id, "kafka-python-2.0.2"));
    sl_golden_free(&g);
}

SL_TEST(golden_kafka_python_metadata_v0)
{
    sl_golden_t g;
    const sl_MetadataRequest_t *m;

    sl_golden_load(&g, "kafka-python-Metadata-v0.hex");
    m = g.body;
    SL_CHECK_EQ(g.h.api_key, SL_API_Metadata);
    SL_CHECK_EQ(g.h.api_version, 0);
    SL_CHECK_EQ(g.h.correlation_id, 2); /* pipelined right after ApiVersions */
    SL_CHECK(sl_str_eq_c(g.h.client_id, "kafka-python-2.0.2"));
    SL_CHECK_EQ(m->Topics.len, 0); /* v0: empty list means all topics */
    sl_golden_free(&g);
}

/* ---- bodies encoded by kafka-python's protocol classes (encode_kp.py) ---- */

typedef struct kp_body {
    sl_buf_t raw;
    const sl_kmsg_t *md;
    void *m;
    sl_arena_t a;
} kp_body_t;

static void
kp_load(kp_body_t *k, const char *msg, int16_t v)
{
    char name[128];
    sl_reader_t rd;
    sl_buf_t out = SL_BUF_INIT;
    sl_writer_t wr = {&out};

    memset(k, 0, sizeof(*k));
    snprintf(name, sizeof(name), "kp-%s-v%d.hex", msg, v);
    sl_golden_read_hex(name, &k->raw);
    k->md = sl_kmsg_find(msg);
    SL_CHECK(k->md != NULL);
    sl_arena_init(&k->a, 4096);
    k->m = sl_arena_alloc(&k->a, k->md->root->size);
    sl_rd_init(&rd, k->raw.data, k->raw.len);
    SL_CHECK_OK(sl_kdecode(k->md, k->m, v, &rd, &k->a));
    SL_CHECK_EQ(sl_rd_left(&rd), 0);
    sl_kencode(k->md, k->m, v, &wr);
    SL_CHECK_EQ(out.len, k->raw.len);
    SL_CHECK_MEM(out.data, k->raw.data, out.len);
    sl_buf_deinit(&out);
}

static void
kp_free(kp_body_t *k)
{
    sl_arena_deinit(&k->a);
    sl_buf_deinit(&k->raw);
}

SL_TEST(golden_kafka_python_encoded_bodies_round_trip)
{
    static const struct {
        const char *msg;
        int16_t v;
    } all[] = {{"MetadataResponse", 5},
               {"FetchResponse", 4},
               {"ProduceRequest", 3},
               {"JoinGroupResponse", 2},
               {"OffsetCommitRequest", 2},
               {"OffsetFetchResponse", 3},
               {"ApiVersionsResponse", 1},
               {"ConsumerProtocolSubscription", 0},
               {"ConsumerProtocolAssignment", 0}};

    for (size_t i = 0; i < SL_ARRAY_LEN(all); i++) {
        kp_body_t k;

        kp_load(&k, all[i].msg, all[i].v);
        kp_free(&k);
    }
}

SL_TEST(golden_kafka_python_values)
{
    kp_body_t k;
    const sl_MetadataResponse_t *md;
    const sl_FetchResponse_t *fr;
    const sl_ConsumerProtocolSubscription_t *sub;
    const sl_ConsumerProtocolAssignment_t *asg;

    kp_load(&k, "MetadataResponse", 5);
    md = k.m;
    SL_CHECK_EQ(md->Brokers.len, 2);
    SL_CHECK(sl_str_is_null(md->Brokers.items[0].Rack));
    SL_CHECK(sl_str_eq_c(md->Brokers.items[1].Rack, "rack-a"));
    SL_CHECK(sl_str_eq_c(md->ClusterId, "cluster-1"));
    SL_CHECK_EQ(md->Topics.items[0].Partitions.items[1].OfflineReplicas.items[0], 3);
    SL_CHECK_EQ(md->Topics.items[1].ErrorCode, 3);
    kp_free(&k);

    kp_load(&k, "FetchResponse", 4);
    fr = k.m;
    SL_CHECK_EQ(fr->ThrottleTimeMs, 7);
    SL_CHECK_EQ(fr->Responses.items[0].Partitions.items[0].HighWatermark, 100);
    SL_CHECK_EQ(fr->Responses.items[0].Partitions.items[0].AbortedTransactions.items[0].ProducerId,
                5);
    SL_CHECK_EQ(fr->Responses.items[0].Partitions.items[1].AbortedTransactions.len, -1);
    SL_CHECK_EQ(fr->Responses.items[0].Partitions.items[0].Records.len, 70);
    kp_free(&k);

    kp_load(&k, "ConsumerProtocolSubscription", 0);
    sub = k.m;
    SL_CHECK_EQ(sub->Topics.len, 2);
    SL_CHECK(sl_str_eq_c(sub->Topics.items[1], "payments"));
    SL_CHECK_EQ(sub->UserData.len, 2);
    kp_free(&k);

    kp_load(&k, "ConsumerProtocolAssignment", 0);
    asg = k.m;
    SL_CHECK_EQ(asg->AssignedPartitions.len, 2);
    SL_CHECK_EQ(asg->AssignedPartitions.items[0].Partitions.items[1], 2);
    kp_free(&k);
}
