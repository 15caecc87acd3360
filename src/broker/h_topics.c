/*
 * h_topics.c -- CreateTopics, DeleteTopics, CreatePartitions. The topic
 * store validates and persists; the partition table then creates or removes
 * the partition logs.
 */
#include "broker/broker_int.h"

#include "base/log.h"

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

/* All or nothing: a topic whose logs could not all be created is removed
 * again, logs and metadata, so neither a restart nor a retry finds a part. */
static void
rollback_create(sl_req_t *req, sl_str_t name, int rc, sl_errbuf_t *eb)
{
    sl_errbuf_t eb2 = {{0}};

    sl_btopic_drop(req->b, name);
    if (sl_topics_forget(req->b->topics, name, &eb2) != SL_OK)
        sl_error("broker", "cannot roll back topic %.*s: %s", name.len, name.ptr, eb2.msg);
    sl_errbuf_set(eb, rc, "Could not create the partition logs (%s); nothing was created.",
                  sl_strerror(rc));
}

static int16_t
create_one(sl_req_t *req, const sl_CreateTopicsRequest_CreatableTopic_t *ct, bool validate_only,
           sl_CreateTopicsResponse_CreatableTopicResult_t *res)
{
    sl_broker_t *b = req->b;
    sl_cfg_alter_t *cfgs;
    const sl_topic_t *t = NULL;
    int32_t parts = -1, rf = -1;
    sl_errbuf_t eb = {{0}};
    int rc;

    cfgs = sl_arena_array(&req->arena, (size_t)SL_MAX(ct->Configs.len, 0), sizeof(*cfgs));
    for (int32_t i = 0; i < ct->Configs.len; i++) {
        cfgs[i].name = ct->Configs.items[i].Name;
        cfgs[i].value = ct->Configs.items[i].Value;
        cfgs[i].op = SL_CFG_OP_SET;
    }
    rc = from_assignments(req, ct, &parts, &rf, &eb);
    if (rc == SL_OK)
        rc = sl_topics_create(b->topics, ct->Name, parts, rf, cfgs,
                              (size_t)SL_MAX(ct->Configs.len, 0), validate_only, &t, &eb);
    if (rc == SL_OK && t && !validate_only) {
        rc = sl_btopic_sync(b, t, NULL);
        if (rc == SL_OK)
            sl_info("broker", "created topic %s with %d partitions", t->name, t->partitions);
        else
            rollback_create(req, ct->Name, rc, &eb);
        if (rc != SL_OK)
            t = NULL; /* forgotten by the store */
    }
    res->ErrorCode = sl_kerr_from_status(rc);
    res->ErrorMessage = msg_or_null(req, res->ErrorCode, &eb);
    if (rc == SL_OK && t) {
        memcpy(res->TopicId.b, t->id, sizeof(res->TopicId.b));
        res->NumPartitions = t->partitions;
        res->ReplicationFactor = t->replication_factor;
    }
    return res->ErrorCode;
}

int
sl_h_CreateTopics(sl_req_t *req)
{
    sl_CreateTopicsRequest_t *cq = req->body;
    sl_CreateTopicsResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Topics, cq->Topics.len, sl_CreateTopicsResponse_CreatableTopicResult_init);
    for (int32_t i = 0; i < cq->Topics.len; i++) {
        sl_CreateTopicsResponse_CreatableTopicResult_t *res = &resp->Topics.items[i];

        res->Name = cq->Topics.items[i].Name;
        res->Configs.len = -1;
        create_one(req, &cq->Topics.items[i], cq->validateOnly, res);
    }
    return SL_OK;
}

static int16_t
delete_one(sl_req_t *req, sl_str_t name, sl_str_t *msg)
{
    sl_errbuf_t eb = {{0}};
    int16_t code;
    int rc;

    if (sl_internal_topic_refuse(name, &code)) {
        *msg = sl_internal_topic_message(req, name, "delete");
        return code;
    }
    rc = sl_topics_delete(req->b->topics, name, &eb);
    code = sl_kerr_from_status(rc);
    if (rc == SL_OK) {
        sl_btopic_drop(req->b, name);
        sl_info("broker", "deleted topic %.*s", name.len, name.ptr);
    }
    *msg = msg_or_null(req, code, &eb);
    return code;
}

int
sl_h_DeleteTopics(sl_req_t *req)
{
    sl_DeleteTopicsRequest_t *dq = req->body;
    sl_DeleteTopicsResponse_t *resp = sl_req_resp_new(req);
    bool by_state = req->hdr.api_version >= 6;
    int32_t n = by_state ? dq->Topics.len : dq->TopicNames.len;

    SL_KARR(req, resp->Responses, SL_MAX(n, 0), sl_DeleteTopicsResponse_DeletableTopicResult_init);
    for (int32_t i = 0; i < n; i++) {
        sl_DeleteTopicsResponse_DeletableTopicResult_t *res = &resp->Responses.items[i];
        sl_str_t name = by_state ? dq->Topics.items[i].Name : dq->TopicNames.items[i];

        if (by_state && name.len < 0) {
            const sl_topic_t *t = sl_topics_find_id(req->b->topics, dq->Topics.items[i].TopicId.b);

            res->TopicId = dq->Topics.items[i].TopicId;
            if (t == NULL) {
                res->ErrorCode = SL_KERR_UNKNOWN_TOPIC_ID;
                continue;
            }
            name = sl_str_c(sl_arena_printf(&req->arena, "%s", t->name));
        }
        res->Name = name;
        res->ErrorCode = delete_one(req, name, &res->ErrorMessage);
    }
    return SL_OK;
}

static int
add_partitions(sl_req_t *req, const sl_CreatePartitionsRequest_CreatePartitionsTopic_t *ct,
               bool validate_only, sl_errbuf_t *eb)
{
    const sl_topic_t *t = sl_topics_find(req->b->topics, ct->Name);
    int32_t old = t != NULL ? t->partitions : 0;
    sl_errbuf_t eb2 = {{0}};
    int rc = sl_topics_add_partitions(req->b->topics, ct->Name, ct->Count, validate_only, eb);

    if (rc != SL_OK || validate_only)
        return rc;
    if ((rc = sl_btopic_sync(req->b, t, NULL)) == SL_OK) {
        sl_info("broker", "topic %s now has %d partitions", t->name, t->partitions);
        return SL_OK;
    }
    /* All or nothing, as for CreateTopics. */
    sl_btopic_truncate(req->b, t->name, old);
    if (sl_topics_set_partitions(req->b->topics, ct->Name, old, &eb2) != SL_OK)
        sl_error("broker", "cannot roll back partitions of %s: %s", t->name, eb2.msg);
    return sl_errbuf_set(eb, rc, "Could not create the partition logs (%s); nothing was added.",
                         sl_strerror(rc));
}

int
sl_h_CreatePartitions(sl_req_t *req)
{
    sl_CreatePartitionsRequest_t *cq = req->body;
    sl_CreatePartitionsResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Results, cq->Topics.len,
            sl_CreatePartitionsResponse_CreatePartitionsTopicResult_init);
    for (int32_t i = 0; i < cq->Topics.len; i++) {
        sl_CreatePartitionsRequest_CreatePartitionsTopic_t *ct = &cq->Topics.items[i];
        sl_CreatePartitionsResponse_CreatePartitionsTopicResult_t *res = &resp->Results.items[i];
        sl_errbuf_t eb = {{0}};
        int rc;

        res->Name = ct->Name;
        if (sl_internal_topic_refuse(ct->Name, &res->ErrorCode))
            continue;
        rc = add_partitions(req, ct, cq->ValidateOnly, &eb);
        res->ErrorCode = sl_kerr_from_status(rc);
        res->ErrorMessage = msg_or_null(req, res->ErrorCode, &eb);
    }
    return SL_OK;
}
