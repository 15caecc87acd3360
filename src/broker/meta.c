/*
 * meta.c -- the broker's side of the metadata interface: requests that wait
 * for metadata operations (CreateTopics, DeleteTopics, CreatePartitions),
 * and the delta path by which a backend changes partition state and the
 * listeners (coordinators, later the replica fetcher) hear of it.
 *
 * An operation's completion may come inside the handler (file backend) or
 * later from the loop (ZooKeeper's watch or write callback), never from
 * another connection's handler, so a completion can finish its request
 * directly. A request whose connection closes forgets its wait; the wait
 * itself lives until its last operation completes, so a backend never
 * calls back into freed memory.
 */
#include "broker/broker_int.h"

#include "base/log.h"

/* ---- waiting requests ------------------------------------------------------ */

typedef struct meta_op {
    sl_meta_wait_t *w;
    int32_t i;
    bool done;
} meta_op_t;

struct sl_meta_wait {
    sl_broker_t *b;
    sl_req_t *req; /* NULL once answered or gone */
    sl_meta_fill_fn on_done;
    sl_meta_timeout_fn on_timeout;
    int32_t n, pending;
    bool issuing; /* the handler is still submitting ops */
    sl_timer_t timer;
    meta_op_t ops[];
};

static void
wait_free(sl_meta_wait_t *w)
{
    sl_timer_stop(w->b->loop, &w->timer);
    free(w);
}

/* Answers the parked request with what its slots hold now. */
static void
wait_answer(sl_meta_wait_t *w)
{
    sl_req_t *req = w->req;

    w->req = NULL;
    sl_timer_stop(w->b->loop, &w->timer);
    if (req == NULL)
        return;
    req->park = NULL;
    sl_req_finish(req);
}

static void
op_done(void *cookie, const sl_meta_result_t *res)
{
    meta_op_t *op = cookie;
    sl_meta_wait_t *w = op->w;

    SL_ASSERT(!op->done && w->pending > 0);
    op->done = true;
    if (w->req)
        w->on_done(w->req, op->i, res);
    if (--w->pending > 0 || w->issuing)
        return;
    wait_answer(w);
    wait_free(w);
}

static void
wait_cancel(sl_req_t *req)
{
    sl_meta_wait_t *w = req->park;

    w->req = NULL;
    sl_timer_stop(w->b->loop, &w->timer);
}

static void
on_wait_timeout(sl_loop_t *loop, void *arg)
{
    sl_meta_wait_t *w = arg;

    (void)loop;
    for (int32_t i = 0; i < w->n && w->req; i++) {
        if (!w->ops[i].done)
            w->on_timeout(w->req, i);
    }
    wait_answer(w); /* the late completions only count down */
}

sl_meta_wait_t *
sl_meta_wait_begin(sl_req_t *req, int32_t n, sl_meta_fill_fn on_done, sl_meta_timeout_fn on_timeout)
{
    sl_meta_wait_t *w;

    n = SL_MAX(n, 0);
    w = sl_xcalloc(1, sizeof(*w) + (size_t)n * sizeof(w->ops[0]));
    w->b = req->b;
    w->req = req;
    w->on_done = on_done;
    w->on_timeout = on_timeout;
    w->n = n;
    w->issuing = true;
    sl_timer_init(&w->timer, on_wait_timeout, w);
    for (int32_t i = 0; i < n; i++) {
        w->ops[i].w = w;
        w->ops[i].i = i;
        w->ops[i].done = true; /* until submitted */
    }
    return w;
}

void
sl_meta_wait_op(sl_meta_wait_t *w, int32_t i, sl_meta_done_fn *done, void **cookie)
{
    SL_ASSERT(i >= 0 && i < w->n && w->issuing);
    w->ops[i].done = false;
    w->pending++;
    *done = op_done;
    *cookie = &w->ops[i];
}

int
sl_meta_wait_end(sl_meta_wait_t *w, int32_t timeout_ms)
{
    sl_req_t *req = w->req;

    w->issuing = false;
    if (w->pending == 0) {
        w->req = NULL;
        wait_free(w);
        return SL_OK;
    }
    req->park = w;
    req->cancel = wait_cancel;
    sl_timer_start(w->b->loop, &w->timer, SL_MAX(timeout_ms, 0));
    return SL_REQ_PARKED;
}

/* ---- deltas and listeners -------------------------------------------------- */

void
sl_meta_init(sl_broker_t *b)
{
    b->meta = &sl_meta_file_backend;
    b->meta_ctx = b;
}

bool
sl_meta_listen(sl_broker_t *b, sl_pstate_listener_fn fn, void *ctx)
{
    if (b->n_meta_listeners >= SL_META_MAX_LISTENERS)
        return false;
    b->meta_listeners[b->n_meta_listeners].fn = fn;
    b->meta_listeners[b->n_meta_listeners].ctx = ctx;
    b->n_meta_listeners++;
    return true;
}

int
sl_meta_apply(sl_broker_t *b, const sl_pdelta_t *d)
{
    sl_bpart_t *bp = sl_bpart_find(b, sl_str_c(d->topic), d->partition);
    unsigned chg;
    int rc;

    if (bp == NULL)
        return SL_ENOENT;
    if ((rc = sl_pstate_apply(&bp->st, d, b->node_id, &chg)) != SL_OK) {
        sl_debug("broker", "%s-%d: stale state (leader epoch %d < %d) dropped", d->topic,
                 d->partition, d->leader_epoch, bp->st.leader_epoch);
        return rc;
    }
    /* Batches appended as leader carry the leader epoch (KIP-101): the
     * log's epoch cache starts the new epoch at its log end. */
    if ((chg & SL_PCHG_NEW_EPOCH) && sl_pstate_is_leader(&bp->st, b->node_id))
        sl_plog_set_leader_epoch(bp->pl, bp->st.leader_epoch);
    if (chg & (SL_PCHG_BECAME_LEADER | SL_PCHG_BECAME_FOLLOWER))
        sl_info("broker", "%s-%d: %s at leader epoch %d (leader %d)", d->topic, d->partition,
                (chg & SL_PCHG_BECAME_LEADER) ? "became leader" : "no longer leader",
                bp->st.leader_epoch, bp->st.leader_id);
    for (int i = 0; chg != 0 && i < b->n_meta_listeners; i++)
        b->meta_listeners[i].fn(b->meta_listeners[i].ctx, bp->topic->name, &bp->st, chg);
    return SL_OK;
}
