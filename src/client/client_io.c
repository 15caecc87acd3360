/*
 * client_io.c -- producing and consuming records for the CLI.
 *
 * Producing goes through the client's producer handle with delivery
 * reports handed to a callback. Consuming uses its own consumer handle:
 * without a group it assigns partitions at a start position; with a group
 * it subscribes and lets the coordinator assign. Either way it tracks which
 * assigned partitions sit at their end, so `consume -e` knows when it has
 * read everything there is.
 */
#include "client/client_int.h"

#include <stdarg.h>

/* ================================================================ */
/* producing                                                        */
/* ================================================================ */

void
sl_client_on_delivery(sl_client_t *c, sl_client_delivery_fn fn, void *opaque)
{
    c->on_delivery = fn;
    c->delivery_opaque = opaque;
}

int
sl_client_produce(sl_client_t *c, const sl_client_record_t *rec, uint64_t seq)
{
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_resp_err_t e;

    if (rec->nheaders > 0) {
        hdrs = rd_kafka_headers_new(rec->nheaders);
        for (size_t i = 0; i < rec->nheaders; i++)
            rd_kafka_header_add(hdrs, rec->headers[i].name, -1, rec->headers[i].value,
                                (ssize_t)rec->headers[i].len);
    }
    for (;;) {
        e = rd_kafka_producev(
            c->rk, RD_KAFKA_V_TOPIC(rec->topic),
            RD_KAFKA_V_PARTITION(rec->partition < 0 ? RD_KAFKA_PARTITION_UA : rec->partition),
            RD_KAFKA_V_KEY(rec->key, rec->key ? rec->key_len : 0),
            RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        /* Back-pressure: serve delivery reports until there is room. */
        rd_kafka_poll(c->rk, 100);
    }
    if (e) {
        rd_kafka_headers_destroy(hdrs);
        return sl_client_rkerr(c, e, "cannot produce", NULL);
    }
    /* On success librdkafka owns hdrs. */
    rd_kafka_poll(c->rk, 0);
    return SL_OK;
}

int
sl_client_flush(sl_client_t *c)
{
    /* Each record fails by itself after message.timeout.ms (the client's
     * timeout); the margin lets its delivery report arrive first. */
    rd_kafka_resp_err_t e = rd_kafka_flush(c->rk, c->timeout_ms + 5000);

    if (e)
        return sl_client_fail(c, SL_ETIMEDOUT,
                              "%d records still unacknowledged after %d ms (is the broker at %s "
                              "up?)",
                              rd_kafka_outq_len(c->rk), c->timeout_ms, c->brokers);
    return SL_OK;
}

/* ================================================================ */
/* consuming                                                        */
/* ================================================================ */

struct sl_consumer {
    rd_kafka_t *rk;
    char *topic;
    bool group;
    int nparts;
    bool *assigned; /* by partition id, < nparts */
    bool *eof;
    rd_kafka_message_t *cur; /* message handed out by the last poll */
    char err[CLIENT_ERRLEN];
};

static int kfail(sl_consumer_t *k, int rc, const char *fmt, ...) SL_PRINTF(3, 4);

static int
kfail(sl_consumer_t *k, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(k->err, sizeof(k->err), fmt, ap);
    va_end(ap);
    return rc;
}

const char *
sl_consumer_errmsg(const sl_consumer_t *k)
{
    return k->err[0] ? k->err : "unknown error";
}

static void
mark(sl_consumer_t *k, const rd_kafka_topic_partition_list_t *l, bool assigned)
{
    for (int i = 0; i < l->cnt; i++) {
        int32_t p = l->elems[i].partition;
        if (p < 0 || p >= k->nparts || strcmp(l->elems[i].topic, k->topic) != 0)
            continue;
        k->assigned[p] = assigned;
        k->eof[p] = false;
    }
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
             void *opaque)
{
    sl_consumer_t *k = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        mark(k, parts, true);
        if (coop)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            (void)rd_kafka_assign(rk, parts);
    } else {
        mark(k, parts, false);
        if (coop)
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
        else
            (void)rd_kafka_assign(rk, NULL);
    }
}

static int
set(rd_kafka_conf_t *rc, const char *key, const char *value, char *err, size_t errlen)
{
    return rd_kafka_conf_set(rc, key, value, err, errlen) == RD_KAFKA_CONF_OK ? SL_OK : SL_EINVAL;
}

static int
consumer_conf(sl_consumer_t *k, const sl_client_conf_t *conf, const sl_consumer_conf_t *cc,
              rd_kafka_conf_t **out, char *err, size_t errlen)
{
    rd_kafka_conf_t *rc = NULL;
    const char *reset = cc->start == SL_CLIENT_START_END ? "latest" : "earliest";
    int st;

    if ((st = sl_client_rkconf(conf, &rc, err, errlen)) != SL_OK)
        return st;
    if (set(rc, "enable.partition.eof", "true", err, errlen) ||
        set(rc, "auto.offset.reset", reset, err, errlen) ||
        set(rc, "group.id", cc->group ? cc->group : "sluice-cli-unused", err, errlen) ||
        set(rc, "enable.auto.commit", cc->group ? "true" : "false", err, errlen)) {
        rd_kafka_conf_destroy(rc);
        return SL_EINVAL;
    }
    rd_kafka_conf_set_opaque(rc, k);
    if (cc->group)
        rd_kafka_conf_set_rebalance_cb(rc, rebalance_cb);
    *out = rc;
    return SL_OK;
}

/* Start offset of partition p for an assign-only consumer. */
static int
start_offset(sl_consumer_t *k, const sl_consumer_conf_t *cc, int32_t p, int64_t *off)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t e;

    switch (cc->start) {
    case SL_CLIENT_START_END:
        *off = RD_KAFKA_OFFSET_END;
        return SL_OK;
    case SL_CLIENT_START_OFFSET:
        *off = cc->start_value;
        return SL_OK;
    case SL_CLIENT_START_FROM_END:
        *off = RD_KAFKA_OFFSET_TAIL(cc->start_value);
        return SL_OK;
    case SL_CLIENT_START_TIME:
        l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, k->topic, p)->offset = cc->start_value;
        e = rd_kafka_offsets_for_times(k->rk, l, 30000);
        if (!e)
            e = l->elems[0].err;
        /* No record at or after the time: start at the end. */
        *off = l->elems[0].offset >= 0 ? l->elems[0].offset : RD_KAFKA_OFFSET_END;
        rd_kafka_topic_partition_list_destroy(l);
        if (e)
            return kfail(k, SL_EIO, "cannot find offset for time in partition %d: %s", (int)p,
                         rd_kafka_err2str(e));
        return SL_OK;
    default:
        *off = RD_KAFKA_OFFSET_BEGINNING;
        return SL_OK;
    }
}

static int
topic_partitions(sl_consumer_t *k, char *err, size_t errlen)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, &md, 30000);

    if (e) {
        snprintf(err, errlen, "metadata request failed: %s", rd_kafka_err2str(e));
        return SL_EIO;
    }
    k->nparts = -1;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, k->topic) == 0 && !md->topics[i].err)
            k->nparts = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    if (k->nparts < 0) {
        snprintf(err, errlen, "topic '%s' does not exist (create it with `sluice topic create %s`)",
                 k->topic, k->topic);
        return SL_ENOENT;
    }
    return SL_OK;
}

static int
start(sl_consumer_t *k, const sl_consumer_conf_t *cc, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(k->nparts);
    rd_kafka_resp_err_t e;
    int rc = SL_OK;

    if (cc->group) {
        rd_kafka_topic_partition_list_add(l, k->topic, RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(k->rk, l);
    } else {
        for (int32_t p = 0; p < k->nparts && rc == SL_OK; p++) {
            int64_t off = 0;
            if (cc->partition >= 0 && p != cc->partition)
                continue;
            if ((rc = start_offset(k, cc, p, &off)) != SL_OK) {
                snprintf(err, errlen, "%s", k->err);
                break;
            }
            rd_kafka_topic_partition_list_add(l, k->topic, p)->offset = off;
        }
        if (rc == SL_OK && l->cnt == 0) {
            snprintf(err, errlen, "topic '%s' has no partition %d", k->topic, (int)cc->partition);
            rc = SL_ENOENT;
        }
        mark(k, l, true);
        e = rc == SL_OK ? rd_kafka_assign(k->rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (rc == SL_OK && e) {
        snprintf(err, errlen, "cannot start consuming '%s': %s", k->topic, rd_kafka_err2str(e));
        rc = SL_EIO;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int
sl_consumer_open(const sl_client_conf_t *conf, const sl_consumer_conf_t *cc, sl_consumer_t **out,
                 char *err, size_t errlen)
{
    sl_consumer_t *k;
    rd_kafka_conf_t *rc = NULL;
    int st;

    *out = NULL;
    if ((st = sl_client_probe(conf->brokers, 3000, err, errlen)) != SL_OK)
        return st;
    k = sl_xcalloc(1, sizeof(*k));
    k->topic = sl_xstrdup(cc->topic);
    k->group = cc->group != NULL;
    if ((st = consumer_conf(k, conf, cc, &rc, err, errlen)) != SL_OK)
        goto fail;
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, err, errlen);
    if (!k->rk) {
        rd_kafka_conf_destroy(rc);
        st = SL_EINVAL;
        goto fail;
    }
    rd_kafka_poll_set_consumer(k->rk);
    if ((st = topic_partitions(k, err, errlen)) != SL_OK)
        goto fail;
    k->assigned = sl_xcalloc((size_t)k->nparts + 1, sizeof(bool));
    k->eof = sl_xcalloc((size_t)k->nparts + 1, sizeof(bool));
    if ((st = start(k, cc, err, errlen)) != SL_OK)
        goto fail;
    *out = k;
    return SL_OK;

fail:
    sl_consumer_close(k);
    return st;
}

static bool
all_at_end(const sl_consumer_t *k)
{
    int n = 0;

    for (int p = 0; p < k->nparts; p++) {
        if (!k->assigned[p])
            continue;
        if (!k->eof[p])
            return false;
        n++;
    }
    return n > 0;
}

static void
release(sl_consumer_t *k)
{
    if (k->cur) {
        rd_kafka_message_destroy(k->cur);
        k->cur = NULL;
    }
}

int
sl_consumer_poll(sl_consumer_t *k, int timeout_ms, sl_client_msg_t *msg)
{
    rd_kafka_message_t *m;
    rd_kafka_timestamp_type_t tstype;
    rd_kafka_headers_t *hdrs = NULL;

    release(k);
    for (;;) {
        m = rd_kafka_consumer_poll(k->rk, timeout_ms);
        if (!m)
            return all_at_end(k) ? SL_ERANGE : SL_EAGAIN;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < k->nparts)
                k->eof[m->partition] = true;
            rd_kafka_message_destroy(m);
            if (all_at_end(k))
                return SL_ERANGE;
            continue;
        }
        if (m->err) {
            kfail(k, SL_EIO, "consume failed: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return SL_EIO;
        }
        break;
    }
    if (m->partition >= 0 && m->partition < k->nparts)
        k->eof[m->partition] = false;
    k->cur = m;
    memset(msg, 0, sizeof(*msg));
    msg->topic = rd_kafka_topic_name(m->rkt);
    msg->partition = m->partition;
    msg->offset = m->offset;
    msg->timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
    msg->key = m->key;
    msg->key_len = m->key_len;
    msg->value = m->payload;
    msg->value_len = m->len;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        msg->nheaders = rd_kafka_header_cnt(hdrs);
    msg->rk_msg = m;
    return SL_OK;
}

bool
sl_consumer_header(const sl_client_msg_t *msg, size_t i, const char **name, const void **value,
                   size_t *len)
{
    rd_kafka_headers_t *hdrs = NULL;

    if (!msg->rk_msg || rd_kafka_message_headers(msg->rk_msg, &hdrs))
        return false;
    return rd_kafka_header_get_all(hdrs, i, name, value, len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void
sl_consumer_close(sl_consumer_t *k)
{
    if (!k)
        return;
    release(k);
    if (k->rk) {
        /* Leaves the group and commits what was handed out (auto commit
         * stores each offset as poll returns its record). */
        if (k->group)
            (void)rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k->assigned);
    free(k->eof);
    free(k->topic);
    free(k);
}
