/*
 * apis.c -- the broker's API table: which requests we serve, at which
 * versions, and by which handler. ApiVersions is built from this table, so
 * we advertise exactly what we handle. Minimum versions are 0 for every API
 * (librdkafka checks old versions to enable features: compression needs
 * Produce v0 in range, see notes/protocol-compat.md §1.1); maxima follow the
 * compatibility notes' "advertise" column.
 */
#include "broker/broker_int.h"

static const sl_api_t apis[] = {
    {0, 0, 8, sl_h_Produce},          {1, 0, 11, sl_h_Fetch},
    {2, 0, 5, sl_h_ListOffsets},      {3, 0, 8, sl_h_Metadata},
    {8, 0, 7, sl_h_OffsetCommit},     {9, 0, 7, sl_h_OffsetFetch},
    {10, 0, 2, sl_h_FindCoordinator}, {11, 0, 5, sl_h_JoinGroup},
    {12, 0, 3, sl_h_Heartbeat},       {13, 0, 3, sl_h_LeaveGroup},
    {14, 0, 3, sl_h_SyncGroup},       {15, 0, 4, sl_h_DescribeGroups},
    {16, 0, 4, sl_h_ListGroups},      {17, 0, 1, sl_h_SaslHandshake},
    {18, 0, 3, sl_h_ApiVersions},     {36, 0, 2, sl_h_SaslAuthenticate},
    {19, 0, 4, sl_h_CreateTopics},    {20, 0, 3, sl_h_DeleteTopics},
    {21, 0, 1, sl_h_DeleteRecords},   {32, 0, 3, sl_h_DescribeConfigs},
    {33, 0, 1, sl_h_AlterConfigs},    {37, 0, 1, sl_h_CreatePartitions},
    {42, 0, 1, sl_h_DeleteGroups},    {44, 0, 1, sl_h_IncrementalAlterConfigs},
    {47, 0, 0, sl_h_OffsetDelete},    {60, 0, 1, sl_h_DescribeCluster},
    {22, 0, 5, sl_h_InitProducerId},  {23, 0, 4, sl_h_OffsetForLeaderEpoch},
};

const sl_api_t *
sl_apis_find(int16_t key)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(apis); i++) {
        if (apis[i].key == key)
            return &apis[i];
    }
    return NULL;
}

size_t
sl_apis_count(void)
{
    return SL_ARRAY_LEN(apis);
}

const sl_api_t *
sl_apis_at(size_t i)
{
    return i < SL_ARRAY_LEN(apis) ? &apis[i] : NULL;
}
