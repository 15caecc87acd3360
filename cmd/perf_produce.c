/*
 * perf_produce.c -- the producer half of `sluice perf`: hands records to
 * librdkafka on a schedule (start + i/rate) or as fast as the client queue
 * takes them, and measures each record from its scheduled send time to its
 * delivery report.
 */
#include "perf.h"

#include "base/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* Serves callbacks every this many records when sending flat out. */
#define POLL_EVERY 1024

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_perf_prod_t *out = opaque;
    int64_t now = sl_perf_client_now_ns();

    (void)rk;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (out->failed++ == 0)
            snprintf(out->first_error, sizeof(out->first_error), "delivery: %s",
                     rd_kafka_err2str(m->err));
        return;
    }
    out->acked++;
    out->bytes += (int64_t)m->len;
    out->end_ns = now;
    sl_perf_hist_record(&out->ack, now - (int64_t)(intptr_t)m->_private);
    if (out->log != NULL)
        fprintf(out->log, "%.3f %.3f\n",
                (double)((int64_t)(intptr_t)m->_private - out->start_ns) / 1e6,
                (double)(now - (int64_t)(intptr_t)m->_private) / 1e6);
}

static rd_kafka_t *
producer_new(const sl_perf_opts_t *o, sl_perf_prod_t *out, char *err, size_t errlen)
{
    char acks[64], comp[64], linger[64];
    const char *kv[] = {acks, comp, linger, NULL};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;

    snprintf(acks, sizeof(acks), "acks=%s", o->acks);
    snprintf(comp, sizeof(comp), "compression.type=%s", o->compression);
    snprintf(linger, sizeof(linger), "linger.ms=%s", o->linger_ms);
    conf = sl_perf_client_conf(o, kv, err, errlen);
    if (conf == NULL)
        return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, out);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (rk == NULL)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Sleeps (serving delivery reports) until the monotonic clock reaches t. */
static void
wait_until(rd_kafka_t *rk, int64_t t)
{
    int64_t left;

    rd_kafka_poll(rk, 0);
    while ((left = t - sl_perf_client_now_ns()) > 0) {
        if (left > 2000000) {
            rd_kafka_poll(rk, (int)(left / 1000000) - 1);
        } else {
            struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};

            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        }
    }
}

static void
put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void
put_i64(uint8_t *p, int64_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* Hands one record over, waiting while the client queue is full. Returns the
 * librdkafka error for a record it refused. */
static rd_kafka_resp_err_t
send_one(rd_kafka_t *rk, const sl_perf_opts_t *o, uint8_t *val, int64_t sched)
{
    rd_kafka_resp_err_t e;

    for (;;) {
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic),
                              RD_KAFKA_V_VALUE(val, (size_t)o->record_size),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE((void *)(intptr_t)sched), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return e;
        rd_kafka_poll(rk, 1);
    }
}

/* The send loop: stops after num_records, or once the duration has passed
 * (on the schedule when there is a rate, on the clock otherwise). */
static void
send_loop(rd_kafka_t *rk, const sl_perf_opts_t *o, sl_perf_link_t *link, uint8_t *val,
          sl_perf_prod_t *out)
{
    int64_t start = out->start_ns, end = INT64_MAX, now, sched;
    rd_kafka_resp_err_t e;

    if (o->duration_s > 0)
        end = start + (int64_t)(o->duration_s * 1e9);
    for (int64_t i = 0; o->num_records < 0 || i < o->num_records; i++) {
        if (link != NULL && atomic_load(&link->stop))
            break;
        now = sl_perf_client_now_ns();
        if (o->rate > 0) {
            sched = start + (int64_t)((double)i * 1e9 / o->rate);
            if (sched >= end)
                break;
            if (sched > now)
                wait_until(rk, sched);
        } else {
            if (now >= end)
                break;
            sched = now;
        }
        if (link != NULL) {
            put_u32(val, link->run_id);
            put_u32(val + 4, 0);
            put_i64(val + 8, i);
            put_i64(val + 16, sched);
        }
        e = send_one(rk, o, val, sched);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (out->failed++ == 0)
                snprintf(out->first_error, sizeof(out->first_error), "produce: %s",
                         rd_kafka_err2str(e));
            break; /* a refused record (too large, unknown topic) is refused again */
        }
        out->sent++;
        if (link != NULL)
            atomic_store(&link->sent, out->sent);
        sl_perf_progress_tick(&out->progress, now, out->acked, &out->ack);
        if (o->rate > 0 || (i % POLL_EVERY) == 0)
            rd_kafka_poll(rk, 0);
    }
}

/* Waits for every outstanding delivery report while reports keep coming. */
static void
drain(rd_kafka_t *rk, const sl_perf_opts_t *o, sl_perf_prod_t *out)
{
    int64_t last_done = -1, idle_since = sl_perf_client_now_ns();

    while (rd_kafka_outq_len(rk) > 0) {
        int64_t done = out->acked + out->failed;

        rd_kafka_poll(rk, 50);
        sl_perf_progress_tick(&out->progress, sl_perf_client_now_ns(), out->acked, &out->ack);
        if (done != last_done) {
            last_done = done;
            idle_since = sl_perf_client_now_ns();
        } else if (sl_perf_client_now_ns() - idle_since > o->timeout_ms * 1000000) {
            if (out->first_error[0] == '\0')
                snprintf(out->first_error, sizeof(out->first_error),
                         "no delivery report for %lld ms", (long long)o->timeout_ms);
            break;
        }
    }
}

static void
fill_value(uint8_t *val, int32_t n)
{
    /* Uppercase letters, like Kafka's perf tool: compressible but not trivially. */
    uint64_t x = 0x9e3779b97f4a7c15ull;

    for (int32_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        val[i] = (uint8_t)('A' + x % 26);
    }
}

int
sl_perf_produce_run(const sl_perf_opts_t *o, sl_perf_link_t *link, sl_perf_prod_t *out)
{
    char err[256] = "";
    rd_kafka_t *rk;
    uint8_t *val = NULL;

    sl_perf_hist_init(&out->ack);
    rk = producer_new(o, out, err, sizeof(err));
    if (rk == NULL)
        goto fail;
    if (sl_perf_client_ensure_topic(rk, o, err, sizeof(err)) != 0)
        goto fail;
    /* Connects and learns the leaders before the clock starts. */
    if (sl_perf_client_partitions(rk, o->topic, o->timeout_ms, err, sizeof(err)) < 0)
        goto fail;
    if (link != NULL)
        atomic_store(&link->topic_ready, true);
    while (link != NULL && !atomic_load(&link->consumer_ready))
        rd_kafka_poll(rk, 1);
    /* Wake-ups on the schedule should not be 50 us late (the default slack). */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    val = sl_xcalloc(1, (size_t)o->record_size + 1);
    fill_value(val, o->record_size);
    out->start_ns = out->end_ns = sl_perf_client_now_ns();
    if (link != NULL)
        atomic_store(&link->start_ns, out->start_ns);
    /* In e2e the consumer thread shows the progress (end-to-end latency). */
    sl_perf_progress_start(&out->progress, o->progress && link == NULL, "produce", out->start_ns);
    send_loop(rk, o, link, val, out);
    if (link != NULL)
        atomic_store(&link->producer_done, true);
    drain(rk, o, out);
    sl_perf_progress_end(&out->progress);
    free(val);
    rd_kafka_destroy(rk);
    return out->acked == out->sent && out->failed == 0 ? 0 : -1;

fail:
    if (link != NULL)
        atomic_store(&link->producer_done, true);
    snprintf(out->first_error, sizeof(out->first_error), "%s", err);
    free(val);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    return -1;
}
