/*
 * gcoord_join.c -- group membership: JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup and the rebalance state machine behind them, following Kafka's
 * classic GroupCoordinator.
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup persisted--> Stable
 *
 * Any membership change (join, leave, session expiry, changed metadata, the
 * leader rejoining) sends a Stable or CompletingRebalance group back to
 * PreparingRebalance. A group that was Empty waits
 * group.initial.rebalance.delay.ms (extended while new members keep arriving
 * in generation 0) before answering, so a starting consumer fleet lands in one
 * generation. Members that do not rejoin within the rebalance timeout are
 * removed (static members stay until their session expires); members that do
 * not send SyncGroup within the rebalance timeout after the JoinGroup answer
 * are removed too.
 *
 * Static members (group.instance.id): a new JoinGroup for a known instance id
 * takes over the member (new member id, assignment kept) and fences the old
 * id (FENCED_INSTANCE_ID); while Stable this needs no rebalance unless the
 * selected protocol would change, but the takeover is persisted before the
 * JoinGroup is answered.
 */
#include "group/group_int.h"

static const sl_str_t empty_str = {"", 0};
static const sl_bytes_t empty_bytes = {(const uint8_t *)"", 0};

static void prepare_rebalance(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms);

/* ================================================================ members */

void
sl_gcoord_member_free(sl_gmember_t *m)
{
    if (m == NULL)
        return;
    sl_gstr_free(&m->id);
    sl_gstr_free(&m->instance_id);
    sl_gstr_free(&m->client_id);
    sl_gstr_free(&m->client_host);
    sl_gprotos_free(m->protocols, m->n_protocols);
    sl_gbytes_free(&m->assignment);
    free(m);
}

static sl_bytes_t
member_metadata(const sl_gmember_t *m, sl_str_t protocol)
{
    for (int32_t i = 0; i < m->n_protocols; i++)
        if (sl_str_eq(m->protocols[i].name, protocol))
            return m->protocols[i].metadata;
    return empty_bytes;
}

/* Same protocols, same order, same metadata (Kafka's MemberMetadata.matches). */
static bool
member_matches(const sl_gmember_t *m, const sl_gmproto_t *p, int32_t n)
{
    if (n != m->n_protocols)
        return false;
    for (int32_t i = 0; i < n; i++) {
        const sl_gmproto_t *q = &m->protocols[i];

        if (!sl_str_eq(q->name, p[i].name) || q->metadata.len != p[i].metadata.len ||
            (q->metadata.len > 0 &&
             memcmp(q->metadata.ptr, p[i].metadata.ptr, (size_t)q->metadata.len) != 0))
            return false;
    }
    return true;
}

/*
 * Protocol selection must stay linear in the protocols the members list (a
 * JoinGroup may carry 100,000 names): one pass counts, per name, how many
 * members list it, in a hash map; candidates are the names every member
 * lists (Kafka's candidateProtocols), and each member votes for the first
 * candidate in its own order (Kafka's MemberMetadata.vote).
 */
typedef struct proto_count {
    int32_t supporters;  /* members listing the name */
    int32_t last_member; /* the member counted last, so each counts once */
    int32_t votes;
} proto_count_t;

typedef struct proto_tally {
    sl_map_t by_name; /* name -> proto_count_t */
    proto_count_t *counts;
    int32_t n_members;
} proto_tally_t;

/* A map key that is never a NULL pointer, even for an empty name. */
static const char *
name_key(sl_str_t name)
{
    return name.len > 0 ? name.ptr : "";
}

static void
tally_build(proto_tally_t *t, const sl_group_t *g)
{
    size_t total = 0, used = 0;

    for (int32_t i = 0; i < g->n_members; i++)
        total += (size_t)g->members[i]->n_protocols;
    sl_map_init(&t->by_name);
    t->counts = sl_xcalloc(total ? total : 1, sizeof(*t->counts));
    t->n_members = g->n_members;
    for (int32_t i = 0; i < g->n_members; i++) {
        const sl_gmember_t *m = g->members[i];

        for (int32_t j = 0; j < m->n_protocols; j++) {
            sl_str_t name = m->protocols[j].name;
            size_t len = (size_t)SL_MAX(name.len, 0);
            proto_count_t *pc = sl_map_get(&t->by_name, name_key(name), len);

            if (pc == NULL) {
                pc = &t->counts[used++];
                pc->last_member = -1;
                (void)sl_map_put(&t->by_name, name_key(name), len, pc);
            }
            if (pc->last_member != i) {
                pc->last_member = i;
                pc->supporters++;
            }
        }
    }
}

static void
tally_deinit(proto_tally_t *t)
{
    sl_map_deinit(&t->by_name);
    free(t->counts);
}

/* The name's count if every member lists it, else NULL. */
static proto_count_t *
tally_candidate(const proto_tally_t *t, sl_str_t name)
{
    proto_count_t *pc =
        name.len < 0 ? NULL : sl_map_get(&t->by_name, name_key(name), (size_t)name.len);

    return pc && pc->supporters == t->n_members ? pc : NULL;
}

static bool
supports_protocols(const sl_group_t *g, sl_str_t type, const sl_gmproto_t *p, int32_t n)
{
    proto_tally_t t;
    bool ok = false;

    if (g->state == SL_GSTATE_EMPTY)
        return type.len > 0 && n > 0;
    if (type.len < 0 || !sl_str_eq(g->protocol_type, type))
        return false;
    tally_build(&t, g);
    for (int32_t i = 0; i < n && !ok; i++)
        ok = tally_candidate(&t, p[i].name) != NULL;
    tally_deinit(&t);
    return ok;
}

/* The protocol every member supports that most members list first among
 * those (Kafka's vote). Ties go to the leader's order of preference, where
 * Kafka leaves it to hash order. */
static sl_str_t
select_protocol(const sl_group_t *g)
{
    const sl_gmember_t *ref = g->leader ? g->leader : g->members[0];
    sl_str_t best = SL_STR_NULL;
    int32_t best_votes = -1;
    proto_tally_t t;

    tally_build(&t, g);
    for (int32_t i = 0; i < g->n_members; i++) {
        const sl_gmember_t *m = g->members[i];

        for (int32_t j = 0; j < m->n_protocols; j++) {
            proto_count_t *pc = tally_candidate(&t, m->protocols[j].name);

            if (pc) {
                pc->votes++;
                break;
            }
        }
    }
    for (int32_t c = 0; c < ref->n_protocols; c++) {
        const proto_count_t *pc = tally_candidate(&t, ref->protocols[c].name);

        if (pc && pc->votes > best_votes) {
            best = ref->protocols[c].name;
            best_votes = pc->votes;
        }
    }
    tally_deinit(&t);
    return best;
}

static int32_t
rebalance_timeout(const sl_group_t *g)
{
    int32_t t = 0;

    for (int32_t i = 0; i < g->n_members; i++)
        t = SL_MAX(t, g->members[i]->rebalance_timeout_ms);
    return t;
}

static int32_t
n_awaiting_join(const sl_group_t *g)
{
    int32_t n = 0;

    for (int32_t i = 0; i < g->n_members; i++)
        n += g->members[i]->join_cookie != NULL;
    return n;
}

static bool
is_fenced(const sl_group_t *g, sl_str_t instance_id, sl_str_t member_id)
{
    const sl_gmember_t *m = sl_gcoord_static_member(g, instance_id);

    return m && !sl_str_eq(m->id, member_id);
}

static int32_t
pending_find(const sl_group_t *g, sl_str_t id)
{
    for (int32_t i = 0; i < g->n_pending; i++)
        if (sl_str_eq(g->pending[i].id, id))
            return i;
    return -1;
}

static void
pending_remove(sl_gcoord_t *gc, sl_group_t *g, sl_str_t id)
{
    int32_t i = pending_find(g, id);

    if (i < 0)
        return;
    sl_gstr_free(&g->pending[i].id);
    memmove(&g->pending[i], &g->pending[i + 1],
            (size_t)(g->n_pending - i - 1) * sizeof(*g->pending));
    g->n_pending--;
    sl_gcoord_dirty(gc, g);
}

static void
pending_add(sl_gcoord_t *gc, sl_group_t *g, sl_str_t id, int64_t at)
{
    if (g->n_pending == g->cap_pending) {
        g->cap_pending = g->cap_pending ? g->cap_pending * 2 : 4;
        g->pending = sl_xrealloc(g->pending, (size_t)g->cap_pending * sizeof(*g->pending));
    }
    g->pending[g->n_pending].id = sl_gstr_dup(id);
    sl_gcoord_arm(gc, g, &g->pending[g->n_pending].timer, at);
    g->n_pending++;
}

/* "<prefix>-<uuid v4>", Kafka's member id format. */
static sl_str_t
new_member_id(sl_gcoord_t *gc, sl_str_t prefix)
{
    uint64_t r[2];
    size_t n = (size_t)(prefix.len > 0 ? prefix.len : 0) + 38;
    char *s = sl_xmalloc(n);
    int len;

    for (int i = 0; i < 2; i++) {
        /* splitmix64 */
        uint64_t z = (gc->rng += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r[i] = z ^ (z >> 31);
    }
    r[0] = (r[0] & ~0xf000ull) | 0x4000ull;                        /* version 4 */
    r[1] = (r[1] & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant */
    len = snprintf(s, n, "%.*s-%08x-%04x-%04x-%04x-%012llx", prefix.len > 0 ? (int)prefix.len : 0,
                   prefix.len > 0 ? prefix.ptr : "", (unsigned)(r[0] >> 32),
                   (unsigned)((r[0] >> 16) & 0xffff), (unsigned)(r[0] & 0xffff),
                   (unsigned)(r[1] >> 48), (unsigned long long)(r[1] & 0xffffffffffffull));
    SL_ASSERT(len > 0 && (size_t)len < n);
    return (sl_str_t){s, len};
}

/* ================================================================ responses */

static void
join_error(sl_gcoord_t *gc, void *cookie, int16_t version, sl_str_t member_id, int16_t err)
{
    sl_gjoin_resp_t r = {.error_code = err,
                         .generation_id = -1,
                         .protocol_type = SL_STR_NULL,
                         .protocol_name = SL_STR_NULL,
                         .leader = empty_str,
                         .member_id = member_id.len < 0 ? empty_str : member_id};

    sl_gcoord_emit_join(gc, cookie, &r, version);
}

static void
sync_error(sl_gcoord_t *gc, void *cookie, int16_t err)
{
    sl_gsync_resp_t r = {.error_code = err,
                         .protocol_type = SL_STR_NULL,
                         .protocol_name = SL_STR_NULL,
                         .assignment = empty_bytes};

    sl_gcoord_emit_sync(gc, cookie, &r);
}

/* The current generation's JoinGroup answer for m; the leader also gets
 * every member's metadata for the selected protocol. */
static void
join_answer(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m, void *cookie, int16_t version,
            bool with_members, sl_str_t leader, bool skip)
{
    sl_gjoin_resp_t r = {.error_code = SL_GKERR_NONE,
                         .generation_id = g->generation,
                         .protocol_type = g->protocol_type,
                         .protocol_name = g->protocol_name,
                         .leader = leader,
                         .skip_assignment = skip,
                         .member_id = m->id};

    if (with_members && g->n_members > 0) {
        r.members = sl_arena_array(&gc->scratch, (size_t)g->n_members, sizeof(*r.members));
        r.n_members = g->n_members;
        for (int32_t i = 0; i < g->n_members; i++) {
            r.members[i].member_id = g->members[i]->id;
            r.members[i].group_instance_id = g->members[i]->instance_id;
            r.members[i].metadata = member_metadata(g->members[i], g->protocol_name);
        }
    }
    sl_gcoord_emit_join(gc, cookie, &r, version);
}

static sl_str_t
leader_id(const sl_group_t *g)
{
    return g->leader ? g->leader->id : empty_str;
}

/* Answers every member waiting in SyncGroup with its assignment (or err). */
static void
propagate_assignment(sl_gcoord_t *gc, sl_group_t *g, int16_t err, int64_t now_ms)
{
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_gmember_t *m = g->members[i];
        sl_gsync_resp_t r = {.error_code = err,
                             .protocol_type = g->protocol_type,
                             .protocol_name = g->protocol_name,
                             .assignment = m->assignment.len < 0 ? empty_bytes : m->assignment};
        void *cookie = m->sync_cookie;

        if (cookie == NULL)
            continue;
        m->sync_cookie = NULL;
        sl_gcoord_emit_sync(gc, cookie, &r);
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
    }
}

static void
reset_and_propagate(sl_gcoord_t *gc, sl_group_t *g, int16_t err, int64_t now_ms)
{
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_gbytes_free(&g->members[i]->assignment);
        g->members[i]->assignment = sl_gbytes_dup((sl_bytes_t){NULL, 0});
    }
    propagate_assignment(gc, g, err, now_ms);
}

/* ================================================================ group changes */

/* Takes m out of the group and frees it; its parked requests are failed. */
static void
raw_remove(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m)
{
    int32_t i;

    join_error(gc, m->join_cookie, m->join_version, empty_str, SL_GKERR_UNKNOWN_MEMBER_ID);
    sync_error(gc, m->sync_cookie, SL_GKERR_UNKNOWN_MEMBER_ID);
    m->join_cookie = m->sync_cookie = NULL;
    for (i = 0; i < g->n_members && g->members[i] != m; i++)
        ;
    SL_ASSERT(i < g->n_members);
    memmove(&g->members[i], &g->members[i + 1], (size_t)(g->n_members - i - 1) * sizeof(m));
    g->n_members--;
    if (g->leader == m)
        g->leader = g->n_members > 0 ? g->members[0] : NULL;
    pending_remove(gc, g, m->id);
    sl_gcoord_dirty(gc, g);
    sl_gcoord_member_free(m);
}

static void
topic_add(void *ctx, sl_str_t topic)
{
    sl_group_t *g = ctx;

    for (int32_t i = 0; i < g->n_topics; i++)
        if (sl_str_eq(g->topics[i], topic))
            return;
    g->topics = sl_xrealloc(g->topics, (size_t)(g->n_topics + 1) * sizeof(*g->topics));
    g->topics[g->n_topics++] = sl_gstr_dup(topic);
}

/* Topics the members of a "consumer" group subscribe to, from their
 * metadata for the selected protocol; unknown when one does not parse. */
void
sl_gcoord_compute_topics(sl_group_t *g)
{
    for (int32_t i = 0; i < g->n_topics; i++)
        sl_gstr_free(&g->topics[i]);
    free(g->topics);
    g->topics = NULL;
    g->n_topics = 0;
    g->topics_known = false;
    if (!sl_str_eq_c(g->protocol_type, "consumer"))
        return;
    if (g->n_members == 0) {
        g->topics_known = true;
        return;
    }
    if (g->protocol_name.len < 0)
        return;
    for (int32_t i = 0; i < g->n_members; i++)
        if (sl_gcoord_subscription_topics(member_metadata(g->members[i], g->protocol_name), NULL,
                                          NULL) != SL_OK)
            return;
    for (int32_t i = 0; i < g->n_members; i++) {
        int rc = sl_gcoord_subscription_topics(member_metadata(g->members[i], g->protocol_name),
                                               topic_add, g);

        SL_ASSERT(rc == SL_OK); /* validated above */
    }
    g->topics_known = true;
}

/* Indexes (member id, assignment) pairs by member id; a later pair for the
 * same member replaces an earlier one. */
static void
assignments_index(sl_map_t *by_member, const sl_gmproto_t *assign, int32_t n_assign)
{
    sl_map_init(by_member);
    for (int32_t j = 0; j < n_assign; j++)
        (void)sl_map_put(by_member, name_key(assign[j].name), (size_t)SL_MAX(assign[j].name.len, 0),
                         (void *)&assign[j]);
}

void
sl_gcoord_meta_value(const sl_group_t *g, const sl_gmproto_t *assign, int32_t n_assign,
                     sl_buf_t *out)
{
    sl_map_t by_member;
    sl_gmeta_t meta = {.protocol_type = g->protocol_type.len < 0 ? empty_str : g->protocol_type,
                       .generation = g->generation,
                       .protocol = g->protocol_name,
                       .leader = g->leader ? g->leader->id : SL_STR_NULL,
                       .state_ts = g->state_ts,
                       .n_members = g->n_members};

    meta.members = sl_xcalloc((size_t)(g->n_members ? g->n_members : 1), sizeof(*meta.members));
    assignments_index(&by_member, assign, assign ? n_assign : 0);
    for (int32_t i = 0; i < g->n_members; i++) {
        const sl_gmember_t *m = g->members[i];
        sl_gmeta_member_t *mm = &meta.members[i];

        mm->member_id = m->id;
        mm->instance_id = m->instance_id;
        mm->client_id = m->client_id;
        mm->client_host = m->client_host;
        mm->rebalance_timeout_ms = m->rebalance_timeout_ms;
        mm->session_timeout_ms = m->session_timeout_ms;
        mm->subscription = member_metadata(m, g->protocol_name);
        mm->assignment = m->assignment.len < 0 ? empty_bytes : m->assignment;
        if (assign) {
            const sl_gmproto_t *a =
                sl_map_get(&by_member, name_key(m->id), (size_t)SL_MAX(m->id.len, 0));

            mm->assignment = a ? a->metadata : empty_bytes;
        }
    }
    sl_grec_group_value(out, &meta);
    sl_map_deinit(&by_member);
    free(meta.members);
}

uint64_t
sl_gcoord_store_group(sl_gcoord_t *gc, sl_group_t *g, sl_gpop_t *pop, int64_t now_ms)
{
    sl_grecs_t r;
    uint64_t id;

    if (pop == NULL)
        pop = sl_gpop_new(SL_GPOP_PLAIN, g);
    sl_grecs_init(&r);
    sl_grecs_begin(&r, now_ms);
    sl_grec_group_key(&r.buf, g->id);
    sl_grecs_value_begin(&r);
    sl_gcoord_meta_value(g, pop->assign, pop->n_assign, &r.buf);
    sl_grecs_end(&r, false);
    pop->has_meta = true;
    pop->meta = sl_gbytes_dup((sl_bytes_t){r.buf.data + r.items[0].voff, r.items[0].vlen});
    id = sl_gcoord_persist(gc, g, &r, pop);
    sl_grecs_deinit(&r);
    return id;
}

static void
init_next_generation(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    g->generation++;
    sl_gstr_free(&g->protocol_name);
    if (g->n_members > 0) {
        g->protocol_name = sl_gstr_dup(select_protocol(g));
        sl_gcoord_compute_topics(g);
        sl_gcoord_transition(gc, g, SL_GSTATE_COMPLETING, now_ms);
    } else {
        sl_gcoord_compute_topics(g);
        sl_gcoord_transition(gc, g, SL_GSTATE_EMPTY, now_ms);
    }
    for (int32_t i = 0; i < g->n_members; i++)
        g->members[i]->pending_sync = false;
}

/* Kafka's onCompleteJoin: the PreparingRebalance phase ends. */
static void
complete_join(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    sl_gcoord_arm(gc, g, &g->join_timer, SL_GNEVER);
    g->join_initial = false;
    g->new_member_added = false;
    /* Dynamic members that did not rejoin are gone; static ones stay until
     * their session expires. */
    for (int32_t i = g->n_members - 1; i >= 0; i--) {
        sl_gmember_t *m = g->members[i];

        if (m->join_cookie == NULL && m->instance_id.len < 0)
            raw_remove(gc, g, m);
    }
    if (g->leader && g->leader->join_cookie == NULL) {
        sl_gmember_t *joined = NULL;

        for (int32_t i = 0; i < g->n_members && !joined; i++)
            if (g->members[i]->join_cookie)
                joined = g->members[i];
        if (joined == NULL) {
            /* Nobody rejoined: wait another rebalance timeout for sessions
             * to remove the silent members. */
            sl_gcoord_arm(gc, g, &g->join_timer, now_ms + rebalance_timeout(g));
            return;
        }
        g->leader = joined;
    }
    init_next_generation(gc, g, now_ms);
    if (g->state == SL_GSTATE_EMPTY) {
        sl_gcoord_store_group(gc, g, NULL, now_ms);
        return;
    }
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_gmember_t *m = g->members[i];
        void *cookie = m->join_cookie;

        m->join_cookie = NULL;
        join_answer(gc, g, m, cookie, m->join_version, m == g->leader, leader_id(g), false);
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
        m->is_new = false;
        m->pending_sync = true;
    }
    sl_gcoord_arm(gc, g, &g->sync_timer, now_ms + rebalance_timeout(g));
}

static void
try_complete_join(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    if (g->state != SL_GSTATE_PREPARING || g->join_initial)
        return;
    if (g->n_pending == 0 && n_awaiting_join(g) == g->n_members)
        complete_join(gc, g, now_ms);
}

static void
prepare_rebalance(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    if (g->state == SL_GSTATE_COMPLETING)
        reset_and_propagate(gc, g, SL_GKERR_REBALANCE_IN_PROGRESS, now_ms);
    sl_gcoord_arm(gc, g, &g->sync_timer, SL_GNEVER);
    if (g->state == SL_GSTATE_EMPTY) {
        int32_t delay = gc->cfg.initial_rebalance_delay_ms;

        g->join_initial = true;
        g->join_delay_ms = delay;
        g->initial_remaining_ms = SL_MAX(rebalance_timeout(g) - delay, 0);
        sl_gcoord_arm(gc, g, &g->join_timer, now_ms + delay);
    } else {
        g->join_initial = false;
        sl_gcoord_arm(gc, g, &g->join_timer, now_ms + rebalance_timeout(g));
    }
    sl_gcoord_transition(gc, g, SL_GSTATE_PREPARING, now_ms);
    try_complete_join(gc, g, now_ms);
}

static void
maybe_prepare_rebalance(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    if (g->state == SL_GSTATE_STABLE || g->state == SL_GSTATE_COMPLETING ||
        g->state == SL_GSTATE_EMPTY)
        prepare_rebalance(gc, g, now_ms);
}

void
sl_gcoord_remove_member(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m, int64_t now_ms)
{
    raw_remove(gc, g, m);
    switch (g->state) {
    case SL_GSTATE_STABLE:
    case SL_GSTATE_COMPLETING:
        maybe_prepare_rebalance(gc, g, now_ms);
        break;
    case SL_GSTATE_PREPARING:
        try_complete_join(gc, g, now_ms);
        break;
    default:
        break;
    }
}

static void
clear_pending_sync(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m)
{
    m->pending_sync = false;
    for (int32_t i = 0; i < g->n_members; i++)
        if (g->members[i]->pending_sync)
            return;
    sl_gcoord_arm(gc, g, &g->sync_timer, SL_GNEVER);
}

/* ================================================================ timers */

enum { T_NONE, T_JOIN, T_SYNC, T_MEMBER, T_PENDING };

static void
fire_join_timer(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    sl_gcoord_arm(gc, g, &g->join_timer, SL_GNEVER);
    if (g->state != SL_GSTATE_PREPARING)
        return;
    if (g->join_initial && g->new_member_added && g->initial_remaining_ms != 0) {
        /* New members keep arriving: wait another delay, bounded by the
         * rebalance timeout (Kafka's InitialDelayedJoin). */
        int32_t delay = SL_MIN(gc->cfg.initial_rebalance_delay_ms, g->initial_remaining_ms);

        g->new_member_added = false;
        g->initial_remaining_ms = SL_MAX(g->initial_remaining_ms - g->join_delay_ms, 0);
        g->join_delay_ms = delay;
        sl_gcoord_arm(gc, g, &g->join_timer, now_ms + delay);
        return;
    }
    complete_join(gc, g, now_ms);
}

static void
fire_sync_timer(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms)
{
    bool any = false;

    sl_gcoord_arm(gc, g, &g->sync_timer, SL_GNEVER);
    if (g->state != SL_GSTATE_COMPLETING && g->state != SL_GSTATE_STABLE)
        return;
    for (int32_t i = g->n_members - 1; i >= 0; i--) {
        if (g->members[i]->pending_sync) {
            raw_remove(gc, g, g->members[i]);
            any = true;
        }
    }
    if (any)
        prepare_rebalance(gc, g, now_ms);
}

static void
fire_session(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m, int64_t now_ms)
{
    /* Members waiting in JoinGroup/SyncGroup cannot heartbeat: their session
     * restarts when they are answered. A new member's join times out. */
    if (!m->is_new && (m->join_cookie || m->sync_cookie)) {
        sl_gcoord_arm(gc, g, &m->session, SL_GNEVER);
        return;
    }
    sl_gcoord_remove_member(gc, g, m, now_ms);
}

void
sl_gcoord_fire_timers(sl_gcoord_t *gc, sl_group_t *g, int64_t now_ms, uint64_t tick_seq)
{
    for (;;) {
        int kind = T_NONE;
        int32_t idx = -1;
        int64_t best = INT64_MAX;

#define CONSIDER(t, k, i)                                                                          \
    do {                                                                                           \
        if ((t).at <= now_ms && (t).armed < tick_seq && (t).at < best) {                           \
            best = (t).at;                                                                         \
            kind = (k);                                                                            \
            idx = (i);                                                                             \
        }                                                                                          \
    } while (0)
        CONSIDER(g->join_timer, T_JOIN, -1);
        CONSIDER(g->sync_timer, T_SYNC, -1);
        for (int32_t i = 0; i < g->n_members; i++)
            CONSIDER(g->members[i]->session, T_MEMBER, i);
        for (int32_t i = 0; i < g->n_pending; i++)
            CONSIDER(g->pending[i].timer, T_PENDING, i);
#undef CONSIDER
        switch (kind) {
        case T_JOIN:
            fire_join_timer(gc, g, now_ms);
            break;
        case T_SYNC:
            fire_sync_timer(gc, g, now_ms);
            break;
        case T_MEMBER:
            fire_session(gc, g, g->members[idx], now_ms);
            break;
        case T_PENDING:
            pending_remove(gc, g, g->pending[idx].id);
            try_complete_join(gc, g, now_ms);
            break;
        default:
            return;
        }
    }
}

/* ================================================================ JoinGroup */

typedef struct join_ctx {
    const sl_gjoin_req_t *req;
    void *cookie;
    int64_t now;
    sl_gmproto_t *protos; /* owned until a member takes them */
    int32_t n_protos;
    int32_t rebalance_ms;
} join_ctx_t;

static void
update_member(sl_gcoord_t *gc, sl_gmember_t *m, join_ctx_t *jc)
{
    if (m->join_cookie && m->join_cookie != jc->cookie) {
        /* A newer JoinGroup replaces a parked one: the old one is told to
         * rejoin, so no request stays unanswered. */
        join_error(gc, m->join_cookie, m->join_version, m->id, SL_GKERR_REBALANCE_IN_PROGRESS);
    }
    sl_gprotos_free(m->protocols, m->n_protocols);
    m->protocols = jc->protos;
    m->n_protocols = jc->n_protos;
    jc->protos = NULL;
    jc->n_protos = 0;
    m->rebalance_timeout_ms = jc->rebalance_ms;
    m->session_timeout_ms = jc->req->session_timeout_ms;
    m->join_cookie = jc->cookie;
    m->join_version = jc->req->api_version;
}

static void
add_member_and_rebalance(sl_gcoord_t *gc, sl_group_t *g, sl_str_t id, join_ctx_t *jc)
{
    const sl_gjoin_req_t *req = jc->req;
    sl_gmember_t *m = sl_xcalloc(1, sizeof(*m));

    m->id = id; /* owned */
    m->instance_id = sl_gstr_dup(req->group_instance_id);
    m->client_id = sl_gstr_dup(req->client_id.len < 0 ? empty_str : req->client_id);
    m->client_host = sl_gstr_dup(req->client_host.len < 0 ? empty_str : req->client_host);
    m->assignment = sl_gbytes_dup((sl_bytes_t){NULL, 0});
    m->session.at = SL_GNEVER;
    m->is_new = true;
    update_member(gc, m, jc);
    if (g->state == SL_GSTATE_PREPARING && g->generation == 0)
        g->new_member_added = true;
    if (g->n_members == 0) {
        sl_gstr_free(&g->protocol_type);
        g->protocol_type = sl_gstr_dup(req->protocol_type);
    }
    if (g->leader == NULL)
        g->leader = m;
    if (g->n_members == g->cap_members) {
        g->cap_members = g->cap_members ? g->cap_members * 2 : 4;
        g->members = sl_xrealloc(g->members, (size_t)g->cap_members * sizeof(*g->members));
    }
    g->members[g->n_members++] = m;
    pending_remove(gc, g, m->id);
    /* A new member cannot heartbeat before its first answer; bound how long
     * a join whose client went away can hold a place. */
    sl_gcoord_arm(gc, g, &m->session, jc->now + gc->cfg.new_member_join_timeout_ms);
    maybe_prepare_rebalance(gc, g, jc->now);
}

static void
update_static_member(sl_gcoord_t *gc, sl_group_t *g, sl_gmember_t *m, sl_str_t new_id,
                     join_ctx_t *jc)
{
    sl_str_t leader_before = sl_gstr_dup(leader_id(g));
    sl_str_t old_id = m->id;
    sl_gmproto_t *old_protos = m->protocols;
    int32_t n_old = m->n_protocols, old_rb = m->rebalance_timeout_ms,
            old_st = m->session_timeout_ms;

    /* The old member id is fenced: whatever it has parked fails now. */
    join_error(gc, m->join_cookie, m->join_version, old_id, SL_GKERR_FENCED_INSTANCE_ID);
    sync_error(gc, m->sync_cookie, SL_GKERR_FENCED_INSTANCE_ID);
    m->join_cookie = m->sync_cookie = NULL;
    m->id = new_id;
    sl_gcoord_arm(gc, g, &m->session, jc->now + m->session_timeout_ms);
    m->protocols = NULL;
    m->n_protocols = 0;
    update_member(gc, m, jc);
    if (g->state == SL_GSTATE_STABLE && sl_str_eq(select_protocol(g), g->protocol_name)) {
        sl_gpop_t *pop = sl_gpop_new(SL_GPOP_STATIC, g);

        pop->new_id = sl_gstr_dup(new_id);
        pop->old_id = old_id;
        pop->leader = leader_before;
        pop->old_protocols = old_protos;
        pop->n_old_protocols = n_old;
        pop->old_rebalance_ms = old_rb;
        pop->old_session_ms = old_st;
        pop->generation = g->generation;
        sl_gcoord_store_group(gc, g, pop, jc->now);
        return;
    }
    sl_gstr_free(&old_id);
    sl_gstr_free(&leader_before);
    sl_gprotos_free(old_protos, n_old);
    if (g->state == SL_GSTATE_STABLE)
        maybe_prepare_rebalance(gc, g, jc->now);
    else if (g->state == SL_GSTATE_COMPLETING)
        prepare_rebalance(gc, g, jc->now); /* the leader may hold the old id */
}

void
sl_gcoord_complete_static(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err, int64_t now_ms)
{
    sl_group_t *g = sl_gcoord_group_get(gc, pop->group_id);
    sl_gmember_t *m;
    void *cookie;
    int16_t version;

    if (g == NULL || g->uid != pop->group_uid)
        return;
    m = sl_gcoord_member(g, pop->new_id);
    if (m == NULL || m->join_cookie == NULL)
        return;
    cookie = m->join_cookie;
    version = m->join_version;
    m->join_cookie = NULL;
    if (err != SL_GKERR_NONE) {
        sl_gjoin_resp_t r = {.error_code = err,
                             .generation_id = g->generation,
                             .protocol_type = g->protocol_type,
                             .protocol_name = g->protocol_name,
                             .leader = pop->leader,
                             .member_id = empty_str};

        /* Not persisted: the old member id stays the valid one. */
        sync_error(gc, m->sync_cookie, SL_GKERR_FENCED_INSTANCE_ID);
        m->sync_cookie = NULL;
        sl_gstr_free(&m->id);
        m->id = pop->old_id;
        pop->old_id = SL_STR_NULL;
        sl_gprotos_free(m->protocols, m->n_protocols);
        m->protocols = pop->old_protocols;
        m->n_protocols = pop->n_old_protocols;
        pop->old_protocols = NULL;
        pop->n_old_protocols = 0;
        m->rebalance_timeout_ms = pop->old_rebalance_ms;
        m->session_timeout_ms = pop->old_session_ms;
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
        sl_gcoord_emit_join(gc, cookie, &r, version);
        return;
    }
    if (version >= 9) {
        /* SkipAssignment: the leader learns it leads without reassigning. */
        bool lead = g->leader == m;

        join_answer(gc, g, m, cookie, version, lead, leader_id(g), lead);
    } else {
        /* Older clients get the previous leader id, so a replaced leader
         * does not compute an assignment a Stable group would ignore. */
        join_answer(gc, g, m, cookie, version, false, pop->leader, false);
    }
}

static void
join_new_member(sl_gcoord_t *gc, sl_group_t *g, join_ctx_t *jc)
{
    const sl_gjoin_req_t *req = jc->req;
    sl_str_t id;
    sl_gmember_t *old;

    if (g->state == SL_GSTATE_DEAD) {
        join_error(gc, jc->cookie, req->api_version, req->member_id,
                   SL_GKERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (!supports_protocols(g, req->protocol_type, jc->protos, jc->n_protos)) {
        join_error(gc, jc->cookie, req->api_version, req->member_id,
                   SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    id = new_member_id(gc,
                       req->group_instance_id.len >= 0 ? req->group_instance_id : req->client_id);
    if (req->group_instance_id.len >= 0) {
        old = sl_gcoord_static_member(g, req->group_instance_id);
        if (old)
            update_static_member(gc, g, old, id, jc);
        else
            add_member_and_rebalance(gc, g, id, jc);
        return;
    }
    if (req->api_version >= 4) {
        /* KIP-394: hand out the id first; the member must rejoin with it
         * within its session timeout. */
        pending_add(gc, g, id, jc->now + req->session_timeout_ms);
        join_error(gc, jc->cookie, req->api_version, id, SL_GKERR_MEMBER_ID_REQUIRED);
        sl_gstr_free(&id);
        return;
    }
    add_member_and_rebalance(gc, g, id, jc);
}

static void
join_known_member(sl_gcoord_t *gc, sl_group_t *g, sl_str_t mid, join_ctx_t *jc)
{
    const sl_gjoin_req_t *req = jc->req;
    int16_t v = req->api_version;
    sl_gmember_t *m;

    if (g->state == SL_GSTATE_DEAD) {
        join_error(gc, jc->cookie, v, mid, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (!supports_protocols(g, req->protocol_type, jc->protos, jc->n_protos)) {
        join_error(gc, jc->cookie, v, mid, SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    if (pending_find(g, mid) >= 0) {
        /* Pending ids are only handed to dynamic members. */
        if (req->group_instance_id.len >= 0)
            join_error(gc, jc->cookie, v, mid, SL_GKERR_UNKNOWN_MEMBER_ID);
        else
            add_member_and_rebalance(gc, g, sl_gstr_dup(mid), jc);
        return;
    }
    if (is_fenced(g, req->group_instance_id, mid)) {
        join_error(gc, jc->cookie, v, mid, SL_GKERR_FENCED_INSTANCE_ID);
        return;
    }
    m = sl_gcoord_member(g, mid);
    if (m == NULL || (req->group_instance_id.len >= 0 &&
                      sl_gcoord_static_member(g, req->group_instance_id) == NULL)) {
        join_error(gc, jc->cookie, v, mid, SL_GKERR_UNKNOWN_MEMBER_ID);
        return;
    }
    switch (g->state) {
    case SL_GSTATE_PREPARING:
        update_member(gc, m, jc);
        maybe_prepare_rebalance(gc, g, jc->now);
        break;
    case SL_GSTATE_COMPLETING:
        /* Same metadata: probably a lost answer, give it again. */
        if (member_matches(m, jc->protos, jc->n_protos)) {
            join_answer(gc, g, m, jc->cookie, v, m == g->leader, leader_id(g), false);
        } else {
            update_member(gc, m, jc);
            maybe_prepare_rebalance(gc, g, jc->now);
        }
        break;
    case SL_GSTATE_STABLE:
        /* The leader rejoining forces a rebalance: it may have seen a change
         * the metadata does not show (new partitions). */
        if (m == g->leader || !member_matches(m, jc->protos, jc->n_protos)) {
            update_member(gc, m, jc);
            maybe_prepare_rebalance(gc, g, jc->now);
        } else {
            join_answer(gc, g, m, jc->cookie, v, false, leader_id(g), false);
        }
        break;
    default:
        join_error(gc, jc->cookie, v, mid, SL_GKERR_UNKNOWN_MEMBER_ID);
        break;
    }
}

static bool
accept_joining(const sl_gcoord_t *gc, const sl_group_t *g, sl_str_t mid)
{
    const sl_gmember_t *m = sl_gcoord_member(g, mid);

    switch (g->state) {
    case SL_GSTATE_PREPARING:
        return (m && m->join_cookie) || n_awaiting_join(g) < gc->cfg.max_size;
    case SL_GSTATE_COMPLETING:
    case SL_GSTATE_STABLE:
        return m || g->n_members < gc->cfg.max_size;
    default:
        return true;
    }
}

static void
join_impl(sl_gcoord_t *gc, join_ctx_t *jc)
{
    const sl_gjoin_req_t *req = jc->req;
    sl_str_t mid = req->member_id.len < 0 ? empty_str : req->member_id;
    int16_t err = sl_gcoord_check(gc, req->group_id, false);
    sl_group_t *g;

    if (err == SL_GKERR_NONE && (req->session_timeout_ms < gc->cfg.min_session_timeout_ms ||
                                 req->session_timeout_ms > gc->cfg.max_session_timeout_ms))
        err = SL_GKERR_INVALID_SESSION_TIMEOUT;
    if (err != SL_GKERR_NONE) {
        join_error(gc, jc->cookie, req->api_version, mid, err);
        return;
    }
    g = sl_gcoord_group_get(gc, req->group_id);
    if (g == NULL) {
        if (mid.len > 0) {
            join_error(gc, jc->cookie, req->api_version, mid, SL_GKERR_UNKNOWN_MEMBER_ID);
            return;
        }
        g = sl_gcoord_group_create(gc, req->group_id);
    }
    if (!accept_joining(gc, g, mid)) {
        sl_gmember_t *m = sl_gcoord_member(g, mid);

        if (m)
            raw_remove(gc, g, m);
        join_error(gc, jc->cookie, req->api_version, empty_str, SL_GKERR_GROUP_MAX_SIZE_REACHED);
    } else if (mid.len == 0) {
        join_new_member(gc, g, jc);
    } else {
        join_known_member(gc, g, mid, jc);
    }
    try_complete_join(gc, g, jc->now);
}

sl_gcoord_res_t
sl_gcoord_join(sl_gcoord_t *gc, const sl_gjoin_req_t *req, void *cookie, int64_t now_ms,
               sl_arena_t *a, sl_gjoin_resp_t *resp)
{
    join_ctx_t jc = {.req = req, .cookie = cookie, .now = now_ms};
    bool done;

    SL_ASSERT(cookie != NULL);
    memset(resp, 0, sizeof(*resp));
    sl_gcoord_enter(gc);
    sl_gcoord_capture(gc, cookie, a, resp);
    jc.protos = sl_gprotos_dup(req->protocols, req->n_protocols, &jc.n_protos);
    jc.rebalance_ms = req->api_version == 0 || req->rebalance_timeout_ms < 0
                          ? req->session_timeout_ms
                          : req->rebalance_timeout_ms;
    join_impl(gc, &jc);
    sl_gprotos_free(jc.protos, jc.n_protos);
    sl_gcoord_leave_call(gc);
    done = gc->cur_done;
    sl_gcoord_capture(gc, NULL, NULL, NULL);
    return done ? SL_GCOORD_DONE : SL_GCOORD_PENDING;
}

/* ================================================================ SyncGroup */

void
sl_gcoord_complete_sync_store(sl_gcoord_t *gc, sl_gpop_t *pop, int16_t err, int64_t now_ms)
{
    sl_group_t *g = sl_gcoord_group_get(gc, pop->group_id);
    sl_map_t by_member;

    if (g == NULL || g->uid != pop->group_uid)
        return;
    /* Members may have come or gone while the write was in flight. */
    if (g->state != SL_GSTATE_COMPLETING || g->generation != pop->generation)
        return;
    if (err != SL_GKERR_NONE) {
        reset_and_propagate(gc, g, err, now_ms);
        maybe_prepare_rebalance(gc, g, now_ms);
        return;
    }
    assignments_index(&by_member, pop->assign, pop->n_assign);
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_gmember_t *m = g->members[i];
        const sl_gmproto_t *a =
            sl_map_get(&by_member, name_key(m->id), (size_t)SL_MAX(m->id.len, 0));

        sl_gbytes_free(&m->assignment);
        m->assignment = sl_gbytes_dup(a ? a->metadata : (sl_bytes_t){NULL, 0});
    }
    sl_map_deinit(&by_member);
    propagate_assignment(gc, g, SL_GKERR_NONE, now_ms);
    sl_gcoord_transition(gc, g, SL_GSTATE_STABLE, now_ms);
}

static void
sync_leader(sl_gcoord_t *gc, sl_group_t *g, const sl_gsync_req_t *req, int64_t now_ms)
{
    sl_gpop_t *pop = sl_gpop_new(SL_GPOP_SYNC, g);
    sl_map_t last;

    /* Every member gets an entry; the last one listed for a member wins,
     * members the leader left out get an empty assignment. */
    pop->generation = g->generation;
    pop->n_assign = g->n_members;
    pop->assign = sl_xcalloc((size_t)(g->n_members ? g->n_members : 1), sizeof(*pop->assign));
    /* One pass over the leader's list (a later entry for a member replaces
     * an earlier one), then one lookup per member: linear in both. */
    sl_map_init(&last);
    for (int32_t j = 0; j < req->n_assignments; j++) {
        sl_str_t id = req->assignments[j].member_id;

        (void)sl_map_put(&last, name_key(id), (size_t)SL_MAX(id.len, 0),
                         (void *)&req->assignments[j]);
    }
    for (int32_t i = 0; i < g->n_members; i++) {
        sl_str_t id = g->members[i]->id;
        const sl_gassign_t *a = sl_map_get(&last, name_key(id), (size_t)SL_MAX(id.len, 0));
        sl_bytes_t b = {NULL, 0};

        if (a && a->assignment.len >= 0)
            b = a->assignment;
        pop->assign[i].name = sl_gstr_dup(id);
        pop->assign[i].metadata = sl_gbytes_dup(b);
    }
    sl_map_deinit(&last);
    sl_gcoord_store_group(gc, g, pop, now_ms);
}

static void
sync_impl(sl_gcoord_t *gc, const sl_gsync_req_t *req, void *cookie, int64_t now_ms)
{
    int16_t err = sl_gcoord_check(gc, req->group_id, false);
    sl_group_t *g;
    sl_gmember_t *m;

    /* A loading coordinator lost the rebalance: make the member rejoin. */
    if (err == SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS)
        err = SL_GKERR_REBALANCE_IN_PROGRESS;
    if (err == SL_GKERR_NONE && req->api_version >= 5 &&
        (req->protocol_type.len < 0 || req->protocol_name.len < 0))
        err = SL_GKERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err != SL_GKERR_NONE) {
        sync_error(gc, cookie, err);
        return;
    }
    g = sl_gcoord_group_get(gc, req->group_id);
    m = g ? sl_gcoord_member(g, req->member_id) : NULL;
    if (g == NULL)
        err = SL_GKERR_UNKNOWN_MEMBER_ID;
    else if (g->state == SL_GSTATE_DEAD)
        err = SL_GKERR_COORDINATOR_NOT_AVAILABLE;
    else if (is_fenced(g, req->group_instance_id, req->member_id))
        err = SL_GKERR_FENCED_INSTANCE_ID;
    else if (m == NULL)
        err = SL_GKERR_UNKNOWN_MEMBER_ID;
    else if (req->generation_id != g->generation)
        err = SL_GKERR_ILLEGAL_GENERATION;
    else if ((req->protocol_type.len >= 0 && !sl_str_eq(req->protocol_type, g->protocol_type)) ||
             (req->protocol_name.len >= 0 && !sl_str_eq(req->protocol_name, g->protocol_name)))
        err = SL_GKERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (g->state == SL_GSTATE_EMPTY)
        err = SL_GKERR_UNKNOWN_MEMBER_ID;
    else if (g->state == SL_GSTATE_PREPARING)
        err = SL_GKERR_REBALANCE_IN_PROGRESS;
    if (err != SL_GKERR_NONE) {
        sync_error(gc, cookie, err);
        return;
    }
    if (g->state == SL_GSTATE_STABLE) {
        sl_gsync_resp_t r = {.protocol_type = g->protocol_type,
                             .protocol_name = g->protocol_name,
                             .assignment = m->assignment};

        clear_pending_sync(gc, g, m);
        sl_gcoord_emit_sync(gc, cookie, &r);
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
        return;
    }
    /* CompletingRebalance: park until the leader's assignment is durable. */
    if (m->sync_cookie && m->sync_cookie != cookie)
        sync_error(gc, m->sync_cookie, SL_GKERR_REBALANCE_IN_PROGRESS);
    m->sync_cookie = cookie;
    m->sync_version = req->api_version;
    clear_pending_sync(gc, g, m);
    if (m == g->leader)
        sync_leader(gc, g, req, now_ms);
}

sl_gcoord_res_t
sl_gcoord_sync(sl_gcoord_t *gc, const sl_gsync_req_t *req, void *cookie, int64_t now_ms,
               sl_arena_t *a, sl_gsync_resp_t *resp)
{
    bool done;

    SL_ASSERT(cookie != NULL);
    memset(resp, 0, sizeof(*resp));
    sl_gcoord_enter(gc);
    sl_gcoord_capture(gc, cookie, a, resp);
    sync_impl(gc, req, cookie, now_ms);
    sl_gcoord_leave_call(gc);
    done = gc->cur_done;
    sl_gcoord_capture(gc, NULL, NULL, NULL);
    return done ? SL_GCOORD_DONE : SL_GCOORD_PENDING;
}

/* ================================================================ Heartbeat */

static int16_t
heartbeat_impl(sl_gcoord_t *gc, const sl_gheartbeat_req_t *req, int64_t now_ms)
{
    int16_t err = sl_gcoord_check(gc, req->group_id, false);
    sl_group_t *g;
    sl_gmember_t *m;

    if (err == SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS)
        return SL_GKERR_NONE; /* Kafka answers blindly while loading */
    if (err != SL_GKERR_NONE)
        return err;
    g = sl_gcoord_group_get(gc, req->group_id);
    if (g == NULL)
        return SL_GKERR_UNKNOWN_MEMBER_ID;
    if (g->state == SL_GSTATE_DEAD)
        return SL_GKERR_COORDINATOR_NOT_AVAILABLE;
    if (is_fenced(g, req->group_instance_id, req->member_id))
        return SL_GKERR_FENCED_INSTANCE_ID;
    m = sl_gcoord_member(g, req->member_id);
    if (m == NULL)
        return SL_GKERR_UNKNOWN_MEMBER_ID;
    if (req->generation_id != g->generation)
        return SL_GKERR_ILLEGAL_GENERATION;
    if (g->state == SL_GSTATE_EMPTY)
        return SL_GKERR_UNKNOWN_MEMBER_ID;
    sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
    return g->state == SL_GSTATE_PREPARING ? SL_GKERR_REBALANCE_IN_PROGRESS : SL_GKERR_NONE;
}

int16_t
sl_gcoord_heartbeat(sl_gcoord_t *gc, const sl_gheartbeat_req_t *req, int64_t now_ms)
{
    int16_t err;

    sl_gcoord_enter(gc);
    err = heartbeat_impl(gc, req, now_ms);
    sl_gcoord_leave_call(gc);
    return err;
}

/* ================================================================ LeaveGroup */

static int16_t
leave_one(sl_gcoord_t *gc, sl_group_t *g, const sl_gleave_member_t *lm, int64_t now_ms)
{
    sl_str_t mid = lm->member_id.len < 0 ? empty_str : lm->member_id;
    sl_gmember_t *m;

    if (mid.len == 0) {
        /* Administrative removal by group.instance.id. */
        m = sl_gcoord_static_member(g, lm->group_instance_id);
        if (m == NULL)
            return SL_GKERR_UNKNOWN_MEMBER_ID;
        sl_gcoord_remove_member(gc, g, m, now_ms);
        return SL_GKERR_NONE;
    }
    if (pending_find(g, mid) >= 0) {
        pending_remove(gc, g, mid);
        try_complete_join(gc, g, now_ms);
        return SL_GKERR_NONE;
    }
    if (is_fenced(g, lm->group_instance_id, mid))
        return SL_GKERR_FENCED_INSTANCE_ID;
    m = sl_gcoord_member(g, mid);
    if (m == NULL)
        return SL_GKERR_UNKNOWN_MEMBER_ID;
    sl_gcoord_remove_member(gc, g, m, now_ms);
    return SL_GKERR_NONE;
}

void
sl_gcoord_leave(sl_gcoord_t *gc, const sl_gleave_req_t *req, int64_t now_ms, sl_arena_t *a,
                sl_gleave_resp_t *resp)
{
    int16_t err = sl_gcoord_check(gc, req->group_id, false);
    sl_group_t *g;

    memset(resp, 0, sizeof(*resp));
    sl_gcoord_enter(gc);
    g = err == SL_GKERR_NONE ? sl_gcoord_group_get(gc, req->group_id) : NULL;
    if (g && g->state == SL_GSTATE_DEAD)
        err = SL_GKERR_COORDINATOR_NOT_AVAILABLE;
    resp->error_code = err;
    if (err == SL_GKERR_NONE) {
        resp->n_members = req->n_members;
        resp->members = sl_arena_array(a, (size_t)(req->n_members > 0 ? req->n_members : 1),
                                       sizeof(*resp->members));
        for (int32_t i = 0; i < req->n_members; i++) {
            const sl_gleave_member_t *lm = &req->members[i];
            sl_gleave_result_t *r = &resp->members[i];

            r->member_id = sl_gstr_arena(a, lm->member_id);
            r->group_instance_id = sl_gstr_arena(a, lm->group_instance_id);
            r->error_code = g ? leave_one(gc, g, lm, now_ms) : SL_GKERR_UNKNOWN_MEMBER_ID;
        }
    }
    /* v0-2 carry one error: the member's, unless the request failed. */
    if (req->api_version < 3 && resp->error_code == SL_GKERR_NONE)
        for (int32_t i = 0; i < resp->n_members && resp->error_code == SL_GKERR_NONE; i++)
            resp->error_code = resp->members[i].error_code;
    sl_gcoord_leave_call(gc);
}
