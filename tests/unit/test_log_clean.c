/*
 * test_log_clean.c -- the log cleaner (cleanup.policy=compact): the latest
 * value of every key survives, older ones go, tombstones go after
 * delete.retention.ms, the dirty ratio and min.compaction.lag.ms hold a
 * clean back, a small offset map cleans in several passes, readers of
 * replaced segments keep their bytes, and a kill -9 at any moment of a clean
 * never loses a key's latest value (property test against a model).
 */
#include "test_log_util.h"

#include "base/buf.h"
#include "base/fault.h"
#include "base/time.h"

#include <signal.h>
#include <sys/wait.h>

#define NKEYS_MAX 4096

typedef struct model {
    int64_t latest[NKEYS_MAX]; /* sequence of the latest value, -1 tombstone, -2 never */
    int nkeys;
    int64_t seq;
} model_t;

static void
model_init(model_t *m, int nkeys)
{
    m->nkeys = nkeys;
    m->seq = 0;
    for (int i = 0; i < NKEYS_MAX; i++)
        m->latest[i] = -2;
}

static void
compact_cfg(sl_log_cfg_t *cfg)
{
    tl_small_cfg(cfg);
    cfg->segment_bytes = 4096;
    cfg->segment_index_bytes = 4096;
    cfg->compact = true;
    cfg->retention_ms = -1;
    cfg->min_cleanable_dirty_ratio = 0.01;
}

static sl_log_mgr_t *
open_mgr(const sl_log_cfg_t *cfg, int64_t dedupe)
{
    sl_log_mgr_opts_t opts;

    sl_log_mgr_opts_init(&opts);
    opts.cleaner_backoff_ms = 0;
    if (dedupe > 0)
        opts.cleaner_dedupe_buffer_size = dedupe;
    return tl_open(sl_test_dir(), cfg, &opts);
}

static sl_plog_t *
get_pl(sl_log_mgr_t *mgr, const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl = sl_log_mgr_get(mgr, "t", 0);

    if (pl == NULL)
        SL_CHECK_OK(sl_log_mgr_create(mgr, "t", 0, cfg, &pl));
    return pl;
}

/* Appends n updates in batches of per_batch records; key i gets value
 * "v<seq>" or a tombstone when tomb_every divides seq. */
static void
write_updates(sl_plog_t *pl, model_t *m, int n, int per_batch, int tomb_every, sl_codec_t codec)
{
    sl_batch_opts_t o;
    sl_batch_builder_t b;
    sl_buf_t out;

    sl_batch_opts_init(&o);
    o.codec = codec;
    sl_batch_builder_init(&b, &o);
    sl_buf_init(&out);
    for (int i = 0; i < n; i++) {
        int k = (int)(sl_test_rand() % (uint64_t)m->nkeys);
        char key[16], val[32];
        int64_t seq = m->seq++;
        bool tomb = tomb_every > 0 && seq % tomb_every == 0;
        sl_bytes_t kb, vb = SL_BYTES_NULL;

        snprintf(key, sizeof(key), "k%04d", k);
        snprintf(val, sizeof(val), "v%" PRId64, seq);
        kb = (sl_bytes_t){(const uint8_t *)key, (int32_t)strlen(key)};
        if (!tomb)
            vb = (sl_bytes_t){(const uint8_t *)val, (int32_t)strlen(val)};
        SL_CHECK_OK(sl_batch_builder_append(&b, sl_wall_ms(), kb, vb, NULL, 0));
        m->latest[k] = tomb ? -1 : seq;
        if (b.count == per_batch || i + 1 == n) {
            sl_log_append_info_t info;

            sl_buf_reset(&out);
            SL_CHECK_OK(sl_batch_builder_finish(&b, &out));
            SL_CHECK_OK(sl_plog_append(pl, out.data, out.len, &info));
        }
    }
    sl_batch_builder_deinit(&b);
    sl_buf_deinit(&out);
}

static void
make_durable(sl_log_mgr_t *mgr, sl_plog_t *pl)
{
    int64_t deadline = sl_mono_ms() + 10000;

    if (sl_plog_request_flush(pl, sl_plog_leo(pl)) == SL_OK)
        return;
    while (!sl_plog_is_durable(pl, sl_plog_leo(pl) - 1) && sl_mono_ms() < deadline)
        sl_log_mgr_wait(mgr, 100);
    SL_CHECK(sl_plog_is_durable(pl, sl_plog_leo(pl) - 1));
}

/* One scheduling pass and its completion. Returns whether a clean ran. */
static bool
clean_once(sl_log_mgr_t *mgr, sl_plog_t *pl, int64_t now)
{
    int64_t deadline = sl_mono_ms() + 30000;

    sl_log_mgr_clean_now(mgr, now);
    if (!sl_plog_cleaning(pl))
        return false;
    while (sl_plog_cleaning(pl) && sl_mono_ms() < deadline)
        sl_log_mgr_wait(mgr, 100);
    SL_CHECK(!sl_plog_cleaning(pl));
    return true;
}

typedef struct scan_result {
    int64_t last[NKEYS_MAX]; /* last value seen per key (-1 tombstone, -2 none) */
    int64_t records, tombstones;
} scan_result_t;

/* Reads the whole log through sl_plog_read, as a consumer would. */
static void
scan_log(sl_plog_t *pl, scan_result_t *res)
{
    int64_t off = sl_plog_log_start(pl), prev = -1;
    sl_buf_t scratch;

    sl_buf_init(&scratch);
    for (int i = 0; i < NKEYS_MAX; i++)
        res->last[i] = -2;
    res->records = res->tombstones = 0;
    while (off < sl_plog_hw(pl)) {
        sl_log_region_t r;
        uint8_t *p;
        int64_t pos = 0;

        SL_CHECK_OK(sl_plog_read(pl, off, 1 << 20, sl_plog_hw(pl), true, &r));
        if (r.len == 0) {
            sl_log_region_release(&r);
            break;
        }
        p = tl_region_bytes(&r);
        while (pos < r.len) {
            sl_record_iter_t it;
            sl_record_t rec;
            sl_batch_hdr_t h;
            int rc;

            SL_CHECK_OK(sl_batch_hdr_parse(p + pos, (size_t)(r.len - pos), &h));
            SL_CHECK_OK(
                sl_record_iter_init(&it, p + pos, (size_t)sl_batch_size(&h), &scratch, 1 << 24));
            while ((rc = sl_record_iter_next(&it, &rec)) == 1) {
                int k;

                SL_CHECK(rec.offset > prev);
                prev = rec.offset;
                SL_CHECK(rec.key.len == 5 && sscanf((const char *)rec.key.ptr + 1, "%4d", &k) == 1);
                res->records++;
                if (rec.value.len < 0) {
                    res->last[k] = -1;
                    res->tombstones++;
                } else {
                    char v[32];

                    SL_CHECK(rec.value.len < 31);
                    memcpy(v, rec.value.ptr, (size_t)rec.value.len);
                    v[rec.value.len] = 0;
                    res->last[k] = strtoll(v + 1, NULL, 10);
                }
            }
            SL_CHECK_EQ(rc, 0);
            pos += sl_batch_size(&h);
        }
        free(p);
        off = r.next_offset;
        sl_log_region_release(&r);
    }
    sl_buf_deinit(&scratch);
}

/* Every key's latest value is what the log serves last for it (a removed
 * tombstone reads as "no value", which is what it meant). */
static void
check_model(sl_plog_t *pl, const model_t *m, scan_result_t *res)
{
    scan_log(pl, res);
    for (int k = 0; k < m->nkeys; k++) {
        int64_t want = m->latest[k], got = res->last[k];

        if (want < 0)
            SL_CHECK(got < 0 || got == -2);
        else
            SL_CHECK_EQ(got, want);
    }
}

SL_TEST(log_clean_keeps_latest_value_per_key)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    size_t segs_before;

    compact_cfg(&cfg);
    model_init(&m, 10);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 10 * 1000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    segs_before = sl_plog_segment_count(pl);
    SL_CHECK(segs_before > 20);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    check_model(pl, &m, &res);
    /* 10,000 records down to about one per key per cleaned segment, plus
     * the active segment (at most 4 KiB of ~20-byte records) */
    SL_CHECK(res.records < 10 * (int64_t)sl_plog_segment_count(pl) + 300);
    /* groups are bounded by the next segment's old size: full segments
     * merge from the second pass on (Kafka's grouping does the same) */
    SL_CHECK(sl_plog_segment_count(pl) < segs_before / 2);
    SL_CHECK(sl_plog_clean_offset(pl) > 9000 && sl_plog_clean_offset(pl) <= sl_plog_leo(pl));
    /* nothing dirty: no second clean */
    SL_CHECK(!clean_once(mgr, pl, sl_wall_ms()));
    write_updates(pl, &m, 500, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    check_model(pl, &m, &res);
    SL_CHECK(sl_plog_segment_count(pl) <= 4);
    sl_log_mgr_close(mgr);

    /* clean reopen trusts the cleaned indexes; unclean rebuilds them */
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    check_model(pl, &m, &res);
    sl_log_mgr_abandon(mgr);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    check_model(pl, &m, &res);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_clean_removes_tombstones_after_delete_retention)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    size_t segs;

    compact_cfg(&cfg);
    cfg.delete_retention_ms = 3600 * 1000;
    model_init(&m, 20);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    /* every 3rd update is a tombstone, compressed batches */
    write_updates(pl, &m, 3000, 7, 3, SL_CODEC_GZIP);
    write_updates(pl, &m, 200, 7, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    check_model(pl, &m, &res);
    /* within delete.retention.ms the latest tombstones stay */
    for (int k = 0; k < m.nkeys; k++) {
        if (m.latest[k] == -1 && sl_plog_clean_offset(pl) > 3000)
            SL_CHECK_EQ(res.last[k], -1);
    }
    /* two hours later they are past the horizon: gone */
    cfg.delete_retention_ms = 0;
    sl_plog_set_cfg(pl, &cfg);
    write_updates(pl, &m, 300, 7, 0, SL_CODEC_ZSTD);
    make_durable(mgr, pl);
    segs = sl_plog_segment_count(pl);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms() + 2 * 3600 * 1000));
    check_model(pl, &m, &res);
    SL_CHECK_EQ(res.tombstones, 0);
    SL_CHECK(segs > 1);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_clean_small_offset_map_cleans_in_passes)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    int passes = 0;

    compact_cfg(&cfg);
    cfg.segment_bytes = 16384;
    model_init(&m, 3000);
    /* 24 KiB: the smallest map, 1024 slots, holds 921 keys per pass */
    mgr = open_mgr(&cfg, 24 * 1024);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 9000, 20, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    sl_log_cleaner_stats_t st;

    while (passes < 50 && clean_once(mgr, pl, sl_wall_ms())) {
        passes++;
        check_model(pl, &m, &res);
    }
    /* 3000 keys through a 921-key map: one pass after the other (a full
     * map chains the next pass at once) */
    sl_log_mgr_cleaner_stats(mgr, &st);
    SL_CHECK(st.cleans >= 3);
    SL_CHECK(sl_plog_clean_offset(pl) > 8000);
    check_model(pl, &m, &res);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_clean_waits_for_dirty_ratio_and_min_lag)
{
    static model_t m;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    compact_cfg(&cfg);
    cfg.min_compaction_lag_ms = 3600 * 1000;
    model_init(&m, 10);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 2000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(!clean_once(mgr, pl, sl_wall_ms())); /* too young */
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms() + 2 * 3600 * 1000));
    /* with min.cleanable.dirty.ratio=1 the clean part always weighs in */
    cfg.min_compaction_lag_ms = 0;
    cfg.min_cleanable_dirty_ratio = 1.0;
    sl_plog_set_cfg(pl, &cfg);
    write_updates(pl, &m, 300, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(!clean_once(mgr, pl, sl_wall_ms()));
    /* ... unless the oldest dirty record passed max.compaction.lag.ms */
    cfg.max_compaction_lag_ms = 1000;
    sl_plog_set_cfg(pl, &cfg);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms() + 10000));
    /* not compacted at all: never */
    cfg.compact = false;
    sl_plog_set_cfg(pl, &cfg);
    write_updates(pl, &m, 2000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(!clean_once(mgr, pl, sl_wall_ms()));
    sl_log_mgr_close(mgr);
}

SL_TEST(log_clean_regions_of_replaced_segments_stay_readable)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    sl_log_region_t r;
    uint8_t *before, *after;

    compact_cfg(&cfg);
    model_init(&m, 10);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 3000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK_OK(sl_plog_read(pl, 0, 1 << 20, sl_plog_hw(pl), true, &r));
    SL_CHECK(r.len > 0);
    before = tl_region_bytes(&r);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    /* the old file is renamed to .deleted but stays open for this reader */
    after = tl_region_bytes(&r);
    SL_CHECK_MEM(after, before, (size_t)r.len);
    free(before);
    free(after);
    sl_log_region_release(&r);
    check_model(pl, &m, &res);
    sl_log_mgr_close(mgr);
}

/* The child: cleans the log over and over until killed. The cleaner's I/O
 * is throttled so a clean spans many milliseconds and the kill lands in
 * every phase (map, writing .cleaned, the renames of the swap). */
static void __attribute__((noreturn)) clean_forever(const sl_log_cfg_t *cfg)
{
    sl_log_mgr_opts_t opts;
    sl_log_mgr_t *mgr = NULL;
    sl_plog_t *pl;

    sl_log_mgr_opts_init(&opts);
    opts.default_cfg = *cfg;
    opts.cleaner_backoff_ms = 0;
    opts.cleaner_io_max_bytes_per_second = 4e6;
    if (sl_log_mgr_open(sl_test_dir(), &opts, &mgr) != SL_OK)
        _exit(2);
    pl = sl_log_mgr_get(mgr, "t", 0);
    if (pl == NULL)
        _exit(3);
    for (;;) {
        sl_log_mgr_clean_now(mgr, sl_wall_ms() + (int64_t)(sl_test_rand() % 2) * 7200000);
        sl_log_mgr_wait(mgr, 5);
    }
}

SL_TEST(log_clean_kill9_never_loses_a_latest_value)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    int64_t cleaned_to = -1;

    compact_cfg(&cfg);
    cfg.delete_retention_ms = 3600 * 1000;
    model_init(&m, 50);
    for (int iter = 0; iter < 40; iter++) {
        sl_log_mgr_t *mgr = open_mgr(&cfg, 0);
        sl_plog_t *pl = get_pl(mgr, &cfg);
        pid_t pid;
        int status;

        SL_CHECK_OK(sl_plog_status(pl));
        check_model(pl, &m, &res);
        cleaned_to = SL_MAX(cleaned_to, sl_plog_clean_offset(pl));
        write_updates(pl, &m, 400, 8, 9, (sl_codec_t)(iter % 2 ? SL_CODEC_LZ4 : SL_CODEC_NONE));
        make_durable(mgr, pl);
        if (iter % 3 == 0)
            sl_log_mgr_abandon(mgr); /* no clean-shutdown marker */
        else
            sl_log_mgr_close(mgr);
        fflush(NULL);
        pid = fork();
        SL_CHECK(pid >= 0);
        if (pid == 0)
            clean_forever(&cfg);
        /* a random moment of the child's cleaning */
        usleep((useconds_t)(sl_test_rand() % 120000));
        SL_CHECK_EQ(kill(pid, SIGKILL), 0);
        SL_CHECK_EQ(waitpid(pid, &status, 0), pid);
        SL_CHECK(WIFSIGNALED(status));
    }
    {
        sl_log_mgr_t *mgr = open_mgr(&cfg, 0);
        sl_plog_t *pl = get_pl(mgr, &cfg);

        SL_CHECK_OK(sl_plog_status(pl));
        check_model(pl, &m, &res);
        /* the children did clean (40 x 400 records for 50 keys) */
        SL_CHECK(cleaned_to > 0);
        SL_CHECK(res.records < 16000 / 2);
        sl_log_mgr_close(mgr);
    }
}

SL_TEST(log_clean_io_errors_before_and_after_the_commit_point)
{
    static model_t m;
    static scan_result_t res;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    compact_cfg(&cfg);
    model_init(&m, 10);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 3000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    /* before the commit: the clean is dropped, the log is untouched */
    sl_fault_arm("log.clean.write", 0, 1);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    sl_fault_disarm_all();
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_clean_offset(pl), -1);
    check_model(pl, &m, &res);
    SL_CHECK_EQ(res.records, 3000);
    /* after it (renaming the old files): offline until a restart, which
     * completes the swap */
    sl_fault_arm("log.clean.rename", 3, 1);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    sl_fault_disarm_all();
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_abandon(mgr);
    mgr = open_mgr(&cfg, 0);
    pl = get_pl(mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    check_model(pl, &m, &res);
    SL_CHECK(res.records < 3000);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_clean_io_max_bytes_per_second_throttles)
{
    static model_t m;
    static scan_result_t res;
    sl_log_mgr_opts_t opts;
    sl_log_cleaner_stats_t st;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    const double limit = 400e3;

    compact_cfg(&cfg);
    model_init(&m, 10);
    sl_log_mgr_opts_init(&opts);
    opts.cleaner_backoff_ms = 0;
    opts.cleaner_io_max_bytes_per_second = limit;
    mgr = tl_open(sl_test_dir(), &cfg, &opts);
    pl = get_pl(mgr, &cfg);
    write_updates(pl, &m, 5000, 10, 0, SL_CODEC_NONE);
    make_durable(mgr, pl);
    SL_CHECK(clean_once(mgr, pl, sl_wall_ms()));
    sl_log_mgr_cleaner_stats(mgr, &st);
    SL_CHECK_EQ(st.cleans, 1);
    SL_CHECK(st.bytes_read > 100000);
    /* a lower bound only: the cleaner may be slower, never faster */
    SL_CHECK(st.busy_ms >=
             (int64_t)((double)(st.bytes_read + st.bytes_written) * 1000 / limit) - 1);
    check_model(pl, &m, &res);
    sl_log_mgr_close(mgr);
}
