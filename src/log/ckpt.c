/*
 * ckpt.c -- Kafka's checkpoint text files.
 *
 * recovery-point-offset-checkpoint and log-start-offset-checkpoint live in
 * the log directory root, one line per partition:
 *
 *     0                      version
 *     2                      number of entries
 *     orders 0 1234          topic partition offset
 *     orders 1 998
 *
 * leader-epoch-checkpoint lives in each partition directory, same framing,
 * lines "epoch startOffset". Files are replaced atomically: written to
 * <name>.tmp, fsynced, renamed over the old one, and the directory fsynced,
 * so a reader sees the old or the new file, never a mix.
 */
#include "log/log_int.h"

#include "base/buf.h"
#include "base/fault.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAX_FILE (64 << 20)

void
sl_ckpt_add(sl_ckpt_t *c, const char *topic, int32_t partition, int64_t offset)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->e = sl_xrealloc(c->e, c->cap * sizeof(*c->e));
    }
    c->e[c->n++] = (sl_ckpt_entry_t){sl_xstrdup(topic), partition, offset};
}

int64_t
sl_ckpt_get(const sl_ckpt_t *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].partition == partition && strcmp(c->e[i].topic, topic) == 0)
            return c->e[i].offset;
    }
    return -1;
}

void
sl_ckpt_deinit(sl_ckpt_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->e[i].topic);
    free(c->e);
    memset(c, 0, sizeof(*c));
}

/* Reads a whole (small) file; a missing file reads as NULL with SL_OK. */
static int
read_small_file(const char *path, char **out)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int fd, rc = SL_OK;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SL_OK : sl_log_errno(errno);
    if (fstat(fd, &st) != 0 || st.st_size > CKPT_MAX_FILE) {
        rc = st.st_size > CKPT_MAX_FILE ? SL_ECORRUPT : sl_log_errno(errno);
        goto out;
    }
    data = sl_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? sl_log_errno(errno) : SL_ECORRUPT;
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    *out = data;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}

/* Splits the "version\ncount\n" header off; *lines points at the entries. */
static int
parse_header(char *text, char **save, long *count)
{
    char *ver = strtok_r(text, "\n", save), *cnt = strtok_r(NULL, "\n", save), *end;

    if (ver == NULL || cnt == NULL || strcmp(ver, "0") != 0)
        return SL_ECORRUPT;
    errno = 0;
    *count = strtol(cnt, &end, 10);
    if (errno != 0 || *end != '\0' || *count < 0)
        return SL_ECORRUPT;
    return SL_OK;
}

static bool
parse_i64(const char *s, int64_t *v)
{
    char *end;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

int
sl_ckpt_read(const char *path, sl_ckpt_t *c)
{
    char *text, *save = NULL, *line;
    long count, seen = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    if ((rc = read_small_file(path, &text)) != SL_OK || text == NULL)
        return rc;
    if ((rc = parse_header(text, &save, &count)) != SL_OK)
        goto out;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *s2 = NULL, *topic = strtok_r(line, " ", &s2);
        char *part = strtok_r(NULL, " ", &s2), *off = strtok_r(NULL, " ", &s2);
        int64_t p, o;

        if (topic == NULL || !parse_i64(part, &p) || !parse_i64(off, &o) ||
            strtok_r(NULL, " ", &s2) != NULL || p < 0 || p > INT32_MAX) {
            rc = SL_ECORRUPT;
            goto out;
        }
        sl_ckpt_add(c, topic, (int32_t)p, o);
        seen++;
    }
    if (seen != count)
        rc = SL_ECORRUPT;
out:
    if (rc != SL_OK)
        sl_ckpt_deinit(c);
    free(text);
    return rc;
}

/* Takes the text with a terminating NUL that *len does not count. */
static char *
buf_take_str(sl_buf_t *b, size_t *len)
{
    char *s;

    sl_buf_append(b, "", 1);
    s = (char *)sl_buf_take(b, len);
    *len -= 1;
    return s;
}

char *
sl_ckpt_format(const sl_ckpt_t *c, size_t *len)
{
    sl_buf_t b = SL_BUF_INIT;
    char line[512];

    for (size_t i = 0; i <= c->n; i++) {
        int n = i == 0 ? snprintf(line, sizeof(line), "0\n%zu\n", c->n)
                       : snprintf(line, sizeof(line), "%s %" PRId32 " %" PRId64 "\n",
                                  c->e[i - 1].topic, c->e[i - 1].partition, c->e[i - 1].offset);

        sl_buf_append(&b, line, (size_t)n);
    }
    return buf_take_str(&b, len);
}

char *
sl_ckpt_format_epochs(const sl_epoch_entry_t *e, size_t n, size_t *len)
{
    sl_buf_t b = SL_BUF_INIT;
    char line[64];

    for (size_t i = 0; i <= n; i++) {
        int k = i == 0 ? snprintf(line, sizeof(line), "0\n%zu\n", n)
                       : snprintf(line, sizeof(line), "%" PRId32 " %" PRId64 "\n", e[i - 1].epoch,
                                  e[i - 1].start_offset);

        sl_buf_append(&b, line, (size_t)k);
    }
    return buf_take_str(&b, len);
}

int
sl_ckpt_read_epochs(const char *path, sl_epoch_entry_t **e, size_t *n)
{
    char *text, *save = NULL, *line;
    long count;
    size_t cap = 0;
    int rc;

    *e = NULL;
    *n = 0;
    if ((rc = read_small_file(path, &text)) != SL_OK || text == NULL)
        return rc;
    if ((rc = parse_header(text, &save, &count)) != SL_OK)
        goto out;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *s2 = NULL, *ep = strtok_r(line, " ", &s2), *off = strtok_r(NULL, " ", &s2);
        int64_t epoch, start;

        if (!parse_i64(ep, &epoch) || !parse_i64(off, &start) || epoch < 0 || epoch > INT32_MAX ||
            strtok_r(NULL, " ", &s2) != NULL) {
            rc = SL_ECORRUPT;
            goto out;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *e = sl_xrealloc(*e, cap * sizeof(**e));
        }
        (*e)[(*n)++] = (sl_epoch_entry_t){(int32_t)epoch, start};
    }
    if ((long)*n != count)
        rc = SL_ECORRUPT;
out:
    if (rc != SL_OK) {
        free(*e);
        *e = NULL;
        *n = 0;
    }
    free(text);
    return rc;
}

int
sl_log_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = SL_OK;

    if (fd < 0)
        return sl_log_errno(errno);
    if (fsync(fd) != 0)
        rc = sl_log_errno(errno);
    close(fd);
    return rc;
}

static int
write_all(int fd, const char *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? sl_log_errno(errno) : SL_EIO;
        done += (size_t)n;
    }
    return SL_OK;
}

int
sl_ckpt_write_file(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 8], dir[PATH_MAX];
    char *slash;
    int fd, rc;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    if (sl_fault("log.ckpt"))
        return SL_EIO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sl_log_errno(errno);
    rc = write_all(fd, data, len);
    if (rc == SL_OK && fsync(fd) != 0)
        rc = sl_log_errno(errno);
    close(fd);
    if (rc == SL_OK && rename(tmp, path) != 0)
        rc = sl_log_errno(errno);
    if (rc == SL_OK)
        rc = sl_log_fsync_dir(slash != NULL ? dir : ".");
    if (rc != SL_OK)
        unlink(tmp);
    return rc;
}
