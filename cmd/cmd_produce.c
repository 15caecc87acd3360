/*
 * cmd_produce.c -- `sluice produce TOPIC`: one record per stdin line (or
 * per file with --file-per-record), optional key split at a separator,
 * headers, compression and acks; -v prints where each record landed.
 */
#include "cli.h"
#include "json.h"

#include "base/buf.h"

#include <errno.h>
#include <sys/types.h>

#define MAX_HEADERS 32

enum {
    O_TOPIC = 1,
    O_KEYSEP,
    O_KEY,
    O_HEADER,
    O_PARTITION,
    O_CODEC,
    O_ACKS,
    O_VERBOSE,
    O_FILES,
    O_PROPERTY,
    O_CLIENT_PROPERTY,
};

typedef struct produce {
    const char *topic;
    const char *keysep;
    const char *key;
    sl_client_header_t headers[MAX_HEADERS];
    char *owned[MAX_HEADERS];
    size_t nheaders;
    int64_t partition;
    const char *codec;
    const char *acks;
    bool verbose;
    bool files;
    /* kafka-console-producer's --property parse.key / key.separator */
    bool parse_key;
    const char *prop_keysep;
    char *prop_owned[8];
    size_t nprop_owned;
    /* results, updated by delivery reports */
    sl_cli_t *cli;
    sl_json_t j;
    uint64_t acked;
    uint64_t failed;
} produce_t;

/* --property KEY=VALUE: kafka-console-producer's line reader settings. */
static int
console_property(sl_cli_t *cli, produce_t *p, const char *arg)
{
    char *owned;
    const char *k, *v;

    if (p->nprop_owned >= SL_ARRAY_LEN(p->prop_owned))
        return sl_cli_usage(cli, "too many --property options");
    if (!sl_cli_kv(arg, &owned, &k, &v))
        return sl_cli_usage(cli, "--property takes KEY=VALUE, got '%s'", arg);
    p->prop_owned[p->nprop_owned++] = owned;
    if (strcmp(k, "parse.key") == 0) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            return sl_cli_usage(cli, "parse.key is true or false, got '%s'", v);
        p->parse_key = strcmp(v, "true") == 0;
        return SL_EXIT_OK;
    }
    if (strcmp(k, "key.separator") == 0) {
        if (!v[0])
            return sl_cli_usage(cli, "key.separator must not be empty");
        p->prop_keysep = v;
        return SL_EXIT_OK;
    }
    return sl_cli_usage(cli,
                        "--property %s is not supported (parse.key and key.separator are); "
                        "librdkafka client settings are given with -X KEY=VALUE",
                        k);
}

static int
on_opt(sl_cli_t *cli, void *ctx, int id, const char *arg)
{
    produce_t *p = ctx;
    const char *k, *v;

    switch (id) {
    case O_TOPIC:
        p->topic = arg;
        return SL_EXIT_OK;
    case O_KEYSEP:
        if (!arg[0])
            return sl_cli_usage(cli, "the key separator must not be empty");
        p->keysep = arg;
        return SL_EXIT_OK;
    case O_KEY:
        p->key = arg;
        return SL_EXIT_OK;
    case O_HEADER:
        if (p->nheaders >= MAX_HEADERS)
            return sl_cli_usage(cli, "too many headers (at most %d)", MAX_HEADERS);
        if (!sl_cli_kv(arg, &p->owned[p->nheaders], &k, &v))
            return sl_cli_usage(cli, "header must be KEY=VALUE, got '%s'", arg);
        p->headers[p->nheaders++] = (sl_client_header_t){k, v, strlen(v)};
        return SL_EXIT_OK;
    case O_PARTITION:
        if (!sl_cli_int(arg, 0, INT32_MAX, &p->partition))
            return sl_cli_usage(cli, "bad partition '%s'", arg);
        return SL_EXIT_OK;
    case O_CODEC:
        if (strcmp(arg, "none") && strcmp(arg, "gzip") && strcmp(arg, "snappy") &&
            strcmp(arg, "lz4") && strcmp(arg, "zstd"))
            return sl_cli_usage(cli, "unknown codec '%s' (none, gzip, snappy, lz4, zstd)", arg);
        p->codec = arg;
        return SL_EXIT_OK;
    case O_ACKS:
        if (strcmp(arg, "all") && strcmp(arg, "-1") && strcmp(arg, "1") && strcmp(arg, "0"))
            return sl_cli_usage(cli, "acks must be all, -1, 1 or 0, got '%s'", arg);
        p->acks = arg;
        return SL_EXIT_OK;
    case O_VERBOSE:
        p->verbose = true;
        return SL_EXIT_OK;
    case O_FILES:
        p->files = true;
        return SL_EXIT_OK;
    case O_PROPERTY:
        return console_property(cli, p, arg);
    case O_CLIENT_PROPERTY: {
        char *kv;
        int rc;
        if (!sl_cli_kv(arg, &kv, &k, &v))
            return sl_cli_usage(cli, "--producer-property takes KEY=VALUE, got '%s'", arg);
        rc = sl_cli_add_prop(cli, k, v); /* copies */
        free(kv);
        return rc;
    }
    default:
        return SL_EXIT_USAGE;
    }
}

static void
on_delivery(void *opaque, const sl_client_delivery_t *d)
{
    produce_t *p = opaque;

    if (d->err) {
        /* Report the first few; the count at the end covers the rest. */
        if (p->failed++ < 5)
            sl_cli_fail(p->cli, "record %llu not written: %s", (unsigned long long)d->seq,
                        d->errstr);
        return;
    }
    p->acked++;
    if (!p->verbose)
        return;
    if (p->cli->json) {
        sl_json_obj(&p->j, NULL);
        sl_json_int(&p->j, "record", (int64_t)d->seq);
        sl_json_str(&p->j, "topic", d->topic);
        sl_json_int(&p->j, "partition", d->partition);
        sl_json_int(&p->j, "offset", d->offset);
        sl_json_end_obj(&p->j);
    } else {
        printf("%s partition %d offset %lld\n", d->topic, (int)d->partition, (long long)d->offset);
    }
}

static int
send_one(produce_t *p, sl_client_t *c, const char *data, size_t len, uint64_t seq)
{
    sl_client_record_t r = {
        .topic = p->topic,
        .partition = (int32_t)p->partition,
        .value = data,
        .value_len = len,
        .headers = p->headers,
        .nheaders = p->nheaders,
    };

    if (p->key) {
        r.key = p->key;
        r.key_len = strlen(p->key);
    }
    if (p->keysep) {
        const char *sep = memmem(data, len, p->keysep, strlen(p->keysep));
        /* A line without the separator is sent with no key. */
        if (sep) {
            r.key = data;
            r.key_len = (size_t)(sep - data);
            r.value = sep + strlen(p->keysep);
            r.value_len = len - r.key_len - strlen(p->keysep);
        }
    }
    if (sl_client_produce(c, &r, seq) != SL_OK)
        return sl_cli_fail(p->cli, "%s", sl_client_errmsg(c));
    return SL_EXIT_OK;
}

static int
send_lines(produce_t *p, sl_client_t *c)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t seq = 0;
    int rc = SL_EXIT_OK;

    while (rc == SL_EXIT_OK && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        rc = send_one(p, c, line, len, seq++);
    }
    free(line);
    return rc;
}

static int
send_files(produce_t *p, sl_client_t *c, char **files, int nfiles)
{
    int rc = SL_EXIT_OK;

    for (int i = 0; i < nfiles && rc == SL_EXIT_OK; i++) {
        FILE *f = fopen(files[i], "rb");
        sl_buf_t b = SL_BUF_INIT;
        char chunk[65536];
        size_t n;
        if (!f)
            return sl_cli_fail(p->cli, "cannot open %s: %s", files[i], strerror(errno));
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            sl_buf_append(&b, chunk, n);
        if (ferror(f))
            rc = sl_cli_fail(p->cli, "cannot read %s: %s", files[i], strerror(errno));
        fclose(f);
        if (rc == SL_EXIT_OK)
            rc = send_one(p, c, (const char *)b.data, b.len, (uint64_t)i);
        sl_buf_deinit(&b);
    }
    return rc;
}

int
sl_cmd_produce(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        {O_TOPIC, 't', "topic", NULL, "TOPIC", "the topic (instead of TOPIC)"},
        {O_KEYSEP, 'k', "key-separator", "key-delimiter", "SEP",
         "split each line at the first SEP into key and value"},
        {O_KEYSEP, 'K', "kcat-key-delimiter", NULL, "SEP", "same as -k (kcat's spelling)"},
        {O_KEY, 0, "key", NULL, "KEY", "the same key for every record"},
        {O_HEADER, 'H', "header", NULL, "KEY=VALUE", "add a header to every record, repeatable"},
        {O_PARTITION, 'p', "partition", NULL, "N", "write to partition N (default: by key)"},
        {O_CODEC, 'z', "compression", "compression-codec", "CODEC",
         "none, gzip, snappy, lz4 or zstd"},
        {O_ACKS, 'a', "acks", "request-required-acks", "ACKS", "all (default), 1 or 0"},
        {O_VERBOSE, 'v', "verbose", NULL, NULL, "print the partition and offset of each record"},
        {O_FILES, 0, "file-per-record", NULL, NULL,
         "send each FILE argument as one record instead of reading lines"},
        {O_PROPERTY, 0, "property", NULL, "KEY=VALUE",
         "kafka-console-producer's reader settings: parse.key=true splits each line at "
         "key.separator (default a tab) into key and value"},
        {O_CLIENT_PROPERTY, 0, "producer-property", NULL, "KEY=VALUE",
         "a librdkafka producer setting (same as -X)"},
    };
    sl_cli_t cli = {"produce",
                    "TOPIC [options] [--file-per-record FILE...]",
                    "Write one record per line of stdin to TOPIC (kafka-console-producer.sh).\n"
                    "With --json and -v, each acknowledged record is one JSON line.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    -1};
    produce_t p = {.partition = -1, .acks = "all"};
    sl_client_t *c = NULL;
    int rc, first = 0;

    p.cli = &cli;
    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &p)) != SL_CLI_CONTINUE)
        goto out;
    if (!p.topic) {
        if (cli.nargs < 1) {
            rc = sl_cli_usage(&cli, "which topic? (give TOPIC or --topic TOPIC)");
            goto out;
        }
        p.topic = cli.args[first++];
    }
    if (!p.files && cli.nargs > first) {
        rc = sl_cli_usage(&cli, "unexpected argument '%s' (files need --file-per-record)",
                          cli.args[first]);
        goto out;
    }
    if (p.parse_key && !p.keysep)
        p.keysep = p.prop_keysep ? p.prop_keysep : "\t"; /* Kafka's default separator */
    if ((rc = sl_cli_add_prop(&cli, "acks", p.acks)) != SL_EXIT_OK ||
        (p.codec && (rc = sl_cli_add_prop(&cli, "compression.type", p.codec)) != SL_EXIT_OK))
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    sl_json_init(&p.j, stdout);
    sl_client_on_delivery(c, on_delivery, &p);
    rc = p.files ? send_files(&p, c, cli.args + first, cli.nargs - first) : send_lines(&p, c);
    if (sl_client_flush(c) != SL_OK && rc == SL_EXIT_OK)
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
    if (rc == SL_EXIT_OK && p.failed > 0) {
        sl_client_meta_t *m = NULL;
        rc = sl_cli_fail(&cli, "%llu of %llu records failed", (unsigned long long)p.failed,
                         (unsigned long long)(p.failed + p.acked));
        /* The usual cause: a missing topic the broker will not auto-create
         * (librdkafka only reports that the records timed out). */
        if (sl_client_metadata(c, p.topic, &m) == SL_ENOENT)
            sl_cli_fail(&cli,
                        "topic '%s' does not exist and the broker did not create it: create it "
                        "with `sluice topic create %s`",
                        p.topic, p.topic);
        sl_client_meta_free(m);
    }
    if (cli.json && !p.verbose) {
        sl_json_obj(&p.j, NULL);
        sl_json_str(&p.j, "topic", p.topic);
        sl_json_int(&p.j, "produced", (int64_t)p.acked);
        sl_json_int(&p.j, "failed", (int64_t)p.failed);
        sl_json_end_obj(&p.j);
    }
out:
    sl_client_free(c);
    for (size_t i = 0; i < p.nheaders; i++)
        free(p.owned[i]);
    for (size_t i = 0; i < p.nprop_owned; i++)
        free(p.prop_owned[i]);
    sl_cli_deinit(&cli);
    return rc;
}
