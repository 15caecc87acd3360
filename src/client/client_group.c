/*
 * client_group.c -- consumer groups as blocking calls: list, describe
 * (members, assignments and committed offsets), alter offsets, delete.
 * Uses librdkafka's group admin API (ListGroups, DescribeGroups,
 * OffsetFetch, OffsetCommit, DeleteGroups on the wire).
 */
#include "client/client_int.h"

static int
cmp_group(const void *a, const void *b)
{
    return strcmp(((const sl_client_group_t *)a)->id, ((const sl_client_group_t *)b)->id);
}

static int
cmp_tp(const void *a, const void *b)
{
    const sl_client_tp_t *x = a, *y = b;
    int r = strcmp(x->topic, y->topic);
    return r ? r : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Error of a group_result, as a status with a message. */
static int
group_result(sl_client_t *c, const rd_kafka_group_result_t *gr, const char *what)
{
    const rd_kafka_error_t *err = rd_kafka_group_result_error(gr);

    if (!err)
        return SL_OK;
    if (rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
        return sl_client_fail(c, SL_EINVAL,
                              "%s: the group has active members; stop its consumers "
                              "first",
                              what);
    return sl_client_rkerr(c, rd_kafka_error_code(err), what, rd_kafka_error_string(err));
}

int
sl_client_list_groups(sl_client_t *c, sl_client_groups_t **out)
{
    rd_kafka_AdminOptions_t *o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_ListConsumerGroups_result_t *res;
    const rd_kafka_ConsumerGroupListing_t **gl;
    const rd_kafka_error_t **errs;
    size_t n, nerr;
    int rc;

    *out = NULL;
    rd_kafka_ListConsumerGroups(c->rk, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, "cannot list groups",
                              &ev);
    if (rc != SL_OK)
        goto out;
    res = rd_kafka_event_ListConsumerGroups_result(ev);
    errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
    if (nerr > 0) {
        rc = sl_client_rkerr(c, rd_kafka_error_code(errs[0]), "cannot list groups",
                             rd_kafka_error_string(errs[0]));
        goto out;
    }
    gl = rd_kafka_ListConsumerGroups_result_valid(res, &n);
    *out = sl_xcalloc(1, sizeof(**out));
    (*out)->v = sl_xcalloc(n ? n : 1, sizeof(*(*out)->v));
    (*out)->n = n;
    for (size_t i = 0; i < n; i++) {
        sl_client_group_t *g = &(*out)->v[i];
        g->id = sl_xstrdup(rd_kafka_ConsumerGroupListing_group_id(gl[i]));
        g->state = sl_xstrdup(
            rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i])));
        g->simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gl[i]);
    }
    qsort((*out)->v, n, sizeof(*(*out)->v), cmp_group);
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    return rc;
}

void
sl_client_groups_free(sl_client_groups_t *gs)
{
    if (!gs)
        return;
    for (size_t i = 0; i < gs->n; i++) {
        free(gs->v[i].id);
        free(gs->v[i].state);
    }
    free(gs->v);
    free(gs);
}

/* ================================================================ */
/* describe                                                         */
/* ================================================================ */

static sl_client_tp_t *
copy_tps(const rd_kafka_topic_partition_list_t *l, size_t *n)
{
    sl_client_tp_t *v = sl_xcalloc(l && l->cnt > 0 ? (size_t)l->cnt : 1, sizeof(*v));

    *n = 0;
    for (int i = 0; l && i < l->cnt; i++) {
        if (l->elems[i].err)
            continue;
        v[*n].topic = sl_xstrdup(l->elems[i].topic);
        v[*n].partition = l->elems[i].partition;
        v[*n].offset = l->elems[i].offset;
        (*n)++;
    }
    qsort(v, *n, sizeof(*v), cmp_tp);
    return v;
}

static void
copy_members(sl_client_group_desc_t *d, const rd_kafka_ConsumerGroupDescription_t *gd)
{
    size_t n = rd_kafka_ConsumerGroupDescription_member_count(gd);

    d->members = sl_xcalloc(n ? n : 1, sizeof(*d->members));
    d->nmembers = n;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(gd, i);
        const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
        sl_client_member_t *m = &d->members[i];
        m->member_id = sl_xstrdup(rd_kafka_MemberDescription_consumer_id(md));
        m->client_id = sl_xstrdup(rd_kafka_MemberDescription_client_id(md));
        m->host = sl_xstrdup(rd_kafka_MemberDescription_host(md));
        m->assigned = copy_tps(ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL, &m->nassigned);
    }
}

static int
describe_members(sl_client_t *c, const char *group, sl_client_group_desc_t *d)
{
    rd_kafka_AdminOptions_t *o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_ConsumerGroupDescription_t **gds, *gd;
    const rd_kafka_Node_t *node;
    const char *groups[1] = {group};
    char what[300];
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot describe group '%s'", group);
    rd_kafka_DescribeConsumerGroups(c->rk, groups, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, what, &ev);
    if (rc != SL_OK)
        goto out;
    gds = rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    if (n < 1) {
        rc = sl_client_fail(c, SL_EIO, "%s: empty result", what);
        goto out;
    }
    gd = gds[0];
    if (rd_kafka_ConsumerGroupDescription_error(gd)) {
        const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(gd);
        rc = sl_client_rkerr(c, rd_kafka_error_code(err), what, rd_kafka_error_string(err));
        goto out;
    }
    d->state =
        sl_xstrdup(rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gd)));
    d->assignor = sl_xstrdup(rd_kafka_ConsumerGroupDescription_partition_assignor(gd)
                                 ? rd_kafka_ConsumerGroupDescription_partition_assignor(gd)
                                 : "");
    node = rd_kafka_ConsumerGroupDescription_coordinator(gd);
    d->coordinator_id = node ? rd_kafka_Node_id(node) : -1;
    d->coordinator_host =
        sl_xstrdup(node && rd_kafka_Node_host(node) ? rd_kafka_Node_host(node) : "");
    d->coordinator_port = node ? rd_kafka_Node_port(node) : 0;
    copy_members(d, gd);
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    return rc;
}

static int
fetch_committed(sl_client_t *c, const char *group, sl_client_group_desc_t *d)
{
    rd_kafka_ListConsumerGroupOffsets_t *lo = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_AdminOptions_t *o =
        sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_group_result_t **grs;
    char what[300];
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot fetch offsets of group '%s'", group);
    rd_kafka_ListConsumerGroupOffsets(c->rk, &lo, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, what, &ev);
    if (rc != SL_OK)
        goto out;
    grs = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    if (n < 1) {
        rc = sl_client_fail(c, SL_EIO, "%s: empty result", what);
        goto out;
    }
    if ((rc = group_result(c, grs[0], what)) != SL_OK)
        goto out;
    d->committed = copy_tps(rd_kafka_group_result_partitions(grs[0]), &d->ncommitted);
    /* Partitions without a commit come back with offset -1: drop them. */
    {
        size_t k = 0;
        for (size_t i = 0; i < d->ncommitted; i++) {
            if (d->committed[i].offset >= 0)
                d->committed[k++] = d->committed[i];
            else
                free(d->committed[i].topic);
        }
        d->ncommitted = k;
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ListConsumerGroupOffsets_destroy(lo);
    return rc;
}

int
sl_client_describe_group(sl_client_t *c, const char *group, sl_client_group_desc_t **out)
{
    sl_client_group_desc_t *d = sl_xcalloc(1, sizeof(*d));
    int rc;

    *out = NULL;
    d->id = sl_xstrdup(group);
    if ((rc = describe_members(c, group, d)) != SL_OK)
        goto fail;
    if ((rc = fetch_committed(c, group, d)) != SL_OK)
        goto fail;
    if (strcmp(d->state, "Dead") == 0 && d->nmembers == 0 && d->ncommitted == 0) {
        rc = sl_client_fail(c, SL_ENOENT, "group '%s' does not exist (see `sluice group list`)",
                            group);
        goto fail;
    }
    *out = d;
    return SL_OK;

fail:
    sl_client_group_desc_free(d);
    return rc;
}

static void
free_tps(sl_client_tp_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].topic);
    free(v);
}

void
sl_client_group_desc_free(sl_client_group_desc_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmembers; i++) {
        free(d->members[i].member_id);
        free(d->members[i].client_id);
        free(d->members[i].host);
        free_tps(d->members[i].assigned, d->members[i].nassigned);
    }
    free(d->members);
    free_tps(d->committed, d->ncommitted);
    free(d->id);
    free(d->state);
    free(d->assignor);
    free(d->coordinator_host);
    free(d);
}

/* ================================================================ */
/* alter offsets, delete                                            */
/* ================================================================ */

int
sl_client_alter_group_offsets(sl_client_t *c, const char *group, const sl_client_tp_t *tps,
                              size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    rd_kafka_AlterConsumerGroupOffsets_t *ao;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_group_result_t **grs;
    const rd_kafka_topic_partition_list_t *pl;
    char what[300];
    size_t ng;
    int rc;

    snprintf(what, sizeof(what), "cannot set offsets of group '%s'", group);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, tps[i].topic, tps[i].partition)->offset =
            tps[i].offset;
    ao = rd_kafka_AlterConsumerGroupOffsets_new(group, l);
    o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    q = rd_kafka_queue_new(c->rk);
    rd_kafka_AlterConsumerGroupOffsets(c->rk, &ao, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, what, &ev);
    if (rc != SL_OK)
        goto out;
    grs = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &ng);
    if (ng < 1) {
        rc = sl_client_fail(c, SL_EIO, "%s: empty result", what);
        goto out;
    }
    if ((rc = group_result(c, grs[0], what)) != SL_OK)
        goto out;
    pl = rd_kafka_group_result_partitions(grs[0]);
    for (int i = 0; pl && i < pl->cnt; i++) {
        rd_kafka_resp_err_t e = pl->elems[i].err;
        if (e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
            e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
            rc = sl_client_fail(c, SL_EINVAL,
                                "%s: the group has active members; stop its consumers first", what);
            goto out;
        }
        if (e) {
            rc = sl_client_rkerr(c, e, what, NULL);
            goto out;
        }
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_AlterConsumerGroupOffsets_destroy(ao);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int
sl_client_delete_group(sl_client_t *c, const char *group)
{
    rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(group);
    rd_kafka_AdminOptions_t *o = sl_client_admin_opts(c, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_group_result_t **grs;
    char what[300];
    size_t n;
    int rc;

    snprintf(what, sizeof(what), "cannot delete group '%s'", group);
    rd_kafka_DeleteGroups(c->rk, &dg, 1, o, q);
    rc = sl_client_admin_wait(c, q, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, what, &ev);
    if (rc != SL_OK)
        goto out;
    grs = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    if (n < 1)
        rc = sl_client_fail(c, SL_EIO, "%s: empty result", what);
    else
        rc = group_result(c, grs[0], what);
    if (rc == SL_ENOENT)
        sl_client_fail(c, rc, "group '%s' does not exist (see `sluice group list`)", group);
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteGroup_destroy(dg);
    return rc;
}
