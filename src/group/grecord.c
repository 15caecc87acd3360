/*
 * grecord.c -- the coordinator's records in __consumer_offsets, in Kafka's
 * own formats (the internal-records JSON specs), and what is built on them: replay at
 * load time, the compact snapshot, the group -> partition function, and the
 * consumer-protocol subscription parser.
 *
 * Every key and value starts with an int16 version. Written:
 *
 *   OffsetCommitKey v1      group string, topic string, partition int32
 *   OffsetCommitValue v3    offset int64, leaderEpoch int32, metadata string,
 *                           commitTimestamp int64
 *   OffsetCommitValue v1    offset, metadata, commitTimestamp, expireTimestamp
 *                           (only for commits with an explicit retention)
 *   GroupMetadataKey v2     group string
 *   GroupMetadataValue v3   protocolType string, generation int32,
 *                           protocol string?, leader string?,
 *                           currentStateTimestamp int64, members [memberId,
 *                           groupInstanceId?, clientId, clientHost,
 *                           rebalanceTimeout int32, sessionTimeout int32,
 *                           subscription bytes, assignment bytes]
 *
 * A null value is a tombstone. Read: key versions 0-2, value versions 0-4
 * (v4 is flexible: compact lengths and tagged fields, skipped).
 */
#include "group/group_int.h"
#include "proto/wire.h"

static const sl_str_t empty_str = {"", 0};

/* ================================================================ hashing */

/* One code point from UTF-8; invalid bytes become U+FFFD one at a time,
 * close to what Java's decoder does for group ids that are not UTF-8. */
static size_t
utf8_next(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    size_t left = (size_t)(end - p), n;
    uint32_t c = p[0], min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, c &= 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, c &= 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, c &= 0x07, min = 0x10000;
    else
        goto bad;
    if (left < n)
        goto bad;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            goto bad;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        goto bad;
    *cp = c;
    return n;
bad:
    *cp = 0xfffd;
    return 1;
}

int32_t
sl_gcoord_java_hash(sl_str_t s)
{
    const uint8_t *p = (const uint8_t *)s.ptr, *end;
    uint32_t h = 0;

    if (s.len <= 0)
        return 0;
    end = p + s.len;
    while (p < end) {
        uint32_t cp;

        p += utf8_next(p, end, &cp);
        if (cp >= 0x10000) {
            /* Java hashes UTF-16 code units: a surrogate pair. */
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

int32_t
sl_gcoord_partition_for(sl_str_t group_id, int32_t num_partitions)
{
    uint32_t h = (uint32_t)sl_gcoord_java_hash(group_id) & 0x7fffffffu;

    return num_partitions > 0 ? (int32_t)(h % (uint32_t)num_partitions) : 0;
}

/* ================================================================ subscription */

int
sl_gcoord_subscription_topics(sl_bytes_t metadata, void (*fn)(void *ctx, sl_str_t topic), void *ctx)
{
    sl_reader_t rd;
    int16_t version;
    int32_t n;

    /* ConsumerProtocolSubscription: every version starts with the version
     * and the topics array (non-flexible), whatever follows. */
    sl_rd_init(&rd, metadata.ptr, metadata.len > 0 ? (size_t)metadata.len : 0);
    version = sl_rd_i16(&rd);
    n = sl_rd_array_len(&rd, false, 2);
    if (rd.err || version < 0 || n < 0)
        return SL_EPROTO;
    for (int32_t i = 0; i < n; i++) {
        sl_str_t t = sl_rd_str(&rd, false);

        if (rd.err || t.len < 0)
            return SL_EPROTO;
        if (fn)
            fn(ctx, t);
    }
    return SL_OK;
}

/* ================================================================ writing */

static sl_str_t
nonnull(sl_str_t s)
{
    return s.len < 0 ? empty_str : s;
}

void
sl_grec_offset_key(sl_buf_t *b, sl_str_t group, sl_str_t topic, int32_t partition)
{
    sl_writer_t wr = {b};

    sl_wr_i16(&wr, 1);
    sl_wr_str(&wr, false, nonnull(group));
    sl_wr_str(&wr, false, nonnull(topic));
    sl_wr_i32(&wr, partition);
}

void
sl_grec_group_key(sl_buf_t *b, sl_str_t group)
{
    sl_writer_t wr = {b};

    sl_wr_i16(&wr, 2);
    sl_wr_str(&wr, false, nonnull(group));
}

void
sl_grec_offset_value(sl_buf_t *b, const sl_goffset_t *o)
{
    sl_writer_t wr = {b};

    if (o->expire_ts != -1) {
        /* Only v1 has the expire timestamp (Kafka writes v1 then too). */
        sl_wr_i16(&wr, 1);
        sl_wr_i64(&wr, o->offset);
        sl_wr_str(&wr, false, nonnull(o->metadata));
        sl_wr_i64(&wr, o->commit_ts);
        sl_wr_i64(&wr, o->expire_ts);
        return;
    }
    sl_wr_i16(&wr, 3);
    sl_wr_i64(&wr, o->offset);
    sl_wr_i32(&wr, o->leader_epoch);
    sl_wr_str(&wr, false, nonnull(o->metadata));
    sl_wr_i64(&wr, o->commit_ts);
}

void
sl_grec_group_value(sl_buf_t *b, const sl_gmeta_t *m)
{
    sl_writer_t wr = {b};

    sl_wr_i16(&wr, 3);
    sl_wr_str(&wr, false, nonnull(m->protocol_type));
    sl_wr_i32(&wr, m->generation);
    sl_wr_str(&wr, false, m->protocol);
    sl_wr_str(&wr, false, m->leader);
    sl_wr_i64(&wr, m->state_ts);
    sl_wr_i32(&wr, m->n_members);
    for (int32_t i = 0; i < m->n_members; i++) {
        const sl_gmeta_member_t *mm = &m->members[i];

        sl_wr_str(&wr, false, nonnull(mm->member_id));
        sl_wr_str(&wr, false, mm->instance_id);
        sl_wr_str(&wr, false, nonnull(mm->client_id));
        sl_wr_str(&wr, false, nonnull(mm->client_host));
        sl_wr_i32(&wr, mm->rebalance_timeout_ms);
        sl_wr_i32(&wr, mm->session_timeout_ms);
        sl_wr_bytes(&wr, false,
                    mm->subscription.len < 0 ? (sl_bytes_t){NULL, 0} : mm->subscription);
        sl_wr_bytes(&wr, false, mm->assignment.len < 0 ? (sl_bytes_t){NULL, 0} : mm->assignment);
    }
}

/* ================================================================ reading */

static void
skip_tags(sl_reader_t *rd)
{
    uint32_t n = sl_rd_uvarint(rd);

    for (uint32_t i = 0; i < n && !rd->err; i++) {
        (void)sl_rd_uvarint(rd);
        sl_rd_skip(rd, sl_rd_uvarint(rd));
    }
}

int
sl_grec_parse_key(sl_bytes_t key, sl_gkey_t *out)
{
    sl_reader_t rd;
    int16_t v;

    memset(out, 0, sizeof(*out));
    if (key.len < 0)
        return SL_ECORRUPT;
    sl_rd_init(&rd, key.ptr, (size_t)key.len);
    v = sl_rd_i16(&rd);
    if (rd.err)
        return SL_ECORRUPT;
    if (v == 0 || v == 1) {
        out->kind = 0;
        out->group = sl_rd_str(&rd, false);
        out->topic = sl_rd_str(&rd, false);
        out->partition = sl_rd_i32(&rd);
    } else if (v == 2) {
        out->kind = 1;
        out->group = sl_rd_str(&rd, false);
    } else {
        return SL_EUNSUP; /* e.g. a transaction-log key */
    }
    if (rd.err || out->group.len < 0 || (out->kind == 0 && out->topic.len < 0))
        return SL_ECORRUPT;
    return SL_OK;
}

int
sl_grec_parse_offset_value(sl_bytes_t v, sl_goffset_t *o)
{
    sl_reader_t rd;
    int16_t ver;
    bool flex;
    sl_str_t md;

    sl_rd_init(&rd, v.ptr, v.len > 0 ? (size_t)v.len : 0);
    ver = sl_rd_i16(&rd);
    if (rd.err)
        return SL_ECORRUPT;
    if (ver < 0 || ver > 4)
        return SL_EUNSUP;
    flex = ver >= 4;
    o->offset = sl_rd_i64(&rd);
    o->leader_epoch = ver >= 3 ? sl_rd_i32(&rd) : -1;
    md = sl_rd_str(&rd, flex);
    o->commit_ts = sl_rd_i64(&rd);
    o->expire_ts = ver == 1 ? sl_rd_i64(&rd) : -1;
    if (flex)
        skip_tags(&rd);
    if (rd.err)
        return SL_ECORRUPT;
    o->metadata = sl_gstr_dup(nonnull(md));
    return SL_OK;
}

int
sl_grec_parse_group_value(sl_bytes_t v, sl_arena_t *a, sl_gmeta_t *m)
{
    sl_reader_t rd;
    int16_t ver;
    bool flex;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&rd, v.ptr, v.len > 0 ? (size_t)v.len : 0);
    ver = sl_rd_i16(&rd);
    if (rd.err)
        return SL_ECORRUPT;
    if (ver < 0 || ver > 4)
        return SL_EUNSUP;
    flex = ver >= 4;
    m->protocol_type = nonnull(sl_rd_str(&rd, flex));
    m->generation = sl_rd_i32(&rd);
    m->protocol = sl_rd_str(&rd, flex);
    m->leader = sl_rd_str(&rd, flex);
    m->state_ts = ver >= 2 ? sl_rd_i64(&rd) : -1;
    /* A member takes at least 10 bytes in any version: bounds the array. */
    m->n_members = sl_rd_array_len(&rd, flex, 10);
    if (rd.err || m->n_members < 0)
        return SL_ECORRUPT;
    m->members = sl_arena_array(a, (size_t)(m->n_members ? m->n_members : 1), sizeof(*m->members));
    for (int32_t i = 0; i < m->n_members && !rd.err; i++) {
        sl_gmeta_member_t *mm = &m->members[i];

        mm->member_id = nonnull(sl_rd_str(&rd, flex));
        mm->instance_id = ver >= 3 ? sl_rd_str(&rd, flex) : SL_STR_NULL;
        mm->client_id = nonnull(sl_rd_str(&rd, flex));
        mm->client_host = nonnull(sl_rd_str(&rd, flex));
        mm->rebalance_timeout_ms = ver >= 1 ? sl_rd_i32(&rd) : -1;
        mm->session_timeout_ms = sl_rd_i32(&rd);
        if (ver == 0)
            mm->rebalance_timeout_ms = mm->session_timeout_ms;
        mm->subscription = sl_rd_bytes(&rd, flex);
        mm->assignment = sl_rd_bytes(&rd, flex);
        if (flex)
            skip_tags(&rd);
    }
    if (flex)
        skip_tags(&rd);
    return rd.err ? SL_ECORRUPT : SL_OK;
}

/* ================================================================ replay */

static void
clear_members(sl_gcoord_t *gc, sl_group_t *g)
{
    /* Kept members have nothing parked while loading; if a live group is
     * overwritten anyway, its parked requests fail like on unload. */
    while (g->n_members > 0) {
        sl_gmember_t *m = g->members[--g->n_members];
        sl_gjoin_resp_t jr = {.error_code = SL_GKERR_NOT_COORDINATOR,
                              .generation_id = -1,
                              .member_id = m->id,
                              .leader = empty_str};
        sl_gsync_resp_t sr = {.error_code = SL_GKERR_NOT_COORDINATOR,
                              .assignment = {(const uint8_t *)"", 0}};

        sl_gcoord_emit_join(gc, m->join_cookie, &jr, m->join_version);
        sl_gcoord_emit_sync(gc, m->sync_cookie, &sr);
        sl_gcoord_member_free(m);
    }
    g->leader = NULL;
    for (int32_t i = 0; i < g->n_pending; i++)
        sl_gstr_free(&g->pending[i].id);
    g->n_pending = 0;
    sl_gcoord_arm(gc, g, &g->join_timer, SL_GNEVER);
    sl_gcoord_arm(gc, g, &g->sync_timer, SL_GNEVER);
}

/* A group with neither metadata nor offsets is not kept. */
static void
maybe_forget(sl_gcoord_t *gc, sl_group_t *g)
{
    if (g->last_meta.len < 0 && g->n_members == 0 && g->offsets.len == 0 && g->n_pending == 0 &&
        g->n_pending_commits == 0 && g->state == SL_GSTATE_EMPTY)
        sl_gcoord_group_drop(gc, g, SL_GKERR_NOT_COORDINATOR);
}

static void
load_meta(sl_gcoord_t *gc, sl_group_t *g, const sl_gmeta_t *meta, sl_bytes_t raw, int64_t now_ms)
{
    clear_members(gc, g);
    sl_gstr_free(&g->protocol_type);
    sl_gstr_free(&g->protocol_name);
    g->protocol_type = meta->protocol_type.len > 0 ? sl_gstr_dup(meta->protocol_type) : SL_STR_NULL;
    g->protocol_name = sl_gstr_dup(meta->protocol);
    g->generation = meta->generation;
    g->state_ts = meta->state_ts;
    g->members = sl_xrealloc(g->members, (size_t)(meta->n_members + 1) * sizeof(*g->members));
    g->cap_members = meta->n_members + 1;
    for (int32_t i = 0; i < meta->n_members; i++) {
        const sl_gmeta_member_t *mm = &meta->members[i];
        sl_gmember_t *m = sl_xcalloc(1, sizeof(*m));

        m->id = sl_gstr_dup(mm->member_id);
        m->instance_id = sl_gstr_dup(mm->instance_id);
        m->client_id = sl_gstr_dup(mm->client_id);
        m->client_host = sl_gstr_dup(mm->client_host);
        m->rebalance_timeout_ms = mm->rebalance_timeout_ms;
        m->session_timeout_ms = mm->session_timeout_ms;
        /* Only the selected protocol's metadata is persisted. */
        m->protocols = sl_xcalloc(1, sizeof(*m->protocols));
        m->n_protocols = 1;
        m->protocols[0].name = sl_gstr_dup(nonnull(meta->protocol));
        m->protocols[0].metadata =
            sl_gbytes_dup(mm->subscription.len < 0 ? (sl_bytes_t){NULL, 0} : mm->subscription);
        m->assignment =
            sl_gbytes_dup(mm->assignment.len < 0 ? (sl_bytes_t){NULL, 0} : mm->assignment);
        g->members[g->n_members++] = m;
        sl_gcoord_arm(gc, g, &m->session, now_ms + m->session_timeout_ms);
        if (meta->leader.len >= 0 && sl_str_eq(m->id, meta->leader))
            g->leader = m;
    }
    if (g->leader == NULL && g->n_members > 0)
        g->leader = g->members[0];
    g->state = g->n_members > 0 ? SL_GSTATE_STABLE : SL_GSTATE_EMPTY;
    sl_gcoord_compute_topics(g);
    sl_gbytes_free(&g->last_meta);
    g->last_meta = sl_gbytes_dup(raw);
    g->last_meta_seq = gc->next_persist_id;
}

static int
replay_offset(sl_gcoord_t *gc, const sl_gkey_t *k, sl_bytes_t value)
{
    sl_group_t *g = sl_gcoord_group_get(gc, k->group);
    sl_goffset_t o = {0};
    int rc;

    if (value.len < 0) {
        if (g) {
            sl_gcoord_offset_del(g, k->topic, k->partition);
            maybe_forget(gc, g);
        }
        return SL_OK;
    }
    if ((rc = sl_grec_parse_offset_value(value, &o)) != SL_OK)
        return rc;
    if (g == NULL)
        g = sl_gcoord_group_create(gc, k->group);
    o.topic = sl_gstr_dup(k->topic);
    o.partition = k->partition;
    o.seq = 0; /* log order decides */
    sl_gcoord_offset_put(g, &o);
    return SL_OK;
}

static int
replay_group(sl_gcoord_t *gc, const sl_gkey_t *k, sl_bytes_t value, int64_t now_ms)
{
    sl_group_t *g = sl_gcoord_group_get(gc, k->group);
    sl_gmeta_t meta;
    int rc;

    if (value.len < 0) {
        if (g == NULL)
            return SL_OK;
        /* Tombstone: only offsets (if any) remain, as an offsets-only group. */
        clear_members(gc, g);
        sl_gstr_free(&g->protocol_type);
        sl_gstr_free(&g->protocol_name);
        sl_gbytes_free(&g->last_meta);
        g->generation = 0;
        g->state = SL_GSTATE_EMPTY;
        g->state_ts = -1;
        sl_gcoord_compute_topics(g);
        maybe_forget(gc, g);
        return SL_OK;
    }
    if ((rc = sl_grec_parse_group_value(value, &gc->scratch, &meta)) != SL_OK)
        return rc;
    if (g == NULL)
        g = sl_gcoord_group_create(gc, k->group);
    load_meta(gc, g, &meta, value, now_ms);
    return SL_OK;
}

int
sl_gcoord_replay(sl_gcoord_t *gc, sl_bytes_t key, sl_bytes_t value, int64_t now_ms)
{
    sl_gkey_t k;
    int rc = sl_grec_parse_key(key, &k);

    if (rc != SL_OK)
        return rc;
    sl_gcoord_enter(gc);
    rc = k.kind == 0 ? replay_offset(gc, &k, value) : replay_group(gc, &k, value, now_ms);
    sl_gcoord_leave_call(gc);
    return rc;
}

/* ================================================================ snapshot */

void
sl_gcoord_snapshot(sl_gcoord_t *gc, int32_t partition, sl_gcoord_snapshot_fn fn, void *ctx)
{
    size_t n;
    sl_group_t **v = sl_gcoord_groups_sorted(gc, partition, &n);
    sl_buf_t b = SL_BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        sl_group_t *g = v[i];
        sl_goffset_t **offs;
        int32_t n_offs;
        size_t klen;
        sl_grecord_t rec;

        if (g->last_meta.len >= 0) {
            sl_buf_reset(&b);
            sl_grec_group_key(&b, g->id);
            rec.key = (sl_bytes_t){b.data, (int32_t)b.len};
            rec.value = g->last_meta;
            rec.timestamp_ms = g->state_ts < 0 ? 0 : g->state_ts;
            fn(ctx, g->partition, g->id, &rec);
        }
        offs = sl_gcoord_offsets_sorted(g, &n_offs);
        for (int32_t j = 0; j < n_offs; j++) {
            sl_buf_reset(&b);
            sl_grec_offset_key(&b, g->id, offs[j]->topic, offs[j]->partition);
            klen = b.len;
            sl_grec_offset_value(&b, offs[j]);
            rec.key = (sl_bytes_t){b.data, (int32_t)klen};
            rec.value = (sl_bytes_t){b.data + klen, (int32_t)(b.len - klen)};
            rec.timestamp_ms = offs[j]->commit_ts;
            fn(ctx, g->partition, g->id, &rec);
        }
        free(offs);
    }
    sl_buf_deinit(&b);
    free(v);
}
