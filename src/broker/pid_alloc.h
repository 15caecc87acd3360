/*
 * pid_alloc.h -- producer id allocation for InitProducerId (private to
 * src/broker). Ids come from durable blocks reserved through a source, so
 * they are unique across restarts (pid_alloc.c). Loop thread only.
 */
#ifndef SL_BROKER_PID_ALLOC_H
#define SL_BROKER_PID_ALLOC_H

#include "base/common.h"

#define SL_PID_BLOCK_SIZE 1000 /* Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE */

/* Where blocks come from: today a file in the log directory; in a cluster,
 * ZooKeeper's /latest_producer_id_block. reserve makes [*start, *start +
 * size) durable and ours before returning SL_OK. */
typedef struct sl_pid_source {
    int (*reserve)(void *arg, int64_t size, int64_t *start);
    void (*free_fn)(void *arg); /* may be NULL */
    void *arg;
} sl_pid_source_t;

typedef struct sl_pid_alloc {
    sl_pid_source_t src;
    int64_t next, end; /* ids [next, end) of the current block are free */
} sl_pid_alloc_t;

void sl_pid_alloc_init(sl_pid_alloc_t *pa, const sl_pid_source_t *src);
/* The next id; reserves a block when the current one is used up (blocking:
 * one fsync per SL_PID_BLOCK_SIZE ids). SL_EIO, SL_ECORRUPT (unreadable
 * block file: ids could repeat, so none are handed out). */
SL_MUST_CHECK int sl_pid_alloc_next(sl_pid_alloc_t *pa, int64_t *id);
void sl_pid_alloc_deinit(sl_pid_alloc_t *pa);
/* The file source: <log_dir>/latest_producer_id_block. */
void sl_pid_source_file(sl_pid_source_t *src, const char *log_dir, int32_t broker_id);

#endif
