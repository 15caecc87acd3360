/*
 * fuzz_request.c -- libFuzzer target for the table-driven codec.
 *
 * Input: api key (i16), version (i16), then a message body. The key selects
 * the request descriptor; with the top bit set (key | 0x8000) the response
 * descriptor of key & 0x7fff is used instead, so one target covers both
 * tables. A version outside the API's range is folded into it.
 *
 * Checks: decode never crashes or over-reads; arena memory stays within a
 * constant factor of the input; when decode succeeds, encode(decode(x)) is a
 * fixed point after one normalisation step (decode it again and encode: the
 * bytes must be identical) and sl_ksize agrees with the encoder.
 */
#include "proto/gen/kmsgs.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sl_api_desc_t *api;
    const sl_kmsg_t *md;
    uint16_t key;
    int16_t v;
    sl_arena_t a;
    sl_reader_t rd;
    sl_buf_t b1 = SL_BUF_INIT, b2 = SL_BUF_INIT;
    sl_writer_t w1 = {&b1}, w2 = {&b2};
    void *m1, *m2;

    if (size < 4)
        return 0;
    key = sl_be16(data);
    v = (int16_t)sl_be16(data + 2);
    api = sl_api_lookup((int16_t)(key & 0x7fff));
    if (api == NULL)
        return 0;
    md = (key & 0x8000) ? api->response : api->request;
    if (v < md->min_ver || v > md->max_ver)
        v = (int16_t)(md->min_ver + (uint16_t)v % (md->max_ver - md->min_ver + 1));
    data += 4;
    size -= 4;

    sl_arena_init(&a, 4096);
    m1 = sl_arena_alloc(&a, md->root->size);
    sl_rd_init(&rd, data, size);
    if (sl_kdecode(md, m1, v, &rd, &a) != SL_OK)
        goto done;
    /* Arrays are bounded by count x smallest element <= bytes left. */
    if (a.total > 4096 + 64 * size + md->root->size)
        fail("arena grew out of proportion to the input");
    sl_kencode(md, m1, v, &w1);
    if (sl_ksize(md, m1, v) != b1.len)
        fail("size disagrees with encode (1)");
    m2 = sl_arena_alloc(&a, md->root->size);
    sl_rd_init(&rd, b1.len ? b1.data : (const uint8_t *)"", b1.len); /* NULL+0 is UB */
    if (sl_kdecode(md, m2, v, &rd, &a) != SL_OK || sl_rd_left(&rd) != 0)
        fail("re-encoded message does not decode");
    sl_kencode(md, m2, v, &w2);
    if (b1.len != b2.len || (b1.len && memcmp(b1.data, b2.data, b1.len) != 0))
        fail("encode is not a fixed point");
    if (sl_ksize(md, m2, v) != b2.len)
        fail("size disagrees with encode (2)");
done:
    sl_buf_deinit(&b1);
    sl_buf_deinit(&b2);
    sl_arena_deinit(&a);
    return 0;
}
