/*
 * test_log_pstate.c -- idempotent producer state through the log's public
 * API: Kafka 3.9's sequence and epoch checks (each refusal code, duplicates
 * of each of the last 5 batches, wrap, epoch bump, unknown producers),
 * follower appends without checks, expiry, the ProducerSnapshot v1 byte
 * layout (golden) and its round trip, and the rebuild after a crash, a
 * clean stop, a corrupt snapshot and a truncation.
 */
#include "test_log_util.h"

#include "base/crc32c.h"
#include "log/prodstate.h"

#include <dirent.h>

/* One batch of nrec records from producer (pid, epoch) starting at seq. */
static size_t
pbatch(uint8_t *out, int32_t nrec, int64_t pid, int16_t epoch, int32_t seq, int64_t ts)
{
    size_t len = tl_batch(out, nrec, ts, 16, (uint64_t)seq * 7 + (uint64_t)nrec);

    sl_put_be64(out + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
    sl_put_be16(out + SL_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    sl_put_be32(out + SL_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
    sl_batch_update_crc(out, len);
    return len;
}

static int
produce(sl_plog_t *pl, int32_t nrec, int64_t pid, int16_t epoch, int32_t seq,
        sl_log_append_info_t *info)
{
    uint8_t buf[512];
    size_t len = pbatch(buf, nrec, pid, epoch, seq, 1000 + (int64_t)seq);

    return sl_plog_append(pl, buf, len, info);
}

/* Appends and expects success as a new (non-duplicate) batch at `at`. */
static void
produce_ok(sl_plog_t *pl, int32_t nrec, int64_t pid, int16_t epoch, int32_t seq, int64_t at)
{
    sl_log_append_info_t info;

    SL_CHECK_OK(produce(pl, nrec, pid, epoch, seq, &info));
    SL_CHECK(!info.duplicate);
    SL_CHECK_EQ(info.base_offset, at);
}

static void
expect_dup(sl_plog_t *pl, int32_t nrec, int64_t pid, int16_t epoch, int32_t seq, int64_t base)
{
    sl_log_append_info_t info;
    int64_t leo = sl_plog_leo(pl);

    SL_CHECK_OK(produce(pl, nrec, pid, epoch, seq, &info));
    SL_CHECK(info.duplicate);
    SL_CHECK_EQ(info.base_offset, base);
    SL_CHECK_EQ(info.last_offset, base + nrec - 1);
    SL_CHECK_EQ(sl_plog_leo(pl), leo);
}

static void
expect_refused(sl_plog_t *pl, int32_t nrec, int64_t pid, int16_t epoch, int32_t seq, int rc)
{
    sl_log_append_info_t info;
    int64_t leo = sl_plog_leo(pl);

    SL_CHECK_EQ(produce(pl, nrec, pid, epoch, seq, &info), rc);
    SL_CHECK_EQ(sl_plog_leo(pl), leo);
}

static sl_plog_t *
open_log(sl_log_mgr_t **mgr, sl_log_mgr_opts_t *opts)
{
    sl_log_cfg_t cfg;
    sl_plog_t *pl;

    tl_small_cfg(&cfg);
    *mgr = tl_open(sl_test_dir(), &cfg, opts);
    pl = sl_log_mgr_get(*mgr, "p", 0);
    if (pl == NULL)
        SL_CHECK_OK(sl_log_mgr_create(*mgr, "p", 0, &cfg, &pl));
    return pl;
}

/* ======================================================================
 * Checks
 * ====================================================================== */

SL_TEST(pstate_in_sequence_and_gap)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    produce_ok(pl, 3, 7, 0, 0, 0);
    produce_ok(pl, 2, 7, 0, 3, 3);
    expect_refused(pl, 1, 7, 0, 6, SL_EOUT_OF_ORDER_SEQUENCE); /* 5 is missing */
    expect_refused(pl, 1, 7, 0, -1, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 1, 7, 0, 5, 5);
    /* other producers and plain batches are independent */
    produce_ok(pl, 1, 8, 0, 0, 6);
    SL_CHECK_EQ(tl_append1(pl, 2, 5, 10), 7);
    produce_ok(pl, 1, 7, 0, 6, 9);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_duplicates_of_each_of_last_five)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    for (int i = 0; i < 7; i++)
        produce_ok(pl, 2, 9, 3, 2 * i, 2 * i);
    /* batches 2..6 are retained, whatever order the retries come in */
    for (int i = 6; i >= 2; i--)
        expect_dup(pl, 2, 9, 3, 2 * i, 2 * i);
    /* batch 1 fell out of the window: neither a duplicate nor next */
    expect_refused(pl, 2, 9, 3, 2, SL_EOUT_OF_ORDER_SEQUENCE);
    /* a retry with a different record count is no duplicate */
    expect_refused(pl, 3, 9, 3, 12, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 2, 9, 3, 14, 14);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_epochs)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    produce_ok(pl, 2, 5, 2, 0, 0);
    expect_refused(pl, 1, 5, 1, 2, SL_EINVALID_PRODUCER_EPOCH);
    /* a duplicate needs the same epoch: an older one is fenced first */
    expect_refused(pl, 2, 5, 1, 0, SL_EINVALID_PRODUCER_EPOCH);
    /* a new epoch must start at sequence 0 */
    expect_refused(pl, 1, 5, 3, 2, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 1, 5, 3, 0, 2);
    /* the bump forgot the old epoch's batches */
    expect_refused(pl, 1, 5, 2, 2, SL_EINVALID_PRODUCER_EPOCH);
    expect_dup(pl, 1, 5, 3, 0, 2);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_unknown_producer_any_sequence)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    /* Kafka 3.9: no state -> accepted (UNKNOWN_PRODUCER_ID is gone) */
    produce_ok(pl, 1, 11, 0, 42, 0);
    produce_ok(pl, 1, 11, 0, 43, 1);
    expect_refused(pl, 1, 11, 0, 45, SL_EOUT_OF_ORDER_SEQUENCE);
    expect_refused(pl, 1, 12, -1, 0, SL_EINVALID_PRODUCER_EPOCH);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_sequence_wraps)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    SL_CHECK_EQ(sl_prodstate_seq_add(INT32_MAX, 1), 0);
    SL_CHECK_EQ(sl_prodstate_seq_add(INT32_MAX - 1, 3), 1);
    SL_CHECK_EQ(sl_prodstate_seq_sub(1, 3), INT32_MAX - 1);
    produce_ok(pl, 2, 4, 0, INT32_MAX - 1, 0); /* last sequence INT32_MAX */
    produce_ok(pl, 3, 4, 0, 0, 2);             /* wraps to 0 */
    produce_ok(pl, 1, 4, 0, 3, 5);
    /* a batch spanning the wrap: INT32_MAX, 0, 1 */
    produce_ok(pl, 3, 6, 0, INT32_MAX, 6);
    expect_dup(pl, 3, 6, 0, INT32_MAX, 6);
    produce_ok(pl, 1, 6, 0, 2, 9);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_transactional_batch_refused)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    sl_log_append_info_t info;
    uint8_t buf[256];
    size_t len = pbatch(buf, 1, 3, 0, 0, 5);

    sl_put_be16(buf + SL_BATCH_OFF_ATTRIBUTES, SL_ATTR_TRANSACTIONAL);
    sl_batch_update_crc(buf, len);
    SL_CHECK_EQ(sl_plog_append(pl, buf, len, &info), SL_EINVALID_TXN_STATE);
    SL_CHECK_EQ(sl_plog_leo(pl), 0);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_multi_batch_append_checks_in_order)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    sl_log_append_info_t info;
    uint8_t buf[1024];
    size_t len = pbatch(buf, 2, 1, 0, 0, 5);

    len += pbatch(buf + len, 2, 1, 0, 2, 6);
    SL_CHECK_OK(sl_plog_append(pl, buf, len, &info));
    SL_CHECK_EQ(sl_plog_leo(pl), 4);
    /* the second batch of a pair out of order: nothing of the pair lands */
    len = pbatch(buf, 1, 1, 0, 4, 7);
    len += pbatch(buf + len, 1, 1, 0, 9, 8);
    SL_CHECK_EQ(sl_plog_append(pl, buf, len, &info), SL_EOUT_OF_ORDER_SEQUENCE);
    SL_CHECK_EQ(sl_plog_leo(pl), 4);
    produce_ok(pl, 1, 1, 0, 4, 4);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_follower_appends_are_not_checked)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    sl_log_append_info_t info;
    uint8_t buf[256];
    size_t len;

    /* a gap and an older epoch, as a leader may have written them */
    len = pbatch(buf, 2, 21, 1, 0, 5);
    sl_put_be32(buf + SL_BATCH_OFF_LEADER_EPOCH, 0);
    sl_batch_update_crc(buf, len);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, len, &info));
    len = pbatch(buf, 2, 21, 1, 10, 6);
    sl_put_be64(buf + SL_BATCH_OFF_BASE_OFFSET, 2);
    sl_put_be32(buf + SL_BATCH_OFF_LEADER_EPOCH, 0);
    sl_batch_update_crc(buf, len);
    SL_CHECK_OK(sl_plog_append_as_follower(pl, buf, len, &info));
    SL_CHECK_EQ(sl_plog_leo(pl), 4);
    /* the state follows: as leader now, the next batch must continue it */
    expect_dup(pl, 2, 21, 1, 10, 2);
    expect_refused(pl, 1, 21, 1, 13, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 1, 21, 1, 12, 4);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_expiry)
{
    sl_log_mgr_opts_t opts;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;

    sl_log_mgr_opts_init(&opts);
    opts.producer_id_expiration_ms = 60000;
    opts.producer_id_expiration_check_interval_ms = 0;
    pl = open_log(&mgr, &opts);
    produce_ok(pl, 1, 30, 0, 0, 0); /* timestamp 1000 */
    sl_log_mgr_tick(mgr, 1000 + 59999);
    expect_refused(pl, 1, 30, 0, 5, SL_EOUT_OF_ORDER_SEQUENCE); /* still known */
    sl_log_mgr_tick(mgr, 1000 + 60000);
    produce_ok(pl, 1, 30, 0, 5, 1); /* forgotten: any sequence */
    sl_log_mgr_close(mgr);
}

/* ======================================================================
 * Snapshot format
 * ====================================================================== */

static void
check_entry_bytes(const uint8_t *p, int64_t pid, int16_t epoch, int32_t last_seq, int64_t last_off,
                  int32_t delta, int64_t ts)
{
    SL_CHECK_EQ((int64_t)sl_be64(p), pid);
    SL_CHECK_EQ((int16_t)sl_be16(p + 8), epoch);
    SL_CHECK_EQ((int32_t)sl_be32(p + 10), last_seq);
    SL_CHECK_EQ((int64_t)sl_be64(p + 14), last_off);
    SL_CHECK_EQ((int32_t)sl_be32(p + 22), delta);
    SL_CHECK_EQ((int64_t)sl_be64(p + 26), ts);
    SL_CHECK_EQ((int32_t)sl_be32(p + 34), -1);   /* coordinator epoch */
    SL_CHECK_EQ((int64_t)sl_be64(p + 38), -1LL); /* no open transaction */
}

SL_TEST(psnap_golden_layout_and_round_trip)
{
    sl_prodstate_t *ps = sl_prodstate_new(), *back = sl_prodstate_new();
    sl_pentry_t e;
    sl_pbatch_t b = {.first_seq = 10,
                     .last_seq = 14,
                     .first_offset = 100,
                     .last_offset = 104,
                     .timestamp = 1700000000000};
    const sl_pentry_t *r;
    uint8_t *p;
    size_t len;

    sl_pentry_init(&e, 0x0102030405060708LL);
    sl_pentry_add_batch(&e, 7, &b);
    sl_prodstate_put(ps, &e);
    sl_pentry_init(&e, 3);
    sl_prodstate_put(ps, &e); /* an entry without batches */
    p = sl_prodstate_encode(ps, &len);
    SL_CHECK_EQ(len, (size_t)(10 + 2 * 46));
    SL_CHECK_EQ(sl_be16(p), 1);
    SL_CHECK_EQ(sl_be32(p + 2), sl_crc32c(p + 6, len - 6));
    SL_CHECK_EQ(sl_be32(p + 6), 2);
    /* sorted by producer id */
    check_entry_bytes(p + 10, 3, -1, -1, -1, 0, -1);
    check_entry_bytes(p + 56, 0x0102030405060708LL, 7, 14, 104, 4, 1700000000000LL);
    SL_CHECK_OK(sl_prodstate_decode(back, p, len));
    SL_CHECK_EQ(sl_prodstate_count(back), 2);
    r = sl_prodstate_get(back, 0x0102030405060708LL);
    SL_CHECK(r != NULL);
    SL_CHECK_EQ(r->epoch, 7);
    SL_CHECK_EQ(r->nbatches, 1);
    SL_CHECK_EQ(r->batches[0].first_seq, 10);
    SL_CHECK_EQ(r->batches[0].last_seq, 14);
    SL_CHECK_EQ(r->batches[0].first_offset, 100);
    SL_CHECK_EQ(r->batches[0].last_offset, 104);
    SL_CHECK_EQ(r->last_timestamp, 1700000000000LL);
    r = sl_prodstate_get(back, 3);
    SL_CHECK(r != NULL && r->nbatches == 0 && r->epoch == -1);
    /* any flipped byte, a short file, a wrong version: refused */
    p[30] ^= 1;
    SL_CHECK_EQ(sl_prodstate_decode(back, p, len), SL_ECORRUPT);
    p[30] ^= 1;
    SL_CHECK_EQ(sl_prodstate_decode(back, p, len - 1), SL_ECORRUPT);
    sl_put_be16(p, 2);
    SL_CHECK_EQ(sl_prodstate_decode(back, p, len), SL_ECORRUPT);
    SL_CHECK_EQ(sl_prodstate_count(back), 2); /* unchanged by refusals */
    free(p);
    sl_prodstate_free(ps);
    sl_prodstate_free(back);
}

/* ======================================================================
 * Persistence
 * ====================================================================== */

static size_t
count_snapshots(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, ".snapshot") != NULL && strstr(de->d_name, ".tmp") == NULL;
    closedir(d);
    return n;
}

/* FILL batches of 3 records, 2 KiB segments: several rolls, so snapshots. */
#define FILL 80
#define END  (3 * FILL)

static void
fill(sl_plog_t *pl)
{
    for (int i = 0; i < FILL; i++)
        produce_ok(pl, 3, 77, 0, 3 * i, 3 * i);
}

static void
check_rebuilt(sl_plog_t *pl)
{
    /* The batches past the newest snapshot (a roll) and the last one in
     * it are recognised; a snapshot keeps only each producer's last batch,
     * as Kafka's does. */
    expect_dup(pl, 3, 77, 0, END - 6, END - 6);
    expect_dup(pl, 3, 77, 0, END - 3, END - 3);
    expect_refused(pl, 1, 77, 0, END + 1, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 1, 77, 0, END, END);
}

SL_TEST(pstate_rebuilt_after_crash)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    fill(pl);
    SL_CHECK(sl_plog_segment_count(pl) > 2);
    SL_CHECK_OK(tl_flush(mgr, pl, sl_plog_leo(pl)));
    sl_log_mgr_abandon(mgr);
    pl = open_log(&mgr, NULL);
    SL_CHECK_EQ(sl_plog_leo(pl), END);
    SL_CHECK(count_snapshots(sl_test_path("p-0")) >= 1);
    check_rebuilt(pl);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_rebuilt_without_snapshots_and_after_clean_stop)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    DIR *d;
    struct dirent *de;

    fill(pl);
    sl_log_mgr_close(mgr);
    /* a clean stop wrote one at the LEO: the last batch is in it */
    SL_CHECK(access(sl_test_path("p-0/00000000000000000240.snapshot"), F_OK) == 0);
    pl = open_log(&mgr, NULL);
    /* only the last batch is in a snapshot (as in Kafka) */
    expect_dup(pl, 3, 77, 0, END - 3, END - 3);
    produce_ok(pl, 1, 77, 0, END, END);
    sl_log_mgr_close(mgr);
    /* every snapshot corrupt: all are dropped, the whole log is replayed */
    d = opendir(sl_test_path("p-0"));
    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        int fd;

        if (strstr(de->d_name, ".snapshot") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/p-0/%s", sl_test_dir(), de->d_name);
        fd = open(path, O_WRONLY);
        SL_CHECK(fd >= 0);
        SL_CHECK_EQ(pwrite(fd, "\xff\xff", 2, 6), 2);
        close(fd);
    }
    closedir(d);
    pl = open_log(&mgr, NULL);
    SL_CHECK_EQ(count_snapshots(sl_test_path("p-0")), 0);
    for (int i = FILL - 4; i < FILL; i++)
        expect_dup(pl, 3, 77, 0, 3 * i, 3 * i);
    expect_dup(pl, 1, 77, 0, END, END);
    produce_ok(pl, 1, 77, 0, END + 1, END + 1);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_truncation_drops_state_past_the_cut)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);

    fill(pl);
    SL_CHECK_OK(sl_plog_truncate_to(pl, 60));
    SL_CHECK_EQ(sl_plog_leo(pl), 60);
    /* sequences 0..59 stay; the producer continues at 60 */
    expect_dup(pl, 3, 77, 0, 57, 57);
    expect_refused(pl, 3, 77, 0, 63, SL_EOUT_OF_ORDER_SEQUENCE);
    produce_ok(pl, 3, 77, 0, 60, 60);
    SL_CHECK_OK(sl_plog_truncate_fully_and_start_at(pl, 500));
    produce_ok(pl, 1, 77, 0, 9, 500); /* nothing known any more */
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_retention_removes_old_snapshots)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    int64_t dropped;

    fill(pl);
    SL_CHECK_OK(sl_plog_delete_records(pl, 90, &dropped));
    sl_log_mgr_poll(mgr);
    sl_log_mgr_close(mgr);
    pl = open_log(&mgr, NULL);
    /* no snapshot below the first remaining segment */
    {
        DIR *d = opendir(sl_test_path("p-0"));
        struct dirent *de;
        int64_t first = INT64_MAX, lowest_snap = INT64_MAX;

        SL_CHECK(d != NULL);
        while ((de = readdir(d)) != NULL) {
            int64_t v = strtoll(de->d_name, NULL, 10);

            if (strstr(de->d_name, ".log") != NULL && v < first)
                first = v;
            if (strstr(de->d_name, ".snapshot") != NULL && v < lowest_snap)
                lowest_snap = v;
        }
        closedir(d);
        SL_CHECK(lowest_snap >= first && lowest_snap != INT64_MAX);
    }
    expect_dup(pl, 3, 77, 0, END - 3, END - 3);
    produce_ok(pl, 1, 77, 0, END, END);
    sl_log_mgr_close(mgr);
}

SL_TEST(pstate_entry_without_batches_expects_sequence_zero)
{
    const sl_pbatch_t *dup;
    sl_pentry_t e;

    /* what a snapshot entry with lastSequence -1 loads as */
    sl_pentry_init(&e, 5);
    e.epoch = 2;
    SL_CHECK_EQ(sl_prodstate_check(&e, 2, 4, 4, &dup), SL_EOUT_OF_ORDER_SEQUENCE);
    SL_CHECK_EQ(sl_prodstate_check(&e, 2, 0, 3, &dup), SL_OK);
    SL_CHECK_EQ(sl_prodstate_check(&e, 1, 0, 3, &dup), SL_EINVALID_PRODUCER_EPOCH);
    SL_CHECK_EQ(sl_prodstate_check(&e, 3, 0, 0, &dup), SL_OK);
    SL_CHECK(dup == NULL);
}

SL_TEST(pstate_size_retention_removes_snapshots_of_deleted_segments)
{
    sl_log_mgr_t *mgr;
    sl_plog_t *pl = open_log(&mgr, NULL);
    sl_log_cfg_t cfg = *sl_plog_cfg(pl);
    int64_t first;
    DIR *d;
    struct dirent *de;

    fill(pl);
    cfg.retention_bytes = 2048;
    sl_plog_set_cfg(pl, &cfg);
    SL_CHECK(sl_plog_retain(pl, 2000) > 0);
    first = sl_plog_log_start(pl);
    /* the producers stay known: their state is in memory, not in the data */
    expect_dup(pl, 3, 77, 0, END - 3, END - 3);
    sl_log_mgr_close(mgr); /* the janitor has run every queued job */
    d = opendir(sl_test_path("p-0"));
    SL_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".snapshot") != NULL)
            SL_CHECK(strtoll(de->d_name, NULL, 10) >= first);
    }
    closedir(d);
}
