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
 * acks=all waits for the group-commit fsync of each partition it wrote,
 * Fetch waits for MinBytes or MaxWaitMs. Parked requests hang on intrusive
 * wait lists of the partitions they watch and are completed by the event
 * that satisfies them (durable callback, append, timer).
 */
#ifndef SL_BROKER_BROKER_INT_H
#define SL_BROKER_BROKER_INT_H

#include "admin/admin.h"
#include "base/arena.h"
#include "base/list.h"
#include "base/map.h"
#include "group/group.h"
#include "log/log.h"
#include "net/net.h"
#include "proto/gen/kmsgs.h"
#include "proto/kcodec.h"
#include "proto/kerr.h"
#include "proto/kheader.h"
#include "proto/validate.h"

typedef struct sl_broker sl_broker_t;
typedef struct sl_req sl_req_t;
typedef struct sl_bpart sl_bpart_t;
typedef struct sl_btopic sl_btopic_t;

/* ---- partitions --------------------------------------------------------- */

struct sl_bpart {
    sl_btopic_t *topic;
    int32_t index;
    sl_plog_t *pl;
    sl_dlist_t fetch_waiters;   /* sl_fetch_watch_t: parked fetches reading here */
    sl_dlist_t produce_waiters; /* sl_produce_wait_t: acks=all produces awaiting fsync */
    int64_t since_compact;      /* __consumer_offsets: bytes appended since the last snapshot */
    int64_t compact_base;       /* offset of a snapshot awaiting fsync, -1 if none */
};

struct sl_btopic {
    char *name;
    uint8_t id[16];
    int32_t n_parts;
    sl_bpart_t **parts;
};

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

/* ---- the broker --------------------------------------------------------- */

struct sl_broker {
    sl_broker_config_t cfg;
    sl_loop_t *loop;
    sl_server_t *srv;
    sl_worker_pool_t *workers;
    sl_log_mgr_t *logs;
    sl_loop_fd_t logs_watch;
    sl_topics_t *topics;
    sl_map_t btopics; /* name -> sl_btopic_t */
    sl_timer_t tick;
    int32_t node_id;
    char *adv_host;
    int32_t adv_port;
    sl_buf_t scratch;     /* decompression buffer, reused */
    sl_gcoord_t *gc;      /* consumer groups */
    sl_timer_t gtimer;    /* the coordinator's next deadline */
    sl_dlist_t gpersists; /* coordinator writes awaiting fsync */
    int64_t fd_limit;     /* RLIMIT_NOFILE after raising it (fdlimit.c) */
    int64_t fd_warned_ms; /* last "auto-creation refused" warning */
    bool stopping;
};

/* apis.c */
const sl_api_t *sl_apis_find(int16_t key);
size_t sl_apis_count(void);
const sl_api_t *sl_apis_at(size_t i);

/* partitions.c: the partition table mirrors the topic store. */
SL_MUST_CHECK int sl_bparts_load(sl_broker_t *b);
sl_btopic_t *sl_btopic_find(sl_broker_t *b, sl_str_t name);
sl_bpart_t *sl_bpart_find(sl_broker_t *b, sl_str_t topic, int32_t partition);
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

/* Wakes parked fetches watching bp after an append (h_fetch.c). */
void sl_fetch_on_append(sl_broker_t *b, sl_bpart_t *bp, int64_t bytes);
/* Flush completion for acks=all produces (h_produce.c). */
void sl_produce_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc);

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
int sl_h_DescribeCluster(sl_req_t *req);
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
