/*
 * test_group.h -- a harness for the group coordinator tests: a fake clock, an
 * owner that records every persisted record (and acknowledges it at once or
 * when told), and "clients" whose parked requests land in per-client slots.
 */
#ifndef SL_TESTS_TEST_GROUP_H
#define SL_TESTS_TEST_GROUP_H

#include "test.h"

#include "base/arena.h"
#include "base/buf.h"
#include "group/group.h"

typedef struct sl_tg_rec {
    uint64_t id;
    int32_t partition;
    sl_bytes_t key, value; /* owned; value null = tombstone */
    int16_t ack;           /* -2 = not acknowledged yet */
} sl_tg_rec_t;

typedef struct sl_tg {
    sl_gcoord_t *gc;
    sl_gcoord_config_t cfg;
    int64_t now;
    bool auto_ack;   /* acknowledge from inside the persist callback */
    int16_t ack_err; /* what auto acks answer */
    sl_tg_rec_t *recs;
    int n_recs, cap_recs;
    uint64_t *unacked;
    int n_unacked, cap_unacked;
    int n_persist_calls;
    sl_arena_t arena;
} sl_tg_t;

enum { SL_TG_JOIN = 1, SL_TG_SYNC, SL_TG_COMMIT };

typedef struct sl_tg_slot {
    int kind;
    bool done;
    int n_done; /* completions received (must stay <= 1 per request) */
    sl_gjoin_resp_t join;
    sl_gsync_resp_t sync;
    sl_gcommit_resp_t commit;
} sl_tg_slot_t;

typedef struct sl_tgc {
    sl_tg_t *tg;
    const char *client_id;
    sl_str_t member_id;
    sl_str_t instance_id;
    int32_t generation;
    int32_t session_ms, rebalance_ms;
    int16_t version;
    sl_gproto_t protos[4];
    int32_t n_protos;
    sl_tg_slot_t join, sync, commit;
} sl_tgc_t;

/* Defaults for tests: no initial delay, 4 offsets partitions, fixed seed. */
void sl_tg_init(sl_tg_t *tg);
/* Creates the coordinator from tg->cfg and loads every partition. */
void sl_tg_start(sl_tg_t *tg);
void sl_tg_deinit(sl_tg_t *tg);
void sl_tg_advance(sl_tg_t *tg, int64_t ms);
void sl_tg_ack_all(sl_tg_t *tg, int16_t err);

/* ConsumerProtocolSubscription v0 for a comma-separated topic list. */
sl_bytes_t sl_tg_subscription(sl_tg_t *tg, const char *topics);

void sl_tgc_init(sl_tgc_t *c, sl_tg_t *tg, const char *client_id, const char *topics);
void sl_tgc_set_protos(sl_tgc_t *c, const char *names, const char *topics);
/* Sends JoinGroup; when answered (now or later) member id and generation
 * are taken from the answer. */
sl_gcoord_res_t sl_tgc_join(sl_tgc_t *c);
/* Leader: assigns "A:<member id>" to every member of its join answer. */
sl_gcoord_res_t sl_tgc_sync(sl_tgc_t *c);
int16_t sl_tgc_heartbeat(sl_tgc_t *c);
int16_t sl_tgc_leave(sl_tgc_t *c);
sl_gcoord_res_t sl_tgc_commit(sl_tgc_t *c, const char *topic, int32_t partition, int64_t offset,
                              const char *metadata);
/* Takes member id / generation from a finished join slot. */
void sl_tgc_absorb(sl_tgc_t *c);
/* Runs join (with the MEMBER_ID_REQUIRED retry), tick, sync for n clients
 * until all are Stable; checks every step. */
void sl_tg_form(sl_tg_t *tg, sl_tgc_t **cs, int n);

int64_t sl_tg_committed(sl_tg_t *tg, const char *group, const char *topic, int32_t partition);
/* Describes "g" into the harness arena. */
sl_gdesc_t sl_tg_describe(sl_tg_t *tg, const char *group);
bool sl_tg_str_is(sl_str_t s, const char *c);

#endif
