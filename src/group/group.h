/*
 * group.h -- the classic consumer-group coordinator, as a socket-free state
 * machine, and the committed-offset store.
 *
 * One sl_gcoord_t owns every group whose __consumer_offsets partition this
 * broker leads. It follows Kafka's classic GroupCoordinator: states Empty,
 * PreparingRebalance, CompletingRebalance, Stable, Dead; generations; member
 * ids "<client.id>-<uuid>" (static members: "<group.instance.id>-<uuid>");
 * delayed JoinGroup responses; SyncGroup waiting for the leader's assignment;
 * session and rebalance timeouts; static membership (KIP-345); offsets with
 * retention.
 *
 * How the owner (the broker) drives it:
 *
 *   - Time is injected. Every operation takes now_ms (wall-clock ms: it also
 *     stamps commit timestamps). The owner arms one timer at
 *     sl_gcoord_next_deadline() and calls sl_gcoord_tick() when it fires (and
 *     may call it any time; it is idempotent for a given now_ms).
 *   - Requests that cannot be answered yet (JoinGroup, SyncGroup,
 *     OffsetCommit) return SL_GCOORD_PENDING; the answer arrives later through
 *     cbs.join_done / sync_done / commit_done with the opaque cookie the owner
 *     passed in. Every PENDING cookie gets exactly one completion (also on
 *     partition unload and sl_gcoord_free, with NOT_COORDINATOR). A completion
 *     never targets the cookie of the call in progress: such an answer is
 *     returned directly (SL_GCOORD_DONE) instead.
 *   - State that Kafka persists becomes records for __consumer_offsets in
 *     Kafka's own key/value formats, handed to cbs.persist together with a
 *     persist id. The owner appends them (one batch, in call order) and then
 *     calls sl_gcoord_persisted(id, error) exactly once per id. Commits and
 *     the leader's SyncGroup are answered only after that acknowledgement.
 *   - On startup (or when it becomes leader of an offsets partition) the owner
 *     calls sl_gcoord_load_begin(p), feeds every record of the partition to
 *     sl_gcoord_replay() in log order, then sl_gcoord_load_end(p). While
 *     loading, requests for groups of p get COORDINATOR_LOAD_IN_PROGRESS;
 *     partitions never loaded give NOT_COORDINATOR.
 *
 * Memory: request structs are borrowed for the call. A direct response lives
 * in the arena the caller passes (everything it points to is copied there).
 * A response handed to a callback lives in the coordinator's scratch memory and
 * is valid only during the callback. Records handed to cbs.persist are valid
 * only during that callback.
 *
 * Threads: one thread (the event loop) owns a coordinator. Callbacks run on
 * it, from inside sl_gcoord_* calls. Callbacks must not call back into the
 * coordinator, except sl_gcoord_persisted, which is then deferred to the end
 * of the outer call.
 */
#ifndef SL_GROUP_GROUP_H
#define SL_GROUP_GROUP_H

#include "base/arena.h"
#include "base/common.h"
#include "base/str.h"

/* ---- Kafka error codes used here (Kafka's numbers; proto/kerr.def will
 * supersede these names) ---- */

#define SL_GKERR_UNKNOWN_SERVER_ERROR         (-1)
#define SL_GKERR_NONE                         0
#define SL_GKERR_UNKNOWN_TOPIC_OR_PARTITION   3
#define SL_GKERR_OFFSET_METADATA_TOO_LARGE    12
#define SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS 14
#define SL_GKERR_COORDINATOR_NOT_AVAILABLE    15
#define SL_GKERR_NOT_COORDINATOR              16
#define SL_GKERR_ILLEGAL_GENERATION           22
#define SL_GKERR_INCONSISTENT_GROUP_PROTOCOL  23
#define SL_GKERR_INVALID_GROUP_ID             24
#define SL_GKERR_UNKNOWN_MEMBER_ID            25
#define SL_GKERR_INVALID_SESSION_TIMEOUT      26
#define SL_GKERR_REBALANCE_IN_PROGRESS        27
#define SL_GKERR_INVALID_COMMIT_OFFSET_SIZE   28
#define SL_GKERR_NON_EMPTY_GROUP              68
#define SL_GKERR_GROUP_ID_NOT_FOUND           69
#define SL_GKERR_MEMBER_ID_REQUIRED           79
#define SL_GKERR_GROUP_MAX_SIZE_REACHED       81
#define SL_GKERR_FENCED_INSTANCE_ID           82
#define SL_GKERR_GROUP_SUBSCRIBED_TO_TOPIC    86
#define SL_GKERR_UNSTABLE_OFFSET_COMMIT       88

/* ---- configuration (Kafka's broker settings) ---- */

typedef struct sl_gcoord_config {
    int32_t num_partitions;              /* offsets.topic.num.partitions (50) */
    int32_t initial_rebalance_delay_ms;  /* group.initial.rebalance.delay.ms (3000) */
    int32_t min_session_timeout_ms;      /* group.min.session.timeout.ms (6000) */
    int32_t max_session_timeout_ms;      /* group.max.session.timeout.ms (1800000) */
    int32_t max_size;                    /* group.max.size (INT32_MAX) */
    int64_t offsets_retention_ms;        /* offsets.retention.minutes (7 days) in ms */
    int64_t retention_check_interval_ms; /* offsets.retention.check.interval.ms (600000) */
    int32_t offset_metadata_max_bytes;   /* offset.metadata.max.bytes (4096) */
    int32_t new_member_join_timeout_ms;  /* Kafka's fixed 5 min for new members' joins */
    uint64_t seed; /* member-id UUIDs; 0 = from the OS (tests pass a fixed one) */
} sl_gcoord_config_t;

void sl_gcoord_config_default(sl_gcoord_config_t *cfg);

/* ---- records for __consumer_offsets ---- */

typedef struct sl_grecord {
    sl_bytes_t key;   /* OffsetCommitKey v1 or GroupMetadataKey v2 */
    sl_bytes_t value; /* OffsetCommitValue v3 (v1 with an expire timestamp) or
                         GroupMetadataValue v3; null (len -1) = tombstone */
    int64_t timestamp_ms;
} sl_grecord_t;

/* ---- JoinGroup ---- */

typedef struct sl_gproto {
    sl_str_t name;       /* "range", "roundrobin", "cooperative-sticky", ... */
    sl_bytes_t metadata; /* opaque; for protocol type "consumer" a subscription */
} sl_gproto_t;

typedef struct sl_gjoin_req {
    int16_t api_version; /* MEMBER_ID_REQUIRED from v4, SkipAssignment from v9 */
    sl_str_t group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v0 has none: pass -1, the session timeout is used */
    sl_str_t member_id;           /* "" = new member */
    sl_str_t group_instance_id;   /* null = dynamic member (v5+) */
    sl_str_t protocol_type;
    const sl_gproto_t *protocols;
    int32_t n_protocols;
    sl_str_t client_id; /* from the request header */
    sl_str_t client_host;
} sl_gjoin_req_t;

typedef struct sl_gjoin_member {
    sl_str_t member_id;
    sl_str_t group_instance_id;
    sl_bytes_t metadata;
} sl_gjoin_member_t;

typedef struct sl_gjoin_resp {
    int32_t throttle_time_ms; /* always 0: quotas are the broker's */
    int16_t error_code;
    int32_t generation_id;
    sl_str_t protocol_type; /* null when unknown */
    sl_str_t protocol_name; /* null when none; "" instead for versions < 7 */
    sl_str_t leader;
    bool skip_assignment;
    sl_str_t member_id;
    sl_gjoin_member_t *members; /* only for the leader */
    int32_t n_members;
} sl_gjoin_resp_t;

/* ---- SyncGroup ---- */

typedef struct sl_gassign {
    sl_str_t member_id;
    sl_bytes_t assignment;
} sl_gassign_t;

typedef struct sl_gsync_req {
    int16_t api_version;
    sl_str_t group_id;
    int32_t generation_id;
    sl_str_t member_id;
    sl_str_t group_instance_id; /* v3+ */
    sl_str_t protocol_type;     /* v5+; null = not checked */
    sl_str_t protocol_name;     /* v5+; null = not checked */
    const sl_gassign_t *assignments;
    int32_t n_assignments;
} sl_gsync_req_t;

typedef struct sl_gsync_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    sl_str_t protocol_type;
    sl_str_t protocol_name;
    sl_bytes_t assignment; /* empty (not null) on errors */
} sl_gsync_resp_t;

/* ---- Heartbeat ---- */

typedef struct sl_gheartbeat_req {
    int16_t api_version;
    sl_str_t group_id;
    int32_t generation_id;
    sl_str_t member_id;
    sl_str_t group_instance_id;
} sl_gheartbeat_req_t;

/* ---- LeaveGroup ---- */

typedef struct sl_gleave_member {
    sl_str_t member_id;         /* "" with an instance id = remove by instance id */
    sl_str_t group_instance_id; /* null for v0-2 */
} sl_gleave_member_t;

typedef struct sl_gleave_req {
    int16_t api_version; /* v0-2: pass one member, the request's MemberId */
    sl_str_t group_id;
    const sl_gleave_member_t *members;
    int32_t n_members;
} sl_gleave_req_t;

typedef struct sl_gleave_result {
    sl_str_t member_id;
    sl_str_t group_instance_id;
    int16_t error_code;
} sl_gleave_result_t;

typedef struct sl_gleave_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* for v0-2 already folded: first member error if none */
    sl_gleave_result_t *members;
    int32_t n_members;
} sl_gleave_resp_t;

/* ---- OffsetCommit / OffsetFetch / OffsetDelete ---- */

typedef struct sl_gtp {
    sl_str_t topic;
    int32_t partition;
} sl_gtp_t;

typedef struct sl_gcommit_part {
    sl_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;     /* -1 when absent (< v6) */
    sl_str_t metadata;        /* null is stored as "" */
    int64_t commit_timestamp; /* v1 only; -1 = now */
    int16_t error_code;       /* set by the handler (e.g. UNKNOWN_TOPIC_OR_PARTITION)
                                 to skip this partition and report that error */
} sl_gcommit_part_t;

typedef struct sl_gcommit_req {
    int16_t api_version;
    sl_str_t group_id;
    int32_t generation_id; /* -1 for v0 / simple consumers */
    sl_str_t member_id;    /* "" for v0 / simple consumers */
    sl_str_t group_instance_id;
    int64_t retention_time_ms; /* v2-4; -1 = broker default */
    const sl_gcommit_part_t *parts;
    int32_t n_parts;
} sl_gcommit_req_t;

typedef struct sl_gpart_result {
    sl_str_t topic;
    int32_t partition;
    int16_t error_code;
} sl_gpart_result_t;

typedef struct sl_gcommit_resp {
    int32_t throttle_time_ms;
    sl_gpart_result_t *parts; /* same order as the request */
    int32_t n_parts;
} sl_gcommit_resp_t;

typedef struct sl_gfetch_result {
    sl_str_t topic;
    int32_t partition;
    int64_t offset;       /* -1 when nothing is committed */
    int32_t leader_epoch; /* -1 when unknown */
    sl_str_t metadata;    /* "" when nothing is committed */
    int16_t error_code;
} sl_gfetch_result_t;

typedef struct sl_gfetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* group-level (v2+; for v0-1 copy it into each partition) */
    sl_gfetch_result_t *parts;
    int32_t n_parts;
} sl_gfetch_resp_t;

typedef struct sl_goffset_delete_resp {
    int32_t throttle_time_ms;
    int16_t error_code;       /* when set, parts is empty */
    sl_gpart_result_t *parts; /* same order as the request */
    int32_t n_parts;
} sl_goffset_delete_resp_t;

/* ---- DescribeGroups / ListGroups ---- */

typedef struct sl_gdesc_member {
    sl_str_t member_id;
    sl_str_t group_instance_id;
    sl_str_t client_id;
    sl_str_t client_host;
    sl_bytes_t metadata;   /* only when Stable (Kafka's rule), else empty */
    sl_bytes_t assignment; /* only when Stable, else empty */
} sl_gdesc_member_t;

typedef struct sl_gdesc {
    int16_t error_code;
    sl_str_t group_id;
    sl_str_t state;         /* "Empty", "PreparingRebalance", ... "Dead" */
    sl_str_t protocol_type; /* "" when none */
    sl_str_t protocol_data; /* selected protocol when Stable, else "" */
    sl_gdesc_member_t *members;
    int32_t n_members;
    int32_t authorized_operations; /* INT32_MIN: not computed */
} sl_gdesc_t;

typedef struct sl_glisted {
    sl_str_t group_id;
    sl_str_t protocol_type;
    sl_str_t state;
    sl_str_t type; /* "classic" */
} sl_glisted_t;

typedef struct sl_glist_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    sl_glisted_t *groups; /* sorted by group id */
    int32_t n_groups;
} sl_glist_resp_t;

/* ---- the coordinator ---- */

typedef struct sl_gcoord sl_gcoord_t;

/* Answered now (the response struct is filled) or later through a callback. */
typedef enum sl_gcoord_res {
    SL_GCOORD_DONE = 0,
    SL_GCOORD_PENDING = 1,
} sl_gcoord_res_t;

typedef struct sl_gcoord_cbs {
    void *ctx;
    /* Append recs (all for group_id, all to __consumer_offsets partition
     * `partition`) as one batch, after everything handed over before, then
     * call sl_gcoord_persisted(gc, persist_id, error) once. */
    void (*persist)(void *ctx, int32_t partition, sl_str_t group_id, const sl_grecord_t *recs,
                    int32_t n, uint64_t persist_id);
    void (*join_done)(void *ctx, void *cookie, const sl_gjoin_resp_t *resp);
    void (*sync_done)(void *ctx, void *cookie, const sl_gsync_resp_t *resp);
    void (*commit_done)(void *ctx, void *cookie, const sl_gcommit_resp_t *resp);
} sl_gcoord_cbs_t;

/* A new coordinator owning no partition yet. cfg and cbs are copied. */
sl_gcoord_t *sl_gcoord_new(const sl_gcoord_config_t *cfg, const sl_gcoord_cbs_t *cbs);
/* Completes every parked request with NOT_COORDINATOR, then frees. NULL ok. */
void sl_gcoord_free(sl_gcoord_t *gc);

/* Partition ownership: load_begin marks p loading (requests for its groups
 * get COORDINATOR_LOAD_IN_PROGRESS), replay its records, load_end makes it
 * active and gives loaded members fresh session deadlines. unload drops its
 * groups and completes their parked requests with NOT_COORDINATOR. */
void sl_gcoord_load_begin(sl_gcoord_t *gc, int32_t partition);
void sl_gcoord_load_end(sl_gcoord_t *gc, int32_t partition, int64_t now_ms);
void sl_gcoord_unload(sl_gcoord_t *gc, int32_t partition);

/* Applies one __consumer_offsets record (value null = tombstone). SL_OK,
 * SL_ECORRUPT for bytes that do not parse, SL_EUNSUP for a key version that
 * is not a group record (e.g. transaction-log keys): state is then unchanged. */
SL_MUST_CHECK int sl_gcoord_replay(sl_gcoord_t *gc, sl_bytes_t key, sl_bytes_t value,
                                   int64_t now_ms);

/* Every live record (latest group metadata + committed offsets) of partition
 * p (-1 = all), for rewriting the topic compactly. Records are valid during
 * the callback only. Groups come sorted by id, offsets by topic/partition. */
typedef void (*sl_gcoord_snapshot_fn)(void *ctx, int32_t partition, sl_str_t group_id,
                                      const sl_grecord_t *rec);
void sl_gcoord_snapshot(sl_gcoord_t *gc, int32_t partition, sl_gcoord_snapshot_fn fn, void *ctx);

/* Earliest time tick has work (INT64_MAX when none); fire the timers due. */
int64_t sl_gcoord_next_deadline(const sl_gcoord_t *gc);
void sl_gcoord_tick(sl_gcoord_t *gc, int64_t now_ms);

/* The owner's answer for a persist call: SL_GKERR_NONE when the records are
 * durable, otherwise the error clients should see (NOT_COORDINATOR when the
 * partition moved, COORDINATOR_NOT_AVAILABLE for a failed or timed-out write,
 * INVALID_COMMIT_OFFSET_SIZE when the batch is too large). */
void sl_gcoord_persisted(sl_gcoord_t *gc, uint64_t persist_id, int16_t error_code, int64_t now_ms);

/* Group membership. cookie identifies the parked request (non-NULL). */
sl_gcoord_res_t sl_gcoord_join(sl_gcoord_t *gc, const sl_gjoin_req_t *req, void *cookie,
                               int64_t now_ms, sl_arena_t *a, sl_gjoin_resp_t *resp);
sl_gcoord_res_t sl_gcoord_sync(sl_gcoord_t *gc, const sl_gsync_req_t *req, void *cookie,
                               int64_t now_ms, sl_arena_t *a, sl_gsync_resp_t *resp);
/* Returns the Heartbeat response's error code. */
int16_t sl_gcoord_heartbeat(sl_gcoord_t *gc, const sl_gheartbeat_req_t *req, int64_t now_ms);
void sl_gcoord_leave(sl_gcoord_t *gc, const sl_gleave_req_t *req, int64_t now_ms, sl_arena_t *a,
                     sl_gleave_resp_t *resp);

/* Offsets. */
sl_gcoord_res_t sl_gcoord_commit(sl_gcoord_t *gc, const sl_gcommit_req_t *req, void *cookie,
                                 int64_t now_ms, sl_arena_t *a, sl_gcommit_resp_t *resp);
/* all = true: every committed offset of the group (OffsetFetch with null
 * topics, v2+), sorted by topic and partition; otherwise the listed ones. */
void sl_gcoord_fetch(sl_gcoord_t *gc, sl_str_t group_id, const sl_gtp_t *parts, int32_t n_parts,
                     bool all, sl_arena_t *a, sl_gfetch_resp_t *resp);
void sl_gcoord_offset_delete(sl_gcoord_t *gc, sl_str_t group_id, const sl_gtp_t *parts,
                             int32_t n_parts, int64_t now_ms, sl_arena_t *a,
                             sl_goffset_delete_resp_t *resp);

/* Administration. */
void sl_gcoord_describe(sl_gcoord_t *gc, sl_str_t group_id, sl_arena_t *a, sl_gdesc_t *out);
/* states/types: case-insensitive filters (ListGroups v4/v5); n = 0 = all. */
void sl_gcoord_list(sl_gcoord_t *gc, const sl_str_t *states, int32_t n_states,
                    const sl_str_t *types, int32_t n_types, sl_arena_t *a, sl_glist_resp_t *resp);
/* Returns DeleteGroups' per-group error code. */
int16_t sl_gcoord_delete_group(sl_gcoord_t *gc, sl_str_t group_id, int64_t now_ms);

/* ---- helpers the broker needs too ---- */

/* Java's String.hashCode over UTF-16 code units (s is UTF-8). */
int32_t sl_gcoord_java_hash(sl_str_t s);
/* __consumer_offsets partition of a group: Utils.abs(hashCode) % n, where
 * Utils.abs(x) = x & 0x7fffffff. */
int32_t sl_gcoord_partition_for(sl_str_t group_id, int32_t num_partitions);

/* Topics of a ConsumerProtocolSubscription (any version): calls fn per topic.
 * SL_OK or SL_EPROTO. */
SL_MUST_CHECK int sl_gcoord_subscription_topics(sl_bytes_t metadata,
                                                void (*fn)(void *ctx, sl_str_t topic), void *ctx);

#endif
