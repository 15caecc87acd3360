/*
 * req.c -- the request path: frame -> header -> API table -> decode into the
 * request's arena -> handler -> encode -> queue -> unmute (STYLE.md §7).
 *
 * Each connection owns one sl_req_t for its whole life. The network layer
 * mutes a connection after delivering a frame, so the frame (and the views
 * the decoded request holds into it) stays put until sl_req_respond unmutes.
 * A malformed request, an unknown API key or an unsupported version closes
 * the connection, as Kafka does; only ApiVersions answers an unsupported
 * version, in v0 format (KIP-511), so clients can negotiate.
 */
#include "broker/broker_int.h"

#include "base/log.h"

#define REQ_ARENA_BLOCK 16384

static void
req_reset(sl_req_t *req)
{
    sl_arena_reset(&req->arena);
    req->body = NULL;
    req->resp = NULL;
    req->cancel = NULL;
    req->park = NULL;
    req->parked = false;
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

void
sl_req_respond(sl_req_t *req)
{
    sl_buf_t buf = SL_BUF_INIT;
    sl_writer_t wr = {&buf};

    SL_ASSERT(req->resp != NULL);
    sl_kheader_response_encode(req->hdr.api_key, req->hdr.api_version, req->hdr.correlation_id,
                               &wr);
    sl_kencode(req->desc->response, req->resp, req->hdr.api_version, &wr);
    sl_conn_send_size(req->c, (int32_t)buf.len);
    sl_conn_send_buf(req->c, &buf);
    sl_buf_deinit(&buf);
    sl_conn_unmute(req->c);
}

void
sl_req_finish(sl_req_t *req)
{
    req->parked = false;
    req->cancel = NULL;
    if (req->c == NULL)
        return;
    sl_req_respond(req);
}

void
sl_apiversions_fallback(sl_req_t *req)
{
    const sl_api_t *api = sl_apis_find(SL_API_KEY_API_VERSIONS);
    uint8_t out[4 + 4 + 2 + 4 + 6];
    sl_buf_t buf = SL_BUF_INIT;
    sl_writer_t wr = {&buf};

    /* Response header v0, then an ApiVersions v0 body listing only our
     * ApiVersions range, whatever the version asked for. */
    sl_wr_i32(&wr, (int32_t)(sizeof(out) - 4));
    sl_wr_i32(&wr, req->hdr.correlation_id);
    sl_wr_i16(&wr, SL_KERR_UNSUPPORTED_VERSION);
    sl_wr_i32(&wr, 1);
    sl_wr_i16(&wr, api->key);
    sl_wr_i16(&wr, api->min_ver);
    sl_wr_i16(&wr, api->max_ver);
    SL_ASSERT(buf.len == sizeof(out));
    sl_conn_send_buf(req->c, &buf);
    sl_buf_deinit(&buf);
    sl_conn_unmute(req->c);
}

static void
reject(sl_req_t *req, const char *why)
{
    sl_debug("broker", "conn %llu %s: %s (api %d v%d); closing",
             (unsigned long long)sl_conn_id(req->c), sl_conn_peer(req->c), why, req->hdr.api_key,
             req->hdr.api_version);
    sl_conn_close(req->c);
}

static void
on_frame(sl_conn_t *c, uint8_t *data, size_t len)
{
    sl_req_t *req = sl_conn_data(c);
    sl_reader_t rd;
    int rc;

    req_reset(req);
    req->frame = data;
    req->frame_len = len;
    sl_rd_init(&rd, data, len);
    rc = sl_kheader_request_decode(&rd, &req->arena, &req->hdr);
    if (rc == SL_EUNSUP && req->hdr.api_key == SL_API_KEY_API_VERSIONS) {
        sl_apiversions_fallback(req);
        return;
    }
    if (rc != SL_OK)
        return reject(req, rc == SL_EUNSUP ? "unsupported api/version" : "bad header");
    req->api = sl_apis_find(req->hdr.api_key);
    if (req->api == NULL || req->hdr.api_version < req->api->min_ver ||
        req->hdr.api_version > req->api->max_ver) {
        if (req->hdr.api_key == SL_API_KEY_API_VERSIONS) {
            sl_apiversions_fallback(req);
            return;
        }
        return reject(req, "unsupported api/version");
    }
    req->desc = sl_api_lookup(req->hdr.api_key);
    req->body = sl_arena_alloc(&req->arena, req->desc->request->root->size);
    rc = sl_kdecode(req->desc->request, req->body, req->hdr.api_version, &rd, &req->arena);
    if (rc != SL_OK)
        return reject(req, "malformed request body");
    rc = req->api->handler(req);
    if (rc == SL_OK)
        sl_req_respond(req);
    else if (rc == SL_REQ_PARKED)
        req->parked = true;
    else if (rc == SL_REQ_NO_REPLY)
        sl_conn_unmute(c);
    else if (rc == SL_REQ_DONE)
        ;
    else
        reject(req, sl_strerror(rc));
}

static void
on_open(sl_conn_t *c, void *owner)
{
    sl_req_t *req = sl_xcalloc(1, sizeof(*req));

    req->b = owner;
    req->c = c;
    sl_arena_init(&req->arena, REQ_ARENA_BLOCK);
    sl_timer_init(&req->timer, NULL, req);
    sl_conn_set_data(c, req);
}

static void
on_close(sl_conn_t *c)
{
    sl_req_t *req = sl_conn_data(c);

    if (req == NULL)
        return;
    if (req->parked && req->cancel)
        req->cancel(req);
    sl_timer_stop(req->b->loop, &req->timer);
    req->c = NULL;
    sl_arena_deinit(&req->arena);
    free(req);
}

const sl_conn_cbs_t sl_broker_conn_cbs = {
    .on_open = on_open,
    .on_frame = on_frame,
    .on_close = on_close,
};
