/*
 * outconn.h -- outbound connections: the broker dialling another broker
 * (controller channel, follower fetchers), Kafka's NetworkClient in small.
 *
 *   sl_net_connect(loop, "127.0.0.1", 9092, &opts, &cbs, arg, &oc);
 *   on_ready(oc)        -> sl_outconn_send(oc, corr, &req, on_response, rarg)
 *   on_response(oc, SL_OK, resp, len, rarg)   resp = the response payload
 *                       (size prefix stripped, starting with the correlation
 *                       id), valid only during the call.
 *
 * Connecting never blocks the loop: a numeric address is used directly,
 * "localhost" means 127.0.0.1, then ::1; other names are resolved with
 * getaddrinfo on opts.resolver (a worker pool), and refused without one.
 * connect(2) is non-blocking with socket.connection.setup.timeout.ms. A
 * failed attempt or a lost connection is retried after reconnect.backoff.ms,
 * doubling per consecutive failure up to reconnect.backoff.max.ms, with
 * +-20% jitter (Kafka's formula); a connect that succeeds resets it. Each
 * attempt takes the next resolved address.
 *
 * Requests are size-prefixed frames; the caller puts a correlation id in
 * them (sl_outconn_next_correlation) and says it to sl_outconn_send. The
 * first 4 bytes of each response frame are matched against the requests in
 * flight, in any order. At most max_in_flight requests are outstanding; past
 * that (and while not connected) sl_outconn_send says SL_EAGAIN and on_ready
 * runs when there is room again. A request unanswered after
 * request.timeout.ms fails with SL_ETIMEDOUT and, as in Kafka, the
 * connection is then closed (a late answer could not be told from the next
 * one); every request still in flight when a connection ends fails with
 * SL_NET_EDISCONNECTED. Each response callback runs exactly once. A
 * response with an unknown correlation id or shorter than 4 bytes closes
 * the connection.
 *
 * Every callback runs from the loop, never inside the sl_outconn_* call
 * that caused it, except that sl_outconn_free fails what is in flight from
 * inside itself. Callbacks may send; they must not free oc.
 */
#ifndef SL_NET_OUTCONN_H
#define SL_NET_OUTCONN_H

#include "base/buf.h"
#include "base/common.h"
#include "net/loop.h"
#include "net/worker.h"

typedef struct sl_outconn sl_outconn_t;
typedef struct sl_conn sl_conn_t;
typedef struct sl_transport sl_transport_t;

/* Statuses besides SL_OK, SL_ETIMEDOUT, SL_ENOENT (name does not resolve)
 * and SL_EIO (any other connect error). */
#define SL_NET_EREFUSED      (-101) /* connect(2): ECONNREFUSED */
#define SL_NET_EDISCONNECTED (-102) /* the connection ended with the request in flight */

typedef struct sl_outconn_opts {
    int64_t reconnect_backoff_ms;     /* reconnect.backoff.ms (default 50) */
    int64_t reconnect_backoff_max_ms; /* reconnect.backoff.max.ms (default 1000) */
    int64_t connect_timeout_ms;       /* socket.connection.setup.timeout.ms (default 10000) */
    int64_t request_timeout_ms;       /* request.timeout.ms (default 30000) */
    int max_in_flight;                /* max.in.flight.requests.per.connection (default 5) */
    int32_t max_response_bytes;       /* larger response frames close it (default 104857600) */
    bool reconnect;                   /* retry after failures (default true) */
    const sl_transport_t *transport;  /* NULL = plaintext; must outlive oc */
    sl_worker_pool_t *resolver;       /* for host names; must outlive oc */
} sl_outconn_opts_t;

void sl_outconn_opts_defaults(sl_outconn_opts_t *opts);

typedef struct sl_outconn_cbs {
    /* An attempt ended: SL_OK (connected) or why it failed. Optional. */
    void (*on_connect)(sl_outconn_t *oc, int status, void *arg);
    /* A connection that had been established ended (its requests were
     * failed first); status SL_NET_EDISCONNECTED or SL_ETIMEDOUT. Optional. */
    void (*on_disconnect)(sl_outconn_t *oc, int status, void *arg);
    /* sl_outconn_ready became true. Optional. */
    void (*on_ready)(sl_outconn_t *oc, void *arg);
} sl_outconn_cbs_t;

typedef void (*sl_outconn_response_fn)(sl_outconn_t *oc, int status, const uint8_t *resp,
                                       size_t len, void *arg);

/* Starts connecting to host:port (the first attempt runs from the loop).
 * opts NULL = defaults. SL_EINVAL: bad port or option, or a host name that
 * is neither numeric nor "localhost" while opts has no resolver. */
SL_MUST_CHECK int sl_net_connect(sl_loop_t *loop, const char *host, int port,
                                 const sl_outconn_opts_t *opts, const sl_outconn_cbs_t *cbs,
                                 void *arg, sl_outconn_t **out);
/* Closes; requests in flight fail with SL_NET_EDISCONNECTED from inside
 * this call. Not from oc's own callbacks. NULL is a no-op. */
void sl_outconn_free(sl_outconn_t *oc);

/* Sends one request: payload = header + body without the size prefix
 * (added here), carrying correlation id corr. Takes payload's memory on
 * SL_OK (payload is left empty). on_response NULL: no response is expected
 * (acks=0), the request is not tracked. SL_EAGAIN: not connected or
 * max_in_flight reached; SL_EEXIST: corr is in flight already; SL_ETOOBIG:
 * over INT32_MAX bytes. */
SL_MUST_CHECK int sl_outconn_send(sl_outconn_t *oc, int32_t corr, sl_buf_t *payload,
                                  sl_outconn_response_fn on_response, void *arg);
int32_t sl_outconn_next_correlation(sl_outconn_t *oc);
bool sl_outconn_connected(const sl_outconn_t *oc);
bool sl_outconn_ready(const sl_outconn_t *oc);
size_t sl_outconn_in_flight(const sl_outconn_t *oc);
/* The live connection (NULL when not connected): peer, transport. */
sl_conn_t *sl_outconn_conn(const sl_outconn_t *oc);
/* Connect attempts started so far. */
uint64_t sl_outconn_attempts(const sl_outconn_t *oc);
/* The loop time at which the next attempt is due; -1 when none is. */
int64_t sl_outconn_next_attempt_at(const sl_outconn_t *oc);
const char *sl_outconn_strerror(int status);

#endif
