/*
 * clean_run.c -- one log clean, on a cleaner thread (Kafka's Cleaner).
 *
 * 1. Map: the dirty part of the log (from the cleaner-offset-checkpoint on)
 *    is read and every keyed record's offset goes into the offset map, until
 *    the map is full: map_end is then the batch where it filled, and the
 *    next pass goes on from there.
 * 2. Groups: the cleanable segments below map_end are taken in groups that
 *    fit segment.bytes once cleaned (bounded by the input sizes, decided
 *    before each segment is read) and the u32 relative offsets, so cleaned
 *    segments merge and never multiply (Kafka's groupSegmentsBySize).
 * 3. Each group is rewritten into <base>.log.cleaned (+ .index.cleaned,
 *    .timeindex.cleaned), keeping a record when it is at or past map_end,
 *    or has a key whose latest offset in the map is not larger, unless it
 *    is a tombstone older than delete.retention.ms. Keyless records go, as
 *    in Kafka. Control batches are kept verbatim. A batch that keeps all its
 *    records is copied byte for byte; one that keeps some is rebuilt with
 *    its own base offset, codec, producer fields and record offset deltas.
 * 4. Swap (crash safe, see clean_swap.c for the recovery side):
 *    fsync the .cleaned files; rename them to .swap (the .log last: that
 *    rename is the commit point); fsync the directory; rename the group's
 *    old files to .deleted; fsync; rename the .swap files to their live
 *    names; fsync. A kill -9 anywhere leaves either the old segments or a
 *    .swap that recovery completes.
 *
 * Only files are touched here: the loop thread installs the new segments
 * (cleaner.c) after the job is done. The loop cannot reopen an old file by
 * name meanwhile: the job's references keep their fds open.
 */
#include "log/cleaner_int.h"

#include "base/buf.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/time.h"
#include "proto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#define DECOMPRESS_BUDGET (256u << 20)

typedef struct clean_ctx {
    sl_clean_job_t *cj;
    sl_buf_t batch;   /* one old batch */
    sl_buf_t scratch; /* its records, decompressed */
    sl_buf_t out;     /* one rewritten batch */
    sl_batch_builder_t bld;
} clean_ctx_t;

/* ======================================================================
 * I/O helpers
 * ====================================================================== */

/* log.cleaner.io.max.bytes.per.second: sleep on this thread until the
 * bytes moved so far fit the rate. */
static void
throttle(sl_clean_job_t *cj, int64_t bytes)
{
    cj->io_bytes += bytes;
    if (!(cj->io_limit > 0) || cj->io_limit > 1e300)
        return;
    for (;;) {
        double want_ms = (double)cj->io_bytes * 1000.0 / cj->io_limit;
        int64_t behind = (int64_t)want_ms - (sl_mono_ms() - cj->started_mono);
        struct timespec ts;

        if (behind <= 0 || sl_clean_stopping(cj))
            return;
        behind = SL_MIN(behind, 100);
        ts.tv_sec = 0;
        ts.tv_nsec = (long)behind * 1000000L;
        nanosleep(&ts, NULL);
    }
}

static int
pread_all(int fd, uint8_t *p, size_t len, int64_t at)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(at + (int64_t)done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? sl_log_errno(errno) : SL_ECORRUPT;
        done += (size_t)n;
    }
    return SL_OK;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
    size_t done = 0;

    if (sl_fault("log.clean.write"))
        return SL_EIO;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? sl_log_errno(errno) : SL_EIO;
        done += (size_t)n;
    }
    return SL_OK;
}

static void
name_in(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix)
{
    sl_seg_path(buf, cap, dir, base, suffix);
}

/* Reads the batch h at pos of segment s into ctx->batch. */
static int
load_batch(clean_ctx_t *ctx, const sl_clean_seg_t *s, const sl_batch_hdr_t *h, int64_t pos)
{
    size_t len = (size_t)sl_batch_size(h);
    int rc;

    sl_buf_reset(&ctx->batch);
    if ((rc = pread_all(s->fd, sl_buf_extend(&ctx->batch, len), len, pos)) != SL_OK)
        return rc;
    ctx->cj->bytes_read += (int64_t)len;
    throttle(ctx->cj, (int64_t)len);
    return SL_OK;
}

/* ======================================================================
 * 1. The offset map
 * ====================================================================== */

static int
map_batch(clean_ctx_t *ctx, const sl_batch_hdr_t *h, bool *full)
{
    sl_clean_job_t *cj = ctx->cj;
    sl_record_iter_t it;
    sl_record_t r;
    int rc;

    rc =
        sl_record_iter_init(&it, ctx->batch.data, ctx->batch.len, &ctx->scratch, DECOMPRESS_BUDGET);
    if (rc != SL_OK)
        return rc;
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        if (r.offset < cj->dirty_start || r.key.len < 0)
            continue;
        if (sl_omap_put(cj->map, r.key.ptr, (size_t)r.key.len, r.offset) != SL_OK) {
            /* Full: this batch and everything after it wait for the next
             * pass (its keys already in the map are harmless: they point at
             * records at or past map_end, which are all kept). */
            cj->map_end = h->base_offset;
            *full = true;
            return SL_OK;
        }
    }
    return rc;
}

static int
build_map(clean_ctx_t *ctx)
{
    sl_clean_job_t *cj = ctx->cj;
    bool full = false;
    int rc = SL_OK;

    cj->map_end = cj->segs[cj->nsegs - 1].next_offset;
    for (size_t i = 0; i < cj->nsegs && !full && rc == SL_OK; i++) {
        const sl_clean_seg_t *s = &cj->segs[i];
        sl_seg_scan_t sc;
        sl_batch_hdr_t h;
        int64_t pos;

        if (s->next_offset <= cj->dirty_start)
            continue;
        sl_seg_scan_init(&sc, s->fd, 0, s->size);
        while (!full && (rc = sl_seg_scan_next(&sc, false, &h, &pos)) == SL_OK) {
            if (sl_clean_stopping(cj)) {
                rc = SL_EAGAIN;
                break;
            }
            if (h.base_offset + h.last_offset_delta < cj->dirty_start ||
                (h.attributes & SL_ATTR_CONTROL) || h.record_count == 0)
                continue;
            if ((rc = load_batch(ctx, s, &h, pos)) != SL_OK ||
                (rc = map_batch(ctx, &h, &full)) != SL_OK)
                break;
        }
        sl_seg_scan_deinit(&sc);
        if (rc == SL_ENOENT)
            rc = SL_OK;
    }
    if (rc == SL_OK && cj->map_end <= cj->dirty_start) {
        sl_error(SL_LOG_COMP,
                 "%s: one batch has more keys than log.cleaner.dedupe.buffer.size holds "
                 "(%zu): not cleaned",
                 cj->dir, sl_omap_capacity(cj->map));
        rc = SL_ETOOBIG;
    }
    return rc;
}

/* ======================================================================
 * 3. Rewriting one group
 * ====================================================================== */

static bool
keep_record(const sl_clean_job_t *cj, const sl_record_t *r, bool tombstones_expired)
{
    int64_t latest;

    if (r->offset >= cj->map_end)
        return true;
    if (r->key.len < 0)
        return false;
    latest = sl_omap_get(cj->map, r->key.ptr, (size_t)r->key.len);
    if (latest > r->offset)
        return false;
    return !(r->value.len < 0 && tombstones_expired);
}

/* Filters the batch in ctx->batch. *out_p / *out_len: what to write (the
 * batch itself, a rebuilt one in ctx->out, or nothing when len is 0). */
static int
filter_batch(clean_ctx_t *ctx, const sl_batch_hdr_t *h, bool tomb_expired, const uint8_t **out_p,
             size_t *out_len)
{
    sl_record_iter_t it;
    sl_record_t r;
    sl_batch_opts_t o;
    int32_t kept = 0;
    int rc;

    *out_p = ctx->batch.data;
    *out_len = ctx->batch.len;
    if ((h->attributes & SL_ATTR_CONTROL) || h->record_count == 0)
        return SL_OK; /* transaction markers stay, as they are */
    rc =
        sl_record_iter_init(&it, ctx->batch.data, ctx->batch.len, &ctx->scratch, DECOMPRESS_BUDGET);
    if (rc != SL_OK)
        return rc;
    sl_batch_opts_init(&o);
    o.codec = sl_batch_codec(h);
    o.attributes = (int16_t)(h->attributes & ~SL_ATTR_CODEC_MASK);
    o.base_offset = h->base_offset;
    o.leader_epoch = h->leader_epoch;
    o.producer_id = h->producer_id;
    o.producer_epoch = h->producer_epoch;
    o.base_sequence = h->base_sequence;
    ctx->bld.opts = o;
    sl_batch_builder_reset(&ctx->bld);
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        if (!keep_record(ctx->cj, &r, tomb_expired))
            continue;
        if ((rc = sl_batch_builder_append_record(&ctx->bld, &r, r.offset_delta)) != SL_OK)
            return rc;
        kept++;
    }
    if (rc < 0)
        return rc;
    if (kept == h->record_count)
        return SL_OK;
    *out_len = 0;
    sl_buf_reset(&ctx->out);
    if (kept == 0)
        return SL_OK;
    if ((rc = sl_batch_builder_finish(&ctx->bld, &ctx->out)) != SL_OK)
        return rc;
    /* The batch keeps its original offset range (lastOffsetDelta), as
     * Kafka's cleaner does: only the records inside thin out. */
    sl_put_be32(ctx->out.data + SL_BATCH_OFF_LAST_DELTA, (uint32_t)h->last_offset_delta);
    sl_batch_update_crc(ctx->out.data, ctx->out.len);
    *out_p = ctx->out.data;
    *out_len = ctx->out.len;
    return SL_OK;
}

/* Kafka's final time index entry of a sealed segment. */
static int
final_time_entry(sl_seg_t *tmp)
{
    uint8_t e[SL_IDX_TIME_ENTRY];

    if (tmp->max_ts < 0 || sl_idx_full(&tmp->tidx))
        return SL_OK;
    if (tmp->tidx.entries > 0 &&
        (int64_t)sl_be64(sl_idx_entry(&tmp->tidx, tmp->tidx.entries - 1)) >= tmp->max_ts)
        return SL_OK;
    sl_put_be64(e, (uint64_t)tmp->max_ts);
    sl_put_be32(e + 8, (uint32_t)(tmp->max_ts_offset - tmp->base));
    return sl_idx_append(&tmp->tidx, e);
}

static int
write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc;

    if (fd < 0)
        return sl_log_errno(errno);
    rc = write_all(fd, p, len);
    if (rc == SL_OK && fdatasync(fd) != 0)
        rc = sl_log_errno(errno);
    close(fd);
    return rc;
}

/* Whether segs[next] may join a group that holds `written` bytes: its
 * cleaned output never exceeds its input, so the group stays within
 * segment.bytes and u32 relative offsets (Kafka's groupSegmentsBySize, but
 * over cleaned sizes, so cleaned segments merge and never multiply). */
static bool
joins_group(const sl_clean_job_t *cj, size_t first, size_t next, int64_t written)
{
    const sl_clean_seg_t *s = &cj->segs[next];

    return next < cj->nsegs && s->base < cj->map_end && written + s->size <= cj->segment_bytes &&
           s->next_offset - 1 - cj->segs[first].base <= INT32_MAX;
}

static int
copy_seg(clean_ctx_t *ctx, const sl_clean_seg_t *s, int fd, sl_seg_t *tmp, int64_t *wpos)
{
    sl_clean_job_t *cj = ctx->cj;
    bool expired = s->largest_ts < cj->now_ms - cj->delete_retention_ms;
    sl_seg_scan_t sc;
    sl_batch_hdr_t h, nh;
    int64_t pos;
    int rc;

    sl_seg_scan_init(&sc, s->fd, 0, s->size);
    while ((rc = sl_seg_scan_next(&sc, false, &h, &pos)) == SL_OK) {
        const uint8_t *p;
        size_t len;

        if (sl_clean_stopping(cj)) {
            rc = SL_EAGAIN;
            break;
        }
        if ((rc = load_batch(ctx, s, &h, pos)) != SL_OK ||
            (rc = filter_batch(ctx, &h, expired, &p, &len)) != SL_OK)
            break;
        if (len == 0)
            continue;
        if ((rc = sl_batch_hdr_parse(p, len, &nh)) != SL_OK ||
            (rc = write_all(fd, p, len)) != SL_OK ||
            (rc = sl_seg_index_batch(tmp, &nh, *wpos, cj->index_interval_bytes)) != SL_OK)
            break;
        *wpos += (int64_t)len;
        cj->bytes_written += (int64_t)len;
        throttle(cj, (int64_t)len);
    }
    sl_seg_scan_deinit(&sc);
    return rc == SL_ENOENT ? SL_OK : rc;
}

/* Writes the group starting at o->first; sets o->count. */
static int
copy_group(clean_ctx_t *ctx, sl_clean_out_t *o, int fd, sl_seg_t *tmp)
{
    sl_clean_job_t *cj = ctx->cj;
    int64_t wpos = 0;
    size_t i = o->first;
    int rc = SL_OK;

    while ((rc = copy_seg(ctx, &cj->segs[i], fd, tmp, &wpos)) == SL_OK &&
           joins_group(cj, o->first, i + 1, wpos))
        i++;
    o->count = i - o->first + 1;
    o->size = wpos;
    return rc;
}

/* Writes <base>.{log,index,timeindex}.cleaned for group o, all fsynced. */
static int
write_cleaned(clean_ctx_t *ctx, sl_clean_out_t *o)
{
    sl_clean_job_t *cj = ctx->cj;
    int64_t base = cj->segs[o->first].base;
    char path[PATH_MAX];
    sl_seg_t tmp;
    int fd, rc;

    memset(&tmp, 0, sizeof(tmp));
    tmp.base = tmp.next_offset = tmp.max_ts_offset = base;
    tmp.max_ts = tmp.first_ts = -1;
    tmp.fd = tmp.oidx.fd = tmp.tidx.fd = -1;
    sl_idx_begin_build(&tmp.oidx, SL_IDX_OFFSET_ENTRY, cj->segment_index_bytes);
    sl_idx_begin_build(&tmp.tidx, SL_IDX_TIME_ENTRY, cj->segment_index_bytes);
    name_in(path, sizeof(path), cj->dir, base, ".log.cleaned");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sl_log_errno(errno);
        goto out;
    }
    rc = copy_group(ctx, o, fd, &tmp);
    if (rc == SL_OK && (sl_fault("log.clean.fsync") || fdatasync(fd) != 0))
        rc = SL_EIO;
    close(fd);
    if (rc == SL_OK)
        rc = final_time_entry(&tmp);
    if (rc == SL_OK) {
        name_in(path, sizeof(path), cj->dir, base, ".index.cleaned");
        rc = write_file(path, tmp.oidx.build.data, tmp.oidx.build.len);
    }
    if (rc == SL_OK) {
        name_in(path, sizeof(path), cj->dir, base, ".timeindex.cleaned");
        rc = write_file(path, tmp.tidx.build.data, tmp.tidx.build.len);
    }
    o->next_offset = tmp.next_offset;
    o->max_ts = tmp.max_ts;
    o->max_ts_offset = tmp.max_ts_offset;
    o->first_ts = tmp.first_ts;
out:
    sl_idx_close(&tmp.oidx);
    sl_idx_close(&tmp.tidx);
    return rc;
}

/* ======================================================================
 * 4. The swap
 * ====================================================================== */

static const char *const SEG_SFX[] = {".log", ".index", ".timeindex"};

static int
rename_seg(const char *dir, int64_t base, const char *from_sfx, const char *to_sfx, bool log_last)
{
    char from[PATH_MAX], to[PATH_MAX];

    /* indexes first when the .log rename is the commit point */
    for (size_t k = 0; k < SL_ARRAY_LEN(SEG_SFX); k++) {
        const char *s = SEG_SFX[log_last ? (k + 1) % 3 : k];
        char a[32], b[32];

        snprintf(a, sizeof(a), "%s%s", s, from_sfx);
        snprintf(b, sizeof(b), "%s%s", s, to_sfx);
        name_in(from, sizeof(from), dir, base, a);
        name_in(to, sizeof(to), dir, base, b);
        if (sl_fault("log.clean.rename") || rename(from, to) != 0) {
            if (errno == ENOENT && strcmp(s, ".log") != 0)
                continue; /* an index a crash already lost: recovery rebuilds it */
            return sl_log_errno(errno);
        }
    }
    return SL_OK;
}

static void
unlink_cleaned(const char *dir, int64_t base)
{
    char path[PATH_MAX], sfx[32];

    for (size_t k = 0; k < SL_ARRAY_LEN(SEG_SFX); k++) {
        snprintf(sfx, sizeof(sfx), "%s.cleaned", SEG_SFX[k]);
        name_in(path, sizeof(path), dir, base, sfx);
        (void)unlink(path);
    }
}

static int
swap_group(const sl_clean_job_t *cj, const sl_clean_out_t *o)
{
    int64_t base = cj->segs[o->first].base;
    int rc;

    if ((rc = rename_seg(cj->dir, base, ".cleaned", ".swap", true)) != SL_OK)
        return rc;
    /* committed from here on: recovery completes the swap */
    if ((rc = sl_log_fsync_dir(cj->dir)) != SL_OK)
        return rc;
    for (size_t i = o->first; i < o->first + o->count; i++) {
        if ((rc = rename_seg(cj->dir, cj->segs[i].base, "", ".deleted", false)) != SL_OK)
            return rc;
    }
    /* The old names must be gone for good before the new one appears, or
     * a crash could leave both (overlapping segments). */
    if ((rc = sl_log_fsync_dir(cj->dir)) != SL_OK)
        return rc;
    if ((rc = rename_seg(cj->dir, base, ".swap", "", false)) != SL_OK)
        return rc;
    return sl_log_fsync_dir(cj->dir);
}

/* ======================================================================
 * 2. Groups, and the job
 * ====================================================================== */

static int
clean_groups(clean_ctx_t *ctx)
{
    sl_clean_job_t *cj = ctx->cj;
    size_t i = 0;
    int rc = SL_OK;

    cj->outs = sl_xcalloc(cj->nsegs, sizeof(*cj->outs));
    while (i < cj->nsegs && cj->segs[i].base < cj->map_end) {
        sl_clean_out_t *o = &cj->outs[cj->nouts];

        o->first = i;
        if ((rc = write_cleaned(ctx, o)) != SL_OK) {
            unlink_cleaned(cj->dir, cj->segs[i].base);
            break;
        }
        if ((rc = swap_group(cj, o)) != SL_OK) {
            /* Past the commit point the files are what recovery makes of
             * them: the loop takes the partition offline (cleaner.c). */
            cj->nouts++;
            break;
        }
        cj->nouts++;
        i = o->first + o->count;
    }
    return rc;
}

void
sl_clean_run(sl_bg_job_t *job)
{
    sl_clean_job_t *cj = (sl_clean_job_t *)job;
    clean_ctx_t ctx;
    sl_batch_opts_t o;

    memset(&ctx, 0, sizeof(ctx));
    ctx.cj = cj;
    sl_buf_init(&ctx.batch);
    sl_buf_init(&ctx.scratch);
    sl_buf_init(&ctx.out);
    sl_batch_opts_init(&o);
    sl_batch_builder_init(&ctx.bld, &o);
    cj->started_mono = sl_mono_ms();
    sl_omap_clear(cj->map);
    job->rc = build_map(&ctx);
    if (job->rc == SL_OK)
        job->rc = clean_groups(&ctx);
    sl_omap_release(cj->map);
    sl_batch_builder_deinit(&ctx.bld);
    sl_buf_deinit(&ctx.batch);
    sl_buf_deinit(&ctx.scratch);
    sl_buf_deinit(&ctx.out);
}
