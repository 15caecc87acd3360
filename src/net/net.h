/*
 * net.h -- the network layer: a server that owns listening sockets and
 * connections, 4-byte size-prefixed framing, one request in flight per
 * connection, and a transmit chain of memory chunks and file regions.
 * Knows nothing about Kafka beyond the frame size prefix.
 *
 *   sl_server_new(loop, &cfg, &cbs, owner, &srv);
 *   sl_server_listen(srv, "PLAINTEXT://127.0.0.1:0", &l);   sl_listener_port(l)
 *
 *   on_frame(c, data, len)  a complete frame (size prefix stripped). The
 *       connection is now MUTED: no further frame is delivered and nothing
 *       more is read, so `data` stays valid and unmoved (decoded requests may
 *       hold views into it, and may patch it in place) until the owner calls
 *       sl_conn_unmute(c) -- normally right after queuing the response. Frames
 *       the peer pipelined stay buffered; the next one is delivered at the end
 *       of the iteration in which unmute is called, without new readability.
 *   on_close(c)  exactly once per connection that was opened, whoever closed
 *       it (peer, error, idle timer, size limit, sl_conn_close, server free).
 *       Runs from a deferred callback, never inside an sl_conn_* call. c and
 *       its last frame stay valid until on_close returns; then c is freed.
 *
 * Every function here is for the loop thread. Connections are closed on:
 * EOF or a socket error; a frame size < 0 or > max_frame (logged at debug, no
 * allocation happens); idle longer than idle_ms; a file region the file can no
 * longer supply. A muted or backpressured connection is still watched for the
 * peer's FIN: if nothing it sent is left unread, it is closed and reported at
 * once (a parked long poll must not outlive its client); if bytes are still
 * unread they are processed first and the EOF behind them closes it.
 */
#ifndef SL_NET_NET_H
#define SL_NET_NET_H

#include "base/buf.h"
#include "base/common.h"
#include "net/loop.h"
#include "net/outconn.h"
#include "net/worker.h"

#include <sys/types.h>
#include <sys/uio.h>

typedef struct sl_server sl_server_t;
typedef struct sl_listener sl_listener_t;
typedef struct sl_conn sl_conn_t;

/* ---- transports ---------------------------------------------------------
 * How a connection moves its bytes: an ops table per connection (the seam a
 * TLS transport plugs into, as nginx swaps c->recv/send for its SSL ones).
 * The framing, the rx budget, the tx chain and backpressure sit above it and
 * do not change. Every op runs on the loop thread with a non-blocking fd;
 * recv/send/sendfile follow the system calls' convention: bytes moved, 0 at
 * EOF (recv) or end of file (sendfile), -1 with errno (EAGAIN: try again on
 * readiness, EINTR: again now, anything else closes the connection).
 *
 * can_sendfile false: file regions are read with pread(2) into a bounded
 * per-connection copy buffer (SL_CONN_FILE_COPY bytes, held only while a
 * region is being sent) and passed to send, unchanged until fully sent (a
 * TLS write must be retried with the same bytes). */
#define SL_CONN_FILE_COPY (64u * 1024)

typedef struct sl_transport {
    const char *name; /* "plaintext", for logs */
    bool can_sendfile;
    /* Optional: sets up per-connection state (sl_conn_set_transport_state)
     * when a connection opens; an error closes it before on_open. */
    int (*open)(sl_conn_t *c);
    /* Optional: runs before any frame is read or sent, on readiness, until
     * it returns SL_OK. SL_EAGAIN: not done, *want = the SL_EV_* interest
     * it waits for. Anything else closes the connection ("handshake failed"). */
    int (*handshake)(sl_conn_t *c, uint32_t *want);
    ssize_t (*recv)(sl_conn_t *c, void *buf, size_t n);
    /* more: further output follows at once (MSG_MORE). */
    ssize_t (*send)(sl_conn_t *c, const struct iovec *iov, int iovcnt, bool more);
    /* Only called when can_sendfile. */
    ssize_t (*sendfile)(sl_conn_t *c, int fd, int64_t off, size_t n);
    /* Optional: says goodbye (TLS close_notify, best effort) and frees the
     * state; the fd is still open and is closed by net right after. */
    void (*shutdown)(sl_conn_t *c);
} sl_transport_t;

/* Today's plain TCP: read(2), sendmsg(2) with MSG_NOSIGNAL, sendfile(2). */
extern const sl_transport_t sl_transport_plaintext;

/* ---- configuration ----------------------------------------------------- */

typedef struct sl_server_config {
    int32_t max_frame;                /* socket.request.max.bytes (default 104857600) */
    int64_t idle_ms;                  /* connections.max.idle.ms (default 600000); <= 0: never */
    size_t tx_high_water;             /* stop reading while queued output holds more memory than
                                       * this, or has more bytes to send (default 4 MiB) */
    int64_t max_queued_request_bytes; /* queued.max.request.bytes: rx buffers of all
                                       * connections together; < 0 = unbounded
                                       * (default 524288000); 0 is refused */
    int max_conns; /* max.connections (default INT32_MAX); see sl_server_listen */
    int sndbuf;    /* socket.send.buffer.bytes; -1 = OS default, autotuned (default) */
    int rcvbuf;    /* socket.receive.buffer.bytes; -1 = OS default (default) */
    int backlog;   /* listen(2) backlog (default 1024) */
} sl_server_config_t;

void sl_server_config_defaults(sl_server_config_t *cfg);

typedef void (*sl_conn_open_fn)(sl_conn_t *c, void *owner);
typedef void (*sl_conn_frame_fn)(sl_conn_t *c, uint8_t *data, size_t len);
typedef void (*sl_conn_close_fn)(sl_conn_t *c);

typedef struct sl_conn_cbs {
    sl_conn_open_fn on_open;   /* optional: a connection was accepted (set user data) */
    sl_conn_frame_fn on_frame; /* required */
    sl_conn_close_fn on_close; /* optional */
} sl_conn_cbs_t;

/* ---- server ------------------------------------------------------------ */

/* Creates a server on loop. cfg NULL = defaults; cbs is copied; owner is
 * passed to on_open. SL_EINVAL for a config value out of range. */
SL_MUST_CHECK int sl_server_new(sl_loop_t *loop, const sl_server_config_t *cfg,
                                const sl_conn_cbs_t *cbs, void *owner, sl_server_t **out);
/* Closes listeners and every connection (on_close runs for each, from inside
 * this call), then frees. Call it outside net callbacks. NULL is a no-op. */
void sl_server_free(sl_server_t *srv);

/* Binds one `listeners` entry, "NAME://HOST:PORT":
 *   PLAINTEXT://127.0.0.1:9092   one IPv4 address
 *   PLAINTEXT://[::1]:0          IPv6; port 0 = ephemeral (read it back below)
 *   PLAINTEXT://:9092            all interfaces (dual-stack "::", else 0.0.0.0)
 *   PLAINTEXT://localhost:9092   every address the name resolves to; for
 *                                "localhost" also 127.0.0.1 and ::1 when the
 *                                host has them, since clients differ on which
 *                                one localhost means.
 * All sockets of one entry share a port (an ephemeral port is picked by the
 * first bind and reused). SO_REUSEADDR, non-blocking, TCP_NODELAY on accepted
 * sockets. Over max_conns, a new connection is accepted and closed at once
 * (the client sees a prompt close rather than a hanging connect); counted in
 * stats.rejected. Returns SL_EINVAL (bad spec), SL_ENOENT (name does not
 * resolve), SL_EIO (bind/listen failed; logged). *out (may be NULL) is owned
 * by the server. */
SL_MUST_CHECK int sl_server_listen(sl_server_t *srv, const char *spec, sl_listener_t **out);
/* Closes every listening socket; open connections carry on (shutdown). */
void sl_server_stop_listening(sl_server_t *srv);
/* Wraps an already connected socket (made non-blocking here) as a
 * connection of srv, as if accepted; on_open runs. The server owns fd from
 * now on, even on error. SL_ETOOBIG over max_conns, SL_EIO if epoll refuses. */
SL_MUST_CHECK int sl_server_adopt(sl_server_t *srv, int fd, sl_conn_t **out);
/* Closes every open connection (flush: after queued output is sent). */
void sl_server_close_all(sl_server_t *srv, bool flush);

sl_loop_t *sl_server_loop(const sl_server_t *srv);
void *sl_server_owner(const sl_server_t *srv);
size_t sl_server_conn_count(const sl_server_t *srv);

typedef struct sl_server_stats {
    uint64_t accepted;    /* connections opened (accepted or adopted) */
    uint64_t rejected;    /* accepted and closed at once: over max_conns */
    uint64_t closed_idle; /* closed by connections.max.idle.ms */
    uint64_t bad_frames;  /* closed for a frame size < 0 or > max_frame */
    uint64_t frames;      /* frames delivered */
    uint64_t rx_starved;  /* times a connection waited for queued.max.request.bytes */
    uint64_t trims;       /* times freed memory was handed back to the OS */
} sl_server_stats_t;

sl_server_stats_t sl_server_stats(const sl_server_t *srv);

/* ---- listeners --------------------------------------------------------- */

typedef struct sl_listener_spec {
    char name[64];  /* "PLAINTEXT" */
    char host[256]; /* "" for all interfaces; IPv6 without brackets */
    int port;
} sl_listener_spec_t;

/* Parses "NAME://HOST:PORT" (HOST may be empty, a name, IPv4, or [IPv6]).
 * SL_EINVAL on anything else. */
SL_MUST_CHECK int sl_listener_parse(const char *spec, sl_listener_spec_t *out);
/* The bound port (the real one when 0 was asked for). */
int sl_listener_port(const sl_listener_t *l);
const char *sl_listener_name(const sl_listener_t *l);
const char *sl_listener_host(const sl_listener_t *l);
/* The listener's security protocol ("PLAINTEXT", "SSL", ...): the name
 * itself when it is a protocol name, else "PLAINTEXT" until the owner sets
 * what listener.security.protocol.map says. */
const char *sl_listener_security_protocol(const sl_listener_t *l);
void sl_listener_set_security_protocol(sl_listener_t *l, const char *protocol);
/* Transport of connections accepted from now on (default plaintext). tp
 * must outlive the listener. */
void sl_listener_set_transport(sl_listener_t *l, const sl_transport_t *tp);
/* Number of sockets bound for this entry, and each one as "ip:port". */
size_t sl_listener_naddrs(const sl_listener_t *l);
const char *sl_listener_addr(const sl_listener_t *l, size_t i);

/* ---- connections ------------------------------------------------------- */

/* Ends the current request: the frame passed to on_frame is released and the
 * next buffered frame (if any) is delivered at the end of this iteration.
 * A no-op when not muted or closed. */
void sl_conn_unmute(sl_conn_t *c);
bool sl_conn_muted(const sl_conn_t *c);

/* Closes at once: queued output is dropped (file regions released). */
void sl_conn_close(sl_conn_t *c);
/* Stops reading, sends what is queued, then closes. Bounded by idle_ms if
 * the peer stops reading. */
void sl_conn_close_flush(sl_conn_t *c);
/* True once closing started (on_close may not have run yet). */
bool sl_conn_closed(const sl_conn_t *c);
/* Why it closed ("peer closed", "idle", "frame too large", ...), NULL while
 * open. Static strings. */
const char *sl_conn_close_reason(const sl_conn_t *c);

uint64_t sl_conn_id(const sl_conn_t *c);      /* per-server, from 1, monotonic */
const char *sl_conn_peer(const sl_conn_t *c); /* "127.0.0.1:52344", "[::1]:52344" */
void *sl_conn_data(const sl_conn_t *c);
void sl_conn_set_data(sl_conn_t *c, void *data);
sl_server_t *sl_conn_server(const sl_conn_t *c);
int sl_conn_fd(const sl_conn_t *c); /* -1 once closed */
/* The listener that accepted c; NULL for adopted and outbound connections.
 * Valid while the listener exists (sl_server_stop_listening frees them). */
const sl_listener_t *sl_conn_listener(const sl_conn_t *c);
/* The listener's name ("PLAINTEXT", "INTERNAL"), NULL as above; kept when
 * the listener is freed, so request handling can gate by it at any time. */
const char *sl_conn_listener_name(const sl_conn_t *c);
/* Its security protocol at accept time; "PLAINTEXT" when no listener. */
const char *sl_conn_security_protocol(const sl_conn_t *c);
/* True for a connection made by sl_net_connect. */
bool sl_conn_outbound(const sl_conn_t *c);
const sl_transport_t *sl_conn_transport(const sl_conn_t *c);
void *sl_conn_transport_state(const sl_conn_t *c);
void sl_conn_set_transport_state(sl_conn_t *c, void *state);
/* Received bytes not yet consumed, including a delivered frame still muted. */
size_t sl_conn_rx_buffered(const sl_conn_t *c);
/* Current rx buffer capacity (tests check that bad sizes allocate nothing). */
size_t sl_conn_rx_capacity(const sl_conn_t *c);

/* ---- the transmit chain -------------------------------------------------
 * Appended pieces go out contiguously and in order, so a response is its
 * 4-byte size (sl_conn_send_size), then header and body chunks and file
 * regions, appended in one go. Writing starts at the end of the iteration
 * (so one response becomes one writev) and resumes on writability. On a
 * closed connection every send releases its piece at once and returns.
 * `release(arg)` runs on the loop thread exactly once per piece: when it is
 * fully sent or when the connection closes. */
typedef void (*sl_conn_release_fn)(void *arg);

/* Copies n bytes (small pieces are coalesced). */
void sl_conn_send_copy(sl_conn_t *c, const void *p, size_t n);
/* Appends a big-endian int32: a frame's size prefix. */
void sl_conn_send_size(sl_conn_t *c, int32_t size);
/* Sends n bytes at p without copying; p must stay valid until release. */
void sl_conn_send_ref(sl_conn_t *c, const void *p, size_t n, sl_conn_release_fn release, void *arg);
/* Takes a malloc'd block; free()d when sent. */
void sl_conn_send_take(sl_conn_t *c, void *p, size_t n);
/* Takes b's memory (b is left empty). */
void sl_conn_send_buf(sl_conn_t *c, sl_buf_t *b);
/* Sends len bytes of fd from offset off with sendfile(2). fd must stay open
 * until release. If the file turns out shorter, the connection is closed
 * (the frame could not be completed). */
void sl_conn_send_file(sl_conn_t *c, int fd, int64_t off, size_t len, sl_conn_release_fn release,
                       void *arg);
/* Bytes queued and not yet written to the socket. While this or
 * sl_conn_queued_mem exceeds tx_high_water, the connection delivers and
 * reads nothing. */
size_t sl_conn_queued(const sl_conn_t *c);
/* Memory the queued output keeps alive (buffers and piece headers; file
 * regions cost only their header). */
size_t sl_conn_queued_mem(const sl_conn_t *c);
/* rx buffer capacity of every connection of srv (queued.max.request.bytes). */
int64_t sl_server_rx_mem(const sl_server_t *srv);

#endif
