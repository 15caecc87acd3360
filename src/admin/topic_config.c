/*
 * topic_config.c -- effective topic configs and the Alter/Incremental-
 * AlterConfigs semantics shared by topics and brokers.
 *
 * A topic config's value comes from, strongest first: the topic's override,
 * the broker configs named as its synonyms (each looked up through the
 * dynamic-broker, dynamic-default and static layers; a stronger synonym in
 * a weaker layer still beats a weaker synonym in a stronger layer, as
 * Kafka merges layers per key), the broker default of the first synonym
 * that has one, and the topic default. So with log.retention.hours=24 in
 * server.properties and no override, retention.ms is 86400000 from
 * STATIC_BROKER_CONFIG.
 */
#include "admin/admin_int.h"

/* ======================================================================== */
/* Effective values                                                         */
/* ======================================================================== */

int64_t
sl_topic_config_synonym_scale(const char *synonym)
{
    size_t n = strlen(synonym);

    if (n > 6 && strcmp(synonym + n - 6, ".hours") == 0)
        return 3600000;
    if (n > 8 && strcmp(synonym + n - 8, ".minutes") == 0)
        return 60000;
    return 1;
}

/* A broker value of synonym s, in the unit of topic config d. */
static const char *
convert(const sl_cfgdef_t *d, const char *s, const char *v, char *buf, size_t cap)
{
    int64_t scale = sl_topic_config_synonym_scale(s), x;

    if (v == NULL || (scale == 1 && strcmp(d->name, "retention.ms") != 0))
        return v;
    x = sl_cfgdef_long(v, 0) * scale;
    /* Kafka turns any negative retention into -1 ("forever"). */
    if (strcmp(d->name, "retention.ms") == 0 && x < 0)
        x = -1;
    snprintf(buf, cap, "%" PRId64, x);
    return buf;
}

const char *
sl_topic_config_effective(const sl_broker_config_t *b, const sl_props_t *ov, const sl_cfgdef_t *d,
                          char *buf, size_t cap, sl_cfg_source_t *src)
{
    const char *v;
    sl_cfg_source_t s = SL_CFG_SRC_DEFAULT;

    if (ov && (v = sl_props_get(ov, d->name)) != NULL) {
        s = SL_CFG_SRC_DYNAMIC_TOPIC;
        goto out;
    }
    for (int i = 0; b && i < SL_CFG_MAX_SYNONYMS && d->synonyms[i]; i++) {
        v = sl_broker_config_layer_value(b, d->synonyms[i], &s);
        if (v) {
            v = convert(d, d->synonyms[i], v, buf, cap);
            goto out;
        }
    }
    s = SL_CFG_SRC_DEFAULT;
    for (int i = 0; i < SL_CFG_MAX_SYNONYMS && d->synonyms[i]; i++) {
        const sl_cfgdef_t *bd = sl_cfgdef_find(SL_CFG_BROKER, d->synonyms[i]);

        if (bd && bd->dflt) {
            v = convert(d, bd->name, bd->dflt, buf, cap);
            goto out;
        }
    }
    v = d->dflt;
out:
    if (src)
        *src = s;
    return v;
}

static const char *
eff(const sl_broker_config_t *b, const sl_props_t *ov, const char *name, char *buf, size_t cap)
{
    const sl_cfgdef_t *d = sl_cfgdef_find(SL_CFG_TOPIC, name);

    SL_ASSERT(d != NULL);
    return sl_topic_config_effective(b, ov, d, buf, cap, NULL);
}

static int8_t
compression_code(const char *v)
{
    static const char *const names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};

    for (int8_t i = 0; i < 5; i++) {
        if (v && strcmp(v, names[i]) == 0)
            return i;
    }
    return SL_CFG_COMPRESSION_PRODUCER;
}

static uint32_t
cleanup_flags(const char *v)
{
    uint32_t f = 0;

    for (const char *p = v; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        if (n == 6 && memcmp(p, "delete", 6) == 0)
            f |= SL_CFG_CLEANUP_DELETE;
        if (n == 7 && memcmp(p, "compact", 7) == 0)
            f |= SL_CFG_CLEANUP_COMPACT;
        p = comma ? comma + 1 : NULL;
    }
    return f;
}

void
sl_topic_config_resolve(const sl_broker_config_t *b, const sl_props_t *ov, sl_topic_config_t *out)
{
    char buf[64];
#define L(name) sl_cfgdef_long(eff(b, ov, name, buf, sizeof(buf)), 0)
#define I(name) ((int32_t)L(name))
#define B(name) sl_cfgdef_bool(eff(b, ov, name, buf, sizeof(buf)), false)

    memset(out, 0, sizeof(*out));
    out->cleanup_policy = cleanup_flags(eff(b, ov, "cleanup.policy", buf, sizeof(buf)));
    out->compression_type = compression_code(eff(b, ov, "compression.type", buf, sizeof(buf)));
    out->compression_gzip_level = I("compression.gzip.level");
    out->compression_lz4_level = I("compression.lz4.level");
    out->compression_zstd_level = I("compression.zstd.level");
    out->delete_retention_ms = L("delete.retention.ms");
    out->file_delete_delay_ms = L("file.delete.delay.ms");
    out->flush_messages = L("flush.messages");
    out->flush_ms = L("flush.ms");
    out->index_interval_bytes = I("index.interval.bytes");
    out->local_retention_bytes = L("local.retention.bytes");
    out->local_retention_ms = L("local.retention.ms");
    out->max_compaction_lag_ms = L("max.compaction.lag.ms");
    out->max_message_bytes = I("max.message.bytes");
    out->message_downconversion_enable = B("message.downconversion.enable");
    /* The deprecated difference.max.ms still applies to whichever of
     * before/after is left at its default (Kafka 3.6+ behaviour). */
    int64_t diff = L("message.timestamp.difference.max.ms");
    out->message_timestamp_before_max_ms = L("message.timestamp.before.max.ms");
    out->message_timestamp_after_max_ms = L("message.timestamp.after.max.ms");
    if (out->message_timestamp_before_max_ms == INT64_MAX)
        out->message_timestamp_before_max_ms = diff;
    if (out->message_timestamp_after_max_ms == INT64_MAX)
        out->message_timestamp_after_max_ms = diff;
    out->message_timestamp_type =
        strcmp(eff(b, ov, "message.timestamp.type", buf, sizeof(buf)), "LogAppendTime") == 0
            ? SL_CFG_TS_LOG_APPEND_TIME
            : SL_CFG_TS_CREATE_TIME;
    out->min_cleanable_dirty_ratio =
        sl_cfgdef_double(eff(b, ov, "min.cleanable.dirty.ratio", buf, sizeof(buf)), 0.5);
    out->min_compaction_lag_ms = L("min.compaction.lag.ms");
    out->min_insync_replicas = I("min.insync.replicas");
    out->preallocate = B("preallocate");
    out->remote_storage_enable = B("remote.storage.enable");
    out->retention_bytes = L("retention.bytes");
    out->retention_ms = L("retention.ms");
    out->segment_bytes = I("segment.bytes");
    out->segment_index_bytes = I("segment.index.bytes");
    out->segment_jitter_ms = L("segment.jitter.ms");
    out->segment_ms = L("segment.ms");
    out->unclean_leader_election_enable = B("unclean.leader.election.enable");
#undef L
#undef I
#undef B
}

/* ======================================================================== */
/* Validation                                                               */
/* ======================================================================== */

/* Checks between topic configs, on overrides over Kafka's defaults (what
 * Kafka's LogConfig.validate compares). */
static int
cross_check(const sl_props_t *ov, sl_errbuf_t *err)
{
    char b1[64], b2[64];
    int64_t lo = sl_cfgdef_long(eff(NULL, ov, "min.compaction.lag.ms", b1, sizeof(b1)), 0);
    int64_t hi = sl_cfgdef_long(eff(NULL, ov, "max.compaction.lag.ms", b2, sizeof(b2)), 0);

    if (lo > hi)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "conflict topic config setting min.compaction.lag.ms (%" PRId64
                             ") > max.compaction.lag.ms (%" PRId64 ")",
                             lo, hi);
    return SL_OK;
}

int
sl_topic_config_validate(sl_props_t *ov, sl_errbuf_t *err)
{
    for (size_t i = 0; i < ov->n; i++) {
        const sl_cfgdef_t *d = sl_cfgdef_find(SL_CFG_TOPIC, ov->v[i].key);
        char *canon;
        int rc;

        if (d == NULL)
            return sl_errbuf_set(err, SL_EINVALID_CONFIG, "Unknown topic config name: %s",
                                 ov->v[i].key);
        if ((rc = sl_cfgdef_canonical(d, ov->v[i].value, &canon, err)) != SL_OK)
            return rc;
        free(ov->v[i].value);
        ov->v[i].value = canon;
    }
    return cross_check(ov, err);
}

/* ======================================================================== */
/* Alter and IncrementalAlter                                               */
/* ======================================================================== */

/* Is item[0..n) one of the comma-separated items of list[0..len)? */
static bool
list_has(const char *list, size_t len, const char *item, size_t n)
{
    const char *p = list, *end = list + len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);

        if (l == n && memcmp(p, item, n) == 0)
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

/* Calls fn for each trimmed, non-empty item of a comma-separated list. */
static void
list_each(const char *list, void (*fn)(void *, const char *, size_t), void *arg)
{
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        const char *s = p, *e = comma ? comma : p + strlen(p);

        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s)
            fn(arg, s, (size_t)(e - s));
        p = comma ? comma + 1 : NULL;
    }
}

typedef struct list_edit {
    sl_buf_t out;    /* the list being built (not NUL-terminated) */
    const char *arg; /* the operation's items, for SUBTRACT */
    bool append;
} list_edit_t;

static void
push_unique(void *arg, const char *s, size_t n)
{
    list_edit_t *le = arg;

    if (list_has((const char *)le->out.data, le->out.len, s, n))
        return;
    if (le->out.len)
        sl_buf_append(&le->out, ",", 1);
    sl_buf_append(&le->out, s, n);
}

static void
keep_unless_subtracted(void *arg, const char *s, size_t n)
{
    list_edit_t *le = arg;

    if (le->arg && list_has(le->arg, strlen(le->arg), s, n))
        return;
    if (le->out.len)
        sl_buf_append(&le->out, ",", 1);
    sl_buf_append(&le->out, s, n);
}

/* APPEND adds the items of arg that are missing (KRaft's semantics: no
 * duplicates); SUBTRACT removes every copy of each. Returns a heap list. */
static char *
list_edit(const char *cur, const char *arg, bool append)
{
    list_edit_t items = {SL_BUF_INIT, NULL, true}, le = {SL_BUF_INIT, NULL, append};
    size_t len;
    char *trimmed;

    /* The operation's items, trimmed, for exact comparisons. */
    list_each(arg, push_unique, &items);
    sl_buf_append(&items.out, "", 1);
    trimmed = (char *)sl_buf_take(&items.out, &len);
    le.arg = append ? NULL : trimmed;
    list_each(cur, keep_unless_subtracted, &le);
    if (append)
        list_each(trimmed, push_unique, &le);
    sl_buf_append(&le.out, "", 1);
    free(trimmed);
    return (char *)sl_buf_take(&le.out, &len);
}

static int
apply_one(sl_cfg_scope_t scope, sl_props_t *work, const sl_cfg_alter_t *e, bool incremental,
          sl_cfg_effective_fn eff_fn, sl_cfg_check_fn check_fn, const void *ctx, sl_errbuf_t *err)
{
    const sl_cfgdef_t *d = sl_cfgdef_find_str(scope, e->name);
    int op = incremental ? e->op : SL_CFG_OP_SET;
    char *val = sl_str_dup(e->value), *canon = NULL, *edited = NULL;
    int rc = SL_OK;

    if (d == NULL) {
        rc =
            sl_errbuf_set(err, SL_EINVALID_CONFIG, "Unknown %s config name: %.*s",
                          scope == SL_CFG_TOPIC ? "topic" : "broker",
                          (int)SL_MIN(SL_MAX(e->name.len, 0), 200), e->name.ptr ? e->name.ptr : "");
        goto out;
    }
    if (check_fn && (rc = check_fn(ctx, d, err)) != SL_OK)
        goto out;
    if (op < SL_CFG_OP_SET || op > SL_CFG_OP_SUBTRACT) {
        rc = sl_errbuf_set(err, SL_EINVALID_REQUEST, "Unknown alter config operation %d for %s", op,
                           d->name);
        goto out;
    }
    if (op == SL_CFG_OP_DELETE) {
        sl_props_unset(work, d->name);
        goto out;
    }
    if (val == NULL) {
        rc = sl_errbuf_set(err, SL_EINVALID_REQUEST, "Null value not supported for : %s", d->name);
        goto out;
    }
    if (op == SL_CFG_OP_APPEND || op == SL_CFG_OP_SUBTRACT) {
        char buf[64];
        const char *cur;

        if (d->type != SL_CFG_LIST) {
            rc = sl_errbuf_set(err, SL_EINVALID_CONFIG,
                               "Config value %s is not allowed for config key: %s",
                               op == SL_CFG_OP_APPEND ? "append" : "subtract", d->name);
            goto out;
        }
        cur = sl_props_get(work, d->name);
        if (cur == NULL)
            cur = eff_fn(ctx, d, buf, sizeof(buf));
        edited = list_edit(cur ? cur : "", val, op == SL_CFG_OP_APPEND);
    }
    if ((rc = sl_cfgdef_canonical(d, edited ? edited : val, &canon, err)) != SL_OK)
        goto out;
    sl_props_set(work, d->name, canon);
out:
    free(val);
    free(canon);
    free(edited);
    return rc;
}

int
sl_cfg_alter_apply(sl_cfg_scope_t scope, const sl_props_t *cur, const sl_cfg_alter_t *ents,
                   size_t n, unsigned flags, sl_cfg_effective_fn eff_fn, sl_cfg_check_fn check_fn,
                   const void *ctx, sl_props_t *out, int32_t *bad, sl_errbuf_t *err)
{
    bool incremental = (flags & SL_CFG_ALTER_INCREMENTAL) != 0;
    size_t nd;
    const sl_cfgdef_t *defs = sl_cfgdef_all(scope, &nd);
    bool *seen = sl_xcalloc(nd, sizeof(bool));
    sl_props_t work;
    int rc = SL_OK;

    if (bad)
        *bad = -1;
    sl_props_init(&work);
    /* Legacy AlterConfigs replaces the whole set; incremental edits it. */
    if (incremental && cur)
        sl_props_copy(&work, cur);
    for (size_t i = 0; i < n; i++) {
        const sl_cfgdef_t *d = sl_cfgdef_find_str(scope, ents[i].name);

        if ((flags & SL_CFG_ALTER_SKIP_NULL) && sl_str_is_null(ents[i].value))
            continue;
        /* Names are checked against the table, so a duplicate is found in
         * O(log n) per entry whatever the request holds; an unknown name
         * fails on its first occurrence anyway. */
        if (d && seen[d - defs])
            rc = sl_errbuf_set(err, SL_EINVALID_REQUEST, "Error due to duplicate config keys: %s",
                               d->name);
        else if (d)
            seen[d - defs] = true;
        if (rc == SL_OK)
            rc = apply_one(scope, &work, &ents[i], incremental, eff_fn, check_fn, ctx, err);
        if (rc != SL_OK) {
            if (bad)
                *bad = (int32_t)i;
            goto fail;
        }
    }
    if (scope == SL_CFG_TOPIC && (rc = cross_check(&work, err)) != SL_OK)
        goto fail;
    free(seen);
    sl_props_deinit(out);
    *out = work;
    return SL_OK;

fail:
    free(seen);
    sl_props_deinit(&work);
    return rc;
}

typedef struct topic_ctx {
    const sl_broker_config_t *b;
    const sl_props_t *cur;
} topic_ctx_t;

static const char *
topic_effective(const void *ctx, const sl_cfgdef_t *d, char *buf, size_t cap)
{
    const topic_ctx_t *tc = ctx;

    return sl_topic_config_effective(tc->b, tc->cur, d, buf, cap, NULL);
}

int
sl_topic_config_alter(const sl_broker_config_t *b, const sl_props_t *cur,
                      const sl_cfg_alter_t *ents, size_t n, bool incremental, sl_props_t *out,
                      int32_t *bad, sl_errbuf_t *err)
{
    topic_ctx_t tc = {b, cur};

    return sl_cfg_alter_apply(SL_CFG_TOPIC, cur, ents, n,
                              incremental ? SL_CFG_ALTER_INCREMENTAL : 0, topic_effective, NULL,
                              &tc, out, bad, err);
}
