/*
 * server.c -- the object that ties listeners and connections together: the
 * configuration, the callbacks, the connection cap, the list of open
 * connections and the idle sweep.
 *
 * Idle connections (connections.max.idle.ms) are found without a timer per
 * connection: open connections sit in a list ordered by last activity (a
 * read or write that moved bytes moves a connection to the tail, O(1)), so
 * the oldest is always the head. One timer is armed for the head's expiry;
 * when it fires it closes every expired head and re-arms for the new head.
 * Activity never touches the timer: an early wakeup just re-arms it.
 *
 * Two memory bounds live here too. queued.max.request.bytes caps the rx
 * buffers of all connections together: a connection whose partial frame
 * needs more waits on the starved list, and every free of rx memory wakes
 * the waiters (at the end of the iteration) to try again. And freed
 * buffers are handed back to the OS: glibc keeps freed heap memory for
 * reuse, so a burst of connections that queued replies and left would
 * otherwise keep the broker's RSS at its peak; after TRIM_AFTER bytes were
 * freed, malloc_trim runs, at most once per TRIM_INTERVAL_MS.
 */
#include "net/net_int.h"

#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

/* ======================================================================== */
/* Configuration and lifecycle                                              */
/* ======================================================================== */

void
sl_server_config_defaults(sl_server_config_t *cfg)
{
    cfg->max_frame = 104857600;
    cfg->idle_ms = 600000;
    cfg->tx_high_water = (size_t)4 << 20;
    cfg->max_conns = INT32_MAX;
    cfg->sndbuf = -1;
    cfg->rcvbuf = -1;
    cfg->backlog = 1024;
    cfg->max_queued_request_bytes = (int64_t)500 << 20;
}

#define TRIM_AFTER       ((size_t)16 << 20)
#define TRIM_INTERVAL_MS 1000

static void idle_sweep(sl_loop_t *loop, void *arg);
static void rx_wake(sl_loop_t *loop, void *arg);
static void trim_now(sl_loop_t *loop, void *arg);

int
sl_server_new(sl_loop_t *loop, const sl_server_config_t *cfg, const sl_conn_cbs_t *cbs, void *owner,
              sl_server_t **out)
{
    sl_server_t *srv;
    sl_server_config_t def;

    if (cfg == NULL) {
        sl_server_config_defaults(&def);
        cfg = &def;
    }
    /* Like Kafka, a positive queued.max.request.bytes must hold the largest
     * frame, or a frame could never be read. */
    if (cbs == NULL || cbs->on_frame == NULL || cfg->max_frame < 0 || cfg->max_conns < 0 ||
        cfg->backlog <= 0 || cfg->max_queued_request_bytes == 0 ||
        (cfg->max_queued_request_bytes > 0 && cfg->max_queued_request_bytes < cfg->max_frame))
        return SL_EINVAL;
    srv = sl_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->cbs = *cbs;
    srv->owner = owner;
    sl_timer_init(&srv->idle_timer, idle_sweep, srv);
    sl_timer_init(&srv->trim_timer, trim_now, srv);
    sl_loop_defer_init(&srv->rx_wake, rx_wake, srv);
    srv->last_trim = INT64_MIN / 2;
    *out = srv;
    return SL_OK;
}

void
sl_server_free(sl_server_t *srv)
{
    if (srv == NULL)
        return;
    sl_server_stop_listening(srv);
    while (srv->open.head != NULL)
        sl_conn_shutdown(srv->open.head, "server shut down");
    while (srv->closing.head != NULL)
        sl_conn_finalize(srv->closing.head);
    sl_timer_stop(srv->loop, &srv->idle_timer);
    sl_timer_stop(srv->loop, &srv->trim_timer);
    sl_loop_defer_cancel(srv->loop, &srv->rx_wake);
    free(srv);
}

void
sl_server_stop_listening(sl_server_t *srv)
{
    while (srv->listeners != NULL) {
        sl_listener_t *l = srv->listeners;

        srv->listeners = l->next;
        sl_listener_free(l);
    }
}

void
sl_server_close_all(sl_server_t *srv, bool flush)
{
    sl_conn_t *c, *next;

    for (c = srv->open.head; c != NULL; c = next) {
        next = c->next; /* shutdown moves c to the closing list */
        if (flush)
            sl_conn_close_flush(c);
        else
            sl_conn_shutdown(c, "closed by owner");
    }
}

/* ======================================================================== */
/* Connection lists and the idle sweep                                      */
/* ======================================================================== */

static void
list_unlink(conn_list_t *l, sl_conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static void
list_push_tail(conn_list_t *l, sl_conn_t *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void
idle_arm(sl_server_t *srv)
{
    if (srv->cfg.idle_ms <= 0 || srv->open.head == NULL || sl_timer_active(&srv->idle_timer))
        return;
    sl_timer_start_at(srv->loop, &srv->idle_timer, srv->open.head->last_active + srv->cfg.idle_ms);
}

static void
idle_sweep(sl_loop_t *loop, void *arg)
{
    sl_server_t *srv = arg;
    int64_t now = sl_loop_now(loop);

    while (srv->open.head != NULL && srv->open.head->last_active + srv->cfg.idle_ms <= now) {
        srv->stats.closed_idle++;
        sl_conn_shutdown(srv->open.head, "idle");
    }
    idle_arm(srv);
}

void
sl_server_conn_opened(sl_server_t *srv, sl_conn_t *c)
{
    c->last_active = sl_loop_now(srv->loop);
    list_push_tail(&srv->open, c);
    srv->nconns++;
    srv->stats.accepted++;
    idle_arm(srv);
}

void
sl_server_conn_touch(sl_server_t *srv, sl_conn_t *c)
{
    int64_t now = sl_loop_now(srv->loop);

    /* Same millisecond: the list is still ordered, skip the relink. */
    if (c->last_active == now)
        return;
    c->last_active = now;
    list_unlink(&srv->open, c);
    list_push_tail(&srv->open, c);
}

void
sl_server_conn_closed(sl_server_t *srv, sl_conn_t *c)
{
    list_unlink(&srv->open, c);
    srv->nconns--;
    list_push_tail(&srv->closing, c);
}

void
sl_server_conn_gone(sl_server_t *srv, sl_conn_t *c)
{
    list_unlink(&srv->closing, c);
}

/* ======================================================================== */
/* Memory: the rx budget and handing freed memory back                      */
/* ======================================================================== */

static void
starved_unlink(sl_server_t *srv, sl_conn_t *c)
{
    if (c->sprev != NULL)
        c->sprev->snext = c->snext;
    else
        srv->starved.head = c->snext;
    if (c->snext != NULL)
        c->snext->sprev = c->sprev;
    else
        srv->starved.tail = c->sprev;
    c->sprev = c->snext = NULL;
    c->rx_starved = false;
}

bool
sl_server_rx_reserve(sl_server_t *srv, sl_conn_t *c, size_t extra)
{
    int64_t limit = srv->cfg.max_queued_request_bytes;

    if (limit < 0 || srv->rx_mem + (int64_t)extra <= limit)
        return true;
    if (!c->rx_starved) {
        c->rx_starved = true;
        c->snext = NULL;
        c->sprev = srv->starved.tail;
        if (srv->starved.tail != NULL)
            srv->starved.tail->snext = c;
        else
            srv->starved.head = c;
        srv->starved.tail = c;
        srv->stats.rx_starved++;
    }
    return false;
}

void
sl_server_rx_account(sl_server_t *srv, int64_t delta)
{
    srv->rx_mem += delta;
    SL_ASSERT(srv->rx_mem >= 0);
    if (delta < 0 && srv->starved.head != NULL)
        sl_loop_defer(srv->loop, &srv->rx_wake);
}

void
sl_server_rx_unstarve(sl_server_t *srv, sl_conn_t *c)
{
    if (c->rx_starved)
        starved_unlink(srv, c);
}

/* Some rx memory was freed: every waiter tries again, oldest first (those
 * that still do not fit go back on the list, in the same order). */
static void
rx_wake(sl_loop_t *loop, void *arg)
{
    sl_server_t *srv = arg;

    while (srv->starved.head != NULL) {
        sl_conn_t *c = srv->starved.head;

        starved_unlink(srv, c);
        sl_loop_defer(loop, &c->pump);
    }
}

int64_t
sl_server_rx_mem(const sl_server_t *srv)
{
    return srv->rx_mem;
}

static void
trim_now(sl_loop_t *loop, void *arg)
{
    sl_server_t *srv = arg;

    srv->released = 0;
    srv->last_trim = sl_loop_now(loop);
    srv->stats.trims++;
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

void
sl_server_note_released(sl_server_t *srv, size_t n)
{
    int64_t wait;

    srv->released += n;
    if (srv->released < TRIM_AFTER || sl_timer_active(&srv->trim_timer))
        return;
    wait = srv->last_trim + TRIM_INTERVAL_MS - sl_loop_now(srv->loop);
    /* Never inside the call that freed: a timer runs from the loop. */
    sl_timer_start(srv->loop, &srv->trim_timer, wait > 0 ? wait : 0);
}

/* ======================================================================== */
/* New connections                                                          */
/* ======================================================================== */

void
sl_server_sockopts(const sl_server_t *srv, int fd)
{
    int one = 1;

    /* Best effort: a socket that refuses an option still works (unix
     * sockets have no TCP_NODELAY). */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srv->cfg.sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->cfg.sndbuf, sizeof(int));
    if (srv->cfg.rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &srv->cfg.rcvbuf, sizeof(int));
}

void
sl_server_accepted(sl_listener_t *l, int fd, const struct sockaddr *sa, socklen_t salen)
{
    sl_server_t *srv = l->srv;
    conn_origin_t origin = {.listener = l, .tp = l->tp};
    char peer[64];
    sl_conn_t *c;
    int rc;

    sl_listener_format_addr(sa, salen, peer, sizeof(peer));
    if (srv->nconns >= (size_t)srv->cfg.max_conns) {
        srv->stats.rejected++;
        sl_debug("net", "%s: refused, max.connections (%d) reached", peer, srv->cfg.max_conns);
        close(fd);
        return;
    }
    sl_server_sockopts(srv, fd);
    if ((rc = sl_conn_open(srv, fd, peer, &origin, &c)) != SL_OK)
        sl_warn("net", "%s: cannot watch the connection: %s", peer, sl_strerror(rc));
}

int
sl_server_adopt(sl_server_t *srv, int fd, sl_conn_t **out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[64] = "?";
    int flags = fcntl(fd, F_GETFL);

    if (srv->nconns >= (size_t)srv->cfg.max_conns) {
        srv->stats.rejected++;
        close(fd);
        return SL_ETOOBIG;
    }
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        close(fd);
        return SL_EIO;
    }
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        sl_listener_format_addr((struct sockaddr *)&ss, len, peer, sizeof(peer));
    sl_server_sockopts(srv, fd);
    return sl_conn_open(srv, fd, peer, NULL, out);
}

/* ======================================================================== */
/* Accessors                                                                */
/* ======================================================================== */

sl_loop_t *
sl_server_loop(const sl_server_t *srv)
{
    return srv->loop;
}

void *
sl_server_owner(const sl_server_t *srv)
{
    return srv->owner;
}

size_t
sl_server_conn_count(const sl_server_t *srv)
{
    return srv->nconns;
}

sl_server_stats_t
sl_server_stats(const sl_server_t *srv)
{
    return srv->stats;
}
