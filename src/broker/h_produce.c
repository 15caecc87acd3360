/*
 * h_produce.c -- Produce: validate each partition's batches, append them to
 * the partition log straight from the request frame (offsets patched in
 * place), and acknowledge by `acks`:
 *   acks=0   append, send nothing back;
 *   acks=1   answer once the data is written;
 *   acks=-1  answer once the data is fsynced: the request becomes a
 *            delayed operation in b->produce_purgatory watching each
 *            partition it wrote; the log manager's group-commit flush
 *            (one fsync covers every batch that arrived meanwhile) queues a
 *            check of the partition, which completes the request from the
 *            loop once every partition's offset is durable (later: once the
 *            HW passes it). A failed fsync answers KAFKA_STORAGE_ERROR: data
 *            whose fsync failed is never acknowledged. Past the request's
 *            TimeoutMs, partitions still waiting answer REQUEST_TIMED_OUT.
 * Old clients (Produce v0-v2 with message sets of magic 0/1) take a slower
 * path: the set is converted into one magic-2 batch (proto/legacy.h), which
 * is then appended like any other.
 */
#include "broker/broker_int.h"

#include "base/time.h"
#include "proto/legacy.h"
#include "proto/record.h"

#include <inttypes.h>

/* One partition of a parked acks=all Produce; waits[i] goes with the
 * operation's watches[i]. */
typedef struct produce_wait {
    sl_bpart_t *bp; /* NULL once answered */
    sl_ProduceResponse_PartitionProduceResponse_t *pr;
    int64_t upto;          /* offsets below it must be durable */
    uint64_t flush_errors; /* bp->flush_errors when it parked */
} produce_wait_t;

typedef struct produce_park {
    sl_delayed_t op; /* in b->produce_purgatory */
    sl_req_t *req;
    produce_wait_t *waits;
    sl_dwatch_t *watches;
    sl_dkey_t **keys;
    int32_t n_waits;
    int32_t pending;
} produce_park_t;

/* The checks of Kafka's ProduceRequest.validateRecords that pick the path;
 * everything else is proto/validate.h's (or legacy.h's) job. */
static int16_t
precheck(sl_req_t *req, sl_bytes_t records, bool *legacy)
{
    int16_t ver = req->hdr.api_version;
    int magic = records.len > 0 ? sl_legacy_peek_magic(records.ptr, (size_t)records.len) : -1;
    sl_batch_hdr_t h;

    *legacy = false;
    if (records.len <= 0)
        return SL_KERR_CORRUPT_MESSAGE;
    if (magic == 0 || magic == 1) {
        /* Kafka takes either old magic in any of v0-v2 (pykafka sends magic
         * 1 in v0) and only v2 batches from v3 on. */
        if (ver >= 3)
            return SL_KERR_INVALID_RECORD;
        *legacy = true;
        return SL_KERR_NONE;
    }
    if (records.len < SL_BATCH_HEADER_SIZE ||
        sl_batch_hdr_parse(records.ptr, (size_t)records.len, &h) != SL_OK)
        return SL_KERR_CORRUPT_MESSAGE;
    if (h.magic != 2)
        return SL_KERR_CORRUPT_MESSAGE;
    if (sl_batch_codec(&h) == SL_CODEC_ZSTD && ver < 7)
        return SL_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    return SL_KERR_NONE;
}

/* Kafka's codes for what validation and up-conversion refuse
 * (proto/validate.h, proto/legacy.h). */
static int16_t
validation_kerr(int rc)
{
    switch (rc) {
    case SL_EINVAL:
        return SL_KERR_INVALID_RECORD;
    case SL_ERANGE:
        return SL_KERR_INVALID_TIMESTAMP;
    default:
        return sl_kerr_from_status(rc);
    }
}

/* ErrorMessage and RecordErrors (v8+) for a refused batch, as Kafka's
 * RecordValidationException fills them; the strings are static. */
static void
report_refusal(sl_req_t *req, const sl_validate_result_t *res,
               sl_ProduceResponse_PartitionProduceResponse_t *pr)
{
    const char *reason = res->reason ? res->reason : "invalid records";

    if (res->n_record_errors == 0) {
        pr->ErrorMessage = sl_str_c(reason);
        return;
    }
    pr->ErrorMessage = sl_str_c(sl_arena_printf(
        &req->arena, "%s: %" PRId32 " record error(s), the first at batch index %" PRId32, reason,
        res->n_record_errors, res->record_errors[0].index));
    SL_KARR(req, pr->RecordErrors, res->n_record_errors_kept,
            sl_ProduceResponse_BatchIndexAndErrorMessage_init);
    for (int32_t i = 0; i < res->n_record_errors_kept; i++) {
        pr->RecordErrors.items[i].BatchIndex = res->record_errors[i].index;
        pr->RecordErrors.items[i].BatchIndexErrorMessage = sl_str_c(res->record_errors[i].reason);
    }
}

/* ---- old message formats ------------------------------------------------ */

/* Converts a magic 0/1 message set into one v2 batch in out, applying the
 * topic's key, timestamp and compression settings as Kafka's LogValidator
 * does on its conversion path. */
static int16_t
legacy_up(const sl_topic_t *t, sl_bytes_t records, sl_buf_t *out)
{
    const sl_topic_config_t *tc = &t->cfg;
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;
    sl_buf_t scratch = SL_BUF_INIT;
    int rc;

    sl_legacy_up_opts_init(&o);
    o.codec = tc->compression_type; /* SL_CFG_COMPRESSION_PRODUCER is -1 */
    o.level = sl_topic_codec_level(tc);
    o.require_key = (tc->cleanup_policy & SL_CFG_CLEANUP_COMPACT) != 0;
    o.log_append_time = tc->message_timestamp_type == SL_CFG_TS_LOG_APPEND_TIME;
    o.now_ms = sl_wall_ms();
    o.ts_before_max_ms = tc->message_timestamp_before_max_ms;
    o.ts_after_max_ms = tc->message_timestamp_after_max_ms;
    rc = sl_legacy_up_convert(records.ptr, (size_t)records.len, &o, out, &scratch, &info);
    sl_buf_deinit(&scratch);
    return rc == SL_OK ? SL_KERR_NONE : validation_kerr(rc);
}

static void
produce_partition(sl_req_t *req, sl_bpart_t *bp, const sl_topic_t *t,
                  sl_ProduceRequest_PartitionProduceData_t *pd,
                  sl_ProduceResponse_PartitionProduceResponse_t *pr, int64_t *flush_upto)
{
    sl_log_append_info_t info;
    sl_validate_result_t vres;
    sl_buf_t conv = SL_BUF_INIT;
    bool legacy;
    int rc = SL_OK;

    *flush_upto = -1;
    pr->ErrorCode = precheck(req, pd->Records, &legacy);
    if (pr->ErrorCode != SL_KERR_NONE)
        return;
    if (legacy) {
        pr->ErrorCode = legacy_up(t, pd->Records, &conv);
        if (pr->ErrorCode == SL_KERR_NONE)
            rc = sl_plog_append(bp->pl, conv.data, conv.len, &info);
        sl_buf_deinit(&conv);
        if (pr->ErrorCode != SL_KERR_NONE)
            return;
    } else {
        /* The frame is ours until the request completes: fixes go in place. */
        uint8_t *p = (uint8_t *)pd->Records.ptr;

        rc = sl_records_validate(req->b, &t->cfg, p, (size_t)pd->Records.len, &vres);
        if (rc != SL_OK) {
            pr->ErrorCode = validation_kerr(rc);
            report_refusal(req, &vres, pr);
            return;
        }
        rc = sl_records_recompress(req->b, &t->cfg, p, (size_t)pd->Records.len, &conv);
        if (rc == SL_OK && conv.len > 0)
            rc = sl_plog_append(bp->pl, conv.data, conv.len, &info);
        else if (rc == SL_OK)
            rc = sl_plog_append(bp->pl, p, (size_t)pd->Records.len, &info);
        sl_buf_deinit(&conv);
    }
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

    sl_delayed_cancel(&park->op);
}

static void
wait_answered(produce_park_t *park, produce_wait_t *w, int16_t code)
{
    if (code != SL_KERR_NONE)
        w->pr->ErrorCode = code;
    w->bp = NULL;
    park->pending--;
}

/* The purgatory's check: answers each partition whose offsets are durable
 * (or whose flush failed since it parked); true once none is left. The
 * replication wait (HW >= upto over the ISR) belongs here too. */
static bool
produce_try_complete(sl_delayed_t *op)
{
    produce_park_t *park = SL_CONTAINER_OF(op, produce_park_t, op);

    for (int32_t i = 0; i < park->n_waits; i++) {
        produce_wait_t *w = &park->waits[i];

        if (w->bp == NULL)
            continue;
        if (sl_plog_durable_offset(w->bp->pl) >= w->upto)
            wait_answered(park, w, SL_KERR_NONE);
        else if (w->bp->flush_errors != w->flush_errors)
            wait_answered(park, w, sl_kerr_from_status(SL_EIO));
    }
    return park->pending == 0;
}

/* Complete (every partition answered) or expired: a last look, then what
 * still waits timed out, as Kafka's DelayedProduce answers on expiration. */
static void
produce_done(sl_delayed_t *op, bool expired)
{
    produce_park_t *park = SL_CONTAINER_OF(op, produce_park_t, op);

    (void)expired;
    (void)produce_try_complete(op);
    for (int32_t i = 0; i < park->n_waits; i++) {
        if (park->waits[i].bp != NULL)
            wait_answered(park, &park->waits[i], SL_KERR_REQUEST_TIMED_OUT);
    }
    sl_req_finish(park->req);
}

/* Queues an acks=all wait; returns false if the data is already durable or
 * never will be (then pr holds the answer). */
static bool
wait_durable(sl_bpart_t *bp, sl_ProduceResponse_PartitionProduceResponse_t *pr, int64_t upto,
             produce_park_t *park)
{
    int rc = sl_plog_request_flush(bp->pl, upto);
    produce_wait_t *w;

    if (rc == SL_OK)
        return false;
    if (rc != SL_EAGAIN) {
        pr->ErrorCode = SL_KERR_KAFKA_STORAGE_ERROR;
        return false;
    }
    park->keys[park->n_waits] = &bp->produce_key;
    w = &park->waits[park->n_waits++];
    w->bp = bp;
    w->pr = pr;
    w->upto = upto;
    w->flush_errors = bp->flush_errors;
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
    park->req = req;
    park->waits = sl_arena_array(&req->arena, (size_t)total, sizeof(*park->waits));
    park->watches = sl_arena_array(&req->arena, (size_t)total, sizeof(*park->watches));
    park->keys = sl_arena_array(&req->arena, (size_t)total, sizeof(*park->keys));
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
            if (sl_internal_topic_refuse(td->Name, &pr->ErrorCode))
                continue;
            if (bp == NULL || t == NULL) {
                pr->ErrorCode = sl_kerr_unknown_topic(td->Name);
                continue;
            }
            if ((pr->ErrorCode = sl_bpart_check_leader(b, bp, -1)) != SL_KERR_NONE)
                continue;
            /* min.insync.replicas: this broker is the whole ISR (one
             * replica), so acks=all to a topic that wants more is refused
             * before anything is written, as Kafka's Partition.appendRecords
             * does when the ISR is too small. */
            if (pq->Acks == -1 && t->cfg.min_insync_replicas > 1) {
                pr->ErrorCode = SL_KERR_NOT_ENOUGH_REPLICAS;
                continue;
            }
            produce_partition(req, bp, t, pd, pr, &upto);
            if (upto >= 0 && pq->Acks == -1)
                wait_durable(bp, pr, upto, park);
        }
    }
    if (pq->Acks == 0)
        return SL_REQ_NO_REPLY;
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
    sl_delayed_init(&park->op, produce_try_complete, produce_done);
    /* TimeoutMs as Kafka takes it: 0 or less expires at once (on the next
     * loop turn, after any check already queued). */
    sl_purgatory_watch(&b->produce_purgatory, &park->op, park->keys, park->n_waits, park->watches,
                       SL_MAX(pq->TimeoutMs, 0));
    return SL_REQ_PARKED;
}

void
sl_produce_on_durable(sl_broker_t *b, sl_bpart_t *bp, int64_t durable_end, int rc)
{
    (void)durable_end; /* the check reads the log's durable offset */
    if (rc != SL_OK)
        bp->flush_errors++;
    sl_purgatory_check(&b->produce_purgatory, &bp->produce_key);
}

void
sl_produce_on_drop(sl_broker_t *b, sl_bpart_t *bp)
{
    sl_dlist_t *n, *next;

    /* The partition is answered now. A request with nothing else to wait
     * for completes on the next loop turn (drop_key), after bp is gone;
     * one still waiting on other partitions just stops watching this one. */
    for (n = bp->produce_key.watches.next; n != &bp->produce_key.watches; n = next) {
        sl_dwatch_t *dw = SL_CONTAINER_OF(n, sl_dwatch_t, link);
        produce_park_t *park;
        produce_wait_t *w;

        next = n->next;
        if (dw->op->try_complete != produce_try_complete)
            continue; /* a coordinator write: __consumer_offsets is never deleted */
        park = SL_CONTAINER_OF(dw->op, produce_park_t, op);
        w = &park->waits[dw - park->watches];
        if (w->bp == bp)
            wait_answered(park, w, sl_kerr_from_status(SL_ENOENT));
        if (park->pending > 0) {
            sl_dlist_remove(n);
            sl_dlist_init(n);
        }
    }
    sl_purgatory_drop_key(&b->produce_purgatory, &bp->produce_key);
}
