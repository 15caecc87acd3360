/*
 * test_net_listener.c -- `listeners` entries: parsing, IPv4/IPv6 binding,
 * ephemeral ports, all-interfaces and localhost, errors, stop listening.
 */
#include "test_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

SL_TEST(net_listener_parse_accepts_kafka_forms)
{
    sl_listener_spec_t s;

    SL_CHECK_OK(sl_listener_parse("PLAINTEXT://127.0.0.1:9092", &s));
    SL_CHECK_STR(s.name, "PLAINTEXT");
    SL_CHECK_STR(s.host, "127.0.0.1");
    SL_CHECK_EQ(s.port, 9092);
    SL_CHECK_OK(sl_listener_parse("PLAINTEXT://[::1]:0", &s));
    SL_CHECK_STR(s.host, "::1");
    SL_CHECK_EQ(s.port, 0);
    SL_CHECK_OK(sl_listener_parse("PLAINTEXT://:9092", &s));
    SL_CHECK_STR(s.host, "");
    SL_CHECK_OK(sl_listener_parse("INTERNAL_1://localhost:65535", &s));
    SL_CHECK_STR(s.name, "INTERNAL_1");
    SL_CHECK_STR(s.host, "localhost");
    SL_CHECK_EQ(s.port, 65535);
}

SL_TEST(net_listener_parse_rejects_garbage)
{
    static const char *bad[] = {
        "",
        "127.0.0.1:9092",
        "://127.0.0.1:9092",
        "PLAINTEXT://127.0.0.1",
        "PLAINTEXT://127.0.0.1:",
        "PLAINTEXT://127.0.0.1:65536",
        "PLAINTEXT://127.0.0.1:-1",
        "PLAINTEXT://127.0.0.1:12a",
        "PLAINTEXT://::1:9092",
        "PLAINTEXT://[::1]9092",
        "PLAINTEXT://[]:9092",
        "PLAINTEXT://[::1:9092",
        "PLAIN TEXT://h:1",
    };
    sl_listener_spec_t s;

    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        if (sl_listener_parse(bad[i], &s) != SL_EINVAL)
            sl_test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
    }
}

/* Connects, sends one frame, and expects it echoed. */
static void
roundtrip(sl_tn_srv_t *t, int family, int port)
{
    sl_buf_t got = SL_BUF_INIT;
    int fd = sl_tn_connect(family, port);

    SL_CHECK(fd >= 0);
    sl_tn_write_all(fd, "\0\0\0\3abc", 7);
    SL_TN_DRIVE(t->loop, (sl_tn_read_some(fd, &got), got.len >= 7));
    SL_CHECK_MEM(got.data, "\0\0\0\3abc", 7);
    close(fd);
    sl_buf_deinit(&got);
}

SL_TEST(net_listener_ipv4_ephemeral_port)
{
    sl_tn_srv_t t = {.echo = true};

    sl_tn_start(&t, NULL, "PLAINTEXT://127.0.0.1:0");
    SL_CHECK_EQ(sl_listener_naddrs(t.l), 1);
    SL_CHECK_STR(sl_listener_name(t.l), "PLAINTEXT");
    SL_CHECK_STR(sl_listener_host(t.l), "127.0.0.1");
    SL_CHECK(strncmp(sl_listener_addr(t.l, 0), "127.0.0.1:", 10) == 0);
    SL_CHECK_EQ(atoi(sl_listener_addr(t.l, 0) + 10), t.port);
    roundtrip(&t, AF_INET, t.port);
    SL_CHECK_MEM(t.frames[0].copy, "abc", 3);
    sl_tn_stop(&t);
}

SL_TEST(net_listener_ipv6_loopback)
{
    sl_tn_srv_t t = {.echo = true};

    if (!sl_tn_have_ipv6())
        SL_SKIP("no IPv6 loopback");
    sl_tn_start(&t, NULL, "PLAINTEXT://[::1]:0");
    SL_CHECK_EQ(sl_listener_naddrs(t.l), 1);
    SL_CHECK(strncmp(sl_listener_addr(t.l, 0), "[::1]:", 6) == 0);
    roundtrip(&t, AF_INET6, t.port);
    SL_TN_DRIVE(t.loop, t.closed == 1);
    SL_CHECK_EQ(t.opened, 1);
    sl_tn_stop(&t);
}

SL_TEST(net_listener_all_interfaces_takes_both_families)
{
    sl_tn_srv_t t = {.echo = true};

    sl_tn_start(&t, NULL, "PLAINTEXT://:0");
    SL_CHECK_EQ(sl_listener_naddrs(t.l), 1);
    roundtrip(&t, AF_INET, t.port);
    if (sl_tn_have_ipv6())
        roundtrip(&t, AF_INET6, t.port);
    sl_tn_stop(&t);
}

SL_TEST(net_listener_localhost_binds_every_loopback_address)
{
    sl_tn_srv_t t = {.echo = true};
    bool v4 = false, v6 = false;

    sl_tn_start(&t, NULL, "PLAINTEXT://localhost:0");
    for (size_t i = 0; i < sl_listener_naddrs(t.l); i++) {
        const char *a = sl_listener_addr(t.l, i);

        v4 |= strncmp(a, "127.0.0.1:", 10) == 0;
        v6 |= strncmp(a, "[::1]:", 6) == 0;
        /* One port for the whole entry. */
        SL_CHECK_EQ(atoi(strrchr(a, ':') + 1), t.port);
    }
    SL_CHECK(v4);
    SL_CHECK_EQ(v6, sl_tn_have_ipv6());
    roundtrip(&t, AF_INET, t.port);
    if (v6)
        roundtrip(&t, AF_INET6, t.port);
    sl_tn_stop(&t);
}

SL_TEST(net_listener_port_in_use_fails)
{
    sl_tn_srv_t t = {0};
    sl_listener_t *l2;
    char spec[64];

    sl_tn_start(&t, NULL, NULL);
    snprintf(spec, sizeof(spec), "PLAINTEXT://127.0.0.1:%d", t.port);
    SL_CHECK_EQ(sl_server_listen(t.srv, spec, &l2), SL_EIO);
    SL_CHECK_EQ(sl_server_listen(t.srv, "PLAINTEXT:/x", &l2), SL_EINVAL);
    sl_tn_stop(&t);
}

SL_TEST(net_listener_stop_listening_keeps_connections)
{
    sl_tn_srv_t t = {.echo = true};
    sl_buf_t got = SL_BUF_INIT;
    int fd, fd2;

    sl_tn_start(&t, NULL, NULL);
    fd = sl_tn_connect(AF_INET, t.port);
    SL_TN_DRIVE(t.loop, t.opened == 1);
    sl_server_stop_listening(t.srv);
    fd2 = sl_tn_connect(AF_INET, t.port);
    SL_CHECK(fd2 < 0);
    sl_tn_write_all(fd, "\0\0\0\1z", 5);
    SL_TN_DRIVE(t.loop, (sl_tn_read_some(fd, &got), got.len >= 5));
    SL_CHECK_MEM(got.data, "\0\0\0\1z", 5);
    close(fd);
    sl_buf_deinit(&got);
    sl_tn_stop(&t);
}
