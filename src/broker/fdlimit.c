/*
 * fdlimit.c -- file descriptors: every partition holds three open files
 * (log, offset index, time index) and every connection one socket. A broker
 * that runs out of descriptors cannot accept, create or even reload its
 * partitions: after a restart the ones opened last, __consumer_offsets
 * among them, load offline. So the broker raises its soft RLIMIT_NOFILE to
 * the hard limit at start (the JVM does the same for Kafka), and refuses to
 * auto-create partitions past half the limit, keeping the rest for
 * connections and for the internal topics.
 */
#include "broker/broker_int.h"

#include "base/log.h"
#include "base/time.h"

#include <sys/resource.h>

#define FDS_PER_PARTITION 3

int64_t
sl_fdlimit_raise(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;

        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 1024;
    }
    return rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
}

bool
sl_fdlimit_allows(const sl_broker_t *b, int64_t new_partitions)
{
    int64_t open = (int64_t)sl_log_mgr_count(b->logs);

    return (open + new_partitions) * FDS_PER_PARTITION <= b->fd_limit / 2;
}

void
sl_fdlimit_report(const sl_broker_t *b)
{
    int64_t open = (int64_t)sl_log_mgr_count(b->logs);

    if (open * FDS_PER_PARTITION > b->fd_limit / 2)
        sl_warn("broker",
                "%lld partitions need about %lld file descriptors, more than half the limit of "
                "%lld (ulimit -n): raise it, or the broker may run out; auto-creation is off "
                "until then",
                (long long)open, (long long)(open * FDS_PER_PARTITION), (long long)b->fd_limit);
    else
        sl_info("broker", "file descriptor limit %lld (%lld partitions open)",
                (long long)b->fd_limit, (long long)open);
}

void
sl_fdlimit_refused(sl_broker_t *b, sl_str_t name)
{
    int64_t now = sl_mono_ms();

    if (b->fd_warned_ms != 0 && now - b->fd_warned_ms < 60000)
        return;
    b->fd_warned_ms = now;
    sl_warn("broker",
            "not auto-creating topic %.*s (and others for a minute): %d more partitions would "
            "pass half of the file descriptor limit %lld; raise ulimit -n",
            name.len, name.ptr, b->cfg.num_partitions, (long long)b->fd_limit);
}
