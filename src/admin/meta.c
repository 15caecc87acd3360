/*
 * meta.c -- ids, meta.properties and the file primitives of the store.
 *
 * Kafka ids (cluster id, topic ids) are random 16-byte UUIDs written as
 * base64url without padding: 22 characters. meta.properties is the small
 * file Kafka keeps in every log dir so a broker cannot start on another
 * cluster's or another broker's data; Sluice writes the ZooKeeper-mode
 * flavour (version=0, broker.id, cluster.id) and reads both flavours.
 * Files are replaced atomically: write NAME.tmp, fsync it, rename it over
 * NAME, fsync the directory -- a crash leaves the old or the new file,
 * never a mix.
 */
#include "admin/admin_int.h"

#include "base/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================== */
/* UUIDs                                                                    */
/* ======================================================================== */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
sl_meta_uuid_str(const uint8_t id[16], char out[23])
{
    size_t o = 0;

    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        size_t n = SL_MIN((size_t)3, 16 - i);

        if (n > 1)
            v |= (uint32_t)id[i + 1] << 8;
        if (n > 2)
            v |= id[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (n > 1)
            out[o++] = b64url[(v >> 6) & 63];
        if (n > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

int
sl_meta_uuid_parse(const char *s, uint8_t id[16])
{
    uint8_t bits[22];

    if (strlen(s) != 22)
        return SL_EINVAL;
    for (int i = 0; i < 22; i++) {
        const char *p = strchr(b64url, s[i]);

        if (p == NULL || s[i] == '\0')
            return SL_EINVAL;
        bits[i] = (uint8_t)(p - b64url);
    }
    /* 22 chars carry 132 bits; the last 4 must be zero for a canonical id. */
    if (bits[21] & 0x0f)
        return SL_EINVAL;
    for (int i = 0, o = 0; i + 1 < 22 && o < 16; i += 4) {
        uint32_t v = (uint32_t)bits[i] << 18 | (uint32_t)bits[i + 1] << 12;

        if (i + 2 < 22)
            v |= (uint32_t)bits[i + 2] << 6;
        if (i + 3 < 22)
            v |= bits[i + 3];
        id[o++] = (uint8_t)(v >> 16);
        if (o < 16)
            id[o++] = (uint8_t)(v >> 8);
        if (o < 16)
            id[o++] = (uint8_t)v;
    }
    return SL_OK;
}

static void
fill_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            SL_ASSERT(errno == EINTR);
            continue;
        }
        p += got;
        n -= (size_t)got;
    }
}

void
sl_meta_uuid_random(uint8_t id[16])
{
    static const uint8_t zero[16], metadata_topic[16] = {[15] = 1};
    char s[23];

    /* Kafka's Uuid.randomUuid rules: never the zero id, never the metadata
     * topic id, never a string that starts with '-' (it reads as a flag). */
    do {
        fill_random(id, 16);
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* IETF variant */
        sl_meta_uuid_str(id, s);
    } while (memcmp(id, zero, 16) == 0 || memcmp(id, metadata_topic, 16) == 0 || s[0] == '-');
}

/* ======================================================================== */
/* Whole files                                                              */
/* ======================================================================== */

int
sl_meta_read_file(const char *path, char **out, size_t *len, sl_errbuf_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    sl_buf_t b = SL_BUF_INIT;
    int rc = SL_OK;

    if (fd < 0)
        return sl_errbuf_set(err, errno == ENOENT ? SL_ENOENT : SL_EIO, "cannot open %s: %s", path,
                             strerror(errno));
    for (;;) {
        uint8_t *dst;
        ssize_t got;

        sl_buf_reserve(&b, 4096);
        dst = b.data + b.len;
        got = read(fd, dst, b.cap - b.len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = sl_errbuf_set(err, SL_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        b.len += (size_t)got;
    }
    close(fd);
    if (rc != SL_OK) {
        sl_buf_deinit(&b);
        return rc;
    }
    sl_buf_append(&b, "", 1);
    *len = b.len - 1;
    *out = (char *)sl_buf_take(&b, &(size_t){0});
    return SL_OK;
}

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = SL_OK;

    if (fd < 0)
        return SL_EIO;
    if (sl_fault("admin.fsync") || fsync(fd) != 0)
        rc = SL_EIO;
    close(fd);
    return rc;
}

int
sl_meta_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                     sl_errbuf_t *err)
{
    char path[4096], tmp[4200];
    const uint8_t *p = data;
    size_t left = len;
    int fd, rc = SL_OK;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sl_errbuf_set(err, SL_EIO, "cannot create %s: %s", tmp, strerror(errno));
    while (left > 0) {
        ssize_t put = sl_fault("admin.write") ? (errno = EIO, -1) : write(fd, p, left);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0) {
            rc = sl_errbuf_set(err, errno == ENOSPC ? SL_ENOSPC : SL_EIO, "cannot write %s: %s",
                               tmp, strerror(errno));
            break;
        }
        p += put;
        left -= (size_t)put;
    }
    if (rc == SL_OK && (sl_fault("admin.fsync") || fsync(fd) != 0))
        rc = sl_errbuf_set(err, SL_EIO, "cannot fsync %s", tmp);
    close(fd);
    if (rc == SL_OK && (sl_fault("admin.rename") || rename(tmp, path) != 0))
        rc = sl_errbuf_set(err, SL_EIO, "cannot rename %s to %s", tmp, path);
    if (rc == SL_OK && fsync_dir(dir) != SL_OK)
        rc = sl_errbuf_set(err, SL_EIO, "cannot fsync directory %s", dir);
    /* On failure before the rename the old file is intact; the stale tmp
     * is removed here or, after a crash, by the next open. */
    if (rc != SL_OK)
        unlink(tmp);
    return rc;
}

/* ======================================================================== */
/* meta.properties                                                          */
/* ======================================================================== */

int
sl_meta_props_read(const char *dir, int32_t *broker_id, char cluster_id[64], sl_errbuf_t *err)
{
    char path[4096];
    sl_props_t p;
    const char *v;
    int rc;

    *broker_id = -1;
    cluster_id[0] = '\0';
    snprintf(path, sizeof(path), "%s/meta.properties", dir);
    sl_props_init(&p);
    if ((rc = sl_props_load(&p, path, err)) != SL_OK)
        goto out;
    v = sl_props_get(&p, "version");
    if (v == NULL || (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)) {
        rc = sl_errbuf_set(err, SL_ECORRUPT, "%s: unsupported version '%s'", path,
                           v ? v : "(missing)");
        goto out;
    }
    /* version=0 (ZooKeeper mode) names the broker broker.id, version=1
     * (KRaft) node.id. */
    v = sl_props_get(&p, strcmp(v, "0") == 0 ? "broker.id" : "node.id");
    if (v) {
        int64_t id = sl_cfgdef_long(v, INT64_MIN);

        if (id < 0 || id > INT32_MAX) {
            rc = sl_errbuf_set(err, SL_ECORRUPT, "%s: invalid broker id '%s'", path, v);
            goto out;
        }
        *broker_id = (int32_t)id;
    }
    v = sl_props_get(&p, "cluster.id");
    if (v)
        snprintf(cluster_id, 64, "%s", v);
out:
    sl_props_deinit(&p);
    return rc;
}

int
sl_meta_props_write(const char *dir, int32_t broker_id, const char *cluster_id, sl_errbuf_t *err)
{
    char text[512];
    int n = snprintf(text, sizeof(text),
                     "#\n# Written by sluice (Kafka's ZooKeeper-mode meta.properties).\n"
                     "version=0\nbroker.id=%d\ncluster.id=%s\n",
                     broker_id, cluster_id);

    return sl_meta_write_atomic(dir, "meta.properties", text, (size_t)n, err);
}
