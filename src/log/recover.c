/*
 * recover.c -- loading a partition directory, and recovery after an
 * unclean stop.
 *
 * Clean stop (the log directory had .kafka_cleanshutdown): every index was
 * trimmed and synced at close, so each is loaded after a sanity check, and
 * only the active segment's tail after its last index entry is walked to
 * find the LEO. Any inconsistency falls back to the unclean path.
 *
 * Unclean stop: indexes are rebuilt from the data, never trusted.
 *  - Batches below the recovery point were fsynced before the point moved,
 *    so they must be intact: their headers are walked (sizes must chain to
 *    the end of the file, offsets must follow on), but CRCs are checked
 *    lazily, on read. A break there is corruption of acknowledged data: the
 *    partition is loaded offline and the error logged, never served.
 *  - From the recovery point on, every batch's CRC is checked. The first
 *    torn or invalid batch ends the log: its segment is cut there and later
 *    segments are deleted. The survivors are fsynced, so the new recovery
 *    point is the LEO.
 *
 * A hole between two segments below the recovery point (a file missing or
 * emptied in the middle) is kept as an offset gap, as Kafka does: reads
 * skip to the next segment, and intact older segments are never deleted for
 * it. From the recovery point on, a hole ends the log like a tear. Only an
 * overlap below the recovery point is corruption.
 */
#include "log/log_int.h"
#include "log/prodstate.h"

#include "base/log.h"
#include "proto/wire.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>

/* ======================================================================
 * Directory listing
 * ====================================================================== */

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "<20 digits>.log" -> base offset. */
static bool
parse_seg_name(const char *name, int64_t *base)
{
    int64_t v = 0;

    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return false;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return true;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void
unlink_in(const char *dir, const char *name)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        sl_warn(SL_LOG_COMP, "unlink %s: %s", path, strerror(errno));
}

/* Lists segment bases (sorted) and removes leftovers of interrupted steps. */
static int
list_segments(const char *dir, int64_t **bases, size_t *n)
{
    size_t cap = 0;
    struct dirent *de;
    DIR *d = opendir(dir);

    *bases = NULL;
    *n = 0;
    if (d == NULL)
        return sl_log_errno(errno);
    while ((de = readdir(d)) != NULL) {
        int64_t base;

        if (has_suffix(de->d_name, ".deleted") || has_suffix(de->d_name, ".tmp") ||
            has_suffix(de->d_name, ".cleaned") || has_suffix(de->d_name, ".swap")) {
            unlink_in(dir, de->d_name);
            continue;
        }
        if (!parse_seg_name(de->d_name, &base))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *bases = sl_xrealloc(*bases, cap * sizeof(**bases));
        }
        (*bases)[(*n)++] = base;
    }
    closedir(d);
    if (*n > 1)
        qsort(*bases, *n, sizeof(**bases), cmp_i64);
    return SL_OK;
}

static void
remove_seg_files(const char *dir, int64_t base)
{
    static const char *const sfx[] = {".log", ".index", ".timeindex"};
    char name[64];

    for (size_t i = 0; i < SL_ARRAY_LEN(sfx); i++) {
        snprintf(name, sizeof(name), "%020" PRId64 "%s", base, sfx[i]);
        unlink_in(dir, name);
    }
}

/* Drops segs[from..] from the list and from disk. */
static void
drop_tail(sl_plog_t *pl, size_t from)
{
    while (pl->nsegs > from) {
        sl_seg_t *seg = pl->segs[--pl->nsegs];

        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": removing segment %" PRId64 " after a torn tail",
                pl->topic, pl->partition, seg->base);
        remove_seg_files(pl->dir, seg->base);
        sl_seg_drop(seg);
    }
    pl->dir_dirty = true;
}

/* ======================================================================
 * Unclean path: rebuild while walking
 * ====================================================================== */

static void
begin_indexes(const sl_plog_t *pl, sl_seg_t *seg)
{
    sl_idx_begin_build(&seg->oidx, SL_IDX_OFFSET_ENTRY, pl->cfg.segment_index_bytes);
    sl_idx_begin_build(&seg->tidx, SL_IDX_TIME_ENTRY, pl->cfg.segment_index_bytes);
}

/* partitionLeaderEpoch is outside the CRC: the one header field besides
 * baseOffset that a stray write could change unnoticed. Every batch carries
 * the epoch of the leader-epoch-checkpoint entry that covers its offset (the
 * file is written before any flush that could acknowledge a batch of a new
 * epoch, see sl_plog_write_epochs). Before the first entry (or with none)
 * epochs can only be older ones, never going down. */
static bool
epoch_follows(const sl_plog_t *pl, int32_t prev, const sl_batch_hdr_t *h)
{
    size_t i = pl->nepochs;

    while (i > 0 && pl->epochs[i - 1].start_offset > h->base_offset)
        i--;
    if (i > 0)
        return h->leader_epoch == pl->epochs[i - 1].epoch;
    return h->leader_epoch >= prev &&
           h->leader_epoch <= (pl->nepochs > 0 ? pl->epochs[0].epoch : 0);
}

/* Walks one segment: headers below rp, CRCs from rp on. *tear gets the
 * position of the first bad batch at or past rp (-1 if none). */
static int
walk_segment(sl_plog_t *pl, sl_seg_t *seg, int64_t rp, int32_t *epoch, int64_t *tear)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t bpos, crc_from_pos = -1;
    int rc;

    *tear = -1;
    seg->next_offset = seg->base;
    seg->max_ts = seg->first_ts = -1;
    seg->max_ts_offset = seg->base;
    seg->since_index = seg->verified = seg->vr_start = seg->vr_end = 0;
    seg->sealed = false;
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    begin_indexes(pl, seg);
    sl_seg_scan_init(&sc, seg->fd, 0, seg->size);
    for (;;) {
        bool check = seg->next_offset >= rp;

        if (check && crc_from_pos < 0)
            crc_from_pos = sc.pos;
        rc = sl_seg_scan_next(&sc, check, &h, &bpos);
        /* The cleaner removes whole batches: offsets may jump forward in
         * data already synced, and anywhere in a compacted log (whose
         * recovery point checkpoint may lag behind the last clean). */
        bool jump_ok = !check || pl->cfg.compact;

        if (rc == SL_OK &&
            (h.base_offset < seg->next_offset || (h.base_offset != seg->next_offset && !jump_ok) ||
             !epoch_follows(pl, *epoch, &h))) {
            sc.pos = bpos; /* the tear is at this batch, not after it */
            rc = SL_ECORRUPT;
        }
        if (rc == SL_ENOENT || (rc == SL_ECORRUPT && check)) {
            if (rc == SL_ECORRUPT)
                *tear = sc.pos;
            rc = SL_OK;
            break;
        }
        if (rc != SL_OK)
            break;
        if ((rc = sl_seg_index_batch(seg, &h, bpos, pl->cfg.index_interval_bytes)) != SL_OK)
            break;
        *epoch = h.leader_epoch;
    }
    sl_seg_scan_deinit(&sc);
    /* What was CRC-checked here needs no lazy check on read. */
    if (crc_from_pos == 0)
        seg->verified = *tear >= 0 ? *tear : seg->size;
    else if (crc_from_pos > 0)
        seg->vr_start = crc_from_pos, seg->vr_end = *tear >= 0 ? *tear : seg->size;
    return rc;
}

static int
corrupt_below(sl_plog_t *pl, const sl_seg_t *seg, int64_t rp, const char *what)
{
    char why[256];

    snprintf(why, sizeof(why), "%s in segment %" PRId64 " below the recovery point %" PRId64, what,
             seg->base, rp);
    sl_plog_set_offline(pl, SL_ECORRUPT, why);
    return SL_ECORRUPT;
}

/* The hole (or overlap) between segs[i] and segs[i+1]. Below the recovery
 * point a hole is kept: like Kafka, reads skip from one segment to the
 * next, and nothing intact is deleted because a file in the middle is
 * missing or empty. */
static int
handle_gap(sl_plog_t *pl, size_t i, int64_t rp)
{
    sl_seg_t *seg = pl->segs[i], *nx = pl->segs[i + 1];

    /* A compacted log has gaps wherever the cleaner removed a segment's
     * last batches, and its recovery point checkpoint may lag behind the
     * last clean: keep them. (What could also be a lost unsynced tail is
     * then kept like Kafka keeps it; torn batches are still cut.) */
    if (pl->cfg.compact && seg->next_offset < nx->base)
        return SL_OK;
    if (seg->next_offset >= rp) {
        /* The tail of segs[i] was never synced (lost or cut): nothing
         * written after it was acknowledged as durable either, since a
         * flush syncs every segment from the recovery point on. */
        drop_tail(pl, i + 1);
        return SL_OK;
    }
    if (seg->next_offset < nx->base) {
        sl_warn(SL_LOG_COMP,
                "%s-%" PRId32 ": offsets %" PRId64 "..%" PRId64
                " are missing between segments %" PRId64 " and %" PRId64 " (kept as a gap)",
                pl->topic, pl->partition, seg->next_offset, nx->base - 1, seg->base, nx->base);
        return SL_OK;
    }
    return corrupt_below(pl, seg, rp, "overlapping segments");
}

static int
recover_unclean(sl_plog_t *pl, int64_t rp)
{
    size_t i = 0;
    int32_t epoch = -1;
    int rc;

    while (i < pl->nsegs) {
        sl_seg_t *seg = pl->segs[i];
        int64_t tear;

        if ((rc = walk_segment(pl, seg, rp, &epoch, &tear)) != SL_OK)
            return rc == SL_ECORRUPT ? corrupt_below(pl, seg, rp, "invalid batch") : rc;
        rc = sl_seg_commit_indexes(seg, pl->cfg.segment_index_bytes,
                                   tear >= 0 || i + 1 == pl->nsegs);
        if (rc != SL_OK)
            return rc;
        /* A sealed segment is synced now (below the recovery point it was
         * already), so its fd may go: recovering thousands of segments
         * must not need a descriptor each. */
        if (seg->sealed && seg->next_offset > rp && (rc = sl_seg_sync_log(seg)) != SL_OK)
            return rc;
        sl_seg_note_synced(seg);
        if (tear >= 0) {
            sl_warn(SL_LOG_COMP,
                    "%s-%" PRId32 ": cutting segment %" PRId64 " at %" PRId64
                    " (torn or invalid batch after offset %" PRId64 ")",
                    pl->topic, pl->partition, seg->base, tear, seg->next_offset - 1);
            if ((rc = sl_seg_truncate(seg, tear)) != SL_OK)
                return rc;
            drop_tail(pl, i + 1);
            break;
        }
        if (i + 1 < pl->nsegs && seg->next_offset != pl->segs[i + 1]->base &&
            (rc = handle_gap(pl, i, rp)) != SL_OK)
            return rc;
        i++;
    }
    if (pl->segs[pl->nsegs - 1]->next_offset < rp)
        return corrupt_below(pl, pl->segs[pl->nsegs - 1], rp, "data missing");
    return SL_OK;
}

/* ======================================================================
 * Clean path: trust indexes after a sanity check
 * ====================================================================== */

static bool
oidx_sane(const sl_seg_t *seg, int64_t limit_rel)
{
    int64_t prev_rel = -1, prev_pos = -1;

    for (uint32_t i = 0; i < seg->oidx.entries; i++) {
        const uint8_t *e = sl_idx_entry(&seg->oidx, i);
        int64_t rel = sl_be32(e), pos = sl_be32(e + 4);

        if (rel <= prev_rel || pos <= prev_pos || pos >= seg->size || rel >= limit_rel)
            return false;
        prev_rel = rel;
        prev_pos = pos;
    }
    return true;
}

static bool
tidx_sane(const sl_seg_t *seg, int64_t limit_rel)
{
    int64_t prev_ts = INT64_MIN, prev_rel = -1;

    for (uint32_t i = 0; i < seg->tidx.entries; i++) {
        const uint8_t *e = sl_idx_entry(&seg->tidx, i);
        int64_t ts = (int64_t)sl_be64(e), rel = sl_be32(e + 8);

        if (ts < prev_ts || rel < prev_rel || rel >= limit_rel)
            return false;
        prev_ts = ts;
        prev_rel = rel;
    }
    return true;
}

static int
load_indexes(const sl_plog_t *pl, sl_seg_t *seg, bool writable)
{
    char path[PATH_MAX];
    int rc;

    sl_seg_path(path, sizeof(path), pl->dir, seg->base, ".index");
    rc = sl_idx_load(&seg->oidx, path, SL_IDX_OFFSET_ENTRY, pl->cfg.segment_index_bytes, writable);
    if (rc != SL_OK)
        return rc;
    sl_seg_path(path, sizeof(path), pl->dir, seg->base, ".timeindex");
    return sl_idx_load(&seg->tidx, path, SL_IDX_TIME_ENTRY, pl->cfg.segment_index_bytes, writable);
}

/* The active segment: walk headers after the last index entry. */
static int
walk_tail(sl_seg_t *seg)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t start = 0, bpos;
    int rc;

    if (seg->oidx.entries > 0) {
        const uint8_t *e = sl_idx_entry(&seg->oidx, seg->oidx.entries - 1);

        start = sl_be32(e + 4);
        seg->next_offset = seg->base + sl_be32(e);
    }
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    sl_seg_scan_init(&sc, seg->fd, 0, seg->size);
    if ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK)
        seg->first_ts = h.max_timestamp;
    sc.pos = start;
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        /* The indexed batch ends at the entry's offset; later ones follow on. */
        bool ok = bpos > start || start == 0
                      ? h.base_offset >= seg->next_offset /* gaps: compacted */
                      : h.base_offset + h.last_offset_delta == seg->next_offset;

        if (!ok)
            break;
        seg->next_offset = h.base_offset + h.last_offset_delta + 1;
        if (h.max_timestamp > seg->max_ts) {
            seg->max_ts = h.max_timestamp;
            seg->max_ts_offset = seg->next_offset - 1;
        }
    }
    sl_seg_scan_deinit(&sc);
    seg->since_index = seg->size - start;
    return rc == SL_ENOENT ? SL_OK : SL_ECORRUPT;
}

static int
load_clean_seg(sl_plog_t *pl, size_t i)
{
    sl_seg_t *seg = pl->segs[i];
    bool last = i + 1 == pl->nsegs;
    int64_t limit = last ? INT64_MAX : pl->segs[i + 1]->base - seg->base;
    int rc;

    if ((rc = load_indexes(pl, seg, last)) != SL_OK)
        return rc;
    if (!oidx_sane(seg, limit) || !tidx_sane(seg, limit))
        return SL_ECORRUPT;
    if (seg->tidx.entries > 0) {
        const uint8_t *e = sl_idx_entry(&seg->tidx, seg->tidx.entries - 1);

        seg->max_ts = (int64_t)sl_be64(e);
        seg->max_ts_offset = seg->base + sl_be32(e + 8);
    }
    /* The real end, not the next segment's base: a segment that lost data
     * must not claim offsets it does not hold. Costs at most
     * index.interval.bytes of headers per segment. */
    if (!last)
        seg->sealed = seg->synced = true; /* clean stop: synced, fd may go */
    return walk_tail(seg);
}

static int
recover_clean(sl_plog_t *pl)
{
    int rc;

    for (size_t i = 0; i < pl->nsegs; i++) {
        if ((rc = load_clean_seg(pl, i)) != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* ======================================================================
 * Loading
 * ====================================================================== */

static int
open_segments(sl_plog_t *pl, int64_t log_start)
{
    int64_t *bases;
    size_t n;
    sl_seg_t *seg;
    int rc;

    if ((rc = list_segments(pl->dir, &bases, &n)) != SL_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = sl_seg_open(pl->dir, bases[i], pl->mgr, &seg)) != SL_OK)
            goto out;
        sl_plog_push_seg(pl, seg);
    }
    if (n == 0) {
        if ((rc = sl_seg_create(pl->dir, SL_MAX(log_start, 0), &pl->cfg, pl->mgr, &seg)) != SL_OK)
            goto out;
        sl_plog_push_seg(pl, seg);
        pl->dir_dirty = true;
    }
out:
    free(bases);
    return rc;
}

static void
close_segments(sl_plog_t *pl)
{
    for (size_t i = 0; i < pl->nsegs; i++)
        sl_seg_drop(pl->segs[i]);
    pl->nsegs = 0;
}

/* Cuts and holes can leave a sealed segment last: it becomes active. */
static int
finish_segments(sl_plog_t *pl)
{
    return sl_seg_reopen_active(pl->segs[pl->nsegs - 1], pl->cfg.segment_index_bytes);
}

static int
load_state(sl_plog_t *pl, bool clean, int64_t rp)
{
    int rc;

    if (clean && (rc = recover_clean(pl)) == SL_OK)
        return SL_OK;
    if (clean) {
        /* A torn tail or bad index after a clean stop: the active segment is
         * checked batch by batch and cut like any unclean tail, rather than
         * the whole partition going offline. */
        sl_warn(SL_LOG_COMP,
                "%s-%" PRId32 ": indexes or tail failed the check after a clean stop, rebuilding",
                pl->topic, pl->partition);
        rp = SL_MIN(rp, pl->segs[pl->nsegs - 1]->base);
    }
    if ((rc = recover_unclean(pl, rp)) != SL_OK)
        return rc;
    if ((rc = finish_segments(pl)) != SL_OK)
        return rc;
    /* Survivors past the recovery point are synced now, so the recovery
     * point can be the LEO. */
    pl->leo = pl->segs[pl->nsegs - 1]->next_offset;
    pl->durable = SL_MIN(SL_MAX(rp, 0), pl->leo);
    return sl_flush_sync(pl);
}

int
sl_plog_load(sl_log_mgr_t *mgr, const char *dir, const char *topic, int32_t partition,
             const sl_log_cfg_t *cfg, bool clean, int64_t recovery_point, int64_t log_start,
             sl_plog_t **out)
{
    sl_plog_t *pl = sl_plog_new(mgr, dir, topic, partition, cfg);
    int rc;

    *out = pl;
    /* An interrupted log clean is completed first; the indexes of its
     * segment are then rebuilt by the unclean path. */
    if ((rc = sl_clean_finish_swaps(dir)) < 0)
        goto fail;
    if (rc > 0)
        clean = false;
    /* Read first: recovery checks batch epochs against it. */
    if (sl_plog_read_epochs(pl) != SL_OK)
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": leader-epoch-checkpoint unreadable, ignored", topic,
                partition);
    if ((rc = open_segments(pl, log_start)) != SL_OK)
        goto fail;
    if ((rc = load_state(pl, clean, recovery_point < 0 ? 0 : recovery_point)) != SL_OK)
        goto fail;
    pl->leo = pl->segs[pl->nsegs - 1]->next_offset;
    pl->durable = pl->leo;
    for (size_t i = 0; i < pl->nsegs; i++)
        sl_seg_note_synced(pl->segs[i]);
    if (log_start > pl->leo) {
        /* Kafka deletes every segment here; we keep the data and refuse. */
        sl_error(SL_LOG_COMP,
                 "%s-%" PRId32 ": log-start-offset-checkpoint says %" PRId64
                 " but the log ends at %" PRId64
                 ": refusing to load (fix or remove the entry to bring it back)",
                 topic, partition, log_start, pl->leo);
        rc = SL_ECORRUPT;
        goto fail;
    }
    pl->log_start = SL_MAX(log_start, pl->segs[0]->base);
    pl->hw = mgr != NULL && mgr->opts.hw_mode == SL_LOG_HW_MANUAL ? pl->log_start : pl->leo;
    sl_plog_trim_epochs_loaded(pl);
    /* Producer ids: a rebuild that stops early (a segment that cannot be
     * read now) leaves fewer producers known; their next batches are then
     * accepted as from new producers, as Kafka does after expiry. */
    (void)sl_psnap_load(pl);
    return SL_OK;

fail:
    /* Offline partitions keep no files open; a restart retries. Their
     * checkpoint entries are written back unchanged. */
    close_segments(pl);
    pl->durable = recovery_point;
    pl->log_start = log_start;
    sl_plog_set_offline(pl, rc, "load failed");
    return SL_EOFFLINE;
}
