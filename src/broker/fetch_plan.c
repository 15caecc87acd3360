/*
 * fetch_plan.c -- the byte budget of one Fetch response, spent partition by
 * partition in request order (docs/broker.md "Limits").
 *
 * The budget is min(MaxBytes, fetch.max.bytes) for Fetch v3+ and
 * fetch.max.bytes for v0-2, whose requests carry no MaxBytes (Kafka leaves
 * those unbounded; Sluice does not). Each partition may take
 * min(PartitionMaxBytes, what is left); until something was taken, the
 * first batch found may pass both (KIP-74), so a consumer is never stuck
 * behind a batch larger than its limits. After that batch the budget is
 * spent (or negative) and later partitions get nothing. So a response
 * carries at most max(budget, first batch) bytes of records, however many
 * times a partition is named.
 */
#include "broker/broker_int.h"

void
sl_fetch_plan_init(sl_fetch_plan_t *p, int16_t version, int32_t max_bytes, int32_t fetch_max_bytes)
{
    int64_t budget = fetch_max_bytes > 0 ? fetch_max_bytes : INT32_MAX;

    if (version >= 3)
        budget = SL_MIN(budget, (int64_t)max_bytes);
    p->budget = SL_MAX(budget, 0);
    p->left = p->budget;
    p->first = true;
}

int64_t
sl_fetch_plan_limit(const sl_fetch_plan_t *p, int32_t partition_max_bytes)
{
    return SL_MAX(SL_MIN((int64_t)partition_max_bytes, p->left), 0);
}

void
sl_fetch_plan_took(sl_fetch_plan_t *p, int64_t bytes)
{
    if (bytes <= 0)
        return;
    p->left -= bytes;
    p->first = false;
}
