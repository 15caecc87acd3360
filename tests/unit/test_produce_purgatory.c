/*
 * test_produce_purgatory.c -- acks=all Produce as a delayed operation of
 * the produce purgatory, through the wire of an in-process broker:
 * pipelined requests answered in order once durable, REQUEST_TIMED_OUT
 * past TimeoutMs when no fsync completes, a closed connection forgotten,
 * a deleted partition answered from the loop. The group coordinator's
 * writes to __consumer_offsets wait in the same purgatory.
 */
#include "test_broker.h"

/* Sends one Produce of one record to topic-p without reading the answer. */
static void
produce_send(tb_t *t, const char *topic, int32_t p, int16_t acks, int32_t timeout_ms)
{
    sl_batch_builder_t bb;
    sl_batch_opts_t o;
    sl_buf_t batch = SL_BUF_INIT;
    sl_ProduceRequest_t pq;

    sl_batch_opts_init(&o);
    sl_batch_builder_init(&bb, &o);
    SL_CHECK_OK(sl_batch_builder_append(&bb, sl_wall_ms(), (sl_bytes_t){NULL, -1},
                                        (sl_bytes_t){(const uint8_t *)"w", 1}, NULL, 0));
    SL_CHECK_OK(sl_batch_builder_finish(&bb, &batch));
    sl_ProduceRequest_init(&pq);
    pq.Acks = acks;
    pq.TimeoutMs = timeout_ms;
    SL_KARR(t, pq.TopicData, 1, sl_ProduceRequest_TopicProduceData_init);
    pq.TopicData.items[0].Name = sl_str_c(topic);
    SL_KARR(t, pq.TopicData.items[0].PartitionData, 1, sl_ProduceRequest_PartitionProduceData_init);
    pq.TopicData.items[0].PartitionData.items[0].Index = p;
    pq.TopicData.items[0].PartitionData.items[0].Records =
        (sl_bytes_t){batch.data, (int32_t)batch.len};
    tb_send(t, 0, 8, &sl_kmsg_ProduceRequest, &pq);
    sl_buf_deinit(&batch);
    sl_batch_builder_deinit(&bb);
}

/* Reads the answers of n Produce requests sent back to back: they come in
 * request order; codes[i] and bases[i] of the i-th. */
static void
produce_answers(tb_t *t, int n, int16_t *codes, int64_t *bases)
{
    int64_t deadline = sl_mono_ms() + DEADLINE_MS;
    int32_t first = t->corr - n + 1;
    size_t off = 0;
    int got = 0;

    sl_buf_reset(&t->rx);
    while (got < n) {
        uint8_t tmp[65536];
        ssize_t r;

        SL_CHECK(sl_mono_ms() < deadline);
        (void)sl_loop_run_once(t->b.loop, 5);
        r = recv(t->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        SL_CHECK(r != 0);
        if (r > 0)
            sl_buf_append(&t->rx, tmp, (size_t)r);
        while (got < n && t->rx.len - off >= 4 &&
               t->rx.len - off >= 4 + (size_t)sl_be32(t->rx.data + off)) {
            size_t len = sl_be32(t->rx.data + off);
            sl_ProduceResponse_t pr;
            sl_reader_t rd;
            int32_t corr = 0;

            sl_rd_init(&rd, t->rx.data + off + 4, len);
            SL_CHECK_OK(sl_kheader_response_decode(&rd, 0, 8, &corr));
            SL_CHECK_EQ(corr, first + got);
            SL_CHECK_OK(sl_kdecode(&sl_kmsg_ProduceResponse, &pr, 8, &rd, &t->arena));
            SL_CHECK_EQ(pr.Responses.len, 1);
            SL_CHECK_EQ(pr.Responses.items[0].PartitionResponses.len, 1);
            codes[got] = pr.Responses.items[0].PartitionResponses.items[0].ErrorCode;
            bases[got] = pr.Responses.items[0].PartitionResponses.items[0].BaseOffset;
            got++;
            off += 4 + len;
        }
    }
}

/* acks=all Produces pipelined on one connection are answered in order once
 * their data is durable; nothing waits on the partition afterwards. */
SL_TEST(produce_acks_all_pipelined_in_order)
{
    tb_t t;
    int16_t codes[8];
    int64_t bases[8];
    sl_bpart_t *bp;

    tb_start(&t);
    tb_topic(&t, "all");
    for (int i = 0; i < 8; i++)
        produce_send(&t, "all", 0, -1, 30000);
    produce_answers(&t, 8, codes, bases);
    for (int i = 0; i < 8; i++) {
        SL_CHECK_EQ(codes[i], SL_KERR_NONE);
        SL_CHECK_EQ(bases[i], i);
    }
    bp = sl_bpart_find(&t.b, sl_str_c("all"), 0);
    SL_CHECK(sl_plog_durable_offset(bp->pl) >= 8);
    SL_CHECK(sl_dlist_empty(&bp->produce_key.watches));
    tb_stop(&t);
}

/* No fsync completion reaches the broker (its log-manager watch paused):
 * past TimeoutMs the Produce answers REQUEST_TIMED_OUT (7), as Kafka's
 * DelayedProduce on expiration; the data stays appended, and once the
 * completions flow again acks=all answers NONE. */
SL_TEST(produce_acks_all_times_out_without_fsync)
{
    tb_t t;
    int16_t code;
    int64_t base;
    sl_bpart_t *bp;

    tb_start(&t);
    tb_topic(&t, "slow");
    bp = sl_bpart_find(&t.b, sl_str_c("slow"), 0);
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, 0);
    produce_send(&t, "slow", 0, -1, 100);
    produce_answers(&t, 1, &code, &base);
    SL_CHECK_EQ(code, SL_KERR_REQUEST_TIMED_OUT);
    SL_CHECK_EQ(code, 7);
    SL_CHECK_EQ(base, 0);
    SL_CHECK(sl_dlist_empty(&bp->produce_key.watches));
    /* A parked one whose connection closes is forgotten (no answer, no
     * leak under ASan). */
    produce_send(&t, "slow", 0, -1, 30000);
    for (int64_t end = sl_mono_ms() + DEADLINE_MS;
         sl_dlist_empty(&bp->produce_key.watches) && sl_mono_ms() < end;)
        (void)sl_loop_run_once(t.b.loop, 5);
    SL_CHECK(!sl_dlist_empty(&bp->produce_key.watches));
    close(t.fd);
    for (int64_t end = sl_mono_ms() + DEADLINE_MS;
         !sl_dlist_empty(&bp->produce_key.watches) && sl_mono_ms() < end;)
        (void)sl_loop_run_once(t.b.loop, 5);
    SL_CHECK(sl_dlist_empty(&bp->produce_key.watches));
    t.fd = connect_to(t.b.adv_port);
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, SL_EV_READ);
    produce_send(&t, "slow", 0, -1, 30000);
    produce_answers(&t, 1, &code, &base);
    SL_CHECK_EQ(code, SL_KERR_NONE);
    SL_CHECK_EQ(base, 2);
    tb_stop(&t);
}

/* A topic deleted under a parked acks=all Produce: the request answers
 * UNKNOWN_TOPIC_OR_PARTITION from the loop, after the partition is gone. */
SL_TEST(produce_acks_all_partition_deleted)
{
    tb_t t;
    int16_t code;
    int64_t base;
    sl_bpart_t *bp;

    tb_start(&t);
    tb_topic(&t, "gone");
    bp = sl_bpart_find(&t.b, sl_str_c("gone"), 0);
    /* Let the start-up writes (leader-epoch-checkpoint) of both partitions
     * land first: a durable acks=all produce comes after them. */
    for (int32_t p = 0; p < 2; p++) {
        produce_send(&t, "gone", p, -1, 30000);
        produce_answers(&t, 1, &code, &base);
        SL_CHECK_EQ(code, SL_KERR_NONE);
    }
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, 0);
    produce_send(&t, "gone", 0, -1, 30000);
    for (int64_t end = sl_mono_ms() + DEADLINE_MS;
         sl_dlist_empty(&bp->produce_key.watches) && sl_mono_ms() < end;)
        (void)sl_loop_run_once(t.b.loop, 5);
    SL_CHECK(!sl_dlist_empty(&bp->produce_key.watches));
    sl_btopic_drop(&t.b, sl_str_c("gone"));
    produce_answers(&t, 1, &code, &base);
    SL_CHECK_EQ(code, SL_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, SL_EV_READ);
    tb_stop(&t);
}

/* ---- the coordinator's writes ---------------------------------------------------- */

/* One OffsetCommit v2 (no generation: a simple commit) of topic-0. */
static int16_t
commit_one(tb_t *t, const char *group, const char *topic, int64_t offset)
{
    sl_OffsetCommitRequest_t q;
    sl_OffsetCommitResponse_t r;
    sl_OffsetCommitRequest_OffsetCommitRequestPartition_t *p;

    sl_OffsetCommitRequest_init(&q);
    q.GroupId = sl_str_c(group);
    q.GenerationIdOrMemberEpoch = -1;
    q.MemberId = sl_str_c("");
    q.RetentionTimeMs = -1;
    SL_KARR(t, q.Topics, 1, sl_OffsetCommitRequest_OffsetCommitRequestTopic_init);
    q.Topics.items[0].Name = sl_str_c(topic);
    SL_KARR(t, q.Topics.items[0].Partitions, 1,
            sl_OffsetCommitRequest_OffsetCommitRequestPartition_init);
    p = &q.Topics.items[0].Partitions.items[0];
    p->PartitionIndex = 0;
    p->CommittedOffset = offset;
    p->CommittedMetadata = sl_str_c("");
    tb_call(t, 8, 2, &sl_kmsg_OffsetCommitRequest, &q, &sl_kmsg_OffsetCommitResponse, &r);
    SL_CHECK_EQ(r.Topics.len, 1);
    SL_CHECK_EQ(r.Topics.items[0].Partitions.len, 1);
    return r.Topics.items[0].Partitions.items[0].ErrorCode;
}

/* A commit answers once its record is durable; with no fsync completing,
 * past offsets.commit.timeout.ms it answers COORDINATOR_NOT_AVAILABLE (15),
 * as Kafka maps a timed-out coordinator append. */
SL_TEST(produce_purgatory_holds_coordinator_writes)
{
    tb_t t;

    tb_start_with(&t, "offsets.commit.timeout.ms=100");
    SL_CHECK_EQ(t.b.offsets_commit_timeout_ms, 100);
    tb_topic(&t, "committed");
    SL_CHECK_EQ(commit_one(&t, "g1", "committed", 5), SL_KERR_NONE);
    SL_CHECK(sl_dlist_empty(&t.b.gpersists));
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, 0);
    SL_CHECK_EQ(commit_one(&t, "g1", "committed", 6), SL_KERR_COORDINATOR_NOT_AVAILABLE);
    SL_CHECK_EQ(commit_one(&t, "g1", "committed", 6), 15);
    SL_CHECK(sl_dlist_empty(&t.b.gpersists));
    sl_loop_fd_set(t.b.loop, &t.b.logs_watch, SL_EV_READ);
    SL_CHECK_EQ(commit_one(&t, "g1", "committed", 7), SL_KERR_NONE);
    tb_stop(&t);
}
