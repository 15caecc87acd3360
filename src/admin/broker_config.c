/*
 * broker_config.c -- the broker's configuration: static properties, the two
 * dynamic layers, and the typed values the rest of the broker reads.
 *
 * Every raw value is validated and canonicalised when it enters a layer, so
 * the typed readers here cannot fail; only cross-config checks (ids,
 * listeners, log dirs) can, and they run on every recomputation.
 */
#include "admin/admin_int.h"

/* ======================================================================== */
/* Layered lookup                                                           */
/* ======================================================================== */

const char *
sl_broker_config_layer_value(const sl_broker_config_t *cfg, const char *name, sl_cfg_source_t *src)
{
    bool guarded = sl_broker_config_is_guarded(sl_str_c(name));
    const char *v;

    if (!guarded && (v = sl_props_get(&cfg->dyn_broker, name)) != NULL) {
        if (src)
            *src = SL_CFG_SRC_DYNAMIC_BROKER;
        return v;
    }
    if (!guarded && (v = sl_props_get(&cfg->dyn_default, name)) != NULL) {
        if (src)
            *src = SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER;
        return v;
    }
    if ((v = sl_props_get(&cfg->static_props, name)) != NULL) {
        if (src)
            *src = SL_CFG_SRC_STATIC_BROKER;
        return v;
    }
    return NULL;
}

const char *
sl_broker_config_value(const sl_broker_config_t *cfg, const char *name, sl_cfg_source_t *src)
{
    const char *v = sl_broker_config_layer_value(cfg, name, src);
    const sl_cfgdef_t *d;

    if (v)
        return v;
    if (src)
        *src = SL_CFG_SRC_DEFAULT;
    d = sl_cfgdef_find(SL_CFG_BROKER, name);
    return d ? d->dflt : NULL;
}

static int64_t
geti(const sl_broker_config_t *cfg, const char *name, int64_t if_null)
{
    return sl_cfgdef_long(sl_broker_config_value(cfg, name, NULL), if_null);
}

static bool
getb(const sl_broker_config_t *cfg, const char *name)
{
    return sl_cfgdef_bool(sl_broker_config_value(cfg, name, NULL), false);
}

static char *
dups(const sl_broker_config_t *cfg, const char *name)
{
    const char *v = sl_broker_config_value(cfg, name, NULL);

    return v ? sl_xstrdup(v) : NULL;
}

/* ======================================================================== */
/* Typed values                                                             */
/* ======================================================================== */

static void
free_derived(sl_broker_config_t *cfg)
{
    sl_listeners_free(cfg->listeners, cfg->n_listeners);
    sl_listeners_free(cfg->advertised, cfg->n_advertised);
    for (size_t i = 0; i < cfg->n_log_dirs; i++)
        free(cfg->log_dirs[i]);
    free(cfg->log_dirs);
    free(cfg->inter_broker_listener);
    free(cfg->rack);
    free(cfg->zookeeper_connect);
    cfg->listeners = cfg->advertised = NULL;
    cfg->n_listeners = cfg->n_advertised = cfg->n_log_dirs = 0;
    cfg->log_dirs = NULL;
    cfg->inter_broker_listener = cfg->rack = cfg->zookeeper_connect = NULL;
}

static int
resolve_ids(sl_broker_config_t *cfg, sl_errbuf_t *err)
{
    int64_t bid = geti(cfg, "broker.id", -1), nid = geti(cfg, "node.id", -1);

    if (bid >= 0 && nid >= 0 && bid != nid)
        return sl_errbuf_set(
            err, SL_EINVALID_CONFIG,
            "broker.id (%" PRId64 ") must equal node.id (%" PRId64 ") when both are set", bid, nid);
    if (bid < -1 || nid < -1)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG, "broker.id must be -1 (unset) or >= 0");
    /* Keep an id the store already settled (from meta.properties) when the
     * config leaves it unset: a recomputation must not forget it. */
    if (bid < 0)
        bid = nid;
    if (bid >= 0)
        cfg->broker_id = (int32_t)bid;
    return SL_OK;
}

static int
resolve_listeners(sl_broker_config_t *cfg, sl_errbuf_t *err)
{
    const char *map = sl_broker_config_value(cfg, "listener.security.protocol.map", NULL);
    const char *ls = sl_broker_config_value(cfg, "listeners", NULL);
    const char *adv = sl_broker_config_value(cfg, "advertised.listeners", NULL);
    const char *ibl = sl_broker_config_layer_value(cfg, "inter.broker.listener.name", NULL);
    int rc;

    if ((rc = sl_listeners_parse(ls ? ls : "", map ? map : "", &cfg->listeners, &cfg->n_listeners,
                                 err)) != SL_OK)
        return rc;
    if (cfg->n_listeners == 0)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG, "listeners must name at least one listener");
    /* Serving plaintext on a listener the operator declared SSL or SASL
     * would hand clients an unencrypted, unauthenticated port silently. */
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (cfg->listeners[i].protocol != SL_SECPROTO_PLAINTEXT)
            return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                 "listener %s uses security protocol %s, which Sluice cannot serve "
                                 "yet (it has no TLS and no SASL); use PLAINTEXT listeners "
                                 "(listeners=PLAINTEXT://host:port), behind a TLS proxy if needed",
                                 cfg->listeners[i].name,
                                 sl_secproto_name(cfg->listeners[i].protocol));
    }
    if (adv && *adv) {
        if ((rc = sl_listeners_parse(adv, map ? map : "", &cfg->advertised, &cfg->n_advertised,
                                     err)) != SL_OK)
            return rc;
        for (size_t i = 0; i < cfg->n_advertised; i++) {
            if (strcmp(cfg->advertised[i].host, "0.0.0.0") == 0)
                return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                     "advertised.listeners cannot use the nonroutable "
                                     "meta-address 0.0.0.0. Use a routable IP address.");
        }
    } else {
        rc = sl_listeners_parse(ls, map ? map : "", &cfg->advertised, &cfg->n_advertised, err);
        if (rc != SL_OK)
            return rc;
    }
    if (ibl && sl_broker_config_layer_value(cfg, "security.inter.broker.protocol", NULL))
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Only one of inter.broker.listener.name and "
                             "security.inter.broker.protocol should be set.");
    cfg->inter_broker_listener =
        sl_xstrdup(ibl ? ibl : sl_broker_config_value(cfg, "security.inter.broker.protocol", NULL));
    for (char *c = cfg->inter_broker_listener; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    /* Only a cluster needs brokers to reach each other. */
    if (sl_broker_config_value(cfg, "zookeeper.connect", NULL)) {
        bool found = false;

        for (size_t i = 0; i < cfg->n_advertised; i++)
            found |= strcmp(cfg->advertised[i].name, cfg->inter_broker_listener) == 0;
        if (!found)
            return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                 "inter.broker.listener.name must be a listener name defined in "
                                 "advertised.listeners (got %s)",
                                 cfg->inter_broker_listener);
    }
    return SL_OK;
}

static int
resolve_dirs(sl_broker_config_t *cfg, sl_errbuf_t *err)
{
    const char *dirs = sl_broker_config_value(cfg, "log.dirs", NULL);
    const char *p;
    size_t cap = 0;

    if (dirs == NULL)
        dirs = sl_broker_config_value(cfg, "log.dir", NULL);
    for (p = dirs; p && *p;) {
        const char *comma = strchr(p, ',');
        const char *a = p, *b = comma ? comma : p + strlen(p);

        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) {
            if (cfg->n_log_dirs == cap) {
                cap = cap ? cap * 2 : 4;
                cfg->log_dirs = sl_xrealloc(cfg->log_dirs, cap * sizeof(char *));
            }
            cfg->log_dirs[cfg->n_log_dirs++] = sl_xstrndup(a, (size_t)(b - a));
        }
        p = comma ? comma + 1 : NULL;
    }
    if (cfg->n_log_dirs == 0)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG, "log.dirs (or log.dir) must not be empty");
    return SL_OK;
}

static void
resolve_numbers(sl_broker_config_t *c)
{
    c->rack = dups(c, "broker.rack");
    c->zookeeper_connect = dups(c, "zookeeper.connect");
    c->zookeeper_session_timeout_ms = (int32_t)geti(c, "zookeeper.session.timeout.ms", 18000);
    c->zookeeper_connection_timeout_ms =
        (int32_t)geti(c, "zookeeper.connection.timeout.ms", c->zookeeper_session_timeout_ms);
    c->num_partitions = (int32_t)geti(c, "num.partitions", 1);
    c->max_broker_partitions = (int32_t)geti(c, "max.broker.partitions", 10000);
    c->default_replication_factor = (int32_t)geti(c, "default.replication.factor", 1);
    c->auto_create_topics_enable = getb(c, "auto.create.topics.enable");
    c->delete_topic_enable = getb(c, "delete.topic.enable");
    c->log_retention_check_interval_ms = geti(c, "log.retention.check.interval.ms", 300000);
    c->log_flush_scheduler_interval_ms = geti(c, "log.flush.scheduler.interval.ms", INT64_MAX);
    c->log_flush_offset_checkpoint_interval_ms =
        (int32_t)geti(c, "log.flush.offset.checkpoint.interval.ms", 60000);
    c->log_cleaner_enable = getb(c, "log.cleaner.enable");
    c->log_cleaner_threads = (int32_t)geti(c, "log.cleaner.threads", 1);
    c->log_cleaner_dedupe_buffer_size = geti(c, "log.cleaner.dedupe.buffer.size", 134217728);
    c->log_cleaner_io_buffer_load_factor =
        sl_cfgdef_double(sl_broker_config_value(c, "log.cleaner.io.buffer.load.factor", NULL), 0.9);
    c->log_cleaner_io_max_bytes_per_second = sl_cfgdef_double(
        sl_broker_config_value(c, "log.cleaner.io.max.bytes.per.second", NULL), 1e308);
    c->log_cleaner_backoff_ms = geti(c, "log.cleaner.backoff.ms", 15000);

    c->socket_request_max_bytes = (int32_t)geti(c, "socket.request.max.bytes", 0);
    c->socket_send_buffer_bytes = (int32_t)geti(c, "socket.send.buffer.bytes", -1);
    c->socket_receive_buffer_bytes = (int32_t)geti(c, "socket.receive.buffer.bytes", -1);
    c->socket_listen_backlog_size = (int32_t)geti(c, "socket.listen.backlog.size", 50);
    c->connections_max_idle_ms = geti(c, "connections.max.idle.ms", 600000);
    c->max_connections = (int32_t)geti(c, "max.connections", INT32_MAX);
    c->max_connections_per_ip = (int32_t)geti(c, "max.connections.per.ip", INT32_MAX);
    c->fetch_max_bytes = (int32_t)geti(c, "fetch.max.bytes", 0);
    c->max_incremental_fetch_session_cache_slots =
        (int32_t)geti(c, "max.incremental.fetch.session.cache.slots", 1000);
    c->sasl_server_max_receive_size = (int32_t)geti(c, "sasl.server.max.receive.size", 524288);
    c->connection_failed_authentication_delay_ms =
        (int32_t)geti(c, "connection.failed.authentication.delay.ms", 100);

    c->offsets_topic_num_partitions = (int32_t)geti(c, "offsets.topic.num.partitions", 50);
    c->offsets_topic_replication_factor = (int16_t)geti(c, "offsets.topic.replication.factor", 3);
    c->offsets_topic_segment_bytes = (int32_t)geti(c, "offsets.topic.segment.bytes", 0);
    c->offsets_retention_ms = geti(c, "offsets.retention.minutes", 10080) * 60000;
    c->offsets_retention_check_interval_ms = geti(c, "offsets.retention.check.interval.ms", 0);
    c->offset_metadata_max_bytes = (int32_t)geti(c, "offset.metadata.max.bytes", 4096);
    c->group_initial_rebalance_delay_ms = (int32_t)geti(c, "group.initial.rebalance.delay.ms", 0);
    c->group_min_session_timeout_ms = (int32_t)geti(c, "group.min.session.timeout.ms", 0);
    c->group_max_session_timeout_ms = (int32_t)geti(c, "group.max.session.timeout.ms", 0);
    c->group_max_size = (int32_t)geti(c, "group.max.size", INT32_MAX);

    c->transaction_max_timeout_ms = (int32_t)geti(c, "transaction.max.timeout.ms", 0);
    c->transaction_state_log_num_partitions =
        (int32_t)geti(c, "transaction.state.log.num.partitions", 50);
    c->transaction_state_log_replication_factor =
        (int16_t)geti(c, "transaction.state.log.replication.factor", 3);
    c->transaction_state_log_min_isr = (int32_t)geti(c, "transaction.state.log.min.isr", 2);
    c->transaction_state_log_segment_bytes =
        (int32_t)geti(c, "transaction.state.log.segment.bytes", 0);
    c->transactional_id_expiration_ms = (int32_t)geti(c, "transactional.id.expiration.ms", 0);
    c->transaction_abort_timed_out_transaction_cleanup_interval_ms =
        (int32_t)geti(c, "transaction.abort.timed.out.transaction.cleanup.interval.ms", 0);
    c->transaction_remove_expired_transaction_cleanup_interval_ms =
        (int32_t)geti(c, "transaction.remove.expired.transaction.cleanup.interval.ms", 0);
    c->producer_id_expiration_ms = (int32_t)geti(c, "producer.id.expiration.ms", 0);

    c->replica_lag_time_max_ms = geti(c, "replica.lag.time.max.ms", 30000);
    c->replica_fetch_max_bytes = (int32_t)geti(c, "replica.fetch.max.bytes", 0);
    c->replica_fetch_min_bytes = (int32_t)geti(c, "replica.fetch.min.bytes", 1);
    c->replica_fetch_wait_max_ms = (int32_t)geti(c, "replica.fetch.wait.max.ms", 500);
    c->replica_fetch_response_max_bytes = (int32_t)geti(c, "replica.fetch.response.max.bytes", 0);
    c->replica_fetch_backoff_ms = (int32_t)geti(c, "replica.fetch.backoff.ms", 1000);
    c->replica_socket_timeout_ms = (int32_t)geti(c, "replica.socket.timeout.ms", 30000);
    c->replica_high_watermark_checkpoint_interval_ms =
        geti(c, "replica.high.watermark.checkpoint.interval.ms", 5000);
    c->controller_socket_timeout_ms = (int32_t)geti(c, "controller.socket.timeout.ms", 30000);
}

/* Recomputes every typed value from the layers. */
static int
resolve(sl_broker_config_t *cfg, sl_errbuf_t *err)
{
    int rc;

    free_derived(cfg);
    if ((rc = resolve_ids(cfg, err)) != SL_OK)
        return rc;
    if ((rc = resolve_listeners(cfg, err)) != SL_OK)
        return rc;
    if ((rc = resolve_dirs(cfg, err)) != SL_OK)
        return rc;
    resolve_numbers(cfg);
    return SL_OK;
}

/* ======================================================================== */
/* Loading                                                                  */
/* ======================================================================== */

/* A KRaft config would have Sluice open a CONTROLLER listener it cannot
 * serve and run without the quorum the operator expects. */
static int
refuse_kraft(const sl_broker_config_t *cfg, sl_errbuf_t *err)
{
    static const char *const kraft[] = {"process.roles", "controller.quorum.voters"};

    for (size_t i = 0; i < SL_ARRAY_LEN(kraft); i++) {
        const char *v = sl_props_get(&cfg->static_props, kraft[i]);

        if (v && *v)
            return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                 "%s=%s is a KRaft setting and Sluice has no KRaft mode: remove it "
                                 "(and the CONTROLLER listener); Sluice runs as a single node "
                                 "without it, or as a cluster with zookeeper.connect",
                                 kraft[i], v);
    }
    return SL_OK;
}

int
sl_broker_config_load(sl_broker_config_t *cfg, const sl_props_t *props, sl_strlist_t *warnings,
                      sl_errbuf_t *err)
{
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    cfg->broker_id = -1;
    for (size_t i = 0; props && i < props->n; i++) {
        const sl_prop_t *e = &props->v[i];
        const sl_cfgdef_t *d = sl_cfgdef_find(SL_CFG_BROKER, e->key);
        char *canon;

        if (d == NULL) {
            /* Never fatal: a Kafka server.properties carries keys for
             * features Sluice does not have. */
            if (warnings && e->line > 0)
                sl_strlist_add(warnings, "unknown config '%s' (line %d) ignored", e->key, e->line);
            else if (warnings)
                sl_strlist_add(warnings, "unknown config '%s' ignored", e->key);
            continue;
        }
        if ((rc = sl_cfgdef_canonical(d, e->value, &canon, err)) != SL_OK) {
            if (err && e->line > 0) {
                size_t l = strlen(err->msg);

                snprintf(err->msg + l, sizeof(err->msg) - l, " (line %d)", e->line);
            }
            return rc;
        }
        sl_props_set(&cfg->static_props, e->key, canon);
        free(canon);
    }
    if ((rc = refuse_kraft(cfg, err)) != SL_OK)
        return rc;
    return resolve(cfg, err);
}

void
sl_broker_config_deinit(sl_broker_config_t *cfg)
{
    free_derived(cfg);
    sl_props_deinit(&cfg->static_props);
    sl_props_deinit(&cfg->dyn_default);
    sl_props_deinit(&cfg->dyn_broker);
}

int
sl_broker_config_set_dynamic(sl_broker_config_t *cfg, const sl_props_t *dyn_default,
                             const sl_props_t *dyn_broker, sl_errbuf_t *err)
{
    if (dyn_default != &cfg->dyn_default)
        sl_props_copy(&cfg->dyn_default, dyn_default);
    if (dyn_broker != &cfg->dyn_broker)
        sl_props_copy(&cfg->dyn_broker, dyn_broker);
    return resolve(cfg, err);
}

/* ======================================================================== */
/* Dynamic alteration                                                       */
/* ======================================================================== */

typedef struct alter_ctx {
    const sl_broker_config_t *b;
    bool default_resource;
} alter_ctx_t;

static const char *
broker_effective(const void *ctx, const sl_cfgdef_t *d, char *buf, size_t cap)
{
    const alter_ctx_t *ac = ctx;

    (void)buf;
    (void)cap;
    return sl_broker_config_value(ac->b, d->name, NULL);
}

static int
broker_check(const void *ctx, const sl_cfgdef_t *d, sl_errbuf_t *err)
{
    const alter_ctx_t *ac = ctx;

    if (d->mode == SL_CFG_READ_ONLY)
        return sl_errbuf_set(err, SL_EINVALID_REQUEST,
                             "Cannot update these configs dynamically: %s", d->name);
    if (ac->default_resource && d->mode == SL_CFG_PER_BROKER)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Cannot update these configs at default cluster level, broker id "
                             "must be specified: %s",
                             d->name);
    return SL_OK;
}

static bool
has_prefix(sl_str_t s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.len >= 0 && (size_t)s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

static bool
has_suffix(sl_str_t s, const char *suffix)
{
    size_t n = strlen(suffix);

    return s.len >= 0 && (size_t)s.len >= n && memcmp(s.ptr + s.len - (int32_t)n, suffix, n) == 0;
}

/* Kafka's per-listener keys (KIP-226): listener.name.<listener>.<key>. */
#define LISTENER_PREFIX "listener.name."

bool
sl_broker_config_is_guarded(sl_str_t name)
{
    static const char *const guarded[] = {
        "listeners",
        "advertised.listeners",
        "listener.security.protocol.map",
        "max.connections",
        "max.connections.per.ip",
        "max.connections.per.ip.overrides",
        "max.connection.creation.rate",
    };

    for (size_t i = 0; i < SL_ARRAY_LEN(guarded); i++)
        if (sl_str_eq_c(name, guarded[i]))
            return true;
    return has_prefix(name, LISTENER_PREFIX) && (has_suffix(name, ".max.connections") ||
                                                 has_suffix(name, ".max.connection.creation.rate"));
}

/*
 * Splits a request's entries into those the layer stores and those accepted
 * with no effect (per-listener keys, passwords: Sluice serves no TLS or
 * SASL, and will not write secrets to its metadata file, which Kafka would
 * encrypt with password.encoder.secret). A guarded key is refused.
 */
static int
filter_entries(const sl_cfg_alter_t *ents, size_t n, bool incremental, sl_cfg_alter_t *kept,
               int32_t *kept_at, size_t *n_kept, int32_t *bad, sl_errbuf_t *err)
{
    *n_kept = 0;
    for (size_t i = 0; i < n; i++) {
        sl_str_t name = ents[i].name;
        const sl_cfgdef_t *d = sl_cfgdef_find_str(SL_CFG_BROKER, name);
        bool removal = incremental && ents[i].op == SL_CFG_OP_DELETE;

        if (sl_broker_config_is_guarded(name) && !removal) {
            if (bad)
                *bad = (int32_t)i;
            return sl_errbuf_set(err, SL_EPOLICY_VIOLATION,
                                 "%.*s cannot be changed over the protocol: Sluice has no "
                                 "authentication yet and a wrong value would lock clients out or "
                                 "move a listener; set it in the properties file or with "
                                 "--override and restart",
                                 (int)SL_MIN(name.len, 200), name.ptr);
        }
        if ((d == NULL && has_prefix(name, LISTENER_PREFIX)) ||
            (d && sl_cfgdef_sensitive(d) && d->mode != SL_CFG_READ_ONLY))
            continue;
        kept_at[*n_kept] = (int32_t)i;
        kept[(*n_kept)++] = ents[i];
    }
    return SL_OK;
}

int
sl_broker_config_alter(const sl_broker_config_t *b, bool default_resource,
                       const sl_cfg_alter_t *ents, size_t n, bool incremental, sl_props_t *out,
                       int32_t *bad, sl_errbuf_t *err)
{
    alter_ctx_t ac = {b, default_resource};
    sl_cfg_alter_t *kept = sl_xcalloc(n ? n : 1, sizeof(*kept));
    int32_t *kept_at = sl_xcalloc(n ? n : 1, sizeof(*kept_at));
    sl_broker_config_t trial;
    size_t n_kept;
    int rc;

    if (bad)
        *bad = -1;
    rc = filter_entries(ents, n, incremental, kept, kept_at, &n_kept, bad, err);
    if (rc == SL_OK) {
        rc = sl_cfg_alter_apply(SL_CFG_BROKER, default_resource ? &b->dyn_default : &b->dyn_broker,
                                kept, n_kept, incremental ? SL_CFG_ALTER_INCREMENTAL : 0,
                                broker_effective, broker_check, &ac, out, bad, err);
        if (rc != SL_OK && bad && *bad >= 0)
            *bad = kept_at[*bad];
    }
    free(kept);
    free(kept_at);
    if (rc != SL_OK)
        return rc;
    /* Cross-config checks (listeners parse, ids...) on a scratch copy, so
     * a bad combination is refused before anything is persisted. */
    rc = sl_broker_config_load(&trial, &b->static_props, NULL, err);
    if (rc == SL_OK) {
        trial.broker_id = b->broker_id;
        rc = sl_broker_config_set_dynamic(&trial, default_resource ? out : &b->dyn_default,
                                          default_resource ? &b->dyn_broker : out, err);
    }
    sl_broker_config_deinit(&trial);
    if (rc != SL_OK) {
        if (bad)
            *bad = -1;
        return rc == SL_EINVALID_CONFIG ? rc : SL_EINVALID_CONFIG;
    }
    return SL_OK;
}
