/*
 * test_log_fault.c -- I/O failures on demand (src/base/fault.h): nothing
 * half-written is kept or acknowledged, and the partition reports it.
 */
#include "test_log_util.h"

#include "base/fault.h"

typedef struct durable_rec {
    int calls;
    int64_t end;
    int rc;
} durable_rec_t;

static void
on_durable(void *arg, sl_plog_t *pl, int64_t end, int rc)
{
    durable_rec_t *d = arg;

    (void)pl;
    d->calls++;
    d->end = end;
    d->rc = rc;
}

static sl_log_mgr_t *
open_rec(sl_log_cfg_t *cfg, durable_rec_t *rec)
{
    sl_log_mgr_opts_t opts;

    sl_log_mgr_opts_init(&opts);
    tl_small_cfg(cfg);
    cfg->segment_bytes = 1 << 20;
    opts.default_cfg = *cfg;
    opts.durable_fn = on_durable;
    opts.durable_arg = rec;
    return tl_open(sl_test_dir(), NULL, &opts);
}

static int64_t
file_size(int64_t base)
{
    char path[4300];
    struct stat st;

    snprintf(path, sizeof(path), "%s/f-0/%020" PRId64 ".log", sl_test_dir(), base);
    SL_CHECK_OK(stat(path, &st));
    return st.st_size;
}

SL_TEST(fault_write_error_cuts_back_and_goes_offline)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;
    sl_log_region_t r;
    int64_t size;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    for (int i = 0; i < 5; i++)
        tl_append1(pl, 1, 1, 100);
    size = file_size(0);
    sl_fault_arm("log.write", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 3, 1, 500, 3), &info), SL_EIO);
    SL_CHECK_EQ(file_size(0), size); /* the half that landed is gone */
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    SL_CHECK_EQ(sl_plog_read(pl, 0, 100, 5, true, &r), SL_EOFFLINE);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 5), SL_EOFFLINE);
    sl_fault_disarm_all();
    sl_log_mgr_abandon(mgr);
    mgr = open_rec(&cfg, &rec);
    pl = sl_log_mgr_get(mgr, "f", 0);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_leo(pl), 5);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_enospc_keeps_partition_online)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;
    int64_t size;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 100);
    size = file_size(0);
    sl_fault_arm("log.enospc", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 2, 1, 300, 3), &info), SL_ENOSPC);
    SL_CHECK_EQ(file_size(0), size);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_OK(sl_plog_append(pl, buf, tl_batch(buf, 2, 1, 300, 3), &info));
    SL_CHECK_EQ(info.base_offset, 1);
    SL_CHECK_EQ(file_size(0), size + 361);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_fsync_failure_is_never_acknowledged)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 100);
    SL_CHECK_OK(tl_flush(mgr, pl, 1));
    SL_CHECK_EQ(rec.calls, 1);
    SL_CHECK_EQ(rec.end, 1);
    SL_CHECK_OK(rec.rc);
    tl_append1(pl, 1, 1, 100);
    sl_fault_arm("log.fsync", 0, 1);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 2), SL_EAGAIN);
    while (rec.calls < 2)
        sl_log_mgr_wait(mgr, 1000);
    SL_CHECK_EQ(rec.rc, SL_EIO);
    SL_CHECK_EQ(rec.end, 1);
    SL_CHECK(!sl_plog_is_durable(pl, 1));
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 1);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    /* no retry that could pretend: later requests fail at once */
    sl_fault_disarm_all();
    SL_CHECK_EQ(sl_plog_request_flush(pl, 2), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_group_commit_covers_concurrent_appends)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 100);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 1), SL_EAGAIN);
    /* these arrive while the first fsync may be running */
    for (int i = 0; i < 10; i++) {
        tl_append1(pl, 1, 1, 100);
        SL_CHECK_EQ(sl_plog_request_flush(pl, sl_plog_leo(pl)), SL_EAGAIN);
    }
    while (!sl_plog_is_durable(pl, 10))
        sl_log_mgr_wait(mgr, 1000);
    /* at most one flush in flight plus one covering all that queued up */
    SL_CHECK(rec.calls >= 1 && rec.calls <= 2);
    SL_CHECK_EQ(rec.end, 11);
    SL_CHECK_EQ(sl_plog_request_flush(pl, 11), SL_OK);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_rename_failure_keeps_segment)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    sl_log_region_t r;
    int64_t low;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    cfg.segment_bytes = 1000;
    sl_plog_set_cfg(pl, &cfg);
    for (int i = 0; i < 20; i++)
        tl_append1(pl, 1, 1, 100);
    size_t n = sl_plog_segment_count(pl);
    sl_fault_arm("log.rename", 0, 1);
    SL_CHECK_EQ(sl_plog_delete_records(pl, 12, &low), SL_EIO);
    SL_CHECK_EQ(sl_plog_segment_count(pl), n);
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_OK(sl_plog_read(pl, 12, 100, 20, true, &r));
    sl_log_region_release(&r);
    SL_CHECK_EQ(sl_plog_retain(pl, 0), 2); /* retried: now it works */
    SL_CHECK_EQ(sl_plog_segment_count(pl), n - 2);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_open_failure_at_roll_writes_nothing)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    cfg.segment_bytes = 300;
    sl_plog_set_cfg(pl, &cfg);
    tl_append1(pl, 1, 1, 200);
    sl_fault_arm("log.open", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 1, 1, 200, 3), &info), SL_EIO);
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_checkpoint_failure_prevents_clean_marker)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 200);
    sl_fault_arm("log.ckpt", 0, -1);
    sl_log_mgr_close(mgr);
    SL_CHECK(access(sl_test_path(".kafka_cleanshutdown"), F_OK) != 0);
    sl_fault_disarm_all();
    mgr = open_rec(&cfg, &rec);
    SL_CHECK_EQ(sl_plog_leo(sl_log_mgr_get(mgr, "f", 0)), 1);
    sl_log_mgr_close(mgr);
    SL_CHECK_OK(access(sl_test_path(".kafka_cleanshutdown"), F_OK));
}

SL_TEST(fault_fsync_failure_at_close_prevents_clean_marker)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 200);
    sl_fault_arm("log.fsync", 0, 1);
    sl_log_mgr_close(mgr);
    SL_CHECK(access(sl_test_path(".kafka_cleanshutdown"), F_OK) != 0);
}

/* Every offset in [0, leo) exactly once, in order, each batch once. */
static void
check_dense(sl_plog_t *pl, int64_t leo)
{
    int64_t off = 0;

    SL_CHECK_EQ(sl_plog_leo(pl), leo);
    while (off < leo) {
        sl_log_region_t r;
        sl_batch_hdr_t h;
        uint8_t *p;

        SL_CHECK_OK(sl_plog_read(pl, off, 1, leo, true, &r));
        SL_CHECK(r.len > 0);
        p = tl_region_bytes(&r);
        SL_CHECK_OK(sl_batch_hdr_parse(p, (size_t)r.len, &h));
        SL_CHECK_EQ(h.base_offset, off);
        SL_CHECK_EQ(sl_batch_size(&h), r.len);
        off = h.base_offset + h.last_offset_delta + 1;
        free(p);
        sl_log_region_release(&r);
    }
    SL_CHECK_EQ(off, leo);
}

SL_TEST(fault_index_enospc_cuts_batch_back)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;
    int64_t size;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 300); /* > index.interval.bytes: the next append indexes */
    size = file_size(0);
    sl_fault_arm("log.index.enospc", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 2, 2, 300, 3), &info), SL_ENOSPC);
    SL_CHECK_EQ(file_size(0), size); /* the written batch is gone */
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_OK(sl_plog_status(pl));
    /* the next append gets the same offset, and is indexed this time */
    SL_CHECK_OK(sl_plog_append(pl, buf, tl_batch(buf, 2, 2, 300, 4), &info));
    SL_CHECK_EQ(info.base_offset, 1);
    for (int i = 0; i < 5; i++)
        tl_append1(pl, 1, 10 + i, 300);
    SL_CHECK_OK(tl_flush(mgr, pl, 8)); /* acks=all: all 8 acknowledged */
    check_dense(pl, 8);
    sl_log_mgr_abandon(mgr); /* kill -9 */
    mgr = open_rec(&cfg, &rec);
    pl = sl_log_mgr_get(mgr, "f", 0);
    SL_CHECK_OK(sl_plog_status(pl));
    check_dense(pl, 8);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_index_eio_cuts_batch_back_and_goes_offline)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;
    int64_t size;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 300);
    SL_CHECK_OK(tl_flush(mgr, pl, 1));
    size = file_size(0);
    sl_fault_arm("log.index.write", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 2, 2, 300, 3), &info), SL_EIO);
    SL_CHECK_EQ(file_size(0), size);
    SL_CHECK_EQ(sl_plog_status(pl), SL_EOFFLINE);
    sl_fault_disarm_all();
    sl_log_mgr_abandon(mgr);
    mgr = open_rec(&cfg, &rec);
    pl = sl_log_mgr_get(mgr, "f", 0);
    SL_CHECK_OK(sl_plog_status(pl));
    check_dense(pl, 1);
    sl_log_mgr_close(mgr);
}

SL_TEST(fault_enfile_at_roll_is_retriable)
{
    durable_rec_t rec = {0};
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_rec(&cfg, &rec);
    sl_plog_t *pl;
    uint8_t buf[1024];
    sl_log_append_info_t info;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "f", 0, &cfg, &pl));
    cfg.segment_bytes = 300;
    sl_plog_set_cfg(pl, &cfg);
    tl_append1(pl, 1, 1, 200);
    sl_fault_arm("log.emfile", 0, 1);
    SL_CHECK_EQ(sl_plog_append(pl, buf, tl_batch(buf, 1, 2, 200, 3), &info), SL_ENFILE);
    SL_CHECK_EQ(sl_plog_leo(pl), 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 1);
    SL_CHECK_OK(sl_plog_status(pl)); /* still online */
    /* no half-made segment left at the LEO's name */
    char path[4300];
    snprintf(path, sizeof(path), "%s/f-0/%020d.log", sl_test_dir(), 1);
    SL_CHECK(access(path, F_OK) != 0);
    SL_CHECK_OK(sl_plog_append(pl, buf, tl_batch(buf, 1, 2, 200, 3), &info));
    SL_CHECK_EQ(info.base_offset, 1);
    SL_CHECK_EQ(sl_plog_segment_count(pl), 2);
    SL_CHECK_OK(tl_flush(mgr, pl, 2));
    check_dense(pl, 2);
    sl_log_mgr_close(mgr);
}
