/*
 * worker.h -- a small pool of background threads for blocking work (fsync,
 * unlink, close of big files), in the manner of Redis's bio threads.
 *
 *   sl_worker_submit(pool, fn, arg, done);
 *       fn(arg)    runs on some worker thread, as soon as one is free;
 *       done(arg)  runs afterwards on the loop thread, delivered through an
 *                  eventfd the pool registered with the loop.
 *
 * Jobs start in submission order; with more than one thread they may finish
 * in any order, and done callbacks run in finishing order. A caller that needs
 * ordering (one fsync at a time per partition) keeps one job in flight.
 * Worker threads start with every signal blocked, so signals reach the loop
 * thread. fn must not touch loop-owned state; done may.
 */
#ifndef SL_NET_WORKER_H
#define SL_NET_WORKER_H

#include "net/loop.h"

typedef struct sl_worker_pool sl_worker_pool_t;

typedef void (*sl_worker_fn)(void *arg);
typedef void (*sl_worker_done_fn)(void *arg);

/* Starts nthreads (1..64) threads. SL_EINVAL for a bad count, SL_EIO if an
 * eventfd or a thread cannot be created. Loop thread. */
SL_MUST_CHECK int sl_worker_new(sl_loop_t *loop, int nthreads, sl_worker_pool_t **out);
/* Queues a job. fn must not be NULL; done may be. Loop thread. */
void sl_worker_submit(sl_worker_pool_t *pool, sl_worker_fn fn, void *arg, sl_worker_done_fn done);
/* Jobs submitted whose done callback has not run yet. Loop thread. */
size_t sl_worker_pending(const sl_worker_pool_t *pool);
/* Runs every queued job to completion, joins the threads, then runs the
 * outstanding done callbacks on the calling (loop) thread before freeing, so
 * nothing submitted is lost. NULL is a no-op. */
void sl_worker_free(sl_worker_pool_t *pool);

#endif
