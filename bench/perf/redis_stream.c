/*
 * redis_stream.c -- the Redis Streams side of bench/run.sh, for what
 * redis-benchmark cannot measure (it covers XADD throughput):
 *
 *   redis_stream consume PORT KEY N
 *       reads N entries of stream KEY from the start with
 *       XREAD COUNT 1000 STREAMS KEY <last id>, one request at a time, on one
 *       connection: the consumer a Redis user writes. Prints records/s.
 *
 *   redis_stream e2e PORT KEY RATE SECONDS SIZE
 *       one connection XADDs SIZE-byte values at RATE/s for SECONDS (entry i
 *       scheduled at start + i/RATE, sent without waiting for earlier replies;
 *       a thread reads the replies), while a second connection waits in
 *       XREAD BLOCK for them. Latency runs from the scheduled send time to
 *       receipt, as in `sluice perf e2e`. KEY is deleted first.
 *
 * Speaks RESP2 over a plain socket: no client library to install, and the
 * parse is a few dozen lines for the one reply shape XREAD has.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF (4 * 1024 * 1024)

typedef struct conn {
    int fd;
    char *buf;
    size_t start, end; /* unread bytes are buf[start, end) */
} conn_t;

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
    fprintf(stderr, "redis_stream: %s%s%s\n", what, errno ? ": " : "",
            errno ? strerror(errno) : "");
    exit(1);
}

static void
conn_open(conn_t *c, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (void *)&sa, sizeof(sa)) != 0)
        die("connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->buf = malloc(RBUF);
    c->start = c->end = 0;
    if (c->buf == NULL)
        die("malloc");
}

static void
conn_write(conn_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Makes at least n unread bytes available. */
static void
conn_need(conn_t *c, size_t n)
{
    if (n > RBUF)
        die("reply element larger than the read buffer");
    while (c->end - c->start < n) {
        ssize_t r;

        if (c->start > 0 && RBUF - c->start < n) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        r = read(c->fd, c->buf + c->end, RBUF - c->end);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errno = r == 0 ? 0 : errno;
            die("connection closed");
        }
        c->end += (size_t)r;
    }
}

/* Reads one "<type><text>\r\n" line; returns the type, the text in line. */
static char
conn_line(conn_t *c, char *line, size_t cap)
{
    size_t i = 0;
    char *p;

    for (;;) {
        conn_need(c, i + 2);
        p = memchr(c->buf + c->start + i, '\n', c->end - c->start - i);
        if (p != NULL)
            break;
        i = c->end - c->start - 1;
    }
    i = (size_t)(p - (c->buf + c->start)); /* index of '\n' */
    if (i < 2 || i - 1 > cap)
        die("bad reply line");
    memcpy(line, c->buf + c->start + 1, i - 2);
    line[i - 2] = '\0';
    char type = c->buf[c->start];
    c->start += i + 1;
    if (type == '-') {
        errno = 0;
        fprintf(stderr, "redis error: %s\n", line);
        die("error reply");
    }
    return type;
}

/* Returns the count of an array header (-1: null). */
static long
read_array(conn_t *c)
{
    char line[64];

    if (conn_line(c, line, sizeof(line)) != '*')
        die("expected an array");
    return atol(line);
}

/* Returns a pointer into the buffer, valid until the next read. */
static const char *
read_bulk(conn_t *c, size_t *len)
{
    char line[64];
    long n;
    const char *p;

    if (conn_line(c, line, sizeof(line)) != '$' || (n = atol(line)) < 0)
        die("expected a bulk string");
    conn_need(c, (size_t)n + 2);
    p = c->buf + c->start;
    c->start += (size_t)n + 2;
    *len = (size_t)n;
    return p;
}

/* Skips one reply of any type (XADD answers a bulk id). */
static void
skip_reply(conn_t *c)
{
    char line[128];
    char type = conn_line(c, line, sizeof(line));
    size_t n;

    if (type == '$' && atol(line) >= 0) {
        n = (size_t)atol(line);
        conn_need(c, n + 2);
        c->start += n + 2;
    } else if (type == '*') {
        for (long i = atol(line); i > 0; i--)
            skip_reply(c);
    }
}

static void
send_cmd(conn_t *c, int argc, const char **argv, const size_t *lens)
{
    char head[64];
    char *out = malloc(256 + (size_t)argc * 32 + lens[argc - 1] + 1024);
    size_t n = 0;

    if (out == NULL)
        die("malloc");
    n += (size_t)snprintf(out, 64, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        int h = snprintf(head, sizeof(head), "$%zu\r\n", lens[i]);

        memcpy(out + n, head, (size_t)h);
        n += (size_t)h;
        memcpy(out + n, argv[i], lens[i]);
        n += lens[i];
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    conn_write(c, out, n);
    free(out);
}

/* Sends XREAD [BLOCK ms] COUNT 1000 STREAMS key id. */
static void
send_xread(conn_t *c, const char *key, const char *id, int block_ms)
{
    char ms[16];
    const char *a[] = {"XREAD", "BLOCK", ms, "COUNT", "1000", "STREAMS", key, id};
    size_t l[8];
    int off = block_ms >= 0 ? 0 : 2;

    snprintf(ms, sizeof(ms), "%d", block_ms);
    a[off] = "XREAD";
    for (int i = off; i < 8; i++)
        l[i] = strlen(a[i]);
    send_cmd(c, 8 - off, a + off, l + off);
}

typedef void (*entry_fn)(const char *val, size_t len, void *arg);

/* Reads an XREAD reply; returns the number of entries (0: null reply) and
 * leaves the last entry id in last_id. */
static long
read_xread(conn_t *c, char *last_id, entry_fn fn, void *arg)
{
    long streams = read_array(c), n = 0;
    size_t len;
    const char *p;

    for (long s = 0; s < streams; s++) {
        if (read_array(c) != 2)
            die("bad XREAD reply");
        read_bulk(c, &len); /* key */
        n = read_array(c);
        for (long i = 0; i < n; i++) {
            if (read_array(c) != 2)
                die("bad stream entry");
            p = read_bulk(c, &len);
            if (len >= 64)
                die("long id");
            memcpy(last_id, p, len);
            last_id[len] = '\0';
            long fields = read_array(c);
            for (long f = 0; f + 1 < fields; f += 2) {
                read_bulk(c, &len);
                p = read_bulk(c, &len);
                if (fn != NULL)
                    fn(p, len, arg);
            }
        }
    }
    return n;
}

static int
cmd_consume(int port, const char *key, long want)
{
    conn_t c;
    char id[64] = "0-0";
    long got = 0, n;
    int64_t t0, t1;

    conn_open(&c, port);
    t0 = now_ns();
    while (got < want) {
        send_xread(&c, key, id, -1);
        if ((n = read_xread(&c, id, NULL, NULL)) == 0)
            break;
        got += n;
    }
    t1 = now_ns();
    printf("{\"records\":%ld,\"elapsed_s\":%.6f,\"records_per_s\":%.1f}\n", got,
           (double)(t1 - t0) / 1e9, (double)got / ((double)(t1 - t0) / 1e9));
    return got >= want ? 0 : 1;
}

/* ---- e2e ---------------------------------------------------------------- */

typedef struct e2e {
    conn_t prod, cons;
    const char *key;
    _Atomic long sent, cmds; /* cmds: sent plus the closing PING */
    _Atomic int done;
    long cap, got;
    int64_t *lat;
} e2e_t;

static void
on_entry(const char *val, size_t len, void *arg)
{
    e2e_t *e = arg;
    int64_t now = now_ns(), sched = 0;

    for (size_t i = 0; i < len && i < 20 && val[i] >= '0' && val[i] <= '9'; i++)
        sched = sched * 10 + (val[i] - '0');
    if (e->got < e->cap)
        e->lat[e->got] = now - sched;
    e->got++;
}

static void *
consumer_main(void *arg)
{
    e2e_t *e = arg;
    char id[64] = "0-0";

    while (!atomic_load(&e->done) || e->got < atomic_load(&e->sent)) {
        send_xread(&e->cons, e->key, id, 1000);
        read_xread(&e->cons, id, on_entry, e);
    }
    return NULL;
}

static void *
replies_main(void *arg)
{
    e2e_t *e = arg;

    /* The producer sends a PING after setting done, so one more reply always
     * follows done: no read blocks forever. */
    for (long replies = 1;; replies++) {
        skip_reply(&e->prod);
        if (atomic_load(&e->done) && replies >= atomic_load(&e->cmds))
            return NULL;
    }
}

static void
sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static double
pct_ms(const int64_t *v, long n, double q)
{
    long i = (long)((double)n * q + 0.999999) - 1;

    return n == 0 ? 0.0 : (double)v[i < 0 ? 0 : i >= n ? n - 1 : i] / 1e6;
}

static void
produce_loop(e2e_t *e, double rate, double secs, size_t size)
{
    char *val = malloc(size + 1);
    const char *a[] = {"XADD", e->key, "*", "v", val};
    size_t l[] = {4, strlen(e->key), 1, 1, size};
    int64_t start = now_ns(), sched;

    if (val == NULL)
        die("malloc");
    memset(val, 'x', size);
    for (long i = 0;; i++) {
        sched = start + (int64_t)((double)i * 1e9 / rate);
        if (sched >= start + (int64_t)(secs * 1e9))
            break;
        sleep_until(sched);
        snprintf(val, 21, "%020lld", (long long)sched);
        val[20] = 'x';
        send_cmd(&e->prod, 5, a, l);
        atomic_fetch_add(&e->sent, 1);
    }
    free(val);
}

static int
cmd_e2e(int port, const char *key, double rate, double secs, size_t size)
{
    e2e_t e = {.key = key};
    const char *del[] = {"DEL", key};
    size_t dl[] = {3, strlen(key)};
    pthread_t tc, tr;

    if (size < 21 || rate <= 0 || secs <= 0)
        die("e2e needs SIZE >= 21, RATE > 0, SECONDS > 0");
    e.cap = (long)(rate * secs) + 16;
    e.lat = malloc(sizeof(int64_t) * (size_t)e.cap);
    conn_open(&e.prod, port);
    conn_open(&e.cons, port);
    send_cmd(&e.prod, 2, del, dl);
    skip_reply(&e.prod);
    if (e.lat == NULL || pthread_create(&tc, NULL, consumer_main, &e) != 0 ||
        pthread_create(&tr, NULL, replies_main, &e) != 0)
        die("thread");
    produce_loop(&e, rate, secs, size);
    atomic_store(&e.cmds, atomic_load(&e.sent) + 1);
    atomic_store(&e.done, 1);
    {
        const char *ping[] = {"PING"};
        size_t pl[] = {4};

        send_cmd(&e.prod, 1, ping, pl);
    }
    pthread_join(tr, NULL);
    pthread_join(tc, NULL);
    long n = e.got < e.cap ? e.got : e.cap;
    qsort(e.lat, (size_t)n, sizeof(int64_t), cmp_i64);
    printf("{\"sent\":%ld,\"received\":%ld,\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,"
           "\"max\":%.4f}\n",
           atomic_load(&e.sent), e.got, pct_ms(e.lat, n, 0.5), pct_ms(e.lat, n, 0.99),
           pct_ms(e.lat, n, 0.999), n ? (double)e.lat[n - 1] / 1e6 : 0.0);
    return e.got == atomic_load(&e.sent) ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "consume") == 0)
        return cmd_consume(atoi(argv[2]), argv[3], atol(argv[4]));
    if (argc == 7 && strcmp(argv[1], "e2e") == 0)
        return cmd_e2e(atoi(argv[2]), argv[3], atof(argv[4]), atof(argv[5]), (size_t)atol(argv[6]));
    fprintf(stderr, "usage: redis_stream consume PORT KEY N\n"
                    "       redis_stream e2e PORT KEY RATE SECONDS SIZE\n");
    return 2;
}
