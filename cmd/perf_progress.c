/*
 * perf_progress.c -- the live line `sluice perf` shows on a terminal while
 * it runs: elapsed time, records so far, the rate over the last second and
 * the latency percentiles so far. Called from the thread that owns the
 * counters and the histogram, so it reads them without locks.
 */
#include "perf.h"

#include "base/common.h"

#define PROGRESS_EVERY_NS 1000000000LL

void
sl_perf_progress_start(sl_perf_progress_t *pg, bool on, const char *what, int64_t now)
{
    memset(pg, 0, sizeof(*pg));
    pg->on = on;
    pg->what = what;
    pg->start_ns = pg->last_ns = now;
    pg->next_ns = now + PROGRESS_EVERY_NS;
}

void
sl_perf_progress_tick(sl_perf_progress_t *pg, int64_t now, int64_t n, const sl_perf_hist_t *h)
{
    double dt;

    if (!pg->on || now < pg->next_ns)
        return;
    dt = (double)(now - pg->last_ns) / 1e9;
    fprintf(stderr, "\r%s %6.1f s  %lld records  %.0f rec/s", pg->what,
            (double)(now - pg->start_ns) / 1e9, (long long)n,
            dt > 0 ? (double)(n - pg->last_n) / dt : 0.0);
    if (h != NULL && h->count > 0)
        fprintf(stderr, "  latency so far p50 %.2f ms  p99 %.2f ms  max %.2f ms",
                (double)sl_perf_hist_quantile(h, 0.50) / 1e6,
                (double)sl_perf_hist_quantile(h, 0.99) / 1e6, (double)h->max_ns / 1e6);
    fputs("\033[K", stderr); /* clear what a longer previous line left */
    fflush(stderr);
    pg->printed = true;
    pg->last_ns = now;
    pg->last_n = n;
    pg->next_ns = now + PROGRESS_EVERY_NS;
}

void
sl_perf_progress_end(sl_perf_progress_t *pg)
{
    if (pg->printed)
        fputs("\r\033[K", stderr); /* the final report replaces the live line */
    pg->printed = false;
}
