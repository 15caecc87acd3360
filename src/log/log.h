/*
 * log.h -- the storage engine: Kafka-format partition logs on local disk.
 *
 * One sl_log_mgr_t per log directory (Kafka's `log.dirs` entry) owns every
 * partition log (sl_plog_t) found in it, the two per-directory checkpoint
 * files, a flusher thread (group-commit fsync) and a janitor thread (unlink,
 * close of big files, checkpoint writes). The broker's event loop polls
 * sl_log_mgr_fd() and calls sl_log_mgr_poll() when it is readable; flush
 * completions are delivered from there through opts.durable_fn.
 *
 * Threading (@locality): every function here is called from one thread, the
 * event loop that owns the manager. The background threads never touch a
 * partition's state; they only run fsync/unlink/close/write-file jobs and
 * hand results back through the eventfd.
 *
 * Errors: SL_EPROTO / SL_ECORRUPT (a produced batch is malformed / has a bad
 * CRC), SL_ETOOBIG (over max.message.bytes), SL_ERANGE (offset outside the
 * log), SL_ENOSPC / SL_EIO (storage errors -> KAFKA_STORAGE_ERROR),
 * SL_EOFFLINE (the partition was taken offline after an I/O error or after
 * corruption below the recovery point; it stays offline until reopened),
 * SL_ENFILE (out of file descriptors: retriable, the partition stays online).
 *
 * The file formats are in docs/ondisk.md.
 */
#ifndef SL_LOG_LOG_H
#define SL_LOG_LOG_H

#include "base/common.h"

/* Idempotent producer refusals (prodstate.c); the broker maps them to
 * OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE. */
#define SL_EOUT_OF_ORDER_SEQUENCE  (-200)
#define SL_EINVALID_PRODUCER_EPOCH (-201)
#define SL_EINVALID_TXN_STATE      (-202)

typedef struct sl_log_mgr sl_log_mgr_t;
typedef struct sl_plog sl_plog_t;
typedef struct sl_seg sl_seg_t;

/* ---- per-topic configuration (Kafka topic config names) ---------------- */

typedef struct sl_log_cfg {
    int64_t segment_bytes;        /* segment.bytes, 1 GiB */
    int64_t segment_ms;           /* segment.ms, 7 days */
    int64_t segment_index_bytes;  /* segment.index.bytes, 10 MiB */
    int64_t index_interval_bytes; /* index.interval.bytes, 4096 */
    int64_t retention_ms;         /* retention.ms, 7 days; -1 = keep forever */
    int64_t retention_bytes;      /* retention.bytes, -1 = no size limit */
    int64_t max_message_bytes;    /* max.message.bytes, 1048588 (one batch) */
    int64_t flush_messages;       /* flush.messages, INT64_MAX = never */
    int64_t flush_ms;             /* flush.ms, INT64_MAX = never */
    bool log_append_time;         /* message.timestamp.type=LogAppendTime */
    /* Log compaction (cleaner.c); only read when `compact` is set. */
    bool compact;                     /* cleanup.policy contains compact */
    int64_t delete_retention_ms;      /* delete.retention.ms, 1 day (tombstones) */
    int64_t min_compaction_lag_ms;    /* min.compaction.lag.ms, 0 */
    int64_t max_compaction_lag_ms;    /* max.compaction.lag.ms, INT64_MAX */
    double min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio, 0.5 */
} sl_log_cfg_t;

/* Fills Kafka's defaults. */
void sl_log_cfg_init(sl_log_cfg_t *cfg);

/* ---- the manager: one per log directory --------------------------------- */

/* How the high watermark moves without replication. */
typedef enum sl_log_hw_mode {
    SL_LOG_HW_ON_WRITE = 0, /* HW = LEO after every append (Kafka single node) */
    SL_LOG_HW_ON_FSYNC,     /* HW = durable offset; every append requests a flush */
    SL_LOG_HW_MANUAL,       /* only sl_plog_set_hw moves it (replication) */
} sl_log_hw_mode_t;

/* Flush completion: offsets < durable_end of pl are on stable storage (rc
 * SL_OK), or the flush failed (rc SL_EIO; pl is now offline and nothing past
 * the previous durable_end may be acknowledged). Called from sl_log_mgr_poll. */
typedef void sl_log_durable_fn(void *arg, sl_plog_t *pl, int64_t durable_end, int rc);
/* Configuration of a partition found on disk at open time. */
typedef void sl_log_cfg_fn(void *arg, const char *topic, int32_t partition, sl_log_cfg_t *cfg);

typedef struct sl_log_mgr_opts {
    sl_log_cfg_t default_cfg; /* for partitions cfg_fn does not describe */
    sl_log_cfg_fn *cfg_fn;    /* may be NULL */
    void *cfg_arg;
    sl_log_durable_fn *durable_fn; /* may be NULL: poll sl_plog_durable_offset */
    void *durable_arg;
    sl_log_hw_mode_t hw_mode;
    bool verify_on_read;                 /* lazy CRC check of data not verified since open */
    int64_t checkpoint_interval_ms;      /* log.flush.offset.checkpoint.interval.ms, 60000 */
    int64_t retention_check_interval_ms; /* log.retention.check.interval.ms, 300000 */
    /* Sealed segments that keep their .log fd open (LRU); 0: a quarter of
     * RLIMIT_NOFILE, at least 16. Active segments hold 3 fds each on top. */
    int64_t max_open_segments;
    int64_t producer_id_expiration_ms;                /* producer.id.expiration.ms, 86400000 */
    int64_t producer_id_expiration_check_interval_ms; /* Kafka's default, 600000 */
    /* The log cleaner (Kafka's broker names; see docs/broker.md "Log
     * compaction"). */
    bool cleaner_enable;                    /* log.cleaner.enable, true */
    int cleaner_threads;                    /* log.cleaner.threads, 1 */
    int64_t cleaner_dedupe_buffer_size;     /* log.cleaner.dedupe.buffer.size, 128 MiB */
    double cleaner_io_buffer_load_factor;   /* log.cleaner.io.buffer.load.factor, 0.9 */
    double cleaner_io_max_bytes_per_second; /* log.cleaner.io.max.bytes.per.second */
    int64_t cleaner_backoff_ms;             /* log.cleaner.backoff.ms, 15000 */
} sl_log_mgr_opts_t;

void sl_log_mgr_opts_init(sl_log_mgr_opts_t *opts);

/*
 * Opens (creating it if needed) log directory `dir`, loads every partition
 * directory in it -- recovering unflushed data after an unclean stop -- and
 * starts the background threads. A partition whose data is corrupt below its
 * recovery point is loaded offline (SL_EOFFLINE from every call) and logged.
 * Returns SL_OK, SL_EIO or SL_ENOSPC (the directory itself is unusable).
 */
SL_MUST_CHECK int sl_log_mgr_open(const char *dir, const sl_log_mgr_opts_t *opts,
                                  sl_log_mgr_t **out);
/*
 * Clean shutdown: flushes every partition, trims indexes, writes both
 * checkpoints and the `.kafka_cleanshutdown` marker (only if everything
 * succeeded), stops the threads and frees everything. Blocks: call it after
 * the event loop has stopped. Every region must have been released.
 */
void sl_log_mgr_close(sl_log_mgr_t *mgr);
/* Closes without flushing or writing the marker (tests: simulates a crash
 * of the process, not of the machine). */
void sl_log_mgr_abandon(sl_log_mgr_t *mgr);

/* The eventfd that becomes readable when background work completed. */
int sl_log_mgr_fd(const sl_log_mgr_t *mgr);
/* Runs completions (durable_fn callbacks, segment frees). Never blocks. */
void sl_log_mgr_poll(sl_log_mgr_t *mgr);
/* Blocks up to timeout_ms (-1 = forever) for a completion, then polls. For
 * tests and tools that have no event loop. */
void sl_log_mgr_wait(sl_log_mgr_t *mgr, int timeout_ms);
/* Periodic duties, call about once a second: flush.ms, retention every
 * retention_check_interval_ms, checkpoints every checkpoint_interval_ms. */
void sl_log_mgr_tick(sl_log_mgr_t *mgr, int64_t now_ms);
/* producer.id.expiration.ms changed (a dynamic broker config): applies
 * from the next expiry check. */
void sl_log_mgr_set_producer_id_expiration(sl_log_mgr_t *mgr, int64_t ms);
/* Writes recovery-point-offset-checkpoint and log-start-offset-checkpoint for
 * every partition of the directory now, in the background (janitor). */
void sl_log_mgr_checkpoint(sl_log_mgr_t *mgr);

/* Partition lookup (borrowed pointer) or NULL. */
sl_plog_t *sl_log_mgr_get(sl_log_mgr_t *mgr, const char *topic, int32_t partition);
/* Creates <dir>/<topic>-<partition> (or returns the existing log, whose
 * config is then replaced by cfg). */
SL_MUST_CHECK int sl_log_mgr_create(sl_log_mgr_t *mgr, const char *topic, int32_t partition,
                                    const sl_log_cfg_t *cfg, sl_plog_t **out);
/* Removes a partition (topic deletion): renames its directory to
 * `<topic>-<partition>.<hex>-delete`, unlinks it in the background. */
SL_MUST_CHECK int sl_log_mgr_delete(sl_log_mgr_t *mgr, sl_plog_t *pl);
size_t sl_log_mgr_count(const sl_log_mgr_t *mgr);
sl_plog_t *sl_log_mgr_at(sl_log_mgr_t *mgr, size_t i);

/* Log cleaner statistics of a directory (cleaner.c). */
typedef struct sl_log_cleaner_stats {
    int64_t cleans;        /* passes that swapped cleaned segments in */
    int64_t bytes_read;    /* dirty + clean log bytes read by the cleaner */
    int64_t bytes_written; /* bytes of cleaned segments written */
    int64_t busy_ms;       /* wall time spent cleaning */
} sl_log_cleaner_stats_t;
void sl_log_mgr_cleaner_stats(const sl_log_mgr_t *mgr, sl_log_cleaner_stats_t *st);
/* Runs the cleaner's scheduling pass now, ignoring log.cleaner.backoff.ms
 * (tests, tools). Cleaning itself still happens on the cleaner threads. */
void sl_log_mgr_clean_now(sl_log_mgr_t *mgr, int64_t now_ms);
/* Dynamic broker configs: the cleaner's tuning from now on (the next job;
 * log.cleaner.threads stays as it was at open). */
void sl_log_mgr_set_cleaner_tuning(sl_log_mgr_t *mgr, int64_t dedupe_buffer_size,
                                   double io_buffer_load_factor, double io_max_bytes_per_second,
                                   int64_t backoff_ms);
/* True while a clean of pl is in flight. */
bool sl_plog_cleaning(const sl_plog_t *pl);
/* First offset the cleaner has not deduplicated yet (the
 * cleaner-offset-checkpoint entry), -1 if never cleaned. */
int64_t sl_plog_clean_offset(const sl_plog_t *pl);

/* ---- partition log ----------------------------------------------------- */

typedef struct sl_log_append_info {
    int64_t base_offset;      /* offset of the first record appended */
    int64_t last_offset;      /* offset of the last record appended */
    int64_t log_append_time;  /* -1 unless message.timestamp.type=LogAppendTime */
    int64_t max_timestamp;    /* largest batch maxTimestamp of this append */
    int64_t offset_of_max_ts; /* last offset of the batch holding it */
    int64_t log_start_offset;
    int32_t batch_count;
    int64_t bytes;
    /* An idempotent producer's retry of a batch already in the log: nothing
     * was written; base/last offset are the original batch's. */
    bool duplicate;
} sl_log_append_info_t;

/*
 * Appends one or more v2 batches lying back to back in buf (as a Produce
 * request carries them). Every batch is validated first (size, magic, CRC,
 * recordCount == lastOffsetDelta + 1 > 0, max.message.bytes); nothing is
 * written unless all pass. Then, in place, baseOffset and
 * partitionLeaderEpoch are patched (and LogAppendTime applied with a CRC
 * rewrite if configured) and the whole buffer goes to the active segment with
 * one write. Records are never touched. On a write error nothing stays in the
 * log (the file is cut back); SL_EIO also takes the partition offline.
 * Batches with a producer id are checked against the partition's producer
 * state first (Kafka's idempotence rules, see src/log/prodstate.h):
 * SL_EOUT_OF_ORDER_SEQUENCE, SL_EINVALID_PRODUCER_EPOCH,
 * SL_EINVALID_TXN_STATE (transactional batch) refuse the whole append; a
 * retry of one of the producer's last 5 batches returns SL_OK with
 * info->duplicate and the original offsets, writing nothing.
 * Durability is not implied: see sl_plog_request_flush.
 */
SL_MUST_CHECK int sl_plog_append(sl_plog_t *pl, uint8_t *buf, size_t len,
                                 sl_log_append_info_t *info);

/* Who wrote a batch (Kafka's AppendOrigin): it decides what is validated
 * and whether offsets are assigned. */
typedef enum sl_append_origin {
    SL_APPEND_CLIENT = 0,  /* leader, a producer's batches: sl_plog_append */
    SL_APPEND_COORDINATOR, /* leader, the broker's own internal writes: the same checks and
                              offset assignment as CLIENT */
    SL_APPEND_REPLICATION, /* follower: offsets and epochs come from the leader */
} sl_append_origin_t;

/*
 * sl_plog_append with an origin. For SL_APPEND_REPLICATION the buffer is
 * never modified: every batch must pass sl_batch_validate (length, magic,
 * CRC, offsets), the first batch must start at the LEO (else SL_ERANGE,
 * nothing written), each next batch at the previous one's last offset + 1
 * (else SL_EPROTO), partitionLeaderEpoch >= 0 (SL_EPROTO) and never below
 * the latest epoch of the leader-epoch cache or of an earlier batch of buf
 * (SL_EINVAL: data of a fenced leader; truncate first). max.message.bytes
 * and LogAppendTime do not apply (the leader did both). A batch with a new,
 * higher epoch adds (epoch, its base offset) to the epoch cache. The HW
 * moves as the manager's hw_mode says (SL_LOG_HW_MANUAL for replicas).
 */
SL_MUST_CHECK int sl_plog_append_origin(sl_plog_t *pl, sl_append_origin_t origin, uint8_t *buf,
                                        size_t len, sl_log_append_info_t *info);
/* sl_plog_append_origin(pl, SL_APPEND_REPLICATION, ...). */
SL_MUST_CHECK int sl_plog_append_as_follower(sl_plog_t *pl, uint8_t *buf, size_t len,
                                             sl_log_append_info_t *info);

/* A file region for sendfile. Holds a reference on its segment, which keeps
 * the file open (and readable) even after retention deleted it. */
typedef struct sl_log_region {
    sl_seg_t *seg; /* NULL when empty */
    int fd;
    int64_t pos;
    int64_t len;
    int64_t first_offset; /* baseOffset of the first batch in the region */
    int64_t next_offset;  /* offset after the last batch in the region */
} sl_log_region_t;

/* Drops the region's reference (no-op on an empty region). */
void sl_log_region_release(sl_log_region_t *r);

/*
 * Whole batches starting with the one containing `offset`, from one segment,
 * at most max_bytes (but always the first batch when min_one, KIP-74), none
 * at or past upper_bound (pass the HW for consumers, the LEO for followers).
 * Returns SL_OK (region empty when there is nothing to return), SL_ERANGE
 * when offset < log start offset or offset > LEO, SL_EOFFLINE (also when a
 * lazily verified batch has a bad CRC: the partition goes offline), SL_EIO.
 */
SL_MUST_CHECK int sl_plog_read(sl_plog_t *pl, int64_t offset, int64_t max_bytes,
                               int64_t upper_bound, bool min_one, sl_log_region_t *out);

/* ListOffsets by timestamp: the first batch whose maxTimestamp >= ts. Batch
 * granularity: *offset is that batch's base offset (the record-exact answer
 * lies in [base, last]; LogAppendTime batches are exact), *found_ts its
 * maxTimestamp. SL_ENOENT if no batch qualifies (Kafka answers -1). */
SL_MUST_CHECK int sl_plog_offset_for_time(sl_plog_t *pl, int64_t ts, int64_t *offset,
                                          int64_t *found_ts);
/* ListOffsets MAX_TIMESTAMP: the largest maxTimestamp and the last offset
 * of its batch; SL_ENOENT on an empty log. */
SL_MUST_CHECK int sl_plog_max_timestamp(sl_plog_t *pl, int64_t *ts, int64_t *offset);

/* DeleteRecords: advances the log start offset to `offset` (-1 = HW).
 * SL_ERANGE if offset > HW. Segments entirely below it are deleted and the
 * new start offset is checkpointed in the background. *low_watermark gets
 * the resulting log start offset. */
SL_MUST_CHECK int sl_plog_delete_records(sl_plog_t *pl, int64_t offset, int64_t *low_watermark);
/* Applies retention.ms / retention.bytes / the log start offset now.
 * Never deletes the active segment. Returns the number of segments deleted
 * or a negative status. */
int sl_plog_retain(sl_plog_t *pl, int64_t now_ms);

/*
 * Asks that offsets < upto be made durable. SL_OK: they already are.
 * SL_EAGAIN: a group-commit fsync will cover them; durable_fn reports it (and
 * sl_plog_durable_offset moves). SL_EOFFLINE: they never will be.
 */
SL_MUST_CHECK int sl_plog_request_flush(sl_plog_t *pl, int64_t upto);
/* Offsets below this are fsynced (the recovery point). */
int64_t sl_plog_durable_offset(const sl_plog_t *pl);
bool sl_plog_is_durable(const sl_plog_t *pl, int64_t offset);

int64_t sl_plog_log_start(const sl_plog_t *pl);
int64_t sl_plog_leo(const sl_plog_t *pl);
int64_t sl_plog_hw(const sl_plog_t *pl);
/* Replication sets the HW (clamped to [log start, LEO]). */
void sl_plog_set_hw(sl_plog_t *pl, int64_t hw);
int64_t sl_plog_size_bytes(const sl_plog_t *pl);
size_t sl_plog_segment_count(const sl_plog_t *pl);
/* SL_OK or SL_EOFFLINE (with the reason logged when it happened). */
int sl_plog_status(const sl_plog_t *pl);
const char *sl_plog_topic(const sl_plog_t *pl);
int32_t sl_plog_partition(const sl_plog_t *pl);
const sl_log_cfg_t *sl_plog_cfg(const sl_plog_t *pl);
void sl_plog_set_cfg(sl_plog_t *pl, const sl_log_cfg_t *cfg);

/*
 * Follower truncation (Kafka's truncateTo): removes every batch at or past
 * `offset`; an offset inside a batch removes that whole batch, so the LEO
 * becomes its base offset (read it back with sl_plog_leo). Segments wholly
 * past it are deleted, the one holding it is cut with its indexes; HW =
 * min(HW, LEO), the recovery point likewise, and leader-epoch-checkpoint
 * loses every entry starting at or past the new LEO. Durable on return: a
 * crash never brings the tail back. Read regions stay readable. No-op when
 * offset >= LEO; below the log start it is
 * sl_plog_truncate_fully_and_start_at(offset). Blocking (fsyncs, and it
 * waits for queued checkpoint writes of the directory). SL_OK, SL_EINVAL
 * (offset < 0), SL_EOFFLINE, SL_EIO (the partition is now offline),
 * SL_ENOSPC / SL_EIO / SL_ENFILE before anything changed.
 */
SL_MUST_CHECK int sl_plog_truncate_to(sl_plog_t *pl, int64_t offset);
/* Drops every segment and the epoch cache and starts an empty log at
 * `offset` (LEO = HW = log start = recovery point = offset): a follower
 * whose leader's log start is past its LEO. Durable on return; the same
 * statuses. */
SL_MUST_CHECK int sl_plog_truncate_fully_and_start_at(sl_plog_t *pl, int64_t offset);

/* Leader epoch written into appended batches; a new epoch starts at the LEO
 * and is recorded in leader-epoch-checkpoint (written in the background). */
void sl_plog_set_leader_epoch(sl_plog_t *pl, int32_t epoch);
int32_t sl_plog_leader_epoch(const sl_plog_t *pl);
/*
 * OffsetsForLeaderEpoch, as Kafka's LeaderEpochFileCache.endOffsetFor
 * answers it from leader-epoch-checkpoint:
 *  - `epoch` is the latest epoch: (epoch, LEO);
 *  - an older one: (the largest known epoch <= it, start offset of the
 *    first higher epoch) -- a follower truncates to that offset;
 *  - below every known epoch: (epoch, start offset of the first one);
 *  - negative, above the latest, or no epoch known: SL_ENOENT with
 *    (SL_UNDEFINED_EPOCH, SL_UNDEFINED_EPOCH_OFFSET), Kafka's -1 / -1.
 * The outputs are always set.
 */
#define SL_UNDEFINED_EPOCH        (-1)
#define SL_UNDEFINED_EPOCH_OFFSET ((int64_t)-1)
SL_MUST_CHECK int sl_plog_epoch_end(const sl_plog_t *pl, int32_t epoch, int32_t *found_epoch,
                                    int64_t *end_offset);

#endif
