/*
 * groups.c -- the broker side of the consumer-group coordinator (group/):
 * it owns the coordinator, persists its records in `__consumer_offsets`
 * (Kafka's own key/value formats, so tools that read the topic work),
 * rebuilds it from that topic at start-up, and drives its timers.
 *
 * A write is acknowledged to the coordinator only once fsynced, so a
 * committed offset survives a crash. Parked group requests hold a ticket:
 * when their connection goes away the ticket forgets the request, and the
 * coordinator's eventual completion only frees the ticket.
 */
#include "broker/broker_int.h"

#include "base/log.h"
#include "base/time.h"
#include "proto/record.h"

#include <unistd.h>

/* A coordinator write awaiting fsync: a delayed operation of the produce
 * purgatory on its partition, as a Produce with acks=all would be (Kafka
 * appends coordinator records through the same DelayedProduce). */
typedef struct gpersist {
    sl_delayed_t op;
    sl_dwatch_t watch;
    sl_dlist_t link; /* in sl_broker_t.gpersists (for shutdown) */
    sl_broker_t *b;
    sl_bpart_t *bp;
    uint64_t id;
    int64_t upto;
    uint64_t flush_errors; /* bp->flush_errors when it was queued */
} gpersist_t;

static void compact_finish(sl_broker_t *b, sl_bpart_t *bp);
static void maybe_compact(sl_broker_t *b, sl_bpart_t *bp);

/* ---- parked requests ------------------------------------------------------ */

static void
ticket_cancel(sl_req_t *req)
{
    sl_gticket_t *t = req->park;

    t->req = NULL;
}

sl_gticket_t *
sl_gticket_new(sl_req_t *req)
{
    sl_gticket_t *t = sl_xcalloc(1, sizeof(*t));

    t->req = req;
    req->park = t;
    req->cancel = ticket_cancel;
    return t;
}

/* Takes the ticket back from the coordinator; returns the live request or NULL. */
static sl_req_t *
ticket_take(void *cookie)
{
    sl_gticket_t *t = cookie;
    sl_req_t *req = t->req;

    free(t);
    if (req) {
        req->park = NULL;
        req->cancel = NULL;
    }
    return req;
}

void
sl_gticket_unused(sl_req_t *req)
{
    /* The coordinator answered at once: it never kept the ticket. */
    ticket_take(req->park);
}

static void
on_join_done(void *ctx, void *cookie, const sl_gjoin_resp_t *resp)
{
    sl_req_t *req = ticket_take(cookie);

    (void)ctx;
    if (req) {
        sl_group_join_fill(req, resp);
        sl_req_finish(req);
    }
}

static void
on_sync_done(void *ctx, void *cookie, const sl_gsync_resp_t *resp)
{
    sl_req_t *req = ticket_take(cookie);

    (void)ctx;
    if (req) {
        sl_group_sync_fill(req, resp);
        sl_req_finish(req);
    }
}

static void
on_commit_done(void *ctx, void *cookie, const sl_gcommit_resp_t *resp)
{
    sl_req_t *req = ticket_take(cookie);

    (void)ctx;
    if (req) {
        sl_group_commit_fill(req, resp);
        sl_req_finish(req);
    }
}

/* ---- persistence ----------------------------------------------------------- */

static int
append_records(sl_broker_t *b, sl_bpart_t *bp, const sl_grecord_t *recs, int32_t n,
               sl_log_append_info_t *info)
{
    sl_batch_builder_t bb;
    sl_batch_opts_t opts;
    sl_buf_t out = SL_BUF_INIT;
    int rc = SL_OK;

    sl_batch_opts_init(&opts);
    sl_batch_builder_init(&bb, &opts);
    for (int32_t i = 0; i < n && rc == SL_OK; i++)
        rc =
            sl_batch_builder_append(&bb, recs[i].timestamp_ms, recs[i].key, recs[i].value, NULL, 0);
    if (rc == SL_OK)
        rc = sl_batch_builder_finish(&bb, &out);
    if (rc == SL_OK)
        rc = sl_plog_append(bp->pl, out.data, out.len, info);
    if (rc == SL_OK)
        sl_fetch_on_append(b, bp, info->bytes);
    sl_batch_builder_deinit(&bb);
    sl_buf_deinit(&out);
    return rc;
}

static bool
persist_ready(sl_delayed_t *op)
{
    gpersist_t *gp = SL_CONTAINER_OF(op, gpersist_t, op);

    return sl_plog_durable_offset(gp->bp->pl) >= gp->upto ||
           gp->bp->flush_errors != gp->flush_errors;
}

/* Durable, failed, or past offsets.commit.timeout.ms (Kafka answers a
 * timed-out coordinator append COORDINATOR_NOT_AVAILABLE). */
static void
persist_done(sl_delayed_t *op, bool expired)
{
    gpersist_t *gp = SL_CONTAINER_OF(op, gpersist_t, op);
    sl_broker_t *b = gp->b;
    sl_bpart_t *bp = gp->bp;
    bool ok = !expired && sl_plog_durable_offset(bp->pl) >= gp->upto;

    sl_dlist_remove(&gp->link);
    bp->gpersists_pending--;
    sl_gcoord_persisted(b->gc, gp->id, ok ? SL_GKERR_NONE : SL_GKERR_COORDINATOR_NOT_AVAILABLE,
                        sl_wall_ms());
    free(gp);
    /* The last write in flight on bp may have held a compaction back. */
    if (bp->gpersists_pending == 0)
        maybe_compact(b, bp);
    sl_groups_rearm(b);
}

static void
on_persist(void *ctx, int32_t partition, sl_str_t group_id, const sl_grecord_t *recs, int32_t n,
           uint64_t persist_id)
{
    sl_broker_t *b = ctx;
    sl_bpart_t *bp = sl_bpart_find(b, SL_STR_LIT(SL_TOPIC_OFFSETS), partition);
    sl_log_append_info_t info;
    gpersist_t *gp;
    int rc;

    (void)group_id;
    if (bp == NULL) {
        sl_gcoord_persisted(b->gc, persist_id, SL_GKERR_NOT_COORDINATOR, sl_wall_ms());
        return;
    }
    rc = append_records(b, bp, recs, n, &info);
    if (rc == SL_OK) {
        bp->since_compact += info.bytes;
        rc = sl_plog_request_flush(bp->pl, info.last_offset + 1);
    }
    if (rc == SL_OK || rc != SL_EAGAIN) {
        sl_gcoord_persisted(b->gc, persist_id,
                            rc == SL_OK        ? SL_GKERR_NONE
                            : rc == SL_ETOOBIG ? SL_GKERR_INVALID_COMMIT_OFFSET_SIZE
                                               : SL_GKERR_COORDINATOR_NOT_AVAILABLE,
                            sl_wall_ms());
        return;
    }
    gp = sl_xcalloc(1, sizeof(*gp));
    gp->b = b;
    gp->bp = bp;
    gp->id = persist_id;
    gp->upto = info.last_offset + 1;
    gp->flush_errors = bp->flush_errors;
    sl_dlist_insert_tail(&b->gpersists, &gp->link);
    bp->gpersists_pending++;
    sl_delayed_init(&gp->op, persist_ready, persist_done);
    {
        sl_dkey_t *key = &bp->produce_key;

        sl_purgatory_watch(&b->produce_purgatory, &gp->op, &key, 1, &gp->watch,
                           b->offsets_commit_timeout_ms);
    }
}

void
sl_groups_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc)
{
    /* The persists on bp complete through the produce purgatory's check
     * (queued by sl_produce_on_durable). */
    if (bp->topic && strcmp(bp->topic->name, SL_TOPIC_OFFSETS) == 0) {
        if (bp->compact_base >= 0 && rc == SL_OK && bp->compact_base < durable_end)
            compact_finish(b, bp);
        if (rc == SL_OK)
            maybe_compact(b, bp);
    }
    sl_groups_rearm(b);
}

/* ---- compaction ---------------------------------------------------------------
 *
 * __consumer_offsets would grow forever with every commit. Instead of
 * Kafka's log cleaner, a partition is compacted by rewriting it: the
 * coordinator's live state (its snapshot: every group's metadata and every
 * committed offset) is appended as one batch and, once that batch is
 * fsynced, the log start offset moves to it, so replay starts from the
 * snapshot and everything older is deleted. Only done when no write of
 * that partition is in flight: the snapshot holds acknowledged state only,
 * and an in-flight record below the snapshot would be lost with the prefix.
 * A crash at any point leaves either the old prefix or the snapshot, and
 * replaying both is harmless (later records win).
 */

typedef struct snap_ctx {
    sl_batch_builder_t bb;
    int rc;
    int32_t n;
} snap_ctx_t;

static void
on_snapshot_record(void *ctx, int32_t partition, sl_str_t group_id, const sl_grecord_t *rec)
{
    snap_ctx_t *sc = ctx;

    (void)partition;
    (void)group_id;
    if (sc->rc == SL_OK)
        sc->rc = sl_batch_builder_append(&sc->bb, rec->timestamp_ms, rec->key, rec->value, NULL, 0);
    sc->n++;
}

static int64_t
compact_threshold(const sl_broker_t *b)
{
    /* A quarter of a segment: the rewrite stays small next to what it frees. */
    return SL_MAX((int64_t)b->cfg.offsets_topic_segment_bytes / 4, 4096);
}

static void
compact_finish(sl_broker_t *b, sl_bpart_t *bp)
{
    int64_t low;
    int rc = sl_plog_delete_records(bp->pl, bp->compact_base, &low);

    if (rc != SL_OK)
        sl_warn("groups", "%s-%d: compaction could not advance the log start: %s", SL_TOPIC_OFFSETS,
                bp->index, sl_strerror(rc));
    else
        sl_debug("groups", "%s-%d compacted: log starts at %lld", SL_TOPIC_OFFSETS, bp->index,
                 (long long)low);
    bp->compact_base = -1;
}

static void
maybe_compact(sl_broker_t *b, sl_bpart_t *bp)
{
    snap_ctx_t sc = {.rc = SL_OK};
    sl_batch_opts_t opts;
    sl_buf_t out = SL_BUF_INIT;
    sl_log_append_info_t info;
    int rc;

    /* With the log cleaner on (log.cleaner.enable, log.cleaner.threads > 0)
     * __consumer_offsets is compacted like any cleanup.policy=compact topic,
     * as in Kafka; the snapshot rewrite is the fallback without it. */
    if (b->cfg.log_cleaner_enable && b->cfg.log_cleaner_threads > 0)
        return;
    if (bp->since_compact < compact_threshold(b) || bp->compact_base >= 0 ||
        bp->gpersists_pending > 0)
        return;
    bp->since_compact = 0;
    sl_batch_opts_init(&opts);
    sl_batch_builder_init(&sc.bb, &opts);
    sl_gcoord_snapshot(b->gc, bp->index, on_snapshot_record, &sc);
    if (sc.n == 0) {
        /* Nothing live: everything up to the end can go. */
        bp->compact_base = sl_plog_leo(bp->pl);
        sl_batch_builder_deinit(&sc.bb);
        compact_finish(b, bp);
        return;
    }
    rc = sc.rc;
    if (rc == SL_OK)
        rc = sl_batch_builder_finish(&sc.bb, &out);
    if (rc == SL_OK)
        rc = sl_plog_append(bp->pl, out.data, out.len, &info);
    sl_batch_builder_deinit(&sc.bb);
    sl_buf_deinit(&out);
    if (rc != SL_OK) {
        sl_warn("groups", "%s-%d: snapshot not written: %s", SL_TOPIC_OFFSETS, bp->index,
                sl_strerror(rc));
        return;
    }
    sl_fetch_on_append(b, bp, info.bytes);
    bp->compact_base = info.base_offset;
    rc = sl_plog_request_flush(bp->pl, info.last_offset + 1);
    if (rc == SL_OK)
        compact_finish(b, bp);
    else if (rc != SL_EAGAIN)
        bp->compact_base = -1; /* offline: leave the prefix alone */
}

/* ---- timers ---------------------------------------------------------------- */

static void
on_group_timer(sl_loop_t *loop, void *arg)
{
    sl_broker_t *b = arg;
    int64_t now = sl_wall_ms();

    (void)loop;
    for (int i = 0; i < 16 && sl_gcoord_next_deadline(b->gc) <= now; i++)
        sl_gcoord_tick(b->gc, now);
    sl_groups_rearm(b);
}

void
sl_groups_rearm(sl_broker_t *b)
{
    int64_t deadline = sl_gcoord_next_deadline(b->gc);
    int64_t delay;

    if (deadline == INT64_MAX) {
        sl_timer_stop(b->loop, &b->gtimer);
        return;
    }
    delay = deadline - sl_wall_ms();
    sl_timer_start(b->loop, &b->gtimer, delay < 0 ? 0 : delay);
}

/* ---- loading from __consumer_offsets ---------------------------------------- */

static int
replay_batch(sl_broker_t *b, const uint8_t *p, size_t len, int64_t now)
{
    sl_record_iter_t it;
    sl_record_t r;
    int rc = sl_record_iter_init(&it, p, len, &b->scratch, 64u << 20);

    if (rc != SL_OK)
        return rc;
    if (it.hdr.attributes & SL_ATTR_CONTROL)
        return SL_OK;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        int prc = sl_gcoord_replay(b->gc, r.key, r.value, now);

        if (prc != SL_OK)
            sl_warn("groups", "skipping an unreadable record at offset %lld: %s",
                    (long long)r.offset, sl_strerror(prc));
    }
    return rc;
}

/* Replays one region (whole batches) read from the log. */
static int
replay_region(sl_broker_t *b, const sl_log_region_t *rg, int64_t now)
{
    uint8_t *data = sl_xmalloc((size_t)rg->len);
    size_t off = 0;
    int rc = SL_OK;

    if (pread(rg->fd, data, (size_t)rg->len, rg->pos) != rg->len)
        rc = SL_EIO;
    while (rc == SL_OK && off + SL_BATCH_HEADER_SIZE <= (size_t)rg->len) {
        sl_batch_hdr_t h;

        if (sl_batch_hdr_parse(data + off, (size_t)rg->len - off, &h) != SL_OK ||
            h.batch_length < 0 || (uint64_t)sl_batch_size(&h) > (size_t)rg->len - off) {
            rc = SL_ECORRUPT;
            break;
        }
        rc = replay_batch(b, data + off, (size_t)sl_batch_size(&h), now);
        off += (size_t)sl_batch_size(&h);
    }
    free(data);
    return rc;
}

static int
load_partition(sl_broker_t *b, sl_bpart_t *bp, int64_t *records_bytes)
{
    int64_t off = sl_plog_log_start(bp->pl), leo = sl_plog_leo(bp->pl);
    int64_t now = sl_wall_ms();
    int rc = SL_OK;

    sl_gcoord_load_begin(b->gc, bp->index);
    while (rc == SL_OK && off < leo) {
        sl_log_region_t rg;

        rc = sl_plog_read(bp->pl, off, 1 << 20, leo, true, &rg);
        if (rc != SL_OK || rg.len == 0) {
            sl_log_region_release(&rg);
            break;
        }
        rc = replay_region(b, &rg, now);
        *records_bytes += rg.len;
        off = rg.next_offset;
        sl_log_region_release(&rg);
    }
    sl_buf_reset(&b->scratch);
    sl_gcoord_load_end(b->gc, bp->index, sl_wall_ms());
    return rc;
}

/*
 * A metadata backend moved leadership of a __consumer_offsets partition:
 * the new leader loads its groups, a resigning one drops them (Kafka's
 * onElection / onResignation). Never called on a single node, whose
 * partitions are led by this broker from the start.
 */
static void
on_partition_change(void *ctx, const char *topic, const sl_pstate_t *ps, unsigned changes)
{
    sl_broker_t *b = ctx;
    sl_bpart_t *bp;
    int64_t bytes = 0;
    int rc;

    if (b->gc == NULL || strcmp(topic, SL_TOPIC_OFFSETS) != 0)
        return;
    if ((bp = sl_bpart_find(b, SL_STR_LIT(SL_TOPIC_OFFSETS), ps->partition)) == NULL)
        return;
    if (changes & SL_PCHG_BECAME_FOLLOWER)
        sl_gcoord_unload(b->gc, ps->partition);
    if (changes & SL_PCHG_BECAME_LEADER) {
        if ((rc = load_partition(b, bp, &bytes)) != SL_OK)
            sl_warn("groups", "%s-%d loaded partially: %s", SL_TOPIC_OFFSETS, ps->partition,
                    sl_strerror(rc));
        bp->since_compact = bytes;
    }
    sl_groups_rearm(b);
}

int
sl_groups_start(sl_broker_t *b)
{
    sl_gcoord_config_t gcfg;
    sl_gcoord_cbs_t cbs = {b, on_persist, on_join_done, on_sync_done, on_commit_done};
    const sl_topic_t *t = sl_topics_find(b->topics, SL_STR_LIT(SL_TOPIC_OFFSETS));
    sl_btopic_t *bt;
    sl_errbuf_t eb;
    int64_t bytes = 0, t0 = sl_mono_ms();
    int rc;

    if (t == NULL && (rc = sl_topics_create_internal(b->topics, SL_STR_LIT(SL_TOPIC_OFFSETS), &t,
                                                     &eb)) != SL_OK) {
        sl_error("groups", "cannot create %s: %s", SL_TOPIC_OFFSETS, eb.msg);
        return rc;
    }
    if ((rc = sl_btopic_sync(b, t, &bt)) != SL_OK)
        return rc;
    sl_gcoord_config_default(&gcfg);
    gcfg.num_partitions = bt->n_parts;
    gcfg.initial_rebalance_delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    gcfg.min_session_timeout_ms = b->cfg.group_min_session_timeout_ms;
    gcfg.max_session_timeout_ms = b->cfg.group_max_session_timeout_ms;
    gcfg.max_size = b->cfg.group_max_size;
    gcfg.offsets_retention_ms = b->cfg.offsets_retention_ms;
    gcfg.retention_check_interval_ms = b->cfg.offsets_retention_check_interval_ms;
    gcfg.offset_metadata_max_bytes = b->cfg.offset_metadata_max_bytes;
    b->gc = sl_gcoord_new(&gcfg, &cbs);
    sl_dlist_init(&b->gpersists);
    b->offsets_commit_timeout_ms = 5000;
    {
        const char *v = sl_broker_config_value(&b->cfg, "offsets.commit.timeout.ms", NULL);

        if (v != NULL && atoi(v) > 0)
            b->offsets_commit_timeout_ms = atoi(v);
    }
    sl_timer_init(&b->gtimer, on_group_timer, b);
    for (int32_t p = 0; p < bt->n_parts; p++) {
        int64_t before = bytes;

        rc = load_partition(b, bt->parts[p], &bytes);
        bt->parts[p]->since_compact = bytes - before;
        if (rc != SL_OK)
            sl_warn("groups", "%s-%d loaded partially: %s", SL_TOPIC_OFFSETS, p, sl_strerror(rc));
    }
    if (!sl_meta_listen(b, on_partition_change, b))
        sl_warn("groups", "no room for the coordinator's partition listener");
    sl_info("groups", "group coordinator loaded %lld bytes from %d partitions in %lld ms",
            (long long)bytes, bt->n_parts, (long long)(sl_mono_ms() - t0));
    sl_groups_rearm(b);
    return SL_OK;
}

void
sl_groups_stop(sl_broker_t *b)
{
    if (b->gc == NULL)
        return;
    sl_timer_stop(b->loop, &b->gtimer);
    while (!sl_dlist_empty(&b->gpersists)) {
        gpersist_t *gp = SL_CONTAINER_OF(b->gpersists.next, gpersist_t, link);

        sl_dlist_remove(&gp->link);
        sl_delayed_cancel(&gp->op);
        gp->bp->gpersists_pending--;
        free(gp);
    }
    sl_gcoord_free(b->gc);
    b->gc = NULL;
}
