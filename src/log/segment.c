/*
 * segment.c -- one log segment: <base>.log plus its .index and .timeindex.
 *
 * The .log file is a plain concatenation of record batches exactly as they
 * arrived (after the offset/epoch patch); nothing else. A segment is written
 * only at its end, by the loop thread, with one pwrite per append. The
 * in-memory fields (size, next_offset, max_ts) describe what was written;
 * reads never look past `size`, so a failed write that could not be cut
 * back is never served.
 *
 * This file also holds the batch scanner used by lookups, lazy CRC checks
 * and recovery: a sequential reader with a fixed buffer, so a 1 MiB batch
 * and a 100-byte batch cost the same memory.
 */
#include "log/log_int.h"

#include "base/crc32c.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/time.h"
#include "proto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_BUF (64 * 1024)

/* ======================================================================
 * Files and lifetime
 * ====================================================================== */

void
sl_seg_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix)
{
    snprintf(buf, cap, "%s/%020" PRId64 "%s", dir, base, suffix);
}

static sl_seg_t *
seg_alloc(const char *dir, int64_t base, sl_log_mgr_t *mgr)
{
    sl_seg_t *seg = sl_xcalloc(1, sizeof(*seg));

    seg->base = base;
    seg->next_offset = base;
    seg->fd = -1;
    seg->refs = 1;
    seg->oidx.fd = -1;
    seg->tidx.fd = -1;
    seg->max_ts = -1;
    seg->max_ts_offset = base;
    seg->first_ts = -1;
    seg->created_ms = sl_wall_ms();
    seg->dir = sl_xstrdup(dir);
    seg->mgr = mgr;
    seg->oidx.mgr = seg->tidx.mgr = mgr;
    return seg;
}

static int
seg_open_log(sl_seg_t *seg, int flags)
{
    char path[PATH_MAX];

    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".log");
    return sl_log_open_fd(seg->mgr, path, flags, &seg->fd);
}

/* ======================================================================
 * Descriptor LRU: sealed segments keep no index fd (their maps need none)
 * and their .log fd only while recently used, so descriptors grow with
 * partitions, not with segments (Kafka's lazy index loading, for fds).
 * A segment with references besides its partition's (a sendfile region, a
 * flush job) keeps its fd: regions stay valid across eviction and deletion.
 * Unsynced data is never closed on: an fsync through a new fd could miss a
 * writeback error that happened in between.
 * ====================================================================== */

static void
lru_unlink(sl_seg_t *seg)
{
    sl_log_mgr_t *mgr = seg->mgr;

    if (!seg->in_lru)
        return;
    if (seg->lru_prev != NULL)
        seg->lru_prev->lru_next = seg->lru_next;
    else
        mgr->lru_head = seg->lru_next;
    if (seg->lru_next != NULL)
        seg->lru_next->lru_prev = seg->lru_prev;
    else
        mgr->lru_tail = seg->lru_prev;
    seg->lru_prev = seg->lru_next = NULL;
    seg->in_lru = false;
    mgr->lru_n--;
}

static void
lru_push(sl_seg_t *seg)
{
    sl_log_mgr_t *mgr = seg->mgr;

    seg->lru_prev = NULL;
    seg->lru_next = mgr->lru_head;
    if (mgr->lru_head != NULL)
        mgr->lru_head->lru_prev = seg;
    else
        mgr->lru_tail = seg;
    mgr->lru_head = seg;
    seg->in_lru = true;
    mgr->lru_n++;
}

void
sl_log_mgr_evict(sl_log_mgr_t *mgr, size_t keep)
{
    sl_seg_t *seg = mgr->lru_tail;

    while (seg != NULL && mgr->lru_n > keep) {
        sl_seg_t *prev = seg->lru_prev;

        if (seg->refs == 1 && seg->synced && !seg->deleted) {
            lru_unlink(seg);
            close(seg->fd);
            seg->fd = -1;
        }
        seg = prev;
    }
}

/* A sealed segment with an open fd joins the LRU (at the front). */
static void
lru_note(sl_seg_t *seg)
{
    if (seg->mgr == NULL || !seg->sealed || seg->fd < 0)
        return;
    if (seg->in_lru) {
        lru_unlink(seg);
    } else if (seg->mgr->lru_n >= seg->mgr->max_open_segments) {
        /* before the push, so this segment is never the one closed */
        sl_log_mgr_evict(seg->mgr,
                         seg->mgr->max_open_segments > 0 ? seg->mgr->max_open_segments - 1 : 0);
    }
    lru_push(seg);
}

int
sl_seg_fd(sl_seg_t *seg)
{
    int rc;

    if (seg->fd < 0 && (rc = seg_open_log(seg, O_RDWR)) != SL_OK)
        return rc;
    lru_note(seg);
    return SL_OK;
}

int
sl_seg_sync_log(sl_seg_t *seg)
{
    int rc;

    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    if (sl_fault("log.fsync"))
        return SL_EIO;
    return fdatasync(seg->fd) == 0 ? SL_OK : sl_log_errno(errno);
}

void
sl_seg_drop(sl_seg_t *seg)
{
    /* Out of the LRU first: a region may keep the segment alive, and its
     * fd must then stay open whatever the LRU does. */
    lru_unlink(seg);
    sl_seg_unref(seg);
}

void
sl_seg_note_synced(sl_seg_t *seg)
{
    if (!seg->sealed || seg->synced)
        return;
    seg->synced = true;
    if (seg->in_lru && seg->mgr->lru_n > seg->mgr->max_open_segments)
        sl_log_mgr_evict(seg->mgr, seg->mgr->max_open_segments);
}

static void seg_unlink(const sl_seg_t *seg, const char *suffix);

static void
seg_unlink_live(const sl_seg_t *seg)
{
    seg_unlink(seg, ".log");
    seg_unlink(seg, ".index");
    seg_unlink(seg, ".timeindex");
}

void
sl_seg_discard(sl_seg_t *seg)
{
    seg_unlink_live(seg);
    sl_seg_unref(seg);
}

int
sl_seg_create(const char *dir, int64_t base, const sl_log_cfg_t *cfg, sl_log_mgr_t *mgr,
              sl_seg_t **out)
{
    sl_seg_t *seg = seg_alloc(dir, base, mgr);
    char path[PATH_MAX];
    int rc;

    /* A file at the LEO's name can only be a leftover of a tail that
     * recovery or a failed roll cut away. Unlinked, not truncated: see
     * sl_idx_create. */
    sl_seg_path(path, sizeof(path), dir, base, ".log");
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    if ((rc = seg_open_log(seg, O_RDWR | O_CREAT | O_TRUNC)) != SL_OK)
        goto fail;
    sl_seg_path(path, sizeof(path), dir, base, ".index");
    rc = sl_idx_create(&seg->oidx, path, SL_IDX_OFFSET_ENTRY, cfg->segment_index_bytes);
    if (rc != SL_OK)
        goto fail;
    sl_seg_path(path, sizeof(path), dir, base, ".timeindex");
    rc = sl_idx_create(&seg->tidx, path, SL_IDX_TIME_ENTRY, cfg->segment_index_bytes);
    if (rc != SL_OK)
        goto fail;
    *out = seg;
    return SL_OK;

fail:
    /* No half-made segment may stay behind for the next load to adopt. */
    seg_unlink_live(seg);
    sl_seg_destroy(seg);
    return rc;
}

int
sl_seg_open(const char *dir, int64_t base, sl_log_mgr_t *mgr, sl_seg_t **out)
{
    sl_seg_t *seg = seg_alloc(dir, base, mgr);
    char path[PATH_MAX];
    struct stat st;
    int rc;

    /* No fd yet: recovery opens the ones it walks, reads the rest. */
    sl_seg_path(path, sizeof(path), dir, base, ".log");
    if (sl_fault("log.open")) {
        rc = SL_EIO;
        goto fail;
    }
    if (stat(path, &st) != 0) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    seg->size = st.st_size;
    seg->created_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    *out = seg;
    return SL_OK;

fail:
    sl_seg_destroy(seg);
    return rc;
}

void
sl_seg_ref(sl_seg_t *seg)
{
    SL_ASSERT(seg->refs > 0);
    seg->refs++;
}

void
sl_seg_unref(sl_seg_t *seg)
{
    if (seg == NULL)
        return;
    SL_ASSERT(seg->refs > 0);
    if (--seg->refs > 0)
        return;
    lru_unlink(seg);
    /* close() of a deleted 1 GiB file frees its blocks: not on the loop. */
    if (seg->mgr != NULL)
        sl_log_mgr_free_seg(seg->mgr, seg);
    else
        sl_seg_destroy(seg);
}

static void
seg_unlink(const sl_seg_t *seg, const char *suffix)
{
    char path[PATH_MAX];

    sl_seg_path(path, sizeof(path), seg->dir, seg->base, suffix);
    if (unlink(path) != 0 && errno != ENOENT)
        sl_warn(SL_LOG_COMP, "unlink %s: %s", path, strerror(errno));
}

/* Runs on the janitor (or inline when there is no manager). */
void
sl_seg_destroy(sl_seg_t *seg)
{
    if (seg == NULL)
        return;
    sl_idx_close(&seg->oidx);
    sl_idx_close(&seg->tidx);
    if (seg->fd >= 0)
        close(seg->fd);
    if (seg->deleted) {
        seg_unlink(seg, ".log.deleted");
        seg_unlink(seg, ".index.deleted");
        seg_unlink(seg, ".timeindex.deleted");
    }
    free(seg->dir);
    free(seg);
}

int
sl_seg_mark_deleted(sl_seg_t *seg)
{
    static const char *const sfx[] = {".log", ".index", ".timeindex"};
    char from[PATH_MAX], to[PATH_MAX + 16];

    for (size_t i = 0; i < SL_ARRAY_LEN(sfx); i++) {
        sl_seg_path(from, sizeof(from), seg->dir, seg->base, sfx[i]);
        snprintf(to, sizeof(to), "%s.deleted", from);
        if (sl_fault("log.rename")) {
            errno = EIO;
        } else if (rename(from, to) == 0) {
            /* The .log rename is the commit point: once it happened, the
             * segment is gone for a restart too. */
            seg->deleted = true;
            continue;
        }
        if (i == 0)
            return sl_log_errno(errno);
        sl_warn(SL_LOG_COMP, "rename %s: %s (removed at next load)", from, strerror(errno));
    }
    return SL_OK;
}

int
sl_seg_truncate(sl_seg_t *seg, int64_t size)
{
    int rc;

    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    if (ftruncate(seg->fd, (off_t)size) != 0)
        return sl_log_errno(errno);
    seg->size = size;
    return SL_OK;
}

int64_t
sl_seg_last_modified_ms(const sl_seg_t *seg)
{
    char path[PATH_MAX];
    struct stat st;

    sl_seg_path(path, sizeof(path), seg->dir, seg->base, seg->deleted ? ".log.deleted" : ".log");
    if (seg->fd >= 0 ? fstat(seg->fd, &st) != 0 : stat(path, &st) != 0)
        return seg->created_ms;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* ======================================================================
 * Appending
 * ====================================================================== */

/* Fault points simulate the worst case: half the bytes land, then the call
 * fails, so the cut-back path is what gets tested. */
static int
seg_pwrite_all(int fd, const uint8_t *data, size_t len, int64_t at)
{
    size_t done = 0;
    int frc = sl_fault("log.write") ? SL_EIO : sl_fault("log.enospc") ? SL_ENOSPC : SL_OK;

    if (frc != SL_OK) {
        if (pwrite(fd, data, len / 2, (off_t)at) < 0)
            return sl_log_errno(errno);
        return frc;
    }
    while (done < len) {
        ssize_t n = pwrite(fd, data + done, len - done, (off_t)(at + (int64_t)done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sl_log_errno(errno);
        if (n == 0)
            return SL_EIO;
        done += (size_t)n;
    }
    return SL_OK;
}

int
sl_seg_write(sl_seg_t *seg, const uint8_t *data, size_t len)
{
    int rc = seg_pwrite_all(seg->fd, data, len, seg->size);

    if (rc == SL_OK) {
        /* Appended batches were CRC-checked on the way in. */
        if (seg->verified == seg->size)
            seg->verified += (int64_t)len;
        seg->size += (int64_t)len;
        return SL_OK;
    }
    /* Nothing half-written may stay: a later append would land after it and
     * recovery would cut the log at the garbage, losing acknowledged data. */
    if (ftruncate(seg->fd, (off_t)seg->size) != 0) {
        sl_error(SL_LOG_COMP, "cannot cut %s/%020" PRId64 ".log back after a failed write: %s",
                 seg->dir, seg->base, strerror(errno));
        return SL_EIO;
    }
    return rc;
}

void
sl_seg_mark(const sl_seg_t *seg, sl_seg_mark_t *m)
{
    m->size = seg->size;
    m->next_offset = seg->next_offset;
    m->max_ts = seg->max_ts;
    m->max_ts_offset = seg->max_ts_offset;
    m->first_ts = seg->first_ts;
    m->since_index = seg->since_index;
    m->verified = seg->verified;
    m->oidx_entries = seg->oidx.entries;
    m->tidx_entries = seg->tidx.entries;
}

int
sl_seg_rewind(sl_seg_t *seg, const sl_seg_mark_t *m)
{
    if (sl_fault("log.truncate") || ftruncate(seg->fd, (off_t)m->size) != 0) {
        sl_error(SL_LOG_COMP, "cannot cut %s/%020" PRId64 ".log back after a failed append",
                 seg->dir, seg->base);
        return SL_EIO;
    }
    seg->size = m->size;
    seg->next_offset = m->next_offset;
    seg->max_ts = m->max_ts;
    seg->max_ts_offset = m->max_ts_offset;
    seg->first_ts = m->first_ts;
    seg->since_index = m->since_index;
    seg->verified = SL_MIN(seg->verified, m->verified);
    seg->vr_end = SL_MIN(seg->vr_end, m->size);
    seg->vr_start = SL_MIN(seg->vr_start, seg->vr_end);
    seg->oidx.entries = m->oidx_entries;
    seg->tidx.entries = m->tidx_entries;
    return SL_OK;
}

static int
seg_time_entry(sl_seg_t *seg)
{
    uint8_t e[SL_IDX_TIME_ENTRY];

    if (seg->max_ts < 0 || sl_idx_full(&seg->tidx))
        return SL_OK;
    if (seg->tidx.entries > 0 &&
        (int64_t)sl_be64(sl_idx_entry(&seg->tidx, seg->tidx.entries - 1)) >= seg->max_ts)
        return SL_OK;
    sl_put_be64(e, (uint64_t)seg->max_ts);
    sl_put_be32(e + 8, (uint32_t)(seg->max_ts_offset - seg->base));
    return sl_idx_append(&seg->tidx, e);
}

int
sl_seg_index_batch(sl_seg_t *seg, const sl_batch_hdr_t *h, int64_t pos, int64_t interval)
{
    int64_t last = h->base_offset + h->last_offset_delta;
    uint8_t e[SL_IDX_OFFSET_ENTRY];
    int rc;

    if (pos == 0)
        seg->first_ts = h->max_timestamp;
    if (h->max_timestamp > seg->max_ts) {
        seg->max_ts = h->max_timestamp;
        seg->max_ts_offset = last;
    }
    /* Same rule as Kafka's LogSegment.append, so our files match its. */
    if (seg->since_index > interval && !sl_idx_full(&seg->oidx) &&
        seg->tidx.entries + 1 < seg->tidx.max_entries) {
        sl_put_be32(e, (uint32_t)(last - seg->base));
        sl_put_be32(e + 4, (uint32_t)pos);
        if ((rc = sl_idx_append(&seg->oidx, e)) != SL_OK)
            return rc;
        if ((rc = seg_time_entry(seg)) != SL_OK)
            return rc;
        seg->since_index = 0;
    }
    seg->since_index += sl_batch_size(h);
    seg->next_offset = last + 1;
    return SL_OK;
}

int
sl_seg_commit_indexes(sl_seg_t *seg, int64_t max_bytes, bool active)
{
    char path[PATH_MAX];
    int rc;

    /* A sealed segment's last time entry carries its max timestamp. */
    if (!active && (rc = seg_time_entry(seg)) != SL_OK)
        return rc;
    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".index");
    if ((rc = sl_idx_finish_build(&seg->oidx, path, max_bytes, active)) != SL_OK)
        return rc;
    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".timeindex");
    if ((rc = sl_idx_finish_build(&seg->tidx, path, max_bytes, active)) != SL_OK)
        return rc;
    seg->sealed = !active;
    lru_note(seg);
    return SL_OK;
}

int
sl_seg_reopen_active(sl_seg_t *seg, int64_t max_bytes)
{
    int rc;

    if (!seg->sealed)
        return SL_OK;
    if ((rc = sl_idx_make_writable(&seg->oidx, max_bytes)) != SL_OK ||
        (rc = sl_idx_make_writable(&seg->tidx, max_bytes)) != SL_OK)
        return rc;
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    lru_unlink(seg);
    seg->sealed = false;
    seg->synced = false;
    return SL_OK;
}

int
sl_seg_seal(sl_seg_t *seg)
{
    int rc;

    if (seg->sealed)
        return SL_OK;
    /* The last time entry carries the segment's max timestamp, which a
     * clean load then reads back instead of scanning (retention needs it). */
    if ((rc = seg_time_entry(seg)) != SL_OK)
        return rc;
    if ((rc = sl_idx_trim(&seg->oidx)) != SL_OK)
        return rc;
    if ((rc = sl_idx_trim(&seg->tidx)) != SL_OK)
        return rc;
    seg->sealed = true;
    lru_note(seg);
    return SL_OK;
}

/* ======================================================================
 * Scanning
 * ====================================================================== */

void
sl_seg_scan_init(sl_seg_scan_t *sc, int fd, int64_t pos, int64_t end)
{
    sc->fd = fd;
    sc->pos = pos;
    sc->end = end;
    sc->cap = SCAN_BUF;
    sc->buf = sl_xmalloc(sc->cap);
    sc->buf_off = 0;
    sc->buf_len = 0;
}

void
sl_seg_scan_deinit(sl_seg_scan_t *sc)
{
    free(sc->buf);
    sc->buf = NULL;
}

/* Makes file bytes [off, off+need) available at scan_at(sc, off). */
static int
scan_fill(sl_seg_scan_t *sc, int64_t off, size_t need)
{
    size_t want, got = 0;

    SL_ASSERT(need <= sc->cap);
    if (off >= sc->buf_off && off + (int64_t)need <= sc->buf_off + (int64_t)sc->buf_len)
        return SL_OK;
    want = (size_t)SL_MIN((int64_t)sc->cap, sc->end - off);
    while (got < want) {
        ssize_t n = pread(sc->fd, sc->buf + got, want - got, (off_t)(off + (int64_t)got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sl_log_errno(errno);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    sc->buf_off = off;
    sc->buf_len = got;
    return got >= need ? SL_OK : SL_ECORRUPT;
}

static const uint8_t *
scan_at(const sl_seg_scan_t *sc, int64_t off)
{
    return sc->buf + (off - sc->buf_off);
}

/* Header checks that need no CRC: what makes the chain of sizes trustable. */
static bool
hdr_sane(const sl_batch_hdr_t *h)
{
    return h->batch_length >= SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD && h->magic == 2 &&
           h->base_offset >= 0 && h->last_offset_delta >= 0 && h->record_count >= 0 &&
           h->base_offset <= INT64_MAX - h->last_offset_delta &&
           (h->attributes & SL_ATTR_CODEC_MASK) <= SL_CODEC_ZSTD;
}

static int
scan_crc(sl_seg_scan_t *sc, int64_t pos, int64_t size, uint32_t want)
{
    uint32_t crc = 0;
    int64_t off = pos + SL_BATCH_CRC_START, end = pos + size;
    int rc;

    while (off < end) {
        size_t n = (size_t)SL_MIN((int64_t)sc->cap, end - off);

        if ((rc = scan_fill(sc, off, n)) != SL_OK)
            return rc;
        crc = sl_crc32c_update(crc, scan_at(sc, off), n);
        off += (int64_t)n;
    }
    return crc == want ? SL_OK : SL_ECORRUPT;
}

int
sl_seg_scan_next(sl_seg_scan_t *sc, bool check_crc, sl_batch_hdr_t *h, int64_t *batch_pos)
{
    int64_t left = sc->end - sc->pos;
    int rc;

    if (left <= 0)
        return SL_ENOENT;
    if (left < SL_BATCH_HEADER_SIZE)
        return SL_ECORRUPT;
    if ((rc = scan_fill(sc, sc->pos, SL_BATCH_HEADER_SIZE)) != SL_OK)
        return rc;
    if (sl_batch_hdr_parse(scan_at(sc, sc->pos), SL_BATCH_HEADER_SIZE, h) != SL_OK)
        return SL_ECORRUPT;
    if (!hdr_sane(h) || sl_batch_size(h) > left)
        return SL_ECORRUPT;
    if (check_crc && (rc = scan_crc(sc, sc->pos, sl_batch_size(h), h->crc)) != SL_OK)
        return rc;
    *batch_pos = sc->pos;
    sc->pos += sl_batch_size(h);
    return SL_OK;
}

/* ======================================================================
 * Lookups
 * ====================================================================== */

int
sl_seg_find(sl_seg_t *seg, int64_t offset, sl_seg_hit_t *hit)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t start = 0, bpos, i;
    int rc;

    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;

    if (offset >= seg->next_offset) {
        hit->pos = hit->end = seg->size;
        hit->base = hit->next = seg->next_offset;
        return SL_OK;
    }
    if (offset > seg->base &&
        (i = sl_idx_find_offset(&seg->oidx, (uint32_t)(offset - seg->base))) >= 0)
        start = sl_be32(sl_idx_entry(&seg->oidx, (uint32_t)i) + 4);
    sl_seg_scan_init(&sc, seg->fd, start, seg->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        if (h.base_offset + h.last_offset_delta >= offset) {
            hit->pos = bpos;
            hit->end = bpos + sl_batch_size(&h);
            hit->base = h.base_offset;
            hit->next = h.base_offset + h.last_offset_delta + 1;
            break;
        }
    }
    sl_seg_scan_deinit(&sc);
    /* Running off the end means the in-memory next_offset and the file
     * disagree: the file changed under us. */
    return rc == SL_ENOENT ? SL_ECORRUPT : rc;
}

int
sl_seg_fit(sl_seg_t *seg, int64_t from, int64_t limit, int64_t *end, int64_t *next)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t start = from, bpos, i;
    int rc;

    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;

    if (limit > seg->size)
        limit = seg->size;
    /* Entries sit at batch starts, so the last one <= limit is a safe place
     * to start: at most index.interval.bytes of headers to read. */
    if (limit > from && (i = sl_idx_find_position(&seg->oidx, (uint32_t)limit)) >= 0) {
        int64_t p = sl_be32(sl_idx_entry(&seg->oidx, (uint32_t)i) + 4);

        if (p > from)
            start = p;
    }
    *end = start;
    *next = -1;
    sl_seg_scan_init(&sc, seg->fd, start, seg->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        if (*next < 0)
            *next = h.base_offset;
        if (bpos + sl_batch_size(&h) > limit)
            break;
        *end = bpos + sl_batch_size(&h);
        *next = h.base_offset + h.last_offset_delta + 1;
    }
    sl_seg_scan_deinit(&sc);
    if (rc == SL_ENOENT && *next < 0)
        *next = seg->next_offset;
    return rc == SL_ENOENT || rc == SL_OK ? SL_OK : rc;
}

int
sl_seg_find_time(sl_seg_t *seg, int64_t ts, int64_t min_offset, int64_t *offset, int64_t *found)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t start = 0, from = seg->base, bpos, i;
    int rc;

    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;

    if ((i = sl_idx_find_time(&seg->tidx, ts)) >= 0)
        from = seg->base + sl_be32(sl_idx_entry(&seg->tidx, (uint32_t)i) + 8);
    from = SL_MAX(from, min_offset);
    if (from > seg->base && (i = sl_idx_find_offset(&seg->oidx, (uint32_t)(from - seg->base))) >= 0)
        start = sl_be32(sl_idx_entry(&seg->oidx, (uint32_t)i) + 4);
    sl_seg_scan_init(&sc, seg->fd, start, seg->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        if (h.max_timestamp >= ts && h.base_offset + h.last_offset_delta >= min_offset) {
            *offset = h.base_offset;
            *found = h.max_timestamp;
            break;
        }
    }
    sl_seg_scan_deinit(&sc);
    return rc;
}

int
sl_seg_max_ts_from(sl_seg_t *seg, int64_t from, int64_t *ts, int64_t *offset)
{
    sl_seg_hit_t hit;
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t bpos;
    int rc;

    *ts = -1;
    *offset = from;
    if ((rc = sl_seg_find(seg, from, &hit)) != SL_OK || (rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    sl_seg_scan_init(&sc, seg->fd, hit.pos, seg->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        if (h.max_timestamp > *ts) {
            *ts = h.max_timestamp;
            *offset = h.base_offset + h.last_offset_delta;
        }
    }
    sl_seg_scan_deinit(&sc);
    return rc == SL_ENOENT ? SL_OK : rc;
}

static void
seg_note_verified(sl_seg_t *seg, int64_t pos, int64_t end)
{
    if (pos <= seg->verified) {
        seg->verified = SL_MAX(seg->verified, end);
    } else if (pos >= seg->vr_start && pos <= seg->vr_end) {
        seg->vr_end = SL_MAX(seg->vr_end, end);
    } else {
        seg->vr_start = pos;
        seg->vr_end = end;
    }
    if (seg->vr_start <= seg->verified && seg->vr_end > seg->verified)
        seg->verified = seg->vr_end;
}

int
sl_seg_verify(sl_seg_t *seg, int64_t pos, int64_t end)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t from = pos, bpos;
    int rc;

    if (end <= seg->verified || (pos >= seg->vr_start && end <= seg->vr_end))
        return SL_OK;
    /* Both verified boundaries are batch boundaries, so skipping to them
     * keeps the scan on the chain. */
    if (from < seg->verified)
        from = seg->verified;
    if (from >= seg->vr_start && from < seg->vr_end)
        from = seg->vr_end;
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    sl_seg_scan_init(&sc, seg->fd, from, end);
    while ((rc = sl_seg_scan_next(&sc, true, &h, &bpos)) == SL_OK)
        ;
    sl_seg_scan_deinit(&sc);
    if (rc != SL_ENOENT)
        return rc;
    seg_note_verified(seg, pos, end);
    return SL_OK;
}

/* ======================================================================
 * Truncation (followers: sl_plog_truncate_to)
 * ====================================================================== */

/* Index entries that stay when the segment keeps [0, pos) and offsets
 * below `next`: offset entries point at batches starting before pos, time
 * entries at offsets below next. */
static void
cut_counts(const sl_seg_t *seg, int64_t pos, int64_t next, uint32_t *ko, uint32_t *kt)
{
    uint32_t t = seg->tidx.entries;

    *ko = pos > 0 ? (uint32_t)(sl_idx_find_position(&seg->oidx, (uint32_t)(pos - 1)) + 1) : 0;
    while (t > 0 && seg->base + sl_be32(sl_idx_entry(&seg->tidx, t - 1) + 8) >= next)
        t--;
    *kt = t;
}

/* The state of seg for its first pos bytes, into dst (dst may be seg): the
 * largest timestamp from the last surviving time entry plus the headers
 * after the last surviving offset entry (what walk_tail in recover.c reads
 * after a clean stop), so it is exact, not the index's approximation. */
static int
cut_state(const sl_seg_t *seg, int fd, int64_t pos, int64_t next, uint32_t ko, uint32_t kt,
          sl_seg_t *dst)
{
    int64_t from = ko > 0 ? sl_be32(sl_idx_entry(&seg->oidx, ko - 1) + 4) : 0;
    int64_t max_ts = -1, max_ts_offset = seg->base, bpos;
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int rc;

    if (kt > 0) {
        const uint8_t *e = sl_idx_entry(&seg->tidx, kt - 1);

        max_ts = (int64_t)sl_be64(e);
        max_ts_offset = seg->base + sl_be32(e + 8);
    }
    sl_seg_scan_init(&sc, fd, from, pos);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &bpos)) == SL_OK) {
        if (h.max_timestamp > max_ts) {
            max_ts = h.max_timestamp;
            max_ts_offset = h.base_offset + h.last_offset_delta;
        }
    }
    sl_seg_scan_deinit(&sc);
    if (rc != SL_ENOENT)
        return rc == SL_OK ? SL_ECORRUPT : rc;
    dst->size = pos;
    dst->next_offset = next;
    dst->max_ts = max_ts;
    dst->max_ts_offset = max_ts_offset;
    dst->first_ts = pos > 0 ? seg->first_ts : -1;
    dst->since_index = pos - from;
    dst->verified = SL_MIN(seg->verified, pos);
    dst->vr_end = SL_MIN(seg->vr_end, pos);
    dst->vr_start = SL_MIN(seg->vr_start, dst->vr_end);
    return SL_OK;
}

static int
copy_prefix(int from, int to, int64_t len)
{
    int64_t done = 0;
    uint8_t buf[64 * 1024];

    while (done < len) {
        loff_t in = (loff_t)done, out = (loff_t)done;
        ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(len - done), 0);

        if (n < 0 &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
            /* no in-kernel copy between these files: plain reads */
            n = pread(from, buf, (size_t)SL_MIN(len - done, (int64_t)sizeof(buf)), (off_t)done);
            if (n > 0 && seg_pwrite_all(to, buf, (size_t)n, done) != SL_OK)
                return SL_EIO;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sl_log_errno(errno);
        if (n == 0)
            return SL_EIO;
        done += n;
    }
    return SL_OK;
}

/* A reader holds a region of the part that goes: the kept part is copied
 * to a new file that replaces the name (rename is atomic), so the region's
 * fd keeps the old inode with every byte it may still send. */
static int
cut_by_copy(sl_seg_t *seg, int64_t pos, int64_t next, uint32_t ko, uint32_t kt, int64_t max_bytes,
            sl_seg_t **out)
{
    sl_seg_t *nseg = seg_alloc(seg->dir, seg->base, seg->mgr);
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int rc;

    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".log");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path); /* a crash leaves it to the next load to remove */
    if ((rc = sl_log_open_fd(seg->mgr, tmp, O_RDWR | O_CREAT | O_TRUNC, &nseg->fd)) != SL_OK)
        goto fail;
    if ((rc = copy_prefix(seg->fd, nseg->fd, pos)) != SL_OK)
        goto fail;
    if (sl_fault("log.fsync") || fdatasync(nseg->fd) != 0) {
        rc = SL_EIO;
        goto fail;
    }
    if ((rc = cut_state(seg, seg->fd, pos, next, ko, kt, nseg)) != SL_OK)
        goto fail;
    if (rename(tmp, path) != 0) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    tmp[0] = '\0';
    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".index");
    /* at least the entries kept (segment.index.bytes may have shrunk) */
    rc = sl_idx_create(&nseg->oidx, path, SL_IDX_OFFSET_ENTRY,
                       SL_MAX(max_bytes, (int64_t)(ko + 1) * SL_IDX_OFFSET_ENTRY));
    if (rc != SL_OK)
        goto fail;
    sl_seg_path(path, sizeof(path), seg->dir, seg->base, ".timeindex");
    rc = sl_idx_create(&nseg->tidx, path, SL_IDX_TIME_ENTRY,
                       SL_MAX(max_bytes, (int64_t)(kt + 1) * SL_IDX_TIME_ENTRY));
    if (rc != SL_OK)
        goto fail;
    for (uint32_t i = 0; i < ko && rc == SL_OK; i++)
        rc = sl_idx_append(&nseg->oidx, sl_idx_entry(&seg->oidx, i));
    for (uint32_t i = 0; i < kt && rc == SL_OK; i++)
        rc = sl_idx_append(&nseg->tidx, sl_idx_entry(&seg->tidx, i));
    if (rc != SL_OK)
        goto fail;
    nseg->created_ms = seg->created_ms;
    *out = nseg;
    return SL_OK;

fail:
    if (tmp[0] != '\0')
        unlink(tmp);
    sl_seg_destroy(nseg);
    return rc;
}

int
sl_seg_cut(sl_seg_t *seg, int64_t pos, int64_t next, int64_t max_bytes, sl_seg_t **out)
{
    uint32_t ko, kt;
    int rc;

    SL_ASSERT(!seg->sealed && pos <= seg->size);
    *out = seg;
    cut_counts(seg, pos, next, &ko, &kt);
    if (seg->readers > 0 && pos < seg->size)
        return cut_by_copy(seg, pos, next, ko, kt, max_bytes, out);
    if ((rc = sl_seg_fd(seg)) != SL_OK)
        return rc;
    if (sl_fault("log.truncate") || ftruncate(seg->fd, (off_t)pos) != 0)
        return SL_EIO;
    /* A follower that cut its tail must not get it back after a crash. */
    if (sl_fault("log.fsync") || fdatasync(seg->fd) != 0)
        return SL_EIO;
    if ((rc = cut_state(seg, seg->fd, pos, next, ko, kt, seg)) != SL_OK)
        return rc;
    /* Entries past these sit in the preallocated part: overwritten by the
     * next appends, cut at seal, rebuilt by recovery. */
    seg->oidx.entries = ko;
    seg->tidx.entries = kt;
    seg->oidx.dirty = seg->tidx.dirty = true;
    return SL_OK;
}
