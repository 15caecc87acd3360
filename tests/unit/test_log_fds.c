/*
 * test_log_fds.c -- file descriptors: sealed segments keep none for their
 * indexes and only a bounded LRU of .log fds, so a low RLIMIT_NOFILE with
 * many segments still serves every old segment, appends, restarts (clean
 * and unclean); running out at a roll is a retriable error.
 */
#include "test_log_util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static sl_log_mgr_t *
open_lru(sl_log_cfg_t *cfg, int64_t max_open)
{
    sl_log_mgr_opts_t opts;

    sl_log_mgr_opts_init(&opts);
    tl_small_cfg(cfg);
    cfg->segment_bytes = 300; /* one 261-byte batch per segment */
    opts.default_cfg = *cfg;
    opts.max_open_segments = max_open;
    return tl_open(sl_test_dir(), NULL, &opts);
}

/* Reads every offset back: each batch is where it should be. */
static void
read_all(sl_plog_t *pl, int64_t n)
{
    for (int64_t off = 0; off < n; off++) {
        sl_log_region_t r;
        sl_batch_hdr_t h;
        uint8_t *p;

        SL_CHECK_OK(sl_plog_read(pl, off, 1000, n, true, &r));
        SL_CHECK(r.len > 0);
        p = tl_region_bytes(&r);
        SL_CHECK_OK(sl_batch_hdr_parse(p, (size_t)r.len, &h));
        SL_CHECK_EQ(h.base_offset, off);
        free(p);
        sl_log_region_release(&r);
    }
}

#define NSEG 300

SL_TEST(fds_many_segments_under_low_rlimit)
{
    struct rlimit old, low;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    sl_log_region_t held;

    SL_CHECK_OK(getrlimit(RLIMIT_NOFILE, &old));
    /* 300 segments would need 900 fds the old way; allow ~60 more. */
    low = old;
    low.rlim_cur = (rlim_t)open_fds() + 64;
    SL_CHECK_OK(setrlimit(RLIMIT_NOFILE, &low));
    mgr = open_lru(&cfg, 16);
    SL_CHECK_OK(sl_log_mgr_create(mgr, "d", 0, &cfg, &pl));
    for (int i = 0; i < NSEG; i++) {
        tl_append1(pl, 1, 1 + i, 200);
        if (i % 10 == 9) /* rolled segments are flushed in the background */
            SL_CHECK_OK(tl_flush(mgr, pl, i + 1));
    }
    SL_CHECK_EQ(sl_plog_segment_count(pl), NSEG);
    SL_CHECK(open_fds() < (int)low.rlim_cur);
    /* a region keeps its segment's fd across eviction */
    SL_CHECK_OK(sl_plog_read(pl, 3, 1000, NSEG, true, &held));
    read_all(pl, NSEG);
    uint8_t *p = tl_region_bytes(&held);
    SL_CHECK_EQ(sl_be64(p), 3);
    free(p);
    sl_log_region_release(&held);
    SL_CHECK(open_fds() < (int)low.rlim_cur);
    sl_log_mgr_close(mgr);

    mgr = open_lru(&cfg, 16); /* clean load */
    pl = sl_log_mgr_get(mgr, "d", 0);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), NSEG);
    read_all(pl, NSEG);
    tl_append1(pl, 1, 1000, 200);
    SL_CHECK_OK(tl_flush(mgr, pl, NSEG + 1));
    sl_log_mgr_abandon(mgr); /* and an unclean one: every segment walked */

    mgr = open_lru(&cfg, 16);
    pl = sl_log_mgr_get(mgr, "d", 0);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), NSEG + 1);
    read_all(pl, NSEG + 1);
    SL_CHECK(open_fds() < (int)low.rlim_cur);
    sl_log_mgr_close(mgr);
    SL_CHECK_OK(setrlimit(RLIMIT_NOFILE, &old));
}

SL_TEST(fds_exhausted_at_roll_is_retriable)
{
    struct rlimit old, low;
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_lru(&cfg, 16);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;
    int hog[256], nhog = 0;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "d", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 200);
    SL_CHECK_OK(getrlimit(RLIMIT_NOFILE, &old));
    low = old;
    low.rlim_cur = (rlim_t)open_fds() + 200;
    SL_CHECK_OK(setrlimit(RLIMIT_NOFILE, &low));
    /* take every descriptor but one: a roll needs three */
    while (nhog < 256 && (hog[nhog] = dup(0)) >= 0)
        nhog++;
    SL_CHECK_EQ(errno, EMFILE);
    SL_CHECK(nhog > 1 && nhog < 256);
    close(hog[--nhog]);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 1, 2, 200, 3), &info), SL_ENFILE);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    while (nhog > 0)
        close(hog[--nhog]);
    SL_CHECK_OK(sl_plog_append(pl, buf, tl_batch(buf, 1, 2, 200, 3), &info));
    SL_CHECK_EQ(info.base_offset, 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 2);
    SL_CHECK_OK(setrlimit(RLIMIT_NOFILE, &old));
    SL_CHECK_OK(tl_flush(mgr, pl, 2));
    read_all(pl, 2);
    sl_log_mgr_close(mgr);
}
