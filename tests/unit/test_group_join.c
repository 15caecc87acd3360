/*
 * test_group_join.c -- membership: JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
 * rebalances and their timeouts, protocol selection, static membership.
 * Fake clock, no sockets (see test_group.h).
 */
#include "test_group.h"

static void
setup(sl_tg_t *tg)
{
    sl_tg_init(tg);
    sl_tg_start(tg);
}

SL_TEST(group_single_member_join_sync_heartbeat)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    sl_gdesc_t d;

    setup(&tg);
    sl_tgc_init(&a, &tg, "c1", "t1");
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(a.generation, 1);
    SL_CHECK(sl_str_eq(a.join.join.leader, a.member_id));
    SL_CHECK(sl_tg_str_is(a.join.join.protocol_name, "range"));
    SL_CHECK_EQ(a.join.join.n_members, 1);
    /* member id is "<client.id>-<uuid>" */
    SL_CHECK(a.member_id.len == 3 + 36 && memcmp(a.member_id.ptr, "c1-", 3) == 0);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    d = sl_tg_describe(&tg, "g");
    SL_CHECK(sl_tg_str_is(d.protocol_type, "consumer"));
    SL_CHECK(sl_tg_str_is(d.protocol_data, "range"));
    SL_CHECK(sl_tg_str_is(d.members[0].client_id, "c1"));
    SL_CHECK(sl_tg_str_is(d.members[0].client_host, "/127.0.0.1"));
    SL_CHECK_EQ(d.members[0].assignment.len, 2 + a.member_id.len);
    SL_CHECK(d.members[0].metadata.len > 0);
    /* Heartbeats keep it alive well past the session timeout. */
    for (int i = 0; i < 10; i++) {
        sl_tg_advance(&tg, 5000);
        SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    }
    SL_CHECK_EQ(sl_tg_describe(&tg, "g").n_members, 1);
    sl_tg_deinit(&tg);
}

SL_TEST(group_five_members_one_generation)
{
    sl_tg_t tg;
    sl_tgc_t c[5];
    sl_tgc_t *cs[5];
    const char *ids[] = {"c0", "c1", "c2", "c3", "c4"};
    int leaders = 0;

    setup(&tg);
    for (int i = 0; i < 5; i++) {
        sl_tgc_init(&c[i], &tg, ids[i], "t1,t2");
        cs[i] = &c[i];
    }
    /* Pending ids block the join until they come back: all land together. */
    sl_tg_form(&tg, cs, 5);
    for (int i = 0; i < 5; i++) {
        SL_CHECK_EQ(c[i].generation, 1);
        SL_CHECK(sl_str_eq(c[i].join.join.leader, c[0].join.join.leader));
        if (sl_str_eq(c[i].join.join.leader, c[i].member_id)) {
            leaders++;
            SL_CHECK_EQ(c[i].join.join.n_members, 5);
        } else {
            SL_CHECK_EQ(c[i].join.join.n_members, 0);
        }
        SL_CHECK_EQ(sl_tgc_heartbeat(&c[i]), SL_GKERR_NONE);
    }
    SL_CHECK_EQ(leaders, 1);
    sl_tg_deinit(&tg);
}

SL_TEST(group_member_id_required_from_v4_only)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    setup(&tg);
    sl_tgc_init(&a, &tg, "c1", "t");
    a.version = 4;
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.join.join.error_code, SL_GKERR_MEMBER_ID_REQUIRED);
    SL_CHECK_EQ(a.join.join.generation_id, -1);
    SL_CHECK(a.member_id.len > 3 && memcmp(a.member_id.ptr, "c1-", 3) == 0);
    SL_CHECK(sl_tg_str_is(a.join.join.protocol_name, "")); /* v < 7: not null */
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Empty"));
    /* The rejoin with the handed-out id is accepted. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 0);
    SL_CHECK(a.join.done && a.join.join.error_code == SL_GKERR_NONE);
    sl_tgc_absorb(&a);
    SL_CHECK_EQ(a.generation, 1);

    /* v3 joins directly (kafka-go loops forever on MEMBER_ID_REQUIRED). */
    sl_tgc_init(&b, &tg, "c2", "t");
    b.version = 3;
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_REBALANCE_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE); /* last one in completes it */
    SL_CHECK(b.join.done);
    sl_tgc_absorb(&a);
    sl_tgc_absorb(&b);
    SL_CHECK_EQ(a.generation, 2);
    SL_CHECK_EQ(b.generation, 2);
    /* v0 uses the session timeout as rebalance timeout; also fine. */
    sl_tg_deinit(&tg);
}

SL_TEST(group_pending_member_expires_and_unblocks_join)
{
    sl_tg_t tg;
    sl_tgc_t a, b;
    sl_tgc_t *cs[] = {&a};

    setup(&tg);
    sl_tgc_init(&a, &tg, "c1", "t");
    sl_tg_form(&tg, cs, 1);
    sl_tgc_init(&b, &tg, "c2", "t");
    b.version = 4;
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.join.join.error_code, SL_GKERR_MEMBER_ID_REQUIRED);
    /* The leader rejoins (forces a rebalance) but b's pending id blocks. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 9999);
    SL_CHECK(!a.join.done);
    sl_tg_advance(&tg, 1);
    SL_CHECK(a.join.done);
    SL_CHECK_EQ(a.join.join.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(a.join.join.generation_id, 2);
    SL_CHECK_EQ(a.join.join.n_members, 1);
    /* b comes back too late: its id is no longer known. */
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.join.join.error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
    sl_tg_deinit(&tg);
}

/* Two members Stable; returns with both at generation 1. */
static void
two(sl_tg_t *tg, sl_tgc_t *a, sl_tgc_t *b)
{
    sl_tgc_t *cs[] = {a, b};

    setup(tg);
    sl_tgc_init(a, tg, "ca", "t");
    sl_tgc_init(b, tg, "cb", "t");
    sl_tg_form(tg, cs, 2);
    SL_CHECK(sl_str_eq(a->join.join.leader, a->member_id));
}

SL_TEST(group_rebalance_on_new_member)
{
    sl_tg_t tg;
    sl_tgc_t a, b, c;
    sl_tgc_t *cs[] = {&a, &b, &c};

    two(&tg, &a, &b);
    sl_tgc_init(&c, &tg, "cc", "t");
    c.version = 3;
    SL_CHECK_EQ(sl_tgc_join(&c), SL_GCOORD_PENDING);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "PreparingRebalance"));
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_REBALANCE_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_REBALANCE_IN_PROGRESS);
    /* A commit is still allowed while preparing (Kafka relies on heartbeats
     * to tell the member). */
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 5, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK(a.join.done && c.join.done);
    for (int i = 0; i < 3; i++) {
        sl_tgc_absorb(cs[i]);
        SL_CHECK_EQ(cs[i]->generation, 2);
    }
    SL_CHECK(sl_str_eq(a.join.join.leader, a.member_id)); /* the leader stays */
    SL_CHECK_EQ(a.join.join.n_members, 3);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "CompletingRebalance"));
    /* Commits and heartbeats with the old generation fail now. */
    SL_CHECK_EQ(sl_tgc_commit(&c, "t", 0, 6, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(c.commit.commit.parts[0].error_code, SL_GKERR_REBALANCE_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_heartbeat(&c), SL_GKERR_NONE);
    c.generation = 1;
    SL_CHECK_EQ(sl_tgc_heartbeat(&c), SL_GKERR_ILLEGAL_GENERATION);
    c.generation = 2;
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_sync(&c), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_sync(&a), SL_GCOORD_DONE);
    SL_CHECK(b.sync.done && c.sync.done);
    SL_CHECK_EQ(c.sync.sync.error_code, SL_GKERR_NONE);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Stable"));
    sl_tg_deinit(&tg);
}

SL_TEST(group_rebalance_on_leave)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_UNKNOWN_MEMBER_ID);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_UNKNOWN_MEMBER_ID);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_REBALANCE_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    sl_tgc_absorb(&b);
    SL_CHECK_EQ(b.generation, 2);
    SL_CHECK(sl_str_eq(b.join.join.leader, b.member_id)); /* leadership moves */
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.sync.sync.error_code, SL_GKERR_NONE);
    /* The last member leaving empties the group (a new generation). */
    SL_CHECK_EQ(sl_tgc_leave(&b), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    {
        sl_gdesc_t d = sl_tg_describe(&tg, "g");

        SL_CHECK(sl_tg_str_is(d.state, "Empty"));
        SL_CHECK_EQ(d.n_members, 0);
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_leave_v0_folds_error_and_v3_batches)
{
    sl_tg_t tg;
    sl_tgc_t a, b;
    sl_gleave_member_t lm[3];
    sl_gleave_req_t req = {.group_id = SL_STR_LIT("g"), .members = lm};
    sl_gleave_resp_t r;

    two(&tg, &a, &b);
    lm[0] = (sl_gleave_member_t){SL_STR_LIT("nobody"), SL_STR_NULL};
    req.api_version = 0;
    req.n_members = 1;
    sl_gcoord_leave(tg.gc, &req, tg.now, &tg.arena, &r);
    SL_CHECK_EQ(r.error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
    lm[1] = (sl_gleave_member_t){a.member_id, SL_STR_NULL};
    lm[2] = (sl_gleave_member_t){b.member_id, SL_STR_NULL};
    req.api_version = 3;
    req.n_members = 3;
    sl_gcoord_leave(tg.gc, &req, tg.now, &tg.arena, &r);
    SL_CHECK_EQ(r.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(r.members[0].error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
    SL_CHECK_EQ(r.members[1].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(r.members[2].error_code, SL_GKERR_NONE);
    SL_CHECK(sl_str_eq(r.members[1].member_id, a.member_id));
    sl_tg_advance(&tg, 0);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Empty"));
    sl_tg_deinit(&tg);
}

SL_TEST(group_session_timeout_removes_member)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_gcoord_next_deadline(tg.gc), tg.now + 10000);
    sl_tg_advance(&tg, 6000);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    sl_tg_advance(&tg, 3999);
    SL_CHECK_EQ(sl_tg_describe(&tg, "g").n_members, 2);
    sl_tg_advance(&tg, 1); /* b's 10 s are up */
    SL_CHECK_EQ(sl_tg_describe(&tg, "g").n_members, 1);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_UNKNOWN_MEMBER_ID);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_REBALANCE_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE);
    sl_tgc_absorb(&a);
    SL_CHECK_EQ(a.generation, 2);
    SL_CHECK_EQ(a.join.join.n_members, 1);
    sl_tg_deinit(&tg);
}

SL_TEST(group_rebalance_timeout_removes_non_rejoining_member)
{
    sl_tg_t tg;
    sl_tgc_t a, b, c;

    two(&tg, &a, &b);
    sl_tgc_init(&c, &tg, "cc", "t");
    c.version = 3;
    SL_CHECK_EQ(sl_tgc_join(&c), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    /* b keeps heartbeating but never rejoins. */
    for (int i = 0; i < 5; i++) {
        sl_tg_advance(&tg, 5000);
        SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_REBALANCE_IN_PROGRESS);
    }
    SL_CHECK(!a.join.done);
    sl_tg_advance(&tg, 5000); /* 30 s rebalance timeout */
    SL_CHECK(a.join.done && c.join.done);
    sl_tgc_absorb(&a);
    SL_CHECK_EQ(a.generation, 2);
    SL_CHECK_EQ(a.join.join.n_members, 2);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_UNKNOWN_MEMBER_ID);
    sl_tg_deinit(&tg);
}

SL_TEST(group_member_not_syncing_in_time_is_removed)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING); /* leader rejoin */
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    sl_tgc_absorb(&a);
    sl_tgc_absorb(&b);
    SL_CHECK_EQ(sl_tgc_sync(&a), SL_GCOORD_DONE);
    /* b never syncs; heartbeats do not count as a SyncGroup. */
    for (int i = 0; i < 6; i++) {
        sl_tg_advance(&tg, 5000);
        if (i < 5)
            SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
        SL_CHECK_EQ(sl_tgc_heartbeat(&b), i < 5 ? SL_GKERR_NONE : SL_GKERR_UNKNOWN_MEMBER_ID);
    }
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_REBALANCE_IN_PROGRESS);
    sl_tg_deinit(&tg);
}

SL_TEST(group_rejoin_rules_while_stable)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    two(&tg, &a, &b);
    /* Follower with the same metadata: answered at once, same generation. */
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.join.join.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(b.join.join.generation_id, 1);
    SL_CHECK_EQ(b.join.join.n_members, 0);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Stable"));
    /* Follower with changed metadata (cooperative-sticky's owned
     * partitions): rebalance. */
    sl_tgc_set_protos(&b, "range", "t,u");
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_PENDING);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "PreparingRebalance"));
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE);
    SL_CHECK(b.join.done);
    sl_tgc_absorb(&a);
    sl_tgc_absorb(&b);
    SL_CHECK_EQ(a.generation, 2);
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_sync(&a), SL_GCOORD_DONE);
    SL_CHECK(b.sync.done);
    /* The leader rejoining with the same metadata still rebalances. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "PreparingRebalance"));
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK(a.join.done);
    SL_CHECK_EQ(a.join.join.generation_id, 3);
    /* In CompletingRebalance a same-metadata rejoin gets the same answer. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.join.join.generation_id, 3);
    SL_CHECK_EQ(a.join.join.n_members, 2);
    sl_tg_deinit(&tg);
}

SL_TEST(group_errors_at_the_right_moments)
{
    sl_tg_t tg;
    sl_tgc_t a, b, x;
    sl_gheartbeat_req_t hb = {.group_id = SL_STR_LIT("nope"),
                              .generation_id = 1,
                              .member_id = SL_STR_LIT("m"),
                              .group_instance_id = SL_STR_NULL};

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_gcoord_heartbeat(tg.gc, &hb, tg.now), SL_GKERR_UNKNOWN_MEMBER_ID);
    hb.group_id = SL_STR_LIT("");
    SL_CHECK_EQ(sl_gcoord_heartbeat(tg.gc, &hb, tg.now), SL_GKERR_INVALID_GROUP_ID);
    /* Unknown member id into an existing group. */
    sl_tgc_init(&x, &tg, "cx", "t");
    x.member_id = SL_STR_LIT("cx-bogus");
    SL_CHECK_EQ(sl_tgc_join(&x), SL_GCOORD_DONE);
    SL_CHECK_EQ(x.join.join.error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
    x.generation = 1;
    SL_CHECK_EQ(sl_tgc_sync(&x), SL_GCOORD_DONE);
    SL_CHECK_EQ(x.sync.sync.error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
    /* Wrong generation. */
    b.generation = 7;
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_ILLEGAL_GENERATION);
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.sync.sync.error_code, SL_GKERR_ILLEGAL_GENERATION);
    b.generation = 1;
    /* SyncGroup while a rebalance is being prepared. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.sync.sync.error_code, SL_GKERR_REBALANCE_IN_PROGRESS);
    /* Session timeout out of bounds. */
    sl_tgc_init(&x, &tg, "cx", "t");
    x.session_ms = 5999;
    SL_CHECK_EQ(sl_tgc_join(&x), SL_GCOORD_DONE);
    SL_CHECK_EQ(x.join.join.error_code, SL_GKERR_INVALID_SESSION_TIMEOUT);
    x.session_ms = 1800001;
    SL_CHECK_EQ(sl_tgc_join(&x), SL_GCOORD_DONE);
    SL_CHECK_EQ(x.join.join.error_code, SL_GKERR_INVALID_SESSION_TIMEOUT);
    sl_tg_deinit(&tg);
}

SL_TEST(group_protocol_selection_and_inconsistent_protocols)
{
    sl_tg_t tg;
    sl_tgc_t a, b, c, d;
    sl_tgc_t *cs[] = {&a, &b, &c};

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    sl_tgc_init(&c, &tg, "cc", "t");
    /* Common: roundrobin and sticky. Votes: a sticky, b roundrobin,
     * c roundrobin -> roundrobin. */
    sl_tgc_set_protos(&a, "range,sticky,roundrobin", "t");
    sl_tgc_set_protos(&b, "roundrobin,sticky", "t");
    sl_tgc_set_protos(&c, "RoundRobinAssigner,roundrobin,sticky", "t");
    sl_tg_form(&tg, cs, 3);
    SL_CHECK(sl_tg_str_is(a.join.join.protocol_name, "roundrobin"));
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").protocol_data, "roundrobin"));
    /* Nothing in common with everyone. */
    sl_tgc_init(&d, &tg, "cd", "t");
    sl_tgc_set_protos(&d, "range", "t");
    d.version = 3;
    SL_CHECK_EQ(sl_tgc_join(&d), SL_GCOORD_DONE);
    SL_CHECK_EQ(d.join.join.error_code, SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
    /* Another protocol type. */
    sl_tgc_set_protos(&d, "roundrobin", "t");
    {
        sl_gjoin_req_t req = {.api_version = 3,
                              .group_id = SL_STR_LIT("g"),
                              .session_timeout_ms = 10000,
                              .rebalance_timeout_ms = 10000,
                              .member_id = SL_STR_LIT(""),
                              .group_instance_id = SL_STR_NULL,
                              .protocol_type = SL_STR_LIT("connect"),
                              .protocols = d.protos,
                              .n_protocols = 1,
                              .client_id = SL_STR_LIT("cd")};
        sl_gjoin_resp_t r;

        SL_CHECK_EQ(sl_gcoord_join(tg.gc, &req, &d.join, tg.now, &tg.arena, &r), SL_GCOORD_DONE);
        SL_CHECK_EQ(r.error_code, SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
        /* An empty group needs a type and at least one protocol. */
        req.group_id = SL_STR_LIT("other");
        req.n_protocols = 0;
        SL_CHECK_EQ(sl_gcoord_join(tg.gc, &req, &d.join, tg.now, &tg.arena, &r), SL_GCOORD_DONE);
        SL_CHECK_EQ(r.error_code, SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
    }
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Stable"));
    /* SyncGroup v5 with the wrong protocol name. */
    {
        sl_gsync_req_t req = {.api_version = 5,
                              .group_id = SL_STR_LIT("g"),
                              .generation_id = 1,
                              .member_id = b.member_id,
                              .group_instance_id = SL_STR_NULL,
                              .protocol_type = SL_STR_LIT("consumer"),
                              .protocol_name = SL_STR_LIT("range")};
        sl_gsync_resp_t r;

        SL_CHECK_EQ(sl_gcoord_sync(tg.gc, &req, &b.sync, tg.now, &tg.arena, &r), SL_GCOORD_DONE);
        SL_CHECK_EQ(r.error_code, SL_GKERR_INCONSISTENT_GROUP_PROTOCOL);
        req.protocol_name = SL_STR_LIT("roundrobin");
        SL_CHECK_EQ(sl_gcoord_sync(tg.gc, &req, &b.sync, tg.now, &tg.arena, &r), SL_GCOORD_DONE);
        SL_CHECK_EQ(r.error_code, SL_GKERR_NONE);
        SL_CHECK(sl_tg_str_is(r.protocol_name, "roundrobin"));
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_static_member_replacement_and_fencing)
{
    sl_tg_t tg;
    sl_tgc_t a, b, a2;
    sl_tgc_t *cs[] = {&a, &b};
    int calls;

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    a.instance_id = SL_STR_LIT("inst-a");
    b.instance_id = SL_STR_LIT("inst-b");
    sl_tg_form(&tg, cs, 2);
    SL_CHECK(memcmp(a.member_id.ptr, "inst-a-", 7) == 0);
    /* b restarts: same instance id, no member id, same metadata. */
    sl_tgc_init(&a2, &tg, "cb", "t");
    a2.instance_id = SL_STR_LIT("inst-b");
    calls = tg.n_persist_calls;
    SL_CHECK_EQ(sl_tgc_join(&a2), SL_GCOORD_DONE);
    SL_CHECK_EQ(tg.n_persist_calls, calls + 1); /* persisted before answering */
    SL_CHECK_EQ(a2.join.join.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(a2.join.join.generation_id, 1); /* no rebalance */
    SL_CHECK(!sl_str_eq(a2.member_id, b.member_id));
    SL_CHECK(sl_str_eq(a2.join.join.leader, a.member_id));
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Stable"));
    /* Its assignment carried over. */
    SL_CHECK_EQ(sl_tgc_sync(&a2), SL_GCOORD_DONE);
    SL_CHECK_EQ(a2.sync.sync.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(a2.sync.sync.assignment.len, b.sync.sync.assignment.len);
    SL_CHECK_MEM(a2.sync.sync.assignment.ptr, b.sync.sync.assignment.ptr,
                 (size_t)b.sync.sync.assignment.len);
    /* The old id is fenced everywhere. */
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_FENCED_INSTANCE_ID);
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.sync.sync.error_code, SL_GKERR_FENCED_INSTANCE_ID);
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.join.join.error_code, SL_GKERR_FENCED_INSTANCE_ID);
    SL_CHECK_EQ(sl_tgc_commit(&b, "t", 0, 1, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.commit.commit.parts[0].error_code, SL_GKERR_FENCED_INSTANCE_ID);
    SL_CHECK_EQ(sl_tgc_leave(&b), SL_GKERR_FENCED_INSTANCE_ID);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a2), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    /* A static member that does not rejoin is not dropped at the rebalance
     * timeout, only when its session expires. */
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 9000);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a2), SL_GKERR_REBALANCE_IN_PROGRESS);
    sl_tg_advance(&tg, 9000);
    SL_CHECK(!a.join.done);
    SL_CHECK_EQ(sl_tg_describe(&tg, "g").n_members, 2);
    sl_tg_advance(&tg, 2000); /* a2 silent for 11 s > 10 s session */
    SL_CHECK(a.join.done);
    SL_CHECK_EQ(a.join.join.n_members, 1);
    /* Removal by instance id alone (admin LeaveGroup). */
    {
        sl_gleave_member_t lm = {SL_STR_LIT(""), SL_STR_LIT("inst-a")};
        sl_gleave_req_t req = {
            .api_version = 3, .group_id = SL_STR_LIT("g"), .members = &lm, .n_members = 1};
        sl_gleave_resp_t r;

        sl_gcoord_leave(tg.gc, &req, tg.now, &tg.arena, &r);
        SL_CHECK_EQ(r.members[0].error_code, SL_GKERR_NONE);
        SL_CHECK_EQ(sl_tg_describe(&tg, "g").n_members, 0);
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_static_replacement_with_new_protocol_rebalances)
{
    sl_tg_t tg;
    sl_tgc_t a, b, b2;
    sl_tgc_t *cs[] = {&a, &b};

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    sl_tgc_set_protos(&a, "range,roundrobin", "t");
    sl_tgc_set_protos(&b, "range,roundrobin", "t");
    b.instance_id = SL_STR_LIT("ib");
    sl_tg_form(&tg, cs, 2);
    sl_tgc_init(&b2, &tg, "cb", "t");
    b2.instance_id = SL_STR_LIT("ib");
    sl_tgc_set_protos(&b2, "roundrobin", "t");
    SL_CHECK_EQ(sl_tgc_join(&b2), SL_GCOORD_PENDING);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "PreparingRebalance"));
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_DONE);
    SL_CHECK(b2.join.done);
    SL_CHECK(sl_tg_str_is(a.join.join.protocol_name, "roundrobin"));
    sl_tg_deinit(&tg);
}

SL_TEST(group_static_replacement_persist_failure_reverts)
{
    sl_tg_t tg;
    sl_tgc_t a, b, b2;
    sl_tgc_t *cs[] = {&a, &b};

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    b.instance_id = SL_STR_LIT("ib");
    sl_tg_form(&tg, cs, 2);
    tg.auto_ack = false;
    sl_tgc_init(&b2, &tg, "cb", "t");
    b2.instance_id = SL_STR_LIT("ib");
    SL_CHECK_EQ(sl_tgc_join(&b2), SL_GCOORD_PENDING);
    sl_tg_ack_all(&tg, SL_GKERR_NOT_COORDINATOR);
    SL_CHECK(b2.join.done);
    SL_CHECK_EQ(b2.join.join.error_code, SL_GKERR_NOT_COORDINATOR);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_NONE); /* the old id is valid again */
    sl_tg_deinit(&tg);
}

SL_TEST(group_sync_persist_failure_fails_the_generation)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    b.version = a.version = 3;
    sl_tgc_join(&a);
    sl_tgc_join(&b);
    sl_tg_advance(&tg, 0);
    sl_tgc_absorb(&a);
    sl_tgc_absorb(&b);
    tg.auto_ack = false;
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_sync(&a), SL_GCOORD_PENDING); /* waits for the write */
    SL_CHECK(!b.sync.done);
    sl_tg_ack_all(&tg, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
    SL_CHECK(a.sync.done && b.sync.done);
    SL_CHECK_EQ(a.sync.sync.error_code, SL_GKERR_COORDINATOR_NOT_AVAILABLE);
    SL_CHECK_EQ(b.sync.sync.assignment.len, 0);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "PreparingRebalance"));
    sl_tg_deinit(&tg);
}

SL_TEST(group_initial_rebalance_delay_collects_joiners)
{
    sl_tg_t tg;
    sl_tgc_t c[3];

    sl_tg_init(&tg);
    tg.cfg.initial_rebalance_delay_ms = 3000;
    sl_tg_start(&tg);
    for (int i = 0; i < 3; i++) {
        sl_tgc_init(&c[i], &tg, "c", "t");
        c[i].version = 3;
    }
    SL_CHECK_EQ(sl_tgc_join(&c[0]), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 2000);
    SL_CHECK_EQ(sl_tgc_join(&c[1]), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 1000); /* first delay ends; a member came: extend */
    SL_CHECK(!c[0].join.done);
    SL_CHECK_EQ(sl_tgc_join(&c[2]), SL_GCOORD_PENDING);
    sl_tg_advance(&tg, 2999);
    SL_CHECK(!c[0].join.done);
    sl_tg_advance(&tg, 1);
    SL_CHECK(!c[0].join.done); /* c[2] arrived during the second delay */
    sl_tg_advance(&tg, 3000);
    for (int i = 0; i < 3; i++) {
        SL_CHECK(c[i].join.done);
        SL_CHECK_EQ(c[i].join.join.generation_id, 1);
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_max_size)
{
    sl_tg_t tg;
    sl_tgc_t a, b, c;
    sl_tgc_t *cs[] = {&a, &b};

    sl_tg_init(&tg);
    tg.cfg.max_size = 2;
    sl_tg_start(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tgc_init(&b, &tg, "cb", "t");
    sl_tg_form(&tg, cs, 2);
    sl_tgc_init(&c, &tg, "cc", "t");
    c.version = 3;
    SL_CHECK_EQ(sl_tgc_join(&c), SL_GCOORD_DONE);
    SL_CHECK_EQ(c.join.join.error_code, SL_GKERR_GROUP_MAX_SIZE_REACHED);
    SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    sl_tg_deinit(&tg);
}

SL_TEST(group_superseded_join_gets_exactly_one_answer)
{
    sl_tg_t tg;
    sl_tgc_t a, b;
    sl_tg_slot_t first;

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    first = a.join; /* the parked request's slot is a.join itself */
    (void)first;
    /* A second JoinGroup from a through another cookie. */
    {
        sl_tg_slot_t other = {.kind = SL_TG_JOIN};
        sl_gjoin_req_t req = {.api_version = 5,
                              .group_id = SL_STR_LIT("g"),
                              .session_timeout_ms = 10000,
                              .rebalance_timeout_ms = 30000,
                              .member_id = a.member_id,
                              .group_instance_id = SL_STR_NULL,
                              .protocol_type = SL_STR_LIT("consumer"),
                              .protocols = a.protos,
                              .n_protocols = a.n_protos,
                              .client_id = SL_STR_LIT("ca")};

        SL_CHECK_EQ(sl_gcoord_join(tg.gc, &req, &other, tg.now, &tg.arena, &other.join),
                    SL_GCOORD_PENDING);
        SL_CHECK(a.join.done);
        SL_CHECK_EQ(a.join.n_done, 1);
        SL_CHECK_EQ(a.join.join.error_code, SL_GKERR_REBALANCE_IN_PROGRESS);
        SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
        SL_CHECK(other.done);
        SL_CHECK_EQ(other.n_done, 1);
        SL_CHECK_EQ(other.join.generation_id, 2);
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_unload_and_loading_states)
{
    sl_tg_t tg;
    sl_tgc_t a, b;
    int32_t p = sl_gcoord_partition_for(SL_STR_LIT("g"), 4);

    two(&tg, &a, &b);
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    sl_gcoord_unload(tg.gc, p);
    SL_CHECK(a.join.done);
    SL_CHECK_EQ(a.join.join.error_code, SL_GKERR_NOT_COORDINATOR);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_NOT_COORDINATOR);
    sl_gcoord_load_begin(tg.gc, p);
    SL_CHECK_EQ(sl_tgc_join(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.join.join.error_code, SL_GKERR_COORDINATOR_LOAD_IN_PROGRESS);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_NONE); /* Kafka answers blindly */
    SL_CHECK_EQ(sl_tgc_sync(&b), SL_GCOORD_DONE);
    SL_CHECK_EQ(b.sync.sync.error_code, SL_GKERR_REBALANCE_IN_PROGRESS);
    sl_gcoord_load_end(tg.gc, p, tg.now);
    SL_CHECK_EQ(sl_tgc_heartbeat(&b), SL_GKERR_UNKNOWN_MEMBER_ID);
    sl_tg_deinit(&tg);
}

SL_TEST(group_free_answers_parked_requests)
{
    sl_tg_t tg;
    sl_tgc_t a, b;

    two(&tg, &a, &b);
    tg.auto_ack = false;
    SL_CHECK_EQ(sl_tgc_join(&a), SL_GCOORD_PENDING);
    SL_CHECK_EQ(sl_tgc_commit(&b, "t", 0, 1, ""), SL_GCOORD_PENDING);
    sl_gcoord_free(tg.gc);
    tg.gc = NULL;
    SL_CHECK(a.join.done && a.join.join.error_code == SL_GKERR_NOT_COORDINATOR);
    SL_CHECK(b.commit.done && b.commit.commit.parts[0].error_code == SL_GKERR_NOT_COORDINATOR);
    sl_tg_deinit(&tg);
}
