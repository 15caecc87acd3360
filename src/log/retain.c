/*
 * retain.c -- the front of a partition log: retention (retention.ms,
 * retention.bytes), DeleteRecords (the log start offset), and the leader
 * epoch cache kept in leader-epoch-checkpoint.
 *
 * Deleting a segment: take it out of the list, rename its files to
 * *.deleted (the commit point: a restart will not load it again), drop the
 * list's reference. Readers holding regions keep the file open; the last
 * reference queues close + unlink on the janitor thread. Retention only
 * deletes from the front and never the active segment (trunc.c deletes from
 * the back, for followers).
 */
#include "log/log_int.h"
#include "log/prodstate.h"

#include "base/log.h"

#include <limits.h>

/* ======================================================================
 * Retention
 * ====================================================================== */

/* Kafka's LogSegment.largestTimestamp: the max batch timestamp, or the
 * file's modification time when no batch carried one. */
static int64_t
seg_largest_ts(const sl_seg_t *seg)
{
    return seg->max_ts >= 0 ? seg->max_ts : sl_seg_last_modified_ms(seg);
}

static bool
deletable(const sl_plog_t *pl, int64_t now, int64_t total)
{
    const sl_seg_t *seg = pl->segs[0];

    if (pl->nsegs < 2)
        return false;
    if (pl->segs[1]->base <= pl->log_start)
        return true;
    /* Like Kafka: time and size retention never delete past the HW. */
    if (pl->segs[1]->base > pl->hw)
        return false;
    if (pl->cfg.retention_ms >= 0 && now - seg_largest_ts(seg) > pl->cfg.retention_ms)
        return true;
    return pl->cfg.retention_bytes >= 0 && total - seg->size >= pl->cfg.retention_bytes;
}

static int
delete_oldest(sl_plog_t *pl)
{
    sl_seg_t *seg = pl->segs[0];
    int rc;

    SL_ASSERT(pl->nsegs > 1);
    if ((rc = sl_seg_mark_deleted(seg)) != SL_OK) {
        sl_error(SL_LOG_COMP, "%s-%" PRId32 ": cannot delete segment %" PRId64 ": %s", pl->topic,
                 pl->partition, seg->base, sl_strerror(rc));
        return rc;
    }
    memmove(pl->segs, pl->segs + 1, (pl->nsegs - 1) * sizeof(*pl->segs));
    pl->nsegs--;
    sl_seg_drop(seg);
    return SL_OK;
}

static void
trim_epochs_start(sl_plog_t *pl)
{
    size_t keep = 0;

    /* Entries wholly below the log start go, the last of them is moved up
     * to start at the log start (Kafka's truncateFromStart). */
    while (keep + 1 < pl->nepochs && pl->epochs[keep + 1].start_offset <= pl->log_start)
        keep++;
    if (keep == 0 && (pl->nepochs == 0 || pl->epochs[0].start_offset >= pl->log_start))
        return;
    memmove(pl->epochs, pl->epochs + keep, (pl->nepochs - keep) * sizeof(*pl->epochs));
    pl->nepochs -= keep;
    if (pl->epochs[0].start_offset < pl->log_start)
        pl->epochs[0].start_offset = pl->log_start;
    sl_plog_write_epochs(pl);
}

static void
advance_log_start(sl_plog_t *pl, int64_t offset)
{
    if (offset <= pl->log_start)
        return;
    pl->log_start = offset;
    if (pl->hw < offset)
        pl->hw = offset;
    trim_epochs_start(pl);
    if (pl->mgr != NULL)
        pl->mgr->ckpt_dirty = true;
}

int
sl_plog_retain(sl_plog_t *pl, int64_t now_ms)
{
    int64_t total = sl_plog_size_bytes(pl);
    int n = 0, rc;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    if (pl->cleaning)
        return 0; /* the cleaner holds the files: next check (cleaner.c) */
    while (deletable(pl, now_ms, total)) {
        int64_t size = pl->segs[0]->size;

        if ((rc = delete_oldest(pl)) != SL_OK)
            return rc;
        total -= size;
        n++;
    }
    if (n > 0) /* producer snapshots of the deleted segments, one listing */
        sl_psnap_trim_async(pl, pl->segs[0]->base);
    advance_log_start(pl, pl->segs[0]->base);
    return n;
}

int
sl_plog_delete_records(sl_plog_t *pl, int64_t offset, int64_t *low_watermark)
{
    int rc;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    if (offset < 0)
        offset = pl->hw;
    if (offset > pl->hw)
        return SL_ERANGE;
    advance_log_start(pl, offset);
    /* While a clean is in flight the segments go at the next retention
     * check (reads already stop at the new log start). */
    if (!pl->cleaning && pl->nsegs > 1 && pl->segs[1]->base <= pl->log_start) {
        while (pl->nsegs > 1 && pl->segs[1]->base <= pl->log_start) {
            if ((rc = delete_oldest(pl)) != SL_OK)
                return rc;
        }
        sl_psnap_trim_async(pl, pl->segs[0]->base);
    }
    *low_watermark = pl->log_start;
    if (pl->mgr != NULL)
        sl_log_mgr_checkpoint(pl->mgr);
    return SL_OK;
}

/* ======================================================================
 * Leader epochs
 * ====================================================================== */

typedef struct epoch_job {
    sl_bg_job_t job;
    sl_plog_t *pl;
    char *data;
    size_t len;
} epoch_job_t;

static void
epoch_run(sl_bg_job_t *job)
{
    epoch_job_t *ej = (epoch_job_t *)job;
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", ej->pl->dir);
    job->rc = sl_ckpt_write_file(path, ej->data, ej->len);
}

static void
epoch_done(sl_bg_job_t *job)
{
    epoch_job_t *ej = (epoch_job_t *)job;

    /* Recovery trusts this file to check batch epochs: without it, batches
     * of the new epoch must never be acknowledged. */
    if (job->rc != SL_OK)
        sl_plog_set_offline(ej->pl, job->rc, "cannot write leader-epoch-checkpoint");
    sl_plog_unref(ej->pl);
    free(ej->data);
    free(ej);
}

/* Queued on the flusher, so it is on disk before any later flush
 * completes (jobs run in order). */
void
sl_plog_write_epochs(sl_plog_t *pl)
{
    epoch_job_t *ej = sl_xcalloc(1, sizeof(*ej));

    ej->job.run = epoch_run;
    ej->job.done = epoch_done;
    ej->pl = pl;
    ej->data = sl_ckpt_format_epochs(pl->epochs, pl->nepochs, &ej->len);
    pl->refs++;
    sl_bg_submit(&pl->mgr->flusher, &ej->job);
}

int
sl_plog_write_epochs_sync(sl_plog_t *pl)
{
    char path[PATH_MAX];
    size_t len;
    char *data;
    int rc;

    /* Queued writes of this file run on the flusher: an older content
     * must not land after this one. */
    if (pl->mgr != NULL)
        sl_bg_drain(&pl->mgr->flusher);
    snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", pl->dir);
    data = sl_ckpt_format_epochs(pl->epochs, pl->nepochs, &len);
    rc = sl_ckpt_write_file(path, data, len);
    free(data);
    if (rc != SL_OK)
        sl_plog_set_offline(pl, rc, "cannot write leader-epoch-checkpoint");
    return rc;
}

int
sl_plog_read_epochs(sl_plog_t *pl)
{
    char path[PATH_MAX];
    size_t n;
    int rc;

    snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", pl->dir);
    free(pl->epochs);
    pl->epochs = NULL;
    pl->nepochs = 0;
    if ((rc = sl_ckpt_read_epochs(path, &pl->epochs, &n)) != SL_OK)
        return rc;
    pl->nepochs = n;
    return SL_OK;
}

void
sl_plog_trim_epochs_loaded(sl_plog_t *pl)
{
    size_t n = pl->nepochs;

    /* Epochs that start past the recovered end describe lost data. An
     * epoch starting exactly at the LEO is kept: a leader elected just
     * before the stop has appended nothing yet. */
    while (pl->nepochs > 0 && pl->epochs[pl->nepochs - 1].start_offset > pl->leo)
        pl->nepochs--;
    if (n != pl->nepochs)
        sl_plog_write_epochs(pl);
    trim_epochs_start(pl);
    pl->leader_epoch = pl->nepochs > 0 ? pl->epochs[pl->nepochs - 1].epoch : 0;
}

void
sl_plog_set_leader_epoch(sl_plog_t *pl, int32_t epoch)
{
    pl->leader_epoch = epoch;
    if (pl->nepochs > 0 && pl->epochs[pl->nepochs - 1].epoch >= epoch)
        return;
    while (pl->nepochs > 0 && pl->epochs[pl->nepochs - 1].start_offset >= pl->leo)
        pl->nepochs--;
    pl->epochs = sl_xrealloc(pl->epochs, (pl->nepochs + 1) * sizeof(*pl->epochs));
    pl->epochs[pl->nepochs++] = (sl_epoch_entry_t){epoch, pl->leo};
    sl_plog_write_epochs(pl);
}

int32_t
sl_plog_leader_epoch(const sl_plog_t *pl)
{
    return pl->leader_epoch;
}

/* Kafka's LeaderEpochFileCache.endOffsetFor. */
int
sl_plog_epoch_end(const sl_plog_t *pl, int32_t epoch, int32_t *found_epoch, int64_t *end_offset)
{
    size_t i = pl->nepochs;

    *found_epoch = SL_UNDEFINED_EPOCH;
    *end_offset = SL_UNDEFINED_EPOCH_OFFSET;
    if (epoch < 0 || pl->nepochs == 0 || epoch > pl->epochs[pl->nepochs - 1].epoch)
        return SL_ENOENT;
    if (epoch == pl->epochs[pl->nepochs - 1].epoch) {
        /* the epoch still being written (a consumer checking its offset) */
        *found_epoch = epoch;
        *end_offset = pl->leo;
        return SL_OK;
    }
    /* i: the first entry with a higher epoch (one exists) */
    while (i > 0 && pl->epochs[i - 1].epoch > epoch)
        i--;
    /* Below every known epoch: its data is gone; the follower goes on from
     * the start of the first epoch we know. */
    *found_epoch = i > 0 ? pl->epochs[i - 1].epoch : epoch;
    *end_offset = pl->epochs[i].start_offset;
    return SL_OK;
}
