/*
 * loop.c -- the epoll loop: fd watchers, the iteration, deferred callbacks,
 * cross-thread wakeup and signal delivery. Timers live in timer.c; both share
 * struct sl_loop through net_int.h. See loop.h for the contract.
 */
#include "net/net_int.h"

#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Guard against a deferred callback that re-queues itself forever: after this
 * many callbacks in one iteration the rest wait for the next iteration (which
 * then polls without blocking). */
#define DEFER_MAX_PER_ITERATION 65536

static int64_t
loop_clock(const sl_loop_t *loop)
{
    return loop->clock_fn != NULL ? loop->clock_fn(loop->clock_arg) : sl_mono_ms();
}

/* ======================================================================== */
/* Signals                                                                  */
/* ======================================================================== */

/* Process-wide by nature: a signal handler has no context argument. Each slot
 * holds the wakeup eventfd (+1, so 0 means none) of the loop that registered
 * the signal, and a pending flag the loop thread consumes. */
#define SIG_SLOTS 65
static atomic_int sig_wakefd[SIG_SLOTS];
static atomic_int sig_pending[SIG_SLOTS];

static void
sig_handler(int signo)
{
    int saved = errno;

    if (signo > 0 && signo < SIG_SLOTS) {
        int fd = atomic_load(&sig_wakefd[signo]) - 1;
        uint64_t one = 1;

        atomic_store(&sig_pending[signo], 1);
        if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
            /* Counter saturated: the loop is awake anyway. */
        }
    }
    errno = saved;
}

int
sl_loop_signal(sl_loop_t *loop, int signo, sl_loop_cb_fn fn, void *arg)
{
    struct sigaction sa;
    int i;

    if (signo <= 0 || signo >= SIG_SLOTS || signo == SIGKILL || signo == SIGSTOP)
        return SL_EINVAL;
    for (i = 0; i < loop->nsigs && loop->sigs[i].signo != signo; i++)
        ;
    if (i == loop->nsigs) {
        if (loop->nsigs == (int)SL_ARRAY_LEN(loop->sigs))
            return SL_ETOOBIG;
        loop->nsigs++;
    }
    loop->sigs[i].signo = signo;
    loop->sigs[i].fn = fn;
    loop->sigs[i].arg = arg;
    atomic_store(&sig_pending[signo], 0);
    atomic_store(&sig_wakefd[signo], loop->wakefd + 1);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, NULL) != 0)
        return SL_EINVAL;
    return SL_OK;
}

static void
signals_dispatch(sl_loop_t *loop)
{
    for (int i = 0; i < loop->nsigs; i++) {
        if (atomic_exchange(&sig_pending[loop->sigs[i].signo], 0))
            loop->sigs[i].fn(loop, loop->sigs[i].arg);
    }
}

static void
signals_release(sl_loop_t *loop)
{
    for (int i = 0; i < loop->nsigs; i++) {
        int signo = loop->sigs[i].signo;

        signal(signo, SIG_DFL);
        atomic_store(&sig_wakefd[signo], 0);
    }
    loop->nsigs = 0;
}

/* ======================================================================== */
/* Creation, wakeup, stop                                                   */
/* ======================================================================== */

static void
wake_readable(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    uint64_t v;

    /* Drain the counter; level-triggered readiness would spin otherwise. */
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        sl_debug("net", "loop wakeup read: %s", strerror(errno));
    signals_dispatch(loop);
}

int
sl_loop_new(sl_loop_t **out)
{
    sl_loop_t *loop = sl_xcalloc(1, sizeof(*loop));
    struct sigaction sa;
    int rc = SL_EIO;

    loop->epfd = -1;
    loop->wakefd = -1;
    loop->wake_w.fd = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0)
        goto fail;
    if ((rc = sl_loop_fd_add(loop, &loop->wake_w, loop->wakefd, SL_EV_READ, wake_readable, NULL)) !=
        SL_OK)
        goto fail;
    loop->now = sl_mono_ms();
    *out = loop;
    return SL_OK;

fail:
    sl_error("net", "loop: %s", strerror(errno));
    sl_loop_free(loop);
    return SL_EIO;
}

void
sl_loop_free(sl_loop_t *loop)
{
    if (loop == NULL)
        return;
    signals_release(loop);
    while (loop->defer_head != NULL) {
        sl_loop_defer_t *d = loop->defer_head;

        sl_loop_defer_cancel(loop, d);
        if (d->oneshot)
            free(d);
    }
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    free(loop->heap);
    free(loop);
}

void
sl_loop_wakeup(sl_loop_t *loop)
{
    int saved = errno;
    uint64_t one = 1;

    if (write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, so a wakeup is pending anyway. */
    }
    errno = saved;
}

void
sl_loop_stop(sl_loop_t *loop)
{
    atomic_store(&loop->stop, 1);
    sl_loop_wakeup(loop);
}

bool
sl_loop_stopping(const sl_loop_t *loop)
{
    return atomic_load(&((sl_loop_t *)loop)->stop) != 0;
}

int64_t
sl_loop_now(const sl_loop_t *loop)
{
    return loop->now;
}

void
sl_loop_update_time(sl_loop_t *loop)
{
    loop->now = loop_clock(loop);
}

void
sl_loop_set_clock(sl_loop_t *loop, sl_loop_clock_fn fn, void *arg)
{
    loop->clock_fn = fn;
    loop->clock_arg = arg;
    loop->now = loop_clock(loop);
}

/* ======================================================================== */
/* File descriptors                                                         */
/* ======================================================================== */

static uint32_t
to_epoll(uint32_t ev)
{
    return ((ev & SL_EV_READ) ? EPOLLIN : 0u) | ((ev & SL_EV_WRITE) ? EPOLLOUT : 0u) |
           ((ev & SL_EV_RDHUP) ? EPOLLRDHUP : 0u);
}

static uint32_t
from_epoll(uint32_t e)
{
    return ((e & (EPOLLIN | EPOLLPRI)) ? SL_EV_READ : 0u) | ((e & EPOLLOUT) ? SL_EV_WRITE : 0u) |
           ((e & EPOLLRDHUP) ? SL_EV_RDHUP : 0u) | ((e & EPOLLHUP) ? SL_EV_HUP : 0u) |
           ((e & EPOLLERR) ? SL_EV_ERR : 0u);
}

int
sl_loop_fd_add(sl_loop_t *loop, sl_loop_fd_t *w, int fd, uint32_t events, sl_loop_fd_fn fn,
               void *arg)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        sl_debug("net", "epoll add fd %d: %s", fd, strerror(errno));
        w->fd = -1;
        return SL_EIO;
    }
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    return SL_OK;
}

void
sl_loop_fd_set(sl_loop_t *loop, sl_loop_fd_t *w, uint32_t events)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

    if (w->fd < 0 || w->events == events)
        return;
    /* MOD on a registered fd fails only on kernel memory exhaustion; the
     * project aborts on allocation failure, and so does this. */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
        sl_panic(__FILE__, __LINE__, "epoll mod fd %d: %s", w->fd, strerror(errno));
    w->events = events;
}

void
sl_loop_fd_del(sl_loop_t *loop, sl_loop_fd_t *w)
{
    if (w->fd < 0)
        return;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL) != 0)
        sl_debug("net", "epoll del fd %d: %s", w->fd, strerror(errno));
    /* Events of this iteration not yet dispatched must not reach w: its owner
     * may free it as soon as we return. */
    for (int i = loop->ev_next; i < loop->ev_count; i++) {
        if (loop->events[i].data.ptr == w)
            loop->events[i].data.ptr = NULL;
    }
    w->fd = -1;
    w->events = 0;
}

/* ======================================================================== */
/* Deferred callbacks                                                       */
/* ======================================================================== */

void
sl_loop_defer_init(sl_loop_defer_t *d, sl_loop_cb_fn fn, void *arg)
{
    memset(d, 0, sizeof(*d));
    d->fn = fn;
    d->arg = arg;
}

void
sl_loop_defer(sl_loop_t *loop, sl_loop_defer_t *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    d->prev = loop->defer_tail;
    if (loop->defer_tail != NULL)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

void
sl_loop_defer_cancel(sl_loop_t *loop, sl_loop_defer_t *d)
{
    if (!d->queued)
        return;
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        loop->defer_head = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    else
        loop->defer_tail = d->prev;
    d->prev = d->next = NULL;
    d->queued = false;
}

void
sl_loop_defer_fn(sl_loop_t *loop, sl_loop_cb_fn fn, void *arg)
{
    sl_loop_defer_t *d = sl_xmalloc(sizeof(*d));

    sl_loop_defer_init(d, fn, arg);
    d->oneshot = true;
    sl_loop_defer(loop, d);
}

static void
run_deferred(sl_loop_t *loop)
{
    for (int n = 0; n < DEFER_MAX_PER_ITERATION && loop->defer_head != NULL; n++) {
        sl_loop_defer_t *d = loop->defer_head;
        sl_loop_cb_fn fn = d->fn;
        void *arg = d->arg;

        sl_loop_defer_cancel(loop, d);
        if (d->oneshot)
            free(d);
        fn(loop, arg);
    }
}

/* ======================================================================== */
/* The iteration                                                            */
/* ======================================================================== */

static int
poll_timeout(sl_loop_t *loop, int max_wait_ms)
{
    int64_t next, wait;

    if (loop->defer_head != NULL || atomic_load(&loop->stop))
        return 0;
    next = sl_timer_next_deadline(loop);
    if (next < 0)
        return max_wait_ms < 0 ? -1 : max_wait_ms;
    wait = next - loop_clock(loop);
    if (wait < 0)
        wait = 0;
    if (max_wait_ms >= 0 && wait > max_wait_ms)
        wait = max_wait_ms;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

int
sl_loop_run_once(sl_loop_t *loop, int max_wait_ms)
{
    int n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, poll_timeout(loop, max_wait_ms));

    if (n < 0) {
        if (errno != EINTR)
            sl_panic(__FILE__, __LINE__, "epoll_wait: %s", strerror(errno));
        n = 0;
    }
    loop->now = loop_clock(loop);
    loop->ev_count = n;
    for (loop->ev_next = 0; loop->ev_next < loop->ev_count;) {
        struct epoll_event *ev = &loop->events[loop->ev_next++];
        sl_loop_fd_t *w = ev->data.ptr;

        if (w != NULL)
            w->fn(loop, w->fd, from_epoll(ev->events), w->arg);
    }
    loop->ev_count = loop->ev_next = 0;
    sl_timer_run_due(loop);
    run_deferred(loop);
    return n;
}

void
sl_loop_run(sl_loop_t *loop)
{
    do
        (void)sl_loop_run_once(loop, -1);
    while (!atomic_load(&loop->stop));
    atomic_store(&loop->stop, 0);
}
