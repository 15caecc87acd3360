/*
 * cluster.h -- the partition-state layer: what one broker knows about each
 * partition's replica set (replicas, ISR, offline replicas, leader, leader
 * epoch, partition epoch), and the deltas a metadata backend delivers to
 * change it. Fed asynchronously by a metadata backend (the single-node file
 * store today, ZooKeeper in a cluster); read by the Metadata, Produce, Fetch
 * and ListOffsets handlers and by the coordinators.
 *
 * The log itself stays with its owner (the broker's sl_bpart_t holds the
 * sl_plog_t); the high watermark and log end are read from the log, never
 * copied here, so they cannot drift.
 *
 * Locality: event-loop thread only.
 */
#ifndef SL_CLUSTER_CLUSTER_H
#define SL_CLUSTER_CLUSTER_H

#include "base/common.h"

/* Statuses of the leader checks (the broker maps them to Kafka codes). */
#define SL_ENOT_LEADER    (-120) /* NOT_LEADER_OR_FOLLOWER (6) */
#define SL_EFENCED_EPOCH  (-121) /* FENCED_LEADER_EPOCH (74): the client's epoch is older */
#define SL_EUNKNOWN_EPOCH (-122) /* UNKNOWN_LEADER_EPOCH (75): the client's epoch is newer */

#define SL_NO_NODE (-1) /* leader id of a partition without a leader */

/* A list of broker ids (replicas, ISR, offline replicas), heap-owned. */
typedef struct sl_nodes {
    int32_t n;
    int32_t *ids;
} sl_nodes_t;

bool sl_nodes_has(const sl_nodes_t *ns, int32_t id);

/*
 * One partition's replica-set state. Kafka's PartitionState as the
 * controller writes it to /brokers/topics/T/partitions/P/state (leader,
 * leader_epoch, isr) plus the assignment (replicas) and the partition epoch
 * that counts every change of any of them (KIP-380/KIP-841's
 * partitionEpoch).
 */
typedef struct sl_pstate {
    int32_t partition;
    sl_nodes_t replicas;
    sl_nodes_t isr;
    sl_nodes_t offline; /* replicas whose log dir is offline */
    int32_t leader_id;  /* SL_NO_NODE when none */
    int32_t leader_epoch;
    int32_t partition_epoch;
} sl_pstate_t;

/* Single node: replicas = isr = [self], leader = self at leader_epoch. */
void sl_pstate_init_local(sl_pstate_t *ps, int32_t partition, int32_t self, int32_t leader_epoch);
void sl_pstate_deinit(sl_pstate_t *ps);

/* What a metadata backend says about one partition: the whole new state
 * (ZooKeeper's state znodes are whole values, not patches). The arrays are
 * borrowed for the call. */
typedef struct sl_pdelta {
    const char *topic;
    int32_t partition;
    int32_t leader_id;
    int32_t leader_epoch;
    int32_t partition_epoch;
    const int32_t *replicas;
    int32_t n_replicas;
    const int32_t *isr;
    int32_t n_isr;
    const int32_t *offline;
    int32_t n_offline;
} sl_pdelta_t;

/* What an applied delta changed, as seen by node `self` (bit flags). */
#define SL_PCHG_BECAME_LEADER   0x01u /* self is the leader now, was not before */
#define SL_PCHG_BECAME_FOLLOWER 0x02u /* self was the leader and is not any more */
#define SL_PCHG_NEW_EPOCH       0x04u /* the leader epoch moved */
#define SL_PCHG_REPLICAS        0x08u /* replicas, ISR or offline replicas changed */

/*
 * Applies a delta. A delta older than the state (lower leader epoch, or the
 * same one with a lower partition epoch) is stale (a late watch) and
 * ignored: SL_EFENCED_EPOCH, nothing changed.
 * Otherwise SL_OK and *changes (may be NULL) has the SL_PCHG_* bits.
 */
SL_MUST_CHECK int sl_pstate_apply(sl_pstate_t *ps, const sl_pdelta_t *d, int32_t self,
                                  unsigned *changes);

bool sl_pstate_is_leader(const sl_pstate_t *ps, int32_t self);

/*
 * The KIP-320 check of a request that names a partition on node self, in
 * Kafka's order: for current_epoch >= 0 (-1: the client did not say)
 * SL_EFENCED_EPOCH if it is older than the leader epoch, SL_EUNKNOWN_EPOCH
 * if newer; then SL_ENOT_LEADER unless self is the leader; else SL_OK.
 */
SL_MUST_CHECK int sl_pstate_check_leader(const sl_pstate_t *ps, int32_t self,
                                         int32_t current_epoch);

/* Someone who wants to hear about applied deltas (the group coordinator's
 * "became leader of __consumer_offsets-N", a replica fetcher). */
typedef void (*sl_pstate_listener_fn)(void *ctx, const char *topic, const sl_pstate_t *ps,
                                      unsigned changes);

#endif
