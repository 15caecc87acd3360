/*
 * zkreg.c -- a broker's place in Kafka's ZooKeeper layout: the persistent
 * paths, /cluster/id, the ephemeral /brokers/ids/<id> registration, and the
 * controller election over /controller and /controller_epoch.
 *
 * The znodes hold exactly what a Kafka broker writes there (KafkaZkClient,
 * ZkData), so Kafka-era tools (zookeeper-shell, kafka-topics --zookeeper,
 * Burrow, Cruise Control) read a Sluice cluster as they read a Kafka one.
 * Start-up steps block (Kafka's start-up blocks on ZooKeeper too); the
 * election runs on the event loop through async calls.
 */
#include "cluster/cluster.h"

#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- persistent paths and cluster id --------------------------------------- */

/* Kafka's ZkData.PersistentZkPaths plus /brokers/ids and /brokers/topics. */
static const char *const persistent_paths[] = {
    "/consumers",
    "/brokers/ids",
    "/brokers/topics",
    "/brokers/seqid",
    "/config/changes",
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
    "/admin/delete_topics",
    "/isr_change_notification",
    "/latest_producer_id_block",
    "/log_dir_event_notification",
};

int
sl_zkreg_ensure_paths(sl_zk_t *zk, char *errmsg, size_t errlen)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(persistent_paths); i++) {
        int rc = sl_zk_ensure_path(zk, persistent_paths[i]);

        if (rc != SL_OK) {
            snprintf(errmsg, errlen, "cannot create %s in ZooKeeper: %s", persistent_paths[i],
                     sl_strerror(rc));
            return rc;
        }
    }
    return SL_OK;
}

/* The value of "key":"..." in a flat JSON object (ours or Kafka's: no
 * escapes inside ids). */
static bool
json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p, *e;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    if ((p = strstr(json, pat)) == NULL)
        return false;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"' || (e = strchr(p, '"')) == NULL || (size_t)(e - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return true;
}

/* The value of "key":N (a bare integer). */
static bool
json_int(const char *json, const char *key, int64_t *out)
{
    char pat[64];
    const char *p;
    char *end;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    if ((p = strstr(json, pat)) == NULL)
        return false;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    *out = strtoll(p, &end, 10);
    return end != p;
}

int
sl_zkreg_cluster_id(sl_zk_t *zk, const char *candidate, char out[64], char *errmsg, size_t errlen)
{
    char buf[512];
    int len, rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        rc = sl_zk_get(zk, "/cluster/id", buf, sizeof(buf), &len, NULL);
        if (rc == SL_OK) {
            if (!json_str(buf, "id", out, 64) || out[0] == '\0') {
                snprintf(errmsg, errlen, "/cluster/id in ZooKeeper does not hold a cluster id: %s",
                         buf);
                return SL_ECORRUPT;
            }
            return SL_OK;
        }
        if (rc != SL_ENOENT)
            break;
        /* First broker of a new cluster (a race with another one is an
         * EEXIST: read what it wrote). */
        len = snprintf(buf, sizeof(buf), "{\"version\":\"1\",\"id\":\"%s\"}", candidate);
        if ((rc = sl_zk_ensure_path(zk, "/cluster")) != SL_OK)
            break;
        rc = sl_zk_create(zk, "/cluster/id", buf, len, 0);
        if (rc == SL_OK) {
            snprintf(out, 64, "%s", candidate);
            sl_info("zk", "created cluster id %s in ZooKeeper", candidate);
            return SL_OK;
        }
        if (rc != SL_EEXIST)
            break;
    }
    snprintf(errmsg, errlen, "cannot read or create /cluster/id in ZooKeeper: %s", sl_strerror(rc));
    return rc;
}

/* ---- registration ------------------------------------------------------------- */

bool
sl_zkreg_broker_json(const sl_zk_endpoint_t *eps, size_t n, const char *rack, int64_t timestamp_ms,
                     char *out, size_t cap)
{
    size_t o = 0;
    const char *host = NULL;
    int32_t port = -1;
    int w;

#define PUT(...)                                                                                   \
    do {                                                                                           \
        w = snprintf(out + o, cap - o, __VA_ARGS__);                                               \
        if (w < 0 || (size_t)w >= cap - o)                                                         \
            return false;                                                                          \
        o += (size_t)w;                                                                            \
    } while (0)

    PUT("{\"listener_security_protocol_map\":{");
    for (size_t i = 0; i < n; i++)
        PUT("%s\"%s\":\"%s\"", i ? "," : "", eps[i].listener, eps[i].protocol);
    PUT("},\"endpoints\":[");
    for (size_t i = 0; i < n; i++) {
        bool v6 = strchr(eps[i].host, ':') != NULL;

        PUT(v6 ? "%s\"%s://[%s]:%d\"" : "%s\"%s://%s:%d\"", i ? "," : "", eps[i].listener,
            eps[i].host, (int)eps[i].port);
        /* Kafka's host/port fields name the PLAINTEXT endpoint, for
         * clients that predate endpoints. */
        if (host == NULL && strcmp(eps[i].protocol, "PLAINTEXT") == 0) {
            host = eps[i].host;
            port = eps[i].port;
        }
    }
    PUT("]");
    if (rack)
        PUT(",\"rack\":\"%s\"", rack);
    PUT(",\"jmx_port\":-1,\"features\":{}");
    if (host)
        PUT(",\"host\":\"%s\"", host);
    else
        PUT(",\"host\":null");
    PUT(",\"timestamp\":\"%lld\",\"port\":%d,\"version\":5}", (long long)timestamp_ms, (int)port);
#undef PUT
    return true;
}

void
sl_zk_broker_deinit(sl_zk_broker_t *zb)
{
    free(zb->host);
    free(zb->rack);
    zb->host = zb->rack = NULL;
}

bool
sl_zkreg_parse_broker(const char *json, const char *listener, sl_zk_broker_t *out)
{
    char rack[256], pat[128];
    const char *eps = strstr(json, "\"endpoints\"");
    const char *end = eps ? strstr(eps, "\"]") : NULL; /* past "[::1]:9092" */
    const char *p, *hs, *he, *colon;
    int n = snprintf(pat, sizeof(pat), "\"%s://", listener);

    if (end == NULL || n <= 0 || (size_t)n >= sizeof(pat))
        return false;
    p = strstr(eps, pat);
    if (p == NULL || p > end)
        return false;
    hs = p + n;
    if ((he = strchr(hs, '"')) == NULL || he > end)
        return false;
    /* host:port, or [v6]:port */
    for (colon = he; colon > hs && *colon != ':'; colon--)
        ;
    if (colon == hs)
        return false;
    out->port = (int32_t)strtol(colon + 1, NULL, 10);
    if (*hs == '[' && colon[-1] == ']')
        out->host = sl_xstrndup(hs + 1, (size_t)(colon - hs - 2));
    else
        out->host = sl_xstrndup(hs, (size_t)(colon - hs));
    out->rack = json_str(json, "rack", rack, sizeof(rack)) ? sl_xstrdup(rack) : NULL;
    return out->host != NULL && out->port > 0 && out->port < 65536;
}

int
sl_zkreg_register(sl_zk_t *zk, int32_t broker_id, const char *json, char *errmsg, size_t errlen)
{
    char path[64];
    int rc;

    snprintf(path, sizeof(path), "/brokers/ids/%d", (int)broker_id);
    rc = sl_zk_create(zk, path, json, (int)strlen(json), SL_ZK_EPHEMERAL);
    if (rc == SL_EEXIST) {
        snprintf(errmsg, errlen,
                 "broker.id %d is already registered in ZooKeeper (%s exists): another broker "
                 "runs with this id, or this broker's previous session has not expired yet "
                 "(zookeeper.session.timeout.ms); refusing to start",
                 (int)broker_id, path);
        return rc;
    }
    if (rc != SL_OK) {
        snprintf(errmsg, errlen, "cannot register %s in ZooKeeper: %s", path, sl_strerror(rc));
        return rc;
    }
    sl_info("zk", "registered broker %d at %s (session 0x%llx)", (int)broker_id, path,
            (unsigned long long)sl_zk_session_id(zk));
    return SL_OK;
}

/* ---- controller election ------------------------------------------------------- */

static void try_create(sl_zk_elect_t *el);
static void read_controller(sl_zk_elect_t *el);

void
sl_zkreg_elect_init(sl_zk_elect_t *el, sl_zk_t *zk, int32_t self)
{
    memset(el, 0, sizeof(*el));
    el->zk = zk;
    el->self = self;
    el->controller_id = -1;
    el->epoch = -1;
}

/* Whether an event that came during the call needs a new look. */
static bool
op_done(sl_zk_elect_t *el)
{
    bool again = el->again;

    el->in_flight = false;
    el->again = false;
    return again;
}

static void
on_epoch_set(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_zk_elect_t *el = arg;

    (void)data;
    (void)len;
    (void)version;
    op_done(el);
    if (rc == SL_OK) {
        sl_info("zk", "broker %d became controller (epoch %d)", (int)el->self, (int)el->epoch);
        read_controller(el); /* arms the watch: a deleted /controller means a new election */
        return;
    }
    /* Another controller moved the epoch meanwhile (a lost race after a
     * session change): read it again and go one higher. */
    el->epoch = -1;
    if (rc == SL_ECONFLICT || rc == SL_ENOENT) {
        read_controller(el);
        return;
    }
    sl_warn("zk", "cannot update /controller_epoch: %s (trying again on reconnect)",
            sl_strerror(rc));
}

static void read_epoch(sl_zk_elect_t *el);

static void
on_epoch_created(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_zk_elect_t *el = arg;

    (void)data;
    (void)len;
    (void)version;
    op_done(el);
    if (rc == SL_OK || rc == SL_EEXIST)
        read_epoch(el);
    else
        sl_warn("zk", "cannot create /controller_epoch: %s (trying again on reconnect)",
                sl_strerror(rc));
}

static void
on_epoch_read(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_zk_elect_t *el = arg;
    char buf[32];
    int n;

    (void)len;
    op_done(el);
    el->in_flight = true;
    if (rc == SL_ENOENT) {
        /* Kafka's initial controller epoch is 0; the first winner makes it 1. */
        sl_zk_acreate(el->zk, "/controller_epoch", "0", 1, 0, on_epoch_created, el);
        return;
    }
    if (rc != SL_OK) {
        el->in_flight = false;
        sl_warn("zk", "cannot read /controller_epoch: %s (trying again on reconnect)",
                sl_strerror(rc));
        return;
    }
    el->epoch = (int32_t)strtol(data ? data : "0", NULL, 10) + 1;
    n = snprintf(buf, sizeof(buf), "%d", (int)el->epoch);
    sl_zk_aset(el->zk, "/controller_epoch", buf, n, version, on_epoch_set, el);
}

static void
read_epoch(sl_zk_elect_t *el)
{
    el->in_flight = true;
    sl_zk_aget(el->zk, "/controller_epoch", false, on_epoch_read, el);
}

static void
on_controller_read(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_zk_elect_t *el = arg;
    int64_t id = -1;

    (void)len;
    (void)version;
    if (op_done(el) || rc == SL_ENOENT) {
        try_create(el); /* gone already: try again */
        return;
    }
    if (rc != SL_OK) {
        sl_warn("zk", "cannot read /controller: %s (trying again on reconnect)", sl_strerror(rc));
        return;
    }
    if (data == NULL || !json_int(data, "brokerid", &id))
        sl_warn("zk", "/controller holds no brokerid: %s", data ? data : "(empty)");
    el->controller_id = (int32_t)id;
    if (id == el->self && el->epoch < 0) {
        /* Ours from before (an election step failed halfway): finish it. */
        read_epoch(el);
        return;
    }
    if (id != el->self)
        sl_info("zk", "controller is broker %d", (int)id);
}

/* Reads /controller and leaves a watch on it (a deletion starts a new
 * election). */
static void
read_controller(sl_zk_elect_t *el)
{
    el->in_flight = true;
    sl_zk_aget(el->zk, "/controller", true, on_controller_read, el);
}

static void
on_created(void *arg, int rc, const char *data, int len, int32_t version)
{
    sl_zk_elect_t *el = arg;

    (void)data;
    (void)len;
    (void)version;
    op_done(el);
    if (rc == SL_OK) {
        el->controller_id = el->self;
        read_epoch(el);
        return;
    }
    if (rc == SL_EEXIST) {
        read_controller(el);
        return;
    }
    sl_warn("zk", "cannot create /controller: %s (trying again on reconnect)", sl_strerror(rc));
}

static void
try_create(sl_zk_elect_t *el)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "{\"version\":1,\"brokerid\":%d,\"timestamp\":\"%lld\"}",
                     (int)el->self, (long long)sl_wall_ms());

    el->controller_id = -1;
    el->epoch = -1;
    el->in_flight = true;
    sl_zk_acreate(el->zk, "/controller", buf, n, SL_ZK_EPHEMERAL, on_created, el);
}

void
sl_zkreg_elect_start(sl_zk_elect_t *el)
{
    /* A new session: what was in flight belonged to the old one and is
     * dropped by the wrapper. */
    el->in_flight = false;
    el->again = false;
    try_create(el);
}

void
sl_zkreg_elect_event(sl_zk_elect_t *el, sl_zk_event_t ev, const char *path)
{
    if (ev == SL_ZK_EV_CONNECTED) {
        /* Back after a connection loss within the session: a step that
         * failed with it left the election idle; look again (re-reading
         * /controller also re-arms its watch). */
        if (el->in_flight)
            el->again = true;
        else
            read_controller(el);
        return;
    }
    if (strcmp(path, "/controller") != 0)
        return;
    if (el->in_flight) {
        el->again = true;
        return;
    }
    if (ev == SL_ZK_EV_DELETED) {
        if (el->controller_id == el->self)
            sl_warn("zk", "broker %d is no longer controller (/controller deleted)", (int)el->self);
        try_create(el);
    } else {
        read_controller(el); /* changed: re-read (and re-watch) */
    }
}
