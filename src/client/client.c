/*
 * client.c -- the client handle: connecting (with a fast TCP probe so a
 * missing broker is reported at once, with the fix), error mapping, the
 * admin round-trip helper, metadata and offset look-ups.
 */
#include "client/client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000
#define PROBE_TIMEOUT_MS   3000

/* ================================================================ */
/* errors                                                           */
/* ================================================================ */

int
sl_client_fail(sl_client_t *c, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return rc;
}

const char *
sl_client_errmsg(const sl_client_t *c)
{
    return c->err[0] ? c->err : "unknown error";
}

static int
status_of(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return SL_OK;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
        return SL_ENOENT;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
        return SL_EEXIST;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return SL_ETIMEDOUT;
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        return SL_EINVAL;
    default:
        return SL_EIO;
    }
}

int
sl_client_rkerr(sl_client_t *c, rd_kafka_resp_err_t e, const char *what, const char *errstr)
{
    const char *msg = errstr && errstr[0] ? errstr : rd_kafka_err2str(e);

    if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return sl_client_fail(c, status_of(e) == SL_OK ? SL_EIO : status_of(e),
                              "%s: %s (is the broker at %s up? set -b or SLUICE_BROKERS)", what,
                              msg, c->brokers);
    return sl_client_fail(c, status_of(e), "%s: %s", what, msg);
}

/* ================================================================ */
/* connecting                                                       */
/* ================================================================ */

const char *
sl_client_default_brokers(const char *flag)
{
    const char *env = getenv("SLUICE_BROKERS");

    if (flag && flag[0])
        return flag;
    if (env && env[0])
        return env;
    return SL_CLIENT_DEFAULT_BROKERS;
}

/* What one probe of a broker address found. */
typedef enum { PROBE_UP, PROBE_DOWN, PROBE_NO_HOST } probe_t;

/* One TCP connect with a deadline. */
static probe_t
probe_one(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    bool ok = false;

    if (getaddrinfo(host, port, &hints, &res) != 0)
        return PROBE_NO_HOST;
    for (ai = res; ai && !ok; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            ok = true;
        } else if (errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (poll(&pfd, 1, timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                ok = true;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return ok ? PROBE_UP : PROBE_DOWN;
}

/* Splits one "[proto://]host:port" entry of a broker list in place: *host and
 * *port point into tok. False (with err set) when it is not HOST:PORT with a
 * port in 1..65535. */
static bool
split_broker(char *tok, char **host, char **port, char *err, size_t errlen)
{
    char *hp = strstr(tok, "://") ? strstr(tok, "://") + 3 : tok;
    char *colon = strrchr(hp, ':'), *end = NULL;
    long n;

    if (!colon || colon == hp || !colon[1]) {
        snprintf(err, errlen, "bad broker address '%s': expected HOST:PORT (Kafka's is 9092)", tok);
        return false;
    }
    n = strtol(colon + 1, &end, 10);
    if (*end || n < 1 || n > 65535) {
        snprintf(err, errlen, "bad broker address '%s': the port must be a number in 1..65535",
                 tok);
        return false;
    }
    *colon = '\0';
    /* "[::1]" style addresses lose their brackets for getaddrinfo. */
    if (hp[0] == '[' && colon[-1] == ']') {
        hp++;
        colon[-1] = '\0';
    }
    *host = hp;
    *port = colon + 1;
    return true;
}

int
sl_client_check_brokers(const char *brokers, char *err, size_t errlen)
{
    char *list = sl_xstrdup(brokers), *save = NULL, *host, *port;
    int rc = SL_OK;

    for (char *tok = strtok_r(list, ",", &save); tok && rc == SL_OK;
         tok = strtok_r(NULL, ",", &save))
        if (!split_broker(tok, &host, &port, err, errlen))
            rc = SL_EINVAL;
    free(list);
    return rc;
}

int
sl_client_probe(const char *brokers, int timeout_ms, char *err, size_t errlen)
{
    char *list = sl_xstrdup(brokers), *save = NULL, *host, *port;
    char unknown[256] = "";
    probe_t got = PROBE_DOWN;

    for (char *tok = strtok_r(list, ",", &save); tok && got != PROBE_UP;
         tok = strtok_r(NULL, ",", &save)) {
        if (!split_broker(tok, &host, &port, err, errlen)) {
            free(list);
            return SL_EINVAL;
        }
        got = probe_one(host, port, timeout_ms);
        if (got == PROBE_NO_HOST && !unknown[0])
            snprintf(unknown, sizeof(unknown), "%s", host);
    }
    free(list);
    if (got == PROBE_UP)
        return SL_OK;
    if (unknown[0])
        snprintf(err, errlen,
                 "unknown host '%s': the name does not resolve (check -b or SLUICE_BROKERS: %s)",
                 unknown, brokers);
    else
        snprintf(err, errlen,
                 "cannot reach broker at %s: is `sluice serve` running? (set -b or "
                 "SLUICE_BROKERS)",
                 brokers);
    return SL_EIO;
}

/* librdkafka logs to stderr by default; the CLI reports errors itself, so
 * its chatter (reconnect attempts...) shows only with SLUICE_DEBUG set. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (getenv("SLUICE_DEBUG"))
        fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static void
error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (getenv("SLUICE_DEBUG"))
        fprintf(stderr, "rdkafka error %s: %s\n", rd_kafka_err2name(e), reason);
}

int
sl_client_rkconf(const sl_client_conf_t *conf, rd_kafka_conf_t **out, char *err, size_t errlen)
{
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    char buf[64];

    if (rd_kafka_conf_set(rc, "bootstrap.servers", conf->brokers, err, errlen) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(rc, "client.id", "sluice-cli", err, errlen) != RD_KAFKA_CONF_OK)
        goto fail;
    snprintf(buf, sizeof(buf), "%d", conf->timeout_ms > 0 ? conf->timeout_ms : DEFAULT_TIMEOUT_MS);
    if (rd_kafka_conf_set(rc, "socket.timeout.ms", buf, err, errlen) != RD_KAFKA_CONF_OK)
        goto fail;
    for (size_t i = 0; i < conf->nprops; i++) {
        const char *eq = strchr(conf->props[i], '=');
        char *key;
        rd_kafka_conf_res_t r;
        if (!eq || eq == conf->props[i]) {
            snprintf(err, errlen, "bad property '%s': expected KEY=VALUE", conf->props[i]);
            goto fail;
        }
        key = sl_xstrndup(conf->props[i], (size_t)(eq - conf->props[i]));
        r = rd_kafka_conf_set(rc, key, eq + 1, err, errlen);
        free(key);
        if (r != RD_KAFKA_CONF_OK)
            goto fail;
    }
    rd_kafka_conf_set_log_cb(rc, log_cb);
    rd_kafka_conf_set_error_cb(rc, error_cb);
    *out = rc;
    return SL_OK;

fail:
    rd_kafka_conf_destroy(rc);
    return SL_EINVAL;
}

static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_client_t *c = opaque;
    sl_client_delivery_t d;

    (void)rk;
    if (!c->on_delivery)
        return;
    d.topic = rd_kafka_topic_name(m->rkt);
    d.partition = m->partition;
    d.offset = m->offset;
    d.err = m->err;
    d.errstr = m->err ? rd_kafka_err2str(m->err) : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        d.errstr = "the topic does not exist and the broker does not create topics on demand "
                   "(create it with `sluice topic create`)";
    d.seq = (uint64_t)(uintptr_t)m->_private;
    c->on_delivery(c->delivery_opaque, &d);
}

int
sl_client_open(const sl_client_conf_t *conf, sl_client_t **out, char *err, size_t errlen)
{
    sl_client_t *c;
    rd_kafka_conf_t *rc = NULL;
    int rc_st;

    *out = NULL;
    if ((rc_st = sl_client_probe(conf->brokers, PROBE_TIMEOUT_MS, err, errlen)) != SL_OK)
        return rc_st;
    if ((rc_st = sl_client_rkconf(conf, &rc, err, errlen)) != SL_OK)
        return rc_st;
    c = sl_xcalloc(1, sizeof(*c));
    c->brokers = sl_xstrdup(conf->brokers);
    c->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
    /* A record the broker cannot take (say, to a missing topic with
     * auto-creation off) fails after the CLI's timeout, not librdkafka's
     * five minutes. */
    {
        char ms[32];
        snprintf(ms, sizeof(ms), "%d", c->timeout_ms);
        (void)rd_kafka_conf_set(rc, "message.timeout.ms", ms, err, errlen);
    }
    rd_kafka_conf_set_opaque(rc, c);
    rd_kafka_conf_set_dr_msg_cb(rc, dr_msg_cb);
    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, err, errlen);
    if (!c->rk) {
        rd_kafka_conf_destroy(rc);
        free(c->brokers);
        free(c);
        return SL_EINVAL;
    }
    *out = c;
    return SL_OK;
}

void
sl_client_free(sl_client_t *c)
{
    if (!c)
        return;
    if (c->rk) {
        /* Records not yet acknowledged get their chance here; the CLI
         * flushes explicitly before, so this only bounds the exit. */
        (void)rd_kafka_flush(c->rk, c->timeout_ms);
        rd_kafka_destroy(c->rk);
    }
    free(c->brokers);
    free(c);
}

/* ================================================================ */
/* admin round trip                                                 */
/* ================================================================ */

rd_kafka_AdminOptions_t *
sl_client_admin_opts(sl_client_t *c, rd_kafka_admin_op_t op)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(c->rk, op);
    char errbuf[256];

    (void)rd_kafka_AdminOptions_set_request_timeout(o, c->timeout_ms, errbuf, sizeof(errbuf));
    return o;
}

int
sl_client_admin_wait(sl_client_t *c, rd_kafka_queue_t *q, int evtype, const char *what,
                     rd_kafka_event_t **out)
{
    /* The admin request has its own timeout; this bound only guards
     * against a result that never arrives. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, c->timeout_ms + 5000);

    *out = NULL;
    if (!ev)
        return sl_client_fail(c, SL_ETIMEDOUT, "%s: no answer within %d ms", what, c->timeout_ms);
    if (rd_kafka_event_type(ev) != evtype) {
        rd_kafka_event_destroy(ev);
        return sl_client_fail(c, SL_EIO, "%s: unexpected event", what);
    }
    if (rd_kafka_event_error(ev)) {
        int rc =
            sl_client_rkerr(c, rd_kafka_event_error(ev), what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return rc;
    }
    *out = ev;
    return SL_OK;
}

/* ================================================================ */
/* metadata                                                         */
/* ================================================================ */

static int
cmp_topic(const void *a, const void *b)
{
    return strcmp(((const sl_client_topic_t *)a)->name, ((const sl_client_topic_t *)b)->name);
}

static int
cmp_part(const void *a, const void *b)
{
    int32_t x = ((const sl_client_part_t *)a)->id, y = ((const sl_client_part_t *)b)->id;
    return (x > y) - (x < y);
}

static int32_t *
dup_ids(const int32_t *ids, int n)
{
    int32_t *v = sl_xcalloc(n > 0 ? (size_t)n : 1, sizeof(*v));
    if (n > 0)
        memcpy(v, ids, (size_t)n * sizeof(*v));
    return v;
}

static void
copy_topic(sl_client_topic_t *t, const rd_kafka_metadata_topic_t *mt)
{
    t->name = sl_xstrdup(mt->topic);
    t->err = mt->err;
    t->nparts = mt->partition_cnt;
    t->parts = sl_xcalloc(mt->partition_cnt > 0 ? (size_t)mt->partition_cnt : 1, sizeof(*t->parts));
    for (int i = 0; i < mt->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *mp = &mt->partitions[i];
        sl_client_part_t *p = &t->parts[i];
        p->id = mp->id;
        p->leader = mp->leader;
        p->err = mp->err;
        p->replicas = dup_ids(mp->replicas, mp->replica_cnt);
        p->nreplicas = mp->replica_cnt;
        p->isr = dup_ids(mp->isrs, mp->isr_cnt);
        p->nisr = mp->isr_cnt;
        p->log_start = -1;
        p->log_end = -1;
    }
    qsort(t->parts, (size_t)t->nparts, sizeof(*t->parts), cmp_part);
}

int
sl_client_metadata(sl_client_t *c, const char *topic, sl_client_meta_t **out)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e;
    sl_client_meta_t *m;
    char *cid;

    *out = NULL;
    /* Always ask for every topic: asking a producer handle about one topic
     * by name may auto-create it, and describe must not create. */
    e = rd_kafka_metadata(c->rk, 1, NULL, &md, c->timeout_ms);
    if (e)
        return sl_client_rkerr(c, e, "metadata request failed", NULL);
    m = sl_xcalloc(1, sizeof(*m));
    m->nbrokers = md->broker_cnt;
    m->brokers = sl_xcalloc(md->broker_cnt > 0 ? (size_t)md->broker_cnt : 1, sizeof(*m->brokers));
    for (int i = 0; i < md->broker_cnt; i++) {
        m->brokers[i].id = md->brokers[i].id;
        m->brokers[i].host = sl_xstrdup(md->brokers[i].host);
        m->brokers[i].port = md->brokers[i].port;
    }
    m->topics = sl_xcalloc(md->topic_cnt > 0 ? (size_t)md->topic_cnt : 1, sizeof(*m->topics));
    for (int i = 0; i < md->topic_cnt; i++) {
        if (topic && strcmp(md->topics[i].topic, topic) != 0)
            continue;
        copy_topic(&m->topics[m->ntopics++], &md->topics[i]);
    }
    rd_kafka_metadata_destroy(md);
    qsort(m->topics, (size_t)m->ntopics, sizeof(*m->topics), cmp_topic);
    /* Both come from the metadata just fetched; no extra round trip. */
    cid = rd_kafka_clusterid(c->rk, 0);
    m->cluster_id = cid ? sl_xstrdup(cid) : NULL;
    rd_kafka_mem_free(c->rk, cid);
    m->controller_id = rd_kafka_controllerid(c->rk, 0);
    *out = m;
    if (topic && m->ntopics == 0)
        return sl_client_fail(c, SL_ENOENT, "topic '%s' does not exist (see `sluice topic list`)",
                              topic);
    return SL_OK;
}

void
sl_client_meta_free(sl_client_meta_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nbrokers; i++)
        free(m->brokers[i].host);
    for (int i = 0; i < m->ntopics; i++) {
        for (int j = 0; j < m->topics[i].nparts; j++) {
            free(m->topics[i].parts[j].replicas);
            free(m->topics[i].parts[j].isr);
        }
        free(m->topics[i].parts);
        free(m->topics[i].name);
    }
    free(m->brokers);
    free(m->topics);
    free(m->cluster_id);
    free(m);
}

sl_client_topic_t *
sl_client_meta_topic(sl_client_meta_t *m, const char *name)
{
    for (int i = 0; i < m->ntopics; i++)
        if (strcmp(m->topics[i].name, name) == 0)
            return &m->topics[i];
    return NULL;
}

/* ================================================================ */
/* offsets                                                          */
/* ================================================================ */

/* ListOffsets for every partition of t at one "timestamp"; Kafka reads
 * -2 as the log start and -1 as the log end. One request per leader. */
static int
list_offsets(sl_client_t *c, sl_client_topic_t *t, int64_t ts, bool start)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->nparts);
    rd_kafka_resp_err_t e;
    int rc = SL_OK;

    for (int i = 0; i < t->nparts; i++)
        rd_kafka_topic_partition_list_add(l, t->name, t->parts[i].id)->offset = ts;
    e = rd_kafka_offsets_for_times(c->rk, l, c->timeout_ms);
    if (e) {
        rc = sl_client_rkerr(c, e, "offset look-up failed", NULL);
        goto out;
    }
    for (int i = 0; i < l->cnt; i++) {
        for (int j = 0; j < t->nparts; j++) {
            if (t->parts[j].id != l->elems[i].partition)
                continue;
            if (start)
                t->parts[j].log_start = l->elems[i].err ? -1 : l->elems[i].offset;
            else
                t->parts[j].log_end = l->elems[i].err ? -1 : l->elems[i].offset;
        }
    }
out:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int
sl_client_fill_watermarks(sl_client_t *c, sl_client_topic_t *t)
{
    int rc;

    if (t->nparts == 0)
        return SL_OK;
    if ((rc = list_offsets(c, t, RD_KAFKA_OFFSET_BEGINNING, true)) != SL_OK)
        return rc;
    return list_offsets(c, t, RD_KAFKA_OFFSET_END, false);
}

int
sl_client_offset_for_time(sl_client_t *c, const char *topic, int32_t partition, int64_t ts_ms,
                          int64_t *offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;
    int rc = SL_OK;

    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts_ms;
    e = rd_kafka_offsets_for_times(c->rk, l, c->timeout_ms);
    if (!e)
        e = l->elems[0].err;
    if (e) {
        rc = sl_client_rkerr(c, e, "offset-for-time look-up failed", NULL);
    } else if (l->elems[0].offset < 0) {
        /* No record at or after ts: start at the log end. */
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(c->rk, topic, partition, &lo, &hi, c->timeout_ms);
        if (e)
            rc = sl_client_rkerr(c, e, "offset look-up failed", NULL);
        else
            *offset = hi;
    } else {
        *offset = l->elems[0].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}
