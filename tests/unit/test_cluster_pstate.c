/*
 * test_cluster_pstate.c -- the partition-state rules: single-node start,
 * deltas (forward only, change bits), and the KIP-320 leader/epoch check.
 */
#include "test.h"

#include "cluster/cluster.h"

SL_TEST(pstate_local_is_self_led)
{
    sl_pstate_t ps;

    sl_pstate_init_local(&ps, 3, 7, 0);
    SL_CHECK_EQ(ps.partition, 3);
    SL_CHECK_EQ(ps.leader_id, 7);
    SL_CHECK_EQ(ps.leader_epoch, 0);
    SL_CHECK_EQ(ps.replicas.n, 1);
    SL_CHECK_EQ(ps.replicas.ids[0], 7);
    SL_CHECK_EQ(ps.isr.n, 1);
    SL_CHECK_EQ(ps.isr.ids[0], 7);
    SL_CHECK_EQ(ps.offline.n, 0);
    SL_CHECK(sl_pstate_is_leader(&ps, 7));
    SL_CHECK(!sl_pstate_is_leader(&ps, 8));
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 7, -1), SL_OK);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 7, 0), SL_OK);
    sl_pstate_deinit(&ps);
}

SL_TEST(pstate_delta_moves_leadership)
{
    sl_pstate_t ps;
    int32_t reps[] = {2, 1}, isr[] = {2}, off[] = {1};
    sl_pdelta_t d = {.topic = "t",
                     .partition = 0,
                     .leader_id = 2,
                     .leader_epoch = 5,
                     .partition_epoch = 6,
                     .replicas = reps,
                     .n_replicas = 2,
                     .isr = isr,
                     .n_isr = 1,
                     .offline = off,
                     .n_offline = 1};
    unsigned chg = 0;

    sl_pstate_init_local(&ps, 0, 1, 0);
    SL_CHECK_OK(sl_pstate_apply(&ps, &d, 1, &chg));
    SL_CHECK_EQ(chg, SL_PCHG_BECAME_FOLLOWER | SL_PCHG_NEW_EPOCH | SL_PCHG_REPLICAS);
    SL_CHECK_EQ(ps.leader_id, 2);
    SL_CHECK_EQ(ps.leader_epoch, 5);
    SL_CHECK_EQ(ps.partition_epoch, 6);
    SL_CHECK_EQ(ps.replicas.n, 2);
    SL_CHECK_EQ(ps.replicas.ids[1], 1);
    SL_CHECK_EQ(ps.offline.n, 1);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, -1), SL_ENOT_LEADER);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, 4), SL_EFENCED_EPOCH);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, 6), SL_EUNKNOWN_EPOCH);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, 5), SL_ENOT_LEADER);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 2, 5), SL_OK);

    /* A late watch from before the election changes nothing. */
    d.leader_id = 1;
    d.leader_epoch = 4;
    SL_CHECK_EQ(sl_pstate_apply(&ps, &d, 1, &chg), SL_EFENCED_EPOCH);
    SL_CHECK_EQ(chg, 0u);
    SL_CHECK_EQ(ps.leader_id, 2);
    d.leader_epoch = 5;
    d.partition_epoch = 5;
    SL_CHECK_EQ(sl_pstate_apply(&ps, &d, 1, &chg), SL_EFENCED_EPOCH);

    /* Leadership comes back with a newer epoch. */
    d.leader_epoch = 6;
    d.partition_epoch = 7;
    SL_CHECK_OK(sl_pstate_apply(&ps, &d, 1, &chg));
    SL_CHECK_EQ(chg, SL_PCHG_BECAME_LEADER | SL_PCHG_NEW_EPOCH);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, 6), SL_OK);

    /* No leader: nobody is the leader. */
    d.leader_id = SL_NO_NODE;
    d.leader_epoch = 7;
    d.n_offline = 0;
    SL_CHECK_OK(sl_pstate_apply(&ps, &d, 1, &chg));
    SL_CHECK_EQ(chg, SL_PCHG_BECAME_FOLLOWER | SL_PCHG_NEW_EPOCH | SL_PCHG_REPLICAS);
    SL_CHECK_EQ(sl_pstate_check_leader(&ps, 1, -1), SL_ENOT_LEADER);
    sl_pstate_deinit(&ps);
}
