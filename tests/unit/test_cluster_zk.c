/*
 * test_cluster_zk.c -- the znode contents a broker writes (no ZooKeeper
 * needed; tests/integration/test_1100_zk_cluster.py covers the server side).
 */
#include "test.h"

#include "cluster/cluster.h"

SL_TEST(zk_broker_json_plaintext)
{
    sl_zk_endpoint_t ep = {"PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092};
    char out[1024];

    SL_CHECK(sl_zkreg_broker_json(&ep, 1, NULL, 1700000000123, out, sizeof(out)));
    SL_CHECK_STR(out, "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},"
                      "\"endpoints\":[\"PLAINTEXT://127.0.0.1:9092\"],\"jmx_port\":-1,"
                      "\"features\":{},\"host\":\"127.0.0.1\",\"timestamp\":\"1700000000123\","
                      "\"port\":9092,\"version\":5}");
}

SL_TEST(zk_broker_json_listeners_rack_ipv6)
{
    sl_zk_endpoint_t eps[2] = {{"CLIENT", "SASL_SSL", "::1", 9093},
                               {"INTERNAL", "PLAINTEXT", "10.0.0.5", 9094}};
    char out[1024];

    SL_CHECK(sl_zkreg_broker_json(eps, 2, "r1", 5, out, sizeof(out)));
    SL_CHECK_STR(out, "{\"listener_security_protocol_map\":{\"CLIENT\":\"SASL_SSL\","
                      "\"INTERNAL\":\"PLAINTEXT\"},\"endpoints\":[\"CLIENT://[::1]:9093\","
                      "\"INTERNAL://10.0.0.5:9094\"],\"rack\":\"r1\",\"jmx_port\":-1,"
                      "\"features\":{},\"host\":\"10.0.0.5\",\"timestamp\":\"5\","
                      "\"port\":9094,\"version\":5}");
}

SL_TEST(zk_broker_json_no_plaintext_and_too_small)
{
    sl_zk_endpoint_t ep = {"SSL", "SSL", "h", 1};
    char out[1024], tiny[40];

    SL_CHECK(sl_zkreg_broker_json(&ep, 1, NULL, 5, out, sizeof(out)));
    SL_CHECK(strstr(out, "\"host\":null") != NULL);
    SL_CHECK(strstr(out, "\"port\":-1,\"version\":5}") != NULL);
    SL_CHECK(!sl_zkreg_broker_json(&ep, 1, NULL, 5, tiny, sizeof(tiny)));
}

SL_TEST(zk_parse_broker_picks_listener)
{
    const char *json =
        "{\"listener_security_protocol_map\":{\"CLIENT\":\"PLAINTEXT\",\"REPL\":\"PLAINTEXT\"},"
        "\"endpoints\":[\"CLIENT://[::1]:9093\",\"REPL://10.0.0.5:9094\"],\"rack\":\"r2\","
        "\"jmx_port\":-1,\"host\":null,\"port\":-1,\"version\":5}";
    sl_zk_broker_t zb = {0};

    SL_CHECK(sl_zkreg_parse_broker(json, "REPL", &zb));
    SL_CHECK_STR(zb.host, "10.0.0.5");
    SL_CHECK_EQ(zb.port, 9094);
    SL_CHECK_STR(zb.rack, "r2");
    sl_zk_broker_deinit(&zb);
    SL_CHECK(sl_zkreg_parse_broker(json, "CLIENT", &zb));
    SL_CHECK_STR(zb.host, "::1");
    SL_CHECK_EQ(zb.port, 9093);
    sl_zk_broker_deinit(&zb);
    SL_CHECK(!sl_zkreg_parse_broker(json, "OTHER", &zb));
    sl_zk_broker_deinit(&zb);
    SL_CHECK(!sl_zkreg_parse_broker("{\"endpoints\":[\"REPL://h:99999\"]}", "REPL", &zb));
    sl_zk_broker_deinit(&zb);
    SL_CHECK(!sl_zkreg_parse_broker("{\"endpoints\":[\"REPL://nohost\"]}", "REPL", &zb));
    sl_zk_broker_deinit(&zb);
    SL_CHECK(!sl_zkreg_parse_broker("{}", "REPL", &zb));
}
