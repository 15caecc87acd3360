/*
 * log_int.h -- private structures of the log module (only src/log/ includes
 * this). The public API is log.h; file formats are in docs/ondisk.md.
 *
 * Ownership: the manager owns its partitions (pls[]), a partition owns its
 * segment list (segs[], one reference each), a segment owns its fds and
 * index maps. Segment references are also held by read regions and by
 * in-flight flush jobs; all reference counting happens on the loop thread, so
 * plain ints suffice. The last unref hands the close/unlink to the janitor.
 */
#ifndef SL_LOG_LOG_INT_H
#define SL_LOG_LOG_INT_H

#include "base/buf.h"
#include "log/log.h"
#include "proto/record.h"

#include <inttypes.h>
#include <pthread.h>

#define SL_LOG_COMP "log"

/* ---- background workers (bg.c) ----------------------------------------- */

typedef struct sl_bg_job sl_bg_job_t;
struct sl_bg_job {
    void (*run)(sl_bg_job_t *job);  /* on the worker thread */
    void (*done)(sl_bg_job_t *job); /* on the loop (sl_log_mgr_poll); NULL: free(job) */
    sl_bg_job_t *next;
    int rc;
};

typedef struct sl_bg {
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sl_bg_job_t *head, *tail;
    bool stop;
    bool started;
    int busy; /* jobs queued or running */
    sl_log_mgr_t *mgr;
} sl_bg_t;

void sl_bg_start(sl_bg_t *bg, sl_log_mgr_t *mgr);
/* Runs every queued job, then joins the thread. */
void sl_bg_stop(sl_bg_t *bg);
void sl_bg_submit(sl_bg_t *bg, sl_bg_job_t *job);
/* Blocks until the queue is empty and nothing runs (shutdown, tests). */
void sl_bg_drain(sl_bg_t *bg);

/* ---- indexes (index.c) ------------------------------------------------- */

#define SL_IDX_OFFSET_ENTRY 8  /* relative offset u32, position u32 */
#define SL_IDX_TIME_ENTRY   12 /* timestamp i64, relative offset u32 */

typedef struct sl_idx {
    int fd;             /* -1 for a sealed index: the map needs no descriptor */
    char *path;         /* to reopen it (sync at close, made writable again) */
    sl_log_mgr_t *mgr;  /* descriptor accounting; NULL: none */
    const uint8_t *map; /* read-only shared map of map_len bytes */
    size_t map_len;
    uint32_t entries;
    uint32_t max_entries;
    uint32_t entry_size;
    bool dirty;    /* changed since the last sync (clean close syncs only these) */
    bool building; /* recovery: entries collect in `build`, no file yet */
    sl_buf_t build;
} sl_idx_t;

/* Creates an empty index at path (truncating any old one), preallocated to
 * max_bytes (rounded down to whole entries). */
SL_MUST_CHECK int sl_idx_create(sl_idx_t *ix, const char *path, uint32_t entry_size,
                                int64_t max_bytes);
/* Opens an existing index trusting its size (clean shutdown). Writable ones
 * are extended to max_bytes again. SL_ECORRUPT if the size is not a whole
 * number of entries. */
SL_MUST_CHECK int sl_idx_load(sl_idx_t *ix, const char *path, uint32_t entry_size,
                              int64_t max_bytes, bool writable);
SL_MUST_CHECK int sl_idx_append(sl_idx_t *ix, const uint8_t *entry);
/* Recovery: collect entries in memory, then write the file only if it
 * differs from what is on disk (a rebuild of an intact log rewrites
 * nothing). Writable: the active segment's index, preallocated. */
void sl_idx_begin_build(sl_idx_t *ix, uint32_t entry_size, int64_t max_bytes);
SL_MUST_CHECK int sl_idx_finish_build(sl_idx_t *ix, const char *path, int64_t max_bytes,
                                      bool writable);
/* Extends a trimmed index again so the segment can take appends. */
SL_MUST_CHECK int sl_idx_make_writable(sl_idx_t *ix, int64_t max_bytes);
/* Cuts the file to the used size (roll, close). */
SL_MUST_CHECK int sl_idx_trim(sl_idx_t *ix);
SL_MUST_CHECK int sl_idx_sync(sl_idx_t *ix);
/* Sealed indexes are only read through their map: the fd can go. */
void sl_idx_drop_fd(sl_idx_t *ix);
void sl_idx_close(sl_idx_t *ix);
static inline bool
sl_idx_full(const sl_idx_t *ix)
{
    return ix->entries >= ix->max_entries;
}
const uint8_t *sl_idx_entry(const sl_idx_t *ix, uint32_t i);
/* Offset index: largest entry with relative offset <= rel (or -1). */
int64_t sl_idx_find_offset(const sl_idx_t *ix, uint32_t rel);
/* Offset index: largest entry with position <= pos (or -1). */
int64_t sl_idx_find_position(const sl_idx_t *ix, uint32_t pos);
/* Time index: largest entry with timestamp <= ts (or -1). */
int64_t sl_idx_find_time(const sl_idx_t *ix, int64_t ts);

/* ---- segments (segment.c) ---------------------------------------------- */

struct sl_seg {
    int64_t base;        /* base offset, also the file name */
    int64_t next_offset; /* offset after the last batch (base when empty) */
    int64_t size;        /* bytes of batches in the .log file */
    int fd;              /* -1 while closed: sl_seg_fd opens it on demand */
    int refs;
    int readers; /* read regions among refs: a truncation must not cut their bytes */
    sl_idx_t oidx, tidx;
    int64_t max_ts;           /* largest batch maxTimestamp, -1 if none */
    int64_t max_ts_offset;    /* last offset of the batch that holds it */
    int64_t first_ts;         /* maxTimestamp of the first batch (segment.ms), -1 */
    int64_t created_ms;       /* wall clock of creation or load (segment.ms, retention) */
    int64_t since_index;      /* bytes appended since the last index entry */
    int64_t verified;         /* bytes [0, verified) have been CRC checked */
    int64_t vr_start, vr_end; /* one more verified range (lazy read checks) */
    bool sealed;              /* not the active segment: indexes trimmed */
    bool synced;              /* sealed and fsynced: its .log fd may be closed */
    bool in_lru;              /* sealed with its .log fd open (mgr->lru) */
    sl_seg_t *lru_prev, *lru_next;
    bool deleted; /* files renamed to *.deleted, unlink when freed */
    char *dir;
    sl_log_mgr_t *mgr; /* janitor for the final close; NULL: close inline */
};

/* Names: <dir>/<20 digits><suffix>; buf must hold PATH_MAX. */
void sl_seg_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix);

SL_MUST_CHECK int sl_seg_create(const char *dir, int64_t base, const sl_log_cfg_t *cfg,
                                sl_log_mgr_t *mgr, sl_seg_t **out);
/* Unlinks a segment that never held data (a failed roll) and drops it. */
void sl_seg_discard(sl_seg_t *seg);
/* Opens an existing .log (size from fstat); indexes are opened by recovery. */
SL_MUST_CHECK int sl_seg_open(const char *dir, int64_t base, sl_log_mgr_t *mgr, sl_seg_t **out);
/* Opens the .log fd if it was closed (lazy load, LRU eviction); then
 * seg->fd is valid until the next call that may evict (any sl_seg_fd or
 * flush completion) unless a reference is held. SL_ENFILE, SL_EIO. */
SL_MUST_CHECK int sl_seg_fd(sl_seg_t *seg);
/* Blocking fdatasync of the .log (recovery only). */
SL_MUST_CHECK int sl_seg_sync_log(sl_seg_t *seg);
/* A sealed segment whose data is on stable storage: it may lose its fd. */
void sl_seg_note_synced(sl_seg_t *seg);
/* The partition's own reference goes (the segment left its list). */
void sl_seg_drop(sl_seg_t *seg);
void sl_seg_ref(sl_seg_t *seg);
void sl_seg_unref(sl_seg_t *seg);
/* Writes len bytes at the end with one write; on failure cuts the file back
 * and returns SL_EIO/SL_ENOSPC (SL_ECORRUPT if the cut failed too). */
SL_MUST_CHECK int sl_seg_write(sl_seg_t *seg, const uint8_t *data, size_t len);
/* What an append changes in a segment, so a failed step can undo it all. */
typedef struct sl_seg_mark {
    int64_t size, next_offset, max_ts, max_ts_offset, first_ts, since_index, verified;
    uint32_t oidx_entries, tidx_entries;
} sl_seg_mark_t;
void sl_seg_mark(const sl_seg_t *seg, sl_seg_mark_t *m);
/* Cuts the .log back to the mark and restores the in-memory state (index
 * entries past the mark are forgotten: they sit in the preallocated part and
 * are cut at seal or rebuilt by recovery). SL_EIO if the file cannot be cut. */
SL_MUST_CHECK int sl_seg_rewind(sl_seg_t *seg, const sl_seg_mark_t *m);
/* Accounts one batch written at pos: offsets, timestamps, sparse indexes. */
SL_MUST_CHECK int sl_seg_index_batch(sl_seg_t *seg, const sl_batch_hdr_t *h, int64_t pos,
                                     int64_t interval);
/* Makes the segment inactive: final time index entry, indexes trimmed. */
SL_MUST_CHECK int sl_seg_seal(sl_seg_t *seg);
/* Recovery: writes the indexes built in memory (see sl_idx_finish_build);
 * an inactive segment gets its final time entry and is sealed. */
SL_MUST_CHECK int sl_seg_commit_indexes(sl_seg_t *seg, int64_t max_bytes, bool active);
/* Makes a sealed segment the active one again (its successors were cut). */
SL_MUST_CHECK int sl_seg_reopen_active(sl_seg_t *seg, int64_t max_bytes);
/* Renames the files to *.deleted (the segment must be out of the list). */
SL_MUST_CHECK int sl_seg_mark_deleted(sl_seg_t *seg);
/* Cuts the .log to size bytes (recovery). */
SL_MUST_CHECK int sl_seg_truncate(sl_seg_t *seg, int64_t size);
/* Truncation of the active segment seg to its first pos bytes (a batch
 * boundary) holding offsets below next: indexes, timestamps and the file,
 * fdatasynced. When a read region holds seg, the kept part is copied to a
 * new file under the same name and *out is a new segment (the caller swaps
 * it into the list and drops seg, whose fd the region keeps); else *out is
 * seg. SL_EIO, SL_ENOSPC, SL_ENFILE. */
SL_MUST_CHECK int sl_seg_cut(sl_seg_t *seg, int64_t pos, int64_t next, int64_t max_bytes,
                             sl_seg_t **out);
int64_t sl_seg_last_modified_ms(const sl_seg_t *seg);

/* Sequential batch reader over a segment file, bounded memory. */
typedef struct sl_seg_scan {
    int fd;
    int64_t pos; /* position of the next batch */
    int64_t end; /* bytes of the file to consider */
    uint8_t *buf;
    size_t cap;
    int64_t buf_off;
    size_t buf_len;
} sl_seg_scan_t;

void sl_seg_scan_init(sl_seg_scan_t *sc, int fd, int64_t pos, int64_t end);
void sl_seg_scan_deinit(sl_seg_scan_t *sc);
/* Next batch header at sc->pos (advances past it). SL_ENOENT at a clean end,
 * SL_ECORRUPT for a torn or invalid batch (sc->pos stays at its start), SL_EIO.
 * With check_crc the whole batch is read and its CRC verified. */
SL_MUST_CHECK int sl_seg_scan_next(sl_seg_scan_t *sc, bool check_crc, sl_batch_hdr_t *h,
                                   int64_t *batch_pos);

/* The batch that contains `offset`: start and end position, base offset
 * and the offset after it. At or past next_offset: pos = end = size and
 * base = next = next_offset. */
typedef struct sl_seg_hit {
    int64_t pos, end, base, next;
} sl_seg_hit_t;
SL_MUST_CHECK int sl_seg_find(sl_seg_t *seg, int64_t offset, sl_seg_hit_t *hit);
/* End of the last whole batch starting at or after `from` that ends <= limit
 * (from when none fits); *next gets the offset after it. */
SL_MUST_CHECK int sl_seg_fit(sl_seg_t *seg, int64_t from, int64_t limit, int64_t *end,
                             int64_t *next);
/* First batch with maxTimestamp >= ts that ends at or after min_offset: its
 * base offset and maxTimestamp. SL_ENOENT if none. */
SL_MUST_CHECK int sl_seg_find_time(sl_seg_t *seg, int64_t ts, int64_t min_offset, int64_t *offset,
                                   int64_t *found);
/* Largest maxTimestamp of the batches from the one holding `from` on, and
 * the last offset of the first batch that has it (ts -1 if none). */
SL_MUST_CHECK int sl_seg_max_ts_from(sl_seg_t *seg, int64_t from, int64_t *ts, int64_t *offset);
/* CRC-checks batches in [pos, end) unless already verified. */
SL_MUST_CHECK int sl_seg_verify(sl_seg_t *seg, int64_t pos, int64_t end);

/* ---- partition log (plog.c, recover.c) --------------------------------- */

typedef struct sl_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} sl_epoch_entry_t;

struct sl_plog {
    sl_log_mgr_t *mgr;
    char *topic;
    int32_t partition;
    char *dir;
    sl_log_cfg_t cfg;
    sl_seg_t **segs; /* sorted by base; the last one is active */
    size_t nsegs, cap;
    int64_t log_start;
    int64_t leo;
    int64_t hw;
    int64_t durable; /* recovery point: offsets below are fsynced */
    int32_t leader_epoch;
    sl_epoch_entry_t *epochs;
    size_t nepochs;
    struct sl_prodstate *pstate; /* producer ids (prodstate.h); NULL until first needed */
    int offline_rc;              /* SL_OK while online */
    uint64_t trunc_gen; /* bumped by every truncation: older flush jobs' targets are void */
    int refs;           /* the manager's + one per in-flight job */
    /* flush state */
    bool flush_inflight;
    int64_t flush_target; /* LEO the in-flight flush covers */
    int64_t flush_wanted; /* highest offset someone asked to make durable */
    int64_t first_unflushed_ms;
    bool dir_dirty;    /* a file was created since the directory was fsynced */
    bool parent_dirty; /* the partition directory itself is new */
    bool removed;      /* deleted from the manager; jobs still hold it */
    /* log cleaner (cleaner.c) */
    int64_t clean_offset; /* cleaner-offset-checkpoint: first undeduplicated offset, -1 */
    bool cleaning;        /* a clean job is in flight: segment deletion waits */
};

/* Loads (recovers) the partition in dir. *out is set even when the
 * partition is offline. recovery_point/log_start come from the checkpoints
 * (-1 when unknown). */
SL_MUST_CHECK int sl_plog_load(sl_log_mgr_t *mgr, const char *dir, const char *topic,
                               int32_t partition, const sl_log_cfg_t *cfg, bool clean,
                               int64_t recovery_point, int64_t log_start, sl_plog_t **out);
sl_plog_t *sl_plog_new(sl_log_mgr_t *mgr, const char *dir, const char *topic, int32_t partition,
                       const sl_log_cfg_t *cfg);
void sl_plog_unref(sl_plog_t *pl);
void sl_plog_set_offline(sl_plog_t *pl, int rc, const char *why);
void sl_plog_push_seg(sl_plog_t *pl, sl_seg_t *seg);
SL_MUST_CHECK int sl_plog_roll(sl_plog_t *pl);
/* Flush bookkeeping after an append or a timer (flush.messages/flush.ms). */
void sl_plog_after_append(sl_plog_t *pl, int64_t now_ms);
void sl_plog_flush_timer(sl_plog_t *pl, int64_t now_ms);
/* Clean shutdown: fsync everything, trim the active segment's indexes. */
SL_MUST_CHECK int sl_plog_close_clean(sl_plog_t *pl);
/* Epoch cache file (background write). */
void sl_plog_write_epochs(sl_plog_t *pl);
SL_MUST_CHECK int sl_plog_read_epochs(sl_plog_t *pl);
/* Writes leader-epoch-checkpoint now, after every queued write of it
 * (truncation: durable on return). A failure takes pl offline. */
SL_MUST_CHECK int sl_plog_write_epochs_sync(sl_plog_t *pl);
/* After loading: drops epochs past the LEO, before the log start. */
void sl_plog_trim_epochs_loaded(sl_plog_t *pl);

/* ---- checkpoint files (ckpt.c) ----------------------------------------- */

typedef struct sl_ckpt_entry {
    char *topic;
    int32_t partition;
    int64_t offset;
} sl_ckpt_entry_t;

typedef struct sl_ckpt {
    sl_ckpt_entry_t *e;
    size_t n, cap;
} sl_ckpt_t;

void sl_ckpt_add(sl_ckpt_t *c, const char *topic, int32_t partition, int64_t offset);
int64_t sl_ckpt_get(const sl_ckpt_t *c, const char *topic, int32_t partition);
void sl_ckpt_deinit(sl_ckpt_t *c);
/* Parses a "topic partition offset" checkpoint; a missing file is empty.
 * SL_ECORRUPT for a malformed file. */
SL_MUST_CHECK int sl_ckpt_read(const char *path, sl_ckpt_t *c);
/* Serialises to the Kafka text format. */
char *sl_ckpt_format(const sl_ckpt_t *c, size_t *len);
/* Epoch cache: "epoch startOffset" lines. */
char *sl_ckpt_format_epochs(const sl_epoch_entry_t *e, size_t n, size_t *len);
SL_MUST_CHECK int sl_ckpt_read_epochs(const char *path, sl_epoch_entry_t **e, size_t *n);
/* Durable replace: write tmp, fsync, rename over path, fsync the directory. */
SL_MUST_CHECK int sl_ckpt_write_file(const char *path, const char *data, size_t len);

/* ---- manager internals (mgr.c, flush.c) -------------------------------- */

struct sl_log_mgr {
    char *dir;
    sl_log_mgr_opts_t opts;
    sl_plog_t **pls;
    size_t npls, cap;
    sl_bg_t flusher;
    sl_bg_t janitor;
    int efd;
    pthread_mutex_t done_mu;
    sl_bg_job_t *done_head, *done_tail;
    int64_t last_ckpt_ms, last_retention_ms;
    int64_t last_pid_expiry_ms; /* producer.id.expiration.ms checks (psnap.c) */
    bool ckpt_dirty;            /* a log start offset moved or a partition came or went */
    /* sealed segments with an open .log fd, most recently used first */
    sl_seg_t *lru_head, *lru_tail;
    size_t lru_n;
    size_t max_open_segments;
    struct sl_cleaner *cleaner; /* log cleaner threads and state (cleaner.c) */
};

/* Called by a worker when a job has run. */
void sl_log_mgr_complete(sl_log_mgr_t *mgr, sl_bg_job_t *job);
/* Queues the final close/unlink of a segment whose last reference went. */
void sl_log_mgr_free_seg(sl_log_mgr_t *mgr, sl_seg_t *seg);
/* Writes both checkpoints of the directory now, after any queued ones
 * (truncation: the recovery point on disk must not stay past the LEO). */
SL_MUST_CHECK int sl_log_mgr_checkpoint_sync(sl_log_mgr_t *mgr);
/* Queues a durable file replace (checkpoints) on the janitor. */
void sl_log_mgr_write_file(sl_log_mgr_t *mgr, const char *path, char *data, size_t len);
/* Starts a group-commit flush of pl covering its current LEO. */
void sl_flush_start(sl_plog_t *pl);
/* Blocking flush of everything written (close, tests). */
SL_MUST_CHECK int sl_flush_sync(sl_plog_t *pl);
/* fsync of a directory, with the log.fsync fault point. */
SL_MUST_CHECK int sl_log_fsync_dir(const char *dir);
/* Maps errno to a status. */
int sl_log_errno(int err);
/* open(2) for log files, with the log.open/log.emfile fault points. Out of
 * descriptors, it closes idle segments' fds (mgr may be NULL) and tries once
 * more; SL_ENFILE if that did not help. */
SL_MUST_CHECK int sl_log_open_fd(sl_log_mgr_t *mgr, const char *path, int flags, int *fd);
/* Segment descriptor LRU (segment.c): closes the .log fd of idle sealed
 * segments, least recently used first, until at most `keep` stay open. */
void sl_log_mgr_evict(sl_log_mgr_t *mgr, size_t keep);
void sl_seg_destroy(sl_seg_t *seg);

/* ---- log cleaner (cleaner.c, clean_run.c, clean_swap.c) ---------------- */

/* Starts the cleaner threads and reads cleaner-offset-checkpoint (after
 * the partitions are loaded). */
void sl_cleaner_start(sl_log_mgr_t *mgr);
/* Asks running cleans to give up, waits for the threads, runs their
 * completions. Idempotent. */
void sl_cleaner_stop(sl_log_mgr_t *mgr);
/* From sl_log_mgr_tick: schedules cleans every log.cleaner.backoff.ms. */
void sl_cleaner_tick(sl_log_mgr_t *mgr, int64_t now_ms);
/* Recovery: completes (or discards) interrupted swaps in a partition
 * directory. Returns the number of swaps completed (the partition must then
 * be recovered on the unclean path), or a negative status. */
int sl_clean_finish_swaps(const char *dir);

#endif
