/*
 * h_produce.c -- Produce: validate each partition's batches, append them to
 * the partition log straight from the request frame (offsets patched in
 * place), and acknowledge by `acks`:
 *   acks=0   append, send nothing back;
 *   acks=1   answer once the data is written;
 *   acks=-1  answer once the data is fsynced: the request parks on each
 *            partition it wrote and the log manager's group-commit flush
 *            completes it (one fsync covers every batch that arrived
 *            meanwhile). A failed fsync answers KAFKA_STORAGE_ERROR: data
 *            whose fsync failed is never acknowledged.
 */
#include "broker/broker_int.h"

#include "base/time.h"
#include "proto/record.h"

typedef struct produce_wait {
    sl_dlist_t link; /* in sl_bpart_t.produce_waiters */
    sl_req_t *req;
    sl_ProduceResponse_PartitionProduceResponse_t *pr;
    int64_t upto; /* offsets below it must be durable */
} produce_wait_t;

typedef struct produce_park {
    produce_wait_t *waits;
    int32_t n_waits;
    int32_t pending;
} produce_park_t;

/* Kafka checks CreateTime timestamps against message.timestamp.before/after.max.ms. */
static int16_t
check_timestamps(const sl_topic_config_t *tc, const uint8_t *p, size_t len, int64_t now)
{
    for (size_t off = 0; off + SL_BATCH_HEADER_SIZE <= len;) {
        sl_batch_hdr_t h;

        if (sl_batch_hdr_parse(p + off, len - off, &h) != SL_OK || h.batch_length < 0)
            return SL_KERR_NONE; /* the log's validation reports the malformed batch */
        if (!(h.attributes & SL_ATTR_LOG_APPEND_TIME) &&
            tc->message_timestamp_type == SL_CFG_TS_CREATE_TIME) {
            if ((tc->message_timestamp_before_max_ms < INT64_MAX &&
                 h.base_timestamp < now - tc->message_timestamp_before_max_ms) ||
                (tc->message_timestamp_after_max_ms < INT64_MAX &&
                 h.max_timestamp > now + tc->message_timestamp_after_max_ms))
                return SL_KERR_INVALID_TIMESTAMP;
        }
        off += (size_t)sl_batch_size(&h);
    }
    return SL_KERR_NONE;
}

static int16_t
precheck(sl_req_t *req, const sl_topic_t *t, sl_bytes_t records)
{
    int16_t ver = req->hdr.api_version;
    sl_batch_hdr_t h;

    if (records.len <= 0)
        return SL_KERR_CORRUPT_MESSAGE;
    if (records.len < SL_BATCH_HEADER_SIZE ||
        sl_batch_hdr_parse(records.ptr, (size_t)records.len, &h) != SL_OK)
        return SL_KERR_CORRUPT_MESSAGE;
    if (h.magic != 2)
        /* Message formats v0/v1 need up-conversion (legacy clients). */
        return ver < 3 ? SL_KERR_UNSUPPORTED_VERSION : SL_KERR_INVALID_RECORD;
    if (sl_batch_codec(&h) == SL_CODEC_ZSTD && ver < 7)
        return SL_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    return check_timestamps(&t->cfg, records.ptr, (size_t)records.len, sl_wall_ms());
}

static void
produce_partition(sl_req_t *req, sl_bpart_t *bp, const sl_topic_t *t,
                  sl_ProduceRequest_PartitionProduceData_t *pd,
                  sl_ProduceResponse_PartitionProduceResponse_t *pr, int64_t *flush_upto)
{
    sl_log_append_info_t info;
    int rc;

    *flush_upto = -1;
    pr->ErrorCode = precheck(req, t, pd->Records);
    if (pr->ErrorCode != SL_KERR_NONE)
        return;
    rc = sl_records_validate(req->b, pd->Records.ptr, (size_t)pd->Records.len);
    if (rc == SL_OK)
        rc = sl_plog_append(bp->pl, (uint8_t *)pd->Records.ptr, (size_t)pd->Records.len, &info);
    if (rc != SL_OK) {
        pr->ErrorCode = sl_kerr_from_status(rc);
        return;
    }
    pr->BaseOffset = info.base_offset;
    pr->LogAppendTimeMs = info.log_append_time;
    pr->LogStartOffset = info.log_start_offset;
    *flush_upto = info.last_offset + 1;
    sl_fetch_on_append(req->b, bp, info.bytes);
}

static void
produce_cancel(sl_req_t *req)
{
    produce_park_t *park = req->park;

    for (int32_t i = 0; i < park->n_waits; i++)
        sl_dlist_remove(&park->waits[i].link);
}

/* Queues an acks=all wait; returns false if the data is already durable or
 * never will be (then pr holds the answer). */
static bool
wait_durable(sl_req_t *req, sl_bpart_t *bp, sl_ProduceResponse_PartitionProduceResponse_t *pr,
             int64_t upto, produce_park_t *park)
{
    int rc = sl_plog_request_flush(bp->pl, upto);
    produce_wait_t *w;

    if (rc == SL_OK)
        return false;
    if (rc != SL_EAGAIN) {
        pr->ErrorCode = SL_KERR_KAFKA_STORAGE_ERROR;
        return false;
    }
    w = &park->waits[park->n_waits++];
    w->req = req;
    w->pr = pr;
    w->upto = upto;
    sl_dlist_insert_tail(&bp->produce_waiters, &w->link);
    park->pending++;
    return true;
}

static int16_t
check_acks(int16_t acks)
{
    return (acks == 0 || acks == 1 || acks == -1) ? SL_KERR_NONE : SL_KERR_INVALID_REQUIRED_ACKS;
}

int
sl_h_Produce(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_ProduceRequest_t *pq = req->body;
    sl_ProduceResponse_t *resp = sl_req_resp_new(req);
    produce_park_t *park = sl_arena_zalloc(&req->arena, sizeof(*park));
    int16_t acks_err = check_acks(pq->Acks);
    int32_t total = 0;

    for (int32_t i = 0; i < pq->TopicData.len; i++)
        total += pq->TopicData.items[i].PartitionData.len;
    park->waits = sl_arena_array(&req->arena, (size_t)total, sizeof(*park->waits));
    SL_KARR(req, resp->Responses, pq->TopicData.len, sl_ProduceResponse_TopicProduceResponse_init);
    for (int32_t i = 0; i < pq->TopicData.len; i++) {
        sl_ProduceRequest_TopicProduceData_t *td = &pq->TopicData.items[i];
        sl_ProduceResponse_TopicProduceResponse_t *tr = &resp->Responses.items[i];
        const sl_topic_t *t = sl_topics_find(b->topics, td->Name);

        tr->Name = td->Name;
        SL_KARR(req, tr->PartitionResponses, td->PartitionData.len,
                sl_ProduceResponse_PartitionProduceResponse_init);
        for (int32_t j = 0; j < td->PartitionData.len; j++) {
            sl_ProduceRequest_PartitionProduceData_t *pd = &td->PartitionData.items[j];
            sl_ProduceResponse_PartitionProduceResponse_t *pr = &tr->PartitionResponses.items[j];
            sl_bpart_t *bp = sl_bpart_find(b, td->Name, pd->Index);
            int64_t upto;

            pr->Index = pd->Index;
            if (acks_err != SL_KERR_NONE) {
                pr->ErrorCode = acks_err;
                continue;
            }
            if (bp == NULL || t == NULL) {
                pr->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            produce_partition(req, bp, t, pd, pr, &upto);
            if (upto >= 0 && pq->Acks == -1)
                wait_durable(req, bp, pr, upto, park);
        }
    }
    if (pq->Acks == 0)
        return park->pending ? (produce_cancel(req), SL_REQ_NO_REPLY) : SL_REQ_NO_REPLY;
    if (park->pending == 0)
        return SL_OK;
    /* The response must not point into the frame: the connection reads on
     * while this request waits for its fsync (req.c's pipeline). */
    for (int32_t i = 0; i < resp->Responses.len; i++) {
        sl_str_t *name = &resp->Responses.items[i].Name;

        name->ptr = sl_arena_memdup(&req->arena, name->ptr, (size_t)SL_MAX(name->len, 0));
    }
    req->park = park;
    req->cancel = produce_cancel;
    req->detachable = true;
    return SL_REQ_PARKED;
}

void
sl_produce_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc)
{
    sl_dlist_t *n = bp->produce_waiters.next, *next;

    (void)b;
    for (; n != &bp->produce_waiters; n = next) {
        produce_wait_t *w = SL_CONTAINER_OF(n, produce_wait_t, link);
        produce_park_t *park;

        next = n->next;
        if (rc == SL_OK && w->upto > durable_end)
            continue;
        if (rc != SL_OK)
            w->pr->ErrorCode = sl_kerr_from_status(rc == SL_ENOENT ? SL_ENOENT : SL_EIO);
        sl_dlist_remove(n);
        park = w->req->park;
        if (--park->pending == 0)
            sl_req_finish(w->req);
    }
}
