/*
 * zk.c -- the ZooKeeper client wrapper (libzookeeper_mt).
 *
 * The C client runs an I/O thread and a completion thread; watchers and
 * completions run on the latter. They never touch the caller's state: each
 * becomes an item on a mutex-protected queue, and a write to an eventfd
 * tells the event loop, which runs the items through sl_zk_dispatch on its
 * own thread (the same hand-off as net/worker.c). Every item carries the
 * session generation it belongs to; after a session is replaced
 * (sl_zk_reconnect) the old generation's items are dropped, so a callback
 * never sees a reply from a session that no longer exists.
 */
#include "cluster/cluster.h"

#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
/* The multi-threaded client: the blocking calls need THREADED. */
#define THREADED
#include <zookeeper/zookeeper.h>

typedef struct zk_item {
    struct zk_item *next;
    sl_zk_t *zk;
    uint64_t gen;
    bool is_event;
    int type; /* event: ZOO_*_EVENT */
    int state;
    char *path;
    sl_zk_done_fn done; /* completion */
    void *arg;
    int zrc;
    char *data;
    int len;
    int32_t version;
} zk_item_t;

struct sl_zk {
    zhandle_t *zh;
    char *connect;
    int32_t session_ms, conn_ms;
    sl_zk_event_fn events;
    void *events_arg;
    int efd;
    uint64_t gen; /* written by the loop thread while no client thread runs */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int zk_state; /* last session state seen (under mu) */
    zk_item_t *head, **tail;
};

/* ---- the hand-off ---------------------------------------------------------- */

static void
push(sl_zk_t *zk, zk_item_t *it)
{
    uint64_t one = 1;

    pthread_mutex_lock(&zk->mu);
    it->next = NULL;
    *zk->tail = it;
    zk->tail = &it->next;
    pthread_mutex_unlock(&zk->mu);
    if (write(zk->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        sl_warn("zk", "eventfd write: %s", strerror(errno));
}

static void
item_free(zk_item_t *it)
{
    free(it->path);
    free(it->data);
    free(it);
}

static int
map_rc(int zrc)
{
    switch (zrc) {
    case ZOK:
        return SL_OK;
    case ZNONODE:
        return SL_ENOENT;
    case ZNODEEXISTS:
        return SL_EEXIST;
    case ZBADVERSION:
        return SL_ECONFLICT;
    case ZOPERATIONTIMEOUT:
        return SL_ETIMEDOUT;
    default:
        return SL_EIO;
    }
}

static sl_zk_event_t
map_event(int type, int state)
{
    if (type == ZOO_CREATED_EVENT)
        return SL_ZK_EV_CREATED;
    if (type == ZOO_DELETED_EVENT)
        return SL_ZK_EV_DELETED;
    if (type == ZOO_CHANGED_EVENT)
        return SL_ZK_EV_CHANGED;
    if (type == ZOO_CHILD_EVENT)
        return SL_ZK_EV_CHILD;
    if (state == ZOO_EXPIRED_SESSION_STATE)
        return SL_ZK_EV_EXPIRED;
    return SL_ZK_EV_CONNECTED;
}

void
sl_zk_dispatch(sl_zk_t *zk)
{
    uint64_t n;
    zk_item_t *it;

    if (read(zk->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        sl_warn("zk", "eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&zk->mu);
    it = zk->head;
    zk->head = NULL;
    zk->tail = &zk->head;
    pthread_mutex_unlock(&zk->mu);
    while (it) {
        zk_item_t *next = it->next;

        /* A callback may replace the session: re-check every item. */
        if (it->gen == zk->gen) {
            if (it->is_event) {
                bool session = it->type == ZOO_SESSION_EVENT;

                /* Connecting states are noise; connected and expired matter. */
                if (!session || it->state == ZOO_CONNECTED_STATE ||
                    it->state == ZOO_EXPIRED_SESSION_STATE)
                    zk->events(zk->events_arg, map_event(it->type, it->state),
                               it->path ? it->path : "");
            } else if (it->done) {
                it->done(it->arg, map_rc(it->zrc), it->data, it->data ? it->len : -1, it->version);
            }
        }
        item_free(it);
        it = next;
    }
}

/* ---- client threads ---------------------------------------------------------- */

static void
on_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    sl_zk_t *zk = ctx;
    zk_item_t *it = calloc(1, sizeof(*it));

    (void)zh;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&zk->mu);
        zk->zk_state = state;
        pthread_cond_broadcast(&zk->cv);
        pthread_mutex_unlock(&zk->mu);
    }
    if (it == NULL)
        return; /* out of memory on a client thread: drop the event */
    it->is_event = true;
    it->gen = zk->gen;
    it->type = type;
    it->state = state;
    it->path = path ? strdup(path) : NULL;
    push(zk, it);
}

static void
on_data(int zrc, const char *value, int len, const struct Stat *st, const void *data)
{
    zk_item_t *it = (zk_item_t *)data;

    it->zrc = zrc;
    it->version = st ? st->version : -1;
    if (zrc == ZOK && value && len >= 0) {
        it->data = malloc((size_t)len + 1);
        if (it->data) {
            memcpy(it->data, value, (size_t)len);
            it->data[len] = '\0';
            it->len = len;
        }
    }
    push(it->zk, it);
}

static void
on_stat(int zrc, const struct Stat *st, const void *data)
{
    on_data(zrc, NULL, -1, st, data);
}

static void
on_string(int zrc, const char *value, const void *data)
{
    (void)value;
    on_data(zrc, NULL, -1, NULL, data);
}

static void
on_strings(int zrc, const struct String_vector *sv, const void *data)
{
    zk_item_t *it = (zk_item_t *)data;
    size_t n = 0;

    it->zrc = zrc;
    if (zrc == ZOK && sv) {
        for (int i = 0; i < sv->count; i++)
            n += strlen(sv->data[i]) + 1;
        it->data = malloc(n + 1);
        if (it->data) {
            size_t o = 0;

            for (int i = 0; i < sv->count; i++) {
                size_t l = strlen(sv->data[i]);

                if (i)
                    it->data[o++] = '/';
                memcpy(it->data + o, sv->data[i], l);
                o += l;
            }
            it->data[o] = '\0';
            it->len = (int)o;
        }
    }
    push(it->zk, it);
}

/* ---- sessions ------------------------------------------------------------------ */

static int
wait_connected(sl_zk_t *zk)
{
    struct timespec dl;
    int rc = SL_OK;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += zk->conn_ms / 1000;
    dl.tv_nsec += (long)(zk->conn_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&zk->mu);
    while (zk->zk_state != ZOO_CONNECTED_STATE && rc == SL_OK) {
        if (zk->zk_state == ZOO_EXPIRED_SESSION_STATE || zk->zk_state == ZOO_AUTH_FAILED_STATE)
            rc = SL_EIO;
        else if (pthread_cond_timedwait(&zk->cv, &zk->mu, &dl) == ETIMEDOUT)
            rc = SL_ETIMEDOUT;
    }
    pthread_mutex_unlock(&zk->mu);
    return rc;
}

static int
start_session(sl_zk_t *zk, const char *connect)
{
    zk->zk_state = 0;
    zk->zh = zookeeper_init(connect, on_watch, zk->session_ms, NULL, zk, 0);
    if (zk->zh == NULL)
        return SL_EIO;
    return wait_connected(zk);
}

static void
end_session(sl_zk_t *zk)
{
    if (zk->zh) {
        /* Joins the client's threads; outstanding completions are queued
         * (ZCLOSING) under the old generation and dropped. */
        zookeeper_close(zk->zh);
        zk->zh = NULL;
    }
    zk->gen++;
}

/* "h:p,h:p/chroot" -> the chroot ("" if none). */
static const char *
chroot_of(const char *connect)
{
    const char *s = strchr(connect, '/');

    return s && s[1] ? s : "";
}

static int
ensure_chroot(sl_zk_t *zk)
{
    const char *root = chroot_of(zk->connect);
    size_t hosts = (size_t)(root - zk->connect);
    char *plain;
    int rc;

    if (!*root)
        return SL_OK;
    plain = strndup(zk->connect, hosts);
    if (plain == NULL)
        return SL_EIO;
    rc = start_session(zk, plain);
    free(plain);
    if (rc == SL_OK)
        rc = sl_zk_ensure_path(zk, root);
    end_session(zk);
    return rc;
}

int
sl_zk_open(const char *connect, int32_t session_timeout_ms, int32_t conn_timeout_ms,
           sl_zk_event_fn events, void *arg, sl_zk_t **out, char *errmsg, size_t errlen)
{
    sl_zk_t *zk = calloc(1, sizeof(*zk));
    int rc;

    *out = NULL;
    if (zk == NULL)
        return SL_EIO;
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zk->connect = strdup(connect);
    zk->session_ms = session_timeout_ms;
    zk->conn_ms = conn_timeout_ms > 0 ? conn_timeout_ms : session_timeout_ms;
    zk->events = events;
    zk->events_arg = arg;
    zk->tail = &zk->head;
    pthread_mutex_init(&zk->mu, NULL);
    pthread_cond_init(&zk->cv, NULL);
    zk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (zk->efd < 0 || zk->connect == NULL) {
        snprintf(errmsg, errlen, "cannot create an eventfd: %s", strerror(errno));
        sl_zk_close(zk);
        return SL_EIO;
    }
    rc = ensure_chroot(zk);
    if (rc == SL_OK)
        rc = start_session(zk, zk->connect);
    if (rc != SL_OK) {
        snprintf(errmsg, errlen,
                 rc == SL_ETIMEDOUT
                     ? "Timed out waiting for connection to ZooKeeper at %s "
                       "(zookeeper.connection.timeout.ms=%d)"
                     : "cannot open a ZooKeeper session at %s (zookeeper.connection.timeout.ms=%d)",
                 connect, (int)zk->conn_ms);
        sl_zk_close(zk);
        return rc;
    }
    *out = zk;
    return SL_OK;
}

int
sl_zk_reconnect(sl_zk_t *zk)
{
    end_session(zk);
    return start_session(zk, zk->connect);
}

void
sl_zk_close(sl_zk_t *zk)
{
    if (zk == NULL)
        return;
    end_session(zk);
    while (zk->head) {
        zk_item_t *it = zk->head;

        zk->head = it->next;
        item_free(it);
    }
    if (zk->efd >= 0)
        close(zk->efd);
    pthread_mutex_destroy(&zk->mu);
    pthread_cond_destroy(&zk->cv);
    free(zk->connect);
    free(zk);
}

int
sl_zk_fd(const sl_zk_t *zk)
{
    return zk->efd;
}

int64_t
sl_zk_session_id(const sl_zk_t *zk)
{
    const clientid_t *cid = zk->zh ? zoo_client_id(zk->zh) : NULL;

    return cid ? cid->client_id : 0;
}

/* ---- blocking calls ------------------------------------------------------------ */

int
sl_zk_create(sl_zk_t *zk, const char *path, const char *data, int len, int flags)
{
    int zrc = zoo_create(zk->zh, path, data, data ? len : -1, &ZOO_OPEN_ACL_UNSAFE,
                         flags & SL_ZK_EPHEMERAL ? ZOO_EPHEMERAL : ZOO_PERSISTENT, NULL, 0);

    if (zrc != ZOK && zrc != ZNODEEXISTS && zrc != ZNONODE)
        sl_warn("zk", "create %s: %s", path, zerror(zrc));
    return map_rc(zrc);
}

int
sl_zk_get(sl_zk_t *zk, const char *path, char *buf, int cap, int *len, int32_t *version)
{
    struct Stat st;
    int n = cap - 1;
    int zrc = zoo_get(zk->zh, path, 0, buf, &n, &st);

    if (zrc != ZOK) {
        if (zrc != ZNONODE)
            sl_warn("zk", "get %s: %s", path, zerror(zrc));
        return map_rc(zrc);
    }
    n = n < 0 ? 0 : n;
    buf[n] = '\0';
    *len = n;
    if (version)
        *version = st.version;
    return SL_OK;
}

int
sl_zk_ensure_path(sl_zk_t *zk, const char *path)
{
    char tmp[1024];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp) || path[0] != '/')
        return SL_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        int rc;

        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        rc = sl_zk_create(zk, tmp, NULL, -1, 0);
        if (rc != SL_OK && rc != SL_EEXIST)
            return rc;
        tmp[i] = i < n ? '/' : '\0';
    }
    return SL_OK;
}

/* ---- async calls ---------------------------------------------------------------- */

static zk_item_t *
op_new(sl_zk_t *zk, sl_zk_done_fn done, void *arg)
{
    zk_item_t *it = calloc(1, sizeof(*it));

    SL_ASSERT(it != NULL);
    it->zk = zk;
    it->gen = zk->gen;
    it->done = done;
    it->arg = arg;
    it->version = -1;
    return it;
}

/* A call the client refused at once: report it through the queue too, so
 * done never runs inside the caller. */
static void
op_submitted(sl_zk_t *zk, zk_item_t *it, int zrc)
{
    if (zrc == ZOK)
        return;
    it->zrc = zrc;
    push(zk, it);
}

void
sl_zk_acreate(sl_zk_t *zk, const char *path, const char *data, int len, int flags,
              sl_zk_done_fn done, void *arg)
{
    zk_item_t *it = op_new(zk, done, arg);

    op_submitted(zk, it,
                 zoo_acreate(zk->zh, path, data, data ? len : -1, &ZOO_OPEN_ACL_UNSAFE,
                             flags & SL_ZK_EPHEMERAL ? ZOO_EPHEMERAL : ZOO_PERSISTENT, on_string,
                             it));
}

void
sl_zk_aget(sl_zk_t *zk, const char *path, bool watch, sl_zk_done_fn done, void *arg)
{
    zk_item_t *it = op_new(zk, done, arg);

    op_submitted(zk, it, zoo_aget(zk->zh, path, watch, on_data, it));
}

void
sl_zk_aset(sl_zk_t *zk, const char *path, const char *data, int len, int32_t version,
           sl_zk_done_fn done, void *arg)
{
    zk_item_t *it = op_new(zk, done, arg);

    op_submitted(zk, it, zoo_aset(zk->zh, path, data, len, version, on_stat, it));
}

void
sl_zk_achildren(sl_zk_t *zk, const char *path, bool watch, sl_zk_done_fn done, void *arg)
{
    zk_item_t *it = op_new(zk, done, arg);

    op_submitted(zk, it, zoo_aget_children(zk->zh, path, watch, on_strings, it));
}
