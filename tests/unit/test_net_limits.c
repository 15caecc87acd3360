/*
 * test_net_limits.c -- the network layer's memory bounds: queued output is
 * measured by the memory it holds (not by its length), and partial frames of
 * all connections share queued.max.request.bytes.
 */
#include "test_net.h"

#include <sys/socket.h>
#include <unistd.h>

/* ---- queued output counts memory --------------------------------------- */

typedef struct fat_reply {
    size_t cap;          /* buffer capacity each 1-byte reply holds */
    size_t max_mem_seen; /* largest sl_conn_queued_mem at a delivery */
} fat_reply_t;

/* Answers every frame with one byte held in a large buffer. */
static void
fat_reply_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    fat_reply_t *fr = t->user;
    sl_buf_t b = SL_BUF_INIT;

    fr->max_mem_seen = SL_MAX(fr->max_mem_seen, sl_conn_queued_mem(c));
    sl_buf_reserve(&b, fr->cap);
    sl_buf_append(&b, "r", 1);
    sl_conn_send_buf(c, &b);
    sl_tn_unmute(t, c);
}

SL_TEST(net_backpressure_counts_the_memory_replies_hold)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    fat_reply_t fr = {.cap = 64 * 1024};
    sl_buf_t req = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd, n = 200;

    sl_server_config_defaults(&cfg);
    cfg.tx_high_water = 256 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.hook = fat_reply_hook;
    t.user = &fr;
    fd = sl_tn_connect(AF_INET, t.port);
    /* 200 pipelined frames arrive in one read; their replies are 1 byte
     * each but hold 64 KiB: delivery pauses once they hold more than the
     * high-water mark, not after 256 KiB of reply bytes. */
    for (int i = 0; i < n; i++)
        sl_tn_frame_append(&req, "q", 1);
    sl_tn_write_all(fd, req.data, req.len);
    SL_TN_DRIVE(t.loop, (sl_tn_read_some(fd, &got), got.len == (size_t)n));
    SL_CHECK_EQ(t.nframes, (size_t)n);
    SL_CHECK(fr.max_mem_seen > 0);
    SL_CHECK(fr.max_mem_seen <= cfg.tx_high_water);
    SL_CHECK_EQ(sl_conn_queued_mem(t.conn), 0);
    close(fd);
    sl_buf_deinit(&req);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

/* ---- queued.max.request.bytes ------------------------------------------ */

static void
record_only_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_tn_unmute(t, c);
}

static void
send_zeros(int fd, size_t n)
{
    uint8_t *body = calloc(1, n);

    sl_tn_write_all(fd, body, n);
    free(body);
}

/* A frame's size prefix and its first n body bytes. */
static void
send_partial(int fd, uint32_t declared, size_t n)
{
    uint8_t head[4] = {(uint8_t)(declared >> 24), (uint8_t)(declared >> 16),
                       (uint8_t)(declared >> 8), (uint8_t)declared};

    sl_tn_write_all(fd, head, sizeof(head));
    send_zeros(fd, n);
}

static void
ignore_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_conn_unmute(c);
}

SL_TEST(net_partial_frames_share_queued_max_request_bytes)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    const uint32_t frame = 1u << 20;
    int a, b, small;

    sl_server_config_defaults(&cfg);
    cfg.max_frame = (int32_t)frame;
    cfg.max_queued_request_bytes = (int64_t)frame + 256 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.hook = record_only_hook;
    a = sl_tn_connect(AF_INET, t.port);
    b = sl_tn_connect(AF_INET, t.port);
    /* a holds most of a 1 MiB frame; b's 1 MiB frame cannot fit beside it
     * and waits (it does not allocate past the budget). */
    send_partial(a, frame, frame - 1);
    SL_TN_DRIVE(t.loop, sl_server_rx_mem(t.srv) >= (int64_t)frame);
    send_partial(b, frame, 600 * 1024);
    SL_TN_DRIVE(t.loop, sl_server_stats(t.srv).rx_starved > 0);
    sl_tn_spin(t.loop, 10, 5);
    SL_CHECK(sl_server_rx_mem(t.srv) <= cfg.max_queued_request_bytes);
    SL_CHECK_EQ(t.nframes, 0);
    /* A starved peer that leaves mid-frame is closed at once, not at the
     * idle timeout: its frame can never complete. */
    {
        int gone = sl_tn_connect(AF_INET, t.port);

        send_partial(gone, frame, 100 * 1024); /* the rest and the FIN fit the socket buffer */
        SL_TN_DRIVE(t.loop, sl_server_stats(t.srv).rx_starved > 1);
        close(gone);
        SL_TN_DRIVE(t.loop, t.closed == 1);
        SL_CHECK_STR(t.close_reason, "peer closed mid-frame");
    }
    /* A small request still gets through: the first 16 KiB are granted. */
    small = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(small, "\0\0\0\2hi", 6);
    SL_TN_DRIVE(t.loop, t.nframes == 1);
    SL_CHECK_EQ(t.frames[0].len, 2);
    /* a completes; its buffer is freed and b resumes and completes too. */
    sl_tn_write_all(a, "z", 1);
    SL_TN_DRIVE(t.loop, t.nframes == 2);
    SL_CHECK_EQ(t.frames[1].len, frame);
    send_zeros(b, frame - 600 * 1024);
    SL_TN_DRIVE(t.loop, t.nframes == 3);
    SL_CHECK_EQ(t.frames[2].len, frame);
    SL_CHECK(sl_server_rx_mem(t.srv) <= cfg.max_queued_request_bytes);
    close(a);
    close(b);
    close(small);
    SL_TN_DRIVE(t.loop, t.closed == 4);
    SL_CHECK_EQ(sl_server_rx_mem(t.srv), 0);
    sl_tn_stop(&t);
}

SL_TEST(net_queued_max_request_bytes_below_max_frame_is_refused)
{
    sl_server_config_t cfg;
    sl_conn_cbs_t cbs = {.on_frame = ignore_frame};
    sl_loop_t *loop;
    sl_server_t *srv = NULL;

    SL_CHECK_OK(sl_loop_new(&loop));
    sl_server_config_defaults(&cfg);
    cfg.max_queued_request_bytes = cfg.max_frame - 1;
    SL_CHECK_EQ(sl_server_new(loop, &cfg, &cbs, NULL, &srv), SL_EINVAL);
    cfg.max_queued_request_bytes = 0;
    SL_CHECK_EQ(sl_server_new(loop, &cfg, &cbs, NULL, &srv), SL_EINVAL);
    cfg.max_queued_request_bytes = -1;
    SL_CHECK_OK(sl_server_new(loop, &cfg, &cbs, NULL, &srv));
    sl_server_free(srv);
    sl_loop_free(loop);
}
