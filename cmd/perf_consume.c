/*
 * perf_consume.c -- the consumer half of `sluice perf`: assigns every
 * partition of the topic explicitly (no group rebalance to wait for) and
 * counts records in batches of up to 1024 from librdkafka's consumer queue.
 *
 * Where it starts and when it stops:
 *   consume  from each partition's low watermark; stops after --num-records,
 *            after --duration, or (neither given) once it has read everything
 *            that was in the topic when it started;
 *   e2e      from each partition's high watermark, so the records of earlier
 *            runs are skipped; stops once it has every record the producer
 *            sent.
 * Either gives up after --timeout-ms without a new record.
 */
#include "perf.h"

#include "base/common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1024

static rd_kafka_t *
consumer_new(const sl_perf_opts_t *o, char *err, size_t errlen)
{
    char group[64];
    /* A group id is needed for the consumer queue; it is never joined. */
    const char *kv[] = {group, "enable.auto.commit=false", "enable.auto.offset.store=false",
                        "enable.partition.eof=false", NULL};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;

    snprintf(group, sizeof(group), "group.id=sluice-perf-%d", (int)getpid());
    conf = sl_perf_client_conf(o, kv, err, errlen);
    if (conf == NULL)
        return NULL;
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assigns every partition at its low (consume) or high (e2e) watermark;
 * *avail is the number of records between the two, summed. */
static int
assign_all(rd_kafka_t *rk, const sl_perf_opts_t *o, int32_t parts, int64_t *avail, char *err,
           size_t errlen)
{
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(parts);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    int64_t lo, hi;

    *avail = 0;
    for (int32_t p = 0; p < parts && e == RD_KAFKA_RESP_ERR_NO_ERROR; p++) {
        e = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, (int)o->timeout_ms);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_topic_partition_list_add(tl, o->topic, p)->offset =
                o->mode == SL_PERF_E2E ? hi : lo;
            *avail += hi - lo;
        }
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        e = rd_kafka_assign(rk, tl);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(err, errlen, "assign %s: %s", o->topic, rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(tl);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static void
on_record(const rd_kafka_message_t *m, sl_perf_link_t *link, int64_t now, sl_perf_cons_t *out)
{
    uint32_t run;
    int64_t sched;

    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (out->errors++ == 0)
            snprintf(out->first_error, sizeof(out->first_error), "consume: %s",
                     rd_kafka_message_errstr(m));
        return;
    }
    if (link != NULL) {
        if (m->len < SL_PERF_HDR_SIZE ||
            (memcpy(&run, m->payload, sizeof(run)), run != link->run_id)) {
            out->foreign++;
            return;
        }
        memcpy(&sched, (const uint8_t *)m->payload + 16, sizeof(sched));
        sl_perf_hist_record(&out->e2e, now - sched);
        if (out->log != NULL)
            fprintf(out->log, "%.3f %.3f\n", (double)(sched - atomic_load(&link->start_ns)) / 1e6,
                    (double)(now - sched) / 1e6);
    }
    out->received++;
    out->bytes += (int64_t)m->len;
    out->end_ns = now;
}

static bool
finished(const sl_perf_opts_t *o, sl_perf_link_t *link, int64_t target, int64_t now,
         const sl_perf_cons_t *out)
{
    if (link != NULL)
        return atomic_load(&link->producer_done) && out->received >= atomic_load(&link->sent);
    if (target >= 0 && out->received >= target)
        return true;
    return o->duration_s > 0 && now - out->start_ns >= (int64_t)(o->duration_s * 1e9);
}

static void
read_loop(rd_kafka_t *rk, const sl_perf_opts_t *o, sl_perf_link_t *link, int64_t target,
          sl_perf_cons_t *out)
{
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *msgs[BATCH];
    int64_t last = out->start_ns, now;

    for (;;) {
        /* A batch call waits for a full batch or its timeout, which would
         * add up to the timeout to e2e latency: take what is queued without
         * waiting, and block only for the first record when nothing is. */
        ssize_t n = rd_kafka_consume_batch_queue(q, 0, msgs, BATCH);

        if (n == 0 && (msgs[0] = rd_kafka_consumer_poll(rk, 100)) != NULL)
            n = 1;

        now = sl_perf_client_now_ns();
        for (ssize_t i = 0; i < n; i++) {
            /* --num-records N reads exactly N, whatever the batch holds. */
            if (target < 0 || out->received < target)
                on_record(msgs[i], link, now, out);
            rd_kafka_message_destroy(msgs[i]);
        }
        if (n > 0)
            last = now;
        sl_perf_progress_tick(&out->progress, now, out->received, link != NULL ? &out->e2e : NULL);
        if (finished(o, link, target, now, out))
            break;
        /* A slow e2e producer is progress too: the clock restarts with each send. */
        if (now - last > o->timeout_ms * 1000000 &&
            (link == NULL || atomic_load(&link->producer_done))) {
            if (out->first_error[0] == '\0')
                snprintf(out->first_error, sizeof(out->first_error),
                         "no record for %lld ms (%lld received)", (long long)o->timeout_ms,
                         (long long)out->received);
            break;
        }
    }
    rd_kafka_queue_destroy(q);
}

int
sl_perf_consume_run(const sl_perf_opts_t *o, sl_perf_link_t *link, sl_perf_cons_t *out)
{
    char err[256] = "";
    rd_kafka_t *rk;
    int32_t parts;
    int64_t avail, target = -1;
    int rc = -1;

    sl_perf_hist_init(&out->e2e);
    /* e2e: the producer creates the topic; looking earlier finds nothing. */
    while (link != NULL && !atomic_load(&link->topic_ready)) {
        if (atomic_load(&link->producer_done))
            return -1;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    rk = consumer_new(o, err, sizeof(err));
    if (rk == NULL)
        goto out;
    if ((parts = sl_perf_client_partitions(rk, o->topic, o->timeout_ms, err, sizeof(err))) < 0)
        goto out;
    if (assign_all(rk, o, parts, &avail, err, sizeof(err)) != 0)
        goto out;
    if (o->num_records >= 0)
        target = o->num_records;
    else if (o->duration_s <= 0)
        target = avail;
    out->start_ns = out->end_ns = sl_perf_client_now_ns();
    if (link != NULL)
        atomic_store(&link->consumer_ready, true);
    sl_perf_progress_start(&out->progress, o->progress, link != NULL ? "e2e" : "consume",
                           out->start_ns);
    read_loop(rk, o, link, target, out);
    sl_perf_progress_end(&out->progress);
    if (link != NULL)
        rc = out->received == atomic_load(&link->sent) ? 0 : -1;
    else
        rc = target < 0 || out->received >= target ? 0 : -1;

out:
    if (err[0] != '\0')
        snprintf(out->first_error, sizeof(out->first_error), "%s", err);
    if (link != NULL && rc != 0) {
        atomic_store(&link->stop, true);
        atomic_store(&link->consumer_ready, true);
    }
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
