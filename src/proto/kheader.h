/*
 * kheader.h -- Kafka request and response headers (hand-written on purpose).
 *
 * Which header version a frame uses depends on the API key and version, with
 * two exceptions the JSON specs cannot express:
 *  - request header v0 (no client id) only for ControlledShutdown v0;
 *    otherwise v2 iff the request version is flexible, else v1. In v2 the
 *    client id keeps its classic i16 length (never compact) and may be null;
 *  - response header v1 (with tagged fields) iff the version is flexible,
 *    except ApiVersions, which always answers with header v0 (KIP-511) so a
 *    client can parse the answer whatever version it asked for.
 *
 * Strings are views into the reader's buffer, like every decoded message.
 */
#ifndef SL_PROTO_KHEADER_H
#define SL_PROTO_KHEADER_H

#include "base/arena.h"
#include "base/common.h"
#include "base/str.h"
#include "proto/kcodec.h"
#include "proto/wire.h"

#define SL_API_KEY_API_VERSIONS        18
#define SL_API_KEY_CONTROLLED_SHUTDOWN 7

typedef struct sl_kreq_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    sl_str_t client_id;       /* null in header v0 or when the client sent null */
    int16_t header_version;   /* 0, 1, 2; -1 when only the first 8 bytes were read */
    sl_ktags_t _unknown_tags; /* header v2 tagged fields, kept raw */
} sl_kreq_header_t;

/* Request header version for (key, version): 0, 1 or 2; -1 for an API key
 * the codec does not know. Versions above the API's maximum are answered as
 * if the flexible range continued (Kafka does the same for ApiVersions). */
int16_t sl_kheader_request_version(int16_t api_key, int16_t api_version);
/* Response header version: 0 or 1 (0 for ApiVersions and unknown keys). */
int16_t sl_kheader_response_version(int16_t api_key, int16_t api_version);

/* Decodes a request header from the start of a frame body.
 * SL_OK: every field filled, rd positioned at the request body.
 * SL_EUNSUP: unknown API key or a version outside the API's valid range;
 *   api_key, api_version and correlation_id are filled (header_version -1)
 *   so the caller can answer the ApiVersions fallback or close; rd is
 *   positioned after those 8 bytes.
 * SL_EPROTO: short or malformed header. Unknown tags are allocated in a. */
SL_MUST_CHECK int sl_kheader_request_decode(sl_reader_t *rd, sl_arena_t *a, sl_kreq_header_t *h);
/* Encodes h with h->header_version (clients and tests). */
void sl_kheader_request_encode(const sl_kreq_header_t *h, sl_writer_t *wr);

/* Appends the response header for (key, version): the correlation id, plus
 * an empty tagged-field section for header v1. */
void sl_kheader_response_encode(int16_t api_key, int16_t api_version, int32_t correlation_id,
                                sl_writer_t *wr);
/* Reads a response header (clients and tests); unknown tags are skipped. */
SL_MUST_CHECK int sl_kheader_response_decode(sl_reader_t *rd, int16_t api_key, int16_t api_version,
                                             int32_t *correlation_id);

#endif
