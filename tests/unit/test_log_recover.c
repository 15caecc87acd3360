/*
 * test_log_recover.c -- loading after clean and unclean stops: torn tails
 * are cut, indexes rebuilt, corruption below the recovery point takes the
 * partition offline (eagerly for broken header chains, lazily on read for
 * bad CRCs).
 */
#include "test_log_util.h"

#include <dirent.h>

static sl_plog_t *
setup(sl_log_mgr_t **mgr, sl_log_cfg_t *cfg)
{
    sl_plog_t *pl;

    tl_small_cfg(cfg);
    *mgr = tl_open(sl_test_dir(), cfg, NULL);
    SL_CHECK_OK(sl_log_mgr_create(*mgr, "r", 0, cfg, &pl));
    return pl;
}

static sl_plog_t *
reopen(sl_log_mgr_t **mgr, const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl;

    *mgr = tl_open(sl_test_dir(), cfg, NULL);
    pl = sl_log_mgr_get(*mgr, "r", 0);
    SL_CHECK(pl != NULL);
    return pl;
}

/* File position of the batch holding `offset`. */
static void
where(sl_plog_t *pl, int64_t offset, int64_t *base, int64_t *pos, int64_t *len)
{
    sl_log_region_t r;
    char *p;

    SL_CHECK_OK(sl_plog_read(pl, offset, 1, sl_plog_leo(pl), true, &r));
    SL_CHECK(r.len > 0);
    *pos = r.pos;
    *len = r.len;
    /* the segment's base is its file name; read it back from /proc */
    char link[64], target[4200];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", r.fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    SL_CHECK(n > 24);
    target[n] = '\0';
    p = strrchr(target, '/');
    *base = strtoll(p + 1, NULL, 10);
    sl_log_region_release(&r);
}

static const char *
seg_file(int64_t base, const char *sfx)
{
    static char path[4300];

    snprintf(path, sizeof(path), "%s/r-0/%020" PRId64 "%s", sl_test_dir(), base, sfx);
    return path;
}

static void
poke(const char *path, int64_t pos, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);

    SL_CHECK(fd >= 0);
    SL_CHECK_EQ(pwrite(fd, bytes, n, pos), (ssize_t)n);
    close(fd);
}

static int64_t
max_seg_base(void)
{
    char dir[4200];
    DIR *d;
    struct dirent *de;
    int64_t best = -1;

    snprintf(dir, sizeof(dir), "%s/r-0", sl_test_dir());
    d = opendir(dir);
    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n == 24 && strcmp(de->d_name + 20, ".log") == 0)
            best = SL_MAX(best, strtoll(de->d_name, NULL, 10));
    }
    closedir(d);
    return best;
}

static void
cut(const char *path, int64_t size)
{
    SL_CHECK_OK(truncate(path, size));
}

SL_TEST(recover_cuts_torn_tail_and_drops_later_segments)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len, durable;

    for (int i = 0; i < 10; i++)
        tl_append1(pl, 2, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, sl_plog_leo(pl)));
    sl_log_mgr_checkpoint(mgr);
    durable = sl_plog_leo(pl);
    for (int i = 0; i < 40; i++)
        tl_append1(pl, 2, 200 + i, 100);
    SL_CHECK(sl_plog_segment_count(pl) >= 4);
    /* tear in the middle of the batch at offset 40 (a later segment) */
    where(pl, 40, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    cut(seg_file(base, ".log"), pos + len / 2);
    poke(seg_file(base, ".log"), pos + 3, "\x7f\x7f", 2);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 40);
    SL_CHECK(sl_plog_leo(pl) >= durable);
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 40);
    /* later segments are gone, appends continue at 40 */
    SL_CHECK_EQ(max_seg_base(), base);
    SL_CHECK_EQ(tl_append1(pl, 1, 999, 10), 40);
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 41);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_rebuilds_garbage_indexes)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    uint8_t junk[64];
    int64_t off, ts;

    for (int i = 0; i < 30; i++)
        tl_append1(pl, 1, 100 + i, 100);
    sl_log_mgr_abandon(mgr);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)sl_test_rand();
    poke(seg_file(0, ".index"), 0, junk, sizeof(junk));
    poke(seg_file(0, ".timeindex"), 0, junk, sizeof(junk));
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 30);
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 110, &off, &ts));
    SL_CHECK_EQ(off, 10);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_clean_start_falls_back_when_index_is_insane)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t off, ts;

    for (int i = 0; i < 30; i++)
        tl_append1(pl, 1, 100 + i, 100);
    sl_log_mgr_close(mgr);
    /* entries out of order */
    poke(seg_file(0, ".index"), 0, "\0\0\0\x09\0\0\0\x10\0\0\0\x01\0\0\0\x20", 16);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 30);
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 104, &off, &ts));
    SL_CHECK_EQ(off, 4);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_broken_header_below_recovery_point_goes_offline)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len;
    uint8_t buf[512];
    sl_log_append_info_t info;
    sl_log_region_t r;

    for (int i = 0; i < 30; i++)
        tl_append1(pl, 1, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, sl_plog_leo(pl)));
    sl_log_mgr_checkpoint(mgr);
    where(pl, 5, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    poke(seg_file(base, ".log"), pos + 8, "\0\0\x7f\0", 4); /* batchLength */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_read(pl, 0, 100, 100, true, &r), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 1, 1, 10, 1), &info), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 1), SL_EOFFLINE);
    /* the checkpoint keeps its entry so the next start finds it again */
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
}

static void
lazy_crc_case(bool clean)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len;
    sl_log_region_t r;

    for (int i = 0; i < 30; i++)
        tl_append1(pl, 1, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, sl_plog_leo(pl)));
    sl_log_mgr_checkpoint(mgr);
    where(pl, 20, &base, &pos, &len);
    if (clean)
        sl_log_mgr_close(mgr);
    else
        sl_log_mgr_abandon(mgr);
    poke(seg_file(base, ".log"), pos + 70, "\x55", 1); /* a record byte */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_OK(sl_plog_read(pl, 0, 300, sl_plog_hw(pl), true, &r));
    sl_log_region_release(&r);
    SL_CHECK_EQ(sl_plog_read(pl, 19, 1 << 20, sl_plog_hw(pl), true, &r), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_bad_crc_below_recovery_point_found_on_read)
{
    lazy_crc_case(false);
}

SL_TEST(recover_clean_start_bad_crc_found_on_read)
{
    lazy_crc_case(true);
}

SL_TEST(recover_bad_crc_past_recovery_point_is_cut)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len;

    for (int i = 0; i < 10; i++)
        tl_append1(pl, 1, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, 10));
    sl_log_mgr_checkpoint(mgr);
    for (int i = 10; i < 30; i++)
        tl_append1(pl, 1, 100 + i, 100);
    where(pl, 20, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    poke(seg_file(base, ".log"), pos + 70, "\x55", 1);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 20);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_zero_filled_tail_is_cut)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len;
    struct stat st;

    cfg.segment_bytes = 1 << 20;
    sl_plog_set_cfg(pl, &cfg);
    for (int i = 0; i < 5; i++)
        tl_append1(pl, 1, 100 + i, 100);
    where(pl, 4, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    /* what ext4 can show after a crash: the size grew, the blocks did not */
    cut(seg_file(base, ".log"), pos + len + 4096);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    SL_CHECK_OK(stat(seg_file(base, ".log"), &st));
    SL_CHECK_EQ(st.st_size, pos + len);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_damaged_offset_or_epoch_past_recovery_point_is_cut)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len;

    cfg.segment_bytes = 1 << 20;
    sl_plog_set_cfg(pl, &cfg);
    sl_plog_set_leader_epoch(pl, 2);
    for (int i = 0; i < 10; i++)
        tl_append1(pl, 1, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, 10));
    sl_log_mgr_checkpoint(mgr);
    for (int i = 10; i < 20; i++)
        tl_append1(pl, 1, 100 + i, 100);
    where(pl, 15, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    /* neither field is covered by the CRC */
    poke(seg_file(base, ".log"), pos + 15, "\x03", 1); /* epoch 2 -> 3 */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 15);
    where(pl, 12, &base, &pos, &len);
    sl_log_mgr_abandon(mgr);
    poke(seg_file(base, ".log"), pos + 7, "\x0d", 1); /* baseOffset 12 -> 13 */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 12);
    SL_CHECK_EQ(sl_plog_leader_epoch(pl), 2);
    sl_log_mgr_close(mgr);
}

/* Records per batch 2: offsets [0, 2n). Returns the base of a middle segment. */
static int64_t
fill_segments(sl_log_mgr_t *mgr, sl_plog_t *pl, int n)
{
    int64_t base, pos, len;

    for (int i = 0; i < n; i++)
        tl_append1(pl, 2, 100 + i, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, sl_plog_leo(pl)));
    sl_log_mgr_checkpoint(mgr);
    SL_CHECK(sl_plog_segment_count(pl) >= 4);
    where(pl, sl_plog_leo(pl) / 2, &base, &pos, &len);
    SL_CHECK(base > 0 && base < max_seg_base());
    return base;
}

/* Missing or emptied middle segment, after a clean or an unclean stop:
 * everything else stays and is served; a read inside the gap gets the next
 * segment's first batch. */
SL_TEST(recover_missing_middle_segment_keeps_the_rest)
{
    for (int variant = 0; variant < 4; variant++) {
        bool clean = variant & 1, empty = variant & 2;
        sl_log_cfg_t cfg;
        sl_log_mgr_t *mgr;
        sl_plog_t *pl = setup(&mgr, &cfg);
        int64_t mid = fill_segments(mgr, pl, 40), leo = sl_plog_leo(pl), next = -1;
        sl_log_region_t r;

        for (int64_t o = mid; o < leo && next < 0; o++) {
            int64_t b, p, l;

            where(pl, o, &b, &p, &l);
            if (b != mid)
                next = b;
        }
        SL_CHECK(next > mid);
        if (clean)
            sl_log_mgr_close(mgr);
        else
            sl_log_mgr_abandon(mgr);
        if (empty) {
            cut(seg_file(mid, ".log"), 0);
        } else {
            SL_CHECK_OK(unlink(seg_file(mid, ".log")));
            SL_CHECK_OK(unlink(seg_file(mid, ".index")));
            SL_CHECK_OK(unlink(seg_file(mid, ".timeindex")));
        }
        pl = reopen(&mgr, &cfg);
        SL_CHECK_OK(sl_plog_status(pl));
        SL_CHECK_EQ(sl_plog_leo(pl), leo);
        SL_CHECK_EQ(sl_plog_log_start(pl), 0);
        for (int64_t o = 0; o < leo; o += 2) {
            SL_CHECK_OK(sl_plog_read(pl, o, 1, leo, true, &r));
            SL_CHECK(r.len > 0);
            /* before the gap: exact; inside it: the next segment's start */
            SL_CHECK_EQ(r.first_offset, o >= mid && o < next ? next : o);
            sl_log_region_release(&r);
        }
        SL_CHECK_EQ(tl_append1(pl, 1, 999, 10), leo);
        sl_log_mgr_close(mgr);
        pl = reopen(&mgr, &cfg);
        SL_CHECK_OK(sl_plog_status(pl));
        SL_CHECK_EQ(sl_plog_leo(pl), leo + 1);
        sl_log_mgr_close(mgr);
        char cmd[4400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", sl_test_dir());
        SL_CHECK_OK(system(cmd));
    }
}

SL_TEST(recover_torn_tail_after_clean_stop_is_cut)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    int64_t base, pos, len, leo;

    for (int i = 0; i < 10; i++)
        tl_append1(pl, 2, 100 + i, 100);
    leo = sl_plog_leo(pl);
    where(pl, leo - 1, &base, &pos, &len);
    sl_log_mgr_close(mgr);
    cut(seg_file(base, ".log"), pos + len / 2);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), leo - 2);
    SL_CHECK_EQ(tl_append1(pl, 1, 999, 10), leo - 2);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_log_start_past_the_end_is_refused)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    struct stat st;
    FILE *f;

    for (int i = 0; i < 5; i++)
        tl_append1(pl, 2, 100 + i, 100);
    sl_log_mgr_close(mgr);
    f = fopen(sl_test_path("log-start-offset-checkpoint"), "w");
    SL_CHECK(f != NULL);
    fprintf(f, "0\n1\nr 0 100\n");
    fclose(f);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
    /* the data is still there for the operator */
    SL_CHECK_OK(stat(seg_file(0, ".log"), &st));
    SL_CHECK(st.st_size > 0);
    /* the checkpoint entry is written back unchanged: still refused */
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
}

SL_TEST(recover_recreated_partition_never_adopts_a_leftover_dir)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = setup(&mgr, &cfg);
    char from[4300], to[4300];

    for (int i = 0; i < 30; i++)
        tl_append1(pl, 2, 100 + i, 100);
    sl_log_mgr_close(mgr);
    snprintf(from, sizeof(from), "%s/r-0", sl_test_dir());
    snprintf(to, sizeof(to), "%s/held", sl_test_dir());
    SL_CHECK_OK(rename(from, to));
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    SL_CHECK(sl_log_mgr_get(mgr, "r", 0) == NULL);
    SL_CHECK_OK(rename(to, from)); /* a leftover appears under the name */
    SL_CHECK_OK(sl_log_mgr_create(mgr, "r", 0, &cfg, &pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 0);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    SL_CHECK_EQ(max_seg_base(), 0);
    tl_append1(pl, 1, 1, 10);
    sl_log_mgr_close(mgr);
    pl = reopen(&mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    sl_log_mgr_close(mgr);
}
