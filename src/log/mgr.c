/*
 * mgr.c -- the log manager: one log directory, its partitions, the two
 * per-directory checkpoint files, the clean-shutdown marker, the background
 * workers and the eventfd through which they report back to the loop.
 *
 * Layout of a log directory (see docs/ondisk.md):
 *   <dir>/.kafka_cleanshutdown                present only between a clean
 *                                             close and the next open
 *   <dir>/recovery-point-offset-checkpoint    per partition: fsynced offset
 *   <dir>/log-start-offset-checkpoint         per partition: log start
 *   <dir>/<topic>-<partition>/                one per partition
 *   <dir>/<topic>-<partition>.<hex>-delete/   being removed in the background
 */
#include "log/log_int.h"
#include "log/prodstate.h"

#include "base/fault.h"
#include "base/log.h"
#include "base/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLEAN_MARKER  ".kafka_cleanshutdown"
#define CKPT_RECOVERY "recovery-point-offset-checkpoint"
#define CKPT_START    "log-start-offset-checkpoint"

int
sl_log_errno(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return SL_ENOSPC;
    case ENOENT:
        return SL_ENOENT;
    case EEXIST:
        return SL_EEXIST;
    case EMFILE:
    case ENFILE:
        return SL_ENFILE;
    default:
        return SL_EIO;
    }
}

int
sl_log_open_fd(sl_log_mgr_t *mgr, const char *path, int flags, int *fd)
{
    *fd = -1;
    if (sl_fault("log.open"))
        return SL_EIO;
    for (int attempt = 0;; attempt++) {
        int err;

        if (sl_fault("log.emfile")) {
            err = EMFILE;
        } else {
            *fd = open(path, flags | O_CLOEXEC, 0644);
            if (*fd >= 0)
                return SL_OK;
            err = errno;
        }
        if ((err != EMFILE && err != ENFILE) || mgr == NULL || attempt > 0 || mgr->lru_n == 0)
            return sl_log_errno(err);
        /* Idle segments give their descriptors back, then one more try. */
        sl_warn(SL_LOG_COMP, "out of file descriptors opening %s: closing idle segments", path);
        sl_log_mgr_evict(mgr, 0);
    }
}

static size_t
auto_max_open_segments(void)
{
    struct rlimit rl;
    rlim_t n = 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = rl.rlim_cur;
    return (size_t)SL_MAX(n / 4, 16);
}

void
sl_log_mgr_opts_init(sl_log_mgr_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    sl_log_cfg_init(&opts->default_cfg);
    opts->hw_mode = SL_LOG_HW_ON_WRITE;
    opts->verify_on_read = true;
    opts->checkpoint_interval_ms = 60000;
    opts->retention_check_interval_ms = 300000;
    opts->producer_id_expiration_ms = 86400000;
    opts->producer_id_expiration_check_interval_ms = 600000;
    opts->cleaner_enable = true;
    opts->cleaner_threads = 1;
    opts->cleaner_dedupe_buffer_size = 134217728;
    opts->cleaner_io_buffer_load_factor = 0.9;
    opts->cleaner_io_max_bytes_per_second = 1.7976931348623157e308;
    opts->cleaner_backoff_ms = 15000;
}

/* ======================================================================
 * Background jobs and completions
 * ====================================================================== */

void
sl_log_mgr_complete(sl_log_mgr_t *mgr, sl_bg_job_t *job)
{
    uint64_t one = 1;

    pthread_mutex_lock(&mgr->done_mu);
    job->next = NULL;
    if (mgr->done_tail != NULL)
        mgr->done_tail->next = job;
    else
        mgr->done_head = job;
    mgr->done_tail = job;
    pthread_mutex_unlock(&mgr->done_mu);
    if (write(mgr->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        sl_warn(SL_LOG_COMP, "eventfd write: %s", strerror(errno));
}

void
sl_log_mgr_poll(sl_log_mgr_t *mgr)
{
    uint64_t n;
    sl_bg_job_t *job;

    if (read(mgr->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        sl_warn(SL_LOG_COMP, "eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&mgr->done_mu);
    job = mgr->done_head;
    mgr->done_head = mgr->done_tail = NULL;
    pthread_mutex_unlock(&mgr->done_mu);
    while (job != NULL) {
        sl_bg_job_t *next = job->next;

        job->done(job);
        job = next;
    }
}

void
sl_log_mgr_wait(sl_log_mgr_t *mgr, int timeout_ms)
{
    struct pollfd pfd = {.fd = mgr->efd, .events = POLLIN};

    while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
        ;
    sl_log_mgr_poll(mgr);
}

int
sl_log_mgr_fd(const sl_log_mgr_t *mgr)
{
    return mgr->efd;
}

typedef struct seg_free_job {
    sl_bg_job_t job;
    sl_seg_t *seg;
} seg_free_job_t;

static void
seg_free_run(sl_bg_job_t *job)
{
    sl_seg_destroy(((seg_free_job_t *)job)->seg);
}

void
sl_log_mgr_free_seg(sl_log_mgr_t *mgr, sl_seg_t *seg)
{
    seg_free_job_t *j = sl_xcalloc(1, sizeof(*j));

    j->job.run = seg_free_run;
    j->seg = seg;
    sl_bg_submit(&mgr->janitor, &j->job);
}

typedef struct file_job {
    sl_bg_job_t job;
    char *path;
    char *data;
    size_t len;
} file_job_t;

static void
file_run(sl_bg_job_t *job)
{
    file_job_t *fj = (file_job_t *)job;
    int rc = sl_ckpt_write_file(fj->path, fj->data, fj->len);

    if (rc != SL_OK)
        sl_error(SL_LOG_COMP, "cannot write %s: %s", fj->path, sl_strerror(rc));
    free(fj->path);
    free(fj->data);
}

void
sl_log_mgr_write_file(sl_log_mgr_t *mgr, const char *path, char *data, size_t len)
{
    file_job_t *fj = sl_xcalloc(1, sizeof(*fj));

    fj->job.run = file_run;
    fj->path = sl_xstrdup(path);
    fj->data = data;
    fj->len = len;
    sl_bg_submit(&mgr->janitor, &fj->job);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        sl_warn(SL_LOG_COMP, "remove %s: %s", path, strerror(errno));
    return 0;
}

static void
rmtree_run(sl_bg_job_t *job)
{
    file_job_t *fj = (file_job_t *)job;

    nftw(fj->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fj->path);
}

static void
rmtree_later(sl_log_mgr_t *mgr, const char *path)
{
    file_job_t *fj = sl_xcalloc(1, sizeof(*fj));

    fj->job.run = rmtree_run;
    fj->path = sl_xstrdup(path);
    sl_bg_submit(&mgr->janitor, &fj->job);
}

/* ======================================================================
 * Checkpoints
 * ====================================================================== */

static void
path_in(const sl_log_mgr_t *mgr, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", mgr->dir, name);
}

static void
build_ckpts(sl_log_mgr_t *mgr, sl_ckpt_t *rp, sl_ckpt_t *ls)
{
    memset(rp, 0, sizeof(*rp));
    memset(ls, 0, sizeof(*ls));
    for (size_t i = 0; i < mgr->npls; i++) {
        const sl_plog_t *pl = mgr->pls[i];

        sl_ckpt_add(rp, pl->topic, pl->partition, pl->durable);
        sl_ckpt_add(ls, pl->topic, pl->partition, pl->log_start);
    }
}

void
sl_log_mgr_checkpoint(sl_log_mgr_t *mgr)
{
    char path[PATH_MAX];
    sl_ckpt_t rp, ls;
    size_t len;
    char *data;

    build_ckpts(mgr, &rp, &ls);
    data = sl_ckpt_format(&rp, &len);
    path_in(mgr, CKPT_RECOVERY, path, sizeof(path));
    sl_log_mgr_write_file(mgr, path, data, len);
    data = sl_ckpt_format(&ls, &len);
    path_in(mgr, CKPT_START, path, sizeof(path));
    sl_log_mgr_write_file(mgr, path, data, len);
    sl_ckpt_deinit(&rp);
    sl_ckpt_deinit(&ls);
    mgr->ckpt_dirty = false;
}

/* Shutdown: written inline so the marker can depend on them. */
static int
checkpoint_sync(sl_log_mgr_t *mgr)
{
    char path[PATH_MAX];
    sl_ckpt_t rp, ls;
    size_t len;
    char *data;
    int rc;

    build_ckpts(mgr, &rp, &ls);
    data = sl_ckpt_format(&rp, &len);
    path_in(mgr, CKPT_RECOVERY, path, sizeof(path));
    rc = sl_ckpt_write_file(path, data, len);
    free(data);
    data = sl_ckpt_format(&ls, &len);
    path_in(mgr, CKPT_START, path, sizeof(path));
    if (rc == SL_OK)
        rc = sl_ckpt_write_file(path, data, len);
    free(data);
    sl_ckpt_deinit(&rp);
    sl_ckpt_deinit(&ls);
    return rc;
}

int
sl_log_mgr_checkpoint_sync(sl_log_mgr_t *mgr)
{
    /* A queued older checkpoint must not land after this one. */
    sl_bg_drain(&mgr->janitor);
    return checkpoint_sync(mgr);
}

/* ======================================================================
 * Partitions
 * ====================================================================== */

static void
add_plog(sl_log_mgr_t *mgr, sl_plog_t *pl)
{
    if (mgr->npls == mgr->cap) {
        mgr->cap = mgr->cap ? mgr->cap * 2 : 16;
        mgr->pls = sl_xrealloc(mgr->pls, mgr->cap * sizeof(*mgr->pls));
    }
    mgr->pls[mgr->npls++] = pl;
}

/* "<topic>-<partition>" -> topic (in buf), partition. */
static bool
parse_dir_name(const char *name, char *topic, size_t cap, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    int64_t p = 0;

    if (dash == NULL || dash == name || dash[1] == '\0' || (size_t)(dash - name) >= cap)
        return false;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9' || p > INT32_MAX / 10)
            return false;
        p = p * 10 + (*c - '0');
    }
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    *partition = (int32_t)p;
    return true;
}

static bool
valid_topic(const char *topic)
{
    size_t n = strlen(topic);

    if (n == 0 || n > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = topic[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void
load_one(sl_log_mgr_t *mgr, const char *name, bool clean, const sl_ckpt_t *rp, const sl_ckpt_t *ls)
{
    char topic[256], path[PATH_MAX];
    int32_t part;
    sl_log_cfg_t cfg = mgr->opts.default_cfg;
    sl_plog_t *pl;

    if (!parse_dir_name(name, topic, sizeof(topic), &part) || !valid_topic(topic))
        return;
    if (mgr->opts.cfg_fn != NULL)
        mgr->opts.cfg_fn(mgr->opts.cfg_arg, topic, part, &cfg);
    snprintf(path, sizeof(path), "%s/%s", mgr->dir, name);
    /* An offline partition is kept (and reported) rather than dropped. */
    if (sl_plog_load(mgr, path, topic, part, &cfg, clean, sl_ckpt_get(rp, topic, part),
                     sl_ckpt_get(ls, topic, part), &pl) != SL_OK)
        sl_error(SL_LOG_COMP, "partition %s-%" PRId32 " loaded offline", topic, part);
    add_plog(mgr, pl);
}

static int
load_all(sl_log_mgr_t *mgr, bool clean)
{
    char path[PATH_MAX];
    sl_ckpt_t rp, ls;
    struct dirent *de;
    DIR *d;

    path_in(mgr, CKPT_RECOVERY, path, sizeof(path));
    if (sl_ckpt_read(path, &rp) != SL_OK)
        sl_warn(SL_LOG_COMP, "%s unreadable: every partition is scanned in full", path);
    path_in(mgr, CKPT_START, path, sizeof(path));
    if (sl_ckpt_read(path, &ls) != SL_OK)
        sl_warn(SL_LOG_COMP, "%s unreadable: log start offsets reset to segment bases", path);
    if ((d = opendir(mgr->dir)) == NULL)
        return sl_log_errno(errno);
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", mgr->dir, de->d_name);
        if (de->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (strlen(de->d_name) > 7 && strcmp(de->d_name + strlen(de->d_name) - 7, "-delete") == 0)
            rmtree_later(mgr, path);
        else
            load_one(mgr, de->d_name, clean, &rp, &ls);
    }
    closedir(d);
    sl_ckpt_deinit(&rp);
    sl_ckpt_deinit(&ls);
    return SL_OK;
}

/* Renames dir to `<dir>.<hex>-delete` (Kafka's way: the name is free at
 * once, a restart finishes the removal) and removes it in the background. */
static int
move_aside(sl_log_mgr_t *mgr, const char *dir)
{
    char to[PATH_MAX + 64];
    static uint64_t seq;

    snprintf(to, sizeof(to), "%s.%016" PRIx64 "-delete", dir, (uint64_t)sl_mono_ns() + ++seq);
    if (sl_fault("log.rename"))
        return SL_EIO;
    if (rename(dir, to) != 0)
        return sl_log_errno(errno);
    rmtree_later(mgr, to);
    return SL_OK;
}

sl_plog_t *
sl_log_mgr_get(sl_log_mgr_t *mgr, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < mgr->npls; i++) {
        sl_plog_t *pl = mgr->pls[i];

        if (pl->partition == partition && strcmp(pl->topic, topic) == 0)
            return pl;
    }
    return NULL;
}

int
sl_log_mgr_create(sl_log_mgr_t *mgr, const char *topic, int32_t partition, const sl_log_cfg_t *cfg,
                  sl_plog_t **out)
{
    char path[PATH_MAX];
    sl_plog_t *pl = sl_log_mgr_get(mgr, topic, partition);
    sl_seg_t *seg;
    int rc;

    if (pl != NULL) {
        sl_plog_set_cfg(pl, cfg);
        *out = pl;
        return SL_OK;
    }
    if (!valid_topic(topic) || partition < 0)
        return SL_EINVAL;
    snprintf(path, sizeof(path), "%s/%s-%" PRId32, mgr->dir, topic, partition);
    if (sl_fault("log.open"))
        return SL_EIO;
    if (mkdir(path, 0755) != 0) {
        if (errno != EEXIST)
            return sl_log_errno(errno);
        /* Not a partition we know: a leftover (an interrupted delete, a
         * stray copy). A new partition starts empty, never adopting it. */
        if ((rc = move_aside(mgr, path)) != SL_OK)
            return rc;
        if (mkdir(path, 0755) != 0)
            return sl_log_errno(errno);
    }
    pl = sl_plog_new(mgr, path, topic, partition, cfg);
    if ((rc = sl_seg_create(path, 0, &pl->cfg, mgr, &seg)) != SL_OK) {
        sl_plog_unref(pl);
        return rc;
    }
    sl_plog_push_seg(pl, seg);
    pl->dir_dirty = pl->parent_dirty = true;
    add_plog(mgr, pl);
    mgr->ckpt_dirty = true;
    *out = pl;
    return SL_OK;
}

int
sl_log_mgr_delete(sl_log_mgr_t *mgr, sl_plog_t *pl)
{
    size_t i;
    int rc;

    for (i = 0; i < mgr->npls && mgr->pls[i] != pl; i++)
        ;
    if (i == mgr->npls)
        return SL_ENOENT;
    if ((rc = move_aside(mgr, pl->dir)) != SL_OK)
        return rc;
    memmove(mgr->pls + i, mgr->pls + i + 1, (mgr->npls - i - 1) * sizeof(*mgr->pls));
    mgr->npls--;
    pl->removed = true;
    sl_plog_unref(pl);
    /* Written now: a recreated partition must not inherit this one's
     * recovery point. */
    sl_log_mgr_checkpoint(mgr);
    return SL_OK;
}

size_t
sl_log_mgr_count(const sl_log_mgr_t *mgr)
{
    return mgr->npls;
}

sl_plog_t *
sl_log_mgr_at(sl_log_mgr_t *mgr, size_t i)
{
    return i < mgr->npls ? mgr->pls[i] : NULL;
}

/* ======================================================================
 * Open, tick, close
 * ====================================================================== */

static void
mgr_free(sl_log_mgr_t *mgr)
{
    /* In-flight flushes and cleans hold partitions: let them finish first. */
    sl_cleaner_stop(mgr);
    sl_bg_drain(&mgr->flusher);
    sl_log_mgr_poll(mgr);
    for (size_t i = 0; i < mgr->npls; i++)
        sl_plog_unref(mgr->pls[i]);
    free(mgr->pls);
    mgr->pls = NULL;
    mgr->npls = 0;
    sl_bg_stop(&mgr->flusher);
    sl_bg_stop(&mgr->janitor);
    sl_log_mgr_poll(mgr);
    if (mgr->efd >= 0)
        close(mgr->efd);
    pthread_mutex_destroy(&mgr->done_mu);
    free(mgr->dir);
    free(mgr);
}

static int
remove_marker(sl_log_mgr_t *mgr)
{
    char path[PATH_MAX];

    path_in(mgr, CLEAN_MARKER, path, sizeof(path));
    if (unlink(path) != 0)
        return sl_log_errno(errno);
    /* Must be gone for good before the first append, or a crash after it
     * would be mistaken for a clean stop. */
    return sl_log_fsync_dir(mgr->dir);
}

int
sl_log_mgr_open(const char *dir, const sl_log_mgr_opts_t *opts, sl_log_mgr_t **out)
{
    sl_log_mgr_t *mgr = sl_xcalloc(1, sizeof(*mgr));
    char path[PATH_MAX];
    bool clean;
    int rc;

    mgr->dir = sl_xstrdup(dir);
    if (opts != NULL)
        mgr->opts = *opts;
    else
        sl_log_mgr_opts_init(&mgr->opts);
    mgr->max_open_segments = mgr->opts.max_open_segments > 0 ? (size_t)mgr->opts.max_open_segments
                                                             : auto_max_open_segments();
    pthread_mutex_init(&mgr->done_mu, NULL);
    mgr->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sl_bg_start(&mgr->flusher, mgr);
    sl_bg_start(&mgr->janitor, mgr);
    mgr->last_ckpt_ms = mgr->last_retention_ms = mgr->last_pid_expiry_ms = sl_mono_ms();
    if (mgr->efd < 0 || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        rc = sl_log_errno(errno);
        goto fail;
    }
    path_in(mgr, CLEAN_MARKER, path, sizeof(path));
    clean = access(path, F_OK) == 0;
    if ((rc = load_all(mgr, clean)) != SL_OK)
        goto fail;
    if (clean && (rc = remove_marker(mgr)) != SL_OK)
        goto fail;
    sl_cleaner_start(mgr);
    *out = mgr;
    return SL_OK;

fail:
    sl_error(SL_LOG_COMP, "cannot open log dir %s: %s", dir, sl_strerror(rc));
    mgr_free(mgr);
    return rc;
}

void
sl_log_mgr_tick(sl_log_mgr_t *mgr, int64_t now_ms)
{
    int64_t mono = sl_mono_ms();

    for (size_t i = 0; i < mgr->npls; i++)
        sl_plog_flush_timer(mgr->pls[i], now_ms);
    if (mono - mgr->last_retention_ms >= mgr->opts.retention_check_interval_ms) {
        mgr->last_retention_ms = mono;
        for (size_t i = 0; i < mgr->npls; i++) {
            if (mgr->pls[i]->offline_rc == SL_OK)
                (void)sl_plog_retain(mgr->pls[i], now_ms);
        }
    }
    if (mgr->ckpt_dirty || mono - mgr->last_ckpt_ms >= mgr->opts.checkpoint_interval_ms) {
        mgr->last_ckpt_ms = mono;
        sl_log_mgr_checkpoint(mgr);
    }
    sl_psnap_tick(mgr, now_ms, mono);
    sl_cleaner_tick(mgr, now_ms);
}

static int
write_marker(sl_log_mgr_t *mgr)
{
    char path[PATH_MAX];
    int fd;

    path_in(mgr, CLEAN_MARKER, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sl_log_errno(errno);
    close(fd);
    return sl_log_fsync_dir(mgr->dir);
}

void
sl_log_mgr_close(sl_log_mgr_t *mgr)
{
    bool ok = true;
    int rc;

    if (mgr == NULL)
        return;
    sl_cleaner_stop(mgr); /* a clean in flight gives up or finishes its swap */
    sl_bg_drain(&mgr->flusher);
    sl_log_mgr_poll(mgr);
    for (size_t i = 0; i < mgr->npls; i++) {
        if (sl_plog_close_clean(mgr->pls[i]) != SL_OK ||
            (mgr->pls[i]->offline_rc == SL_OK && sl_psnap_write_sync(mgr->pls[i]) != SL_OK))
            ok = false;
    }
    /* The janitor may still be writing an older checkpoint: let it finish
     * so the final one lands last. */
    sl_bg_drain(&mgr->janitor);
    if ((rc = checkpoint_sync(mgr)) != SL_OK) {
        sl_error(SL_LOG_COMP, "%s: checkpoints not written: %s", mgr->dir, sl_strerror(rc));
        ok = false;
    }
    if (ok && (rc = write_marker(mgr)) != SL_OK)
        sl_error(SL_LOG_COMP, "%s: clean-shutdown marker not written: %s", mgr->dir,
                 sl_strerror(rc));
    mgr_free(mgr);
}

void
sl_log_mgr_abandon(sl_log_mgr_t *mgr)
{
    if (mgr != NULL)
        mgr_free(mgr);
}
