/*
 * prodstate.h -- producer state of a partition (Kafka's ProducerStateManager),
 * private to src/log.
 *
 * For every producer id that wrote to the partition: its epoch, the
 * metadata of its last SL_PSTATE_BATCHES batches (sequence range, offset
 * range, max timestamp), the last timestamp (expiry), and the fields
 * transactions will need (coordinator epoch, first offset of the open
 * transaction). An idempotent producer keeps up to 5 requests in flight per
 * partition, so a retry of any of the last 5 batches is recognised as a
 * duplicate and answered with its original offsets.
 *
 * Appends go through sl_prodstate_prepare (checks, nothing changes) and then
 * sl_prodstate_apply once the bytes are written, or sl_prodstate_discard.
 *
 * Persistence: `<20-digit offset>.snapshot` files in Kafka's ProducerSnapshot
 * v1 format (psnap.c), written at segment roll and at clean close; on load
 * the state is the latest intact snapshot at or below the LEO plus a replay
 * of the batches past it.
 */
#ifndef SL_LOG_PSTATE_H
#define SL_LOG_PSTATE_H

#include "base/map.h"
#include "log/log_int.h"

#define SL_PSTATE_BATCHES 5 /* Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN */

typedef struct sl_pbatch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
    int64_t timestamp; /* the batch's maxTimestamp */
} sl_pbatch_t;

typedef struct sl_pentry {
    int64_t producer_id;
    int16_t epoch;             /* -1: none known */
    int32_t coordinator_epoch; /* -1 until a transaction marker is written */
    int64_t txn_first_offset;  /* -1: no open transaction */
    int64_t last_timestamp;    /* maxTimestamp of the newest batch (expiry) */
    int nbatches;
    sl_pbatch_t batches[SL_PSTATE_BATCHES]; /* oldest first */
} sl_pentry_t;

typedef struct sl_prodstate {
    sl_map_t by_id; /* 8 bytes of producer id -> sl_pentry_t (owned) */
} sl_prodstate_t;

sl_prodstate_t *sl_prodstate_new(void);
void sl_prodstate_free(sl_prodstate_t *ps);
void sl_prodstate_clear(sl_prodstate_t *ps);
size_t sl_prodstate_count(const sl_prodstate_t *ps);
/* Borrowed entry or NULL. */
sl_pentry_t *sl_prodstate_get(const sl_prodstate_t *ps, int64_t producer_id);
/* Inserts a copy of e, replacing any entry of the same id. */
void sl_prodstate_put(sl_prodstate_t *ps, const sl_pentry_t *e);
/* A fresh entry: no epoch, no batches. */
void sl_pentry_init(sl_pentry_t *e, int64_t producer_id);

/* Kafka's sequence arithmetic: sequences wrap from INT32_MAX to 0. */
int32_t sl_prodstate_seq_add(int32_t seq, int32_t delta);
int32_t sl_prodstate_seq_sub(int32_t seq, int32_t delta);

/*
 * Checks one client batch of producer e (NULL: unknown producer) as
 * Kafka 3.9 does: SL_EEXIST when it repeats one of the retained batches
 * (same epoch and sequence range; *dup points at it), SL_EINVALID_PRODUCER_EPOCH
 * for an epoch below the known one, SL_EOUT_OF_ORDER_SEQUENCE for a new
 * epoch not starting at sequence 0 or a sequence that does not follow the
 * last one. An unknown producer (or one whose state lost its epoch) may
 * start at any sequence (Kafka since 2.5, KIP-360). SL_OK otherwise.
 */
int sl_prodstate_check(const sl_pentry_t *e, int16_t epoch, int32_t first_seq, int32_t last_seq,
                       const sl_pbatch_t **dup);
/* Records a written batch (a new epoch forgets the older epoch's batches). */
void sl_pentry_add_batch(sl_pentry_t *e, int16_t epoch, const sl_pbatch_t *b);

/* Removes idle producers: no open transaction and last_timestamp at least
 * expiration_ms before now_ms. Returns how many went. */
size_t sl_prodstate_expire(sl_prodstate_t *ps, int64_t now_ms, int64_t expiration_ms);

/* ---- appends (prodstate.c) --------------------------------------------------- */

/* The entries an append will change, checked but not yet applied. */
typedef struct sl_prodstate_update {
    sl_pentry_t *work; /* one per distinct producer of the append: &one or heap */
    size_t n;
    sl_pentry_t one; /* the usual case, a single batch: no allocation */
} sl_prodstate_update_t;

/*
 * Builds the update for the validated batches of buf, which will get
 * offsets from first_offset on (client appends) or carry their own
 * (replication). Client origin runs sl_prodstate_check on every batch and
 * refuses a transactional batch (SL_EINVALID_TXN_STATE: no transaction
 * coordinator yet); replication takes the batches as they are. On
 * SL_EEXIST (a duplicate) *dup holds the original batch. Nothing is
 * allocated when an error is returned.
 */
int sl_prodstate_prepare(sl_plog_t *pl, sl_append_origin_t origin, const uint8_t *buf, size_t len,
                         int64_t first_offset, sl_prodstate_update_t *up, sl_pbatch_t *dup);
void sl_prodstate_apply(sl_plog_t *pl, sl_prodstate_update_t *up);
void sl_prodstate_discard(sl_prodstate_update_t *up);
/* The partition's table, created on first use. */
sl_prodstate_t *sl_prodstate_of(sl_plog_t *pl);
/* Applies one batch read back from the log (rebuild, no checks). */
void sl_prodstate_replay(sl_prodstate_t *ps, const sl_batch_hdr_t *h);

/* ---- snapshot format (prodstate.c) ------------------------------------------- */

#define SL_PSNAP_VERSION       1
#define SL_PSNAP_HEADER        10       /* version i16, crc u32, entry count i32 */
#define SL_PSNAP_ENTRY         46       /* see sl_prodstate_encode */
#define SL_PSNAP_MAX_PRODUCERS 10000000 /* refuse larger counts from disk */

/* Kafka's ProducerSnapshot v1, entries sorted by producer id. Caller frees. */
uint8_t *sl_prodstate_encode(const sl_prodstate_t *ps, size_t *len);
/* Replaces ps's content. SL_ECORRUPT (version, CRC, size), ps unchanged. */
int sl_prodstate_decode(sl_prodstate_t *ps, const uint8_t *p, size_t len);

/* ---- snapshot files and rebuild (psnap.c) ---------------------------------- */

/* Snapshot of the current state at the LEO, written by the janitor
 * (segment roll). */
void sl_psnap_write_async(sl_plog_t *pl);
/* The same, durable on return (clean close). */
SL_MUST_CHECK int sl_psnap_write_sync(sl_plog_t *pl);
/* Unlinks snapshots below `below` or above `above` now, after every queued
 * janitor job (truncation: blocking). */
void sl_psnap_delete_outside(sl_plog_t *pl, int64_t below, int64_t above);
/* Retention: unlinks snapshots below `below` on the janitor, after the
 * snapshot writes queued before. */
void sl_psnap_trim_async(sl_plog_t *pl, int64_t below);
/* (Re)builds the state: snapshots past the LEO are deleted, the latest
 * intact one is read (a corrupt one is deleted and the previous tried),
 * then the log from its offset (or from the start) is replayed. Blocking.
 * SL_OK, or a read error (the state is then what could be rebuilt). */
int sl_psnap_load(sl_plog_t *pl);
/* From sl_log_mgr_tick: expiry every producer_id_expiration_check_interval_ms. */
void sl_psnap_tick(sl_log_mgr_t *mgr, int64_t now_ms, int64_t mono_ms);

#endif
