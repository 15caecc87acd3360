/*
 * cluster.h -- the partition-state layer: what one broker knows about each
 * partition's replica set (replicas, ISR, offline replicas, leader, leader
 * epoch, partition epoch), and the deltas a metadata backend delivers to
 * change it. Fed asynchronously by a metadata backend (the single-node file
 * store today, ZooKeeper in a cluster); read by the Metadata, Produce, Fetch
 * and ListOffsets handlers and by the coordinators.
 *
 * The log itself stays with its owner (the broker's sl_bpart_t holds the
 * sl_plog_t); the high watermark and log end are read from the log, never
 * copied here, so they cannot drift.
 *
 * Locality: event-loop thread only.
 */
#ifndef SL_CLUSTER_CLUSTER_H
#define SL_CLUSTER_CLUSTER_H

#include "base/common.h"

/* Statuses of the leader checks (the broker maps them to Kafka codes). */
#define SL_ENOT_LEADER    (-120) /* NOT_LEADER_OR_FOLLOWER (6) */
#define SL_EFENCED_EPOCH  (-121) /* FENCED_LEADER_EPOCH (74): the client's epoch is older */
#define SL_EUNKNOWN_EPOCH (-122) /* UNKNOWN_LEADER_EPOCH (75): the client's epoch is newer */

#define SL_NO_NODE (-1) /* leader id of a partition without a leader */

/* A list of broker ids (replicas, ISR, offline replicas), heap-owned. */
typedef struct sl_nodes {
    int32_t n;
    int32_t *ids;
} sl_nodes_t;

bool sl_nodes_has(const sl_nodes_t *ns, int32_t id);

/*
 * One partition's replica-set state. Kafka's PartitionState as the
 * controller writes it to /brokers/topics/T/partitions/P/state (leader,
 * leader_epoch, isr) plus the assignment (replicas) and the partition epoch
 * that counts every change of any of them (KIP-380/KIP-841's
 * partitionEpoch).
 */
typedef struct sl_pstate {
    int32_t partition;
    sl_nodes_t replicas;
    sl_nodes_t isr;
    sl_nodes_t offline; /* replicas whose log dir is offline */
    int32_t leader_id;  /* SL_NO_NODE when none */
    int32_t leader_epoch;
    int32_t partition_epoch;
} sl_pstate_t;

/* Single node: replicas = isr = [self], leader = self at leader_epoch. */
void sl_pstate_init_local(sl_pstate_t *ps, int32_t partition, int32_t self, int32_t leader_epoch);
void sl_pstate_deinit(sl_pstate_t *ps);

/* What a metadata backend says about one partition: the whole new state
 * (ZooKeeper's state znodes are whole values, not patches). The arrays are
 * borrowed for the call. */
typedef struct sl_pdelta {
    const char *topic;
    int32_t partition;
    int32_t leader_id;
    int32_t leader_epoch;
    int32_t partition_epoch;
    const int32_t *replicas;
    int32_t n_replicas;
    const int32_t *isr;
    int32_t n_isr;
    const int32_t *offline;
    int32_t n_offline;
} sl_pdelta_t;

/* What an applied delta changed, as seen by node `self` (bit flags). */
#define SL_PCHG_BECAME_LEADER   0x01u /* self is the leader now, was not before */
#define SL_PCHG_BECAME_FOLLOWER 0x02u /* self was the leader and is not any more */
#define SL_PCHG_NEW_EPOCH       0x04u /* the leader epoch moved */
#define SL_PCHG_REPLICAS        0x08u /* replicas, ISR or offline replicas changed */

/*
 * Applies a delta. A delta older than the state (lower leader epoch, or the
 * same one with a lower partition epoch) is stale (a late watch) and
 * ignored: SL_EFENCED_EPOCH, nothing changed.
 * Otherwise SL_OK and *changes (may be NULL) has the SL_PCHG_* bits.
 */
SL_MUST_CHECK int sl_pstate_apply(sl_pstate_t *ps, const sl_pdelta_t *d, int32_t self,
                                  unsigned *changes);

bool sl_pstate_is_leader(const sl_pstate_t *ps, int32_t self);

/*
 * The KIP-320 check of a request that names a partition on node self, in
 * Kafka's order: for current_epoch >= 0 (-1: the client did not say)
 * SL_EFENCED_EPOCH if it is older than the leader epoch, SL_EUNKNOWN_EPOCH
 * if newer; then SL_ENOT_LEADER unless self is the leader; else SL_OK.
 */
SL_MUST_CHECK int sl_pstate_check_leader(const sl_pstate_t *ps, int32_t self,
                                         int32_t current_epoch);

/* Someone who wants to hear about applied deltas (the group coordinator's
 * "became leader of __consumer_offsets-N", a replica fetcher). */
typedef void (*sl_pstate_listener_fn)(void *ctx, const char *topic, const sl_pstate_t *ps,
                                      unsigned changes);

/* ======================================================================== */
/* ZooKeeper client (zk.c)                                                  */
/* ======================================================================== */

/*
 * A thin wrapper over the multi-threaded ZooKeeper C client
 * (libzookeeper_mt). The client's own threads run its callbacks; this
 * wrapper only queues what they report (watch events, async completions)
 * and signals an eventfd. The owner registers sl_zk_fd() with its event
 * loop and calls sl_zk_dispatch() when it is readable: every callback given
 * here then runs on that (loop) thread, so no broker state is ever touched
 * off it. Synchronous calls block the caller for one round trip; they are
 * for start-up, before the loop serves anyone.
 *
 * Statuses: SL_OK, SL_ENOENT (no node), SL_EEXIST (node exists),
 * SL_ECONFLICT (version mismatch), SL_ETIMEDOUT (no session within
 * zookeeper.connection.timeout.ms), SL_EIO (anything else; logged).
 * Locality: one thread (the loop's) calls everything here.
 */
typedef struct sl_zk sl_zk_t;

#define SL_ECONFLICT (-123) /* ZooKeeper BADVERSION: a conditional update lost */

#define SL_ZK_EPHEMERAL 1 /* flags of sl_zk_create / sl_zk_acreate */

/* What a watch or the session reports (ZooKeeper's ZOO_*_EVENT types). */
typedef enum sl_zk_event {
    SL_ZK_EV_CREATED = 1,
    SL_ZK_EV_DELETED,
    SL_ZK_EV_CHANGED,
    SL_ZK_EV_CHILD,
    SL_ZK_EV_CONNECTED, /* session (re)established */
    SL_ZK_EV_EXPIRED,   /* the session is gone: ephemerals and watches too */
} sl_zk_event_t;

typedef void (*sl_zk_event_fn)(void *arg, sl_zk_event_t ev, const char *path);
/* Completion of an async call: data/len for gets (len -1 = none), the
 * znode's data version for gets and sets (-1 when unknown). */
typedef void (*sl_zk_done_fn)(void *arg, int rc, const char *data, int len, int32_t version);

/*
 * Connects to `connect` ("host:port[,host:port][/chroot]"), creating the
 * chroot first when it is missing (as Kafka does), and waits up to
 * conn_timeout_ms for the session. events(arg, ...) hears watch and
 * session events. errmsg gets a sentence on failure.
 */
SL_MUST_CHECK int sl_zk_open(const char *connect, int32_t session_timeout_ms,
                             int32_t conn_timeout_ms, sl_zk_event_fn events, void *arg,
                             sl_zk_t **out, char *errmsg, size_t errlen);
/* Closes the session (its ephemerals go at once). NULL is a no-op. */
void sl_zk_close(sl_zk_t *zk);
/* After SL_ZK_EV_EXPIRED: a new session on the same connect string (blocks
 * up to the connection timeout). Completions of the old one are dropped. */
SL_MUST_CHECK int sl_zk_reconnect(sl_zk_t *zk);
/* The eventfd to watch for reading; sl_zk_dispatch runs what is queued. */
int sl_zk_fd(const sl_zk_t *zk);
void sl_zk_dispatch(sl_zk_t *zk);
/* The session id (for messages), 0 without a session. */
int64_t sl_zk_session_id(const sl_zk_t *zk);

/* Blocking calls (start-up). get: data copied into buf (cap bytes, NUL
 * terminated, longer values truncated), *version its data version. */
SL_MUST_CHECK int sl_zk_create(sl_zk_t *zk, const char *path, const char *data, int len, int flags);
SL_MUST_CHECK int sl_zk_get(sl_zk_t *zk, const char *path, char *buf, int cap, int *len,
                            int32_t *version);
/* Creates path and its missing parents, empty and persistent; an existing
 * node is fine. */
SL_MUST_CHECK int sl_zk_ensure_path(sl_zk_t *zk, const char *path);

/* Async calls: done runs exactly once on the loop thread, from
 * sl_zk_dispatch (never inline), unless the session is replaced first. */
void sl_zk_acreate(sl_zk_t *zk, const char *path, const char *data, int len, int flags,
                   sl_zk_done_fn done, void *arg);
/* watch: a one-shot watch (reported through the event callback). */
void sl_zk_aget(sl_zk_t *zk, const char *path, bool watch, sl_zk_done_fn done, void *arg);
void sl_zk_aset(sl_zk_t *zk, const char *path, const char *data, int len, int32_t version,
                sl_zk_done_fn done, void *arg);
/* The children's names, joined by '/' into data (len 0 for none). */
void sl_zk_achildren(sl_zk_t *zk, const char *path, bool watch, sl_zk_done_fn done, void *arg);

/* ======================================================================== */
/* Broker registration and controller election (zkreg.c)                   */
/* ======================================================================== */

/* The persistent paths Kafka creates at start-up (/brokers/ids, ...). */
SL_MUST_CHECK int sl_zkreg_ensure_paths(sl_zk_t *zk, char *errmsg, size_t errlen);
/* Reads /cluster/id, creating it with `candidate` (a fresh 22-char
 * base64 UUID) when it is missing; out gets the cluster's id. */
SL_MUST_CHECK int sl_zkreg_cluster_id(sl_zk_t *zk, const char *candidate, char out[64],
                                      char *errmsg, size_t errlen);

typedef struct sl_zk_endpoint {
    const char *listener; /* listener name, e.g. PLAINTEXT */
    const char *protocol; /* security protocol, e.g. PLAINTEXT */
    const char *host;
    int32_t port;
} sl_zk_endpoint_t;

/* Kafka's version-5 broker registration JSON into out; false if it does
 * not fit. */
bool sl_zkreg_broker_json(const sl_zk_endpoint_t *eps, size_t n, const char *rack,
                          int64_t timestamp_ms, char *out, size_t cap);
/* One registered broker as another broker's /brokers/ids/<id> says.
 * sl_zkreg_parse_broker picks the endpoint of `listener`; false when the
 * registration has none (or does not parse). host is heap-owned. */
typedef struct sl_zk_broker {
    int32_t id;
    char *host;
    int32_t port;
    char *rack; /* NULL when unset */
} sl_zk_broker_t;

bool sl_zkreg_parse_broker(const char *json, const char *listener, sl_zk_broker_t *out);
void sl_zk_broker_deinit(sl_zk_broker_t *zb);

/* Creates the ephemeral /brokers/ids/<id>. SL_EEXIST (with a sentence)
 * when another session holds it. Blocking. */
SL_MUST_CHECK int sl_zkreg_register(sl_zk_t *zk, int32_t broker_id, const char *json, char *errmsg,
                                    size_t errlen);

/*
 * Controller election: try the ephemeral /controller; the winner moves
 * /controller_epoch up by one with a conditional update; the others watch
 * /controller and try again when it goes. sl_zkreg_elect_start begins (and,
 * after a new session, begins again); sl_zkreg_elect_event feeds it the
 * watch events. Loop thread.
 */
typedef struct sl_zk_elect {
    sl_zk_t *zk;
    int32_t self;
    int32_t controller_id; /* -1 when unknown */
    int32_t epoch;         /* the controller epoch this broker won, -1 when not controller */
    bool in_flight;        /* a ZooKeeper call of the election is outstanding */
    bool again;            /* an event came meanwhile: look again when it completes */
} sl_zk_elect_t;

void sl_zkreg_elect_init(sl_zk_elect_t *el, sl_zk_t *zk, int32_t self);
void sl_zkreg_elect_start(sl_zk_elect_t *el);
void sl_zkreg_elect_event(sl_zk_elect_t *el, sl_zk_event_t ev, const char *path);

#endif
