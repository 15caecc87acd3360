/*
 * partitions.c -- the broker's partition table: for every topic in the
 * topic store, one sl_btopic_t holding an sl_bpart_t per partition, each
 * wrapping the partition's log. The topic store (admin) is the source of
 * truth for names, ids, partition counts and configs; this table follows it.
 */
#include "broker/broker_int.h"

#include "base/fault.h"
#include "base/log.h"

void
sl_log_cfg_from_topic(const sl_topic_config_t *tc, sl_log_cfg_t *lc)
{
    sl_log_cfg_init(lc);
    lc->segment_bytes = tc->segment_bytes;
    lc->segment_ms = tc->segment_ms;
    lc->segment_index_bytes = tc->segment_index_bytes;
    lc->index_interval_bytes = tc->index_interval_bytes;
    lc->retention_ms = tc->retention_ms;
    lc->retention_bytes = tc->retention_bytes;
    lc->max_message_bytes = tc->max_message_bytes;
    lc->flush_messages = tc->flush_messages;
    lc->flush_ms = tc->flush_ms;
    lc->log_append_time = tc->message_timestamp_type == SL_CFG_TS_LOG_APPEND_TIME;
    lc->compact = (tc->cleanup_policy & SL_CFG_CLEANUP_COMPACT) != 0;
    lc->delete_retention_ms = tc->delete_retention_ms;
    lc->min_compaction_lag_ms = tc->min_compaction_lag_ms;
    lc->max_compaction_lag_ms = tc->max_compaction_lag_ms;
    lc->min_cleanable_dirty_ratio = tc->min_cleanable_dirty_ratio;
    if (!(tc->cleanup_policy & SL_CFG_CLEANUP_DELETE)) {
        /* Compacted-only topics (__consumer_offsets) are never aged out:
         * their size is bounded by compaction, not by retention. */
        lc->retention_ms = -1;
        lc->retention_bytes = -1;
    }
}

/* Single node: every partition is hosted here and led by this broker, at
 * the leader epoch its log last recorded (0 on a broker that never had
 * another leader). A metadata backend's deltas change it later. */
static sl_bpart_t *
bpart_new(sl_broker_t *b, sl_btopic_t *bt, int32_t index, sl_plog_t *pl)
{
    sl_bpart_t *bp = sl_xcalloc(1, sizeof(*bp));
    int32_t epoch = SL_MAX(sl_plog_leader_epoch(pl), 0);

    bp->topic = bt;
    bp->index = index;
    bp->pl = pl;
    sl_pstate_init_local(&bp->st, index, b->node_id, epoch);
    sl_dkey_init(&bp->fetch_key);
    sl_dkey_init(&bp->produce_key);
    bp->compact_base = -1;
    return bp;
}

int
sl_btopic_sync(sl_broker_t *b, const sl_topic_t *t, sl_btopic_t **out)
{
    sl_btopic_t *bt = sl_map_get_c(&b->btopics, t->name);
    sl_log_cfg_t lc;

    if (bt == NULL) {
        bt = sl_xcalloc(1, sizeof(*bt));
        bt->name = sl_xstrdup(t->name);
        sl_map_put(&b->btopics, bt->name, strlen(bt->name), bt);
    }
    memcpy(bt->id, t->id, sizeof(bt->id));
    sl_log_cfg_from_topic(&t->cfg, &lc);
    if (t->partitions > bt->n_parts) {
        bt->parts = sl_xrealloc(bt->parts, (size_t)t->partitions * sizeof(*bt->parts));
        for (int32_t p = bt->n_parts; p < t->partitions; p++) {
            sl_plog_t *pl = sl_log_mgr_get(b->logs, t->name, p);
            int rc;

            rc = sl_fault("broker.partition.create") ? SL_EIO : SL_OK;
            if (rc == SL_OK && pl == NULL)
                rc = sl_log_mgr_create(b->logs, t->name, p, &lc, &pl);
            if (rc != SL_OK) {
                sl_error("broker", "cannot create log for %s-%d: %s", t->name, p, sl_strerror(rc));
                return rc;
            }
            bt->parts[p] = bpart_new(b, bt, p, pl);
            bt->n_parts = p + 1;
        }
    }
    if (out)
        *out = bt;
    return SL_OK;
}

void
sl_btopic_apply_config(sl_broker_t *b, const sl_topic_t *t)
{
    sl_btopic_t *bt = sl_map_get_c(&b->btopics, t->name);
    sl_log_cfg_t lc;

    if (bt == NULL)
        return;
    sl_log_cfg_from_topic(&t->cfg, &lc);
    for (int32_t p = 0; p < bt->n_parts; p++)
        sl_plog_set_cfg(bt->parts[p]->pl, &lc);
}

int
sl_bparts_load(sl_broker_t *b)
{
    for (size_t i = 0; i < sl_topics_count(b->topics); i++) {
        int rc = sl_btopic_sync(b, sl_topics_at(b->topics, i), NULL);

        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

sl_btopic_t *
sl_btopic_find(sl_broker_t *b, sl_str_t name)
{
    return sl_map_get_str(&b->btopics, name);
}

sl_bpart_t *
sl_bpart_find(sl_broker_t *b, sl_str_t topic, int32_t partition)
{
    sl_btopic_t *bt = sl_btopic_find(b, topic);

    if (bt == NULL || partition < 0 || partition >= bt->n_parts)
        return NULL;
    return bt->parts[partition];
}

int16_t
sl_bpart_check_leader(const sl_broker_t *b, const sl_bpart_t *bp, int32_t current_epoch)
{
    return sl_kerr_from_status(sl_pstate_check_leader(&bp->st, b->node_id, current_epoch));
}

static void
bpart_free(sl_bpart_t *bp)
{
    sl_pstate_deinit(&bp->st);
    free(bp);
}

static void
btopic_free(sl_btopic_t *bt)
{
    for (int32_t p = 0; p < bt->n_parts; p++)
        bpart_free(bt->parts[p]);
    free(bt->parts);
    free(bt->name);
    free(bt);
}

void
sl_btopic_drop(sl_broker_t *b, sl_str_t name)
{
    sl_btopic_t *bt = sl_map_del(&b->btopics, name.ptr, (size_t)name.len);

    if (bt == NULL)
        return;
    for (int32_t p = 0; p < bt->n_parts; p++) {
        sl_bpart_t *bp = bt->parts[p];

        /* Parked requests on a deleted partition complete: produces now,
         * fetches on the next loop turn (they find the partition gone). */
        sl_produce_on_drop(b, bp);
        sl_purgatory_drop_key(&b->fetch_purgatory, &bp->fetch_key);
        if (sl_log_mgr_delete(b->logs, bp->pl) != SL_OK)
            sl_warn("broker", "could not delete log of %s-%d", bt->name, p);
    }
    btopic_free(bt);
}

void
sl_btopic_truncate(sl_broker_t *b, const char *name, int32_t n)
{
    sl_btopic_t *bt = sl_map_get_c(&b->btopics, name);

    if (bt == NULL)
        return;
    while (bt->n_parts > n) {
        sl_bpart_t *bp = bt->parts[--bt->n_parts];

        /* Just created: nobody can be parked on it yet. */
        if (sl_log_mgr_delete(b->logs, bp->pl) != SL_OK)
            sl_warn("broker", "could not delete log of %s-%d", bt->name, bt->n_parts);
        bpart_free(bp);
    }
}

void
sl_bparts_free(sl_broker_t *b)
{
    size_t iter = 0;
    const sl_map_slot_t *slot;

    while (sl_map_next(&b->btopics, &iter, &slot))
        btopic_free(slot->value);
    sl_map_deinit(&b->btopics);
    sl_map_init(&b->btopics);
}

sl_btopic_t *
sl_btopic_autocreate(sl_broker_t *b, sl_str_t name, int16_t *err)
{
    const sl_topic_t *t;
    sl_btopic_t *bt;
    sl_errbuf_t eb;
    int rc;

    if (!b->cfg.auto_create_topics_enable) {
        *err = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    /* Partitions past the descriptor budget would take the broker down
     * with them (fdlimit.c). */
    if (!sl_fdlimit_allows(b, b->cfg.num_partitions)) {
        sl_fdlimit_refused(b, name);
        *err = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    rc = sl_topics_create(b->topics, name, -1, -1, NULL, 0, false, &t, &eb);
    if (rc != SL_OK) {
        *err = rc == SL_EINVALID_TOPIC ? SL_KERR_INVALID_TOPIC_EXCEPTION
                                       : SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    if (sl_btopic_sync(b, t, &bt) != SL_OK) {
        /* All or nothing, as for CreateTopics. */
        sl_btopic_drop(b, name);
        if (sl_topics_forget(b->topics, name, &eb) != SL_OK)
            sl_error("broker", "cannot roll back auto-created topic %.*s", name.len, name.ptr);
        *err = SL_KERR_KAFKA_STORAGE_ERROR;
        return NULL;
    }
    sl_info("broker", "auto-created topic %s with %d partitions", t->name, t->partitions);
    *err = SL_KERR_NONE;
    return bt;
}
