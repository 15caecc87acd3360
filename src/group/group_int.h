/*
 * group_int.h -- private to src/group: the coordinator's data structures and
 * the functions its files share. Nothing outside src/group includes this.
 *
 * Ownership: the coordinator owns its groups (map by id); a group owns its
 * members, pending members, offsets and last persisted metadata value; every
 * sl_str_t / sl_bytes_t stored in them is a heap copy owned by the struct that
 * holds it (null views own nothing). Parked requests are not stored as
 * objects: a member awaiting JoinGroup/SyncGroup holds the cookie, and a
 * commit or store waiting for the owner's persist acknowledgement is an
 * sl_gpop_t in the coordinator's list.
 */
#ifndef SL_GROUP_GROUP_INT_H
#define SL_GROUP_GROUP_INT_H

#include "base/buf.h"
#include "base/map.h"
#include "group/group.h"

#define SL_GNEVER INT64_MAX

typedef enum sl_gstate {
    SL_GSTATE_EMPTY,
    SL_GSTATE_PREPARING,  /* PreparingRebalance: waiting for members to (re)join */
    SL_GSTATE_COMPLETING, /* CompletingRebalance: waiting for the leader's SyncGroup */
    SL_GSTATE_STABLE,
    SL_GSTATE_DEAD,
} sl_gstate_t;

/* Partition ownership states. */
enum {
    SL_GPART_NONE = 0,
    SL_GPART_LOADING,
    SL_GPART_ACTIVE,
};

/* A timer: fires in tick when at <= now. armed is the call sequence number
 * when it was set, so a timer re-armed for "now" during a tick waits for the
 * next tick instead of looping. */
typedef struct sl_gtimer {
    int64_t at; /* SL_GNEVER = idle */
    uint64_t armed;
} sl_gtimer_t;

typedef struct sl_gmproto {
    sl_str_t name;
    sl_bytes_t metadata;
} sl_gmproto_t;

typedef struct sl_gmember {
    sl_str_t id;
    sl_str_t instance_id; /* null for dynamic members */
    sl_str_t client_id;
    sl_str_t client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    sl_gmproto_t *protocols; /* in the member's order of preference */
    int32_t n_protocols;
    sl_bytes_t assignment;
    void *join_cookie; /* non-NULL = awaiting a JoinGroup response */
    int16_t join_version;
    void *sync_cookie; /* non-NULL = awaiting a SyncGroup response */
    int16_t sync_version;
    bool is_new;       /* joined for the first time, not yet answered */
    bool pending_sync; /* answered JoinGroup, has not sent SyncGroup yet */
    sl_gtimer_t session;
} sl_gmember_t;

/* A member id handed out with MEMBER_ID_REQUIRED that has not joined yet. */
typedef struct sl_gpending {
    sl_str_t id;
    sl_gtimer_t timer;
} sl_gpending_t;

typedef struct sl_goffset {
    sl_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    sl_str_t metadata;
    int64_t commit_ts;
    int64_t expire_ts; /* -1 = none (only old clients' retention_time sets it) */
    uint64_t seq;      /* persist id of the record that set it (0 = replayed) */
} sl_goffset_t;

typedef struct sl_group {
    sl_str_t id;
    uint64_t uid; /* distinguishes a re-created group with the same id */
    int32_t partition;
    sl_gstate_t state;
    int32_t generation;
    sl_str_t protocol_type; /* null = none */
    sl_str_t protocol_name; /* null = none */
    sl_gmember_t *leader;
    int64_t state_ts; /* currentStateTimestamp, -1 = unknown */

    sl_gmember_t **members; /* join order */
    int32_t n_members, cap_members;
    sl_gpending_t *pending;
    int32_t n_pending, cap_pending;

    /* PreparingRebalance: the delayed join. initial = Kafka's
     * InitialDelayedJoin for a group that was Empty. */
    sl_gtimer_t join_timer;
    bool join_initial;
    bool new_member_added;
    int32_t join_delay_ms; /* the current initial delay */
    int32_t initial_remaining_ms;
    /* CompletingRebalance/Stable: members that must send SyncGroup in time. */
    sl_gtimer_t sync_timer;

    /* Subscribed topics of a "consumer" group (from the members' metadata). */
    bool topics_known;
    sl_str_t *topics;
    int32_t n_topics;

    sl_map_t offsets; /* key: topic bytes + 4-byte partition -> sl_goffset_t */
    int32_t n_pending_commits;

    sl_bytes_t last_meta; /* GroupMetadataValue last made durable; null = none */
    uint64_t last_meta_seq;

    size_t heap_idx; /* position in the coordinator's deadline heap */
    int64_t deadline;
    bool dirty; /* timers changed: re-place in the heap when the call ends */
} sl_group_t;

/* Something waiting for sl_gcoord_persisted. */
typedef enum sl_gpop_kind {
    SL_GPOP_PLAIN,  /* nobody waits: only bookkeeping of last_meta */
    SL_GPOP_SYNC,   /* the leader's assignment */
    SL_GPOP_STATIC, /* a static member replaced while Stable */
    SL_GPOP_COMMIT,
} sl_gpop_kind_t;

typedef struct sl_gpop_commit {
    int32_t idx; /* index into results */
    sl_goffset_t o;
    bool cancelled; /* the offset was deleted meanwhile */
} sl_gpop_commit_t;

typedef struct sl_gpop {
    struct sl_gpop *next, *prev;
    uint64_t id;
    sl_gpop_kind_t kind;
    sl_str_t group_id;
    uint64_t group_uid;
    bool has_meta;        /* this write carried a GroupMetadata value/tombstone */
    sl_bytes_t meta;      /* its value (null = tombstone) */
    int32_t generation;   /* SYNC, STATIC */
    sl_gmproto_t *assign; /* SYNC: (member id, assignment) pairs */
    int32_t n_assign;
    /* STATIC: what to restore on failure, and the leader id to answer with. */
    sl_str_t new_id, old_id, leader;
    sl_gmproto_t *old_protocols;
    int32_t n_old_protocols, old_rebalance_ms, old_session_ms;
    /* COMMIT */
    void *cookie;
    sl_gpart_result_t *results; /* owned topic copies */
    int32_t n_results;
    sl_gpop_commit_t *commits;
    int32_t n_commits;
} sl_gpop_t;

struct sl_gcoord {
    sl_gcoord_config_t cfg;
    sl_gcoord_cbs_t cbs;
    sl_map_t groups; /* id -> sl_group_t */
    uint8_t *part_state;

    sl_group_t **heap; /* min-heap of groups by deadline */
    size_t heap_len, heap_cap;
    int64_t next_cleanup;

    uint64_t rng;
    uint64_t next_uid;
    uint64_t next_persist_id;
    uint64_t call_seq;
    sl_gpop_t *pops_head, *pops_tail;

    /* acks that arrived from inside a callback, run at the end of the call */
    struct {
        uint64_t id;
        int16_t err;
        int64_t now;
    } * deferred;
    size_t n_deferred, cap_deferred;
    sl_group_t **dirty;
    size_t n_dirty, cap_dirty;
    int depth;  /* nesting of public calls */
    bool in_cb; /* inside an owner callback */

    /* Capture of a completion for the call in progress. */
    void *cur_cookie;
    sl_arena_t *cur_arena;
    void *cur_resp;
    bool cur_done;

    sl_arena_t scratch;
};

/* ---- gcoord.c: core ---- */

void sl_gcoord_enter(sl_gcoord_t *gc);
void sl_gcoord_leave_call(sl_gcoord_t *gc);
void sl_gcoord_capture(sl_gcoord_t *gc, void *cookie, sl_arena_t *a, void *resp);

/* Validates the group id and partition ownership (Kafka's validateGroupStatus).
 * allow_empty: OffsetCommit/OffsetFetch/Describe/Delete accept "". */
int16_t sl_gcoord_check(sl_gcoord_t *gc, sl_str_t group_id, bool allow_empty);
sl_group_t *sl_gcoord_group_get(sl_gcoord_t *gc, sl_str_t id);
sl_group_t *sl_gcoord_group_create(sl_gcoord_t *gc, sl_str_t id);
/* Removes and frees a group (Dead): parked requests get NOT_COORDINATOR when
 * unloading, pending commits are cancelled. */
void sl_gcoord_group_drop(sl_gcoord_t *gc, sl_group_t *g, int16_t err);
void sl_gcoord_transition(sl_gcoord_t *gc, sl_group_t *g, sl_gstate_t to, int64_t now_ms);
/* Marks g for re-placing in the deadline heap when the outer call ends. */
void sl_gcoord_dirty(sl_gcoord_t *gc, sl_group_t *g);
/* Sets one of g's timers (SL_GNEVER = disarm). */
void sl_gcoord_arm(sl_gcoord_t *gc, sl_group_t *g, sl_gtimer_t *t, int64_t at);
/* Groups sorted by id (of partition p, or all when p < 0); caller frees. */
sl_group_t **sl_gcoord_groups_sorted(sl_gcoord_t *gc, int32_t p, size_t *n);

sl_gmember_t *sl_gcoord_member(const sl_group_t *g, sl_str_t id);
sl_gmember_t *sl_gcoord_static_member(const sl_group_t *g, sl_str_t instance_id);
const char *sl_gcoord_state_name(sl_gstate_t s);

/* Completions: to the callback, or into the current call's response. */
void sl_gcoord_emit_join(sl_gcoord_t *gc, void *cookie, const sl_gjoin_resp_t *resp,
                         int16_t version);
void sl_gcoord_emit_sync(sl_gcoord_t *gc, void *cookie, const sl_gsync_resp_t *resp);
void sl_gcoord_emit_commit(sl_gcoord_t *gc, void *cookie, const sl_gcommit_resp_t *resp);

/* Persisting: records built into a list, handed to cbs.persist. */
typedef struct sl_grecs {
    sl_buf_t buf;
    struct {
        size_t koff, klen, voff;
        int32_t vlen; /* -1 = tombstone */
        int64_t ts;
    } * items;
    int32_t n, cap;
} sl_grecs_t;

void sl_grecs_init(sl_grecs_t *r);
void sl_grecs_deinit(sl_grecs_t *r);
/* Marks the key start; write the key with wr, then call value_begin. */
void sl_grecs_begin(sl_grecs_t *r, int64_t ts);
void sl_grecs_value_begin(sl_grecs_t *r);
void sl_grecs_end(sl_grecs_t *r, bool tombstone);
/* Hands the records over; pop (may be NULL = nobody waits) is queued under
 * the new persist id. Returns the id. */
uint64_t sl_gcoord_persist(sl_gcoord_t *gc, sl_group_t *g, sl_grecs_t *r, sl_gpop_t *pop);
sl_gpop_t *sl_gpop_new(sl_gpop_kind_t kind, const sl_group_t *g);

/* Duplicates and frees of owned views. */
sl_str_t sl_gstr_dup(sl_str_t s);
void sl_gstr_free(sl_str_t *s);
sl_bytes_t sl_gbytes_dup(sl_bytes_t b);
void sl_gbytes_free(sl_bytes_t *b);
sl_str_t sl_gstr_arena(sl_arena_t *a, sl_str_t s);
sl_bytes_t sl_gbytes_arena(sl_arena_t *a, sl_bytes_t b);
void sl_gprotos_free(sl_gmproto_t *p, int32_t n);
sl_gmproto_t *sl_gprotos_dup(const sl_gproto_t *p, int32_t n, int32_t *n_out);

/* ---- gcoord_join.c: membership ---- */

void sl_gcoord_member_free(sl_gmember_t *m);
/* Removes m (freed) and updates the group as a failure/leave would. */
void sl_gcoord_remove_member(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m, int64_t now_ms);
void sl_gcoord_fire_timers(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms, uint64_t tick_seq);
void sl_gcoord_complete_static(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err, int64_t now_ms);
void sl_gcoord_complete_sync_store(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err, int64_t now_ms);
void sl_gcoord_compute_topics(sl_group_t *g);
/* GroupMetadataValue of the group as it is, members' assignments taken from
 * assign (by member id) when given, else from the members. */
void sl_gcoord_meta_value(const sl_group_t *g, const sl_gmproto_t *assign, int32_t n_assign,
                          sl_buf_t *out);
/* Persists the group's metadata (Kafka's storeGroup). */
uint64_t sl_gcoord_store_group(sl_gcoord_t *gc, sl_group_t *g, sl_gpop_t *pop, int64_t now_ms);

/* ---- gcoord_offsets.c ---- */

void sl_goffset_free(sl_goffset_t *o);
void sl_gcoord_offsets_clear(sl_group_t *g);
sl_goffset_t *sl_gcoord_offset_get(const sl_group_t *g, sl_str_t topic, int32_t partition);
/* Stores o (moved in) unless an entry with a newer seq is there. */
void sl_gcoord_offset_put(sl_group_t *g, sl_goffset_t *o);
void sl_gcoord_offset_del(sl_group_t *g, sl_str_t topic, int32_t partition);
void sl_gcoord_complete_commit(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err);
void sl_gcoord_cleanup(sl_gcoord_t *gc, int64_t now_ms);
/* Sorted copy of the group's offsets (caller frees the array only). */
sl_goffset_t **sl_gcoord_offsets_sorted(const sl_group_t *g, int32_t *n);
/* Deletes the listed offsets (or all), committed or still in flight, with
 * tombstones in one batch (plus the group's own when group_tombstone). */
void sl_gcoord_delete_offsets(sl_gcoord_t *gc, sl_group_t *g, const sl_gtp_t *tps, int32_t n_tps,
                              bool all, bool group_tombstone, int64_t now_ms);

/* ---- grecord.c: __consumer_offsets formats ---- */

void sl_grec_offset_key(sl_buf_t *b, sl_str_t group, sl_str_t topic, int32_t partition);
void sl_grec_offset_value(sl_buf_t *b, const sl_goffset_t *o);
void sl_grec_group_key(sl_buf_t *b, sl_str_t group);

typedef struct sl_gmeta_member {
    sl_str_t member_id, instance_id, client_id, client_host;
    int32_t rebalance_timeout_ms, session_timeout_ms;
    sl_bytes_t subscription, assignment;
} sl_gmeta_member_t;

typedef struct sl_gmeta {
    sl_str_t protocol_type;
    int32_t generation;
    sl_str_t protocol;
    sl_str_t leader;
    int64_t state_ts;
    sl_gmeta_member_t *members; /* in the arena */
    int32_t n_members;
} sl_gmeta_t;

/* Writes a GroupMetadataValue v3 (version prefix included). */
void sl_grec_group_value(sl_buf_t *b, const sl_gmeta_t *m);
/* Parsed keys: kind 0 = offset, 1 = group; SL_EUNSUP for other versions. */
typedef struct sl_gkey {
    int kind;
    sl_str_t group, topic;
    int32_t partition;
} sl_gkey_t;
int sl_grec_parse_key(sl_bytes_t key, sl_gkey_t *out);
int sl_grec_parse_offset_value(sl_bytes_t v, sl_goffset_t *out);
int sl_grec_parse_group_value(sl_bytes_t v, sl_arena_t *a, sl_gmeta_t *out);

#endif
