/*
 * req.c -- the request path: frame -> header -> API table -> decode into the
 * request's arena -> handler -> encode -> queue -> unmute (STYLE.md §7), and
 * the per-connection pipeline of acks=all Produce requests.
 *
 * The network layer mutes a connection after delivering a frame, so the
 * frame (and the views the decoded request holds into it) stays put until
 * the connection is unmuted. A malformed request, an unknown API key or an
 * unsupported version closes the connection, as Kafka does; only
 * ApiVersions answers an unsupported version, in v0 format (KIP-511), so
 * clients can negotiate.
 *
 * Pipelining (see sl_bconn_t): a Produce that parks for its fsync marks
 * itself detachable once its response no longer points into the frame; it
 * then moves to the connection's pipeline and the connection reads on. A
 * later request that completes at once is encoded and queued behind it.
 * Kafka's network layer keeps one request in flight per connection; with
 * fsync before acknowledging that would serialise a producer on fsync
 * latency, so Sluice lets Produce requests overlap while keeping the order
 * of responses Kafka clients rely on.
 */
#include "broker/broker_int.h"

#include "base/log.h"

#define REQ_ARENA_BLOCK 16384
#define REQ_ARENA_KEEP  (256u * 1024) /* a request that used more gives it all back */
#define PIPELINE_MAX    32

/* ---- request objects -------------------------------------------------------- */

static sl_req_t *
req_new(sl_bconn_t *bc)
{
    sl_req_t *req;

    if (bc->n_spare > 0) {
        req = bc->spare[--bc->n_spare];
    } else {
        req = sl_xcalloc(1, sizeof(*req));
        sl_arena_init(&req->arena, REQ_ARENA_BLOCK);
        sl_timer_init(&req->timer, NULL, req);
    }
    req->b = bc->b;
    req->bc = bc;
    req->c = bc->c;
    sl_dlist_init(&req->link);
    return req;
}

/* Forgets the request. An arena keeps its oldest block on reset, and that
 * block may be a large one; after a request that used much, start over so
 * an idle connection (or a spare request) does not keep its memory. */
static void
req_reset(sl_req_t *req)
{
    if (req->arena.total > REQ_ARENA_KEEP) {
        sl_arena_deinit(&req->arena);
        sl_arena_init(&req->arena, REQ_ARENA_BLOCK);
    } else {
        sl_arena_reset(&req->arena);
    }
    sl_buf_reset(&req->out);
    req->body = NULL;
    req->resp = NULL;
    req->cancel = NULL;
    req->park = NULL;
    req->parked = false;
    req->detachable = false;
    req->in_pipeline = false;
    req->done = false;
    req->park = NULL;
}

static void
req_free(sl_req_t *req)
{
    sl_timer_stop(req->b->loop, &req->timer);
    sl_buf_deinit(&req->out);
    sl_arena_deinit(&req->arena);
    free(req);
}

static void
req_recycle(sl_bconn_t *bc, sl_req_t *req)
{
    if (bc->n_spare < (int)SL_ARRAY_LEN(bc->spare)) {
        req_reset(req);
        bc->spare[bc->n_spare++] = req;
    } else {
        req_free(req);
    }
}

void *
sl_req_resp_new(sl_req_t *req)
{
    const sl_kmsg_t *md = req->desc->response;
    void *resp = sl_arena_alloc(&req->arena, md->root->size);

    sl_kinit(md, resp);
    req->resp = resp;
    return resp;
}

/* Encodes the whole frame, size prefix included, into buf (empty): one
 * buffer per response, so a queued reply holds only its own bytes. */
static void
encode_response(sl_req_t *req, sl_buf_t *buf)
{
    sl_writer_t wr = {buf};
    uint32_t n;

    SL_ASSERT(req->resp != NULL && buf->len == 0);
    (void)sl_buf_extend(buf, 4);
    sl_kheader_response_encode(req->hdr.api_key, req->hdr.api_version, req->hdr.correlation_id,
                               &wr);
    sl_kencode(req->desc->response, req->resp, req->hdr.api_version, &wr);
    n = (uint32_t)(buf->len - 4);
    buf->data[0] = (uint8_t)(n >> 24);
    buf->data[1] = (uint8_t)(n >> 16);
    buf->data[2] = (uint8_t)(n >> 8);
    buf->data[3] = (uint8_t)n;
}

void
sl_req_respond(sl_req_t *req)
{
    sl_buf_t buf = SL_BUF_INIT;

    encode_response(req, &buf);
    sl_conn_send_buf(req->c, &buf);
    sl_buf_deinit(&buf);
    sl_conn_unmute(req->c);
}

/* ---- the pipeline --------------------------------------------------------------- */

/* Moves the current request to the pipeline and lets the connection read on. */
static void
pipeline_push(sl_bconn_t *bc)
{
    sl_req_t *req = bc->cur;

    req->in_pipeline = true;
    sl_dlist_insert_tail(&bc->pipeline, &req->link);
    bc->n_pipeline++;
    bc->cur = req_new(bc);
    if (bc->n_pipeline < PIPELINE_MAX)
        sl_conn_unmute(bc->c);
    else
        bc->depth_muted = true;
}

/* Sends every answered request at the head of the pipeline, in order. */
static void
pipeline_drain(sl_bconn_t *bc)
{
    while (!sl_dlist_empty(&bc->pipeline)) {
        sl_req_t *req = SL_CONTAINER_OF(bc->pipeline.next, sl_req_t, link);

        if (!req->done)
            break;
        sl_dlist_remove(&req->link);
        bc->n_pipeline--;
        sl_conn_send_buf(bc->c, &req->out); /* a recycled request keeps no buffer */
        req_recycle(bc, req);
    }
    if (bc->depth_muted && bc->n_pipeline < PIPELINE_MAX) {
        bc->depth_muted = false;
        sl_conn_unmute(bc->c);
    }
    if (bc->n_pipeline == 0 && bc->held)
        sl_loop_defer(bc->b->loop, &bc->resume);
}

void
sl_req_finish(sl_req_t *req)
{
    req->parked = false;
    req->cancel = NULL;
    if (req->c == NULL)
        return;
    if (req->in_pipeline) {
        encode_response(req, &req->out);
        req->done = true;
        pipeline_drain(req->bc);
        return;
    }
    sl_req_respond(req);
}

/* ---- requests ------------------------------------------------------------------- */

void
sl_apiversions_fallback(sl_req_t *req)
{
    const sl_api_t *api = sl_apis_find(SL_API_KEY_API_VERSIONS);
    sl_buf_t buf = SL_BUF_INIT;
    sl_writer_t wr = {&buf};

    /* Response header v0, then an ApiVersions v0 body listing only our
     * ApiVersions range, whatever the version asked for. */
    sl_wr_i32(&wr, 4 + 2 + 4 + 6);
    sl_wr_i32(&wr, req->hdr.correlation_id);
    sl_wr_i16(&wr, SL_KERR_UNSUPPORTED_VERSION);
    sl_wr_i32(&wr, 1);
    sl_wr_i16(&wr, api->key);
    sl_wr_i16(&wr, api->min_ver);
    sl_wr_i16(&wr, api->max_ver);
    sl_conn_send_buf(req->c, &buf);
    sl_buf_deinit(&buf);
    sl_conn_unmute(req->c);
}

/* Closes the connection after what is already queued: the responses to
 * the valid requests before this one still reach the client (they are
 * usually queued in this same iteration), nothing after it is read. */
static void
reject(sl_req_t *req, const char *why)
{
    sl_debug("broker", "conn %llu %s: %s (api %d v%d); closing",
             (unsigned long long)sl_conn_id(req->c), sl_conn_peer(req->c), why, req->hdr.api_key,
             req->hdr.api_version);
    sl_conn_close_flush(req->c);
}

/* Decodes the frame into req; SL_OK, or the connection was answered/closed. */
static int
decode(sl_req_t *req, uint8_t *data, size_t len)
{
    sl_reader_t rd;
    int rc;

    req->frame = data;
    req->frame_len = len;
    sl_rd_init(&rd, data, len);
    rc = sl_kheader_request_decode(&rd, &req->arena, &req->hdr);
    if (rc == SL_EUNSUP && req->hdr.api_key == SL_API_KEY_API_VERSIONS)
        return sl_apiversions_fallback(req), SL_EUNSUP;
    if (rc != SL_OK)
        return reject(req, rc == SL_EUNSUP ? "unsupported api/version" : "bad header"), rc;
    req->api = sl_apis_find(req->hdr.api_key);
    if (req->api == NULL || req->hdr.api_version < req->api->min_ver ||
        req->hdr.api_version > req->api->max_ver) {
        if (req->hdr.api_key == SL_API_KEY_API_VERSIONS)
            return sl_apiversions_fallback(req), SL_EUNSUP;
        return reject(req, "unsupported api/version"), SL_EUNSUP;
    }
    req->desc = sl_api_lookup(req->hdr.api_key);
    req->body = sl_arena_alloc(&req->arena, req->desc->request->root->size);
    rc = sl_kdecode(req->desc->request, req->body, req->hdr.api_version, &rd, &req->arena);
    if (rc != SL_OK)
        return reject(req, "malformed request body"), rc;
    if (sl_req_sanitize_utf8(req))
        sl_debug("broker", "conn %llu %s: non-UTF-8 string(s) in api %d read as U+FFFD",
                 (unsigned long long)sl_conn_id(req->c), sl_conn_peer(req->c), req->hdr.api_key);
    return SL_OK;
}

static void
handle_frame(sl_bconn_t *bc, uint8_t *data, size_t len)
{
    sl_req_t *req = bc->cur;
    int rc;

    req_reset(req);
    if (decode(req, data, len) != SL_OK)
        return;
    rc = req->api->handler(req);
    if (rc == SL_OK && bc->n_pipeline == 0) {
        sl_req_respond(req);
        req_reset(req); /* answered: its memory goes now, not at the next request */
    } else if (rc == SL_OK) {
        /* Answered, but earlier requests are not: wait in line. */
        encode_response(req, &req->out);
        req->done = true;
        pipeline_push(bc);
    } else if (rc == SL_REQ_PARKED && req->detachable) {
        req->parked = true;
        pipeline_push(bc);
    } else if (rc == SL_REQ_PARKED) {
        SL_ASSERT(bc->n_pipeline == 0);
        req->parked = true;
    } else if (rc == SL_REQ_NO_REPLY || rc == SL_REQ_DONE) {
        if (rc == SL_REQ_NO_REPLY)
            sl_conn_unmute(bc->c);
        req_reset(req);
    } else {
        reject(req, sl_strerror(rc));
    }
}

static void
on_resume(sl_loop_t *loop, void *arg)
{
    sl_bconn_t *bc = arg;
    uint8_t *data = bc->held;

    (void)loop;
    if (data == NULL || bc->n_pipeline > 0)
        return;
    bc->held = NULL;
    handle_frame(bc, data, bc->held_len);
}

static void
on_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_bconn_t *bc = sl_conn_data(c);

    /* Only Produce may overtake a pipeline; anything else waits its turn. */
    if (bc->n_pipeline > 0 && (len < 2 || data[0] != 0 || data[1] != 0)) {
        bc->held = data;
        bc->held_len = len;
        return;
    }
    handle_frame(bc, data, len);
}

static void
on_open(sl_conn_t *c, void *owner)
{
    sl_bconn_t *bc = sl_xcalloc(1, sizeof(*bc));

    bc->b = owner;
    bc->c = c;
    sl_dlist_init(&bc->pipeline);
    sl_loop_defer_init(&bc->resume, on_resume, bc);
    bc->cur = req_new(bc);
    sl_conn_set_data(c, bc);
}

static void
drop_request(sl_req_t *req)
{
    if (req->parked && req->cancel)
        req->cancel(req);
    req->c = NULL;
    req_free(req);
}

static void
on_close(sl_conn_t *c)
{
    sl_bconn_t *bc = sl_conn_data(c);

    if (bc == NULL)
        return;
    sl_loop_defer_cancel(bc->b->loop, &bc->resume);
    while (!sl_dlist_empty(&bc->pipeline)) {
        sl_req_t *req = SL_CONTAINER_OF(bc->pipeline.next, sl_req_t, link);

        sl_dlist_remove(&req->link);
        drop_request(req);
    }
    drop_request(bc->cur);
    while (bc->n_spare > 0)
        req_free(bc->spare[--bc->n_spare]);
    free(bc);
}

const sl_conn_cbs_t sl_broker_conn_cbs = {
    .on_open = on_open,
    .on_frame = on_frame,
    .on_close = on_close,
};
