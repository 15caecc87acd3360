/*
 * h_producer_id.c -- InitProducerId (API 22, v0-v5) for idempotent
 * producers.
 *
 * Without a transactional id Kafka "blindly accepts" the request: a fresh
 * producer id with epoch 0, whatever ProducerId/ProducerEpoch (v3+, KIP-360)
 * the producer sends -- an idempotent producer that bumps its epoch after
 * an unresolved sequence simply starts over as a new producer. Ids come from
 * durable blocks (pid_alloc.c), so they never repeat across restarts.
 *
 * Transactions are not implemented: a transactional id gets
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which Java, librdkafka and kafkajs
 * all treat as fatal for the producer (COORDINATOR_NOT_AVAILABLE would make
 * them retry forever). An empty transactional id is INVALID_REQUEST, as in
 * Kafka. See docs/broker.md "Idempotent producers".
 */
#include "broker/broker_int.h"

#include "base/log.h"
#include "base/time.h"

#include <inttypes.h>

int
sl_h_InitProducerId(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_InitProducerIdRequest_t *q = req->body;
    sl_InitProducerIdResponse_t *resp = sl_req_resp_new(req);
    int64_t id;

    resp->ProducerId = -1;
    resp->ProducerEpoch = -1;
    if (q->TransactionalId.len == 0) {
        resp->ErrorCode = SL_KERR_INVALID_REQUEST;
        return SL_OK;
    }
    if (q->TransactionalId.len > 0) {
        int64_t now = sl_mono_ms();

        if (now - b->txn_warned_ms >= 60000 || b->txn_warned_ms == 0) {
            b->txn_warned_ms = now;
            sl_warn("broker",
                    "transactional producer '%.*s' refused: transactions are not supported "
                    "(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)",
                    (int)SL_MIN(q->TransactionalId.len, 200), q->TransactionalId.ptr);
        }
        resp->ErrorCode = SL_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        return SL_OK;
    }
    /* Retriable: the producer asks again while the block file is fixed. */
    if (sl_pid_alloc_next(&b->pids, &id) != SL_OK) {
        resp->ErrorCode = SL_KERR_COORDINATOR_LOAD_IN_PROGRESS;
        return SL_OK;
    }
    resp->ProducerId = id;
    resp->ProducerEpoch = 0;
    return SL_OK;
}
