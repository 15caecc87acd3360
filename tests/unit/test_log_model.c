/*
 * test_log_model.c -- property test: random operation sequences against an
 * in-memory model of the log (a list of batches with their exact bytes).
 *
 * Operations: appends of 1-3 batches, reads at random offsets with random
 * max_bytes / upper bound / min_one, time and max-timestamp lookups,
 * DeleteRecords, retention with random limits, config changes that force
 * rolls and full indexes, flushes, and reopen (clean close, or abandon,
 * which leaves a recovery to do). The follower variant appends with the
 * replication origin (offsets and rising epochs set by the test, as a
 * leader would), truncates at random offsets (holding a read region across
 * some) and restarts the log at an offset, checking the epoch cache too.
 * After every step LEO, HW and log start
 * must match; every few steps the whole log is read back and compared byte
 * for byte. Seeded from sl_test_rand (SL_TEST_SEED reproduces a run).
 */
#include "test_log_util.h"

typedef struct mbatch {
    int64_t base, last, max_ts;
    size_t len;
    uint8_t *bytes;
} mbatch_t;

typedef struct mepoch {
    int32_t epoch;
    int64_t start;
} mepoch_t;

typedef struct model {
    mepoch_t ep[64];
    size_t nep;
    int32_t max_epoch; /* a leader's epochs only go up, even after a truncation */
    mbatch_t *b;
    size_t n, cap, first; /* batches before `first` are deleted */
    int64_t log_start, leo;
    int64_t ts; /* timestamp random walk */
} model_t;

typedef struct ctx {
    model_t m;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    sl_log_cfg_t cfg;
    bool append_time;
    bool follower;
} ctx_t;

static uint64_t
rnd(uint64_t n)
{
    return n ? sl_test_rand() % n : 0;
}

/* ======================================================================
 * Model checks
 * ====================================================================== */

static size_t
model_find(const model_t *m, int64_t off)
{
    size_t i = m->first;

    while (i < m->n && m->b[i].last < off)
        i++;
    return i;
}

static void
check_counters(ctx_t *c)
{
    SL_CHECK_EQ(sl_plog_leo(c->pl), c->m.leo);
    SL_CHECK_EQ(sl_plog_hw(c->pl), c->m.leo);
    SL_CHECK_EQ(sl_plog_log_start(c->pl), c->m.log_start);
    SL_CHECK_OK(sl_plog_status(c->pl));
}

/* Compares a region with model batches from index i; returns the index
 * after the last batch covered. */
static size_t
check_region_bytes(const model_t *m, const sl_log_region_t *r, size_t i)
{
    uint8_t *got = tl_region_bytes(r);
    int64_t acc = 0;

    SL_CHECK_EQ(r->first_offset, m->b[i].base);
    while (acc < r->len) {
        SL_CHECK(i < m->n);
        SL_CHECK(acc + (int64_t)m->b[i].len <= r->len);
        SL_CHECK_MEM(got + acc, m->b[i].bytes, m->b[i].len);
        acc += (int64_t)m->b[i].len;
        i++;
    }
    SL_CHECK_EQ(r->next_offset, m->b[i - 1].last + 1);
    free(got);
    return i;
}

static void
check_read(ctx_t *c, int64_t off, int64_t max_bytes, int64_t ub, bool min_one)
{
    model_t *m = &c->m;
    sl_log_region_t r;
    int rc = sl_plog_read(c->pl, off, max_bytes, ub, min_one, &r);
    size_t i, k;
    struct stat st;

    if (off < m->log_start || off > m->leo) {
        SL_CHECK_EQ(rc, SL_ERANGE);
        return;
    }
    SL_CHECK_OK(rc);
    ub = SL_MIN(ub, m->leo);
    i = model_find(m, off);
    if (off >= ub || m->b[i].last >= ub || (!min_one && (int64_t)m->b[i].len > max_bytes)) {
        SL_CHECK_EQ(r.len, 0);
        return;
    }
    SL_CHECK(r.len > 0);
    k = check_region_bytes(m, &r, i);
    SL_CHECK(m->b[k - 1].last < ub);
    SL_CHECK(r.len <= max_bytes || k == i + 1);
    /* Maximal: the next batch did not fit, is past the bound, or lives in
     * the next segment. */
    SL_CHECK_OK(fstat(r.fd, &st));
    if (k < m->n && m->b[k].last < ub && r.len + (int64_t)m->b[k].len <= max_bytes)
        SL_CHECK_EQ(r.pos + r.len, st.st_size);
    sl_log_region_release(&r);
}

static void
check_all(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t off = m->log_start;
    size_t i = model_find(m, off);

    check_counters(c);
    while (off < m->leo) {
        sl_log_region_t r;

        SL_CHECK_OK(sl_plog_read(c->pl, off, (int64_t)rnd(4000), m->leo, true, &r));
        SL_CHECK(r.len > 0);
        i = check_region_bytes(m, &r, i);
        off = r.next_offset;
        sl_log_region_release(&r);
    }
    SL_CHECK_EQ(i, m->n);
}

static void
check_time(ctx_t *c, int64_t ts)
{
    model_t *m = &c->m;
    int64_t off = -1, found = -1;
    int rc = sl_plog_offset_for_time(c->pl, ts, &off, &found);
    size_t i = model_find(m, m->log_start);

    while (i < m->n && m->b[i].max_ts < ts)
        i++;
    if (i == m->n) {
        SL_CHECK_EQ(rc, SL_ENOENT);
        return;
    }
    SL_CHECK_OK(rc);
    SL_CHECK_EQ(off, SL_MAX(m->b[i].base, m->log_start));
    SL_CHECK_EQ(found, m->b[i].max_ts);
}

static void
check_max_ts(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t ts = -1, off = -1, best = -1, best_off = -1;
    int rc = sl_plog_max_timestamp(c->pl, &ts, &off);

    for (size_t i = model_find(m, m->log_start); i < m->n; i++) {
        if (m->b[i].max_ts > best) {
            best = m->b[i].max_ts;
            best_off = m->b[i].last;
        }
    }
    if (best < 0) {
        SL_CHECK_EQ(rc, SL_ENOENT);
        return;
    }
    SL_CHECK_OK(rc);
    SL_CHECK_EQ(ts, best);
    SL_CHECK_EQ(off, best_off);
}

/* ======================================================================
 * Operations
 * ====================================================================== */

static void
op_append(ctx_t *c)
{
    model_t *m = &c->m;
    uint8_t buf[3 * 400];
    size_t len = 0, nb = 1 + rnd(3), at = 0;
    sl_log_append_info_t info;

    for (size_t i = 0; i < nb; i++) {
        m->ts += rnd(10) == 0 ? -(int64_t)rnd(50) : (int64_t)rnd(30);
        len += tl_batch(buf + len, (int32_t)(1 + rnd(4)), m->ts, rnd(300), sl_test_rand());
    }
    if (c->follower) {
        int64_t next = m->leo;
        int32_t epoch = m->max_epoch;

        for (size_t i = 0, o = 0; i < nb; i++) {
            if (rnd(6) == 0 && m->nep + 1 < SL_ARRAY_LEN(m->ep))
                epoch += 1 + (int32_t)rnd(3);
            /* the cache's rule: a new, higher epoch starts at this batch */
            if (m->nep == 0 || epoch > m->ep[m->nep - 1].epoch) {
                while (m->nep > 0 && m->ep[m->nep - 1].start >= next)
                    m->nep--;
                m->ep[m->nep++] = (mepoch_t){epoch, next};
            }
            m->max_epoch = epoch;
            sl_batch_set_base_offset(buf + o, next);
            sl_batch_set_leader_epoch(buf + o, epoch);
            next += (int64_t)sl_be32(buf + o + SL_BATCH_OFF_LAST_DELTA) + 1;
            o += sl_be32(buf + o + 8) + 12u;
        }
        SL_CHECK_OK(sl_plog_append_as_follower(c->pl, buf, len, &info));
    } else {
        SL_CHECK_OK(sl_plog_append(c->pl, buf, len, &info));
    }
    SL_CHECK_EQ(info.base_offset, m->leo);
    SL_CHECK_EQ(info.batch_count, (int64_t)nb);
    for (size_t i = 0; i < nb; i++) {
        mbatch_t *b;
        sl_batch_hdr_t h;

        SL_CHECK_OK(sl_batch_validate(buf + at, sl_be32(buf + at + 8) + 12u, &h));
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 64;
            m->b = realloc(m->b, m->cap * sizeof(*m->b));
        }
        b = &m->b[m->n++];
        b->base = h.base_offset;
        b->last = h.base_offset + h.last_offset_delta;
        b->max_ts = h.max_timestamp;
        b->len = (size_t)sl_batch_size(&h);
        b->bytes = malloc(b->len);
        memcpy(b->bytes, buf + at, b->len);
        SL_CHECK_EQ(b->base, m->leo);
        m->leo = b->last + 1;
        at += b->len;
    }
    SL_CHECK_EQ(info.last_offset, m->leo - 1);
}

/* Kafka's truncateFromStart of the epoch cache (retain.c). */
static void
model_epochs_from_start(model_t *m)
{
    size_t keep = 0;

    while (keep + 1 < m->nep && m->ep[keep + 1].start <= m->log_start)
        keep++;
    memmove(m->ep, m->ep + keep, (m->nep - keep) * sizeof(*m->ep));
    m->nep -= keep;
    if (m->nep > 0 && m->ep[0].start < m->log_start)
        m->ep[0].start = m->log_start;
}

static void
drop_below(model_t *m)
{
    model_epochs_from_start(m);
    while (m->first < m->n && m->b[m->first].last < m->log_start) {
        free(m->b[m->first].bytes);
        m->b[m->first].bytes = NULL;
        m->first++;
    }
}

static void
op_delete_records(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t to =
        rnd(8) == 0 ? -1 : m->log_start + (int64_t)rnd((uint64_t)(m->leo - m->log_start + 1));
    int64_t low;

    SL_CHECK_OK(sl_plog_delete_records(c->pl, to, &low));
    m->log_start = SL_MAX(m->log_start, to < 0 ? m->leo : to);
    SL_CHECK_EQ(low, m->log_start);
    drop_below(m);
}

static int
retain_with(ctx_t *c, int64_t bytes, int64_t ms)
{
    int n;

    c->cfg.retention_bytes = bytes;
    c->cfg.retention_ms = ms;
    sl_plog_set_cfg(c->pl, &c->cfg);
    n = sl_plog_retain(c->pl, c->m.ts + 100);
    SL_CHECK(n >= 0);
    c->cfg.retention_bytes = c->cfg.retention_ms = -1;
    sl_plog_set_cfg(c->pl, &c->cfg);
    return n;
}

static void
op_retain(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t old = m->log_start, bytes;
    int n;

    (void)retain_with(c, -1, -1); /* segments below the log start */
    bytes = (int64_t)rnd((uint64_t)sl_plog_size_bytes(c->pl) + 1);
    if (rnd(2)) {
        n = retain_with(c, bytes, -1);
        SL_CHECK(n == 0 || sl_plog_size_bytes(c->pl) >= bytes);
    } else {
        n = retain_with(c, -1, (int64_t)rnd(400));
    }
    m->log_start = sl_plog_log_start(c->pl);
    SL_CHECK(m->log_start >= old);
    if (n > 0) {
        /* whole segments went: the new start is a batch boundary */
        size_t i = model_find(m, m->log_start);

        SL_CHECK(i < m->n ? m->b[i].base == m->log_start : m->log_start == m->leo);
    }
    drop_below(m);
}

static void
model_cut(model_t *m, size_t from)
{
    while (m->n > from) {
        m->n--;
        free(m->b[m->n].bytes);
        m->b[m->n].bytes = NULL;
    }
    if (m->first > m->n)
        m->first = m->n;
    while (m->nep > 0 && m->ep[m->nep - 1].start >= m->leo)
        m->nep--;
}

static void
op_truncate(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t to = m->log_start - 1 + (int64_t)rnd((uint64_t)(m->leo - m->log_start + 3));
    sl_log_region_t r;
    uint8_t *before = NULL;
    bool held = false;

    to = SL_MAX(to, 0);
    /* a reader in the middle of a fetch keeps what it was given */
    if (m->leo > m->log_start && rnd(2)) {
        int64_t at = m->log_start + (int64_t)rnd((uint64_t)(m->leo - m->log_start));

        SL_CHECK_OK(sl_plog_read(c->pl, at, 1 << 20, m->leo, true, &r));
        before = tl_region_bytes(&r);
        held = true;
    }
    SL_CHECK_OK(sl_plog_truncate_to(c->pl, to));
    if (to < m->log_start) {
        model_cut(m, 0);
        m->first = m->n = 0;
        m->leo = m->log_start = to;
        m->nep = 0;
    } else if (to < m->leo) {
        size_t i = model_find(m, to);

        m->leo = m->b[i].base;
        model_cut(m, i);
        m->log_start = SL_MIN(m->log_start, m->leo);
    }
    if (held) {
        uint8_t *after = tl_region_bytes(&r);

        SL_CHECK_MEM(after, before, (size_t)r.len);
        free(after);
        free(before);
        sl_log_region_release(&r);
    }
}

static void
op_start_at(ctx_t *c)
{
    model_t *m = &c->m;
    int64_t at = SL_MAX(0, m->leo - 20 + (int64_t)rnd(60));

    SL_CHECK_OK(sl_plog_truncate_fully_and_start_at(c->pl, at));
    model_cut(m, 0);
    m->first = m->n = 0;
    m->leo = m->log_start = at;
    m->nep = 0;
}

static void
check_epochs(ctx_t *c)
{
    model_t *m = &c->m;

    for (size_t i = 0; i < m->nep; i++) {
        int32_t e = -1;
        int64_t end = -1;

        SL_CHECK_OK(sl_plog_epoch_end(c->pl, m->ep[i].epoch, &e, &end));
        SL_CHECK_EQ(e, m->ep[i].epoch);
        SL_CHECK_EQ(end, i + 1 < m->nep ? m->ep[i + 1].start : m->leo);
    }
}

static void
op_config(ctx_t *c)
{
    c->cfg.segment_bytes = 300 + (int64_t)rnd(3000);
    c->cfg.index_interval_bytes = (int64_t)rnd(500);
    c->cfg.segment_index_bytes = 48 + (int64_t)rnd(200);
    c->cfg.log_append_time = c->append_time;
    sl_plog_set_cfg(c->pl, &c->cfg);
}

static void
op_reopen(ctx_t *c)
{
    sl_log_mgr_opts_t opts;

    if (rnd(2))
        sl_log_mgr_close(c->mgr);
    else
        sl_log_mgr_abandon(c->mgr);
    sl_log_mgr_opts_init(&opts);
    opts.default_cfg = c->cfg;
    c->mgr = tl_open(sl_test_dir(), NULL, &opts);
    c->pl = sl_log_mgr_get(c->mgr, "m", 0);
    SL_CHECK(c->pl != NULL);
    check_all(c);
    check_epochs(c);
}

static void
op_flush(ctx_t *c)
{
    SL_CHECK_OK(tl_flush(c->mgr, c->pl, c->m.leo));
    SL_CHECK_EQ(sl_plog_durable_offset(c->pl), c->m.leo);
}

static void
run_model(bool append_time, bool follower, int steps)
{
    ctx_t c;

    memset(&c, 0, sizeof(c));
    c.append_time = append_time;
    c.follower = follower;
    c.m.ts = 1000;
    tl_small_cfg(&c.cfg);
    c.cfg.retention_ms = c.cfg.retention_bytes = -1;
    c.cfg.log_append_time = append_time;
    c.mgr = tl_open(sl_test_dir(), &c.cfg, NULL);
    SL_CHECK_OK(sl_log_mgr_create(c.mgr, "m", 0, &c.cfg, &c.pl));
    for (int s = 0; s < steps; s++) {
        uint64_t op = rnd(100);

        if (op < 40)
            op_append(&c);
        else if (op < 65)
            check_read(
                &c, c.m.log_start - 2 + (int64_t)rnd((uint64_t)(c.m.leo - c.m.log_start + 5)),
                (int64_t)rnd(2500), rnd(4) ? c.m.leo : (int64_t)rnd((uint64_t)c.m.leo + 2), rnd(2));
        else if (op < 73)
            check_time(&c, append_time ? (int64_t)(rnd(4) * (sl_test_rand() % 2000000000000ULL))
                                       : c.m.ts - 300 + (int64_t)rnd(400));
        else if (op < 77)
            check_max_ts(&c);
        else if (op < 81)
            op_delete_records(&c);
        else if (op < 86)
            op_retain(&c);
        else if (op < 91)
            op_config(&c);
        else if (op < 94)
            op_reopen(&c);
        else if (!follower || op < 96)
            op_flush(&c);
        else if (op < 99)
            op_truncate(&c);
        else
            op_start_at(&c);
        check_counters(&c);
        if (s % 64 == 0) {
            check_all(&c);
            if (follower)
                check_epochs(&c);
        }
    }
    check_all(&c);
    sl_log_mgr_close(c.mgr);
    for (size_t i = 0; i < c.m.n; i++)
        free(c.m.b[i].bytes);
    free(c.m.b);
}

SL_TEST(log_model_create_time)
{
    run_model(false, false, 1500);
}

SL_TEST(log_model_create_time_second_run)
{
    run_model(false, false, 1500);
}

SL_TEST(log_model_log_append_time)
{
    run_model(true, false, 1000);
}

SL_TEST(log_model_follower_truncations)
{
    run_model(false, true, 2000);
}

SL_TEST(log_model_follower_truncations_second_run)
{
    run_model(false, true, 2000);
}
