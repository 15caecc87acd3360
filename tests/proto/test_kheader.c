/*
 * test_kheader.c -- request/response header versions and codecs, including
 * the two exceptions (ApiVersions responses, ControlledShutdown v0), null
 * client ids, unsupported keys/versions, and the error-code table.
 */
#include "test.h"

#include "proto/gen/kmsgs.h"
#include "proto/kerr.h"
#include "proto/kheader.h"

SL_TEST(kheader_versions_follow_the_flexible_table)
{
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_Produce, 8), 1);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_Produce, 9), 2);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_ApiVersions, 0), 1);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_ApiVersions, 3), 2);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_ControlledShutdown, 0), 0);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_ControlledShutdown, 1), 1);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_ControlledShutdown, 3), 2);
    SL_CHECK_EQ(sl_kheader_request_version(SL_API_SaslHandshake, 1), 1);
    SL_CHECK_EQ(sl_kheader_request_version(9999, 0), -1);

    SL_CHECK_EQ(sl_kheader_response_version(SL_API_Produce, 8), 0);
    SL_CHECK_EQ(sl_kheader_response_version(SL_API_Produce, 9), 1);
    SL_CHECK_EQ(sl_kheader_response_version(SL_API_Metadata, 9), 1);
    /* KIP-511: ApiVersions answers with header v0 even when its body is flexible. */
    SL_CHECK_EQ(sl_kheader_response_version(SL_API_ApiVersions, 3), 0);
    SL_CHECK_EQ(sl_kheader_response_version(SL_API_ApiVersions, 4), 0);
    SL_CHECK_EQ(sl_kheader_response_version(9999, 0), 0);
}

SL_TEST(kheader_response_encode)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};

    sl_kheader_response_encode(SL_API_ApiVersions, 3, 0x01020304, &wr);
    SL_CHECK_EQ(b.len, 4);
    SL_CHECK_MEM(b.data, "\x01\x02\x03\x04", 4);
    sl_buf_reset(&b);
    sl_kheader_response_encode(SL_API_Produce, 9, 7, &wr);
    SL_CHECK_EQ(b.len, 5);
    SL_CHECK_MEM(b.data, "\0\0\0\x07\0", 5);
    sl_buf_reset(&b);
    sl_kheader_response_encode(SL_API_Produce, 8, 7, &wr);
    SL_CHECK_EQ(b.len, 4);
    sl_buf_deinit(&b);
}

SL_TEST(kheader_request_v2_accepts_null_client_id)
{
    /* ApiVersions v3, correlation 7, client id null (i16 -1, not compact), no tags. */
    static const uint8_t f[] = {0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0, 0xee};
    sl_kreq_header_t h;
    sl_reader_t rd;
    sl_arena_t a;
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};

    sl_arena_init(&a, 1024);
    sl_rd_init(&rd, f, sizeof(f));
    SL_CHECK_OK(sl_kheader_request_decode(&rd, &a, &h));
    SL_CHECK_EQ(h.api_key, 18);
    SL_CHECK_EQ(h.api_version, 3);
    SL_CHECK_EQ(h.correlation_id, 7);
    SL_CHECK_EQ(h.header_version, 2);
    SL_CHECK(sl_str_is_null(h.client_id));
    SL_CHECK_EQ(sl_rd_left(&rd), 1); /* positioned at the body */
    sl_kheader_request_encode(&h, &wr);
    SL_CHECK_EQ(b.len, sizeof(f) - 1);
    SL_CHECK_MEM(b.data, f, b.len);
    sl_buf_deinit(&b);
    sl_arena_deinit(&a);
}

SL_TEST(kheader_request_v1_and_v0)
{
    static const uint8_t v1[] = {0, 3, 0, 0, 0, 0, 0, 9, 0, 3, 'c', 'l', 'i'};
    static const uint8_t v0[] = {0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5};
    sl_kreq_header_t h;
    sl_reader_t rd;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    sl_rd_init(&rd, v1, sizeof(v1));
    SL_CHECK_OK(sl_kheader_request_decode(&rd, &a, &h));
    SL_CHECK_EQ(h.header_version, 1);
    SL_CHECK(sl_str_eq_c(h.client_id, "cli"));
    SL_CHECK_EQ(sl_rd_left(&rd), 0);
    /* ControlledShutdown v0: no client id; the body (broker id 5) follows at once. */
    sl_rd_init(&rd, v0, sizeof(v0));
    SL_CHECK_OK(sl_kheader_request_decode(&rd, &a, &h));
    SL_CHECK_EQ(h.header_version, 0);
    SL_CHECK(sl_str_is_null(h.client_id));
    SL_CHECK_EQ(sl_rd_i32(&rd), 5);
    sl_arena_deinit(&a);
}

SL_TEST(kheader_unknown_key_or_version_still_gives_correlation_id)
{
    static const uint8_t unknown_key[] = {0x27, 0x0f, 0, 0, 0, 0, 0, 42, 0xff, 0xff};
    static const uint8_t high_ver[] = {0, 18, 0, 99, 0, 0, 1, 0, 0, 0, 0};
    static const uint8_t short_hdr[] = {0, 18, 0, 3, 0, 0};
    static const uint8_t short_cid[] = {0, 18, 0, 3, 0, 0, 0, 1, 0, 9, 'x'};
    sl_kreq_header_t h;
    sl_reader_t rd;
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    sl_rd_init(&rd, unknown_key, sizeof(unknown_key));
    SL_CHECK_EQ(sl_kheader_request_decode(&rd, &a, &h), SL_EUNSUP);
    SL_CHECK_EQ(h.api_key, 9999);
    SL_CHECK_EQ(h.correlation_id, 42);
    SL_CHECK_EQ(h.header_version, -1);
    sl_rd_init(&rd, high_ver, sizeof(high_ver));
    SL_CHECK_EQ(sl_kheader_request_decode(&rd, &a, &h), SL_EUNSUP);
    SL_CHECK_EQ(h.api_key, SL_API_ApiVersions);
    SL_CHECK_EQ(h.api_version, 99);
    SL_CHECK_EQ(h.correlation_id, 256);
    sl_rd_init(&rd, short_hdr, sizeof(short_hdr));
    SL_CHECK_EQ(sl_kheader_request_decode(&rd, &a, &h), SL_EPROTO);
    sl_rd_init(&rd, short_cid, sizeof(short_cid));
    SL_CHECK_EQ(sl_kheader_request_decode(&rd, &a, &h), SL_EPROTO);
    sl_arena_deinit(&a);
}

/* The hand-written header codec agrees with the generated RequestHeader
 * descriptor (whose ClientId is marked never-compact) for every API version. */
SL_TEST(kheader_matches_generated_request_header)
{
    sl_arena_t a;

    sl_arena_init(&a, 1024);
    for (size_t i = 0; i < sl_api_count(); i++) {
        const sl_api_desc_t *api = sl_api_at(i);

        for (int16_t v = api->min_ver; v <= api->max_ver; v++) {
            sl_kreq_header_t h = {api->key, v, 1000 + v, SL_STR_LIT("client-1"), 0, {0, NULL}};
            sl_RequestHeader_t g;
            sl_buf_t b1 = SL_BUF_INIT, b2 = SL_BUF_INIT;
            sl_writer_t w1 = {&b1}, w2 = {&b2};
            sl_reader_t rd;
            sl_kreq_header_t back;

            h.header_version = sl_kheader_request_version(api->key, v);
            sl_kheader_request_encode(&h, &w1);
            sl_RequestHeader_init(&g);
            g.RequestApiKey = api->key;
            g.RequestApiVersion = v;
            g.CorrelationId = 1000 + v;
            g.ClientId = h.client_id;
            sl_RequestHeader_encode(&g, h.header_version, &w2);
            SL_CHECK_EQ(b1.len, b2.len);
            SL_CHECK_MEM(b1.data, b2.data, b1.len);
            sl_rd_init(&rd, b1.data, b1.len);
            SL_CHECK_OK(sl_kheader_request_decode(&rd, &a, &back));
            SL_CHECK_EQ(back.header_version, h.header_version);
            SL_CHECK_EQ(sl_rd_left(&rd), 0);
            sl_buf_deinit(&b1);
            sl_buf_deinit(&b2);
        }
    }
    sl_arena_deinit(&a);
}

SL_TEST(kerr_table)
{
    SL_CHECK_EQ(SL_KERR_NONE, 0);
    SL_CHECK_EQ(SL_KERR_UNKNOWN_SERVER_ERROR, -1);
    SL_CHECK_EQ(SL_KERR_NOT_LEADER_OR_FOLLOWER, 6);
    SL_CHECK_EQ(SL_KERR_UNSUPPORTED_VERSION, 35);
    SL_CHECK_EQ(SL_KERR_UNSUPPORTED_COMPRESSION_TYPE, 76);
    SL_CHECK_EQ(SL_KERR_MEMBER_ID_REQUIRED, 79);
    SL_CHECK_STR(sl_kerr_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    SL_CHECK_STR(sl_kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    SL_CHECK_STR(sl_kerr_name(127), "VOTER_NOT_FOUND");
    SL_CHECK_STR(sl_kerr_name(30000), "UNKNOWN");
    SL_CHECK(sl_kerr_retriable(SL_KERR_NOT_LEADER_OR_FOLLOWER));
    SL_CHECK(!sl_kerr_retriable(SL_KERR_UNSUPPORTED_VERSION));
    SL_CHECK(strlen(sl_kerr_message(SL_KERR_REQUEST_TIMED_OUT)) > 0);
}
