/*
 * test_net_conn.c -- connections over real sockets: framing, muting and
 * pipelining, size limits, peers that vanish, large and file-backed
 * responses, backpressure, idle timeout, the connection cap, closing.
 * The server loop runs in the test process; clients are plain sockets read
 * without blocking between loop iterations, so no threads are needed.
 */
#include "test_net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void
fill_rand(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)sl_test_rand();
}

static void
check_frame(const sl_tn_srv_t *t, size_t i, const void *payload, size_t len)
{
    SL_CHECK(i < t->nframes);
    SL_CHECK_EQ(t->frames[i].len, len);
    SL_CHECK_MEM(t->frames[i].copy, payload, len);
}

/* Reads from fd while driving the loop until `want` bytes have arrived. */
static void
read_exact(sl_tn_srv_t *t, int fd, sl_buf_t *got, size_t want)
{
    SL_TN_DRIVE(t->loop, (sl_tn_read_some(fd, got), got->len >= want));
    SL_CHECK_EQ(got->len, want);
}

/* True once the peer has closed: recv returns 0 or a reset. */
static bool
client_sees_close(int fd)
{
    char b[256];
    ssize_t n;

    while ((n = recv(fd, b, sizeof(b), 0)) > 0)
        ;
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int releases;

static void
count_release(void *arg)
{
    (void)arg;
    releases++;
}

/* ======================================================================== */
/* Framing                                                                  */
/* ======================================================================== */

SL_TEST(net_frame_split_at_every_byte_boundary)
{
    sl_tn_srv_t t = {.echo = true};
    uint8_t p1[37], p2[5];
    sl_buf_t two = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd;

    fill_rand(p1, sizeof(p1));
    fill_rand(p2, sizeof(p2));
    sl_tn_frame_append(&two, p1, sizeof(p1));
    sl_tn_frame_append(&two, p2, sizeof(p2));
    sl_tn_start(&t, NULL, NULL);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd >= 0);
    SL_TN_DRIVE(t.loop, t.opened == 1);
    /* Two back-to-back frames, cut at every byte: the server must hold the
     * partial bytes, deliver nothing early, then both frames in order. */
    for (size_t k = 1; k < two.len; k++) {
        size_t before = t.nframes, first = 4 + sizeof(p1);

        sl_tn_write_all(fd, two.data, k);
        SL_TN_DRIVE(t.loop, t.nframes == before + (k >= first) &&
                                sl_conn_rx_buffered(t.conn) == (k >= first ? k - first : k));
        sl_tn_write_all(fd, two.data + k, two.len - k);
        SL_TN_DRIVE(t.loop, t.nframes == before + 2);
        check_frame(&t, before, p1, sizeof(p1));
        check_frame(&t, before + 1, p2, sizeof(p2));
        got.len = 0;
        read_exact(&t, fd, &got, two.len);
        SL_CHECK_MEM(got.data, two.data, two.len);
    }
    /* One byte per write. */
    for (size_t i = 0; i < two.len; i++) {
        size_t before = t.nframes;

        sl_tn_write_all(fd, two.data + i, 1);
        SL_TN_DRIVE(t.loop, t.nframes > before || sl_conn_rx_buffered(t.conn) > 0);
    }
    check_frame(&t, t.nframes - 2, p1, sizeof(p1));
    check_frame(&t, t.nframes - 1, p2, sizeof(p2));
    SL_CHECK_EQ(t.violations, 0);
    close(fd);
    sl_buf_deinit(&two);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

SL_TEST(net_pipelined_frames_delivered_one_at_a_time_after_unmute)
{
    enum { N = 50 };
    sl_tn_srv_t t = {0};
    sl_buf_t all = SL_BUF_INIT, expect = SL_BUF_INIT, got = SL_BUF_INIT;
    uint8_t payload[300];
    size_t lens[N];
    int fd;

    fill_rand(payload, sizeof(payload));
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(i * 37) % sizeof(payload); /* includes a 0-length frame */
        sl_tn_frame_append(&all, payload, lens[i]);
    }
    sl_tn_start(&t, NULL, NULL);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd >= 0);
    sl_tn_write_all(fd, all.data, all.len);
    for (int i = 0; i < N; i++) {
        sl_tn_frame_t *f;
        uint8_t reply[8] = {0, 0, 0, 4, (uint8_t)i};

        SL_TN_DRIVE(t.loop, t.nframes == (size_t)i + 1);
        sl_tn_spin(t.loop, 3, 0); /* muted: more iterations deliver nothing */
        SL_CHECK_EQ(t.nframes, i + 1);
        check_frame(&t, (size_t)i, payload, lens[i]);
        /* The frame is still where it was delivered, bytes intact. */
        f = &t.frames[i];
        SL_CHECK_MEM(f->ptr, f->copy, f->len);
        SL_CHECK(sl_conn_muted(t.conn));
        sl_conn_send_size(t.conn, 4);
        sl_conn_send_copy(t.conn, reply + 4, 4);
        sl_buf_append(&expect, reply, 8);
        sl_tn_unmute(&t, t.conn);
    }
    read_exact(&t, fd, &got, expect.len);
    SL_CHECK_MEM(got.data, expect.data, expect.len);
    SL_CHECK_EQ(t.violations, 0);
    close(fd);
    sl_buf_deinit(&all);
    sl_buf_deinit(&expect);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

/* A unix socketpair makes "everything the client sent is already buffered"
 * certain, so this checks that unmute alone -- no new readability -- brings
 * the next frame, within the very next iteration. */
SL_TEST(net_unmute_delivers_buffered_frame_without_new_data)
{
    sl_tn_srv_t t = {0};
    sl_buf_t all = SL_BUF_INIT;
    sl_conn_t *c;
    int sv[2], unread = -1;

    sl_tn_start(&t, NULL, NULL);
    SL_CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    for (int i = 0; i < 5; i++)
        sl_tn_frame_append(&all, "abcdefgh", (size_t)i + 1);
    sl_tn_write_all(sv[0], all.data, all.len);
    SL_CHECK_OK(sl_server_adopt(t.srv, sv[1], &c));
    SL_CHECK_STR(sl_conn_peer(c), "unix");
    SL_TN_DRIVE(t.loop, t.nframes == 1);
    SL_CHECK_EQ(sl_conn_rx_buffered(c), all.len);
    for (int i = 1; i < 5; i++) {
        SL_CHECK_OK(ioctl(sl_conn_fd(c), FIONREAD, &unread));
        SL_CHECK_EQ(unread, 0);
        sl_tn_unmute(&t, c);
        (void)sl_loop_run_once(t.loop, 0);
        SL_CHECK_EQ(t.nframes, i + 1);
        check_frame(&t, (size_t)i, "abcdefgh", (size_t)i + 1);
    }
    sl_tn_unmute(&t, c);
    (void)sl_loop_run_once(t.loop, 0);
    SL_CHECK_EQ(sl_conn_rx_buffered(c), 0);
    close(sv[0]);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    sl_buf_deinit(&all);
    sl_tn_stop(&t);
}

SL_TEST(net_bad_frame_sizes_close_without_allocating)
{
    static const uint32_t sizes[] = {0x7fffffffu, (1u << 20) + 1, 0x80000000u, 0xffffffffu};
    static const char *reasons[] = {"frame too large", "frame too large", "negative frame size",
                                    "negative frame size"};
    sl_server_config_t cfg;
    sl_tn_srv_t t = {.echo = true};
    sl_buf_t big = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd;

    sl_server_config_defaults(&cfg);
    cfg.max_frame = 1 << 20;
    sl_tn_start(&t, &cfg, NULL);
    for (size_t i = 0; i < SL_ARRAY_LEN(sizes); i++) {
        uint8_t msg[12] = {(uint8_t)(sizes[i] >> 24),
                           (uint8_t)(sizes[i] >> 16),
                           (uint8_t)(sizes[i] >> 8),
                           (uint8_t)sizes[i],
                           1,
                           2,
                           3,
                           4,
                           5,
                           6,
                           7,
                           8};

        fd = sl_tn_connect(AF_INET, t.port);
        SL_CHECK(fd >= 0);
        sl_tn_write_all(fd, msg, sizeof(msg));
        SL_TN_DRIVE(t.loop, t.closed == (int)i + 1);
        SL_CHECK_STR(t.close_reason, reasons[i]);
        SL_CHECK(t.close_rx_cap <= 16 * 1024);
        SL_CHECK(client_sees_close(fd));
        close(fd);
    }
    SL_CHECK_EQ(t.nframes, 0);
    SL_CHECK_EQ(sl_server_stats(t.srv).bad_frames, 4);
    /* Exactly the limit is fine. */
    sl_buf_reserve(&big, (1u << 20) + 4);
    big.len = (1u << 20) + 4;
    fill_rand(big.data, big.len);
    memcpy(big.data, "\x00\x10\x00\x00", 4);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd >= 0);
    /* The buffer grows with the bytes that arrive, not to the size the peer
     * declares. */
    sl_tn_write_all(fd, big.data, 104);
    SL_TN_DRIVE(t.loop, t.conn != NULL && sl_conn_rx_buffered(t.conn) == 104);
    SL_CHECK(sl_conn_rx_capacity(t.conn) <= 64 * 1024);
    sl_tn_write_all(fd, big.data + 104, big.len - 104);
    read_exact(&t, fd, &got, big.len);
    SL_CHECK_MEM(got.data, big.data, big.len);
    /* ... and is given back once that frame is done. */
    SL_CHECK(sl_conn_rx_capacity(t.conn) <= 64 * 1024);
    close(fd);
    sl_buf_deinit(&big);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Peers that vanish                                                        */
/* ======================================================================== */

static void
park_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    /* A parked request: no response, no unmute. */
}

static void
big_ref_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    size_t n = *(size_t *)t->user;
    uint8_t *p = calloc(1, n);

    sl_conn_send_size(c, (int32_t)n);
    sl_conn_send_ref(c, p, n, free, p);
    sl_conn_send_ref(c, "", 1, count_release, NULL);
    sl_tn_unmute(t, c);
}

SL_TEST(net_peer_vanishes_mid_frame_mid_write_and_while_muted)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {.echo = true};
    struct linger lg = {1, 0};
    uint8_t part[504] = {0, 0, 3, 0xe8}; /* declares 1000 bytes, sends 500 */
    size_t big = 8u << 20;
    int fd;

    sl_server_config_defaults(&cfg);
    cfg.sndbuf = 16 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.user = &big;

    /* Mid-frame, orderly close. */
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, part, sizeof(part));
    SL_TN_DRIVE(t.loop, t.conn != NULL && sl_conn_rx_buffered(t.conn) == sizeof(part));
    close(fd);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_STR(t.close_reason, "peer closed");

    /* Mid-frame, reset. */
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, part, sizeof(part));
    SL_TN_DRIVE(t.loop, t.conn != NULL && sl_conn_rx_buffered(t.conn) == sizeof(part));
    SL_CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
    close(fd);
    SL_TN_DRIVE(t.loop, t.closed == 2);

    /* Muted (request parked): the close is still noticed and reported. */
    t.hook = park_hook;
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, "\0\0\0\2hi", 6);
    SL_TN_DRIVE(t.loop, t.nframes == 1);
    close(fd);
    SL_TN_DRIVE(t.loop, t.closed == 3);
    SL_CHECK_STR(t.close_reason, "peer closed");

    /* Mid-write: 8 MiB queued, the client never reads and resets. Every
     * queued piece is released exactly once. */
    t.hook = big_ref_hook;
    releases = 0;
    fd = sl_tn_connect_rcvbuf(AF_INET, t.port, 16 * 1024);
    sl_tn_write_all(fd, "\0\0\0\2hi", 6);
    SL_TN_DRIVE(t.loop, t.nframes == 2 && t.conn != NULL && sl_conn_queued(t.conn) < big + 5);
    SL_CHECK(sl_conn_queued(t.conn) > 0);
    SL_CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
    close(fd);
    SL_TN_DRIVE(t.loop, t.closed == 4);
    SL_CHECK_EQ(releases, 1);

    sl_tn_spin(t.loop, 5, 0);
    SL_CHECK_EQ(t.closed, 4);
    SL_CHECK_EQ(t.opened, 4);
    SL_CHECK_EQ(sl_server_conn_count(t.srv), 0);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Responses: large, file-backed, backpressure                              */
/* ======================================================================== */

SL_TEST(net_large_response_with_partial_writes)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    sl_buf_t got = SL_BUF_INIT;
    size_t big = 6u << 20;
    int fd;

    sl_server_config_defaults(&cfg);
    cfg.sndbuf = 32 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.hook = big_ref_hook;
    t.user = &big;
    releases = 0;
    fd = sl_tn_connect_rcvbuf(AF_INET, t.port, 32 * 1024);
    sl_tn_write_all(fd, "\0\0\0\0", 4);
    read_exact(&t, fd, &got, 4 + big + 1);
    SL_CHECK_MEM(got.data, "\x00\x60\x00\x00", 4);
    for (size_t i = 4; i < got.len; i++)
        SL_CHECK(got.data[i] == 0);
    SL_CHECK_EQ(releases, 1);
    SL_TN_DRIVE(t.loop, sl_conn_queued(t.conn) == 0);
    close(fd);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

typedef struct file_case {
    int fd;
    size_t size;
    bool past_eof;
} file_case_t;

static void
file_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    file_case_t *fc = t->user;
    char *tail;

    if (fc->past_eof) {
        sl_conn_send_size(c, 100);
        sl_conn_send_file(c, fc->fd, (int64_t)fc->size - 10, 100, count_release, NULL);
        sl_tn_unmute(t, c);
        return;
    }
    sl_conn_send_size(c, (int32_t)(4 + 300000 + 3 + (fc->size - 400000) + 4));
    sl_conn_send_copy(c, "hdr:", 4);
    sl_conn_send_file(c, fc->fd, 100, 300000, count_release, NULL);
    sl_conn_send_copy(c, "mid", 3);
    sl_conn_send_file(c, fc->fd, 400000, fc->size - 400000, count_release, NULL);
    tail = sl_xstrdup("tail");
    sl_conn_send_take(c, tail, 4);
    sl_tn_unmute(t, c);
}

SL_TEST(net_file_regions_interleaved_with_memory_chunks)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    file_case_t fc = {.size = (1u << 20) + 123};
    sl_buf_t file = SL_BUF_INIT, expect = SL_BUF_INIT, got = SL_BUF_INIT;
    uint8_t hdr[4];
    int wfd, fd;

    sl_buf_reserve(&file, fc.size);
    file.len = fc.size;
    fill_rand(file.data, file.len);
    wfd = open(sl_test_path("seg.log"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    SL_CHECK(wfd >= 0);
    SL_CHECK_EQ(write(wfd, file.data, file.len), (ssize_t)file.len);
    close(wfd);
    fc.fd = open(sl_test_path("seg.log"), O_RDONLY);
    SL_CHECK(fc.fd >= 0);

    sl_server_config_defaults(&cfg);
    cfg.sndbuf = 32 * 1024; /* partial sendfiles and writevs */
    sl_tn_start(&t, &cfg, NULL);
    t.hook = file_hook;
    t.user = &fc;
    releases = 0;
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, "\0\0\0\0", 4);

    sl_buf_append(&expect, "hdr:", 4);
    sl_buf_append(&expect, file.data + 100, 300000);
    sl_buf_append(&expect, "mid", 3);
    sl_buf_append(&expect, file.data + 400000, fc.size - 400000);
    sl_buf_append(&expect, "tail", 4);
    read_exact(&t, fd, &got, 4 + expect.len);
    hdr[0] = (uint8_t)(expect.len >> 24);
    hdr[1] = (uint8_t)(expect.len >> 16);
    hdr[2] = (uint8_t)(expect.len >> 8);
    hdr[3] = (uint8_t)expect.len;
    SL_CHECK_MEM(got.data, hdr, 4);
    SL_CHECK_MEM(got.data + 4, expect.data, expect.len);
    SL_CHECK_EQ(releases, 2);

    /* A region the file cannot supply: the frame can never complete, so the
     * connection closes (and the region is still released). */
    fc.past_eof = true;
    sl_tn_write_all(fd, "\0\0\0\0", 4);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_STR(t.close_reason, "file region shorter than queued");
    SL_CHECK_EQ(releases, 3);
    close(fd);
    close(fc.fd);
    sl_buf_deinit(&file);
    sl_buf_deinit(&expect);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

SL_TEST(net_backpressure_stops_reading_above_high_water)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    sl_buf_t req = SL_BUF_INIT, got = SL_BUF_INIT;
    size_t big = 4u << 20;
    int fd;

    sl_server_config_defaults(&cfg);
    cfg.tx_high_water = 256 * 1024;
    cfg.sndbuf = 16 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.hook = big_ref_hook;
    t.user = &big;
    fd = sl_tn_connect_rcvbuf(AF_INET, t.port, 16 * 1024);
    /* Two pipelined requests; the first one's response is far above the
     * high-water mark and the client is not reading. */
    sl_tn_frame_append(&req, "A", 1);
    sl_tn_frame_append(&req, "B", 1);
    sl_tn_write_all(fd, req.data, req.len);
    SL_TN_DRIVE(t.loop, t.nframes == 1);
    sl_tn_spin(t.loop, 20, 5);
    SL_CHECK_EQ(t.nframes, 1);
    SL_CHECK(sl_conn_queued(t.conn) > cfg.tx_high_water);
    /* The client drains; B is delivered only once output fell back. */
    SL_TN_DRIVE(t.loop, (sl_tn_read_some(fd, &got), t.nframes == 2));
    check_frame(&t, 1, "B", 1);
    SL_CHECK(t.frames[1].queued_at_delivery <= cfg.tx_high_water);
    read_exact(&t, fd, &got, 2 * (4 + big + 1));
    close(fd);
    sl_buf_deinit(&req);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Idle timeout, connection cap, closing                                    */
/* ======================================================================== */

static void
unmute_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_conn_unmute(c);
}

static uint64_t close_order[8];
static int nclose_order;

static void
order_close(sl_conn_t *c)
{
    sl_tn_srv_t *t = sl_server_owner(sl_conn_server(c));

    close_order[nclose_order++] = sl_conn_id(c);
    t->closed++;
    snprintf(t->close_reason, sizeof(t->close_reason), "%s", sl_conn_close_reason(c));
}

SL_TEST(net_idle_connections_closed_by_sweep_oldest_first)
{
    sl_server_config_t cfg;
    sl_conn_cbs_t cbs = {.on_frame = unmute_frame, .on_close = order_close};
    sl_tn_srv_t t = {0};
    int fd1, fd2;

    sl_server_config_defaults(&cfg);
    cfg.idle_ms = 30;
    SL_CHECK_OK(sl_loop_new(&t.loop));
    SL_CHECK_OK(sl_server_new(t.loop, &cfg, &cbs, &t, &t.srv));
    SL_CHECK_OK(sl_server_listen(t.srv, "PLAINTEXT://127.0.0.1:0", &t.l));
    fd1 = sl_tn_connect(AF_INET, sl_listener_port(t.l));
    SL_TN_DRIVE(t.loop, sl_server_stats(t.srv).accepted == 1);
    fd2 = sl_tn_connect(AF_INET, sl_listener_port(t.l));
    SL_TN_DRIVE(t.loop, t.closed == 2);
    SL_CHECK_STR(t.close_reason, "idle");
    SL_CHECK_EQ(close_order[0], 1);
    SL_CHECK_EQ(close_order[1], 2);
    SL_CHECK_EQ(sl_server_stats(t.srv).closed_idle, 2);
    SL_CHECK(client_sees_close(fd1));
    SL_CHECK(client_sees_close(fd2));
    close(fd1);
    close(fd2);
    sl_tn_stop(&t);
}

static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
    return fake_now;
}

static void
echo_first_park_others(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    if (sl_conn_id(c) != 1)
        return; /* parked: read, no response */
    sl_conn_send_size(c, (int32_t)len);
    sl_conn_send_copy(c, data, len);
    sl_tn_unmute(t, c);
}

/* With the loop on a fake clock the sweep is exact: a connection closes
 * when, and only when, idle_ms passed since its last read or write. */
SL_TEST(net_idle_sweep_follows_reads_and_writes_on_a_fake_clock)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {.hook = echo_first_park_others};
    sl_buf_t got = SL_BUF_INIT;
    sl_conn_t *a;
    int fda, fdb;

    sl_server_config_defaults(&cfg);
    cfg.idle_ms = 100;
    sl_tn_start(&t, &cfg, NULL);
    fake_now = 1000;
    sl_loop_set_clock(t.loop, fake_clock, NULL);
    SL_CHECK_EQ(sl_loop_now(t.loop), 1000);
    fda = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 1); /* A: opened at 1000 */
    a = t.conn;
    fake_now = 1050;
    fdb = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 2); /* B: opened at 1050 */
    fake_now = 1060;
    sl_tn_write_all(fda, "\0\0\0\1q", 5); /* A reads and writes at 1060 */
    read_exact(&t, fda, &got, 5);
    fake_now = 1070;
    sl_conn_send_copy(a, "w", 1); /* A only writes at 1070 */
    read_exact(&t, fda, &got, 6);
    fake_now = 1080;
    sl_tn_write_all(fdb, "\0\0\0\1p", 5); /* B only reads at 1080 */
    SL_TN_DRIVE(t.loop, t.nframes == 2);

    fake_now = 1169;
    sl_tn_spin(t.loop, 5, 0);
    SL_CHECK_EQ(t.closed, 0);
    fake_now = 1170;
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_EQ(t.last_closed_id, 1);
    SL_CHECK_STR(t.close_reason, "idle");
    fake_now = 1179;
    sl_tn_spin(t.loop, 5, 0);
    SL_CHECK_EQ(t.closed, 1);
    fake_now = 1180;
    SL_TN_DRIVE(t.loop, t.closed == 2); /* muted (parked) and idle: closed too */
    SL_CHECK_EQ(t.last_closed_id, 2);
    SL_CHECK(client_sees_close(fda));
    SL_CHECK(client_sees_close(fdb));
    close(fda);
    close(fdb);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

SL_TEST(net_connection_cap_accepts_and_closes_extra)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    int fd1, fd2, fd3, fd4;

    sl_server_config_defaults(&cfg);
    cfg.max_conns = 2;
    sl_tn_start(&t, &cfg, NULL);
    fd1 = sl_tn_connect(AF_INET, t.port);
    fd2 = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 2);
    fd3 = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd3 >= 0);
    SL_TN_DRIVE(t.loop, sl_server_stats(t.srv).rejected == 1);
    SL_CHECK(client_sees_close(fd3));
    SL_CHECK_EQ(t.opened, 2);
    SL_CHECK_EQ(sl_server_conn_count(t.srv), 2);
    close(fd1);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    fd4 = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 3);
    SL_CHECK_EQ(sl_server_conn_count(t.srv), 2);
    SL_CHECK_EQ(sl_conn_id(t.conn), 3);
    SL_CHECK(strncmp(sl_conn_peer(t.conn), "127.0.0.1:", 10) == 0);
    close(fd2);
    close(fd3);
    close(fd4);
    sl_tn_stop(&t);
}

static void
flush_close_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    static uint8_t body[1 << 20];

    memset(body, 0x5a, sizeof(body));
    sl_conn_send_size(c, (int32_t)sizeof(body));
    sl_conn_send_copy(c, body, sizeof(body));
    sl_conn_close_flush(c);
    sl_tn_unmute(t, c);
}

SL_TEST(net_close_flush_sends_everything_then_closes)
{
    sl_server_config_t cfg;
    sl_tn_srv_t t = {0};
    sl_buf_t got = SL_BUF_INIT;
    int fd;

    sl_server_config_defaults(&cfg);
    cfg.sndbuf = 16 * 1024;
    sl_tn_start(&t, &cfg, NULL);
    t.hook = flush_close_hook;
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, "\0\0\0\0", 4);
    SL_TN_DRIVE(t.loop, sl_tn_read_some(fd, &got));
    SL_CHECK_EQ(got.len, 4 + (1u << 20));
    SL_CHECK_EQ(got.data[4 + 12345], 0x5a);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_STR(t.close_reason, "closed by owner");
    close(fd);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

static void
close_now_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    int *fdp = t->user;

    sl_conn_send_size(c, 8);
    sl_conn_send_file(c, *fdp, 0, 4, count_release, NULL);
    sl_conn_send_ref(c, "abcd", 4, count_release, NULL);
    sl_conn_close(c);
    SL_CHECK_EQ(releases, 2); /* released by the close itself */
    sl_conn_send_ref(c, "late", 4, count_release, NULL);
    SL_CHECK_EQ(releases, 3); /* sends after close release at once */
    SL_CHECK_EQ(sl_conn_queued(c), 0);
    SL_CHECK(sl_conn_closed(c));
    SL_CHECK_EQ(t->closed, 0); /* on_close comes later, from the loop */
    sl_tn_unmute(t, c);
}

SL_TEST(net_close_now_releases_queued_pieces_and_reports_once)
{
    sl_tn_srv_t t = {0};
    int fd, ffd;

    ffd = open(sl_test_path("f"), O_CREAT | O_RDWR, 0644);
    SL_CHECK_EQ(write(ffd, "0123456789", 10), 10);
    sl_tn_start(&t, NULL, NULL);
    t.hook = close_now_hook;
    t.user = &ffd;
    releases = 0;
    fd = sl_tn_connect(AF_INET, t.port);
    sl_tn_write_all(fd, "\0\0\0\0", 4);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK(client_sees_close(fd));
    sl_tn_spin(t.loop, 3, 0);
    SL_CHECK_EQ(t.closed, 1);
    SL_CHECK_EQ(releases, 3);
    close(fd);
    close(ffd);
    sl_tn_stop(&t);
}

SL_TEST(net_server_free_reports_each_open_connection)
{
    sl_tn_srv_t t = {0};
    int fds[3];

    sl_tn_start(&t, NULL, NULL);
    for (int i = 0; i < 3; i++)
        fds[i] = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 3);
    releases = 0;
    sl_conn_send_ref(t.conn, "x", 1, count_release, NULL);
    sl_conn_close(t.conn); /* one already closing, on_close still pending */
    sl_server_free(t.srv);
    t.srv = NULL;
    SL_CHECK_EQ(t.closed, 3);
    SL_CHECK_EQ(releases, 1);
    for (int i = 0; i < 3; i++) {
        SL_CHECK(client_sees_close(fds[i]));
        close(fds[i]);
    }
    sl_tn_stop(&t);
}
