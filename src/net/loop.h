/*
 * loop.h -- the event loop: epoll, timers, deferred callbacks, wakeups and
 * signals. One thread runs a loop and owns everything registered with it.
 *
 * Readiness is LEVEL-triggered. A callback that leaves data unread is simply
 * called again on the next iteration, so no handler has to drain a socket to
 * EAGAIN to stay correct; handlers turn interest off (sl_loop_fd_set) when they
 * do not want to be told (a muted connection, an idle writer). Why not edge:
 * muting and backpressure turn reading off and on again, and with edges a
 * forgotten "re-arm" is a hang, with levels it is at worst a wasted wakeup.
 *
 * One iteration:  epoll_wait -> refresh the cached clock -> fd callbacks ->
 *                 due timers (deadline order) -> deferred callbacks.
 * Deferred callbacks queued while deferred callbacks run go round again
 * before the loop blocks, so "defer" always means "before the next wait".
 *
 * Thread rules: every function here is for the loop's own thread, except
 * sl_loop_wakeup and sl_loop_stop, which any thread and any signal handler may
 * call (they only store an atomic flag and write(2) to an eventfd).
 *
 * Watchers (sl_loop_fd_t, sl_timer_t, sl_loop_defer_t) are embedded in their
 * owner's struct; the loop keeps pointers to them and never frees them. Stop
 * or cancel a watcher before freeing the memory it lives in.
 */
#ifndef SL_NET_LOOP_H
#define SL_NET_LOOP_H

#include "base/common.h"

typedef struct sl_loop sl_loop_t;

/* Generic loop callback: timers, deferred work, signals. */
typedef void (*sl_loop_cb_fn)(sl_loop_t *loop, void *arg);

/* ---- the loop ---------------------------------------------------------- */

/* Creates a loop (epoll instance + wakeup eventfd). Also sets SIGPIPE to
 * SIG_IGN for the process: sendfile(2) has no MSG_NOSIGNAL, and a peer that
 * vanishes must cost an EPIPE, not the process. SL_EIO if the kernel says no. */
SL_MUST_CHECK int sl_loop_new(sl_loop_t **out);
/* Frees the loop. Watchers still registered are forgotten, not called;
 * one-shot deferred callbacks (sl_loop_defer_fn) still queued are dropped.
 * Signals registered with sl_loop_signal get their default action back.
 * NULL is a no-op. */
void sl_loop_free(sl_loop_t *loop);

/* Runs iterations until sl_loop_stop; returns after finishing the iteration
 * in which the stop was seen (timers and deferred callbacks included). A stop
 * requested before the call makes it return after one iteration. */
void sl_loop_run(sl_loop_t *loop);
/* One iteration, blocking at most max_wait_ms (0 = poll, < 0 = no limit
 * besides timers). Returns the number of fd events dispatched. Tests drive
 * the loop with this. */
int sl_loop_run_once(sl_loop_t *loop, int max_wait_ms);
/* Asks sl_loop_run to return. Any thread; async-signal-safe. */
void sl_loop_stop(sl_loop_t *loop);
/* True once sl_loop_stop was called and sl_loop_run has not yet returned. */
bool sl_loop_stopping(const sl_loop_t *loop);
/* Makes a blocked epoll_wait return. Any thread; async-signal-safe. */
void sl_loop_wakeup(sl_loop_t *loop);

/* Monotonic milliseconds, read once per iteration (after epoll_wait), so
 * every callback of one iteration sees the same "now". */
int64_t sl_loop_now(const sl_loop_t *loop);
/* Re-reads the clock (after a long callback). */
void sl_loop_update_time(sl_loop_t *loop);

typedef int64_t (*sl_loop_clock_fn)(void *arg);
/* Replaces the millisecond clock behind sl_loop_now and the timers; NULL
 * restores the monotonic clock. For tests: with a fake clock, timers and
 * the idle sweep fire exactly when the test moves time (drive the loop with
 * sl_loop_run_once and a small max_wait_ms). Refreshes the cached time. */
void sl_loop_set_clock(sl_loop_t *loop, sl_loop_clock_fn fn, void *arg);

/* ---- file descriptors -------------------------------------------------- */

/* Interest and reported events. SL_EV_RDHUP asks to hear about a peer's FIN
 * (EPOLLRDHUP). SL_EV_HUP and SL_EV_ERR are always reported when they happen. */
#define SL_EV_READ  0x01u
#define SL_EV_WRITE 0x02u
#define SL_EV_RDHUP 0x04u
#define SL_EV_HUP   0x08u
#define SL_EV_ERR   0x10u

typedef void (*sl_loop_fd_fn)(sl_loop_t *loop, int fd, uint32_t events, void *arg);

typedef struct sl_loop_fd {
    int fd;          /* -1 when not registered */
    uint32_t events; /* current interest (SL_EV_*) */
    sl_loop_fd_fn fn;
    void *arg;
} sl_loop_fd_t;

/* Registers fd with the given interest; fn(loop, fd, revents, arg) runs on
 * the loop thread when it is ready. w must stay put until sl_loop_fd_del.
 * SL_EIO if epoll refuses the fd (e.g. a regular file). */
SL_MUST_CHECK int sl_loop_fd_add(sl_loop_t *loop, sl_loop_fd_t *w, int fd, uint32_t events,
                                 sl_loop_fd_fn fn, void *arg);
/* Changes the interest; no system call when it is unchanged. */
void sl_loop_fd_set(sl_loop_t *loop, sl_loop_fd_t *w, uint32_t events);
/* Unregisters (before the caller closes the fd). Events already collected in
 * this iteration for w are dropped, so w may be freed right after. Safe on a
 * watcher that is not registered. */
void sl_loop_fd_del(sl_loop_t *loop, sl_loop_fd_t *w);

/* ---- timers (min-heap: start/stop O(log n)) ---------------------------- */

typedef struct sl_timer {
    int64_t deadline; /* loop milliseconds */
    uint64_t seq;     /* arming order: equal deadlines fire first-armed first */
    size_t slot;      /* heap index + 1; 0 = not armed */
    sl_loop_cb_fn fn;
    void *arg;
} sl_timer_t;

void sl_timer_init(sl_timer_t *t, sl_loop_cb_fn fn, void *arg);
/* Arms (or re-arms) t to fire delay_ms after sl_loop_now(). */
void sl_timer_start(sl_loop_t *loop, sl_timer_t *t, int64_t delay_ms);
/* Arms (or re-arms) t to fire at an absolute loop time. */
void sl_timer_start_at(sl_loop_t *loop, sl_timer_t *t, int64_t deadline_ms);
/* Disarms t; a no-op if it is not armed. A timer that fired is disarmed
 * before its callback runs, so the callback may re-arm it. */
void sl_timer_stop(sl_loop_t *loop, sl_timer_t *t);
bool sl_timer_active(const sl_timer_t *t);

/* ---- deferred callbacks ------------------------------------------------ */

typedef struct sl_loop_defer {
    struct sl_loop_defer *prev, *next;
    sl_loop_cb_fn fn;
    void *arg;
    bool queued;
    bool oneshot; /* allocated by sl_loop_defer_fn, freed after it runs */
} sl_loop_defer_t;

void sl_loop_defer_init(sl_loop_defer_t *d, sl_loop_cb_fn fn, void *arg);
/* Queues d to run at the end of the current iteration (or of the next one
 * when called from outside the loop). Queuing a queued d is a no-op. */
void sl_loop_defer(sl_loop_t *loop, sl_loop_defer_t *d);
/* Dequeues d; a no-op if it is not queued. */
void sl_loop_defer_cancel(sl_loop_t *loop, sl_loop_defer_t *d);
/* One-shot form that allocates its node: cannot be cancelled. */
void sl_loop_defer_fn(sl_loop_t *loop, sl_loop_cb_fn fn, void *arg);

/* ---- signals ----------------------------------------------------------- */

/* Installs a handler for signo whose only work is to set a flag and wake the
 * loop; fn(loop, arg) then runs on the loop thread during the next iteration
 * (once per batch of deliveries). One loop per signal number per process:
 * a second registration replaces the first. SL_EINVAL for a bad signo. */
SL_MUST_CHECK int sl_loop_signal(sl_loop_t *loop, int signo, sl_loop_cb_fn fn, void *arg);

#endif
