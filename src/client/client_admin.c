/*
 * client_admin.c -- topic and config administration as blocking calls over
 * librdkafka's admin API (CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs).
 */
#include "client/client_int.h"

/* Checks the one topic_result of a topic admin call. */
static int
topic_result(sl_client_t *c, const rd_kafka_topic_result_t **res, size_t n, const char *what)
{
    rd_kafka_resp_err_t e;

    if (n < 1)
        return sl_client_fail(c, SL_EIO, "%s: empty result", what);
    e = rd_kafka_topic_result_error(res[0]);
    if (e)
        return sl_client_rkerr(c, e, what, rd_kafka_topic_result_error_string(res[0]));
    return SL_OK;
}

int
sl_client_create_topic(sl_client_t *c, const char *name, int partitions, int replication,
                       const sl_client_kv_t *configs, size_t nconfigs, bool validate_only)
{
    char errbuf[256], what[300];
    rd_kafka_NewTopic_t *nt;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_topic_result_t **res;
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot create topic '%s'", name);
    nt = rd_kafka_NewTopic_new(name, partitions, replication, errbuf, sizeof(errbuf));
    if (!nt)
        return sl_client_fail(c, SL_EINVAL, "%s: %s", what, errbuf);
    for (size_t i = 0; i < nconfigs; i++) {
        if (rd_kafka_NewTopic_set_config(nt, configs[i].key, configs[i].value)) {
            rd_kafka_NewTopic_destroy(nt);
            return sl_client_fail(c, SL_EINVAL, "%s: bad config %s", what, configs[i].key);
        }
    }
    o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (validate_only)
        (void)rd_kafka_AdminOptions_set_validate_only(o, 1, errbuf, sizeof(errbuf));
    q = rd_kafka_queue_new(c->rk);
    rd_kafka_CreateTopics(c->rk, &nt, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, what, &ev);
    if (rc == SL_OK) {
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rc = topic_result(c, res, n, what);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int
sl_client_delete_topic(sl_client_t *c, const char *name)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_AdminOptions_t *o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_topic_result_t **res;
    char what[300];
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot delete topic '%s'", name);
    rd_kafka_DeleteTopics(c->rk, &dt, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, what, &ev);
    if (rc == SL_OK) {
        res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rc = topic_result(c, res, n, what);
    }
    if (rc == SL_ENOENT)
        sl_client_fail(c, rc, "topic '%s' does not exist (see `sluice topic list`)", name);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteTopic_destroy(dt);
    return rc;
}

int
sl_client_create_partitions(sl_client_t *c, const char *name, int total)
{
    char errbuf[256], what[300];
    rd_kafka_NewPartitions_t *np;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_topic_result_t **res;
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot grow topic '%s' to %d partitions", name, total);
    np = rd_kafka_NewPartitions_new(name, (size_t)(total > 0 ? total : 0), errbuf, sizeof(errbuf));
    if (!np)
        return sl_client_fail(c, SL_EINVAL, "%s: %s", what, errbuf);
    o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    q = rd_kafka_queue_new(c->rk);
    rd_kafka_CreatePartitions(c->rk, &np, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, what, &ev);
    if (rc == SL_OK) {
        res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        rc = topic_result(c, res, n, what);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewPartitions_destroy(np);
    return rc;
}

/* ================================================================ */
/* configs                                                          */
/* ================================================================ */

static int
cmp_config(const void *a, const void *b)
{
    return strcmp(((const sl_client_config_t *)a)->name, ((const sl_client_config_t *)b)->name);
}

static void
copy_configs(sl_client_configs_t *cfgs, const rd_kafka_ConfigResource_t *r)
{
    size_t n;
    const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(r, &n);

    cfgs->v = sl_xcalloc(n ? n : 1, sizeof(*cfgs->v));
    cfgs->n = n;
    for (size_t i = 0; i < n; i++) {
        const char *v = rd_kafka_ConfigEntry_value(ents[i]);
        sl_client_config_t *e = &cfgs->v[i];
        e->name = sl_xstrdup(rd_kafka_ConfigEntry_name(ents[i]));
        e->value = v ? sl_xstrdup(v) : NULL;
        e->source = sl_xstrdup(rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(ents[i])));
        e->read_only = rd_kafka_ConfigEntry_is_read_only(ents[i]);
        e->is_default = rd_kafka_ConfigEntry_is_default(ents[i]);
        e->sensitive = rd_kafka_ConfigEntry_is_sensitive(ents[i]);
    }
    qsort(cfgs->v, n, sizeof(*cfgs->v), cmp_config);
}

int
sl_client_describe_configs(sl_client_t *c, sl_client_res_t type, const char *name,
                           sl_client_configs_t **out)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(
        type == SL_CLIENT_RES_TOPIC ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_BROKER, name);
    rd_kafka_AdminOptions_t *o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_ConfigResource_t **res;
    char what[300];
    size_t n;
    int rc;

    *out = NULL;
    snprintf(what, sizeof(what), "cannot describe configs of %s '%s'",
             type == SL_CLIENT_RES_TOPIC ? "topic" : "broker", name);
    rd_kafka_DescribeConfigs(c->rk, &cr, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, what, &ev);
    if (rc != SL_OK)
        goto out;
    res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n < 1) {
        rc = sl_client_fail(c, SL_EIO, "%s: empty result", what);
        goto out;
    }
    if (rd_kafka_ConfigResource_error(res[0])) {
        rc = sl_client_rkerr(c, rd_kafka_ConfigResource_error(res[0]), what,
                             rd_kafka_ConfigResource_error_string(res[0]));
        goto out;
    }
    *out = sl_xcalloc(1, sizeof(**out));
    copy_configs(*out, res[0]);
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(cr);
    return rc;
}

void
sl_client_configs_free(sl_client_configs_t *cfgs)
{
    if (!cfgs)
        return;
    for (size_t i = 0; i < cfgs->n; i++) {
        free(cfgs->v[i].name);
        free(cfgs->v[i].value);
        free(cfgs->v[i].source);
    }
    free(cfgs->v);
    free(cfgs);
}

static bool
in_list(const char *name, const char *const *del, size_t ndel)
{
    for (size_t i = 0; i < ndel; i++)
        if (strcmp(name, del[i]) == 0)
            return true;
    return false;
}

static bool
in_kv(const char *name, const sl_client_kv_t *set, size_t nset)
{
    for (size_t i = 0; i < nset; i++)
        if (strcmp(name, set[i].key) == 0)
            return true;
    return false;
}

/* The request: every current override not deleted or replaced, plus set. */
static int
build_alter(sl_client_t *c, rd_kafka_ConfigResource_t *cr, const sl_client_configs_t *cur,
            const sl_client_kv_t *set, size_t nset, const char *const *del, size_t ndel)
{
    for (size_t i = 0; i < ndel; i++) {
        bool found = false;
        for (size_t j = 0; j < cur->n; j++)
            if (strcmp(cur->v[j].name, del[i]) == 0)
                found = true;
        if (!found)
            return sl_client_fail(c, SL_ENOENT, "unknown config '%s' (see `sluice topic describe`)",
                                  del[i]);
    }
    for (size_t j = 0; j < cur->n; j++) {
        const sl_client_config_t *e = &cur->v[j];
        if (strcmp(e->source, "DYNAMIC_TOPIC_CONFIG") != 0 || !e->value)
            continue;
        if (in_list(e->name, del, ndel) || in_kv(e->name, set, nset))
            continue;
        if (rd_kafka_ConfigResource_set_config(cr, e->name, e->value))
            return sl_client_fail(c, SL_EINVAL, "bad config %s", e->name);
    }
    for (size_t i = 0; i < nset; i++)
        if (rd_kafka_ConfigResource_set_config(cr, set[i].key, set[i].value))
            return sl_client_fail(c, SL_EINVAL, "bad config %s=%s", set[i].key, set[i].value);
    return SL_OK;
}

int
sl_client_alter_topic_configs(sl_client_t *c, const char *topic, const sl_client_kv_t *set,
                              size_t nset, const char *const *del, size_t ndel)
{
    sl_client_configs_t *cur = NULL;
    rd_kafka_ConfigResource_t *cr = NULL;
    rd_kafka_AdminOptions_t *o = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_ConfigResource_t **res;
    char what[300];
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot alter configs of topic '%s'", topic);
    if ((rc = sl_client_describe_configs(c, SL_CLIENT_RES_TOPIC, topic, &cur)) != SL_OK)
        return rc;
    cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    if ((rc = build_alter(c, cr, cur, set, nset, del, ndel)) != SL_OK)
        goto out;
    o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    q = rd_kafka_queue_new(c->rk);
    rd_kafka_AlterConfigs(c->rk, &cr, 1, o, q);
    if ((rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, what, &ev)) != SL_OK)
        goto out;
    res = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    if (n >= 1 && rd_kafka_ConfigResource_error(res[0]))
        rc = sl_client_rkerr(c, rd_kafka_ConfigResource_error(res[0]), what,
                             rd_kafka_ConfigResource_error_string(res[0]));
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (o)
        rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(cr);
    sl_client_configs_free(cur);
    return rc;
}
