/*
 * bench_log.c -- append throughput and recovery time of the log module.
 *
 *   bench-log DIR append BATCH_BYTES TOTAL_MB [fsync|group N]
 *   bench-log DIR recover TOTAL_MB
 *
 * append: appends TOTAL_MB of BATCH_BYTES batches to a fresh partition.
 *   no mode: no fsync (page cache only, like acks=1 without flush.*);
 *   fsync:   every batch is made durable before the next (acks=all, one
 *            producer);
 *   group N: N batches (N producers) are appended, each asks for a flush,
 *            then all wait for the one group commit that covers them.
 * recover: writes TOTAL_MB unflushed, drops the manager without a clean
 *   shutdown, and times the reopen (CRC scan of everything past the
 *   recovery point, index rebuild, fsync of the survivors).
 * Prints one line: mode, MB/s or seconds, fsyncs.
 */
#include "base/common.h"
#include "base/time.h"
#include "log/log.h"
#include "proto/record.h"
#include "proto/wire.h"

#include <inttypes.h>
#include <stdio.h>

static size_t
make_batch(uint8_t *out, size_t len)
{
    memset(out, 0, SL_BATCH_HEADER_SIZE);
    sl_put_be32(out + SL_BATCH_OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
    out[SL_BATCH_OFF_MAGIC] = 2;
    /* 1,000 records: the log must not care how many */
    sl_put_be32(out + SL_BATCH_OFF_LAST_DELTA, 999);
    sl_put_be32(out + SL_BATCH_OFF_RECORD_COUNT, 1000);
    sl_put_be64(out + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)sl_wall_ms());
    for (size_t i = SL_BATCH_HEADER_SIZE; i < len; i++)
        out[i] = (uint8_t)(i * 131);
    sl_batch_update_crc(out, len);
    return len;
}

static int fsyncs;

static void
on_durable(void *arg, sl_plog_t *pl, int64_t end, int rc)
{
    (void)arg;
    (void)pl;
    (void)end;
    if (rc != SL_OK) {
        fprintf(stderr, "flush failed\n");
        exit(1);
    }
    fsyncs++;
}

static sl_log_mgr_t *
open_mgr(const char *dir)
{
    sl_log_mgr_opts_t opts;
    sl_log_mgr_t *mgr;

    sl_log_mgr_opts_init(&opts);
    opts.durable_fn = on_durable;
    opts.default_cfg.max_message_bytes = 64 << 20;
    if (sl_log_mgr_open(dir, &opts, &mgr) != SL_OK) {
        fprintf(stderr, "cannot open %s\n", dir);
        exit(1);
    }
    return mgr;
}

static void
wait_durable(sl_log_mgr_t *mgr, sl_plog_t *pl, int64_t upto)
{
    int rc = sl_plog_request_flush(pl, upto);

    while (rc == SL_EAGAIN && !sl_plog_is_durable(pl, upto - 1))
        sl_log_mgr_wait(mgr, 1000);
}

static int
bench_append(const char *dir, size_t batch, int64_t total, const char *mode, int group)
{
    sl_log_mgr_t *mgr = open_mgr(dir);
    sl_plog_t *pl;
    sl_log_cfg_t cfg;
    uint8_t *tmpl = sl_xmalloc(batch), *buf = sl_xmalloc(batch);
    int64_t n = total / (int64_t)batch, t0;
    sl_log_append_info_t info;
    double secs;

    sl_log_cfg_init(&cfg);
    cfg.max_message_bytes = 64 << 20;
    if (sl_log_mgr_create(mgr, "bench", 0, &cfg, &pl) != SL_OK)
        return 1;
    make_batch(tmpl, batch);
    t0 = sl_mono_ns();
    for (int64_t i = 0; i < n; i++) {
        /* the produce path patches the request buffer in place: copy the
         * template like a fresh request would arrive */
        memcpy(buf, tmpl, batch);
        if (sl_plog_append(pl, buf, batch, &info) != SL_OK) {
            fprintf(stderr, "append failed\n");
            return 1;
        }
        if (strcmp(mode, "fsync") == 0 || (strcmp(mode, "group") == 0 && (i + 1) % group == 0))
            wait_durable(mgr, pl, sl_plog_leo(pl));
        else if (strcmp(mode, "group") == 0)
            (void)!sl_plog_request_flush(pl, sl_plog_leo(pl));
    }
    if (strcmp(mode, "none") != 0)
        wait_durable(mgr, pl, sl_plog_leo(pl));
    secs = (double)(sl_mono_ns() - t0) / 1e9;
    printf("append batch=%zu total=%.0fMB mode=%s%s%.0d: %.1f MB/s, %.0f batches/s, %d fsyncs\n",
           batch, (double)(n * (int64_t)batch) / 1048576.0, mode, group > 1 ? " N=" : "",
           group > 1 ? group : 0, (double)(n * (int64_t)batch) / 1048576.0 / secs, (double)n / secs,
           fsyncs);
    sl_log_mgr_close(mgr);
    free(tmpl);
    free(buf);
    return 0;
}

static int
bench_recover(const char *dir, int64_t total)
{
    sl_log_mgr_t *mgr = open_mgr(dir);
    sl_plog_t *pl;
    sl_log_cfg_t cfg;
    size_t batch = 16384;
    uint8_t *tmpl = sl_xmalloc(batch), *buf = sl_xmalloc(batch);
    sl_log_append_info_t info;
    int64_t t0;

    sl_log_cfg_init(&cfg);
    if (sl_log_mgr_create(mgr, "bench", 0, &cfg, &pl) != SL_OK)
        return 1;
    make_batch(tmpl, batch);
    for (int64_t i = 0; i < total / (int64_t)batch; i++) {
        memcpy(buf, tmpl, batch);
        if (sl_plog_append(pl, buf, batch, &info) != SL_OK)
            return 1;
    }
    sl_log_mgr_abandon(mgr); /* no flush, no checkpoint, no marker */
    t0 = sl_mono_ns();
    mgr = open_mgr(dir);
    printf("recover %.0fMB unflushed (page cache warm): %.2f s, LEO %" PRId64 "\n",
           (double)total / 1048576.0, (double)(sl_mono_ns() - t0) / 1e9,
           sl_plog_leo(sl_log_mgr_get(mgr, "bench", 0)));
    sl_log_mgr_close(mgr);
    free(tmpl);
    free(buf);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[2], "append") == 0)
        return bench_append(argv[1], (size_t)atol(argv[3]), atol(argv[4]) << 20,
                            argc > 5 ? argv[5] : "none", argc > 6 ? atoi(argv[6]) : 1);
    if (argc >= 4 && strcmp(argv[2], "recover") == 0)
        return bench_recover(argv[1], atol(argv[3]) << 20);
    fprintf(stderr, "usage: bench-log DIR append BATCH_BYTES TOTAL_MB [fsync|group N]\n"
                    "       bench-log DIR recover TOTAL_MB\n");
    return 2;
}
