/*
 * fuzz_fetch_plan.c -- libFuzzer target for the Fetch response budget
 * (src/broker/fetch_plan.c) driven by decoded Fetch requests.
 *
 * Input: version byte (folded into Fetch's range), fetch.max.bytes byte
 * (x 64 KiB; 0 = the broker default 57671680), log shape byte, then a Fetch
 * request body decoded with the real codec. Every partition the request
 * names (duplicates included, in order) is "read" from a small fake log
 * whose batches have sizes drawn from the log shape and the partition, the
 * way sl_plog_read reads: whole batches up to the limit, the first one whole
 * when the plan says it may pass (KIP-74).
 *
 * Checks: every limit handed out is in [0, PartitionMaxBytes]; the records
 * of the whole response never pass max(budget, first batch taken); once
 * something was taken nothing may pass the limits again; when any named
 * partition has data, something is taken (a consumer always progresses);
 * the budget never passes fetch.max.bytes, nor MaxBytes for v3+.
 */
#include "broker/broker_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_BATCHES 8

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_fetch_plan: %s\n", what);
    abort();
}

/* Size of batch i of a fake partition: 0 (no data) or 61 B .. 8 MiB. */
static int64_t
fake_batch(uint8_t shape, int32_t partition, int64_t offset, int i)
{
    uint32_t x = (uint32_t)shape * 2654435761u ^ (uint32_t)partition * 40503u ^
                 (uint32_t)offset * 2246822519u ^ (uint32_t)i * 3266489917u;

    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    if (shape & 1 && i == 0 && (x & 3) == 0)
        return 0; /* this partition is empty at the offset */
    return 61 + (int64_t)(x % (shape & 2 ? (8u << 20) : 4096u));
}

/* sl_plog_read's contract on the fake log: whole batches within max, the
 * first one whole when min_one. Returns the bytes read; *first_batch gets
 * the first batch's size (0 when the partition is empty). */
static int64_t
fake_read(uint8_t shape, int32_t partition, int64_t offset, int64_t max, bool min_one,
          int64_t *first_batch)
{
    int64_t took = 0;

    *first_batch = fake_batch(shape, partition, offset, 0);
    for (int i = 0; i < FAKE_BATCHES; i++) {
        int64_t b = fake_batch(shape, partition, offset, i);

        if (b == 0)
            break;
        if (took + b > max && !(i == 0 && min_one))
            break;
        took += b;
    }
    return took;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sl_api_desc_t *api = sl_api_lookup(1) /* Fetch */;
    const sl_kmsg_t *md = api->request;
    sl_FetchRequest_t *fq;
    sl_fetch_plan_t plan;
    sl_arena_t a;
    sl_reader_t rd;
    int16_t v;
    int32_t fmb;
    uint8_t shape;
    int64_t total = 0, first_taken = 0;
    bool any_data = false;

    if (size < 3)
        return 0;
    v = (int16_t)(md->min_ver + data[0] % (md->max_ver - md->min_ver + 1));
    fmb = data[1] == 0 ? 57671680 : (int32_t)data[1] * 65536;
    shape = data[2];
    sl_arena_init(&a, 4096);
    fq = sl_arena_alloc(&a, md->root->size);
    sl_rd_init(&rd, data + 3, size - 3);
    if (sl_kdecode(md, fq, v, &rd, &a) != SL_OK)
        goto done;

    sl_fetch_plan_init(&plan, v, fq->MaxBytes, fmb);
    if (plan.budget < 0 || plan.budget > fmb || (v >= 3 && plan.budget > SL_MAX(fq->MaxBytes, 0)))
        fail("budget outside [0, min(MaxBytes, fetch.max.bytes)]");
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        const sl_FetchRequest_FetchTopic_t *ft = &fq->Topics.items[i];

        for (int32_t j = 0; j < ft->Partitions.len; j++) {
            const sl_FetchRequest_FetchPartition_t *fp = &ft->Partitions.items[j];
            int64_t limit = sl_fetch_plan_limit(&plan, fp->PartitionMaxBytes);
            bool min_one = plan.first;
            int64_t first_batch, got;

            if (limit < 0 || limit > SL_MAX((int64_t)fp->PartitionMaxBytes, 0))
                fail("partition limit outside [0, PartitionMaxBytes]");
            got = fake_read(shape, fp->Partition, fp->FetchOffset, limit, min_one, &first_batch);
            if (first_batch > 0)
                any_data = true;
            if (got > limit && !(min_one && got == first_batch))
                fail("a partition passed its limit other than by one KIP-74 first batch");
            if (min_one && got > 0)
                first_taken = first_batch;
            sl_fetch_plan_took(&plan, got);
            total += got;
            if (total > SL_MAX(plan.budget, first_taken))
                fail("response records passed max(budget, first batch)");
        }
    }
    if (any_data && total == 0)
        fail("data was there but nothing was taken (no progress)");
done:
    sl_arena_deinit(&a);
    return 0;
}
