/*
 * test_net_util.c -- the scaffolding declared in test_net.h (no tests here).
 */
#include "test_net.h"

#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TN_ASAN 1
#endif
#endif
#ifdef TN_ASAN
#include <sanitizer/lsan_interface.h>
#endif

int64_t
sl_tn_now(void)
{
    return sl_mono_ms();
}

void
sl_tn_spin(sl_loop_t *loop, int n, int wait_ms)
{
    for (int i = 0; i < n; i++)
        (void)sl_loop_run_once(loop, wait_ms);
}

/* ---- server fixture ---------------------------------------------------- */

static void
tn_open(sl_conn_t *c, void *owner)
{
    sl_tn_srv_t *t = owner;

    t->opened++;
    t->conn = c;
    sl_conn_set_data(c, t);
}

static void
tn_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_tn_srv_t *t = sl_server_owner(sl_conn_server(c));
    sl_tn_frame_t *f;

    if (t->in_flight)
        t->violations++;
    t->in_flight = true;
    SL_CHECK(sl_conn_muted(c));
    SL_CHECK(t->nframes < SL_TN_MAX_FRAMES);
    f = &t->frames[t->nframes++];
    f->copy = malloc(len ? len : 1);
    memcpy(f->copy, data, len);
    f->len = len;
    f->ptr = data;
    f->conn_id = sl_conn_id(c);
    f->queued_at_delivery = sl_conn_queued(c);
    if (t->hook != NULL) {
        t->hook(t, c, data, len);
    } else if (t->echo) {
        sl_conn_send_size(c, (int32_t)len);
        sl_conn_send_copy(c, data, len);
        sl_tn_unmute(t, c);
    }
}

static void
tn_close(sl_conn_t *c)
{
    sl_tn_srv_t *t = sl_server_owner(sl_conn_server(c));

    t->closed++;
    snprintf(t->close_reason, sizeof(t->close_reason), "%s",
             sl_conn_close_reason(c) ? sl_conn_close_reason(c) : "(null)");
    t->close_rx_cap = sl_conn_rx_capacity(c);
    t->last_closed_id = sl_conn_id(c);
    SL_CHECK(sl_conn_closed(c));
    SL_CHECK(sl_conn_fd(c) == -1);
    if (t->conn == c)
        t->conn = NULL;
    t->in_flight = false;
}

void
sl_tn_unmute(sl_tn_srv_t *t, sl_conn_t *c)
{
    t->in_flight = false;
    sl_conn_unmute(c);
}

void
sl_tn_start(sl_tn_srv_t *t, const sl_server_config_t *cfg, const char *spec)
{
    sl_conn_cbs_t cbs = {.on_open = tn_open, .on_frame = tn_frame, .on_close = tn_close};

    SL_CHECK_OK(sl_loop_new(&t->loop));
    SL_CHECK_OK(sl_server_new(t->loop, cfg, &cbs, t, &t->srv));
    SL_CHECK_OK(sl_server_listen(t->srv, spec ? spec : "PLAINTEXT://127.0.0.1:0", &t->l));
    t->port = sl_listener_port(t->l);
    SL_CHECK(t->port > 0);
}

void
sl_tn_leak_check(void)
{
#ifdef TN_ASAN
    /* The runner ends each test with _exit, which skips LeakSanitizer's
     * exit-time check; ask for it here instead. */
    if (__lsan_do_recoverable_leak_check() != 0)
        sl_test_fail(__FILE__, __LINE__, "memory leaked (see the report above)");
#endif
}

void
sl_tn_stop(sl_tn_srv_t *t)
{
    sl_server_free(t->srv);
    sl_loop_free(t->loop);
    for (size_t i = 0; i < t->nframes; i++)
        free(t->frames[i].copy);
    t->nframes = 0;
    sl_tn_leak_check();
}

/* ---- clients ----------------------------------------------------------- */

bool
sl_tn_have_ipv6(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0)
        return false;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

int
sl_tn_connect_rcvbuf(int family, int port, int rcvbuf)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct timeval tv = {.tv_sec = SL_TN_DEADLINE_MS / 1000};
    int one = 1;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(*in6);
    }
    if (rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
sl_tn_connect(int family, int port)
{
    return sl_tn_connect_rcvbuf(family, port, 0);
}

void
sl_tn_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        SL_CHECK(w > 0);
        b += w;
        n -= (size_t)w;
    }
}

void
sl_tn_frame_append(sl_buf_t *b, const void *payload, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};

    sl_buf_append(b, hdr, 4);
    sl_buf_append(b, payload, len);
}

bool
sl_tn_read_some(int fd, sl_buf_t *into)
{
    for (;;) {
        ssize_t n;

        sl_buf_reserve(into, 65536);
        n = recv(fd, into->data + into->len, into->cap - into->len, MSG_DONTWAIT);
        if (n > 0) {
            into->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}
