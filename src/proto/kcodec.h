/*
 * kcodec.h -- the table-driven Kafka message codec.
 *
 * tools/kgen/kgen.py turns Kafka's JSON message specs into C structs plus
 * descriptor tables (src/proto/gen/kmsgs.{h,c}); kcodec.c is the one
 * interpreter that decodes, encodes, sizes, initialises and prints any
 * message by walking those tables. Include "proto/gen/kmsgs.h" to get the
 * typed structs and one-line wrappers (sl_ProduceRequest_decode, ...).
 *
 * Wire rules implemented here (KIP-482 and the classic protocol):
 *  - flexible versions use compact lengths (uvarint N+1, 0 = null) and end
 *    every struct with a tagged-field section; a field marked "never compact"
 *    (the request header's ClientId) keeps its classic i16 length;
 *  - a nullable struct (held by pointer) is preceded by an i8 marker:
 *    -1 null, 1 present; records and bytes are opaque views;
 *  - fields absent in a version keep their defaults on decode and are simply
 *    omitted on encode, even if they hold a non-default value (Kafka's Java
 *    code throws in that case; we drop the value);
 *  - a null in a version where the field is not nullable is a decode error;
 *    on encode it is written as the empty value;
 *  - known tagged fields are decoded by version; unknown tags are kept raw
 *    (tag + bytes view) in each struct's _unknown_tags and re-emitted, merged
 *    with the known ones in ascending tag order, so decode->encode is
 *    byte-exact for canonical input. Tags must arrive strictly ascending.
 *    A known tagged field is written only when it differs from its default.
 *
 * Memory: decode allocates arrays (and nullable structs) from the arena;
 * strings, bytes, records and unknown tag payloads point into the reader's
 * buffer, which must outlive the message. Before allocating N elements the
 * decoder checks N x (smallest encoding of one element) <= bytes left, so the
 * memory used is bounded by a constant times the frame size. Nesting depth is
 * bounded by SL_KMAX_DEPTH. All decode failures are SL_EPROTO (sticky in the
 * reader); nothing here asserts on input bytes.
 */
#ifndef SL_PROTO_KCODEC_H
#define SL_PROTO_KCODEC_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "proto/wire.h"

#include <stdio.h>

typedef struct sl_uuid {
    uint8_t b[16];
} sl_uuid_t;

/* An unknown tagged field, kept as raw bytes so a re-encode is exact. */
typedef struct sl_ktag {
    uint32_t tag;
    sl_bytes_t data;
} sl_ktag_t;

typedef struct sl_ktags {
    int32_t len;
    sl_ktag_t *items;
} sl_ktags_t;

/* Layout shared by every generated array member
 * `struct { int32_t len; T *items; }`; the interpreter accesses them
 * through this type (memcpy), never through T. */
typedef struct sl_karray {
    int32_t len; /* -1 = null */
    void *items;
} sl_karray_t;

enum sl_kkind {
    SL_KK_BOOL = 1,
    SL_KK_INT8,
    SL_KK_INT16,
    SL_KK_UINT16,
    SL_KK_INT32,
    SL_KK_UINT32,
    SL_KK_INT64,
    SL_KK_FLOAT64,
    SL_KK_UUID,
    SL_KK_STRING,
    SL_KK_BYTES,
    SL_KK_RECORDS,
    SL_KK_STRUCT,
};

#define SL_KF_ARRAY   0x01 /* array of the kind (items inline) */
#define SL_KF_PTR     0x02 /* nullable struct held by pointer, NULL = null */
#define SL_KF_NOFLEX  0x04 /* classic lengths even in flexible versions */
#define SL_KF_DEFNULL 0x08 /* the default is null */

#define SL_KVMAX      0x7fff /* upper bound of an open "N+" range */
#define SL_KMAX_DEPTH 16

/* Inclusive version range; lo > hi is the empty range ("none"). */
typedef struct sl_kvers {
    int16_t lo, hi;
} sl_kvers_t;

typedef struct sl_kstruct sl_kstruct_t;

typedef struct sl_kfield {
    const char *name;
    const sl_kstruct_t *child; /* SL_KK_STRUCT only */
    int64_t def;               /* numeric/bool default; SL_KF_DEFNULL for null */
    uint32_t offset;
    int32_t tag; /* -1 = never tagged */
    sl_kvers_t versions, nullable, tagged;
    uint8_t kind, flags;
} sl_kfield_t;

struct sl_kstruct {
    const char *name; /* "ProduceRequest_TopicProduceData" */
    const sl_kfield_t *fields;
    const uint16_t *min_size; /* smallest encoding by version, [nvers] */
    uint32_t size;
    uint32_t tags_offset; /* offset of _unknown_tags */
    uint16_t nfields;
    int16_t nvers;
};

enum sl_kmsg_type {
    SL_KMSG_REQUEST = 1,
    SL_KMSG_RESPONSE,
    SL_KMSG_HEADER,
    SL_KMSG_DATA, /* internal records: __consumer_offsets keys/values, ... */
};

typedef struct sl_kmsg {
    const char *name;
    const sl_kstruct_t *root;
    int16_t api_key; /* -1 for headers and data records */
    int16_t min_ver, max_ver;
    int16_t flex_min; /* first flexible version, -1 = never */
    uint8_t type;     /* enum sl_kmsg_type */
} sl_kmsg_t;

/* One row of the generated API table. */
typedef struct sl_api_desc {
    int16_t key;
    const char *name; /* "Produce" */
    int16_t min_ver, max_ver;
    int16_t flex_min; /* first flexible version, -1 = never */
    const sl_kmsg_t *request, *response;
} sl_api_desc_t;

static inline bool
sl_kvers_has(sl_kvers_t r, int16_t v)
{
    return v >= r.lo && v <= r.hi;
}

static inline bool
sl_kmsg_is_flexible(const sl_kmsg_t *md, int16_t version)
{
    return md->flex_min >= 0 && version >= md->flex_min;
}

/* ---- the interpreter (kcodec.c) ---- */

/* Fills *msg with defaults: spec defaults, else 0 / "" / empty array / NULL. */
void sl_kinit(const sl_kmsg_t *md, void *msg);

/* Decodes one message body of `version` from rd into *msg, allocating from a.
 * Returns SL_OK, SL_EPROTO (bad or short bytes; rd->err is set) or SL_EUNSUP
 * (version outside the message's valid range; nothing read). Bytes after the
 * message are left in rd. On error *msg holds partial data: do not use it. */
SL_MUST_CHECK int sl_kdecode(const sl_kmsg_t *md, void *msg, int16_t version, sl_reader_t *rd,
                             sl_arena_t *a);
/* Appends the encoding of *msg. The version must be valid for the message
 * (asserted: the caller picked it from the API table). */
void sl_kencode(const sl_kmsg_t *md, const void *msg, int16_t version, sl_writer_t *wr);
/* Exact number of bytes sl_kencode would append. */
size_t sl_ksize(const sl_kmsg_t *md, const void *msg, int16_t version);
/* Debug/test printer: every field present in `version`, one per line,
 * nested with indentation; strings quoted and escaped, bytes in hex. */
void sl_kprint_buf(const sl_kmsg_t *md, const void *msg, int16_t version, sl_buf_t *out);
void sl_kprint(const sl_kmsg_t *md, const void *msg, int16_t version, FILE *f);

/* Low-level pieces for callers that walk descriptors themselves (tests). */
void sl_kinit_struct(const sl_kstruct_t *sd, void *p);

/* ---- generated tables (gen/kmsgs.c) ---- */

/* API key -> row, NULL for a key the specs do not define. */
const sl_api_desc_t *sl_api_lookup(int16_t api_key);
size_t sl_api_count(void);
const sl_api_desc_t *sl_api_at(size_t i); /* rows sorted by key */
/* Every message: requests, responses, headers, internal records. */
size_t sl_kmsg_count(void);
const sl_kmsg_t *sl_kmsg_at(size_t i); /* sorted by name */
const sl_kmsg_t *sl_kmsg_find(const char *name);

#endif
