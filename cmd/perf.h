/*
 * perf.h -- private header of `sluice perf` (cmd/cmd_perf.c and the
 * cmd/perf_*.c helpers): a load generator in the manner of Kafka's producer
 * and consumer perf-test tools, built on librdkafka.
 *
 * Modes:
 *   produce  send records (fixed count or duration, fixed rate or as fast as
 *            possible); report records/s, MB/s and the acknowledgement latency
 *            of each record, measured from its scheduled send time;
 *   consume  read records from a topic's partitions (no consumer group
 *            rebalancing: partitions are assigned explicitly); report
 *            records/s and MB/s;
 *   e2e      one producer and one consumer thread in the same process; the
 *            latency of each record runs from its *scheduled* send time to its
 *            receipt by the consumer.
 *
 * Coordinated omission: with a target rate, record i is scheduled at
 * start + i/rate whatever happened before it. A producer that falls behind
 * (because the broker stalled) sends late, and the lateness is charged to the
 * latency of every record it delays, as a real stream of arrivals would see
 * it. Without a rate the scheduled time is the moment just before the send.
 *
 * Threads: produce and consume run on the calling thread; e2e adds one
 * consumer thread. Each thread owns its own histogram; the e2e counters the
 * two threads share are atomics.
 */
#ifndef SL_CMD_PERF_H
#define SL_CMD_PERF_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- latency histogram -------------------------------------------------- */

/*
 * Log-linear buckets over nanoseconds: 2^SL_PERF_HIST_SUB_BITS sub-buckets per
 * power of two, so a reported percentile is within 1/128 (0.8 %) of the true
 * value, in fixed memory whatever the number of samples. min, max and the sum
 * are exact.
 */
#define SL_PERF_HIST_SUB_BITS 7
#define SL_PERF_HIST_SUB      (1 << SL_PERF_HIST_SUB_BITS)
#define SL_PERF_HIST_BUCKETS  ((64 - SL_PERF_HIST_SUB_BITS + 1) * SL_PERF_HIST_SUB)

typedef struct sl_perf_hist {
    uint64_t count;
    int64_t min_ns, max_ns;
    double sum_ns;
    uint64_t buckets[SL_PERF_HIST_BUCKETS];
} sl_perf_hist_t;

void sl_perf_hist_init(sl_perf_hist_t *h);
/* Records one sample; negative samples (clock oddities) count as 0. */
void sl_perf_hist_record(sl_perf_hist_t *h, int64_t ns);
/* The value below which a fraction q (0..1) of the samples lie, clamped to
 * [min, max]; 0 when the histogram is empty. */
int64_t sl_perf_hist_quantile(const sl_perf_hist_t *h, double q);

/* ---- options and results ------------------------------------------------ */

typedef enum sl_perf_mode {
    SL_PERF_PRODUCE,
    SL_PERF_CONSUME,
    SL_PERF_E2E,
} sl_perf_mode_t;

#define SL_PERF_MAX_PROPS 32

typedef struct sl_perf_opts {
    sl_perf_mode_t mode;
    const char *bootstrap;
    const char *topic;
    int32_t record_size; /* value bytes per record */
    int64_t num_records; /* -1: not given */
    double duration_s;   /* 0: not given */
    double rate;         /* records/s; 0: as fast as possible */
    const char *acks;    /* librdkafka's acks: all, -1, 0, 1 */
    const char *compression;
    const char *linger_ms;
    int32_t partitions; /* create the topic with this many; 0: leave it to the broker */
    int64_t timeout_ms; /* give up after this long without progress */
    bool json;
    const char *latency_log; /* write "<scheduled ms> <latency ms>" per record here */
    bool progress;           /* a live progress line on stderr (a terminal, not --json) */
    int n_props;
    const char *props[SL_PERF_MAX_PROPS]; /* "key=value" librdkafka properties (-X) */
} sl_perf_opts_t;

/* ---- live progress (perf_progress.c) ----------------------------------- */

typedef struct sl_perf_progress {
    bool on;
    bool printed;
    const char *what; /* "produce", "consume", "e2e" */
    int64_t start_ns, next_ns, last_ns, last_n;
} sl_perf_progress_t;

void sl_perf_progress_start(sl_perf_progress_t *pg, bool on, const char *what, int64_t now);
/* At most once a second: "\r<what> T s  N records  R rec/s  latency so far ...";
 * h may be NULL (no latency measured). */
void sl_perf_progress_tick(sl_perf_progress_t *pg, int64_t now, int64_t n, const sl_perf_hist_t *h);
/* Clears the live line, if one was printed. */
void sl_perf_progress_end(sl_perf_progress_t *pg);

/* What the producer side measured. */
typedef struct sl_perf_prod {
    int64_t sent;             /* records handed to librdkafka */
    int64_t acked;            /* delivery reports without error */
    int64_t failed;           /* delivery reports with an error, or refused sends */
    int64_t bytes;            /* value bytes acknowledged */
    int64_t start_ns, end_ns; /* first schedule .. last delivery report */
    FILE *log;                /* --latency-log (produce mode: ack latency) */
    char first_error[256];
    sl_perf_progress_t progress; /* produce mode only */
    sl_perf_hist_t ack;          /* scheduled send -> delivery report */
} sl_perf_prod_t;

/* What the consumer side measured. */
typedef struct sl_perf_cons {
    int64_t received;
    int64_t bytes;
    int64_t errors;
    int64_t foreign;          /* e2e: records that were not sent by this run */
    int64_t start_ns, end_ns; /* assignment .. last record */
    FILE *log;                /* --latency-log (e2e: end-to-end latency) */
    char first_error[256];
    sl_perf_progress_t progress; /* consume and e2e */
    sl_perf_hist_t e2e;          /* e2e only: scheduled send -> receipt */
} sl_perf_cons_t;

/* State the e2e producer and consumer threads share. */
typedef struct sl_perf_link {
    uint32_t run_id;          /* stamped in every record's header */
    _Atomic int64_t sent;     /* records the producer has handed over */
    _Atomic int64_t start_ns; /* the producer's start: time 0 of --latency-log */
    _Atomic bool producer_done;
    _Atomic bool topic_ready;    /* the producer created the topic: the consumer may look */
    _Atomic bool consumer_ready; /* partitions assigned (or failed): the producer may start */
    _Atomic bool stop;           /* the consumer failed: stop sending */
} sl_perf_link_t;

/* e2e records start with this header: run id, sequence, scheduled time. */
#define SL_PERF_HDR_SIZE 24

/* ---- librdkafka plumbing (perf_client.c) -------------------------------- */

/* Builds a configuration from opts (bootstrap, -X properties) plus the given
 * key=value pairs (NULL-terminated); on error writes a message to err. */
rd_kafka_conf_t *sl_perf_client_conf(const sl_perf_opts_t *o, const char *const *kv, char *err,
                                     size_t errlen);
/* Creates opts->topic with opts->partitions partitions unless it exists. */
int sl_perf_client_ensure_topic(rd_kafka_t *rk, const sl_perf_opts_t *o, char *err, size_t errlen);
/* Number of partitions of the topic, or -1 (err filled). */
int32_t sl_perf_client_partitions(rd_kafka_t *rk, const char *topic, int64_t timeout_ms, char *err,
                                  size_t errlen);
int64_t sl_perf_client_now_ns(void);

/* ---- the two halves (perf_produce.c, perf_consume.c) -------------------- */

/* Runs the producer described by opts; link is NULL except for e2e.
 * Returns 0 when every record was acknowledged, -1 otherwise. */
int sl_perf_produce_run(const sl_perf_opts_t *o, sl_perf_link_t *link, sl_perf_prod_t *out);
/* Runs the consumer; link is NULL except for e2e. Returns 0 when the
 * expected records arrived, -1 otherwise. */
int sl_perf_consume_run(const sl_perf_opts_t *o, sl_perf_link_t *link, sl_perf_cons_t *out);

#endif
