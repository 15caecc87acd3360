/*
 * test_admin_topics.c -- unit tests for src/admin topic names, ids,
 * meta.properties and the file-backed topic store (persistence, crash
 * safety, Kafka's validation order and messages).
 */
#include "test.h"

#include "admin/admin.h"
#include "base/crc32c.h"
#include "base/fault.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static void
cfg_in(sl_broker_config_t *cfg, const char *dir, const char *extra)
{
    char text[1024];
    sl_props_t p;
    sl_errbuf_t err = {{0}};

    snprintf(text, sizeof(text), "log.dir=%s\n%s", dir, extra ? extra : "");
    sl_props_init(&p);
    SL_CHECK_OK(sl_props_parse(&p, text, strlen(text), &err));
    if (sl_broker_config_load(cfg, &p, NULL, &err) != SL_OK)
        sl_test_fail(__FILE__, __LINE__, "config: %s", err.msg);
    sl_props_deinit(&p);
}

static sl_topics_t *
open_store(sl_broker_config_t *cfg, const char *dir, const char *extra)
{
    sl_topics_t *ts = NULL;
    sl_errbuf_t err = {{0}};

    cfg_in(cfg, dir, extra);
    if (sl_topics_open(cfg, &ts, &err) != SL_OK)
        sl_test_fail(__FILE__, __LINE__, "open: %s", err.msg);
    return ts;
}

static void
close_store(sl_topics_t *ts, sl_broker_config_t *cfg)
{
    sl_topics_free(ts);
    sl_broker_config_deinit(cfg);
}

static sl_cfg_alter_t
ent(const char *name, const char *value, int op)
{
    return (sl_cfg_alter_t){sl_str_c(name), value ? sl_str_c(value) : SL_STR_NULL, (int8_t)op};
}

static int
create(sl_topics_t *ts, const char *name, int32_t parts, int32_t rf, sl_errbuf_t *err)
{
    return sl_topics_create(ts, sl_str_c(name), parts, rf, NULL, 0, false, NULL, err);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);

    SL_CHECK(f != NULL && buf != NULL);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void
spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    SL_CHECK(f != NULL);
    SL_CHECK_EQ(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ======================================================================== */
/* Names and ids                                                            */
/* ======================================================================== */

SL_TEST(topic_name_rules_and_messages)
{
    sl_errbuf_t err = {{0}};
    char longname[251];

    SL_CHECK_OK(sl_topic_name_validate(SL_STR_LIT("orders.v1_eu-west"), &err));
    SL_CHECK_OK(sl_topic_name_validate(SL_STR_LIT("..."), &err));
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT(""), &err), SL_EINVALID_TOPIC);
    SL_CHECK(strstr(err.msg, "empty") != NULL);
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_NULL, &err), SL_EINVALID_TOPIC);
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT("."), &err), SL_EINVALID_TOPIC);
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT(".."), &err), SL_EINVALID_TOPIC);
    SL_CHECK_STR(err.msg, "Topic name cannot be \".\" or \"..\"");
    memset(longname, 'x', 250);
    longname[250] = '\0';
    SL_CHECK_EQ(sl_topic_name_validate(sl_str_c(longname), &err), SL_EINVALID_TOPIC);
    SL_CHECK(strstr(err.msg, "249") != NULL);
    longname[249] = '\0';
    SL_CHECK_OK(sl_topic_name_validate(sl_str_c(longname), &err));
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT("a b"), &err), SL_EINVALID_TOPIC);
    SL_CHECK(strstr(err.msg, "ASCII alphanumerics") != NULL);
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT("a/b"), &err), SL_EINVALID_TOPIC);
    SL_CHECK_EQ(sl_topic_name_validate(SL_STR_LIT("caf\xc3\xa9"), &err), SL_EINVALID_TOPIC);

    SL_CHECK(sl_topic_name_is_internal(SL_STR_LIT("__consumer_offsets")));
    SL_CHECK(sl_topic_name_is_internal(SL_STR_LIT("__transaction_state")));
    SL_CHECK(!sl_topic_name_is_internal(SL_STR_LIT("__consumer_offsets2")));
    SL_CHECK(sl_topic_name_has_collision_chars(SL_STR_LIT("a.b")));
    SL_CHECK(sl_topic_name_has_collision_chars(SL_STR_LIT("a_b")));
    SL_CHECK(!sl_topic_name_has_collision_chars(SL_STR_LIT("a-b")));
    SL_CHECK(sl_topic_name_collide(SL_STR_LIT("a.b_c"), SL_STR_LIT("a_b.c")));
    SL_CHECK(!sl_topic_name_collide(SL_STR_LIT("a.b"), SL_STR_LIT("a.b")));
    SL_CHECK(!sl_topic_name_collide(SL_STR_LIT("a.b"), SL_STR_LIT("a.c")));
    SL_CHECK(!sl_topic_name_collide(SL_STR_LIT("a.b"), SL_STR_LIT("a.bb")));
}

SL_TEST(uuid_text_form_round_trips)
{
    uint8_t zero[16] = {0}, id[16], back[16];
    char s[23];

    sl_meta_uuid_str(zero, s);
    SL_CHECK_STR(s, "AAAAAAAAAAAAAAAAAAAAAA");
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xf0 + i);
    sl_meta_uuid_str(id, s);
    SL_CHECK_STR(s, "8PHy8_T19vf4-fr7_P3-_w");
    SL_CHECK_OK(sl_meta_uuid_parse(s, back));
    SL_CHECK_MEM(back, id, 16);
    for (int i = 0; i < 200; i++) {
        sl_meta_uuid_random(id);
        sl_meta_uuid_str(id, s);
        SL_CHECK_EQ(strlen(s), 22);
        SL_CHECK(s[0] != '-');
        SL_CHECK_EQ(id[6] >> 4, 4);
        SL_CHECK_EQ(id[8] >> 6, 2);
        SL_CHECK_OK(sl_meta_uuid_parse(s, back));
        SL_CHECK_MEM(back, id, 16);
    }
    SL_CHECK_EQ(sl_meta_uuid_parse("short", back), SL_EINVAL);
    SL_CHECK_EQ(sl_meta_uuid_parse("AAAAAAAAAAAAAAAAAAAAA=", back), SL_EINVAL);
    SL_CHECK_EQ(sl_meta_uuid_parse("AAAAAAAAAAAAAAAAAAAAAB", back), SL_EINVAL);
}

/* ======================================================================== */
/* Store operations                                                         */
/* ======================================================================== */

SL_TEST(store_create_validation_order_and_lookups)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), "num.partitions=4\n");
    sl_errbuf_t err = {{0}};
    const sl_topic_t *t, *t2;
    int32_t bad;

    SL_CHECK_EQ(strlen(sl_topics_cluster_id(ts)), 22);
    SL_CHECK_EQ(cfg.broker_id, 0);
    SL_CHECK_EQ(sl_topics_count(ts), 0);

    sl_cfg_alter_t cfgs[] = {ent("retention.ms", "1000", 0), ent("segment.ms", NULL, 0)};
    SL_CHECK_OK(sl_topics_create(ts, SL_STR_LIT("orders"), 3, -1, cfgs, 2, false, &t, &err));
    SL_CHECK_STR(t->name, "orders");
    SL_CHECK_EQ(t->partitions, 3);
    SL_CHECK_EQ(t->replication_factor, 1);
    SL_CHECK_EQ(t->configs.n, 1);
    SL_CHECK_EQ(t->cfg.retention_ms, 1000);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("orders")) == t);
    SL_CHECK(sl_topics_find_id(ts, t->id) == t);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("order")) == NULL);
    SL_CHECK_OK(create(ts, "defaults", -1, -1, &err));
    t2 = sl_topics_find(ts, SL_STR_LIT("defaults"));
    SL_CHECK_EQ(t2->partitions, 4);
    SL_CHECK(memcmp(t->id, t2->id, 16) != 0);

    SL_CHECK_EQ(create(ts, "bad name", 1, 1, &err), SL_EINVALID_TOPIC);
    SL_CHECK_EQ(create(ts, "orders", 0, 1, &err), SL_EEXIST); /* exists before counts */
    SL_CHECK_STR(err.msg, "Topic 'orders' already exists.");
    SL_CHECK_EQ(create(ts, "x", 0, 1, &err), SL_EINVALID_PARTITIONS);
    SL_CHECK_STR(err.msg, "Number of partitions must be larger than 0.");
    SL_CHECK_EQ(create(ts, "x", 100001, 1, &err), SL_EINVALID_PARTITIONS);
    SL_CHECK_EQ(create(ts, "x", 1, 0, &err), SL_EINVALID_REPLICATION);
    SL_CHECK_EQ(create(ts, "x", 1, 3, &err), SL_EINVALID_REPLICATION);
    SL_CHECK_STR(err.msg, "Replication factor: 3 larger than available brokers: 1.");
    SL_CHECK_OK(create(ts, "a.b", 1, 1, &err));
    SL_CHECK_EQ(create(ts, "a_b", 1, 1, &err), SL_EINVALID_TOPIC);
    SL_CHECK_STR(err.msg, "Topic 'a_b' collides with existing topics: a.b");

    sl_cfg_alter_t badcfg[] = {ent("retention.ms", "soon", 0)};
    SL_CHECK_EQ(sl_topics_create(ts, SL_STR_LIT("x"), 1, 1, badcfg, 1, false, NULL, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "retention.ms") != NULL);
    sl_cfg_alter_t dup[] = {ent("retention.ms", "1", 0), ent("retention.ms", "2", 0)};
    SL_CHECK_EQ(sl_topics_create(ts, SL_STR_LIT("x"), 1, 1, dup, 2, false, NULL, &err),
                SL_EINVALID_REQUEST);
    SL_CHECK_OK(sl_topics_create(ts, SL_STR_LIT("x"), 1, 1, NULL, 0, true, &t, &err));
    SL_CHECK(t == NULL);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("x")) == NULL);
    SL_CHECK_EQ(sl_topics_count(ts), 3);

    /* In cluster mode more brokers allow more replicas. */
    sl_topics_set_live_brokers(ts, 3);
    SL_CHECK_OK(create(ts, "replicated", 1, 3, &err));
    (void)bad;
    close_store(ts, &cfg);
}

SL_TEST(store_partitions_delete_and_alter)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    const sl_topic_t *t;
    int32_t bad;

    SL_CHECK_OK(create(ts, "t", 2, 1, &err));
    SL_CHECK_EQ(sl_topics_add_partitions(ts, SL_STR_LIT("t"), 2, false, &err),
                SL_EINVALID_PARTITIONS);
    SL_CHECK_STR(err.msg, "Topic already has 2 partitions.");
    SL_CHECK_EQ(sl_topics_add_partitions(ts, SL_STR_LIT("t"), 1, false, &err),
                SL_EINVALID_PARTITIONS);
    SL_CHECK(strstr(err.msg, "higher than the requested 1") != NULL);
    SL_CHECK_OK(sl_topics_add_partitions(ts, SL_STR_LIT("t"), 5, true, &err));
    SL_CHECK_EQ(sl_topics_find(ts, SL_STR_LIT("t"))->partitions, 2);
    SL_CHECK_OK(sl_topics_add_partitions(ts, SL_STR_LIT("t"), 5, false, &err));
    SL_CHECK_EQ(sl_topics_find(ts, SL_STR_LIT("t"))->partitions, 5);
    SL_CHECK_EQ(sl_topics_add_partitions(ts, SL_STR_LIT("zz"), 5, false, &err), SL_ENOENT);

    sl_cfg_alter_t a[] = {ent("cleanup.policy", "compact", SL_CFG_OP_APPEND),
                          ent("max.message.bytes", "100", SL_CFG_OP_SET)};
    SL_CHECK_OK(sl_topics_alter_configs(ts, SL_STR_LIT("t"), a, 2, true, false, &bad, &err));
    t = sl_topics_find(ts, SL_STR_LIT("t"));
    SL_CHECK_EQ(t->cfg.cleanup_policy, SL_CFG_CLEANUP_DELETE | SL_CFG_CLEANUP_COMPACT);
    SL_CHECK_EQ(t->cfg.max_message_bytes, 100);
    sl_cfg_alter_t b[] = {ent("max.message.bytes", "-1", SL_CFG_OP_SET)};
    SL_CHECK_EQ(sl_topics_alter_configs(ts, SL_STR_LIT("t"), b, 1, true, false, &bad, &err),
                SL_EINVALID_CONFIG);
    SL_CHECK_EQ(bad, 0);
    SL_CHECK_EQ(t->cfg.max_message_bytes, 100);
    sl_cfg_alter_t c[] = {ent("max.message.bytes", "200", SL_CFG_OP_SET)};
    SL_CHECK_OK(sl_topics_alter_configs(ts, SL_STR_LIT("t"), c, 1, false, true, &bad, &err));
    SL_CHECK_EQ(t->cfg.max_message_bytes, 100); /* validate_only */
    SL_CHECK_OK(sl_topics_alter_configs(ts, SL_STR_LIT("t"), c, 1, false, false, &bad, &err));
    SL_CHECK_EQ(t->cfg.max_message_bytes, 200);
    SL_CHECK_EQ(t->cfg.cleanup_policy, SL_CFG_CLEANUP_DELETE); /* legacy replaced the set */
    SL_CHECK_EQ(sl_topics_alter_configs(ts, SL_STR_LIT("zz"), c, 1, false, false, &bad, &err),
                SL_ENOENT);

    SL_CHECK_EQ(sl_topics_delete(ts, SL_STR_LIT("zz"), &err), SL_ENOENT);
    SL_CHECK_OK(sl_topics_delete(ts, SL_STR_LIT("t"), &err));
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("t")) == NULL);
    SL_CHECK_EQ(sl_topics_count(ts), 0);
    close_store(ts, &cfg);

    ts = open_store(&cfg, sl_test_dir(), "delete.topic.enable=false\n");
    SL_CHECK_OK(create(ts, "keep", 1, 1, &err));
    SL_CHECK_EQ(sl_topics_delete(ts, SL_STR_LIT("keep"), &err), SL_EDELETION_DISABLED);
    SL_CHECK_STR(sl_admin_strerror(SL_EDELETION_DISABLED), "EDELETION_DISABLED");
    close_store(ts, &cfg);
}

SL_TEST(store_many_topics_index_survives_deletes)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    uint8_t ids[300][16];
    char name[32];

    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "topic-%03d", i);
        SL_CHECK_OK(create(ts, name, 1, 1, &err));
        memcpy(ids[i], sl_topics_find(ts, sl_str_c(name))->id, 16);
    }
    for (int i = 0; i < 300; i += 2) {
        snprintf(name, sizeof(name), "topic-%03d", i);
        SL_CHECK_OK(sl_topics_delete(ts, sl_str_c(name), &err));
    }
    SL_CHECK_EQ(sl_topics_count(ts), 150);
    for (int i = 0; i < 300; i++) {
        const sl_topic_t *t;

        snprintf(name, sizeof(name), "topic-%03d", i);
        t = sl_topics_find(ts, sl_str_c(name));
        SL_CHECK((t != NULL) == (i % 2 == 1));
        SL_CHECK(sl_topics_find_id(ts, ids[i]) == t);
    }
    close_store(ts, &cfg);
}

/* ======================================================================== */
/* Persistence                                                              */
/* ======================================================================== */

SL_TEST(store_state_survives_reopen)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    char cid[64];
    uint8_t id[16];
    int32_t bad, bid;
    const sl_topic_t *t;

    snprintf(cid, sizeof(cid), "%s", sl_topics_cluster_id(ts));
    sl_cfg_alter_t c[] = {ent("retention.ms", "1234", 0), ent("cleanup.policy", "compact", 0),
                          ent("leader.replication.throttled.replicas", "0:1,1:0", 0)};
    SL_CHECK_OK(sl_topics_create(ts, SL_STR_LIT("events"), 2, 1, c, 3, false, &t, &err));
    memcpy(id, t->id, 16);
    SL_CHECK_OK(create(ts, "gone", 1, 1, &err));
    SL_CHECK_OK(sl_topics_add_partitions(ts, SL_STR_LIT("events"), 6, false, &err));
    SL_CHECK_OK(sl_topics_delete(ts, SL_STR_LIT("gone"), &err));
    sl_cfg_alter_t d[] = {ent("log.retention.ms", "777", 0)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, true, d, 1, true, false, &bad, &err));
    sl_cfg_alter_t e[] = {ent("message.max.bytes", "5000", 0)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, false, e, 1, true, false, &bad, &err));
    close_store(ts, &cfg);

    ts = open_store(&cfg, sl_test_dir(), NULL);
    SL_CHECK_STR(sl_topics_cluster_id(ts), cid);
    SL_CHECK_EQ(sl_topics_count(ts), 1);
    t = sl_topics_find(ts, SL_STR_LIT("events"));
    SL_CHECK(t != NULL);
    SL_CHECK_MEM(t->id, id, 16);
    SL_CHECK_EQ(t->partitions, 6);
    SL_CHECK_STR(sl_props_get(&t->configs, "leader.replication.throttled.replicas"), "0:1,1:0");
    SL_CHECK_EQ(t->cfg.retention_ms, 1234);
    SL_CHECK_EQ(t->cfg.cleanup_policy, SL_CFG_CLEANUP_COMPACT);
    SL_CHECK_EQ(t->cfg.max_message_bytes, 5000);
    SL_CHECK_STR(sl_props_get(sl_topics_broker_layer(ts, true), "log.retention.ms"), "777");
    SL_CHECK_STR(sl_broker_config_value(&cfg, "message.max.bytes", NULL), "5000");
    close_store(ts, &cfg);

    SL_CHECK_OK(sl_meta_props_read(sl_test_dir(), &bid, cid, &err));
    SL_CHECK_EQ(bid, 0);
    SL_CHECK_EQ(strlen(cid), 22);
    size_t len;
    char *text = slurp(sl_test_path("meta.properties"), &len);
    SL_CHECK(strstr(text, "version=0\n") != NULL && strstr(text, "broker.id=0\n") != NULL);
    free(text);
}

SL_TEST(store_dynamic_broker_defaults_reach_topics)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), "log.retention.hours=1\n");
    sl_errbuf_t err = {{0}};
    int32_t bad;
    const sl_topic_t *plain, *own;

    SL_CHECK_OK(create(ts, "plain", 1, 1, &err));
    sl_cfg_alter_t o[] = {ent("retention.ms", "42", 0)};
    SL_CHECK_OK(sl_topics_create(ts, SL_STR_LIT("own"), 1, 1, o, 1, false, &own, &err));
    plain = sl_topics_find(ts, SL_STR_LIT("plain"));
    SL_CHECK_EQ(plain->cfg.retention_ms, 3600000);
    sl_cfg_alter_t d[] = {ent("log.retention.ms", "60000", 0)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, true, d, 1, true, true, &bad, &err));
    SL_CHECK_EQ(plain->cfg.retention_ms, 3600000); /* validate_only */
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, true, d, 1, true, false, &bad, &err));
    SL_CHECK_EQ(plain->cfg.retention_ms, 60000);
    SL_CHECK_EQ(own->cfg.retention_ms, 42);
    sl_cfg_alter_t x[] = {ent("log.retention.ms", NULL, SL_CFG_OP_DELETE)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, true, x, 1, true, false, &bad, &err));
    SL_CHECK_EQ(plain->cfg.retention_ms, 3600000);
    sl_cfg_alter_t r[] = {ent("num.partitions", "3", 0)};
    SL_CHECK_EQ(sl_topics_alter_broker_configs(ts, false, r, 1, true, false, &bad, &err),
                SL_EINVALID_REQUEST); /* read-only: Kafka's INVALID_REQUEST */
    close_store(ts, &cfg);
}

SL_TEST(store_failed_write_leaves_old_state)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    const sl_topic_t *t;
    int32_t bad;
    struct stat st;

    SL_CHECK_OK(create(ts, "base", 1, 1, &err));
    /* The tmp file is written and fsynced but the rename fails: the
     * change is refused and undone in memory. */
    sl_fault_arm("admin.rename", 0, -1);
    SL_CHECK_EQ(create(ts, "new", 1, 1, &err), SL_EIO);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("new")) == NULL);
    SL_CHECK_EQ(sl_topics_add_partitions(ts, SL_STR_LIT("base"), 3, false, &err), SL_EIO);
    SL_CHECK_EQ(sl_topics_find(ts, SL_STR_LIT("base"))->partitions, 1);
    sl_cfg_alter_t c[] = {ent("retention.ms", "5", 0)};
    SL_CHECK_EQ(sl_topics_alter_configs(ts, SL_STR_LIT("base"), c, 1, true, false, &bad, &err),
                SL_EIO);
    t = sl_topics_find(ts, SL_STR_LIT("base"));
    SL_CHECK_EQ(t->configs.n, 0);
    SL_CHECK_EQ(t->cfg.retention_ms, 604800000);
    SL_CHECK_EQ(sl_topics_delete(ts, SL_STR_LIT("base"), &err), SL_EIO);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("base")) != NULL);
    sl_cfg_alter_t d[] = {ent("log.retention.ms", "1", 0)};
    SL_CHECK_EQ(sl_topics_alter_broker_configs(ts, true, d, 1, true, false, &bad, &err), SL_EIO);
    SL_CHECK_EQ(sl_topics_broker_layer(ts, true)->n, 0);
    sl_fault_disarm_all();
    SL_CHECK(stat(sl_test_path("__sluice_metadata.tmp"), &st) != 0);
    sl_fault_arm("admin.fsync", 0, 1);
    SL_CHECK_EQ(create(ts, "new", 1, 1, &err), SL_EIO);
    sl_fault_arm("admin.write", 0, 1);
    SL_CHECK_EQ(create(ts, "new", 1, 1, &err), SL_EIO);
    sl_fault_disarm_all();
    SL_CHECK_OK(create(ts, "new", 1, 1, &err));
    close_store(ts, &cfg);

    ts = open_store(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(sl_topics_count(ts), 2);
    SL_CHECK_EQ(sl_topics_find(ts, SL_STR_LIT("base"))->partitions, 1);
    close_store(ts, &cfg);
}

SL_TEST(store_crash_between_tmp_write_and_rename)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    size_t len;
    char *old, *tmp;
    struct stat st;

    SL_CHECK_OK(create(ts, "before", 1, 1, &err));
    old = slurp(sl_test_path("__sluice_metadata"), &len);
    SL_CHECK_OK(create(ts, "after", 1, 1, &err));
    /* What a crash before the rename leaves: the next version, complete or
     * torn, in the tmp file, and the previous version in place. */
    tmp = slurp(sl_test_path("__sluice_metadata"), &len);
    spit(sl_test_path("__sluice_metadata.tmp"), tmp, len / 2);
    free(tmp);
    close_store(ts, &cfg);
    spit(sl_test_path("__sluice_metadata"), old, strlen(old));
    free(old);

    ts = open_store(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(sl_topics_count(ts), 1);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("before")) != NULL);
    SL_CHECK(stat(sl_test_path("__sluice_metadata.tmp"), &st) != 0);
    /* And the store keeps working from there. */
    SL_CHECK_OK(create(ts, "after", 1, 1, &err));
    close_store(ts, &cfg);
}

SL_TEST(store_refuses_corrupt_file)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    size_t len;
    char *text, *p;

    SL_CHECK_OK(create(ts, "precious", 1, 1, &err));
    close_store(ts, &cfg);
    text = slurp(sl_test_path("__sluice_metadata"), &len);

    /* One flipped byte. */
    p = strstr(text, "precious");
    p[0] = 'P';
    spit(sl_test_path("__sluice_metadata"), text, len);
    cfg_in(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(sl_topics_open(&cfg, &ts, &err), SL_ECORRUPT);
    SL_CHECK(strstr(err.msg, "checksum") != NULL);
    SL_CHECK(ts == NULL);
    sl_broker_config_deinit(&cfg);

    /* Truncated: the trailer is gone. */
    p[0] = 'p';
    spit(sl_test_path("__sluice_metadata"), text, len - 10);
    cfg_in(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(sl_topics_open(&cfg, &ts, &err), SL_ECORRUPT);
    sl_broker_config_deinit(&cfg);

    /* Intact again: opens. */
    spit(sl_test_path("__sluice_metadata"), text, len);
    ts = open_store(&cfg, sl_test_dir(), NULL);
    SL_CHECK(sl_topics_find(ts, SL_STR_LIT("precious")) != NULL);
    close_store(ts, &cfg);
    free(text);
}

SL_TEST(store_broker_and_cluster_ids_are_stable)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), "broker.id=5\n");
    sl_errbuf_t err = {{0}};
    char cid[64], text[256];

    SL_CHECK_EQ(cfg.broker_id, 5);
    snprintf(cid, sizeof(cid), "%s", sl_topics_cluster_id(ts));
    close_store(ts, &cfg);

    /* Unset broker.id adopts the stored one, also after a dynamic change. */
    ts = open_store(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(cfg.broker_id, 5);
    int32_t bad;
    sl_cfg_alter_t d[] = {ent("log.retention.ms", "1", 0)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, false, d, 1, true, false, &bad, &err));
    SL_CHECK_EQ(cfg.broker_id, 5);
    close_store(ts, &cfg);

    cfg_in(&cfg, sl_test_dir(), "broker.id=6\n");
    SL_CHECK_EQ(sl_topics_open(&cfg, &ts, &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, "broker.id 6") != NULL);
    sl_broker_config_deinit(&cfg);

    /* meta.properties naming another cluster. */
    snprintf(text, sizeof(text), "version=0\nbroker.id=5\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n");
    spit(sl_test_path("meta.properties"), text, strlen(text));
    cfg_in(&cfg, sl_test_dir(), NULL);
    SL_CHECK_EQ(sl_topics_open(&cfg, &ts, &err), SL_EINVALID_CONFIG);
    SL_CHECK(strstr(err.msg, cid) != NULL);
    sl_broker_config_deinit(&cfg);
}

SL_TEST(store_adopts_cluster_id_from_meta_properties)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts;
    char dir2[4200], text[256];

    /* A data dir that has meta.properties but no metadata file yet (e.g.
     * data copied from Kafka): its ids are kept. */
    snprintf(text, sizeof(text), "#\nversion=0\nbroker.id=2\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n");
    spit(sl_test_path("meta.properties"), text, strlen(text));
    snprintf(dir2, sizeof(dir2), "%s/second", sl_test_dir());
    char extra[4400];
    snprintf(extra, sizeof(extra), "log.dirs=%s,%s\n", sl_test_dir(), dir2);
    ts = open_store(&cfg, sl_test_dir(), extra);
    SL_CHECK_STR(sl_topics_cluster_id(ts), "MkU3OEVBNTcwNTJENDM2Qk");
    SL_CHECK_EQ(cfg.broker_id, 2);
    close_store(ts, &cfg);
    /* The second dir was created and stamped too. */
    int32_t bid;
    char cid[64];
    SL_CHECK_OK(sl_meta_props_read(dir2, &bid, cid, NULL));
    SL_CHECK_EQ(bid, 2);
    SL_CHECK_STR(cid, "MkU3OEVBNTcwNTJENDM2Qk");
}

SL_TEST(store_internal_topics_follow_broker_settings)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(),
                                 "offsets.topic.num.partitions=7\n"
                                 "offsets.topic.segment.bytes=1048576\n");
    sl_errbuf_t err = {{0}};
    const sl_topic_t *t;

    /* Kafka's default replication factor (3) is capped on a single node. */
    SL_CHECK_OK(sl_topics_create_internal(ts, SL_STR_LIT("__consumer_offsets"), &t, &err));
    SL_CHECK_EQ(t->partitions, 7);
    SL_CHECK_EQ(t->replication_factor, 1);
    SL_CHECK_EQ(t->cfg.cleanup_policy, SL_CFG_CLEANUP_COMPACT);
    SL_CHECK_EQ(t->cfg.segment_bytes, 1048576);
    SL_CHECK_EQ(t->cfg.compression_type, SL_CFG_COMPRESSION_PRODUCER);
    SL_CHECK_EQ(sl_topics_create_internal(ts, SL_STR_LIT("__consumer_offsets"), &t, &err),
                SL_EEXIST);
    SL_CHECK_OK(sl_topics_create_internal(ts, SL_STR_LIT("__transaction_state"), &t, &err));
    SL_CHECK_EQ(t->partitions, 50);
    SL_CHECK_EQ(t->cfg.min_insync_replicas, 1);
    SL_CHECK_EQ(t->cfg.compression_type, SL_CFG_COMPRESSION_NONE);
    SL_CHECK_EQ(sl_topics_create_internal(ts, SL_STR_LIT("orders"), &t, &err), SL_EINVAL);
    close_store(ts, &cfg);

    /* In cluster mode Kafka waits for enough brokers instead. */
    char extra[256];
    snprintf(extra, sizeof(extra), "zookeeper.connect=zk:2181\nlog.dirs=%s/c\n", sl_test_dir());
    ts = open_store(&cfg, sl_test_dir(), extra);
    SL_CHECK_EQ(sl_topics_create_internal(ts, SL_STR_LIT("__consumer_offsets"), &t, &err),
                SL_EINVALID_REPLICATION);
    SL_CHECK(strstr(err.msg, "alive brokers") != NULL);
    sl_topics_set_live_brokers(ts, 3);
    SL_CHECK_OK(sl_topics_create_internal(ts, SL_STR_LIT("__transaction_state"), &t, &err));
    SL_CHECK_EQ(t->replication_factor, 3);
    SL_CHECK_EQ(t->cfg.min_insync_replicas, 2);
    close_store(ts, &cfg);
}

/* The transaction log's own settings and offsets.topic.replication.factor
 * shape the internal topics (cluster mode: no single-node cap). */
SL_TEST(store_internal_topics_follow_replication_and_transaction_settings)
{
    sl_broker_config_t cfg;
    sl_errbuf_t err = {{0}};
    const sl_topic_t *t;
    char extra[512];

    snprintf(extra, sizeof(extra),
             "zookeeper.connect=zk:2181\nlog.dirs=%s/tx\n"
             "offsets.topic.replication.factor=2\n"
             "transaction.state.log.num.partitions=4\n"
             "transaction.state.log.replication.factor=2\n"
             "transaction.state.log.min.isr=1\n"
             "transaction.state.log.segment.bytes=2097152\n",
             sl_test_dir());
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), extra);

    sl_topics_set_live_brokers(ts, 3);
    SL_CHECK_OK(sl_topics_create_internal(ts, SL_STR_LIT("__consumer_offsets"), &t, &err));
    SL_CHECK_EQ(t->replication_factor, 2);
    SL_CHECK_OK(sl_topics_create_internal(ts, SL_STR_LIT("__transaction_state"), &t, &err));
    SL_CHECK_EQ(t->partitions, 4);
    SL_CHECK_EQ(t->replication_factor, 2);
    SL_CHECK_EQ(t->cfg.min_insync_replicas, 1);
    SL_CHECK_EQ(t->cfg.segment_bytes, 2097152);
    close_store(ts, &cfg);
}

SL_TEST(store_loader_survives_mutated_files)
{
    sl_broker_config_t cfg;
    sl_topics_t *ts = open_store(&cfg, sl_test_dir(), NULL);
    sl_errbuf_t err = {{0}};
    static const char alphabet[] = "ab.=\\\n x0:-_topicnfgdm1\r\t";
    size_t len, body;
    char *text, *buf, trailer[32];
    int32_t bad;

    sl_cfg_alter_t c[] = {ent("retention.ms", "1234", 0), ent("cleanup.policy", "compact", 0)};
    SL_CHECK_OK(sl_topics_create(ts, SL_STR_LIT("one"), 2, 1, c, 2, false, NULL, &err));
    SL_CHECK_OK(create(ts, "two", 1, 1, &err));
    sl_cfg_alter_t d[] = {ent("log.retention.ms", "777", 0)};
    SL_CHECK_OK(sl_topics_alter_broker_configs(ts, true, d, 1, true, false, &bad, &err));
    close_store(ts, &cfg);
    text = slurp(sl_test_path("__sluice_metadata"), &len);
    body = (size_t)(strstr(text, "crc32c ") - text);
    buf = malloc(len + 64);
    SL_CHECK(buf != NULL);

    /* Mutate the body but keep the checksum right, so the parser itself
     * (not the CRC) must cope. Every outcome but a crash is acceptable. */
    for (int iter = 0; iter < 300; iter++) {
        size_t n = body;

        memcpy(buf, text, body);
        if (iter % 5 == 0)
            n = (size_t)(sl_test_rand() % body);
        for (int k = 0, m = 1 + (int)(sl_test_rand() % 4); k < m && n > 0; k++)
            buf[sl_test_rand() % n] = alphabet[sl_test_rand() % (sizeof(alphabet) - 1)];
        snprintf(trailer, sizeof(trailer), "crc32c %08x\n", sl_crc32c(buf, n));
        memcpy(buf + n, trailer, strlen(trailer));
        spit(sl_test_path("__sluice_metadata"), buf, n + strlen(trailer));
        unlink(sl_test_path("meta.properties"));
        cfg_in(&cfg, sl_test_dir(), NULL);
        int rc = sl_topics_open(&cfg, &ts, &err);
        SL_CHECK(rc == SL_OK || rc == SL_ECORRUPT);
        if (rc == SL_OK) {
            for (size_t i = 0; i < sl_topics_count(ts); i++)
                SL_CHECK(sl_topics_at(ts, i)->partitions >= 1);
            sl_topics_free(ts);
        }
        sl_broker_config_deinit(&cfg);
    }
    free(buf);
    free(text);
}

SL_TEST(props_parser_survives_random_input)
{
    static const char alphabet[] = "ab=:\\u0F9 \t\n\r#!\xc3\xa9\f";
    char text[256];

    for (int iter = 0; iter < 3000; iter++) {
        size_t n = sl_test_rand() % sizeof(text);
        sl_props_t p;
        sl_errbuf_t err = {{0}};

        for (size_t i = 0; i < n; i++)
            text[i] = alphabet[sl_test_rand() % (sizeof(alphabet) - 1)];
        sl_props_init(&p);
        int rc = sl_props_parse(&p, text, n, &err);
        SL_CHECK(rc == SL_OK || rc == SL_EINVAL);
        for (size_t i = 0; i < p.n; i++)
            SL_CHECK(p.v[i].key != NULL && p.v[i].value != NULL);
        sl_props_deinit(&p);
    }
}
