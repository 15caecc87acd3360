/*
 * kheader.c -- request/response header versions and codecs; see kheader.h.
 *
 * The header rules are written by hand rather than generated: the specs
 * describe the header fields, but not which header a given API version uses,
 * and both exceptions (ControlledShutdown v0, ApiVersions responses) live in
 * Kafka's code, not its JSON.
 */
#include "proto/kheader.h"

int16_t
sl_kheader_request_version(int16_t api_key, int16_t api_version)
{
    const sl_api_desc_t *api = sl_api_lookup(api_key);

    if (api == NULL)
        return -1;
    if (api_key == SL_API_KEY_CONTROLLED_SHUTDOWN && api_version == 0)
        return 0;
    if (api->flex_min >= 0 && api_version >= api->flex_min)
        return 2;
    return 1;
}

int16_t
sl_kheader_response_version(int16_t api_key, int16_t api_version)
{
    const sl_api_desc_t *api = sl_api_lookup(api_key);

    if (api == NULL || api_key == SL_API_KEY_API_VERSIONS)
        return 0;
    if (api->flex_min >= 0 && api_version >= api->flex_min)
        return 1;
    return 0;
}

/* Header v2 tagged fields: none are defined for requests, so all are kept
 * raw. Tags must be strictly ascending, as in message bodies. */
static void
read_tags(sl_reader_t *rd, sl_arena_t *a, sl_ktags_t *tags)
{
    uint32_t n = sl_rd_uvarint(rd);
    int64_t prev = -1;

    tags->len = 0;
    tags->items = NULL;
    if (rd->err || (uint64_t)n * 2 > sl_rd_left(rd)) {
        sl_rd_fail(rd);
        return;
    }
    if (n > 0 && a != NULL)
        tags->items = sl_arena_array(a, n, sizeof(*tags->items));
    for (uint32_t i = 0; i < n && !rd->err; i++) {
        uint32_t tag = sl_rd_uvarint(rd);
        uint32_t size = sl_rd_uvarint(rd);
        const uint8_t *data = sl_rd_take(rd, size);

        if (data == NULL)
            return;
        if ((int64_t)tag <= prev) {
            sl_rd_fail(rd);
            return;
        }
        prev = tag;
        if (tags->items)
            tags->items[tags->len++] = (sl_ktag_t){tag, {data, (int32_t)size}};
    }
}

int
sl_kheader_request_decode(sl_reader_t *rd, sl_arena_t *a, sl_kreq_header_t *h)
{
    const sl_api_desc_t *api;

    memset(h, 0, sizeof(*h));
    h->client_id = SL_STR_NULL;
    h->header_version = -1;
    h->api_key = sl_rd_i16(rd);
    h->api_version = sl_rd_i16(rd);
    h->correlation_id = sl_rd_i32(rd);
    if (rd->err)
        return rd->err;
    api = sl_api_lookup(h->api_key);
    if (api == NULL || h->api_version < api->min_ver || h->api_version > api->max_ver)
        return SL_EUNSUP;
    h->header_version = sl_kheader_request_version(h->api_key, h->api_version);
    if (h->header_version >= 1)
        h->client_id = sl_rd_str(rd, false); /* classic i16 even in v2; may be null */
    if (h->header_version >= 2)
        read_tags(rd, a, &h->_unknown_tags);
    return rd->err;
}

void
sl_kheader_request_encode(const sl_kreq_header_t *h, sl_writer_t *wr)
{
    sl_wr_i16(wr, h->api_key);
    sl_wr_i16(wr, h->api_version);
    sl_wr_i32(wr, h->correlation_id);
    if (h->header_version >= 1)
        sl_wr_str(wr, false, h->client_id);
    if (h->header_version >= 2) {
        int32_t n = h->_unknown_tags.len > 0 ? h->_unknown_tags.len : 0;

        sl_wr_uvarint(wr, (uint64_t)n);
        for (int32_t i = 0; i < n; i++) {
            const sl_ktag_t *t = &h->_unknown_tags.items[i];
            int32_t len = t->data.len > 0 ? t->data.len : 0;

            sl_wr_uvarint(wr, t->tag);
            sl_wr_uvarint(wr, (uint64_t)len);
            sl_wr_raw(wr, t->data.ptr, (size_t)len);
        }
    }
}

void
sl_kheader_response_encode(int16_t api_key, int16_t api_version, int32_t correlation_id,
                           sl_writer_t *wr)
{
    sl_wr_i32(wr, correlation_id);
    if (sl_kheader_response_version(api_key, api_version) >= 1)
        sl_wr_uvarint(wr, 0); /* no tagged fields */
}

int
sl_kheader_response_decode(sl_reader_t *rd, int16_t api_key, int16_t api_version,
                           int32_t *correlation_id)
{
    sl_ktags_t tags;

    *correlation_id = sl_rd_i32(rd);
    if (sl_kheader_response_version(api_key, api_version) >= 1)
        read_tags(rd, NULL, &tags);
    return rd->err;
}
