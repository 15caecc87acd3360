/*
 * test_log_trunc.c -- follower truncation: cut points, durability across a
 * crash, read regions that outlive the cut, flushes in flight, the epoch
 * cache, and restarting the log at an offset.
 */
#include "test_log_util.h"

static sl_plog_t *
setup(sl_log_mgr_t **mgr, sl_log_cfg_t *cfg)
{
    sl_plog_t *pl;

    tl_small_cfg(cfg);
    *mgr = tl_open(sl_test_dir(), cfg, NULL);
    SL_CHECK_OK(sl_log_mgr_create(*mgr, "t", 0, cfg, &pl));
    return pl;
}

static sl_plog_t *
reopen(sl_log_mgr_t **mgr, const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl;

    *mgr = tl_open(sl_test_dir(), cfg, NULL);
    pl = sl_log_mgr_get(*mgr, "t", 0);
    SL_CHECK(pl != NULL);
    return pl;
}

/* A follower append of one batch of nrec records at the LEO, epoch e. */
static void
follow1(sl_plog_t *pl, int32_t nrec, int32_t e, uint64_t seed)
{
    uint8_t buf[1024];
    sl_log_append_info_t info;
    size_t len = tl_batch(buf, nrec, 1000 + (int64_t)seed, 100, seed);

    sl_batch_set_base_offset(buf, sl_plog_leo(pl));
    sl_batch_set_leader_epoch(buf, e);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, len, &info));
}

/* Every batch from the log start on, read back, must chain to the LEO. */
static void
check_chain(sl_plog_t *pl)
{
    int64_t off = sl_plog_log_start(pl);

    while (off < sl_plog_leo(pl)) {
        sl_log_region_t r;

        SL_CHECK_OK(sl_plog_read(pl, off, 1 << 20, sl_plog_leo(pl), true, &r));
        SL_CHECK(r.len > 0);
        SL_CHECK(r.next_offset > off);
        off = r.next_offset;
        sl_log_region_release(&r);
    }
    SL_CHECK_EQ(off, sl_plog_leo(pl));
}

SL_TEST(log_truncate_cuts_at_batch_base_and_deletes_later_segments)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    size_t nsegs;

    for (int i = 0; i < 40; i++)
        follow1(pl, 3, 0, (uint64_t)i); /* batches [3i, 3i + 2] */
    nsegs = sl_plog_segment_count(pl);
    SL_CHECK(nsegs >= 4);
    sl_plog_set_hw(pl, 100);
    SL_CHECK_EQ(sl_plog_truncate_to(pl, -1), SL_EINVAL);
    SL_CHECK_OK(sl_plog_truncate_to(pl, 120)); /* at or past the LEO: nothing */
    SL_CHECK_EQ(sl_plog_leo(pl), 120);
    SL_CHECK_OK(sl_plog_truncate_to(pl, 46)); /* inside [45, 47] */
    SL_CHECK_EQ(sl_plog_leo(pl), 45);
    SL_CHECK_EQ(sl_plog_hw(pl), 45);
    SL_CHECK(sl_plog_durable_offset(pl) <= 45);
    SL_CHECK(sl_plog_segment_count(pl) < nsegs);
    check_chain(pl);
    /* appends go on at the cut, from a leader and as a leader */
    follow1(pl, 2, 1, 99);
    SL_CHECK_EQ(sl_plog_leo(pl), 47);
    sl_plog_set_leader_epoch(pl, 2); /* this replica is elected */
    SL_CHECK_EQ(tl_append1(pl, 1, 2000, 50), 47);
    check_chain(pl);
    /* a cut at a segment's first batch leaves that segment empty */
    SL_CHECK_OK(sl_plog_truncate_to(pl, 3));
    SL_CHECK_EQ(sl_plog_leo(pl), 3);
    check_chain(pl);
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 3);
    check_chain(pl);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_truncate_then_crash_never_brings_the_tail_back)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int32_t e;
    int64_t end;

    for (int i = 0; i < 30; i++)
        follow1(pl, 2, i < 10 ? 1 : i < 20 ? 3 : 4, (uint64_t)i);
    SL_CHECK_OK(tl_flush(mgr, pl, 60));
    sl_log_mgr_checkpoint(mgr);               /* recovery point 60 on disk */
    SL_CHECK_OK(sl_plog_truncate_to(pl, 31)); /* batch [30, 31]: LEO 30 */
    SL_CHECK_EQ(sl_plog_leo(pl), 30);
    sl_log_mgr_abandon(mgr); /* no flush, no marker: a crash */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 30);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(e, 3);
    SL_CHECK_EQ(end, 30);
    SL_CHECK_EQ(sl_plog_epoch_end(pl, 4, &e, &end) == SL_OK && e == 4, false);
    check_chain(pl);
    /* the new leader's data after the cut survives the next crash too */
    for (int i = 0; i < 5; i++)
        follow1(pl, 2, 6, 100 + (uint64_t)i);
    SL_CHECK_OK(tl_flush(mgr, pl, 40));
    sl_log_mgr_abandon(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 40);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(end, 30);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 6, &e, &end));
    SL_CHECK_EQ(e, 6);
    SL_CHECK_EQ(end, 40);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_truncate_keeps_live_regions_readable)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    sl_log_region_t in_cut, in_deleted;
    uint8_t *a, *b, *a2, *b2;

    for (int i = 0; i < 40; i++)
        follow1(pl, 1, 0, (uint64_t)i);
    /* a region in the segment that will be cut (past the cut) and one in a
     * segment that will go */
    SL_CHECK_OK(sl_plog_read(pl, 12, 1 << 20, 40, true, &in_cut));
    SL_CHECK_OK(sl_plog_read(pl, 38, 1 << 20, 40, true, &in_deleted));
    SL_CHECK(in_cut.seg != in_deleted.seg);
    a = tl_region_bytes(&in_cut);
    b = tl_region_bytes(&in_deleted);
    SL_CHECK_OK(sl_plog_truncate_to(pl, in_cut.first_offset));
    SL_CHECK_EQ(sl_plog_leo(pl), in_cut.first_offset);
    /* new data lands where the old was */
    for (int i = 0; i < 10; i++)
        follow1(pl, 1, 2, 500 + (uint64_t)i);
    a2 = tl_region_bytes(&in_cut);
    b2 = tl_region_bytes(&in_deleted);
    SL_CHECK_MEM(a2, a, (size_t)in_cut.len);
    SL_CHECK_MEM(b2, b, (size_t)in_deleted.len);
    free(a2);
    free(b2);
    /* and the log itself serves the new bytes */
    check_chain(pl);
    sl_log_region_release(&in_cut);
    sl_log_region_release(&in_deleted);
    free(a);
    free(b);
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 22);
    check_chain(pl);
    sl_log_mgr_close(mgr);
}

static int64_t reported[16];
static int nreported;

static void
on_durable(void *arg, sl_plog_t *pl, int64_t durable_end, int rc)
{
    (void)arg;
    (void)pl;
    if (rc == SL_OK && nreported < 16)
        reported[nreported++] = durable_end;
}

SL_TEST(log_truncate_voids_a_flush_in_flight)
{
    sl_log_mgr_opts_t opts;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    sl_log_mgr_opts_init(&opts);
    opts.durable_fn = on_durable;
    opts.hw_mode = SL_LOG_HW_MANUAL;
    tl_small_cfg(&cfg);
    cfg.segment_bytes = 1 << 20;
    mgr = tl_open(sl_test_dir(), &cfg, &opts);
    SL_CHECK_OK(sl_log_mgr_create(mgr, "t", 0, &cfg, &pl));
    nreported = 0;
    for (int i = 0; i < 10; i++)
        follow1(pl, 1, 0, (uint64_t)i);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 10), SL_EAGAIN);
    /* its completion can only run at the next poll, after all this */
    SL_CHECK_OK(sl_plog_truncate_to(pl, 5));
    for (int i = 0; i < 10; i++)
        follow1(pl, 1, 1, 100 + (uint64_t)i);
    SL_CHECK_EQ(sl_plog_leo(pl), 15);
    for (int k = 0; k < 100 && sl_plog_durable_offset(pl) < 15; k++) {
        sl_log_mgr_wait(mgr, 1000);
        /* the voided job covered 10, which now holds unsynced new data */
        SL_CHECK(sl_plog_durable_offset(pl) <= 5 || sl_plog_durable_offset(pl) == 15);
    }
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 15);
    SL_CHECK(nreported >= 2);
    SL_CHECK(reported[0] <= 5);
    SL_CHECK_EQ(reported[nreported - 1], 15);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_truncate_fully_and_start_at_then_appends_continue)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    sl_log_region_t r;
    int32_t e;
    int64_t end;
    uint8_t *old;

    for (int i = 0; i < 20; i++)
        follow1(pl, 2, 3, (uint64_t)i);
    SL_CHECK_OK(tl_flush(mgr, pl, 40));
    sl_log_mgr_checkpoint(mgr);
    SL_CHECK_OK(sl_plog_read(pl, 0, 1 << 20, 40, true, &r));
    old = tl_region_bytes(&r);
    SL_CHECK_EQ(sl_plog_truncate_fully_and_start_at(pl, -3), SL_EINVAL);
    SL_CHECK_OK(sl_plog_truncate_fully_and_start_at(pl, 1000));
    SL_CHECK_EQ(sl_plog_leo(pl), 1000);
    SL_CHECK_EQ(sl_plog_log_start(pl), 1000);
    SL_CHECK_EQ(sl_plog_hw(pl), 1000);
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 1000);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    SL_CHECK_EQ(sl_plog_epoch_end(pl, 3, &e, &end) == SL_OK && e == 3, false);
    /* the region from before still reads the old bytes */
    {
        uint8_t *again = tl_region_bytes(&r);

        SL_CHECK_MEM(again, old, (size_t)r.len);
        free(again);
    }
    sl_log_region_release(&r);
    free(old);
    SL_CHECK_EQ(sl_plog_read(pl, 0, 100, 2000, true, &r), SL_ERANGE);
    follow1(pl, 2, 5, 77);
    SL_CHECK_EQ(sl_plog_leo(pl), 1002);
    follow1(pl, 1, 5, 78);
    sl_log_mgr_abandon(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_log_start(pl), 1000);
    SL_CHECK_EQ(sl_plog_leo(pl), 1003);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 5, &e, &end));
    SL_CHECK_EQ(end, 1003);
    check_chain(pl);
    /* below the log start, truncate_to restarts the log there */
    SL_CHECK_OK(sl_plog_truncate_to(pl, 10));
    SL_CHECK_EQ(sl_plog_leo(pl), 10);
    SL_CHECK_EQ(sl_plog_log_start(pl), 10);
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 10);
    SL_CHECK_EQ(sl_plog_log_start(pl), 10);
    sl_log_mgr_close(mgr);
}
