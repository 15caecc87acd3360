/*
 * test_log_flushcfg.c -- flush.messages and flush.ms request an fsync by
 * themselves (no produce with acks waiting on durability asks for one).
 */
#include "test_log_util.h"

#include "base/time.h"

/* A manager whose high watermark follows writes: only the flush configs
 * can make data durable. */
static sl_log_mgr_t *
open_plain(sl_log_cfg_t *cfg, int64_t flush_messages, int64_t flush_ms)
{
    sl_log_mgr_opts_t opts;

    sl_log_mgr_opts_init(&opts);
    opts.hw_mode = SL_LOG_HW_ON_WRITE;
    tl_small_cfg(cfg);
    cfg->segment_bytes = 1 << 20;
    cfg->flush_messages = flush_messages;
    cfg->flush_ms = flush_ms;
    return tl_open(sl_test_dir(), cfg, &opts);
}

static void
wait_durable(sl_log_mgr_t *mgr, sl_plog_t *pl, int64_t upto)
{
    for (int k = 0; k < 100 && sl_plog_durable_offset(pl) < upto; k++)
        sl_log_mgr_wait(mgr, 1000);
    SL_CHECK_EQ(sl_plog_durable_offset(pl), upto);
}

SL_TEST(log_flush_messages_requests_an_fsync_at_the_count)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_plain(&cfg, 3, INT64_MAX);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "fm", 0, &cfg, &pl));
    tl_append1(pl, 1, 1, 50);
    tl_append1(pl, 1, 1, 50);
    sl_log_mgr_poll(mgr);
    /* two messages: below the count, no flush was asked for */
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 0);
    tl_append1(pl, 1, 1, 50);
    wait_durable(mgr, pl, 3);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_flush_ms_requests_an_fsync_once_data_is_that_old)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_plain(&cfg, INT64_MAX, 60000);
    sl_plog_t *pl;
    int64_t now = sl_wall_ms();

    SL_CHECK_OK(sl_log_mgr_create(mgr, "fms", 0, &cfg, &pl));
    tl_append1(pl, 2, 1, 50);
    /* younger than flush.ms: the tick leaves it */
    sl_log_mgr_tick(mgr, now);
    sl_log_mgr_poll(mgr);
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 0);
    sl_log_mgr_tick(mgr, now + 60000 + 1000);
    wait_durable(mgr, pl, 2);
    sl_log_mgr_close(mgr);
}

SL_TEST(log_flush_defaults_never_flush_by_themselves)
{
    sl_log_cfg_t cfg;
    sl_log_mgr_t *mgr = open_plain(&cfg, INT64_MAX, INT64_MAX);
    sl_plog_t *pl;

    SL_CHECK_OK(sl_log_mgr_create(mgr, "fd", 0, &cfg, &pl));
    for (int i = 0; i < 20; i++)
        tl_append1(pl, 1, 1, 50);
    sl_log_mgr_tick(mgr, sl_wall_ms() + 3600 * 1000);
    sl_log_mgr_poll(mgr);
    SL_CHECK_EQ(sl_plog_durable_offset(pl), 0);
    sl_log_mgr_close(mgr);
}
