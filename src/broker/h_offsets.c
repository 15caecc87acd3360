/*
 * h_offsets.c -- ListOffsets (earliest, latest, by timestamp; v0's list of
 * offsets, "old_style_offsets") and DeleteRecords (advance the log start
 * offset).
 */
#include "broker/broker_int.h"

#define TS_LATEST   (-1)
#define TS_EARLIEST (-2)
#define TS_MAX      (-3)

#define DELETE_TO_HW (-1) /* DeleteRecords: Kafka's HIGH_WATERMARK */

/* Answers one partition; fills *offset and *ts (-1 when there is none). */
static int16_t
lookup(sl_broker_t *b, sl_bpart_t *bp, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    int rc;

    *offset = -1;
    *found_ts = -1;
    if (sl_plog_status(bp->pl) != SL_OK)
        return SL_KERR_KAFKA_STORAGE_ERROR;
    switch (ts) {
    case TS_LATEST:
        *offset = sl_plog_hw(bp->pl);
        return SL_KERR_NONE;
    case TS_EARLIEST:
        *offset = sl_plog_log_start(bp->pl);
        return SL_KERR_NONE;
    case TS_MAX:
        rc = sl_plog_max_timestamp(bp->pl, found_ts, offset);
        break;
    default:
        if (ts < 0)
            return SL_KERR_INVALID_REQUEST;
        rc = sl_offset_for_time(b, bp->pl, ts, offset, found_ts);
        break;
    }
    if (rc == SL_ENOENT) {
        *offset = -1;
        *found_ts = -1;
        return SL_KERR_NONE;
    }
    return sl_kerr_from_status(rc);
}

int
sl_h_ListOffsets(sl_req_t *req)
{
    sl_ListOffsetsRequest_t *lq = req->body;
    sl_ListOffsetsResponse_t *resp = sl_req_resp_new(req);
    bool v0 = req->hdr.api_version == 0;

    SL_KARR(req, resp->Topics, lq->Topics.len,
            sl_ListOffsetsResponse_ListOffsetsTopicResponse_init);
    for (int32_t i = 0; i < lq->Topics.len; i++) {
        sl_ListOffsetsRequest_ListOffsetsTopic_t *t = &lq->Topics.items[i];
        sl_ListOffsetsResponse_ListOffsetsTopicResponse_t *tr = &resp->Topics.items[i];

        tr->Name = t->Name;
        SL_KARR(req, tr->Partitions, t->Partitions.len,
                sl_ListOffsetsResponse_ListOffsetsPartitionResponse_init);
        for (int32_t j = 0; j < t->Partitions.len; j++) {
            sl_ListOffsetsRequest_ListOffsetsPartition_t *p = &t->Partitions.items[j];
            sl_ListOffsetsResponse_ListOffsetsPartitionResponse_t *pr = &tr->Partitions.items[j];
            sl_bpart_t *bp = sl_bpart_find(req->b, t->Name, p->PartitionIndex);
            int64_t off, ts;

            pr->PartitionIndex = p->PartitionIndex;
            if (bp == NULL) {
                pr->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            /* CurrentLeaderEpoch is -1 before v4. */
            pr->ErrorCode = sl_bpart_check_leader(req->b, bp, p->CurrentLeaderEpoch);
            if (pr->ErrorCode != SL_KERR_NONE) {
                pr->Offset = -1;
                pr->Timestamp = -1;
                pr->LeaderEpoch = -1;
                SL_KARR(req, pr->OldStyleOffsets, 0, SL_KNOINIT);
                continue;
            }
            pr->ErrorCode = lookup(req->b, bp, p->Timestamp, &off, &ts);
            pr->Offset = off;
            pr->Timestamp = ts;
            pr->LeaderEpoch = off >= 0 ? sl_plog_leader_epoch(bp->pl) : -1;
            if (v0) {
                /* v0 answers a list; at most MaxNumOffsets entries. Kafka
                 * lists segment base offsets older than the timestamp; one
                 * offset serves the clients that send v0 (they ask for one):
                 * the first record at or after it, or the end when every
                 * record is older. */
                bool one;

                if (pr->ErrorCode == SL_KERR_NONE && off < 0 && p->Timestamp >= 0)
                    off = sl_plog_hw(bp->pl);
                one = pr->ErrorCode == SL_KERR_NONE && off >= 0 && p->MaxNumOffsets > 0;

                SL_KARR(req, pr->OldStyleOffsets, one ? 1 : 0, SL_KNOINIT);
                if (one)
                    pr->OldStyleOffsets.items[0] = off;
            }
        }
    }
    return SL_OK;
}

int
sl_h_DeleteRecords(sl_req_t *req)
{
    sl_DeleteRecordsRequest_t *dq = req->body;
    sl_DeleteRecordsResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Topics, dq->Topics.len,
            sl_DeleteRecordsResponse_DeleteRecordsTopicResult_init);
    for (int32_t i = 0; i < dq->Topics.len; i++) {
        sl_DeleteRecordsRequest_DeleteRecordsTopic_t *t = &dq->Topics.items[i];
        sl_DeleteRecordsResponse_DeleteRecordsTopicResult_t *tr = &resp->Topics.items[i];

        tr->Name = t->Name;
        SL_KARR(req, tr->Partitions, t->Partitions.len,
                sl_DeleteRecordsResponse_DeleteRecordsPartitionResult_init);
        for (int32_t j = 0; j < t->Partitions.len; j++) {
            sl_DeleteRecordsRequest_DeleteRecordsPartition_t *p = &t->Partitions.items[j];
            sl_DeleteRecordsResponse_DeleteRecordsPartitionResult_t *pr = &tr->Partitions.items[j];
            sl_bpart_t *bp = sl_bpart_find(req->b, t->Name, p->PartitionIndex);
            int64_t low = -1;

            pr->PartitionIndex = p->PartitionIndex;
            pr->LowWatermark = -1;
            if (sl_internal_topic_refuse(t->Name, &pr->ErrorCode))
                continue;
            if (bp == NULL) {
                pr->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if ((pr->ErrorCode = sl_bpart_check_leader(req->b, bp, -1)) != SL_KERR_NONE)
                continue;
            /* -1 means "up to the high watermark"; any other negative offset
             * (librdkafka sends -1001 for a partition listed without one) is
             * out of range and deletes nothing, as in Kafka. */
            if (p->Offset < 0 && p->Offset != DELETE_TO_HW) {
                pr->ErrorCode = SL_KERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            pr->ErrorCode = sl_kerr_from_status(sl_plog_delete_records(bp->pl, p->Offset, &low));
            pr->LowWatermark = low;
        }
    }
    return SL_OK;
}
