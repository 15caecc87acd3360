/*
 * admin.h -- configuration and topic metadata for the broker (public header).
 *
 * Four layers, each usable on its own and none touching the network or the
 * codec:
 *
 *   config definitions  every Kafka broker and topic config Sluice knows:
 *                       name, type, Kafka's default, validator, dynamic
 *                       mode, sensitivity, and (topic configs) the broker
 *                       configs that supply the default ("synonyms").
 *   properties          Java .properties parsing and --override layering.
 *   broker/topic config typed effective values (sl_broker_config_t,
 *                       sl_topic_config_t), DescribeConfigs entries,
 *                       AlterConfigs / IncrementalAlterConfigs semantics.
 *   topic store         the single-node metadata store: topics (name, id,
 *                       partitions, replication factor, overrides), dynamic
 *                       broker configs, the cluster id and meta.properties,
 *                       persisted in one file in the first log dir. It sits
 *                       behind sl_topics_backend_t so cluster mode can back
 *                       it with ZooKeeper instead.
 *
 * Threading: nothing here is thread-safe; the event-loop thread owns the
 * broker config and the store. Errors are SL_E* statuses (negative) plus a
 * human message in an sl_errbuf_t that names the offending key or topic.
 */
#ifndef SL_ADMIN_ADMIN_H
#define SL_ADMIN_ADMIN_H

#include "base/arena.h"
#include "base/common.h"
#include "base/str.h"

/* ======================================================================== */
/* Statuses                                                                 */
/* ======================================================================== */

/*
 * Admin statuses, negative like SL_E* but in a range of their own so the
 * handler's one status -> Kafka error mapping can tell them apart. The
 * Kafka code each one is meant to become is given after it; the generic
 * ones map as SL_EEXIST -> TOPIC_ALREADY_EXISTS (36) and SL_ENOENT ->
 * UNKNOWN_TOPIC_OR_PARTITION (3) for topic operations; SL_EIO/SL_ENOSPC/
 * SL_ECORRUPT from the store -> KAFKA_STORAGE_ERROR (56) or
 * UNKNOWN_SERVER_ERROR (-1).
 */
#define SL_EINVALID_CONFIG      (-100) /* INVALID_CONFIG (40) */
#define SL_EINVALID_TOPIC       (-101) /* INVALID_TOPIC_EXCEPTION (17) */
#define SL_EINVALID_PARTITIONS  (-102) /* INVALID_PARTITIONS (37) */
#define SL_EINVALID_REPLICATION (-103) /* INVALID_REPLICATION_FACTOR (38) */
#define SL_EINVALID_REQUEST     (-104) /* INVALID_REQUEST (42) */
#define SL_EDELETION_DISABLED   (-105) /* TOPIC_DELETION_DISABLED (73) */
#define SL_EPOLICY_VIOLATION    (-106) /* POLICY_VIOLATION (44) */

/* Short name of any status, admin ones included ("EINVALID_CONFIG"). */
const char *sl_admin_strerror(int rc);

/* A message for the caller's logs or for a response's error_message. */
typedef struct sl_errbuf {
    char msg[384];
} sl_errbuf_t;

/* Formats into err (NULL allowed: the message is dropped). Returns rc. */
int sl_errbuf_set(sl_errbuf_t *err, int rc, const char *fmt, ...) SL_PRINTF(3, 4);

/* A growable list of heap strings (warnings). */
typedef struct sl_strlist {
    char **v;
    size_t n, cap;
} sl_strlist_t;

void sl_strlist_init(sl_strlist_t *l);
void sl_strlist_deinit(sl_strlist_t *l);
void sl_strlist_add(sl_strlist_t *l, const char *fmt, ...) SL_PRINTF(2, 3);

/* ======================================================================== */
/* Config definitions (configdef.c)                                         */
/* ======================================================================== */

/* Value types; the numbers are DescribeConfigs v3+ ConfigType codes. */
typedef enum sl_cfg_type {
    SL_CFG_UNKNOWN = 0,
    SL_CFG_BOOLEAN = 1,
    SL_CFG_STRING = 2,
    SL_CFG_INT = 3,
    SL_CFG_SHORT = 4,
    SL_CFG_LONG = 5,
    SL_CFG_DOUBLE = 6,
    SL_CFG_LIST = 7,
    SL_CFG_CLASS = 8,
    SL_CFG_PASSWORD = 9,
} sl_cfg_type_t;

/* Where a value came from; the numbers are DescribeConfigs' ConfigSource. */
typedef enum sl_cfg_source {
    SL_CFG_SRC_UNKNOWN = 0,
    SL_CFG_SRC_DYNAMIC_TOPIC = 1,
    SL_CFG_SRC_DYNAMIC_BROKER = 2,
    SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER = 3,
    SL_CFG_SRC_STATIC_BROKER = 4,
    SL_CFG_SRC_DEFAULT = 5,
    SL_CFG_SRC_DYNAMIC_BROKER_LOGGER = 6,
} sl_cfg_source_t;

typedef enum sl_cfg_scope {
    SL_CFG_BROKER = 1,
    SL_CFG_TOPIC = 2,
} sl_cfg_scope_t;

/* Kafka's "Update Mode" of a broker config (topic configs are all dynamic). */
typedef enum sl_cfg_mode {
    SL_CFG_READ_ONLY = 0,   /* needs a restart */
    SL_CFG_PER_BROKER = 1,  /* dynamic, per broker only */
    SL_CFG_CLUSTER_WIDE = 2 /* dynamic, per broker or as cluster default */
} sl_cfg_mode_t;

/* Validator kinds (see configdef.c for the checks and their messages). */
typedef enum sl_cfg_valid {
    SL_CFGV_NONE = 0,
    SL_CFGV_RANGE,      /* integer in [lo, hi] */
    SL_CFGV_DRANGE,     /* double in [lo, hi] */
    SL_CFGV_ENUM,       /* string, one of choices ("a|b|c"), case-sensitive */
    SL_CFGV_LIST_ENUM,  /* list, every item one of choices */
    SL_CFGV_GZIP_LEVEL, /* int in [1, 9] or -1 */
    SL_CFGV_THROTTLED,  /* "*" or "P:B,P:B,..." */
    SL_CFGV_VERSION,    /* a Kafka MetadataVersion name ("3.0-IV1", "2.8") */
} sl_cfg_valid_t;

#define SL_CFG_MAX_SYNONYMS 3

typedef struct sl_cfgdef {
    const char *name;
    uint8_t scope;    /* sl_cfg_scope_t */
    uint8_t type;     /* sl_cfg_type_t */
    uint8_t mode;     /* sl_cfg_mode_t (broker configs) */
    uint8_t valid;    /* sl_cfg_valid_t */
    bool honoured;    /* false: accepted for compatibility, no effect */
    const char *dflt; /* Kafka's default as Kafka prints it; NULL = null */
    int64_t lo, hi;   /* SL_CFGV_RANGE */
    double dlo, dhi;  /* SL_CFGV_DRANGE */
    const char *choices;
    /* Topic configs: broker configs that supply the default, strongest
     * first (retention.ms <- log.retention.ms, .minutes, .hours). A
     * ".hours"/".minutes" synonym is scaled to milliseconds. */
    const char *synonyms[SL_CFG_MAX_SYNONYMS];
    const char *doc;
} sl_cfgdef_t;

/* Definition of name in scope, or NULL. */
const sl_cfgdef_t *sl_cfgdef_find(sl_cfg_scope_t scope, const char *name);
const sl_cfgdef_t *sl_cfgdef_find_str(sl_cfg_scope_t scope, sl_str_t name);
/* All definitions of a scope, in table order (alphabetical). */
const sl_cfgdef_t *sl_cfgdef_all(sl_cfg_scope_t scope, size_t *n);
/* Password-typed configs: their values are never shown. */
bool sl_cfgdef_sensitive(const sl_cfgdef_t *d);

/*
 * Validates raw (the value as a user wrote it) against d and returns its
 * canonical form in *out (heap, caller frees): trimmed, booleans lower case,
 * numbers in decimal, lists joined by ",", doubles as Java prints them.
 * Fails with SL_EINVALID_CONFIG and a message naming the key and what it
 * accepts ("Invalid value x for configuration cleanup.policy: String must be
 * one of: compact, delete").
 */
SL_MUST_CHECK int sl_cfgdef_canonical(const sl_cfgdef_t *d, const char *raw, char **out,
                                      sl_errbuf_t *err);

/* Typed readers of an already validated value (NULL value = unset). */
int64_t sl_cfgdef_long(const char *v, int64_t dflt);
bool sl_cfgdef_bool(const char *v, bool dflt);
double sl_cfgdef_double(const char *v, double dflt);

/* ======================================================================== */
/* Properties (properties.c)                                                */
/* ======================================================================== */

/* An ordered key/value list; a later set of the same key replaces the value
 * in place. Keys and values are heap strings owned by the list. */
typedef struct sl_prop {
    char *key;
    char *value;
    int line; /* 1-based line in the source file; 0 = set by code/override */
} sl_prop_t;

typedef struct sl_props {
    sl_prop_t *v;
    size_t n, cap;
} sl_props_t;

void sl_props_init(sl_props_t *p);
void sl_props_deinit(sl_props_t *p);
void sl_props_copy(sl_props_t *dst, const sl_props_t *src); /* dst is reset */
/* Value of key or NULL. */
const char *sl_props_get(const sl_props_t *p, const char *key);
void sl_props_set(sl_props_t *p, const char *key, const char *value);
/* Removes key; false if it was not there. */
bool sl_props_unset(sl_props_t *p, const char *key);

/*
 * Parses Java .properties text into p (merging: later keys win): '#'/'!'
 * comments, "key=value", "key: value", "key value", '\' line continuations,
 * escapes \t \n \r \f \uXXXX (to UTF-8) and \<any> = <any>. Bytes outside
 * ASCII pass through unchanged (Java would read Latin-1). A malformed \u
 * escape is SL_EINVAL with the line number in err.
 */
SL_MUST_CHECK int sl_props_parse(sl_props_t *p, const char *text, size_t len, sl_errbuf_t *err);
/* Reads and parses a file. SL_ENOENT/SL_EIO if it cannot be read. */
SL_MUST_CHECK int sl_props_load(sl_props_t *p, const char *path, sl_errbuf_t *err);
/* Applies one "--override key=value" (split at the first '='; no escapes).
 * SL_EINVAL if there is no '=' or the key is empty. */
SL_MUST_CHECK int sl_props_override(sl_props_t *p, const char *kv, sl_errbuf_t *err);

/* ======================================================================== */
/* Listeners (listeners.c)                                                  */
/* ======================================================================== */

/* Security protocol ids as Kafka numbers them. */
typedef enum sl_secproto {
    SL_SECPROTO_PLAINTEXT = 0,
    SL_SECPROTO_SSL = 1,
    SL_SECPROTO_SASL_PLAINTEXT = 2,
    SL_SECPROTO_SASL_SSL = 3,
} sl_secproto_t;

typedef struct sl_listener_cfg {
    char *name; /* upper case, as Kafka normalises it ("PLAINTEXT") */
    char *host; /* "" = every interface; IPv6 without brackets */
    int32_t port;
    int8_t protocol; /* sl_secproto_t, via listener.security.protocol.map */
} sl_listener_cfg_t;

/*
 * Parses a listeners string ("PLAINTEXT://127.0.0.1:9092,SSL://[::1]:0").
 * proto_map is listener.security.protocol.map ("NAME:PROTO,..."). Port 0
 * means "any free port". Fails with SL_EINVALID_CONFIG on syntax errors,
 * unknown protocols and duplicate names. *out is a heap array.
 */
SL_MUST_CHECK int sl_listeners_parse(const char *s, const char *proto_map, sl_listener_cfg_t **out,
                                     size_t *n, sl_errbuf_t *err);
void sl_listeners_free(sl_listener_cfg_t *v, size_t n);
const char *sl_secproto_name(int8_t proto);

/* ======================================================================== */
/* Broker config (broker_config.c)                                          */
/* ======================================================================== */

/* compression.type values; 0..4 equal the batch attribute codec bits. */
#define SL_CFG_COMPRESSION_PRODUCER (-1)
#define SL_CFG_COMPRESSION_NONE     0
#define SL_CFG_COMPRESSION_GZIP     1
#define SL_CFG_COMPRESSION_SNAPPY   2
#define SL_CFG_COMPRESSION_LZ4      3
#define SL_CFG_COMPRESSION_ZSTD     4

/* message.timestamp.type values; equal the batch attribute timestamp bit. */
#define SL_CFG_TS_CREATE_TIME     0
#define SL_CFG_TS_LOG_APPEND_TIME 1

/* cleanup.policy flags. */
#define SL_CFG_CLEANUP_DELETE  0x1u
#define SL_CFG_CLEANUP_COMPACT 0x2u

/*
 * The broker's configuration: three layers of raw values (static from the
 * file and --override, dynamic cluster default, dynamic per-broker; the
 * store persists the dynamic ones) and the effective typed values computed
 * from them. A dynamic value beats a static one, a per-broker one beats the
 * cluster default, and for the ms/minutes/hours families the stronger
 * synonym wins whatever layer the weaker one is in (as in Kafka).
 */
typedef struct sl_broker_config {
    sl_props_t static_props; /* server.properties + overrides, canonical */
    sl_props_t dyn_default;  /* dynamic, cluster-wide default */
    sl_props_t dyn_broker;   /* dynamic, this broker */

    /* Identity and listeners. */
    int32_t broker_id; /* broker.id, else node.id; -1 until the store sets it */
    sl_listener_cfg_t *listeners;
    size_t n_listeners;
    sl_listener_cfg_t *advertised; /* advertised.listeners, else listeners */
    size_t n_advertised;
    char *inter_broker_listener; /* name; from security.inter.broker.protocol if unset */
    char *rack;                  /* broker.rack or NULL */
    char **log_dirs;             /* log.dirs, else log.dir */
    size_t n_log_dirs;
    char *zookeeper_connect; /* NULL = single-node mode */
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms; /* defaults to the session timeout */

    /* Topic creation. */
    int32_t num_partitions;
    int32_t default_replication_factor;
    int32_t max_broker_partitions; /* max.broker.partitions, 10000 */
    bool auto_create_topics_enable;
    bool delete_topic_enable;

    /* Log defaults (the topic-level values come from sl_topic_config_t). */
    int64_t log_retention_check_interval_ms;
    int64_t log_flush_scheduler_interval_ms;
    int32_t log_flush_offset_checkpoint_interval_ms;
    bool log_cleaner_enable;
    int32_t log_cleaner_threads;
    int64_t log_cleaner_dedupe_buffer_size;
    double log_cleaner_io_buffer_load_factor;
    double log_cleaner_io_max_bytes_per_second;
    int64_t log_cleaner_backoff_ms;

    /* Network and requests. */
    int32_t socket_request_max_bytes;
    int32_t socket_send_buffer_bytes;    /* -1 = OS default */
    int32_t socket_receive_buffer_bytes; /* -1 = OS default */
    int32_t socket_listen_backlog_size;
    int64_t connections_max_idle_ms;
    int32_t max_connections;
    int32_t max_connections_per_ip;
    int32_t fetch_max_bytes;
    int32_t max_incremental_fetch_session_cache_slots;
    int32_t sasl_server_max_receive_size;
    int32_t connection_failed_authentication_delay_ms;

    /* Groups and offsets. */
    int32_t offsets_topic_num_partitions;
    int16_t offsets_topic_replication_factor;
    int32_t offsets_topic_segment_bytes;
    int64_t offsets_retention_ms; /* offsets.retention.minutes * 60000 */
    int64_t offsets_retention_check_interval_ms;
    int32_t offset_metadata_max_bytes;
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;

    /* Transactions and producer ids. */
    int32_t transaction_max_timeout_ms;
    int32_t transaction_state_log_num_partitions;
    int16_t transaction_state_log_replication_factor;
    int32_t transaction_state_log_min_isr;
    int32_t transaction_state_log_segment_bytes;
    int32_t transactional_id_expiration_ms;
    int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms;
    int32_t transaction_remove_expired_transaction_cleanup_interval_ms;
    int32_t producer_id_expiration_ms;

    /* Replication (cluster mode). */
    int64_t replica_lag_time_max_ms;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_backoff_ms;
    int32_t replica_socket_timeout_ms;
    int64_t replica_high_watermark_checkpoint_interval_ms;
    int32_t controller_socket_timeout_ms;
} sl_broker_config_t;

/*
 * Fills cfg from static properties (file + overrides), all of Kafka's
 * defaults, and Sluice's own defaults (listeners=PLAINTEXT://127.0.0.1:9092,
 * log.dir=./sluice-data). Unknown keys add a warning to *warnings (may be
 * NULL) and are otherwise ignored. An invalid value for a known key, or
 * inconsistent keys (broker.id != node.id, bad listeners), fail with
 * SL_EINVALID_CONFIG and a message naming the key and the accepted values.
 * cfg is initialised either way; sl_broker_config_deinit frees it.
 */
SL_MUST_CHECK int sl_broker_config_load(sl_broker_config_t *cfg, const sl_props_t *props,
                                        sl_strlist_t *warnings, sl_errbuf_t *err);
void sl_broker_config_deinit(sl_broker_config_t *cfg);

/* Replaces the dynamic layers (copies) and recomputes the typed values. The
 * layers must hold validated canonical values (the store guarantees it). */
SL_MUST_CHECK int sl_broker_config_set_dynamic(sl_broker_config_t *cfg,
                                               const sl_props_t *dyn_default,
                                               const sl_props_t *dyn_broker, sl_errbuf_t *err);

/* The raw value of a broker config after layering (dynamic broker, dynamic
 * default, static), else its default; NULL if null. *src may be NULL. */
const char *sl_broker_config_value(const sl_broker_config_t *cfg, const char *name,
                                   sl_cfg_source_t *src);

/* ======================================================================== */
/* Topic config (topic_config.c)                                            */
/* ======================================================================== */

/* Effective values of every topic config (override, else broker, else
 * Kafka default). Times in ms, sizes in bytes. */
typedef struct sl_topic_config {
    uint32_t cleanup_policy; /* SL_CFG_CLEANUP_* flags (0 = neither) */
    int8_t compression_type; /* SL_CFG_COMPRESSION_* */
    int32_t compression_gzip_level;
    int32_t compression_lz4_level;
    int32_t compression_zstd_level;
    int64_t delete_retention_ms;
    int64_t file_delete_delay_ms;
    int64_t flush_messages;
    int64_t flush_ms;
    int32_t index_interval_bytes;
    int64_t local_retention_bytes;
    int64_t local_retention_ms;
    int64_t max_compaction_lag_ms;
    int32_t max_message_bytes;
    bool message_downconversion_enable;
    /* before/after already fall back to the deprecated difference.max.ms
     * when they are left at their default, as Kafka does. */
    int64_t message_timestamp_before_max_ms;
    int64_t message_timestamp_after_max_ms;
    int8_t message_timestamp_type; /* SL_CFG_TS_* */
    double min_cleanable_dirty_ratio;
    int64_t min_compaction_lag_ms;
    int32_t min_insync_replicas;
    bool preallocate;
    bool remote_storage_enable;
    int64_t retention_bytes; /* -1 = unlimited */
    int64_t retention_ms;    /* -1 = unlimited */
    int32_t segment_bytes;
    int32_t segment_index_bytes;
    int64_t segment_jitter_ms;
    int64_t segment_ms;
    bool unclean_leader_election_enable;
} sl_topic_config_t;

/* Computes the effective values for a topic with these overrides (NULL =
 * none). Overrides must be validated (sl_topic_config_validate). */
void sl_topic_config_resolve(const sl_broker_config_t *b, const sl_props_t *overrides,
                             sl_topic_config_t *out);

/*
 * Validates a whole override set and rewrites it in canonical form: every
 * key must be a topic config (else SL_EINVALID_CONFIG "Unknown topic config
 * name: x"), every value valid, and min.compaction.lag.ms must not exceed
 * max.compaction.lag.ms.
 */
SL_MUST_CHECK int sl_topic_config_validate(sl_props_t *overrides, sl_errbuf_t *err);

/* AlterConfigs / IncrementalAlterConfigs operations. */
typedef enum sl_cfg_op {
    SL_CFG_OP_SET = 0,
    SL_CFG_OP_DELETE = 1,
    SL_CFG_OP_APPEND = 2,  /* list configs only */
    SL_CFG_OP_SUBTRACT = 3 /* list configs only */
} sl_cfg_op_t;

typedef struct sl_cfg_alter {
    sl_str_t name;
    sl_str_t value; /* len -1 = null */
    int8_t op;      /* sl_cfg_op_t; ignored by the legacy (replace) mode */
} sl_cfg_alter_t;

/*
 * Computes a topic's new override set (cur NULL = none). Legacy AlterConfigs (incremental =
 * false) replaces the whole set with the entries; IncrementalAlterConfigs
 * applies SET/DELETE/APPEND/SUBTRACT to cur. APPEND/SUBTRACT start from the
 * effective value (override, broker default or Kafka default), add only
 * missing items and remove every copy. On success *out holds the validated
 * canonical set (out is reset first). On failure *bad is the index of the
 * failing entry (or -1 for a cross-config conflict), the status is
 * SL_EINVALID_CONFIG (unknown name, bad value, APPEND to a non-list) or
 * SL_EINVALID_REQUEST (null value, unknown op, duplicate name), and err
 * names the key.
 */
SL_MUST_CHECK int sl_topic_config_alter(const sl_broker_config_t *b, const sl_props_t *cur,
                                        const sl_cfg_alter_t *ents, size_t n, bool incremental,
                                        sl_props_t *out, int32_t *bad, sl_errbuf_t *err);

/* ======================================================================== */
/* DescribeConfigs entries (describe.c)                                     */
/* ======================================================================== */

typedef struct sl_cfg_synonym {
    const char *name;
    const char *value; /* NULL = null (sensitive) */
    int8_t source;     /* sl_cfg_source_t */
} sl_cfg_synonym_t;

/* One DescribeConfigs result entry; every pointer lives in the caller's
 * arena or is a static string. */
typedef struct sl_cfg_entry {
    const char *name;
    const char *value; /* NULL = null: unset, or sensitive */
    int8_t source;     /* sl_cfg_source_t (v1+) */
    bool is_default;   /* v0: source == DEFAULT */
    bool read_only;
    bool is_sensitive;
    int8_t type; /* sl_cfg_type_t (v3+) */
    const char *doc;
    sl_cfg_synonym_t *synonyms; /* filled only when asked for (v1+) */
    int32_t n_synonyms;
} sl_cfg_entry_t;

/*
 * Entries for a topic (every topic config, in table order) or, with names
 * (n_names >= 0), only the named ones; unknown names are skipped as Kafka
 * does. n_names < 0 means "all".
 */
void sl_cfg_describe_topic(const sl_broker_config_t *b, const sl_props_t *overrides,
                           const sl_str_t *names, int32_t n_names, bool synonyms, sl_arena_t *a,
                           sl_cfg_entry_t **out, int32_t *n_out);

/*
 * Entries for a broker resource. default_resource = true is the resource
 * name "" (the cluster-wide default): only the dynamic default configs are
 * listed. Otherwise every broker config is listed; read_only follows
 * Kafka's update mode; password values are null.
 */
void sl_cfg_describe_broker(const sl_broker_config_t *b, bool default_resource,
                            const sl_str_t *names, int32_t n_names, bool synonyms, sl_arena_t *a,
                            sl_cfg_entry_t **out, int32_t *n_out);

/*
 * Computes a new dynamic broker layer (default_resource: the cluster
 * default, else per-broker) like sl_topic_config_alter. Read-only configs
 * fail with SL_EINVALID_REQUEST ("Cannot update these configs dynamically",
 * Kafka's answer), per-broker-only configs at the default level with
 * SL_EINVALID_CONFIG. Keys that could lock the operator out or move a
 * listener (sl_broker_config_is_guarded) fail with SL_EPOLICY_VIOLATION.
 * Kafka's per-listener keys (listener.name.<l>.*) and password keys are
 * accepted with no effect and not stored (Sluice has no TLS or SASL yet).
 */
SL_MUST_CHECK int sl_broker_config_alter(const sl_broker_config_t *b, bool default_resource,
                                         const sl_cfg_alter_t *ents, size_t n, bool incremental,
                                         sl_props_t *out, int32_t *bad, sl_errbuf_t *err);
/* Keys only the properties file and --override may set: listeners and
 * connection limits. A dynamic value of one (a store written by an older
 * Sluice) is ignored, so the operator can always recover the broker. */
bool sl_broker_config_is_guarded(sl_str_t name);

/* ======================================================================== */
/* Topic names (topic_name.c)                                               */
/* ======================================================================== */

#define SL_TOPIC_NAME_MAX     249
#define SL_TOPIC_MAX_PARTS    100000 /* sanity cap on partitions per topic */
#define SL_TOPIC_OFFSETS      "__consumer_offsets"
#define SL_TOPIC_TRANSACTIONS "__transaction_state"

/* Kafka's rules: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
 * SL_EINVALID_TOPIC with Kafka's message on failure. */
SL_MUST_CHECK int sl_topic_name_validate(sl_str_t name, sl_errbuf_t *err);
bool sl_topic_name_is_internal(sl_str_t name);
/* True if the name holds '.' or '_' (could collide with another name). */
bool sl_topic_name_has_collision_chars(sl_str_t name);
/* True if a and b differ but are equal once '.' is read as '_'. */
bool sl_topic_name_collide(sl_str_t a, sl_str_t b);

/* ======================================================================== */
/* Ids and meta.properties (meta.c)                                         */
/* ======================================================================== */

/* A random UUID v4 as Kafka makes them: never all zero, never the
 * metadata topic id (0...01), never one whose base64 starts with '-'. */
void sl_meta_uuid_random(uint8_t id[16]);
/* Kafka's text form: base64url without padding, 22 chars + NUL. */
void sl_meta_uuid_str(const uint8_t id[16], char out[23]);
/* Parses the text form; SL_EINVAL if it is not 22 base64url chars. */
SL_MUST_CHECK int sl_meta_uuid_parse(const char *s, uint8_t id[16]);

/*
 * Reads <dir>/meta.properties if present (ZooKeeper-mode format: version=0,
 * broker.id, cluster.id). Missing file: SL_ENOENT. *broker_id / cluster_id
 * are -1 / "" when the file lacks them.
 */
SL_MUST_CHECK int sl_meta_props_read(const char *dir, int32_t *broker_id, char cluster_id[64],
                                     sl_errbuf_t *err);
/* Writes <dir>/meta.properties atomically (tmp, fsync, rename, fsync dir). */
SL_MUST_CHECK int sl_meta_props_write(const char *dir, int32_t broker_id, const char *cluster_id,
                                      sl_errbuf_t *err);

/* ======================================================================== */
/* Topic store (topics.c, topics_file.c)                                    */
/* ======================================================================== */

typedef struct sl_topic {
    char *name;
    uint8_t id[16];
    int32_t partitions;
    int16_t replication_factor;
    sl_props_t configs;    /* overrides, validated, canonical */
    sl_topic_config_t cfg; /* effective values, kept current */
} sl_topic_t;

typedef struct sl_topics sl_topics_t;

/* What a backend is asked to persist. The store applies the change in
 * memory, calls commit, and undoes the change if commit fails. */
typedef enum sl_topics_op {
    SL_TOPICS_CREATE = 1,
    SL_TOPICS_DELETE,
    SL_TOPICS_PARTITIONS,
    SL_TOPICS_CONFIGS,
    SL_TOPICS_BROKER_CONFIGS,
    SL_TOPICS_CLUSTER_ID, /* first start: the new cluster id */
} sl_topics_op_t;

typedef struct sl_topics_change {
    int op;                  /* sl_topics_op_t */
    const sl_topic_t *topic; /* the topic after the change (before, for DELETE) */
    bool default_resource;   /* SL_TOPICS_BROKER_CONFIGS: which layer */
} sl_topics_change_t;

/*
 * The persistence interface: the file backend (single node) implements it;
 * cluster mode implements it over ZooKeeper (/brokers/topics/T,
 * /config/topics/T, /config/brokers/<id>|<default>). load fills the store
 * through sl_topics_restore_*; commit persists a change with the store
 * already showing the new state.
 */
typedef struct sl_topics_backend {
    int (*load)(void *ctx, sl_topics_t *ts, sl_errbuf_t *err);
    int (*commit)(void *ctx, const sl_topics_t *ts, const sl_topics_change_t *chg,
                  sl_errbuf_t *err);
    void (*close)(void *ctx);
} sl_topics_backend_t;

/*
 * Opens the single-node store in the broker's log dirs: loads
 * <first log dir>/__sluice_metadata (a leftover .tmp from a crash is
 * discarded), creates the cluster id on first start, checks and writes
 * meta.properties in every log dir, resolves cfg->broker_id (configured,
 * else meta.properties, else 0), installs the persisted dynamic broker
 * configs into cfg, and computes every topic's effective config. cfg must
 * outlive the store. SL_ECORRUPT if the file fails its checksum,
 * SL_EINVALID_CONFIG on a cluster or broker id mismatch.
 */
SL_MUST_CHECK int sl_topics_open(sl_broker_config_t *cfg, sl_topics_t **out, sl_errbuf_t *err);
/* The same over any backend (cluster mode, tests). */
SL_MUST_CHECK int sl_topics_open_backend(const sl_topics_backend_t *be, void *ctx,
                                         sl_broker_config_t *cfg, sl_topics_t **out,
                                         sl_errbuf_t *err);
void sl_topics_free(sl_topics_t *ts);

const char *sl_topics_cluster_id(const sl_topics_t *ts);
size_t sl_topics_count(const sl_topics_t *ts);
/* i-th topic, 0 <= i < count; order is unspecified and changes on delete. */
const sl_topic_t *sl_topics_at(const sl_topics_t *ts, size_t i);
const sl_topic_t *sl_topics_find(const sl_topics_t *ts, sl_str_t name);
const sl_topic_t *sl_topics_find_id(const sl_topics_t *ts, const uint8_t id[16]);
/* Cluster mode: how many brokers are alive (replication factor bound);
 * the single-node store starts at 1. */
void sl_topics_set_live_brokers(sl_topics_t *ts, int32_t n);
/* Persisted dynamic broker config layers. */
const sl_props_t *sl_topics_broker_layer(const sl_topics_t *ts, bool default_resource);

/*
 * CreateTopics. partitions/replication_factor -1 take num.partitions /
 * default.replication.factor. Checks, in Kafka's order: name rules
 * (SL_EINVALID_TOPIC), existence (SL_EEXIST), partitions in 1..100000
 * (SL_EINVALID_PARTITIONS), replication factor >= 1 and <= live brokers
 * (SL_EINVALID_REPLICATION), '.'/'_' collision with an existing topic
 * (SL_EINVALID_TOPIC), configs (SL_EINVALID_CONFIG or, for a duplicate
 * name, SL_EINVALID_REQUEST; null values are skipped). validate_only
 * checks without creating. *out (may be NULL) is the new topic, owned by
 * the store.
 */
SL_MUST_CHECK int sl_topics_create(sl_topics_t *ts, sl_str_t name, int32_t partitions,
                                   int32_t replication_factor, const sl_cfg_alter_t *configs,
                                   size_t n_configs, bool validate_only, const sl_topic_t **out,
                                   sl_errbuf_t *err);
/*
 * Creates __consumer_offsets or __transaction_state as Kafka does:
 * offsets.topic.num.partitions / transaction.state.log.num.partitions
 * partitions, cleanup.policy=compact, the configured segment size, and
 * (transactions) min.insync.replicas = transaction.state.log.min.isr and
 * compression.type=uncompressed. The replication factor is the configured
 * one; with fewer live brokers it fails with SL_EINVALID_REPLICATION in
 * cluster mode (the broker answers COORDINATOR_NOT_AVAILABLE and retries
 * later, as Kafka does) but is capped to the live brokers in single-node
 * mode, so the zero-config broker works with Kafka's default of 3.
 * min.insync.replicas is capped the same way. SL_EEXIST if it exists;
 * SL_EINVAL for any other name.
 */
SL_MUST_CHECK int sl_topics_create_internal(sl_topics_t *ts, sl_str_t name, const sl_topic_t **out,
                                            sl_errbuf_t *err);
/* DeleteTopics: SL_ENOENT if unknown, SL_EDELETION_DISABLED if
 * delete.topic.enable=false. The caller removes the partition logs. */
SL_MUST_CHECK int sl_topics_delete(sl_topics_t *ts, sl_str_t name, sl_errbuf_t *err);
/* Undo of a create whose partition logs could not all be made: removes the
 * topic whatever delete.topic.enable says. */
SL_MUST_CHECK int sl_topics_forget(sl_topics_t *ts, sl_str_t name, sl_errbuf_t *err);
/* Undo of a CreatePartitions whose logs could not all be made. */
SL_MUST_CHECK int sl_topics_set_partitions(sl_topics_t *ts, sl_str_t name, int32_t count,
                                           sl_errbuf_t *err);
/* Partitions the broker may hold: max.broker.partitions, and what the
 * descriptor limit allows (3 fds per partition's active segment, a quarter
 * of RLIMIT_NOFILE kept for sockets and idle segments). */
int64_t sl_topics_partition_limit(const sl_topics_t *ts);
/* CreatePartitions: new_count must exceed the current count
 * (SL_EINVALID_PARTITIONS) and stay under the cap. Both creates also refuse
 * (SL_EINVALID_PARTITIONS) what would take the broker past
 * sl_topics_partition_limit(). */
SL_MUST_CHECK int sl_topics_add_partitions(sl_topics_t *ts, sl_str_t name, int32_t new_count,
                                           bool validate_only, sl_errbuf_t *err);
/* (Incremental)AlterConfigs on a topic; see sl_topic_config_alter. */
SL_MUST_CHECK int sl_topics_alter_configs(sl_topics_t *ts, sl_str_t name,
                                          const sl_cfg_alter_t *ents, size_t n, bool incremental,
                                          bool validate_only, int32_t *bad, sl_errbuf_t *err);
/* (Incremental)AlterConfigs on the broker (or the cluster default): the
 * layer is persisted, then installed into the broker config, and every
 * topic's effective config is recomputed. */
SL_MUST_CHECK int sl_topics_alter_broker_configs(sl_topics_t *ts, bool default_resource,
                                                 const sl_cfg_alter_t *ents, size_t n,
                                                 bool incremental, bool validate_only, int32_t *bad,
                                                 sl_errbuf_t *err);

/* For backends' load: add state without committing it. */
SL_MUST_CHECK int sl_topics_restore_topic(sl_topics_t *ts, const char *name, const uint8_t id[16],
                                          int32_t partitions, int16_t replication_factor,
                                          const sl_props_t *configs, sl_errbuf_t *err);
void sl_topics_restore_cluster_id(sl_topics_t *ts, const char *cluster_id);
void sl_topics_restore_broker_layer(sl_topics_t *ts, bool default_resource,
                                    const sl_props_t *layer);

#endif
