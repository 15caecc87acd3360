/*
 * limits.c -- two machine limits that no packaged tool measures the way the
 * broker uses the machine (bench/run.sh calls it; fio and iperf3 do the rest):
 *
 *   limits sendfile DIR MIB PASSES
 *       sendfile(2) a MIB-MiB file that is already in the page cache to a
 *       loopback TCP socket, 1 MiB per call, PASSES times over; a child
 *       process reads and discards. The ceiling for Fetch, which sendfiles
 *       segment files. Prints {"bytes":..,"elapsed_s":..,"bytes_per_s":..}.
 *
 *   limits fsync DIR COUNT
 *       COUNT appends of 4 KiB to a fresh file, each followed by fdatasync;
 *       the latency of write+fdatasync is what one acks=all produce with
 *       nothing to group-commit waits for. Prints p50/p99/p999/max in ms.
 *
 * Files are created under DIR (which should be on the disk under test) and
 * removed afterwards, except the sendfile source, which is kept for reuse
 * while it has the right size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

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
    fprintf(stderr, "limits: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Creates (or reuses) the source file and reads it once so it is cached. */
static int
source_file(const char *dir, long mib, char *buf)
{
    char path[4096];
    struct stat st;
    int fd;

    snprintf(path, sizeof(path), "%s/sendfile-source.dat", dir);
    if (stat(path, &st) != 0 || st.st_size != (off_t)mib * MIB) {
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
            die("open source");
        memset(buf, 'x', MIB);
        for (long i = 0; i < mib; i++)
            write_all(fd, buf, MIB);
        close(fd);
    }
    if ((fd = open(path, O_RDONLY)) < 0)
        die("open source");
    while (read(fd, buf, MIB) > 0)
        ;
    return fd;
}

static void
drain_child(int lfd, char *buf)
{
    int c = accept(lfd, NULL, NULL);

    if (c < 0)
        _exit(1);
    while (read(c, buf, MIB) > 0)
        ;
    _exit(0);
}

static int
cmd_sendfile(const char *dir, long mib, long passes)
{
    char *buf = malloc(MIB);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd, lfd, s, status;
    int64_t t0, t1, total = 0;
    pid_t pid;

    if (buf == NULL)
        die("malloc");
    fd = source_file(dir, mib, buf);
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(lfd, (void *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 1) != 0 || getsockname(lfd, (void *)&sa, &sl) != 0)
        die("listen");
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0)
        drain_child(lfd, buf);
    if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(s, (void *)&sa, sizeof(sa)) != 0)
        die("connect");
    t0 = now_ns();
    for (long p = 0; p < passes; p++) {
        off_t off = 0;

        while (off < (off_t)mib * MIB) {
            ssize_t n = sendfile(s, fd, &off, MIB);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                die("sendfile");
            total += n;
        }
    }
    close(s);
    waitpid(pid, &status, 0); /* the child exits once it has read everything */
    t1 = now_ns();
    printf("{\"bytes\":%lld,\"elapsed_s\":%.6f,\"bytes_per_s\":%.0f}\n", (long long)total,
           (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9));
    close(fd);
    close(lfd);
    free(buf);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
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

    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return (double)v[i] / 1e6;
}

static int
cmd_fsync(const char *dir, long count)
{
    char path[4096], blk[4096];
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)count), t0, sum = 0;
    int fd;

    if (lat == NULL || count <= 0)
        die("count");
    snprintf(path, sizeof(path), "%s/fsync-latency.dat", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644)) < 0)
        die("open");
    memset(blk, 'y', sizeof(blk));
    for (long i = 0; i < count; i++) {
        t0 = now_ns();
        write_all(fd, blk, sizeof(blk));
        if (fdatasync(fd) != 0)
            die("fdatasync");
        lat[i] = now_ns() - t0;
        sum += lat[i];
    }
    close(fd);
    unlink(path);
    qsort(lat, (size_t)count, sizeof(*lat), cmp_i64);
    printf("{\"count\":%ld,\"mean\":%.4f,\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f}\n",
           count, (double)sum / (double)count / 1e6, pct_ms(lat, count, 0.5),
           pct_ms(lat, count, 0.99), pct_ms(lat, count, 0.999), (double)lat[count - 1] / 1e6);
    free(lat);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "sendfile") == 0)
        return cmd_sendfile(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc == 4 && strcmp(argv[1], "fsync") == 0)
        return cmd_fsync(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: limits sendfile DIR MIB PASSES | limits fsync DIR COUNT\n");
    return 2;
}
