/*
 * cleaner.c -- the log cleaner's loop-thread side: which partitions to
 * clean and when (Kafka's LogCleanerManager), handing jobs to the cleaner
 * threads (log.cleaner.threads), installing the cleaned segments when a job
 * completes, and the cleaner-offset-checkpoint file.
 *
 * A partition with cleanup.policy containing compact is cleanable when its
 * dirty bytes (from the checkpointed offset on) are at least
 * min.cleanable.dirty.ratio of the cleanable log, or its oldest dirty
 * segment is older than max.compaction.lag.ms. The cleanable log is the
 * sealed, fsynced segments below the high watermark whose records are all
 * older than min.compaction.lag.ms; the active segment is rolled once its
 * first batch passes max.compaction.lag.ms, so it becomes cleanable too.
 * While a clean is in flight, retention and DeleteRecords leave the
 * partition's segment files alone (the log start offset still moves).
 */
#include "log/cleaner_int.h"

#include "base/log.h"
#include "base/time.h"

#include <limits.h>

#define CLEANER_CKPT "cleaner-offset-checkpoint"
/* Segments one job reads at most: each is pinned with an open fd. */
#define MAX_JOB_SEGS 256

/* ======================================================================
 * Checkpoint
 * ====================================================================== */

static void
write_checkpoint(sl_log_mgr_t *mgr)
{
    sl_ckpt_t c = {0};
    char path[PATH_MAX];
    size_t len;
    char *data;

    for (size_t i = 0; i < mgr->npls; i++) {
        const sl_plog_t *pl = mgr->pls[i];

        if (pl->clean_offset >= 0)
            sl_ckpt_add(&c, pl->topic, pl->partition, pl->clean_offset);
    }
    data = sl_ckpt_format(&c, &len);
    sl_ckpt_deinit(&c);
    snprintf(path, sizeof(path), "%s/%s", mgr->dir, CLEANER_CKPT);
    sl_log_mgr_write_file(mgr, path, data, len);
}

static void
read_checkpoint(sl_log_mgr_t *mgr)
{
    sl_ckpt_t c = {0};
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", mgr->dir, CLEANER_CKPT);
    if (sl_ckpt_read(path, &c) != SL_OK) {
        /* Only costs a full re-clean: every offset counts as dirty again. */
        sl_warn(SL_LOG_COMP, "%s unreadable, ignored", path);
        sl_ckpt_deinit(&c);
        return;
    }
    for (size_t i = 0; i < mgr->npls; i++) {
        sl_plog_t *pl = mgr->pls[i];

        pl->clean_offset = sl_ckpt_get(&c, pl->topic, pl->partition);
        if (pl->clean_offset > pl->leo)
            pl->clean_offset = -1; /* the log lost its tail: start over */
    }
    sl_ckpt_deinit(&c);
}

/* ======================================================================
 * Start, stop
 * ====================================================================== */

void
sl_cleaner_start(sl_log_mgr_t *mgr)
{
    sl_cleaner_t *cl = sl_xcalloc(1, sizeof(*cl));
    const sl_log_mgr_opts_t *o = &mgr->opts;
    int n = o->cleaner_enable ? SL_MAX(o->cleaner_threads, 0) : 0;

    mgr->cleaner = cl;
    atomic_init(&cl->stop, false);
    cl->last_ms = sl_mono_ms();
    read_checkpoint(mgr);
    if (n == 0)
        return;
    cl->nthreads = n;
    cl->threads = sl_xcalloc((size_t)n, sizeof(*cl->threads));
    cl->busy = sl_xcalloc((size_t)n, sizeof(*cl->busy));
    cl->maps = sl_xcalloc((size_t)n, sizeof(*cl->maps));
    for (int i = 0; i < n; i++) {
        /* Kafka splits the dedupe buffer between the threads. */
        sl_omap_init(&cl->maps[i], (size_t)SL_MAX(o->cleaner_dedupe_buffer_size / n, 0),
                     o->cleaner_io_buffer_load_factor);
        sl_bg_start(&cl->threads[i], mgr);
    }
}

void
sl_cleaner_stop(sl_log_mgr_t *mgr)
{
    sl_cleaner_t *cl = mgr->cleaner;

    if (cl == NULL)
        return;
    atomic_store(&cl->stop, true);
    for (int i = 0; i < cl->nthreads; i++)
        sl_bg_stop(&cl->threads[i]);
    sl_log_mgr_poll(mgr); /* installs what was swapped in on disk */
    for (int i = 0; i < cl->nthreads; i++)
        sl_omap_deinit(&cl->maps[i]);
    free(cl->threads);
    free(cl->busy);
    free(cl->maps);
    free(cl);
    mgr->cleaner = NULL;
}

bool
sl_clean_stopping(const sl_clean_job_t *cj)
{
    return atomic_load(&cj->cl->stop);
}

/* ======================================================================
 * Installing a finished clean (loop thread)
 * ====================================================================== */

static int
load_index(sl_idx_t *ix, const char *dir, int64_t base, const char *sfx, uint32_t es, int64_t max)
{
    char path[PATH_MAX];

    sl_seg_path(path, sizeof(path), dir, base, sfx);
    return sl_idx_load(ix, path, es, max, false);
}

/* Replaces the group's old segments by the cleaned one in the list. */
static int
install(sl_plog_t *pl, const sl_clean_job_t *cj, const sl_clean_out_t *o)
{
    sl_seg_t *first = cj->segs[o->first].seg, *seg;
    int64_t base = first->base;
    size_t j = 0;
    int rc;

    while (j < pl->nsegs && pl->segs[j] != first)
        j++;
    /* a group never holds the active segment */
    if (j + o->count >= pl->nsegs ||
        pl->segs[j + o->count - 1] != cj->segs[o->first + o->count - 1].seg)
        return SL_ECORRUPT; /* the list changed under the job: cannot happen */
    if ((rc = sl_seg_open(pl->dir, base, pl->mgr, &seg)) != SL_OK)
        return rc;
    rc = load_index(&seg->oidx, pl->dir, base, ".index", SL_IDX_OFFSET_ENTRY,
                    pl->cfg.segment_index_bytes);
    if (rc == SL_OK)
        rc = load_index(&seg->tidx, pl->dir, base, ".timeindex", SL_IDX_TIME_ENTRY,
                        pl->cfg.segment_index_bytes);
    if (rc == SL_OK && seg->size != o->size)
        rc = SL_ECORRUPT;
    if (rc != SL_OK) {
        sl_seg_drop(seg);
        return rc;
    }
    seg->next_offset = o->next_offset;
    seg->max_ts = o->max_ts;
    seg->max_ts_offset = o->max_ts_offset;
    seg->first_ts = o->first_ts;
    seg->verified = seg->size; /* written and CRC'd by the cleaner */
    seg->sealed = seg->synced = true;
    for (size_t i = j; i < j + o->count; i++) {
        pl->segs[i]->deleted = true; /* files renamed to *.deleted by the job */
        sl_seg_drop(pl->segs[i]);
    }
    pl->segs[j] = seg;
    memmove(pl->segs + j + 1, pl->segs + j + o->count,
            (pl->nsegs - j - o->count) * sizeof(*pl->segs));
    pl->nsegs -= o->count - 1;
    return SL_OK;
}

static size_t
segs_in(const sl_clean_job_t *cj)
{
    size_t n = 0;

    for (size_t i = 0; i < cj->nouts; i++)
        n += cj->outs[i].count;
    return n;
}

static void schedule(sl_log_mgr_t *mgr, int64_t now);

static void
clean_done(sl_bg_job_t *job)
{
    sl_clean_job_t *cj = (sl_clean_job_t *)job;
    sl_plog_t *pl = cj->pl;
    sl_log_mgr_t *mgr = pl->mgr;
    sl_cleaner_t *cl = mgr->cleaner;
    int rc = SL_OK;

    if (!pl->removed && pl->offline_rc == SL_OK) {
        for (size_t i = 0; i < cj->nouts && rc == SL_OK; i++)
            rc = install(pl, cj, &cj->outs[i]);
        if (rc == SL_OK && job->rc != SL_OK && cj->nouts > 0 && job->rc != SL_EAGAIN)
            rc = job->rc; /* a swap failed past its commit point */
        if (rc != SL_OK) {
            sl_plog_set_offline(pl, rc,
                                "log clean could not swap segments in (a restart "
                                "completes the swap)");
        } else if (job->rc == SL_OK) {
            pl->clean_offset = cj->map_end;
            sl_info(SL_LOG_COMP,
                    "%s-%" PRId32 ": cleaned %zu segments into %zu: %" PRId64
                    " bytes read, %" PRId64 " written in %" PRId64
                    " ms, dirty offsets up to %" PRId64,
                    pl->topic, pl->partition, segs_in(cj), cj->nouts, cj->bytes_read,
                    cj->bytes_written, sl_mono_ms() - cj->started_mono, cj->map_end);
            write_checkpoint(mgr);
            sl_log_mgr_checkpoint(mgr); /* the recovery point covers it soon */
        } else if (job->rc != SL_EAGAIN) {
            sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": log clean failed: %s", pl->topic, pl->partition,
                    sl_strerror(job->rc));
        }
    }
    if (cl != NULL) {
        cl->busy[cj->thread] = false;
        if (job->rc == SL_OK)
            cl->stats.cleans++;
        cl->stats.bytes_read += cj->bytes_read;
        cl->stats.bytes_written += cj->bytes_written;
        cl->stats.busy_ms += sl_mono_ms() - cj->started_mono;
    }
    bool more = job->rc == SL_OK && cj->map_end < cj->segs[cj->nsegs - 1].next_offset;

    for (size_t i = 0; i < cj->nsegs; i++)
        sl_seg_unref(cj->segs[i].seg);
    pl->cleaning = false;
    sl_plog_unref(pl);
    free(cj->segs);
    free(cj->outs);
    free(cj->dir);
    free(cj);
    /* The map filled before the end: dirty data is waiting, go on at once
     * rather than after log.cleaner.backoff.ms (Kafka's cleaner does too). */
    if (more && cl != NULL && !atomic_load(&cl->stop))
        schedule(mgr, sl_wall_ms());
}

/* ======================================================================
 * Scheduling (loop thread)
 * ====================================================================== */

static int64_t
largest_ts(const sl_seg_t *seg)
{
    return seg->max_ts >= 0 ? seg->max_ts : sl_seg_last_modified_ms(seg);
}

static int64_t
first_ts(const sl_seg_t *seg)
{
    return seg->first_ts >= 0 ? seg->first_ts : seg->created_ms;
}

typedef struct candidate {
    sl_plog_t *pl;
    size_t nsegs;
    int64_t dirty_start;
    double ratio;
} candidate_t;

/* Kafka's LogCleanerManager.cleanableOffsets + dirty ratio. */
static bool
cleanable(sl_plog_t *pl, int64_t now, candidate_t *c)
{
    const sl_log_cfg_t *cfg = &pl->cfg;
    int64_t clean = 0, dirty = 0;
    bool overdue = false;
    size_t k = 0;

    if (!cfg->compact || pl->cleaning || pl->removed || pl->offline_rc != SL_OK)
        return false;
    if (pl->clean_offset > pl->leo)
        pl->clean_offset = -1; /* the log was cut below it: all dirty again */
    while (k + 1 < pl->nsegs && k < MAX_JOB_SEGS) {
        const sl_seg_t *seg = pl->segs[k];

        if (seg->next_offset > pl->durable || seg->next_offset > pl->hw)
            break;
        if (cfg->min_compaction_lag_ms > 0 && largest_ts(seg) > now - cfg->min_compaction_lag_ms)
            break;
        k++;
    }
    if (k == 0)
        return false;
    c->pl = pl;
    c->nsegs = k;
    c->dirty_start = SL_MAX(pl->clean_offset, pl->segs[0]->base);
    for (size_t i = 0; i < k; i++) {
        const sl_seg_t *seg = pl->segs[i];

        if (seg->next_offset <= c->dirty_start) {
            clean += seg->size;
            continue;
        }
        if (dirty == 0 && seg->size > 0 && cfg->max_compaction_lag_ms < INT64_MAX &&
            first_ts(seg) < now - cfg->max_compaction_lag_ms)
            overdue = true;
        dirty += seg->size;
    }
    if (dirty == 0)
        return false;
    c->ratio = (double)dirty / (double)(clean + dirty);
    return overdue || c->ratio >= cfg->min_cleanable_dirty_ratio;
}

/* max.compaction.lag.ms also bounds how long a record may sit in the
 * active segment: roll it so it can be cleaned (as Kafka does). */
static void
maybe_roll(sl_plog_t *pl, int64_t now)
{
    const sl_seg_t *act = pl->segs[pl->nsegs - 1];

    if (!pl->cfg.compact || pl->cfg.max_compaction_lag_ms == INT64_MAX || act->size == 0 ||
        pl->offline_rc != SL_OK || pl->removed)
        return;
    if (first_ts(act) < now - pl->cfg.max_compaction_lag_ms && sl_plog_roll(pl) != SL_OK)
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": roll for max.compaction.lag.ms failed", pl->topic,
                pl->partition);
}

static void
submit(sl_log_mgr_t *mgr, const candidate_t *c, int t, int64_t now)
{
    sl_cleaner_t *cl = mgr->cleaner;
    sl_plog_t *pl = c->pl;
    sl_clean_job_t *cj = sl_xcalloc(1, sizeof(*cj));

    cj->segs = sl_xcalloc(c->nsegs, sizeof(*cj->segs));
    for (size_t i = 0; i < c->nsegs; i++) {
        sl_seg_t *seg = pl->segs[i];
        sl_clean_seg_t *s = &cj->segs[i];

        if (sl_seg_fd(seg) != SL_OK)
            break; /* out of descriptors: clean what is pinned so far */
        sl_seg_ref(seg);
        s->seg = seg;
        s->fd = seg->fd;
        s->base = seg->base;
        s->size = seg->size;
        s->next_offset = seg->next_offset;
        s->largest_ts = largest_ts(seg);
        cj->nsegs++;
    }
    if (cj->nsegs == 0 || cj->segs[cj->nsegs - 1].next_offset <= c->dirty_start) {
        for (size_t i = 0; i < cj->nsegs; i++)
            sl_seg_unref(cj->segs[i].seg);
        free(cj->segs);
        free(cj);
        return;
    }
    cj->job.run = sl_clean_run;
    cj->job.done = clean_done;
    cj->cl = cl;
    cj->pl = pl;
    cj->thread = t;
    cj->dir = sl_xstrdup(pl->dir);
    cj->dirty_start = c->dirty_start;
    cj->now_ms = now;
    cj->segment_bytes = pl->cfg.segment_bytes;
    cj->segment_index_bytes = pl->cfg.segment_index_bytes;
    cj->index_interval_bytes = pl->cfg.index_interval_bytes;
    cj->delete_retention_ms = pl->cfg.delete_retention_ms;
    /* Idle maps hold no memory (sl_omap_release): re-arm with the current
     * log.cleaner.dedupe.buffer.size, which may have changed. */
    sl_omap_init(&cl->maps[t],
                 (size_t)SL_MAX(mgr->opts.cleaner_dedupe_buffer_size / cl->nthreads, 0),
                 mgr->opts.cleaner_io_buffer_load_factor);
    cj->map = &cl->maps[t];
    cj->io_limit = mgr->opts.cleaner_io_max_bytes_per_second / cl->nthreads;
    cj->started_mono = sl_mono_ms();
    pl->refs++;
    pl->cleaning = true;
    cl->busy[t] = true;
    sl_bg_submit(&cl->threads[t], &cj->job);
}

static int
free_thread(const sl_cleaner_t *cl)
{
    for (int i = 0; i < cl->nthreads; i++) {
        if (!cl->busy[i])
            return i;
    }
    return -1;
}

static void
schedule(sl_log_mgr_t *mgr, int64_t now)
{
    sl_cleaner_t *cl = mgr->cleaner;
    candidate_t best = {0};
    int t;

    for (size_t i = 0; i < mgr->npls; i++)
        maybe_roll(mgr->pls[i], now);
    /* Dirtiest first, one job per free thread. */
    while ((t = free_thread(cl)) >= 0) {
        bool found = false;

        for (size_t i = 0; i < mgr->npls; i++) {
            candidate_t c;

            if (cleanable(mgr->pls[i], now, &c) && (!found || c.ratio > best.ratio)) {
                best = c;
                found = true;
            }
        }
        if (!found)
            return;
        submit(mgr, &best, t, now);
        if (!best.pl->cleaning)
            return; /* could not pin anything: try at the next tick */
    }
}

void
sl_cleaner_tick(sl_log_mgr_t *mgr, int64_t now_ms)
{
    sl_cleaner_t *cl = mgr->cleaner;
    int64_t mono = sl_mono_ms();

    if (cl == NULL || cl->nthreads == 0 || atomic_load(&cl->stop))
        return;
    if (mono - cl->last_ms < mgr->opts.cleaner_backoff_ms)
        return;
    cl->last_ms = mono;
    schedule(mgr, now_ms);
}

void
sl_log_mgr_clean_now(sl_log_mgr_t *mgr, int64_t now_ms)
{
    sl_cleaner_t *cl = mgr->cleaner;

    if (cl == NULL || cl->nthreads == 0 || atomic_load(&cl->stop))
        return;
    cl->last_ms = sl_mono_ms();
    schedule(mgr, now_ms);
}

void
sl_log_mgr_set_cleaner_tuning(sl_log_mgr_t *mgr, int64_t dedupe_buffer_size,
                              double io_buffer_load_factor, double io_max_bytes_per_second,
                              int64_t backoff_ms)
{
    mgr->opts.cleaner_dedupe_buffer_size = dedupe_buffer_size;
    mgr->opts.cleaner_io_buffer_load_factor = io_buffer_load_factor;
    mgr->opts.cleaner_io_max_bytes_per_second = io_max_bytes_per_second;
    mgr->opts.cleaner_backoff_ms = backoff_ms;
}

void
sl_log_mgr_cleaner_stats(const sl_log_mgr_t *mgr, sl_log_cleaner_stats_t *st)
{
    if (mgr->cleaner != NULL)
        *st = mgr->cleaner->stats;
    else
        memset(st, 0, sizeof(*st));
}

bool
sl_plog_cleaning(const sl_plog_t *pl)
{
    return pl->cleaning;
}

int64_t
sl_plog_clean_offset(const sl_plog_t *pl)
{
    return pl->clean_offset;
}
