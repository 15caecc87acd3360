/*
 * flush.c -- durability: group-commit fsync on the flusher thread.
 *
 * A partition has at most one flush in flight. It covers the LEO at the time
 * it starts, so every batch written before it -- however many producers
 * sent them -- is made durable by the same fdatasync. Requests that arrive
 * while it runs raise flush_wanted; when it completes, one more flush starts
 * for all of them. The recovery point (`durable`) moves only when a flush
 * completes; if an fsync fails the partition goes offline and `durable`
 * never moves again, because Linux may already have dropped the dirty pages
 * and a retry could report success for data that is gone.
 *
 * A flush syncs every segment from the one holding the recovery point to
 * the active one (a roll leaves the old segment's tail unsynced), and the
 * partition directory when a segment file was created since the last flush
 * (and the log directory when the partition is new), so a new file's name
 * survives a power cut as well as its bytes.
 */
#include "log/log_int.h"

#include "base/fault.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

typedef struct flush_job {
    sl_bg_job_t job; /* first: the worker frees through it */
    sl_plog_t *pl;
    int64_t target;
    uint64_t trunc_gen; /* a truncation since the start voids target */
    bool sync_dir, sync_parent;
    size_t nsegs;
    sl_seg_t **segs; /* referenced */
    int fds[];       /* nsegs fds, read by the worker */
} flush_job_t;

static int
fsync_fd(int fd)
{
    if (sl_fault("log.fsync"))
        return SL_EIO;
    return fdatasync(fd) == 0 ? SL_OK : sl_log_errno(errno);
}

static int
fsync_dir(const char *dir)
{
    if (sl_fault("log.fsync"))
        return SL_EIO;
    return sl_log_fsync_dir(dir);
}

static int
fsync_parent(const char *dir)
{
    char parent[PATH_MAX];
    char *slash;

    snprintf(parent, sizeof(parent), "%s", dir);
    slash = strrchr(parent, '/');
    if (slash == NULL)
        return fsync_dir(".");
    *slash = '\0';
    return fsync_dir(parent[0] ? parent : "/");
}

/* Worker thread: touches only the job's own copies (fds, dir string that
 * lives as long as the plog reference the job holds). */
static void
flush_run(sl_bg_job_t *job)
{
    flush_job_t *fj = (flush_job_t *)job;
    int rc = SL_OK;

    for (size_t i = 0; i < fj->nsegs && rc == SL_OK; i++)
        rc = fj->fds[i] == -1 ? SL_OK : fj->fds[i] == -2 ? SL_ENFILE : fsync_fd(fj->fds[i]);
    if (rc == SL_OK && fj->sync_dir)
        rc = fsync_dir(fj->pl->dir);
    if (rc == SL_OK && fj->sync_parent)
        rc = fsync_parent(fj->pl->dir);
    job->rc = rc;
}

static void
flush_done(sl_bg_job_t *job)
{
    flush_job_t *fj = (flush_job_t *)job;
    sl_plog_t *pl = fj->pl;
    sl_log_mgr_t *mgr = pl->mgr;

    pl->flush_inflight = false;
    /* Something that had to be durable first (the epoch file) failed. */
    if (job->rc == SL_OK && pl->offline_rc != SL_OK)
        job->rc = SL_EIO;
    if (job->rc == SL_OK && fj->trunc_gen != pl->trunc_gen) {
        /* The log was cut while this ran: what it synced may be gone and
         * offsets below target may be new, unsynced data. Nothing moves;
         * flush_wanted starts a flush of the new tail below. */
    } else if (job->rc == SL_OK) {
        pl->durable = SL_MAX(pl->durable, fj->target);
        if (pl->durable >= pl->leo)
            pl->first_unflushed_ms = -1;
        if (mgr->opts.hw_mode == SL_LOG_HW_ON_FSYNC && pl->hw < pl->durable)
            pl->hw = pl->durable;
    } else if (job->rc != SL_ENFILE) {
        sl_plog_set_offline(pl, job->rc, "fsync failed");
    }
    for (size_t i = 0; i < fj->nsegs; i++) {
        /* written before the job started and fsynced by it */
        if (job->rc == SL_OK && fj->trunc_gen == pl->trunc_gen &&
            fj->segs[i]->next_offset <= fj->target)
            sl_seg_note_synced(fj->segs[i]);
        sl_seg_unref(fj->segs[i]);
    }
    free(fj->segs);
    if (!pl->removed && mgr->opts.durable_fn != NULL)
        mgr->opts.durable_fn(mgr->opts.durable_arg, pl, pl->durable, job->rc);
    /* durable_fn may have appended and asked for a flush itself. */
    if (!pl->removed && pl->offline_rc == SL_OK && pl->flush_wanted > pl->durable &&
        !pl->flush_inflight && job->rc != SL_ENFILE)
        sl_flush_start(pl);
    free(fj);
    sl_plog_unref(pl);
}

/* First segment that may hold unsynced data. */
static size_t
first_unsynced(const sl_plog_t *pl)
{
    size_t i = pl->nsegs - 1;

    while (i > 0 && pl->segs[i]->base > pl->durable)
        i--;
    return i;
}

void
sl_flush_start(sl_plog_t *pl)
{
    size_t first = first_unsynced(pl), n = pl->nsegs - first;
    flush_job_t *fj = sl_xcalloc(1, sizeof(*fj) + n * sizeof(int));

    SL_ASSERT(!pl->flush_inflight);
    fj->job.run = flush_run;
    fj->job.done = flush_done;
    fj->pl = pl;
    fj->target = pl->leo;
    fj->trunc_gen = pl->trunc_gen;
    fj->sync_dir = pl->dir_dirty;
    fj->sync_parent = pl->parent_dirty;
    fj->nsegs = n;
    fj->segs = sl_xmalloc(n * sizeof(*fj->segs));
    for (size_t i = 0; i < n; i++) {
        sl_seg_t *seg = pl->segs[first + i];

        fj->segs[i] = seg;
        /* Synced ones need nothing (and may have no fd); the others were
         * never evicted, so sl_seg_fd only touches the LRU. */
        fj->fds[i] = seg->synced || sl_seg_fd(seg) != SL_OK ? -1 : seg->fd;
        if (fj->fds[i] < 0 && !seg->synced)
            fj->fds[i] = -2;
        sl_seg_ref(seg);
    }
    /* Cleared now: a file created while this job runs sets them again. */
    pl->dir_dirty = false;
    pl->parent_dirty = false;
    pl->flush_inflight = true;
    pl->flush_target = fj->target;
    pl->refs++;
    sl_bg_submit(&pl->mgr->flusher, &fj->job);
}

int
sl_plog_request_flush(sl_plog_t *pl, int64_t upto)
{
    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    upto = SL_MIN(upto, pl->leo);
    if (upto <= pl->durable)
        return SL_OK;
    if (upto > pl->flush_wanted)
        pl->flush_wanted = upto;
    if (!pl->flush_inflight)
        sl_flush_start(pl);
    return SL_EAGAIN;
}

/* Fire and forget: the result reaches waiters through durable_fn. */
static void
flush_async(sl_plog_t *pl)
{
    int rc = sl_plog_request_flush(pl, pl->leo);

    (void)rc;
}

void
sl_plog_after_append(sl_plog_t *pl, int64_t now_ms)
{
    if (pl->first_unflushed_ms < 0)
        pl->first_unflushed_ms = now_ms;
    if (pl->mgr == NULL)
        return;
    if (pl->mgr->opts.hw_mode == SL_LOG_HW_ON_FSYNC ||
        pl->leo - pl->durable >= pl->cfg.flush_messages)
        flush_async(pl);
}

void
sl_plog_flush_timer(sl_plog_t *pl, int64_t now_ms)
{
    if (pl->offline_rc != SL_OK || pl->durable >= pl->leo || pl->first_unflushed_ms < 0)
        return;
    if (pl->cfg.flush_ms != INT64_MAX && now_ms - pl->first_unflushed_ms >= pl->cfg.flush_ms)
        flush_async(pl);
}

/* Blocking: only for shutdown (the loop is gone) and tools. */
int
sl_flush_sync(sl_plog_t *pl)
{
    int rc = SL_OK;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    for (size_t i = first_unsynced(pl); i < pl->nsegs && rc == SL_OK; i++) {
        sl_seg_t *seg = pl->segs[i];

        if (!seg->synced && (rc = sl_seg_fd(seg)) == SL_OK)
            rc = fsync_fd(seg->fd);
        if (rc == SL_OK)
            sl_seg_note_synced(seg);
    }
    if (rc == SL_OK && pl->dir_dirty)
        rc = fsync_dir(pl->dir);
    if (rc == SL_OK && pl->parent_dirty)
        rc = fsync_parent(pl->dir);
    if (rc != SL_OK) {
        sl_plog_set_offline(pl, rc, "fsync failed");
        return rc;
    }
    pl->dir_dirty = pl->parent_dirty = false;
    pl->durable = pl->leo;
    pl->first_unflushed_ms = -1;
    return SL_OK;
}

int
sl_plog_close_clean(sl_plog_t *pl)
{
    sl_seg_t *seg;
    int rc;

    if ((rc = sl_flush_sync(pl)) != SL_OK)
        return rc;
    /* A clean load trusts the active segment's indexes: they must be
     * trimmed (their size gives the entry count) and on disk. */
    seg = pl->segs[pl->nsegs - 1];
    if ((rc = sl_seg_seal(seg)) != SL_OK)
        return rc;
    for (size_t i = 0; i < pl->nsegs; i++) {
        if ((rc = sl_idx_sync(&pl->segs[i]->oidx)) != SL_OK ||
            (rc = sl_idx_sync(&pl->segs[i]->tidx)) != SL_OK)
            return rc;
    }
    return SL_OK;
}
