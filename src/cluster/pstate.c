/*
 * pstate.c -- one partition's replica-set state and the rules for changing
 * it: deltas are whole states that only move forward in leader epoch, and
 * the KIP-320 checks a leader applies to each request that carries the
 * client's idea of the current leader epoch.
 */
#include "cluster/cluster.h"

bool
sl_nodes_has(const sl_nodes_t *ns, int32_t id)
{
    for (int32_t i = 0; i < ns->n; i++) {
        if (ns->ids[i] == id)
            return true;
    }
    return false;
}

static bool
nodes_equal(const sl_nodes_t *ns, const int32_t *ids, int32_t n)
{
    return ns->n == n && (n == 0 || memcmp(ns->ids, ids, (size_t)n * sizeof(*ids)) == 0);
}

static void
nodes_set(sl_nodes_t *ns, const int32_t *ids, int32_t n)
{
    if (n < 0)
        n = 0;
    free(ns->ids);
    ns->ids = NULL;
    ns->n = n;
    if (n > 0) {
        ns->ids = sl_xmalloc((size_t)n * sizeof(*ids));
        memcpy(ns->ids, ids, (size_t)n * sizeof(*ids));
    }
}

void
sl_pstate_init_local(sl_pstate_t *ps, int32_t partition, int32_t self, int32_t leader_epoch)
{
    memset(ps, 0, sizeof(*ps));
    ps->partition = partition;
    nodes_set(&ps->replicas, &self, 1);
    nodes_set(&ps->isr, &self, 1);
    ps->leader_id = self;
    ps->leader_epoch = leader_epoch;
    ps->partition_epoch = 0;
}

void
sl_pstate_deinit(sl_pstate_t *ps)
{
    free(ps->replicas.ids);
    free(ps->isr.ids);
    free(ps->offline.ids);
    memset(ps, 0, sizeof(*ps));
}

bool
sl_pstate_is_leader(const sl_pstate_t *ps, int32_t self)
{
    return ps->leader_id != SL_NO_NODE && ps->leader_id == self;
}

int
sl_pstate_apply(sl_pstate_t *ps, const sl_pdelta_t *d, int32_t self, unsigned *changes)
{
    bool was_leader = sl_pstate_is_leader(ps, self);
    unsigned chg = 0;

    if (changes)
        *changes = 0;
    /* Epochs only move forward: an older state is a watch that arrived
     * late, and applying it would undo a newer election. */
    if (d->leader_epoch < ps->leader_epoch ||
        (d->leader_epoch == ps->leader_epoch && d->partition_epoch < ps->partition_epoch))
        return SL_EFENCED_EPOCH;
    if (d->leader_epoch != ps->leader_epoch)
        chg |= SL_PCHG_NEW_EPOCH;
    if (!nodes_equal(&ps->replicas, d->replicas, d->n_replicas) ||
        !nodes_equal(&ps->isr, d->isr, d->n_isr) ||
        !nodes_equal(&ps->offline, d->offline, d->n_offline))
        chg |= SL_PCHG_REPLICAS;
    nodes_set(&ps->replicas, d->replicas, d->n_replicas);
    nodes_set(&ps->isr, d->isr, d->n_isr);
    nodes_set(&ps->offline, d->offline, d->n_offline);
    ps->leader_id = d->leader_id;
    ps->leader_epoch = d->leader_epoch;
    ps->partition_epoch = d->partition_epoch;
    if (!was_leader && sl_pstate_is_leader(ps, self))
        chg |= SL_PCHG_BECAME_LEADER;
    if (was_leader && !sl_pstate_is_leader(ps, self))
        chg |= SL_PCHG_BECAME_FOLLOWER;
    if (changes)
        *changes = chg;
    return SL_OK;
}

int
sl_pstate_check_leader(const sl_pstate_t *ps, int32_t self, int32_t current_epoch)
{
    /* Kafka's order (Partition.getLocalLog): the epoch first, known to
     * followers too, and only when the client sent one (>= 0); then
     * leadership. A partition with no leader is "not the leader" here;
     * Metadata shows it as LEADER_NOT_AVAILABLE. */
    if (current_epoch >= 0 && current_epoch < ps->leader_epoch)
        return SL_EFENCED_EPOCH;
    if (current_epoch > ps->leader_epoch)
        return SL_EUNKNOWN_EPOCH;
    if (!sl_pstate_is_leader(ps, self))
        return SL_ENOT_LEADER;
    return SL_OK;
}
