/*
 * cmd_consume.c -- `sluice consume TOPIC`: print records, alone (assigned
 * partitions from a start position) or as a member of a group (-g, offsets
 * committed as it goes and on exit). -n stops after a count, -e at the end
 * of every partition; -f formats each record, --json prints JSON lines.
 */
#include "cli.h"
#include "json.h"

#include <signal.h>
#include <stddef.h>

enum {
    O_TOPIC = 1,
    O_GROUP,
    O_OFFSET,
    O_FROM_BEGINNING,
    O_PARTITION,
    O_COUNT,
    O_EXIT,
    O_FORMAT,
    O_PROPERTY,
    O_CLIENT_PROPERTY,
};

/* kafka-console-consumer's --property print.* settings (its default
 * formatter): fields in Kafka's order, each followed by key.separator. */
typedef struct kafka_fmt {
    bool used;
    bool print_timestamp, print_partition, print_offset, print_headers, print_key, print_value;
    const char *key_sep;
    const char *line_sep;
    char *owned[16];
    size_t nowned;
} kafka_fmt_t;

typedef struct consume {
    sl_consumer_conf_t cc;
    bool start_given;
    int64_t count; /* -1 = no limit */
    bool exit_at_end;
    const char *format;
    kafka_fmt_t kf;
} consume_t;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* -o: beginning|start|earliest, end|latest, stored, N, -N, @TIME. */
static bool
parse_start(const char *s, sl_consumer_conf_t *cc)
{
    if (!strcmp(s, "beginning") || !strcmp(s, "start") || !strcmp(s, "earliest") ||
        !strcmp(s, "oldest")) {
        cc->start = SL_CLIENT_START_BEGINNING;
        return true;
    }
    if (!strcmp(s, "end") || !strcmp(s, "latest") || !strcmp(s, "newest")) {
        cc->start = SL_CLIENT_START_END;
        return true;
    }
    if (!strcmp(s, "stored")) {
        cc->start = SL_CLIENT_START_STORED;
        return true;
    }
    if (s[0] == '@') {
        cc->start = SL_CLIENT_START_TIME;
        return sl_cli_time_ms(s + 1, &cc->start_value);
    }
    if (s[0] == '-') {
        cc->start = SL_CLIENT_START_FROM_END;
        return sl_cli_int(s + 1, 1, INT64_MAX, &cc->start_value);
    }
    cc->start = SL_CLIENT_START_OFFSET;
    return sl_cli_int(s, 0, INT64_MAX, &cc->start_value);
}

static int
console_property(sl_cli_t *cli, kafka_fmt_t *kf, const char *arg)
{
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"print.timestamp", offsetof(kafka_fmt_t, print_timestamp)},
        {"print.partition", offsetof(kafka_fmt_t, print_partition)},
        {"print.offset", offsetof(kafka_fmt_t, print_offset)},
        {"print.headers", offsetof(kafka_fmt_t, print_headers)},
        {"print.key", offsetof(kafka_fmt_t, print_key)},
        {"print.value", offsetof(kafka_fmt_t, print_value)},
    };
    char *owned;
    const char *key, *v;

    if (kf->nowned >= SL_ARRAY_LEN(kf->owned))
        return sl_cli_usage(cli, "too many --property options");
    if (!sl_cli_kv(arg, &owned, &key, &v))
        return sl_cli_usage(cli, "--property takes KEY=VALUE, got '%s'", arg);
    kf->owned[kf->nowned++] = owned;
    kf->used = true;
    for (size_t i = 0; i < SL_ARRAY_LEN(flags); i++) {
        if (strcmp(key, flags[i].name) != 0)
            continue;
        if (strcmp(v, "true") && strcmp(v, "false"))
            return sl_cli_usage(cli, "%s is true or false, got '%s'", key, v);
        *(bool *)((char *)kf + flags[i].off) = strcmp(v, "true") == 0;
        return SL_EXIT_OK;
    }
    if (strcmp(key, "key.separator") == 0) {
        kf->key_sep = v;
        return SL_EXIT_OK;
    }
    if (strcmp(key, "line.separator") == 0) {
        kf->line_sep = v;
        return SL_EXIT_OK;
    }
    return sl_cli_usage(cli,
                        "--property %s is not supported (print.key, print.value, print.partition, "
                        "print.offset, print.timestamp, print.headers, key.separator, "
                        "line.separator are); librdkafka client settings are given with -X "
                        "KEY=VALUE",
                        key);
}

static int
on_opt(sl_cli_t *cli, void *ctx, int id, const char *arg)
{
    consume_t *k = ctx;
    int64_t v;

    switch (id) {
    case O_TOPIC:
        k->cc.topic = arg;
        return SL_EXIT_OK;
    case O_GROUP:
        k->cc.group = arg;
        return SL_EXIT_OK;
    case O_OFFSET:
        if (!parse_start(arg, &k->cc))
            return sl_cli_usage(cli, "bad offset '%s' (beginning, end, N, -N or @TIME)", arg);
        k->start_given = true;
        return SL_EXIT_OK;
    case O_FROM_BEGINNING:
        k->cc.start = SL_CLIENT_START_BEGINNING;
        k->start_given = true;
        return SL_EXIT_OK;
    case O_PARTITION:
        if (!sl_cli_int(arg, 0, INT32_MAX, &v))
            return sl_cli_usage(cli, "bad partition '%s'", arg);
        k->cc.partition = (int32_t)v;
        return SL_EXIT_OK;
    case O_COUNT:
        if (!sl_cli_int(arg, 1, INT64_MAX, &k->count))
            return sl_cli_usage(cli, "bad count '%s'", arg);
        return SL_EXIT_OK;
    case O_EXIT:
        k->exit_at_end = true;
        return SL_EXIT_OK;
    case O_FORMAT:
        k->format = arg;
        return SL_EXIT_OK;
    case O_PROPERTY:
        return console_property(cli, &k->kf, arg);
    case O_CLIENT_PROPERTY: {
        char *kv;
        const char *key, *val;
        int rc;
        if (!sl_cli_kv(arg, &kv, &key, &val))
            return sl_cli_usage(cli, "--consumer-property takes KEY=VALUE, got '%s'", arg);
        rc = sl_cli_add_prop(cli, key, val); /* copies */
        free(kv);
        return rc;
    }
    default:
        return SL_EXIT_USAGE;
    }
}

/* ================================================================ */
/* output                                                           */
/* ================================================================ */

static void
print_headers(const sl_client_msg_t *m)
{
    const char *name;
    const void *value;
    size_t len;

    for (size_t i = 0; sl_consumer_header(m, i, &name, &value, &len); i++) {
        fprintf(stdout, "%s%s=", i ? "," : "", name);
        if (value)
            fwrite(value, 1, len, stdout);
    }
}

static void
print_format(const char *f, const sl_client_msg_t *m)
{
    for (; *f; f++) {
        if (*f == '\\' && f[1]) {
            f++;
            fputc(*f == 'n' ? '\n' : *f == 't' ? '\t' : *f == '0' ? '\0' : *f, stdout);
            continue;
        }
        if (*f != '%' || !f[1]) {
            fputc(*f, stdout);
            continue;
        }
        switch (*++f) {
        case 't':
            fputs(m->topic, stdout);
            break;
        case 'p':
            printf("%d", (int)m->partition);
            break;
        case 'o':
            printf("%lld", (long long)m->offset);
            break;
        case 'T':
            printf("%lld", (long long)m->timestamp_ms);
            break;
        case 'k':
            if (m->key)
                fwrite(m->key, 1, m->key_len, stdout);
            break;
        case 'K':
            printf("%lld", m->key ? (long long)m->key_len : -1LL);
            break;
        case 's':
        case 'v':
            if (m->value)
                fwrite(m->value, 1, m->value_len, stdout);
            break;
        case 'S':
            printf("%lld", m->value ? (long long)m->value_len : -1LL);
            break;
        case 'h':
            print_headers(m);
            break;
        case '%':
            fputc('%', stdout);
            break;
        default:
            fputc('%', stdout);
            fputc(*f, stdout);
        }
    }
}

/* Kafka's DefaultMessageFormatter: [CreateTime:T][Partition:P][Offset:O]
 * [headers][key] value, null as "null". */
static void
print_kafka(const kafka_fmt_t *kf, const sl_client_msg_t *m)
{
    const char *sep = kf->key_sep;

    if (kf->print_timestamp)
        printf("CreateTime:%lld%s", (long long)m->timestamp_ms, sep);
    if (kf->print_partition)
        printf("Partition:%d%s", (int)m->partition, sep);
    if (kf->print_offset)
        printf("Offset:%lld%s", (long long)m->offset, sep);
    if (kf->print_headers) {
        const char *name;
        const void *value;
        size_t len, i;
        for (i = 0; sl_consumer_header(m, i, &name, &value, &len); i++) {
            printf("%s%s:", i ? "," : "", name);
            if (value)
                fwrite(value, 1, len, stdout);
            else
                fputs("null", stdout);
        }
        printf("%s%s", i ? "" : "NO_HEADERS", sep);
    }
    if (kf->print_key) {
        if (m->key)
            fwrite(m->key, 1, m->key_len, stdout);
        else
            fputs("null", stdout);
        if (kf->print_value)
            fputs(sep, stdout);
    }
    if (kf->print_value) {
        if (m->value)
            fwrite(m->value, 1, m->value_len, stdout);
        else
            fputs("null", stdout);
    }
    fputs(kf->line_sep, stdout);
}

static void
print_json(sl_json_t *j, const sl_client_msg_t *m)
{
    const char *name;
    const void *value;
    size_t len;

    sl_json_obj(j, NULL);
    sl_json_str(j, "topic", m->topic);
    sl_json_int(j, "partition", m->partition);
    sl_json_int(j, "offset", m->offset);
    sl_json_int(j, "timestamp", m->timestamp_ms);
    sl_json_strn(j, "key", m->key, m->key_len);
    sl_json_strn(j, "value", m->value, m->value_len);
    sl_json_obj(j, "headers");
    for (size_t i = 0; sl_consumer_header(m, i, &name, &value, &len); i++)
        sl_json_strn(j, name, value, len);
    sl_json_end_obj(j);
    sl_json_end_obj(j);
}

/* ================================================================ */
/* main loop                                                        */
/* ================================================================ */

static int
run(sl_cli_t *cli, consume_t *k, sl_consumer_t *cons)
{
    sl_client_msg_t m;
    sl_json_t j;
    int64_t got = 0;

    sl_json_init(&j, stdout);
    while (!stop && (k->count < 0 || got < k->count)) {
        int st = sl_consumer_poll(cons, 200, &m);
        if (st == SL_EAGAIN)
            continue;
        if (st == SL_ERANGE) {
            if (k->exit_at_end)
                break;
            continue;
        }
        if (st != SL_OK)
            return sl_cli_fail(cli, "%s", sl_consumer_errmsg(cons));
        if (cli->json)
            print_json(&j, &m);
        else if (k->kf.used)
            print_kafka(&k->kf, &m);
        else
            print_format(k->format, &m);
        /* Whoever reads a pipe sees each record as it comes. */
        fflush(stdout);
        got++;
    }
    return SL_EXIT_OK;
}

int
sl_cmd_consume(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        {O_TOPIC, 't', "topic", NULL, "TOPIC", "the topic (instead of TOPIC)"},
        {O_GROUP, 'g', "group", NULL, "GROUP", "consume as a member of GROUP, committing offsets"},
        {O_OFFSET, 'o', "offset", NULL, "WHERE",
         "start at beginning, end, OFFSET, -N (N before the end) or @TIME (epoch ms or "
         "2024-05-01T12:00:00Z); with -g only beginning or end, for partitions without a "
         "committed offset (default beginning)"},
        {O_FROM_BEGINNING, 0, "from-beginning", NULL, NULL, "same as -o beginning"},
        {O_PARTITION, 'p', "partition", NULL, "N", "read only partition N (not with -g)"},
        {O_COUNT, 'n', "count", "max-messages", "N", "exit after N records"},
        {O_COUNT, 'c', "kcat-count", NULL, "N", "same as -n (kcat's spelling)"},
        {O_EXIT, 'e', "exit-at-end", NULL, NULL, "exit once every partition is read to its end"},
        {O_FORMAT, 'f', "format", NULL, "FMT",
         "print each record as FMT: %t topic, %p partition, %o offset, %k key, %v or %s value, "
         "%T timestamp (ms), %h headers (k=v,...), %K/%S key/value length, \\n \\t (default "
         "'%v\\n')"},
        {O_PROPERTY, 0, "property", NULL, "KEY=VALUE",
         "kafka-console-consumer's formatter settings: print.key, print.value, print.partition, "
         "print.offset, print.timestamp, print.headers (true/false), key.separator (default a "
         "tab), line.separator"},
        {O_CLIENT_PROPERTY, 0, "consumer-property", NULL, "KEY=VALUE",
         "a librdkafka consumer setting (same as -X)"},
    };
    sl_cli_t cli = {"consume",
                    "TOPIC [options]",
                    "Print records of TOPIC (kafka-console-consumer.sh). Stops on Ctrl-C, -n or "
                    "-e.\nWith --json each record is one JSON line: topic, partition, offset, "
                    "timestamp,\nkey, value, headers.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    1};
    consume_t k = {.cc = {.partition = -1, .start = SL_CLIENT_START_BEGINNING},
                   .count = -1,
                   .format = "%v\\n",
                   .kf = {.print_value = true, .key_sep = "\t", .line_sep = "\n"}};
    sl_consumer_t *cons = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    char err[512];
    int rc;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &k)) != SL_CLI_CONTINUE)
        goto out;
    if (!k.cc.topic && cli.nargs > 0)
        k.cc.topic = cli.args[0];
    if (!k.cc.topic) {
        rc = sl_cli_usage(&cli, "which topic? (give TOPIC or --topic TOPIC)");
        goto out;
    }
    if (k.cc.group && k.cc.partition >= 0) {
        rc = sl_cli_usage(&cli, "-p cannot be used with -g: the group assigns partitions");
        goto out;
    }
    if (k.cc.group && k.start_given && k.cc.start != SL_CLIENT_START_BEGINNING &&
        k.cc.start != SL_CLIENT_START_END && k.cc.start != SL_CLIENT_START_STORED) {
        rc = sl_cli_usage(&cli, "with -g, -o takes beginning or end; move a group's offsets "
                                "with `sluice group seek`");
        goto out;
    }
    if (sl_consumer_open(&cli.conf, &k.cc, &cons, err, sizeof(err)) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", err);
        goto out;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = run(&cli, &k, cons);
out:
    sl_consumer_close(cons);
    for (size_t i = 0; i < k.kf.nowned; i++)
        free(k.kf.owned[i]);
    sl_cli_deinit(&cli);
    return rc;
}
