/*
 * cmd_topic.c -- `sluice topic create|list|describe|delete|alter-config|
 * add-partitions`: topic administration, in the style of rpk with
 * kafka-topics.sh / kafka-configs.sh long flags as aliases.
 */
#include "cli.h"
#include "json.h"

#define MAX_CONFIGS 64

/* Options shared by the topic subcommands (each uses a subset). */
enum {
    O_TOPIC = 1,
    O_PARTITIONS,
    O_REPLICAS,
    O_CONFIG,
    O_DELETE_CONFIG,
    O_IF_NOT_EXISTS,
    O_IF_EXISTS,
    O_DRY_RUN,
    O_INTERNAL,
};

typedef struct topic_opts {
    const char *topic;
    int64_t partitions;
    int64_t replicas;
    sl_client_kv_t set[MAX_CONFIGS];
    char *owned[MAX_CONFIGS];
    size_t nset;
    const char *del[MAX_CONFIGS];
    size_t ndel;
    bool if_not_exists;
    bool if_exists;
    bool dry_run;
    bool internal;
} topic_opts_t;

static int
on_opt(sl_cli_t *cli, void *ctx, int id, const char *arg)
{
    topic_opts_t *o = ctx;

    switch (id) {
    case O_TOPIC:
        o->topic = arg;
        return SL_EXIT_OK;
    case O_PARTITIONS:
        if (!sl_cli_int(arg, 1, 1000000, &o->partitions))
            return sl_cli_usage(cli, "bad partition count '%s'", arg);
        return SL_EXIT_OK;
    case O_REPLICAS:
        if (!sl_cli_int(arg, 1, 1000, &o->replicas))
            return sl_cli_usage(cli, "bad replication factor '%s'", arg);
        return SL_EXIT_OK;
    case O_CONFIG:
        if (o->nset >= MAX_CONFIGS)
            return sl_cli_usage(cli, "too many configs");
        if (!sl_cli_kv(arg, &o->owned[o->nset], &o->set[o->nset].key, &o->set[o->nset].value))
            return sl_cli_usage(cli, "config must be KEY=VALUE, got '%s'", arg);
        o->nset++;
        return SL_EXIT_OK;
    case O_DELETE_CONFIG:
        if (o->ndel >= MAX_CONFIGS)
            return sl_cli_usage(cli, "too many configs");
        o->del[o->ndel++] = arg;
        return SL_EXIT_OK;
    case O_IF_NOT_EXISTS:
        o->if_not_exists = true;
        return SL_EXIT_OK;
    case O_IF_EXISTS:
        o->if_exists = true;
        return SL_EXIT_OK;
    case O_DRY_RUN:
        o->dry_run = true;
        return SL_EXIT_OK;
    case O_INTERNAL:
        o->internal = true;
        return SL_EXIT_OK;
    default:
        return SL_EXIT_USAGE;
    }
}

static void
opts_deinit(topic_opts_t *o)
{
    for (size_t i = 0; i < o->nset; i++)
        free(o->owned[i]);
}

/* The topic names: positionals, plus --topic. */
static int
topic_names(sl_cli_t *cli, topic_opts_t *o, const char **names, int max, int *n)
{
    *n = 0;
    if (o->topic)
        names[(*n)++] = o->topic;
    for (int i = 0; i < cli->nargs && *n < max; i++)
        names[(*n)++] = cli->args[i];
    if (*n == 0)
        return sl_cli_usage(cli, "which topic? (give TOPIC or --topic TOPIC)");
    return SL_EXIT_OK;
}

#define TOPIC_OPT                                                                                  \
    {                                                                                              \
        O_TOPIC, 't', "topic", NULL, "TOPIC", "the topic (instead of TOPIC)"                       \
    }

static int
replication_of(const sl_client_topic_t *t)
{
    return t->nparts > 0 ? t->parts[0].nreplicas : 0;
}

/* ================================================================ */
/* create                                                           */
/* ================================================================ */

static int
topic_create(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        TOPIC_OPT,
        {O_PARTITIONS, 'p', "partitions", NULL, "N", "number of partitions (default: broker's)"},
        {O_REPLICAS, 'r', "replication-factor", "replicas", "N",
         "replicas per partition (default: broker's)"},
        {O_CONFIG, 'c', "config", "topic-config", "KEY=VALUE",
         "topic config, repeatable (e.g. retention.ms=3600000)"},
        {O_IF_NOT_EXISTS, 0, "if-not-exists", NULL, NULL, "succeed if the topic already exists"},
        {O_DRY_RUN, 0, "dry-run", "validate-only", NULL, "validate only; create nothing"},
    };
    sl_cli_t cli = {"topic create",
                    "TOPIC [options]",
                    "Create a topic (kafka-topics.sh --create).",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    1};
    topic_opts_t o = {.partitions = -1, .replicas = -1};
    sl_client_t *c = NULL;
    const char *name;
    int rc, st, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = topic_names(&cli, &o, &name, 1, &n)) != SL_EXIT_OK)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    st = sl_client_create_topic(c, name, (int)o.partitions, (int)o.replicas, o.set, o.nset,
                                o.dry_run);
    if (st == SL_EEXIST && o.if_not_exists)
        st = SL_OK;
    else if (st != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        if (st == SL_EEXIST)
            fprintf(stderr, "(use --if-not-exists to accept an existing topic)\n");
        goto out;
    }
    if (!o.dry_run && (o.partitions < 0 || o.replicas < 0)) {
        /* The broker picked the defaults: report what it created. */
        sl_client_meta_t *m = NULL;
        if (sl_client_metadata(c, name, &m) == SL_OK) {
            o.partitions = m->topics[0].nparts;
            o.replicas = replication_of(&m->topics[0]);
        }
        sl_client_meta_free(m);
    }
    if (cli.json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "topic", name);
        sl_json_int(&j, "partitions", o.partitions);
        sl_json_int(&j, "replication_factor", o.replicas);
        sl_json_bool(&j, "created", !o.dry_run);
        sl_json_end_obj(&j);
    } else {
        printf("%s topic %s\n", o.dry_run ? "validated" : "created", name);
    }
    rc = SL_EXIT_OK;
out:
    sl_client_free(c);
    opts_deinit(&o);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* list                                                             */
/* ================================================================ */

static int
topic_list(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        {O_INTERNAL, 'i', "internal", NULL, NULL, "include internal topics (__consumer_offsets)"},
    };
    sl_cli_t cli = {"topic list",
                    "[options]",
                    "List topics (kafka-topics.sh --list).",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    0};
    topic_opts_t o = {0};
    sl_client_t *c = NULL;
    sl_client_meta_t *m = NULL;
    sl_table_t t;
    sl_json_t j;
    int rc;

    sl_table_init(&t, 3);
    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_metadata(c, NULL, &m) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    sl_json_init(&j, stdout);
    if (cli.json) {
        sl_json_obj(&j, NULL);
        sl_json_arr(&j, "topics");
    }
    sl_table_cell(&t, "NAME");
    sl_table_cell(&t, "PARTITIONS");
    sl_table_cell(&t, "REPLICAS");
    for (int i = 0; i < m->ntopics; i++) {
        const sl_client_topic_t *tp = &m->topics[i];
        if (!o.internal && strncmp(tp->name, "__", 2) == 0)
            continue;
        if (cli.json) {
            sl_json_obj(&j, NULL);
            sl_json_str(&j, "name", tp->name);
            sl_json_int(&j, "partitions", tp->nparts);
            sl_json_int(&j, "replication_factor", replication_of(tp));
            sl_json_end_obj(&j);
        }
        sl_table_cell(&t, "%s", tp->name);
        sl_table_cell(&t, "%d", tp->nparts);
        sl_table_cell(&t, "%d", replication_of(tp));
    }
    if (cli.json) {
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    } else {
        sl_table_print(&t, stdout);
    }
    rc = SL_EXIT_OK;
out:
    sl_table_deinit(&t);
    sl_client_meta_free(m);
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* describe                                                         */
/* ================================================================ */

static void
ids_text(char *buf, size_t len, const int32_t *ids, int n)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && off < len; i++) {
        int w = snprintf(buf + off, len - off, "%s%d", i ? "," : "", (int)ids[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static void
ids_json(sl_json_t *j, const char *key, const int32_t *ids, int n)
{
    sl_json_arr(j, key);
    for (int i = 0; i < n; i++)
        sl_json_int(j, NULL, ids[i]);
    sl_json_end_arr(j);
}

static void
describe_text(const sl_client_topic_t *t, const sl_client_configs_t *cfgs)
{
    sl_table_t tab;
    char rep[256], isr[256];

    printf("Topic: %s  PartitionCount: %d  ReplicationFactor: %d\n\n", t->name, t->nparts,
           replication_of(t));
    sl_table_init(&tab, 6);
    sl_table_cell(&tab, "PARTITION");
    sl_table_cell(&tab, "LEADER");
    sl_table_cell(&tab, "REPLICAS");
    sl_table_cell(&tab, "ISR");
    sl_table_cell(&tab, "LOG-START-OFFSET");
    sl_table_cell(&tab, "LOG-END-OFFSET");
    for (int i = 0; i < t->nparts; i++) {
        const sl_client_part_t *p = &t->parts[i];
        ids_text(rep, sizeof(rep), p->replicas, p->nreplicas);
        ids_text(isr, sizeof(isr), p->isr, p->nisr);
        sl_table_cell(&tab, "%d", (int)p->id);
        sl_table_cell(&tab, "%d", (int)p->leader);
        sl_table_cell(&tab, "[%s]", rep);
        sl_table_cell(&tab, "[%s]", isr);
        sl_table_cell(&tab, "%lld", (long long)p->log_start);
        sl_table_cell(&tab, "%lld", (long long)p->log_end);
    }
    sl_table_print(&tab, stdout);
    sl_table_deinit(&tab);
    if (!cfgs)
        return;
    printf("\n");
    sl_table_init(&tab, 3);
    sl_table_cell(&tab, "CONFIG");
    sl_table_cell(&tab, "VALUE");
    sl_table_cell(&tab, "SOURCE");
    for (size_t i = 0; i < cfgs->n; i++) {
        const sl_client_config_t *e = &cfgs->v[i];
        sl_table_cell(&tab, "%s", e->name);
        sl_table_cell(&tab, "%s", e->sensitive ? "(sensitive)" : e->value ? e->value : "-");
        sl_table_cell(&tab, "%s", e->source);
    }
    sl_table_print(&tab, stdout);
    sl_table_deinit(&tab);
}

static void
describe_json(sl_json_t *j, const sl_client_topic_t *t, const sl_client_configs_t *cfgs)
{
    sl_json_obj(j, NULL);
    sl_json_str(j, "name", t->name);
    sl_json_int(j, "replication_factor", replication_of(t));
    sl_json_arr(j, "partitions");
    for (int i = 0; i < t->nparts; i++) {
        const sl_client_part_t *p = &t->parts[i];
        sl_json_obj(j, NULL);
        sl_json_int(j, "partition", p->id);
        sl_json_int(j, "leader", p->leader);
        ids_json(j, "replicas", p->replicas, p->nreplicas);
        ids_json(j, "isr", p->isr, p->nisr);
        sl_json_int(j, "log_start_offset", p->log_start);
        sl_json_int(j, "log_end_offset", p->log_end);
        sl_json_end_obj(j);
    }
    sl_json_end_arr(j);
    sl_json_arr(j, "configs");
    for (size_t i = 0; cfgs && i < cfgs->n; i++) {
        const sl_client_config_t *e = &cfgs->v[i];
        sl_json_obj(j, NULL);
        sl_json_str(j, "name", e->name);
        sl_json_str(j, "value", e->sensitive ? NULL : e->value);
        sl_json_str(j, "source", e->source);
        sl_json_bool(j, "read_only", e->read_only);
        sl_json_bool(j, "default", e->is_default);
        sl_json_bool(j, "sensitive", e->sensitive);
        sl_json_end_obj(j);
    }
    sl_json_end_arr(j);
    sl_json_end_obj(j);
}

static int
describe_one(sl_cli_t *cli, sl_client_t *c, const char *name, sl_json_t *j)
{
    sl_client_meta_t *m = NULL;
    sl_client_configs_t *cfgs = NULL;
    sl_client_topic_t *t;
    int rc = SL_EXIT_FAIL;

    if (sl_client_metadata(c, name, &m) != SL_OK)
        goto out;
    t = sl_client_meta_topic(m, name);
    if (sl_client_fill_watermarks(c, t) != SL_OK)
        goto out;
    if (sl_client_describe_configs(c, SL_CLIENT_RES_TOPIC, name, &cfgs) != SL_OK)
        goto out;
    if (cli->json)
        describe_json(j, t, cfgs);
    else
        describe_text(t, cfgs);
    rc = SL_EXIT_OK;
out:
    if (rc != SL_EXIT_OK)
        sl_cli_fail(cli, "%s", sl_client_errmsg(c));
    sl_client_configs_free(cfgs);
    sl_client_meta_free(m);
    return rc;
}

static int
topic_describe(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {TOPIC_OPT};
    sl_cli_t cli = {"topic describe",
                    "TOPIC... [options]",
                    "Show a topic's partitions (leader, replicas, ISR, log start and end "
                    "offsets)\nand its configs with their source (kafka-topics.sh --describe).",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    -1};
    topic_opts_t o = {0};
    sl_client_t *c = NULL;
    const char *names[64];
    sl_json_t j;
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = topic_names(&cli, &o, names, 64, &n)) != SL_EXIT_OK)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    sl_json_init(&j, stdout);
    if (cli.json)
        sl_json_arr(&j, NULL);
    for (int i = 0; i < n && rc == SL_EXIT_OK; i++) {
        if (i > 0 && !cli.json)
            printf("\n");
        rc = describe_one(&cli, c, names[i], &j);
    }
    if (cli.json && rc == SL_EXIT_OK)
        sl_json_end_arr(&j);
out:
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* delete                                                           */
/* ================================================================ */

static int
topic_delete(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        TOPIC_OPT,
        {O_IF_EXISTS, 0, "if-exists", NULL, NULL, "succeed if the topic does not exist"},
    };
    sl_cli_t cli = {"topic delete",
                    "TOPIC... [options]",
                    "Delete topics and their data (kafka-topics.sh --delete).",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    -1};
    topic_opts_t o = {0};
    sl_client_t *c = NULL;
    const char *names[64];
    sl_json_t j;
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = topic_names(&cli, &o, names, 64, &n)) != SL_EXIT_OK)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    sl_json_init(&j, stdout);
    if (cli.json) {
        sl_json_obj(&j, NULL);
        sl_json_arr(&j, "deleted");
    }
    for (int i = 0; i < n; i++) {
        int st = sl_client_delete_topic(c, names[i]);
        if (st == SL_ENOENT && o.if_exists)
            continue;
        if (st != SL_OK) {
            rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
            break;
        }
        if (cli.json)
            sl_json_str(&j, NULL, names[i]);
        else
            printf("deleted topic %s\n", names[i]);
    }
    if (cli.json) {
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    }
out:
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* alter-config, add-partitions                                     */
/* ================================================================ */

static int
topic_alter_config(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        TOPIC_OPT,
        {O_CONFIG, 's', "set", "add-config", "KEY=VALUE", "set a config override, repeatable"},
        {O_DELETE_CONFIG, 'd', "delete", "delete-config", "KEY",
         "remove an override (back to the broker default), repeatable"},
    };
    sl_cli_t cli = {"topic alter-config",
                    "TOPIC --set KEY=VALUE | --delete KEY ...",
                    "Change a topic's config overrides (kafka-configs.sh --alter --entity-type "
                    "topics).",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    1};
    topic_opts_t o = {0};
    sl_client_t *c = NULL;
    const char *name;
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = topic_names(&cli, &o, &name, 1, &n)) != SL_EXIT_OK)
        goto out;
    if (o.nset == 0 && o.ndel == 0) {
        rc = sl_cli_usage(&cli, "nothing to change: give --set KEY=VALUE or --delete KEY");
        goto out;
    }
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_alter_topic_configs(c, name, o.set, o.nset, o.del, o.ndel) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    if (cli.json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "topic", name);
        sl_json_obj(&j, "set");
        for (size_t i = 0; i < o.nset; i++)
            sl_json_str(&j, o.set[i].key, o.set[i].value);
        sl_json_end_obj(&j);
        sl_json_arr(&j, "deleted");
        for (size_t i = 0; i < o.ndel; i++)
            sl_json_str(&j, NULL, o.del[i]);
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    } else {
        for (size_t i = 0; i < o.nset; i++)
            printf("set %s=%s on topic %s\n", o.set[i].key, o.set[i].value, name);
        for (size_t i = 0; i < o.ndel; i++)
            printf("deleted %s on topic %s\n", o.del[i], name);
    }
out:
    sl_client_free(c);
    opts_deinit(&o);
    sl_cli_deinit(&cli);
    return rc;
}

static int
topic_add_partitions(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        TOPIC_OPT,
        {O_PARTITIONS, 'p', "partitions", NULL, "TOTAL",
         "the new total partition count (as kafka-topics.sh --alter --partitions)"},
    };
    sl_cli_t cli = {"topic add-partitions",
                    "TOPIC --partitions TOTAL",
                    "Grow a topic to TOTAL partitions. Keys may map to other partitions after.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    1};
    topic_opts_t o = {.partitions = -1};
    sl_client_t *c = NULL;
    const char *name;
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = topic_names(&cli, &o, &name, 1, &n)) != SL_EXIT_OK)
        goto out;
    if (o.partitions < 1) {
        rc = sl_cli_usage(&cli, "give the new total with --partitions N");
        goto out;
    }
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_create_partitions(c, name, (int)o.partitions) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    if (cli.json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "topic", name);
        sl_json_int(&j, "partitions", o.partitions);
        sl_json_end_obj(&j);
    } else {
        printf("topic %s now has %lld partitions\n", name, (long long)o.partitions);
    }
out:
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

static const sl_cli_verb_t verbs[] = {
    {"create", topic_create, "create a topic"},
    {"list", topic_list, "list topics"},
    {"describe", topic_describe, "partitions, offsets and configs of topics"},
    {"delete", topic_delete, "delete topics"},
    {"alter-config", topic_alter_config, "set or remove topic config overrides"},
    {"add-partitions", topic_add_partitions, "grow a topic's partition count"},
};

/* kafka-topics.sh names the action with a flag anywhere on the line
 * (`--bootstrap-server H:P --create --topic T`). Returns the subcommand it
 * maps to and its index in argv, or NULL when there is none. --alter wins
 * over --delete, which is also alter-config's spelling of --delete-config. */
static const char *
kafka_action(int argc, char **argv, int *at)
{
    static const struct {
        const char *flag, *verb;
    } actions[] = {
        {"--alter", NULL},  {"--create", "create"}, {"--describe", "describe"},
        {"--list", "list"}, {"--delete", "delete"},
    };

    for (size_t a = 0; a < SL_ARRAY_LEN(actions); a++) {
        for (int i = 0; i < argc; i++) {
            if (strcmp(argv[i], "--") == 0)
                break;
            if (strcmp(argv[i], actions[a].flag) != 0)
                continue;
            *at = i;
            if (actions[a].verb)
                return actions[a].verb;
            /* --alter: --partitions grows the topic, anything else is configs. */
            for (int k = 0; k < argc; k++)
                if (strcmp(argv[k], "--partitions") == 0 ||
                    strncmp(argv[k], "--partitions=", 13) == 0)
                    return "add-partitions";
            return "alter-config";
        }
    }
    return NULL;
}

int
sl_cmd_topic(int argc, char **argv)
{
    const char *verb;
    char **args;
    int at, rc;

    if (argc >= 1) {
        for (size_t i = 0; i < SL_ARRAY_LEN(verbs); i++)
            if (strcmp(argv[0], verbs[i].name) == 0)
                return verbs[i].fn(argc - 1, argv + 1);
    }
    verb = kafka_action(argc, argv, &at);
    if (!verb)
        return sl_cli_dispatch("topic", verbs, SL_ARRAY_LEN(verbs), argc, argv);
    /* The same command line without the action flag. */
    args = sl_xcalloc((size_t)argc + 1, sizeof(*args));
    for (int i = 0, n = 0; i < argc; i++)
        if (i != at)
            args[n++] = argv[i];
    rc = SL_EXIT_USAGE;
    for (size_t i = 0; i < SL_ARRAY_LEN(verbs); i++)
        if (strcmp(verb, verbs[i].name) == 0)
            rc = verbs[i].fn(argc - 1, args);
    free(args);
    return rc;
}
