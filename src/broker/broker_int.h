/*
 * broker_int.h -- private structures of the broker module.
 *
 * Ownership: sl_broker_t owns the event loop, the network server, the log
 * manager (one log dir), the topic store (admin) and the partition table
 * (btopics: topic name -> sl_btopic_t -> sl_bpart_t, each wrapping one
 * sl_plog_t). Every connection owns one sl_req_t, reused request after
 * request: the network layer delivers one frame at a time per connection
 * (the connection is muted until the response is queued), which is also what
 * keeps responses in request order.
 *
 * A request either completes inside its handler or parks: Produce with
 * acks=all waits for the group-commit fsync of each partition it wrote
 * (intrusive wait lists on the partition, completed by the durable
 * callback), Fetch waits for MinBytes or MaxWaitMs in the fetch purgatory
 * (purgatory.c: keyed by partition, checked from the loop after an append,
 * never inline in the appending handler).
 */
#ifndef SL_BROKER_BROKER_INT_H
#define SL_BROKER_BROKER_INT_H

#include "admin/admin.h"
#include "base/arena.h"
#include "base/list.h"
#include "base/map.h"
#include "cluster/cluster.h"
#include "broker/pid_alloc.h"
#include "group/group.h"
#include "log/log.h"
#include "net/net.h"
#include "proto/gen/kmsgs.h"
#include "proto/kcodec.h"
#include "proto/kerr.h"
#include "proto/kheader.h"
#include "proto/validate.h"

typedef struct sl_broker sl_broker_t;
typedef struct sl_cluster_mode sl_cluster_mode_t;
typedef struct sl_req sl_req_t;
typedef struct sl_bpart sl_bpart_t;
typedef struct sl_btopic sl_btopic_t;

/* ---- deferred operations (purgatory.c) ------------------------------------ */

/*
 * Kafka's DelayedOperationPurgatory, keyed by partition: a request that
 * cannot complete yet (a long-poll Fetch, an acks=all Produce, a
 * coordinator write; next replication waits) becomes an sl_delayed_t watching the keys (sl_dkey_t,
 * one per partition) whose changes may let it complete, with a deadline.
 * Whoever changes a partition calls sl_purgatory_check(key): the check is
 * queued and runs from the loop after the current callback returns, never
 * inline inside another connection's handler; it asks each watcher's
 * try_complete and completes those that say yes. The deadline completes an
 * operation as expired. Completing unwatches every key first, so
 * on_complete may free the operation.
 */
typedef struct sl_delayed sl_delayed_t;
typedef struct sl_purgatory sl_purgatory_t;

/* True when the operation can complete now. */
typedef bool (*sl_delayed_try_fn)(sl_delayed_t *op);
/* Completes it (expired: its deadline passed first). */
typedef void (*sl_delayed_done_fn)(sl_delayed_t *op, bool expired);

typedef struct sl_dwatch {
    sl_dlist_t link; /* in sl_dkey_t.watches */
    sl_delayed_t *op;
} sl_dwatch_t;

/* A watched thing (one per partition, embedded in sl_bpart_t). */
typedef struct sl_dkey {
    sl_dlist_t watches; /* sl_dwatch_t */
    sl_dlist_t queued;  /* in sl_purgatory_t.keys while a check is pending */
} sl_dkey_t;

struct sl_delayed {
    sl_purgatory_t *pg;
    sl_delayed_try_fn try_complete;
    sl_delayed_done_fn on_complete;
    sl_dwatch_t *watches; /* caller-owned storage, n_watches of them */
    int32_t n_watches;
    sl_timer_t timer;
    sl_dlist_t ready; /* in sl_purgatory_t.ready once forced */
    bool watching;
};

struct sl_purgatory {
    sl_loop_t *loop;
    sl_dlist_t keys;  /* sl_dkey_t with a queued check */
    sl_dlist_t ready; /* sl_delayed_t to complete regardless (key dropped) */
    sl_loop_defer_t run;
};

void sl_purgatory_init(sl_purgatory_t *pg, sl_loop_t *loop);
/* Stops pending checks; every operation must have completed or been
 * cancelled. */
void sl_purgatory_deinit(sl_purgatory_t *pg);
void sl_dkey_init(sl_dkey_t *k);
/* The key goes away (topic deleted): every operation watching it completes
 * (not expired) on the next loop turn, as for a check that said yes. */
void sl_purgatory_drop_key(sl_purgatory_t *pg, sl_dkey_t *k);

void sl_delayed_init(sl_delayed_t *op, sl_delayed_try_fn try_complete,
                     sl_delayed_done_fn on_complete);
/* Watches keys[0..n) (watches: n slots the caller keeps until completion)
 * and arms the deadline. A NULL key is skipped. */
void sl_purgatory_watch(sl_purgatory_t *pg, sl_delayed_t *op, sl_dkey_t *const *keys, int32_t n,
                        sl_dwatch_t *watches, int64_t timeout_ms);
/* Queues a check of key's watchers (cheap; coalesced until it runs). */
void sl_purgatory_check(sl_purgatory_t *pg, sl_dkey_t *k);
/* Forgets a watching operation without completing it (its request went). */
void sl_delayed_cancel(sl_delayed_t *op);

/* ---- partitions --------------------------------------------------------- */

/*
 * One partition as the broker holds it: its replica-set state (cluster/,
 * the one place handlers read leader, epochs, replicas and ISR from), its
 * log when hosted here (the high watermark and log end are the log's), and
 * the requests waiting on it.
 */
struct sl_bpart {
    sl_btopic_t *topic;
    int32_t index;
    sl_plog_t *pl;
    sl_pstate_t st;
    sl_dkey_t fetch_key;       /* long-poll fetches reading here (b->fetch_purgatory) */
    sl_dkey_t produce_key;     /* acks=all produces awaiting fsync (b->produce_purgatory) */
    uint64_t flush_errors;     /* failed flushes so far: their waiters answer STORAGE_ERROR */
    int32_t gpersists_pending; /* __consumer_offsets: coordinator writes awaiting fsync */
    int64_t since_compact;     /* __consumer_offsets: bytes appended since the last snapshot */
    int64_t compact_base;      /* offset of a snapshot awaiting fsync, -1 if none */
};

struct sl_btopic {
    char *name;
    uint8_t id[16];
    int32_t n_parts;
    sl_bpart_t **parts;
};

/* ---- the metadata interface (meta.c, meta_file.c) ------------------------ */

/*
 * Every metadata change goes through one backend: today the file store of a
 * single node (meta_file.c over admin's topic store), a ZooKeeper backend in
 * a cluster. An operation completes through its done callback, exactly once:
 * the file backend calls it before returning, a ZooKeeper backend when its
 * write is acknowledged, so callers always wait through the same path. The
 * backend copies whatever of the op it keeps past the call (the op's
 * strings are views into a request's frame). Partition leadership and
 * replica sets arrive separately as deltas (sl_meta_apply).
 */
typedef struct sl_meta_result {
    int rc;             /* SL_OK or a status (admin's SL_EINVALID_* included) */
    sl_errbuf_t eb;     /* the message for ErrorMessage, empty if none */
    uint8_t id[16];     /* create: the new topic's id */
    int32_t partitions; /* create: the partition count */
    int16_t replication_factor;
} sl_meta_result_t;

typedef void (*sl_meta_done_fn)(void *cookie, const sl_meta_result_t *res);

typedef struct sl_meta_create {
    sl_str_t name;
    int32_t partitions;         /* -1: num.partitions */
    int32_t replication_factor; /* -1: default.replication.factor */
    const sl_cfg_alter_t *configs;
    size_t n_configs;
    bool validate_only;
} sl_meta_create_t;

typedef struct sl_meta_backend {
    const char *name;
    void (*create_topic)(void *ctx, const sl_meta_create_t *op, sl_meta_done_fn done, void *cookie);
    void (*delete_topic)(void *ctx, sl_str_t name, sl_meta_done_fn done, void *cookie);
    void (*add_partitions)(void *ctx, sl_str_t name, int32_t count, bool validate_only,
                           sl_meta_done_fn done, void *cookie);
} sl_meta_backend_t;

/* The single-node backend; ctx is the broker. */
extern const sl_meta_backend_t sl_meta_file_backend;

/* At most this many listeners (the coordinators, a replica fetcher). */
#define SL_META_MAX_LISTENERS 8

typedef struct sl_meta_listener {
    sl_pstate_listener_fn fn;
    void *ctx;
} sl_meta_listener_t;

/* Installs the file backend (broker start-up). */
void sl_meta_init(sl_broker_t *b);
/* Adds a listener of applied deltas; false if the table is full. */
bool sl_meta_listen(sl_broker_t *b, sl_pstate_listener_fn fn, void *ctx);
/*
 * A backend reports a partition's new state: applied to the partition's
 * sl_pstate_t (a stale delta is dropped), the log's leader epoch follows
 * when this broker becomes (or stays) leader at a new epoch, and listeners
 * hear what changed. SL_ENOENT for a partition this broker does not have.
 */
SL_MUST_CHECK int sl_meta_apply(sl_broker_t *b, const sl_pdelta_t *d);

/*
 * A request waiting for n metadata operations: on_done(req, i, res) fills
 * the response slot of op i (only while the request is alive); once every
 * op completed, a parked request is finished. Requests whose ops all
 * completed inside the handler answer at once (SL_OK from
 * sl_meta_wait_end). Past timeout_ms, the remaining slots get
 * on_timeout(req, i) and the request is answered; late completions are
 * dropped.
 */
typedef struct sl_meta_wait sl_meta_wait_t;
typedef void (*sl_meta_fill_fn)(sl_req_t *req, int32_t i, const sl_meta_result_t *res);
typedef void (*sl_meta_timeout_fn)(sl_req_t *req, int32_t i);

sl_meta_wait_t *sl_meta_wait_begin(sl_req_t *req, int32_t n, sl_meta_fill_fn on_done,
                                   sl_meta_timeout_fn on_timeout);
/* The done callback and cookie to pass to the backend for op i. */
void sl_meta_wait_op(sl_meta_wait_t *w, int32_t i, sl_meta_done_fn *done, void **cookie);
/* No more ops: SL_OK (answered already, w freed) or SL_REQ_PARKED. */
int sl_meta_wait_end(sl_meta_wait_t *w, int32_t timeout_ms);

/* ---- requests ----------------------------------------------------------- */

typedef int (*sl_handler_fn)(sl_req_t *req);
/* Cancels a parked request whose connection went away. */
typedef void (*sl_cancel_fn)(sl_req_t *req);

/* One row of the broker's API table (apis.c): what we advertise and serve. */
typedef struct sl_api {
    int16_t key;
    int16_t min_ver, max_ver;
    sl_handler_fn handler;
} sl_api_t;

/* Handler results besides SL_OK (response ready in req->resp). */
#define SL_REQ_PARKED   1 /* completes later through sl_req_finish */
#define SL_REQ_NO_REPLY 2 /* acks=0 produce: nothing goes back */
#define SL_REQ_DONE     3 /* the handler queued its response itself */

typedef struct sl_bconn sl_bconn_t;

struct sl_req {
    sl_broker_t *b;
    sl_bconn_t *bc;
    sl_conn_t *c; /* NULL once the connection closed */
    sl_arena_t arena;
    sl_kreq_header_t hdr;
    const sl_api_t *api;
    const sl_api_desc_t *desc;
    uint8_t *frame;
    size_t frame_len;
    void *body; /* decoded request, in the arena */
    void *resp; /* response, in the arena */
    sl_cancel_fn cancel;
    void *park; /* handler-specific parked state */
    sl_timer_t timer;
    bool parked;
    /* Set by a handler that parks without needing its frame any more (an
     * acks=all Produce waiting for fsync): the connection may read on. */
    bool detachable;
    /* Pipelined requests: queued on bc->pipeline until answered in turn. */
    sl_dlist_t link;
    bool in_pipeline;
    bool done; /* answered: the encoded response is in out */
    sl_buf_t out;
};

/*
 * A connection. Usually one request at a time (the network layer mutes the
 * connection after each frame). acks=all Produce requests may pipeline: a
 * parked Produce leaves `cur` for the pipeline, the connection reads on, and
 * responses leave strictly in request order, so one fsync covers the
 * batches of many requests of one producer. Any other request arriving
 * while the pipeline is non-empty is held (the connection stays muted on it)
 * until the pipeline drains.
 */
struct sl_bconn {
    sl_broker_t *b;
    sl_conn_t *c;
    sl_req_t *cur;       /* the request being handled, or parked in place */
    sl_dlist_t pipeline; /* sl_req_t, oldest first */
    int32_t n_pipeline;
    sl_req_t *spare[4]; /* finished requests kept for their arenas */
    int n_spare;
    uint8_t *held; /* frame waiting for the pipeline to drain */
    size_t held_len;
    bool depth_muted; /* pipeline full: the last frame's unmute is pending */
    sl_loop_defer_t resume;
};

/* Encodes req->resp with the header and queues it, then unmutes. */
void sl_req_respond(sl_req_t *req);
/* Completes a parked request (response filled): responds, or just frees the
 * state when the connection is gone. */
void sl_req_finish(sl_req_t *req);
/* Allocates the response struct for the request's API, defaults filled. */
void *sl_req_resp_new(sl_req_t *req);
/* req_utf8.c: replaces every malformed UTF-8 sequence in the decoded
 * request's strings by U+FFFD, as Kafka's decoder reads them; true if any. */
bool sl_req_sanitize_utf8(sl_req_t *req);
bool sl_utf8_valid(const uint8_t *p, size_t n);

/* ---- the broker --------------------------------------------------------- */

struct sl_broker {
    sl_broker_config_t cfg;
    sl_loop_t *loop;
    sl_server_t *srv;
    sl_worker_pool_t *workers;
    sl_log_mgr_t *logs;
    sl_loop_fd_t logs_watch;
    sl_topics_t *topics;
    const sl_meta_backend_t *meta; /* where metadata changes go (meta.c) */
    void *meta_ctx;
    sl_meta_listener_t meta_listeners[SL_META_MAX_LISTENERS];
    int n_meta_listeners;
    sl_purgatory_t fetch_purgatory;   /* long-poll fetches, keyed by partition */
    sl_purgatory_t produce_purgatory; /* acks=all produces, keyed by partition */
    sl_map_t btopics;                 /* name -> sl_btopic_t */
    sl_timer_t tick;
    int32_t node_id;
    char *adv_host;
    int32_t adv_port;
    sl_buf_t scratch;         /* decompression buffer, reused */
    int64_t down_inflight;    /* down-converted Fetch records held, not yet sent (h_fetch.c) */
    int64_t fetch_parked_mem; /* request memory held by parked fetches (h_fetch.c) */
    sl_gcoord_t *gc;          /* consumer groups */
    sl_timer_t gtimer;        /* the coordinator's next deadline */
    sl_dlist_t gpersists;     /* coordinator writes awaiting fsync (in produce_purgatory) */
    int32_t offsets_commit_timeout_ms; /* how long one may wait (offsets.commit.timeout.ms) */
    int64_t fd_limit;                  /* RLIMIT_NOFILE after raising it (fdlimit.c) */
    int64_t fd_warned_ms;              /* last "auto-creation refused" warning */
    sl_pid_alloc_t pids;               /* InitProducerId (h_producer_id.c) */
    int64_t txn_warned_ms;             /* last "transactions not supported" warning */
    sl_cluster_mode_t *cluster;        /* zookeeper.connect set (cluster_mode.c), else NULL */
    bool stopping;
};

/* broker.c: start-up and shutdown, for sl_broker_main and in-process
 * tests. init zeroes b; start reads props (as `sluice serve` does) and
 * leaves a broker listening, ready for sl_loop_run(b->loop); stop frees
 * everything, also after a failed start. */
void sl_broker_init(sl_broker_t *b);
SL_MUST_CHECK int sl_broker_start(sl_broker_t *b, const sl_props_t *props);
void sl_broker_stop(sl_broker_t *b);

/* cluster_mode.c: nothing happens unless zookeeper.connect is set.
 * prepare: ZooKeeper session, persistent paths, /cluster/id against
 * meta.properties (before the topic store opens). start: registration and
 * controller election (after the listeners). stop: closes the session. */
SL_MUST_CHECK int sl_cluster_mode_prepare(sl_broker_t *b);
SL_MUST_CHECK int sl_cluster_mode_start(sl_broker_t *b);
void sl_cluster_mode_stop(sl_broker_t *b);
/* The controller's id (self on a single node; -1 while unknown). */
int32_t sl_cluster_mode_controller(const sl_broker_t *b);
/* The brokers Metadata and DescribeCluster list: the live registrations
 * under /brokers/ids (watched) with an endpoint for this broker's first
 * advertised listener, plus self; just self on a single node. Borrowed
 * (valid until the loop runs again), ids ascending, at most cap;
 * sl_cluster_mode_broker_count is an upper bound for cap. */
size_t sl_cluster_mode_brokers(const sl_broker_t *b, sl_zk_broker_t *out, size_t cap);
size_t sl_cluster_mode_broker_count(const sl_broker_t *b);

/* apis.c */
const sl_api_t *sl_apis_find(int16_t key);
size_t sl_apis_count(void);
const sl_api_t *sl_apis_at(size_t i);

/* partitions.c: the partition table mirrors the topic store. */
SL_MUST_CHECK int sl_bparts_load(sl_broker_t *b);
sl_btopic_t *sl_btopic_find(sl_broker_t *b, sl_str_t name);
sl_bpart_t *sl_bpart_find(sl_broker_t *b, sl_str_t topic, int32_t partition);
/* Whether this broker may serve a client request on bp: NONE, or
 * NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH
 * (KIP-320; current_epoch -1 when the request carries none). */
int16_t sl_bpart_check_leader(const sl_broker_t *b, const sl_bpart_t *bp, int32_t current_epoch);
/* Creates (or grows to) the topic's partitions in the log manager. */
SL_MUST_CHECK int sl_btopic_sync(sl_broker_t *b, const sl_topic_t *t, sl_btopic_t **out);
/* Removes the topic's logs (topic deletion). */
void sl_btopic_drop(sl_broker_t *b, sl_str_t name);
/* Undo of a CreatePartitions: removes partitions >= n and their logs. */
void sl_btopic_truncate(sl_broker_t *b, const char *name, int32_t n);
/* Pushes a topic's effective config into its partition logs. */
void sl_btopic_apply_config(sl_broker_t *b, const sl_topic_t *t);
void sl_bparts_free(sl_broker_t *b);
void sl_log_cfg_from_topic(const sl_topic_config_t *tc, sl_log_cfg_t *lc);
/* Auto-creates a topic when allowed; returns it or NULL (err set). */
sl_btopic_t *sl_btopic_autocreate(sl_broker_t *b, sl_str_t name, int16_t *err);

/* fetch_plan.c: the byte budget of one Fetch response. */
typedef struct sl_fetch_plan {
    int64_t budget; /* min(MaxBytes, fetch.max.bytes); fetch.max.bytes for v0-2 */
    int64_t left;   /* what is left of it (negative after a KIP-74 first batch) */
    bool first;     /* nothing taken yet: the next batch may pass the limits */
} sl_fetch_plan_t;

void sl_fetch_plan_init(sl_fetch_plan_t *p, int16_t version, int32_t max_bytes,
                        int32_t fetch_max_bytes);
/* The limit for the next partition: min(PartitionMaxBytes, left), >= 0. */
int64_t sl_fetch_plan_limit(const sl_fetch_plan_t *p, int32_t partition_max_bytes);
/* A partition's answer took bytes of records. */
void sl_fetch_plan_took(sl_fetch_plan_t *p, int64_t bytes);
/* An append of bytes to bp: counts them for the fetches watching it and
 * queues their check (they complete from the loop, not inside the
 * caller) (h_fetch.c). */
void sl_fetch_on_append(sl_broker_t *b, sl_bpart_t *bp, int64_t bytes);
/* Flush completion for acks=all produces: queues a check of the
 * partition's waiters (h_produce.c). */
void sl_produce_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc);
/* The partition is deleted: its produce waiters answer
 * UNKNOWN_TOPIC_OR_PARTITION, from the loop. */
void sl_produce_on_drop(sl_broker_t *b, sl_bpart_t *bp);

/* records.c: validates one partition's produced records against the
 * topic's rules (proto/validate.h) and fixes maxTimestamp in place if the
 * producer's disagrees with its records. SL_OK or validate.h's statuses. */
SL_MUST_CHECK int sl_records_validate(sl_broker_t *b, const sl_topic_config_t *tc, uint8_t *p,
                                      size_t len, sl_validate_result_t *res);
/* compression.type (recompress.c): when the topic's codec is not
 * `producer` and differs from the batch's, out gets the batch rebuilt with
 * it (and the codec's level); out stays empty when the batch is kept. */
SL_MUST_CHECK int sl_records_recompress(sl_broker_t *b, const sl_topic_config_t *tc,
                                        const uint8_t *p, size_t len, sl_buf_t *out);
/* compression.<codec>.level of the topic's codec, or the codec's default. */
int sl_topic_codec_level(const sl_topic_config_t *tc);
/* Record-exact ListOffsets by timestamp; SL_ENOENT if no record qualifies. */
SL_MUST_CHECK int sl_offset_for_time(sl_broker_t *b, sl_plog_t *pl, int64_t ts, int64_t *offset,
                                     int64_t *found_ts);

/* groups.c: the group coordinator's glue. */
typedef struct sl_gticket {
    sl_req_t *req; /* NULL once the connection went away */
} sl_gticket_t;

SL_MUST_CHECK int sl_groups_start(sl_broker_t *b);
void sl_groups_stop(sl_broker_t *b);
void sl_groups_rearm(sl_broker_t *b);
void sl_groups_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc);
/* Parks req on the coordinator: the ticket is the cookie. */
sl_gticket_t *sl_gticket_new(sl_req_t *req);
/* Frees the ticket of a request the coordinator answered at once. */
void sl_gticket_unused(sl_req_t *req);
/* h_group.c: fill responses from coordinator answers (copies into the arena). */
void sl_group_join_fill(sl_req_t *req, const sl_gjoin_resp_t *r);
void sl_group_sync_fill(sl_req_t *req, const sl_gsync_resp_t *r);
void sl_group_commit_fill(sl_req_t *req, const sl_gcommit_resp_t *r);

/* internal_topics.c: __consumer_offsets and __transaction_state are the
 * broker's. refuse() sets *code to INVALID_TOPIC_EXCEPTION and returns true
 * for an internal topic; message() is the sentence for an ErrorMessage. */
bool sl_internal_topic_is(sl_str_t topic);
bool sl_internal_topic_refuse(sl_str_t topic, int16_t *code);
sl_str_t sl_internal_topic_message(sl_req_t *req, sl_str_t topic, const char *what);

/* fdlimit.c: raise() lifts the soft RLIMIT_NOFILE to the hard one and
 * returns it; allows() says whether n more partitions fit in half of it. */
int64_t sl_fdlimit_raise(void);
bool sl_fdlimit_allows(const sl_broker_t *b, int64_t new_partitions);
void sl_fdlimit_report(const sl_broker_t *b);
/* Logs (at most once a minute) that auto-creating name was refused. */
void sl_fdlimit_refused(sl_broker_t *b, sl_str_t name);

/* Maps an internal status to a Kafka error code (errors.c). */
int16_t sl_kerr_from_status(int rc);
/* The error for a topic that is not there: INVALID_TOPIC_EXCEPTION when the
 * name could not be a topic (non-UTF-8 bytes, read as U+FFFD, or any other
 * illegal name), else UNKNOWN_TOPIC_OR_PARTITION (errors.c). */
int16_t sl_kerr_unknown_topic(sl_str_t name);

/* Handlers (h_*.c). */
int sl_h_ApiVersions(sl_req_t *req);
int sl_h_SaslHandshake(sl_req_t *req);
int sl_h_SaslAuthenticate(sl_req_t *req);
int sl_h_Metadata(sl_req_t *req);
int sl_h_Produce(sl_req_t *req);
int sl_h_Fetch(sl_req_t *req);
int sl_h_ListOffsets(sl_req_t *req);
int sl_h_FindCoordinator(sl_req_t *req);
int sl_h_CreateTopics(sl_req_t *req);
int sl_h_DeleteTopics(sl_req_t *req);
int sl_h_CreatePartitions(sl_req_t *req);
int sl_h_DescribeConfigs(sl_req_t *req);
int sl_h_AlterConfigs(sl_req_t *req);
int sl_h_IncrementalAlterConfigs(sl_req_t *req);
int sl_h_DeleteRecords(sl_req_t *req);
int sl_h_OffsetForLeaderEpoch(sl_req_t *req);
int sl_h_DescribeCluster(sl_req_t *req);
int sl_h_InitProducerId(sl_req_t *req);
int sl_h_JoinGroup(sl_req_t *req);
int sl_h_SyncGroup(sl_req_t *req);
int sl_h_Heartbeat(sl_req_t *req);
int sl_h_LeaveGroup(sl_req_t *req);
int sl_h_OffsetCommit(sl_req_t *req);
int sl_h_OffsetFetch(sl_req_t *req);
int sl_h_OffsetDelete(sl_req_t *req);
int sl_h_DescribeGroups(sl_req_t *req);
int sl_h_ListGroups(sl_req_t *req);
int sl_h_DeleteGroups(sl_req_t *req);

/* The ApiVersions answer for an unsupported ApiVersions version (KIP-511). */
void sl_apiversions_fallback(sl_req_t *req);

#define SL_KNOINIT(p) ((void)(p))

/* Allocates n default-initialised elements of a generated array member. */
#define SL_KARR(req, field, n, init_fn)                                                            \
    do {                                                                                           \
        int32_t sl_n_ = (n);                                                                       \
        (field).len = sl_n_;                                                                       \
        (field).items = sl_arena_array(&(req)->arena, (size_t)(sl_n_ > 0 ? sl_n_ : 0),             \
                                       sizeof(*(field).items));                                    \
        for (int32_t sl_i_ = 0; sl_i_ < sl_n_; sl_i_++)                                            \
            init_fn(&(field).items[sl_i_]);                                                        \
    } while (0)

#endif
