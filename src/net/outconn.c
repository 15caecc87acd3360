/*
 * outconn.c -- outbound connections (see outconn.h): resolving, the
 * non-blocking connect with its timeout, reconnect backoff, and the client
 * side of framing: requests in flight matched to responses by correlation
 * id, bounded in number, each with a deadline.
 *
 * An outconn owns a private sl_server_t with no listeners: the connected
 * socket becomes an ordinary sl_conn_t of it (sl_conn_open, outbound), so
 * framing, the transport, the tx chain and backpressure are the same code
 * as for accepted connections. Its on_frame is the response dispatch, which
 * unmutes at once; its on_close fails what is in flight and schedules the
 * reconnect.
 *
 * Requests in flight sit in a list in sending order, which is also deadline
 * order (one request.timeout.ms for all): one timer, armed for the head,
 * finds the expired ones. Matching scans from the oldest, so in-order
 * answers cost O(1) and any order costs at most max_in_flight steps.
 */
#include "net/net_int.h"

#include "base/log.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <unistd.h>

#define OUT_MAX_ADDRS 8

typedef enum out_state {
    OUT_IDLE,       /* waiting for the next attempt (backoff timer) */
    OUT_RESOLVING,  /* getaddrinfo on the resolver pool */
    OUT_CONNECTING, /* connect(2) in progress */
    OUT_CONNECTED,
} out_state_t;

typedef struct out_req {
    struct out_req *prev, *next;
    int32_t corr;
    int64_t deadline;
    sl_outconn_response_fn fn;
    void *arg;
} out_req_t;

typedef struct resolve_job {
    sl_outconn_t *oc; /* NULL once oc was freed: the result is dropped */
    char host[256];
    char port[8];
    struct addrinfo *res;
    int err;
} resolve_job_t;

struct sl_outconn {
    sl_loop_t *loop;
    sl_outconn_opts_t opts;
    sl_outconn_cbs_t cbs;
    void *arg;
    char host[256];
    int port;
    char peer[300];
    out_state_t state;
    bool freeing;

    struct sockaddr_storage addrs[OUT_MAX_ADDRS];
    socklen_t addr_lens[OUT_MAX_ADDRS];
    size_t naddrs, next_addr;
    resolve_job_t *job;

    int fd; /* while connecting */
    sl_loop_fd_t w;
    sl_timer_t attempt_timer; /* backoff, then the next attempt */
    sl_timer_t connect_timer; /* socket.connection.setup.timeout.ms */
    int failures;             /* consecutive failed attempts */
    uint64_t attempts;
    uint64_t rng;

    sl_server_t *srv; /* private, no listeners */
    sl_conn_t *c;     /* when connected */
    int close_status; /* why c is being closed (SL_ETIMEDOUT) */

    out_req_t *head, *tail; /* in flight, oldest first */
    size_t nreq;
    sl_timer_t req_timer;
    int32_t next_corr;
};

static void attempt_start(sl_loop_t *loop, void *arg);

void
sl_outconn_opts_defaults(sl_outconn_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->reconnect_backoff_ms = 50;
    opts->reconnect_backoff_max_ms = 1000;
    opts->connect_timeout_ms = 10000;
    opts->request_timeout_ms = 30000;
    opts->max_in_flight = 5;
    opts->max_response_bytes = 104857600;
    opts->reconnect = true;
}

const char *
sl_outconn_strerror(int status)
{
    switch (status) {
    case SL_NET_EREFUSED:
        return "connection refused";
    case SL_NET_EDISCONNECTED:
        return "disconnected";
    default:
        return sl_strerror(status);
    }
}

/* ======================================================================== */
/* Requests in flight                                                       */
/* ======================================================================== */

static void
req_unlink(sl_outconn_t *oc, out_req_t *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        oc->head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        oc->tail = r->prev;
    oc->nreq--;
}

static void
req_timer_arm(sl_outconn_t *oc)
{
    if (oc->head == NULL)
        sl_timer_stop(oc->loop, &oc->req_timer);
    else
        sl_timer_start_at(oc->loop, &oc->req_timer, oc->head->deadline);
}

/* Takes r off the list and runs its callback once. */
static void
req_finish(sl_outconn_t *oc, out_req_t *r, int status, const uint8_t *resp, size_t len)
{
    req_unlink(oc, r);
    r->fn(oc, status, resp, len, r->arg);
    free(r);
}

static void
req_fail_all(sl_outconn_t *oc, int status)
{
    while (oc->head != NULL)
        req_finish(oc, oc->head, status, NULL, 0);
    sl_timer_stop(oc->loop, &oc->req_timer);
}

static void
notify_ready(sl_outconn_t *oc)
{
    if (oc->cbs.on_ready != NULL && sl_outconn_ready(oc))
        oc->cbs.on_ready(oc, oc->arg);
}

/* request.timeout.ms: the expired requests fail, then the connection is
 * closed and the others fail as disconnected (Kafka's NetworkClient). */
static void
req_timeout(sl_loop_t *loop, void *arg)
{
    sl_outconn_t *oc = arg;
    int64_t now = sl_loop_now(loop);
    bool expired = false;

    while (oc->head != NULL && oc->head->deadline <= now) {
        expired = true;
        sl_debug("net", "%s: request %" PRId32 " timed out after %" PRId64 " ms", oc->peer,
                 oc->head->corr, oc->opts.request_timeout_ms);
        req_finish(oc, oc->head, SL_ETIMEDOUT, NULL, 0);
    }
    if (expired && oc->c != NULL && !sl_conn_closed(oc->c)) {
        oc->close_status = SL_ETIMEDOUT;
        sl_conn_close(oc->c);
    }
    req_timer_arm(oc);
}

/* ======================================================================== */
/* The connection: responses and close                                      */
/* ======================================================================== */

static void
out_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_outconn_t *oc = sl_server_owner(sl_conn_server(c));
    out_req_t *r;
    int32_t corr;

    if (len < 4) {
        sl_warn("net", "%s: response of %zu bytes has no correlation id; closing", oc->peer, len);
        sl_conn_close(c);
        return;
    }
    corr = (int32_t)(((uint32_t)data[0] << 24) | ((uint32_t)data[1] << 16) |
                     ((uint32_t)data[2] << 8) | (uint32_t)data[3]);
    for (r = oc->head; r != NULL && r->corr != corr; r = r->next)
        ;
    if (r == NULL) {
        sl_warn("net", "%s: response with correlation id %" PRId32 " matches no request; closing",
                oc->peer, corr);
        sl_conn_close(c);
        return;
    }
    req_finish(oc, r, SL_OK, data, len);
    req_timer_arm(oc);
    sl_conn_unmute(c);
    notify_ready(oc);
}

static void
backoff_schedule(sl_outconn_t *oc)
{
    int64_t b = oc->opts.reconnect_backoff_ms, max = oc->opts.reconnect_backoff_max_ms;
    double jitter;

    oc->state = OUT_IDLE;
    if (!oc->opts.reconnect || oc->freeing)
        return;
    for (int i = 1; i < oc->failures && b < max; i++)
        b *= 2;
    b = SL_MIN(b, max);
    /* xorshift64: jitter needs no quality, only spread. */
    oc->rng ^= oc->rng << 13;
    oc->rng ^= oc->rng >> 7;
    oc->rng ^= oc->rng << 17;
    jitter = 0.8 + 0.4 * (double)(oc->rng % 1001) / 1000.0;
    sl_timer_start(oc->loop, &oc->attempt_timer, (int64_t)((double)b * jitter));
}

static void
out_close(sl_conn_t *c)
{
    sl_outconn_t *oc = sl_server_owner(sl_conn_server(c));
    int status = oc->close_status != SL_OK ? oc->close_status : SL_NET_EDISCONNECTED;

    if (oc->c != c)
        return;
    sl_debug("net", "%s: disconnected (%s)", oc->peer, sl_conn_close_reason(c));
    oc->c = NULL;
    oc->close_status = SL_OK;
    req_fail_all(oc, SL_NET_EDISCONNECTED);
    if (oc->freeing)
        return;
    oc->failures = 1; /* the first reconnect waits reconnect.backoff.ms */
    backoff_schedule(oc);
    if (oc->cbs.on_disconnect != NULL)
        oc->cbs.on_disconnect(oc, status, oc->arg);
}

/* ======================================================================== */
/* Connecting                                                               */
/* ======================================================================== */

static void
connect_abandon(sl_outconn_t *oc)
{
    if (oc->fd >= 0) {
        sl_loop_fd_del(oc->loop, &oc->w);
        close(oc->fd);
        oc->fd = -1;
    }
    sl_timer_stop(oc->loop, &oc->connect_timer);
}

static void
attempt_failed(sl_outconn_t *oc, int status)
{
    connect_abandon(oc);
    oc->failures++;
    sl_debug("net", "%s: connect failed: %s", oc->peer, sl_outconn_strerror(status));
    backoff_schedule(oc);
    if (oc->cbs.on_connect != NULL)
        oc->cbs.on_connect(oc, status, oc->arg);
}

static void
connect_established(sl_outconn_t *oc)
{
    conn_origin_t origin = {.tp = oc->opts.transport, .outbound = true};
    int fd = oc->fd;
    int rc;

    sl_loop_fd_del(oc->loop, &oc->w);
    sl_timer_stop(oc->loop, &oc->connect_timer);
    oc->fd = -1;
    sl_server_sockopts(oc->srv, fd);
    rc = sl_conn_open(oc->srv, fd, oc->peer, &origin, &oc->c); /* closes fd on error */
    if (rc != SL_OK) {
        oc->c = NULL;
        attempt_failed(oc, rc);
        return;
    }
    oc->state = OUT_CONNECTED;
    oc->failures = 0;
    sl_debug("net", "%s: connected", oc->peer);
    if (oc->cbs.on_connect != NULL)
        oc->cbs.on_connect(oc, SL_OK, oc->arg);
    notify_ready(oc);
}

static int
errno_status(int err)
{
    if (err == ECONNREFUSED)
        return SL_NET_EREFUSED;
    if (err == ETIMEDOUT)
        return SL_ETIMEDOUT;
    return SL_EIO;
}

static void
connect_event(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    sl_outconn_t *oc = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0)
        attempt_failed(oc, errno_status(err));
    else
        connect_established(oc);
}

static void
connect_timed_out(sl_loop_t *loop, void *arg)
{
    attempt_failed(arg, SL_ETIMEDOUT);
}

static void
connect_addr(sl_outconn_t *oc)
{
    size_t i = oc->next_addr++ % oc->naddrs;
    const struct sockaddr *sa = (const struct sockaddr *)&oc->addrs[i];
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    oc->state = OUT_CONNECTING;
    if (fd < 0) {
        attempt_failed(oc, SL_EIO);
        return;
    }
    oc->fd = fd;
    if (connect(fd, sa, oc->addr_lens[i]) != 0 && errno != EINPROGRESS) {
        attempt_failed(oc, errno_status(errno));
        return;
    }
    /* Even an immediate success is reported through writability, so the
     * callbacks always run from the loop with the same path. */
    if (sl_loop_fd_add(oc->loop, &oc->w, fd, SL_EV_WRITE, connect_event, oc) != SL_OK) {
        attempt_failed(oc, SL_EIO);
        return;
    }
    sl_timer_start(oc->loop, &oc->connect_timer, oc->opts.connect_timeout_ms);
}

static void
addrs_set(sl_outconn_t *oc, const struct addrinfo *res)
{
    oc->naddrs = 0;
    oc->next_addr = 0;
    for (const struct addrinfo *ai = res; ai != NULL && oc->naddrs < OUT_MAX_ADDRS;
         ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(oc->addrs[0]))
            continue;
        memcpy(&oc->addrs[oc->naddrs], ai->ai_addr, ai->ai_addrlen);
        oc->addr_lens[oc->naddrs++] = ai->ai_addrlen;
    }
}

static void
addr_add_port(sl_outconn_t *oc, int family, const void *ip)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)oc->port);
        memcpy(&in->sin_addr, ip, sizeof(in->sin_addr));
        oc->addr_lens[oc->naddrs] = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)oc->port);
        memcpy(&in6->sin6_addr, ip, sizeof(in6->sin6_addr));
        oc->addr_lens[oc->naddrs] = sizeof(*in6);
    }
    oc->addrs[oc->naddrs++] = ss;
}

/* Addresses that need no lookup: a literal, or localhost. */
static bool
addrs_numeric(sl_outconn_t *oc)
{
    struct in_addr v4;
    struct in6_addr v6;

    oc->naddrs = 0;
    if (inet_pton(AF_INET, oc->host, &v4) == 1) {
        addr_add_port(oc, AF_INET, &v4);
    } else if (inet_pton(AF_INET6, oc->host, &v6) == 1) {
        addr_add_port(oc, AF_INET6, &v6);
    } else if (strcasecmp(oc->host, "localhost") == 0) {
        v4.s_addr = htonl(INADDR_LOOPBACK);
        addr_add_port(oc, AF_INET, &v4);
        addr_add_port(oc, AF_INET6, &in6addr_loopback);
    }
    return oc->naddrs > 0;
}

static void
resolve_run(void *arg)
{
    resolve_job_t *job = arg;
    struct addrinfo hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    job->err = getaddrinfo(job->host, job->port, &hints, &job->res);
}

static void
resolve_done(void *arg)
{
    resolve_job_t *job = arg;
    sl_outconn_t *oc = job->oc;

    if (oc != NULL) {
        oc->job = NULL;
        if (job->err == 0)
            addrs_set(oc, job->res);
        if (job->err != 0 || oc->naddrs == 0) {
            sl_debug("net", "%s: cannot resolve: %s", oc->peer,
                     job->err ? gai_strerror(job->err) : "no IPv4/IPv6 address");
            attempt_failed(oc, SL_ENOENT);
        } else {
            connect_addr(oc);
        }
    }
    if (job->res != NULL)
        freeaddrinfo(job->res);
    free(job);
}

/* One attempt: numeric addresses at once, names (re-resolved every
 * attempt, as addresses may move) on the resolver pool. */
static void
attempt_start(sl_loop_t *loop, void *arg)
{
    sl_outconn_t *oc = arg;
    resolve_job_t *job;

    oc->attempts++;
    if (oc->naddrs > 0 && oc->opts.resolver == NULL) {
        connect_addr(oc);
        return;
    }
    if (addrs_numeric(oc)) {
        connect_addr(oc);
        return;
    }
    job = sl_xcalloc(1, sizeof(*job));
    job->oc = oc;
    snprintf(job->host, sizeof(job->host), "%s", oc->host);
    snprintf(job->port, sizeof(job->port), "%d", oc->port);
    oc->job = job;
    oc->state = OUT_RESOLVING;
    sl_worker_submit(oc->opts.resolver, resolve_run, job, resolve_done);
}

/* ======================================================================== */
/* Public                                                                   */
/* ======================================================================== */

static bool
host_is_numeric(const char *host)
{
    struct in6_addr a;

    return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1 ||
           strcasecmp(host, "localhost") == 0;
}

int
sl_net_connect(sl_loop_t *loop, const char *host, int port, const sl_outconn_opts_t *opts,
               const sl_outconn_cbs_t *cbs, void *arg, sl_outconn_t **out)
{
    sl_outconn_opts_t def;
    sl_server_config_t scfg;
    sl_conn_cbs_t ccbs = {.on_frame = out_frame, .on_close = out_close};
    sl_outconn_t *oc;

    if (opts == NULL) {
        sl_outconn_opts_defaults(&def);
        opts = &def;
    }
    if (port <= 0 || port > 65535 || strlen(host) >= sizeof(oc->host) || opts->max_in_flight < 1 ||
        opts->request_timeout_ms < 0 || opts->connect_timeout_ms < 0 ||
        opts->reconnect_backoff_ms < 0 || opts->reconnect_backoff_max_ms < 0 ||
        opts->max_response_bytes < 4 || (opts->resolver == NULL && !host_is_numeric(host)))
        return SL_EINVAL;
    oc = sl_xcalloc(1, sizeof(*oc));
    oc->loop = loop;
    oc->opts = *opts;
    if (cbs != NULL)
        oc->cbs = *cbs;
    oc->arg = arg;
    oc->port = port;
    oc->fd = -1;
    snprintf(oc->host, sizeof(oc->host), "%s", host);
    snprintf(oc->peer, sizeof(oc->peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    oc->rng = (uint64_t)(uintptr_t)oc ^ (uint64_t)sl_mono_ms() ^ 0x9e3779b97f4a7c15ull;
    sl_timer_init(&oc->attempt_timer, attempt_start, oc);
    sl_timer_init(&oc->connect_timer, connect_timed_out, oc);
    sl_timer_init(&oc->req_timer, req_timeout, oc);
    sl_server_config_defaults(&scfg);
    scfg.max_frame = opts->max_response_bytes;
    scfg.idle_ms = 0;                   /* the owner decides when a channel is done */
    scfg.max_queued_request_bytes = -1; /* one connection, bounded by max_frame */
    if (sl_server_new(loop, &scfg, &ccbs, oc, &oc->srv) != SL_OK) {
        free(oc);
        return SL_EINVAL;
    }
    oc->next_corr = 1;
    sl_timer_start(loop, &oc->attempt_timer, 0);
    *out = oc;
    return SL_OK;
}

void
sl_outconn_free(sl_outconn_t *oc)
{
    if (oc == NULL)
        return;
    oc->freeing = true;
    if (oc->job != NULL)
        oc->job->oc = NULL; /* resolve_done drops the result */
    connect_abandon(oc);
    sl_timer_stop(oc->loop, &oc->attempt_timer);
    sl_server_free(oc->srv); /* out_close fails what is in flight */
    req_fail_all(oc, SL_NET_EDISCONNECTED);
    free(oc);
}

int
sl_outconn_send(sl_outconn_t *oc, int32_t corr, sl_buf_t *payload,
                sl_outconn_response_fn on_response, void *arg)
{
    out_req_t *r;

    if (payload->len > INT32_MAX)
        return SL_ETOOBIG;
    if (!sl_outconn_ready(oc))
        return SL_EAGAIN;
    if (on_response != NULL) {
        for (r = oc->head; r != NULL; r = r->next) {
            if (r->corr == corr)
                return SL_EEXIST;
        }
        r = sl_xcalloc(1, sizeof(*r));
        r->corr = corr;
        r->deadline = sl_loop_now(oc->loop) + oc->opts.request_timeout_ms;
        r->fn = on_response;
        r->arg = arg;
        r->prev = oc->tail;
        if (oc->tail != NULL)
            oc->tail->next = r;
        else
            oc->head = r;
        oc->tail = r;
        oc->nreq++;
        if (!sl_timer_active(&oc->req_timer))
            req_timer_arm(oc);
    }
    sl_conn_send_size(oc->c, (int32_t)payload->len);
    sl_conn_send_buf(oc->c, payload);
    return SL_OK;
}

int32_t
sl_outconn_next_correlation(sl_outconn_t *oc)
{
    int32_t corr = oc->next_corr;

    oc->next_corr = corr == INT32_MAX ? 0 : corr + 1;
    return corr;
}

bool
sl_outconn_connected(const sl_outconn_t *oc)
{
    return oc->c != NULL && !sl_conn_closed(oc->c);
}

bool
sl_outconn_ready(const sl_outconn_t *oc)
{
    return sl_outconn_connected(oc) && oc->nreq < (size_t)oc->opts.max_in_flight;
}

size_t
sl_outconn_in_flight(const sl_outconn_t *oc)
{
    return oc->nreq;
}

sl_conn_t *
sl_outconn_conn(const sl_outconn_t *oc)
{
    return sl_outconn_connected(oc) ? oc->c : NULL;
}

uint64_t
sl_outconn_attempts(const sl_outconn_t *oc)
{
    return oc->attempts;
}

int64_t
sl_outconn_next_attempt_at(const sl_outconn_t *oc)
{
    return sl_timer_active(&oc->attempt_timer) ? oc->attempt_timer.deadline : -1;
}
