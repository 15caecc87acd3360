/*
 * test_net_loop.c -- the event loop on its own: timers (order, cancel,
 * re-arm, a randomised heap check), deferred callbacks, fd watchers removed
 * mid-iteration, wakeup/stop from other threads and signal handlers, and
 * the worker pool.
 */
#include "test_net.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* ======================================================================== */
/* Timers                                                                   */
/* ======================================================================== */

typedef struct fire_log {
    int order[2048];
    int n;
} fire_log_t;

typedef struct tmr {
    sl_timer_t t;
    fire_log_t *log;
    int id;
} tmr_t;

static void
tmr_fire(sl_loop_t *loop, void *arg)
{
    tmr_t *x = arg;

    SL_CHECK(!sl_timer_active(&x->t)); /* disarmed before the callback */
    x->log->order[x->log->n++] = x->id;
}

SL_TEST(net_timers_fire_in_deadline_order_and_cancelled_do_not)
{
    sl_loop_t *loop;
    fire_log_t log = {.n = 0};
    tmr_t x[6];
    static const int delays[] = {30, 10, 20, 10, 5, 15};
    int64_t start;

    SL_CHECK_OK(sl_loop_new(&loop));
    start = sl_loop_now(loop);
    for (int i = 0; i < 6; i++) {
        x[i].log = &log;
        x[i].id = i;
        sl_timer_init(&x[i].t, tmr_fire, &x[i]);
        sl_timer_start(loop, &x[i].t, delays[i]);
        SL_CHECK(sl_timer_active(&x[i].t));
    }
    sl_timer_stop(loop, &x[2].t); /* cancelled: never fires */
    sl_timer_stop(loop, &x[2].t); /* twice is fine */
    SL_CHECK(!sl_timer_active(&x[2].t));
    SL_TN_DRIVE(loop, log.n == 5);
    /* 5 ms, then the two 10 ms timers in arming order, 15, 30. */
    SL_CHECK_EQ(log.order[0], 4);
    SL_CHECK_EQ(log.order[1], 1);
    SL_CHECK_EQ(log.order[2], 3);
    SL_CHECK_EQ(log.order[3], 5);
    SL_CHECK_EQ(log.order[4], 0);
    SL_CHECK(sl_loop_now(loop) >= start + 30);
    sl_tn_spin(loop, 3, 0);
    SL_CHECK_EQ(log.n, 5);
    sl_loop_free(loop);
    sl_tn_leak_check();
}

SL_TEST(net_timers_heap_matches_a_sorted_model)
{
    enum { N = 1000 };
    sl_loop_t *loop;
    static tmr_t x[N];
    static fire_log_t log;
    int64_t now, deadline[N];
    bool live[N];
    int expect[N], nexp = 0;

    SL_CHECK_OK(sl_loop_new(&loop));
    now = sl_loop_now(loop);
    /* Deadlines in the past, so one iteration fires everything due; random
     * re-arms and cancels exercise sift up/down from arbitrary slots. */
    for (int i = 0; i < N; i++) {
        x[i].log = &log;
        x[i].id = i;
        sl_timer_init(&x[i].t, tmr_fire, &x[i]);
        deadline[i] = now - 1000 + (int64_t)(sl_test_rand() % 500);
        sl_timer_start_at(loop, &x[i].t, deadline[i]);
        live[i] = true;
    }
    for (int k = 0; k < 3 * N; k++) {
        int i = (int)(sl_test_rand() % N);

        if (sl_test_rand() % 3 == 0) {
            sl_timer_stop(loop, &x[i].t);
            live[i] = false;
        } else {
            deadline[i] = now - 1000 + (int64_t)(sl_test_rand() % 500);
            sl_timer_start_at(loop, &x[i].t, deadline[i]);
            live[i] = true;
        }
    }
    /* Model: by deadline, ties by last arming (seq) -- x[i].t.seq. */
    for (int i = 0; i < N; i++) {
        if (live[i])
            expect[nexp++] = i;
    }
    for (int a = 1; a < nexp; a++) {
        for (int b = a; b > 0; b--) {
            const sl_timer_t *p = &x[expect[b - 1]].t, *q = &x[expect[b]].t;
            int tmp;

            if (p->deadline < q->deadline || (p->deadline == q->deadline && p->seq < q->seq))
                break;
            tmp = expect[b];
            expect[b] = expect[b - 1];
            expect[b - 1] = tmp;
        }
    }
    (void)sl_loop_run_once(loop, 0);
    SL_CHECK_EQ(log.n, nexp);
    for (int i = 0; i < nexp; i++)
        SL_CHECK_EQ(log.order[i], expect[i]);
    sl_loop_free(loop);
    sl_tn_leak_check();
}

typedef struct rearm {
    sl_timer_t t;
    int fired;
} rearm_t;

static void
rearm_fire(sl_loop_t *loop, void *arg)
{
    rearm_t *r = arg;

    if (++r->fired < 3)
        sl_timer_start(loop, &r->t, 0);
}

SL_TEST(net_timer_rearmed_in_callback_fires_next_iteration)
{
    sl_loop_t *loop;
    rearm_t r = {.fired = 0};

    SL_CHECK_OK(sl_loop_new(&loop));
    sl_timer_init(&r.t, rearm_fire, &r);
    sl_timer_start(loop, &r.t, 0);
    (void)sl_loop_run_once(loop, 0);
    SL_CHECK_EQ(r.fired, 1);
    (void)sl_loop_run_once(loop, 0);
    SL_CHECK_EQ(r.fired, 2);
    (void)sl_loop_run_once(loop, 0);
    SL_CHECK_EQ(r.fired, 3);
    SL_CHECK(!sl_timer_active(&r.t));
    sl_loop_free(loop);
    sl_tn_leak_check();
}

/* ======================================================================== */
/* Deferred callbacks and fd watchers                                       */
/* ======================================================================== */

typedef struct seq {
    char log[64];
    int n;
    sl_loop_defer_t d1, d2, d3;
    sl_timer_t t;
} seq_t;

static void
seq_mark(seq_t *s, char ch)
{
    s->log[s->n++] = ch;
    s->log[s->n] = '\0';
}

static void
defer_b(sl_loop_t *loop, void *arg)
{
    seq_mark(arg, 'b');
}

static void
defer_a(sl_loop_t *loop, void *arg)
{
    seq_t *s = arg;

    seq_mark(s, 'a');
    sl_loop_defer(loop, &s->d2); /* queued while draining: same iteration */
}

static void
timer_t_fire(sl_loop_t *loop, void *arg)
{
    seq_mark(arg, 'T');
}

static void
oneshot(sl_loop_t *loop, void *arg)
{
    seq_mark(arg, 'o');
}

static void
pipe_ready(sl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
    seq_t *s = arg;
    char c;

    SL_CHECK(ev & SL_EV_READ);
    SL_CHECK_EQ(read(fd, &c, 1), 1);
    seq_mark(s, 'F');
    sl_loop_defer(loop, &s->d1);
}

SL_TEST(net_deferred_run_after_fds_and_timers_and_can_cancel)
{
    sl_loop_t *loop;
    seq_t s = {.n = 0};
    sl_loop_fd_t w;
    int p[2];

    SL_CHECK_OK(sl_loop_new(&loop));
    SL_CHECK_OK(pipe(p));
    sl_loop_defer_init(&s.d1, defer_a, &s);
    sl_loop_defer_init(&s.d2, defer_b, &s);
    sl_loop_defer_init(&s.d3, defer_b, &s);
    sl_timer_init(&s.t, timer_t_fire, &s);
    SL_CHECK_OK(sl_loop_fd_add(loop, &w, p[0], SL_EV_READ, pipe_ready, &s));
    sl_timer_start(loop, &s.t, 0);
    sl_loop_defer(loop, &s.d3);
    sl_loop_defer(loop, &s.d3); /* queued once */
    sl_loop_defer_cancel(loop, &s.d3);
    sl_loop_defer_fn(loop, oneshot, &s);
    SL_CHECK_EQ(write(p[1], "x", 1), 1);
    SL_TN_DRIVE(loop, s.n >= 5);
    /* fd callback, then due timer, then deferred (incl. one queued by a
     * deferred callback), all in one iteration. */
    SL_CHECK_STR(s.log, "FToab");
    sl_loop_fd_del(loop, &w);
    sl_loop_fd_del(loop, &w); /* twice is fine */
    close(p[0]);
    close(p[1]);
    sl_loop_defer_fn(loop, oneshot, &s); /* dropped by free, no leak */
    sl_loop_free(loop);
    sl_tn_leak_check();
}

typedef struct pair {
    sl_loop_fd_t w[2];
    int fds[2][2];
    int calls;
} pair_t;

static void
pair_ready(sl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
    pair_t *pr = arg;

    pr->calls++;
    /* Remove both watchers: the other one's event, already collected in this
     * iteration, must not be dispatched. */
    sl_loop_fd_del(loop, &pr->w[0]);
    sl_loop_fd_del(loop, &pr->w[1]);
}

SL_TEST(net_fd_removed_mid_iteration_gets_no_stale_event)
{
    sl_loop_t *loop;
    pair_t pr = {.calls = 0};

    SL_CHECK_OK(sl_loop_new(&loop));
    for (int i = 0; i < 2; i++) {
        SL_CHECK_OK(pipe(pr.fds[i]));
        SL_CHECK_OK(sl_loop_fd_add(loop, &pr.w[i], pr.fds[i][0], SL_EV_READ, pair_ready, &pr));
        SL_CHECK_EQ(write(pr.fds[i][1], "x", 1), 1);
    }
    SL_TN_DRIVE(loop, pr.calls > 0);
    sl_tn_spin(loop, 2, 0);
    SL_CHECK_EQ(pr.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(pr.fds[i][0]);
        close(pr.fds[i][1]);
    }
    SL_CHECK_EQ(sl_loop_fd_add(loop, &pr.w[0], pr.fds[0][0], SL_EV_READ, pair_ready, &pr), SL_EIO);
    sl_loop_free(loop);
    sl_tn_leak_check();
}

/* ======================================================================== */
/* Stop and wakeup from other threads and from signal handlers              */
/* ======================================================================== */

static void
fail_timer(sl_loop_t *loop, void *arg)
{
    sl_test_fail(__FILE__, __LINE__, "loop was not stopped");
}

static void *
stopper(void *arg)
{
    sl_loop_stop(arg);
    return NULL;
}

SL_TEST(net_loop_stop_from_another_thread)
{
    sl_loop_t *loop;
    sl_timer_t guard;
    pthread_t th;

    SL_CHECK_OK(sl_loop_new(&loop));
    sl_timer_init(&guard, fail_timer, NULL);
    sl_timer_start(loop, &guard, SL_TN_DEADLINE_MS);
    SL_CHECK_OK(pthread_create(&th, NULL, stopper, loop));
    sl_loop_run(loop); /* returns only because of the stop */
    SL_CHECK_OK(pthread_join(th, NULL));
    SL_CHECK(!sl_loop_stopping(loop));
    /* A stop requested before run: exactly one iteration, then return. */
    sl_loop_stop(loop);
    SL_CHECK(sl_loop_stopping(loop));
    sl_loop_run(loop);
    sl_timer_stop(loop, &guard);
    sl_loop_free(loop);
    sl_tn_leak_check();
}

static sl_loop_t *sig_loop;

static void
raw_handler(int signo)
{
    sl_loop_stop(sig_loop); /* async-signal-safe by contract */
}

static void *
signaller(void *arg)
{
    pthread_kill(*(pthread_t *)arg, SIGUSR2);
    return NULL;
}

SL_TEST(net_loop_stop_from_a_signal_handler)
{
    struct sigaction sa;
    sl_timer_t guard;
    pthread_t self = pthread_self(), th;

    SL_CHECK_OK(sl_loop_new(&sig_loop));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = raw_handler;
    sigemptyset(&sa.sa_mask);
    SL_CHECK_OK(sigaction(SIGUSR2, &sa, NULL));
    sl_timer_init(&guard, fail_timer, NULL);
    sl_timer_start(sig_loop, &guard, SL_TN_DEADLINE_MS);
    SL_CHECK_OK(pthread_create(&th, NULL, signaller, &self));
    sl_loop_run(sig_loop);
    SL_CHECK_OK(pthread_join(th, NULL));
    sl_timer_stop(sig_loop, &guard);
    sl_loop_free(sig_loop);
    sl_tn_leak_check();
}

typedef struct sigrec {
    int calls;
    pthread_t thread;
} sigrec_t;

static void
on_sigusr1(sl_loop_t *loop, void *arg)
{
    sigrec_t *r = arg;

    r->calls++;
    r->thread = pthread_self();
    sl_loop_stop(loop);
}

SL_TEST(net_loop_signal_runs_callback_on_loop_thread)
{
    sl_loop_t *loop;
    sigrec_t r = {.calls = 0};
    sl_timer_t guard;
    pthread_t self = pthread_self();

    SL_CHECK_OK(sl_loop_new(&loop));
    SL_CHECK_EQ(sl_loop_signal(loop, 0, on_sigusr1, &r), SL_EINVAL);
    SL_CHECK_OK(sl_loop_signal(loop, SIGUSR1, on_sigusr1, &r));
    sl_timer_init(&guard, fail_timer, NULL);
    sl_timer_start(loop, &guard, SL_TN_DEADLINE_MS);
    SL_CHECK_OK(raise(SIGUSR1));
    sl_loop_run(loop);
    SL_CHECK_EQ(r.calls, 1);
    SL_CHECK(pthread_equal(r.thread, self));
    sl_timer_stop(loop, &guard);
    sl_loop_free(loop);
    sl_tn_leak_check();
    /* Freed: the default action is back (SIGUSR1 would kill us), so only
     * check the disposition. */
    {
        struct sigaction old;

        SL_CHECK_OK(sigaction(SIGUSR1, NULL, &old));
        SL_CHECK(old.sa_handler == SIG_DFL);
    }
}

/* ======================================================================== */
/* Workers                                                                  */
/* ======================================================================== */

typedef struct work {
    pthread_t loop_thread;
    pthread_t ran_on;
    int done;
    int *total_done;
    bool done_on_loop;
} work_t;

static void
work_fn(void *arg)
{
    work_t *w = arg;

    w->ran_on = pthread_self();
}

static void
work_done(void *arg)
{
    work_t *w = arg;

    w->done++;
    w->done_on_loop = pthread_equal(pthread_self(), w->loop_thread);
    SL_CHECK(!pthread_equal(w->ran_on, w->loop_thread));
    (*w->total_done)++;
}

SL_TEST(net_worker_done_callbacks_run_on_loop_thread)
{
    enum { N = 200 };
    sl_loop_t *loop;
    sl_worker_pool_t *pool;
    static work_t w[N];
    int total = 0;

    SL_CHECK_OK(sl_loop_new(&loop));
    SL_CHECK_EQ(sl_worker_new(loop, 0, &pool), SL_EINVAL);
    SL_CHECK_OK(sl_worker_new(loop, 3, &pool));
    for (int i = 0; i < N; i++) {
        w[i].loop_thread = pthread_self();
        w[i].total_done = &total;
        sl_worker_submit(pool, work_fn, &w[i], work_done);
    }
    SL_TN_DRIVE(loop, total == N);
    SL_CHECK_EQ(sl_worker_pending(pool), 0);
    for (int i = 0; i < N; i++) {
        SL_CHECK_EQ(w[i].done, 1);
        SL_CHECK(w[i].done_on_loop);
    }
    /* Free drains: jobs submitted and never waited for still complete. */
    total = 0;
    for (int i = 0; i < N; i++) {
        w[i].done = 0;
        sl_worker_submit(pool, work_fn, &w[i], i % 2 ? work_done : NULL);
    }
    sl_worker_free(pool);
    SL_CHECK_EQ(total, N / 2);
    sl_loop_free(loop);
    sl_tn_leak_check();
}
