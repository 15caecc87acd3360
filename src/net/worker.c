/*
 * worker.c -- background thread pool (see worker.h).
 *
 * Two queues: `todo` (loop -> workers, guarded by mu, signalled by cond) and
 * `done` (workers -> loop, guarded by mu too, signalled by writing to an
 * eventfd the loop watches). One mutex is enough: each job touches it twice
 * and the work it protects is a pointer swap.
 */
#include "net/worker.h"

#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WORKER_MAX_THREADS 64

typedef struct job {
    struct job *next;
    sl_worker_fn fn;
    sl_worker_done_fn done;
    void *arg;
} job_t;

typedef struct job_list {
    job_t *head, *tail;
} job_list_t;

struct sl_worker_pool {
    sl_loop_t *loop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    job_list_t todo; /* under mu */
    job_list_t done; /* under mu */
    bool shutdown;   /* under mu */
    int efd;
    sl_loop_fd_t efd_w;
    size_t pending; /* loop thread only */
    int nthreads;
    pthread_t threads[WORKER_MAX_THREADS];
};

static void
list_push(job_list_t *l, job_t *j)
{
    j->next = NULL;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static job_t *
list_pop(job_list_t *l)
{
    job_t *j = l->head;

    if (j != NULL) {
        l->head = j->next;
        if (l->head == NULL)
            l->tail = NULL;
    }
    return j;
}

static void *
worker_main(void *arg)
{
    sl_worker_pool_t *pool = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&pool->mu);
    for (;;) {
        job_t *j = list_pop(&pool->todo);

        if (j == NULL) {
            if (pool->shutdown)
                break;
            pthread_cond_wait(&pool->cond, &pool->mu);
            continue;
        }
        pthread_mutex_unlock(&pool->mu);
        j->fn(j->arg);
        pthread_mutex_lock(&pool->mu);
        list_push(&pool->done, j);
        if (write(pool->efd, &one, sizeof(one)) < 0) {
            /* Saturated counter: the loop has a wakeup pending already. */
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

/* Runs the done callbacks of every finished job, in finishing order. */
static void
run_done(sl_worker_pool_t *pool)
{
    job_list_t batch;

    pthread_mutex_lock(&pool->mu);
    batch = pool->done;
    pool->done.head = pool->done.tail = NULL;
    pthread_mutex_unlock(&pool->mu);
    for (job_t *j = batch.head, *next; j != NULL; j = next) {
        next = j->next;
        pool->pending--;
        if (j->done != NULL)
            j->done(j->arg);
        free(j);
    }
}

static void
efd_readable(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    sl_worker_pool_t *pool = arg;
    uint64_t v;

    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        sl_debug("net", "worker eventfd read: %s", strerror(errno));
    run_done(pool);
}

static int
start_threads(sl_worker_pool_t *pool, int nthreads)
{
    sigset_t all, old;
    int rc = SL_OK;

    /* Threads inherit the creator's mask: block everything around creation so
     * process signals (SIGTERM, SIGINT) are delivered to the loop thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; pool->nthreads < nthreads; pool->nthreads++) {
        if (pthread_create(&pool->threads[pool->nthreads], NULL, worker_main, pool) != 0) {
            rc = SL_EIO;
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int
sl_worker_new(sl_loop_t *loop, int nthreads, sl_worker_pool_t **out)
{
    sl_worker_pool_t *pool;
    int rc;

    if (nthreads < 1 || nthreads > WORKER_MAX_THREADS)
        return SL_EINVAL;
    pool = sl_xcalloc(1, sizeof(*pool));
    pool->loop = loop;
    pool->efd_w.fd = -1;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cond, NULL);
    pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool->efd < 0) {
        rc = SL_EIO;
        goto fail;
    }
    if ((rc = sl_loop_fd_add(loop, &pool->efd_w, pool->efd, SL_EV_READ, efd_readable, pool)) !=
        SL_OK)
        goto fail;
    if ((rc = start_threads(pool, nthreads)) != SL_OK)
        goto fail;
    *out = pool;
    return SL_OK;

fail:
    sl_error("net", "worker pool: %s", strerror(errno));
    sl_worker_free(pool);
    return rc;
}

void
sl_worker_submit(sl_worker_pool_t *pool, sl_worker_fn fn, void *arg, sl_worker_done_fn done)
{
    job_t *j = sl_xmalloc(sizeof(*j));

    SL_ASSERT(fn != NULL);
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    pool->pending++;
    pthread_mutex_lock(&pool->mu);
    SL_ASSERT(!pool->shutdown);
    list_push(&pool->todo, j);
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->mu);
}

size_t
sl_worker_pending(const sl_worker_pool_t *pool)
{
    return pool->pending;
}

void
sl_worker_free(sl_worker_pool_t *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->shutdown = true;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    run_done(pool);
    sl_loop_fd_del(pool->loop, &pool->efd_w);
    if (pool->efd >= 0)
        close(pool->efd);
    pthread_cond_destroy(&pool->cond);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}
