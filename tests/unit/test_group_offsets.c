/*
 * test_group_offsets.c -- committed offsets (commit, fetch, delete,
 * retention), DescribeGroups/ListGroups/DeleteGroups, the record formats and
 * the group -> partition function.
 */
#include "test_group.h"

#include "proto/wire.h"

static void
setup(sl_tg_t *tg)
{
    sl_tg_init(tg);
    sl_tg_start(tg);
}

/* A commit with generation -1 under a member id of the client's own
 * (pykafka's ZooKeeper-balanced consumer). */
static int16_t
simple_commit_as(sl_tg_t *tg, const char *group, const char *member, const char *topic, int32_t p,
                 int64_t off, int16_t version)
{
    sl_tg_slot_t slot = {.kind = SL_TG_COMMIT};
    sl_gcommit_part_t part = {.topic = sl_str_c(topic),
                              .partition = p,
                              .offset = off,
                              .leader_epoch = -1,
                              .metadata = SL_STR_NULL,
                              .commit_timestamp = -1};
    sl_gcommit_req_t req = {.api_version = version,
                            .group_id = sl_str_c(group),
                            .generation_id = -1,
                            .member_id = sl_str_c(member),
                            .group_instance_id = SL_STR_NULL,
                            .retention_time_ms = -1,
                            .parts = &part,
                            .n_parts = 1};

    if (sl_gcoord_commit(tg->gc, &req, &slot, tg->now, &tg->arena, &slot.commit) == SL_GCOORD_DONE)
        slot.done = true;
    SL_CHECK(slot.done);
    SL_CHECK_EQ(slot.commit.n_parts, 1);
    return slot.commit.parts[0].error_code;
}

/* A commit without a generation (simple consumer / v0). */
static int16_t
simple_commit(sl_tg_t *tg, const char *group, const char *topic, int32_t p, int64_t off,
              int16_t version)
{
    return simple_commit_as(tg, group, "", topic, p, off, version);
}

SL_TEST(group_offsets_simple_commit_and_fetch)
{
    sl_tg_t tg;
    sl_gtp_t tps[3] = {{SL_STR_LIT("t"), 0}, {SL_STR_LIT("t"), 1}, {SL_STR_LIT("u"), 0}};
    sl_gfetch_resp_t r;

    setup(&tg);
    /* Unknown group: -1, no error. */
    SL_CHECK_EQ(sl_tg_committed(&tg, "s", "t", 0), -1);
    SL_CHECK_EQ(simple_commit(&tg, "s", "t", 0, 42, 0), SL_GKERR_NONE);
    SL_CHECK_EQ(simple_commit(&tg, "s", "u", 0, 7, 2), SL_GKERR_NONE);
    SL_CHECK_EQ(simple_commit(&tg, "s", "t", 0, 43, 8), SL_GKERR_NONE);
    sl_gcoord_fetch(tg.gc, SL_STR_LIT("s"), tps, 3, false, &tg.arena, &r);
    SL_CHECK_EQ(r.n_parts, 3);
    SL_CHECK_EQ(r.parts[0].offset, 43);
    SL_CHECK(sl_tg_str_is(r.parts[0].metadata, "")); /* null is stored as "" */
    SL_CHECK_EQ(r.parts[1].offset, -1);
    SL_CHECK_EQ(r.parts[1].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(r.parts[2].offset, 7);
    /* All partitions (null topics), sorted. */
    sl_gcoord_fetch(tg.gc, SL_STR_LIT("s"), NULL, 0, true, &tg.arena, &r);
    SL_CHECK_EQ(r.n_parts, 2);
    SL_CHECK(sl_tg_str_is(r.parts[0].topic, "t") && sl_tg_str_is(r.parts[1].topic, "u"));
    /* The offsets-only group is listed as Empty without a protocol type. */
    {
        sl_gdesc_t d = sl_tg_describe(&tg, "s");

        SL_CHECK(sl_tg_str_is(d.state, "Empty"));
        SL_CHECK(sl_tg_str_is(d.protocol_type, ""));
    }
    /* The empty group id is accepted for commits (Kafka compatibility). */
    SL_CHECK_EQ(simple_commit(&tg, "", "t", 0, 1, 2), SL_GKERR_NONE);
    sl_tg_deinit(&tg);
}

SL_TEST(group_offsets_commit_with_generation)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    sl_gfetch_resp_t r;
    sl_gtp_t tp = {SL_STR_LIT("t"), 3};

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    /* A generation for a group that does not exist. */
    a.generation = 1;
    a.member_id = SL_STR_LIT("ca-x");
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 1, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_ILLEGAL_GENERATION);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 3, 100, "meta-data"), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_NONE);
    sl_gcoord_fetch(tg.gc, SL_STR_LIT("g"), &tp, 1, false, &tg.arena, &r);
    SL_CHECK_EQ(r.parts[0].offset, 100);
    SL_CHECK_EQ(r.parts[0].leader_epoch, 7);
    SL_CHECK(sl_tg_str_is(r.parts[0].metadata, "meta-data"));
    /* Simple commits are refused while the group has members. */
    SL_CHECK_EQ(simple_commit(&tg, "g", "t", 3, 5, 2), SL_GKERR_UNKNOWN_MEMBER_ID);
    a.generation = 2;
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 3, 101, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_ILLEGAL_GENERATION);
    a.generation = 1;
    {
        sl_str_t keep = a.member_id;

        a.member_id = SL_STR_LIT("nobody");
        SL_CHECK_EQ(sl_tgc_commit(&a, "t", 3, 101, ""), SL_GCOORD_DONE);
        SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_UNKNOWN_MEMBER_ID);
        a.member_id = keep;
    }
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 3), 100);
    /* Metadata over offset.metadata.max.bytes. */
    {
        char big[4200];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        SL_CHECK_EQ(sl_tgc_commit(&a, "t", 3, 102, big), SL_GCOORD_DONE);
        SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_OFFSET_METADATA_TOO_LARGE);
    }
    /* Generation -1 with a member id of the client's own is refused
     * while the group has members... */
    SL_CHECK_EQ(simple_commit_as(&tg, "g", "pykafka-1", "t", 3, 6, 2), SL_GKERR_UNKNOWN_MEMBER_ID);
    /* After the member leaves, the Empty group takes simple commits, with
     * or without a member id. */
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    SL_CHECK_EQ(simple_commit(&tg, "g", "t", 3, 5, 2), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 3), 5);
    SL_CHECK_EQ(simple_commit_as(&tg, "g", "pykafka-1", "t", 3, 6, 1), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 3), 6);
    /* ...and a group nobody ever joined takes them too. */
    SL_CHECK_EQ(simple_commit_as(&tg, "zk-balanced", "pykafka-2", "t", 0, 9, 2), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "zk-balanced", "t", 0), 9);
    sl_tg_deinit(&tg);
}

SL_TEST(group_offsets_commit_waits_for_durability)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    sl_gcommit_part_t parts[3] = {{.topic = SL_STR_LIT("t"),
                                   .partition = 0,
                                   .offset = 10,
                                   .leader_epoch = -1,
                                   .metadata = SL_STR_LIT(""),
                                   .commit_timestamp = -1},
                                  {.topic = SL_STR_LIT("gone"),
                                   .partition = 0,
                                   .offset = 10,
                                   .leader_epoch = -1,
                                   .metadata = SL_STR_LIT(""),
                                   .commit_timestamp = -1,
                                   .error_code = SL_GKERR_UNKNOWN_TOPIC_OR_PARTITION},
                                  {.topic = SL_STR_LIT("t"),
                                   .partition = 1,
                                   .offset = 11,
                                   .leader_epoch = -1,
                                   .metadata = SL_STR_LIT(""),
                                   .commit_timestamp = -1}};
    sl_gcommit_req_t req = {.api_version = 7,
                            .group_id = SL_STR_LIT("g"),
                            .group_instance_id = SL_STR_NULL,
                            .retention_time_ms = -1,
                            .parts = parts,
                            .n_parts = 3};

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tg_form(&tg, cs, 1);
    tg.auto_ack = false;
    req.generation_id = a.generation;
    req.member_id = a.member_id;
    SL_CHECK_EQ(sl_gcoord_commit(tg.gc, &req, &a.commit, tg.now, &tg.arena, &a.commit.commit),
                SL_GCOORD_PENDING);
    SL_CHECK(!a.commit.done);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), -1); /* not visible yet */
    sl_tg_ack_all(&tg, SL_GKERR_NONE);
    SL_CHECK(a.commit.done);
    SL_CHECK_EQ(a.commit.commit.n_parts, 3);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(a.commit.commit.parts[1].error_code, SL_GKERR_UNKNOWN_TOPIC_OR_PARTITION);
    SL_CHECK(sl_tg_str_is(a.commit.commit.parts[1].topic, "gone"));
    SL_CHECK_EQ(a.commit.commit.parts[2].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 1), 11);
    /* A failed write answers its error and changes nothing. */
    parts[0].offset = 99;
    a.commit.done = false;
    a.commit.n_done = 0;
    SL_CHECK_EQ(sl_gcoord_commit(tg.gc, &req, &a.commit, tg.now, &tg.arena, &a.commit.commit),
                SL_GCOORD_PENDING);
    sl_tg_ack_all(&tg, SL_GKERR_NOT_COORDINATOR);
    SL_CHECK_EQ(a.commit.commit.parts[0].error_code, SL_GKERR_NOT_COORDINATOR);
    SL_CHECK_EQ(a.commit.n_done, 1);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), 10);
    sl_tg_deinit(&tg);
}

SL_TEST(group_offset_delete)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    sl_gtp_t tps[2] = {{SL_STR_LIT("t"), 0}, {SL_STR_LIT("other"), 0}};
    sl_goffset_delete_resp_t r;

    setup(&tg);
    sl_gcoord_offset_delete(tg.gc, SL_STR_LIT("g"), tps, 2, tg.now, &tg.arena, &r);
    SL_CHECK_EQ(r.error_code, SL_GKERR_GROUP_ID_NOT_FOUND);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 5, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(sl_tgc_commit(&a, "other", 0, 6, ""), SL_GCOORD_DONE);
    /* Subscribed to "t" (from the member's consumer-protocol metadata). */
    sl_gcoord_offset_delete(tg.gc, SL_STR_LIT("g"), tps, 2, tg.now, &tg.arena, &r);
    SL_CHECK_EQ(r.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(r.parts[0].error_code, SL_GKERR_GROUP_SUBSCRIBED_TO_TOPIC);
    SL_CHECK_EQ(r.parts[1].error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), 5);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "other", 0), -1);
    /* A tombstone was written for it. */
    SL_CHECK(tg.recs[tg.n_recs - 1].value.len < 0);
    /* Once Empty everything can go; the group goes with its last offset. */
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    sl_gcoord_offset_delete(tg.gc, SL_STR_LIT("g"), tps, 1, tg.now, &tg.arena, &r);
    SL_CHECK_EQ(r.parts[0].error_code, SL_GKERR_NONE);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Dead"));
    /* Non-consumer groups with members: NON_EMPTY_GROUP. */
    {
        sl_tg_slot_t slot = {.kind = SL_TG_JOIN};
        sl_gproto_t p = {SL_STR_LIT("x"), {(const uint8_t *)"", 0}};
        sl_gjoin_req_t req = {.api_version = 3,
                              .group_id = SL_STR_LIT("connect-g"),
                              .session_timeout_ms = 10000,
                              .rebalance_timeout_ms = 10000,
                              .member_id = SL_STR_LIT(""),
                              .group_instance_id = SL_STR_NULL,
                              .protocol_type = SL_STR_LIT("connect"),
                              .protocols = &p,
                              .n_protocols = 1,
                              .client_id = SL_STR_LIT("w")};

        (void)sl_gcoord_join(tg.gc, &req, &slot, tg.now, &tg.arena, &slot.join);
        sl_tg_advance(&tg, 0);
        sl_gcoord_offset_delete(tg.gc, SL_STR_LIT("connect-g"), tps, 1, tg.now, &tg.arena, &r);
        SL_CHECK_EQ(r.error_code, SL_GKERR_NON_EMPTY_GROUP);
    }
    sl_tg_deinit(&tg);
}

SL_TEST(group_describe_list_delete)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    sl_glist_resp_t l;
    sl_str_t st[2] = {SL_STR_LIT("stable"), SL_STR_LIT("PREPARINGREBALANCE")};
    sl_str_t ty = SL_STR_LIT("Consumer");
    sl_gdesc_t d;

    setup(&tg);
    d = sl_tg_describe(&tg, "missing");
    SL_CHECK_EQ(d.error_code, SL_GKERR_NONE);
    SL_CHECK(sl_tg_str_is(d.state, "Dead"));
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(simple_commit(&tg, "s", "t", 0, 1, 2), SL_GKERR_NONE);
    sl_gcoord_list(tg.gc, NULL, 0, NULL, 0, &tg.arena, &l);
    SL_CHECK_EQ(l.error_code, SL_GKERR_NONE);
    SL_CHECK_EQ(l.n_groups, 2);
    SL_CHECK(sl_tg_str_is(l.groups[0].group_id, "g") && sl_tg_str_is(l.groups[1].group_id, "s"));
    SL_CHECK(sl_tg_str_is(l.groups[0].protocol_type, "consumer"));
    SL_CHECK(sl_tg_str_is(l.groups[0].state, "Stable"));
    SL_CHECK(sl_tg_str_is(l.groups[1].state, "Empty"));
    SL_CHECK(sl_tg_str_is(l.groups[1].type, "classic"));
    sl_gcoord_list(tg.gc, st, 2, NULL, 0, &tg.arena, &l); /* states, any case */
    SL_CHECK_EQ(l.n_groups, 1);
    SL_CHECK(sl_tg_str_is(l.groups[0].group_id, "g"));
    sl_gcoord_list(tg.gc, NULL, 0, &ty, 1, &tg.arena, &l); /* no "consumer"-type groups */
    SL_CHECK_EQ(l.n_groups, 0);
    /* Delete: members -> NON_EMPTY_GROUP; Empty -> gone with its offsets. */
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_LIT("g"), tg.now), SL_GKERR_NON_EMPTY_GROUP);
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_LIT("nope"), tg.now),
                SL_GKERR_GROUP_ID_NOT_FOUND);
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_LIT("s"), tg.now), SL_GKERR_NONE);
    SL_CHECK_EQ(sl_tg_committed(&tg, "s", "t", 0), -1);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "s").state, "Dead"));
    /* gen 0 group: only the offset tombstone, no metadata tombstone */
    SL_CHECK_EQ(tg.recs[tg.n_recs - 1].value.len, -1);
    SL_CHECK_EQ(tg.recs[tg.n_recs - 1].key.ptr[1], 1);
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_LIT("g"), tg.now), SL_GKERR_NONE);
    SL_CHECK_EQ(tg.recs[tg.n_recs - 1].key.ptr[1], 2); /* GroupMetadataKey tombstone */
    SL_CHECK_EQ(tg.recs[tg.n_recs - 1].value.len, -1);
    sl_gcoord_list(tg.gc, NULL, 0, NULL, 0, &tg.arena, &l);
    SL_CHECK_EQ(l.n_groups, 0);
    /* Validation */
    SL_CHECK_EQ(sl_gcoord_delete_group(tg.gc, SL_STR_NULL, tg.now), SL_GKERR_INVALID_GROUP_ID);
    sl_tg_deinit(&tg);
}

SL_TEST(group_offsets_retention)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    const int64_t day = 24LL * 3600 * 1000;

    sl_tg_init(&tg);
    tg.cfg.offsets_retention_ms = 7 * day;
    sl_tg_start(&tg);
    SL_CHECK_EQ(simple_commit(&tg, "s", "t", 0, 1, 2), SL_GKERR_NONE);
    sl_tg_advance(&tg, 3 * day);
    SL_CHECK_EQ(simple_commit(&tg, "s", "t", 1, 2, 2), SL_GKERR_NONE);
    sl_tgc_init(&a, &tg, "ca", "t");
    a.session_ms = 1800000;
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 5, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(sl_tgc_commit(&a, "old", 0, 5, ""), SL_GCOORD_DONE); /* not subscribed */
    /* Simple group: each offset 7 days after its commit. */
    for (int i = 0; i < 4 * 24 * 3; i++) {
        sl_tg_advance(&tg, 1200 * 1000);
        SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    }
    SL_CHECK_EQ(sl_tg_committed(&tg, "s", "t", 0), -1);
    SL_CHECK_EQ(sl_tg_committed(&tg, "s", "t", 1), 2);
    for (int i = 0; i < 3 * 24 * 3; i++) {
        sl_tg_advance(&tg, 1200 * 1000);
        SL_CHECK_EQ(sl_tgc_heartbeat(&a), SL_GKERR_NONE);
    }
    /* The simple group lost its last offset: gone. The Stable group lost
     * only what it does not subscribe to. */
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "s").state, "Dead"));
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), 5);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "old", 0), -1);
    /* Empty group: 7 days after it became Empty, whatever the commits. */
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 0, 6, ""), SL_GCOORD_DONE);
    SL_CHECK_EQ(sl_tgc_leave(&a), SL_GKERR_NONE);
    sl_tg_advance(&tg, 0);
    sl_tg_advance(&tg, 7 * day - 11 * 60 * 1000);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), 6);
    sl_tg_advance(&tg, 11 * 60 * 1000);
    SL_CHECK_EQ(sl_tg_committed(&tg, "g", "t", 0), -1);
    SL_CHECK(sl_tg_str_is(sl_tg_describe(&tg, "g").state, "Dead"));
    sl_tg_deinit(&tg);
}

SL_TEST(group_offsets_explicit_retention_uses_v1_value)
{
    sl_tg_t tg;
    sl_tg_slot_t slot = {.kind = SL_TG_COMMIT};
    sl_gcommit_part_t part = {.topic = SL_STR_LIT("t"),
                              .partition = 0,
                              .offset = 9,
                              .leader_epoch = -1,
                              .metadata = SL_STR_LIT("m"),
                              .commit_timestamp = -1};
    sl_gcommit_req_t req = {.api_version = 2,
                            .group_id = SL_STR_LIT("s"),
                            .generation_id = -1,
                            .member_id = SL_STR_LIT(""),
                            .group_instance_id = SL_STR_NULL,
                            .retention_time_ms = 60000,
                            .parts = &part,
                            .n_parts = 1};
    sl_reader_t rd;

    setup(&tg);
    SL_CHECK_EQ(sl_gcoord_commit(tg.gc, &req, &slot, tg.now, &tg.arena, &slot.commit),
                SL_GCOORD_DONE);
    sl_rd_init(&rd, tg.recs[0].value.ptr, (size_t)tg.recs[0].value.len);
    SL_CHECK_EQ(sl_rd_i16(&rd), 1);
    SL_CHECK_EQ(sl_rd_i64(&rd), 9);
    SL_CHECK(sl_tg_str_is(sl_rd_str(&rd, false), "m"));
    SL_CHECK_EQ(sl_rd_i64(&rd), tg.now);
    SL_CHECK_EQ(sl_rd_i64(&rd), tg.now + 60000);
    SL_CHECK_EQ(sl_rd_left(&rd), 0);
    /* It expires at its own timestamp at the next retention check. */
    sl_tg_advance(&tg, 600000);
    SL_CHECK_EQ(sl_tg_committed(&tg, "s", "t", 0), -1);
    sl_tg_deinit(&tg);
}

SL_TEST(group_record_formats_are_kafkas)
{
    sl_tg_t tg;
    sl_tgc_t a;
    sl_tgc_t *cs[] = {&a};
    static const uint8_t key[] = {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3};
    uint8_t val[2 + 8 + 4 + 2 + 2 + 8] = {0,   3, 0, 0, 0, 0, 0, 0,   0,
                                          100, 0, 0, 0, 7, 0, 2, 'h', 'i'};
    const sl_tg_rec_t *r = NULL;
    sl_reader_t rd;

    setup(&tg);
    sl_tgc_init(&a, &tg, "ca", "t");
    sl_tg_form(&tg, cs, 1);
    SL_CHECK_EQ(sl_tgc_commit(&a, "t", 3, 100, "hi"), SL_GCOORD_DONE);
    r = &tg.recs[tg.n_recs - 1];
    SL_CHECK_EQ(r->key.len, (int32_t)sizeof(key));
    SL_CHECK_MEM(r->key.ptr, key, sizeof(key));
    sl_put_be64(val + 18, (uint64_t)tg.now);
    SL_CHECK_EQ(r->value.len, (int32_t)sizeof(val));
    SL_CHECK_MEM(r->value.ptr, val, sizeof(val));
    SL_CHECK_EQ(r->partition, sl_gcoord_partition_for(SL_STR_LIT("g"), 4));
    /* The group record before it: GroupMetadataKey v2 + GroupMetadataValue v3. */
    r = &tg.recs[tg.n_recs - 2];
    SL_CHECK_EQ(r->key.len, 5);
    SL_CHECK_MEM(r->key.ptr, "\0\2\0\1g", 5);
    sl_rd_init(&rd, r->value.ptr, (size_t)r->value.len);
    SL_CHECK_EQ(sl_rd_i16(&rd), 3);
    SL_CHECK(sl_tg_str_is(sl_rd_str(&rd, false), "consumer"));
    SL_CHECK_EQ(sl_rd_i32(&rd), 1);
    SL_CHECK(sl_tg_str_is(sl_rd_str(&rd, false), "range"));
    SL_CHECK(sl_str_eq(sl_rd_str(&rd, false), a.member_id)); /* leader */
    SL_CHECK(sl_rd_i64(&rd) > 0);                            /* currentStateTimestamp */
    SL_CHECK_EQ(sl_rd_i32(&rd), 1);
    SL_CHECK(sl_str_eq(sl_rd_str(&rd, false), a.member_id));
    SL_CHECK(sl_rd_str(&rd, false).len == -1); /* groupInstanceId */
    SL_CHECK(sl_tg_str_is(sl_rd_str(&rd, false), "ca"));
    SL_CHECK(sl_tg_str_is(sl_rd_str(&rd, false), "/127.0.0.1"));
    SL_CHECK_EQ(sl_rd_i32(&rd), 30000);
    SL_CHECK_EQ(sl_rd_i32(&rd), 10000);
    {
        sl_bytes_t sub = sl_rd_bytes(&rd, false), as = sl_rd_bytes(&rd, false);

        SL_CHECK_EQ(sub.len, a.protos[0].metadata.len);
        SL_CHECK_MEM(sub.ptr, a.protos[0].metadata.ptr, (size_t)sub.len);
        SL_CHECK_EQ(as.len, 2 + a.member_id.len);
        SL_CHECK_MEM(as.ptr, "A:", 2);
    }
    SL_CHECK_EQ(rd.err, SL_OK);
    SL_CHECK_EQ(sl_rd_left(&rd), 0);
    sl_tg_deinit(&tg);
}

SL_TEST(group_java_hash_and_partition)
{
    /* Values of java.lang.String.hashCode(). */
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("")), 0);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("a")), 97);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("ab")), 3105);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("analytics")), -1693017210);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("my-group")), -1906497762);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("console-consumer-12345")), 158455506);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("polygenelubricants")), INT32_MIN);
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("\xc3\xa9")), 233);             /* é */
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("\xf0\x9f\x98\x80")), 1772899); /* U+1F600 */
    SL_CHECK_EQ(sl_gcoord_java_hash(SL_STR_LIT("group-\xe4\xb8\xad\xe6\x96\x87")), 506956552);
    /* abs(hash) % 50, with Kafka's Utils.abs (x & 0x7fffffff). */
    SL_CHECK_EQ(sl_gcoord_partition_for(SL_STR_LIT("a"), 50), 47);
    SL_CHECK_EQ(sl_gcoord_partition_for(SL_STR_LIT("analytics"), 50), 38);
    SL_CHECK_EQ(sl_gcoord_partition_for(SL_STR_LIT("my-group"), 50), 36);
    SL_CHECK_EQ(sl_gcoord_partition_for(SL_STR_LIT("polygenelubricants"), 50), 0);
    SL_CHECK_EQ(sl_gcoord_partition_for(SL_STR_LIT("\xf0\x9f\x98\x80"), 50), 49);
}

SL_TEST(group_subscription_parser)
{
    sl_tg_t tg;
    sl_bytes_t b;
    static const uint8_t bad[] = {0, 1, 0, 0, 0, 9, 0, 1, 'x'};
    static const uint8_t v3[] = {0, 3, 0, 0, 0, 1, 0, 2, 't', '1', 0xff, 0xff, 0xff, 0xff};

    sl_tg_init(&tg);
    b = sl_tg_subscription(&tg, "a,bb,ccc");
    SL_CHECK_EQ(sl_gcoord_subscription_topics(b, NULL, NULL), SL_OK);
    SL_CHECK_EQ(sl_gcoord_subscription_topics((sl_bytes_t){bad, sizeof(bad)}, NULL, NULL),
                SL_EPROTO);
    SL_CHECK_EQ(sl_gcoord_subscription_topics((sl_bytes_t){v3, sizeof(v3)}, NULL, NULL), SL_OK);
    SL_CHECK_EQ(sl_gcoord_subscription_topics((sl_bytes_t){NULL, 0}, NULL, NULL), SL_EPROTO);
    SL_CHECK_EQ(sl_gcoord_subscription_topics(SL_BYTES_NULL, NULL, NULL), SL_EPROTO);
    for (size_t cut = 0; cut < (size_t)b.len; cut++)
        SL_CHECK_EQ(sl_gcoord_subscription_topics((sl_bytes_t){b.ptr, (int32_t)cut}, NULL, NULL),
                    cut >= 2 + 4 + 3 + 4 + 5 ? SL_OK : SL_EPROTO);
    sl_tg_deinit(&tg);
}
