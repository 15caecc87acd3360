/*
 * h_fetch.c -- Fetch: whole batches from each partition, sent with
 * sendfile(2) straight from the segment files, and long polls.
 *
 * A fetch that finds fewer than MinBytes parks (up to MaxWaitMs) in the
 * fetch purgatory (purgatory.c), watching every partition it reads;
 * appends to those partitions add their size to the fetch's count and
 * queue a check, which completes it from the loop once MinBytes is
 * reached; the deadline completes it otherwise. Completing re-reads, so what goes out is always
 * current. The first batch found is returned whole even when it is larger
 * than the limits (KIP-74), so a consumer never gets stuck behind a big
 * batch. Fetch sessions (KIP-227) are not kept: every answer says "no
 * session" (SessionId 0), which makes clients send full fetches.
 *
 * Old versions cannot read what the log stores: Fetch v0-1 get magic-0
 * message sets and v2-3 magic 1, converted in memory (proto/legacy.h) from
 * the region read with pread -- no sendfile on that path. zstd needs Fetch
 * v10 (KIP-110): older fetches of a zstd topic, or whose data starts with a
 * zstd batch, get UNSUPPORTED_COMPRESSION_TYPE, and a region is cut before
 * its first zstd batch.
 *
 * The response budget (fetch_plan.c): min(MaxBytes, broker fetch.max.bytes)
 * for v3+, fetch.max.bytes alone for v0-2 (which carry no MaxBytes), spent
 * partition by partition in request order; the KIP-74 first batch is the
 * one thing that may pass it. A partition named twice is answered twice,
 * as Kafka does, and each answer spends the budget, so naming one
 * partition 500 times returns no more than naming it once with a large
 * PartitionMaxBytes. Down-converted bytes are the only fetch data
 * held in memory; they are spent from the same budget and handed to the
 * connection as they are (no copy into the encoded response). Across
 * connections they are bounded too: while DOWNCONV_INFLIGHT_MAX bytes of
 * converted records wait to be sent (clients that fetch and do not read),
 * old-version fetches are answered without records and ask again.
 *
 * A parked fetch keeps its decoded request and state (some 20x the frame
 * for a fetch naming many partitions). Parked fetches together keep at
 * most PARKED_MEM_MAX; past it a fetch is answered at once, as if its
 * MaxWaitMs were 0, so many long polls cannot pin memory.
 */
#include "broker/broker_int.h"

#include "base/log.h"
#include "proto/legacy.h"
#include "proto/record.h"

#include <unistd.h>

typedef struct fetch_state {
    sl_broker_t *b;
    sl_req_t *req;
    sl_log_region_t *regions; /* one per response partition (empty when none) */
    sl_buf_t *converted;      /* v0-3: the down-converted records, one per partition */
    int32_t n_regions;
    sl_delayed_t op;    /* parked in b->fetch_purgatory */
    int64_t bytes;      /* found at the last read plus appended since */
    int64_t parked_mem; /* counted in b->fetch_parked_mem while parked */
    bool ready;         /* MinBytes reached: complete at the next check */
} fetch_state_t;

/* ---- reading ------------------------------------------------------------ */

/* Conversion memory per partition: a batch may expand to this much. */
#define LEGACY_DECOMPRESS_BUDGET (64u << 20)
/* Converted records all connections may hold before old-version fetches
 * get none (docs/broker.md "Limits"). */
#define DOWNCONV_INFLIGHT_MAX ((int64_t)256 << 20)
/* Request memory all parked fetches may keep (docs/broker.md "Limits"). */
#define PARKED_MEM_MAX ((int64_t)256 << 20)
/* Chunk read while walking batch headers for zstd. */
#define ZSTD_WALK_CHUNK 65536

/* Reads a region into memory (the old-format path cannot sendfile). */
static int
region_pread(const sl_log_region_t *rg, sl_buf_t *out)
{
    size_t done = 0, len = (size_t)rg->len;
    uint8_t *p = sl_buf_extend(out, len);

    while (done < len) {
        ssize_t n = pread(rg->fd, p + done, len - done, rg->pos + (off_t)done);

        if (n <= 0)
            return SL_EIO;
        done += (size_t)n;
    }
    return SL_OK;
}

/* Ends the region before its first zstd batch, which Fetch < 10 cannot
 * carry; SL_EUNSUP when the region starts with one. Reads headers in
 * chunks, so small batches cost no read each. */
static int
cut_before_zstd(sl_log_region_t *rg)
{
    uint8_t *chunk = sl_xmalloc(ZSTD_WALK_CHUNK);
    int64_t pos = 0, cstart = 0, clen = 0;
    int rc = SL_OK;

    while (rg->len - pos >= SL_BATCH_HEADER_SIZE) {
        sl_batch_hdr_t h;

        if (pos < cstart || pos + SL_BATCH_HEADER_SIZE > cstart + clen) {
            ssize_t n;

            cstart = pos;
            clen = SL_MIN((int64_t)ZSTD_WALK_CHUNK, rg->len - pos);
            n = pread(rg->fd, chunk, (size_t)clen, rg->pos + pos);
            if (n != clen) {
                rc = SL_EIO;
                break;
            }
        }
        if (sl_batch_hdr_parse(chunk + (pos - cstart), SL_BATCH_HEADER_SIZE, &h) != SL_OK ||
            h.batch_length <= 0)
            break;
        if (sl_batch_codec(&h) == SL_CODEC_ZSTD) {
            if (pos == 0)
                rc = SL_EUNSUP;
            rg->len = pos;
            rg->next_offset = h.base_offset;
            break;
        }
        pos += sl_batch_size(&h);
    }
    free(chunk);
    return rc;
}

/* Fetch v0-3: reads whole batches and down-converts them to magic 0 (v0-1)
 * or 1 (v2-3) into *conv (fetch_send hands it to the connection). The
 * limit, capped by what DOWNCONV_INFLIGHT_MAX leaves, applies to the converted
 * bytes: v3 (KIP-74) returns the first entry whole, v0-2 a partial one when
 * nothing fits, as Kafka does, so clients that grow their fetch size on a
 * partial message make progress. */
static void
read_partition_legacy(sl_req_t *req, sl_FetchRequest_FetchPartition_t *fp,
                      sl_FetchResponse_PartitionData_t *pd, sl_bpart_t *bp, int64_t max, int64_t hw,
                      sl_buf_t *conv, sl_fetch_plan_t *plan)
{
    int16_t ver = req->hdr.api_version;
    sl_log_region_t rg;
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    sl_buf_t raw = SL_BUF_INIT, out = SL_BUF_INIT, scratch = SL_BUF_INIT;
    int64_t room = DOWNCONV_INFLIGHT_MAX - req->b->down_inflight;
    int rc;

    if (room <= 0)
        return; /* enough converted data waits for slow readers: none now */
    max = SL_MIN(max, room);
    memset(&rg, 0, sizeof(rg));
    sl_legacy_down_opts_init(&o, ver < 2 ? 0 : 1, fp->FetchOffset, (size_t)SL_MAX(max, 0));
    o.min_one = ver >= 3 && plan->first;
    o.partial_tail = ver < 3;
    o.max_decompressed = LEGACY_DECOMPRESS_BUDGET;
    if (max <= 0 && !o.min_one)
        return;
    /* The first batch whole: conversion applies the limit itself. */
    rc = sl_plog_read(bp->pl, fp->FetchOffset, SL_MAX(max, 0), hw, true, &rg);
    if (rc == SL_OK && rg.len > 0)
        rc = region_pread(&rg, &raw);
    sl_log_region_release(&rg);
    if (rc == SL_OK && raw.len > 0)
        rc = sl_legacy_down_convert(raw.data, raw.len, &o, &out, &scratch, &info);
    if (rc != SL_OK) {
        pd->ErrorCode = sl_kerr_from_status(rc);
    } else if (out.len > 0) {
        /* Like a region, the view names its holder; fetch_send takes it. */
        *conv = out;
        out = SL_BUF_INIT;
        pd->Records = (sl_bytes_t){(const uint8_t *)conv, (int32_t)conv->len};
        sl_fetch_plan_took(plan, (int64_t)conv->len);
        req->b->down_inflight += (int64_t)conv->len;
    }
    sl_buf_deinit(&raw);
    sl_buf_deinit(&out);
    sl_buf_deinit(&scratch);
}

static void
release_regions(fetch_state_t *fs)
{
    for (int32_t i = 0; i < fs->n_regions; i++) {
        sl_log_region_release(&fs->regions[i]);
        memset(&fs->regions[i], 0, sizeof(fs->regions[i]));
        fs->b->down_inflight -= (int64_t)fs->converted[i].len;
        sl_buf_deinit(&fs->converted[i]);
    }
}

/* Converted records handed to a connection: counted until sent. */
typedef struct down_held {
    sl_broker_t *b;
    uint8_t *data;
    size_t len;
} down_held_t;

static void
down_done(void *arg)
{
    down_held_t *h = arg;

    h->b->down_inflight -= (int64_t)h->len;
    free(h->data);
    free(h);
}

static void
read_partition(sl_req_t *req, sl_str_t topic, sl_FetchRequest_FetchPartition_t *fp,
               sl_FetchResponse_PartitionData_t *pd, sl_bpart_t *bp, sl_log_region_t *rg,
               sl_buf_t *conv, sl_fetch_plan_t *plan)
{
    int16_t ver = req->hdr.api_version;
    const sl_topic_t *t;
    int64_t hw, max;
    int rc;

    pd->PartitionIndex = fp->Partition;
    pd->Records = (sl_bytes_t){(const uint8_t *)"", 0};
    if (bp == NULL) {
        pd->ErrorCode = sl_kerr_unknown_topic(topic);
        return;
    }
    /* Only the leader serves consumers; CurrentLeaderEpoch is -1 before v9. */
    if ((pd->ErrorCode = sl_bpart_check_leader(req->b, bp, fp->CurrentLeaderEpoch)) !=
        SL_KERR_NONE) {
        pd->HighWatermark = -1;
        pd->LastStableOffset = -1;
        pd->LogStartOffset = -1;
        return;
    }
    hw = sl_plog_hw(bp->pl);
    pd->HighWatermark = hw;
    pd->LastStableOffset = hw;
    pd->LogStartOffset = sl_plog_log_start(bp->pl);
    pd->AbortedTransactions.len = req->hdr.api_version >= 4 ? 0 : -1;
    max = sl_fetch_plan_limit(plan, fp->PartitionMaxBytes);
    t = sl_topics_find(req->b->topics, sl_str_c(bp->topic->name));
    /* Kafka's checks, from the topic config alone, data or not. */
    if (ver < 10 && t != NULL && t->cfg.compression_type == SL_CFG_COMPRESSION_ZSTD) {
        pd->ErrorCode = SL_KERR_UNSUPPORTED_COMPRESSION_TYPE;
        return;
    }
    if (ver < 4 && t != NULL && !t->cfg.message_downconversion_enable) {
        pd->ErrorCode = SL_KERR_UNSUPPORTED_VERSION;
        return;
    }
    if (fp->FetchOffset == hw && fp->FetchOffset >= pd->LogStartOffset)
        return;
    if (ver < 4)
        return read_partition_legacy(req, fp, pd, bp, max, hw, conv, plan);
    rc = sl_plog_read(bp->pl, fp->FetchOffset, max, hw, plan->first, rg);
    if (rc == SL_OK && ver < 10 && rg->len > 0)
        rc = cut_before_zstd(rg);
    if (rc != SL_OK) {
        sl_log_region_release(rg);
        memset(rg, 0, sizeof(*rg));
        pd->ErrorCode = sl_kerr_from_status(rc);
        return;
    }
    if (rg->len > 0) {
        /* The view's pointer names the region; the encoder hook splices it in. */
        pd->Records = (sl_bytes_t){(const uint8_t *)rg, (int32_t)rg->len};
        sl_fetch_plan_took(plan, rg->len);
    }
}

/* Fills the response from the logs; returns the bytes found. */
static int64_t
fetch_fill(sl_req_t *req, fetch_state_t *fs)
{
    sl_FetchRequest_t *fq = req->body;
    sl_FetchResponse_t *resp = sl_req_resp_new(req);
    sl_fetch_plan_t plan;
    int64_t found = 0;
    int32_t k = 0;

    sl_fetch_plan_init(&plan, req->hdr.api_version, fq->MaxBytes, req->b->cfg.fetch_max_bytes);
    SL_KARR(req, resp->Responses, fq->Topics.len, sl_FetchResponse_FetchableTopicResponse_init);
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        sl_FetchRequest_FetchTopic_t *ft = &fq->Topics.items[i];
        sl_FetchResponse_FetchableTopicResponse_t *tr = &resp->Responses.items[i];

        tr->Topic = ft->Topic;
        tr->TopicId = ft->TopicId;
        SL_KARR(req, tr->Partitions, ft->Partitions.len, sl_FetchResponse_PartitionData_init);
        for (int32_t j = 0; j < ft->Partitions.len; j++) {
            sl_FetchRequest_FetchPartition_t *fp = &ft->Partitions.items[j];
            sl_log_region_t *rg = &fs->regions[k];
            sl_buf_t *conv = &fs->converted[k++];

            memset(rg, 0, sizeof(*rg));
            SL_ASSERT(conv->data == NULL); /* released when it parked */
            read_partition(req, ft->Topic, fp, &tr->Partitions.items[j],
                           sl_bpart_find(req->b, ft->Topic, fp->Partition), rg, conv, &plan);
            found += tr->Partitions.items[j].Records.len;
            if (tr->Partitions.items[j].ErrorCode != SL_KERR_NONE)
                found = INT64_MAX / 2; /* errors answer at once */
        }
    }
    return found;
}

/* ---- sending: memory chunks and file regions ----------------------------- */

/* Records spliced in at an offset of the encoded response: a file region
 * (v4+) or a buffer of converted records (v0-3). */
typedef struct splice {
    size_t at; /* offset in the encoded buffer */
    sl_log_region_t *rg;
    sl_buf_t *mem;
} splice_t;

typedef struct splice_list {
    splice_t *v;
    size_t n, cap;
    sl_arena_t *arena;
    bool mem; /* the views name sl_buf_t holders, not regions */
} splice_list_t;

static void
on_records(sl_writer_t *wr, const uint8_t *ptr, size_t len, void *arg)
{
    splice_list_t *sl = arg;

    if (len == 0)
        return;
    if (sl->n == sl->cap) {
        size_t cap = sl->cap ? sl->cap * 2 : 16;
        splice_t *v = sl_arena_array(sl->arena, cap, sizeof(*v));

        if (sl->n)
            memcpy(v, sl->v, sl->n * sizeof(*v));
        sl->v = v;
        sl->cap = cap;
    }
    if (sl->mem)
        sl->v[sl->n++] = (splice_t){wr->buf->len, NULL, (sl_buf_t *)(uintptr_t)ptr};
    else
        sl->v[sl->n++] = (splice_t){wr->buf->len, (sl_log_region_t *)(uintptr_t)ptr, NULL};
}

static void
region_done(void *arg)
{
    sl_log_region_t *rg = arg;

    sl_log_region_release(rg);
    free(rg);
}

static int64_t
splice_len(const splice_t *sp)
{
    return sp->rg != NULL ? sp->rg->len : (int64_t)sp->mem->len;
}

/* The encoded response, shared by the pieces that point into it: a fetch
 * naming many partitions encodes to a large buffer, which is sent as it is
 * rather than copied again. */
typedef struct shared_buf {
    int refs;
    uint8_t *data;
} shared_buf_t;

#define SEGMENT_COPY_MAX 512 /* smaller segments are copied (and coalesced) */

static void
shared_unref(void *arg)
{
    shared_buf_t *sh = arg;

    if (--sh->refs == 0) {
        free(sh->data);
        free(sh);
    }
}

static void
send_segment(sl_conn_t *c, shared_buf_t *sh, size_t from, size_t to)
{
    if (to - from <= SEGMENT_COPY_MAX) {
        sl_conn_send_copy(c, sh->data + from, to - from);
        return;
    }
    sh->refs++;
    sl_conn_send_ref(c, sh->data + from, to - from, shared_unref, sh);
}

static void
fetch_send(sl_req_t *req, fetch_state_t *fs)
{
    splice_list_t sl = {.arena = &req->arena, .mem = req->hdr.api_version < 4};
    sl_buf_t buf = SL_BUF_INIT;
    sl_writer_t wr = {&buf, on_records, &sl};
    shared_buf_t *sh;
    uint32_t size;
    int64_t total;
    size_t pos = 0;

    (void)sl_buf_extend(&buf, 4); /* the size prefix, filled in below */
    sl_kheader_response_encode(req->hdr.api_key, req->hdr.api_version, req->hdr.correlation_id,
                               &wr);
    sl_kencode(req->desc->response, req->resp, req->hdr.api_version, &wr);
    total = (int64_t)buf.len - 4;
    for (size_t i = 0; i < sl.n; i++)
        total += splice_len(&sl.v[i]);
    if (total > INT32_MAX) {
        /* Only a fetch.max.bytes near 2 GiB plus a huge first batch gets
         * here; a frame cannot say its size, so end the connection. */
        sl_warn("broker", "conn %llu %s: fetch response of %lld bytes cannot be framed; closing",
                (unsigned long long)sl_conn_id(req->c), sl_conn_peer(req->c), (long long)total);
        sl_buf_deinit(&buf);
        release_regions(fs);
        sl_conn_close(req->c);
        return;
    }
    size = (uint32_t)total;
    buf.data[0] = (uint8_t)(size >> 24);
    buf.data[1] = (uint8_t)(size >> 16);
    buf.data[2] = (uint8_t)(size >> 8);
    buf.data[3] = (uint8_t)size;
    sh = sl_xmalloc(sizeof(*sh));
    sh->refs = 1;
    sh->data = buf.data;
    for (size_t i = 0; i < sl.n; i++) {
        send_segment(req->c, sh, pos, sl.v[i].at);
        pos = sl.v[i].at;
        if (sl.v[i].mem != NULL) {
            down_held_t *h = sl_xmalloc(sizeof(*h));

            h->b = req->b;
            h->data = sl_buf_take(sl.v[i].mem, &h->len);
            sl_conn_send_ref(req->c, h->data, h->len, down_done, h);
        } else {
            sl_log_region_t *held = sl_xmalloc(sizeof(*held));

            /* The connection now owns the segment reference. */
            *held = *sl.v[i].rg;
            memset(sl.v[i].rg, 0, sizeof(*sl.v[i].rg));
            sl_conn_send_file(req->c, held->fd, held->pos, (size_t)held->len, region_done, held);
        }
    }
    send_segment(req->c, sh, pos, buf.len);
    shared_unref(sh); /* the pieces hold the rest */
    release_regions(fs);
    sl_conn_unmute(req->c);
}

/* ---- parking -------------------------------------------------------------- */

static void
unpark(fetch_state_t *fs)
{
    fs->b->fetch_parked_mem -= fs->parked_mem;
    fs->parked_mem = 0;
}

/* The purgatory completed the fetch: MinBytes reached, MaxWaitMs passed,
 * or a watched partition went away. Re-read, so what goes out is current. */
static void
fetch_done(sl_delayed_t *op, bool expired)
{
    fetch_state_t *fs = SL_CONTAINER_OF(op, fetch_state_t, op);
    sl_req_t *req = fs->req;

    (void)expired;
    unpark(fs);
    req->parked = false;
    req->cancel = NULL;
    if (req->c == NULL)
        return;
    fetch_fill(req, fs);
    fetch_send(req, fs);
}

static bool
fetch_ready(sl_delayed_t *op)
{
    return SL_CONTAINER_OF(op, fetch_state_t, op)->ready;
}

static void
fetch_cancel(sl_req_t *req)
{
    fetch_state_t *fs = req->park;

    sl_delayed_cancel(&fs->op);
    unpark(fs);
    release_regions(fs);
}

static void
park(sl_req_t *req, fetch_state_t *fs, int32_t max_wait_ms)
{
    sl_FetchRequest_t *fq = req->body;
    sl_dkey_t **keys = sl_arena_array(&req->arena, (size_t)fs->n_regions, sizeof(*keys));
    sl_dwatch_t *watches = sl_arena_array(&req->arena, (size_t)fs->n_regions, sizeof(*watches));
    int32_t k = 0;

    release_regions(fs);
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        sl_FetchRequest_FetchTopic_t *ft = &fq->Topics.items[i];

        for (int32_t j = 0; j < ft->Partitions.len; j++) {
            sl_bpart_t *bp = sl_bpart_find(req->b, ft->Topic, ft->Partitions.items[j].Partition);

            keys[k++] = bp ? &bp->fetch_key : NULL;
        }
    }
    fs->parked_mem = (int64_t)req->arena.total;
    req->b->fetch_parked_mem += fs->parked_mem;
    req->park = fs;
    req->cancel = fetch_cancel;
    sl_delayed_init(&fs->op, fetch_ready, fetch_done);
    sl_purgatory_watch(&req->b->fetch_purgatory, &fs->op, keys, k, watches, max_wait_ms);
}

void
sl_fetch_on_append(sl_broker_t *b, sl_bpart_t *bp, int64_t bytes)
{
    sl_dlist_t *n;

    for (n = bp->fetch_key.watches.next; n != &bp->fetch_key.watches; n = n->next) {
        fetch_state_t *fs =
            SL_CONTAINER_OF(SL_CONTAINER_OF(n, sl_dwatch_t, link)->op, fetch_state_t, op);
        sl_FetchRequest_t *fq = fs->req->body;

        fs->bytes = bytes == INT64_MAX ? INT64_MAX : fs->bytes + bytes;
        if (fs->bytes >= fq->MinBytes)
            fs->ready = true;
    }
    sl_purgatory_check(&b->fetch_purgatory, &bp->fetch_key);
}

int
sl_h_Fetch(sl_req_t *req)
{
    sl_FetchRequest_t *fq = req->body;
    fetch_state_t *fs = sl_arena_zalloc(&req->arena, sizeof(*fs));
    int32_t n = 0;

    for (int32_t i = 0; i < fq->Topics.len; i++)
        n += fq->Topics.items[i].Partitions.len;
    fs->b = req->b;
    fs->req = req;
    fs->regions = sl_arena_array(&req->arena, (size_t)n, sizeof(*fs->regions));
    fs->converted = sl_arena_array(&req->arena, (size_t)n, sizeof(*fs->converted));
    for (int32_t i = 0; i < n; i++) {
        memset(&fs->regions[i], 0, sizeof(fs->regions[i]));
        fs->converted[i] = SL_BUF_INIT;
    }
    fs->n_regions = n;
    req->park = fs;
    if (req->hdr.api_version >= 7 && fq->SessionId != 0) {
        sl_FetchResponse_t *resp = sl_req_resp_new(req);

        resp->ErrorCode = SL_KERR_FETCH_SESSION_ID_NOT_FOUND;
        return SL_OK;
    }
    fs->bytes = fetch_fill(req, fs);
    if (fs->bytes >= fq->MinBytes || fq->MaxWaitMs <= 0 || n == 0 || req->b->stopping ||
        req->b->fetch_parked_mem + (int64_t)req->arena.total > PARKED_MEM_MAX) {
        fetch_send(req, fs);
        return SL_REQ_DONE;
    }
    park(req, fs, fq->MaxWaitMs);
    return SL_REQ_PARKED;
}
