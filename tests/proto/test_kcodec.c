/*
 * test_kcodec.c -- hand-built frames for the codec's edge cases: hostile
 * counts and lengths, nulls where a version forbids them, tagged-field
 * ordering and preservation, defaults, nullable structs, version gating,
 * zero-copy views, and the API table.
 */
#include "test.h"

#include "proto/gen/kmsgs.h"

/* Decodes `len` bytes copied to an exact-size heap block (ASan sees
 * over-reads) with a fresh arena; returns the status. */
static int
decode_bytes(const sl_kmsg_t *md, int16_t v, const void *data, size_t len, void *m, sl_arena_t *a,
             size_t *left)
{
    uint8_t *copy = sl_xmalloc(len ? len : 1);
    sl_reader_t rd;
    int rc;

    memcpy(copy, data, len);
    sl_rd_init(&rd, copy, len);
    rc = sl_kdecode(md, m, v, &rd, a);
    if (left)
        *left = sl_rd_left(&rd);
    free(copy);
    return rc;
}

SL_TEST(kcodec_absurd_array_counts_fail_without_allocating)
{
    /* MetadataRequest v1: Topics count 0x7fffffff, then 4 bytes. */
    static const uint8_t classic[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0};
    /* MetadataRequest v9: compact count 0xfffffffe (uvarint ff ff ff ff 0f). */
    static const uint8_t compact[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 2, 'a', 0, 0, 0, 0};
    /* 3 topics claimed but only bytes for one. */
    static const uint8_t short3[] = {0, 0, 0, 3, 0, 1, 'a'};
    sl_MetadataRequest_t m;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_MetadataRequest, 1, classic, sizeof(classic), &m, &a, NULL),
                SL_EPROTO);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_MetadataRequest, 9, compact, sizeof(compact), &m, &a, NULL),
                SL_EPROTO);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_MetadataRequest, 1, short3, sizeof(short3), &m, &a, NULL),
                SL_EPROTO);
    SL_CHECK(a.total < 1024); /* nothing sized by the peer's count */
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_negative_lengths_fail)
{
    /* ProduceRequest v0: acks, timeout, 1 topic whose name length is -2. */
    static const uint8_t str[] = {0, 1, 0, 0, 0, 100, 0, 0, 0, 1, 0xff, 0xfe, 0, 0, 0, 0};
    /* ... and a topic array length of -2. */
    static const uint8_t arr[] = {0, 1, 0, 0, 0, 100, 0xff, 0xff, 0xff, 0xfe};
    /* JoinGroupRequest v0: "g", 1000, "", "consumer", 1 protocol "r" with bytes length -7. */
    static const uint8_t bytes[] = {0, 1,   'g', 0,   0,   3,   0xe8, 0,    0,    0,
                                    8, 'c', 'o', 'n', 's', 'u', 'm',  'e',  'r',  0,
                                    0, 0,   1,   0,   1,   'r', 0xff, 0xff, 0xff, 0xf9};
    sl_ProduceRequest_t p;
    sl_JoinGroupRequest_t j;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_ProduceRequest, 0, str, sizeof(str), &p, &a, NULL),
                SL_EPROTO);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_ProduceRequest, 0, arr, sizeof(arr), &p, &a, NULL),
                SL_EPROTO);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_JoinGroupRequest, 0, bytes, sizeof(bytes), &j, &a, NULL),
                SL_EPROTO);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_null_only_where_the_version_allows_it)
{
    /* MetadataRequest: Topics is nullable from v1 ("all topics"). */
    static const uint8_t null_topics[] = {0xff, 0xff, 0xff, 0xff};
    /* ProduceRequest v3: null transactional id is fine, a null topic name is not. */
    static const uint8_t null_name[] = {0xff, 0xff, 0, 1,    0,    0, 0, 100, 0,
                                        0,    0,    1, 0xff, 0xff, 0, 0, 0,   0};
    sl_MetadataRequest_t m;
    sl_ProduceRequest_t p;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_MetadataRequest, 0, null_topics, 4, &m, &a, NULL), SL_EPROTO);
    SL_CHECK_OK(decode_bytes(&sl_kmsg_MetadataRequest, 1, null_topics, 4, &m, &a, NULL));
    SL_CHECK_EQ(m.Topics.len, -1);
    SL_CHECK(m.AllowAutoTopicCreation); /* absent in v1: spec default true */
    SL_CHECK_EQ(
        decode_bytes(&sl_kmsg_ProduceRequest, 3, null_name, sizeof(null_name), &p, &a, NULL),
        SL_EPROTO);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_null_in_forbidden_version_encodes_as_empty)
{
    sl_MetadataRequest_t m;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};

    sl_MetadataRequest_init(&m);
    m.Topics.len = -1;
    sl_MetadataRequest_encode(&m, 0, &wr); /* v0 cannot say null: empty array */
    SL_CHECK_EQ(b.len, 4);
    SL_CHECK_MEM(b.data, "\0\0\0\0", 4);
    sl_buf_reset(&b);
    sl_MetadataRequest_encode(&m, 1, &wr);
    SL_CHECK_MEM(b.data, "\xff\xff\xff\xff", 4);
    sl_buf_deinit(&b);
}

/* ApiVersionsRequest v3: compact "a", compact "b", then a tag section. */
static size_t
api_versions_v3(uint8_t *out, const uint8_t *tags, size_t ntags)
{
    static const uint8_t head[] = {2, 'a', 2, 'b'};

    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), tags, ntags);
    return sizeof(head) + ntags;
}

SL_TEST(kcodec_unknown_tags_are_preserved_exactly)
{
    static const uint8_t tags[] = {2, 5, 1, 'x', 40, 3, 1, 2, 3};
    uint8_t frame[32];
    size_t n = api_versions_v3(frame, tags, sizeof(tags)), left;
    sl_ApiVersionsRequest_t m;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    SL_CHECK_OK(decode_bytes(&sl_kmsg_ApiVersionsRequest, 3, frame, n, &m, &a, &left));
    SL_CHECK_EQ(left, 0);
    /* Views point into the decoded buffer: decode again from one that stays alive. */
    sl_rd_init(&rd, frame, n);
    SL_CHECK_OK(sl_ApiVersionsRequest_decode(&m, 3, &rd, &a));
    SL_CHECK(sl_str_eq_c(m.ClientSoftwareName, "a"));
    SL_CHECK(sl_str_eq_c(m.ClientSoftwareVersion, "b"));
    SL_CHECK_EQ(m._unknown_tags.len, 2);
    SL_CHECK_EQ(m._unknown_tags.items[0].tag, 5);
    SL_CHECK_EQ(m._unknown_tags.items[1].tag, 40);
    SL_CHECK_EQ(m._unknown_tags.items[1].data.len, 3);
    SL_CHECK(m._unknown_tags.items[1].data.ptr == frame + n - 3);
    sl_ApiVersionsRequest_encode(&m, 3, &wr);
    SL_CHECK_EQ(b.len, n);
    SL_CHECK_MEM(b.data, frame, n);
    sl_buf_deinit(&b);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_bad_tag_sections_fail)
{
    static const uint8_t unordered[] = {2, 40, 1, 'x', 5, 1, 'y'};
    static const uint8_t duplicate[] = {2, 5, 1, 'x', 5, 1, 'y'};
    static const uint8_t oversize[] = {1, 5, 9, 'x'};
    static const uint8_t huge_count[] = {0xff, 0xff, 0xff, 0x0f, 0, 0};
    static const uint8_t *const cases[] = {unordered, duplicate, oversize, huge_count};
    static const size_t lens[] = {sizeof(unordered), sizeof(duplicate), sizeof(oversize),
                                  sizeof(huge_count)};
    sl_ApiVersionsRequest_t m;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        uint8_t frame[32];
        size_t n = api_versions_v3(frame, cases[i], lens[i]);

        SL_CHECK_EQ(decode_bytes(&sl_kmsg_ApiVersionsRequest, 3, frame, n, &m, &a, NULL),
                    SL_EPROTO);
    }
    sl_arena_deinit(&a);
}

/* ApiVersionsResponse v3: error 0, no api keys, throttle 0, then tags. */
static size_t
api_versions_resp_v3(uint8_t *out, const uint8_t *tags, size_t ntags)
{
    static const uint8_t head[] = {0, 0, 1, 0, 0, 0, 0};

    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), tags, ntags);
    return sizeof(head) + ntags;
}

SL_TEST(kcodec_known_tags_decode_by_version_and_merge_in_order)
{
    /* tag 3 ZkMigrationReady (bool) = true; tag 7 unknown. */
    static const uint8_t tags[] = {2, 3, 1, 1, 7, 0};
    /* the same bool with a trailing byte inside its size */
    static const uint8_t bad[] = {1, 3, 2, 1, 0};
    uint8_t frame[32];
    size_t n = api_versions_resp_v3(frame, tags, sizeof(tags));
    sl_ApiVersionsResponse_t m;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;
    sl_arena_t a;
    static const uint8_t want[] = {0, 0, 1, 0, 0, 0, 0, 4, 1, 8, 0, 0, 0,
                                   0, 0, 0, 0, 9, 3, 1, 1, 7, 0, 9, 1, 'z'};
    sl_ktag_t extra[2];

    sl_arena_init(&a, 1024);
    sl_rd_init(&rd, frame, n);
    SL_CHECK_OK(sl_ApiVersionsResponse_decode(&m, 3, &rd, &a));
    SL_CHECK(m.ZkMigrationReady);
    SL_CHECK_EQ(m.FinalizedFeaturesEpoch, -1); /* tagged, absent: default */
    SL_CHECK_EQ(m._unknown_tags.len, 1);
    SL_CHECK_EQ(m._unknown_tags.items[0].tag, 7);
    /* Known tag 1 (epoch 9) must land between unknown tags, in order. */
    m.FinalizedFeaturesEpoch = 9;
    extra[0] = m._unknown_tags.items[0];
    extra[1] = (sl_ktag_t){9, {(const uint8_t *)"z", 1}};
    m._unknown_tags.items = extra;
    m._unknown_tags.len = 2;
    sl_ApiVersionsResponse_encode(&m, 3, &wr);
    SL_CHECK_EQ(b.len, sizeof(want));
    SL_CHECK_MEM(b.data, want, sizeof(want));
    SL_CHECK_EQ(sl_ApiVersionsResponse_size(&m, 3), sizeof(want));
    /* The tags do not exist in v2: nothing after the throttle time. */
    sl_buf_reset(&b);
    sl_ApiVersionsResponse_encode(&m, 2, &wr);
    SL_CHECK_EQ(b.len, 2 + 4 + 4);

    n = api_versions_resp_v3(frame, bad, sizeof(bad));
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_ApiVersionsResponse, 3, frame, n, &m, &a, NULL), SL_EPROTO);
    sl_buf_deinit(&b);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_defaults_and_fields_absent_in_a_version)
{
    sl_JoinGroupRequest_t j, k;
    sl_DescribeTopicPartitionsRequest_t d;
    sl_buf_t b1 = SL_BUF_INIT, b2 = SL_BUF_INIT;
    sl_writer_t w1 = {&b1}, w2 = {&b2};
    sl_reader_t rd;
    sl_arena_t a;

    sl_JoinGroupRequest_init(&j);
    SL_CHECK_EQ(j.RebalanceTimeoutMs, -1);
    SL_CHECK(sl_str_is_null(j.GroupInstanceId));
    SL_CHECK(!sl_str_is_null(j.MemberId) && j.MemberId.len == 0);
    SL_CHECK_EQ(j.Protocols.len, 0);
    sl_DescribeTopicPartitionsRequest_init(&d);
    SL_CHECK_EQ(d.ResponsePartitionLimit, 2000);
    SL_CHECK(d.Cursor == NULL);

    /* v0 has no rebalance timeout and no instance id: set values are dropped. */
    j.GroupId = SL_STR_LIT("g");
    j.SessionTimeoutMs = 1000;
    sl_JoinGroupRequest_encode(&j, 0, &w1);
    j.RebalanceTimeoutMs = 5;
    j.GroupInstanceId = SL_STR_LIT("inst");
    sl_JoinGroupRequest_encode(&j, 0, &w2);
    SL_CHECK_EQ(b1.len, b2.len);
    SL_CHECK_MEM(b1.data, b2.data, b1.len);

    sl_arena_init(&a, 1024);
    sl_rd_init(&rd, b2.data, b2.len);
    SL_CHECK_OK(sl_JoinGroupRequest_decode(&k, 0, &rd, &a));
    SL_CHECK_EQ(k.RebalanceTimeoutMs, -1);
    SL_CHECK(sl_str_is_null(k.GroupInstanceId));
    SL_CHECK(sl_str_eq_c(k.GroupId, "g"));
    SL_CHECK_EQ(k.SessionTimeoutMs, 1000);
    sl_buf_deinit(&b1);
    sl_buf_deinit(&b2);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_nullable_struct_marker)
{
    sl_DescribeTopicPartitionsRequest_t d, e;
    sl_DescribeTopicPartitionsRequest_Cursor_t c;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    sl_DescribeTopicPartitionsRequest_init(&d);
    sl_DescribeTopicPartitionsRequest_encode(&d, 0, &wr);
    /* topics [] (1), limit (4), cursor marker -1, tags 0 */
    SL_CHECK_EQ(b.len, 7);
    SL_CHECK_EQ(b.data[5], 0xff);
    sl_rd_init(&rd, b.data, b.len);
    SL_CHECK_OK(sl_DescribeTopicPartitionsRequest_decode(&e, 0, &rd, &a));
    SL_CHECK(e.Cursor == NULL);

    memset(&c, 0, sizeof(c));
    c.TopicName = SL_STR_LIT("t");
    c.PartitionIndex = 3;
    d.Cursor = &c;
    sl_buf_reset(&b);
    sl_DescribeTopicPartitionsRequest_encode(&d, 0, &wr);
    SL_CHECK_EQ(b.data[5], 1);
    sl_rd_init(&rd, b.data, b.len);
    SL_CHECK_OK(sl_DescribeTopicPartitionsRequest_decode(&e, 0, &rd, &a));
    SL_CHECK(e.Cursor != NULL);
    SL_CHECK(sl_str_eq_c(e.Cursor->TopicName, "t"));
    SL_CHECK_EQ(e.Cursor->PartitionIndex, 3);
    sl_buf_deinit(&b);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_records_are_views_into_the_frame)
{
    static const char recs[] = "0123456789abcdef";
    sl_ProduceRequest_t p, q;
    sl_ProduceRequest_TopicProduceData_t t;
    sl_ProduceRequest_PartitionProduceData_t part;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;
    sl_arena_t a;
    sl_bytes_t got;

    sl_ProduceRequest_init(&p);
    p.Acks = -1;
    p.TimeoutMs = 30000;
    memset(&t, 0, sizeof(t));
    memset(&part, 0, sizeof(part));
    t.Name = SL_STR_LIT("topic");
    part.Index = 2;
    part.Records = (sl_bytes_t){(const uint8_t *)recs, 16};
    t.PartitionData.len = 1;
    t.PartitionData.items = &part;
    p.TopicData.len = 1;
    p.TopicData.items = &t;
    for (int16_t v = 0; v <= 11; v++) {
        sl_buf_reset(&b);
        sl_ProduceRequest_encode(&p, v, &wr);
        sl_arena_init(&a, 1024);
        sl_rd_init(&rd, b.data, b.len);
        SL_CHECK_OK(sl_ProduceRequest_decode(&q, v, &rd, &a));
        SL_CHECK_EQ(q.TopicData.len, 1);
        SL_CHECK_EQ(q.TopicData.items[0].PartitionData.len, 1);
        got = q.TopicData.items[0].PartitionData.items[0].Records;
        SL_CHECK_EQ(got.len, 16);
        SL_CHECK(got.ptr >= b.data && got.ptr + 16 <= b.data + b.len); /* no copy */
        SL_CHECK_MEM(got.ptr, recs, 16);
        SL_CHECK(sl_str_is_null(q.TransactionalId));
        sl_arena_deinit(&a);
    }
    sl_buf_deinit(&b);
}

SL_TEST(kcodec_version_range_and_trailing_bytes)
{
    static const uint8_t hb[] = {0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm', 0xaa};
    sl_HeartbeatRequest_t h;
    sl_arena_t a;
    size_t left;

    sl_arena_init(&a, 1024);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_HeartbeatRequest, 99, hb, sizeof(hb), &h, &a, NULL),
                SL_EUNSUP);
    SL_CHECK_EQ(decode_bytes(&sl_kmsg_HeartbeatRequest, -1, hb, sizeof(hb), &h, &a, NULL),
                SL_EUNSUP);
    /* Bytes after the body are left for the caller to judge. */
    SL_CHECK_OK(decode_bytes(&sl_kmsg_HeartbeatRequest, 0, hb, sizeof(hb), &h, &a, &left));
    SL_CHECK_EQ(left, 1);
    SL_CHECK_EQ(h.GenerationId, 1);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_bool_accepts_any_nonzero)
{
    /* MetadataRequest v4: topics null, AllowAutoTopicCreation byte 7. */
    static const uint8_t mb[] = {0xff, 0xff, 0xff, 0xff, 7};
    sl_MetadataRequest_t m;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    SL_CHECK_OK(decode_bytes(&sl_kmsg_MetadataRequest, 4, mb, sizeof(mb), &m, &a, NULL));
    SL_CHECK(m.AllowAutoTopicCreation);
    SL_CHECK_EQ(sl_MetadataRequest_size(&m, 4), 5);
    sl_arena_deinit(&a);
}

SL_TEST(kcodec_api_table)
{
    const sl_api_desc_t *p = sl_api_lookup(SL_API_Produce);
    const sl_api_desc_t *av = sl_api_lookup(SL_API_ApiVersions);
    int16_t prev = -1;

    SL_CHECK(p != NULL);
    SL_CHECK_STR(p->name, "Produce");
    SL_CHECK_EQ(p->min_ver, 0);
    SL_CHECK_EQ(p->max_ver, 11);
    SL_CHECK_EQ(p->flex_min, 9);
    SL_CHECK(p->request == &sl_kmsg_ProduceRequest);
    SL_CHECK(p->response == &sl_kmsg_ProduceResponse);
    SL_CHECK_EQ(av->flex_min, 3);
    SL_CHECK_EQ(sl_api_lookup(SL_API_SaslHandshake)->flex_min, -1);
    SL_CHECK(sl_api_lookup(-1) == NULL);
    SL_CHECK(sl_api_lookup(9999) == NULL);
    SL_CHECK(sl_api_at(sl_api_count()) == NULL);
    for (size_t i = 0; i < sl_api_count(); i++) {
        const sl_api_desc_t *api = sl_api_at(i);

        SL_CHECK(api->key > prev);
        prev = api->key;
        SL_CHECK(sl_api_lookup(api->key) == api);
        SL_CHECK_EQ(api->request->api_key, api->key);
        SL_CHECK_EQ(api->response->api_key, api->key);
        SL_CHECK_EQ(api->request->type, SL_KMSG_REQUEST);
        SL_CHECK_EQ(api->response->type, SL_KMSG_RESPONSE);
    }
    SL_CHECK(sl_api_count() >= 75);
    SL_CHECK(sl_kmsg_find("NoSuchMessage") == NULL);
}
