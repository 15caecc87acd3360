/*
 * cleaner_int.h -- private to the log cleaner (cleaner.c schedules on the
 * loop thread, clean_run.c cleans on a cleaner thread, offset_map.c is the
 * dedupe map, clean_swap.c finishes interrupted swaps at load).
 *
 * A clean job owns a reference on every segment it reads, taken on the loop
 * thread with the segment's .log fd open: a referenced segment keeps its fd
 * (segment.c's LRU skips it), so the loop never reopens a file by name while
 * the cleaner renames files underneath.
 */
#ifndef SL_LOG_CLEANER_INT_H
#define SL_LOG_CLEANER_INT_H

#include "log/log_int.h"

#include <stdatomic.h>

/* ---- offset map (offset_map.c) ----------------------------------------- */

/* Key -> latest offset, keyed by a 128-bit hash of the key (Kafka keys its
 * SkimpyOffsetMap by MD5: a collision costs a record, as there). Memory is
 * bounded by max_bytes (log.cleaner.dedupe.buffer.size per thread) times
 * the load factor; the table grows from small up to that bound. */
typedef struct sl_omap_entry {
    uint64_t h1, h2; /* h1 | h2 == 0: empty slot */
    int64_t offset;
} sl_omap_entry_t;

typedef struct sl_omap {
    sl_omap_entry_t *slots;
    size_t nslots; /* power of two */
    size_t count;
    size_t max_slots;
    double load_factor;
} sl_omap_t;

void sl_omap_init(sl_omap_t *m, size_t max_bytes, double load_factor);
void sl_omap_deinit(sl_omap_t *m);
/* Drops every key, keeps the memory. */
void sl_omap_clear(sl_omap_t *m);
/* Drops every key and the memory (an idle cleaner holds none); the bound
 * stays. */
void sl_omap_release(sl_omap_t *m);
/* Records offset for key (a larger offset replaces a smaller one).
 * SL_ETOOBIG when the key is new and the map is at its bound. */
SL_MUST_CHECK int sl_omap_put(sl_omap_t *m, const uint8_t *key, size_t len, int64_t offset);
/* Latest offset recorded for key, -1 if none. */
int64_t sl_omap_get(const sl_omap_t *m, const uint8_t *key, size_t len);
/* Entries the map can hold at most. */
size_t sl_omap_capacity(const sl_omap_t *m);

/* ---- clean jobs (cleaner.c, clean_run.c) ------------------------------- */

typedef struct sl_clean_seg {
    sl_seg_t *seg; /* reference held by the job; dropped on the loop */
    int fd;        /* the segment's .log fd, pinned by that reference */
    int64_t base, size, next_offset;
    int64_t largest_ts; /* max batch timestamp, else mtime (tombstone horizon) */
} sl_clean_seg_t;

/* One group of old segments rewritten into one cleaned segment. */
typedef struct sl_clean_out {
    size_t first, count; /* job->segs[first .. first + count) */
    int64_t size, next_offset, max_ts, max_ts_offset, first_ts;
} sl_clean_out_t;

typedef struct sl_cleaner sl_cleaner_t;

typedef struct sl_clean_job {
    sl_bg_job_t job;
    sl_cleaner_t *cl;
    sl_plog_t *pl;
    int thread;
    char *dir;
    sl_clean_seg_t *segs;
    size_t nsegs;
    int64_t dirty_start; /* offsets below were deduplicated by an earlier pass */
    int64_t map_end;     /* out: offsets below went through this pass's map */
    int64_t now_ms;      /* wall clock at scheduling (tombstone horizon) */
    int64_t segment_bytes, segment_index_bytes, index_interval_bytes, delete_retention_ms;
    sl_omap_t *map; /* the thread's map */
    sl_clean_out_t *outs;
    size_t nouts; /* groups swapped in on disk (the loop installs them) */
    int64_t bytes_read, bytes_written, io_bytes, started_mono;
    double io_limit; /* bytes per second for this thread */
} sl_clean_job_t;

struct sl_cleaner {
    sl_bg_t *threads;
    bool *busy;
    sl_omap_t *maps;
    int nthreads;
    atomic_bool stop;
    int64_t last_ms; /* monotonic time of the last scheduling pass */
    sl_log_cleaner_stats_t stats;
};

/* Worker side of a job (cleaner thread). */
void sl_clean_run(sl_bg_job_t *job);
/* True when the manager is closing: a clean gives up before its next commit. */
bool sl_clean_stopping(const sl_clean_job_t *cj);

#endif
