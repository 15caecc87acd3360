/*
 * wire.c -- out-of-line parts of the primitive reader and writer (wire.h).
 */
#include "proto/wire.h"

uint64_t
sl_rd_uvarint_bits(sl_reader_t *rd, int max_bits)
{
    uint64_t v = 0;
    int shift = 0;

    while (!rd->err) {
        const uint8_t *p = sl_rd_take(rd, 1);

        if (p == NULL)
            break;
        if (shift >= max_bits || (shift == 63 && (*p & 0x7e))) {
            sl_rd_fail(rd); /* too long for the type */
            break;
        }
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            return max_bits == 32 ? (uint32_t)v : v;
        shift += 7;
    }
    return 0;
}

int32_t
sl_rd_array_len(sl_reader_t *rd, bool compact, size_t min_elem)
{
    int64_t n;

    if (compact) {
        uint32_t u = sl_rd_uvarint(rd);

        if (rd->err)
            return 0;
        n = (int64_t)u - 1;
    } else {
        n = sl_rd_i32(rd);
        if (rd->err)
            return 0;
        if (n < -1) {
            sl_rd_fail(rd);
            return 0;
        }
    }
    if (n < 0)
        return -1;
    if (n > INT32_MAX || (uint64_t)n * (min_elem ? min_elem : 1) > sl_rd_left(rd)) {
        /* A zero-size element still has to come from somewhere: bound by bytes left. */
        sl_rd_fail(rd);
        return 0;
    }
    return (int32_t)n;
}

static int64_t
rd_len(sl_reader_t *rd, bool compact, bool wide)
{
    int64_t n;

    if (compact) {
        uint32_t u = sl_rd_uvarint(rd);

        n = (int64_t)u - 1;
    } else {
        n = wide ? sl_rd_i32(rd) : sl_rd_i16(rd);
    }
    if (rd->err)
        return 0;
    if (n < -1) {
        sl_rd_fail(rd);
        return 0;
    }
    return n;
}

sl_str_t
sl_rd_str(sl_reader_t *rd, bool compact)
{
    int64_t n = rd_len(rd, compact, false);
    const uint8_t *p;

    if (rd->err)
        return (sl_str_t){"", 0};
    if (n < 0)
        return SL_STR_NULL;
    p = sl_rd_take(rd, (size_t)n);
    if (p == NULL || n > INT32_MAX)
        return (sl_str_t){"", 0};
    return (sl_str_t){(const char *)p, (int32_t)n};
}

sl_bytes_t
sl_rd_bytes(sl_reader_t *rd, bool compact)
{
    int64_t n = rd_len(rd, compact, true);
    const uint8_t *p;

    if (rd->err)
        return (sl_bytes_t){(const uint8_t *)"", 0};
    if (n < 0)
        return SL_BYTES_NULL;
    p = sl_rd_take(rd, (size_t)n);
    if (p == NULL || n > INT32_MAX)
        return (sl_bytes_t){(const uint8_t *)"", 0};
    return (sl_bytes_t){p, (int32_t)n};
}

sl_bytes_t
sl_rd_varbytes(sl_reader_t *rd)
{
    int32_t n = sl_rd_varint(rd);
    const uint8_t *p;

    if (rd->err)
        return (sl_bytes_t){(const uint8_t *)"", 0};
    if (n < 0) {
        if (n != -1)
            sl_rd_fail(rd);
        return n == -1 ? SL_BYTES_NULL : (sl_bytes_t){(const uint8_t *)"", 0};
    }
    p = sl_rd_take(rd, (size_t)n);
    if (p == NULL)
        return (sl_bytes_t){(const uint8_t *)"", 0};
    return (sl_bytes_t){p, n};
}

size_t
sl_uvarint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void
sl_wr_uvarint(sl_writer_t *wr, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    sl_buf_append(wr->buf, tmp, n);
}

void
sl_wr_array_len(sl_writer_t *wr, bool compact, int32_t n)
{
    if (compact)
        sl_wr_uvarint(wr, n < 0 ? 0 : (uint64_t)n + 1);
    else
        sl_wr_i32(wr, n < 0 ? -1 : n);
}

void
sl_wr_str(sl_writer_t *wr, bool compact, sl_str_t s)
{
    if (compact)
        sl_wr_uvarint(wr, s.len < 0 ? 0 : (uint64_t)s.len + 1);
    else
        sl_wr_i16(wr, (int16_t)(s.len < 0 ? -1 : s.len));
    if (s.len > 0)
        sl_wr_raw(wr, s.ptr, (size_t)s.len);
}

void
sl_wr_bytes(sl_writer_t *wr, bool compact, sl_bytes_t b)
{
    if (compact)
        sl_wr_uvarint(wr, b.len < 0 ? 0 : (uint64_t)b.len + 1);
    else
        sl_wr_i32(wr, b.len < 0 ? -1 : b.len);
    if (b.len > 0)
        sl_wr_raw(wr, b.ptr, (size_t)b.len);
}

void
sl_wr_varbytes(sl_writer_t *wr, sl_bytes_t b)
{
    sl_wr_varint(wr, b.len < 0 ? -1 : b.len);
    if (b.len > 0)
        sl_wr_raw(wr, b.ptr, (size_t)b.len);
}
