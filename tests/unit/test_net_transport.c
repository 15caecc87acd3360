/*
 * test_net_transport.c -- the transport seam: a transport without sendfile
 * gets file regions through the bounded copy path, byte for byte what
 * sendfile sends; a handshake hook gates every frame; and a connection
 * knows the listener that accepted it.
 */
#include "test_net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ======================================================================== */
/* Test transports                                                          */
/* ======================================================================== */

static int copy_sends, sendfile_calls;

static ssize_t
t_recv(sl_conn_t *c, void *buf, size_t n)
{
    return sl_transport_plaintext.recv(c, buf, n);
}

/* Sends at most 1000 bytes a call, so the copy buffer is sent in pieces
 * (as a TLS write of one record at a time would). */
static ssize_t
t_send_small(sl_conn_t *c, const struct iovec *iov, int iovcnt, bool more)
{
    struct iovec one = iov[0];

    copy_sends++;
    one.iov_len = SL_MIN(one.iov_len, (size_t)1000);
    return sl_transport_plaintext.send(c, &one, 1,
                                       more || iovcnt > 1 || one.iov_len < iov[0].iov_len);
}

static ssize_t
t_sendfile_forbidden(sl_conn_t *c, int fd, int64_t off, size_t n)
{
    sendfile_calls++;
    errno = EINVAL;
    return -1;
}

static const sl_transport_t no_sendfile_tp = {
    .name = "test-no-sendfile",
    .can_sendfile = false,
    .recv = t_recv,
    .send = t_send_small,
    .sendfile = t_sendfile_forbidden,
};

/* Handshake: the peer must send one byte 'H' before any frame. */
static int handshakes_done;

static int
t_handshake(sl_conn_t *c, uint32_t *want)
{
    char b;
    ssize_t n = recv(sl_conn_fd(c), &b, 1, 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        *want = SL_EV_READ;
        return SL_EAGAIN;
    }
    if (n != 1 || b != 'H')
        return SL_EPROTO;
    handshakes_done++;
    return SL_OK;
}

static ssize_t
t_send_plain(sl_conn_t *c, const struct iovec *iov, int iovcnt, bool more)
{
    return sl_transport_plaintext.send(c, iov, iovcnt, more);
}

static ssize_t
t_sendfile_plain(sl_conn_t *c, int fd, int64_t off, size_t n)
{
    return sl_transport_plaintext.sendfile(c, fd, off, n);
}

static const sl_transport_t hello_tp = {
    .name = "test-hello",
    .can_sendfile = true,
    .handshake = t_handshake,
    .recv = t_recv,
    .send = t_send_plain,
    .sendfile = t_sendfile_plain,
};

/* ======================================================================== */
/* File regions: copy path == sendfile                                      */
/* ======================================================================== */

#define FILE_SIZE (300u * 1024)

typedef struct file_ctx {
    int fd;
    int releases;
} file_ctx_t;

static void
count_release(void *arg)
{
    ((file_ctx_t *)arg)->releases++;
}

/* Every frame is answered with: size, "HDR", file [1234, 1234+200000),
 * file [0, 10), "END" -- two regions back to back, memory around them. */
static void
file_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    file_ctx_t *fc = t->user;

    sl_conn_send_size(c, 3 + 200000 + 10 + 3);
    sl_conn_send_copy(c, "HDR", 3);
    sl_conn_send_file(c, fc->fd, 1234, 200000, count_release, fc);
    sl_conn_send_file(c, fc->fd, 0, 10, count_release, fc);
    sl_conn_send_copy(c, "END", 3);
    sl_tn_unmute(t, c);
}

/* Serves one request through tp and returns the response bytes in got. */
static void
serve_file_through(const sl_transport_t *tp, const uint8_t *content, sl_buf_t *got)
{
    sl_tn_srv_t t = {.hook = file_hook};
    file_ctx_t fc;
    sl_buf_t req = SL_BUF_INIT;
    int fd;

    fc.fd = open(sl_test_path("region"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fc.releases = 0;
    SL_CHECK(fc.fd >= 0);
    SL_CHECK_EQ(write(fc.fd, content, FILE_SIZE), (ssize_t)FILE_SIZE);
    t.user = &fc;
    sl_tn_start(&t, NULL, NULL);
    if (tp != NULL)
        sl_listener_set_transport(t.l, tp);
    /* A small receive buffer: the server meets a full socket mid-region. */
    fd = sl_tn_connect_rcvbuf(AF_INET, t.port, 4096);
    SL_CHECK(fd >= 0);
    sl_tn_frame_append(&req, "x", 1);
    sl_tn_write_all(fd, req.data, req.len);
    SL_TN_DRIVE(t.loop, (sl_tn_read_some(fd, got), got->len >= 4 + 200016));
    SL_CHECK_EQ(got->len, 4 + 200016);
    SL_TN_DRIVE(t.loop, fc.releases == 2);
    SL_CHECK(t.conn != NULL && sl_conn_transport(t.conn) == (tp ? tp : &sl_transport_plaintext));
    close(fd);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    sl_buf_deinit(&req);
    close(fc.fd);
    sl_tn_stop(&t);
}

SL_TEST(net_transport_copy_path_serves_file_regions_like_sendfile)
{
    uint8_t *content = malloc(FILE_SIZE);
    sl_buf_t via_sendfile = SL_BUF_INIT, via_copy = SL_BUF_INIT;
    uint8_t expect[4 + 200016];

    for (size_t i = 0; i < FILE_SIZE; i++)
        content[i] = (uint8_t)sl_test_rand();
    copy_sends = sendfile_calls = 0;
    serve_file_through(NULL, content, &via_sendfile);
    serve_file_through(&no_sendfile_tp, content, &via_copy);
    SL_CHECK_EQ(sendfile_calls, 0);
    /* 200010 file bytes in <= 1000-byte sends: at least 201 of them. */
    SL_CHECK(copy_sends >= 201);
    expect[0] = 0;
    expect[1] = (uint8_t)(200016 >> 16);
    expect[2] = (uint8_t)(200016 >> 8);
    expect[3] = (uint8_t)200016;
    memcpy(expect + 4, "HDR", 3);
    memcpy(expect + 7, content + 1234, 200000);
    memcpy(expect + 200007, content, 10);
    memcpy(expect + 200017, "END", 3);
    SL_CHECK_EQ(via_sendfile.len, sizeof(expect));
    SL_CHECK_MEM(via_sendfile.data, expect, sizeof(expect));
    SL_CHECK_EQ(via_copy.len, sizeof(expect));
    SL_CHECK_MEM(via_copy.data, expect, sizeof(expect));
    sl_buf_deinit(&via_sendfile);
    sl_buf_deinit(&via_copy);
    free(content);
}

/* A region the file can no longer supply closes the connection on the copy
 * path too (and the region is released). */
static void
short_file_hook(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len)
{
    file_ctx_t *fc = t->user;

    sl_conn_send_size(c, 100);
    sl_conn_send_file(c, fc->fd, FILE_SIZE - 10, 100, count_release, fc);
    sl_tn_unmute(t, c);
}

SL_TEST(net_transport_copy_path_short_file_closes)
{
    sl_tn_srv_t t = {.hook = short_file_hook};
    file_ctx_t fc = {.releases = 0};
    uint8_t *content = calloc(1, FILE_SIZE);
    sl_buf_t req = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd;

    fc.fd = open(sl_test_path("short"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    SL_CHECK(fc.fd >= 0);
    SL_CHECK_EQ(write(fc.fd, content, FILE_SIZE), (ssize_t)FILE_SIZE);
    t.user = &fc;
    sl_tn_start(&t, NULL, NULL);
    sl_listener_set_transport(t.l, &no_sendfile_tp);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd >= 0);
    sl_tn_frame_append(&req, "x", 1);
    sl_tn_write_all(fd, req.data, req.len);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_STR(t.close_reason, "file region shorter than queued");
    SL_CHECK_EQ(fc.releases, 1);
    SL_TN_DRIVE(t.loop, sl_tn_read_some(fd, &got));
    SL_CHECK_EQ(got.len, 4 + 10); /* the size and the 10 bytes that exist */
    close(fd);
    close(fc.fd);
    sl_buf_deinit(&req);
    sl_buf_deinit(&got);
    free(content);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Handshake hook                                                           */
/* ======================================================================== */

SL_TEST(net_transport_handshake_gates_frames)
{
    sl_tn_srv_t t = {.echo = true};
    sl_buf_t req = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd, bad;

    handshakes_done = 0;
    sl_tn_start(&t, NULL, NULL);
    sl_listener_set_transport(t.l, &hello_tp);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd >= 0);
    /* A frame before the handshake byte is not read as a frame. */
    SL_TN_DRIVE(t.loop, t.opened == 1);
    sl_tn_spin(t.loop, 3, 1);
    SL_CHECK_EQ(handshakes_done, 0);
    sl_tn_write_all(fd, "H", 1);
    sl_tn_frame_append(&req, "ping", 4);
    sl_tn_write_all(fd, req.data, req.len);
    SL_TN_DRIVE(t.loop, (sl_tn_read_some(fd, &got), got.len >= req.len));
    SL_CHECK_EQ(handshakes_done, 1);
    SL_CHECK_EQ(got.len, req.len);
    SL_CHECK_MEM(got.data, req.data, req.len);
    SL_CHECK_EQ(t.nframes, 1);

    /* A failed handshake closes the connection with no frame delivered. */
    bad = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(bad >= 0);
    sl_tn_write_all(bad, "X", 1);
    sl_tn_write_all(bad, req.data, req.len);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_STR(t.close_reason, "handshake failed");
    SL_CHECK_EQ(t.nframes, 1);
    close(bad);
    close(fd);
    sl_buf_deinit(&req);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Listener identity                                                        */
/* ======================================================================== */

SL_TEST(net_conn_knows_its_listener)
{
    sl_tn_srv_t t = {.echo = true};
    sl_listener_t *internal;
    int a, b, pair[2];
    sl_conn_t *ca, *cb, *adopted;

    sl_tn_start(&t, NULL, NULL);
    SL_CHECK_OK(sl_server_listen(t.srv, "INTERNAL://127.0.0.1:0", &internal));
    SL_CHECK_STR(sl_listener_security_protocol(t.l), "PLAINTEXT");
    SL_CHECK_STR(sl_listener_security_protocol(internal), "PLAINTEXT");
    sl_listener_set_security_protocol(internal, "SASL_PLAINTEXT");

    a = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(a >= 0);
    SL_TN_DRIVE(t.loop, t.opened == 1);
    ca = t.conn;
    b = sl_tn_connect(AF_INET, sl_listener_port(internal));
    SL_CHECK(b >= 0);
    SL_TN_DRIVE(t.loop, t.opened == 2);
    cb = t.conn;
    SL_CHECK(sl_conn_listener(ca) == t.l);
    SL_CHECK_STR(sl_conn_listener_name(ca), "PLAINTEXT");
    SL_CHECK_STR(sl_conn_security_protocol(ca), "PLAINTEXT");
    SL_CHECK(sl_conn_listener(cb) == internal);
    SL_CHECK_STR(sl_conn_listener_name(cb), "INTERNAL");
    SL_CHECK_STR(sl_conn_security_protocol(cb), "SASL_PLAINTEXT");
    SL_CHECK(!sl_conn_outbound(ca));

    /* An adopted socket has no listener. */
    SL_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    SL_CHECK_OK(sl_server_adopt(t.srv, pair[0], &adopted));
    SL_CHECK(sl_conn_listener(adopted) == NULL);
    SL_CHECK(sl_conn_listener_name(adopted) == NULL);
    SL_CHECK_STR(sl_conn_security_protocol(adopted), "PLAINTEXT");

    /* Connections outlive their listeners at shutdown: they forget the
     * listener but keep its name. */
    sl_server_stop_listening(t.srv);
    SL_CHECK(sl_conn_listener(cb) == NULL);
    SL_CHECK_STR(sl_conn_listener_name(cb), "INTERNAL");
    close(pair[1]);
    close(a);
    close(b);
    SL_TN_DRIVE(t.loop, t.closed == 3);
    sl_tn_stop(&t);
}

/* ======================================================================== */
/* Outbound connections use the same table                                  */
/* ======================================================================== */

/* Client side of the hello handshake: writes 'H' once writable. */
static int
t_handshake_client(sl_conn_t *c, uint32_t *want)
{
    ssize_t n = send(sl_conn_fd(c), "H", 1, MSG_NOSIGNAL);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        *want = SL_EV_WRITE;
        return SL_EAGAIN;
    }
    return n == 1 ? SL_OK : SL_EIO;
}

static const sl_transport_t hello_client_tp = {
    .name = "test-hello-client",
    .can_sendfile = true,
    .handshake = t_handshake_client,
    .recv = t_recv,
    .send = t_send_plain,
    .sendfile = t_sendfile_plain,
};

static int out_connected, out_answers;

static void
out_on_connect(sl_outconn_t *oc, int status, void *arg)
{
    SL_CHECK_EQ(status, SL_OK);
    out_connected++;
}

static void
out_on_response(sl_outconn_t *oc, int status, const uint8_t *resp, size_t len, void *arg)
{
    SL_CHECK_EQ(status, SL_OK);
    SL_CHECK_EQ(len, 8);
    SL_CHECK_MEM(resp + 4, "pong", 4);
    out_answers++;
}

SL_TEST(net_transport_outbound_connection_handshakes_through_its_transport)
{
    sl_tn_srv_t t = {.echo = true};
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = out_on_connect};
    sl_outconn_t *oc;
    sl_buf_t req = SL_BUF_INIT;
    uint8_t payload[8] = {0, 0, 0, 42, 'p', 'o', 'n', 'g'}; /* echoed: corr id first */

    handshakes_done = out_connected = out_answers = 0;
    sl_tn_start(&t, NULL, "INTERNAL://127.0.0.1:0");
    sl_listener_set_transport(t.l, &hello_tp);
    sl_outconn_opts_defaults(&o);
    o.transport = &hello_client_tp;
    SL_CHECK_OK(sl_net_connect(t.loop, "127.0.0.1", t.port, &o, &cbs, NULL, &oc));
    SL_TN_DRIVE(t.loop, out_connected == 1);
    SL_CHECK(sl_conn_transport(sl_outconn_conn(oc)) == &hello_client_tp);
    SL_CHECK(sl_conn_outbound(sl_outconn_conn(oc)));
    SL_CHECK(sl_conn_listener(sl_outconn_conn(oc)) == NULL);
    sl_buf_append(&req, payload, sizeof(payload));
    SL_CHECK_OK(sl_outconn_send(oc, 42, &req, out_on_response, NULL));
    SL_TN_DRIVE(t.loop, out_answers == 1);
    SL_CHECK_EQ(handshakes_done, 1);
    SL_CHECK_STR(sl_conn_listener_name(t.conn), "INTERNAL");
    sl_outconn_free(oc);
    sl_buf_deinit(&req);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    sl_tn_stop(&t);
}
