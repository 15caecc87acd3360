/*
 * topics.c -- the topic store: in-memory table, lookups, and the topic
 * operations of CreateTopics, DeleteTopics, CreatePartitions and
 * (Incremental)AlterConfigs.
 *
 * Every mutation follows one pattern: validate everything first, apply the
 * change in memory, ask the backend to persist it, and undo the in-memory
 * change if that fails -- so a failed write leaves the store exactly as it
 * was and the client gets an error, never a half-applied change. The table
 * is an array of topic pointers with two open-addressing indexes (by name
 * and by id); both are rebuilt on delete, which is rare.
 */
#include "admin/admin_int.h"

#include <sys/resource.h>

struct sl_topics {
    const sl_topics_backend_t *be;
    void *ctx;
    sl_broker_config_t *cfg; /* borrowed; outlives the store */
    char cluster_id[64];
    int32_t live_brokers; /* upper bound for replication factors */

    sl_topic_t **v;
    size_t n, cap;
    int32_t *by_name, *by_id; /* slot -> index into v, -1 = empty */
    size_t slots;             /* power of two, >= 2 * n */

    sl_props_t dyn_default, dyn_broker;
};

/* ======================================================================== */
/* Indexes                                                                  */
/* ======================================================================== */

static uint64_t
hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void
index_put(int32_t *tab, size_t slots, uint64_t h, int32_t idx)
{
    size_t i = (size_t)h & (slots - 1);

    while (tab[i] >= 0)
        i = (i + 1) & (slots - 1);
    tab[i] = idx;
}

static void
index_rebuild(sl_topics_t *ts)
{
    size_t want = 16;

    while (want < ts->n * 2 + 2)
        want *= 2;
    if (want != ts->slots) {
        free(ts->by_name);
        free(ts->by_id);
        ts->by_name = sl_xmalloc(want * sizeof(int32_t));
        ts->by_id = sl_xmalloc(want * sizeof(int32_t));
        ts->slots = want;
    }
    memset(ts->by_name, 0xff, ts->slots * sizeof(int32_t));
    memset(ts->by_id, 0xff, ts->slots * sizeof(int32_t));
    for (size_t i = 0; i < ts->n; i++) {
        const sl_topic_t *t = ts->v[i];

        index_put(ts->by_name, ts->slots, hash_bytes(t->name, strlen(t->name)), (int32_t)i);
        index_put(ts->by_id, ts->slots, hash_bytes(t->id, 16), (int32_t)i);
    }
}

const sl_topic_t *
sl_topics_find(const sl_topics_t *ts, sl_str_t name)
{
    size_t i;

    if (name.len <= 0 || ts->slots == 0)
        return NULL;
    for (i = (size_t)hash_bytes(name.ptr, (size_t)name.len) & (ts->slots - 1); ts->by_name[i] >= 0;
         i = (i + 1) & (ts->slots - 1)) {
        const sl_topic_t *t = ts->v[ts->by_name[i]];

        if (sl_str_eq_c(name, t->name))
            return t;
    }
    return NULL;
}

const sl_topic_t *
sl_topics_find_id(const sl_topics_t *ts, const uint8_t id[16])
{
    size_t i;

    if (ts->slots == 0)
        return NULL;
    for (i = (size_t)hash_bytes(id, 16) & (ts->slots - 1); ts->by_id[i] >= 0;
         i = (i + 1) & (ts->slots - 1)) {
        const sl_topic_t *t = ts->v[ts->by_id[i]];

        if (memcmp(t->id, id, 16) == 0)
            return t;
    }
    return NULL;
}

/* ======================================================================== */
/* Table                                                                    */
/* ======================================================================== */

static void
topic_free(sl_topic_t *t)
{
    if (t == NULL)
        return;
    free(t->name);
    sl_props_deinit(&t->configs);
    free(t);
}

static void
table_add(sl_topics_t *ts, sl_topic_t *t)
{
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 16;
        ts->v = sl_xrealloc(ts->v, ts->cap * sizeof(*ts->v));
    }
    ts->v[ts->n++] = t;
    if (ts->n * 2 + 2 > ts->slots) {
        index_rebuild(ts);
    } else {
        index_put(ts->by_name, ts->slots, hash_bytes(t->name, strlen(t->name)),
                  (int32_t)(ts->n - 1));
        index_put(ts->by_id, ts->slots, hash_bytes(t->id, 16), (int32_t)(ts->n - 1));
    }
}

/* Removes t from the table (does not free it). */
static void
table_remove(sl_topics_t *ts, const sl_topic_t *t)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (ts->v[i] == t) {
            ts->v[i] = ts->v[--ts->n];
            break;
        }
    }
    index_rebuild(ts);
}

static sl_topic_t *
find_mut(sl_topics_t *ts, sl_str_t name)
{
    return (sl_topic_t *)sl_topics_find(ts, name);
}

size_t
sl_topics_count(const sl_topics_t *ts)
{
    return ts->n;
}

const sl_topic_t *
sl_topics_at(const sl_topics_t *ts, size_t i)
{
    SL_ASSERT(i < ts->n);
    return ts->v[i];
}

void
sl_topics_set_live_brokers(sl_topics_t *ts, int32_t n)
{
    ts->live_brokers = n;
}

const char *
sl_topics_cluster_id(const sl_topics_t *ts)
{
    return ts->cluster_id;
}

const sl_props_t *
sl_topics_broker_layer(const sl_topics_t *ts, bool default_resource)
{
    return default_resource ? &ts->dyn_default : &ts->dyn_broker;
}

static int
commit(sl_topics_t *ts, int op, const sl_topic_t *t, bool default_resource, sl_errbuf_t *err)
{
    sl_topics_change_t chg = {op, t, default_resource};

    return ts->be->commit(ts->ctx, ts, &chg, err);
}

static void
refresh_all(sl_topics_t *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        sl_topic_config_resolve(ts->cfg, &ts->v[i]->configs, &ts->v[i]->cfg);
}

/* ======================================================================== */
/* Restoring (backends' load)                                               */
/* ======================================================================== */

int
sl_topics_restore_topic(sl_topics_t *ts, const char *name, const uint8_t id[16], int32_t partitions,
                        int16_t replication_factor, const sl_props_t *configs, sl_errbuf_t *err)
{
    sl_topic_t *t;
    int rc;

    if ((rc = sl_topic_name_validate(sl_str_c(name), err)) != SL_OK)
        return SL_ECORRUPT;
    if (sl_topics_find(ts, sl_str_c(name)) || sl_topics_find_id(ts, id))
        return sl_errbuf_set(err, SL_ECORRUPT, "topic %s listed twice", name);
    if (partitions < 1 || partitions > SL_TOPIC_MAX_PARTS || replication_factor < 1)
        return sl_errbuf_set(err, SL_ECORRUPT, "topic %s: bad partition count or replication",
                             name);
    t = sl_xcalloc(1, sizeof(*t));
    t->name = sl_xstrdup(name);
    memcpy(t->id, id, 16);
    t->partitions = partitions;
    t->replication_factor = replication_factor;
    if (configs)
        sl_props_copy(&t->configs, configs);
    if ((rc = sl_topic_config_validate(&t->configs, err)) != SL_OK) {
        topic_free(t);
        return SL_ECORRUPT;
    }
    table_add(ts, t);
    return SL_OK;
}

void
sl_topics_restore_cluster_id(sl_topics_t *ts, const char *cluster_id)
{
    snprintf(ts->cluster_id, sizeof(ts->cluster_id), "%s", cluster_id);
}

void
sl_topics_restore_broker_layer(sl_topics_t *ts, bool default_resource, const sl_props_t *layer)
{
    sl_props_t *dst = default_resource ? &ts->dyn_default : &ts->dyn_broker;

    sl_props_deinit(dst);
    /* Keep only keys that still validate: a value written by an older
     * Sluice that this one refuses must not stop the broker. */
    for (size_t i = 0; i < layer->n; i++) {
        const sl_cfgdef_t *d = sl_cfgdef_find(SL_CFG_BROKER, layer->v[i].key);
        char *canon;

        if (d && sl_cfgdef_canonical(d, layer->v[i].value, &canon, NULL) == SL_OK) {
            sl_props_set(dst, d->name, canon);
            free(canon);
        }
    }
}

/* ======================================================================== */
/* Open / free                                                              */
/* ======================================================================== */

int
sl_topics_open_backend(const sl_topics_backend_t *be, void *ctx, sl_broker_config_t *cfg,
                       sl_topics_t **out, sl_errbuf_t *err)
{
    sl_topics_t *ts = sl_xcalloc(1, sizeof(*ts));
    int rc;

    ts->be = be;
    ts->ctx = ctx;
    ts->cfg = cfg;
    ts->live_brokers = 1;
    index_rebuild(ts);
    if ((rc = be->load(ctx, ts, err)) != SL_OK)
        goto fail;
    if ((rc = sl_broker_config_set_dynamic(cfg, &ts->dyn_default, &ts->dyn_broker, err)) != SL_OK)
        goto fail;
    refresh_all(ts);
    *out = ts;
    return SL_OK;

fail:
    sl_topics_free(ts);
    return rc;
}

void
sl_topics_free(sl_topics_t *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->n; i++)
        topic_free(ts->v[i]);
    free(ts->v);
    free(ts->by_name);
    free(ts->by_id);
    sl_props_deinit(&ts->dyn_default);
    sl_props_deinit(&ts->dyn_broker);
    if (ts->be && ts->be->close)
        ts->be->close(ts->ctx);
    free(ts);
}

/* Used by sl_topics_open (topics_file.c) on first start. */
int
sl_topics_set_cluster_id(sl_topics_t *ts, const char *cluster_id, sl_errbuf_t *err)
{
    char old[64];
    int rc;

    memcpy(old, ts->cluster_id, sizeof(old));
    sl_topics_restore_cluster_id(ts, cluster_id);
    if ((rc = commit(ts, SL_TOPICS_CLUSTER_ID, NULL, false, err)) != SL_OK)
        memcpy(ts->cluster_id, old, sizeof(old));
    return rc;
}

/* ======================================================================== */
/* Operations                                                               */
/* ======================================================================== */

static int
check_counts(const sl_topics_t *ts, int32_t *partitions, int32_t *rf, sl_errbuf_t *err)
{
    if (*partitions == -1)
        *partitions = ts->cfg->num_partitions;
    if (*rf == -1)
        *rf = ts->cfg->default_replication_factor;
    if (*partitions <= 0)
        return sl_errbuf_set(err, SL_EINVALID_PARTITIONS,
                             "Number of partitions must be larger than 0.");
    if (*partitions > SL_TOPIC_MAX_PARTS)
        return sl_errbuf_set(err, SL_EINVALID_PARTITIONS,
                             "Number of partitions must be at most %d.", SL_TOPIC_MAX_PARTS);
    if (*rf <= 0)
        return sl_errbuf_set(err, SL_EINVALID_REPLICATION,
                             "Replication factor must be larger than 0.");
    if (*rf > ts->live_brokers)
        return sl_errbuf_set(err, SL_EINVALID_REPLICATION,
                             "Replication factor: %d larger than available brokers: %d.", *rf,
                             ts->live_brokers);
    return SL_OK;
}

int64_t
sl_topics_partition_limit(const sl_topics_t *ts)
{
    struct rlimit rl;
    int64_t limit = ts->cfg->max_broker_partitions > 0 ? ts->cfg->max_broker_partitions : 10000;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        int64_t fds = (int64_t)rl.rlim_cur - (int64_t)rl.rlim_cur / 4 - 64;

        limit = SL_MIN(limit, SL_MAX(fds / 3, 1));
    }
    return limit;
}

/* All-or-nothing starts here: refuse what the broker cannot hold before
 * anything is persisted or created. */
static int
check_broker_cap(const sl_topics_t *ts, int64_t adding, sl_errbuf_t *err)
{
    int64_t total = 0, limit = sl_topics_partition_limit(ts);

    for (size_t i = 0; i < ts->n; i++)
        total += ts->v[i]->partitions;
    if (total + adding <= limit)
        return SL_OK;
    return sl_errbuf_set(err, SL_EINVALID_PARTITIONS,
                         "Adding %" PRId64 " partitions would bring this broker to %" PRId64
                         ", over its limit of %" PRId64
                         " (max.broker.partitions, and RLIMIT_NOFILE).",
                         adding, total + adding, limit);
}

static int
check_collision(const sl_topics_t *ts, sl_str_t name, sl_errbuf_t *err)
{
    if (!sl_topic_name_has_collision_chars(name))
        return SL_OK;
    for (size_t i = 0; i < ts->n; i++) {
        if (sl_topic_name_collide(name, sl_str_c(ts->v[i]->name)))
            return sl_errbuf_set(err, SL_EINVALID_TOPIC,
                                 "Topic '%.*s' collides with existing topics: %s", name.len,
                                 name.ptr, ts->v[i]->name);
    }
    return SL_OK;
}

static void
new_id(const sl_topics_t *ts, uint8_t id[16])
{
    do {
        sl_meta_uuid_random(id);
    } while (sl_topics_find_id(ts, id));
}

int
sl_topics_create(sl_topics_t *ts, sl_str_t name, int32_t partitions, int32_t replication_factor,
                 const sl_cfg_alter_t *configs, size_t n_configs, bool validate_only,
                 const sl_topic_t **out, sl_errbuf_t *err)
{
    sl_props_t props;
    sl_topic_t *t;
    int rc;

    if (out)
        *out = NULL;
    if ((rc = sl_topic_name_validate(name, err)) != SL_OK)
        return rc;
    if (sl_topics_find(ts, name))
        return sl_errbuf_set(err, SL_EEXIST, "Topic '%.*s' already exists.", name.len, name.ptr);
    if ((rc = check_counts(ts, &partitions, &replication_factor, err)) != SL_OK)
        return rc;
    if ((rc = check_collision(ts, name, err)) != SL_OK)
        return rc;
    if ((rc = check_broker_cap(ts, partitions, err)) != SL_OK)
        return rc;
    /* CreateTopics ignores configs with a null value. */
    sl_props_init(&props);
    rc = sl_cfg_alter_apply(SL_CFG_TOPIC, NULL, configs, n_configs, SL_CFG_ALTER_SKIP_NULL, NULL,
                            NULL, NULL, &props, NULL, err);
    if (rc != SL_OK || validate_only) {
        sl_props_deinit(&props);
        return rc;
    }
    t = sl_xcalloc(1, sizeof(*t));
    t->name = sl_str_dup(name);
    new_id(ts, t->id);
    t->partitions = partitions;
    t->replication_factor = (int16_t)replication_factor;
    t->configs = props;
    sl_topic_config_resolve(ts->cfg, &t->configs, &t->cfg);
    table_add(ts, t);
    if ((rc = commit(ts, SL_TOPICS_CREATE, t, false, err)) != SL_OK) {
        table_remove(ts, t);
        topic_free(t);
        return rc;
    }
    if (out)
        *out = t;
    return SL_OK;
}

int
sl_topics_create_internal(sl_topics_t *ts, sl_str_t name, const sl_topic_t **out, sl_errbuf_t *err)
{
    const sl_broker_config_t *c = ts->cfg;
    bool offsets = sl_str_eq_c(name, SL_TOPIC_OFFSETS);
    int32_t parts, rf, min_isr = 1;
    char seg[16], isr[16];
    sl_cfg_alter_t cfgs[4];
    size_t n = 0;

    if (!offsets && !sl_str_eq_c(name, SL_TOPIC_TRANSACTIONS))
        return sl_errbuf_set(err, SL_EINVAL, "%.*s is not an internal topic", name.len, name.ptr);
    parts = offsets ? c->offsets_topic_num_partitions : c->transaction_state_log_num_partitions;
    rf =
        offsets ? c->offsets_topic_replication_factor : c->transaction_state_log_replication_factor;
    if (!offsets)
        min_isr = c->transaction_state_log_min_isr;
    if (rf > ts->live_brokers && c->zookeeper_connect == NULL)
        rf = ts->live_brokers;
    if (rf > ts->live_brokers)
        return sl_errbuf_set(err, SL_EINVALID_REPLICATION,
                             "Number of alive brokers '%d' does not meet the required replication "
                             "factor '%d' for the %s topic",
                             ts->live_brokers, rf, offsets ? "offsets" : "transactions");
    snprintf(seg, sizeof(seg), "%d",
             offsets ? c->offsets_topic_segment_bytes : c->transaction_state_log_segment_bytes);
    snprintf(isr, sizeof(isr), "%d", SL_MIN(min_isr, rf));
    cfgs[n++] = (sl_cfg_alter_t){SL_STR_LIT("cleanup.policy"), SL_STR_LIT("compact"), 0};
    cfgs[n++] = (sl_cfg_alter_t){SL_STR_LIT("segment.bytes"), sl_str_c(seg), 0};
    cfgs[n++] = (sl_cfg_alter_t){SL_STR_LIT("compression.type"),
                                 offsets ? SL_STR_LIT("producer") : SL_STR_LIT("uncompressed"), 0};
    if (!offsets)
        cfgs[n++] = (sl_cfg_alter_t){SL_STR_LIT("min.insync.replicas"), sl_str_c(isr), 0};
    return sl_topics_create(ts, name, parts, rf, cfgs, n, false, out, err);
}

int
sl_topics_delete(sl_topics_t *ts, sl_str_t name, sl_errbuf_t *err)
{
    sl_topic_t *t;
    int rc;

    if (!ts->cfg->delete_topic_enable)
        return sl_errbuf_set(err, SL_EDELETION_DISABLED, "Topic deletion is disabled.");
    if ((t = find_mut(ts, name)) == NULL)
        return sl_errbuf_set(err, SL_ENOENT, "This server does not host this topic-partition.");
    table_remove(ts, t);
    if ((rc = commit(ts, SL_TOPICS_DELETE, t, false, err)) != SL_OK) {
        table_add(ts, t);
        return rc;
    }
    topic_free(t);
    return SL_OK;
}

int
sl_topics_forget(sl_topics_t *ts, sl_str_t name, sl_errbuf_t *err)
{
    sl_topic_t *t = find_mut(ts, name);
    int rc;

    if (t == NULL)
        return SL_OK;
    table_remove(ts, t);
    if ((rc = commit(ts, SL_TOPICS_DELETE, t, false, err)) != SL_OK) {
        table_add(ts, t);
        return rc;
    }
    topic_free(t);
    return SL_OK;
}

int
sl_topics_set_partitions(sl_topics_t *ts, sl_str_t name, int32_t count, sl_errbuf_t *err)
{
    sl_topic_t *t = find_mut(ts, name);
    int32_t old;
    int rc;

    if (t == NULL)
        return sl_errbuf_set(err, SL_ENOENT, "Unknown topic");
    old = t->partitions;
    t->partitions = count;
    if ((rc = commit(ts, SL_TOPICS_PARTITIONS, t, false, err)) != SL_OK)
        t->partitions = old;
    return rc;
}

int
sl_topics_add_partitions(sl_topics_t *ts, sl_str_t name, int32_t new_count, bool validate_only,
                         sl_errbuf_t *err)
{
    sl_topic_t *t = find_mut(ts, name);
    int32_t old;
    int rc;

    if (t == NULL)
        return sl_errbuf_set(err, SL_ENOENT, "This server does not host this topic-partition.");
    if (new_count == t->partitions)
        return sl_errbuf_set(err, SL_EINVALID_PARTITIONS, "Topic already has %d partitions.",
                             t->partitions);
    if (new_count < t->partitions)
        return sl_errbuf_set(err, SL_EINVALID_PARTITIONS,
                             "Topic currently has %d partitions, which is higher than the "
                             "requested %d.",
                             t->partitions, new_count);
    if (new_count > SL_TOPIC_MAX_PARTS)
        return sl_errbuf_set(err, SL_EINVALID_PARTITIONS,
                             "Number of partitions must be at most %d.", SL_TOPIC_MAX_PARTS);
    if ((rc = check_broker_cap(ts, new_count - t->partitions, err)) != SL_OK)
        return rc;
    if (validate_only)
        return SL_OK;
    old = t->partitions;
    t->partitions = new_count;
    if ((rc = commit(ts, SL_TOPICS_PARTITIONS, t, false, err)) != SL_OK)
        t->partitions = old;
    return rc;
}

int
sl_topics_alter_configs(sl_topics_t *ts, sl_str_t name, const sl_cfg_alter_t *ents, size_t n,
                        bool incremental, bool validate_only, int32_t *bad, sl_errbuf_t *err)
{
    sl_topic_t *t = find_mut(ts, name);
    sl_props_t next, prev;
    int rc;

    if (bad)
        *bad = -1;
    if (t == NULL)
        return sl_errbuf_set(err, SL_ENOENT, "This server does not host this topic-partition.");
    sl_props_init(&next);
    rc = sl_topic_config_alter(ts->cfg, &t->configs, ents, n, incremental, &next, bad, err);
    if (rc != SL_OK || validate_only) {
        sl_props_deinit(&next);
        return rc;
    }
    prev = t->configs;
    t->configs = next;
    if ((rc = commit(ts, SL_TOPICS_CONFIGS, t, false, err)) != SL_OK) {
        t->configs = prev;
        sl_props_deinit(&next);
        return rc;
    }
    sl_props_deinit(&prev);
    sl_topic_config_resolve(ts->cfg, &t->configs, &t->cfg);
    return SL_OK;
}

int
sl_topics_alter_broker_configs(sl_topics_t *ts, bool default_resource, const sl_cfg_alter_t *ents,
                               size_t n, bool incremental, bool validate_only, int32_t *bad,
                               sl_errbuf_t *err)
{
    sl_props_t *layer = default_resource ? &ts->dyn_default : &ts->dyn_broker;
    sl_props_t next, prev;
    int rc;

    sl_props_init(&next);
    rc = sl_broker_config_alter(ts->cfg, default_resource, ents, n, incremental, &next, bad, err);
    if (rc != SL_OK || validate_only) {
        sl_props_deinit(&next);
        return rc;
    }
    prev = *layer;
    *layer = next;
    if ((rc = commit(ts, SL_TOPICS_BROKER_CONFIGS, NULL, default_resource, err)) != SL_OK) {
        *layer = prev;
        sl_props_deinit(&next);
        return rc;
    }
    sl_props_deinit(&prev);
    /* The combination was checked by sl_broker_config_alter. */
    rc = sl_broker_config_set_dynamic(ts->cfg, &ts->dyn_default, &ts->dyn_broker, err);
    SL_ASSERT(rc == SL_OK);
    refresh_all(ts);
    return SL_OK;
}
