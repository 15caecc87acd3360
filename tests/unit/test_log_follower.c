/*
 * test_log_follower.c -- append origins: a follower log fed the batches a
 * leader log wrote ends up with the same files; what a follower refuses,
 * with exact statuses, leaves the log untouched.
 */
#include "test_log_util.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

static sl_log_mgr_t *
open_in(const char *name, const sl_log_cfg_t *cfg)
{
    sl_log_mgr_opts_t opts;

    sl_log_mgr_opts_init(&opts);
    opts.hw_mode = SL_LOG_HW_MANUAL;
    mkdir(sl_test_path(name), 0755);
    return tl_open(sl_test_path(name), cfg, &opts);
}

static sl_plog_t *
mk(sl_log_mgr_t *mgr, const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl = NULL;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "t", 0, cfg, &pl));
    return pl;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long n;

    SL_CHECK(f != NULL);
    SL_CHECK_EQ(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    SL_CHECK(n >= 0);
    rewind(f);
    p = malloc((size_t)n + 1);
    SL_CHECK(p != NULL);
    SL_CHECK_EQ(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Every file of partition t-0 in a and b has the same bytes; returns how
 * many were compared. */
static int
same_partition_files(const char *a, const char *b)
{
    char da[PATH_MAX], db[PATH_MAX], pa[PATH_MAX + 300], pb[PATH_MAX + 300];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(da, sizeof(da), "%s/t-0", a);
    snprintf(db, sizeof(db), "%s/t-0", b);
    d = opendir(da);
    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        size_t la, lb;
        uint8_t *x, *y;

        if (de->d_name[0] == '.')
            continue;
        snprintf(pa, sizeof(pa), "%s/%s", da, de->d_name);
        snprintf(pb, sizeof(pb), "%s/%s", db, de->d_name);
        x = slurp(pa, &la);
        y = slurp(pb, &lb);
        if (la != lb || memcmp(x, y, la) != 0)
            sl_test_fail(__FILE__, __LINE__, "%s differs (%zu vs %zu bytes)", de->d_name, la, lb);
        free(x);
        free(y);
        n++;
    }
    closedir(d);
    return n;
}

SL_TEST(log_follower_append_copies_leader_files_byte_for_byte)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *lm, *fm;
    sl_plog_t *leader, *follower;
    uint8_t buf[4096];
    sl_log_append_info_t li, fi;
    int32_t e;
    int64_t end;
    int files;

    tl_small_cfg(&cfg);
    lm = open_in("leader", &cfg);
    fm = open_in("follower", &cfg);
    leader = mk(lm, &cfg);
    follower = mk(fm, &cfg);
    for (int i = 0; i < 60; i++) {
        size_t len;

        if (i == 0 || i == 17 || i == 40)
            sl_plog_set_leader_epoch(leader, i == 0 ? 0 : i == 17 ? 2 : 5);
        len = tl_batch(buf, 1 + (int32_t)(sl_test_rand() % 4), 1000 + i, 20 + sl_test_rand() % 150,
                       sl_test_rand());
        SL_CHECK_OK(sl_plog_append(leader, buf, len, &li));
        /* buf now holds exactly what the leader wrote */
        SL_CHECK_OK(sl_plog_append_as_follower(follower, buf, len, &fi));
        SL_CHECK_EQ(fi.base_offset, li.base_offset);
        SL_CHECK_EQ(fi.last_offset, li.last_offset);
        SL_CHECK_EQ(fi.max_timestamp, li.max_timestamp);
        SL_CHECK_EQ(fi.offset_of_max_ts, li.offset_of_max_ts);
        SL_CHECK_EQ(fi.log_append_time, -1);
    }
    SL_CHECK(sl_plog_segment_count(leader) >= 4);
    SL_CHECK_EQ(sl_plog_segment_count(follower), sl_plog_segment_count(leader));
    SL_CHECK_EQ(sl_plog_leo(follower), sl_plog_leo(leader));
    /* a replica's HW comes from its leader */
    SL_CHECK_EQ(sl_plog_hw(follower), 0);
    SL_CHECK_OK(sl_plog_epoch_end(follower, 2, &e, &end));
    SL_CHECK_EQ(e, 2);
    SL_CHECK_OK(sl_plog_epoch_end(leader, 2, &e, &li.last_offset));
    SL_CHECK_EQ(end, li.last_offset);
    sl_log_mgr_close(lm);
    sl_log_mgr_close(fm);
    /* .log, .index, .timeindex of every segment and leader-epoch-checkpoint */
    files = same_partition_files(sl_test_path("leader"), sl_test_path("follower"));
    SL_CHECK(files >= 13);
}

SL_TEST(log_follower_append_refuses_with_exact_statuses_and_writes_nothing)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    uint8_t buf[4096], copy[4096];
    sl_log_append_info_t info;
    size_t a, b;
    int32_t e;
    int64_t end;

    sl_log_cfg_init(&cfg);
    mgr = open_in("f", &cfg);
    pl = mk(mgr, &cfg);

    /* batches as a leader at epoch 3 wrote them: offsets 0..2, 3..4 */
    a = tl_batch(buf, 3, 100, 40, 1);
    b = tl_batch(buf + a, 2, 101, 40, 2);
    sl_batch_set_leader_epoch(buf, 3);
    sl_batch_set_leader_epoch(buf + a, 3);
    sl_batch_set_base_offset(buf + a, 3);
    memcpy(copy, buf, a + b);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, a + b, &info));
    SL_CHECK_MEM(buf, copy, a + b); /* never rewritten */
    SL_CHECK_EQ(info.base_offset, 0);
    SL_CHECK_EQ(info.last_offset, 4);
    SL_CHECK_EQ(info.batch_count, 2);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(e, 3);
    SL_CHECK_EQ(end, 5);

    /* first batch not at the LEO: behind it, and past it */
    a = tl_batch(buf, 1, 102, 40, 3);
    sl_batch_set_leader_epoch(buf, 3);
    sl_batch_set_base_offset(buf, 4);
    sl_batch_update_crc(buf, a);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a, &info), SL_ERANGE);
    sl_batch_set_base_offset(buf, 6);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a, &info), SL_ERANGE);
    /* the second batch leaves a gap: 7 instead of 6 */
    sl_batch_set_base_offset(buf, 5);
    b = tl_batch(buf + a, 1, 103, 40, 4);
    sl_batch_set_leader_epoch(buf + a, 3);
    sl_batch_set_base_offset(buf + a, 7);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a + b, &info), SL_EPROTO);
    /* ... or overlaps the first */
    sl_batch_set_base_offset(buf + a, 5);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a + b, &info), SL_EPROTO);
    /* an epoch below the cache's latest: data of a fenced leader */
    sl_batch_set_base_offset(buf + a, 6);
    sl_batch_set_leader_epoch(buf + a, 2);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a + b, &info), SL_EINVAL);
    sl_batch_set_leader_epoch(buf, 2);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a, &info), SL_EINVAL);
    /* no epoch at all */
    sl_batch_set_leader_epoch(buf, -1);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a, &info), SL_EPROTO);
    /* a bad CRC, and a torn buffer */
    sl_batch_set_leader_epoch(buf, 3);
    buf[SL_BATCH_HEADER_SIZE + 3] ^= 1;
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a, &info), SL_ECORRUPT);
    buf[SL_BATCH_HEADER_SIZE + 3] ^= 1;
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, a - 1, &info), SL_EPROTO);
    SL_CHECK_EQ(sl_plog_append_as_follower(pl, buf, 0, &info), SL_EPROTO);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    SL_CHECK_EQ(sl_plog_size_bytes(pl), (int64_t)(2 * SL_BATCH_HEADER_SIZE + 80));

    /* the same pair, fixed: a new epoch 4 starts at offset 6 */
    sl_batch_set_leader_epoch(buf + a, 4);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, a + b, &info));
    SL_CHECK_EQ(info.base_offset, 5);
    SL_CHECK_EQ(info.last_offset, 6);
    SL_CHECK_EQ(sl_plog_leo(pl), 7);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(end, 6);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 4, &e, &end));
    SL_CHECK_EQ(e, 4);
    SL_CHECK_EQ(end, 7);
    sl_log_mgr_close(mgr);

    /* the epoch cache was persisted and the batches pass recovery */
    mgr = open_in("f", &cfg);
    pl = sl_log_mgr_get(mgr, "t", 0);
    SL_CHECK(pl != NULL);
    SL_CHECK_EQ(sl_plog_leo(pl), 7);
    SL_CHECK_EQ(sl_plog_leader_epoch(pl), 4);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(end, 6);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_follower_batches_need_not_be_dense_nor_small)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    uint8_t buf[4096];
    sl_log_append_info_t info;
    size_t a;

    sl_log_cfg_init(&cfg);
    cfg.max_message_bytes = 100;
    mgr = open_in("f", &cfg);
    pl = mk(mgr, &cfg);
    /* a compacted batch: 2 records left of offsets 0..4, over 100 bytes */
    a = tl_batch(buf, 5, 100, 200, 1);
    sl_put_be32(buf + SL_BATCH_OFF_RECORD_COUNT, 2);
    sl_batch_set_leader_epoch(buf, 0);
    sl_batch_update_crc(buf, a);
    SL_CHECK_EQ(sl_plog_append(pl, buf, a, &info), SL_ETOOBIG);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, a, &info));
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_coordinator_origin_assigns_offsets_like_a_client)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    uint8_t buf[4096];
    sl_log_append_info_t info;
    size_t a;

    sl_log_cfg_init(&cfg);
    mgr = open_in("c", &cfg);
    pl = mk(mgr, &cfg);
    sl_plog_set_leader_epoch(pl, 7);
    tl_append1(pl, 2, 100, 10);
    a = tl_batch(buf, 3, 101, 10, 1);
    sl_batch_set_base_offset(buf, 1234);
    SL_CHECK_OK(sl_plog_append_origin(pl, SL_APPEND_COORDINATOR, buf, a, &info));
    SL_CHECK_EQ(info.base_offset, 2);
    SL_CHECK_EQ(sl_be64(buf + SL_BATCH_OFF_BASE_OFFSET), 2);
    SL_CHECK_EQ(sl_be32(buf + SL_BATCH_OFF_LEADER_EPOCH), 7);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    sl_log_mgr_close(mgr);
}
