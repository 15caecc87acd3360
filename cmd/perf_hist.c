/*
 * perf_hist.c -- the latency histogram of `sluice perf`: log-linear buckets
 * (see perf.h) so that millions of samples cost a fixed 58 KiB and a
 * percentile is a walk over the buckets.
 */
#include "perf.h"

#include <math.h>
#include <string.h>

void
sl_perf_hist_init(sl_perf_hist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = INT64_MAX;
}

static int
bucket_of(uint64_t v)
{
    int msb, shift;

    if (v < SL_PERF_HIST_SUB)
        return (int)v;
    msb = 63 - __builtin_clzll(v);
    shift = msb - SL_PERF_HIST_SUB_BITS;
    return (shift + 1) * SL_PERF_HIST_SUB + (int)((v >> shift) - SL_PERF_HIST_SUB);
}

/* Midpoint of a bucket: the value a percentile falling in it reports. */
static int64_t
bucket_mid(int idx)
{
    int shift;
    uint64_t lo;

    if (idx < SL_PERF_HIST_SUB)
        return idx;
    shift = idx / SL_PERF_HIST_SUB - 1;
    lo = (uint64_t)(idx % SL_PERF_HIST_SUB + SL_PERF_HIST_SUB) << shift;
    return (int64_t)(lo + ((1ull << shift) >> 1));
}

void
sl_perf_hist_record(sl_perf_hist_t *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    h->buckets[bucket_of((uint64_t)ns)]++;
    h->count++;
    h->sum_ns += (double)ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

int64_t
sl_perf_hist_quantile(const sl_perf_hist_t *h, double q)
{
    uint64_t rank, seen = 0;
    int64_t v;

    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max_ns;
    /* The smallest value with at least ceil(q * count) samples at or below it. */
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < SL_PERF_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            v = bucket_mid(i);
            if (v < h->min_ns)
                v = h->min_ns;
            return v > h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}
