/*
 * index.c -- the sparse offset index (.index) and time index (.timeindex).
 *
 * Formats (big-endian, like Kafka's):
 *   .index      8-byte entries: relative offset u32, file position u32
 *   .timeindex 12-byte entries: timestamp i64, relative offset u32
 * One entry per index.interval.bytes of batches. Both are monotonic, so
 * lookups are binary searches.
 *
 * The file of the active segment is preallocated (sparse) to
 * segment.index.bytes like Kafka's, and cut to the used size when the
 * segment is sealed or closed. Entries are written with pwrite -- not
 * through the map -- so a full disk is an error code rather than a SIGBUS;
 * lookups read a shared read-only map, which sees pwrite'd data at once.
 * Indexes are never trusted after an unclean stop: recovery rebuilds them.
 */
#include "log/log_int.h"

#include "base/fault.h"
#include "base/log.h"
#include "proto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void
idx_reset(sl_idx_t *ix, uint32_t entry_size)
{
    ix->fd = -1;
    free(ix->path);
    ix->path = NULL;
    ix->map = NULL;
    ix->map_len = 0;
    ix->entries = 0;
    ix->max_entries = 0;
    ix->entry_size = entry_size;
    ix->dirty = false;
    ix->building = false;
    memset(&ix->build, 0, sizeof(ix->build));
}

static uint32_t
idx_max_entries(uint32_t entry_size, int64_t max_bytes)
{
    int64_t n = max_bytes / entry_size;

    if (n < 1)
        n = 1;
    return n > (int64_t)(UINT32_MAX / entry_size) ? UINT32_MAX / entry_size : (uint32_t)n;
}

static int
idx_map(sl_idx_t *ix, size_t len)
{
    void *p;

    if (len == 0)
        return SL_OK;
    p = mmap(NULL, len, PROT_READ, MAP_SHARED, ix->fd, 0);
    if (p == MAP_FAILED)
        return sl_log_errno(errno);
    ix->map = p;
    ix->map_len = len;
    return SL_OK;
}

static void
idx_unmap(sl_idx_t *ix)
{
    if (ix->map != NULL)
        munmap((void *)ix->map, ix->map_len);
    ix->map = NULL;
    ix->map_len = 0;
}

static int
idx_open_fd(sl_idx_t *ix, const char *path, int flags)
{
    if (ix->path != path) {
        free(ix->path);
        ix->path = sl_xstrdup(path);
    }
    return sl_log_open_fd(ix->mgr, path, flags, &ix->fd);
}

/* A sealed index whose fd was dropped, reopened for a write or a sync. */
static int
idx_reopen(sl_idx_t *ix)
{
    if (ix->fd >= 0)
        return SL_OK;
    if (ix->path == NULL)
        return SL_EIO;
    return idx_open_fd(ix, ix->path, O_RDWR);
}

void
sl_idx_drop_fd(sl_idx_t *ix)
{
    if (ix->fd >= 0)
        close(ix->fd);
    ix->fd = -1;
}

int
sl_idx_create(sl_idx_t *ix, const char *path, uint32_t entry_size, int64_t max_bytes)
{
    int rc;

    idx_reset(ix, entry_size);
    ix->max_entries = idx_max_entries(entry_size, max_bytes);
    /* Unlink rather than O_TRUNC: ext4 flushes a file truncated to zero
     * and rewritten (auto_da_alloc), which made rebuilds crawl. */
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    if ((rc = idx_open_fd(ix, path, O_RDWR | O_CREAT | O_TRUNC)) != SL_OK)
        goto fail;
    if (ftruncate(ix->fd, (off_t)ix->max_entries * entry_size) != 0) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    if ((rc = idx_map(ix, (size_t)ix->max_entries * entry_size)) != SL_OK)
        goto fail;
    ix->dirty = true;
    return SL_OK;

fail:
    sl_idx_close(ix);
    return rc;
}

int
sl_idx_load(sl_idx_t *ix, const char *path, uint32_t entry_size, int64_t max_bytes, bool writable)
{
    struct stat st;
    int rc;

    idx_reset(ix, entry_size);
    if ((rc = idx_open_fd(ix, path, O_RDWR)) != SL_OK)
        goto fail;
    if (fstat(ix->fd, &st) != 0) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    if (st.st_size % entry_size != 0 || st.st_size / entry_size > UINT32_MAX / entry_size) {
        rc = SL_ECORRUPT;
        goto fail;
    }
    ix->entries = (uint32_t)(st.st_size / entry_size);
    ix->max_entries = idx_max_entries(entry_size, max_bytes);
    if (ix->max_entries < ix->entries)
        ix->max_entries = ix->entries;
    if (writable && ftruncate(ix->fd, (off_t)ix->max_entries * entry_size) != 0) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    rc = idx_map(ix, (size_t)(writable ? ix->max_entries : ix->entries) * entry_size);
    if (rc != SL_OK)
        goto fail;
    if (!writable)
        sl_idx_drop_fd(ix);
    return SL_OK;

fail:
    sl_idx_close(ix);
    return rc;
}

int
sl_idx_append(sl_idx_t *ix, const uint8_t *entry)
{
    off_t at = (off_t)ix->entries * ix->entry_size;
    ssize_t n;

    SL_ASSERT(ix->entries < ix->max_entries);
    if (ix->building) {
        sl_buf_append(&ix->build, entry, ix->entry_size);
        ix->entries++;
        return SL_OK;
    }
    if (sl_fault("log.index.write"))
        return SL_EIO;
    /* A sparse index page that needs a new block on a full disk. */
    if (sl_fault("log.index.enospc"))
        return SL_ENOSPC;
    n = pwrite(ix->fd, entry, ix->entry_size, at);
    if (n != (ssize_t)ix->entry_size)
        return n < 0 ? sl_log_errno(errno) : SL_EIO;
    ix->entries++;
    ix->dirty = true;
    return SL_OK;
}

void
sl_idx_begin_build(sl_idx_t *ix, uint32_t entry_size, int64_t max_bytes)
{
    sl_idx_close(ix);
    idx_reset(ix, entry_size);
    ix->max_entries = idx_max_entries(entry_size, max_bytes);
    ix->building = true;
}

/* True when the file at path holds exactly `want`. */
static bool
idx_same(const char *path, const sl_buf_t *want)
{
    struct stat st;
    uint8_t *have;
    bool same = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size == want->len) {
        have = sl_xmalloc(want->len + 1);
        same = want->len == 0 || (pread(fd, have, want->len, 0) == (ssize_t)want->len &&
                                  memcmp(have, want->data, want->len) == 0);
        free(have);
    }
    close(fd);
    return same;
}

static int
idx_write_all(int fd, const uint8_t *p, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, p + done, len - done, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? sl_log_errno(errno) : SL_EIO;
        done += (size_t)n;
    }
    return SL_OK;
}

int
sl_idx_finish_build(sl_idx_t *ix, const char *path, int64_t max_bytes, bool writable)
{
    sl_buf_t b = ix->build;
    uint32_t n = ix->entries, es = ix->entry_size;
    int rc;

    memset(&ix->build, 0, sizeof(ix->build));
    ix->building = false;
    if (!writable && idx_same(path, &b)) {
        rc = sl_idx_load(ix, path, es, max_bytes, false);
        goto out;
    }
    if (writable) {
        rc = sl_idx_create(ix, path, es, max_bytes);
    } else {
        /* exactly the entries, like a trimmed index */
        idx_reset(ix, es);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = sl_log_errno(errno);
        else
            rc = idx_open_fd(ix, path, O_RDWR | O_CREAT | O_TRUNC);
    }
    if (rc == SL_OK)
        rc = idx_write_all(ix->fd, b.data, b.len);
    if (rc == SL_OK && !writable)
        rc = idx_map(ix, b.len);
    if (rc == SL_OK && !writable)
        sl_idx_drop_fd(ix);
    ix->entries = n;
    if (!writable)
        ix->max_entries = n;
    ix->dirty = true;
out:
    sl_buf_deinit(&b);
    return rc;
}

int
sl_idx_make_writable(sl_idx_t *ix, int64_t max_bytes)
{
    uint32_t max = idx_max_entries(ix->entry_size, max_bytes);
    int rc;

    if ((rc = idx_reopen(ix)) != SL_OK)
        return rc;
    if (max < ix->entries)
        max = ix->entries;
    if (ftruncate(ix->fd, (off_t)max * ix->entry_size) != 0)
        return sl_log_errno(errno);
    idx_unmap(ix);
    ix->max_entries = max;
    ix->dirty = true;
    return idx_map(ix, (size_t)max * ix->entry_size);
}

int
sl_idx_trim(sl_idx_t *ix)
{
    size_t used = (size_t)ix->entries * ix->entry_size;
    int rc;

    if (ix->fd < 0)
        return SL_OK; /* sealed already: trimmed when it was */
    if (ftruncate(ix->fd, (off_t)used) != 0)
        return sl_log_errno(errno);
    ix->dirty = true;
    /* Pages past the new end would SIGBUS if touched: map only what exists. */
    idx_unmap(ix);
    ix->max_entries = ix->entries;
    if ((rc = idx_map(ix, used)) != SL_OK)
        return rc;
    sl_idx_drop_fd(ix);
    return SL_OK;
}

int
sl_idx_sync(sl_idx_t *ix)
{
    bool reopened = ix->fd < 0;
    int rc;

    if (!ix->dirty || (ix->fd < 0 && ix->path == NULL))
        return SL_OK;
    if ((rc = idx_reopen(ix)) != SL_OK)
        return rc;
    if (sl_fault("log.fsync"))
        rc = SL_EIO;
    else if (fsync(ix->fd) != 0)
        rc = sl_log_errno(errno);
    if (reopened)
        sl_idx_drop_fd(ix);
    if (rc == SL_OK)
        ix->dirty = false;
    return rc;
}

void
sl_idx_close(sl_idx_t *ix)
{
    sl_buf_deinit(&ix->build);
    ix->building = false;
    idx_unmap(ix);
    if (ix->fd >= 0)
        close(ix->fd);
    ix->fd = -1;
    free(ix->path);
    ix->path = NULL;
}

const uint8_t *
sl_idx_entry(const sl_idx_t *ix, uint32_t i)
{
    if (ix->building) {
        SL_ASSERT(i < ix->entries);
        return ix->build.data + (size_t)i * ix->entry_size;
    }
    SL_ASSERT(i < ix->entries && (size_t)(i + 1) * ix->entry_size <= ix->map_len);
    return ix->map + (size_t)i * ix->entry_size;
}

/* Largest i with key(i) <= target over a monotonic key; -1 if none. */
static int64_t
idx_search(const sl_idx_t *ix, int64_t target, int64_t (*key)(const uint8_t *e))
{
    int64_t lo = 0, hi = (int64_t)ix->entries - 1, best = -1;

    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;

        if (key(sl_idx_entry(ix, (uint32_t)mid)) <= target) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

static int64_t
key_rel(const uint8_t *e)
{
    return sl_be32(e);
}

static int64_t
key_pos(const uint8_t *e)
{
    return sl_be32(e + 4);
}

static int64_t
key_ts(const uint8_t *e)
{
    return (int64_t)sl_be64(e);
}

int64_t
sl_idx_find_offset(const sl_idx_t *ix, uint32_t rel)
{
    return idx_search(ix, rel, key_rel);
}

int64_t
sl_idx_find_position(const sl_idx_t *ix, uint32_t pos)
{
    return idx_search(ix, pos, key_pos);
}

int64_t
sl_idx_find_time(const sl_idx_t *ix, int64_t ts)
{
    return idx_search(ix, ts, key_ts);
}
