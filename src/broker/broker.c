/*
 * broker.c -- `sluice serve`: configuration, start-up, the event loop and a
 * clean shutdown.
 *
 * Start-up order: properties (file + --override) -> broker config -> topic
 * store (cluster id, meta.properties) -> log manager (recovery) -> partition
 * table -> listeners. SIGTERM/SIGINT stop accepting, close connections after
 * their queued output, then the log manager flushes everything and writes
 * the clean-shutdown marker; the process exits 0.
 */
#include "broker/broker.h"
#include "broker/broker_int.h"

#include "base/fault.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

extern const sl_conn_cbs_t sl_broker_conn_cbs;

#define TICK_MS 1000

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice serve [FILE.properties] [--override key=value]...\n\n"
                 "Runs a Kafka-compatible broker in the foreground, logging to stderr.\n"
                 "With no arguments: listeners=PLAINTEXT://127.0.0.1:9092,\n"
                 "log.dirs=./sluice-data, topics auto-created. Properties use Kafka's\n"
                 "names (server.properties works as is); unknown keys are warned about.\n"
                 "SIGTERM or SIGINT stops it cleanly.\n");
}

static int
parse_args(int argc, char **argv, sl_props_t *props)
{
    sl_errbuf_t err;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--override") == 0 || strncmp(a, "--override=", 11) == 0) {
            const char *kv = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);

            if (kv == NULL || sl_props_override(props, kv, &err) != SL_OK) {
                fprintf(stderr, "sluice serve: --override needs key=value\n");
                return 2;
            }
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "sluice serve: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (sl_props_load(props, a, &err) != SL_OK) {
            fprintf(stderr, "sluice serve: cannot read %s: %s\n", a, err.msg);
            return 2;
        }
    }
    return 0;
}

static int
mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return SL_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return SL_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return SL_EIO;
    return SL_OK;
}

/* ---- log manager glue --------------------------------------------------- */

static void
on_durable(void *arg, sl_plog_t *pl, int64_t durable_end, int rc)
{
    sl_broker_t *b = arg;
    sl_bpart_t *bp = sl_bpart_find(b, sl_str_c(sl_plog_topic(pl)), sl_plog_partition(pl));

    if (bp == NULL)
        return;
    sl_produce_on_durable(b, bp, durable_end, rc);
    if (b->gc)
        sl_groups_on_durable(b, bp, durable_end, rc);
}

static void
on_log_cfg(void *arg, const char *topic, int32_t partition, sl_log_cfg_t *lc)
{
    sl_broker_t *b = arg;
    const sl_topic_t *t = sl_topics_find(b->topics, sl_str_c(topic));

    (void)partition;
    if (t)
        sl_log_cfg_from_topic(&t->cfg, lc);
}

static void
on_logs_ready(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    sl_log_mgr_poll(((sl_broker_t *)arg)->logs);
}

static void
on_tick(sl_loop_t *loop, void *arg)
{
    sl_broker_t *b = arg;

    sl_log_mgr_set_producer_id_expiration(b->logs, b->cfg.producer_id_expiration_ms);
    sl_log_mgr_tick(b->logs, sl_wall_ms());
    sl_timer_start(loop, &b->tick, TICK_MS);
}

static void
on_signal(sl_loop_t *loop, void *arg)
{
    sl_broker_t *b = arg;

    if (!b->stopping)
        sl_info("broker", "shutting down");
    b->stopping = true;
    sl_loop_stop(loop);
}

static int
open_logs(sl_broker_t *b)
{
    sl_log_mgr_opts_t opts;
    const char *dir = b->cfg.log_dirs[0];
    char marker[4096];
    int64_t t0 = sl_mono_ms(), bytes = 0;
    size_t offline = 0, n;
    bool clean;
    int rc;

    sl_log_mgr_opts_init(&opts);
    opts.cfg_fn = on_log_cfg;
    opts.cfg_arg = b;
    opts.durable_fn = on_durable;
    opts.durable_arg = b;
    opts.hw_mode = SL_LOG_HW_ON_WRITE;
    opts.retention_check_interval_ms = b->cfg.log_retention_check_interval_ms;
    opts.checkpoint_interval_ms = b->cfg.log_flush_offset_checkpoint_interval_ms;
    opts.producer_id_expiration_ms = b->cfg.producer_id_expiration_ms;
    opts.cleaner_enable = b->cfg.log_cleaner_enable;
    opts.cleaner_threads = b->cfg.log_cleaner_threads;
    opts.cleaner_dedupe_buffer_size = b->cfg.log_cleaner_dedupe_buffer_size;
    opts.cleaner_io_buffer_load_factor = b->cfg.log_cleaner_io_buffer_load_factor;
    opts.cleaner_io_max_bytes_per_second = b->cfg.log_cleaner_io_max_bytes_per_second;
    opts.cleaner_backoff_ms = b->cfg.log_cleaner_backoff_ms;
    snprintf(marker, sizeof(marker), "%s/.kafka_cleanshutdown", dir);
    clean = access(marker, F_OK) == 0;
    rc = sl_log_mgr_open(dir, &opts, &b->logs);
    if (rc != SL_OK) {
        sl_error("broker", "cannot open log dir %s: %s", dir, sl_strerror(rc));
        return rc;
    }
    n = sl_log_mgr_count(b->logs);
    for (size_t i = 0; i < n; i++) {
        sl_plog_t *pl = sl_log_mgr_at(b->logs, i);

        bytes += sl_plog_size_bytes(pl);
        offline += sl_plog_status(pl) != SL_OK;
    }
    /* No partitions and no clean-shutdown marker: a new data directory (or
     * one with nothing to recover), not a crash. */
    if (n == 0 && !clean)
        sl_info("broker", "log dir %s: no partitions yet (a new data directory)", dir);
    else
        sl_info("broker", "log dir %s: %zu partitions, %lld bytes, loaded in %lld ms after %s%s",
                dir, n, (long long)bytes, (long long)(sl_mono_ms() - t0),
                clean ? "a clean shutdown" : "an unclean shutdown (unflushed data scanned)",
                offline ? "; SOME PARTITIONS ARE OFFLINE (see above)" : "");
    rc = sl_loop_fd_add(b->loop, &b->logs_watch, sl_log_mgr_fd(b->logs), SL_EV_READ, on_logs_ready,
                        b);
    return rc;
}

/* ---- listeners ---------------------------------------------------------- */

static int
start_listeners(sl_broker_t *b)
{
    sl_server_config_t sc;
    sl_cfg_source_t qsrc = SL_CFG_SRC_UNKNOWN;
    int rc;

    sl_server_config_defaults(&sc);
    sc.max_frame = b->cfg.socket_request_max_bytes;
    sc.idle_ms = b->cfg.connections_max_idle_ms;
    sc.max_conns = b->cfg.max_connections;
    sc.backlog = b->cfg.socket_listen_backlog_size;
    sc.max_queued_request_bytes =
        sl_cfgdef_long(sl_broker_config_value(&b->cfg, "queued.max.request.bytes", &qsrc), -1);
    /* Sluice's default (500 MiB) follows a larger socket.request.max.bytes;
     * a value the operator set must hold one frame, as Kafka requires. */
    if (qsrc == SL_CFG_SRC_DEFAULT && sc.max_queued_request_bytes >= 0)
        sc.max_queued_request_bytes = SL_MAX(sc.max_queued_request_bytes, (int64_t)sc.max_frame);
    if (sc.max_queued_request_bytes >= 0 && sc.max_queued_request_bytes < sc.max_frame) {
        /* Kafka refuses this too: a frame could never be read. */
        sl_error("broker",
                 "queued.max.request.bytes (%lld) must be -1 or at least "
                 "socket.request.max.bytes (%d)",
                 (long long)sc.max_queued_request_bytes, (int)sc.max_frame);
        return SL_EINVAL;
    }
    rc = sl_server_new(b->loop, &sc, &sl_broker_conn_cbs, b, &b->srv);
    if (rc != SL_OK)
        return rc;
    for (size_t i = 0; i < b->cfg.n_listeners; i++) {
        const sl_listener_cfg_t *lc = &b->cfg.listeners[i];
        char spec[512];
        sl_listener_t *l;

        snprintf(spec, sizeof(spec), strchr(lc->host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
                 lc->name, lc->host, lc->port);
        rc = sl_server_listen(b->srv, spec, &l);
        if (rc != SL_OK) {
            /* The listener has logged the cause (e.g. "Address already in
             * use") on one line; an extra "EIO" line would only confuse. */
            if (rc != SL_EIO)
                sl_error("broker", "cannot listen on %s: %s", spec, sl_strerror(rc));
            return rc;
        }
        /* A listener named other than its protocol (CLIENT://, with
         * listener.security.protocol.map) still knows what it serves. */
        sl_listener_set_security_protocol(l, sl_secproto_name(lc->protocol));
        if (i == 0) {
            const sl_listener_cfg_t *adv = &b->cfg.advertised[0];
            const char *host = adv->host[0] ? adv->host : "localhost";

            b->adv_host = sl_xstrdup(host);
            b->adv_port = adv->port ? adv->port : sl_listener_port(l);
        }
    }
    return SL_OK;
}

/* ---- main --------------------------------------------------------------- */

void
sl_broker_init(sl_broker_t *b)
{
    memset(b, 0, sizeof(*b));
    sl_map_init(&b->btopics);
}

int
sl_broker_start(sl_broker_t *b, const sl_props_t *props)
{
    sl_strlist_t warnings;
    sl_errbuf_t err;
    int rc;

    sl_strlist_init(&warnings);
    rc = sl_broker_config_load(&b->cfg, props, &warnings, &err);
    for (size_t i = 0; i < warnings.n; i++)
        sl_warn("config", "%s", warnings.v[i]);
    sl_strlist_deinit(&warnings);
    if (rc != SL_OK) {
        sl_error("config", "%s", err.msg);
        return rc;
    }
    for (size_t i = 0; i < b->cfg.n_log_dirs; i++) {
        if (mkdir_p(b->cfg.log_dirs[i]) != SL_OK) {
            sl_error("broker", "cannot create log dir %s: %s", b->cfg.log_dirs[i], strerror(errno));
            return SL_EIO;
        }
    }
    if ((rc = sl_cluster_mode_prepare(b)) != SL_OK)
        return rc;
    rc = sl_topics_open(&b->cfg, &b->topics, &err);
    if (rc != SL_OK) {
        sl_error("broker", "cannot open topic metadata: %s", err.msg);
        return rc;
    }
    b->node_id = b->cfg.broker_id;
    sl_meta_init(b);
    if ((rc = sl_loop_new(&b->loop)) != SL_OK)
        return rc;
    sl_purgatory_init(&b->fetch_purgatory, b->loop);
    sl_purgatory_init(&b->produce_purgatory, b->loop);
    if ((rc = sl_worker_new(b->loop, 2, &b->workers)) != SL_OK)
        return rc;
    b->fd_limit = sl_fdlimit_raise();
    if ((rc = open_logs(b)) != SL_OK)
        return rc;
    {
        sl_pid_source_t src;

        sl_pid_source_file(&src, b->cfg.log_dirs[0], b->node_id);
        sl_pid_alloc_init(&b->pids, &src);
    }
    sl_fdlimit_report(b);
    if ((rc = sl_bparts_load(b)) != SL_OK)
        return rc;
    if ((rc = sl_groups_start(b)) != SL_OK)
        return rc;
    if ((rc = start_listeners(b)) != SL_OK)
        return rc;
    if ((rc = sl_cluster_mode_start(b)) != SL_OK)
        return rc;
    if ((rc = sl_loop_signal(b->loop, SIGTERM, on_signal, b)) != SL_OK ||
        (rc = sl_loop_signal(b->loop, SIGINT, on_signal, b)) != SL_OK)
        return rc;
    sl_timer_init(&b->tick, on_tick, b);
    sl_timer_start(b->loop, &b->tick, TICK_MS);
    sl_info("broker", "broker %d started: cluster id %s, %zu topics, log dir %s", b->node_id,
            sl_topics_cluster_id(b->topics), sl_topics_count(b->topics), b->cfg.log_dirs[0]);
    return SL_OK;
}

void
sl_broker_stop(sl_broker_t *b)
{
    if (b->srv) {
        sl_server_stop_listening(b->srv);
        sl_server_free(b->srv); /* cancels parked requests */
    }
    sl_groups_stop(b);
    sl_cluster_mode_stop(b);
    sl_purgatory_deinit(&b->fetch_purgatory);
    sl_purgatory_deinit(&b->produce_purgatory);
    if (b->loop)
        sl_timer_stop(b->loop, &b->tick);
    if (b->logs) {
        sl_loop_fd_del(b->loop, &b->logs_watch);
        sl_bparts_free(b);
        sl_log_mgr_close(b->logs);
    }
    sl_pid_alloc_deinit(&b->pids);
    if (b->workers)
        sl_worker_free(b->workers);
    if (b->topics)
        sl_topics_free(b->topics);
    if (b->loop)
        sl_loop_free(b->loop);
    sl_map_deinit(&b->btopics);
    sl_broker_config_deinit(&b->cfg);
    free(b->adv_host);
}

int
sl_broker_main(int argc, char **argv)
{
    sl_broker_t b;
    sl_props_t props;
    int rc;

    sl_log_init_from_env();
    sl_fault_init_from_env();
    sl_broker_init(&b);
    sl_props_init(&props);
    rc = parse_args(argc, argv, &props);
    if (rc != 0) {
        sl_props_deinit(&props);
        return rc == 1 ? 0 : 2;
    }
    rc = sl_broker_start(&b, &props);
    sl_props_deinit(&props);
    if (rc == SL_OK) {
        sl_loop_run(b.loop);
        sl_info("broker", "stopped accepting; flushing logs");
    }
    sl_broker_stop(&b);
    if (rc == SL_OK)
        sl_info("broker", "clean shutdown complete");
    return rc == SL_OK ? 0 : 1;
}
