/*
 * gcoord.c -- the coordinator's core: lifecycle, partition ownership, the
 * group table and deadline heap, timers, completions and the persist/ack
 * plumbing, plus the administrative APIs (DescribeGroups, ListGroups,
 * DeleteGroups). Membership lives in gcoord_join.c, offsets in
 * gcoord_offsets.c, the record formats in grecord.c.
 *
 * Every public entry point brackets its work with sl_gcoord_enter /
 * sl_gcoord_leave_call. Leaving the outermost call runs acknowledgements that
 * arrived from inside callbacks, reschedules the groups whose timers changed
 * and releases the scratch memory used for callback responses.
 */
#include "group/group_int.h"

#include <sys/random.h>
#include <time.h>

/* ================================================================ strings */

sl_str_t
sl_gstr_dup(sl_str_t s)
{
    if (s.len < 0)
        return SL_STR_NULL;
    return (sl_str_t){sl_str_dup(s), s.len};
}

void
sl_gstr_free(sl_str_t *s)
{
    if (s->len >= 0)
        free((void *)s->ptr);
    *s = SL_STR_NULL;
}

sl_bytes_t
sl_gbytes_dup(sl_bytes_t b)
{
    uint8_t *p;

    if (b.len < 0)
        return SL_BYTES_NULL;
    p = sl_xmalloc((size_t)b.len + 1);
    if (b.len > 0)
        memcpy(p, b.ptr, (size_t)b.len);
    return (sl_bytes_t){p, b.len};
}

void
sl_gbytes_free(sl_bytes_t *b)
{
    if (b->len >= 0)
        free((void *)b->ptr);
    *b = SL_BYTES_NULL;
}

sl_str_t
sl_gstr_arena(sl_arena_t *a, sl_str_t s)
{
    if (s.len < 0)
        return SL_STR_NULL;
    return (sl_str_t){sl_arena_strdup(a, s), s.len};
}

sl_bytes_t
sl_gbytes_arena(sl_arena_t *a, sl_bytes_t b)
{
    if (b.len < 0)
        return SL_BYTES_NULL;
    if (b.len == 0)
        return (sl_bytes_t){(const uint8_t *)"", 0};
    return (sl_bytes_t){sl_arena_memdup(a, b.ptr, (size_t)b.len), b.len};
}

void
sl_gprotos_free(sl_gmproto_t *p, int32_t n)
{
    for (int32_t i = 0; p && i < n; i++) {
        sl_gstr_free(&p[i].name);
        sl_gbytes_free(&p[i].metadata);
    }
    free(p);
}

/* Copies a member's protocols, keeping the first of duplicate names (the
 * request's protocols are a map keyed by name in Kafka). */
sl_gmproto_t *
sl_gprotos_dup(const sl_gproto_t *p, int32_t n, int32_t *n_out)
{
    sl_gmproto_t *out = sl_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*out));
    sl_map_t seen; /* a hash set: duplicates are dropped in linear time */
    int32_t k = 0;

    sl_map_init(&seen);
    for (int32_t i = 0; i < n; i++) {
        sl_str_t name = p[i].name.len <= 0 ? SL_STR_LIT("") : p[i].name;

        if (sl_map_get(&seen, name.ptr, (size_t)name.len) != NULL)
            continue;
        (void)sl_map_put(&seen, name.ptr, (size_t)name.len, &out[k]);
        out[k].name = sl_gstr_dup(name);
        out[k].metadata =
            sl_gbytes_dup(p[i].metadata.len < 0 ? (sl_bytes_t){NULL, 0} : p[i].metadata);
        k++;
    }
    sl_map_deinit(&seen);
    *n_out = k;
    return out;
}

/* ================================================================ lifecycle */

void
sl_gcoord_config_default(sl_gcoord_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->num_partitions = 50;
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->max_size = INT32_MAX;
    cfg->offsets_retention_ms = 7LL * 24 * 60 * 60 * 1000;
    cfg->retention_check_interval_ms = 600000;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->new_member_join_timeout_ms = 300000;
}

sl_gcoord_t *
sl_gcoord_new(const sl_gcoord_config_t *cfg, const sl_gcoord_cbs_t *cbs)
{
    sl_gcoord_t *gc = sl_xcalloc(1, sizeof(*gc));

    gc->cfg = *cfg;
    if (gc->cfg.num_partitions <= 0)
        gc->cfg.num_partitions = 1;
    gc->cbs = *cbs;
    sl_map_init(&gc->groups);
    gc->part_state = sl_xcalloc((size_t)gc->cfg.num_partitions, 1);
    gc->next_cleanup = SL_GNEVER;
    gc->rng = cfg->seed;
    if (gc->rng == 0 && getrandom(&gc->rng, sizeof(gc->rng), 0) != (ssize_t)sizeof(gc->rng))
        gc->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)gc;
    gc->next_uid = 1;
    sl_arena_init(&gc->scratch, 4096);
    return gc;
}

static void
pop_free(sl_gpop_t *pop)
{
    sl_gstr_free(&pop->group_id);
    sl_gbytes_free(&pop->meta);
    sl_gprotos_free(pop->assign, pop->n_assign);
    sl_gstr_free(&pop->new_id);
    sl_gstr_free(&pop->old_id);
    sl_gstr_free(&pop->leader);
    sl_gprotos_free(pop->old_protocols, pop->n_old_protocols);
    for (int32_t i = 0; i < pop->n_results; i++)
        sl_gstr_free(&pop->results[i].topic);
    free(pop->results);
    for (int32_t i = 0; i < pop->n_commits; i++)
        sl_goffset_free(&pop->commits[i].o);
    free(pop->commits);
    free(pop);
}

static void
pop_unlink(sl_gcoord_t *gc, sl_gpop_t *pop)
{
    if (pop->prev)
        pop->prev->next = pop->next;
    else
        gc->pops_head = pop->next;
    if (pop->next)
        pop->next->prev = pop->prev;
    else
        gc->pops_tail = pop->prev;
    pop->next = pop->prev = NULL;
}

void
sl_gcoord_free(sl_gcoord_t *gc)
{
    size_t it = 0;
    const sl_map_slot_t *slot;

    if (gc == NULL)
        return;
    sl_gcoord_enter(gc);
    while (it = 0, sl_map_next(&gc->groups, &it, &slot))
        sl_gcoord_group_drop(gc, slot->value, SL_GKERR_NOT_COORDINATOR);
    while (gc->pops_head) {
        sl_gpop_t *pop = gc->pops_head;

        pop_unlink(gc, pop);
        if (pop->kind == SL_GPOP_COMMIT)
            sl_gcoord_complete_commit(gc, pop, SL_GKERR_NOT_COORDINATOR);
        pop_free(pop);
    }
    gc->depth--;
    sl_map_deinit(&gc->groups);
    free(gc->part_state);
    free(gc->heap);
    free(gc->deferred);
    free(gc->dirty);
    sl_arena_deinit(&gc->scratch);
    free(gc);
}

/* ================================================================ calls */

static void ack_now(sl_gcoord_t *gc, uint64_t id, int16_t err, int64_t now_ms);
static void heap_update(sl_gcoord_t *gc, sl_group_t *g);

void
sl_gcoord_enter(sl_gcoord_t *gc)
{
    /* Callbacks must not re-enter (only sl_gcoord_persisted, deferred). */
    SL_ASSERT(!gc->in_cb);
    gc->depth++;
    gc->call_seq++;
}

void
sl_gcoord_leave_call(sl_gcoord_t *gc)
{
    if (gc->depth == 1) {
        for (size_t i = 0; i < gc->n_deferred; i++)
            ack_now(gc, gc->deferred[i].id, gc->deferred[i].err, gc->deferred[i].now);
        gc->n_deferred = 0;
        for (size_t i = 0; i < gc->n_dirty; i++) {
            gc->dirty[i]->dirty = false;
            heap_update(gc, gc->dirty[i]);
        }
        gc->n_dirty = 0;
        sl_arena_reset(&gc->scratch);
    }
    gc->depth--;
}

void
sl_gcoord_capture(sl_gcoord_t *gc, void *cookie, sl_arena_t *a, void *resp)
{
    gc->cur_cookie = cookie;
    gc->cur_arena = a;
    gc->cur_resp = resp;
    gc->cur_done = false;
}

/* ================================================================ groups */

int16_t
sl_gcoord_check(sl_gcoord_t *gc, sl_str_t group_id, bool allow_empty)
{
    int32_t p;

    if (group_id.len < 0 || (group_id.len == 0 && !allow_empty))
        return SL_GKERR_INVALID_GROUP_ID;
    p = sl_gcoord_partition_for(group_id, gc->cfg.num_partitions);
    switch (gc->part_state[p]) {
    case SL_GPART_ACTIVE:
        return SL_GKERR_NONE;
    case SL_GPART_LOADING:
        return SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS;
    default:
        return SL_GKERR_NOT_COORDINATOR;
    }
}

sl_group_t *
sl_gcoord_group_get(sl_gcoord_t *gc, sl_str_t id)
{
    return sl_map_get_str(&gc->groups, id);
}

sl_group_t *
sl_gcoord_group_create(sl_gcoord_t *gc, sl_str_t id)
{
    sl_group_t *g = sl_xcalloc(1, sizeof(*g));

    g->id = sl_gstr_dup(id);
    g->uid = gc->next_uid++;
    g->partition = sl_gcoord_partition_for(id, gc->cfg.num_partitions);
    g->state = SL_GSTATE_EMPTY;
    g->protocol_type = SL_STR_NULL;
    g->protocol_name = SL_STR_NULL;
    g->state_ts = -1;
    g->join_timer.at = SL_GNEVER;
    g->sync_timer.at = SL_GNEVER;
    sl_map_init(&g->offsets);
    g->last_meta = SL_BYTES_NULL;
    /* Anything persisted for an earlier group of the same id is older. */
    g->last_meta_seq = gc->next_persist_id;
    g->heap_idx = SIZE_MAX;
    g->deadline = SL_GNEVER;
    sl_map_put(&gc->groups, id.ptr, (size_t)id.len, g);
    return g;
}

static void
heap_swap(sl_gcoord_t *gc, size_t i, size_t j)
{
    sl_group_t *t = gc->heap[i];

    gc->heap[i] = gc->heap[j];
    gc->heap[j] = t;
    gc->heap[i]->heap_idx = i;
    gc->heap[j]->heap_idx = j;
}

static void
heap_sift(sl_gcoord_t *gc, size_t i)
{
    while (i > 0 && gc->heap[(i - 1) / 2]->deadline > gc->heap[i]->deadline) {
        heap_swap(gc, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < gc->heap_len && gc->heap[l]->deadline < gc->heap[m]->deadline)
            m = l;
        if (r < gc->heap_len && gc->heap[r]->deadline < gc->heap[m]->deadline)
            m = r;
        if (m == i)
            return;
        heap_swap(gc, i, m);
        i = m;
    }
}

static void
heap_remove(sl_gcoord_t *gc, sl_group_t *g)
{
    size_t i = g->heap_idx;

    if (i == SIZE_MAX)
        return;
    heap_swap(gc, i, gc->heap_len - 1);
    gc->heap_len--;
    g->heap_idx = SIZE_MAX;
    if (i < gc->heap_len)
        heap_sift(gc, i);
}

static int64_t
group_deadline(const sl_group_t *g)
{
    int64_t d = SL_MIN(g->join_timer.at, g->sync_timer.at);

    for (int32_t i = 0; i < g->n_members; i++)
        d = SL_MIN(d, g->members[i]->session.at);
    for (int32_t i = 0; i < g->n_pending; i++)
        d = SL_MIN(d, g->pending[i].timer.at);
    return d;
}

static void
heap_update(sl_gcoord_t *gc, sl_group_t *g)
{
    g->deadline = group_deadline(g);
    if (g->deadline == SL_GNEVER) {
        heap_remove(gc, g);
        return;
    }
    if (g->heap_idx == SIZE_MAX) {
        if (gc->heap_len == gc->heap_cap) {
            gc->heap_cap = gc->heap_cap ? gc->heap_cap * 2 : 16;
            gc->heap = sl_xrealloc(gc->heap, gc->heap_cap * sizeof(*gc->heap));
        }
        g->heap_idx = gc->heap_len;
        gc->heap[gc->heap_len++] = g;
    }
    heap_sift(gc, g->heap_idx);
}

void
sl_gcoord_dirty(sl_gcoord_t *gc, sl_group_t *g)
{
    if (g->dirty)
        return;
    if (gc->n_dirty == gc->cap_dirty) {
        gc->cap_dirty = gc->cap_dirty ? gc->cap_dirty * 2 : 16;
        gc->dirty = sl_xrealloc(gc->dirty, gc->cap_dirty * sizeof(*gc->dirty));
    }
    g->dirty = true;
    gc->dirty[gc->n_dirty++] = g;
}

void
sl_gcoord_arm(sl_gcoord_t *gc, sl_group_t *g, sl_gtimer_t *t, int64_t at)
{
    t->at = at;
    t->armed = gc->call_seq;
    sl_gcoord_dirty(gc, g);
}

void
sl_gcoord_transition(sl_gcoord_t *gc, sl_group_t *g, sl_gstate_t to, int64_t now_ms)
{
    (void)gc;
    g->state = to;
    g->state_ts = now_ms;
}

void
sl_gcoord_group_drop(sl_gcoord_t *gc, sl_group_t *g, int16_t err)
{
    sl_gjoin_resp_t jr = {.error_code = err,
                          .generation_id = -1,
                          .member_id = SL_STR_LIT(""),
                          .leader = SL_STR_LIT("")};
    sl_gsync_resp_t sr = {.error_code = err, .assignment = {(const uint8_t *)"", 0}};

    /* Parked requests of its members get err; commits waiting for their
     * write still get answered then, but no longer apply. */
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_gmember_t *m = g->members[i];
        void *jc = m->join_cookie, *sc = m->sync_cookie;

        m->join_cookie = m->sync_cookie = NULL;
        jr.member_id = m->id;
        sl_gcoord_emit_join(gc, jc, &jr, m->join_version);
        sl_gcoord_emit_sync(gc, sc, &sr);
    }
    for (sl_gpop_t *pop = gc->pops_head; pop; pop = pop->next) {
        if (pop->group_uid == g->uid)
            for (int32_t i = 0; i < pop->n_commits; i++)
                pop->commits[i].cancelled = true;
    }
    for (size_t i = 0; i < gc->n_dirty; i++) {
        if (gc->dirty[i] == g) {
            gc->dirty[i] = gc->dirty[--gc->n_dirty];
            break;
        }
    }
    heap_remove(gc, g);
    sl_map_del(&gc->groups, g->id.ptr, (size_t)g->id.len);
    for (int32_t i = 0; i < g->n_members; i++)
        sl_gcoord_member_free(g->members[i]);
    free(g->members);
    for (int32_t i = 0; i < g->n_pending; i++)
        sl_gstr_free(&g->pending[i].id);
    free(g->pending);
    for (int32_t i = 0; i < g->n_topics; i++)
        sl_gstr_free(&g->topics[i]);
    free(g->topics);
    sl_gcoord_offsets_clear(g);
    sl_map_deinit(&g->offsets);
    sl_gstr_free(&g->protocol_type);
    sl_gstr_free(&g->protocol_name);
    sl_gbytes_free(&g->last_meta);
    sl_gstr_free(&g->id);
    free(g);
}

sl_gmember_t *
sl_gcoord_member(const sl_group_t *g, sl_str_t id)
{
    for (int32_t i = 0; i < g->n_members; i++)
        if (sl_str_eq(g->members[i]->id, id))
            return g->members[i];
    return NULL;
}

sl_gmember_t *
sl_gcoord_static_member(const sl_group_t *g, sl_str_t instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (int32_t i = 0; i < g->n_members; i++)
        if (sl_str_eq(g->members[i]->instance_id, instance_id))
            return g->members[i];
    return NULL;
}

const char *
sl_gcoord_state_name(sl_gstate_t s)
{
    switch (s) {
    case SL_GSTATE_EMPTY:
        return "Empty";
    case SL_GSTATE_PREPARING:
        return "PreparingRebalance";
    case SL_GSTATE_COMPLETING:
        return "CompletingRebalance";
    case SL_GSTATE_STABLE:
        return "Stable";
    default:
        return "Dead";
    }
}

/* ================================================================ completions */

static void
join_copy(sl_arena_t *a, const sl_gjoin_resp_t *in, int16_t version, sl_gjoin_resp_t *out)
{
    *out = *in;
    out->protocol_type = sl_gstr_arena(a, in->protocol_type);
    out->protocol_name = sl_gstr_arena(a, in->protocol_name);
    /* ProtocolName is nullable only from v7. */
    if (out->protocol_name.len < 0 && version < 7)
        out->protocol_name = SL_STR_LIT("");
    out->leader = sl_gstr_arena(a, in->leader.len < 0 ? SL_STR_LIT("") : in->leader);
    out->member_id = sl_gstr_arena(a, in->member_id.len < 0 ? SL_STR_LIT("") : in->member_id);
    out->members = NULL;
    if (in->n_members > 0) {
        out->members = sl_arena_array(a, (size_t)in->n_members, sizeof(*out->members));
        for (int32_t i = 0; i < in->n_members; i++) {
            out->members[i].member_id = sl_gstr_arena(a, in->members[i].member_id);
            out->members[i].group_instance_id = sl_gstr_arena(a, in->members[i].group_instance_id);
            out->members[i].metadata = sl_gbytes_arena(a, in->members[i].metadata);
        }
    }
}

void
sl_gcoord_emit_join(sl_gcoord_t *gc, void *cookie, const sl_gjoin_resp_t *resp, int16_t version)
{
    sl_gjoin_resp_t copy;

    if (cookie == NULL)
        return;
    if (cookie == gc->cur_cookie && !gc->cur_done) {
        join_copy(gc->cur_arena, resp, version, gc->cur_resp);
        gc->cur_done = true;
        return;
    }
    join_copy(&gc->scratch, resp, version, &copy);
    gc->in_cb = true;
    gc->cbs.join_done(gc->cbs.ctx, cookie, &copy);
    gc->in_cb = false;
}

static void
sync_copy(sl_arena_t *a, const sl_gsync_resp_t *in, sl_gsync_resp_t *out)
{
    *out = *in;
    out->protocol_type = sl_gstr_arena(a, in->protocol_type);
    out->protocol_name = sl_gstr_arena(a, in->protocol_name);
    out->assignment =
        sl_gbytes_arena(a, in->assignment.len < 0 ? (sl_bytes_t){NULL, 0} : in->assignment);
}

void
sl_gcoord_emit_sync(sl_gcoord_t *gc, void *cookie, const sl_gsync_resp_t *resp)
{
    sl_gsync_resp_t copy;

    if (cookie == NULL)
        return;
    if (cookie == gc->cur_cookie && !gc->cur_done) {
        sync_copy(gc->cur_arena, resp, gc->cur_resp);
        gc->cur_done = true;
        return;
    }
    sync_copy(&gc->scratch, resp, &copy);
    gc->in_cb = true;
    gc->cbs.sync_done(gc->cbs.ctx, cookie, &copy);
    gc->in_cb = false;
}

static void
commit_copy(sl_arena_t *a, const sl_gcommit_resp_t *in, sl_gcommit_resp_t *out)
{
    *out = *in;
    out->parts =
        sl_arena_array(a, (size_t)(in->n_parts > 0 ? in->n_parts : 1), sizeof(*out->parts));
    for (int32_t i = 0; i < in->n_parts; i++) {
        out->parts[i] = in->parts[i];
        out->parts[i].topic = sl_gstr_arena(a, in->parts[i].topic);
    }
}

void
sl_gcoord_emit_commit(sl_gcoord_t *gc, void *cookie, const sl_gcommit_resp_t *resp)
{
    sl_gcommit_resp_t copy;

    if (cookie == NULL)
        return;
    if (cookie == gc->cur_cookie && !gc->cur_done) {
        commit_copy(gc->cur_arena, resp, gc->cur_resp);
        gc->cur_done = true;
        return;
    }
    commit_copy(&gc->scratch, resp, &copy);
    gc->in_cb = true;
    gc->cbs.commit_done(gc->cbs.ctx, cookie, &copy);
    gc->in_cb = false;
}

/* ================================================================ persisting */

void
sl_grecs_init(sl_grecs_t *r)
{
    memset(r, 0, sizeof(*r));
}

void
sl_grecs_deinit(sl_grecs_t *r)
{
    sl_buf_deinit(&r->buf);
    free(r->items);
    memset(r, 0, sizeof(*r));
}

void
sl_grecs_begin(sl_grecs_t *r, int64_t ts)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->items = sl_xrealloc(r->items, (size_t)r->cap * sizeof(*r->items));
    }
    r->items[r->n].koff = r->buf.len;
    r->items[r->n].ts = ts;
}

void
sl_grecs_value_begin(sl_grecs_t *r)
{
    r->items[r->n].klen = r->buf.len - r->items[r->n].koff;
    r->items[r->n].voff = r->buf.len;
}

void
sl_grecs_end(sl_grecs_t *r, bool tombstone)
{
    if (tombstone) {
        r->items[r->n].klen = r->buf.len - r->items[r->n].koff;
        r->items[r->n].voff = r->buf.len;
        r->items[r->n].vlen = -1;
    } else {
        r->items[r->n].vlen = (int32_t)(r->buf.len - r->items[r->n].voff);
    }
    r->n++;
}

sl_gpop_t *
sl_gpop_new(sl_gpop_kind_t kind, const sl_group_t *g)
{
    sl_gpop_t *pop = sl_xcalloc(1, sizeof(*pop));

    pop->kind = kind;
    pop->group_id = sl_gstr_dup(g->id);
    pop->group_uid = g->uid;
    pop->meta = SL_BYTES_NULL;
    pop->new_id = pop->old_id = pop->leader = SL_STR_NULL;
    return pop;
}

uint64_t
sl_gcoord_persist(sl_gcoord_t *gc, sl_group_t *g, sl_grecs_t *r, sl_gpop_t *pop)
{
    uint64_t id = ++gc->next_persist_id;
    sl_grecord_t *recs = sl_arena_array(&gc->scratch, (size_t)(r->n > 0 ? r->n : 1), sizeof(*recs));

    for (int32_t i = 0; i < r->n; i++) {
        recs[i].key = (sl_bytes_t){r->buf.data + r->items[i].koff, (int32_t)r->items[i].klen};
        recs[i].value = r->items[i].vlen < 0
                            ? SL_BYTES_NULL
                            : (sl_bytes_t){r->buf.data + r->items[i].voff, r->items[i].vlen};
        recs[i].timestamp_ms = r->items[i].ts;
    }
    if (pop) {
        pop->id = id;
        pop->prev = gc->pops_tail;
        if (gc->pops_tail)
            gc->pops_tail->next = pop;
        else
            gc->pops_head = pop;
        gc->pops_tail = pop;
    }
    gc->in_cb = true;
    gc->cbs.persist(gc->cbs.ctx, g->partition, g->id, recs, r->n, id);
    gc->in_cb = false;
    return id;
}

static void
ack_now(sl_gcoord_t *gc, uint64_t id, int16_t err, int64_t now_ms)
{
    sl_gpop_t *pop;
    sl_group_t *g;

    for (pop = gc->pops_head; pop && pop->id != id; pop = pop->next)
        ;
    if (pop == NULL)
        return; /* nobody waits for this write */
    pop_unlink(gc, pop);
    g = sl_gcoord_group_get(gc, pop->group_id);
    if (g && g->uid != pop->group_uid)
        g = NULL;
    if (g && pop->has_meta && err == SL_GKERR_NONE && pop->id > g->last_meta_seq) {
        sl_gbytes_free(&g->last_meta);
        g->last_meta = pop->meta;
        pop->meta = SL_BYTES_NULL;
        g->last_meta_seq = pop->id;
    }
    switch (pop->kind) {
    case SL_GPOP_SYNC:
        sl_gcoord_complete_sync_store(gc, pop, err, now_ms);
        break;
    case SL_GPOP_STATIC:
        sl_gcoord_complete_static(gc, pop, err, now_ms);
        break;
    case SL_GPOP_COMMIT:
        sl_gcoord_complete_commit(gc, pop, err);
        break;
    case SL_GPOP_PLAIN:
        break;
    }
    pop_free(pop);
}

void
sl_gcoord_persisted(sl_gcoord_t *gc, uint64_t persist_id, int16_t error_code, int64_t now_ms)
{
    if (gc->depth > 0) {
        /* From inside a callback: run it when the outer call unwinds. */
        if (gc->n_deferred == gc->cap_deferred) {
            gc->cap_deferred = gc->cap_deferred ? gc->cap_deferred * 2 : 8;
            gc->deferred = sl_xrealloc(gc->deferred, gc->cap_deferred * sizeof(*gc->deferred));
        }
        gc->deferred[gc->n_deferred].id = persist_id;
        gc->deferred[gc->n_deferred].err = error_code;
        gc->deferred[gc->n_deferred].now = now_ms;
        gc->n_deferred++;
        return;
    }
    sl_gcoord_enter(gc);
    ack_now(gc, persist_id, error_code, now_ms);
    sl_gcoord_leave_call(gc);
}

/* ================================================================ time */

int64_t
sl_gcoord_next_deadline(const sl_gcoord_t *gc)
{
    int64_t d = gc->heap_len ? gc->heap[0]->deadline : SL_GNEVER;

    return SL_MIN(d, gc->next_cleanup);
}

void
sl_gcoord_tick(sl_gcoord_t *gc, int64_t now_ms)
{
    sl_group_t **due = NULL;
    size_t n = 0, cap = 0;
    uint64_t tick_seq;

    sl_gcoord_enter(gc);
    tick_seq = gc->call_seq;
    /* Take the due groups out first: their timers may re-arm for "now". */
    while (gc->heap_len && gc->heap[0]->deadline <= now_ms) {
        sl_group_t *g = gc->heap[0];

        heap_remove(gc, g);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            due = sl_xrealloc(due, cap * sizeof(*due));
        }
        due[n++] = g;
    }
    for (size_t i = 0; i < n; i++) {
        sl_gcoord_fire_timers(gc, due[i], now_ms, tick_seq);
        sl_gcoord_dirty(gc, due[i]);
    }
    free(due);
    if (now_ms >= gc->next_cleanup) {
        sl_gcoord_cleanup(gc, now_ms);
        gc->next_cleanup = now_ms + gc->cfg.retention_check_interval_ms;
    }
    sl_gcoord_leave_call(gc);
}

/* ================================================================ partitions */

void
sl_gcoord_load_begin(sl_gcoord_t *gc, int32_t partition)
{
    if (partition < 0 || partition >= gc->cfg.num_partitions)
        return;
    sl_gcoord_unload(gc, partition);
    gc->part_state[partition] = SL_GPART_LOADING;
}

void
sl_gcoord_load_end(sl_gcoord_t *gc, int32_t partition, int64_t now_ms)
{
    size_t it = 0;
    const sl_map_slot_t *slot;

    if (partition < 0 || partition >= gc->cfg.num_partitions)
        return;
    sl_gcoord_enter(gc);
    gc->part_state[partition] = SL_GPART_ACTIVE;
    /* Loaded members get a full session from now (Kafka schedules their
     * heartbeats when the group is loaded). */
    while (sl_map_next(&gc->groups, &it, &slot)) {
        sl_group_t *g = slot->value;

        if (g->partition != partition)
            continue;
        for (int32_t i = 0; i < g->n_members; i++)
            sl_gcoord_arm(gc, g, &g->members[i]->session,
                          now_ms + g->members[i]->session_timeout_ms);
    }
    if (gc->next_cleanup == SL_GNEVER)
        gc->next_cleanup = now_ms + gc->cfg.retention_check_interval_ms;
    sl_gcoord_leave_call(gc);
}

void
sl_gcoord_unload(sl_gcoord_t *gc, int32_t partition)
{
    size_t it = 0;
    const sl_map_slot_t *slot;

    if (partition < 0 || partition >= gc->cfg.num_partitions)
        return;
    sl_gcoord_enter(gc);
    gc->part_state[partition] = SL_GPART_NONE;
    while (sl_map_next(&gc->groups, &it, &slot)) {
        sl_group_t *g = slot->value;

        /* Deleting the current entry is safe for the iterator. */
        if (g->partition == partition)
            sl_gcoord_group_drop(gc, g, SL_GKERR_NOT_COORDINATOR);
    }
    sl_gcoord_leave_call(gc);
}

/* ================================================================ admin APIs */

void
sl_gcoord_describe(sl_gcoord_t *gc, sl_str_t group_id, sl_arena_t *a, sl_gdesc_t *out)
{
    sl_group_t *g;
    bool stable;

    memset(out, 0, sizeof(*out));
    out->group_id = sl_gstr_arena(a, group_id);
    out->state = SL_STR_LIT("");
    out->protocol_type = SL_STR_LIT("");
    out->protocol_data = SL_STR_LIT("");
    out->authorized_operations = INT32_MIN;
    out->error_code = sl_gcoord_check(gc, group_id, true);
    if (out->error_code != SL_GKERR_NONE)
        return;
    g = sl_gcoord_group_get(gc, group_id);
    if (g == NULL) {
        out->state = SL_STR_LIT("Dead");
        return;
    }
    out->state = sl_str_c(sl_gcoord_state_name(g->state));
    if (g->protocol_type.len >= 0)
        out->protocol_type = sl_gstr_arena(a, g->protocol_type);
    stable = g->state == SL_GSTATE_STABLE && g->protocol_name.len >= 0;
    if (stable)
        out->protocol_data = sl_gstr_arena(a, g->protocol_name);
    out->n_members = g->n_members;
    out->members =
        sl_arena_array(a, (size_t)(g->n_members ? g->n_members : 1), sizeof(*out->members));
    for (int32_t i = 0; i < g->n_members; i++) {
        const sl_gmember_t *m = g->members[i];
        sl_gdesc_member_t *d = &out->members[i];

        d->member_id = sl_gstr_arena(a, m->id);
        d->group_instance_id = sl_gstr_arena(a, m->instance_id);
        d->client_id = sl_gstr_arena(a, m->client_id);
        d->client_host = sl_gstr_arena(a, m->client_host);
        d->metadata = (sl_bytes_t){(const uint8_t *)"", 0};
        d->assignment = (sl_bytes_t){(const uint8_t *)"", 0};
        if (!stable)
            continue;
        for (int32_t j = 0; j < m->n_protocols; j++)
            if (sl_str_eq(m->protocols[j].name, g->protocol_name))
                d->metadata = sl_gbytes_arena(a, m->protocols[j].metadata);
        d->assignment = sl_gbytes_arena(a, m->assignment);
    }
}

static bool
str_in_ci(sl_str_t s, const sl_str_t *set, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (set[i].len == s.len && strncasecmp(set[i].ptr, s.ptr, (size_t)s.len) == 0)
            return true;
    return false;
}

static int
cmp_group_ptr(const void *a, const void *b)
{
    const sl_group_t *x = *(sl_group_t *const *)a, *y = *(sl_group_t *const *)b;
    int c = memcmp(x->id.ptr, y->id.ptr, (size_t)SL_MIN(x->id.len, y->id.len));

    return c ? c : (x->id.len > y->id.len) - (x->id.len < y->id.len);
}

/* Groups sorted by id (of partition p, or all when p < 0); caller frees. */
sl_group_t **
sl_gcoord_groups_sorted(sl_gcoord_t *gc, int32_t p, size_t *n)
{
    sl_group_t **v = sl_xmalloc((gc->groups.len ? gc->groups.len : 1) * sizeof(*v));
    size_t it = 0, k = 0;
    const sl_map_slot_t *slot;

    while (sl_map_next(&gc->groups, &it, &slot)) {
        sl_group_t *g = slot->value;

        if (p < 0 || g->partition == p)
            v[k++] = g;
    }
    qsort(v, k, sizeof(*v), cmp_group_ptr);
    *n = k;
    return v;
}

void
sl_gcoord_list(sl_gcoord_t *gc, const sl_str_t *states, int32_t n_states, const sl_str_t *types,
               int32_t n_types, sl_arena_t *a, sl_glist_resp_t *resp)
{
    size_t n;
    sl_group_t **v = sl_gcoord_groups_sorted(gc, -1, &n);

    memset(resp, 0, sizeof(*resp));
    for (int32_t p = 0; p < gc->cfg.num_partitions; p++)
        if (gc->part_state[p] == SL_GPART_LOADING)
            resp->error_code = SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS;
    resp->groups = sl_arena_array(a, n ? n : 1, sizeof(*resp->groups));
    for (size_t i = 0; i < n; i++) {
        sl_str_t state = sl_str_c(sl_gcoord_state_name(v[i]->state));
        sl_glisted_t *l;

        if (gc->part_state[v[i]->partition] != SL_GPART_ACTIVE)
            continue;
        if (n_states > 0 && !str_in_ci(state, states, n_states))
            continue;
        if (n_types > 0 && !str_in_ci(SL_STR_LIT("classic"), types, n_types))
            continue;
        l = &resp->groups[resp->n_groups++];
        l->group_id = sl_gstr_arena(a, v[i]->id);
        l->protocol_type =
            v[i]->protocol_type.len >= 0 ? sl_gstr_arena(a, v[i]->protocol_type) : SL_STR_LIT("");
        l->state = state;
        l->type = SL_STR_LIT("classic");
    }
    free(v);
}

int16_t
sl_gcoord_delete_group(sl_gcoord_t *gc, sl_str_t group_id, int64_t now_ms)
{
    int16_t err = sl_gcoord_check(gc, group_id, true);
    sl_group_t *g;
    if (err != SL_GKERR_NONE)
        return err;
    g = sl_gcoord_group_get(gc, group_id);
    if (g == NULL || g->state == SL_GSTATE_DEAD)
        return SL_GKERR_GROUP_ID_NOT_FOUND;
    if (g->state != SL_GSTATE_EMPTY)
        return SL_GKERR_NON_EMPTY_GROUP;
    sl_gcoord_enter(gc);
    g->state = SL_GSTATE_DEAD;
    /* No metadata tombstone for generation 0: such a group only ever stored
     * offsets (Kafka's rule). */
    sl_gcoord_delete_offsets(gc, g, NULL, 0, true, g->generation > 0, now_ms);
    sl_gcoord_group_drop(gc, g, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
    sl_gcoord_leave_call(gc);
    return SL_GKERR_NONE;
}
