/*
 * purgatory.c -- one deferred-operation mechanism keyed by partition
 * (Kafka's DelayedOperationPurgatory; see broker_int.h). Checks are queued
 * on the key and run from one loop defer, so a Produce that appends never
 * completes another connection's Fetch inside its own handler, and many
 * appends to one partition in one loop turn cost one walk of its watchers.
 */
#include "broker/broker_int.h"

static void
unwatch(sl_delayed_t *op)
{
    for (int32_t i = 0; i < op->n_watches; i++)
        sl_dlist_remove(&op->watches[i].link);
    sl_dlist_remove(&op->ready);
    sl_timer_stop(op->pg->loop, &op->timer);
    op->watching = false;
}

static void
complete(sl_delayed_t *op, bool expired)
{
    unwatch(op);
    op->on_complete(op, expired);
}

static void
on_deadline(sl_loop_t *loop, void *arg)
{
    (void)loop;
    complete(arg, true);
}

/* Completes the watchers of k that can; a completion unlinks every watch
 * of its operation (possibly the next one here), so restart after each. */
static void
check_key(sl_dkey_t *k)
{
    sl_dlist_t *n;

again:
    for (n = k->watches.next; n != &k->watches; n = n->next) {
        sl_delayed_t *op = SL_CONTAINER_OF(n, sl_dwatch_t, link)->op;

        if (op->try_complete(op)) {
            complete(op, false);
            goto again;
        }
    }
}

static void
on_run(sl_loop_t *loop, void *arg)
{
    sl_purgatory_t *pg = arg;

    (void)loop;
    while (!sl_dlist_empty(&pg->ready))
        complete(SL_CONTAINER_OF(pg->ready.next, sl_delayed_t, ready), false);
    while (!sl_dlist_empty(&pg->keys)) {
        sl_dkey_t *k = SL_CONTAINER_OF(pg->keys.next, sl_dkey_t, queued);

        sl_dlist_remove(&k->queued);
        sl_dlist_init(&k->queued);
        check_key(k);
    }
}

void
sl_purgatory_init(sl_purgatory_t *pg, sl_loop_t *loop)
{
    pg->loop = loop;
    sl_dlist_init(&pg->keys);
    sl_dlist_init(&pg->ready);
    sl_loop_defer_init(&pg->run, on_run, pg);
}

void
sl_purgatory_deinit(sl_purgatory_t *pg)
{
    if (pg->loop == NULL)
        return;
    sl_loop_defer_cancel(pg->loop, &pg->run);
    while (!sl_dlist_empty(&pg->keys)) {
        sl_dlist_t *n = pg->keys.next;

        sl_dlist_remove(n);
        sl_dlist_init(n);
    }
}

void
sl_dkey_init(sl_dkey_t *k)
{
    sl_dlist_init(&k->watches);
    sl_dlist_init(&k->queued);
}

void
sl_purgatory_drop_key(sl_purgatory_t *pg, sl_dkey_t *k)
{
    sl_dlist_remove(&k->queued);
    sl_dlist_init(&k->queued);
    while (!sl_dlist_empty(&k->watches)) {
        sl_dwatch_t *w = SL_CONTAINER_OF(k->watches.next, sl_dwatch_t, link);

        /* Unlinked from the dying key only; the op's other watches stay
         * until it completes. */
        sl_dlist_remove(&w->link);
        sl_dlist_init(&w->link);
        if (sl_dlist_empty(&w->op->ready))
            sl_dlist_insert_tail(&pg->ready, &w->op->ready);
    }
    sl_loop_defer(pg->loop, &pg->run);
}

void
sl_delayed_init(sl_delayed_t *op, sl_delayed_try_fn try_complete, sl_delayed_done_fn on_complete)
{
    memset(op, 0, sizeof(*op));
    op->try_complete = try_complete;
    op->on_complete = on_complete;
    sl_dlist_init(&op->ready);
    sl_timer_init(&op->timer, on_deadline, op);
}

void
sl_purgatory_watch(sl_purgatory_t *pg, sl_delayed_t *op, sl_dkey_t *const *keys, int32_t n,
                   sl_dwatch_t *watches, int64_t timeout_ms)
{
    op->pg = pg;
    op->watches = watches;
    op->n_watches = n;
    for (int32_t i = 0; i < n; i++) {
        watches[i].op = op;
        sl_dlist_init(&watches[i].link);
        if (keys[i])
            sl_dlist_insert_tail(&keys[i]->watches, &watches[i].link);
    }
    op->watching = true;
    sl_timer_start(pg->loop, &op->timer, timeout_ms);
}

void
sl_purgatory_check(sl_purgatory_t *pg, sl_dkey_t *k)
{
    if (sl_dlist_empty(&k->watches) || !sl_dlist_empty(&k->queued))
        return;
    sl_dlist_insert_tail(&pg->keys, &k->queued);
    sl_loop_defer(pg->loop, &pg->run);
}

void
sl_delayed_cancel(sl_delayed_t *op)
{
    if (op->watching)
        unwatch(op);
}
