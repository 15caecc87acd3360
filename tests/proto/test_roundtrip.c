/*
 * test_roundtrip.c -- every message x every valid version round-trips.
 *
 * Random values come from the schema itself (krand.c): for each request,
 * response, header and internal record, and each of its valid versions, a
 * few samples are encoded, decoded and re-encoded; the two encodings must be
 * byte-identical, sl_ksize must match, and the decoded values must print the
 * same as the originals. One sample per version is also truncated at every
 * byte: each prefix must fail with SL_EPROTO (under ASan the prefix sits in
 * an exact-size heap block, so an over-read would be caught).
 *
 * With SL_KCORPUS_DIR set, request samples are also written there as fuzz
 * seeds for tests/fuzz/fuzz_request.c (key i16, version i16, body).
 */
#include "test.h"

#include "krand.h"
#include "proto/gen/kmsgs.h"

#include <errno.h>
#include <sys/stat.h>

#define SAMPLES 3

typedef struct rt_stats {
    long cases, bytes, prefixes;
} rt_stats_t;

static void
write_seed(const sl_kmsg_t *md, int16_t v, const sl_buf_t *body)
{
    const char *dir = getenv("SL_KCORPUS_DIR");
    char path[512];
    uint8_t hdr[4];
    FILE *f;

    if (dir == NULL || md->type != SL_KMSG_REQUEST)
        return;
    snprintf(path, sizeof(path), "%s/%s-v%d", dir, md->name, v);
    f = fopen(path, "wb");
    SL_CHECK(f != NULL);
    sl_put_be16(hdr, (uint16_t)md->api_key);
    sl_put_be16(hdr + 2, (uint16_t)v);
    fwrite(hdr, 1, 4, f);
    if (body->len)
        fwrite(body->data, 1, body->len, f);
    fclose(f);
}

/* Every strict prefix of a valid encoding is an error, never a crash. */
static void
check_prefixes(const sl_kmsg_t *md, int16_t v, const sl_buf_t *b1, rt_stats_t *st)
{
    sl_arena_t a;

    sl_arena_init(&a, 4096);
    for (size_t n = 0; n < b1->len; n++) {
        uint8_t *copy = sl_xmalloc(n ? n : 1);
        void *m = sl_xmalloc(md->root->size);
        sl_reader_t rd;
        int rc;

        memcpy(copy, b1->data, n);
        sl_rd_init(&rd, copy, n);
        rc = sl_kdecode(md, m, v, &rd, &a);
        if (rc != SL_EPROTO)
            sl_test_fail(__FILE__, __LINE__, "%s v%d: prefix %zu of %zu decoded with rc %d",
                         md->name, v, n, b1->len, rc);
        free(m);
        free(copy);
        sl_arena_reset(&a);
        st->prefixes++;
    }
    sl_arena_deinit(&a);
}

static void
round_trip(const sl_kmsg_t *md, int16_t v, krand_t *r, bool prefixes, rt_stats_t *st)
{
    sl_arena_t a;
    sl_buf_t b1 = SL_BUF_INIT, b2 = SL_BUF_INIT, p1 = SL_BUF_INIT, p2 = SL_BUF_INIT;
    sl_writer_t w1 = {&b1}, w2 = {&b2};
    sl_reader_t rd;
    void *m1, *m2;
    uint8_t *copy;
    int rc;

    sl_arena_init(&a, 4096);
    m1 = krand_msg(r, md, v, &a);
    sl_kencode(md, m1, v, &w1);
    if (sl_ksize(md, m1, v) != b1.len)
        sl_test_fail(__FILE__, __LINE__, "%s v%d: size %zu != encoded %zu", md->name, v,
                     sl_ksize(md, m1, v), b1.len);
    copy = sl_xmalloc(b1.len ? b1.len : 1);
    if (b1.len)
        memcpy(copy, b1.data, b1.len); /* data may be NULL when empty */
    sl_rd_init(&rd, copy, b1.len);
    m2 = sl_arena_alloc(&a, md->root->size);
    rc = sl_kdecode(md, m2, v, &rd, &a);
    if (rc != SL_OK || sl_rd_left(&rd) != 0) {
        sl_kprint(md, m1, v, stderr);
        sl_test_fail(__FILE__, __LINE__, "%s v%d: decode rc %d, %zu bytes left", md->name, v, rc,
                     sl_rd_left(&rd));
    }
    sl_kencode(md, m2, v, &w2);
    if (b1.len != b2.len || (b1.len && memcmp(b1.data, b2.data, b1.len) != 0)) {
        sl_kprint(md, m1, v, stderr);
        sl_test_fail(__FILE__, __LINE__, "%s v%d: re-encoding differs (%zu vs %zu bytes)", md->name,
                     v, b1.len, b2.len);
    }
    sl_kprint_buf(md, m1, v, &p1);
    sl_kprint_buf(md, m2, v, &p2);
    if (p1.len != p2.len || memcmp(p1.data, p2.data, p1.len) != 0) {
        fprintf(stderr, "--- sent\n%.*s--- decoded\n%.*s", (int)p1.len, (char *)p1.data,
                (int)p2.len, (char *)p2.data);
        sl_test_fail(__FILE__, __LINE__, "%s v%d: decoded values differ", md->name, v);
    }
    if (prefixes) {
        check_prefixes(md, v, &b1, st);
        write_seed(md, v, &b1);
    }
    st->cases++;
    st->bytes += (long)b1.len;
    free(copy);
    sl_buf_deinit(&b1);
    sl_buf_deinit(&b2);
    sl_buf_deinit(&p1);
    sl_buf_deinit(&p2);
    sl_arena_deinit(&a);
}

static void
round_trip_type(uint8_t type, int *nmsgs)
{
    krand_t r = {sl_test_seed() | 1, 3};
    rt_stats_t st = {0, 0, 0};

    *nmsgs = 0;
    for (size_t i = 0; i < sl_kmsg_count(); i++) {
        const sl_kmsg_t *md = sl_kmsg_at(i);

        if (md->type != type)
            continue;
        (*nmsgs)++;
        for (int16_t v = md->min_ver; v <= md->max_ver; v++)
            for (int s = 0; s < SAMPLES; s++)
                round_trip(md, v, &r, s == 0, &st);
    }
    printf("    %d messages, %ld round trips, %ld bytes, %ld truncations\n", *nmsgs, st.cases,
           st.bytes, st.prefixes);
    SL_CHECK(st.cases > 0);
}

SL_TEST(kcodec_round_trip_every_request_version)
{
    int n;

    round_trip_type(SL_KMSG_REQUEST, &n);
    SL_CHECK_EQ(n, (int)sl_api_count());
}

SL_TEST(kcodec_round_trip_every_response_version)
{
    int n;

    round_trip_type(SL_KMSG_RESPONSE, &n);
    SL_CHECK_EQ(n, (int)sl_api_count());
}

SL_TEST(kcodec_round_trip_headers_and_internal_records)
{
    int n, h;

    round_trip_type(SL_KMSG_DATA, &n);
    SL_CHECK(n >= 6); /* __consumer_offsets and transaction log keys/values at least */
    SL_CHECK(sl_kmsg_find("ConsumerProtocolSubscription") != NULL);
    SL_CHECK(sl_kmsg_find("GroupMetadataValue") != NULL);
    SL_CHECK(sl_kmsg_find("OffsetCommitValue") != NULL);
    round_trip_type(SL_KMSG_HEADER, &h);
    SL_CHECK_EQ(h, 2);
}

/* Bigger arrays and deeper values for the APIs clients use most. */
SL_TEST(kcodec_round_trip_large_samples)
{
    static const char *const names[] = {"ProduceRequest",   "FetchResponse",
                                        "MetadataResponse", "ApiVersionsResponse",
                                        "JoinGroupRequest", "OffsetCommitRequest"};
    krand_t r = {sl_test_seed() ^ 0x9e3779b97f4a7c15ULL, 8};
    rt_stats_t st = {0, 0, 0};

    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++) {
        const sl_kmsg_t *md = sl_kmsg_find(names[i]);

        SL_CHECK(md != NULL);
        for (int16_t v = md->min_ver; v <= md->max_ver; v++)
            for (int s = 0; s < 4; s++)
                round_trip(md, v, &r, false, &st);
    }
    SL_CHECK(st.bytes > 10000);
}
