/*
 * h_fetch.c -- Fetch: whole batches from each partition, sent with
 * sendfile(2) straight from the segment files, and long polls.
 *
 * A fetch that finds fewer than MinBytes parks (up to MaxWaitMs) on every
 * partition it reads; appends to those partitions add their size to the
 * fetch's count and complete it once MinBytes is reached; the timer
 * completes it otherwise. Completing re-reads, so what goes out is always
 * current. The first batch found is returned whole even when it is larger
 * than the limits (KIP-74), so a consumer never gets stuck behind a big
 * batch. Fetch sessions (KIP-227) are not kept: every answer says "no
 * session" (SessionId 0), which makes clients send full fetches.
 */
#include "broker/broker_int.h"

#include "base/log.h"

typedef struct fetch_watch {
    sl_dlist_t link; /* in sl_bpart_t.fetch_waiters */
    sl_req_t *req;
} fetch_watch_t;

typedef struct fetch_state {
    sl_log_region_t *regions; /* one per response partition (empty when none) */
    int32_t n_regions;
    fetch_watch_t *watches;
    int32_t n_watches;
    int64_t bytes; /* found at the last read plus appended since */
    bool ready;    /* MinBytes reached: complete at the next sweep */
} fetch_state_t;

/* ---- reading ------------------------------------------------------------ */

static void
release_regions(fetch_state_t *fs)
{
    for (int32_t i = 0; i < fs->n_regions; i++)
        sl_log_region_release(&fs->regions[i]);
}

static void
read_partition(sl_req_t *req, sl_FetchRequest_FetchPartition_t *fp,
               sl_FetchResponse_PartitionData_t *pd, sl_bpart_t *bp, sl_log_region_t *rg,
               int64_t *budget, bool *first)
{
    int64_t hw, max;
    int rc;

    pd->PartitionIndex = fp->Partition;
    pd->Records = (sl_bytes_t){(const uint8_t *)"", 0};
    if (bp == NULL) {
        pd->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    hw = sl_plog_hw(bp->pl);
    pd->HighWatermark = hw;
    pd->LastStableOffset = hw;
    pd->LogStartOffset = sl_plog_log_start(bp->pl);
    pd->AbortedTransactions.len = req->hdr.api_version >= 4 ? 0 : -1;
    max = SL_MIN((int64_t)fp->PartitionMaxBytes, *budget);
    if (fp->FetchOffset == hw && fp->FetchOffset >= pd->LogStartOffset)
        return;
    rc = sl_plog_read(bp->pl, fp->FetchOffset, max > 0 ? max : 0, hw, *first, rg);
    if (rc != SL_OK) {
        pd->ErrorCode = sl_kerr_from_status(rc);
        return;
    }
    if (rg->len > 0) {
        /* The view's pointer names the region; the encoder hook splices it in. */
        pd->Records = (sl_bytes_t){(const uint8_t *)rg, (int32_t)rg->len};
        *budget -= rg->len;
        *first = false;
    }
}

/* Fills the response from the logs; returns the bytes found. */
static int64_t
fetch_fill(sl_req_t *req, fetch_state_t *fs)
{
    sl_FetchRequest_t *fq = req->body;
    sl_FetchResponse_t *resp = sl_req_resp_new(req);
    int64_t budget = req->hdr.api_version >= 3 ? fq->MaxBytes : INT32_MAX;
    int64_t found = 0;
    bool first = true;
    int32_t k = 0;

    if (budget <= 0)
        budget = 0;
    SL_KARR(req, resp->Responses, fq->Topics.len, sl_FetchResponse_FetchableTopicResponse_init);
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        sl_FetchRequest_FetchTopic_t *ft = &fq->Topics.items[i];
        sl_FetchResponse_FetchableTopicResponse_t *tr = &resp->Responses.items[i];

        tr->Topic = ft->Topic;
        tr->TopicId = ft->TopicId;
        SL_KARR(req, tr->Partitions, ft->Partitions.len, sl_FetchResponse_PartitionData_init);
        for (int32_t j = 0; j < ft->Partitions.len; j++) {
            sl_FetchRequest_FetchPartition_t *fp = &ft->Partitions.items[j];
            sl_log_region_t *rg = &fs->regions[k++];

            memset(rg, 0, sizeof(*rg));
            read_partition(req, fp, &tr->Partitions.items[j],
                           sl_bpart_find(req->b, ft->Topic, fp->Partition), rg, &budget, &first);
            found += rg->len;
            if (tr->Partitions.items[j].ErrorCode != SL_KERR_NONE)
                found = INT64_MAX / 2; /* errors answer at once */
        }
    }
    return found;
}

/* ---- sending: memory chunks and file regions ----------------------------- */

typedef struct splice {
    size_t at; /* offset in the encoded buffer */
    sl_log_region_t *rg;
} splice_t;

typedef struct splice_list {
    splice_t *v;
    size_t n, cap;
    sl_arena_t *arena;
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
    sl->v[sl->n++] = (splice_t){wr->buf->len, (sl_log_region_t *)(uintptr_t)ptr};
}

static void
region_done(void *arg)
{
    sl_log_region_t *rg = arg;

    sl_log_region_release(rg);
    free(rg);
}

static void
fetch_send(sl_req_t *req, fetch_state_t *fs)
{
    splice_list_t sl = {.arena = &req->arena};
    sl_buf_t buf = SL_BUF_INIT;
    sl_writer_t wr = {&buf, on_records, &sl};
    int64_t total;
    size_t pos = 0;

    sl_kheader_response_encode(req->hdr.api_key, req->hdr.api_version, req->hdr.correlation_id,
                               &wr);
    sl_kencode(req->desc->response, req->resp, req->hdr.api_version, &wr);
    total = (int64_t)buf.len;
    for (size_t i = 0; i < sl.n; i++)
        total += sl.v[i].rg->len;
    sl_conn_send_size(req->c, (int32_t)total);
    for (size_t i = 0; i < sl.n; i++) {
        sl_log_region_t *held = sl_xmalloc(sizeof(*held));

        sl_conn_send_copy(req->c, buf.data + pos, sl.v[i].at - pos);
        pos = sl.v[i].at;
        /* The connection now owns the segment reference. */
        *held = *sl.v[i].rg;
        memset(sl.v[i].rg, 0, sizeof(*sl.v[i].rg));
        sl_conn_send_file(req->c, held->fd, held->pos, (size_t)held->len, region_done, held);
    }
    sl_conn_send_copy(req->c, buf.data + pos, buf.len - pos);
    sl_buf_deinit(&buf);
    release_regions(fs);
    sl_conn_unmute(req->c);
}

/* ---- parking -------------------------------------------------------------- */

static void
unwatch(sl_req_t *req)
{
    fetch_state_t *fs = req->park;

    for (int32_t i = 0; i < fs->n_watches; i++)
        sl_dlist_remove(&fs->watches[i].link);
    sl_timer_stop(req->b->loop, &req->timer);
}

static void
fetch_complete(sl_req_t *req)
{
    fetch_state_t *fs = req->park;

    unwatch(req);
    req->parked = false;
    req->cancel = NULL;
    if (req->c == NULL)
        return;
    fetch_fill(req, fs);
    fetch_send(req, fs);
}

static void
on_fetch_timeout(sl_loop_t *loop, void *arg)
{
    (void)loop;
    fetch_complete(arg);
}

static void
fetch_cancel(sl_req_t *req)
{
    unwatch(req);
}

static void
park(sl_req_t *req, fetch_state_t *fs, int32_t max_wait_ms)
{
    sl_FetchRequest_t *fq = req->body;
    int32_t k = 0;

    release_regions(fs);
    fs->watches = sl_arena_array(&req->arena, (size_t)fs->n_regions, sizeof(*fs->watches));
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        sl_FetchRequest_FetchTopic_t *ft = &fq->Topics.items[i];

        for (int32_t j = 0; j < ft->Partitions.len; j++) {
            sl_bpart_t *bp = sl_bpart_find(req->b, ft->Topic, ft->Partitions.items[j].Partition);
            fetch_watch_t *w = &fs->watches[k++];

            w->req = req;
            sl_dlist_init(&w->link);
            if (bp)
                sl_dlist_insert_tail(&bp->fetch_waiters, &w->link);
        }
    }
    fs->n_watches = k;
    req->park = fs;
    req->cancel = fetch_cancel;
    req->timer.fn = on_fetch_timeout;
    req->timer.arg = req;
    sl_timer_start(req->b->loop, &req->timer, max_wait_ms);
}

void
sl_fetch_on_append(sl_broker_t *b, sl_bpart_t *bp, int64_t bytes)
{
    sl_dlist_t *n;

    (void)b;
    for (n = bp->fetch_waiters.next; n != &bp->fetch_waiters; n = n->next) {
        fetch_watch_t *w = SL_CONTAINER_OF(n, fetch_watch_t, link);
        fetch_state_t *fs = w->req->park;
        sl_FetchRequest_t *fq = w->req->body;

        fs->bytes = bytes == INT64_MAX ? INT64_MAX : fs->bytes + bytes;
        if (fs->bytes >= fq->MinBytes)
            fs->ready = true;
    }
    /* Completing unlinks every watch of that request, possibly the next one
     * in this list too, so restart the walk after each completion. */
again:
    for (n = bp->fetch_waiters.next; n != &bp->fetch_waiters; n = n->next) {
        fetch_watch_t *w = SL_CONTAINER_OF(n, fetch_watch_t, link);

        if (((fetch_state_t *)w->req->park)->ready) {
            fetch_complete(w->req);
            goto again;
        }
    }
}

int
sl_h_Fetch(sl_req_t *req)
{
    sl_FetchRequest_t *fq = req->body;
    fetch_state_t *fs = sl_arena_zalloc(&req->arena, sizeof(*fs));
    int32_t n = 0;

    for (int32_t i = 0; i < fq->Topics.len; i++)
        n += fq->Topics.items[i].Partitions.len;
    fs->regions = sl_arena_array(&req->arena, (size_t)n, sizeof(*fs->regions));
    fs->n_regions = n;
    req->park = fs;
    if (req->hdr.api_version >= 7 && fq->SessionId != 0) {
        sl_FetchResponse_t *resp = sl_req_resp_new(req);

        resp->ErrorCode = SL_KERR_FETCH_SESSION_ID_NOT_FOUND;
        return SL_OK;
    }
    fs->bytes = fetch_fill(req, fs);
    if (fs->bytes >= fq->MinBytes || fq->MaxWaitMs <= 0 || n == 0 || req->b->stopping) {
        fetch_send(req, fs);
        return SL_REQ_DONE;
    }
    park(req, fs, fq->MaxWaitMs);
    return SL_REQ_PARKED;
}
