/*
 * test_net.h -- shared scaffolding for the src/net tests (test_net_*.c): a
 * server fixture that records what its callbacks saw, blocking client
 * sockets, and a loop driver with a deadline (no sleeps: every wait is
 * "run the loop until this holds, or fail after a generous deadline").
 */
#ifndef SL_TESTS_TEST_NET_H
#define SL_TESTS_TEST_NET_H

#include "test.h"

#include "base/buf.h"
#include "net/net.h"

#include <stdbool.h>

#define SL_TN_DEADLINE_MS 20000
#define SL_TN_MAX_FRAMES  512

typedef struct sl_tn_frame {
    uint8_t *copy; /* heap copy of the payload */
    size_t len;
    const uint8_t *ptr; /* where the server saw it */
    uint64_t conn_id;
    size_t queued_at_delivery; /* sl_conn_queued when delivered */
} sl_tn_frame_t;

typedef struct sl_tn_srv sl_tn_srv_t;
typedef void (*sl_tn_frame_hook)(sl_tn_srv_t *t, sl_conn_t *c, uint8_t *data, size_t len);

struct sl_tn_srv {
    sl_loop_t *loop;
    sl_server_t *srv;
    sl_listener_t *l;
    int port;
    sl_conn_t *conn; /* last opened, NULL after its on_close */
    int opened, closed;
    bool echo;             /* answer each frame with the same frame, then unmute */
    sl_tn_frame_hook hook; /* replaces echo when set */
    int violations;        /* frames delivered while the previous one was in flight */
    bool in_flight;
    char close_reason[64];
    uint64_t last_closed_id;
    size_t close_rx_cap;
    size_t nframes;
    sl_tn_frame_t frames[SL_TN_MAX_FRAMES];
    void *user;
};

/* Starts a loop and a server listening on spec (default 127.0.0.1:0). */
void sl_tn_start(sl_tn_srv_t *t, const sl_server_config_t *cfg, const char *spec);
/* Frees everything, then (under ASan) fails the test if memory leaked. */
void sl_tn_stop(sl_tn_srv_t *t);
void sl_tn_leak_check(void);
/* Ends the frame in flight on c (what a handler does after responding). */
void sl_tn_unmute(sl_tn_srv_t *t, sl_conn_t *c);

/* Blocking TCP client to 127.0.0.1 or ::1 (family AF_INET/AF_INET6); -1 on
 * failure. Receive timeout 20 s so a bug cannot hang a read forever. */
int sl_tn_connect(int family, int port);
/* Same, with a receive buffer size set before connecting. */
int sl_tn_connect_rcvbuf(int family, int port, int rcvbuf);
bool sl_tn_have_ipv6(void);
void sl_tn_write_all(int fd, const void *p, size_t n);
/* Builds a frame (size prefix + payload) into b. */
void sl_tn_frame_append(sl_buf_t *b, const void *payload, size_t len);
/* Non-blocking read of what is available; true at EOF or error. */
bool sl_tn_read_some(int fd, sl_buf_t *into);

/* Runs the loop until cond holds (cond is re-evaluated after every
 * iteration and may have side effects such as client reads); fails the test
 * after SL_TN_DEADLINE_MS. The deadline is a hang guard, not a threshold. */
#define SL_TN_DRIVE(loop, cond)                                                                    \
    do {                                                                                           \
        int64_t sl_dl_ = sl_tn_now() + SL_TN_DEADLINE_MS;                                          \
        while (!(cond)) {                                                                          \
            if (sl_tn_now() > sl_dl_)                                                              \
                sl_test_fail(__FILE__, __LINE__, "timed out waiting for %s", #cond);               \
            (void)sl_loop_run_once((loop), 10);                                                    \
        }                                                                                          \
    } while (0)

int64_t sl_tn_now(void);
/* Runs n loop iterations (each waits at most wait_ms). */
void sl_tn_spin(sl_loop_t *loop, int n, int wait_ms);

#endif
