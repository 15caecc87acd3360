/*
 * test_group_replay.c -- rebuilding state from __consumer_offsets records.
 *
 * The property test drives a coordinator with random operations (joins,
 * syncs, heartbeats, leaves, commits, deletes, time passing, acks arriving
 * late), replays every record it persisted into a fresh coordinator and
 * compares: the compact snapshots byte for byte, and for every group at rest
 * (Stable or Empty, nothing in flight) generation, protocol, leader, members
 * and offsets. White-box: it reads the private structs.
 */
#include "test_group.h"

#include "group/group_int.h"
#include "proto/wire.h"

/* ---- snapshot collection ---- */

typedef struct snap {
    sl_buf_t buf; /* partition, key, value (len -1 = null) per record */
    int n;
} snap_t;

static void
snap_fn(void *ctx, int32_t partition, sl_str_t group_id, const sl_grecord_t *rec)
{
    snap_t *s = ctx;
    sl_writer_t wr = {&s->buf};

    (void)group_id;
    sl_wr_i32(&wr, partition);
    sl_wr_bytes(&wr, false, rec->key);
    sl_wr_bytes(&wr, false, rec->value);
    s->n++;
}

static void
snap_take(sl_gcoord_t *gc, snap_t *s)
{
    memset(s, 0, sizeof(*s));
    sl_gcoord_snapshot(gc, -1, snap_fn, s);
}

static void
noop_persist(void *ctx, int32_t p, sl_str_t g, const sl_grecord_t *r, int32_t n, uint64_t id)
{
    (void)ctx, (void)p, (void)g, (void)r, (void)n, (void)id;
}

static void
noop_join(void *ctx, void *cookie, const sl_gjoin_resp_t *r)
{
    (void)ctx, (void)cookie, (void)r;
}

static void
noop_sync(void *ctx, void *cookie, const sl_gsync_resp_t *r)
{
    (void)ctx, (void)cookie, (void)r;
}

static void
noop_commit(void *ctx, void *cookie, const sl_gcommit_resp_t *r)
{
    (void)ctx, (void)cookie, (void)r;
}

/* A fresh coordinator loaded from tg's acknowledged records. */
static sl_gcoord_t *
replayed(sl_tg_t *tg)
{
    sl_gcoord_cbs_t cbs = {NULL, noop_persist, noop_join, noop_sync, noop_commit};
    sl_gcoord_t *gc = sl_gcoord_new(&tg->cfg, &cbs);

    for (int32_t p = 0; p < tg->cfg.num_partitions; p++)
        sl_gcoord_load_begin(gc, p);
    for (int i = 0; i < tg->n_recs; i++) {
        if (tg->recs[i].ack != SL_GKERR_NONE)
            continue;
        SL_CHECK_OK(sl_gcoord_replay(gc, tg->recs[i].key, tg->recs[i].value, tg->now));
    }
    for (int32_t p = 0; p < tg->cfg.num_partitions; p++)
        sl_gcoord_load_end(gc, p, tg->now);
    return gc;
}

static bool
bytes_eq(sl_bytes_t a, sl_bytes_t b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static sl_bytes_t
meta_of(const sl_gmember_t *m, sl_str_t proto)
{
    for (int32_t i = 0; i < m->n_protocols; i++)
        if (sl_str_eq(m->protocols[i].name, proto))
            return m->protocols[i].metadata;
    return (sl_bytes_t){NULL, 0};
}

static bool
in_flight(const sl_gcoord_t *gc, const sl_group_t *g)
{
    for (const sl_gpop_t *p = gc->pops_head; p; p = p->next)
        if (p->group_uid == g->uid)
            return true;
    return false;
}

static void
compare_offsets(const sl_group_t *a, const sl_group_t *b)
{
    int32_t na, nb;
    sl_goffset_t **va = sl_gcoord_offsets_sorted(a, &na), **vb = sl_gcoord_offsets_sorted(b, &nb);

    SL_CHECK_EQ(na, nb);
    for (int32_t i = 0; i < na; i++) {
        SL_CHECK(sl_str_eq(va[i]->topic, vb[i]->topic));
        SL_CHECK_EQ(va[i]->partition, vb[i]->partition);
        SL_CHECK_EQ(va[i]->offset, vb[i]->offset);
        SL_CHECK_EQ(va[i]->leader_epoch, vb[i]->leader_epoch);
        SL_CHECK(sl_str_eq(va[i]->metadata, vb[i]->metadata));
        SL_CHECK_EQ(va[i]->commit_ts, vb[i]->commit_ts);
        SL_CHECK_EQ(va[i]->expire_ts, vb[i]->expire_ts);
    }
    free(va);
    free(vb);
}

static void
compare_group(const sl_group_t *a, const sl_group_t *b)
{
    SL_CHECK_EQ(a->state, b->state);
    SL_CHECK_EQ(a->generation, b->generation);
    SL_CHECK(sl_str_eq(a->protocol_type, b->protocol_type));
    SL_CHECK(sl_str_eq(a->protocol_name, b->protocol_name));
    /* Like Kafka, the Stable transition's time is not persisted (the record
     * is written before it); an Empty group's time is, and drives expiry. */
    if (a->state == SL_GSTATE_EMPTY)
        SL_CHECK_EQ(a->state_ts, b->state_ts);
    SL_CHECK_EQ(a->n_members, b->n_members);
    SL_CHECK_EQ(a->leader != NULL, b->leader != NULL);
    if (a->leader)
        SL_CHECK(sl_str_eq(a->leader->id, b->leader->id));
    for (int32_t i = 0; i < a->n_members; i++) {
        const sl_gmember_t *ma = a->members[i], *mb = sl_gcoord_member(b, ma->id);

        SL_CHECK(mb != NULL);
        SL_CHECK(sl_str_eq(ma->instance_id, mb->instance_id));
        SL_CHECK(sl_str_eq(ma->client_id, mb->client_id));
        SL_CHECK(sl_str_eq(ma->client_host, mb->client_host));
        SL_CHECK_EQ(ma->session_timeout_ms, mb->session_timeout_ms);
        SL_CHECK_EQ(ma->rebalance_timeout_ms, mb->rebalance_timeout_ms);
        SL_CHECK(bytes_eq(ma->assignment, mb->assignment));
        SL_CHECK(bytes_eq(meta_of(ma, a->protocol_name), meta_of(mb, b->protocol_name)));
    }
    SL_CHECK_EQ(a->topics_known, b->topics_known);
    SL_CHECK_EQ(a->n_topics, b->n_topics);
}

/* Replays tg's records and checks the rebuilt coordinator against tg's. */
static int
check_replay(sl_tg_t *tg)
{
    sl_gcoord_t *b = replayed(tg);
    snap_t sa, sb;
    size_t n;
    sl_group_t **ga = sl_gcoord_groups_sorted(tg->gc, -1, &n);
    int compared = 0;

    snap_take(tg->gc, &sa);
    snap_take(b, &sb);
    if (getenv("TG_DEBUG") && (sa.n != sb.n || sa.buf.len != sb.buf.len)) {
        for (int w = 0; w < 2; w++) {
            snap_t *x = w ? &sb : &sa;
            fprintf(stderr, "%s:", w ? "replayed" : "live");
            for (size_t i = 0; i < x->buf.len; i++)
                fprintf(stderr, "%s%02x", i % 64 ? "" : "\n  ", x->buf.data[i]);
            fprintf(stderr, "\n");
        }
    }
    SL_CHECK_EQ(sa.n, sb.n);
    SL_CHECK_EQ(sa.buf.len, sb.buf.len);
    if (sa.buf.len)
        SL_CHECK_MEM(sa.buf.data, sb.buf.data, sa.buf.len);
    for (size_t i = 0; i < n; i++) {
        const sl_group_t *a = ga[i];
        const sl_group_t *r = sl_gcoord_group_get(b, a->id);
        bool persisted = a->last_meta.len >= 0 || a->offsets.len > 0;

        if (in_flight(tg->gc, a))
            continue;
        SL_CHECK_EQ(r != NULL, persisted);
        if (r == NULL)
            continue;
        compare_offsets(a, r);
        if (a->state == SL_GSTATE_STABLE || a->state == SL_GSTATE_EMPTY) {
            compare_group(a, r);
            compared++;
        }
    }
    /* Nothing exists only in the replay. */
    {
        size_t nb;
        sl_group_t **gb = sl_gcoord_groups_sorted(b, -1, &nb);

        for (size_t i = 0; i < nb; i++)
            SL_CHECK(sl_gcoord_group_get(tg->gc, gb[i]->id) != NULL);
        free(gb);
    }
    free(ga);
    sl_buf_deinit(&sa.buf);
    sl_buf_deinit(&sb.buf);
    sl_gcoord_free(b);
    return compared;
}

SL_TEST(group_replay_rebuilds_groups_and_offsets)
{
    sl_tg_t tg;
    sl_tgc_t a, b;
    sl_tgc_t *cs[] = {&a, &b};
    sl_gcoord_t *r;
    sl_gheartbeat_req_t hb = {
        .group_id = SL_STR_LIT("g"), .generation_id = 1, .group_instance_id = SL_STR_NULL};

    sl_tg_init(&tg);
    sl_tg_start(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t,u");
    b.instance_id = SL_STR_LIT("ib");
    sl_tg_form(&tg, cs, 2);
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 10, "x"), SL_GCOORD_DONE);
    SL_CHECK_EQ(sl_tgc_commit(&b, "u", 1, 20, "y"), SL_GCOORD_DONE);
    SL_CHECK_EQ(check_replay(&tg), 1);
    /* Loaded members heartbeat on with their generation and get a full
     * session from the load time. */
    r = replayed(&tg);
    hb.member_id = a.member_id;
    SL_CHECK_EQ(sl_gcoord_heartbeat(r, &hb, tg.now + 9000), SL_GKERR_NONE);
    sl_gcoord_tick(r, tg.now + 10000);
    hb.member_id = b.member_id;
    SL_CHECK_EQ(sl_gcoord_heartbeat(r, &hb, tg.now + 10000), SL_GKERR_UNKNOWN_MEMBER_ID);
    hb.member_id = a.member_id;
    SL_CHECK_EQ(sl_gcoord_heartbeat(r, &hb, tg.now + 10000), SL_GKERR_REBALANCE_IN_PROGRESS);
    sl_gcoord_free(r);
    /* Tombstones: deleting the group removes it from the replay too. */
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tgc_leave(&b), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    SL_CHECK_EQ(check_replay(&tg), 1);
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_LIT("g"), tg.now), SL_GKERR_NONE);
    SL_CHECK_EQ(check_replay(&tg), 0);
    sl_tg_deinit(&tg);
}

SL_TEST(group_replay_reads_old_and_flexible_versions)
{
    sl_gcoord_cbs_t cbs = {NULL, noop_persist, noop_join, noop_sync, noop_commit};
    sl_gcoord_config_t cfg;
    sl_gcoord_t *gc;
    sl_buf_t k = SL_BUF_INIT, v = SL_BUF_INIT;
    sl_writer_t wk = {&k}, wv = {&v};
    sl_group_t *g;
    sl_goffset_t *o;

    sl_gcoord_config_default(&cfg);
    cfg.num_partitions = 1;
    gc = sl_gcoord_new(&cfg, &cbs);
    sl_gcoord_load_begin(gc, 0);
    /* OffsetCommitKey v0 + OffsetCommitValue v4 (flexible, a tagged field). */
    sl_wr_i16(&wk, 0);
    sl_wr_str(&wk, false, SL_STR_LIT("grp"));
    sl_wr_str(&wk, false, SL_STR_LIT("top"));
    sl_wr_i32(&wk, 2);
    sl_wr_i16(&wv, 4);
    sl_wr_i64(&wv, 77);
    sl_wr_i32(&wv, 5);
    sl_wr_str(&wv, true, SL_STR_LIT("md"));
    sl_wr_i64(&wv, 1234);
    sl_wr_uvarint(&wv, 1); /* one tagged field: tag 9, 2 bytes */
    sl_wr_uvarint(&wv, 9);
    sl_wr_uvarint(&wv, 2);
    sl_wr_i16(&wv, 0);
    SL_CHECK_OK(sl_gcoord_replay(gc, (sl_bytes_t){k.data, (int32_t)k.len},
                                 (sl_bytes_t){v.data, (int32_t)v.len}, 0));
    /* GroupMetadataValue v0: no rebalance timeout, no timestamp, no instance. */
    sl_buf_reset(&k);
    sl_buf_reset(&v);
    sl_wr_i16(&wk, 2);
    sl_wr_str(&wk, false, SL_STR_LIT("grp"));
    sl_wr_i16(&wv, 0);
    sl_wr_str(&wv, false, SL_STR_LIT("consumer"));
    sl_wr_i32(&wv, 4);
    sl_wr_str(&wv, false, SL_STR_LIT("range"));
    sl_wr_str(&wv, false, SL_STR_LIT("m1"));
    sl_wr_i32(&wv, 1);
    sl_wr_str(&wv, false, SL_STR_LIT("m1"));
    sl_wr_str(&wv, false, SL_STR_LIT("cid"));
    sl_wr_str(&wv, false, SL_STR_LIT("host"));
    sl_wr_i32(&wv, 15000);
    sl_wr_bytes(&wv, false, (sl_bytes_t){(const uint8_t *)"\0\0\0\0\0\0", 6});
    sl_wr_bytes(&wv, false, (sl_bytes_t){(const uint8_t *)"as", 2});
    SL_CHECK_OK(sl_gcoord_replay(gc, (sl_bytes_t){k.data, (int32_t)k.len},
                                 (sl_bytes_t){v.data, (int32_t)v.len}, 0));
    sl_gcoord_load_end(gc, 0, 0);
    g = sl_gcoord_group_get(gc, SL_STR_LIT("grp"));
    SL_CHECK(g != NULL);
    SL_CHECK_EQ(g->state, SL_GSTATE_STABLE);
    SL_CHECK_EQ(g->generation, 4);
    SL_CHECK(sl_tg_str_is(g->leader->id, "m1"));
    SL_CHECK_EQ(g->members[0]->rebalance_timeout_ms, 15000);
    SL_CHECK(g->topics_known && g->n_topics == 0);
    o = sl_gcoord_offset_get(g, SL_STR_LIT("top"), 2);
    SL_CHECK(o && o->offset == 77 && o->leader_epoch == 5 && o->commit_ts == 1234);
    SL_CHECK(sl_tg_str_is(o->metadata, "md"));
    /* Bad bytes are refused; other key versions are not ours. */
    SL_CHECK_EQ(sl_gcoord_replay(gc, (sl_bytes_t){k.data, (int32_t)k.len},
                                 (sl_bytes_t){v.data, (int32_t)v.len - 1}, 0),
                SL_ECORRUPT);
    SL_CHECK_EQ(sl_gcoord_replay(gc, (sl_bytes_t){(const uint8_t *)"\0\3", 2}, SL_BYTES_NULL, 0),
                SL_EUNSUP);
    SL_CHECK_EQ(sl_gcoord_replay(gc, (sl_bytes_t){(const uint8_t *)"\0", 1}, SL_BYTES_NULL, 0),
                SL_ECORRUPT);
    /* Truncations of a valid value never crash, fail cleanly. */
    for (size_t cut = 0; cut < v.len; cut++)
        SL_CHECK_EQ(sl_gcoord_replay(gc, (sl_bytes_t){k.data, (int32_t)k.len},
                                     (sl_bytes_t){v.data, (int32_t)cut}, 0),
                    SL_ECORRUPT);
    sl_buf_deinit(&k);
    sl_buf_deinit(&v);
    sl_gcoord_free(gc);
}

/* ---- the property test ---- */

#define NG 3
#define NC 5

static const char *const groups[NG] = {"g", "h", "k"};

static uint64_t
rnd(uint64_t n)
{
    return sl_test_rand() % n;
}

/* Clients of the harness talk to group "g"; for "h" and "k" the requests
 * are built here with the same client state. */
typedef struct pclient {
    sl_tgc_t c;
    int group;
    bool jo, so, co; /* a request parked: its cookie is in use */
    bool want_sync;  /* answered JoinGroup, SyncGroup next */
} pclient_t;

static void
p_reset_on_error(sl_tgc_t *c, int16_t err)
{
    if (err == SL_GKERR_UNKNOWN_MEMBER_ID || err == SL_GKERR_FENCED_INSTANCE_ID ||
        err == SL_GKERR_ILLEGAL_GENERATION) {
        c->member_id = SL_STR_LIT("");
        c->generation = -1;
    }
}

static sl_gcoord_res_t
p_join(sl_tg_t *tg, pclient_t *p)
{
    sl_tgc_t *c = &p->c;
    sl_gjoin_req_t req = {.api_version = c->version,
                          .group_id = sl_str_c(groups[p->group]),
                          .session_timeout_ms = c->session_ms,
                          .rebalance_timeout_ms = c->rebalance_ms,
                          .member_id = c->member_id,
                          .group_instance_id = c->instance_id,
                          .protocol_type = SL_STR_LIT("consumer"),
                          .protocols = c->protos,
                          .n_protocols = c->n_protos,
                          .client_id = sl_str_c(c->client_id),
                          .client_host = SL_STR_LIT("h")};
    sl_gcoord_res_t res;

    if (p->jo)
        return SL_GCOORD_PENDING;
    c->join.done = false;
    c->join.n_done = 0;
    res = sl_gcoord_join(tg->gc, &req, &c->join, tg->now, &tg->arena, &c->join.join);
    if (res == SL_GCOORD_DONE) {
        c->join.done = true;
        c->join.n_done = 1;
    }
    p->jo = res == SL_GCOORD_PENDING;
    return res;
}

static void
p_absorb(pclient_t *p)
{
    sl_tgc_t *c = &p->c;

    SL_CHECK(c->join.n_done <= 1 && c->sync.n_done <= 1 && c->commit.n_done <= 1);
    p->jo = p->jo && c->join.n_done == 0;
    p->so = p->so && c->sync.n_done == 0;
    p->co = p->co && c->commit.n_done == 0;
    if (c->join.done) {
        sl_tgc_absorb(c);
        p_reset_on_error(c, c->join.join.error_code);
        p->want_sync = c->join.join.error_code == SL_GKERR_NONE;
        c->join.done = false;
    }
    if (c->sync.done) {
        p_reset_on_error(c, c->sync.sync.error_code);
        p->want_sync = false;
        c->sync.done = false;
    }
}

static void
p_sync(sl_tg_t *tg, pclient_t *p)
{
    sl_tgc_t *c = &p->c;
    sl_gassign_t as[NC + 1];
    int32_t n = 0;
    sl_gsync_req_t req = {.api_version = (int16_t)rnd(6),
                          .group_id = sl_str_c(groups[p->group]),
                          .generation_id = c->generation,
                          .member_id = c->member_id,
                          .group_instance_id = c->instance_id,
                          .protocol_type = SL_STR_LIT("consumer"),
                          .protocol_name = SL_STR_NULL};

    if (req.api_version >= 5)
        req.protocol_name = SL_STR_LIT("range");
    if (sl_str_eq(c->join.join.leader, c->member_id)) {
        for (int32_t i = 0; i < c->join.join.n_members && n < NC; i++) {
            sl_str_t id = c->join.join.members[i].member_id;
            char *s = sl_arena_printf(&tg->arena, "as-%d-%.*s", (int)rnd(100), (int)id.len, id.ptr);

            as[n].member_id = id;
            as[n++].assignment = (sl_bytes_t){(const uint8_t *)s, (int32_t)strlen(s)};
        }
    }
    req.assignments = as;
    req.n_assignments = n;
    if (p->so)
        return;
    c->sync.done = false;
    c->sync.n_done = 0;
    if (sl_gcoord_sync(tg->gc, &req, &c->sync, tg->now, &tg->arena, &c->sync.sync) ==
        SL_GCOORD_DONE) {
        c->sync.done = true;
        c->sync.n_done = 1;
    } else {
        p->so = true;
    }
}

static void
p_misc(sl_tg_t *tg, pclient_t *p, int op)
{
    sl_tgc_t *c = &p->c;
    sl_str_t gid = sl_str_c(groups[p->group]);
    char topic[8];
    sl_gtp_t tp;

    snprintf(topic, sizeof(topic), "t%d", (int)rnd(3));
    tp = (sl_gtp_t){sl_str_c(topic), (int32_t)rnd(2)};
    if (op == 0) {
        sl_gheartbeat_req_t req = {.group_id = gid,
                                   .generation_id = c->generation,
                                   .member_id = c->member_id,
                                   .group_instance_id = c->instance_id};

        p_reset_on_error(c, sl_gcoord_heartbeat(tg->gc, &req, tg->now));
    } else if (op == 1) {
        sl_gleave_member_t lm = {c->member_id, c->instance_id};
        sl_gleave_req_t req = {.api_version = 3, .group_id = gid, .members = &lm, .n_members = 1};
        sl_gleave_resp_t r;

        sl_gcoord_leave(tg->gc, &req, tg->now, &tg->arena, &r);
        c->member_id = SL_STR_LIT("");
        c->generation = -1;
    } else if (op == 2 || op == 3) {
        /* Member commit, or (op 3) a simple commit with no generation. */
        sl_gcommit_part_t part = {.topic = tp.topic,
                                  .partition = tp.partition,
                                  .offset = (int64_t)rnd(1000),
                                  .leader_epoch = (int32_t)rnd(3) - 1,
                                  .metadata = rnd(2) ? SL_STR_LIT("md") : SL_STR_NULL,
                                  .commit_timestamp = -1};
        sl_gcommit_req_t req = {.api_version = 7,
                                .group_id = gid,
                                .generation_id = op == 3 ? -1 : c->generation,
                                .member_id = op == 3 ? SL_STR_LIT("") : c->member_id,
                                .group_instance_id = op == 3 ? SL_STR_NULL : c->instance_id,
                                .retention_time_ms = rnd(4) == 0 ? 3600000 : -1,
                                .parts = &part,
                                .n_parts = 1};

        if (p->co)
            return;
        c->commit.done = false;
        c->commit.n_done = 0;
        if (sl_gcoord_commit(tg->gc, &req, &c->commit, tg->now, &tg->arena, &c->commit.commit) ==
            SL_GCOORD_DONE) {
            c->commit.done = true;
            c->commit.n_done = 1;
        } else {
            p->co = true;
        }
    } else if (op == 4) {
        sl_goffset_delete_resp_t r;

        sl_gcoord_offset_delete(tg->gc, gid, &tp, 1, tg->now, &tg->arena, &r);
    } else if (op == 5) {
        (void)sl_gcoord_delete_group(tg->gc, gid, tg->now);
    } else if (op == 6) {
        sl_tgc_set_protos(c, rnd(2) ? "range" : "range,roundrobin", rnd(2) ? "t0" : "t0,t1");
    }
}

/* What a well-behaved client does next. */
static void
p_natural(sl_tg_t *tg, pclient_t *p)
{
    sl_tgc_t *c = &p->c;
    sl_gheartbeat_req_t hb = {.group_id = sl_str_c(groups[p->group]),
                              .generation_id = c->generation,
                              .member_id = c->member_id,
                              .group_instance_id = c->instance_id};
    int16_t err;

    if (p->jo || p->so)
        return;
    if (c->member_id.len == 0 || c->generation < 0) {
        (void)p_join(tg, p);
        return;
    }
    if (p->want_sync) {
        p_sync(tg, p);
        return;
    }
    err = sl_gcoord_heartbeat(tg->gc, &hb, tg->now);
    if (err == SL_GKERR_REBALANCE_IN_PROGRESS)
        (void)p_join(tg, p);
    else if (err == SL_GKERR_NONE && rnd(3) == 0)
        p_misc(tg, p, 2); /* a steady consumer commits */
    p_reset_on_error(c, err);
}

static int
property_run(uint64_t steps)
{
    sl_tg_t tg;
    pclient_t pc[NG * NC];
    int compared = 0;

    sl_tg_init(&tg);
    tg.auto_ack = false;
    sl_tg_start(&tg);
    for (int i = 0; i < NG * NC; i++) {
        char *cid = sl_arena_printf(&tg.arena, "c%d", i);

        memset(&pc[i], 0, sizeof(pc[i]));
        sl_tgc_init(&pc[i].c, &tg, cid, "t0,t1");
        pc[i].group = i / NC;
        pc[i].c.version = (int16_t)rnd(6);
        if (i % NC == 0)
            pc[i].c.instance_id = sl_str_c(sl_arena_printf(&tg.arena, "inst%d", i));
    }
    for (uint64_t s = 0; s < steps; s++) {
        pclient_t *p = &pc[rnd(NG * NC)];
        uint64_t op = rnd(40);

        if (op >= 20) {
            p_natural(&tg, p);
            if (op >= 38)
                sl_tg_advance(&tg, (int64_t)rnd(3000));
        } else if (op < 4) {
            (void)p_join(&tg, p); /* parked joins stay parked */
        } else if (op < 7) {
            if (p->c.member_id.len > 0 && p->c.generation >= 0)
                p_sync(&tg, p);
        } else if (op < 15) {
            p_misc(&tg, p, (int)rnd(7));
        } else if (op < 16) {
            sl_tg_advance(&tg, (int64_t)rnd(12000));
        } else {
            sl_tg_ack_all(&tg, SL_GKERR_NONE);
        }
        for (int i = 0; i < NG * NC; i++)
            p_absorb(&pc[i]);
        if (s % 50 == 49) {
            sl_tg_ack_all(&tg, SL_GKERR_NONE);
            compared += check_replay(&tg);
        }
    }
    sl_tg_ack_all(&tg, SL_GKERR_NONE);
    compared += check_replay(&tg);
    if (getenv("TG_DEBUG")) {
        size_t n;
        sl_group_t **v = sl_gcoord_groups_sorted(tg.gc, -1, &n);

        fprintf(stderr, "run: %d records, %d compared;", tg.n_recs, compared);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s:%s/gen%d/%dm/%zuo", v[i]->id.ptr,
                    sl_gcoord_state_name(v[i]->state), v[i]->generation, v[i]->n_members,
                    v[i]->offsets.len);
        fprintf(stderr, "\n");
        free(v);
    }
    sl_tg_deinit(&tg);
    return compared;
}

SL_TEST(group_replay_property_random_operations)
{
    int compared = 0;

    for (int run = 0; run < 12; run++)
        compared += property_run(1000);
    /* The runs must actually reach groups at rest to compare. */
    SL_CHECK(compared > 20);
}
