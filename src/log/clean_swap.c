/*
 * clean_swap.c -- completing a cleaner swap that a crash interrupted
 * (Kafka's LogLoader swap handling), before a partition is loaded.
 *
 * <base>.log.swap exists only after the cleaned segment was fsynced, so it
 * is committed: every live segment whose base lies in [base, next) -- next
 * being the offset after the swap's last batch -- is an old segment it
 * replaces and goes; the swap then takes its live name. Old segments of the
 * group past `next` may survive: every record in them was superseded, so
 * they only repeat history until the next clean. The swap's index files are
 * dropped: a partition with a completed swap is recovered on the unclean
 * path, which rebuilds indexes. Leftover .cleaned files are removed by the
 * directory listing (recover.c).
 */
#include "log/cleaner_int.h"

#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

/* "<20 digits><suffix>" -> base. */
static bool
parse_name(const char *name, const char *suffix, int64_t *base)
{
    size_t n = strlen(name), m = strlen(suffix);
    int64_t v = 0;

    if (n != 20 + m || strcmp(name + 20, suffix) != 0)
        return false;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return true;
}

/* The offset after the last batch of the swap file (base if empty). */
static int
swap_next_offset(const char *path, int64_t base, int64_t *next)
{
    sl_seg_scan_t sc;
    sl_batch_hdr_t h;
    int64_t pos, size;
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return sl_log_errno(errno);
    size = lseek(fd, 0, SEEK_END);
    *next = base;
    sl_seg_scan_init(&sc, fd, 0, size < 0 ? 0 : size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &pos)) == SL_OK)
        *next = h.base_offset + h.last_offset_delta + 1;
    sl_seg_scan_deinit(&sc);
    close(fd);
    return rc == SL_ENOENT ? SL_OK : rc;
}

static void
unlink_seg(const char *dir, int64_t base, const char *const *sfx, size_t n)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < n; i++) {
        sl_seg_path(path, sizeof(path), dir, base, sfx[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            sl_warn(SL_LOG_COMP, "unlink %s: %s", path, strerror(errno));
    }
}

/* Removes live segments with base in [from, to). */
static int
drop_replaced(const char *dir, int64_t from, int64_t to)
{
    static const char *const live[] = {".index", ".timeindex", ".log"};
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL)
        return sl_log_errno(errno);
    while ((de = readdir(d)) != NULL) {
        int64_t base;

        if (parse_name(de->d_name, ".log", &base) && base >= from && base < to)
            unlink_seg(dir, base, live, SL_ARRAY_LEN(live));
    }
    closedir(d);
    return SL_OK;
}

static int
finish_one(const char *dir, int64_t base)
{
    static const char *const idx_swaps[] = {".index.swap", ".timeindex.swap"};
    char swap[PATH_MAX], live[PATH_MAX];
    int64_t next = base;
    int rc;

    sl_seg_path(swap, sizeof(swap), dir, base, ".log.swap");
    if ((rc = swap_next_offset(swap, base, &next)) != SL_OK)
        return rc;
    sl_warn(SL_LOG_COMP,
            "%s: completing an interrupted log clean (segment %" PRId64 "..%" PRId64 ")", dir, base,
            next);
    if ((rc = drop_replaced(dir, base, next)) != SL_OK)
        return rc;
    unlink_seg(dir, base, idx_swaps, SL_ARRAY_LEN(idx_swaps));
    sl_seg_path(live, sizeof(live), dir, base, ".log");
    if (rename(swap, live) != 0)
        return sl_log_errno(errno);
    return SL_OK;
}

int
sl_clean_finish_swaps(const char *dir)
{
    int64_t *bases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = SL_OK;
    DIR *d = opendir(dir);

    if (d == NULL)
        return sl_log_errno(errno);
    while ((de = readdir(d)) != NULL) {
        int64_t base;

        if (!parse_name(de->d_name, ".log.swap", &base))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            bases = sl_xrealloc(bases, cap * sizeof(*bases));
        }
        bases[n++] = base;
    }
    closedir(d);
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = finish_one(dir, bases[i]);
    if (rc == SL_OK && n > 0)
        rc = sl_log_fsync_dir(dir);
    free(bases);
    return rc == SL_OK ? (int)n : rc;
}
