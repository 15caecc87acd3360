/*
 * fuzz_batch.c -- libFuzzer target for record batches (proto/record.h) and
 * the codecs behind them (proto/compress.h).
 *
 * Input: one mode byte, then the batch bytes.
 *   bit 0   rewrite batchLength and the CRC to match the input, so mutations
 *           reach the record parser and the decompressors instead of dying
 *           at the CRC check
 *   bit 1   also feed the records section straight to sl_decompress with
 *           codec (mode >> 2) % 5, and to the legacy lz4 decoder
 * Every batch that parses is copied record by record through the builder
 * and parsed again; the copy must give back the same records (abort
 * otherwise). Decompression budget: 1 MiB. Build with `make fuzz`; run
 * with -malloc_limit_mb=64 (see tests/fuzz/README.md).
 */
#include "proto/compress.h"
#include "proto/record.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
bytes_eq(sl_bytes_t a, sl_bytes_t b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static void
check_headers(const sl_record_t *r)
{
    sl_header_iter_t hi;
    sl_header_t h;
    int32_t n = 0;
    int rc;

    sl_header_iter_init(&hi, r);
    while ((rc = sl_header_iter_next(&hi, &h)) == 1)
        n++;
    /* The iterator already checked these bytes: they must walk cleanly. */
    if (rc != 0 || n != r->header_count)
        abort();
}

/* Parses the copy and compares it with the original, record by record. */
static void
check_copy(const uint8_t *orig, size_t orig_len, const sl_buf_t *copy)
{
    sl_record_iter_t a, b;
    sl_record_t ra, rb;
    sl_buf_t sa = SL_BUF_INIT, sb = SL_BUF_INIT;
    int rca, rcb;

    if (sl_record_iter_init(&a, orig, orig_len, &sa, BUDGET) != SL_OK ||
        sl_record_iter_init(&b, copy->data, copy->len, &sb, BUDGET) != SL_OK)
        abort();
    do {
        rca = sl_record_iter_next(&a, &ra);
        rcb = sl_record_iter_next(&b, &rb);
        if (rca != rcb)
            abort();
        if (rca == 1 && (ra.offset_delta != rb.offset_delta || ra.attributes != rb.attributes ||
                         !bytes_eq(ra.key, rb.key) || !bytes_eq(ra.value, rb.value) ||
                         ra.header_count != rb.header_count || ra.headers_len != rb.headers_len ||
                         memcmp(ra.headers, rb.headers, ra.headers_len) != 0))
            abort();
        /* LogAppendTime batches report maxTimestamp; the copy has none. */
        if (rca == 1 && !(a.hdr.attributes & SL_ATTR_LOG_APPEND_TIME) &&
            ra.timestamp != rb.timestamp)
            abort();
    } while (rca == 1);
    sl_buf_deinit(&sa);
    sl_buf_deinit(&sb);
}

static void
iterate(const uint8_t *batch, size_t len)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_buf_t scratch = SL_BUF_INIT, copy = SL_BUF_INIT;
    sl_batch_builder_t b;
    sl_batch_opts_t o;
    int rc;

    if (sl_record_iter_init(&it, batch, len, &scratch, BUDGET) != SL_OK) {
        if (scratch.cap > BUDGET + 1)
            abort(); /* the budget was not kept */
        sl_buf_deinit(&scratch);
        return;
    }
    if (scratch.len > BUDGET)
        abort();
    sl_batch_opts_init(&o);
    sl_batch_builder_init(&b, &o);
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        check_headers(&r);
        if (sl_batch_builder_append_record(&b, &r, r.offset_delta) != SL_OK)
            abort();
    }
    if (rc == 0 && b.count > 0) {
        if (sl_batch_builder_finish(&b, &copy) != SL_OK)
            abort();
        check_copy(batch, len, &copy);
    }
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&copy);
    sl_buf_deinit(&scratch);
}

static void
decompress_direct(sl_codec_t codec, const uint8_t *p, size_t len)
{
    sl_buf_t out = SL_BUF_INIT;
    int rc;

    rc = sl_decompress(codec, p, len, &out, BUDGET);
    if (out.len > BUDGET || (rc != SL_OK && out.len != 0) || out.cap > BUDGET + 1)
        abort();
    sl_buf_reset(&out);
    rc = sl_decompress_lz4_legacy(p, len, &out, BUDGET);
    if (out.len > BUDGET || (rc != SL_OK && out.len != 0) || out.cap > BUDGET + 1)
        abort();
    sl_buf_deinit(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode, *batch;

    if (size < 1)
        return 0;
    mode = data[0];
    size--;
    batch = malloc(size ? size : 1);
    memcpy(batch, data + 1, size);
    if ((mode & 1) && size >= SL_BATCH_HEADER_SIZE) {
        sl_put_be32(batch + SL_BATCH_OFF_LENGTH, (uint32_t)(size - SL_BATCH_LOG_OVERHEAD));
        sl_batch_update_crc(batch, size);
    }
    if ((mode & 2) && size >= SL_BATCH_HEADER_SIZE)
        decompress_direct((sl_codec_t)((mode >> 2) % 5), batch + SL_BATCH_HEADER_SIZE,
                          size - SL_BATCH_HEADER_SIZE);
    iterate(batch, size);
    free(batch);
    return 0;
}
