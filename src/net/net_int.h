/*
 * net_int.h -- private to src/net: the structs behind the opaque handles of
 * loop.h and net.h, and the calls the net files make into each other.
 * Nothing outside src/net includes this.
 */
#ifndef SL_NET_NET_INT_H
#define SL_NET_NET_INT_H

#include "net/net.h"

#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* ---- loop (loop.c, timer.c) -------------------------------------------- */

#define LOOP_MAX_EVENTS 256

struct sl_loop {
    int epfd;
    int wakefd; /* eventfd: sl_loop_wakeup, signals */
    sl_loop_fd_t wake_w;
    atomic_int stop;
    int64_t now;               /* cached monotonic ms */
    sl_loop_clock_fn clock_fn; /* NULL: sl_mono_ms */
    void *clock_arg;

    /* Events of the iteration being dispatched; sl_loop_fd_del clears
     * entries in [ev_next, ev_count) that point at a removed watcher. */
    struct epoll_event events[LOOP_MAX_EVENTS];
    int ev_next, ev_count;

    sl_timer_t **heap; /* min-heap by (deadline, seq) */
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    sl_loop_defer_t *defer_head, *defer_tail;

    struct {
        int signo;
        sl_loop_cb_fn fn;
        void *arg;
    } sigs[8];
    int nsigs;
};

/* Earliest armed deadline, or -1 when no timer is armed. */
int64_t sl_timer_next_deadline(const sl_loop_t *loop);
/* Fires every timer due at loop->now that was armed before this call. */
void sl_timer_run_due(sl_loop_t *loop);

/* ---- the transmit chain (conn.c) --------------------------------------- */

typedef enum tx_kind {
    TX_MEM,
    TX_FILE,
} tx_kind_t;

/* One piece of output. Memory pieces point at the next unsent byte; file
 * pieces hold the next offset to sendfile from. Copy pieces carry their bytes
 * inline (`store`) and may keep growing while they are the tail. */
typedef struct tx_piece {
    struct tx_piece *next;
    tx_kind_t kind;
    size_t len;       /* bytes still to send */
    const uint8_t *p; /* TX_MEM: next byte */
    int fd;           /* TX_FILE */
    int64_t off;      /* TX_FILE: next offset */
    sl_conn_release_fn release;
    void *arg;
    size_t store_cap;  /* copy pieces: inline capacity (0 for others) */
    size_t store_used; /* copy pieces: bytes stored so far */
    size_t footprint;  /* memory this piece keeps alive until freed (tx_mem) */
    uint8_t store[];
} tx_piece_t;

/* ---- connections (conn.c) ---------------------------------------------- */

typedef enum conn_state {
    CONN_OPEN,
    CONN_FLUSHING, /* sl_conn_close_flush: no reading, close when tx empties */
    CONN_CLOSED,   /* fd closed; on_close pending in the deferred pump */
} conn_state_t;

struct sl_conn {
    sl_server_t *srv;
    sl_loop_fd_t w;
    int fd;
    const sl_transport_t *tp;
    void *tp_state;
    bool handshaking; /* tp->handshake has not returned SL_OK yet */
    bool outbound;
    uint32_t hs_want; /* interest while handshaking */
    const sl_listener_t *listener;
    char listener_name[64];
    char secproto[24];
    conn_state_t state;
    bool muted;    /* a delivered frame is in flight */
    bool peer_eof; /* FIN seen with unread bytes: stop watching RDHUP */
    uint64_t id;
    const char *close_reason;
    void *data;
    char peer[64];

    /* rx: bytes [rx_start, rx_end) of rx are received and unconsumed. While
     * muted, the frame in flight begins at rx_start and nothing moves. */
    uint8_t *rx;
    size_t rx_cap, rx_start, rx_end;
    size_t frame_len; /* payload length of the frame in flight */

    tx_piece_t *tx_head, *tx_tail;
    size_t tx_bytes; /* bytes still to send, file regions included */
    size_t tx_mem;   /* memory held by the queued pieces (the backpressure measure) */
    /* File regions on a transport without sendfile: bytes [fcopy_sent,
     * fcopy_len) of fcopy were read from the head region and not yet sent. */
    uint8_t *fcopy;
    size_t fcopy_len, fcopy_sent;

    /* queued.max.request.bytes: waiting for the server's rx budget to grow
     * the buffer of a partial frame (on the server's starved list). */
    bool rx_starved;
    sl_conn_t *sprev, *snext;

    /* Server list membership: the open list (least recently active first,
     * for the idle sweep) or, once closed, the closing list. */
    sl_conn_t *prev, *next;
    int64_t last_active;

    /* Deferred work: flush what was queued, deliver the next buffered frame
     * after unmute, finalize after close. */
    sl_loop_defer_t pump;
};

/* How a connection comes to be: its listener (NULL if adopted or
 * outbound), transport (NULL = plaintext), and whether we dialled it. */
typedef struct conn_origin {
    const sl_listener_t *listener;
    const sl_transport_t *tp;
    bool outbound;
} conn_origin_t;

/* Wraps an accepted/adopted non-blocking fd; on_open runs. On error the fd
 * is closed. *out may already be closed when on_open closed it. */
SL_MUST_CHECK int sl_conn_open(sl_server_t *srv, int fd, const char *peer,
                               const conn_origin_t *origin, sl_conn_t **out);
/* Closes now with a reason; on_close follows from the deferred pump. */
void sl_conn_shutdown(sl_conn_t *c, const char *reason);
/* Runs on_close and frees a closed connection (cancels its pump). */
void sl_conn_finalize(sl_conn_t *c);

/* ---- server (server.c) and listeners (listener.c) ---------------------- */

typedef struct conn_list {
    sl_conn_t *head, *tail;
} conn_list_t;

struct sl_server {
    sl_loop_t *loop;
    sl_server_config_t cfg;
    sl_conn_cbs_t cbs;
    void *owner;
    sl_listener_t *listeners;
    conn_list_t open; /* ordered by last_active, oldest first */
    conn_list_t closing;
    size_t nconns; /* length of `open` */
    uint64_t next_id;
    sl_timer_t idle_timer;
    sl_server_stats_t stats;

    /* queued.max.request.bytes: rx buffer capacity of every connection,
     * and the connections waiting for some of it to be freed. */
    int64_t rx_mem;
    conn_list_t starved; /* linked through sprev/snext */
    sl_loop_defer_t rx_wake;

    /* Memory freed since the allocator was last asked to return it. */
    size_t released;
    int64_t last_trim;
    sl_timer_t trim_timer;
};

/* Connection bookkeeping called by conn.c. */
void sl_server_conn_opened(sl_server_t *srv, sl_conn_t *c);
void sl_server_conn_touch(sl_server_t *srv, sl_conn_t *c);
void sl_server_conn_closed(sl_server_t *srv, sl_conn_t *c);
void sl_server_conn_gone(sl_server_t *srv, sl_conn_t *c);
/* The rx budget: may c's buffer grow by `extra` bytes? If not, c waits on
 * the starved list until rx memory is freed (then its pump runs). */
bool sl_server_rx_reserve(sl_server_t *srv, sl_conn_t *c, size_t extra);
/* c's rx buffer changed capacity by delta (negative: freed). */
void sl_server_rx_account(sl_server_t *srv, int64_t delta);
/* Takes c off the starved list (close). */
void sl_server_rx_unstarve(sl_server_t *srv, sl_conn_t *c);
/* n bytes of buffers were freed: return memory to the OS now and then. */
void sl_server_note_released(sl_server_t *srv, size_t n);
/* Listener l accepted fd from sa: applies the connection cap, then opens. */
void sl_server_accepted(sl_listener_t *l, int fd, const struct sockaddr *sa, socklen_t salen);
/* Applies TCP_NODELAY and the configured buffer sizes to a connected socket. */
void sl_server_sockopts(const sl_server_t *srv, int fd);

#define LISTENER_MAX_SOCKS 16

/* One bound socket of a listener. */
typedef struct lsock {
    sl_listener_t *l;
    int fd;
    sl_loop_fd_t w;
    char addr[80]; /* "127.0.0.1:9092" */
} lsock_t;

struct sl_listener {
    sl_listener_t *next; /* server's list */
    sl_server_t *srv;
    sl_listener_spec_t spec;
    int port; /* bound port */
    size_t nsocks;
    lsock_t socks[LISTENER_MAX_SOCKS];
    sl_timer_t pause_timer; /* accept back-off after EMFILE and friends */
    const sl_transport_t *tp;
    char secproto[24];
};

void sl_listener_free(sl_listener_t *l);
/* "1.2.3.4:5", "[::1]:5", "unix" -- for logs and sl_conn_peer. */
void sl_listener_format_addr(const struct sockaddr *sa, socklen_t salen, char *buf, size_t n);

#endif
