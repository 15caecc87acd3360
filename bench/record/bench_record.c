/*
 * bench_record.c -- cost of building and iterating 1,000-record batches,
 * uncompressed and with each codec (proto/record.h, proto/compress.h).
 *
 *   bench_record [-n RECORDS] [-r REPS] [-v VALUE_BYTES] [-c CODEC]
 *
 * Each record: a 12-byte key, a value of VALUE_BYTES (default 100) of
 * word-like text (compressible the way log lines are), no headers,
 * timestamps 1 ms apart. "build" = append every record + finish (compress,
 * CRC); "iterate" = init (CRC, decompress) + walk every record, touching
 * key and value. ns/record is wall time / records; MB/s counts the
 * uncompressed records section. -r fixes the repetitions (default: as many
 * as fit in 0.4 s per cell); -c runs one codec. Wall time on a shared
 * machine is noisy: bench/record/run.sh also reports callgrind instruction
 * counts per record, which are not.
 */
#include "proto/compress.h"
#include "proto/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
fill_text(char *p, size_t n)
{
    static const char *const words[] = {"GET",   "/api/v1/orders", "200",   "user=",  "id",
                                        "1f3a9", "latency_ms=",    "12",    "region", "eu-west",
                                        "OK",    "POST",           "cache", "miss",   "ts="};
    size_t i = 0;

    while (i < n) {
        const char *w = words[next_rand() % (sizeof(words) / sizeof(words[0]))];
        size_t l = strlen(w);

        for (size_t j = 0; j < l && i < n; j++)
            p[i++] = w[j];
        if (i < n)
            p[i++] = next_rand() % 4 ? ' ' : (char)('0' + next_rand() % 10);
    }
}

typedef struct input {
    int n;
    char (*keys)[16];
    char *values;
    size_t vlen;
} input_t;

/* noinline: run.sh points callgrind's --toggle-collect at these two. */
__attribute__((noinline)) static int
build_batch(const input_t *in, sl_batch_builder_t *b, sl_buf_t *out)
{
    int rc;

    for (int i = 0; i < in->n; i++) {
        sl_bytes_t k = {(const uint8_t *)in->keys[i], 12};
        sl_bytes_t v = {(const uint8_t *)in->values + (size_t)i * in->vlen, (int32_t)in->vlen};

        if ((rc = sl_batch_builder_append(b, 1700000000000LL + i, k, v, NULL, 0)) != SL_OK)
            return rc;
    }
    return sl_batch_builder_finish(b, out);
}

/* Returns a checksum of what was read, so nothing is optimised away. */
__attribute__((noinline)) static uint64_t
iterate_batch(const sl_buf_t *batch, sl_buf_t *scratch, int expect)
{
    sl_record_iter_t it;
    sl_record_t r;
    uint64_t sum = 0;
    int rc, n = 0;

    if (sl_record_iter_init(&it, batch->data, batch->len, scratch, 64u << 20) != SL_OK)
        abort();
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        sum += (uint64_t)r.offset + r.key.ptr[0] + r.value.ptr[r.value.len - 1];
        n++;
    }
    if (rc != 0 || n != expect)
        abort();
    return sum;
}

int
main(int argc, char **argv)
{
    static const sl_codec_t codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                                        SL_CODEC_ZSTD};
    input_t in = {1000, NULL, NULL, 100};

    if (argc > 1 && strcmp(argv[1], "-h") == 0) {
        puts("usage: bench_record [-n RECORDS] [-r REPS] [-v VALUE_BYTES] [-c CODEC]");
        return 0;
    }
    int reps = 0, opt;
    const char *only = NULL;
    uint64_t sink = 0;

    while ((opt = getopt(argc, argv, "n:r:v:c:")) != -1) {
        if (opt == 'n')
            in.n = atoi(optarg);
        else if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'v')
            in.vlen = (size_t)atol(optarg);
        else if (opt == 'c')
            only = optarg;
        else
            return 2;
    }
    in.keys = sl_xmalloc((size_t)in.n * sizeof(*in.keys));
    in.values = sl_xmalloc((size_t)in.n * in.vlen);
    for (int i = 0; i < in.n; i++)
        snprintf(in.keys[i], sizeof(in.keys[i]), "key-%08d", i);
    fill_text(in.values, (size_t)in.n * in.vlen);

    printf("%-7s %9s %7s | %12s %9s | %12s %9s\n", "codec", "batch_B", "ratio", "build_ns/rec",
           "build_MB/s", "iter_ns/rec", "iter_MB/s");
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        sl_batch_opts_t o;
        sl_batch_builder_t b;
        sl_buf_t batch = SL_BUF_INIT, scratch = SL_BUF_INIT;
        size_t raw;
        double t0, tb, ti;
        int r, nb, ni;

        if (only != NULL && strcmp(only, sl_codec_name(codecs[c])) != 0)
            continue;
        sl_batch_opts_init(&o);
        o.codec = codecs[c];
        sl_batch_builder_init(&b, &o);
        /* Warm up; raw = the uncompressed records section, read off the
         * builder before finish (run.sh counts this one build too). */
        for (int i = 0; i < in.n; i++) {
            sl_bytes_t k = {(const uint8_t *)in.keys[i], 12};
            sl_bytes_t v = {(const uint8_t *)in.values + (size_t)i * in.vlen, (int32_t)in.vlen};

            if (sl_batch_builder_append(&b, 1700000000000LL + i, k, v, NULL, 0) != SL_OK)
                return 1;
        }
        raw = b.records.len;
        sl_batch_builder_reset(&b);
        if (build_batch(&in, &b, &batch) != SL_OK)
            return 1;
        /* Fixed reps if given, else enough for ~0.4 s each. */
        nb = reps;
        t0 = now_s();
        for (r = 0; reps ? r < reps : now_s() - t0 < 0.4; r++) {
            sl_buf_reset(&batch);
            if (build_batch(&in, &b, &batch) != SL_OK)
                return 1;
        }
        tb = now_s() - t0;
        nb = r;
        t0 = now_s();
        for (r = 0; reps ? r < reps : now_s() - t0 < 0.4; r++)
            sink += iterate_batch(&batch, &scratch, in.n);
        ti = now_s() - t0;
        ni = r;
        printf("%-7s %9zu %7.2f | %12.1f %9.1f | %12.1f %9.1f\n", sl_codec_name(codecs[c]),
               batch.len, (double)raw / (double)(batch.len - SL_BATCH_HEADER_SIZE),
               tb * 1e9 / ((double)nb * in.n), (double)raw * nb / tb / 1e6,
               ti * 1e9 / ((double)ni * in.n), (double)raw * ni / ti / 1e6);
        sl_batch_builder_deinit(&b);
        sl_buf_deinit(&batch);
        sl_buf_deinit(&scratch);
    }
    fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sink);
    free(in.keys);
    free(in.values);
    return 0;
}
