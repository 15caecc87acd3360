/*
 * cmd_perf.c -- `sluice perf produce|consume|e2e`: a load generator in the
 * manner of Kafka's producer/consumer perf-test tools (see perf.h for what
 * each mode measures). This file parses the command line, runs the mode
 * (e2e: a consumer thread next to the producer) and prints the figures, as
 * text or as one JSON object (--json).
 *
 * Exit status: 0 when every record was acknowledged (produce), read (consume)
 * or both (e2e); 1 when the run failed; 2 on a usage error.
 */
#include "commands.h"
#include "perf.h"

#include "client/client.h"

#include "base/common.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: sluice perf produce|consume|e2e [options]\n"
    "\n"
    "  produce   send records; report records/s, MB/s and acknowledgement latency\n"
    "  consume   read a topic from the beginning; report records/s and MB/s\n"
    "  e2e       produce and consume at once; report the latency from each record's\n"
    "            scheduled send time (start + i/rate) to its receipt\n"
    "\n"
    "options:\n"
    "  -b, --bootstrap-server HOST:PORT  broker (default $SLUICE_BROKERS, then 127.0.0.1:9092)\n"
    "  -t, --topic NAME          topic (default sluice-perf)\n"
    "  -s, --record-size BYTES   value size (default 100; e2e needs at least 24)\n"
    "  -n, --num-records N       records to send/read (consume: default everything\n"
    "                            in the topic at start)\n"
    "  -d, --duration SECONDS    run this long instead of a count\n"
    "  -r, --throughput RATE     records/s target (default: as fast as possible;\n"
    "                            alias --rate)\n"
    "  -a, --acks all|1|0        acks (default all)\n"
    "  -z, --compression CODEC   none, gzip, snappy, lz4, zstd (default none)\n"
    "  -l, --linger-ms MS        producer linger.ms (default 5)\n"
    "  -p, --partitions N        create the topic with N partitions if missing\n"
    "                            (produce/e2e default 1; 0: leave it to the broker)\n"
    "  -X, --property KEY=VALUE  extra librdkafka property (repeatable)\n"
    "      --timeout-ms MS       give up after this long without progress (default 30000)\n"
    "      --json                print one JSON object instead of text\n"
    "      --latency-log FILE    write \"<scheduled ms since start> <latency ms>\" per\n"
    "                            record (produce: ack latency; e2e: end-to-end)\n"
    "  -h, --help                this help\n"
    "\n"
    "MB is 10^6 bytes of record values. Exit status: 0 ok, 1 failed, 2 usage.\n";

enum { OPT_TIMEOUT = 256, OPT_JSON, OPT_LATENCY_LOG };

static const struct option long_opts[] = {
    {"bootstrap-server", required_argument, NULL, 'b'},
    {"topic", required_argument, NULL, 't'},
    {"record-size", required_argument, NULL, 's'},
    {"num-records", required_argument, NULL, 'n'},
    {"duration", required_argument, NULL, 'd'},
    {"throughput", required_argument, NULL, 'r'},
    {"rate", required_argument, NULL, 'r'},
    {"acks", required_argument, NULL, 'a'},
    {"compression", required_argument, NULL, 'z'},
    {"linger-ms", required_argument, NULL, 'l'},
    {"partitions", required_argument, NULL, 'p'},
    {"property", required_argument, NULL, 'X'},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"latency-log", required_argument, NULL, OPT_LATENCY_LOG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* ======================================================================== */
/* Command line                                                              */
/* ======================================================================== */

static bool
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (*s == '\0')
        return false;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool
parse_f64(const char *s, double min, double *out)
{
    char *end;
    double v;

    if (*s == '\0')
        return false;
    v = strtod(s, &end);
    if (*end != '\0' || !(v >= min) || v > 1e12)
        return false;
    *out = v;
    return true;
}

static bool
parse_mode(const char *s, sl_perf_mode_t *mode)
{
    if (strcmp(s, "produce") == 0)
        *mode = SL_PERF_PRODUCE;
    else if (strcmp(s, "consume") == 0)
        *mode = SL_PERF_CONSUME;
    else if (strcmp(s, "e2e") == 0)
        *mode = SL_PERF_E2E;
    else
        return false;
    return true;
}

static void
opts_defaults(sl_perf_opts_t *o)
{
    const char *env = getenv("SLUICE_BROKERS");

    memset(o, 0, sizeof(*o));
    o->bootstrap = env != NULL && *env != '\0' ? env : "127.0.0.1:9092";
    o->topic = "sluice-perf";
    o->record_size = 100;
    o->num_records = -1;
    o->acks = "all";
    o->compression = "none";
    o->linger_ms = "5";
    o->partitions = -1;
    o->timeout_ms = 30000;
}

/* One option; false (message printed) on a bad value. */
static bool
parse_opt(sl_perf_opts_t *o, int ch, const char *arg)
{
    int64_t v;

    switch (ch) {
    case 'b':
        o->bootstrap = arg;
        return true;
    case 't':
        o->topic = arg;
        return *arg != '\0';
    case 'a':
        o->acks = strcmp(arg, "-1") == 0 ? "all" : arg;
        return strcmp(o->acks, "all") == 0 || strcmp(arg, "0") == 0 || strcmp(arg, "1") == 0;
    case 'z':
        o->compression = arg;
        return true;
    case 'l':
        o->linger_ms = arg;
        return parse_i64(arg, 0, 900000, &v);
    case 'd':
        return parse_f64(arg, 0.001, &o->duration_s);
    case 'r':
        return parse_f64(arg, 0, &o->rate);
    case 'n':
        return parse_i64(arg, 0, INT64_MAX / 2, &o->num_records);
    case 's':
        if (!parse_i64(arg, 0, 64 << 20, &v))
            return false;
        o->record_size = (int32_t)v;
        return true;
    case 'p':
        if (!parse_i64(arg, 0, 100000, &v))
            return false;
        o->partitions = (int32_t)v;
        return true;
    case 'X':
        if (o->n_props >= SL_PERF_MAX_PROPS || strchr(arg, '=') == NULL)
            return false;
        o->props[o->n_props++] = arg;
        return true;
    case OPT_TIMEOUT:
        return parse_i64(arg, 1, 86400000, &o->timeout_ms);
    case OPT_JSON:
        o->json = true;
        return true;
    case OPT_LATENCY_LOG:
        o->latency_log = arg;
        return *arg != '\0';
    default:
        return false;
    }
}

/* Returns -1 to go on, else the exit code (help, usage error). */
static int
parse_args(int argc, char **argv, sl_perf_opts_t *o)
{
    int ch;

    opts_defaults(o);
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        fputs(usage_text, argc < 1 ? stderr : stdout);
        return argc < 1 ? SL_EXIT_USAGE : SL_EXIT_OK;
    }
    if (!parse_mode(argv[0], &o->mode)) {
        fprintf(stderr, "sluice perf: unknown mode '%s'\n\n%s", argv[0], usage_text);
        return SL_EXIT_USAGE;
    }
    optind = 1;
    opterr = 1;
    while ((ch = getopt_long(argc, argv, "b:t:s:n:d:r:a:z:l:p:X:h", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage_text, stdout);
            return SL_EXIT_OK;
        }
        if (ch == '?' || !parse_opt(o, ch, optarg)) {
            if (ch != '?')
                fprintf(stderr, "sluice perf: bad value for -%c: '%s'\n", ch < 256 ? ch : '-',
                        optarg);
            fprintf(stderr, "Run 'sluice perf --help' for the options.\n");
            return SL_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice perf: unexpected argument '%s'\n", argv[optind]);
        return SL_EXIT_USAGE;
    }
    {
        char err[300];
        if (sl_client_check_brokers(o->bootstrap, err, sizeof(err)) != SL_OK) {
            fprintf(stderr, "sluice perf: %s\n", err);
            return SL_EXIT_USAGE;
        }
    }
    if (o->partitions < 0)
        o->partitions = o->mode == SL_PERF_CONSUME ? 0 : 1;
    if (o->mode != SL_PERF_CONSUME && o->num_records < 0 && o->duration_s <= 0) {
        fprintf(stderr, "sluice perf: %s needs --num-records or --duration\n", argv[0]);
        return SL_EXIT_USAGE;
    }
    if (o->mode == SL_PERF_E2E && o->record_size < SL_PERF_HDR_SIZE) {
        fprintf(stderr, "sluice perf: e2e records need at least %d bytes\n", SL_PERF_HDR_SIZE);
        return SL_EXIT_USAGE;
    }
    return -1;
}

/* ======================================================================== */
/* Running                                                                   */
/* ======================================================================== */

typedef struct e2e_consumer {
    const sl_perf_opts_t *o;
    sl_perf_link_t *link;
    sl_perf_cons_t *out;
    int rc;
} e2e_consumer_t;

static void *
e2e_consumer_main(void *arg)
{
    e2e_consumer_t *ec = arg;

    ec->rc = sl_perf_consume_run(ec->o, ec->link, ec->out);
    return NULL;
}

static int
run_e2e(const sl_perf_opts_t *o, sl_perf_prod_t *prod, sl_perf_cons_t *cons)
{
    sl_perf_link_t link = {0};
    e2e_consumer_t ec = {.o = o, .link = &link, .out = cons, .rc = -1};
    struct timespec ts;
    pthread_t th;
    int prc;

    clock_gettime(CLOCK_REALTIME, &ts);
    link.run_id = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)ts.tv_sec;
    if (pthread_create(&th, NULL, e2e_consumer_main, &ec) != 0) {
        snprintf(cons->first_error, sizeof(cons->first_error), "cannot start a thread");
        return -1;
    }
    prc = sl_perf_produce_run(o, &link, prod);
    pthread_join(th, NULL);
    return prc == 0 && ec.rc == 0 ? 0 : -1;
}

/* ======================================================================== */
/* Output                                                                    */
/* ======================================================================== */

static const char *mode_names[] = {"produce", "consume", "e2e"};

static double
secs(int64_t a, int64_t b)
{
    return b > a ? (double)(b - a) / 1e9 : 0.0;
}

static double
per_sec(int64_t n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

/* Prints s as a JSON string (topic names and error texts are not trusted). */
static void
json_str(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void
json_hist(const char *name, const sl_perf_hist_t *h)
{
    printf(",\"%s\":{\"count\":%llu,\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,\"p99\":%.3f,"
           "\"p999\":%.3f,\"max\":%.3f}",
           name, (unsigned long long)h->count, h->count ? (double)h->min_ns / 1e6 : 0.0,
           h->count ? h->sum_ns / (double)h->count / 1e6 : 0.0,
           (double)sl_perf_hist_quantile(h, 0.5) / 1e6,
           (double)sl_perf_hist_quantile(h, 0.99) / 1e6,
           (double)sl_perf_hist_quantile(h, 0.999) / 1e6, (double)h->max_ns / 1e6);
}

static void
text_hist(const char *name, const sl_perf_hist_t *h)
{
    printf("%s latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f, %llu "
           "samples)\n",
           name, (double)sl_perf_hist_quantile(h, 0.5) / 1e6,
           (double)sl_perf_hist_quantile(h, 0.99) / 1e6,
           (double)sl_perf_hist_quantile(h, 0.999) / 1e6, (double)h->max_ns / 1e6,
           h->count ? h->sum_ns / (double)h->count / 1e6 : 0.0, (unsigned long long)h->count);
}

static void
print_json(const sl_perf_opts_t *o, const sl_perf_prod_t *p, const sl_perf_cons_t *c, bool ok)
{
    bool has_p = o->mode != SL_PERF_CONSUME, has_c = o->mode != SL_PERF_PRODUCE;
    double ps = secs(p->start_ns, p->end_ns), cs = secs(c->start_ns, c->end_ns);

    printf("{\"mode\":\"%s\",\"ok\":%s,\"librdkafka\":\"%s\",\"topic\":", mode_names[o->mode],
           ok ? "true" : "false", rd_kafka_version_str());
    json_str(o->topic);
    printf(",\"record_size\":%d,\"acks\":\"%s\",\"compression\":", o->record_size, o->acks);
    json_str(o->compression);
    printf(",\"linger_ms\":%s,\"target_rate\":%.1f", o->linger_ms, o->rate);
    if (has_p) {
        printf(",\"produce\":{\"sent\":%lld,\"acked\":%lld,\"failed\":%lld,\"bytes\":%lld,"
               "\"elapsed_s\":%.6f,\"records_per_s\":%.1f,\"mb_per_s\":%.3f",
               (long long)p->sent, (long long)p->acked, (long long)p->failed, (long long)p->bytes,
               ps, per_sec(p->acked, ps), per_sec(p->bytes, ps) / 1e6);
        json_hist("ack_latency_ms", &p->ack);
        printf("}");
    }
    if (has_c) {
        printf(",\"consume\":{\"received\":%lld,\"bytes\":%lld,\"errors\":%lld,\"foreign\":%lld,"
               "\"elapsed_s\":%.6f,\"records_per_s\":%.1f,\"mb_per_s\":%.3f}",
               (long long)c->received, (long long)c->bytes, (long long)c->errors,
               (long long)c->foreign, cs, per_sec(c->received, cs), per_sec(c->bytes, cs) / 1e6);
    }
    if (o->mode == SL_PERF_E2E)
        json_hist("e2e_latency_ms", &c->e2e);
    if (p->first_error[0] != '\0' || c->first_error[0] != '\0') {
        printf(",\"error\":");
        json_str(p->first_error[0] != '\0' ? p->first_error : c->first_error);
    }
    printf("}\n");
}

static void
print_text(const sl_perf_opts_t *o, const sl_perf_prod_t *p, const sl_perf_cons_t *c)
{
    double ps = secs(p->start_ns, p->end_ns), cs = secs(c->start_ns, c->end_ns);

    if (o->mode == SL_PERF_CONSUME)
        printf("consume: topic %s\n", o->topic);
    else
        printf("%s: topic %s, %d B records, acks=%s, compression=%s, linger.ms=%s, rate %s\n",
               mode_names[o->mode], o->topic, o->record_size, o->acks, o->compression, o->linger_ms,
               o->rate > 0 ? "fixed" : "max");
    if (o->mode != SL_PERF_CONSUME) {
        printf("produced %lld records (%lld acked, %lld failed) in %.3f s: %.0f records/s, "
               "%.2f MB/s\n",
               (long long)p->sent, (long long)p->acked, (long long)p->failed, ps,
               per_sec(p->acked, ps), per_sec(p->bytes, ps) / 1e6);
        text_hist("ack", &p->ack);
    }
    if (o->mode != SL_PERF_PRODUCE)
        printf("consumed %lld records in %.3f s: %.0f records/s, %.2f MB/s\n",
               (long long)c->received, cs, per_sec(c->received, cs), per_sec(c->bytes, cs) / 1e6);
    if (o->mode == SL_PERF_E2E)
        text_hist("e2e", &c->e2e);
    if (p->first_error[0] != '\0')
        fprintf(stderr, "sluice perf: %s\n", p->first_error);
    if (c->first_error[0] != '\0')
        fprintf(stderr, "sluice perf: %s\n", c->first_error);
}

int
sl_cmd_perf(int argc, char **argv)
{
    sl_perf_opts_t o;
    sl_perf_prod_t *p = sl_xcalloc(1, sizeof(*p));
    sl_perf_cons_t *c = sl_xcalloc(1, sizeof(*c));
    int rc = parse_args(argc, argv, &o);

    if (rc >= 0)
        goto out;
    if (o.latency_log != NULL && o.mode != SL_PERF_CONSUME) {
        FILE *f = fopen(o.latency_log, "w");

        if (f == NULL) {
            fprintf(stderr, "sluice perf: cannot write %s\n", o.latency_log);
            rc = SL_EXIT_FAIL;
            goto out;
        }
        if (o.mode == SL_PERF_PRODUCE)
            p->log = f;
        else
            c->log = f;
    }
    /* A person at a terminal sees the run move; scripts and --json see nothing extra. */
    o.progress = !o.json && isatty(STDERR_FILENO);
    if (o.mode == SL_PERF_PRODUCE)
        rc = sl_perf_produce_run(&o, NULL, p);
    else if (o.mode == SL_PERF_CONSUME)
        rc = sl_perf_consume_run(&o, NULL, c);
    else
        rc = run_e2e(&o, p, c);
    if (o.json)
        print_json(&o, p, c, rc == 0);
    else
        print_text(&o, p, c);
    if (o.json && (p->first_error[0] != '\0' || c->first_error[0] != '\0'))
        fprintf(stderr, "sluice perf: %s\n",
                p->first_error[0] != '\0' ? p->first_error : c->first_error);
    rc = rc == 0 ? SL_EXIT_OK : SL_EXIT_FAIL;

out:
    if (p->log != NULL)
        fclose(p->log);
    if (c->log != NULL)
        fclose(c->log);
    free(p);
    free(c);
    return rc;
}
