/*
 * test_broker_purgatory.c -- the deferred-operation mechanism on a real
 * loop: checks complete from the loop and never inside the caller,
 * deadlines expire, a dropped key completes its watchers, a cancelled
 * operation never completes.
 */
#include "test.h"
#include "test_net.h"

#include "broker/broker_int.h"

typedef struct top {
    sl_delayed_t op;
    bool can;
    int done;
    bool expired;
} top_t;

static bool
top_try(sl_delayed_t *op)
{
    return SL_CONTAINER_OF(op, top_t, op)->can;
}

static void
top_done(sl_delayed_t *op, bool expired)
{
    top_t *t = SL_CONTAINER_OF(op, top_t, op);

    t->done++;
    t->expired = expired;
}

typedef struct fixture {
    sl_loop_t *loop;
    sl_purgatory_t pg;
    sl_dkey_t k1, k2;
    sl_dwatch_t w[2];
    top_t t;
} fixture_t;

static void
fx_start(fixture_t *f, int64_t timeout_ms)
{
    sl_dkey_t *keys[2];

    memset(f, 0, sizeof(*f));
    SL_CHECK_OK(sl_loop_new(&f->loop));
    sl_purgatory_init(&f->pg, f->loop);
    sl_dkey_init(&f->k1);
    sl_dkey_init(&f->k2);
    keys[0] = &f->k1;
    keys[1] = &f->k2;
    sl_delayed_init(&f->t.op, top_try, top_done);
    sl_purgatory_watch(&f->pg, &f->t.op, keys, 2, f->w, timeout_ms);
}

static void
fx_stop(fixture_t *f)
{
    sl_delayed_cancel(&f->t.op);
    sl_purgatory_deinit(&f->pg);
    sl_loop_free(f->loop);
    sl_tn_leak_check();
}

SL_TEST(purgatory_check_completes_from_the_loop)
{
    fixture_t f;

    fx_start(&f, 60000);
    sl_purgatory_check(&f.pg, &f.k1); /* cannot yet */
    (void)sl_loop_run_once(f.loop, 0);
    SL_CHECK_EQ(f.t.done, 0);
    f.t.can = true;
    sl_purgatory_check(&f.pg, &f.k2);
    sl_purgatory_check(&f.pg, &f.k1);
    SL_CHECK_EQ(f.t.done, 0); /* never inside the caller */
    (void)sl_loop_run_once(f.loop, 0);
    SL_CHECK_EQ(f.t.done, 1); /* once, though two keys were checked */
    SL_CHECK(!f.t.expired);
    SL_CHECK(sl_dlist_empty(&f.k1.watches));
    SL_CHECK(sl_dlist_empty(&f.k2.watches));
    fx_stop(&f);
}

SL_TEST(purgatory_deadline_expires)
{
    fixture_t f;

    fx_start(&f, 1);
    for (int i = 0; i < 20000 && f.t.done == 0; i++)
        (void)sl_loop_run_once(f.loop, 1);
    SL_CHECK_EQ(f.t.done, 1);
    SL_CHECK(f.t.expired);
    SL_CHECK(sl_dlist_empty(&f.k1.watches));
    fx_stop(&f);
}

SL_TEST(purgatory_dropped_key_completes_watchers)
{
    fixture_t f;

    fx_start(&f, 60000);
    sl_purgatory_drop_key(&f.pg, &f.k1);
    SL_CHECK(sl_dlist_empty(&f.k1.watches));
    SL_CHECK_EQ(f.t.done, 0);
    (void)sl_loop_run_once(f.loop, 0);
    SL_CHECK_EQ(f.t.done, 1);
    SL_CHECK(!f.t.expired);
    SL_CHECK(sl_dlist_empty(&f.k2.watches));
    fx_stop(&f);
}

SL_TEST(purgatory_cancelled_never_completes)
{
    fixture_t f;

    fx_start(&f, 1);
    f.t.can = true;
    sl_purgatory_check(&f.pg, &f.k1);
    sl_delayed_cancel(&f.t.op);
    for (int i = 0; i < 20; i++)
        (void)sl_loop_run_once(f.loop, 2);
    SL_CHECK_EQ(f.t.done, 0);
    SL_CHECK(sl_dlist_empty(&f.k1.watches));
    fx_stop(&f);
}
