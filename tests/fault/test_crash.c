/*
 * test_crash.c -- kill -9 and torn files: no acknowledged batch is ever lost.
 *
 * Each iteration forks a writer that opens the log, appends small batches
 * and waits for group-commit fsyncs. Through a pipe it reports every buffer
 * *before* appending it (an intent: the exact bytes) and every batch *after*
 * it was acknowledged as durable (offset + CRC). The parent kills it with
 * SIGKILL at a random point, then plays the power cut: past the last point
 * known to be on disk (the end of the last acknowledged batch, or the
 * recovery point checkpoint, whichever is later) it cuts files at random
 * offsets, sprinkles random bytes, appends garbage, deletes or truncates
 * later segments and scribbles over index files. It then reopens the log and
 * checks that what is served is exactly a prefix of everything ever written
 * (byte-identical, in order, nothing after a tear) that contains every
 * acknowledged batch, and that the partition is online. The log carries
 * over to the next iteration, so recovered logs get crashed again.
 *
 * 10 tests x 50 iterations = 500 crash/recover cycles.
 */
#include "test.h"

#include "base/common.h"
#include "log/log.h"
#include "proto/record.h"
#include "proto/wire.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ITERATIONS  50
#define MAX_BATCHES 30

typedef struct blob {
    uint8_t *p;
    size_t len;
} blob_t;

typedef struct vec {
    blob_t *b;
    size_t n, cap;
} vec_t;

typedef struct params {
    int64_t segment_bytes;
    int64_t index_interval;
    int64_t index_bytes;
    size_t max_payload;
} params_t;

static void
vec_push(vec_t *v, const uint8_t *p, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->b = realloc(v->b, v->cap * sizeof(*v->b));
        SL_CHECK(v->b != NULL);
    }
    v->b[v->n].p = malloc(len);
    SL_CHECK(v->b[v->n].p != NULL);
    memcpy(v->b[v->n].p, p, len);
    v->b[v->n++].len = len;
}

static void
vec_free(vec_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->b[i].p);
    free(v->b);
    memset(v, 0, sizeof(*v));
}

static uint64_t
rnd(uint64_t n)
{
    return n ? sl_test_rand() % n : 0;
}

static void
cfg_for(const params_t *pp, sl_log_cfg_t *cfg)
{
    sl_log_cfg_init(cfg);
    cfg->segment_bytes = pp->segment_bytes;
    cfg->index_interval_bytes = pp->index_interval;
    cfg->segment_index_bytes = pp->index_bytes;
}

/* ======================================================================
 * The writer (child process)
 * ====================================================================== */

static uint64_t child_rng;

static uint64_t
crnd(uint64_t n)
{
    child_rng = child_rng * 6364136223846793005ull + 1442695040888963407ull;
    return n ? (child_rng >> 33) % n : 0;
}

/* One write per message: atomic on a pipe (<= PIPE_BUF), so a kill never
 * leaves half an ack behind. */
static void
put_msg(int fd, char type, const void *p, uint32_t len)
{
    uint8_t msg[5 + 4000];

    if (len > sizeof(msg) - 5)
        _exit(3);
    msg[0] = (uint8_t)type;
    sl_put_be32(msg + 1, len);
    if (len > 0)
        memcpy(msg + 5, p, len);
    if (write(fd, msg, 5 + len) != (ssize_t)(5 + len))
        _exit(3);
}

static size_t
make_batch(uint8_t *out, size_t max_payload)
{
    size_t payload = crnd(max_payload + 1), len = SL_BATCH_HEADER_SIZE + payload;
    int32_t nrec = 1 + (int32_t)crnd(5);
    int64_t ts = 1700000000000LL + (int64_t)crnd(100000);

    memset(out, 0, SL_BATCH_HEADER_SIZE);
    sl_put_be32(out + SL_BATCH_OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
    sl_put_be32(out + SL_BATCH_OFF_LEADER_EPOCH, 0xffffffffu);
    out[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be32(out + SL_BATCH_OFF_LAST_DELTA, (uint32_t)(nrec - 1));
    sl_put_be64(out + SL_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)ts);
    sl_put_be64(out + SL_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    sl_put_be64(out + SL_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
    sl_put_be32(out + SL_BATCH_OFF_RECORD_COUNT, (uint32_t)nrec);
    for (size_t i = 0; i < payload; i++)
        out[SL_BATCH_HEADER_SIZE + i] = (uint8_t)crnd(256);
    sl_batch_update_crc(out, len);
    return len;
}

/* Acks (offset, crc) of every batch in [from, upto) of the pending list. */
static void
send_acks(int fd, vec_t *pending, size_t *acked, int64_t *ack_off, int64_t upto)
{
    while (*acked < pending->n && *ack_off < upto) {
        const uint8_t *b = pending->b[*acked].p;
        uint8_t msg[12];

        sl_put_be64(msg, (uint64_t)*ack_off);
        memcpy(msg + 8, b + SL_BATCH_OFF_CRC, 4);
        put_msg(fd, 'A', msg, sizeof(msg));
        *ack_off += (int64_t)sl_be32(b + SL_BATCH_OFF_LAST_DELTA) + 1;
        (*acked)++;
    }
}

static void
child_main(int fd, const params_t *pp, uint64_t seed)
{
    sl_log_mgr_opts_t opts;
    sl_log_mgr_t *mgr;
    sl_plog_t *pl;
    vec_t pending = {0};
    size_t acked = 0;
    int64_t ack_off;
    uint8_t buf[4 * 1024];

    child_rng = seed;
    sl_log_mgr_opts_init(&opts);
    cfg_for(pp, &opts.default_cfg);
    if (sl_log_mgr_open(sl_test_dir(), &opts, &mgr) != SL_OK)
        _exit(4);
    pl = sl_log_mgr_get(mgr, "c", 0);
    if (pl == NULL && sl_log_mgr_create(mgr, "c", 0, &opts.default_cfg, &pl) != SL_OK)
        _exit(5);
    ack_off = sl_plog_leo(pl);
    put_msg(fd, 'S', NULL, 0);
    for (int sent = 0; sent < MAX_BATCHES;) {
        size_t len = 0, nb = 1 + crnd(3);
        sl_log_append_info_t info;
        int rc;

        for (size_t i = 0; i < nb; i++) {
            size_t n = make_batch(buf + len, pp->max_payload);

            vec_push(&pending, buf + len, n);
            len += n;
        }
        put_msg(fd, 'I', buf, (uint32_t)len);
        if (sl_plog_append(pl, buf, len, &info) != SL_OK)
            _exit(6);
        sent += (int)nb;
        rc = sl_plog_request_flush(pl, sl_plog_leo(pl));
        /* Sometimes let several appends share one fsync (group commit). */
        if (crnd(3) == 0)
            continue;
        while (rc == SL_EAGAIN && !sl_plog_is_durable(pl, sl_plog_leo(pl) - 1)) {
            sl_log_mgr_wait(mgr, 1000);
            if (sl_plog_status(pl) != SL_OK)
                _exit(7);
        }
        send_acks(fd, &pending, &acked, &ack_off, sl_plog_durable_offset(pl));
        if (crnd(4) == 0)
            sl_log_mgr_checkpoint(mgr);
    }
    put_msg(fd, 'D', NULL, 0);
    for (;;)
        pause();
}

/* ======================================================================
 * The parent: messages
 * ====================================================================== */

typedef struct run {
    vec_t known;   /* batches in the log before this iteration (patched) */
    vec_t intents; /* batches the writer tried to append (raw) */
    size_t acked;  /* how many intents were acknowledged */
    int64_t known_end;
    int64_t log_start; /* advanced by DeleteRecords between iterations */
    bool started;
    bool done;
} run_t;

static bool
read_full(int fd, void *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = read(fd, (uint8_t *)p + got, n - got);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

static int64_t
intents_end(const run_t *r, size_t upto)
{
    int64_t off = r->known_end;

    for (size_t i = 0; i < upto; i++)
        off += (int64_t)sl_be32(r->intents.b[i].p + SL_BATCH_OFF_LAST_DELTA) + 1;
    return off;
}

static void
on_ack(run_t *r, const uint8_t *msg)
{
    int64_t off = (int64_t)sl_be64(msg);

    SL_CHECK(r->acked < r->intents.n);
    SL_CHECK_EQ(off, intents_end(r, r->acked));
    SL_CHECK_MEM(msg + 8, r->intents.b[r->acked].p + SL_BATCH_OFF_CRC, 4);
    r->acked++;
}

static void
on_intent(run_t *r, const uint8_t *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        size_t n = sl_be32(p + off + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;

        SL_CHECK(off + n <= len);
        vec_push(&r->intents, p + off, n);
        off += n;
    }
}

/* Reads one message; false at EOF. */
static bool
read_msg(int fd, run_t *r)
{
    static uint8_t body[64 * 1024];
    uint8_t hdr[5];
    uint32_t len;

    if (!read_full(fd, hdr, 5))
        return false;
    len = sl_be32(hdr + 1);
    SL_CHECK(len <= sizeof(body));
    if (!read_full(fd, body, len))
        return false;
    switch (hdr[0]) {
    case 'S':
        r->started = true;
        break;
    case 'I':
        on_intent(r, body, len);
        break;
    case 'A':
        SL_CHECK_EQ(len, 12);
        on_ack(r, body);
        break;
    case 'D':
        r->done = true;
        break;
    default:
        SL_CHECK(!"bad message");
    }
    return true;
}

/* ======================================================================
 * The parent: the power cut
 * ====================================================================== */

typedef struct segf {
    int64_t base;
    int64_t size;
} segf_t;

static size_t
list_segs(segf_t *out, size_t cap)
{
    char dir[4200];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(dir, sizeof(dir), "%s/c-0", sl_test_dir());
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        char path[4200 + 256 + 2];

        if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".log") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        SL_CHECK_OK(stat(path, &st));
        SL_CHECK(n < cap);
        out[n].base = strtoll(de->d_name, NULL, 10);
        out[n++].size = st.st_size;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && out[j - 1].base > out[j].base; j--) {
            segf_t t = out[j];

            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    }
    return n;
}

static const char *
seg_path(int64_t base, const char *sfx)
{
    static char path[4300];

    snprintf(path, sizeof(path), "%s/c-0/%020" PRId64 "%s", sl_test_dir(), base, sfx);
    return path;
}

/* Position of offset `target` (a batch boundary) in segment s, or -1. */
static int64_t
find_pos(const segf_t *s, int64_t target)
{
    int fd = open(seg_path(s->base, ".log"), O_RDONLY);
    int64_t pos = 0, off = s->base;
    uint8_t h[SL_BATCH_HEADER_SIZE];

    SL_CHECK(fd >= 0);
    while (off < target && pos + SL_BATCH_HEADER_SIZE <= s->size) {
        SL_CHECK_EQ(pread(fd, h, sizeof(h), pos), (ssize_t)sizeof(h));
        SL_CHECK_EQ((int64_t)sl_be64(h), off);
        pos += sl_be32(h + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;
        off += (int64_t)sl_be32(h + SL_BATCH_OFF_LAST_DELTA) + 1;
    }
    close(fd);
    return off == target ? pos : -1;
}

static char damage_log[8192];
static size_t damage_len;

static void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
dlog(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (damage_len < sizeof(damage_log) - 1)
        damage_len +=
            (size_t)vsnprintf(damage_log + damage_len, sizeof(damage_log) - damage_len, fmt, ap);
    va_end(ap);
}

static void
scribble(const char *path, int64_t from, int64_t to)
{
    int fd = open(path, O_WRONLY);
    int spots = 1 + (int)rnd(4);

    if (fd < 0 || to <= from) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (int i = 0; i < spots; i++) {
        uint8_t junk[16];
        size_t n = 1 + rnd(sizeof(junk));
        int64_t at = from + (int64_t)rnd((uint64_t)(to - from));

        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)sl_test_rand();
        SL_CHECK(pwrite(fd, junk, SL_MIN(n, (size_t)(to - at)), at) >= 0);
        dlog("scribble %s @%" PRId64 " n=%zu\n", strrchr(path, '/') + 1, at,
             SL_MIN(n, (size_t)(to - at)));
    }
    close(fd);
}

static void
append_garbage(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    uint8_t junk[600];
    size_t n = rnd(sizeof(junk));
    bool zeros = rnd(2);

    SL_CHECK(fd >= 0);
    for (size_t k = 0; k < n; k++)
        junk[k] = zeros ? 0 : (uint8_t)sl_test_rand();
    SL_CHECK_EQ(write(fd, junk, n), (ssize_t)n);
    close(fd);
}

/* Damages a segment file from byte `from` on (bytes before are synced). */
static void
damage_tail(const segf_t *s, int64_t from)
{
    const char *p = seg_path(s->base, ".log");

    if (rnd(2)) {
        int64_t to = from + (int64_t)rnd((uint64_t)(s->size - from + 1));
        SL_CHECK_OK(truncate(p, to));
        dlog("truncate %" PRId64 " to %" PRId64 "\n", s->base, to);
    }
    if (rnd(2))
        scribble(p, from, s->size);
    if (rnd(3) == 0)
        append_garbage(p);
}

static int64_t
read_recovery_point(void)
{
    FILE *f = fopen(sl_test_path("recovery-point-offset-checkpoint"), "r");
    char line[256];
    long long v = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "c 0 %lld", &v) == 1)
            break;
    }
    fclose(f);
    return v;
}

static void
power_cut(const run_t *r)
{
    segf_t segs[512];
    size_t n = list_segs(segs, SL_ARRAY_LEN(segs)), i;
    int64_t durable = SL_MAX(intents_end(r, r->acked), read_recovery_point()), pos = -1;

    /* A marker means nothing was written since the last clean close. */
    if (access(sl_test_path(".kafka_cleanshutdown"), F_OK) == 0 || n == 0)
        return;
    for (i = 0; i < n; i++) {
        if (segs[i].base <= durable && (pos = find_pos(&segs[i], durable)) >= 0)
            break;
    }
    SL_CHECK(i < n); /* the durable point must be on disk */
    dlog("durable %" PRId64 " in seg %" PRId64 " at %" PRId64 " (size %" PRId64 ")\n", durable,
         segs[i].base, pos, segs[i].size);
    damage_tail(&segs[i], pos);
    for (size_t k = i + 1; k < n; k++) {
        uint64_t what = rnd(4);

        if (what == 0)
            SL_CHECK_OK(unlink(seg_path(segs[k].base, ".log")));
        else if (what == 1)
            damage_tail(&segs[k], 0);
    }
    for (size_t k = 0; k < n; k++) {
        if (rnd(4) == 0) {
            scribble(seg_path(segs[k].base, ".index"), 0, 64);
            scribble(seg_path(segs[k].base, ".timeindex"), 0, 64);
        }
    }
}

/* ======================================================================
 * The parent: verification
 * ====================================================================== */

/* The bytes the log must hold for intent i: offset and epoch patched. */
static void
expected_intent(const run_t *r, size_t i, uint8_t *out)
{
    memcpy(out, r->intents.b[i].p, r->intents.b[i].len);
    sl_put_be64(out, (uint64_t)intents_end(r, i));
    sl_put_be32(out + SL_BATCH_OFF_LEADER_EPOCH, 0);
}

/* Keeps the log short (and exercises DeleteRecords and the log start
 * checkpoint across crashes): all but the last KEEP batches go. */
#define KEEP 12
static void
trim_front(run_t *r, sl_plog_t *pl)
{
    size_t drop;
    int64_t low;

    if (r->known.n <= 2 * KEEP)
        return;
    drop = r->known.n - KEEP;
    r->log_start = (int64_t)sl_be64(r->known.b[drop].p);
    SL_CHECK_OK(sl_plog_delete_records(pl, r->log_start, &low));
    SL_CHECK_EQ(low, r->log_start);
    for (size_t i = 0; i < drop; i++)
        free(r->known.b[i].p);
    memmove(r->known.b, r->known.b + drop, KEEP * sizeof(*r->known.b));
    r->known.n = KEEP;
}

/* Splits the served log into batches and checks them against
 * known + intents; the result becomes the new `known`. */
static void
verify(run_t *r, sl_log_mgr_t *mgr)
{
    sl_plog_t *pl = sl_log_mgr_get(mgr, "c", 0);
    vec_t served = {0};
    int64_t off = 0;
    uint8_t exp[8192];

    if (pl == NULL) {
        /* the writer died before creating the partition */
        SL_CHECK_EQ(r->known.n + r->acked, 0);
        return;
    }
    SL_CHECK_OK(sl_plog_status(pl));
    SL_CHECK_EQ(sl_plog_log_start(pl), r->log_start);
    off = r->log_start;
    while (off < sl_plog_leo(pl)) {
        sl_log_region_t reg;
        uint8_t *p;

        SL_CHECK_OK(sl_plog_read(pl, off, 1 << 20, sl_plog_leo(pl), true, &reg));
        SL_CHECK(reg.len > 0);
        p = malloc((size_t)reg.len);
        SL_CHECK_EQ(pread(reg.fd, p, (size_t)reg.len, reg.pos), reg.len);
        for (int64_t at = 0; at < reg.len;) {
            size_t n = sl_be32(p + at + SL_BATCH_OFF_LENGTH) + SL_BATCH_LOG_OVERHEAD;

            vec_push(&served, p + at, n);
            at += (int64_t)n;
        }
        off = reg.next_offset;
        free(p);
        sl_log_region_release(&reg);
    }
    /* every acknowledged batch, nothing that was never written */
    SL_CHECK(served.n >= r->known.n + r->acked);
    SL_CHECK(served.n <= r->known.n + r->intents.n);
    for (size_t i = 0; i < served.n; i++) {
        const blob_t *want = i < r->known.n ? &r->known.b[i] : NULL;
        blob_t e;

        if (want == NULL) {
            expected_intent(r, i - r->known.n, exp);
            e = (blob_t){exp, r->intents.b[i - r->known.n].len};
            want = &e;
        }
        SL_CHECK_EQ(served.b[i].len, want->len);
        if (memcmp(served.b[i].p, want->p, want->len) != 0) {
            for (size_t k = 0; k < want->len; k++) {
                if (served.b[i].p[k] != want->p[k])
                    fprintf(stderr, "batch %zu/%zu (known %zu, acked %zu) byte %zu: %02x != %02x\n",
                            i, served.n, r->known.n, r->acked, k, served.b[i].p[k], want->p[k]);
            }
            fprintf(stderr, "%s", damage_log);
            SL_CHECK(!"served batch differs");
        }
    }
    vec_free(&r->known);
    r->known = served;
    r->known_end = sl_plog_leo(pl);
    trim_front(r, pl);
}

static void
iteration(run_t *r, const params_t *pp)
{
    int fds[2];
    pid_t pid;
    uint64_t kill_after = rnd(3 * MAX_BATCHES / 2 + 3), msgs = 0;
    sl_log_mgr_t *mgr;
    sl_log_mgr_opts_t opts;
    int status;

    vec_free(&r->intents);
    r->acked = 0;
    r->started = r->done = false;
    SL_CHECK_OK(pipe(fds));
    pid = fork();
    SL_CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], pp, sl_test_rand());
    }
    close(fds[1]);
    while (msgs < kill_after && !r->done && read_msg(fds[0], r))
        msgs++;
    /* a little jitter so the kill lands inside appends and fsyncs too */
    for (volatile uint64_t spin = rnd(200000); spin > 0; spin--)
        ;
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    SL_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* acks already in the pipe were sent after the ack: they count */
    while (read_msg(fds[0], r))
        ;
    close(fds[0]);

    damage_len = 0;
    damage_log[0] = 0;
    power_cut(r);
    sl_log_mgr_opts_init(&opts);
    cfg_for(pp, &opts.default_cfg);
    SL_CHECK_OK(sl_log_mgr_open(sl_test_dir(), &opts, &mgr));
    verify(r, mgr);
    if (rnd(2))
        sl_log_mgr_close(mgr);
    else
        sl_log_mgr_abandon(mgr);
}

static void
crash_loop(int64_t segment_bytes, int64_t interval, int64_t index_bytes, size_t payload)
{
    params_t pp = {segment_bytes, interval, index_bytes, payload};
    run_t r;

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < ITERATIONS; i++)
        iteration(&r, &pp);
    SL_CHECK(r.known.n > 0);
    vec_free(&r.known);
    vec_free(&r.intents);
}

SL_TEST(crash_small_segments)
{
    crash_loop(1024, 128, 96, 120);
}

SL_TEST(crash_tiny_segments_full_indexes)
{
    crash_loop(400, 0, 48, 60);
}

SL_TEST(crash_medium_segments)
{
    crash_loop(4096, 256, 1024, 300);
}

SL_TEST(crash_one_big_segment)
{
    crash_loop(1 << 20, 512, 4096, 400);
}

SL_TEST(crash_empty_batches_payload)
{
    crash_loop(700, 64, 120, 0);
}

SL_TEST(crash_mixed_1)
{
    crash_loop(2048, 100, 200, 200);
}

SL_TEST(crash_mixed_2)
{
    crash_loop(1500, 300, 72, 250);
}

SL_TEST(crash_mixed_3)
{
    crash_loop(3000, 50, 500, 100);
}

SL_TEST(crash_mixed_4)
{
    crash_loop(900, 200, 240, 150);
}

SL_TEST(crash_mixed_5)
{
    crash_loop(5000, 1000, 2000, 500);
}
