/*
 * h_epoch.c -- OffsetsForLeaderEpoch (API 23): for each partition, the end
 * offset of a leader epoch as the leader's epoch cache knows it
 * (sl_plog_epoch_end, Kafka's LeaderEpochFileCache.endOffsetFor). A
 * follower asks it to find where its log diverges from the leader's; a
 * KIP-320 consumer asks it after a leader change to detect truncation.
 */
#include "broker/broker_int.h"

/* Answers one partition in place; pr starts as (-1, -1). */
static void
answer(sl_broker_t *b, sl_str_t topic,
       const sl_OffsetForLeaderEpochRequest_OffsetForLeaderPartition_t *p,
       sl_OffsetForLeaderEpochResponse_EpochEndOffset_t *pr)
{
    sl_bpart_t *bp = sl_bpart_find(b, topic, p->Partition);
    int32_t found_epoch;
    int64_t end;

    pr->Partition = p->Partition;
    pr->LeaderEpoch = SL_UNDEFINED_EPOCH;
    pr->EndOffset = SL_UNDEFINED_EPOCH_OFFSET;
    if (bp == NULL) {
        pr->ErrorCode = sl_btopic_find(b, topic) ? SL_KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                 : sl_kerr_unknown_topic(topic);
        return;
    }
    /* KIP-320's order: CurrentLeaderEpoch (-1 before v2: not checked),
     * then leadership. Every asker -- consumer (ReplicaId -1), follower
     * (>= 0) or a pre-v3 request (-2) -- is answered by the leader only,
     * as Kafka 3's ReplicaManager does (fetchOnlyFromLeader = true). */
    pr->ErrorCode = sl_bpart_check_leader(b, bp, p->CurrentLeaderEpoch);
    if (pr->ErrorCode != SL_KERR_NONE)
        return;
    if (bp->pl == NULL) {
        pr->ErrorCode = SL_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    if (sl_plog_status(bp->pl) != SL_OK) {
        pr->ErrorCode = SL_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    /* The epoch we lead at ends at the log end, as the cache would answer
     * for its latest epoch. Said here because a log that never saw a
     * second leader has no cache entry for its epoch 0 (batches appended
     * as leader do not add one; only a new epoch does), and UNDEFINED for
     * it would read as truncation to a KIP-320 consumer. */
    if (p->LeaderEpoch >= 0 && p->LeaderEpoch == sl_plog_leader_epoch(bp->pl)) {
        pr->LeaderEpoch = p->LeaderEpoch;
        pr->EndOffset = sl_plog_leo(bp->pl);
        return;
    }
    /* An epoch the cache cannot place (negative, newer than the latest,
     * or none recorded) is no error: Kafka answers NONE with -1 / -1 and
     * the asker falls back (a follower truncates to its HW). */
    if (sl_plog_epoch_end(bp->pl, p->LeaderEpoch, &found_epoch, &end) != SL_OK)
        return;
    pr->LeaderEpoch = found_epoch;
    pr->EndOffset = end;
}

int
sl_h_OffsetForLeaderEpoch(sl_req_t *req)
{
    sl_OffsetForLeaderEpochRequest_t *q = req->body;
    sl_OffsetForLeaderEpochResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Topics, q->Topics.len,
            sl_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult_init);
    for (int32_t i = 0; i < q->Topics.len; i++) {
        sl_OffsetForLeaderEpochRequest_OffsetForLeaderTopic_t *t = &q->Topics.items[i];
        sl_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult_t *tr = &resp->Topics.items[i];

        tr->Topic = t->Topic;
        SL_KARR(req, tr->Partitions, t->Partitions.len,
                sl_OffsetForLeaderEpochResponse_EpochEndOffset_init);
        for (int32_t j = 0; j < t->Partitions.len; j++)
            answer(req->b, t->Topic, &t->Partitions.items[j], &tr->Partitions.items[j]);
    }
    return SL_OK;
}
