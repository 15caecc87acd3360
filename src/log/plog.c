/*
 * plog.c -- a partition log: the ordered list of segments of one
 * topic-partition, appends (validate, assign offsets, one write), reads
 * (file regions for sendfile) and rolling.
 *
 * Offsets: log_start <= hw <= leo, and durable (the recovery point) <= leo.
 * Only the last segment is written to. Loading and recovery are in
 * recover.c, retention and epochs in retain.c, flushing in flush.c.
 */
#include "log/log_int.h"
#include "log/prodstate.h"

#include "base/log.h"
#include "base/time.h"
#include "proto/wire.h"

#include <errno.h>

/* ======================================================================
 * Configuration and lifetime
 * ====================================================================== */

void
sl_log_cfg_init(sl_log_cfg_t *cfg)
{
    cfg->segment_bytes = 1073741824;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->segment_index_bytes = 10485760;
    cfg->index_interval_bytes = 4096;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->max_message_bytes = 1048588;
    cfg->flush_messages = INT64_MAX;
    cfg->flush_ms = INT64_MAX;
    cfg->log_append_time = false;
    cfg->compact = false;
    cfg->delete_retention_ms = 86400000;
    cfg->min_compaction_lag_ms = 0;
    cfg->max_compaction_lag_ms = INT64_MAX;
    cfg->min_cleanable_dirty_ratio = 0.5;
}

/* Positions in index entries are u32: keep segments below 2 GiB. */
static void
cfg_clamp(sl_log_cfg_t *cfg)
{
    if (cfg->segment_bytes > INT32_MAX)
        cfg->segment_bytes = INT32_MAX;
    if (cfg->segment_bytes < SL_BATCH_HEADER_SIZE)
        cfg->segment_bytes = SL_BATCH_HEADER_SIZE;
    if (cfg->segment_index_bytes < 4 * SL_IDX_TIME_ENTRY)
        cfg->segment_index_bytes = 4 * SL_IDX_TIME_ENTRY;
    if (cfg->index_interval_bytes < 0)
        cfg->index_interval_bytes = 0;
}

sl_plog_t *
sl_plog_new(sl_log_mgr_t *mgr, const char *dir, const char *topic, int32_t partition,
            const sl_log_cfg_t *cfg)
{
    sl_plog_t *pl = sl_xcalloc(1, sizeof(*pl));

    pl->mgr = mgr;
    pl->dir = sl_xstrdup(dir);
    pl->topic = sl_xstrdup(topic);
    pl->partition = partition;
    pl->cfg = *cfg;
    cfg_clamp(&pl->cfg);
    pl->refs = 1;
    pl->first_unflushed_ms = -1;
    pl->clean_offset = -1;
    return pl;
}

void
sl_plog_unref(sl_plog_t *pl)
{
    if (pl == NULL || --pl->refs > 0)
        return;
    for (size_t i = 0; i < pl->nsegs; i++)
        sl_seg_drop(pl->segs[i]);
    free(pl->segs);
    free(pl->epochs);
    sl_prodstate_free(pl->pstate);
    free(pl->dir);
    free(pl->topic);
    free(pl);
}

void
sl_plog_set_offline(sl_plog_t *pl, int rc, const char *why)
{
    if (pl->offline_rc != SL_OK)
        return;
    pl->offline_rc = SL_EOFFLINE;
    sl_error(SL_LOG_COMP, "partition %s-%" PRId32 " is offline: %s (%s)", pl->topic, pl->partition,
             why, sl_strerror(rc));
}

void
sl_plog_push_seg(sl_plog_t *pl, sl_seg_t *seg)
{
    if (pl->nsegs == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 8;
        pl->segs = sl_xrealloc(pl->segs, pl->cap * sizeof(*pl->segs));
    }
    pl->segs[pl->nsegs++] = seg;
}

static sl_seg_t *
active(const sl_plog_t *pl)
{
    return pl->segs[pl->nsegs - 1];
}

/* Index of the segment holding `offset`: the last one with base <= offset. */
static size_t
seg_index_for(const sl_plog_t *pl, int64_t offset)
{
    size_t lo = 0, hi = pl->nsegs;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (pl->segs[mid]->base <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ======================================================================
 * Accessors
 * ====================================================================== */

int64_t
sl_plog_log_start(const sl_plog_t *pl)
{
    return pl->log_start;
}

int64_t
sl_plog_leo(const sl_plog_t *pl)
{
    return pl->leo;
}

int64_t
sl_plog_hw(const sl_plog_t *pl)
{
    return pl->hw;
}

void
sl_plog_set_hw(sl_plog_t *pl, int64_t hw)
{
    pl->hw = SL_MIN(SL_MAX(hw, pl->log_start), pl->leo);
}

int64_t
sl_plog_durable_offset(const sl_plog_t *pl)
{
    return pl->durable;
}

bool
sl_plog_is_durable(const sl_plog_t *pl, int64_t offset)
{
    return offset < pl->durable;
}

int64_t
sl_plog_size_bytes(const sl_plog_t *pl)
{
    int64_t n = 0;

    for (size_t i = 0; i < pl->nsegs; i++)
        n += pl->segs[i]->size;
    return n;
}

size_t
sl_plog_segment_count(const sl_plog_t *pl)
{
    return pl->nsegs;
}

int
sl_plog_status(const sl_plog_t *pl)
{
    return pl->offline_rc;
}

const char *
sl_plog_topic(const sl_plog_t *pl)
{
    return pl->topic;
}

int32_t
sl_plog_partition(const sl_plog_t *pl)
{
    return pl->partition;
}

const sl_log_cfg_t *
sl_plog_cfg(const sl_plog_t *pl)
{
    return &pl->cfg;
}

void
sl_plog_set_cfg(sl_plog_t *pl, const sl_log_cfg_t *cfg)
{
    pl->cfg = *cfg;
    cfg_clamp(&pl->cfg);
}

/* ======================================================================
 * Rolling
 * ====================================================================== */

int
sl_plog_roll(sl_plog_t *pl)
{
    sl_seg_t *old = active(pl), *seg;
    int rc;

    /* The new segment first: when it cannot be created (no descriptors,
     * full disk) the old one is still active and untouched, so the next
     * append simply tries again. */
    if ((rc = sl_seg_create(pl->dir, pl->leo, &pl->cfg, pl->mgr, &seg)) != SL_OK)
        return rc;
    if ((rc = sl_seg_seal(old)) != SL_OK) {
        sl_seg_discard(seg);
        return rc;
    }
    pl->dir_dirty = true;
    sl_plog_push_seg(pl, seg);
    /* Kafka's snapshot at the new segment's base: a restart replays the
     * producer state from here instead of from the log start. */
    sl_psnap_write_async(pl);
    /* Like Kafka, the rolled segment is flushed in the background: once
     * synced, its fd can be closed (see the descriptor LRU, segment.c). */
    if (pl->mgr != NULL && pl->offline_rc == SL_OK) {
        int frc = sl_plog_request_flush(pl, pl->leo); /* reported via durable_fn */

        (void)frc;
    }
    return SL_OK;
}

/* Kafka's LogSegment.shouldRoll, checked before an append of len bytes
 * spanning `offsets` offsets whose largest timestamp is max_ts. */
static bool
should_roll(const sl_plog_t *pl, size_t len, int64_t offsets, int64_t max_ts, int64_t now)
{
    const sl_seg_t *seg = active(pl);
    int64_t waited;

    if (seg->size == 0)
        return false;
    if (seg->size + (int64_t)len > pl->cfg.segment_bytes)
        return true;
    if (sl_idx_full(&seg->oidx) || seg->tidx.entries + 1 >= seg->tidx.max_entries)
        return true;
    if (pl->leo + offsets - 1 - seg->base > INT32_MAX)
        return true;
    /* segment.ms counts from the first batch's timestamp when the batches
     * carry timestamps (so replaying old data does not roll every append). */
    if (seg->first_ts >= 0 && max_ts >= 0)
        waited = max_ts - seg->first_ts;
    else
        waited = now - seg->created_ms;
    return waited > pl->cfg.segment_ms;
}

/* ======================================================================
 * Appending
 * ====================================================================== */

typedef struct append_scan {
    int32_t batches;
    int64_t offsets; /* sum of lastOffsetDelta + 1 */
    int64_t max_ts;
} append_scan_t;

/* Validates every batch of buf; nothing is modified. */
static int
validate_all(const sl_plog_t *pl, const uint8_t *buf, size_t len, append_scan_t *as)
{
    size_t off = 0;

    memset(as, 0, sizeof(*as));
    as->max_ts = -1;
    if (len == 0)
        return SL_EPROTO;
    while (off < len) {
        sl_batch_hdr_t h;
        int64_t size;
        int rc;

        if (sl_batch_hdr_parse(buf + off, len - off, &h) != SL_OK)
            return SL_EPROTO;
        size = sl_batch_size(&h);
        if (h.batch_length < SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD ||
            size > (int64_t)(len - off))
            return SL_EPROTO;
        if (size > pl->cfg.max_message_bytes)
            return SL_ETOOBIG;
        if ((rc = sl_batch_validate(buf + off, (size_t)size, &h)) != SL_OK)
            return rc;
        /* Producers send dense batches; a larger delta would burn offsets. */
        if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1)
            return SL_EPROTO;
        as->batches++;
        as->offsets += (int64_t)h.last_offset_delta + 1;
        as->max_ts = SL_MAX(as->max_ts, h.max_timestamp);
        off += (size_t)size;
    }
    return SL_OK;
}

/* Assigns offsets and the leader epoch in place; LogAppendTime if asked. */
static void
patch_all(sl_plog_t *pl, uint8_t *buf, size_t len, int64_t now)
{
    int64_t next = pl->leo;
    size_t off = 0;

    while (off < len) {
        uint8_t *b = buf + off;
        size_t size = (size_t)sl_be32(b + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;

        sl_batch_set_base_offset(b, next);
        sl_batch_set_leader_epoch(b, pl->leader_epoch);
        if (pl->cfg.log_append_time)
            sl_batch_set_log_append_time(b, size, now);
        next += (int64_t)sl_be32(b + SL_BATCH_OFF_LAST_DELTA) + 1;
        off += size;
    }
}

/* Updates the segment's offsets, timestamps and indexes for written data. */
static int
index_all(sl_plog_t *pl, sl_seg_t *seg, const uint8_t *buf, size_t len, int64_t at,
          sl_log_append_info_t *info)
{
    size_t off = 0;

    while (off < len) {
        sl_batch_hdr_t h;
        int rc;

        SL_ASSERT(sl_batch_hdr_parse(buf + off, len - off, &h) == SL_OK);
        if ((rc = sl_seg_index_batch(seg, &h, at + (int64_t)off, pl->cfg.index_interval_bytes)) !=
            SL_OK)
            return rc;
        if (h.max_timestamp > info->max_timestamp) {
            info->max_timestamp = h.max_timestamp;
            info->offset_of_max_ts = h.base_offset + h.last_offset_delta;
        }
        off += (size_t)sl_batch_size(&h);
    }
    return SL_OK;
}

/* A full disk or a lack of descriptors passes (space is freed, files are
 * closed): the partition stays online and the producer retries. Anything
 * else is an I/O error that takes it offline. Only called once the log is
 * back to its state before the append. */
static int
append_fail(sl_plog_t *pl, int rc, const char *what)
{
    if (rc == SL_ENOSPC || rc == SL_ENFILE) {
        sl_warn(SL_LOG_COMP, "%s-%" PRId32 ": %s: %s", pl->topic, pl->partition, what,
                rc == SL_ENOSPC ? "no space left" : "out of file descriptors");
        return rc;
    }
    sl_plog_set_offline(pl, rc, what);
    return SL_EIO;
}

/* Kafka's LogValidator for REPLICATION: the leader assigned offsets and
 * epochs; the follower checks that they continue its log and never
 * rewrites them. Not checked: max.message.bytes (Kafka ignores the record
 * size for followers: the leader accepted the batch) and density (a
 * compacted batch may have fewer records than its offset span). */
static int
validate_follower(const sl_plog_t *pl, const uint8_t *buf, size_t len, append_scan_t *as)
{
    int32_t epoch = pl->nepochs > 0 ? pl->epochs[pl->nepochs - 1].epoch : 0;
    int64_t next = pl->leo;
    size_t off = 0;

    memset(as, 0, sizeof(*as));
    as->max_ts = -1;
    if (len == 0)
        return SL_EPROTO;
    while (off < len) {
        sl_batch_hdr_t h;
        int64_t size;
        int rc;

        if (sl_batch_hdr_parse(buf + off, len - off, &h) != SL_OK)
            return SL_EPROTO;
        size = sl_batch_size(&h);
        if (h.batch_length < SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD ||
            size > (int64_t)(len - off))
            return SL_EPROTO;
        if ((rc = sl_batch_validate(buf + off, (size_t)size, &h)) != SL_OK)
            return rc;
        /* The first batch must start at our LEO (the fetcher decides what
         * to do about a mismatch: truncate, or restart the log); later ones
         * must follow on, or the leader sent a broken response. */
        if (h.base_offset != next)
            return off == 0 ? SL_ERANGE : SL_EPROTO;
        if (h.base_offset > INT64_MAX - 1 - h.last_offset_delta || h.leader_epoch < 0)
            return SL_EPROTO;
        /* Epochs never go down: a lower one is data of a fenced leader
         * (truncate by OffsetsForLeaderEpoch before fetching on). */
        if (h.leader_epoch < epoch)
            return SL_EINVAL;
        epoch = h.leader_epoch;
        as->batches++;
        as->offsets += (int64_t)h.last_offset_delta + 1;
        as->max_ts = SL_MAX(as->max_ts, h.max_timestamp);
        next = h.base_offset + h.last_offset_delta + 1;
        off += (size_t)size;
    }
    return SL_OK;
}

/* A new, higher epoch in the appended batches starts a cache entry at the
 * batch's base offset (Kafka's maybeAssignEpochStartOffset). The file is
 * queued on the flusher, so it is on disk before any flush that could make
 * these batches durable completes (recovery checks batch epochs by it). */
static void
assign_follower_epochs(sl_plog_t *pl, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    bool changed = false;

    while (off < len) {
        int32_t epoch = (int32_t)sl_be32(buf + off + SL_BATCH_OFF_LEADER_EPOCH);
        int64_t base = (int64_t)sl_be64(buf + off + SL_BATCH_OFF_BASE_OFFSET);

        if (pl->nepochs == 0 || epoch > pl->epochs[pl->nepochs - 1].epoch) {
            /* An epoch that got no batch gives way (Kafka drops entries
             * starting at or past the new one's start). */
            while (pl->nepochs > 0 && pl->epochs[pl->nepochs - 1].start_offset >= base)
                pl->nepochs--;
            pl->epochs = sl_xrealloc(pl->epochs, (pl->nepochs + 1) * sizeof(*pl->epochs));
            pl->epochs[pl->nepochs++] = (sl_epoch_entry_t){epoch, base};
            changed = true;
        }
        off += (size_t)sl_be32(buf + off + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;
    }
    if (changed && pl->mgr != NULL)
        sl_plog_write_epochs(pl);
}

/* An idempotent producer's retry: answered with the original batch. */
static int
answer_duplicate(const sl_plog_t *pl, const sl_pbatch_t *dup, sl_log_append_info_t *info)
{
    info->duplicate = true;
    info->base_offset = dup->first_offset;
    info->last_offset = dup->last_offset;
    info->log_append_time = pl->cfg.log_append_time ? dup->timestamp : -1;
    info->log_start_offset = pl->log_start;
    return SL_OK;
}

static int append_checked(sl_plog_t *pl, bool follower, uint8_t *buf, size_t len,
                          const append_scan_t *as, sl_log_append_info_t *info);

int
sl_plog_append_origin(sl_plog_t *pl, sl_append_origin_t origin, uint8_t *buf, size_t len,
                      sl_log_append_info_t *info)
{
    bool follower = origin == SL_APPEND_REPLICATION;
    sl_prodstate_update_t up;
    sl_pbatch_t dup;
    append_scan_t as;
    int rc;

    memset(info, 0, sizeof(*info));
    info->log_append_time = -1;
    info->max_timestamp = -1;
    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    rc = follower ? validate_follower(pl, buf, len, &as) : validate_all(pl, buf, len, &as);
    if (rc != SL_OK)
        return rc;
    /* Producer ids: checked before anything is written, applied after. */
    rc = sl_prodstate_prepare(pl, origin, buf, len, pl->leo, &up, &dup);
    if (rc == SL_EEXIST)
        return answer_duplicate(pl, &dup, info);
    if (rc != SL_OK)
        return rc;
    rc = append_checked(pl, follower, buf, len, &as, info);
    if (rc == SL_OK)
        sl_prodstate_apply(pl, &up);
    else
        sl_prodstate_discard(&up);
    return rc;
}

static int
append_checked(sl_plog_t *pl, bool follower, uint8_t *buf, size_t len, const append_scan_t *as,
               sl_log_append_info_t *info)
{
    bool append_time = !follower && pl->cfg.log_append_time;
    int64_t now = sl_wall_ms(), at;
    sl_seg_mark_t mark;
    sl_seg_t *seg;
    int rc;

    if (should_roll(pl, len, as->offsets, append_time ? now : as->max_ts, now) &&
        (rc = sl_plog_roll(pl)) != SL_OK)
        return append_fail(pl, rc, "roll");
    if (!follower)
        patch_all(pl, buf, len, now);
    seg = active(pl);
    at = seg->size;
    sl_seg_mark(seg, &mark);
    if ((rc = sl_seg_write(seg, buf, len)) != SL_OK)
        return append_fail(pl, rc, "write");
    if ((rc = index_all(pl, seg, buf, len, at, info)) != SL_OK) {
        /* The batch is on disk but not accounted: cut it away, or the next
         * append would reuse its offsets behind it. */
        if (sl_seg_rewind(seg, &mark) != SL_OK)
            rc = SL_EIO;
        info->max_timestamp = -1;
        info->offset_of_max_ts = 0;
        return append_fail(pl, rc, "index write");
    }
    if (follower)
        assign_follower_epochs(pl, buf, len);
    info->base_offset = pl->leo;
    info->last_offset = seg->next_offset - 1;
    info->log_append_time = append_time ? now : -1;
    info->batch_count = as->batches;
    info->bytes = (int64_t)len;
    pl->leo = seg->next_offset;
    info->log_start_offset = pl->log_start;
    if (pl->mgr == NULL || pl->mgr->opts.hw_mode == SL_LOG_HW_ON_WRITE)
        pl->hw = pl->leo;
    sl_plog_after_append(pl, now);
    return SL_OK;
}

int
sl_plog_append(sl_plog_t *pl, uint8_t *buf, size_t len, sl_log_append_info_t *info)
{
    return sl_plog_append_origin(pl, SL_APPEND_CLIENT, buf, len, info);
}

int
sl_plog_append_as_follower(sl_plog_t *pl, uint8_t *buf, size_t len, sl_log_append_info_t *info)
{
    return sl_plog_append_origin(pl, SL_APPEND_REPLICATION, buf, len, info);
}

/* ======================================================================
 * Reading
 * ====================================================================== */

void
sl_log_region_release(sl_log_region_t *r)
{
    if (r->seg != NULL) {
        r->seg->readers--;
        sl_seg_unref(r->seg);
    }
    r->seg = NULL;
    r->len = 0;
}

static int
read_fail(sl_plog_t *pl, int rc)
{
    if (rc == SL_ENFILE) /* retriable: the segment could not be opened now */
        return rc;
    sl_plog_set_offline(pl, rc,
                        rc == SL_ECORRUPT ? "corrupt batch found while reading" : "read failed");
    return SL_EOFFLINE;
}

int
sl_plog_read(sl_plog_t *pl, int64_t offset, int64_t max_bytes, int64_t upper_bound, bool min_one,
             sl_log_region_t *out)
{
    sl_seg_hit_t first, ub;
    int64_t limit, end, next;
    sl_seg_t *seg;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->first_offset = out->next_offset = offset;
    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    if (offset < pl->log_start || offset > pl->leo)
        return SL_ERANGE;
    upper_bound = SL_MIN(upper_bound, pl->leo);
    if (offset >= upper_bound)
        return SL_OK;
    i = seg_index_for(pl, offset);
    /* An offset gap between segments (recovery keeps them): go on with the
     * next segment's first batch, as Kafka does. */
    while (i + 1 < pl->nsegs && offset >= pl->segs[i]->next_offset) {
        offset = pl->segs[++i]->base;
        if (offset >= upper_bound)
            return SL_OK;
    }
    seg = pl->segs[i];
    if ((rc = sl_seg_find(seg, offset, &first)) != SL_OK)
        return read_fail(pl, rc);
    ub.pos = seg->size;
    if (upper_bound < seg->next_offset && (rc = sl_seg_find(seg, upper_bound, &ub)) != SL_OK)
        return read_fail(pl, rc);
    if (first.pos >= ub.pos)
        return SL_OK;
    limit = max_bytes < ub.pos - first.pos ? first.pos + SL_MAX(max_bytes, 0) : ub.pos;
    if ((rc = sl_seg_fit(seg, first.pos, limit, &end, &next)) != SL_OK)
        return read_fail(pl, rc);
    if (end == first.pos) {
        if (!min_one)
            return SL_OK;
        end = first.end;
        next = first.next;
    }
    if (pl->mgr != NULL && pl->mgr->opts.verify_on_read &&
        (rc = sl_seg_verify(seg, first.pos, end)) != SL_OK)
        return read_fail(pl, rc);
    sl_seg_ref(seg);
    seg->readers++;
    out->seg = seg;
    out->fd = seg->fd;
    out->pos = first.pos;
    out->len = end - first.pos;
    out->first_offset = first.base;
    out->next_offset = next;
    return SL_OK;
}

/* ======================================================================
 * Timestamp lookups
 * ====================================================================== */

int
sl_plog_offset_for_time(sl_plog_t *pl, int64_t ts, int64_t *offset, int64_t *found_ts)
{
    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    for (size_t i = 0; i < pl->nsegs; i++) {
        sl_seg_t *seg = pl->segs[i];
        int rc;

        if (seg->size == 0 || seg->max_ts < ts || seg->next_offset <= pl->log_start)
            continue;
        rc = sl_seg_find_time(seg, ts, pl->log_start, offset, found_ts);
        if (rc == SL_ENOENT)
            continue;
        if (rc != SL_OK)
            return read_fail(pl, rc);
        *offset = SL_MAX(*offset, pl->log_start);
        return SL_OK;
    }
    return SL_ENOENT;
}

int
sl_plog_max_timestamp(sl_plog_t *pl, int64_t *ts, int64_t *offset)
{
    int64_t best = -1, best_off = -1;

    if (pl->offline_rc != SL_OK)
        return SL_EOFFLINE;
    for (size_t i = 0; i < pl->nsegs; i++) {
        sl_seg_t *seg = pl->segs[i];
        int64_t t = seg->max_ts, o = seg->max_ts_offset;
        int rc;

        if (seg->size == 0 || seg->next_offset <= pl->log_start)
            continue;
        /* The segment's maximum may sit below the log start (DeleteRecords
         * inside a segment): look at what is still visible. */
        if (o < pl->log_start && (rc = sl_seg_max_ts_from(seg, pl->log_start, &t, &o)) != SL_OK)
            return read_fail(pl, rc);
        if (t > best) {
            best = t;
            best_off = o;
        }
    }
    if (best < 0)
        return SL_ENOENT;
    *ts = best;
    *offset = best_off;
    return SL_OK;
}
