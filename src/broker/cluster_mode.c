/*
 * cluster_mode.c -- the broker's side of cluster mode (zookeeper.connect
 * set): start-up checks against ZooKeeper, the broker's registration, the
 * controller election, and session expiry. With zookeeper.connect unset
 * none of this runs and no ZooKeeper is needed.
 *
 * Order (Kafka's KafkaServer.startup): ZooKeeper session -> persistent
 * paths -> /cluster/id (created by the first broker) checked against every
 * log dir's meta.properties -> [log dirs, partitions, listeners] ->
 * ephemeral /brokers/ids/<id> -> controller election. The first two steps
 * are sl_cluster_mode_prepare (before the topic store opens), the rest
 * sl_cluster_mode_start (after the listeners, which give the port).
 */
#include "broker/broker_int.h"

#include "base/log.h"
#include "base/time.h"

/* Brokers listed in one answer; a registry past this is logged and cut
 * (ZooKeeper's data is trusted, but no list grows without a bound). */
#define MAX_BROKERS 4096

struct sl_cluster_mode {
    sl_broker_t *b;
    sl_zk_t *zk;
    sl_loop_fd_t watch;
    sl_zk_elect_t elect;
    char cluster_id[64];
    char *registration; /* /brokers/ids/<id> JSON, re-created after an expiry */
    /* The live brokers as of the last complete refresh (ids ascending). */
    sl_zk_broker_t *brokers;
    size_t n_brokers;
    /* The refresh under way: /brokers/ids, then one registration at a
     * time into next[slot] (one call in flight, so every completion's
     * argument is cm itself and nothing is left dangling when a session is
     * replaced and its completions are dropped). */
    bool listing, relist;
    sl_zk_broker_t *next;
    size_t n_next, slot;
};

/* ---- the live-broker list ---------------------------------------------- */

static void list_brokers(sl_cluster_mode_t *cm);

static void
free_table(sl_zk_broker_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_zk_broker_deinit(&v[i]);
    free(v);
}

static int
cmp_broker(const void *a, const void *b)
{
    const sl_zk_broker_t *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

static void
drop_next(sl_cluster_mode_t *cm)
{
    free_table(cm->next, cm->n_next);
    cm->next = NULL;
    cm->n_next = cm->slot = 0;
}

static void on_broker_read(void *arg, int rc, const char *data, int len, int32_t version);

/* The next step of a refresh: start over if the children changed
 * meanwhile, read the next registration, or install the table. */
static void
read_next(sl_cluster_mode_t *cm)
{
    char path[64];
    size_t kept = 0;

    if (cm->relist) {
        cm->relist = false;
        cm->listing = false;
        drop_next(cm);
        list_brokers(cm);
        return;
    }
    if (cm->slot < cm->n_next) {
        snprintf(path, sizeof(path), "/brokers/ids/%d", (int)cm->next[cm->slot].id);
        sl_zk_aget(cm->zk, path, false, on_broker_read, cm);
        return;
    }
    for (size_t i = 0; i < cm->n_next; i++) {
        if (cm->next[i].host)
            cm->next[kept++] = cm->next[i];
    }
    qsort(cm->next, kept, sizeof(*cm->next), cmp_broker);
    free_table(cm->brokers, cm->n_brokers);
    cm->brokers = cm->next;
    cm->n_brokers = kept;
    cm->next = NULL;
    cm->n_next = cm->slot = 0;
    cm->listing = false;
}

static void
on_broker_read(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_cluster_mode_t *cm = arg;
    sl_zk_broker_t *zb = &cm->next[cm->slot++];
    const char *listener = cm->b->cfg.advertised[0].name;

    (void)len;
    (void)version;
    /* A registration gone meanwhile (NONODE) or without our listener is
     * left out, as Kafka leaves out brokers without the request's
     * listener. */
    if (rc != SL_OK || data == NULL || !sl_zkreg_parse_broker(data, listener, zb))
        sl_zk_broker_deinit(zb);
    read_next(cm);
}

static void
on_broker_ids(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_cluster_mode_t *cm = arg;
    size_t n = 0;

    (void)len;
    (void)version;
    if (rc != SL_OK || data == NULL) {
        sl_warn("zk", "cannot list /brokers/ids: %s", sl_strerror(rc));
        cm->listing = false;
        return;
    }
    for (const char *p = data; *p; p++)
        n += *p == '/';
    n += *data != '\0';
    if (n > MAX_BROKERS) {
        sl_warn("zk", "%zu brokers registered; listing the first %d", n, MAX_BROKERS);
        n = MAX_BROKERS;
    }
    drop_next(cm);
    cm->next = sl_xcalloc(n ? n : 1, sizeof(*cm->next));
    cm->n_next = n;
    for (size_t i = 0; i < n; i++) {
        cm->next[i].id = (int32_t)strtol(data, NULL, 10);
        data = strchr(data, '/') ? strchr(data, '/') + 1 : data + strlen(data);
    }
    read_next(cm);
}

/* Lists /brokers/ids and leaves a child watch: a broker coming or going
 * lists again. */
static void
list_brokers(sl_cluster_mode_t *cm)
{
    if (cm->listing) {
        cm->relist = true;
        return;
    }
    cm->listing = true;
    sl_zk_achildren(cm->zk, "/brokers/ids", true, on_broker_ids, cm);
}

static void
on_zk_event(void *arg, sl_zk_event_t ev, const char *path)
{
    sl_broker_t *b = arg;
    sl_cluster_mode_t *cm = b->cluster;
    char err[512];

    if (ev == SL_ZK_EV_EXPIRED) {
        /* The session's ephemerals (registration, maybe /controller) are
         * gone. Kafka re-creates the session and registers again; so do
         * we. The reconnect blocks the loop for up to
         * zookeeper.connection.timeout.ms. */
        sl_warn("zk", "ZooKeeper session expired; creating a new session and registering again");
        if (sl_zk_reconnect(cm->zk) != SL_OK) {
            sl_error("zk", "cannot re-create the ZooKeeper session; stopping");
            sl_loop_stop(b->loop);
            return;
        }
        if (cm->registration &&
            sl_zkreg_register(cm->zk, b->node_id, cm->registration, err, sizeof(err)) != SL_OK) {
            sl_error("zk", "%s", err);
            sl_loop_stop(b->loop);
            return;
        }
        sl_zkreg_elect_start(&cm->elect);
        /* The old session's calls are dropped: start the list afresh. */
        cm->listing = cm->relist = false;
        drop_next(cm);
        list_brokers(cm);
        return;
    }
    if (ev == SL_ZK_EV_CONNECTED || (ev == SL_ZK_EV_CHILD && strcmp(path, "/brokers/ids") == 0))
        list_brokers(cm);
    sl_zkreg_elect_event(&cm->elect, ev, path);
}

static void
on_zk_ready(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    sl_broker_t *b = arg;

    (void)loop;
    (void)fd;
    (void)events;
    sl_zk_dispatch(b->cluster->zk);
}

/* Kafka's check: a log dir that belongs to another cluster is refused. */
static int
check_meta_props(sl_broker_t *b, const char *zk_cid)
{
    sl_errbuf_t err;

    for (size_t i = 0; i < b->cfg.n_log_dirs; i++) {
        int32_t bid;
        char cid[64];
        int rc = sl_meta_props_read(b->cfg.log_dirs[i], &bid, cid, &err);

        if (rc == SL_ENOENT) {
            /* A new log dir: it joins the ZooKeeper cluster's id (the topic
             * store reads it from here on first start). */
            rc = sl_meta_props_write(b->cfg.log_dirs[i],
                                     b->cfg.broker_id >= 0 ? b->cfg.broker_id : 0, zk_cid, &err);
            if (rc != SL_OK) {
                sl_error("broker", "%s", err.msg);
                return rc;
            }
            continue;
        }
        if (rc != SL_OK) {
            sl_error("broker", "%s", err.msg);
            return rc;
        }
        if (cid[0] && strcmp(cid, zk_cid) != 0) {
            sl_error("broker",
                     "The Cluster ID %s doesn't match stored clusterId %s in meta.properties. "
                     "The broker is trying to join the wrong cluster. Configured "
                     "zookeeper.connect may be wrong.",
                     zk_cid, cid);
            return SL_EINVALID_CONFIG;
        }
    }
    return SL_OK;
}

int
sl_cluster_mode_prepare(sl_broker_t *b)
{
    sl_cluster_mode_t *cm;
    uint8_t uuid[16];
    char candidate[23], err[512];
    int rc;

    if (b->cfg.zookeeper_connect == NULL)
        return SL_OK;
    cm = sl_xcalloc(1, sizeof(*cm));
    cm->watch.fd = -1;
    cm->b = b;
    b->cluster = cm;
    sl_info("zk", "connecting to ZooKeeper at %s (session timeout %d ms)", b->cfg.zookeeper_connect,
            (int)b->cfg.zookeeper_session_timeout_ms);
    rc = sl_zk_open(b->cfg.zookeeper_connect, b->cfg.zookeeper_session_timeout_ms,
                    b->cfg.zookeeper_connection_timeout_ms, on_zk_event, b, &cm->zk, err,
                    sizeof(err));
    if (rc == SL_OK)
        rc = sl_zkreg_ensure_paths(cm->zk, err, sizeof(err));
    sl_meta_uuid_random(uuid);
    sl_meta_uuid_str(uuid, candidate);
    if (rc == SL_OK)
        rc = sl_zkreg_cluster_id(cm->zk, candidate, cm->cluster_id, err, sizeof(err));
    if (rc != SL_OK) {
        sl_error("zk", "%s", err);
        return rc;
    }
    return check_meta_props(b, cm->cluster_id);
}

static char *
registration_json(const sl_broker_t *b)
{
    sl_zk_endpoint_t eps[16];
    size_t n = SL_MIN(b->cfg.n_advertised, SL_ARRAY_LEN(eps));
    char buf[4096];

    for (size_t i = 0; i < n; i++) {
        const sl_listener_cfg_t *adv = &b->cfg.advertised[i];

        eps[i].listener = adv->name;
        eps[i].protocol = sl_secproto_name(adv->protocol);
        eps[i].host = i == 0 ? b->adv_host : (adv->host[0] ? adv->host : b->adv_host);
        /* Port 0 (tests) advertises the port the first listener bound. */
        eps[i].port = i == 0 ? b->adv_port : adv->port;
    }
    if (!sl_zkreg_broker_json(eps, n, b->cfg.rack, sl_wall_ms(), buf, sizeof(buf)))
        return NULL;
    return sl_xstrdup(buf);
}

int
sl_cluster_mode_start(sl_broker_t *b)
{
    sl_cluster_mode_t *cm = b->cluster;
    char err[512];
    int rc;

    if (cm == NULL)
        return SL_OK;
    if (strcmp(sl_topics_cluster_id(b->topics), cm->cluster_id) != 0) {
        sl_error("broker",
                 "The Cluster ID %s doesn't match stored clusterId %s in this broker's metadata. "
                 "The broker is trying to join the wrong cluster. Configured zookeeper.connect "
                 "may be wrong.",
                 cm->cluster_id, sl_topics_cluster_id(b->topics));
        return SL_EINVALID_CONFIG;
    }
    if ((cm->registration = registration_json(b)) == NULL) {
        sl_error("zk", "the broker registration does not fit 4 KiB (too many listeners)");
        return SL_EINVAL;
    }
    rc = sl_zkreg_register(cm->zk, b->node_id, cm->registration, err, sizeof(err));
    if (rc != SL_OK) {
        sl_error("zk", "%s", err);
        return rc;
    }
    rc = sl_loop_fd_add(b->loop, &cm->watch, sl_zk_fd(cm->zk), SL_EV_READ, on_zk_ready, b);
    if (rc != SL_OK)
        return rc;
    sl_zkreg_elect_init(&cm->elect, cm->zk, b->node_id);
    sl_zkreg_elect_start(&cm->elect);
    list_brokers(cm);
    return SL_OK;
}

void
sl_cluster_mode_stop(sl_broker_t *b)
{
    sl_cluster_mode_t *cm = b->cluster;

    if (cm == NULL)
        return;
    if (b->loop)
        sl_loop_fd_del(b->loop, &cm->watch);
    /* Closing the session deletes the registration and /controller at
     * once, so the others need not wait for the session timeout. */
    sl_zk_close(cm->zk);
    free(cm->registration);
    free_table(cm->brokers, cm->n_brokers);
    free_table(cm->next, cm->n_next);
    free(cm);
    b->cluster = NULL;
}

int32_t
sl_cluster_mode_controller(const sl_broker_t *b)
{
    return b->cluster ? b->cluster->elect.controller_id : b->node_id;
}

size_t
sl_cluster_mode_brokers(const sl_broker_t *b, sl_zk_broker_t *out, size_t cap)
{
    const sl_cluster_mode_t *cm = b->cluster;
    size_t n = 0;

    /* Self always (its registration may not have been read back yet). */
    if (cap == 0)
        return 0;
    for (size_t i = 0; cm && i < cm->n_brokers && n + 1 < cap; i++) {
        if (cm->brokers[i].id != b->node_id)
            out[n++] = cm->brokers[i];
    }
    out[n].id = b->node_id;
    out[n].host = b->adv_host;
    out[n].port = b->adv_port;
    out[n].rack = b->cfg.rack;
    n++;
    qsort(out, n, sizeof(*out), cmp_broker);
    return n;
}

size_t
sl_cluster_mode_broker_count(const sl_broker_t *b)
{
    return b->cluster ? b->cluster->n_brokers + 1 : 1;
}
