/*
 * test_log_basic.c -- deterministic tests of the partition log: append
 * validation, reads, rolls, index and time lookups, retention, reopen,
 * checkpoints and epochs.
 */
#include "test_log_util.h"

#include <dirent.h>

static sl_plog_t *
mk(sl_log_mgr_t *mgr, const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl = NULL;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "t", 0, cfg, &pl));
    return pl;
}

SL_TEST(log_append_assigns_offsets_and_reads_back)
{
    sl_log_mgr_t *mgr = tl_open(sl_test_dir(), NULL, NULL);
    sl_log_cfg_t cfg;
    sl_plog_t *pl;
    uint8_t buf[4096], copy[4096];
    sl_log_append_info_t info;
    sl_log_region_t r;
    size_t a, b;
    uint8_t *got;

    sl_log_cfg_init(&cfg);
    pl = mk(mgr, &cfg);
    a = tl_batch(buf, 3, 1000, 100, 1);
    b = tl_batch(buf + a, 2, 1005, 50, 2);
    SL_CHECK_OK(sl_plog_append(pl, buf, a + b, &info));
    SL_CHECK_EQ(info.base_offset, 0);
    SL_CHECK_EQ(info.last_offset, 4);
    SL_CHECK_EQ(info.batch_count, 2);
    SL_CHECK_EQ(info.max_timestamp, 1005);
    SL_CHECK_EQ(info.offset_of_max_ts, 4);
    SL_CHECK_EQ(sl_be64(buf + a), 3); /* patched in place */
    memcpy(copy, buf, a + b);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    SL_CHECK_EQ(sl_plog_hw(pl), 5);

    SL_CHECK_OK(sl_plog_read(pl, 4, 1 << 20, sl_plog_hw(pl), true, &r));
    SL_CHECK_EQ(r.pos, (int64_t)a);
    SL_CHECK_EQ(r.len, (int64_t)b);
    SL_CHECK_EQ(r.first_offset, 3);
    SL_CHECK_EQ(r.next_offset, 5);
    got = tl_region_bytes(&r);
    SL_CHECK_MEM(got, copy + a, b);
    free(got);
    sl_log_region_release(&r);

    SL_CHECK_OK(sl_plog_read(pl, 0, 1 << 20, 5, true, &r));
    SL_CHECK_EQ(r.len, (int64_t)(a + b));
    sl_log_region_release(&r);
    /* max_bytes smaller than the first batch: KIP-74 min_one or nothing */
    SL_CHECK_OK(sl_plog_read(pl, 0, 10, 5, true, &r));
    SL_CHECK_EQ(r.len, (int64_t)a);
    sl_log_region_release(&r);
    SL_CHECK_OK(sl_plog_read(pl, 0, 10, 5, false, &r));
    SL_CHECK_EQ(r.len, 0);
    /* upper bound cuts at the batch holding it */
    SL_CHECK_OK(sl_plog_read(pl, 0, 1 << 20, 4, true, &r));
    SL_CHECK_EQ(r.len, (int64_t)a);
    sl_log_region_release(&r);
    SL_CHECK_OK(sl_plog_read(pl, 5, 1 << 20, 5, true, &r));
    SL_CHECK_EQ(r.len, 0);
    SL_CHECK_EQ(sl_plog_read(pl, 6, 1 << 20, 5, true, &r), SL_ERANGE);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_append_rejects_bad_batches_without_writing)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    uint8_t buf[4096];
    sl_log_append_info_t info;
    size_t a, b;

    sl_log_cfg_init(&cfg);
    cfg.max_message_bytes = 1000;
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);

    a = tl_batch(buf, 1, 1, 10, 1);
    buf[SL_BATCH_HEADER_SIZE + 3] ^= 1;
    SL_CHECK_EQ(sl_plog_append(pl, buf, a, &info), SL_ECORRUPT);
    a = tl_batch(buf, 1, 1, 10, 1);
    buf[SL_BATCH_OFF_MAGIC] = 1;
    SL_CHECK_EQ(sl_plog_append(pl, buf, a, &info), SL_EPROTO);
    a = tl_batch(buf, 1, 1, 2000, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, a, &info), SL_ETOOBIG);
    /* recordCount must match lastOffsetDelta */
    a = tl_batch(buf, 3, 1, 10, 1);
    sl_put_be32(buf + SL_BATCH_OFF_RECORD_COUNT, 2);
    sl_batch_update_crc(buf, a);
    SL_CHECK_EQ(sl_plog_append(pl, buf, a, &info), SL_EPROTO);
    /* a truncated second batch fails the whole append */
    a = tl_batch(buf, 1, 1, 10, 1);
    b = tl_batch(buf + a, 1, 1, 10, 2);
    SL_CHECK_EQ(sl_plog_append(pl, buf, a + b - 1, &info), SL_EPROTO);
    SL_CHECK_EQ(sl_plog_append(pl, buf, 0, &info), SL_EPROTO);
    SL_CHECK_EQ(sl_plog_leo(pl), 0);
    SL_CHECK_EQ(sl_plog_size_bytes(pl), 0);
    SL_CHECK_OK(sl_plog_append(pl, buf, a + b, &info));
    SL_CHECK_EQ(sl_plog_leo(pl), 2);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_log_append_time_rewrites_crc_only)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    uint8_t buf[512], orig[512];
    sl_log_append_info_t info;
    sl_batch_hdr_t h;
    size_t a;

    sl_log_cfg_init(&cfg);
    cfg.log_append_time = true;
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    a = tl_batch(buf, 4, 7, 100, 9);
    memcpy(orig, buf, a);
    SL_CHECK_OK(sl_plog_append(pl, buf, a, &info));
    SL_CHECK(info.log_append_time > 1600000000000LL);
    SL_CHECK_EQ(info.max_timestamp, info.log_append_time);
    SL_CHECK_OK(sl_batch_validate(buf, a, &h));
    SL_CHECK(h.attributes & SL_ATTR_LOG_APPEND_TIME);
    SL_CHECK_EQ(h.max_timestamp, info.log_append_time);
    SL_CHECK_MEM(buf + SL_BATCH_HEADER_SIZE, orig + SL_BATCH_HEADER_SIZE, 100);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_roll_by_bytes_and_index_and_time)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 40; i++)
        tl_append1(pl, 2, 1000 + i, 100);
    /* 161-byte batches: 12 per 2048-byte segment at most */
    SL_CHECK(sl_plog_segment_count(pl) >= 4);
    /* index full: 120-byte index = 10 time entries, 15 offset entries */
    cfg.segment_bytes = 1 << 20;
    cfg.index_interval_bytes = 0;
    sl_plog_set_cfg(pl, &cfg);
    size_t before = sl_plog_segment_count(pl);
    for (int i = 0; i < 30; i++)
        tl_append1(pl, 1, 2000 + i, 10);
    SL_CHECK(sl_plog_segment_count(pl) >= before + 2);
    /* segment.ms by batch timestamps */
    cfg.segment_index_bytes = 1 << 20;
    cfg.segment_ms = 1000;
    sl_plog_set_cfg(pl, &cfg);
    tl_append1(pl, 1, 10000, 10);
    before = sl_plog_segment_count(pl);
    tl_append1(pl, 1, 10500, 10);
    SL_CHECK_EQ(sl_plog_segment_count(pl), before);
    tl_append1(pl, 1, 11001, 10);
    SL_CHECK_EQ(sl_plog_segment_count(pl), before + 1);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_reads_span_segments_one_at_a_time)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    int64_t off = 0, batches = 0;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 50; i++)
        tl_append1(pl, 3, 1000 + i, 90);
    while (off < sl_plog_leo(pl)) {
        sl_log_region_t r;

        SL_CHECK_OK(sl_plog_read(pl, off, 700, sl_plog_hw(pl), true, &r));
        SL_CHECK(r.len > 0 && r.len <= 700);
        SL_CHECK_EQ(r.first_offset, off);
        SL_CHECK_EQ(r.len % 151, 0);
        batches += r.len / 151;
        off = r.next_offset;
        sl_log_region_release(&r);
    }
    SL_CHECK_EQ(batches, 50);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_time_lookup_and_max_timestamp)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    int64_t off, ts;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    SL_CHECK_EQ(sl_plog_max_timestamp(pl, &ts, &off), SL_ENOENT);
    /* timestamps 100, 110, ..., with one out-of-order batch */
    for (int i = 0; i < 60; i++)
        tl_append1(pl, 2, i == 30 ? 5000 : 100 + 10 * i, 40);
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 0, &off, &ts));
    SL_CHECK_EQ(off, 0);
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 205, &off, &ts));
    SL_CHECK_EQ(off, 22); /* batch 11 (ts 210) starts at offset 22 */
    SL_CHECK_EQ(ts, 210);
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 1000, &off, &ts));
    SL_CHECK_EQ(off, 60);
    SL_CHECK_EQ(ts, 5000);
    SL_CHECK_EQ(sl_plog_offset_for_time(pl, 5001, &off, &ts), SL_ENOENT);
    SL_CHECK_OK(sl_plog_max_timestamp(pl, &ts, &off));
    SL_CHECK_EQ(ts, 5000);
    SL_CHECK_EQ(off, 61);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_retention_bytes_and_ms_keep_active_segment)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    int64_t now = 10 * 1000 * 1000;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 60; i++)
        tl_append1(pl, 1, now - 100000 + i * 1000, 100);
    size_t n = sl_plog_segment_count(pl);
    int64_t size = sl_plog_size_bytes(pl);
    cfg.retention_ms = -1;
    cfg.retention_bytes = size - 2048;
    sl_plog_set_cfg(pl, &cfg);
    SL_CHECK(sl_plog_retain(pl, now) >= 1);
    SL_CHECK(sl_plog_size_bytes(pl) >= cfg.retention_bytes);
    SL_CHECK(sl_plog_size_bytes(pl) < size);
    SL_CHECK(sl_plog_log_start(pl) > 0);
    /* retention.ms: everything older than 50 s goes, the active one stays */
    cfg.retention_bytes = -1;
    cfg.retention_ms = 50000;
    sl_plog_set_cfg(pl, &cfg);
    SL_CHECK(sl_plog_retain(pl, now) >= 1);
    SL_CHECK(sl_plog_segment_count(pl) < n);
    int64_t ts, off;
    SL_CHECK_OK(sl_plog_offset_for_time(pl, 0, &off, &ts));
    SL_CHECK(ts >= now - 50000 - 12000);
    cfg.retention_ms = 0;
    sl_plog_set_cfg(pl, &cfg);
    (void)sl_plog_retain(pl, now + 1000000);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    SL_CHECK_EQ(sl_plog_leo(pl), 60);
    SL_CHECK(sl_plog_log_start(pl) <= 60);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_region_survives_segment_deletion)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    sl_log_region_t r;
    uint8_t *before, *after;
    int64_t low;
    char path[4200];
    struct stat st;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 40; i++)
        tl_append1(pl, 1, 1000 + i, 100);
    SL_CHECK_OK(sl_plog_read(pl, 0, 1 << 20, sl_plog_hw(pl), true, &r));
    before = tl_region_bytes(&r);
    SL_CHECK_OK(sl_plog_delete_records(pl, 30, &low));
    SL_CHECK_EQ(low, 30);
    SL_CHECK_EQ(sl_plog_read(pl, 0, 100, 40, true, &(sl_log_region_t){0}), SL_ERANGE);
    snprintf(path, sizeof(path), "%s/t-0/%020d.log", sl_test_dir(), 0);
    SL_CHECK(stat(path, &st) != 0); /* renamed away */
    after = tl_region_bytes(&r);
    SL_CHECK_MEM(before, after, r.len);
    sl_log_region_release(&r);
    /* the janitor unlinks once the last reference is gone */
    sl_log_mgr_close(mgr);
    snprintf(path, sizeof(path), "%s/t-0/%020d.log.deleted", sl_test_dir(), 0);
    SL_CHECK(stat(path, &st) != 0);
    free(before);
    free(after);
}

SL_TEST(log_delete_records_checkpointed_and_bounded_by_hw)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    int64_t low;

    tl_small_cfg(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 20; i++)
        tl_append1(pl, 1, 1000 + i, 100);
    SL_CHECK_EQ(sl_plog_delete_records(pl, 21, &low), SL_ERANGE);
    SL_CHECK_OK(sl_plog_delete_records(pl, 7, &low));
    SL_CHECK_EQ(low, 7);
    SL_CHECK_OK(sl_plog_delete_records(pl, 3, &low));
    SL_CHECK_EQ(low, 7);
    sl_log_mgr_abandon(mgr); /* not clean: the checkpoint must carry it */
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = sl_log_mgr_get(mgr, "t", 0);
    SL_CHECK(pl != NULL);
    SL_CHECK_EQ(sl_plog_log_start(pl), 7);
    SL_CHECK_EQ(sl_plog_leo(pl), 20);
    SL_CHECK_OK(sl_plog_delete_records(pl, -1, &low));
    SL_CHECK_EQ(low, 20);
    sl_log_mgr_close(mgr);
}

static size_t
count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, m = strlen(suffix);

    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        size_t k = strlen(de->d_name);

        n += k >= m && strcmp(de->d_name + k - m, suffix) == 0;
    }
    closedir(d);
    return n;
}

SL_TEST(log_clean_close_trims_indexes_and_writes_marker)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    char path[4200];
    struct stat st;

    sl_log_cfg_init(&cfg);
    cfg.index_interval_bytes = 100;
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 10; i++)
        tl_append1(pl, 1, 1000 + i, 100);
    snprintf(path, sizeof(path), "%s/t-0/%020d.index", sl_test_dir(), 0);
    SL_CHECK_OK(stat(path, &st));
    SL_CHECK_EQ(st.st_size, 10485760); /* preallocated */
    sl_log_mgr_close(mgr);
    SL_CHECK_OK(stat(path, &st));
    SL_CHECK_EQ(st.st_size, 8 * 9); /* every batch but the first is indexed */
    snprintf(path, sizeof(path), "%s/.kafka_cleanshutdown", sl_test_dir());
    SL_CHECK_OK(stat(path, &st));
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    SL_CHECK(stat(path, &st) != 0); /* removed at open */
    pl = sl_log_mgr_get(mgr, "t", 0);
    SL_CHECK_EQ(sl_plog_leo(pl), 10);
    tl_append1(pl, 1, 2000, 100);
    SL_CHECK_EQ(sl_plog_leo(pl), 11);
    sl_log_mgr_close(mgr);
    snprintf(path, sizeof(path), "%s/t-0", sl_test_dir());
    SL_CHECK_EQ(count_files(path, ".log"), 1);
    SL_CHECK_EQ(count_files(path, ".deleted"), 0);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[4096];
    size_t n;

    SL_CHECK(f != NULL);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

SL_TEST(log_checkpoint_files_use_kafka_format)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *a, *b;
    int64_t low;

    sl_log_cfg_init(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    SL_CHECK_OK(sl_log_mgr_create(mgr, "orders", 0, &cfg, &a));
    SL_CHECK_OK(sl_log_mgr_create(mgr, "my.topic-x", 12, &cfg, &b));
    for (int i = 0; i < 5; i++)
        tl_append1(a, 2, 1000 + i, 10);
    SL_CHECK_OK(tl_flush(mgr, a, sl_plog_leo(a)));
    SL_CHECK_OK(sl_plog_delete_records(a, 4, &low));
    sl_plog_set_leader_epoch(a, 3);
    sl_log_mgr_close(mgr);
    SL_CHECK(strstr(slurp(sl_test_path("recovery-point-offset-checkpoint")), "0\n2\n") != NULL);
    SL_CHECK(strstr(slurp(sl_test_path("recovery-point-offset-checkpoint")), "orders 0 10\n"));
    SL_CHECK(strstr(slurp(sl_test_path("recovery-point-offset-checkpoint")), "my.topic-x 12 0\n"));
    SL_CHECK(strstr(slurp(sl_test_path("log-start-offset-checkpoint")), "orders 0 4\n"));
    SL_CHECK_STR(slurp(sl_test_path("orders-0/leader-epoch-checkpoint")), "0\n1\n3 10\n");
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    SL_CHECK_EQ(sl_log_mgr_count(mgr), 2);
    a = sl_log_mgr_get(mgr, "orders", 0);
    SL_CHECK(a != NULL && sl_log_mgr_get(mgr, "my.topic-x", 12) != NULL);
    SL_CHECK_EQ(sl_plog_log_start(a), 4);
    SL_CHECK_EQ(sl_plog_leader_epoch(a), 3);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_epochs_end_offsets)
{
    sl_log_mgr_t *mgr = tl_open(sl_test_dir(), NULL, NULL);
    sl_log_cfg_t cfg;
    sl_plog_t *pl;
    int32_t e;
    int64_t end;
    uint8_t buf[256];
    sl_log_append_info_t info;
    sl_log_region_t r;

    sl_log_cfg_init(&cfg);
    pl = mk(mgr, &cfg);
    SL_CHECK_EQ(sl_plog_epoch_end(pl, 0, &e, &end), SL_ENOENT);
    sl_plog_set_leader_epoch(pl, 1);
    tl_append1(pl, 5, 1, 10);
    sl_plog_set_leader_epoch(pl, 4);
    size_t n = tl_batch(buf, 2, 2, 10, 1);
    SL_CHECK_OK(sl_plog_append(pl, buf, n, &info));
    SL_CHECK_EQ(sl_be32(buf + SL_BATCH_OFF_LEADER_EPOCH), 4);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 1, &e, &end));
    SL_CHECK_EQ(e, 1);
    SL_CHECK_EQ(end, 5);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 3, &e, &end));
    SL_CHECK_EQ(e, 1);
    SL_CHECK_EQ(end, 5);
    SL_CHECK_OK(sl_plog_epoch_end(pl, 4, &e, &end));
    SL_CHECK_EQ(e, 4);
    SL_CHECK_EQ(end, 7);
    /* above the latest: Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET */
    SL_CHECK_EQ(sl_plog_epoch_end(pl, 9, &e, &end), SL_ENOENT);
    SL_CHECK_EQ(e, -1);
    SL_CHECK_EQ(end, -1);
    SL_CHECK_EQ(sl_plog_epoch_end(pl, -1, &e, &end), SL_ENOENT);
    SL_CHECK_EQ(end, -1);
    /* below the earliest: the start of the first known epoch */
    SL_CHECK_OK(sl_plog_epoch_end(pl, 0, &e, &end));
    SL_CHECK_EQ(e, 0);
    SL_CHECK_EQ(end, 0);
    SL_CHECK_OK(sl_plog_read(pl, 5, 1000, 7, true, &r));
    uint8_t *got = tl_region_bytes(&r);
    SL_CHECK_EQ(sl_be32(got + SL_BATCH_OFF_LEADER_EPOCH), 4);
    free(got);
    sl_log_region_release(&r);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_delete_partition_and_recreate)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    sl_log_cfg_init(&cfg);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = mk(mgr, &cfg);
    for (int i = 0; i < 5; i++)
        tl_append1(pl, 1, 1, 10);
    SL_CHECK_OK(tl_flush(mgr, pl, 5));
    SL_CHECK_OK(sl_log_mgr_delete(mgr, pl));
    SL_CHECK(sl_log_mgr_get(mgr, "t", 0) == NULL);
    pl = mk(mgr, &cfg);
    SL_CHECK_EQ(sl_plog_leo(pl), 0);
    tl_append1(pl, 1, 1, 10);
    sl_log_mgr_abandon(mgr);
    mgr = tl_open(sl_test_dir(), &cfg, NULL);
    pl = sl_log_mgr_get(mgr, "t", 0);
    SL_CHECK(pl != NULL);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_EQ(sl_log_mgr_count(mgr), 1);
    sl_log_mgr_close(mgr);
}
