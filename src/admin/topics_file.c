/*
 * topics_file.c -- the single-node backend of the topic store: one file,
 * <first log dir>/__sluice_metadata, rewritten whole on every change.
 *
 * Format (text, one record per line, UTF-8):
 *
 *   sluice-metadata 1
 *   cluster.id <22-char base64url id>
 *   dynamic.default <key>=<value>        cluster-wide dynamic broker config
 *   dynamic.broker <key>=<value>         this broker's dynamic config
 *   topic <name> <22-char id> <partitions> <replication factor>
 *   config <key>=<value>                 an override of the topic above
 *   crc32c <8 hex digits>                CRC-32C of every byte before this line
 *
 * Values escape '\' as "\\", newline as "\n", CR as "\r" and other control
 * bytes as "\xHH". Topic names need no escaping (Kafka's alphabet). The
 * file is replaced atomically (sl_meta_write_atomic), so a crash leaves the
 * old or the new version; a leftover __sluice_metadata.tmp is an unfinished
 * write and is deleted on open. A checksum mismatch is SL_ECORRUPT: the
 * broker refuses to start rather than forget topics. Rewriting the whole
 * file is fine at admin-operation rates (thousands of topics = a few
 * hundred KB per change); a journal would be the next step if not.
 */
#include "admin/admin_int.h"

#include "base/crc32c.h"

#include <ctype.h>

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_FILE "__sluice_metadata"

typedef struct file_ctx {
    char *dir;
} file_ctx_t;

/* ======================================================================== */
/* Escaping                                                                 */
/* ======================================================================== */

static void
put_escaped(sl_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];

        if (c == '\\')
            sl_buf_append(b, "\\\\", 2);
        else if (c == '\n')
            sl_buf_append(b, "\\n", 2);
        else if (c == '\r')
            sl_buf_append(b, "\\r", 2);
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            sl_buf_append(b, tmp, 4);
        } else
            sl_buf_append(b, s, 1);
    }
}

/* Undoes put_escaped on s[0..n); false on a malformed escape. */
static bool
unescape(const char *s, size_t n, char **out)
{
    char *o = sl_xmalloc(n + 1);
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            o[k++] = s[i];
            continue;
        }
        if (++i == n)
            goto bad;
        if (s[i] == '\\')
            o[k++] = '\\';
        else if (s[i] == 'n')
            o[k++] = '\n';
        else if (s[i] == 'r')
            o[k++] = '\r';
        else if (s[i] == 'x' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                 isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};

            o[k++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            goto bad;
    }
    o[k] = '\0';
    *out = o;
    return true;
bad:
    free(o);
    return false;
}

/* ======================================================================== */
/* Writing                                                                  */
/* ======================================================================== */

static void
put_kv(sl_buf_t *b, const char *tag, const sl_prop_t *e)
{
    sl_buf_append(b, tag, strlen(tag));
    sl_buf_append(b, " ", 1);
    put_escaped(b, e->key);
    sl_buf_append(b, "=", 1);
    put_escaped(b, e->value);
    sl_buf_append(b, "\n", 1);
}

static void
serialize(const sl_topics_t *ts, sl_buf_t *b)
{
    char line[512], id[23];
    const sl_props_t *dd = sl_topics_broker_layer(ts, true),
                     *db = sl_topics_broker_layer(ts, false);

    snprintf(line, sizeof(line), "sluice-metadata 1\ncluster.id %s\n", sl_topics_cluster_id(ts));
    sl_buf_append(b, line, strlen(line));
    for (size_t i = 0; i < dd->n; i++)
        put_kv(b, "dynamic.default", &dd->v[i]);
    for (size_t i = 0; i < db->n; i++)
        put_kv(b, "dynamic.broker", &db->v[i]);
    for (size_t i = 0; i < sl_topics_count(ts); i++) {
        const sl_topic_t *t = sl_topics_at(ts, i);

        sl_meta_uuid_str(t->id, id);
        snprintf(line, sizeof(line), "topic %s %s %d %d\n", t->name, id, t->partitions,
                 t->replication_factor);
        sl_buf_append(b, line, strlen(line));
        for (size_t k = 0; k < t->configs.n; k++)
            put_kv(b, "config", &t->configs.v[k]);
    }
    snprintf(line, sizeof(line), "crc32c %08x\n", sl_crc32c(b->data, b->len));
    sl_buf_append(b, line, strlen(line));
}

static int
file_commit(void *ctx, const sl_topics_t *ts, const sl_topics_change_t *chg, sl_errbuf_t *err)
{
    file_ctx_t *fc = ctx;
    sl_buf_t b = SL_BUF_INIT;
    int rc;

    (void)chg; /* the whole state is rewritten whatever changed */
    serialize(ts, &b);
    rc = sl_meta_write_atomic(fc->dir, META_FILE, b.data, b.len, err);
    sl_buf_deinit(&b);
    return rc;
}

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

typedef struct loader {
    sl_topics_t *ts;
    sl_props_t dd, db, cur;
    char name[SL_TOPIC_NAME_MAX + 1];
    uint8_t id[16];
    int32_t partitions;
    int16_t rf;
    bool in_topic;
} loader_t;

static int
flush_topic(loader_t *ld, sl_errbuf_t *err)
{
    int rc = SL_OK;

    if (ld->in_topic)
        rc = sl_topics_restore_topic(ld->ts, ld->name, ld->id, ld->partitions, ld->rf, &ld->cur,
                                     err);
    sl_props_deinit(&ld->cur);
    ld->in_topic = false;
    return rc;
}

static bool
parse_kv(const char *s, size_t n, sl_props_t *dst)
{
    const char *eq = memchr(s, '=', n);
    char *k, *v;

    if (eq == NULL || eq == s)
        return false;
    if (!unescape(s, (size_t)(eq - s), &k))
        return false;
    if (!unescape(eq + 1, n - (size_t)(eq - s) - 1, &v)) {
        free(k);
        return false;
    }
    sl_props_set(dst, k, v);
    free(k);
    free(v);
    return true;
}

static bool
parse_topic(loader_t *ld, const char *s, size_t n)
{
    char buf[400], idstr[32];
    long long parts, rf;
    int used = 0;

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (sscanf(buf, "%249s %31s %lld %lld%n", ld->name, idstr, &parts, &rf, &used) != 4 ||
        (size_t)used != n)
        return false;
    if (sl_meta_uuid_parse(idstr, ld->id) != SL_OK || parts < 1 || parts > SL_TOPIC_MAX_PARTS ||
        rf < 1 || rf > INT16_MAX)
        return false;
    ld->partitions = (int32_t)parts;
    ld->rf = (int16_t)rf;
    ld->in_topic = true;
    return true;
}

static bool
starts(const char *s, size_t n, const char *tag, size_t *skip)
{
    size_t t = strlen(tag);

    if (n <= t || memcmp(s, tag, t) != 0 || s[t] != ' ')
        return false;
    *skip = t + 1;
    return true;
}

static int
parse_line(loader_t *ld, const char *s, size_t n, sl_errbuf_t *err)
{
    size_t k;
    bool ok;
    int rc;

    if (starts(s, n, "cluster.id", &k)) {
        char id[64];

        ok = n - k < sizeof(id);
        if (ok) {
            snprintf(id, sizeof(id), "%.*s", (int)(n - k), s + k);
            sl_topics_restore_cluster_id(ld->ts, id);
        }
    } else if (starts(s, n, "dynamic.default", &k)) {
        ok = parse_kv(s + k, n - k, &ld->dd);
    } else if (starts(s, n, "dynamic.broker", &k)) {
        ok = parse_kv(s + k, n - k, &ld->db);
    } else if (starts(s, n, "topic", &k)) {
        if ((rc = flush_topic(ld, err)) != SL_OK)
            return rc;
        ok = parse_topic(ld, s + k, n - k);
    } else if (starts(s, n, "config", &k)) {
        ok = ld->in_topic && parse_kv(s + k, n - k, &ld->cur);
    } else {
        ok = false;
    }
    return ok ? SL_OK : SL_ECORRUPT;
}

/* Checks the trailer and returns the length of the checksummed body. */
static int
check_crc(const char *text, size_t len, size_t *body, sl_errbuf_t *err, const char *path)
{
    size_t end = len, start;
    unsigned int want;
    char tail[32];

    if (end > 0 && text[end - 1] == '\n')
        end--;
    start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    if (end - start >= sizeof(tail))
        return sl_errbuf_set(err, SL_ECORRUPT, "%s: no checksum trailer", path);
    memcpy(tail, text + start, end - start);
    tail[end - start] = '\0';
    if (sscanf(tail, "crc32c %8x", &want) != 1 || strlen(tail) != 15)
        return sl_errbuf_set(err, SL_ECORRUPT, "%s: no checksum trailer", path);
    if (sl_crc32c(text, start) != want)
        return sl_errbuf_set(err, SL_ECORRUPT, "%s: checksum mismatch", path);
    *body = start;
    return SL_OK;
}

static int
file_load(void *ctx, sl_topics_t *ts, sl_errbuf_t *err)
{
    file_ctx_t *fc = ctx;
    char path[4096], tmp[4200];
    loader_t ld;
    char *text;
    size_t len, body = 0, pos = 0;
    int line = 0, rc;

    snprintf(path, sizeof(path), "%s/%s", fc->dir, META_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /* An unfinished write from a crash: the real file is still whole. */
    unlink(tmp);
    rc = sl_meta_read_file(path, &text, &len, err);
    if (rc == SL_ENOENT)
        return SL_OK;
    if (rc != SL_OK)
        return rc;
    memset(&ld, 0, sizeof(ld));
    ld.ts = ts;
    if ((rc = check_crc(text, len, &body, err, path)) != SL_OK)
        goto out;
    while (pos < body) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', body - pos);
        size_t n = nl ? (size_t)(nl - s) : body - pos;

        pos += n + 1;
        if (++line == 1) {
            if (n != 17 || memcmp(s, "sluice-metadata 1", 17) != 0) {
                rc = sl_errbuf_set(err, SL_ECORRUPT, "%s: not a sluice metadata file (v1)", path);
                goto out;
            }
            continue;
        }
        if ((rc = parse_line(&ld, s, n, err)) != SL_OK) {
            if (rc == SL_ECORRUPT && err)
                sl_errbuf_set(err, rc, "%s: line %d: bad record", path, line);
            goto out;
        }
    }
    if ((rc = flush_topic(&ld, err)) != SL_OK)
        goto out;
    sl_topics_restore_broker_layer(ts, true, &ld.dd);
    sl_topics_restore_broker_layer(ts, false, &ld.db);
out:
    sl_props_deinit(&ld.dd);
    sl_props_deinit(&ld.db);
    sl_props_deinit(&ld.cur);
    free(text);
    return rc;
}

static void
file_close(void *ctx)
{
    file_ctx_t *fc = ctx;

    free(fc->dir);
    free(fc);
}

static const sl_topics_backend_t file_backend = {file_load, file_commit, file_close};

/* ======================================================================== */
/* Opening: log dirs, ids, meta.properties                                  */
/* ======================================================================== */

static int
mkdir_p(const char *dir, sl_errbuf_t *err)
{
    char path[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path))
        return sl_errbuf_set(err, SL_EINVAL, "bad log dir '%s'", dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];

        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return sl_errbuf_set(err, SL_EIO, "cannot create log dir %s: %s", path,
                                 strerror(errno));
        path[i] = c;
    }
    return SL_OK;
}

/* Reads meta.properties in every log dir; they must agree. */
static int
read_metas(const sl_broker_config_t *cfg, int32_t *bid, char cid[64], sl_errbuf_t *err)
{
    *bid = -1;
    cid[0] = '\0';
    for (size_t i = 0; i < cfg->n_log_dirs; i++) {
        int32_t b;
        char c[64];
        int rc = sl_meta_props_read(cfg->log_dirs[i], &b, c, err);

        if (rc == SL_ENOENT)
            continue;
        if (rc != SL_OK)
            return rc;
        if ((*bid >= 0 && b >= 0 && b != *bid) || (cid[0] && c[0] && strcmp(c, cid) != 0))
            return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                 "meta.properties in %s disagrees with another log dir",
                                 cfg->log_dirs[i]);
        if (b >= 0)
            *bid = b;
        if (c[0])
            snprintf(cid, 64, "%s", c);
    }
    return SL_OK;
}

static int
settle_ids(sl_topics_t *ts, sl_broker_config_t *cfg, int32_t meta_bid, const char *meta_cid,
           sl_errbuf_t *err)
{
    const char *cid = sl_topics_cluster_id(ts);
    int rc;

    if (cid[0] && meta_cid[0] && strcmp(cid, meta_cid) != 0)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "The Cluster ID %s doesn't match stored clusterId %s in "
                             "meta.properties. The broker is trying to join the wrong cluster.",
                             cid, meta_cid);
    if (cid[0] == '\0') {
        uint8_t id[16];
        char fresh[23];

        sl_meta_uuid_random(id);
        sl_meta_uuid_str(id, fresh);
        if ((rc = sl_topics_set_cluster_id(ts, meta_cid[0] ? meta_cid : fresh, err)) != SL_OK)
            return rc;
    }
    if (cfg->broker_id >= 0 && meta_bid >= 0 && cfg->broker_id != meta_bid)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Configured broker.id %d doesn't match stored broker.id %d in "
                             "meta.properties. If you moved your data, make sure your configured "
                             "broker.id matches.",
                             cfg->broker_id, meta_bid);
    if (cfg->broker_id < 0)
        cfg->broker_id = meta_bid >= 0 ? meta_bid : 0;
    return SL_OK;
}

int
sl_topics_open(sl_broker_config_t *cfg, sl_topics_t **out, sl_errbuf_t *err)
{
    file_ctx_t *fc;
    sl_topics_t *ts = NULL;
    int32_t meta_bid;
    char meta_cid[64];
    int rc;

    *out = NULL;
    for (size_t i = 0; i < cfg->n_log_dirs; i++) {
        if ((rc = mkdir_p(cfg->log_dirs[i], err)) != SL_OK)
            return rc;
    }
    if ((rc = read_metas(cfg, &meta_bid, meta_cid, err)) != SL_OK)
        return rc;
    fc = sl_xcalloc(1, sizeof(*fc));
    fc->dir = sl_xstrdup(cfg->log_dirs[0]);
    /* On failure the backend's close (called by the store) frees fc. */
    if ((rc = sl_topics_open_backend(&file_backend, fc, cfg, &ts, err)) != SL_OK)
        return rc;
    if ((rc = settle_ids(ts, cfg, meta_bid, meta_cid, err)) != SL_OK)
        goto fail;
    for (size_t i = 0; i < cfg->n_log_dirs; i++) {
        int32_t b;
        char c[64];

        if (sl_meta_props_read(cfg->log_dirs[i], &b, c, NULL) == SL_OK && b == cfg->broker_id &&
            strcmp(c, sl_topics_cluster_id(ts)) == 0)
            continue;
        rc = sl_meta_props_write(cfg->log_dirs[i], cfg->broker_id, sl_topics_cluster_id(ts), err);
        if (rc != SL_OK)
            goto fail;
    }
    *out = ts;
    return SL_OK;

fail:
    sl_topics_free(ts);
    return rc;
}
