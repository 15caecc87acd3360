/*
 * h_meta.c -- ApiVersions, Metadata, DescribeCluster and FindCoordinator:
 * what a client asks before anything else (and SaslHandshake /
 * SaslAuthenticate, refused: every listener is PLAINTEXT). A single node is
 * its own controller and coordinator; its cluster id comes from the topic
 * store and stays the same across restarts.
 */
#include "broker/broker_int.h"

int
sl_h_ApiVersions(sl_req_t *req)
{
    sl_ApiVersionsResponse_t *resp = sl_req_resp_new(req);
    size_t n = sl_apis_count();

    SL_KARR(req, resp->ApiKeys, (int32_t)n, sl_ApiVersionsResponse_ApiVersion_init);
    for (size_t i = 0; i < n; i++) {
        const sl_api_t *api = sl_apis_at(i);

        resp->ApiKeys.items[i].ApiKey = api->key;
        resp->ApiKeys.items[i].MinVersion = api->min_ver;
        resp->ApiKeys.items[i].MaxVersion = api->max_ver;
    }
    return SL_OK;
}

/*
 * Every listener is PLAINTEXT (start-up refuses the others), so a SASL
 * request is out of place: Kafka answers it on such a listener with
 * ILLEGAL_SASL_STATE and no mechanisms, and keeps the connection open.
 */
int
sl_h_SaslHandshake(sl_req_t *req)
{
    sl_SaslHandshakeResponse_t *resp = sl_req_resp_new(req);

    resp->ErrorCode = SL_KERR_ILLEGAL_SASL_STATE;
    resp->Mechanisms.len = 0;
    return SL_OK;
}

int
sl_h_SaslAuthenticate(sl_req_t *req)
{
    sl_SaslAuthenticateResponse_t *resp = sl_req_resp_new(req);

    resp->ErrorCode = SL_KERR_ILLEGAL_SASL_STATE;
    resp->ErrorMessage = sl_str_c("Sluice has no SASL: this listener is PLAINTEXT");
    return SL_OK;
}

/* A copy in the request's arena (the state may change before encoding). */
static int32_t *
nodes_dup(sl_req_t *req, const sl_nodes_t *ns)
{
    int32_t *ids = sl_arena_array(&req->arena, (size_t)ns->n, sizeof(*ids));

    if (ns->n > 0)
        memcpy(ids, ns->ids, (size_t)ns->n * sizeof(*ids));
    return ids;
}

#define COPY_NODES(req, field, ns) ((field).len = (ns)->n, (field).items = nodes_dup(req, ns))

/* What the partition state says; a partition with no leader is
 * LEADER_NOT_AVAILABLE, with leader -1, as Kafka answers it. */
static void
fill_partition(sl_req_t *req, sl_MetadataResponse_MetadataResponsePartition_t *mp,
               const sl_bpart_t *bp)
{
    const sl_pstate_t *ps = &bp->st;

    mp->PartitionIndex = bp->index;
    mp->ErrorCode = ps->leader_id == SL_NO_NODE ? SL_KERR_LEADER_NOT_AVAILABLE : SL_KERR_NONE;
    mp->LeaderId = ps->leader_id;
    mp->LeaderEpoch = ps->leader_epoch;
    COPY_NODES(req, mp->ReplicaNodes, &ps->replicas);
    COPY_NODES(req, mp->IsrNodes, &ps->isr);
    COPY_NODES(req, mp->OfflineReplicas, &ps->offline);
}

static void
fill_topic(sl_broker_t *b, sl_req_t *req, sl_MetadataResponse_MetadataResponseTopic_t *mt,
           const sl_btopic_t *bt)
{
    mt->ErrorCode = SL_KERR_NONE;
    mt->Name = sl_str_c(bt->name);
    memcpy(mt->TopicId.b, bt->id, sizeof(mt->TopicId.b));
    mt->IsInternal = sl_topic_name_is_internal(mt->Name);
    SL_KARR(req, mt->Partitions, bt->n_parts, sl_MetadataResponse_MetadataResponsePartition_init);
    for (int32_t p = 0; p < bt->n_parts; p++)
        fill_partition(req, &mt->Partitions.items[p], bt->parts[p]);
}

/* The broker table may change before the response is encoded (a parked
 * Metadata): copy its strings into the request. */
static sl_str_t
arena_str(sl_req_t *req, const char *s)
{
    return s ? sl_str_c(sl_arena_strdup(&req->arena, sl_str_c(s))) : sl_str_c(NULL);
}

static void
fill_brokers(sl_broker_t *b, sl_req_t *req, sl_MetadataResponse_t *resp)
{
    size_t cap = sl_cluster_mode_broker_count(b);
    sl_zk_broker_t *zb = sl_arena_array(&req->arena, cap, sizeof(*zb));
    size_t n = sl_cluster_mode_brokers(b, zb, cap);

    /* Cluster mode: the live registrations under /brokers/ids. */
    SL_KARR(req, resp->Brokers, n, sl_MetadataResponse_MetadataResponseBroker_init);
    for (size_t i = 0; i < n; i++) {
        resp->Brokers.items[i].NodeId = zb[i].id;
        resp->Brokers.items[i].Host = arena_str(req, zb[i].host);
        resp->Brokers.items[i].Port = zb[i].port;
        resp->Brokers.items[i].Rack = arena_str(req, zb[i].rack);
    }
    resp->ClusterId = sl_str_c(sl_topics_cluster_id(b->topics));
    resp->ControllerId = sl_cluster_mode_controller(b);
}

static void
all_topics(sl_broker_t *b, sl_req_t *req, sl_MetadataResponse_t *resp)
{
    size_t n = b->btopics.len, i = 0, iter = 0;
    const sl_map_slot_t *slot;

    SL_KARR(req, resp->Topics, (int32_t)n, sl_MetadataResponse_MetadataResponseTopic_init);
    while (sl_map_next(&b->btopics, &iter, &slot))
        fill_topic(b, req, &resp->Topics.items[i++], slot->value);
}

/*
 * Topics one Metadata request may auto-create. Each creation persists the
 * topic store and creates partition logs on the event loop; a request naming
 * 7,000 new topics used to stall every client for seconds. The rest are
 * answered LEADER_NOT_AVAILABLE, the retriable code Kafka gives a topic whose
 * creation is under way, so clients ask again and get the next batch.
 */
#define AUTOCREATE_PER_REQUEST 100

int
sl_h_Metadata(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_MetadataRequest_t *mr = req->body;
    sl_MetadataResponse_t *resp = sl_req_resp_new(req);
    int16_t ver = req->hdr.api_version;
    /* v0-v3 imply auto-creation; v4+ ask for it explicitly. */
    bool may_create = ver < 4 || mr->AllowAutoTopicCreation;
    int32_t created = 0;

    fill_brokers(b, req, resp);
    if (mr->Topics.len < 0 || (ver == 0 && mr->Topics.len == 0))
        return all_topics(b, req, resp), SL_OK;
    SL_KARR(req, resp->Topics, mr->Topics.len, sl_MetadataResponse_MetadataResponseTopic_init);
    for (int32_t i = 0; i < mr->Topics.len; i++) {
        sl_MetadataResponse_MetadataResponseTopic_t *mt = &resp->Topics.items[i];
        sl_str_t name = mr->Topics.items[i].Name;
        sl_btopic_t *bt = sl_btopic_find(b, name);
        sl_errbuf_t eb;

        mt->Name = name;
        if (bt == NULL && sl_topic_name_validate(name, &eb) != SL_OK) {
            mt->ErrorCode = SL_KERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        if (bt == NULL && may_create && b->cfg.auto_create_topics_enable &&
            created >= AUTOCREATE_PER_REQUEST)
            mt->ErrorCode = SL_KERR_LEADER_NOT_AVAILABLE;
        else if (bt == NULL && may_create && (bt = sl_btopic_autocreate(b, name, &mt->ErrorCode)))
            created++;
        else if (bt == NULL && !may_create)
            mt->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (bt)
            fill_topic(b, req, mt, bt);
    }
    return SL_OK;
}

int
sl_h_DescribeCluster(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_DescribeClusterResponse_t *resp = sl_req_resp_new(req);

    resp->ClusterId = sl_str_c(sl_topics_cluster_id(b->topics));
    size_t cap = sl_cluster_mode_broker_count(b);
    sl_zk_broker_t *zb = sl_arena_array(&req->arena, cap, sizeof(*zb));
    size_t n = sl_cluster_mode_brokers(b, zb, cap);

    resp->ControllerId = sl_cluster_mode_controller(b);
    SL_KARR(req, resp->Brokers, n, sl_DescribeClusterResponse_DescribeClusterBroker_init);
    for (size_t i = 0; i < n; i++) {
        resp->Brokers.items[i].BrokerId = zb[i].id;
        resp->Brokers.items[i].Host = arena_str(req, zb[i].host);
        resp->Brokers.items[i].Port = zb[i].port;
        resp->Brokers.items[i].Rack = arena_str(req, zb[i].rack);
    }
    return SL_OK;
}

int
sl_h_FindCoordinator(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_FindCoordinatorRequest_t *fr = req->body;
    sl_FindCoordinatorResponse_t *resp = sl_req_resp_new(req);

    /* Every group and transactional id is coordinated by this broker. */
    resp->NodeId = b->node_id;
    resp->Host = sl_str_c(b->adv_host);
    resp->Port = b->adv_port;
    if (req->hdr.api_version >= 4) {
        SL_KARR(req, resp->Coordinators, fr->CoordinatorKeys.len < 0 ? 0 : fr->CoordinatorKeys.len,
                sl_FindCoordinatorResponse_Coordinator_init);
        for (int32_t i = 0; i < resp->Coordinators.len; i++) {
            sl_FindCoordinatorResponse_Coordinator_t *co = &resp->Coordinators.items[i];

            co->Key = fr->CoordinatorKeys.items[i];
            co->NodeId = b->node_id;
            co->Host = resp->Host;
            co->Port = resp->Port;
        }
    }
    return SL_OK;
}
