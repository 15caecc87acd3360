/*
 * test_broker.h -- an in-process broker for C tests: started on 127.0.0.1
 * (port 0) with a data dir of its own, a blocking client socket, requests
 * encoded with the project's codec, and the loop turned in the test's
 * thread until the answer has arrived (or a deadline passes). tb_move
 * applies a delta as a metadata backend would.
 */
#ifndef SL_TEST_BROKER_H
#define SL_TEST_BROKER_H

#include "test.h"
#include "test_net.h"

#include "base/time.h"
#include "broker/broker_int.h"
#include "proto/record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEADLINE_MS 20000
#define SELF        1
#define OTHER       2

typedef struct tb {
    sl_broker_t b;
    int fd;
    int32_t corr;
    sl_arena_t arena; /* decoded responses */
    sl_buf_t rx;
} tb_t;

static inline int
connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SL_CHECK(fd >= 0);
    SL_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return fd;
}

/* Starts a broker with num.partitions=2 and `extra` ("name=value", or
 * NULL) on top. */
static inline void
tb_start_with(tb_t *t, const char *extra)
{
    sl_props_t props;
    sl_errbuf_t eb;
    char kv[1024];

    memset(t, 0, sizeof(*t));
    sl_props_init(&props);
    if (extra != NULL)
        SL_CHECK_OK(sl_props_override(&props, extra, &eb));
    SL_CHECK_OK(sl_props_override(&props, "listeners=PLAINTEXT://127.0.0.1:0", &eb));
    snprintf(kv, sizeof(kv), "log.dirs=%s", sl_test_path("data"));
    SL_CHECK_OK(sl_props_override(&props, kv, &eb));
    snprintf(kv, sizeof(kv), "broker.id=%d", SELF);
    SL_CHECK_OK(sl_props_override(&props, kv, &eb));
    SL_CHECK_OK(sl_props_override(&props, "num.partitions=2", &eb));
    sl_broker_init(&t->b);
    SL_CHECK_OK(sl_broker_start(&t->b, &props));
    sl_props_deinit(&props);
    t->fd = connect_to(t->b.adv_port);
    sl_arena_init(&t->arena, 4096);
    sl_buf_init(&t->rx);
}

static inline void
tb_start(tb_t *t)
{
    tb_start_with(t, NULL);
}

static inline void
tb_stop(tb_t *t)
{
    close(t->fd);
    sl_buf_deinit(&t->rx);
    sl_arena_deinit(&t->arena);
    sl_broker_stop(&t->b);
    sl_tn_leak_check(); /* under ASan: nothing the broker held survives it */
}

static inline void
tb_send(tb_t *t, int16_t key, int16_t ver, const sl_kmsg_t *md, const void *body)
{
    sl_kreq_header_t h = {.api_key = key, .api_version = ver, .correlation_id = ++t->corr};
    sl_buf_t frame = SL_BUF_INIT;
    sl_writer_t wr = {.buf = &frame};
    size_t off = 0;

    h.client_id = sl_str_c("test");
    h.header_version = sl_kheader_request_version(key, ver);
    sl_wr_i32(&wr, 0);
    sl_kheader_request_encode(&h, &wr);
    sl_kencode(md, body, ver, &wr);
    sl_put_be32(frame.data, (uint32_t)(frame.len - 4));
    while (off < frame.len) {
        ssize_t n = send(t->fd, frame.data + off, frame.len - off, MSG_NOSIGNAL);

        SL_CHECK(n > 0);
        off += (size_t)n;
    }
    sl_buf_deinit(&frame);
}

/* Turns the loop until one whole response frame has arrived. */
static inline bool
tb_recv_frame(tb_t *t, int64_t deadline)
{
    sl_buf_reset(&t->rx);
    while (sl_mono_ms() < deadline) {
        uint8_t tmp[65536];
        ssize_t n;

        (void)sl_loop_run_once(t->b.loop, 5);
        n = recv(t->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n == 0)
            return false;
        if (n > 0)
            sl_buf_append(&t->rx, tmp, (size_t)n);
        if (t->rx.len >= 4 && t->rx.len >= 4 + (size_t)sl_be32(t->rx.data))
            return true;
    }
    return false;
}

static inline void
tb_decode(tb_t *t, int16_t key, int16_t ver, const sl_kmsg_t *md, void *out)
{
    sl_reader_t rd;
    int32_t corr = 0;

    sl_rd_init(&rd, t->rx.data + 4, t->rx.len - 4);
    SL_CHECK_OK(sl_kheader_response_decode(&rd, key, ver, &corr));
    SL_CHECK_EQ(corr, t->corr);
    SL_CHECK_OK(sl_kdecode(md, out, ver, &rd, &t->arena));
}

static inline void
tb_call(tb_t *t, int16_t key, int16_t ver, const sl_kmsg_t *req_md, const void *body,
        const sl_kmsg_t *resp_md, void *out)
{
    tb_send(t, key, ver, req_md, body);
    SL_CHECK(tb_recv_frame(t, sl_mono_ms() + DEADLINE_MS));
    tb_decode(t, key, ver, resp_md, out);
}

/* Creates topic name (num.partitions=2) through auto-creation. */
static inline sl_btopic_t *
tb_topic(tb_t *t, const char *name)
{
    int16_t err = -1;
    sl_btopic_t *bt = sl_btopic_autocreate(&t->b, sl_str_c(name), &err);

    SL_CHECK(bt != NULL);
    SL_CHECK_EQ(err, SL_KERR_NONE);
    return bt;
}

/* Moves partition p of topic to leader at epoch (replicas {OTHER, SELF}). */
static inline void
tb_move(tb_t *t, const char *topic, int32_t p, int32_t leader, int32_t epoch)
{
    static const int32_t reps[] = {OTHER, SELF}, isr[] = {OTHER, SELF}, off[] = {SELF};
    bool self_offline = leader == OTHER;
    sl_pdelta_t d = {.topic = topic,
                     .partition = p,
                     .leader_id = leader,
                     .leader_epoch = epoch,
                     .partition_epoch = epoch,
                     .replicas = reps,
                     .n_replicas = 2,
                     .isr = isr,
                     .n_isr = 2,
                     .offline = off,
                     .n_offline = self_offline ? 1 : 0};

    SL_CHECK_OK(sl_meta_apply(&t->b, &d));
}

#endif
