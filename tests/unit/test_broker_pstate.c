/*
 * test_broker_pstate.c -- the partition-state layer seen through the wire:
 * a broker runs in-process on 127.0.0.1 (port 0), a test moves a
 * partition's leadership with a delta (as a metadata backend would), and
 * a blocking client socket checks the exact codes Metadata, Produce, Fetch
 * and ListOffsets answer. Also the metadata interface's asynchronous path:
 * a backend that completes later parks CreateTopics until it does.
 *
 * The broker harness (test_broker.h) runs the loop in this thread.
 */
#include "test_broker.h"

/* ---- Metadata ---------------------------------------------------------------- */

SL_TEST(pstate_metadata_shows_the_state)
{
    tb_t t;
    sl_MetadataRequest_t mq;
    sl_MetadataResponse_t mr;
    sl_MetadataResponse_MetadataResponsePartition_t *p0, *p1;

    tb_start(&t);
    tb_topic(&t, "moved");
    tb_move(&t, "moved", 0, OTHER, 5);
    sl_MetadataRequest_init(&mq);
    SL_KARR(&t, mq.Topics, 1, sl_MetadataRequest_MetadataRequestTopic_init);
    mq.Topics.items[0].Name = sl_str_c("moved");
    tb_call(&t, 3, 8, &sl_kmsg_MetadataRequest, &mq, &sl_kmsg_MetadataResponse, &mr);
    SL_CHECK_EQ(mr.Topics.len, 1);
    SL_CHECK_EQ(mr.Topics.items[0].ErrorCode, SL_KERR_NONE);
    SL_CHECK_EQ(mr.Topics.items[0].Partitions.len, 2);
    p0 = &mr.Topics.items[0].Partitions.items[0];
    p1 = &mr.Topics.items[0].Partitions.items[1];
    SL_CHECK_EQ(p0->LeaderId, OTHER);
    SL_CHECK_EQ(p0->LeaderEpoch, 5);
    SL_CHECK_EQ(p0->ReplicaNodes.len, 2);
    SL_CHECK_EQ(p0->ReplicaNodes.items[0], OTHER);
    SL_CHECK_EQ(p0->ReplicaNodes.items[1], SELF);
    SL_CHECK_EQ(p0->IsrNodes.len, 2);
    SL_CHECK_EQ(p0->OfflineReplicas.len, 1);
    SL_CHECK_EQ(p0->OfflineReplicas.items[0], SELF);
    /* The untouched partition is the single-node default. */
    SL_CHECK_EQ(p1->LeaderId, SELF);
    SL_CHECK_EQ(p1->LeaderEpoch, 0);
    SL_CHECK_EQ(p1->ReplicaNodes.len, 1);
    SL_CHECK_EQ(p1->ReplicaNodes.items[0], SELF);
    SL_CHECK_EQ(p1->OfflineReplicas.len, 0);
    tb_stop(&t);
}

/* ---- Produce, Fetch, ListOffsets ---------------------------------------------- */

/* One Produce (acks=1) of one record to topic-p; returns the error code. */
static int16_t
produce_one(tb_t *t, const char *topic, int32_t p)
{
    sl_batch_builder_t bb;
    sl_batch_opts_t o;
    sl_buf_t batch = SL_BUF_INIT;
    sl_ProduceRequest_t pq;
    sl_ProduceResponse_t pr;
    int16_t code;

    sl_batch_opts_init(&o);
    sl_batch_builder_init(&bb, &o);
    SL_CHECK_OK(sl_batch_builder_append(&bb, sl_wall_ms(), (sl_bytes_t){NULL, -1},
                                        (sl_bytes_t){(const uint8_t *)"v", 1}, NULL, 0));
    SL_CHECK_OK(sl_batch_builder_finish(&bb, &batch));
    sl_ProduceRequest_init(&pq);
    pq.Acks = 1;
    pq.TimeoutMs = 10000;
    SL_KARR(t, pq.TopicData, 1, sl_ProduceRequest_TopicProduceData_init);
    pq.TopicData.items[0].Name = sl_str_c(topic);
    SL_KARR(t, pq.TopicData.items[0].PartitionData, 1, sl_ProduceRequest_PartitionProduceData_init);
    pq.TopicData.items[0].PartitionData.items[0].Index = p;
    pq.TopicData.items[0].PartitionData.items[0].Records =
        (sl_bytes_t){batch.data, (int32_t)batch.len};
    tb_call(t, 0, 8, &sl_kmsg_ProduceRequest, &pq, &sl_kmsg_ProduceResponse, &pr);
    SL_CHECK_EQ(pr.Responses.len, 1);
    SL_CHECK_EQ(pr.Responses.items[0].PartitionResponses.len, 1);
    code = pr.Responses.items[0].PartitionResponses.items[0].ErrorCode;
    sl_buf_deinit(&batch);
    sl_batch_builder_deinit(&bb);
    return code;
}

/* One Fetch v11 of topic-p from offset 0 with the client's leader epoch. */
static int16_t
fetch_one(tb_t *t, const char *topic, int32_t p, int32_t epoch, int64_t *hw)
{
    sl_FetchRequest_t fq;
    sl_FetchResponse_t fr;
    sl_FetchRequest_FetchPartition_t *fp;

    sl_FetchRequest_init(&fq);
    fq.MaxWaitMs = 0;
    fq.MinBytes = 1;
    SL_KARR(t, fq.Topics, 1, sl_FetchRequest_FetchTopic_init);
    fq.Topics.items[0].Topic = sl_str_c(topic);
    SL_KARR(t, fq.Topics.items[0].Partitions, 1, sl_FetchRequest_FetchPartition_init);
    fp = &fq.Topics.items[0].Partitions.items[0];
    fp->Partition = p;
    fp->CurrentLeaderEpoch = epoch;
    fp->FetchOffset = 0;
    fp->PartitionMaxBytes = 1 << 20;
    fq.ForgottenTopicsData.len = 0;
    fq.RackId = sl_str_c("");
    tb_call(t, 1, 11, &sl_kmsg_FetchRequest, &fq, &sl_kmsg_FetchResponse, &fr);
    SL_CHECK_EQ(fr.Responses.len, 1);
    SL_CHECK_EQ(fr.Responses.items[0].Partitions.len, 1);
    *hw = fr.Responses.items[0].Partitions.items[0].HighWatermark;
    return fr.Responses.items[0].Partitions.items[0].ErrorCode;
}

/* One ListOffsets v5 (latest) of topic-p with the client's leader epoch. */
static int16_t
list_one(tb_t *t, const char *topic, int32_t p, int32_t epoch, int64_t *offset)
{
    sl_ListOffsetsRequest_t lq;
    sl_ListOffsetsResponse_t lr;
    sl_ListOffsetsRequest_ListOffsetsPartition_t *lp;

    sl_ListOffsetsRequest_init(&lq);
    lq.ReplicaId = -1;
    SL_KARR(t, lq.Topics, 1, sl_ListOffsetsRequest_ListOffsetsTopic_init);
    lq.Topics.items[0].Name = sl_str_c(topic);
    SL_KARR(t, lq.Topics.items[0].Partitions, 1, sl_ListOffsetsRequest_ListOffsetsPartition_init);
    lp = &lq.Topics.items[0].Partitions.items[0];
    lp->PartitionIndex = p;
    lp->CurrentLeaderEpoch = epoch;
    lp->Timestamp = -1; /* latest */
    tb_call(t, 2, 5, &sl_kmsg_ListOffsetsRequest, &lq, &sl_kmsg_ListOffsetsResponse, &lr);
    SL_CHECK_EQ(lr.Topics.len, 1);
    SL_CHECK_EQ(lr.Topics.items[0].Partitions.len, 1);
    *offset = lr.Topics.items[0].Partitions.items[0].Offset;
    return lr.Topics.items[0].Partitions.items[0].ErrorCode;
}

SL_TEST(pstate_not_leader_is_refused)
{
    tb_t t;
    int64_t v;

    tb_start(&t);
    tb_topic(&t, "led");
    SL_CHECK_EQ(produce_one(&t, "led", 0), SL_KERR_NONE);
    tb_move(&t, "led", 0, OTHER, 3);
    SL_CHECK_EQ(produce_one(&t, "led", 0), SL_KERR_NOT_LEADER_OR_FOLLOWER);
    SL_CHECK_EQ(fetch_one(&t, "led", 0, -1, &v), SL_KERR_NOT_LEADER_OR_FOLLOWER);
    SL_CHECK_EQ(v, -1);
    SL_CHECK_EQ(fetch_one(&t, "led", 0, 3, &v), SL_KERR_NOT_LEADER_OR_FOLLOWER);
    SL_CHECK_EQ(list_one(&t, "led", 0, -1, &v), SL_KERR_NOT_LEADER_OR_FOLLOWER);
    SL_CHECK_EQ(v, -1);
    /* The other partition is still ours. */
    SL_CHECK_EQ(produce_one(&t, "led", 1), SL_KERR_NONE);
    SL_CHECK_EQ(fetch_one(&t, "led", 1, -1, &v), SL_KERR_NONE);
    SL_CHECK_EQ(v, 1);
    /* Leadership comes back at a newer epoch: served again, and the log
     * records the epoch in what it appends. */
    tb_move(&t, "led", 0, SELF, 4);
    SL_CHECK_EQ(produce_one(&t, "led", 0), SL_KERR_NONE);
    SL_CHECK_EQ(fetch_one(&t, "led", 0, 4, &v), SL_KERR_NONE);
    SL_CHECK_EQ(v, 2);
    SL_CHECK_EQ(sl_plog_leader_epoch(sl_bpart_find(&t.b, sl_str_c("led"), 0)->pl), 4);
    tb_stop(&t);
}

SL_TEST(pstate_kip320_epoch_checks)
{
    tb_t t;
    int64_t v;

    tb_start(&t);
    tb_topic(&t, "ep");
    tb_move(&t, "ep", 0, SELF, 7);
    SL_CHECK_EQ(produce_one(&t, "ep", 0), SL_KERR_NONE);
    /* Older than ours: the client is behind (FENCED_LEADER_EPOCH, 74). */
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 6, &v), SL_KERR_FENCED_LEADER_EPOCH);
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 6, &v), 74);
    SL_CHECK_EQ(list_one(&t, "ep", 0, 6, &v), 74);
    /* Newer than ours: we are behind (UNKNOWN_LEADER_EPOCH, 75). */
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 8, &v), 75);
    SL_CHECK_EQ(list_one(&t, "ep", 0, 8, &v), 75);
    /* Equal or unsaid: served. */
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 7, &v), SL_KERR_NONE);
    SL_CHECK_EQ(v, 1);
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, -1, &v), SL_KERR_NONE);
    SL_CHECK_EQ(list_one(&t, "ep", 0, 7, &v), SL_KERR_NONE);
    SL_CHECK_EQ(v, 1);
    /* The epoch is checked before leadership, as Kafka does. */
    tb_move(&t, "ep", 0, OTHER, 9);
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 8, &v), 74);
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 10, &v), 75);
    SL_CHECK_EQ(fetch_one(&t, "ep", 0, 9, &v), SL_KERR_NOT_LEADER_OR_FOLLOWER);
    tb_stop(&t);
}

/* ---- OffsetsForLeaderEpoch ------------------------------------------------------ */

typedef struct epoch_end {
    int16_t code;
    int32_t epoch;
    int64_t end;
} epoch_end_t;

/* One OffsetsForLeaderEpoch of topic-p: the end of `epoch` as the leader
 * knows it, with the client's current epoch (-1: none). */
static epoch_end_t
epoch_one(tb_t *t, int16_t ver, const char *topic, int32_t p, int32_t current, int32_t epoch)
{
    sl_OffsetForLeaderEpochRequest_t q;
    sl_OffsetForLeaderEpochResponse_t r;
    sl_OffsetForLeaderEpochRequest_OffsetForLeaderPartition_t *qp;
    sl_OffsetForLeaderEpochResponse_EpochEndOffset_t *rp;

    sl_OffsetForLeaderEpochRequest_init(&q);
    q.ReplicaId = -1;
    SL_KARR(t, q.Topics, 1, sl_OffsetForLeaderEpochRequest_OffsetForLeaderTopic_init);
    q.Topics.items[0].Topic = sl_str_c(topic);
    SL_KARR(t, q.Topics.items[0].Partitions, 1,
            sl_OffsetForLeaderEpochRequest_OffsetForLeaderPartition_init);
    qp = &q.Topics.items[0].Partitions.items[0];
    qp->Partition = p;
    qp->CurrentLeaderEpoch = current;
    qp->LeaderEpoch = epoch;
    tb_call(t, SL_API_OffsetForLeaderEpoch, ver, &sl_kmsg_OffsetForLeaderEpochRequest, &q,
            &sl_kmsg_OffsetForLeaderEpochResponse, &r);
    SL_CHECK_EQ(r.Topics.len, 1);
    SL_CHECK(sl_str_eq(r.Topics.items[0].Topic, sl_str_c(topic)));
    SL_CHECK_EQ(r.Topics.items[0].Partitions.len, 1);
    rp = &r.Topics.items[0].Partitions.items[0];
    SL_CHECK_EQ(rp->Partition, p);
    return (epoch_end_t){rp->ErrorCode, rp->LeaderEpoch, rp->EndOffset};
}

#define CHECK_EPOCH_END(got, c, e, o)                                                              \
    do {                                                                                           \
        epoch_end_t g_ = (got);                                                                    \
        SL_CHECK_EQ(g_.code, (c));                                                                 \
        SL_CHECK_EQ(g_.epoch, (e));                                                                \
        SL_CHECK_EQ(g_.end, (int64_t)(o));                                                         \
    } while (0)

/* Batches at epochs 0 (offset 0), 2 (1-2) and 5 (3): each epoch ends where
 * the next one starts, the latest at the log end; an epoch between two
 * known ones answers the older one's end. */
SL_TEST(pstate_offsets_for_leader_epoch_across_epochs)
{
    tb_t t;

    tb_start(&t);
    tb_topic(&t, "oe");
    SL_CHECK_EQ(produce_one(&t, "oe", 0), SL_KERR_NONE);
    tb_move(&t, "oe", 0, SELF, 2);
    SL_CHECK_EQ(produce_one(&t, "oe", 0), SL_KERR_NONE);
    SL_CHECK_EQ(produce_one(&t, "oe", 0), SL_KERR_NONE);
    tb_move(&t, "oe", 0, SELF, 5);
    SL_CHECK_EQ(produce_one(&t, "oe", 0), SL_KERR_NONE);

    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, -1, 5), SL_KERR_NONE, 5, 4);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 5), SL_KERR_NONE, 5, 4);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 4), SL_KERR_NONE, 2, 3);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 3), SL_KERR_NONE, 2, 3);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 2), SL_KERR_NONE, 2, 3);
    /* Below every epoch the cache holds (epoch 0 has no entry: the log
     * records only new epochs): the asked epoch, ending where the first
     * known one starts. */
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 1), SL_KERR_NONE, 1, 1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 0), SL_KERR_NONE, 0, 1);
    /* Newer than the latest, or no epoch at all: UNDEFINED, no error. */
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 6), SL_KERR_NONE, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, -1), SL_KERR_NONE, -1, -1);
    /* Every version: v0 has no LeaderEpoch (decodes as its default -1), v2+
     * checks CurrentLeaderEpoch, v4 is flexible. */
    CHECK_EPOCH_END(epoch_one(&t, 0, "oe", 0, -1, 2), SL_KERR_NONE, -1, 3);
    for (int16_t v = 1; v <= 4; v++)
        CHECK_EPOCH_END(epoch_one(&t, v, "oe", 0, -1, 2), SL_KERR_NONE, 2, 3);
    for (int16_t v = 2; v <= 4; v++) {
        CHECK_EPOCH_END(epoch_one(&t, v, "oe", 0, 4, 2), SL_KERR_FENCED_LEADER_EPOCH, -1, -1);
        CHECK_EPOCH_END(epoch_one(&t, v, "oe", 0, 6, 2), SL_KERR_UNKNOWN_LEADER_EPOCH, -1, -1);
    }
    /* The other partition never moved and is empty: epoch 0, the one it
     * is led at (no cache entry), ends at the log end. */
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 1, -1, 0), SL_KERR_NONE, 0, 0);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 1, -1, 1), SL_KERR_NONE, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 9, -1, 0), SL_KERR_UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "nope", 0, -1, 0), SL_KERR_UNKNOWN_TOPIC_OR_PARTITION, -1, -1);

    /* Leadership goes: the epoch first, then NOT_LEADER_OR_FOLLOWER. */
    tb_move(&t, "oe", 0, OTHER, 6);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, -1, 5), SL_KERR_NOT_LEADER_OR_FOLLOWER, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 6, 5), SL_KERR_NOT_LEADER_OR_FOLLOWER, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 5, 5), SL_KERR_FENCED_LEADER_EPOCH, -1, -1);
    CHECK_EPOCH_END(epoch_one(&t, 4, "oe", 0, 7, 5), SL_KERR_UNKNOWN_LEADER_EPOCH, -1, -1);
    tb_stop(&t);
}

/* ---- deltas and listeners ----------------------------------------------------- */

typedef struct heard {
    int calls;
    unsigned changes;
    int32_t partition;
} heard_t;

static void
on_change(void *ctx, const char *topic, const sl_pstate_t *ps, unsigned changes)
{
    heard_t *h = ctx;

    if (strcmp(topic, "heard") != 0)
        return;
    h->calls++;
    h->changes = changes;
    h->partition = ps->partition;
}

SL_TEST(pstate_listeners_hear_deltas)
{
    tb_t t;
    heard_t h = {0};
    int32_t one[] = {SELF};
    sl_pdelta_t stale = {.topic = "heard",
                         .partition = 1,
                         .leader_id = SELF,
                         .leader_epoch = 1,
                         .replicas = one,
                         .n_replicas = 1,
                         .isr = one,
                         .n_isr = 1};

    tb_start(&t);
    tb_topic(&t, "heard");
    SL_CHECK(sl_meta_listen(&t.b, on_change, &h));
    tb_move(&t, "heard", 1, OTHER, 2);
    SL_CHECK_EQ(h.calls, 1);
    SL_CHECK_EQ(h.partition, 1);
    SL_CHECK_EQ(h.changes, SL_PCHG_BECAME_FOLLOWER | SL_PCHG_NEW_EPOCH | SL_PCHG_REPLICAS);
    /* A late state from before is dropped and nobody hears of it. */
    SL_CHECK_EQ(sl_meta_apply(&t.b, &stale), SL_EFENCED_EPOCH);
    SL_CHECK_EQ(h.calls, 1);
    stale.topic = "nope";
    SL_CHECK_EQ(sl_meta_apply(&t.b, &stale), SL_ENOENT);
    tb_move(&t, "heard", 1, SELF, 3);
    SL_CHECK_EQ(h.calls, 2);
    SL_CHECK_EQ(h.changes, SL_PCHG_BECAME_LEADER | SL_PCHG_NEW_EPOCH | SL_PCHG_REPLICAS);
    tb_stop(&t);
}

/* The coordinator's listener unloads an offsets partition that moves away
 * and reloads it when it comes back (under ASan: without leaks or
 * use-after-free). */
SL_TEST(pstate_offsets_leadership_round_trip)
{
    tb_t t;

    tb_start(&t);
    tb_move(&t, SL_TOPIC_OFFSETS, 0, OTHER, 1);
    tb_move(&t, SL_TOPIC_OFFSETS, 0, SELF, 2);
    SL_CHECK(sl_pstate_is_leader(&sl_bpart_find(&t.b, SL_STR_LIT(SL_TOPIC_OFFSETS), 0)->st, SELF));
    tb_stop(&t);
}

/* ---- an asynchronous metadata backend ----------------------------------------- */

/* Completes each create on a later loop turn, as ZooKeeper would. */
typedef struct later {
    sl_broker_t *b;
    sl_meta_done_fn done;
    void *cookie;
    char name[256];
    int32_t partitions;
} later_t;

static int later_calls;

static void
later_fire(sl_loop_t *loop, void *arg)
{
    later_t *l = arg;
    sl_meta_create_t op = {
        .name = sl_str_c(l->name), .partitions = l->partitions, .replication_factor = -1};

    (void)loop;
    sl_meta_file_backend.create_topic(l->b, &op, l->done, l->cookie);
    free(l);
}

static void
later_create(void *ctx, const sl_meta_create_t *op, sl_meta_done_fn done, void *cookie)
{
    later_t *l = sl_xcalloc(1, sizeof(*l));

    l->b = ctx;
    l->done = done;
    l->cookie = cookie;
    l->partitions = op->partitions;
    snprintf(l->name, sizeof(l->name), "%.*s", op->name.len, op->name.ptr);
    later_calls++;
    sl_loop_defer_fn(l->b->loop, later_fire, l);
}

static const sl_meta_backend_t later_backend = {
    .name = "later",
    .create_topic = later_create,
};

static void
create_request(tb_t *t, sl_CreateTopicsRequest_t *cq, const char *name)
{
    sl_CreateTopicsRequest_init(cq);
    cq->timeoutMs = 30000;
    SL_KARR(t, cq->Topics, 1, sl_CreateTopicsRequest_CreatableTopic_init);
    cq->Topics.items[0].Name = sl_str_c(name);
    cq->Topics.items[0].NumPartitions = 3;
    cq->Topics.items[0].ReplicationFactor = -1;
    cq->Topics.items[0].Assignments.len = 0;
    cq->Topics.items[0].Configs.len = 0;
}

SL_TEST(pstate_create_topics_completes_later)
{
    tb_t t;
    sl_CreateTopicsRequest_t cq;
    sl_CreateTopicsResponse_t cr;

    tb_start(&t);
    t.b.meta = &later_backend;
    later_calls = 0;
    create_request(&t, &cq, "late");
    tb_call(&t, 19, 4, &sl_kmsg_CreateTopicsRequest, &cq, &sl_kmsg_CreateTopicsResponse, &cr);
    SL_CHECK_EQ(later_calls, 1);
    SL_CHECK_EQ(cr.Topics.len, 1);
    SL_CHECK_EQ(cr.Topics.items[0].ErrorCode, SL_KERR_NONE);
    /* (NumPartitions is v5+; CreateTopics is served up to v4.) */
    SL_CHECK(sl_bpart_find(&t.b, sl_str_c("late"), 2) != NULL);

    /* A connection that closes while its create is pending: the completion
     * still lands (the topic exists) and nothing is freed twice. */
    create_request(&t, &cq, "orphan");
    tb_send(&t, 19, 4, &sl_kmsg_CreateTopicsRequest, &cq);
    while (later_calls < 2)
        (void)sl_loop_run_once(t.b.loop, 5);
    close(t.fd);
    t.fd = connect_to(t.b.adv_port);
    for (int64_t end = sl_mono_ms() + DEADLINE_MS;
         sl_btopic_find(&t.b, sl_str_c("orphan")) == NULL && sl_mono_ms() < end;)
        (void)sl_loop_run_once(t.b.loop, 5);
    SL_CHECK(sl_btopic_find(&t.b, sl_str_c("orphan")) != NULL);
    tb_stop(&t);
}

/* A backend that never answers: the request's timeout answers for it. */
static sl_meta_done_fn stuck_done;
static void *stuck_cookie;

static void
stuck_create(void *ctx, const sl_meta_create_t *op, sl_meta_done_fn done, void *cookie)
{
    stuck_done = done;
    stuck_cookie = cookie;
}

static const sl_meta_backend_t stuck_backend = {
    .name = "stuck",
    .create_topic = stuck_create,
};

SL_TEST(pstate_create_topics_times_out)
{
    tb_t t;
    sl_CreateTopicsRequest_t cq;
    sl_CreateTopicsResponse_t cr;
    sl_meta_result_t res = {.rc = SL_OK};

    tb_start(&t);
    t.b.meta = &stuck_backend;
    create_request(&t, &cq, "stuck");
    cq.timeoutMs = 50;
    tb_call(&t, 19, 4, &sl_kmsg_CreateTopicsRequest, &cq, &sl_kmsg_CreateTopicsResponse, &cr);
    SL_CHECK_EQ(cr.Topics.len, 1);
    SL_CHECK_EQ(cr.Topics.items[0].ErrorCode, SL_KERR_REQUEST_TIMED_OUT);
    /* The late completion only frees the wait. */
    SL_CHECK(stuck_done != NULL);
    stuck_done(stuck_cookie, &res);
    tb_stop(&t);
}

/* ---- long-poll Fetch through the purgatory -------------------------------------- */

static void
long_poll(tb_t *t, const char *topic, int32_t *corr)
{
    sl_FetchRequest_t fq;
    sl_FetchRequest_FetchPartition_t *fp;

    sl_FetchRequest_init(&fq);
    fq.MaxWaitMs = 30000;
    fq.MinBytes = 1;
    SL_KARR(t, fq.Topics, 1, sl_FetchRequest_FetchTopic_init);
    fq.Topics.items[0].Topic = sl_str_c(topic);
    SL_KARR(t, fq.Topics.items[0].Partitions, 1, sl_FetchRequest_FetchPartition_init);
    fp = &fq.Topics.items[0].Partitions.items[0];
    fp->FetchOffset = 0;
    fp->PartitionMaxBytes = 1 << 20;
    fq.ForgottenTopicsData.len = 0;
    fq.RackId = sl_str_c("");
    tb_send(t, 1, 11, &sl_kmsg_FetchRequest, &fq);
    *corr = t->corr;
}

/* Parks until the fetch is in the purgatory. */
static void
wait_parked(tb_t *t, const char *topic)
{
    sl_bpart_t *bp = sl_bpart_find(&t->b, sl_str_c(topic), 0);
    int64_t end = sl_mono_ms() + DEADLINE_MS;

    while (sl_dlist_empty(&bp->fetch_key.watches) && sl_mono_ms() < end)
        (void)sl_loop_run_once(t->b.loop, 5);
    SL_CHECK(!sl_dlist_empty(&bp->fetch_key.watches));
}

static sl_FetchResponse_PartitionData_t *
poll_answer(tb_t *t, int fd, int32_t corr)
{
    sl_FetchResponse_t *fr = sl_arena_zalloc(&t->arena, sizeof(*fr));
    int other = t->fd;

    t->fd = fd;
    t->corr = corr;
    SL_CHECK(tb_recv_frame(t, sl_mono_ms() + DEADLINE_MS));
    tb_decode(t, 1, 11, &sl_kmsg_FetchResponse, fr);
    t->fd = other;
    SL_CHECK_EQ(fr->Responses.len, 1);
    SL_CHECK_EQ(fr->Responses.items[0].Partitions.len, 1);
    return &fr->Responses.items[0].Partitions.items[0];
}

SL_TEST(purgatory_long_poll_woken_by_produce)
{
    tb_t t;
    int fetcher;
    int32_t corr, pcorr;
    sl_FetchResponse_PartitionData_t *pd;

    tb_start(&t);
    tb_topic(&t, "poll");
    fetcher = t.fd;
    long_poll(&t, "poll", &corr);
    wait_parked(&t, "poll");
    t.fd = connect_to(t.b.adv_port);
    SL_CHECK_EQ(produce_one(&t, "poll", 0), SL_KERR_NONE);
    pcorr = t.corr;
    pd = poll_answer(&t, fetcher, corr);
    SL_CHECK_EQ(pd->ErrorCode, SL_KERR_NONE);
    SL_CHECK_EQ(pd->HighWatermark, 1);
    SL_CHECK(pd->Records.len > 0);
    t.corr = pcorr;
    close(fetcher);
    tb_stop(&t);
}

SL_TEST(purgatory_long_poll_on_deleted_topic)
{
    tb_t t;
    int32_t corr;
    sl_FetchResponse_PartitionData_t *pd;

    tb_start(&t);
    tb_topic(&t, "gone");
    long_poll(&t, "gone", &corr);
    wait_parked(&t, "gone");
    sl_btopic_drop(&t.b, sl_str_c("gone"));
    pd = poll_answer(&t, t.fd, corr);
    SL_CHECK_EQ(pd->ErrorCode, SL_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    tb_stop(&t);
}
