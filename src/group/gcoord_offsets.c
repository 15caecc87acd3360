/*
 * gcoord_offsets.c -- committed offsets: OffsetCommit, OffsetFetch,
 * OffsetDelete and retention (Kafka's offsets.retention.minutes).
 *
 * A commit becomes visible only when the owner reports its records durable:
 * until then it is an sl_gpop_t, and OffsetFetch still returns the previous
 * value. Deleting an offset (OffsetDelete, DeleteGroups) while a commit for
 * it is in flight cancels that commit's effect on memory, the same order the
 * log will have (commit record first, tombstone after).
 *
 * Retention follows Kafka 2.1+ (KIP-211): an Empty group's offsets expire
 * offsets.retention.ms after the group became Empty; a Stable consumer group
 * expires offsets of topics nobody subscribes to any more, counted from their
 * commit; a group without a protocol (simple consumers, only committing)
 * counts from each commit. Offsets committed with an explicit retention
 * (OffsetCommit v2-4) expire at their own expire timestamp.
 */
#include "group/group_int.h"

#define OKEY_STACK 256

/* ================================================================ the map */

static char *
okey(sl_str_t topic, int32_t partition, char *stack, size_t *len)
{
    size_t n = (size_t)topic.len + 4;
    char *k = n <= OKEY_STACK ? stack : sl_xmalloc(n);

    if (topic.len > 0)
        memcpy(k, topic.ptr, (size_t)topic.len);
    k[topic.len + 0] = (char)((uint32_t)partition >> 24);
    k[topic.len + 1] = (char)((uint32_t)partition >> 16);
    k[topic.len + 2] = (char)((uint32_t)partition >> 8);
    k[topic.len + 3] = (char)partition;
    *len = n;
    return k;
}

static void
okey_free(char *k, char *stack)
{
    if (k != stack)
        free(k);
}

void
sl_goffset_free(sl_goffset_t *o)
{
    sl_gstr_free(&o->topic);
    sl_gstr_free(&o->metadata);
}

void
sl_gcoord_offsets_clear(sl_group_t *g)
{
    size_t it = 0;
    const sl_map_slot_t *slot;

    while (sl_map_next(&g->offsets, &it, &slot)) {
        sl_goffset_free(slot->value);
        free(slot->value);
    }
    sl_map_deinit(&g->offsets);
    sl_map_init(&g->offsets);
}

sl_goffset_t *
sl_gcoord_offset_get(const sl_group_t *g, sl_str_t topic, int32_t partition)
{
    char stack[OKEY_STACK], *k;
    size_t n;
    sl_goffset_t *o;

    if (topic.len < 0)
        return NULL;
    k = okey(topic, partition, stack, &n);
    o = sl_map_get(&g->offsets, k, n);
    okey_free(k, stack);
    return o;
}

void
sl_gcoord_offset_put(sl_group_t *g, sl_goffset_t *o)
{
    char stack[OKEY_STACK], *k;
    size_t n;
    sl_goffset_t *cur, *copy;

    k = okey(o->topic, o->partition, stack, &n);
    cur = sl_map_get(&g->offsets, k, n);
    if (cur && o->seq != 0 && cur->seq > o->seq) {
        /* An acknowledgement out of order: the later write stays. */
        sl_goffset_free(o);
        okey_free(k, stack);
        return;
    }
    if (cur) {
        sl_goffset_free(cur);
        *cur = *o;
    } else {
        copy = sl_xmalloc(sizeof(*copy));
        *copy = *o;
        sl_map_put(&g->offsets, k, n, copy);
    }
    memset(o, 0, sizeof(*o));
    o->topic = o->metadata = SL_STR_NULL;
    okey_free(k, stack);
}

void
sl_gcoord_offset_del(sl_group_t *g, sl_str_t topic, int32_t partition)
{
    char stack[OKEY_STACK], *k;
    size_t n;
    sl_goffset_t *o;

    k = okey(topic, partition, stack, &n);
    o = sl_map_del(&g->offsets, k, n);
    okey_free(k, stack);
    if (o) {
        sl_goffset_free(o);
        free(o);
    }
}

static int
cmp_offset_ptr(const void *a, const void *b)
{
    const sl_goffset_t *x = *(sl_goffset_t *const *)a, *y = *(sl_goffset_t *const *)b;
    int c = memcmp(x->topic.ptr, y->topic.ptr, (size_t)SL_MIN(x->topic.len, y->topic.len));

    if (c)
        return c;
    if (x->topic.len != y->topic.len)
        return x->topic.len < y->topic.len ? -1 : 1;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

sl_goffset_t **
sl_gcoord_offsets_sorted(const sl_group_t *g, int32_t *n)
{
    sl_goffset_t **v = sl_xmalloc((g->offsets.len ? g->offsets.len : 1) * sizeof(*v));
    size_t it = 0, k = 0;
    const sl_map_slot_t *slot;

    while (sl_map_next(&g->offsets, &it, &slot))
        v[k++] = slot->value;
    qsort(v, k, sizeof(*v), cmp_offset_ptr);
    *n = (int32_t)k;
    return v;
}

/* A commit for (topic, partition) of g still waiting for its write. */
static bool
commit_in_flight(const sl_gcoord_t *gc, const sl_group_t *g, sl_str_t topic, int32_t partition)
{
    for (const sl_gpop_t *pop = gc->pops_head; pop; pop = pop->next) {
        if (pop->group_uid != g->uid)
            continue;
        for (int32_t i = 0; i < pop->n_commits; i++) {
            const sl_gpop_commit_t *c = &pop->commits[i];

            if (!c->cancelled && c->o.partition == partition && sl_str_eq(c->o.topic, topic))
                return true;
        }
    }
    return false;
}

/* Commits of g still in flight that will apply (not cancelled). */
static bool
pending_commits(const sl_gcoord_t *gc, const sl_group_t *g)
{
    for (const sl_gpop_t *pop = gc->pops_head; pop; pop = pop->next) {
        if (pop->group_uid != g->uid)
            continue;
        for (int32_t i = 0; i < pop->n_commits; i++)
            if (!pop->commits[i].cancelled)
                return true;
    }
    return false;
}

/*
 * A set of (topic, partition): deleting a group's 100,000 offsets must not
 * compare every pair, so membership is a hash lookup on "topic" + the
 * partition's 4 bytes.
 */
typedef struct tp_set {
    sl_map_t seen;
    sl_gtp_t *v;
    int32_t n, cap;
} tp_set_t;

static char *
tp_key(sl_str_t topic, int32_t partition, size_t *len)
{
    size_t tl = (size_t)SL_MAX(topic.len, 0);
    char *k = sl_xmalloc(tl + sizeof(partition));

    if (tl)
        memcpy(k, topic.ptr, tl);
    memcpy(k + tl, &partition, sizeof(partition));
    *len = tl + sizeof(partition);
    return k;
}

static bool
tp_set_has(const tp_set_t *s, sl_str_t topic, int32_t partition)
{
    size_t len;
    char *k = tp_key(topic, partition, &len);
    bool has = sl_map_get(&s->seen, k, len) != NULL;

    free(k);
    return has;
}

static void
tp_set_add(tp_set_t *s, sl_str_t topic, int32_t partition)
{
    size_t len;
    char *k = tp_key(topic, partition, &len);

    if (sl_map_get(&s->seen, k, len) == NULL) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->v = sl_xrealloc(s->v, (size_t)s->cap * sizeof(*s->v));
        }
        s->v[s->n++] = (sl_gtp_t){sl_gstr_dup(topic), partition};
        (void)sl_map_put(&s->seen, k, len, s);
    }
    free(k);
}

static void
tp_set_deinit(tp_set_t *s)
{
    for (int32_t i = 0; i < s->n; i++)
        sl_gstr_free(&s->v[i].topic);
    free(s->v);
    sl_map_deinit(&s->seen);
}

void
sl_gcoord_delete_offsets(sl_gcoord_t *gc, sl_group_t *g, const sl_gtp_t *tps, int32_t n_tps,
                         bool all, bool group_tombstone, int64_t now_ms)
{
    tp_set_t del = {0}, asked = {0};
    sl_grecs_t r;

    sl_map_init(&del.seen);
    sl_map_init(&asked.seen);
    /* What goes: committed offsets and commits still in flight (their
     * records land before these tombstones, so the log agrees). */
    if (all) {
        int32_t k;
        sl_goffset_t **v = sl_gcoord_offsets_sorted(g, &k);

        for (int32_t i = 0; i < k; i++)
            tp_set_add(&del, v[i]->topic, v[i]->partition);
        free(v);
    }
    for (int32_t i = 0; i < n_tps; i++) {
        tp_set_add(&asked, tps[i].topic, tps[i].partition);
        if (sl_gcoord_offset_get(g, tps[i].topic, tps[i].partition))
            tp_set_add(&del, tps[i].topic, tps[i].partition);
    }
    for (const sl_gpop_t *pop = gc->pops_head; pop; pop = pop->next) {
        if (pop->group_uid != g->uid)
            continue;
        for (int32_t j = 0; j < pop->n_commits; j++) {
            const sl_goffset_t *o = &pop->commits[j].o;

            if (!pop->commits[j].cancelled && (all || tp_set_has(&asked, o->topic, o->partition)))
                tp_set_add(&del, o->topic, o->partition);
        }
    }
    /* Commits in flight for a deleted partition will not apply. */
    for (sl_gpop_t *pop = gc->pops_head; pop; pop = pop->next) {
        if (pop->group_uid != g->uid)
            continue;
        for (int32_t j = 0; j < pop->n_commits; j++)
            if (tp_set_has(&del, pop->commits[j].o.topic, pop->commits[j].o.partition))
                pop->commits[j].cancelled = true;
    }
    sl_grecs_init(&r);
    for (int32_t i = 0; i < del.n; i++) {
        sl_grecs_begin(&r, now_ms);
        sl_grec_offset_key(&r.buf, g->id, del.v[i].topic, del.v[i].partition);
        sl_grecs_end(&r, true);
        sl_gcoord_offset_del(g, del.v[i].topic, del.v[i].partition);
    }
    tp_set_deinit(&del);
    tp_set_deinit(&asked);
    if (group_tombstone) {
        sl_grecs_begin(&r, now_ms);
        sl_grec_group_key(&r.buf, g->id);
        sl_grecs_end(&r, true);
    }
    if (r.n > 0)
        (void)sl_gcoord_persist(gc, g, &r, NULL);
    sl_grecs_deinit(&r);
}

/* ================================================================ OffsetCommit */

static void
commit_answer_now(sl_gcoord_t *gc, void *cookie, sl_gpart_result_t *res, int32_t n)
{
    sl_gcommit_resp_t r = {.parts = res, .n_parts = n};

    sl_gcoord_emit_commit(gc, cookie, &r);
}

void
sl_gcoord_complete_commit(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err)
{
    sl_group_t *g = sl_gcoord_group_get(gc, pop->group_id);

    if (g && g->uid != pop->group_uid)
        g = NULL;
    for (int32_t i = 0; i < pop->n_commits; i++) {
        sl_gpop_commit_t *c = &pop->commits[i];

        pop->results[c->idx].error_code = err;
        if (err == SL_GKERR_NONE && g && !c->cancelled) {
            c->o.seq = pop->id;
            sl_gcoord_offset_put(g, &c->o);
        }
    }
    if (g)
        g->n_pending_commits--;
    commit_answer_now(gc, pop->cookie, pop->results, pop->n_results);
}

/* Kafka's validateOffsetCommit; NONE when the commit may proceed. */
static int16_t
commit_check(const sl_group_t *g, const sl_gcommit_req_t *req)
{
    sl_str_t mid = req->member_id.len < 0 ? (sl_str_t){"", 0} : req->member_id;
    const sl_gmember_t *sm;

    if (g->state == SL_GSTATE_DEAD)
        return SL_GKERR_COORDINATOR_NOT_AVAILABLE;
    /* A commit without a generation to a group with no members is a
     * "simple" commit whatever member id it carries: Kafka up to 2.2 stored
     * it (the group only uses Kafka for its offsets), and clients that
     * balance through ZooKeeper (pykafka's balanced consumer) commit with
     * generation -1 and their own member id. A static member (instance id)
     * is still checked. */
    if (req->generation_id < 0 && g->state == SL_GSTATE_EMPTY && req->group_instance_id.len < 0)
        return SL_GKERR_NONE;
    if (req->generation_id >= 0 || mid.len > 0 || req->group_instance_id.len >= 0) {
        sm = sl_gcoord_static_member(g, req->group_instance_id);
        if (sm && !sl_str_eq(sm->id, mid))
            return SL_GKERR_FENCED_INSTANCE_ID;
        if (sl_gcoord_member(g, mid) == NULL)
            return SL_GKERR_UNKNOWN_MEMBER_ID;
        if (req->generation_id != g->generation)
            return SL_GKERR_ILLEGAL_GENERATION;
        return SL_GKERR_NONE;
    }
    /* Without a generation only a group nobody is a member of accepts
     * commits (simple consumers, admin tools). */
    return g->state == SL_GSTATE_EMPTY ? SL_GKERR_NONE : SL_GKERR_UNKNOWN_MEMBER_ID;
}

static void
commit_store(sl_gcoord_t *gc, sl_group_t *g, const sl_gcommit_req_t *req, void *cookie,
             sl_gpart_result_t *res, int64_t now_ms)
{
    sl_gpop_t *pop = sl_gpop_new(SL_GPOP_COMMIT, g);
    sl_grecs_t r;

    pop->cookie = cookie;
    pop->n_results = req->n_parts;
    pop->results = sl_xcalloc((size_t)(req->n_parts ? req->n_parts : 1), sizeof(*pop->results));
    pop->commits = sl_xcalloc((size_t)(req->n_parts ? req->n_parts : 1), sizeof(*pop->commits));
    sl_grecs_init(&r);
    for (int32_t i = 0; i < req->n_parts; i++) {
        const sl_gcommit_part_t *p = &req->parts[i];
        sl_gpop_commit_t *c;

        pop->results[i] = res[i];
        pop->results[i].topic = sl_gstr_dup(res[i].topic);
        if (res[i].error_code != SL_GKERR_NONE)
            continue;
        c = &pop->commits[pop->n_commits++];
        c->idx = i;
        c->o.topic = sl_gstr_dup(p->topic);
        c->o.partition = p->partition;
        c->o.offset = p->offset;
        c->o.leader_epoch = p->leader_epoch < 0 ? -1 : p->leader_epoch;
        c->o.metadata = sl_gstr_dup(p->metadata.len < 0 ? (sl_str_t){"", 0} : p->metadata);
        c->o.commit_ts = p->commit_timestamp == -1 ? now_ms : p->commit_timestamp;
        c->o.expire_ts = req->retention_time_ms == -1 ? -1 : now_ms + req->retention_time_ms;
        /* The record with an expire timestamp (v1) has no leader epoch; only
         * v2-4 requests carry a retention and none has an epoch anyway. */
        if (c->o.expire_ts != -1)
            c->o.leader_epoch = -1;
        sl_grecs_begin(&r, c->o.commit_ts);
        sl_grec_offset_key(&r.buf, g->id, c->o.topic, c->o.partition);
        sl_grecs_value_begin(&r);
        sl_grec_offset_value(&r.buf, &c->o);
        sl_grecs_end(&r, false);
    }
    g->n_pending_commits++;
    (void)sl_gcoord_persist(gc, g, &r, pop);
    sl_grecs_deinit(&r);
}

static void
commit_impl(sl_gcoord_t *gc, const sl_gcommit_req_t *req, void *cookie, int64_t now_ms)
{
    int32_t n = req->n_parts, eligible = 0;
    sl_gpart_result_t *res = sl_arena_array(&gc->scratch, (size_t)(n > 0 ? n : 1), sizeof(*res));
    int16_t err = sl_gcoord_check(gc, req->group_id, true);
    sl_group_t *g = NULL;
    sl_gmember_t *m;

    if (err == SL_GKERR_NONE) {
        g = sl_gcoord_group_get(gc, req->group_id);
        if (g == NULL && req->generation_id < 0)
            g = sl_gcoord_group_create(gc, req->group_id); /* offsets-only group */
        else if (g == NULL)
            err = SL_GKERR_ILLEGAL_GENERATION;
    }
    if (err == SL_GKERR_NONE)
        err = commit_check(g, req);
    if (err == SL_GKERR_NONE && g->state == SL_GSTATE_COMPLETING)
        err = SL_GKERR_REBALANCE_IN_PROGRESS;
    for (int32_t i = 0; i < n; i++) {
        const sl_gcommit_part_t *p = &req->parts[i];

        res[i].topic = p->topic;
        res[i].partition = p->partition;
        res[i].error_code = p->error_code ? p->error_code : err;
        if (res[i].error_code == SL_GKERR_NONE &&
            p->metadata.len > gc->cfg.offset_metadata_max_bytes)
            res[i].error_code = SL_GKERR_OFFSET_METADATA_TOO_LARGE;
        eligible += res[i].error_code == SL_GKERR_NONE;
    }
    if (eligible == 0) {
        commit_answer_now(gc, cookie, res, n);
        return;
    }
    /* Stable or PreparingRebalance: a commit counts as a heartbeat. */
    m = sl_gcoord_member(g, req->member_id.len < 0 ? (sl_str_t){"", 0} : req->member_id);
    if (m && g->state != SL_GSTATE_EMPTY)
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
    commit_store(gc, g, req, cookie, res, now_ms);
}

sl_gcoord_res_t
sl_gcoord_commit(sl_gcoord_t *gc, const sl_gcommit_req_t *req, void *cookie, int64_t now_ms,
                 sl_arena_t *a, sl_gcommit_resp_t *resp)
{
    bool done;

    SL_ASSERT(cookie != NULL);
    memset(resp, 0, sizeof(*resp));
    sl_gcoord_enter(gc);
    sl_gcoord_capture(gc, cookie, a, resp);
    commit_impl(gc, req, cookie, now_ms);
    sl_gcoord_leave_call(gc);
    done = gc->cur_done;
    sl_gcoord_capture(gc, NULL, NULL, NULL);
    return done ? SL_GCOORD_DONE : SL_GCOORD_PENDING;
}

/* ================================================================ OffsetFetch */

static void
fetch_fill(sl_arena_t *a, sl_gfetch_result_t *r, sl_str_t topic, int32_t partition,
           const sl_goffset_t *o, int16_t err)
{
    r->topic = sl_gstr_arena(a, topic);
    r->partition = partition;
    r->offset = o ? o->offset : -1;
    r->leader_epoch = o ? o->leader_epoch : -1;
    r->metadata = o ? sl_gstr_arena(a, o->metadata) : (sl_str_t){"", 0};
    r->error_code = err;
}

void
sl_gcoord_fetch(sl_gcoord_t *gc, sl_str_t group_id, const sl_gtp_t *parts, int32_t n_parts,
                bool all, sl_arena_t *a, sl_gfetch_resp_t *resp)
{
    sl_group_t *g = NULL;

    memset(resp, 0, sizeof(*resp));
    resp->error_code = sl_gcoord_check(gc, group_id, true);
    if (resp->error_code == SL_GKERR_NONE)
        g = sl_gcoord_group_get(gc, group_id);
    if (g && g->state == SL_GSTATE_DEAD)
        g = NULL;
    if (all) {
        sl_goffset_t **v;
        int32_t n;

        if (g == NULL)
            return;
        v = sl_gcoord_offsets_sorted(g, &n);
        resp->parts = sl_arena_array(a, (size_t)(n ? n : 1), sizeof(*resp->parts));
        for (int32_t i = 0; i < n; i++)
            fetch_fill(a, &resp->parts[i], v[i]->topic, v[i]->partition, v[i], SL_GKERR_NONE);
        resp->n_parts = n;
        free(v);
        return;
    }
    /* Unknown groups and partitions answer -1 without error: the group may
     * use Kafka only for offsets, or not have committed yet. */
    resp->n_parts = n_parts;
    resp->parts = sl_arena_array(a, (size_t)(n_parts > 0 ? n_parts : 1), sizeof(*resp->parts));
    for (int32_t i = 0; i < n_parts; i++)
        fetch_fill(a, &resp->parts[i], parts[i].topic, parts[i].partition,
                   g ? sl_gcoord_offset_get(g, parts[i].topic, parts[i].partition) : NULL,
                   resp->error_code);
}

/* ================================================================ OffsetDelete */

static bool
subscribed(const sl_group_t *g, sl_str_t topic)
{
    if (!g->topics_known)
        return false;
    for (int32_t i = 0; i < g->n_topics; i++)
        if (sl_str_eq(g->topics[i], topic))
            return true;
    return false;
}

void
sl_gcoord_offset_delete(sl_gcoord_t *gc, sl_str_t group_id, const sl_gtp_t *parts, int32_t n_parts,
                        int64_t now_ms, sl_arena_t *a, sl_goffset_delete_resp_t *resp)
{
    sl_group_t *g = NULL;
    sl_gtp_t *del;
    int32_t n_del = 0;
    bool consumer;

    memset(resp, 0, sizeof(*resp));
    resp->error_code = sl_gcoord_check(gc, group_id, false);
    if (resp->error_code == SL_GKERR_NONE) {
        g = sl_gcoord_group_get(gc, group_id);
        if (g == NULL || g->state == SL_GSTATE_DEAD)
            resp->error_code = SL_GKERR_GROUP_ID_NOT_FOUND;
    }
    consumer = g && sl_str_eq_c(g->protocol_type, "consumer");
    if (g && g->state != SL_GSTATE_EMPTY && !consumer)
        resp->error_code = SL_GKERR_NON_EMPTY_GROUP;
    if (resp->error_code != SL_GKERR_NONE)
        return;
    sl_gcoord_enter(gc);
    resp->n_parts = n_parts;
    resp->parts = sl_arena_array(a, (size_t)(n_parts > 0 ? n_parts : 1), sizeof(*resp->parts));
    del = sl_xmalloc((size_t)(n_parts > 0 ? n_parts : 1) * sizeof(*del));
    for (int32_t i = 0; i < n_parts; i++) {
        sl_gpart_result_t *r = &resp->parts[i];

        r->topic = sl_gstr_arena(a, parts[i].topic);
        r->partition = parts[i].partition;
        r->error_code = SL_GKERR_NONE;
        if (g->state != SL_GSTATE_EMPTY && subscribed(g, parts[i].topic))
            r->error_code = SL_GKERR_GROUP_SUBSCRIBED_TO_TOPIC;
        else if (parts[i].topic.len >= 0)
            del[n_del++] = parts[i];
    }
    sl_gcoord_delete_offsets(gc, g, del, n_del, false, false, now_ms);
    free(del);
    /* An Empty group left without offsets is gone (Kafka's cleanup). */
    if (g->state == SL_GSTATE_EMPTY && g->offsets.len == 0 && !pending_commits(gc, g)) {
        g->state = SL_GSTATE_DEAD;
        sl_gcoord_delete_offsets(gc, g, NULL, 0, false, g->generation > 0, now_ms);
        sl_gcoord_group_drop(gc, g, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
    }
    sl_gcoord_leave_call(gc);
}

/* ================================================================ retention */

static bool
expired(const sl_goffset_t *o, int64_t base_ts, int64_t now_ms, int64_t retention_ms)
{
    if (o->expire_ts != -1)
        return now_ms >= o->expire_ts; /* old clients' explicit retention */
    return now_ms - base_ts >= retention_ms;
}

static void
cleanup_group(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    int64_t ret = gc->cfg.offsets_retention_ms;
    int32_t n, k = 0;
    sl_goffset_t **v = sl_gcoord_offsets_sorted(g, &n);
    bool empty_typed = g->protocol_type.len >= 0 && g->state == SL_GSTATE_EMPTY;
    bool stable_consumer = sl_str_eq_c(g->protocol_type, "consumer") && g->topics_known &&
                           g->state == SL_GSTATE_STABLE;
    bool simple = g->protocol_type.len < 0;

    for (int32_t i = 0; i < n; i++) {
        sl_goffset_t *o = v[i];
        bool exp = false;

        if (commit_in_flight(gc, g, o->topic, o->partition))
            continue;
        if (empty_typed)
            exp = expired(o, g->state_ts != -1 ? g->state_ts : o->commit_ts, now_ms, ret);
        else if (stable_consumer)
            exp = !subscribed(g, o->topic) && expired(o, o->commit_ts, now_ms, ret);
        else if (simple)
            exp = expired(o, o->commit_ts, now_ms, ret);
        if (exp)
            v[k++] = o;
    }
    {
        sl_gtp_t *tps = sl_xmalloc((size_t)(k ? k : 1) * sizeof(*tps));
        bool dead =
            g->state == SL_GSTATE_EMPTY && g->offsets.len == (size_t)k && !pending_commits(gc, g);

        for (int32_t i = 0; i < k; i++)
            tps[i] = (sl_gtp_t){v[i]->topic, v[i]->partition};
        free(v);
        /* Empty and nothing left to remember: the group is gone too. */
        if (dead)
            g->state = SL_GSTATE_DEAD;
        sl_gcoord_delete_offsets(gc, g, tps, k, false, dead && g->generation > 0, now_ms);
        free(tps);
        if (dead)
            sl_gcoord_group_drop(gc, g, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
    }
}

void
sl_gcoord_cleanup(sl_gcoord_t *gc, int64_t now_ms)
{
    size_t n;
    sl_group_t **v = sl_gcoord_groups_sorted(gc, -1, &n);

    for (size_t i = 0; i < n; i++)
        if (gc->part_state[v[i]->partition] == SL_GPART_ACTIVE)
            cleanup_group(gc, v[i], now_ms);
    free(v);
}
