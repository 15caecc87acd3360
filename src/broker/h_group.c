/*
 * h_group.c -- the classic consumer-group APIs: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, OffsetDelete,
 * DescribeGroups, ListGroups, DeleteGroups. Each handler translates the
 * request into the coordinator's plain structs (group/group.h) and back;
 * the semantics live in the coordinator. Strings the coordinator hands to a
 * callback are copied into the request's arena before the callback returns.
 */
#include "broker/broker_int.h"

#include "base/time.h"

static sl_str_t
dup_str(sl_req_t *req, sl_str_t s)
{
    if (s.len <= 0)
        return s.len < 0 ? SL_STR_NULL : SL_STR_LIT("");
    return (sl_str_t){sl_arena_memdup(&req->arena, s.ptr, (size_t)s.len), s.len};
}

static sl_bytes_t
dup_bytes(sl_req_t *req, sl_bytes_t v)
{
    if (v.len <= 0)
        return v.len < 0 ? SL_BYTES_NULL : (sl_bytes_t){(const uint8_t *)"", 0};
    return (sl_bytes_t){sl_arena_memdup(&req->arena, v.ptr, (size_t)v.len), v.len};
}

/* Kafka reports a member's host as "/ip". */
static sl_str_t
client_host(sl_req_t *req)
{
    const char *peer = req->c ? sl_conn_peer(req->c) : "";
    const char *colon = strrchr(peer, ':');
    int n = colon ? (int)(colon - peer) : (int)strlen(peer);

    if (n > 1 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    return sl_str_c(sl_arena_printf(&req->arena, "/%.*s", n, peer));
}

/* ---- JoinGroup / SyncGroup / Heartbeat / LeaveGroup ------------------------- */

void
sl_group_join_fill(sl_req_t *req, const sl_gjoin_resp_t *r)
{
    sl_JoinGroupResponse_t *resp = sl_req_resp_new(req);

    resp->ErrorCode = r->error_code;
    resp->GenerationId = r->generation_id;
    resp->ProtocolType = dup_str(req, r->protocol_type);
    resp->ProtocolName = dup_str(req, r->protocol_name);
    resp->Leader = dup_str(req, r->leader);
    resp->SkipAssignment = r->skip_assignment;
    resp->MemberId = dup_str(req, r->member_id);
    SL_KARR(req, resp->Members, r->n_members, sl_JoinGroupResponse_JoinGroupResponseMember_init);
    for (int32_t i = 0; i < r->n_members; i++) {
        resp->Members.items[i].MemberId = dup_str(req, r->members[i].member_id);
        resp->Members.items[i].GroupInstanceId = dup_str(req, r->members[i].group_instance_id);
        resp->Members.items[i].Metadata = dup_bytes(req, r->members[i].metadata);
    }
}

int
sl_h_JoinGroup(sl_req_t *req)
{
    sl_JoinGroupRequest_t *jq = req->body;
    sl_gjoin_req_t in = {0};
    sl_gjoin_resp_t out;
    sl_gproto_t *protos;

    protos = sl_arena_array(&req->arena, (size_t)SL_MAX(jq->Protocols.len, 0), sizeof(*protos));
    for (int32_t i = 0; i < jq->Protocols.len; i++) {
        protos[i].name = jq->Protocols.items[i].Name;
        protos[i].metadata = jq->Protocols.items[i].Metadata;
    }
    in.api_version = req->hdr.api_version;
    in.group_id = jq->GroupId;
    in.session_timeout_ms = jq->SessionTimeoutMs;
    in.rebalance_timeout_ms = req->hdr.api_version >= 1 ? jq->RebalanceTimeoutMs : -1;
    in.member_id = jq->MemberId;
    in.group_instance_id = jq->GroupInstanceId;
    in.protocol_type = jq->ProtocolType;
    in.protocols = protos;
    in.n_protocols = SL_MAX(jq->Protocols.len, 0);
    in.client_id = req->hdr.client_id.len >= 0 ? req->hdr.client_id : SL_STR_LIT("");
    in.client_host = client_host(req);
    if (sl_gcoord_join(req->b->gc, &in, sl_gticket_new(req), sl_wall_ms(), &req->arena, &out) ==
        SL_GCOORD_PENDING) {
        sl_groups_rearm(req->b);
        return SL_REQ_PARKED;
    }
    sl_gticket_unused(req);
    sl_group_join_fill(req, &out);
    sl_groups_rearm(req->b);
    return SL_OK;
}

void
sl_group_sync_fill(sl_req_t *req, const sl_gsync_resp_t *r)
{
    sl_SyncGroupResponse_t *resp = sl_req_resp_new(req);

    resp->ErrorCode = r->error_code;
    resp->ProtocolType = dup_str(req, r->protocol_type);
    resp->ProtocolName = dup_str(req, r->protocol_name);
    resp->Assignment = r->assignment.len < 0 ? (sl_bytes_t){(const uint8_t *)"", 0}
                                             : dup_bytes(req, r->assignment);
}

int
sl_h_SyncGroup(sl_req_t *req)
{
    sl_SyncGroupRequest_t *sq = req->body;
    sl_gsync_req_t in = {0};
    sl_gsync_resp_t out;
    sl_gassign_t *as;

    as = sl_arena_array(&req->arena, (size_t)SL_MAX(sq->Assignments.len, 0), sizeof(*as));
    for (int32_t i = 0; i < sq->Assignments.len; i++) {
        as[i].member_id = sq->Assignments.items[i].MemberId;
        as[i].assignment = sq->Assignments.items[i].Assignment;
    }
    in.api_version = req->hdr.api_version;
    in.group_id = sq->GroupId;
    in.generation_id = sq->GenerationId;
    in.member_id = sq->MemberId;
    in.group_instance_id = sq->GroupInstanceId;
    in.protocol_type = req->hdr.api_version >= 5 ? sq->ProtocolType : SL_STR_NULL;
    in.protocol_name = req->hdr.api_version >= 5 ? sq->ProtocolName : SL_STR_NULL;
    in.assignments = as;
    in.n_assignments = SL_MAX(sq->Assignments.len, 0);
    if (sl_gcoord_sync(req->b->gc, &in, sl_gticket_new(req), sl_wall_ms(), &req->arena, &out) ==
        SL_GCOORD_PENDING) {
        sl_groups_rearm(req->b);
        return SL_REQ_PARKED;
    }
    sl_gticket_unused(req);
    sl_group_sync_fill(req, &out);
    sl_groups_rearm(req->b);
    return SL_OK;
}

int
sl_h_Heartbeat(sl_req_t *req)
{
    sl_HeartbeatRequest_t *hq = req->body;
    sl_HeartbeatResponse_t *resp = sl_req_resp_new(req);
    sl_gheartbeat_req_t in = {req->hdr.api_version, hq->GroupId, hq->GenerationId, hq->MemberId,
                              hq->GroupInstanceId};

    resp->ErrorCode = sl_gcoord_heartbeat(req->b->gc, &in, sl_wall_ms());
    sl_groups_rearm(req->b);
    return SL_OK;
}

int
sl_h_LeaveGroup(sl_req_t *req)
{
    sl_LeaveGroupRequest_t *lq = req->body;
    sl_LeaveGroupResponse_t *resp = sl_req_resp_new(req);
    bool batched = req->hdr.api_version >= 3;
    int32_t n = batched ? SL_MAX(lq->Members.len, 0) : 1;
    sl_gleave_member_t *ms = sl_arena_array(&req->arena, (size_t)n, sizeof(*ms));
    sl_gleave_req_t in = {req->hdr.api_version, lq->GroupId, ms, n};
    sl_gleave_resp_t out;

    for (int32_t i = 0; i < n; i++) {
        ms[i].member_id = batched ? lq->Members.items[i].MemberId : lq->MemberId;
        ms[i].group_instance_id = batched ? lq->Members.items[i].GroupInstanceId : SL_STR_NULL;
    }
    sl_gcoord_leave(req->b->gc, &in, sl_wall_ms(), &req->arena, &out);
    resp->ErrorCode = out.error_code;
    if (batched) {
        SL_KARR(req, resp->Members, out.n_members, sl_LeaveGroupResponse_MemberResponse_init);
        for (int32_t i = 0; i < out.n_members; i++) {
            resp->Members.items[i].MemberId = out.members[i].member_id;
            resp->Members.items[i].GroupInstanceId = out.members[i].group_instance_id;
            resp->Members.items[i].ErrorCode = out.members[i].error_code;
        }
    }
    sl_groups_rearm(req->b);
    return SL_OK;
}

/* ---- offsets ------------------------------------------------------------------ */

void
sl_group_commit_fill(sl_req_t *req, const sl_gcommit_resp_t *r)
{
    sl_OffsetCommitRequest_t *cq = req->body;
    sl_OffsetCommitResponse_t *resp = sl_req_resp_new(req);
    int32_t k = 0;

    /* The coordinator answers in request order: rebuild the topic grouping. */
    SL_KARR(req, resp->Topics, cq->Topics.len,
            sl_OffsetCommitResponse_OffsetCommitResponseTopic_init);
    for (int32_t i = 0; i < cq->Topics.len; i++) {
        sl_OffsetCommitResponse_OffsetCommitResponseTopic_t *tr = &resp->Topics.items[i];

        tr->Name = cq->Topics.items[i].Name;
        SL_KARR(req, tr->Partitions, cq->Topics.items[i].Partitions.len,
                sl_OffsetCommitResponse_OffsetCommitResponsePartition_init);
        for (int32_t j = 0; j < tr->Partitions.len; j++, k++) {
            tr->Partitions.items[j].PartitionIndex =
                cq->Topics.items[i].Partitions.items[j].PartitionIndex;
            tr->Partitions.items[j].ErrorCode = k < r->n_parts ? r->parts[k].error_code : 0;
        }
    }
}

int
sl_h_OffsetCommit(sl_req_t *req)
{
    sl_OffsetCommitRequest_t *cq = req->body;
    sl_gcommit_req_t in = {0};
    sl_gcommit_resp_t out;
    sl_gcommit_part_t *ps;
    int32_t n = 0, k = 0;

    for (int32_t i = 0; i < cq->Topics.len; i++)
        n += SL_MAX(cq->Topics.items[i].Partitions.len, 0);
    ps = sl_arena_array(&req->arena, (size_t)n, sizeof(*ps));
    for (int32_t i = 0; i < cq->Topics.len; i++) {
        sl_OffsetCommitRequest_OffsetCommitRequestTopic_t *t = &cq->Topics.items[i];

        for (int32_t j = 0; j < t->Partitions.len; j++, k++) {
            sl_OffsetCommitRequest_OffsetCommitRequestPartition_t *p = &t->Partitions.items[j];

            ps[k].topic = t->Name;
            ps[k].partition = p->PartitionIndex;
            ps[k].offset = p->CommittedOffset;
            ps[k].leader_epoch = p->CommittedLeaderEpoch;
            ps[k].metadata = p->CommittedMetadata;
            ps[k].commit_timestamp = p->CommitTimestamp;
            ps[k].error_code = sl_bpart_find(req->b, t->Name, p->PartitionIndex)
                                   ? SL_KERR_NONE
                                   : SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    in.api_version = req->hdr.api_version;
    in.group_id = cq->GroupId;
    in.generation_id = req->hdr.api_version >= 1 ? cq->GenerationIdOrMemberEpoch : -1;
    in.member_id = req->hdr.api_version >= 1 ? cq->MemberId : SL_STR_LIT("");
    in.group_instance_id = cq->GroupInstanceId;
    in.retention_time_ms = cq->RetentionTimeMs;
    in.parts = ps;
    in.n_parts = n;
    if (sl_gcoord_commit(req->b->gc, &in, sl_gticket_new(req), sl_wall_ms(), &req->arena, &out) ==
        SL_GCOORD_PENDING) {
        sl_groups_rearm(req->b);
        return SL_REQ_PARKED;
    }
    sl_gticket_unused(req);
    sl_group_commit_fill(req, &out);
    sl_groups_rearm(req->b);
    return SL_OK;
}

int
sl_h_OffsetFetch(sl_req_t *req)
{
    sl_OffsetFetchRequest_t *fq = req->body;
    sl_OffsetFetchResponse_t *resp = sl_req_resp_new(req);
    bool all = fq->Topics.len < 0;
    int32_t n = 0, k = 0;
    sl_gtp_t *tps;
    sl_gfetch_resp_t out;

    for (int32_t i = 0; i < fq->Topics.len; i++)
        n += SL_MAX(fq->Topics.items[i].PartitionIndexes.len, 0);
    tps = sl_arena_array(&req->arena, (size_t)n, sizeof(*tps));
    for (int32_t i = 0; i < fq->Topics.len; i++) {
        for (int32_t j = 0; j < fq->Topics.items[i].PartitionIndexes.len; j++, k++) {
            tps[k].topic = fq->Topics.items[i].Name;
            tps[k].partition = fq->Topics.items[i].PartitionIndexes.items[j];
        }
    }
    sl_gcoord_fetch(req->b->gc, fq->GroupId, tps, n, all, &req->arena, &out);
    resp->ErrorCode = out.error_code;
    /* Results come sorted (all) or in request order: one topic entry per run of a name. */
    int32_t nt = 0, t = -1, slot = 0;

    for (int32_t i = 0; i < out.n_parts; i++)
        nt += i == 0 || !sl_str_eq(out.parts[i].topic, out.parts[i - 1].topic);
    SL_KARR(req, resp->Topics, nt, sl_OffsetFetchResponse_OffsetFetchResponseTopic_init);
    for (int32_t i = 0; i < out.n_parts; i++) {
        const sl_gfetch_result_t *g = &out.parts[i];
        sl_OffsetFetchResponse_OffsetFetchResponsePartition_t *pr;

        if (i == 0 || !sl_str_eq(g->topic, out.parts[i - 1].topic)) {
            sl_OffsetFetchResponse_OffsetFetchResponseTopic_t *tr = &resp->Topics.items[++t];
            int32_t run = 1;

            while (i + run < out.n_parts && sl_str_eq(out.parts[i + run].topic, g->topic))
                run++;
            tr->Name = g->topic;
            SL_KARR(req, tr->Partitions, run,
                    sl_OffsetFetchResponse_OffsetFetchResponsePartition_init);
            slot = 0;
        }
        pr = &resp->Topics.items[t].Partitions.items[slot++];
        pr->PartitionIndex = g->partition;
        pr->CommittedOffset = g->offset;
        pr->CommittedLeaderEpoch = g->leader_epoch;
        pr->Metadata = g->metadata.ptr ? g->metadata : SL_STR_LIT("");
        /* v0-1 have no group-level error: each partition carries it. */
        pr->ErrorCode = req->hdr.api_version < 2 && out.error_code ? out.error_code : g->error_code;
    }
    return SL_OK;
}

int
sl_h_OffsetDelete(sl_req_t *req)
{
    sl_OffsetDeleteRequest_t *dq = req->body;
    sl_OffsetDeleteResponse_t *resp = sl_req_resp_new(req);
    sl_goffset_delete_resp_t out;
    int32_t n = 0, k = 0;
    sl_gtp_t *tps;

    for (int32_t i = 0; i < dq->Topics.len; i++)
        n += SL_MAX(dq->Topics.items[i].Partitions.len, 0);
    tps = sl_arena_array(&req->arena, (size_t)n, sizeof(*tps));
    for (int32_t i = 0; i < dq->Topics.len; i++) {
        for (int32_t j = 0; j < dq->Topics.items[i].Partitions.len; j++, k++) {
            tps[k].topic = dq->Topics.items[i].Name;
            tps[k].partition = dq->Topics.items[i].Partitions.items[j].PartitionIndex;
        }
    }
    sl_gcoord_offset_delete(req->b->gc, dq->GroupId, tps, n, sl_wall_ms(), &req->arena, &out);
    resp->ErrorCode = out.error_code;
    if (out.error_code != SL_KERR_NONE)
        return SL_OK;
    k = 0;
    SL_KARR(req, resp->Topics, dq->Topics.len,
            sl_OffsetDeleteResponse_OffsetDeleteResponseTopic_init);
    for (int32_t i = 0; i < dq->Topics.len; i++) {
        sl_OffsetDeleteResponse_OffsetDeleteResponseTopic_t *tr = &resp->Topics.items[i];

        tr->Name = dq->Topics.items[i].Name;
        SL_KARR(req, tr->Partitions, dq->Topics.items[i].Partitions.len,
                sl_OffsetDeleteResponse_OffsetDeleteResponsePartition_init);
        for (int32_t j = 0; j < tr->Partitions.len; j++, k++) {
            tr->Partitions.items[j].PartitionIndex = tps[k].partition;
            tr->Partitions.items[j].ErrorCode = k < out.n_parts ? out.parts[k].error_code : 0;
        }
    }
    sl_groups_rearm(req->b);
    return SL_OK;
}

/* ---- describe, list, delete -------------------------------------------------- */

int
sl_h_DescribeGroups(sl_req_t *req)
{
    sl_DescribeGroupsRequest_t *dq = req->body;
    sl_DescribeGroupsResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Groups, dq->Groups.len, sl_DescribeGroupsResponse_DescribedGroup_init);
    for (int32_t i = 0; i < dq->Groups.len; i++) {
        sl_DescribeGroupsResponse_DescribedGroup_t *g = &resp->Groups.items[i];
        sl_gdesc_t d;

        sl_gcoord_describe(req->b->gc, dq->Groups.items[i], &req->arena, &d);
        g->ErrorCode = d.error_code;
        g->GroupId = dq->Groups.items[i];
        g->GroupState = d.state;
        g->ProtocolType = d.protocol_type;
        g->ProtocolData = d.protocol_data;
        g->AuthorizedOperations = d.authorized_operations;
        SL_KARR(req, g->Members, d.n_members, sl_DescribeGroupsResponse_DescribedGroupMember_init);
        for (int32_t m = 0; m < d.n_members; m++) {
            sl_DescribeGroupsResponse_DescribedGroupMember_t *gm = &g->Members.items[m];

            gm->MemberId = d.members[m].member_id;
            gm->GroupInstanceId = d.members[m].group_instance_id;
            gm->ClientId = d.members[m].client_id;
            gm->ClientHost = d.members[m].client_host;
            gm->MemberMetadata = d.members[m].metadata;
            gm->MemberAssignment = d.members[m].assignment;
        }
    }
    return SL_OK;
}

int
sl_h_ListGroups(sl_req_t *req)
{
    sl_ListGroupsRequest_t *lq = req->body;
    sl_ListGroupsResponse_t *resp = sl_req_resp_new(req);
    sl_glist_resp_t out;

    sl_gcoord_list(req->b->gc, lq->StatesFilter.items, SL_MAX(lq->StatesFilter.len, 0),
                   lq->TypesFilter.items, SL_MAX(lq->TypesFilter.len, 0), &req->arena, &out);
    resp->ErrorCode = out.error_code;
    SL_KARR(req, resp->Groups, out.n_groups, sl_ListGroupsResponse_ListedGroup_init);
    for (int32_t i = 0; i < out.n_groups; i++) {
        resp->Groups.items[i].GroupId = out.groups[i].group_id;
        resp->Groups.items[i].ProtocolType = out.groups[i].protocol_type;
        resp->Groups.items[i].GroupState = out.groups[i].state;
        resp->Groups.items[i].GroupType = out.groups[i].type;
    }
    return SL_OK;
}

int
sl_h_DeleteGroups(sl_req_t *req)
{
    sl_DeleteGroupsRequest_t *dq = req->body;
    sl_DeleteGroupsResponse_t *resp = sl_req_resp_new(req);

    SL_KARR(req, resp->Results, dq->GroupsNames.len,
            sl_DeleteGroupsResponse_DeletableGroupResult_init);
    for (int32_t i = 0; i < dq->GroupsNames.len; i++) {
        resp->Results.items[i].GroupId = dq->GroupsNames.items[i];
        resp->Results.items[i].ErrorCode =
            sl_gcoord_delete_group(req->b->gc, dq->GroupsNames.items[i], sl_wall_ms());
    }
    sl_groups_rearm(req->b);
    return SL_OK;
}
