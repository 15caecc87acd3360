/*
 * trunc.c -- the back of a partition log: a follower cuts its tail
 * (Kafka's truncateTo, after OffsetsForLeaderEpoch) or drops everything to
 * start again at a leader's log start (truncateFullyAndStartAt).
 *
 * Both are synchronous and durable on return, so a follower never gets a
 * cut tail back after a crash. The order makes every crash point safe:
 *  1. the recovery point on disk goes down first (lowering it is always
 *     safe: recovery then CRC-checks more), so the cut log never looks
 *     like acknowledged data that went missing;
 *  2. leader-epoch-checkpoint loses the entries of the cut part (for
 *     truncateTo; a crash now leaves batches whose epoch the file no
 *     longer has, past the recovery point: recovery cuts them as a tear);
 *  3. segments wholly past the cut are renamed *.deleted (the commit
 *     point for each, as for retention), the containing one is cut and
 *     fdatasynced, the directory fsynced;
 *  4. the in-memory state and, when the log start moved, the checkpoints.
 * A flush in flight is voided (trunc_gen): its target may be past the new
 * LEO or cover new, unsynced data by then. Read regions keep their bytes:
 * deleted segments stay open through their references, and a containing
 * segment with a region is cut by copy (see sl_seg_cut).
 */
#include "log/log_int.h"
#include "log/prodstate.h"

#include "base/log.h"

#include <limits.h>

static size_t
seg_index_for(const sl_plog_t *pl, int64_t offset)
{
    size_t i = pl->nsegs - 1;

    while (i > 0 && pl->segs[i]->base > offset)
        i--;
    return i;
}

/* After the data changed: the partition cannot be trusted in memory. */
static int
trunc_fail(sl_plog_t *pl, int rc, const char *what)
{
    char why[128];

    snprintf(why, sizeof(why), "truncation failed: %s", what);
    sl_plog_set_offline(pl, rc, why);
    return SL_EIO;
}

/* Step 1: the checkpoints with a lower recovery point (and log start),
 * restored in memory if they cannot be written (nothing changed yet). */
static int
lower_checkpoint(sl_plog_t *pl, int64_t durable, int64_t log_start)
{
    int64_t old_durable = pl->durable, old_start = pl->log_start;
    int rc;

    if (pl->mgr == NULL)
        return SL_OK;
    pl->durable = SL_MIN(pl->durable, durable);
    pl->log_start = SL_MIN(pl->log_start, log_start);
    if ((rc = sl_log_mgr_checkpoint_sync(pl->mgr)) != SL_OK) {
        pl->durable = old_durable;
        pl->log_start = old_start;
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": truncation not started: checkpoint: %s", pl->topic,
                pl->partition, sl_strerror(rc));
    }
    return rc;
}

/* Renames and drops segs[from..]. */
static int
delete_from(sl_plog_t *pl, size_t from)
{
    int rc;

    while (pl->nsegs > from) {
        sl_seg_t *seg = pl->segs[pl->nsegs - 1];

        if ((rc = sl_seg_mark_deleted(seg)) != SL_OK)
            return rc;
        pl->nsegs--;
        sl_seg_drop(seg);
    }
    pl->dir_dirty = true;
    return SL_OK;
}

static void
void_flushes(sl_plog_t *pl)
{
    pl->trunc_gen++;
    pl->flush_wanted = SL_MIN(pl->flush_wanted, pl->leo);
    pl->durable = SL_MIN(pl->durable, pl->leo);
    pl->hw = SL_MIN(SL_MAX(pl->hw, pl->log_start), pl->leo);
    pl->first_unflushed_ms = pl->durable >= pl->leo ? -1 : pl->first_unflushed_ms;
}

static int
sync_dir(sl_plog_t *pl)
{
    int rc = sl_log_fsync_dir(pl->dir);

    if (rc == SL_OK)
        pl->dir_dirty = false;
    return rc;
}

int
sl_plog_truncate_fully_and_start_at(sl_plog_t *pl, int64_t offset)
{
    sl_seg_t *seg;
    int rc;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    if (offset < 0)
        return SL_EINVAL;
    /* The log start too: a crash after step 3 leaves one empty segment at
     * `offset`, which a checkpointed start past it would refuse to load. */
    if ((rc = lower_checkpoint(pl, SL_MIN(offset, pl->log_start), offset)) != SL_OK)
        return rc;
    if ((rc = delete_from(pl, 0)) != SL_OK)
        return trunc_fail(pl, rc, "rename");
    /* A partition always has an active segment; until the new one exists
     * the list is empty, so the create must succeed or the log is offline. */
    if ((rc = sl_seg_create(pl->dir, offset, &pl->cfg, pl->mgr, &seg)) != SL_OK)
        return trunc_fail(pl, rc, "new segment");
    sl_plog_push_seg(pl, seg);
    if ((rc = sync_dir(pl)) != SL_OK)
        return trunc_fail(pl, rc, "directory fsync");
    pl->leo = pl->log_start = pl->hw = pl->durable = offset;
    void_flushes(pl);
    pl->nepochs = 0;
    sl_psnap_delete_outside(pl, INT64_MAX, INT64_MAX); /* every snapshot */
    (void)sl_psnap_load(pl);
    if (pl->mgr == NULL)
        return SL_OK;
    if ((rc = sl_plog_write_epochs_sync(pl)) != SL_OK)
        return SL_EIO;
    if ((rc = sl_log_mgr_checkpoint_sync(pl->mgr)) != SL_OK)
        return trunc_fail(pl, rc, "checkpoint");
    return SL_OK;
}

int
sl_plog_truncate_to(sl_plog_t *pl, int64_t offset)
{
    sl_seg_hit_t hit;
    sl_seg_t *seg, *cut;
    size_t i, keep;
    int64_t leo;
    int rc;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    if (offset < 0)
        return SL_EINVAL;
    if (offset >= pl->leo)
        return SL_OK; /* as Kafka: nothing past it */
    if (offset < pl->log_start)
        return sl_plog_truncate_fully_and_start_at(pl, offset);
    i = seg_index_for(pl, offset);
    seg = pl->segs[i];
    if (offset >= seg->next_offset) {
        /* in an offset gap between two segments: this one stays whole */
        hit.pos = seg->size;
        hit.base = seg->next_offset;
    } else if ((rc = sl_seg_find(seg, offset, &hit)) != SL_OK) {
        return rc == SL_ENFILE ? rc : trunc_fail(pl, rc, "lookup");
    }
    /* Inside a batch: the whole batch goes (Kafka cuts at its base). */
    leo = hit.base;
    if ((rc = lower_checkpoint(pl, leo, pl->log_start)) != SL_OK)
        return rc;
    keep = pl->nepochs;
    while (keep > 0 && pl->epochs[keep - 1].start_offset >= leo)
        keep--;
    if (keep != pl->nepochs && pl->mgr != NULL) {
        pl->nepochs = keep;
        if (sl_plog_write_epochs_sync(pl) != SL_OK)
            return SL_EIO;
    }
    pl->nepochs = keep;
    if ((rc = delete_from(pl, i + 1)) != SL_OK)
        return trunc_fail(pl, rc, "rename");
    if ((rc = sl_seg_reopen_active(seg, pl->cfg.segment_index_bytes)) != SL_OK)
        return trunc_fail(pl, rc, "reopen segment");
    if ((rc = sl_seg_cut(seg, hit.pos, leo, pl->cfg.segment_index_bytes, &cut)) != SL_OK)
        return trunc_fail(pl, rc, "cut");
    if (cut != seg) {
        pl->segs[i] = cut;
        sl_seg_drop(seg);
        pl->dir_dirty = true;
    }
    if (pl->dir_dirty && (rc = sync_dir(pl)) != SL_OK)
        return trunc_fail(pl, rc, "directory fsync");
    sl_info(SL_LOG_COMP, "%s-%" PRId32 ": truncated to offset %" PRId64 " (asked %" PRId64 ")",
            pl->topic, pl->partition, leo, offset);
    pl->leo = leo;
    /* The log start was inside the cut batch (DeleteRecords mid-batch):
     * the log is empty, and starts where it ends. */
    if (pl->log_start > leo) {
        pl->log_start = leo;
        if (pl->mgr != NULL && (rc = sl_log_mgr_checkpoint_sync(pl->mgr)) != SL_OK)
            return trunc_fail(pl, rc, "checkpoint");
    }
    void_flushes(pl);
    /* Producer state past the cut goes: rebuilt from the snapshot below. */
    (void)sl_psnap_load(pl);
    return SL_OK;
}
