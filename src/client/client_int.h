/*
 * client_int.h -- private to src/client: the client handle and the helpers
 * the admin, group and I/O files share. Only the .c files of src/client include it.
 */
#ifndef SL_CLIENT_CLIENT_INT_H
#define SL_CLIENT_CLIENT_INT_H

#include "client/client.h"

#include <librdkafka/rdkafka.h>

#define CLIENT_ERRLEN 512

struct sl_client {
    rd_kafka_t *rk; /* producer-type handle: admin, metadata, produce */
    char *brokers;
    int timeout_ms;
    sl_client_delivery_fn on_delivery;
    void *delivery_opaque;
    char err[CLIENT_ERRLEN];
};

/* Records a formatted reason in c->err and returns rc. */
int sl_client_fail(sl_client_t *c, int rc, const char *fmt, ...) SL_PRINTF(3, 4);
/* Maps a librdkafka error code to a status (and a hint-bearing message). */
int sl_client_rkerr(sl_client_t *c, rd_kafka_resp_err_t e, const char *what, const char *errstr);
/* Builds a librdkafka configuration from conf (brokers, props, timeouts). */
SL_MUST_CHECK int sl_client_rkconf(const sl_client_conf_t *conf, rd_kafka_conf_t **out, char *err,
                                   size_t errlen);
/* Checks that at least one bootstrap address accepts a TCP connection. */
SL_MUST_CHECK int sl_client_probe(const char *brokers, int timeout_ms, char *err, size_t errlen);

/* Admin round trip: new options for op, run `start` (which enqueues the
 * request on q), wait for the result event of type evtype. Caller destroys
 * the returned event. */
rd_kafka_AdminOptions_t *sl_client_admin_opts(sl_client_t *c, rd_kafka_admin_op_t op);
SL_MUST_CHECK int sl_client_admin_wait(sl_client_t *c, rd_kafka_queue_t *q, int evtype,
                                       const char *what, rd_kafka_event_t **out);

#endif
