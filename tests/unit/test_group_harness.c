/*
 * test_group_harness.c -- the fake owner and clients shared by the
 * test_group_*.c files (see test_group.h).
 */
#include "test_group.h"

#include "proto/wire.h"

#define GROUP "g"

bool
sl_tg_str_is(sl_str_t s, const char *c)
{
    return s.len >= 0 && (size_t)s.len == strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

static sl_bytes_t
bdup(sl_bytes_t b)
{
    uint8_t *p;

    if (b.len < 0)
        return SL_BYTES_NULL;
    p = malloc((size_t)b.len + 1);
    if (b.len)
        memcpy(p, b.ptr, (size_t)b.len);
    return (sl_bytes_t){p, b.len};
}

/* ---- owner callbacks ---- */

static void
on_persist(void *ctx, int32_t partition, sl_str_t group_id, const sl_grecord_t *recs, int32_t n,
           uint64_t id)
{
    sl_tg_t *tg = ctx;

    (void)group_id;
    tg->n_persist_calls++;
    for (int32_t i = 0; i < n; i++) {
        sl_tg_rec_t *r;

        if (tg->n_recs == tg->cap_recs) {
            tg->cap_recs = tg->cap_recs ? tg->cap_recs * 2 : 64;
            tg->recs = realloc(tg->recs, (size_t)tg->cap_recs * sizeof(*tg->recs));
        }
        r = &tg->recs[tg->n_recs++];
        r->id = id;
        r->partition = partition;
        r->key = bdup(recs[i].key);
        r->value = bdup(recs[i].value);
        r->ack = -2;
    }
    if (tg->auto_ack) {
        /* From inside the callback: the coordinator defers it. */
        for (int i = 0; i < tg->n_recs; i++)
            if (tg->recs[i].id == id)
                tg->recs[i].ack = tg->ack_err;
        sl_gcoord_persisted(tg->gc, id, tg->ack_err, tg->now);
        return;
    }
    if (tg->n_unacked == tg->cap_unacked) {
        tg->cap_unacked = tg->cap_unacked ? tg->cap_unacked * 2 : 16;
        tg->unacked = realloc(tg->unacked, (size_t)tg->cap_unacked * sizeof(*tg->unacked));
    }
    tg->unacked[tg->n_unacked++] = id;
}

static sl_str_t
sdup(sl_arena_t *a, sl_str_t s)
{
    return s.len < 0 ? SL_STR_NULL : (sl_str_t){sl_arena_strdup(a, s), s.len};
}

static sl_bytes_t
adup(sl_arena_t *a, sl_bytes_t b)
{
    if (b.len < 0)
        return SL_BYTES_NULL;
    return (sl_bytes_t){b.len ? sl_arena_memdup(a, b.ptr, (size_t)b.len) : (const uint8_t *)"",
                        b.len};
}

static void
slot_hit(sl_tg_slot_t *s)
{
    s->n_done++;
    s->done = true;
}

static void
on_join(void *ctx, void *cookie, const sl_gjoin_resp_t *r)
{
    sl_tg_t *tg = ctx;
    sl_tg_slot_t *s = cookie;

    SL_CHECK(s->kind == SL_TG_JOIN);
    s->join = *r;
    s->join.protocol_type = sdup(&tg->arena, r->protocol_type);
    s->join.protocol_name = sdup(&tg->arena, r->protocol_name);
    s->join.leader = sdup(&tg->arena, r->leader);
    s->join.member_id = sdup(&tg->arena, r->member_id);
    s->join.members = sl_arena_array(&tg->arena, (size_t)r->n_members + 1, sizeof(*r->members));
    for (int32_t i = 0; i < r->n_members; i++) {
        s->join.members[i].member_id = sdup(&tg->arena, r->members[i].member_id);
        s->join.members[i].group_instance_id = sdup(&tg->arena, r->members[i].group_instance_id);
        s->join.members[i].metadata = adup(&tg->arena, r->members[i].metadata);
    }
    slot_hit(s);
}

static void
on_sync(void *ctx, void *cookie, const sl_gsync_resp_t *r)
{
    sl_tg_t *tg = ctx;
    sl_tg_slot_t *s = cookie;

    SL_CHECK(s->kind == SL_TG_SYNC);
    s->sync = *r;
    s->sync.protocol_type = sdup(&tg->arena, r->protocol_type);
    s->sync.protocol_name = sdup(&tg->arena, r->protocol_name);
    s->sync.assignment = adup(&tg->arena, r->assignment);
    slot_hit(s);
}

static void
on_commit(void *ctx, void *cookie, const sl_gcommit_resp_t *r)
{
    sl_tg_t *tg = ctx;
    sl_tg_slot_t *s = cookie;

    SL_CHECK(s->kind == SL_TG_COMMIT);
    s->commit = *r;
    s->commit.parts = sl_arena_array(&tg->arena, (size_t)r->n_parts + 1, sizeof(*r->parts));
    for (int32_t i = 0; i < r->n_parts; i++) {
        s->commit.parts[i] = r->parts[i];
        s->commit.parts[i].topic = sdup(&tg->arena, r->parts[i].topic);
    }
    slot_hit(s);
}

/* ---- lifecycle ---- */

void
sl_tg_init(sl_tg_t *tg)
{
    memset(tg, 0, sizeof(*tg));
    sl_gcoord_config_default(&tg->cfg);
    tg->cfg.initial_rebalance_delay_ms = 0;
    tg->cfg.num_partitions = 4;
    tg->cfg.seed = 42;
    tg->now = 1000000;
    tg->auto_ack = true;
    sl_arena_init(&tg->arena, 4096);
}

void
sl_tg_start(sl_tg_t *tg)
{
    sl_gcoord_cbs_t cbs = {tg, on_persist, on_join, on_sync, on_commit};

    tg->gc = sl_gcoord_new(&tg->cfg, &cbs);
    for (int32_t p = 0; p < tg->cfg.num_partitions; p++) {
        sl_gcoord_load_begin(tg->gc, p);
        sl_gcoord_load_end(tg->gc, p, tg->now);
    }
}

void
sl_tg_deinit(sl_tg_t *tg)
{
    sl_gcoord_free(tg->gc);
    for (int i = 0; i < tg->n_recs; i++) {
        free((void *)tg->recs[i].key.ptr);
        free((void *)tg->recs[i].value.ptr);
    }
    free(tg->recs);
    free(tg->unacked);
    sl_arena_deinit(&tg->arena);
}

void
sl_tg_advance(sl_tg_t *tg, int64_t ms)
{
    tg->now += ms;
    sl_gcoord_tick(tg->gc, tg->now);
    /* Like the broker's timer: a deadline re-armed for "now" fires again. */
    for (int i = 0; i < 10 && sl_gcoord_next_deadline(tg->gc) <= tg->now; i++)
        sl_gcoord_tick(tg->gc, tg->now);
}

void
sl_tg_ack_all(sl_tg_t *tg, int16_t err)
{
    /* Copy first: acks may persist more (a failed sync rebalances). */
    while (tg->n_unacked > 0) {
        uint64_t id = tg->unacked[0];

        memmove(tg->unacked, tg->unacked + 1, (size_t)(tg->n_unacked - 1) * sizeof(*tg->unacked));
        tg->n_unacked--;
        for (int i = 0; i < tg->n_recs; i++)
            if (tg->recs[i].id == id)
                tg->recs[i].ack = err;
        sl_gcoord_persisted(tg->gc, id, err, tg->now);
    }
}

sl_bytes_t
sl_tg_subscription(sl_tg_t *tg, const char *topics)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    int32_t n = 0;
    const char *p;
    sl_bytes_t out;

    for (p = topics; *p; p++)
        n += *p == ',';
    n += *topics != '\0';
    sl_wr_i16(&wr, 0);
    sl_wr_i32(&wr, n);
    for (p = topics; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);

        sl_wr_str(&wr, false, (sl_str_t){p, (int32_t)l});
        p += l + (e != NULL);
    }
    sl_wr_bytes(&wr, false, SL_BYTES_NULL); /* userData */
    out = adup(&tg->arena, (sl_bytes_t){b.data, (int32_t)b.len});
    sl_buf_deinit(&b);
    return out;
}

/* ---- clients ---- */

void
sl_tgc_set_protos(sl_tgc_t *c, const char *names, const char *topics)
{
    const char *p = names;

    c->n_protos = 0;
    while (*p && c->n_protos < 4) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);

        c->protos[c->n_protos].name = sdup(&c->tg->arena, (sl_str_t){p, (int32_t)l});
        c->protos[c->n_protos].metadata = sl_tg_subscription(c->tg, topics);
        c->n_protos++;
        p += l + (e != NULL);
    }
}

void
sl_tgc_init(sl_tgc_t *c, sl_tg_t *tg, const char *client_id, const char *topics)
{
    memset(c, 0, sizeof(*c));
    c->tg = tg;
    c->client_id = client_id;
    c->member_id = SL_STR_LIT("");
    c->instance_id = SL_STR_NULL;
    c->generation = -1;
    c->session_ms = 10000;
    c->rebalance_ms = 30000;
    c->version = 5;
    c->join.kind = SL_TG_JOIN;
    c->sync.kind = SL_TG_SYNC;
    c->commit.kind = SL_TG_COMMIT;
    sl_tgc_set_protos(c, "range", topics);
}

void
sl_tgc_absorb(sl_tgc_t *c)
{
    if (!c->join.done)
        return;
    if (c->join.join.error_code == SL_GKERR_NONE ||
        c->join.join.error_code == SL_GKERR_MEMBER_ID_REQUIRED)
        c->member_id = c->join.join.member_id;
    if (c->join.join.error_code == SL_GKERR_NONE)
        c->generation = c->join.join.generation_id;
}

sl_gcoord_res_t
sl_tgc_join(sl_tgc_t *c)
{
    sl_gjoin_req_t req = {.api_version = c->version,
                          .group_id = SL_STR_LIT(GROUP),
                          .session_timeout_ms = c->session_ms,
                          .rebalance_timeout_ms = c->rebalance_ms,
                          .member_id = c->member_id,
                          .group_instance_id = c->instance_id,
                          .protocol_type = SL_STR_LIT("consumer"),
                          .protocols = c->protos,
                          .n_protocols = c->n_protos,
                          .client_id = sl_str_c(c->client_id),
                          .client_host = SL_STR_LIT("/127.0.0.1")};
    sl_gcoord_res_t res;

    c->join.done = false;
    c->join.n_done = 0;
    res = sl_gcoord_join(c->tg->gc, &req, &c->join, c->tg->now, &c->tg->arena, &c->join.join);
    if (res == SL_GCOORD_DONE)
        slot_hit(&c->join);
    sl_tgc_absorb(c);
    return res;
}

sl_gcoord_res_t
sl_tgc_sync(sl_tgc_t *c)
{
    sl_gassign_t as[64];
    int32_t n = 0;
    sl_gsync_req_t req = {.api_version = 3,
                          .group_id = SL_STR_LIT(GROUP),
                          .generation_id = c->generation,
                          .member_id = c->member_id,
                          .group_instance_id = c->instance_id,
                          .protocol_type = SL_STR_NULL,
                          .protocol_name = SL_STR_NULL};
    sl_gcoord_res_t res;

    if (c->join.done && sl_str_eq(c->join.join.leader, c->member_id)) {
        for (int32_t i = 0; i < c->join.join.n_members && n < 64; i++) {
            sl_str_t id = c->join.join.members[i].member_id;
            char *a = sl_arena_printf(&c->tg->arena, "A:%.*s", (int)id.len, id.ptr);

            as[n].member_id = id;
            as[n].assignment = (sl_bytes_t){(const uint8_t *)a, (int32_t)strlen(a)};
            n++;
        }
    }
    req.assignments = as;
    req.n_assignments = n;
    c->sync.done = false;
    c->sync.n_done = 0;
    res = sl_gcoord_sync(c->tg->gc, &req, &c->sync, c->tg->now, &c->tg->arena, &c->sync.sync);
    if (res == SL_GCOORD_DONE)
        slot_hit(&c->sync);
    return res;
}

int16_t
sl_tgc_heartbeat(sl_tgc_t *c)
{
    sl_gheartbeat_req_t req = {.api_version = 3,
                               .group_id = SL_STR_LIT(GROUP),
                               .generation_id = c->generation,
                               .member_id = c->member_id,
                               .group_instance_id = c->instance_id};

    return sl_gcoord_heartbeat(c->tg->gc, &req, c->tg->now);
}

int16_t
sl_tgc_leave(sl_tgc_t *c)
{
    sl_gleave_member_t lm = {c->member_id, c->instance_id};
    sl_gleave_req_t req = {
        .api_version = 3, .group_id = SL_STR_LIT(GROUP), .members = &lm, .n_members = 1};
    sl_gleave_resp_t resp;

    sl_gcoord_leave(c->tg->gc, &req, c->tg->now, &c->tg->arena, &resp);
    SL_CHECK_EQ(resp.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(resp.n_members, 1);
    return resp.members[0].error_code;
}

sl_gcoord_res_t
sl_tgc_commit(sl_tgc_t *c, const char *topic, int32_t partition, int64_t offset,
              const char *metadata)
{
    sl_gcommit_part_t part = {.topic = sl_str_c(topic),
                              .partition = partition,
                              .offset = offset,
                              .leader_epoch = 7,
                              .metadata = sl_str_c(metadata),
                              .commit_timestamp = -1};
    sl_gcommit_req_t req = {.api_version = 7,
                            .group_id = SL_STR_LIT(GROUP),
                            .generation_id = c->generation,
                            .member_id = c->member_id,
                            .group_instance_id = c->instance_id,
                            .retention_time_ms = -1,
                            .parts = &part,
                            .n_parts = 1};
    sl_gcoord_res_t res;

    c->commit.done = false;
    c->commit.n_done = 0;
    res =
        sl_gcoord_commit(c->tg->gc, &req, &c->commit, c->tg->now, &c->tg->arena, &c->commit.commit);
    if (res == SL_GCOORD_DONE)
        slot_hit(&c->commit);
    return res;
}

void
sl_tg_form(sl_tg_t *tg, sl_tgc_t **cs, int n)
{
    sl_gdesc_t d;

    for (int i = 0; i < n; i++) {
        sl_tgc_join(cs[i]);
        if (cs[i]->join.done && cs[i]->join.join.error_code == SL_GKERR_MEMBER_ID_REQUIRED)
            sl_tgc_join(cs[i]);
    }
    sl_tg_advance(tg, 0);
    for (int i = 0; i < n; i++) {
        SL_CHECK(cs[i]->join.done);
        SL_CHECK_EQ(cs[i]->join.n_done, 1);
        SL_CHECK_EQ(cs[i]->join.join.error_code, SL_GKERR_NONE);
        sl_tgc_absorb(cs[i]);
    }
    /* Followers first: they park until the leader's assignment is durable. */
    for (int i = n - 1; i >= 0; i--)
        sl_tgc_sync(cs[i]);
    for (int i = 0; i < n; i++) {
        char want[256];

        SL_CHECK(cs[i]->sync.done);
        SL_CHECK_EQ(cs[i]->sync.n_done, 1);
        SL_CHECK_EQ(cs[i]->sync.sync.error_code, SL_GKERR_NONE);
        snprintf(want, sizeof(want), "A:%.*s", (int)cs[i]->member_id.len, cs[i]->member_id.ptr);
        SL_CHECK_EQ(cs[i]->sync.sync.assignment.len, (int32_t)strlen(want));
        SL_CHECK_MEM(cs[i]->sync.sync.assignment.ptr, want, strlen(want));
    }
    d = sl_tg_describe(tg, GROUP);
    SL_CHECK(sl_tg_str_is(d.state, "Stable"));
    SL_CHECK_EQ(d.n_members, n);
}

int64_t
sl_tg_committed(sl_tg_t *tg, const char *group, const char *topic, int32_t partition)
{
    sl_gtp_t tp = {sl_str_c(topic), partition};
    sl_gfetch_resp_t r;

    sl_gcoord_fetch(tg->gc, sl_str_c(group), &tp, 1, false, &tg->arena, &r);
    SL_CHECK_EQ(r.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(r.n_parts, 1);
    return r.parts[0].offset;
}

sl_gdesc_t
sl_tg_describe(sl_tg_t *tg, const char *group)
{
    sl_gdesc_t d;

    sl_gcoord_describe(tg->gc, sl_str_c(group), &tg->arena, &d);
    return d;
}
