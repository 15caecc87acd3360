/*
 * timer.c -- the loop's timers: a binary min-heap of pointers to embedded
 * sl_timer_t, ordered by (deadline, seq).
 *
 * Each timer remembers its heap slot, so stopping one is a sift from that
 * slot -- O(log n), no search, no tombstones. seq is the arming order, which
 * makes equal deadlines fire in the order they were armed and makes the order
 * of a run deterministic (tests rely on it).
 *
 * A run fires only timers armed before the run started: a callback that
 * re-arms its timer with delay 0 fires on the next iteration, not forever in
 * this one.
 */
#include "net/net_int.h"

static bool
timer_before(const sl_timer_t *a, const sl_timer_t *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void
heap_place(sl_loop_t *loop, size_t i, sl_timer_t *t)
{
    loop->heap[i] = t;
    t->slot = i + 1;
}

static void
sift_up(sl_loop_t *loop, size_t i)
{
    sl_timer_t *t = loop->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void
sift_down(sl_loop_t *loop, size_t i)
{
    sl_timer_t *t = loop->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void
sl_timer_init(sl_timer_t *t, sl_loop_cb_fn fn, void *arg)
{
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
}

bool
sl_timer_active(const sl_timer_t *t)
{
    return t->slot != 0;
}

void
sl_timer_stop(sl_loop_t *loop, sl_timer_t *t)
{
    size_t i;
    sl_timer_t *last;

    if (t->slot == 0)
        return;
    i = t->slot - 1;
    SL_ASSERT(i < loop->heap_len && loop->heap[i] == t);
    t->slot = 0;
    last = loop->heap[--loop->heap_len];
    if (last == t)
        return;
    /* Move the last leaf into the hole, then restore order in whichever
     * direction it is violated. */
    heap_place(loop, i, last);
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        sift_up(loop, i);
    else
        sift_down(loop, i);
}

void
sl_timer_start_at(sl_loop_t *loop, sl_timer_t *t, int64_t deadline_ms)
{
    sl_timer_stop(loop, t);
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = sl_xrealloc(loop->heap, loop->heap_cap * sizeof(*loop->heap));
    }
    t->deadline = deadline_ms;
    t->seq = ++loop->timer_seq;
    loop->heap[loop->heap_len++] = t;
    sift_up(loop, loop->heap_len - 1);
}

void
sl_timer_start(sl_loop_t *loop, sl_timer_t *t, int64_t delay_ms)
{
    sl_timer_start_at(loop, t, loop->now + (delay_ms > 0 ? delay_ms : 0));
}

int64_t
sl_timer_next_deadline(const sl_loop_t *loop)
{
    return loop->heap_len ? loop->heap[0]->deadline : -1;
}

void
sl_timer_run_due(sl_loop_t *loop)
{
    uint64_t seq_limit = loop->timer_seq;

    while (loop->heap_len > 0) {
        sl_timer_t *t = loop->heap[0];

        if (t->deadline > loop->now || t->seq > seq_limit)
            break;
        sl_timer_stop(loop, t);
        t->fn(loop, t->arg);
    }
}
