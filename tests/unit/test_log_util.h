/*
 * test_log_util.h -- helpers shared by the log tests: building v2 batches
 * (the log never parses records, so the record area is opaque bytes) and
 * opening a manager on a test directory.
 */
#ifndef SL_TESTS_TEST_LOG_UTIL_H
#define SL_TESTS_TEST_LOG_UTIL_H

#include "test.h"

#include "log/log.h"
#include "proto/record.h"
#include "proto/wire.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes one batch of nrec records with `payload` opaque record bytes into
 * out (61 + payload bytes) and returns its size. */
static inline size_t
tl_batch(uint8_t *out, int32_t nrec, int64_t max_ts, size_t payload, uint64_t seed)
{
    size_t len = SL_BATCH_HEADER_SIZE + payload;

    memset(out, 0, SL_BATCH_HEADER_SIZE);
    sl_put_be64(out + SL_BATCH_OFF_BASE_OFFSET, 0);
    sl_put_be32(out + SL_BATCH_OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
    sl_put_be32(out + SL_BATCH_OFF_LEADER_EPOCH, 0xffffffffu);
    out[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be32(out + SL_BATCH_OFF_LAST_DELTA, (uint32_t)(nrec - 1));
    sl_put_be64(out + SL_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)(max_ts < 0 ? -1 : max_ts - 5));
    sl_put_be64(out + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    sl_put_be64(out + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
    sl_put_be16(out + SL_BATCH_OFF_PRODUCER_EPOCH, 0xffff);
    sl_put_be32(out + SL_BATCH_OFF_BASE_SEQUENCE, 0xffffffffu);
    sl_put_be32(out + SL_BATCH_OFF_RECORD_COUNT, (uint32_t)nrec);
    for (size_t i = 0; i < payload; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        out[SL_BATCH_HEADER_SIZE + i] = (uint8_t)(seed >> 56);
    }
    sl_batch_update_crc(out, len);
    return len;
}

static inline sl_log_mgr_t *
tl_open(const char *dir, const sl_log_cfg_t *cfg, sl_log_mgr_opts_t *opts_in)
{
    sl_log_mgr_opts_t opts;
    sl_log_mgr_t *mgr = NULL;

    if (opts_in != NULL)
        opts = *opts_in;
    else
        sl_log_mgr_opts_init(&opts);
    if (cfg != NULL)
        opts.default_cfg = *cfg;
    SL_CHECK_OK(sl_log_mgr_open(dir, &opts, &mgr));
    return mgr;
}

/* Small everything, so a few KiB exercise rolls and sparse indexes. */
static inline void
tl_small_cfg(sl_log_cfg_t *cfg)
{
    sl_log_cfg_init(cfg);
    cfg->segment_bytes = 2048;
    cfg->index_interval_bytes = 200;
    cfg->segment_index_bytes = 120;
}

/* Reads a region's bytes into a fresh buffer. */
static inline uint8_t *
tl_region_bytes(const sl_log_region_t *r)
{
    uint8_t *p = malloc((size_t)r->len + 1);

    SL_CHECK(p != NULL);
    SL_CHECK_EQ(pread(r->fd, p, (size_t)r->len, r->pos), r->len);
    return p;
}

/* Appends one batch and returns its base offset. */
static inline int64_t
tl_append1(sl_plog_t *pl, int32_t nrec, int64_t ts, size_t payload)
{
    uint8_t buf[8192];
    sl_log_append_info_t info;
    size_t len = tl_batch(buf, nrec, ts, payload, (uint64_t)ts * 31 + payload);

    SL_CHECK_OK(sl_plog_append(pl, buf, len, &info));
    return info.base_offset;
}

/* Blocks until offsets < upto of pl are durable (or it failed). */
static inline int
tl_flush(sl_log_mgr_t *mgr, sl_plog_t *pl, int64_t upto)
{
    int rc = sl_plog_request_flush(pl, upto);

    while (rc == SL_EAGAIN) {
        sl_log_mgr_wait(mgr, 1000);
        if (sl_plog_status(pl) != SL_OK)
            return sl_plog_status(pl);
        rc = sl_plog_is_durable(pl, upto - 1) ? SL_OK : SL_EAGAIN;
    }
    return rc;
}

#endif
