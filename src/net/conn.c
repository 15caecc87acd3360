/*
 * conn.c -- one client connection: reading and framing, the one-request-in-
 * flight mute, the transmit chain (writev + sendfile), backpressure and
 * closing. The server (server.c) owns the list of connections and the idle
 * sweep; this file owns everything about a single socket.
 *
 * Interest, recomputed after every step (conn_update):
 *   READ   open, not muted, and queued output <= tx_high_water
 *   WRITE  something queued
 *   RDHUP  until the peer's FIN was seen with unread bytes behind it
 * With level-triggered epoll that is the whole state machine: a muted or
 * backpressured connection is simply not asked about readability.
 *
 * The rx buffer grows with the bytes that actually arrive (geometrically,
 * capped at the declared frame size), never straight to the size a peer
 * declares, so a peer that announces 100 MiB and sends 4 bytes costs 16 KiB.
 * Growing past RX_INIT also needs the server's rx budget
 * (queued.max.request.bytes, summed over connections): without it the
 * connection stops reading until another connection frees rx memory.
 *
 * All socket I/O goes through the connection's transport (c->tp): the
 * plaintext one is the system calls, a TLS one wraps them. A transport
 * without sendfile gets file regions through a bounded copy buffer
 * (send_file_copy). A transport handshake runs before any frame moves.
 *
 * Backpressure counts memory, not just bytes to send: a 4-byte piece in a
 * 4 KiB buffer costs 4 KiB, so a client pipelining requests it never reads
 * is stopped by what its replies really hold (tx_mem), not by their length.
 */
#include "net/net_int.h"

#include "base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define RX_INIT        (16u * 1024) /* first buffer, and the header-reading size */
#define RX_GROW_MIN    (64u * 1024) /* smallest step once a frame outgrows RX_INIT */
#define RX_KEEP        (64u * 1024) /* an empty buffer larger than this is freed */
#define TX_COPY_MIN    (256u)       /* inline capacity of a new copy piece */
#define TX_IOV_MAX     64           /* memory pieces per sendmsg */
#define FLUSH_BUDGET   (8u << 20)   /* bytes per flush before yielding to others */
#define READS_PER_CALL 16           /* reads per readiness event (level-triggered: more later) */
#define FRAMES_PER_RUN 64           /* frames delivered per call before yielding */

static void conn_update(sl_conn_t *c);

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static sl_loop_t *
conn_loop(const sl_conn_t *c)
{
    return c->srv->loop;
}

static int32_t
read_be32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     (uint32_t)p[3]);
}

static bool
conn_can_read(const sl_conn_t *c)
{
    size_t hw = c->srv->cfg.tx_high_water;

    return c->state == CONN_OPEN && !c->muted && !c->rx_starved && !c->handshaking &&
           c->tx_bytes <= hw && c->tx_mem <= hw;
}

/* Replaces the rx buffer (NULL/0 frees it), keeping the server's count. */
static void
rx_set(sl_conn_t *c, uint8_t *rx, size_t cap)
{
    int64_t delta = (int64_t)cap - (int64_t)c->rx_cap;

    c->rx = rx;
    c->rx_cap = cap;
    sl_server_rx_account(c->srv, delta);
    if (delta < 0)
        sl_server_note_released(c->srv, (size_t)-delta);
}

static void
rx_free(sl_conn_t *c)
{
    free(c->rx);
    rx_set(c, NULL, 0);
    c->rx_start = c->rx_end = 0;
}

static void
conn_touch(sl_conn_t *c)
{
    sl_server_conn_touch(c->srv, c);
}

/* ======================================================================== */
/* Transmit chain                                                           */
/* ======================================================================== */

/* Frees a piece that was (or was about to be) on c's chain. */
static void
piece_free(sl_conn_t *c, tx_piece_t *p, bool queued)
{
    if (queued) {
        SL_ASSERT(c->tx_mem >= p->footprint);
        c->tx_mem -= p->footprint;
    }
    sl_server_note_released(c->srv, p->footprint);
    if (p->release != NULL)
        p->release(p->arg);
    free(p);
}

static void
tx_release_all(sl_conn_t *c)
{
    while (c->tx_head != NULL) {
        tx_piece_t *p = c->tx_head;

        c->tx_head = p->next;
        piece_free(c, p, true);
    }
    c->tx_tail = NULL;
    c->tx_bytes = 0;
    SL_ASSERT(c->tx_mem == 0);
}

static void
tx_append(sl_conn_t *c, tx_piece_t *p)
{
    if (c->state == CONN_CLOSED || p->len == 0) {
        piece_free(c, p, false);
        return;
    }
    p->next = NULL;
    if (c->tx_tail != NULL)
        c->tx_tail->next = p;
    else
        c->tx_head = p;
    c->tx_tail = p;
    c->tx_bytes += p->len;
    c->tx_mem += p->footprint;
    /* Write at the end of the iteration: the rest of the response is
     * usually appended right after, and one writev beats several. */
    sl_loop_defer(conn_loop(c), &c->pump);
}

/* Drops n sent bytes from the head of the chain. */
static void
tx_consume(sl_conn_t *c, size_t n)
{
    SL_ASSERT(n <= c->tx_bytes);
    c->tx_bytes -= n;
    while (n > 0) {
        tx_piece_t *p = c->tx_head;

        if (n < p->len) {
            if (p->kind == TX_MEM)
                p->p += n;
            else
                p->off += (int64_t)n;
            p->len -= n;
            return;
        }
        n -= p->len;
        c->tx_head = p->next;
        if (c->tx_head == NULL)
            c->tx_tail = NULL;
        piece_free(c, p, true);
    }
}

static ssize_t
send_mem(sl_conn_t *c)
{
    struct iovec iov[TX_IOV_MAX];
    tx_piece_t *p = c->tx_head;
    int n = 0;

    for (; p != NULL && p->kind == TX_MEM && n < TX_IOV_MAX; p = p->next)
        iov[n++] = (struct iovec){(void *)p->p, p->len};
    return c->tp->send(c, iov, n, p != NULL);
}

static void
fcopy_free(sl_conn_t *c)
{
    free(c->fcopy);
    c->fcopy = NULL;
    c->fcopy_len = c->fcopy_sent = 0;
}

/* The head file region for a transport that cannot sendfile: the next
 * SL_CONN_FILE_COPY bytes are read into fcopy once and handed to send until
 * all of them went out (so a retried TLS write sees the same bytes). fcopy
 * always starts at the region's next unsent offset, which tx_consume moves
 * along with fcopy_sent. Returns like sendfile: 0 when the file is short. */
static ssize_t
send_file_copy(sl_conn_t *c)
{
    tx_piece_t *p = c->tx_head;
    struct iovec iov;
    ssize_t n;

    if (c->fcopy_sent == c->fcopy_len) {
        size_t want = SL_MIN(p->len, (size_t)SL_CONN_FILE_COPY);

        if (c->fcopy == NULL)
            c->fcopy = sl_xmalloc(SL_CONN_FILE_COPY);
        n = pread(p->fd, c->fcopy, want, (off_t)p->off);
        if (n <= 0)
            return n;
        c->fcopy_len = (size_t)n;
        c->fcopy_sent = 0;
    }
    iov = (struct iovec){c->fcopy + c->fcopy_sent, c->fcopy_len - c->fcopy_sent};
    n = c->tp->send(c, &iov, 1, p->next != NULL || p->len > iov.iov_len);
    if (n > 0) {
        c->fcopy_sent += (size_t)n;
        if (c->fcopy_sent == c->fcopy_len)
            c->fcopy_sent = c->fcopy_len = 0;
    }
    return n;
}

static ssize_t
send_file(sl_conn_t *c)
{
    tx_piece_t *p = c->tx_head;

    if (!c->tp->can_sendfile)
        return send_file_copy(c);
    return c->tp->sendfile(c, p->fd, p->off, p->len);
}

/* Writes until the chain is empty, the socket is full, or the budget is
 * spent. May close the connection (errors; the end of a close_flush). */
static void
conn_flush(sl_conn_t *c)
{
    size_t sent = 0;

    if (c->handshaking)
        return;
    while (c->tx_head != NULL && sent < FLUSH_BUDGET && c->state != CONN_CLOSED) {
        bool file = c->tx_head->kind == TX_FILE;
        ssize_t n = file ? send_file(c) : send_mem(c);

        if (n > 0) {
            tx_consume(c, (size_t)n);
            sent += (size_t)n;
        } else if (n == 0 && file) {
            sl_warn("net", "conn %" PRIu64 " %s: file region ends early (fd %d offset %" PRId64 ")",
                    c->id, c->peer, c->tx_head->fd, c->tx_head->off);
            sl_conn_shutdown(c, "file region shorter than queued");
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            sl_conn_shutdown(c, n < 0 && errno == EPIPE ? "peer closed" : "write error");
        }
    }
    if (sent > 0 && c->state != CONN_CLOSED)
        conn_touch(c);
    if (c->tx_head == NULL && c->fcopy != NULL)
        fcopy_free(c); /* held only while a region is being sent */
    if (c->state == CONN_FLUSHING && c->tx_head == NULL)
        sl_conn_shutdown(c, "closed by owner");
}

/* ======================================================================== */
/* Receiving and framing                                                    */
/* ======================================================================== */

/* Delivers the frame at rx_start if it is complete. Returns true if one was
 * delivered. Closes the connection on a size out of range. */
static bool
conn_try_deliver(sl_conn_t *c)
{
    size_t avail = c->rx_end - c->rx_start;
    int32_t size;

    if (avail < 4)
        return false;
    size = read_be32(c->rx + c->rx_start);
    if (size < 0 || size > c->srv->cfg.max_frame) {
        sl_debug("net", "conn %" PRIu64 " %s: frame size %" PRId32 " outside [0, %" PRId32 "]",
                 c->id, c->peer, size, c->srv->cfg.max_frame);
        c->srv->stats.bad_frames++;
        sl_conn_shutdown(c, size < 0 ? "negative frame size" : "frame too large");
        return false;
    }
    if (avail - 4 < (size_t)size)
        return false;
    c->muted = true;
    c->frame_len = (size_t)size;
    c->srv->stats.frames++;
    c->srv->cbs.on_frame(c, c->rx + c->rx_start + 4, (size_t)size);
    return true;
}

/* Delivers buffered frames while allowed (the owner may unmute inside
 * on_frame). Returns true when the next frame is incomplete, i.e. when
 * reading more is what is needed. If the per-call cap is hit, the pump
 * continues at the end of the iteration. */
static bool
conn_deliver_buffered(sl_conn_t *c)
{
    for (int i = 0;; i++) {
        if (!conn_can_read(c))
            return false;
        if (i == FRAMES_PER_RUN) {
            sl_loop_defer(conn_loop(c), &c->pump);
            return false;
        }
        if (!conn_try_deliver(c))
            return c->state != CONN_CLOSED;
    }
}

/* Makes room to read more of the (incomplete, size-checked) frame at
 * rx_start. Only called when not muted, so moving the bytes is allowed.
 * Returns false when growing needs rx budget the server does not have: the
 * connection is then starved and must not read. */
static bool
rx_make_room(sl_conn_t *c)
{
    size_t avail = c->rx_end - c->rx_start;
    size_t need = 4, cap;

    if (avail == 0) {
        c->rx_start = c->rx_end = 0;
        if (c->rx_cap > RX_KEEP)
            rx_free(c);
    }
    if (avail >= 4)
        need += (size_t)read_be32(c->rx + c->rx_start); /* checked by conn_try_deliver */
    if (c->rx_cap - c->rx_start >= need && c->rx_end < c->rx_cap)
        return true;
    if (c->rx_start > 0) {
        memmove(c->rx, c->rx + c->rx_start, avail);
        c->rx_start = 0;
        c->rx_end = avail;
    }
    if (c->rx_cap >= need && c->rx_end < c->rx_cap)
        return true;
    cap = SL_MIN(need, SL_MAX(c->rx_cap * 2, (size_t)RX_GROW_MIN));
    cap = SL_MAX(cap, (size_t)RX_INIT);
    SL_ASSERT(cap > c->rx_end);
    /* The first RX_INIT bytes are always granted, so small requests keep
     * flowing while big partial frames wait for the budget. */
    if (cap > RX_INIT && !sl_server_rx_reserve(c->srv, c, cap - c->rx_cap))
        return false;
    rx_set(c, sl_xrealloc(c->rx, cap), cap);
    return true;
}

/* Reads and delivers while allowed. May close the connection. */
static void
conn_read(sl_conn_t *c)
{
    for (int reads = 0; reads < READS_PER_CALL;) {
        ssize_t n;

        if (!conn_deliver_buffered(c) || !rx_make_room(c))
            return;
        n = c->tp->recv(c, c->rx + c->rx_end, c->rx_cap - c->rx_end);
        if (n > 0) {
            c->rx_end += (size_t)n;
            conn_touch(c);
            reads++;
        } else if (n == 0) {
            sl_conn_shutdown(c, "peer closed");
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            sl_conn_shutdown(c, errno == ECONNRESET ? "connection reset" : "read error");
            return;
        }
    }
    (void)conn_deliver_buffered(c);
}

/* The peer sent FIN while we were not reading. If everything it sent has
 * been consumed, no request can follow: close and report now. The same when
 * what it sent cannot complete the partial frame we hold: that frame (and
 * its share of queued.max.request.bytes, which it may be waiting for) would
 * otherwise be kept until the idle timeout. Otherwise keep going; reading
 * reaches the EOF after the pending requests. */
static void
conn_peer_fin(sl_conn_t *c)
{
    int unread = 0;
    size_t avail = c->rx_end - c->rx_start;
    size_t pending = avail - (c->muted ? 4 + c->frame_len : 0);

    if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread < 0)
        unread = 0;
    if (unread == 0 && pending == 0) {
        sl_conn_shutdown(c, "peer closed");
        return;
    }
    if (!c->muted && avail >= 4) {
        size_t want = 4 + (size_t)read_be32(c->rx + c->rx_start); /* size-checked on arrival */

        if (avail + (size_t)unread < want) {
            sl_conn_shutdown(c, "peer closed mid-frame");
            return;
        }
    }
    c->peer_eof = true;
}

/* ======================================================================== */
/* Events and the pump                                                      */
/* ======================================================================== */

static void
conn_update(sl_conn_t *c)
{
    uint32_t ev = 0;

    if (c->state == CONN_CLOSED)
        return;
    if (!c->peer_eof)
        ev |= SL_EV_RDHUP;
    if (c->handshaking) {
        sl_loop_fd_set(conn_loop(c), &c->w, ev | c->hs_want);
        return;
    }
    if (conn_can_read(c))
        ev |= SL_EV_READ;
    if (c->tx_head != NULL)
        ev |= SL_EV_WRITE;
    sl_loop_fd_set(conn_loop(c), &c->w, ev);
}

static const char *
sock_error_reason(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNRESET)
        return "connection reset";
    return "socket error";
}

/* Drives the transport handshake; true once it is done (the connection
 * then reads and writes frames). May close the connection. */
static bool
conn_handshake(sl_conn_t *c)
{
    int rc;

    if (!c->handshaking)
        return true;
    rc = c->tp->handshake(c, &c->hs_want);
    if (rc == SL_OK) {
        c->handshaking = false;
        return true;
    }
    if (rc != SL_EAGAIN) {
        sl_debug("net", "conn %" PRIu64 " %s: %s handshake: %s", c->id, c->peer, c->tp->name,
                 sl_strerror(rc));
        sl_conn_shutdown(c, "handshake failed");
    }
    return false;
}

static void
conn_event(sl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
    sl_conn_t *c = arg;

    if (ev & SL_EV_ERR) {
        sl_conn_shutdown(c, sock_error_reason(fd));
        return;
    }
    if (ev & SL_EV_HUP) {
        sl_conn_shutdown(c, "peer closed");
        return;
    }
    if (!conn_handshake(c)) {
        if ((ev & SL_EV_RDHUP) && c->state != CONN_CLOSED)
            sl_conn_shutdown(c, "peer closed during handshake");
        conn_update(c);
        return;
    }
    if (ev & SL_EV_WRITE)
        conn_flush(c);
    if ((ev & SL_EV_READ) && conn_can_read(c))
        conn_read(c);
    if ((ev & SL_EV_RDHUP) && !c->peer_eof && c->state != CONN_CLOSED)
        conn_peer_fin(c);
    (void)conn_deliver_buffered(c);
    conn_update(c);
}

static void
conn_pump(sl_loop_t *loop, void *arg)
{
    sl_conn_t *c = arg;

    if (c->state == CONN_CLOSED) {
        sl_conn_finalize(c);
        return;
    }
    conn_flush(c);
    if (c->state == CONN_CLOSED)
        return; /* the shutdown re-queued the pump to finalize */
    (void)conn_deliver_buffered(c);
    conn_update(c);
}

/* ======================================================================== */
/* Lifecycle                                                                */
/* ======================================================================== */

static void
conn_set_origin(sl_conn_t *c, const conn_origin_t *origin)
{
    const sl_listener_t *l = origin != NULL ? origin->listener : NULL;

    c->tp = origin != NULL && origin->tp != NULL ? origin->tp : &sl_transport_plaintext;
    c->outbound = origin != NULL && origin->outbound;
    c->listener = l;
    snprintf(c->listener_name, sizeof(c->listener_name), "%s", l ? sl_listener_name(l) : "");
    snprintf(c->secproto, sizeof(c->secproto), "%s",
             l ? sl_listener_security_protocol(l) : "PLAINTEXT");
    c->handshaking = c->tp->handshake != NULL;
    c->hs_want = SL_EV_READ | SL_EV_WRITE; /* until the handshake says */
}

int
sl_conn_open(sl_server_t *srv, int fd, const char *peer, const conn_origin_t *origin,
             sl_conn_t **out)
{
    sl_conn_t *c = sl_xcalloc(1, sizeof(*c));
    int rc;

    c->srv = srv;
    c->fd = fd;
    c->id = ++srv->next_id;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    conn_set_origin(c, origin);
    sl_loop_defer_init(&c->pump, conn_pump, c);
    rc = c->tp->open != NULL ? c->tp->open(c) : SL_OK;
    if (rc == SL_OK) {
        rc = sl_loop_fd_add(srv->loop, &c->w, fd,
                            SL_EV_READ | SL_EV_RDHUP | (c->handshaking ? c->hs_want : 0),
                            conn_event, c);
        if (rc != SL_OK && c->tp->shutdown != NULL)
            c->tp->shutdown(c);
    }
    if (rc != SL_OK) {
        close(fd);
        free(c);
        return rc;
    }
    sl_server_conn_opened(srv, c);
    sl_debug("net", "conn %" PRIu64 " %s: open", c->id, c->peer);
    if (srv->cbs.on_open != NULL)
        srv->cbs.on_open(c, srv->owner);
    *out = c;
    return SL_OK;
}

void
sl_conn_shutdown(sl_conn_t *c, const char *reason)
{
    if (c->state == CONN_CLOSED)
        return;
    sl_debug("net", "conn %" PRIu64 " %s: closed (%s)", c->id, c->peer, reason);
    c->state = CONN_CLOSED;
    c->close_reason = reason;
    sl_server_rx_unstarve(c->srv, c);
    sl_loop_fd_del(conn_loop(c), &c->w);
    if (c->tp->shutdown != NULL)
        c->tp->shutdown(c);
    close(c->fd);
    c->fd = -1;
    tx_release_all(c);
    fcopy_free(c);
    sl_server_conn_closed(c->srv, c);
    sl_loop_defer(conn_loop(c), &c->pump);
}

void
sl_conn_finalize(sl_conn_t *c)
{
    SL_ASSERT(c->state == CONN_CLOSED);
    sl_loop_defer_cancel(conn_loop(c), &c->pump);
    sl_server_conn_gone(c->srv, c);
    if (c->srv->cbs.on_close != NULL)
        c->srv->cbs.on_close(c);
    rx_free(c);
    free(c);
}

void
sl_conn_close(sl_conn_t *c)
{
    sl_conn_shutdown(c, "closed by owner");
}

void
sl_conn_close_flush(sl_conn_t *c)
{
    if (c->state != CONN_OPEN)
        return;
    c->state = CONN_FLUSHING;
    sl_loop_defer(conn_loop(c), &c->pump);
}

void
sl_conn_unmute(sl_conn_t *c)
{
    if (!c->muted || c->state == CONN_CLOSED)
        return; /* a closed connection keeps its frame until on_close */
    c->muted = false;
    c->rx_start += 4 + c->frame_len;
    c->frame_len = 0;
    if (c->rx_start == c->rx_end && c->rx_cap > RX_KEEP) {
        /* A big frame is done and nothing follows: do not keep its buffer
         * for the life of an idle connection. */
        rx_free(c);
    }
    sl_loop_defer(conn_loop(c), &c->pump);
}

/* ======================================================================== */
/* Sending                                                                  */
/* ======================================================================== */

/* held: memory outside the piece that lives until its release. */
static tx_piece_t *
piece_new(tx_kind_t kind, size_t len, sl_conn_release_fn release, void *arg, size_t store,
          size_t held)
{
    tx_piece_t *p = sl_xmalloc(sizeof(*p) + store);

    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->len = len;
    p->release = release;
    p->arg = arg;
    p->store_cap = store;
    p->footprint = sizeof(*p) + store + held;
    p->fd = -1;
    return p;
}

void
sl_conn_send_copy(sl_conn_t *c, const void *data, size_t n)
{
    tx_piece_t *t = c->tx_tail;
    tx_piece_t *p;

    if (n == 0 || c->state == CONN_CLOSED)
        return;
    /* Coalesce into the tail copy piece when it has room: its unsent bytes
     * end exactly at store + store_used, so appending keeps them contiguous. */
    if (t != NULL && t->store_cap - t->store_used >= n) {
        memcpy(t->store + t->store_used, data, n);
        t->store_used += n;
        t->len += n;
        c->tx_bytes += n;
        sl_loop_defer(conn_loop(c), &c->pump);
        return;
    }
    p = piece_new(TX_MEM, n, NULL, NULL, SL_MAX(n, (size_t)TX_COPY_MIN), 0);
    memcpy(p->store, data, n);
    p->store_used = n;
    p->p = p->store;
    tx_append(c, p);
}

void
sl_conn_send_size(sl_conn_t *c, int32_t size)
{
    uint32_t v = (uint32_t)size;
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

    sl_conn_send_copy(c, b, sizeof(b));
}

static void
send_ref_held(sl_conn_t *c, const void *data, size_t n, sl_conn_release_fn release, void *arg,
              size_t held)
{
    tx_piece_t *p = piece_new(TX_MEM, n, release, arg, 0, held);

    p->p = data;
    tx_append(c, p);
}

void
sl_conn_send_ref(sl_conn_t *c, const void *data, size_t n, sl_conn_release_fn release, void *arg)
{
    send_ref_held(c, data, n, release, arg, n);
}

void
sl_conn_send_take(sl_conn_t *c, void *data, size_t n)
{
    sl_conn_send_ref(c, data, n, free, data);
}

void
sl_conn_send_buf(sl_conn_t *c, sl_buf_t *b)
{
    size_t n, cap = b->cap;
    uint8_t *data = sl_buf_take(b, &n);

    if (data == NULL)
        return;
    send_ref_held(c, data, n, free, data, cap); /* the spare capacity is held too */
}

void
sl_conn_send_file(sl_conn_t *c, int fd, int64_t off, size_t len, sl_conn_release_fn release,
                  void *arg)
{
    tx_piece_t *p = piece_new(TX_FILE, len, release, arg, 0, 0);

    p->fd = fd;
    p->off = off;
    tx_append(c, p);
}

size_t
sl_conn_queued(const sl_conn_t *c)
{
    return c->tx_bytes;
}

size_t
sl_conn_queued_mem(const sl_conn_t *c)
{
    return c->tx_mem;
}

/* ======================================================================== */
/* Accessors                                                                */
/* ======================================================================== */

bool
sl_conn_muted(const sl_conn_t *c)
{
    return c->muted;
}

bool
sl_conn_closed(const sl_conn_t *c)
{
    return c->state == CONN_CLOSED;
}

const char *
sl_conn_close_reason(const sl_conn_t *c)
{
    return c->close_reason;
}

uint64_t
sl_conn_id(const sl_conn_t *c)
{
    return c->id;
}

const char *
sl_conn_peer(const sl_conn_t *c)
{
    return c->peer;
}

void *
sl_conn_data(const sl_conn_t *c)
{
    return c->data;
}

void
sl_conn_set_data(sl_conn_t *c, void *data)
{
    c->data = data;
}

sl_server_t *
sl_conn_server(const sl_conn_t *c)
{
    return c->srv;
}

int
sl_conn_fd(const sl_conn_t *c)
{
    return c->fd;
}

const sl_listener_t *
sl_conn_listener(const sl_conn_t *c)
{
    return c->listener;
}

const char *
sl_conn_listener_name(const sl_conn_t *c)
{
    return c->listener_name[0] != '\0' ? c->listener_name : NULL;
}

const char *
sl_conn_security_protocol(const sl_conn_t *c)
{
    return c->secproto;
}

bool
sl_conn_outbound(const sl_conn_t *c)
{
    return c->outbound;
}

const sl_transport_t *
sl_conn_transport(const sl_conn_t *c)
{
    return c->tp;
}

void *
sl_conn_transport_state(const sl_conn_t *c)
{
    return c->tp_state;
}

void
sl_conn_set_transport_state(sl_conn_t *c, void *state)
{
    c->tp_state = state;
}

size_t
sl_conn_rx_buffered(const sl_conn_t *c)
{
    return c->rx_end - c->rx_start;
}

size_t
sl_conn_rx_capacity(const sl_conn_t *c)
{
    return c->rx_cap;
}
