/*
 * perf_client.c -- librdkafka plumbing shared by the producer and consumer
 * halves of `sluice perf`: configuration from the command line, creating the
 * topic, reading its partition count.
 */
#include "perf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
sl_perf_client_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool
conf_set(rd_kafka_conf_t *conf, const char *kv, char *err, size_t errlen)
{
    char key[128];
    const char *eq = strchr(kv, '=');
    size_t klen;

    if (eq == NULL || eq == kv || (klen = (size_t)(eq - kv)) >= sizeof(key)) {
        snprintf(err, errlen, "property '%s' is not key=value", kv);
        return false;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    return rd_kafka_conf_set(conf, key, eq + 1, err, errlen) == RD_KAFKA_CONF_OK;
}

rd_kafka_conf_t *
sl_perf_client_conf(const sl_perf_opts_t *o, const char *const *kv, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, errlen) != RD_KAFKA_CONF_OK)
        goto fail;
    for (; kv != NULL && *kv != NULL; kv++) {
        if (!conf_set(conf, *kv, err, errlen))
            goto fail;
    }
    /* The user's -X properties come last so that they win. */
    for (int i = 0; i < o->n_props; i++) {
        if (!conf_set(conf, o->props[i], err, errlen))
            goto fail;
    }
    return conf;

fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int
sl_perf_client_ensure_topic(rd_kafka_t *rk, const sl_perf_opts_t *o, char *err, size_t errlen)
{
    rd_kafka_NewTopic_t *nt;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    const rd_kafka_topic_result_t **res;
    size_t n = 0;
    int rc = -1;

    if (o->partitions <= 0)
        return 0;
    nt = rd_kafka_NewTopic_new(o->topic, o->partitions, -1, err, errlen);
    if (nt == NULL)
        return -1;
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, (int)o->timeout_ms);
    if (ev == NULL) {
        snprintf(err, errlen, "CreateTopics timed out after %lld ms", (long long)o->timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "CreateTopics: %s", rd_kafka_event_error_string(ev));
        goto out;
    }
    res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 1 && rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(err, errlen, "CreateTopics %s: %s", o->topic,
                 rd_kafka_err2str(rd_kafka_topic_result_error(res[0])));
        goto out;
    }
    rc = 0;

out:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int32_t
sl_perf_client_partitions(rd_kafka_t *rk, const char *topic, int64_t timeout_ms, char *err,
                          size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;
    int32_t n = -1;

    e = rd_kafka_metadata(rk, 0, rkt, &md, (int)timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
    else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(err, errlen, "topic %s: %s", topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in metadata");
    else if (md->topics[0].partition_cnt <= 0)
        snprintf(err, errlen, "topic %s has no partitions", topic);
    else
        n = md->topics[0].partition_cnt;
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}
