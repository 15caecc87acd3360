/*
 * pid_alloc.c -- producer ids for InitProducerId, unique across restarts.
 *
 * Ids are handed out from blocks of SL_PID_BLOCK_SIZE reserved through a
 * block source (Kafka's ProducerIdManager). The one source today is a file
 * in the log directory, `latest_producer_id_block`, holding the last
 * reserved block in the JSON Kafka keeps in ZooKeeper's
 * /latest_producer_id_block:
 *
 *   {"version":1,"broker":0,"block_start":"1000","block_end":"1999"}
 *
 * A block is durable (tmp + fsync + rename + directory fsync) before its
 * first id is used, so a crash can only skip ids, never repeat one. A
 * cluster will put a ZooKeeper (or controller) source behind the same
 * sl_pid_source_t without touching the allocator.
 */
#include "broker/pid_alloc.h"

#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>

#define PID_FILE "latest_producer_id_block"

/* ======================================================================
 * The file source
 * ====================================================================== */

typedef struct file_source {
    char path[PATH_MAX];
    char dir[PATH_MAX];
    int32_t broker_id;
} file_source_t;

/* The block_end of the file, -1 when there is none. SL_ECORRUPT if the
 * file exists but does not parse (ids could repeat: refuse to guess). */
static int
read_block_end(const file_source_t *fs, int64_t *end)
{
    char buf[512];
    const char *p;
    ssize_t n;
    int fd = open(fs->path, O_RDONLY | O_CLOEXEC);

    *end = -1;
    if (fd < 0)
        return errno == ENOENT ? SL_OK : SL_EIO;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return SL_EIO;
    buf[n] = '\0';
    p = strstr(buf, "\"block_end\":\"");
    if (p == NULL)
        return SL_ECORRUPT;
    errno = 0;
    *end = strtoll(p + strlen("\"block_end\":\""), NULL, 10);
    return errno == 0 && *end >= -1 ? SL_OK : SL_ECORRUPT;
}

static int
write_durable(const file_source_t *fs, const char *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    int fd, rc = SL_OK;

    snprintf(tmp, sizeof(tmp), "%s.tmp", fs->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return SL_EIO;
    if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
        rc = SL_EIO;
    close(fd);
    if (rc == SL_OK && rename(tmp, fs->path) != 0)
        rc = SL_EIO;
    if (rc != SL_OK) {
        unlink(tmp);
        return rc;
    }
    fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SL_EIO;
    rc = fsync(fd) == 0 ? SL_OK : SL_EIO;
    close(fd);
    return rc;
}

static int
file_reserve(void *arg, int64_t size, int64_t *start)
{
    file_source_t *fs = arg;
    char json[256];
    int64_t end;
    int rc, n;

    if ((rc = read_block_end(fs, &end)) != SL_OK)
        return rc;
    if (end > INT64_MAX - size)
        return SL_ETOOBIG;
    *start = end + 1;
    n = snprintf(json, sizeof(json),
                 "{\"version\":1,\"broker\":%" PRId32 ",\"block_start\":\"%" PRId64
                 "\",\"block_end\":\"%" PRId64 "\"}\n",
                 fs->broker_id, *start, *start + size - 1);
    return write_durable(fs, json, (size_t)n);
}

/* ======================================================================
 * The allocator
 * ====================================================================== */

void
sl_pid_alloc_init(sl_pid_alloc_t *pa, const sl_pid_source_t *src)
{
    pa->src = *src;
    pa->next = pa->end = 0;
}

int
sl_pid_alloc_next(sl_pid_alloc_t *pa, int64_t *id)
{
    if (pa->next >= pa->end) {
        int64_t start;
        int rc = pa->src.reserve(pa->src.arg, SL_PID_BLOCK_SIZE, &start);

        if (rc != SL_OK) {
            sl_error("broker", "cannot reserve a producer id block: %s", sl_strerror(rc));
            return rc;
        }
        pa->next = start;
        pa->end = start + SL_PID_BLOCK_SIZE;
    }
    *id = pa->next++;
    return SL_OK;
}

void
sl_pid_alloc_deinit(sl_pid_alloc_t *pa)
{
    if (pa->src.free_fn != NULL)
        pa->src.free_fn(pa->src.arg);
    memset(pa, 0, sizeof(*pa));
}

void
sl_pid_source_file(sl_pid_source_t *src, const char *log_dir, int32_t broker_id)
{
    file_source_t *fs = sl_xcalloc(1, sizeof(*fs));

    snprintf(fs->path, sizeof(fs->path), "%s/%s", log_dir, PID_FILE);
    snprintf(fs->dir, sizeof(fs->dir), "%s", log_dir);
    fs->broker_id = broker_id;
    src->reserve = file_reserve;
    src->free_fn = free;
    src->arg = fs;
}
