/*
 * client.h -- a small blocking Kafka client for the `sluice` CLI (cmd/).
 *
 * It sits on librdkafka (the system library) and turns its asynchronous
 * admin, metadata and group APIs into blocking calls that return plain C
 * structs, so the subcommands only format output. Nothing here knows about
 * the broker's internals: it speaks the Kafka protocol like any client.
 *
 * Errors: every status-returning call gives SL_OK or a negative SL_E* code
 * and leaves a one-line, human-readable reason in sl_client_errmsg(c) that
 * names the problem and, where there is one, the fix. Codes the CLI acts on:
 * SL_ENOENT (no such topic/group), SL_EEXIST (topic exists), SL_EINVAL (the
 * broker rejected an argument), SL_ETIMEDOUT, SL_EIO (anything else).
 *
 * Threads: a client is used by one thread at a time (librdkafka runs its own
 * threads underneath). Results are heap structs the caller frees with the
 * matching _free function; _free(NULL) is a no-op.
 */
#ifndef SL_CLIENT_CLIENT_H
#define SL_CLIENT_CLIENT_H

#include "base/common.h"

typedef struct sl_client sl_client_t;
typedef struct sl_consumer sl_consumer_t;

/* ---- connection ---- */

#define SL_CLIENT_DEFAULT_BROKERS "127.0.0.1:9092"
#define SL_CLIENT_MAX_PROPS       32

typedef struct sl_client_conf {
    const char *brokers; /* "host:port[,host:port...]" */
    int timeout_ms;      /* per blocking call; 0 = 30 s */
    /* librdkafka properties "key=value" (from -X and subcommand flags). */
    const char *props[SL_CLIENT_MAX_PROPS];
    size_t nprops;
} sl_client_conf_t;

/* The brokers the CLI talks to: flag value, else $SLUICE_BROKERS, else
 * 127.0.0.1:9092. Never NULL. */
const char *sl_client_default_brokers(const char *flag);

/* SL_OK if every entry of brokers is HOST:PORT (optionally PROTO://HOST:PORT)
 * with a port in 1..65535; else SL_EINVAL and err names the bad entry. */
SL_MUST_CHECK int sl_client_check_brokers(const char *brokers, char *err, size_t errlen);

/* Connects (a plain TCP probe first, so an absent broker fails fast with a
 * hint), then creates a librdkafka producer handle used for admin calls,
 * metadata and producing. On failure *out is NULL and err holds the reason. */
SL_MUST_CHECK int sl_client_open(const sl_client_conf_t *conf, sl_client_t **out, char *err,
                                 size_t errlen);
/* Flushes outstanding produce requests (bounded by the timeout), frees. */
void sl_client_free(sl_client_t *c);
/* Reason for the last failed call on c. Never NULL. */
const char *sl_client_errmsg(const sl_client_t *c);

/* ---- metadata ---- */

typedef struct sl_client_broker {
    int32_t id;
    char *host;
    int port;
} sl_client_broker_t;

typedef struct sl_client_part {
    int32_t id;
    int32_t leader;
    int32_t *replicas;
    int nreplicas;
    int32_t *isr;
    int nisr;
    int err;           /* librdkafka error code of the partition, 0 = none */
    int64_t log_start; /* filled by sl_client_fill_watermarks; -1 unknown */
    int64_t log_end;
} sl_client_part_t;

typedef struct sl_client_topic {
    char *name;
    int err; /* librdkafka error code of the topic, 0 = none */
    sl_client_part_t *parts;
    int nparts;
} sl_client_topic_t;

typedef struct sl_client_meta {
    char *cluster_id; /* NULL if the broker sent none */
    int32_t controller_id;
    sl_client_broker_t *brokers;
    int nbrokers;
    sl_client_topic_t *topics; /* sorted by name; partitions by id */
    int ntopics;
} sl_client_meta_t;

/* Metadata for one topic (SL_ENOENT if it does not exist; never creates it)
 * or, with topic NULL, for every topic. */
SL_MUST_CHECK int sl_client_metadata(sl_client_t *c, const char *topic, sl_client_meta_t **out);
void sl_client_meta_free(sl_client_meta_t *m);
/* Looks a topic up in m; NULL if absent. */
sl_client_topic_t *sl_client_meta_topic(sl_client_meta_t *m, const char *name);
/* Fills log_start/log_end of every partition of t (ListOffsets). */
SL_MUST_CHECK int sl_client_fill_watermarks(sl_client_t *c, sl_client_topic_t *t);
/* First offset whose timestamp is >= ts_ms in one partition (log end if
 * none is). */
SL_MUST_CHECK int sl_client_offset_for_time(sl_client_t *c, const char *topic, int32_t partition,
                                            int64_t ts_ms, int64_t *offset);

/* ---- topics and configs ---- */

typedef struct sl_client_kv {
    const char *key;
    const char *value;
} sl_client_kv_t;

SL_MUST_CHECK int sl_client_create_topic(sl_client_t *c, const char *name, int partitions,
                                         int replication, const sl_client_kv_t *configs,
                                         size_t nconfigs, bool validate_only);
SL_MUST_CHECK int sl_client_delete_topic(sl_client_t *c, const char *name);
/* Grows a topic to total partitions. */
SL_MUST_CHECK int sl_client_create_partitions(sl_client_t *c, const char *name, int total);

typedef enum sl_client_res {
    SL_CLIENT_RES_TOPIC,
    SL_CLIENT_RES_BROKER,
} sl_client_res_t;

typedef struct sl_client_config {
    char *name;
    char *value;  /* NULL if the broker hides it or it has none */
    char *source; /* Kafka's source name: DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG, ... */
    bool read_only;
    bool is_default;
    bool sensitive;
} sl_client_config_t;

typedef struct sl_client_configs {
    sl_client_config_t *v; /* sorted by name */
    size_t n;
} sl_client_configs_t;

SL_MUST_CHECK int sl_client_describe_configs(sl_client_t *c, sl_client_res_t type, const char *name,
                                             sl_client_configs_t **out);
void sl_client_configs_free(sl_client_configs_t *cfgs);
/* Sets and removes topic config overrides. librdkafka 2.0 has only the
 * non-incremental AlterConfigs, which replaces every override, so this reads
 * the current overrides first and sends the merged set. */
SL_MUST_CHECK int sl_client_alter_topic_configs(sl_client_t *c, const char *topic,
                                                const sl_client_kv_t *set, size_t nset,
                                                const char *const *del, size_t ndel);

/* ---- consumer groups ---- */

typedef struct sl_client_group {
    char *id;
    char *state; /* "Stable", "Empty", ... */
    bool simple; /* no group protocol: offsets only */
} sl_client_group_t;

typedef struct sl_client_groups {
    sl_client_group_t *v; /* sorted by id */
    size_t n;
} sl_client_groups_t;

SL_MUST_CHECK int sl_client_list_groups(sl_client_t *c, sl_client_groups_t **out);
void sl_client_groups_free(sl_client_groups_t *gs);

typedef struct sl_client_tp {
    char *topic;
    int32_t partition;
    int64_t offset; /* meaning depends on the call; -1 = none */
} sl_client_tp_t;

typedef struct sl_client_member {
    char *member_id;
    char *client_id;
    char *host;
    sl_client_tp_t *assigned;
    size_t nassigned;
} sl_client_member_t;

typedef struct sl_client_group_desc {
    char *id;
    char *state;
    char *assignor;
    int32_t coordinator_id;
    char *coordinator_host;
    int coordinator_port;
    sl_client_member_t *members;
    size_t nmembers;
    /* Committed offsets (every partition the group has one for). */
    sl_client_tp_t *committed;
    size_t ncommitted;
} sl_client_group_desc_t;

/* Members, assignments and committed offsets of one group. SL_ENOENT if the
 * broker knows no such group (state Dead and no offsets). */
SL_MUST_CHECK int sl_client_describe_group(sl_client_t *c, const char *group,
                                           sl_client_group_desc_t **out);
void sl_client_group_desc_free(sl_client_group_desc_t *d);
/* Commits the given offsets for the group (it must have no active members). */
SL_MUST_CHECK int sl_client_alter_group_offsets(sl_client_t *c, const char *group,
                                                const sl_client_tp_t *tps, size_t n);
SL_MUST_CHECK int sl_client_delete_group(sl_client_t *c, const char *group);

/* ---- producing ---- */

typedef struct sl_client_header {
    const char *name;
    const void *value;
    size_t len;
} sl_client_header_t;

typedef struct sl_client_record {
    const char *topic;
    int32_t partition; /* -1 = let the partitioner pick (by key) */
    const void *key;   /* NULL = no key */
    size_t key_len;
    const void *value;
    size_t value_len;
    const sl_client_header_t *headers;
    size_t nheaders;
    int64_t timestamp_ms; /* 0 = now */
} sl_client_record_t;

/* Outcome of one record, in the order the broker acknowledged them. */
typedef struct sl_client_delivery {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int err; /* 0 = acknowledged; else a librdkafka error code */
    const char *errstr;
    uint64_t seq; /* the caller's sequence number from sl_client_produce */
} sl_client_delivery_t;

typedef void (*sl_client_delivery_fn)(void *opaque, const sl_client_delivery_t *d);

/* Called for each delivery report from sl_client_produce/sl_client_flush. */
void sl_client_on_delivery(sl_client_t *c, sl_client_delivery_fn fn, void *opaque);
/* Queues one record (copied); blocks while librdkafka's queue is full. */
SL_MUST_CHECK int sl_client_produce(sl_client_t *c, const sl_client_record_t *rec, uint64_t seq);
/* Waits until every queued record has a delivery report. */
SL_MUST_CHECK int sl_client_flush(sl_client_t *c);

/* ---- consuming ---- */

/* Where a consumer starts. With a group, only BEGINNING/END apply (as
 * auto.offset.reset, for partitions without a committed offset). */
typedef enum sl_client_start {
    SL_CLIENT_START_STORED, /* the group's committed offset, else END */
    SL_CLIENT_START_BEGINNING,
    SL_CLIENT_START_END,
    SL_CLIENT_START_OFFSET,   /* an absolute offset */
    SL_CLIENT_START_FROM_END, /* value records before the end */
    SL_CLIENT_START_TIME,     /* first record with timestamp >= value ms */
} sl_client_start_t;

typedef struct sl_consumer_conf {
    const char *topic;
    const char *group; /* NULL = no group: assign partitions directly */
    int32_t partition; /* -1 = all (only without a group) */
    sl_client_start_t start;
    int64_t start_value;
} sl_consumer_conf_t;

typedef struct sl_client_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 if none */
    const uint8_t *key;   /* NULL = null key */
    size_t key_len;
    const uint8_t *value; /* NULL = null value */
    size_t value_len;
    size_t nheaders;
    void *rk_msg; /* private */
} sl_client_msg_t;

SL_MUST_CHECK int sl_consumer_open(const sl_client_conf_t *conf, const sl_consumer_conf_t *cc,
                                   sl_consumer_t **out, char *err, size_t errlen);
/* Next record: SL_OK (msg filled, valid until the next poll or close),
 * SL_EAGAIN (none within timeout_ms), SL_ERANGE (every assigned partition is
 * at its end: there is nothing more to read right now), or an error. */
SL_MUST_CHECK int sl_consumer_poll(sl_consumer_t *k, int timeout_ms, sl_client_msg_t *msg);
/* Header i of the current message (name, value view); false past the end. */
bool sl_consumer_header(const sl_client_msg_t *msg, size_t i, const char **name, const void **value,
                        size_t *len);
/* Commits what was consumed (with a group), leaves the group, frees. */
void sl_consumer_close(sl_consumer_t *k);
const char *sl_consumer_errmsg(const sl_consumer_t *k);

#endif
