/*
 * meta_file.c -- the single-node metadata backend: admin's topic store
 * validates and persists (<log dir>/__sluice_metadata), then the partition
 * table creates or removes the partition logs; every operation completes
 * before it returns, through the same done callback an asynchronous
 * (ZooKeeper) backend uses. All or nothing: a topic or partitions whose
 * logs could not all be made are removed again, logs and metadata.
 */
#include "broker/broker_int.h"

#include "base/log.h"

static void
result_init(sl_meta_result_t *res)
{
    memset(res, 0, sizeof(*res));
}

/* A topic whose logs could not all be created is removed again, so neither
 * a restart nor a retry finds a part. */
static void
rollback_create(sl_broker_t *b, sl_str_t name, int rc, sl_errbuf_t *eb)
{
    sl_errbuf_t eb2 = {{0}};

    sl_btopic_drop(b, name);
    if (sl_topics_forget(b->topics, name, &eb2) != SL_OK)
        sl_error("broker", "cannot roll back topic %.*s: %s", name.len, name.ptr, eb2.msg);
    sl_errbuf_set(eb, rc, "Could not create the partition logs (%s); nothing was created.",
                  sl_strerror(rc));
}

static void
file_create_topic(void *ctx, const sl_meta_create_t *op, sl_meta_done_fn done, void *cookie)
{
    sl_broker_t *b = ctx;
    const sl_topic_t *t = NULL;
    sl_meta_result_t res;
    int rc;

    result_init(&res);
    rc = sl_topics_create(b->topics, op->name, op->partitions, op->replication_factor, op->configs,
                          op->n_configs, op->validate_only, &t, &res.eb);
    if (rc == SL_OK && t && !op->validate_only) {
        rc = sl_btopic_sync(b, t, NULL);
        if (rc == SL_OK)
            sl_info("broker", "created topic %s with %d partitions", t->name, t->partitions);
        else
            rollback_create(b, op->name, rc, &res.eb);
        if (rc != SL_OK)
            t = NULL; /* forgotten by the store */
    }
    res.rc = rc;
    if (rc == SL_OK && t) {
        memcpy(res.id, t->id, sizeof(res.id));
        res.partitions = t->partitions;
        res.replication_factor = t->replication_factor;
    }
    done(cookie, &res);
}

static void
file_delete_topic(void *ctx, sl_str_t name, sl_meta_done_fn done, void *cookie)
{
    sl_broker_t *b = ctx;
    sl_meta_result_t res;

    result_init(&res);
    res.rc = sl_topics_delete(b->topics, name, &res.eb);
    if (res.rc == SL_OK) {
        sl_btopic_drop(b, name);
        sl_info("broker", "deleted topic %.*s", name.len, name.ptr);
    }
    done(cookie, &res);
}

static int
add_partitions(sl_broker_t *b, sl_str_t name, int32_t count, bool validate_only, sl_errbuf_t *eb)
{
    const sl_topic_t *t = sl_topics_find(b->topics, name);
    int32_t old = t != NULL ? t->partitions : 0;
    sl_errbuf_t eb2 = {{0}};
    int rc = sl_topics_add_partitions(b->topics, name, count, validate_only, eb);

    if (rc != SL_OK || validate_only)
        return rc;
    if ((rc = sl_btopic_sync(b, t, NULL)) == SL_OK) {
        sl_info("broker", "topic %s now has %d partitions", t->name, t->partitions);
        return SL_OK;
    }
    /* All or nothing, as for CreateTopics. */
    sl_btopic_truncate(b, t->name, old);
    if (sl_topics_set_partitions(b->topics, name, old, &eb2) != SL_OK)
        sl_error("broker", "cannot roll back partitions of %s: %s", t->name, eb2.msg);
    return sl_errbuf_set(eb, rc, "Could not create the partition logs (%s); nothing was added.",
                         sl_strerror(rc));
}

static void
file_add_partitions(void *ctx, sl_str_t name, int32_t count, bool validate_only,
                    sl_meta_done_fn done, void *cookie)
{
    sl_meta_result_t res;

    result_init(&res);
    res.rc = add_partitions(ctx, name, count, validate_only, &res.eb);
    done(cookie, &res);
}

const sl_meta_backend_t sl_meta_file_backend = {
    .name = "file",
    .create_topic = file_create_topic,
    .delete_topic = file_delete_topic,
    .add_partitions = file_add_partitions,
};
