/*
 * psnap.c -- producer state on disk: `<20-digit offset>.snapshot` files in
 * the partition directory (format in prodstate.c and docs/ondisk.md), the
 * rebuild of the state at load and after a truncation, and the periodic
 * expiry of idle producer ids.
 *
 * A snapshot named N holds the state of every batch below offset N. One is
 * written at each segment roll (N = the new segment's base, by the janitor,
 * which writes tmp + fsync + rename) and at clean close (N = LEO). Load:
 * snapshots past the LEO describe data that is gone and are deleted; the
 * newest readable one at or below the LEO is loaded (a corrupt one is
 * deleted and the previous tried), then every batch from N to the LEO is
 * replayed. Without any snapshot the whole log is replayed: slower, but
 * never forgets a producer whose batches are still in the log. Retention
 * deletes snapshots below the first segment's base.
 */
#include "log/prodstate.h"

#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_SUFFIX ".snapshot"

static bool
parse_snap_name(const char *name, int64_t *offset)
{
    char *end;
    long long v;

    if (strlen(name) != 20 + strlen(SNAP_SUFFIX) || strcmp(name + 20, SNAP_SUFFIX) != 0)
        return false;
    errno = 0;
    v = strtoll(name, &end, 10);
    if (errno != 0 || end != name + 20 || v < 0)
        return false;
    *offset = v;
    return true;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Offsets of the snapshot files in dir, ascending. */
static int
list_snaps(const char *dir, int64_t **out, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return sl_log_errno(errno);
    while ((de = readdir(d)) != NULL) {
        int64_t off;

        if (!parse_snap_name(de->d_name, &off))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = sl_xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = off;
    }
    closedir(d);
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), cmp_i64);
    return SL_OK;
}

static void
unlink_snap(const char *dir, int64_t offset)
{
    char path[PATH_MAX];

    sl_seg_path(path, sizeof(path), dir, offset, SNAP_SUFFIX);
    if (unlink(path) != 0 && errno != ENOENT)
        sl_warn(SL_LOG_COMP, "cannot remove %s: %s", path, strerror(errno));
}

/* ======================================================================
 * Writing
 * ====================================================================== */

void
sl_psnap_write_async(sl_plog_t *pl)
{
    char path[PATH_MAX];
    size_t len;
    uint8_t *data = sl_prodstate_encode(sl_prodstate_of(pl), &len);

    sl_seg_path(path, sizeof(path), pl->dir, pl->leo, SNAP_SUFFIX);
    if (pl->mgr != NULL) {
        sl_log_mgr_write_file(pl->mgr, path, (char *)data, len);
        return;
    }
    if (sl_ckpt_write_file(path, (const char *)data, len) != SL_OK)
        sl_warn(SL_LOG_COMP, "cannot write %s", path);
    free(data);
}

int
sl_psnap_write_sync(sl_plog_t *pl)
{
    char path[PATH_MAX];
    size_t len;
    uint8_t *data = sl_prodstate_encode(sl_prodstate_of(pl), &len);
    int rc;

    sl_seg_path(path, sizeof(path), pl->dir, pl->leo, SNAP_SUFFIX);
    rc = sl_ckpt_write_file(path, (const char *)data, len);
    free(data);
    return rc;
}

static void
delete_outside(const char *dir, int64_t below, int64_t above)
{
    int64_t *offs;
    size_t n;

    if (list_snaps(dir, &offs, &n) != SL_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (offs[i] < below || offs[i] > above)
            unlink_snap(dir, offs[i]);
    }
    free(offs);
}

void
sl_psnap_delete_outside(sl_plog_t *pl, int64_t below, int64_t above)
{
    /* A queued write must not bring back a snapshot deleted here. */
    if (pl->mgr != NULL)
        sl_bg_drain(&pl->mgr->janitor);
    delete_outside(pl->dir, below, above);
}

/* Retention: the janitor deletes them after the snapshot writes queued
 * before (FIFO), so none of those reappears below the log start. */
typedef struct trim_job {
    sl_bg_job_t job;
    int64_t below;
    char dir[PATH_MAX];
} trim_job_t;

static void
trim_run(sl_bg_job_t *job)
{
    trim_job_t *tj = (trim_job_t *)job;

    delete_outside(tj->dir, tj->below, INT64_MAX);
}

void
sl_psnap_trim_async(sl_plog_t *pl, int64_t below)
{
    trim_job_t *tj;

    if (pl->mgr == NULL) {
        sl_psnap_delete_outside(pl, below, INT64_MAX);
        return;
    }
    tj = sl_xcalloc(1, sizeof(*tj));
    tj->job.run = trim_run;
    tj->below = below;
    snprintf(tj->dir, sizeof(tj->dir), "%s", pl->dir);
    sl_bg_submit(&pl->mgr->janitor, &tj->job);
}

/* ======================================================================
 * Loading
 * ====================================================================== */

static int
read_snap(const sl_plog_t *pl, int64_t offset, sl_prodstate_t *ps)
{
    char path[PATH_MAX];
    struct stat st;
    uint8_t *buf = NULL;
    int fd, rc = SL_OK;

    sl_seg_path(path, sizeof(path), pl->dir, offset, SNAP_SUFFIX);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sl_log_errno(errno);
    if (fstat(fd, &st) != 0) {
        rc = sl_log_errno(errno);
        goto out;
    }
    if (st.st_size < SL_PSNAP_HEADER ||
        st.st_size > SL_PSNAP_HEADER + (int64_t)SL_PSNAP_ENTRY * SL_PSNAP_MAX_PRODUCERS) {
        rc = SL_ECORRUPT;
        goto out;
    }
    buf = sl_xmalloc((size_t)st.st_size);
    for (size_t got = 0; got < (size_t)st.st_size;) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

        if (r <= 0) {
            rc = r == 0 ? SL_ECORRUPT : sl_log_errno(errno);
            goto out;
        }
        got += (size_t)r;
    }
    rc = sl_prodstate_decode(ps, buf, (size_t)st.st_size);
out:
    free(buf);
    close(fd);
    return rc;
}

/* Replays the batches of seg at or past `from`. */
static int
replay_segment(sl_plog_t *pl, sl_seg_t *seg, int64_t from)
{
    sl_seg_hit_t hit = {0};
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t pos;
    int rc;

    if (seg->size == 0 || seg->next_offset <= from)
        return SL_OK;
    if (from > seg->base && (rc = sl_seg_find(seg, from, &hit)) != SL_OK)
        return rc;
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    sl_seg_scan_init(&sc, seg->fd, from > seg->base ? hit.pos : 0, seg->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &pos)) == SL_OK) {
        if (h.base_offset + h.last_offset_delta >= from)
            sl_prodstate_replay(pl->pstate, &h);
    }
    sl_seg_scan_deinit(&sc);
    return rc == SL_ENOENT ? SL_OK : rc;
}

/* The newest readable snapshot at or below the LEO, or -1 (empty state). */
static int64_t
load_latest_snap(sl_plog_t *pl)
{
    int64_t *offs, found = -1;
    size_t n;

    if (list_snaps(pl->dir, &offs, &n) != SL_OK)
        return -1;
    for (size_t i = n; i-- > 0 && found < 0;) {
        int rc;

        if (offs[i] > pl->leo) {
            unlink_snap(pl->dir, offs[i]);
            continue;
        }
        if ((rc = read_snap(pl, offs[i], pl->pstate)) == SL_OK) {
            found = offs[i];
            break;
        }
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": snapshot %" PRId64 " unreadable (%s), removed",
                pl->topic, pl->partition, offs[i], sl_strerror(rc));
        unlink_snap(pl->dir, offs[i]);
    }
    free(offs);
    return found;
}

int
sl_psnap_load(sl_plog_t *pl)
{
    int64_t from;
    int rc = SL_OK;

    /* A queued write of an older snapshot must not land after this. */
    if (pl->mgr != NULL)
        sl_bg_drain(&pl->mgr->janitor);
    sl_prodstate_clear(sl_prodstate_of(pl));
    if (pl->nsegs == 0)
        return SL_OK;
    from = load_latest_snap(pl);
    if (from < 0) {
        sl_prodstate_clear(pl->pstate);
        from = pl->segs[0]->base;
    }
    for (size_t i = 0; i < pl->nsegs && rc == SL_OK; i++)
        rc = replay_segment(pl, pl->segs[i], from);
    if (rc != SL_OK)
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": producer state rebuild stopped: %s", pl->topic,
                pl->partition, sl_strerror(rc));
    return rc;
}

/* ======================================================================
 * Expiry
 * ====================================================================== */

void
sl_psnap_tick(sl_log_mgr_t *mgr, int64_t now_ms, int64_t mono_ms)
{
    if (mono_ms - mgr->last_pid_expiry_ms < mgr->opts.producer_id_expiration_check_interval_ms)
        return;
    mgr->last_pid_expiry_ms = mono_ms;
    for (size_t i = 0; i < mgr->npls; i++) {
        sl_plog_t *pl = mgr->pls[i];
        size_t n;

        if (pl->pstate == NULL)
            continue;
        n = sl_prodstate_expire(pl->pstate, now_ms, mgr->opts.producer_id_expiration_ms);
        if (n > 0)
            sl_debug(SL_LOG_COMP, "%s-%" PRId32 ": %zu idle producer id(s) expired", pl->topic,
                     pl->partition, n);
    }
}

void
sl_log_mgr_set_producer_id_expiration(sl_log_mgr_t *mgr, int64_t ms)
{
    if (ms > 0)
        mgr->opts.producer_id_expiration_ms = ms;
}
