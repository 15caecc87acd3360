/*
 * wire.h -- Kafka primitive types: a bounds-checked reader with a sticky
 * error, and a writer that appends to an sl_buf_t.
 *
 * Reader rules (franz-go's kbin): after the first short or invalid read every
 * read returns zero/empty and rd->err stays set; callers check it once at the
 * end. Nothing here allocates. Lengths and counts are checked against the
 * bytes that remain before they are returned, so a caller that allocates
 * `count` elements of at least `min_elem` bytes each is bounded by the frame.
 *
 * Byte order is big-endian (network order) for fixed-width integers;
 * varint/varlong are zig-zag protobuf varints; uvarint is unsigned LEB128.
 */
#ifndef SL_PROTO_WIRE_H
#define SL_PROTO_WIRE_H

#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"

#include <string.h>

typedef struct sl_reader {
    const uint8_t *p;
    const uint8_t *end;
    int err; /* SL_OK or SL_EPROTO, sticky */
} sl_reader_t;

static inline void
sl_rd_init(sl_reader_t *rd, const void *data, size_t len)
{
    rd->p = data;
    rd->end = rd->p + len;
    rd->err = SL_OK;
}

static inline size_t
sl_rd_left(const sl_reader_t *rd)
{
    return (size_t)(rd->end - rd->p);
}

static inline void
sl_rd_fail(sl_reader_t *rd)
{
    rd->err = SL_EPROTO;
    rd->p = rd->end;
}

/* Returns a pointer to n bytes and advances, or NULL (and fails) if short. */
static inline const uint8_t *
sl_rd_take(sl_reader_t *rd, size_t n)
{
    const uint8_t *p = rd->p;

    if (SL_UNLIKELY(rd->err || sl_rd_left(rd) < n)) {
        sl_rd_fail(rd);
        return NULL;
    }
    rd->p += n;
    return p;
}

static inline void
sl_rd_skip(sl_reader_t *rd, size_t n)
{
    (void)sl_rd_take(rd, n);
}

static inline int8_t
sl_rd_i8(sl_reader_t *rd)
{
    const uint8_t *p = sl_rd_take(rd, 1);

    return p ? (int8_t)p[0] : 0;
}

static inline uint16_t
sl_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
sl_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
sl_be64(const uint8_t *p)
{
    return (uint64_t)sl_be32(p) << 32 | sl_be32(p + 4);
}

static inline void
sl_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
sl_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
sl_put_be64(uint8_t *p, uint64_t v)
{
    sl_put_be32(p, (uint32_t)(v >> 32));
    sl_put_be32(p + 4, (uint32_t)v);
}

static inline int16_t
sl_rd_i16(sl_reader_t *rd)
{
    const uint8_t *p = sl_rd_take(rd, 2);

    return p ? (int16_t)sl_be16(p) : 0;
}

static inline int32_t
sl_rd_i32(sl_reader_t *rd)
{
    const uint8_t *p = sl_rd_take(rd, 4);

    return p ? (int32_t)sl_be32(p) : 0;
}

static inline uint32_t
sl_rd_u32(sl_reader_t *rd)
{
    const uint8_t *p = sl_rd_take(rd, 4);

    return p ? sl_be32(p) : 0;
}

static inline int64_t
sl_rd_i64(sl_reader_t *rd)
{
    const uint8_t *p = sl_rd_take(rd, 8);

    return p ? (int64_t)sl_be64(p) : 0;
}

static inline double
sl_rd_f64(sl_reader_t *rd)
{
    uint64_t u = (uint64_t)sl_rd_i64(rd);
    double d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

/* Unsigned LEB128, at most 10 bytes (5 when max_bits <= 32). */
uint64_t sl_rd_uvarint_bits(sl_reader_t *rd, int max_bits);

static inline uint32_t
sl_rd_uvarint(sl_reader_t *rd)
{
    return (uint32_t)sl_rd_uvarint_bits(rd, 32);
}

static inline int32_t
sl_rd_varint(sl_reader_t *rd)
{
    uint32_t u = (uint32_t)sl_rd_uvarint_bits(rd, 32);

    return (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
}

static inline int64_t
sl_rd_varlong(sl_reader_t *rd)
{
    uint64_t u = sl_rd_uvarint_bits(rd, 64);

    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Length of an array (i32, or compact uvarint N+1 when compact). -1 = null.
 * Fails when count * min_elem exceeds the bytes left. */
int32_t sl_rd_array_len(sl_reader_t *rd, bool compact, size_t min_elem);
/* Strings and bytes as views into the reader's memory. */
sl_str_t sl_rd_str(sl_reader_t *rd, bool compact);
sl_bytes_t sl_rd_bytes(sl_reader_t *rd, bool compact);
/* Varint-length (zig-zag, -1 = null) bytes, as in record keys and values. */
sl_bytes_t sl_rd_varbytes(sl_reader_t *rd);

/* ---- writer ---- */

typedef struct sl_writer sl_writer_t;

/* Optional hook for `records` fields: called instead of copying the bytes
 * (after the length prefix is written), so a Fetch response can splice file
 * regions in for sendfile(2) rather than copying data into the buffer. */
typedef void (*sl_wr_records_fn)(sl_writer_t *wr, const uint8_t *ptr, size_t len, void *arg);

struct sl_writer {
    sl_buf_t *buf;
    sl_wr_records_fn records_fn; /* NULL: records are copied like bytes */
    void *records_arg;
};

static inline void
sl_wr_raw(sl_writer_t *wr, const void *p, size_t n)
{
    sl_buf_append(wr->buf, p, n);
}

static inline void
sl_wr_i8(sl_writer_t *wr, int8_t v)
{
    *sl_buf_extend(wr->buf, 1) = (uint8_t)v;
}

static inline void
sl_wr_i16(sl_writer_t *wr, int16_t v)
{
    sl_put_be16(sl_buf_extend(wr->buf, 2), (uint16_t)v);
}

static inline void
sl_wr_i32(sl_writer_t *wr, int32_t v)
{
    sl_put_be32(sl_buf_extend(wr->buf, 4), (uint32_t)v);
}

static inline void
sl_wr_u32(sl_writer_t *wr, uint32_t v)
{
    sl_put_be32(sl_buf_extend(wr->buf, 4), v);
}

static inline void
sl_wr_i64(sl_writer_t *wr, int64_t v)
{
    sl_put_be64(sl_buf_extend(wr->buf, 8), (uint64_t)v);
}

static inline void
sl_wr_f64(sl_writer_t *wr, double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    sl_wr_i64(wr, (int64_t)u);
}

void sl_wr_uvarint(sl_writer_t *wr, uint64_t v);

static inline uint32_t
sl_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (0u - ((uint32_t)v >> 31));
}

static inline uint64_t
sl_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0u - ((uint64_t)v >> 63));
}

static inline void
sl_wr_varint(sl_writer_t *wr, int32_t v)
{
    sl_wr_uvarint(wr, sl_zigzag32(v));
}

static inline void
sl_wr_varlong(sl_writer_t *wr, int64_t v)
{
    sl_wr_uvarint(wr, sl_zigzag64(v));
}

/* Bytes a uvarint/varint/varlong takes on the wire. */
size_t sl_uvarint_size(uint64_t v);

static inline size_t
sl_varint_size(int32_t v)
{
    return sl_uvarint_size(sl_zigzag32(v));
}

static inline size_t
sl_varlong_size(int64_t v)
{
    return sl_uvarint_size(sl_zigzag64(v));
}

void sl_wr_array_len(sl_writer_t *wr, bool compact, int32_t n);
void sl_wr_str(sl_writer_t *wr, bool compact, sl_str_t s);
void sl_wr_bytes(sl_writer_t *wr, bool compact, sl_bytes_t b);
void sl_wr_varbytes(sl_writer_t *wr, sl_bytes_t b);

#endif
