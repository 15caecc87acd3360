/*
 * h_topics.c -- CreateTopics, DeleteTopics, CreatePartitions. Each topic is
 * one operation on the metadata backend (meta_file.c on a single node); the
 * request waits for all of them (sl_meta_wait_*), so a backend that
 * completes later (ZooKeeper) answers through the same path, and a topic
 * whose operation outlives the request's timeout is REQUEST_TIMED_OUT.
 */
#include "broker/broker_int.h"

static sl_str_t
msg_or_null(sl_req_t *req, int16_t code, const sl_errbuf_t *eb)
{
    if (code == SL_KERR_NONE || eb->msg[0] == '\0')
        return SL_STR_NULL;
    return sl_str_c(sl_arena_printf(&req->arena, "%s", eb->msg));
}

/* Explicit assignments fix the partition count and replication factor; on a
 * single node every replica must be this broker. */
static int
from_assignments(sl_req_t *req, const sl_CreateTopicsRequest_CreatableTopic_t *ct, int32_t *parts,
                 int32_t *rf, sl_errbuf_t *eb)
{
    if (ct->Assignments.len <= 0) {
        *parts = ct->NumPartitions;
        *rf = ct->ReplicationFactor;
        return SL_OK;
    }
    if (ct->NumPartitions != -1 || ct->ReplicationFactor != -1)
        return sl_errbuf_set(eb, SL_EINVALID_REQUEST,
                             "Both numPartitions or replicationFactor and replicasAssignments "
                             "were set. Both cannot be used at the same time.");
    *parts = ct->Assignments.len;
    *rf = ct->Assignments.items[0].BrokerIds.len;
    for (int32_t i = 0; i < ct->Assignments.len; i++) {
        const sl_CreateTopicsRequest_CreatableReplicaAssignment_t *a = &ct->Assignments.items[i];

        for (int32_t k = 0; k < a->BrokerIds.len; k++) {
            if (a->BrokerIds.items[k] != req->b->node_id)
                return sl_errbuf_set(eb, SL_EINVALID_REPLICATION,
                                     "Unknown broker %d in the replica assignment",
                                     a->BrokerIds.items[k]);
        }
    }
    return SL_OK;
}

/* ---- CreateTopics ---------------------------------------------------------- */

static void
create_fill(sl_req_t *req, int32_t i, const sl_meta_result_t *res)
{
    sl_CreateTopicsResponse_t *resp = req->resp;
    sl_CreateTopicsResponse_CreatableTopicResult_t *r = &resp->Topics.items[i];

    r->ErrorCode = sl_kerr_from_status(res->rc);
    r->ErrorMessage = msg_or_null(req, r->ErrorCode, &res->eb);
    if (res->rc == SL_OK && res->partitions > 0) {
        memcpy(r->TopicId.b, res->id, sizeof(r->TopicId.b));
        r->NumPartitions = res->partitions;
        r->ReplicationFactor = res->replication_factor;
    }
}

static void
create_timeout(sl_req_t *req, int32_t i)
{
    sl_CreateTopicsResponse_t *resp = req->resp;

    resp->Topics.items[i].ErrorCode = SL_KERR_REQUEST_TIMED_OUT;
}

static void
create_one(sl_req_t *req, const sl_CreateTopicsRequest_CreatableTopic_t *ct, bool validate_only,
           sl_meta_wait_t *w, int32_t i)
{
    sl_meta_create_t op = {.name = ct->Name, .validate_only = validate_only};
    sl_cfg_alter_t *cfgs;
    sl_meta_result_t bad = {0};
    sl_meta_done_fn done;
    void *cookie;

    cfgs = sl_arena_array(&req->arena, (size_t)SL_MAX(ct->Configs.len, 0), sizeof(*cfgs));
    for (int32_t k = 0; k < ct->Configs.len; k++) {
        cfgs[k].name = ct->Configs.items[k].Name;
        cfgs[k].value = ct->Configs.items[k].Value;
        cfgs[k].op = SL_CFG_OP_SET;
    }
    op.configs = cfgs;
    op.n_configs = (size_t)SL_MAX(ct->Configs.len, 0);
    sl_meta_wait_op(w, i, &done, &cookie);
    bad.rc = from_assignments(req, ct, &op.partitions, &op.replication_factor, &bad.eb);
    if (bad.rc != SL_OK) {
        done(cookie, &bad);
        return;
    }
    req->b->meta->create_topic(req->b->meta_ctx, &op, done, cookie);
}

int
sl_h_CreateTopics(sl_req_t *req)
{
    sl_CreateTopicsRequest_t *cq = req->body;
    sl_CreateTopicsResponse_t *resp = sl_req_resp_new(req);
    sl_meta_wait_t *w;

    SL_KARR(req, resp->Topics, cq->Topics.len, sl_CreateTopicsResponse_CreatableTopicResult_init);
    w = sl_meta_wait_begin(req, resp->Topics.len, create_fill, create_timeout);
    for (int32_t i = 0; i < resp->Topics.len; i++) {
        sl_CreateTopicsResponse_CreatableTopicResult_t *res = &resp->Topics.items[i];

        res->Name = cq->Topics.items[i].Name;
        res->Configs.len = -1;
        create_one(req, &cq->Topics.items[i], cq->validateOnly, w, i);
    }
    return sl_meta_wait_end(w, cq->timeoutMs);
}

/* ---- DeleteTopics ---------------------------------------------------------- */

static void
delete_fill(sl_req_t *req, int32_t i, const sl_meta_result_t *res)
{
    sl_DeleteTopicsResponse_t *resp = req->resp;
    sl_DeleteTopicsResponse_DeletableTopicResult_t *r = &resp->Responses.items[i];

    r->ErrorCode = sl_kerr_from_status(res->rc);
    r->ErrorMessage = msg_or_null(req, r->ErrorCode, &res->eb);
}

static void
delete_timeout(sl_req_t *req, int32_t i)
{
    sl_DeleteTopicsResponse_t *resp = req->resp;

    resp->Responses.items[i].ErrorCode = SL_KERR_REQUEST_TIMED_OUT;
}

/* Checks the broker answers itself; false when res is final already. */
static bool
delete_check(sl_req_t *req, const sl_DeleteTopicsRequest_t *dq, int32_t i, bool by_state,
             sl_DeleteTopicsResponse_DeletableTopicResult_t *res)
{
    sl_str_t name = by_state ? dq->Topics.items[i].Name : dq->TopicNames.items[i];

    if (by_state && name.len < 0) {
        const sl_topic_t *t = sl_topics_find_id(req->b->topics, dq->Topics.items[i].TopicId.b);

        res->TopicId = dq->Topics.items[i].TopicId;
        if (t == NULL) {
            res->ErrorCode = SL_KERR_UNKNOWN_TOPIC_ID;
            return false;
        }
        name = sl_str_c(sl_arena_printf(&req->arena, "%s", t->name));
    }
    res->Name = name;
    if (sl_internal_topic_refuse(name, &res->ErrorCode)) {
        res->ErrorMessage = sl_internal_topic_message(req, name, "delete");
        return false;
    }
    return true;
}

int
sl_h_DeleteTopics(sl_req_t *req)
{
    sl_DeleteTopicsRequest_t *dq = req->body;
    sl_DeleteTopicsResponse_t *resp = sl_req_resp_new(req);
    bool by_state = req->hdr.api_version >= 6;
    int32_t n = by_state ? dq->Topics.len : dq->TopicNames.len;
    sl_meta_wait_t *w;

    SL_KARR(req, resp->Responses, SL_MAX(n, 0), sl_DeleteTopicsResponse_DeletableTopicResult_init);
    w = sl_meta_wait_begin(req, resp->Responses.len, delete_fill, delete_timeout);
    for (int32_t i = 0; i < resp->Responses.len; i++) {
        sl_DeleteTopicsResponse_DeletableTopicResult_t *res = &resp->Responses.items[i];
        sl_meta_done_fn done;
        void *cookie;

        if (!delete_check(req, dq, i, by_state, res))
            continue;
        sl_meta_wait_op(w, i, &done, &cookie);
        req->b->meta->delete_topic(req->b->meta_ctx, res->Name, done, cookie);
    }
    return sl_meta_wait_end(w, dq->TimeoutMs);
}

/* ---- CreatePartitions ------------------------------------------------------ */

static void
partitions_fill(sl_req_t *req, int32_t i, const sl_meta_result_t *res)
{
    sl_CreatePartitionsResponse_t *resp = req->resp;
    sl_CreatePartitionsResponse_CreatePartitionsTopicResult_t *r = &resp->Results.items[i];

    r->ErrorCode = sl_kerr_from_status(res->rc);
    r->ErrorMessage = msg_or_null(req, r->ErrorCode, &res->eb);
}

static void
partitions_timeout(sl_req_t *req, int32_t i)
{
    sl_CreatePartitionsResponse_t *resp = req->resp;

    resp->Results.items[i].ErrorCode = SL_KERR_REQUEST_TIMED_OUT;
}

int
sl_h_CreatePartitions(sl_req_t *req)
{
    sl_CreatePartitionsRequest_t *cq = req->body;
    sl_CreatePartitionsResponse_t *resp = sl_req_resp_new(req);
    sl_meta_wait_t *w;

    SL_KARR(req, resp->Results, cq->Topics.len,
            sl_CreatePartitionsResponse_CreatePartitionsTopicResult_init);
    w = sl_meta_wait_begin(req, resp->Results.len, partitions_fill, partitions_timeout);
    for (int32_t i = 0; i < resp->Results.len; i++) {
        sl_CreatePartitionsRequest_CreatePartitionsTopic_t *ct = &cq->Topics.items[i];
        sl_CreatePartitionsResponse_CreatePartitionsTopicResult_t *res = &resp->Results.items[i];
        sl_meta_done_fn done;
        void *cookie;

        res->Name = ct->Name;
        if (sl_internal_topic_refuse(ct->Name, &res->ErrorCode))
            continue;
        sl_meta_wait_op(w, i, &done, &cookie);
        req->b->meta->add_partitions(req->b->meta_ctx, ct->Name, ct->Count, cq->ValidateOnly, done,
                                     cookie);
    }
    return sl_meta_wait_end(w, cq->TimeoutMs);
}
