/*
 * test_admin_config.c -- unit tests for src/admin configs: definitions,
 * properties parsing, broker and topic effective values, DescribeConfigs
 * entries and Alter/IncrementalAlterConfigs semantics.
 */
#include "test.h"

#include "admin/admin.h"

/* ---- helpers ---- */

static void
load_cfg(sl_broker_config_t *cfg, const char *text)
{
    sl_props_t p;
    sl_errbuf_t err = {{0}};

    sl_props_init(&p);
    SL_CHECK_OK(sl_props_parse(&p, text, strlen(text), &err));
    if (sl_broker_config_load(cfg, &p, NULL, &err) != SL_OK)
        sl_test_fail(__FILE__, __LINE__, "load failed: %s", err.msg);
    sl_props_deinit(&p);
}

static int
load_err(const char *text, sl_errbuf_t *err)
{
    sl_props_t p;
    sl_broker_config_t cfg;
    int rc;

    sl_props_init(&p);
    SL_CHECK_OK(sl_props_parse(&p, text, strlen(text), err));
    rc = sl_broker_config_load(&cfg, &p, NULL, err);
    sl_broker_config_deinit(&cfg);
    sl_props_deinit(&p);
    return rc;
}

static char *
canon(sl_cfg_scope_t scope, const char *name, const char *raw, int *rc, sl_errbuf_t *err)
{
    const sl_cfgdef_t *d = sl_cfgdef_find(scope, name);
    char *out = NULL;

    SL_CHECK(d != NULL);
    *rc = sl_cfgdef_canonical(d, raw, &out, err);
    return out;
}

static void
check_canon(sl_cfg_scope_t scope, const char *name, const char *raw, const char *want)
{
    sl_errbuf_t err = {{0}};
    int rc;
    char *got = canon(scope, name, raw, &rc, &err);

    if (rc != SL_OK)
        sl_test_fail(__FILE__, __LINE__, "%s=%s: %s", name, raw, err.msg);
    SL_CHECK_STR(got, want);
    free(got);
}

/* Fails with SL_EINVALID_CONFIG and a message holding every needle. */
static void
check_bad(sl_cfg_scope_t scope, const char *name, const char *raw, const char *needle1,
          const char *needle2)
{
    sl_errbuf_t err = {{0}};
    int rc;
    char *got = canon(scope, name, raw, &rc, &err);

    SL_CHECK(got == NULL);
    SL_CHECK_EQ(rc, SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, name) != NULL);
    if (needle1 && !strstr(err.msg, needle1))
        sl_test_fail(__FILE__, __LINE__, "'%s' not in '%s'", needle1, err.msg);
    if (needle2 && !strstr(err.msg, needle2))
        sl_test_fail(__FILE__, __LINE__, "'%s' not in '%s'", needle2, err.msg);
}

static sl_cfg_alter_t
ent(const char *name, const char *value, int op)
{
    return (sl_cfg_alter_t){sl_str_c(name), value ? sl_str_c(value) : SL_STR_NULL, (int8_t)op};
}

static const sl_cfg_entry_t *
find_entry(const sl_cfg_entry_t *v, int32_t n, const char *name)
{
    for (int32_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    }
    return NULL;
}

/* ======================================================================== */
/* Definitions                                                              */
/* ======================================================================== */

SL_TEST(cfgdef_tables_sorted_unique_and_defaults_canonical)
{
    sl_cfg_scope_t scopes[] = {SL_CFG_BROKER, SL_CFG_TOPIC};

    for (int s = 0; s < 2; s++) {
        size_t n;
        const sl_cfgdef_t *d = sl_cfgdef_all(scopes[s], &n);

        SL_CHECK(n > 30);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && strcmp(d[i - 1].name, d[i].name) >= 0)
                sl_test_fail(__FILE__, __LINE__, "not sorted: %s, %s", d[i - 1].name, d[i].name);
            SL_CHECK(sl_cfgdef_find(scopes[s], d[i].name) == &d[i]);
            SL_CHECK(d[i].doc && d[i].doc[0]);
            SL_CHECK(d[i].type >= SL_CFG_BOOLEAN && d[i].type <= SL_CFG_PASSWORD);
            if (d[i].dflt) {
                sl_errbuf_t err = {{0}};
                char *c = NULL;

                if (sl_cfgdef_canonical(&d[i], d[i].dflt, &c, &err) != SL_OK)
                    sl_test_fail(__FILE__, __LINE__, "default of %s: %s", d[i].name, err.msg);
                SL_CHECK_STR(c, d[i].dflt);
                free(c);
            }
            for (int k = 0; k < SL_CFG_MAX_SYNONYMS && d[i].synonyms[k]; k++)
                SL_CHECK(sl_cfgdef_find(SL_CFG_BROKER, d[i].synonyms[k]) != NULL);
        }
    }
    SL_CHECK(sl_cfgdef_find(SL_CFG_TOPIC, "log.retention.ms") == NULL);
    SL_CHECK(sl_cfgdef_find(SL_CFG_BROKER, "retention.ms") == NULL);
    SL_CHECK(sl_cfgdef_find(SL_CFG_BROKER, "") == NULL);
}

SL_TEST(cfgdef_has_every_kafka_topic_config_with_synonyms)
{
    static const char *const names[] = {"cleanup.policy",
                                        "compression.type",
                                        "delete.retention.ms",
                                        "file.delete.delay.ms",
                                        "flush.messages",
                                        "flush.ms",
                                        "follower.replication.throttled.replicas",
                                        "index.interval.bytes",
                                        "leader.replication.throttled.replicas",
                                        "local.retention.bytes",
                                        "local.retention.ms",
                                        "max.compaction.lag.ms",
                                        "max.message.bytes",
                                        "message.downconversion.enable",
                                        "message.format.version",
                                        "message.timestamp.after.max.ms",
                                        "message.timestamp.before.max.ms",
                                        "message.timestamp.difference.max.ms",
                                        "message.timestamp.type",
                                        "min.cleanable.dirty.ratio",
                                        "min.compaction.lag.ms",
                                        "min.insync.replicas",
                                        "preallocate",
                                        "remote.storage.enable",
                                        "retention.bytes",
                                        "retention.ms",
                                        "segment.bytes",
                                        "segment.index.bytes",
                                        "segment.jitter.ms",
                                        "segment.ms",
                                        "unclean.leader.election.enable"};
    const sl_cfgdef_t *d;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sl_cfgdef_find(SL_CFG_TOPIC, names[i]) == NULL)
            sl_test_fail(__FILE__, __LINE__, "missing topic config %s", names[i]);
    }
    d = sl_cfgdef_find(SL_CFG_TOPIC, "retention.ms");
    SL_CHECK_STR(d->synonyms[0], "log.retention.ms");
    SL_CHECK_STR(d->synonyms[1], "log.retention.minutes");
    SL_CHECK_STR(d->synonyms[2], "log.retention.hours");
    SL_CHECK_STR(sl_cfgdef_find(SL_CFG_TOPIC, "max.message.bytes")->synonyms[0],
                 "message.max.bytes");
    SL_CHECK_STR(sl_cfgdef_find(SL_CFG_TOPIC, "segment.bytes")->synonyms[0], "log.segment.bytes");
    SL_CHECK_STR(sl_cfgdef_find(SL_CFG_TOPIC, "cleanup.policy")->synonyms[0], "log.cleanup.policy");
    SL_CHECK_EQ(sl_cfgdef_find(SL_CFG_TOPIC, "cleanup.policy")->type, SL_CFG_LIST);
    SL_CHECK_STR(sl_cfgdef_find(SL_CFG_TOPIC, "max.message.bytes")->dflt, "1048588");
    /* Broker facts a server.properties relies on. */
    d = sl_cfgdef_find(SL_CFG_BROKER, "log.retention.hours");
    SL_CHECK_STR(d->dflt, "168");
    SL_CHECK_EQ(d->mode, SL_CFG_READ_ONLY);
    SL_CHECK(sl_cfgdef_find(SL_CFG_BROKER, "log.retention.ms")->dflt == NULL);
    SL_CHECK_EQ(sl_cfgdef_find(SL_CFG_BROKER, "offsets.topic.replication.factor")->type,
                SL_CFG_SHORT);
    SL_CHECK(sl_cfgdef_sensitive(sl_cfgdef_find(SL_CFG_BROKER, "ssl.keystore.password")));
    SL_CHECK(!sl_cfgdef_sensitive(sl_cfgdef_find(SL_CFG_BROKER, "ssl.keystore.location")));
}

SL_TEST(cfgdef_canonical_values_by_type)
{
    check_canon(SL_CFG_TOPIC, "preallocate", " TRUE ", "true");
    check_canon(SL_CFG_TOPIC, "preallocate", "False", "false");
    check_canon(SL_CFG_TOPIC, "retention.ms", "  +42 ", "42");
    check_canon(SL_CFG_TOPIC, "retention.ms", "-1", "-1");
    check_canon(SL_CFG_TOPIC, "retention.bytes", "-9223372036854775808", "-9223372036854775808");
    check_canon(SL_CFG_TOPIC, "segment.bytes", "2147483647", "2147483647");
    check_canon(SL_CFG_BROKER, "offsets.topic.replication.factor", "32767", "32767");
    check_canon(SL_CFG_TOPIC, "min.cleanable.dirty.ratio", "0.50", "0.5");
    check_canon(SL_CFG_TOPIC, "min.cleanable.dirty.ratio", "1", "1.0");
    check_canon(SL_CFG_TOPIC, "cleanup.policy", " compact ,  delete ", "compact,delete");
    check_canon(SL_CFG_TOPIC, "cleanup.policy", "", "");
    check_canon(SL_CFG_TOPIC, "compression.type", "zstd", "zstd");
    check_canon(SL_CFG_TOPIC, "message.timestamp.type", "LogAppendTime", "LogAppendTime");
    check_canon(SL_CFG_TOPIC, "compression.gzip.level", "-1", "-1");
    check_canon(SL_CFG_TOPIC, "compression.gzip.level", "9", "9");
    check_canon(SL_CFG_TOPIC, "leader.replication.throttled.replicas", "*", "*");
    check_canon(SL_CFG_TOPIC, "leader.replication.throttled.replicas", "0:1, 1:2", "0:1,1:2");
    check_canon(SL_CFG_TOPIC, "message.format.version", "2.8", "2.8");
    check_canon(SL_CFG_TOPIC, "message.format.version", "0.10.0.1", "0.10.0.1");
    check_canon(SL_CFG_TOPIC, "message.format.version", "3.0-IV1", "3.0-IV1");
    check_canon(SL_CFG_BROKER, "log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308",
                "1.7976931348623157E308");
}

SL_TEST(cfgdef_invalid_values_name_key_and_accepted_values)
{
    check_bad(SL_CFG_TOPIC, "preallocate", "yes", "either true or false", NULL);
    check_bad(SL_CFG_TOPIC, "retention.ms", "abc", "Not a number of type LONG", NULL);
    check_bad(SL_CFG_TOPIC, "retention.ms", "9223372036854775808", "LONG", NULL);
    check_bad(SL_CFG_TOPIC, "retention.ms", "-2", "at least -1", NULL);
    check_bad(SL_CFG_TOPIC, "retention.ms", "1.5", "LONG", NULL);
    check_bad(SL_CFG_TOPIC, "retention.ms", "", "LONG", NULL);
    check_bad(SL_CFG_TOPIC, "segment.bytes", "2147483648", "Not a number of type INT", NULL);
    check_bad(SL_CFG_TOPIC, "segment.bytes", "13", "at least 14", NULL);
    check_bad(SL_CFG_BROKER, "offsets.topic.replication.factor", "40000", "SHORT", NULL);
    check_bad(SL_CFG_TOPIC, "compression.type", "brotli", "uncompressed, zstd, lz4", "producer");
    check_bad(SL_CFG_TOPIC, "message.timestamp.type", "createtime", "CreateTime, LogAppendTime",
              NULL);
    check_bad(SL_CFG_TOPIC, "cleanup.policy", "delete,purge", "compact, delete", "purge");
    check_bad(SL_CFG_TOPIC, "min.cleanable.dirty.ratio", "1.5", "[0.0, 1.0]", NULL);
    check_bad(SL_CFG_TOPIC, "min.cleanable.dirty.ratio", "NaN", "[0.0, 1.0]", NULL);
    check_bad(SL_CFG_TOPIC, "min.cleanable.dirty.ratio", "half", "DOUBLE", NULL);
    check_bad(SL_CFG_TOPIC, "compression.gzip.level", "0", "between 1 and 9", NULL);
    check_bad(SL_CFG_TOPIC, "compression.gzip.level", "10", "between 1 and 9", NULL);
    check_bad(SL_CFG_TOPIC, "compression.lz4.level", "18", "[1, 17]", NULL);
    check_bad(SL_CFG_TOPIC, "leader.replication.throttled.replicas", "0:x", "partitionId", NULL);
    check_bad(SL_CFG_TOPIC, "message.format.version", "9.9", "not a valid version", NULL);

    /* Password values never reach a message. */
    sl_errbuf_t err = {{0}};
    int rc;
    const sl_cfgdef_t fake = {
        .name = "x.password", .type = SL_CFG_PASSWORD, .valid = SL_CFGV_ENUM, .choices = "a|b"};
    char *out = NULL;
    rc = sl_cfgdef_canonical(&fake, "hunter2", &out, &err);
    SL_CHECK_EQ(rc, SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "hunter2") == NULL && strstr(err.msg, "[hidden]") != NULL);
}

SL_TEST(cfgdef_doubles_print_like_java)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"0.5", "0.5"},
        {"1", "1.0"},
        {"100", "100.0"},
        {"0.001", "0.001"},
        {"0.0001", "1.0E-4"},
        {"1e7", "1.0E7"},
        {"9999999", "9999999.0"},
        {"123.456", "123.456"},
        {"0.1", "0.1"},
        {"2.5e-10", "2.5E-10"},
        {"0", "0.0"},
        {"1.7976931348623157E308", "1.7976931348623157E308"},
    };
    const sl_cfgdef_t d = {.name = "d", .type = SL_CFG_DOUBLE};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;

        SL_CHECK_OK(sl_cfgdef_canonical(&d, cases[i].in, &out, NULL));
        if (strcmp(out, cases[i].out) != 0)
            sl_test_fail(__FILE__, __LINE__, "%s -> %s, want %s", cases[i].in, out, cases[i].out);
        free(out);
    }
}

/* ======================================================================== */
/* Properties                                                               */
/* ======================================================================== */

SL_TEST(props_parse_java_syntax)
{
    static const char text[] = "# comment\n"
                               "   ! another comment\n"
                               "\n"
                               "a=1\n"
                               "b: 2\n"
                               "c 3\n"
                               "d   =   spaced value  \n"
                               "  e\t=\tx\n"
                               "f = one \\\n"
                               "      two \\\n"
                               "   three\n"
                               "g = even\\\\\n"
                               "h = tail\n"
                               "i\\=j=k\\:l\n"
                               "m = \\t\\n\\u0041\\u00e9\\z\n"
                               "n=\n"
                               "o\n"
                               "p = :=x\n"
                               "# comment ends with backslash \\\n"
                               "q = not swallowed\r\n"
                               "r = crlf\r\n"
                               "s = cr\rt = after cr\n"
                               "a = 9\n"
                               "u = \\uD83D\\uDE00\n"
                               "v = last \\";
    sl_props_t p;
    sl_errbuf_t err = {{0}};

    sl_props_init(&p);
    SL_CHECK_OK(sl_props_parse(&p, text, strlen(text), &err));
    SL_CHECK_STR(sl_props_get(&p, "a"), "9");
    SL_CHECK_STR(sl_props_get(&p, "b"), "2");
    SL_CHECK_STR(sl_props_get(&p, "c"), "3");
    SL_CHECK_STR(sl_props_get(&p, "d"), "spaced value  ");
    SL_CHECK_STR(sl_props_get(&p, "e"), "x");
    SL_CHECK_STR(sl_props_get(&p, "f"), "one two three");
    SL_CHECK_STR(sl_props_get(&p, "g"), "even\\");
    SL_CHECK_STR(sl_props_get(&p, "h"), "tail");
    SL_CHECK_STR(sl_props_get(&p, "i=j"), "k:l");
    SL_CHECK_STR(sl_props_get(&p, "m"), "\t\nA\xc3\xa9z");
    SL_CHECK_STR(sl_props_get(&p, "n"), "");
    SL_CHECK_STR(sl_props_get(&p, "o"), "");
    SL_CHECK_STR(sl_props_get(&p, "p"), ":=x");
    SL_CHECK_STR(sl_props_get(&p, "q"), "not swallowed");
    SL_CHECK_STR(sl_props_get(&p, "r"), "crlf");
    SL_CHECK_STR(sl_props_get(&p, "s"), "cr");
    SL_CHECK_STR(sl_props_get(&p, "t"), "after cr");
    SL_CHECK_STR(sl_props_get(&p, "u"), "\xf0\x9f\x98\x80");
    SL_CHECK_STR(sl_props_get(&p, "v"), "last ");
    SL_CHECK(sl_props_get(&p, "#") == NULL && sl_props_get(&p, "!") == NULL);
    /* Order is first appearance; a repeated key keeps its slot. */
    SL_CHECK_STR(p.v[0].key, "a");
    SL_CHECK_EQ(p.v[0].line, 24);
    SL_CHECK_STR(p.v[1].key, "b");
    SL_CHECK_EQ(p.n, 19);
    SL_CHECK(sl_props_unset(&p, "b"));
    SL_CHECK(!sl_props_unset(&p, "b"));
    SL_CHECK_STR(p.v[1].key, "c");
    sl_props_deinit(&p);
}

SL_TEST(props_malformed_unicode_escape_reports_line)
{
    static const char text[] = "a=1\nb=\\u12G4\n";
    sl_props_t p;
    sl_errbuf_t err = {{0}};

    sl_props_init(&p);
    SL_CHECK_EQ(sl_props_parse(&p, text, strlen(text), &err), SL_EINVAL);
    SL_CHECK(strstr(err.msg, "line 2") != NULL);
    SL_CHECK(strstr(err.msg, "Malformed") != NULL);
    sl_props_deinit(&p);
}

SL_TEST(props_load_file_and_overrides_layer)
{
    const char *path = sl_test_path("server.properties");
    FILE *f = fopen(path, "w");
    sl_props_t p;
    sl_errbuf_t err = {{0}};

    SL_CHECK(f != NULL);
    fputs("log.retention.hours=24\nnum.partitions=3\n", f);
    fclose(f);
    sl_props_init(&p);
    SL_CHECK_OK(sl_props_load(&p, path, &err));
    SL_CHECK_OK(sl_props_override(&p, "num.partitions=5", &err));
    SL_CHECK_OK(sl_props_override(&p, "sasl.jaas.config=a b=c;", &err));
    SL_CHECK_OK(sl_props_override(&p, "advertised.listeners=", &err));
    SL_CHECK_STR(sl_props_get(&p, "num.partitions"), "5");
    SL_CHECK_EQ(p.v[1].line, 0);
    SL_CHECK_STR(sl_props_get(&p, "sasl.jaas.config"), "a b=c;");
    SL_CHECK_STR(sl_props_get(&p, "advertised.listeners"), "");
    SL_CHECK_STR(sl_props_get(&p, "log.retention.hours"), "24");
    SL_CHECK_EQ(sl_props_override(&p, "=5", &err), SL_EINVAL);
    SL_CHECK_EQ(sl_props_override(&p, "novalue", &err), SL_EINVAL);
    SL_CHECK(strstr(err.msg, "novalue") != NULL);
    SL_CHECK_EQ(sl_props_load(&p, sl_test_path("missing.properties"), &err), SL_ENOENT);
    sl_props_deinit(&p);
}

/* ======================================================================== */
/* Broker config                                                            */
/* ======================================================================== */

SL_TEST(broker_config_defaults_for_bare_serve)
{
    sl_broker_config_t cfg;
    sl_errbuf_t err = {{0}};

    SL_CHECK_OK(sl_broker_config_load(&cfg, NULL, NULL, &err));
    SL_CHECK_EQ(cfg.n_listeners, 1);
    SL_CHECK_STR(cfg.listeners[0].name, "PLAINTEXT");
    SL_CHECK_STR(cfg.listeners[0].host, "127.0.0.1");
    SL_CHECK_EQ(cfg.listeners[0].port, 9092);
    SL_CHECK_EQ(cfg.listeners[0].protocol, SL_SECPROTO_PLAINTEXT);
    SL_CHECK_EQ(cfg.n_advertised, 1);
    SL_CHECK_STR(cfg.advertised[0].host, "127.0.0.1");
    SL_CHECK_EQ(cfg.n_log_dirs, 1);
    SL_CHECK_STR(cfg.log_dirs[0], "./sluice-data");
    SL_CHECK_EQ(cfg.broker_id, -1);
    SL_CHECK_EQ(cfg.num_partitions, 1);
    SL_CHECK_EQ(cfg.default_replication_factor, 1);
    SL_CHECK(cfg.auto_create_topics_enable && cfg.delete_topic_enable);
    SL_CHECK(cfg.zookeeper_connect == NULL);
    SL_CHECK_EQ(cfg.zookeeper_connection_timeout_ms, 18000);
    SL_CHECK_EQ(cfg.socket_request_max_bytes, 104857600);
    SL_CHECK_EQ(cfg.offsets_topic_num_partitions, 50);
    SL_CHECK_EQ(cfg.offsets_retention_ms, 10080LL * 60000);
    SL_CHECK_EQ(cfg.group_initial_rebalance_delay_ms, 3000);
    SL_CHECK_EQ(cfg.group_max_session_timeout_ms, 1800000);
    SL_CHECK_EQ(cfg.replica_lag_time_max_ms, 30000);
    SL_CHECK_EQ(cfg.fetch_max_bytes, 57671680);
    SL_CHECK_STR(cfg.inter_broker_listener, "PLAINTEXT");
    SL_CHECK_STR(sl_broker_config_value(&cfg, "log.dir", NULL), "./sluice-data");
    sl_broker_config_deinit(&cfg);
}

SL_TEST(broker_config_typical_server_properties)
{
    sl_broker_config_t cfg;
    sl_strlist_t warn;
    sl_props_t p;
    sl_errbuf_t err = {{0}};
    static const char text[] = "broker.id=3\n"
                               "listeners=PLAINTEXT://:9092,INTERNAL://[::1]:9093\n"
                               "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,"
                               "INTERNAL:PLAINTEXT\n"
                               "advertised.listeners=PLAINTEXT://kafka1:9092,"
                               "INTERNAL://kafka1:9093\n"
                               "num.network.threads=3\nnum.io.threads=8\n"
                               "log.dirs=/a, /b ,\n"
                               "num.partitions=6\n"
                               "port=9092\n"
                               "zookeeper.connect=zk:2181/kafka\n"
                               "zookeeper.connection.timeout.ms=6000\n"
                               "offsets.topic.replication.factor=1\n";

    sl_props_init(&p);
    sl_strlist_init(&warn);
    SL_CHECK_OK(sl_props_parse(&p, text, strlen(text), &err));
    SL_CHECK_OK(sl_broker_config_load(&cfg, &p, &warn, &err));
    SL_CHECK_EQ(cfg.broker_id, 3);
    SL_CHECK_EQ(cfg.n_listeners, 2);
    SL_CHECK_STR(cfg.listeners[0].host, "");
    SL_CHECK_STR(cfg.listeners[1].host, "::1");
    SL_CHECK_EQ(cfg.listeners[1].protocol, SL_SECPROTO_PLAINTEXT);
    SL_CHECK_STR(cfg.advertised[0].host, "kafka1");
    SL_CHECK_EQ(cfg.n_log_dirs, 2);
    SL_CHECK_STR(cfg.log_dirs[1], "/b");
    SL_CHECK_EQ(cfg.num_partitions, 6);
    SL_CHECK_STR(cfg.zookeeper_connect, "zk:2181/kafka");
    SL_CHECK_EQ(cfg.zookeeper_connection_timeout_ms, 6000);
    SL_CHECK_EQ(cfg.offsets_topic_replication_factor, 1);
    /* Unknown keys warn, never fail. */
    SL_CHECK_EQ(warn.n, 1);
    SL_CHECK(strstr(warn.v[0], "'port'") != NULL && strstr(warn.v[0], "line 9") != NULL);
    sl_strlist_deinit(&warn);
    sl_broker_config_deinit(&cfg);
    sl_props_deinit(&p);
}

SL_TEST(broker_config_errors_name_the_key)
{
    sl_errbuf_t err = {{0}};

    SL_CHECK_EQ(load_err("x=1\ncompression.type=brotli\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "compression.type") && strstr(err.msg, "gzip"));
    SL_CHECK(strstr(err.msg, "(line 2)") != NULL);
    SL_CHECK_EQ(load_err("num.partitions=0\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "num.partitions") && strstr(err.msg, "at least 1"));
    SL_CHECK_EQ(load_err("auto.create.topics.enable=maybe\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(load_err("broker.id=1\nnode.id=2\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "node.id") != NULL);
    SL_CHECK_OK(load_err("broker.id=2\nnode.id=2\n", &err));
    SL_CHECK_EQ(load_err("listeners=localhost:9092\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(load_err("listeners=PLAINTEXT://h:99999\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(load_err("listeners=CLIENT://h:1\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "CLIENT") != NULL);
    SL_CHECK_OK(load_err("listeners=client://h:1\n"
                         "listener.security.protocol.map=CLIENT:PLAINTEXT\n",
                         &err));
    /* Listeners Sluice cannot serve as declared are refused, not served
     * as plaintext. */
    SL_CHECK_EQ(load_err("listeners=client://h:1\n"
                         "listener.security.protocol.map=CLIENT:SASL_SSL\n",
                         &err),
                SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "CLIENT") && strstr(err.msg, "SASL_SSL") &&
             strstr(err.msg, "cannot serve"));
    SL_CHECK_EQ(load_err("listeners=PLAINTEXT://h:1,SSL://h:2\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "listener SSL uses security protocol SSL") != NULL);
    SL_CHECK_EQ(load_err("listeners=SASL_PLAINTEXT://h:1\n", &err), SL_EINVALID_CONFIG);
    /* KRaft settings are refused with what to do instead. */
    SL_CHECK_EQ(load_err("process.roles=broker,controller\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "KRaft") && strstr(err.msg, "zookeeper.connect"));
    SL_CHECK_EQ(load_err("controller.quorum.voters=1@h:9093\n", &err), SL_EINVALID_CONFIG);
    SL_CHECK_OK(load_err("process.roles=\n", &err));
    SL_CHECK_EQ(load_err("listeners=A://h:1,a://h:2\nlistener.security.protocol.map=A:SSL\n", &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(load_err("advertised.listeners=PLAINTEXT://0.0.0.0:9092\n", &err),
                SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "0.0.0.0") != NULL);
    SL_CHECK_EQ(load_err("log.dirs= , \n", &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(load_err("inter.broker.listener.name=PLAINTEXT\n"
                         "security.inter.broker.protocol=SSL\n",
                         &err),
                SL_EINVALID_CONFIG);
    /* In cluster mode the inter-broker listener must be advertised. */
    SL_CHECK_EQ(load_err("zookeeper.connect=zk:2181\ninter.broker.listener.name=REPL\n", &err),
                SL_EINVALID_CONFIG);
}

SL_TEST(listeners_parse_forms)
{
    sl_listener_cfg_t *v;
    size_t n;
    sl_errbuf_t err = {{0}};
    const char *map = "PLAINTEXT:PLAINTEXT, INTERNAL : SASL_PLAINTEXT";

    SL_CHECK_OK(sl_listeners_parse(" PLAINTEXT://0.0.0.0:0 , internal://host.example:65535,", map,
                                   &v, &n, &err));
    SL_CHECK_EQ(n, 2);
    SL_CHECK_EQ(v[0].port, 0);
    SL_CHECK_STR(v[1].name, "INTERNAL");
    SL_CHECK_STR(v[1].host, "host.example");
    SL_CHECK_EQ(v[1].protocol, SL_SECPROTO_SASL_PLAINTEXT);
    SL_CHECK_STR(sl_secproto_name(v[1].protocol), "SASL_PLAINTEXT");
    sl_listeners_free(v, n);
    SL_CHECK_EQ(sl_listeners_parse("PLAINTEXT://[::1:9092", map, &v, &n, &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(sl_listeners_parse("PLAINTEXT://h:", map, &v, &n, &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(sl_listeners_parse("PLAINTEXT://h:-1", map, &v, &n, &err), SL_EINVALID_CONFIG);
    SL_CHECK_EQ(sl_listeners_parse("://h:1", map, &v, &n, &err), SL_EINVALID_CONFIG);
    SL_CHECK_OK(sl_listeners_parse("", map, &v, &n, &err));
    SL_CHECK_EQ(n, 0);
}

/* ======================================================================== */
/* Topic config                                                             */
/* ======================================================================== */

SL_TEST(topic_config_kafka_defaults)
{
    sl_broker_config_t cfg;
    sl_topic_config_t tc;

    load_cfg(&cfg, "");
    sl_topic_config_resolve(&cfg, NULL, &tc);
    SL_CHECK_EQ(tc.cleanup_policy, SL_CFG_CLEANUP_DELETE);
    SL_CHECK_EQ(tc.compression_type, SL_CFG_COMPRESSION_PRODUCER);
    SL_CHECK_EQ(tc.compression_gzip_level, -1);
    SL_CHECK_EQ(tc.compression_zstd_level, 3);
    SL_CHECK_EQ(tc.retention_ms, 604800000);
    SL_CHECK_EQ(tc.retention_bytes, -1);
    SL_CHECK_EQ(tc.segment_bytes, 1073741824);
    SL_CHECK_EQ(tc.segment_ms, 604800000);
    SL_CHECK_EQ(tc.segment_index_bytes, 10485760);
    SL_CHECK_EQ(tc.segment_jitter_ms, 0);
    SL_CHECK_EQ(tc.max_message_bytes, 1048588);
    SL_CHECK_EQ(tc.message_timestamp_type, SL_CFG_TS_CREATE_TIME);
    SL_CHECK_EQ(tc.message_timestamp_before_max_ms, INT64_MAX);
    SL_CHECK_EQ(tc.min_insync_replicas, 1);
    SL_CHECK_EQ(tc.flush_messages, INT64_MAX);
    SL_CHECK_EQ(tc.flush_ms, INT64_MAX);
    SL_CHECK_EQ(tc.index_interval_bytes, 4096);
    SL_CHECK_EQ(tc.delete_retention_ms, 86400000);
    SL_CHECK_EQ(tc.file_delete_delay_ms, 60000);
    SL_CHECK_EQ(tc.local_retention_ms, -2);
    SL_CHECK(tc.min_cleanable_dirty_ratio == 0.5);
    SL_CHECK(tc.message_downconversion_enable && !tc.preallocate && !tc.remote_storage_enable);
    SL_CHECK(!tc.unclean_leader_election_enable);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(topic_config_retention_precedence_ms_over_minutes_over_hours)
{
    static const struct {
        const char *props;
        int64_t want;
    } cases[] = {
        {"log.retention.hours=24\n", 86400000},
        {"log.retention.hours=24\nlog.retention.minutes=30\n", 1800000},
        {"log.retention.hours=24\nlog.retention.minutes=30\nlog.retention.ms=1234\n", 1234},
        {"log.retention.minutes=30\nlog.retention.ms=-5\n", -1},
        {"log.retention.hours=-1\n", -1},
        {"log.retention.ms=0\n", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_broker_config_t cfg;
        sl_topic_config_t tc;

        load_cfg(&cfg, cases[i].props);
        sl_topic_config_resolve(&cfg, NULL, &tc);
        if (tc.retention_ms != cases[i].want)
            sl_test_fail(__FILE__, __LINE__, "case %zu: %" PRId64 " != %" PRId64, i,
                         tc.retention_ms, cases[i].want);
        sl_broker_config_deinit(&cfg);
    }
}

SL_TEST(topic_config_broker_synonyms_layers_and_overrides)
{
    sl_broker_config_t cfg;
    sl_topic_config_t tc;
    sl_props_t ov, dd, db;
    sl_errbuf_t err = {{0}};

    load_cfg(&cfg,
             "message.max.bytes=2000000\nlog.cleanup.policy=compact,delete\n"
             "log.roll.hours=2\nlog.roll.jitter.hours=1\nlog.flush.scheduler.interval.ms=700\n"
             "log.segment.bytes=5000\nlog.message.timestamp.type=LogAppendTime\n"
             "log.message.timestamp.difference.max.ms=60000\n"
             "log.message.timestamp.after.max.ms=1000\ncompression.type=lz4\n"
             "log.retention.ms=1000\nmin.insync.replicas=2\n");
    sl_topic_config_resolve(&cfg, NULL, &tc);
    SL_CHECK_EQ(tc.max_message_bytes, 2000000);
    SL_CHECK_EQ(tc.cleanup_policy, SL_CFG_CLEANUP_DELETE | SL_CFG_CLEANUP_COMPACT);
    SL_CHECK_EQ(tc.segment_ms, 2 * 3600000LL);
    SL_CHECK_EQ(tc.segment_jitter_ms, 3600000);
    SL_CHECK_EQ(tc.flush_ms, 700);
    SL_CHECK_EQ(tc.segment_bytes, 5000);
    SL_CHECK_EQ(tc.message_timestamp_type, SL_CFG_TS_LOG_APPEND_TIME);
    SL_CHECK_EQ(tc.message_timestamp_before_max_ms, 60000); /* from difference.max.ms */
    SL_CHECK_EQ(tc.message_timestamp_after_max_ms, 1000);
    SL_CHECK_EQ(tc.compression_type, SL_CFG_COMPRESSION_LZ4);
    SL_CHECK_EQ(tc.min_insync_replicas, 2);

    /* A dynamic default with a weaker synonym loses to a static stronger one;
     * a dynamic per-broker value beats the static value of the same key. */
    sl_props_init(&dd);
    sl_props_init(&db);
    sl_props_set(&dd, "log.retention.hours", "1");
    sl_props_set(&db, "message.max.bytes", "3000000");
    SL_CHECK_OK(sl_broker_config_set_dynamic(&cfg, &dd, &db, &err));
    sl_topic_config_resolve(&cfg, NULL, &tc);
    SL_CHECK_EQ(tc.retention_ms, 1000);
    SL_CHECK_EQ(tc.max_message_bytes, 3000000);

    /* Topic overrides win over everything. */
    sl_props_init(&ov);
    sl_props_set(&ov, "retention.ms", "5");
    sl_props_set(&ov, "cleanup.policy", "");
    sl_props_set(&ov, "compression.type", "uncompressed");
    sl_props_set(&ov, "message.timestamp.before.max.ms", "10");
    sl_topic_config_resolve(&cfg, &ov, &tc);
    SL_CHECK_EQ(tc.retention_ms, 5);
    SL_CHECK_EQ(tc.cleanup_policy, 0);
    SL_CHECK_EQ(tc.compression_type, SL_CFG_COMPRESSION_NONE);
    SL_CHECK_EQ(tc.message_timestamp_before_max_ms, 10);
    sl_props_deinit(&ov);
    sl_props_deinit(&dd);
    sl_props_deinit(&db);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(topic_config_validate_overrides)
{
    sl_props_t ov;
    sl_errbuf_t err = {{0}};

    sl_props_init(&ov);
    sl_props_set(&ov, "retention.ms", " 100 ");
    sl_props_set(&ov, "preallocate", "TRUE");
    SL_CHECK_OK(sl_topic_config_validate(&ov, &err));
    SL_CHECK_STR(sl_props_get(&ov, "retention.ms"), "100");
    SL_CHECK_STR(sl_props_get(&ov, "preallocate"), "true");
    sl_props_set(&ov, "retention.hours", "1");
    SL_CHECK_EQ(sl_topic_config_validate(&ov, &err), SL_EINVALID_CONFIG);
    SL_CHECK_STR(err.msg, "Unknown topic config name: retention.hours");
    sl_props_unset(&ov, "retention.hours");
    sl_props_set(&ov, "min.compaction.lag.ms", "10");
    sl_props_set(&ov, "max.compaction.lag.ms", "5");
    SL_CHECK_EQ(sl_topic_config_validate(&ov, &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "min.compaction.lag.ms") != NULL);
    sl_props_deinit(&ov);
}

/* ======================================================================== */
/* Alter / IncrementalAlter                                                 */
/* ======================================================================== */

SL_TEST(alter_configs_legacy_replaces_whole_set)
{
    sl_broker_config_t cfg;
    sl_props_t cur, out;
    sl_errbuf_t err = {{0}};
    int32_t bad = 99;
    sl_cfg_alter_t e[] = {ent("cleanup.policy", "compact", 0), ent("retention.ms", "7", 1)};

    load_cfg(&cfg, "");
    sl_props_init(&cur);
    sl_props_init(&out);
    sl_props_set(&cur, "segment.bytes", "1000");
    sl_props_set(&cur, "retention.ms", "1");
    /* op is ignored by the legacy mode: both entries are SETs. */
    SL_CHECK_OK(sl_topic_config_alter(&cfg, &cur, e, 2, false, &out, &bad, &err));
    SL_CHECK_EQ(bad, -1);
    SL_CHECK_EQ(out.n, 2);
    SL_CHECK_STR(sl_props_get(&out, "cleanup.policy"), "compact");
    SL_CHECK_STR(sl_props_get(&out, "retention.ms"), "7");
    SL_CHECK(sl_props_get(&out, "segment.bytes") == NULL);
    /* Empty legacy request clears every override. */
    SL_CHECK_OK(sl_topic_config_alter(&cfg, &cur, NULL, 0, false, &out, &bad, &err));
    SL_CHECK_EQ(out.n, 0);
    sl_props_deinit(&cur);
    sl_props_deinit(&out);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(alter_configs_incremental_ops)
{
    sl_broker_config_t cfg;
    sl_props_t cur, out;
    sl_errbuf_t err = {{0}};
    int32_t bad;

    load_cfg(&cfg, "");
    sl_props_init(&cur);
    sl_props_init(&out);
    sl_props_set(&cur, "segment.bytes", "1000");
    sl_props_set(&cur, "retention.ms", "1");

    sl_cfg_alter_t e1[] = {ent("retention.ms", "500", SL_CFG_OP_SET),
                           ent("segment.bytes", NULL, SL_CFG_OP_DELETE),
                           ent("flush.ms", NULL, SL_CFG_OP_DELETE),
                           ent("cleanup.policy", "compact", SL_CFG_OP_APPEND)};
    SL_CHECK_OK(sl_topic_config_alter(&cfg, &cur, e1, 4, true, &out, &bad, &err));
    SL_CHECK_STR(sl_props_get(&out, "retention.ms"), "500");
    SL_CHECK(sl_props_get(&out, "segment.bytes") == NULL);
    /* APPEND starts from the effective value (the default "delete"). */
    SL_CHECK_STR(sl_props_get(&out, "cleanup.policy"), "delete,compact");
    sl_props_copy(&cur, &out);

    sl_cfg_alter_t e2[] = {ent("cleanup.policy", " compact,delete ", SL_CFG_OP_APPEND)};
    SL_CHECK_OK(sl_topic_config_alter(&cfg, &cur, e2, 1, true, &out, &bad, &err));
    SL_CHECK_STR(sl_props_get(&out, "cleanup.policy"), "delete,compact");
    sl_cfg_alter_t e3[] = {ent("cleanup.policy", "delete", SL_CFG_OP_SUBTRACT)};
    SL_CHECK_OK(sl_topic_config_alter(&cfg, &cur, e3, 1, true, &out, &bad, &err));
    SL_CHECK_STR(sl_props_get(&out, "cleanup.policy"), "compact");
    sl_cfg_alter_t e4[] = {ent("cleanup.policy", "purge", SL_CFG_OP_APPEND)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, &cur, e4, 1, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "purge") != NULL);
    /* The failed request left the previous result alone. */
    SL_CHECK_STR(sl_props_get(&out, "cleanup.policy"), "compact");
    sl_props_deinit(&cur);
    sl_props_deinit(&out);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(alter_configs_errors_report_entry_and_class)
{
    sl_broker_config_t cfg;
    sl_props_t out;
    sl_errbuf_t err = {{0}};
    int32_t bad;

    load_cfg(&cfg, "");
    sl_props_init(&out);
    sl_cfg_alter_t a[] = {ent("retention.ms", "1", 0), ent("retention.msx", "1", 0)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, a, 2, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(bad, 1);
    SL_CHECK_STR(err.msg, "Unknown topic config name: retention.msx");

    sl_cfg_alter_t b[] = {ent("retention.ms", "x", SL_CFG_OP_SET)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, b, 1, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(bad, 0);
    SL_CHECK(strstr(err.msg, "retention.ms") && strstr(err.msg, "LONG"));

    sl_cfg_alter_t c[] = {ent("retention.ms", "5", SL_CFG_OP_APPEND)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, c, 1, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_STR(err.msg, "Config value append is not allowed for config key: retention.ms");

    sl_cfg_alter_t d[] = {ent("retention.ms", NULL, SL_CFG_OP_SET)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, d, 1, true, &out, &bad, &err),
                SL_EINVALID_REQUEST);
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, d, 1, false, &out, &bad, &err),
                SL_EINVALID_REQUEST);

    sl_cfg_alter_t e[] = {ent("retention.ms", "5", 7)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, e, 1, true, &out, &bad, &err),
                SL_EINVALID_REQUEST);

    sl_cfg_alter_t f[] = {ent("retention.ms", "5", 0), ent("segment.ms", "5", 0),
                          ent("retention.ms", "6", 0)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, f, 3, true, &out, &bad, &err),
                SL_EINVALID_REQUEST);
    SL_CHECK_EQ(bad, 2);

    sl_cfg_alter_t g[] = {ent("min.compaction.lag.ms", "9", 0),
                          ent("max.compaction.lag.ms", "8", 0)};
    SL_CHECK_EQ(sl_topic_config_alter(&cfg, NULL, g, 2, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(bad, -1);
    sl_props_deinit(&out);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(alter_broker_configs_modes)
{
    sl_broker_config_t cfg;
    sl_props_t out;
    sl_errbuf_t err = {{0}};
    int32_t bad;

    load_cfg(&cfg, "log.retention.hours=2\n");
    sl_props_init(&out);
    sl_cfg_alter_t a[] = {ent("log.retention.ms", "60000", 0)};
    SL_CHECK_OK(sl_broker_config_alter(&cfg, true, a, 1, true, &out, &bad, &err));
    SL_CHECK_STR(sl_props_get(&out, "log.retention.ms"), "60000");

    sl_cfg_alter_t b[] = {ent("log.retention.hours", "1", 0)};
    SL_CHECK_EQ(sl_broker_config_alter(&cfg, true, b, 1, true, &out, &bad, &err),
                SL_EINVALID_REQUEST);
    SL_CHECK_STR(err.msg, "Cannot update these configs dynamically: log.retention.hours");

    /* Listeners and connection limits are the operator's alone. */
    sl_cfg_alter_t c[] = {ent("listeners", "PLAINTEXT://127.0.0.1:0", 0)};
    SL_CHECK_EQ(sl_broker_config_alter(&cfg, true, c, 1, true, &out, &bad, &err),
                SL_EPOLICY_VIOLATION);
    SL_CHECK_EQ(sl_broker_config_alter(&cfg, false, c, 1, true, &out, &bad, &err),
                SL_EPOLICY_VIOLATION);
    SL_CHECK(strstr(err.msg, "--override") != NULL);
    const char *guarded[] = {"advertised.listeners", "listener.security.protocol.map",
                             "max.connections", "max.connections.per.ip",
                             "listener.name.plaintext.max.connections"};
    for (size_t i = 0; i < SL_ARRAY_LEN(guarded); i++) {
        sl_cfg_alter_t g[] = {ent("num.io.threads", "4", 0), ent(guarded[i], "0", 0)};

        SL_CHECK_EQ(sl_broker_config_alter(&cfg, false, g, 2, true, &out, &bad, &err),
                    SL_EPOLICY_VIOLATION);
        SL_CHECK_EQ(bad, 1);
    }
    sl_cfg_alter_t del[] = {ent("listeners", NULL, SL_CFG_OP_DELETE)};
    SL_CHECK_OK(sl_broker_config_alter(&cfg, false, del, 1, true, &out, &bad, &err));

    /* Kafka's dynamic keys Sluice does not act on are accepted; per-listener
     * keys and passwords are not stored. */
    sl_cfg_alter_t e[] = {ent("ssl.keystore.password", "secret", 0),
                          ent("listener.name.internal.ssl.keystore.location", "/k.jks", 0),
                          ent("listener.name.internal.plain.sasl.jaas.config", "x", 0),
                          ent("num.io.threads", "4", 0),
                          ent("num.network.threads", "4", 0),
                          ent("log.cleaner.threads", "2", 0),
                          ent("message.max.bytes", "2000000", 0),
                          ent("sasl.enabled.mechanisms", "PLAIN", 0)};
    SL_CHECK_OK(sl_broker_config_alter(&cfg, false, e, SL_ARRAY_LEN(e), true, &out, &bad, &err));
    SL_CHECK(sl_props_get(&out, "ssl.keystore.password") == NULL);
    SL_CHECK(sl_props_get(&out, "listener.name.internal.ssl.keystore.location") == NULL);
    SL_CHECK_STR(sl_props_get(&out, "num.io.threads"), "4");
    SL_CHECK_STR(sl_props_get(&out, "message.max.bytes"), "2000000");
    /* A bad value among them is still refused, pointing at its entry. */
    sl_cfg_alter_t e2[] = {ent("listener.name.internal.ssl.keystore.location", "/k.jks", 0),
                           ent("num.io.threads", "zero", 0)};
    SL_CHECK_EQ(sl_broker_config_alter(&cfg, false, e2, 2, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(bad, 1);

    sl_cfg_alter_t f[] = {ent("no.such.config", "1", 0)};
    SL_CHECK_EQ(sl_broker_config_alter(&cfg, false, f, 1, true, &out, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_STR(err.msg, "Unknown broker config name: no.such.config");
    sl_props_deinit(&out);
    sl_broker_config_deinit(&cfg);
}

/* A guarded key persisted by an older Sluice never beats the properties
 * file: the operator can always recover the broker. */
SL_TEST(alter_broker_guarded_dynamic_values_are_ignored)
{
    sl_broker_config_t cfg;
    sl_props_t dyn;
    sl_errbuf_t err = {{0}};
    sl_cfg_source_t src;

    load_cfg(&cfg, "listeners=PLAINTEXT://127.0.0.1:9999\n");
    sl_props_init(&dyn);
    sl_props_set(&dyn, "listeners", "PLAINTEXT://10.1.2.3:1");
    sl_props_set(&dyn, "max.connections", "0");
    sl_props_set(&dyn, "num.io.threads", "5");
    SL_CHECK_OK(sl_broker_config_set_dynamic(&cfg, &dyn, &dyn, &err));
    SL_CHECK_EQ(cfg.listeners[0].port, 9999);
    SL_CHECK(cfg.max_connections > 0);
    SL_CHECK_STR(sl_broker_config_value(&cfg, "listeners", &src), "PLAINTEXT://127.0.0.1:9999");
    SL_CHECK_EQ(src, SL_CFG_SRC_STATIC_BROKER);
    SL_CHECK_STR(sl_broker_config_value(&cfg, "num.io.threads", &src), "5");
    SL_CHECK_EQ(src, SL_CFG_SRC_DYNAMIC_BROKER);
    sl_props_deinit(&dyn);
    sl_broker_config_deinit(&cfg);
}

/* ======================================================================== */
/* DescribeConfigs                                                          */
/* ======================================================================== */

SL_TEST(describe_topic_sources_defaults_and_synonyms)
{
    sl_broker_config_t cfg;
    sl_arena_t a;
    sl_cfg_entry_t *v;
    int32_t n;
    const sl_cfg_entry_t *e;
    sl_props_t ov;
    size_t nd;

    sl_arena_init(&a, 4096);
    load_cfg(&cfg, "");
    sl_cfgdef_all(SL_CFG_TOPIC, &nd);
    sl_cfg_describe_topic(&cfg, NULL, NULL, -1, true, &a, &v, &n);
    SL_CHECK_EQ(n, (int32_t)nd);
    e = find_entry(v, n, "retention.ms");
    SL_CHECK_STR(e->value, "604800000");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_DEFAULT);
    SL_CHECK(e->is_default && !e->read_only && !e->is_sensitive);
    SL_CHECK_EQ(e->type, SL_CFG_LONG);
    SL_CHECK(e->doc != NULL);
    SL_CHECK_EQ(e->n_synonyms, 1);
    SL_CHECK_STR(e->synonyms[0].name, "log.retention.hours");
    SL_CHECK_STR(e->synonyms[0].value, "168");
    SL_CHECK_EQ(e->synonyms[0].source, SL_CFG_SRC_DEFAULT);
    e = find_entry(v, n, "remote.storage.enable");
    SL_CHECK_EQ(e->n_synonyms, 0);
    SL_CHECK_EQ(e->type, SL_CFG_BOOLEAN);
    sl_broker_config_deinit(&cfg);

    /* A static broker value shows up as the source, converted to ms. */
    load_cfg(&cfg, "log.retention.hours=24\n");
    sl_props_init(&ov);
    sl_props_set(&ov, "segment.bytes", "1000");
    sl_cfg_describe_topic(&cfg, &ov, NULL, -1, true, &a, &v, &n);
    e = find_entry(v, n, "retention.ms");
    SL_CHECK_STR(e->value, "86400000");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_STATIC_BROKER);
    SL_CHECK(!e->is_default);
    SL_CHECK_EQ(e->n_synonyms, 2);
    SL_CHECK_STR(e->synonyms[0].value, "24");
    SL_CHECK_EQ(e->synonyms[0].source, SL_CFG_SRC_STATIC_BROKER);
    SL_CHECK_EQ(e->synonyms[1].source, SL_CFG_SRC_DEFAULT);
    e = find_entry(v, n, "segment.bytes");
    SL_CHECK_STR(e->value, "1000");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_DYNAMIC_TOPIC);
    SL_CHECK_EQ(e->n_synonyms, 2);
    SL_CHECK_STR(e->synonyms[0].name, "segment.bytes");
    SL_CHECK_EQ(e->synonyms[0].source, SL_CFG_SRC_DYNAMIC_TOPIC);
    SL_CHECK_STR(e->synonyms[1].name, "log.segment.bytes");

    /* Named subset; unknown names are skipped; no synonyms unless asked. */
    sl_str_t names[] = {SL_STR_LIT("segment.bytes"), SL_STR_LIT("nope"),
                        SL_STR_LIT("cleanup.policy")};
    sl_cfg_describe_topic(&cfg, &ov, names, 3, false, &a, &v, &n);
    SL_CHECK_EQ(n, 2);
    SL_CHECK_STR(v[0].name, "cleanup.policy");
    SL_CHECK_EQ(v[0].type, SL_CFG_LIST);
    SL_CHECK_EQ(v[0].n_synonyms, 0);
    sl_cfg_describe_topic(&cfg, &ov, names, 0, false, &a, &v, &n);
    SL_CHECK_EQ(n, 0);
    sl_props_deinit(&ov);
    sl_broker_config_deinit(&cfg);
    sl_arena_deinit(&a);
}

SL_TEST(describe_broker_sources_read_only_and_sensitive)
{
    sl_broker_config_t cfg;
    sl_arena_t a;
    sl_cfg_entry_t *v;
    int32_t n;
    const sl_cfg_entry_t *e;
    sl_props_t dd, db;
    sl_errbuf_t err = {{0}};

    sl_arena_init(&a, 4096);
    load_cfg(&cfg, "log.retention.ms=5000\nssl.keystore.password=hunter2\nnum.partitions=4\n");
    sl_props_init(&dd);
    sl_props_init(&db);
    sl_props_set(&dd, "log.segment.bytes", "2000");
    sl_props_set(&db, "log.segment.bytes", "3000");
    SL_CHECK_OK(sl_broker_config_set_dynamic(&cfg, &dd, &db, &err));
    sl_cfg_describe_broker(&cfg, false, NULL, -1, true, &a, &v, &n);

    e = find_entry(v, n, "num.partitions");
    SL_CHECK_STR(e->value, "4");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_STATIC_BROKER);
    SL_CHECK(e->read_only);
    e = find_entry(v, n, "listeners");
    SL_CHECK_STR(e->value, "PLAINTEXT://127.0.0.1:9092");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_DEFAULT);
    SL_CHECK(e->is_default && !e->read_only);
    e = find_entry(v, n, "ssl.keystore.password");
    SL_CHECK(e->value == NULL && e->is_sensitive);
    SL_CHECK_EQ(e->type, SL_CFG_PASSWORD);
    SL_CHECK_EQ(e->n_synonyms, 1);
    SL_CHECK(e->synonyms[0].value == NULL);
    e = find_entry(v, n, "log.segment.bytes");
    SL_CHECK_STR(e->value, "3000");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_DYNAMIC_BROKER);
    SL_CHECK_EQ(e->n_synonyms, 3);
    SL_CHECK_EQ(e->synonyms[1].source, SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER);
    SL_CHECK_EQ(e->synonyms[2].source, SL_CFG_SRC_DEFAULT);
    /* The hours entry keeps its own value but reports the family's
     * strongest source, as Kafka does. */
    e = find_entry(v, n, "log.retention.hours");
    SL_CHECK_STR(e->value, "168");
    SL_CHECK_EQ(e->source, SL_CFG_SRC_STATIC_BROKER);
    SL_CHECK_STR(e->synonyms[0].name, "log.retention.ms");
    e = find_entry(v, n, "log.retention.ms");
    SL_CHECK_STR(e->value, "5000");
    SL_CHECK(!e->read_only);
    e = find_entry(v, n, "log.flush.scheduler.interval.ms");
    SL_CHECK_EQ(e->n_synonyms, 1);
    e = find_entry(v, n, "zookeeper.connect");
    SL_CHECK(e->value == NULL);
    SL_CHECK_EQ(e->source, SL_CFG_SRC_DEFAULT);

    /* The "" resource lists only what is set cluster-wide. */
    sl_cfg_describe_broker(&cfg, true, NULL, -1, true, &a, &v, &n);
    SL_CHECK_EQ(n, 1);
    SL_CHECK_STR(v[0].name, "log.segment.bytes");
    SL_CHECK_STR(v[0].value, "2000");
    SL_CHECK_EQ(v[0].source, SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER);
    SL_CHECK_EQ(v[0].n_synonyms, 2);
    sl_props_deinit(&dd);
    sl_props_deinit(&db);
    sl_broker_config_deinit(&cfg);
    sl_arena_deinit(&a);
}

SL_TEST(docs_list_every_config)
{
    FILE *f = fopen("docs/configuration.md", "rb");
    char *text;
    size_t len;
    sl_cfg_scope_t scopes[] = {SL_CFG_BROKER, SL_CFG_TOPIC};

    if (f == NULL)
        SL_SKIP("docs/configuration.md not found (run from the repository root)");
    text = malloc(1 << 20);
    SL_CHECK(text != NULL);
    len = fread(text, 1, (1 << 20) - 1, f);
    text[len] = '\0';
    fclose(f);
    for (int s = 0; s < 2; s++) {
        size_t n;
        const sl_cfgdef_t *d = sl_cfgdef_all(scopes[s], &n);

        for (size_t i = 0; i < n; i++) {
            char row[128];

            const char *at, *eol;
            char line[2048];

            snprintf(row, sizeof(row), "| `%s` |", d[i].name);
            if ((at = strstr(text, row)) == NULL) {
                sl_test_fail(__FILE__, __LINE__, "docs/configuration.md lacks %s", d[i].name);
                continue;
            }
            /* The Honoured column of its table row (8 columns; other
             * tables name configs too) must say what the table, and so
             * DescribeConfigs' documentation, says. */
            for (;;) {
                int bars = 0;

                eol = strchr(at, '\n');
                snprintf(line, sizeof(line), "%.*s", (int)(eol ? eol - at : (ptrdiff_t)strlen(at)),
                         at);
                for (const char *c = line; *c; c++)
                    bars += *c == '|';
                if (bars >= 9 || (at = strstr(at + 1, row)) == NULL)
                    break;
            }
            if (strstr(line, d[i].honoured ? "| yes |" : "| accepted |") == NULL)
                sl_test_fail(__FILE__, __LINE__, "docs/configuration.md: %s should be marked %s",
                             d[i].name, d[i].honoured ? "yes" : "accepted");
        }
    }
    free(text);
}
