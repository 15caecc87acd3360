/*
 * bg.c -- a background worker: one thread running queued jobs in order.
 *
 * The manager runs two: the flusher (fsync for group commit) and the
 * janitor (unlink, final close of segments, checkpoint file writes), so an
 * unlink of a 1 GiB file never delays an acknowledgement. A job runs on the
 * worker, then goes back to the loop thread through the manager's done list
 * and eventfd; jobs are FIFO per worker, which keeps successive writes of
 * one checkpoint file in order.
 */
#include "log/log_int.h"

#include "base/log.h"

static void *
bg_main(void *arg)
{
    sl_bg_t *bg = arg;

    pthread_mutex_lock(&bg->mu);
    for (;;) {
        sl_bg_job_t *job;

        while (bg->head == NULL && !bg->stop)
            pthread_cond_wait(&bg->cv, &bg->mu);
        if (bg->head == NULL)
            break;
        job = bg->head;
        bg->head = job->next;
        if (bg->head == NULL)
            bg->tail = NULL;
        pthread_mutex_unlock(&bg->mu);

        job->next = NULL;
        job->run(job);
        if (job->done != NULL)
            sl_log_mgr_complete(bg->mgr, job);
        else
            free(job);

        pthread_mutex_lock(&bg->mu);
        bg->busy--;
        pthread_cond_broadcast(&bg->cv);
    }
    pthread_mutex_unlock(&bg->mu);
    return NULL;
}

void
sl_bg_start(sl_bg_t *bg, sl_log_mgr_t *mgr)
{
    memset(bg, 0, sizeof(*bg));
    bg->mgr = mgr;
    pthread_mutex_init(&bg->mu, NULL);
    pthread_cond_init(&bg->cv, NULL);
    if (pthread_create(&bg->thr, NULL, bg_main, bg) != 0)
        sl_panic(__FILE__, __LINE__, "pthread_create failed");
    bg->started = true;
}

void
sl_bg_submit(sl_bg_t *bg, sl_bg_job_t *job)
{
    job->next = NULL;
    if (!bg->started) {
        /* Only during shutdown, after the thread stopped: run inline. */
        job->run(job);
        if (job->done != NULL)
            sl_log_mgr_complete(bg->mgr, job);
        else
            free(job);
        return;
    }
    pthread_mutex_lock(&bg->mu);
    if (bg->tail != NULL)
        bg->tail->next = job;
    else
        bg->head = job;
    bg->tail = job;
    bg->busy++;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
}

void
sl_bg_drain(sl_bg_t *bg)
{
    if (!bg->started)
        return;
    pthread_mutex_lock(&bg->mu);
    while (bg->busy > 0)
        pthread_cond_wait(&bg->cv, &bg->mu);
    pthread_mutex_unlock(&bg->mu);
}

void
sl_bg_stop(sl_bg_t *bg)
{
    if (!bg->started)
        return;
    pthread_mutex_lock(&bg->mu);
    bg->stop = true;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    pthread_join(bg->thr, NULL);
    pthread_mutex_destroy(&bg->mu);
    pthread_cond_destroy(&bg->cv);
    bg->started = false;
}
