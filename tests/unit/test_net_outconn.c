/*
 * test_net_outconn.c -- outbound connections (net/outconn.h) against a
 * server on the same loop: pipelined requests answered out of order and
 * matched by correlation id, the in-flight bound, refused connects and the
 * reconnect backoff, request timeouts and disconnects failing every
 * callback exactly once. Timeouts and backoff run on the loop's fake clock.
 */
#include "test_net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ======================================================================== */
/* A server that answers in batches, in reverse                             */
/* ======================================================================== */

#define MAX_HELD 64

/* Holds requests (unmuting at once) and answers `batch` of them at a time
 * in reverse order: response = correlation id + the request's body. */
typedef struct rev_srv {
    sl_loop_t *loop;
    sl_server_t *srv;
    sl_listener_t *l;
    int port;
    int batch; /* 0: never answer */
    sl_conn_t *conn;
    uint8_t held[MAX_HELD][8];
    int nheld;
    int frames, closed;
} rev_srv_t;

static void
rev_open(sl_conn_t *c, void *owner)
{
    ((rev_srv_t *)owner)->conn = c;
}

static void
rev_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    rev_srv_t *s = sl_server_owner(sl_conn_server(c));

    SL_CHECK_EQ(len, 12); /* api key, version, correlation id, body */
    SL_CHECK(s->nheld < MAX_HELD);
    memcpy(s->held[s->nheld++], data + 4, 8);
    s->frames++;
    sl_conn_unmute(c);
    if (s->batch > 0 && s->nheld == s->batch) {
        while (s->nheld > 0) {
            sl_conn_send_size(c, 8);
            sl_conn_send_copy(c, s->held[--s->nheld], 8);
        }
    }
}

static void
rev_close(sl_conn_t *c)
{
    rev_srv_t *s = sl_server_owner(sl_conn_server(c));

    s->closed++;
    s->nheld = 0;
    if (s->conn == c)
        s->conn = NULL;
}

static int64_t fake_now = 1000000;

static int64_t
fake_clock(void *arg)
{
    return fake_now;
}

static void
rev_start(rev_srv_t *s, int batch, bool fake)
{
    sl_conn_cbs_t cbs = {.on_open = rev_open, .on_frame = rev_frame, .on_close = rev_close};

    memset(s, 0, sizeof(*s));
    s->batch = batch;
    SL_CHECK_OK(sl_loop_new(&s->loop));
    if (fake)
        sl_loop_set_clock(s->loop, fake_clock, NULL);
    SL_CHECK_OK(sl_server_new(s->loop, NULL, &cbs, s, &s->srv));
    SL_CHECK_OK(sl_server_listen(s->srv, "PLAINTEXT://127.0.0.1:0", &s->l));
    s->port = sl_listener_port(s->l);
}

static void
rev_stop(rev_srv_t *s)
{
    sl_server_free(s->srv);
    sl_loop_free(s->loop);
    sl_tn_leak_check();
}

/* Moves the fake clock and lets the loop see it. */
static void
advance(sl_loop_t *loop, int64_t ms)
{
    fake_now += ms;
    sl_loop_update_time(loop);
    sl_tn_spin(loop, 3, 0);
}

/* ======================================================================== */
/* Client side                                                              */
/* ======================================================================== */

#define NREQ 1000

typedef struct client {
    sl_outconn_t *oc;
    int connects, connect_fails, disconnects;
    int last_connect_status, last_disconnect_status;
    int64_t backoff[8]; /* next attempt - now, at each failed attempt */
    int nbackoff;
    int sent, answered, in_order;
    int calls[NREQ]; /* callbacks per request */
    int status[NREQ];
    int eagain_at_cap;
} client_t;

static client_t *the_client;

static void
build_req(sl_buf_t *b, int32_t corr, uint32_t body)
{
    uint8_t r[12] = {0, 3, 0, 9};

    for (int i = 0; i < 4; i++) {
        r[4 + i] = (uint8_t)((uint32_t)corr >> (24 - 8 * i));
        r[8 + i] = (uint8_t)(body >> (24 - 8 * i));
    }
    sl_buf_append(b, r, sizeof(r));
}

static void
on_response(sl_outconn_t *oc, int status, const uint8_t *resp, size_t len, void *arg)
{
    client_t *cl = the_client;
    int i = (int)(intptr_t)arg;

    SL_CHECK(i >= 0 && i < NREQ);
    cl->calls[i]++;
    cl->status[i] = status;
    if (status == SL_OK) {
        uint32_t body;

        SL_CHECK_EQ(len, 8);
        body = ((uint32_t)resp[4] << 24) | ((uint32_t)resp[5] << 16) | ((uint32_t)resp[6] << 8) |
               resp[7];
        SL_CHECK_EQ(body, (uint32_t)i * 7919u); /* the body sent with this correlation id */
        if (i == cl->answered)
            cl->in_order++;
        cl->answered++;
    }
}

/* Sends request i (correlation id from the connection, body i * 7919). */
static int
send_one(client_t *cl, int i)
{
    sl_buf_t b = SL_BUF_INIT;
    int32_t corr = sl_outconn_next_correlation(cl->oc);
    int rc;

    build_req(&b, corr, (uint32_t)i * 7919u);
    rc = sl_outconn_send(cl->oc, corr, &b, on_response, (void *)(intptr_t)i);
    sl_buf_deinit(&b);
    return rc;
}

static void
on_ready_fill(sl_outconn_t *oc, void *arg)
{
    client_t *cl = arg;

    while (cl->sent < NREQ && sl_outconn_ready(oc)) {
        SL_CHECK_OK(send_one(cl, cl->sent));
        cl->sent++;
    }
    if (cl->sent < NREQ && sl_outconn_in_flight(oc) == 50 && send_one(cl, cl->sent) == SL_EAGAIN)
        cl->eagain_at_cap++;
}

static void
on_connect(sl_outconn_t *oc, int status, void *arg)
{
    client_t *cl = arg;

    cl->last_connect_status = status;
    if (status == SL_OK) {
        cl->connects++;
        return;
    }
    cl->connect_fails++;
    if (cl->nbackoff < 8 && sl_outconn_next_attempt_at(oc) >= 0)
        cl->backoff[cl->nbackoff++] = sl_outconn_next_attempt_at(oc) - fake_now;
}

static void
on_disconnect(sl_outconn_t *oc, int status, void *arg)
{
    client_t *cl = arg;

    cl->disconnects++;
    cl->last_disconnect_status = status;
}

/* ======================================================================== */
/* Tests                                                                    */
/* ======================================================================== */

SL_TEST(net_outconn_pipelined_requests_matched_out_of_order)
{
    static client_t cl;
    rev_srv_t s;
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = on_connect, .on_ready = on_ready_fill};

    memset(&cl, 0, sizeof(cl));
    the_client = &cl;
    rev_start(&s, 10, false);
    sl_outconn_opts_defaults(&o);
    SL_CHECK_EQ(o.max_in_flight, 5);
    SL_CHECK_EQ(o.request_timeout_ms, 30000);
    o.max_in_flight = 50;
    SL_CHECK_OK(sl_net_connect(s.loop, "127.0.0.1", s.port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, cl.answered == NREQ);
    SL_CHECK_EQ(cl.connects, 1);
    SL_CHECK(sl_conn_outbound(sl_outconn_conn(cl.oc)));
    SL_CHECK_EQ(s.frames, NREQ);
    for (int i = 0; i < NREQ; i++) {
        SL_CHECK_EQ(cl.calls[i], 1);
        SL_CHECK_EQ(cl.status[i], SL_OK);
    }
    /* Batches of 10 answered in reverse: at most one of each batch can
     * arrive in sending order. */
    SL_CHECK(cl.in_order <= NREQ / 10);
    SL_CHECK(cl.eagain_at_cap > 0);
    SL_CHECK_EQ(sl_outconn_in_flight(cl.oc), 0);
    sl_outconn_free(cl.oc);
    rev_stop(&s);
}

SL_TEST(net_outconn_refused_then_backoff_doubles_to_max)
{
    static client_t cl;
    sl_loop_t *loop;
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = on_connect};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port;

    /* A port bound but not listening refuses connections (and no one
     * else can take it while we hold it). */
    SL_CHECK(fd >= 0);
    SL_CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    SL_CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    memset(&cl, 0, sizeof(cl));
    SL_CHECK_OK(sl_loop_new(&loop));
    sl_loop_set_clock(loop, fake_clock, NULL);
    sl_outconn_opts_defaults(&o);
    o.reconnect_backoff_ms = 100;
    o.reconnect_backoff_max_ms = 350;
    SL_CHECK_OK(sl_net_connect(loop, "127.0.0.1", port, &o, &cbs, &cl, &cl.oc));
    SL_CHECK_EQ(cl.connect_fails, 0); /* never from inside the call */
    for (int n = 1; n <= 4; n++) {
        SL_TN_DRIVE(loop, cl.connect_fails == n);
        SL_CHECK_EQ(cl.last_connect_status, SL_NET_EREFUSED);
        SL_CHECK_EQ(sl_outconn_attempts(cl.oc), (uint64_t)n);
        /* The next attempt waits exactly until its deadline. */
        advance(loop, cl.backoff[n - 1] - 1);
        SL_CHECK_EQ(sl_outconn_attempts(cl.oc), (uint64_t)n);
        advance(loop, 1);
        SL_TN_DRIVE(loop, sl_outconn_attempts(cl.oc) == (uint64_t)n + 1);
    }
    /* 100, 200, 350 (capped), 350, each +-20%. */
    SL_CHECK(cl.backoff[0] >= 80 && cl.backoff[0] <= 120);
    SL_CHECK(cl.backoff[1] >= 160 && cl.backoff[1] <= 240);
    SL_CHECK(cl.backoff[2] >= 280 && cl.backoff[2] <= 420);
    SL_CHECK(cl.backoff[3] >= 280 && cl.backoff[3] <= 420);
    SL_CHECK(!sl_outconn_ready(cl.oc));
    sl_outconn_free(cl.oc);

    /* Without reconnect, one attempt and no more. */
    memset(&cl, 0, sizeof(cl));
    o.reconnect = false;
    SL_CHECK_OK(sl_net_connect(loop, "localhost", port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(loop, cl.connect_fails == 1);
    SL_CHECK_EQ(cl.last_connect_status, SL_NET_EREFUSED);
    SL_CHECK_EQ(sl_outconn_next_attempt_at(cl.oc), -1);
    sl_outconn_free(cl.oc);
    /* A name that needs a lookup is refused without a resolver. */
    SL_CHECK_EQ(sl_net_connect(loop, "broker-1.example", port, &o, &cbs, &cl, &cl.oc), SL_EINVAL);
    close(fd);
    sl_loop_free(loop);
    sl_tn_leak_check();
}

SL_TEST(net_outconn_request_timeout_fails_then_disconnects)
{
    static client_t cl;
    rev_srv_t s;
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = on_connect, .on_disconnect = on_disconnect};

    memset(&cl, 0, sizeof(cl));
    the_client = &cl;
    rev_start(&s, 0, true); /* never answers */
    sl_outconn_opts_defaults(&o);
    o.request_timeout_ms = 1000;
    SL_CHECK_OK(sl_net_connect(s.loop, "127.0.0.1", s.port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, cl.connects == 1);
    SL_CHECK_OK(send_one(&cl, 0));
    advance(s.loop, 500);
    SL_CHECK_OK(send_one(&cl, 1));
    SL_TN_DRIVE(s.loop, s.frames == 2);
    advance(s.loop, 499);
    SL_CHECK_EQ(cl.calls[0], 0);
    advance(s.loop, 1);
    SL_TN_DRIVE(s.loop, cl.calls[1] == 1);
    /* The expired request times out; the other fails with the connection
     * the timeout closed. */
    SL_CHECK_EQ(cl.calls[0], 1);
    SL_CHECK_EQ(cl.status[0], SL_ETIMEDOUT);
    SL_CHECK_EQ(cl.status[1], SL_NET_EDISCONNECTED);
    SL_CHECK_EQ(cl.disconnects, 1);
    SL_CHECK_EQ(cl.last_disconnect_status, SL_ETIMEDOUT);
    SL_CHECK(!sl_outconn_connected(cl.oc));
    SL_CHECK_EQ(send_one(&cl, 2), SL_EAGAIN);
    sl_outconn_free(cl.oc);
    SL_CHECK_EQ(cl.calls[0], 1);
    SL_CHECK_EQ(cl.calls[1], 1);
    rev_stop(&s);
}

SL_TEST(net_outconn_disconnect_fails_every_request_once_then_reconnects)
{
    static client_t cl;
    rev_srv_t s;
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = on_connect, .on_disconnect = on_disconnect};

    memset(&cl, 0, sizeof(cl));
    the_client = &cl;
    rev_start(&s, 0, false);
    sl_outconn_opts_defaults(&o);
    o.reconnect_backoff_ms = 1;
    o.reconnect_backoff_max_ms = 1;
    SL_CHECK_OK(sl_net_connect(s.loop, "127.0.0.1", s.port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, cl.connects == 1);
    for (int i = 0; i < 5; i++)
        SL_CHECK_OK(send_one(&cl, i));
    SL_CHECK_EQ(send_one(&cl, 5), SL_EAGAIN); /* max.in.flight 5 */
    SL_TN_DRIVE(s.loop, s.frames == 5);
    sl_conn_close(s.conn);
    SL_TN_DRIVE(s.loop, cl.disconnects == 1);
    for (int i = 0; i < 5; i++) {
        SL_CHECK_EQ(cl.calls[i], 1);
        SL_CHECK_EQ(cl.status[i], SL_NET_EDISCONNECTED);
    }
    SL_CHECK_EQ(cl.last_disconnect_status, SL_NET_EDISCONNECTED);
    SL_CHECK_EQ(sl_outconn_in_flight(cl.oc), 0);
    /* It comes back by itself and carries requests again. */
    SL_TN_DRIVE(s.loop, cl.connects == 2);
    s.batch = 1;
    SL_CHECK_OK(send_one(&cl, 6));
    SL_TN_DRIVE(s.loop, cl.calls[6] == 1);
    SL_CHECK_EQ(cl.status[6], SL_OK);
    /* Freeing with a request in flight fails it once, from inside free. */
    s.batch = 0;
    SL_CHECK_OK(send_one(&cl, 7));
    sl_outconn_free(cl.oc);
    SL_CHECK_EQ(cl.calls[7], 1);
    SL_CHECK_EQ(cl.status[7], SL_NET_EDISCONNECTED);
    for (int i = 0; i < 8; i++)
        SL_CHECK(cl.calls[i] == (i == 5 ? 0 : 1));
    rev_stop(&s);
}

/* A response whose correlation id matches nothing closes the connection
 * (it cannot be told which request it answers). */
static void
bogus_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_conn_send_size(c, 4);
    sl_conn_send_copy(c, "\x7f\x7f\x7f\x7f", 4);
    sl_conn_unmute(c);
}

SL_TEST(net_outconn_unknown_correlation_id_closes)
{
    static client_t cl;
    rev_srv_t s;
    sl_conn_cbs_t scbs = {.on_frame = bogus_frame};
    sl_outconn_cbs_t cbs = {.on_connect = on_connect, .on_disconnect = on_disconnect};
    sl_outconn_opts_t o;

    memset(&cl, 0, sizeof(cl));
    the_client = &cl;
    memset(&s, 0, sizeof(s));
    SL_CHECK_OK(sl_loop_new(&s.loop));
    SL_CHECK_OK(sl_server_new(s.loop, NULL, &scbs, &s, &s.srv));
    SL_CHECK_OK(sl_server_listen(s.srv, "PLAINTEXT://127.0.0.1:0", &s.l));
    sl_outconn_opts_defaults(&o);
    o.reconnect = false;
    SL_CHECK_OK(sl_net_connect(s.loop, "127.0.0.1", sl_listener_port(s.l), &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, cl.connects == 1);
    SL_CHECK_OK(send_one(&cl, 0));
    SL_TN_DRIVE(s.loop, cl.disconnects == 1);
    SL_CHECK_EQ(cl.calls[0], 1);
    SL_CHECK_EQ(cl.status[0], SL_NET_EDISCONNECTED);
    sl_outconn_free(cl.oc);
    rev_stop(&s);
}

/* A host name is resolved on the worker pool, not on the loop. The test
 * needs a name that is not "localhost" and resolves to 127.0.0.1 without
 * DNS: this machine's own name, when /etc/hosts says so. */
SL_TEST(net_outconn_resolves_names_on_the_worker_pool)
{
    static client_t cl;
    rev_srv_t s;
    sl_worker_pool_t *pool;
    sl_outconn_opts_t o;
    sl_outconn_cbs_t cbs = {.on_connect = on_connect};
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char name[256];
    bool loopback;

    if (gethostname(name, sizeof(name)) != 0 || strcasecmp(name, "localhost") == 0)
        SL_SKIP("no host name");
    name[sizeof(name) - 1] = '\0';
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        SL_SKIP("the host name does not resolve");
    loopback = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    freeaddrinfo(res);
    if (!loopback)
        SL_SKIP("the host name is not 127.0.0.1");
    memset(&cl, 0, sizeof(cl));
    the_client = &cl;
    rev_start(&s, 1, false);
    SL_CHECK_OK(sl_worker_new(s.loop, 1, &pool));
    sl_outconn_opts_defaults(&o);
    o.resolver = pool;
    SL_CHECK_OK(sl_net_connect(s.loop, name, s.port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, cl.connects == 1);
    SL_CHECK_OK(send_one(&cl, 0));
    SL_TN_DRIVE(s.loop, cl.calls[0] == 1);
    SL_CHECK_EQ(cl.status[0], SL_OK);
    sl_outconn_free(cl.oc);

    /* Freed while its lookup is still out: the result is dropped. */
    memset(&cl, 0, sizeof(cl));
    SL_CHECK_OK(sl_net_connect(s.loop, name, s.port, &o, &cbs, &cl, &cl.oc));
    SL_TN_DRIVE(s.loop, sl_worker_pending(pool) == 1);
    sl_outconn_free(cl.oc);
    SL_TN_DRIVE(s.loop, sl_worker_pending(pool) == 0);
    SL_CHECK_EQ(cl.connects, 0);
    sl_worker_free(pool);
    rev_stop(&s);
}
