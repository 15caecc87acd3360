/*
 * fuzz_legacy.c -- libFuzzer target for old message sets (proto/legacy.h):
 * the entry parser and up-conversion of produced sets, and down-conversion
 * of arbitrary magic-2 batches for old fetches.
 *
 * Input: one mode byte, one limit byte, then the payload.
 *   mode bit 0  0: payload is a message set to up-convert;
 *               1: payload is magic-2 batches to down-convert
 *   mode bit 1  fix lengths/CRCs first (every top-level entry's CRC; or the
 *               first batch's batchLength and CRC-32C), so mutations get
 *               past the checksums
 *   mode bit 2  up: wrap the (CRC-fixed) payload as the inner set of one
 *               wrapper compressed with codec (mode >> 4) % 4, magic bit 3,
 *               so the inner-set parser is reached with valid CRCs
 *               down: target magic 1 instead of 0
 *   mode bit 3  down: min_one; else partial_tail
 * limit: the down-conversion byte limit is limit * 64.
 *
 * Checks (abort on failure): a successful up-conversion gives a batch that
 * validates and iterates to exactly info.count records; a failed one leaves
 * the output empty. A successful down-conversion stays within the limit
 * (except the first entry under min_one), and parses back, wrappers
 * decompressed, to exactly info.messages messages with increasing offsets
 * at or past the fetch offset, plus at most one partial entry at the end
 * when partial_tail allowed it. Budgets: 1 MiB decompressed.
 */
#include "proto/compress.h"
#include "proto/legacy.h"
#include "proto/record.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the CRC of every whole top-level entry. */
static void
fix_entries(uint8_t *p, size_t len)
{
    size_t pos = 0;

    while (len - pos > SL_LEGACY_OFF_MAGIC) {
        uint32_t sz = sl_be32(p + pos + 8);
        sl_buf_t tmp = SL_BUF_INIT;

        if (sz < SL_LEGACY_V0_OVERHEAD || sz > len - pos - SL_LEGACY_LOG_OVERHEAD)
            return;
        /* Let the writer compute the CRC: rewrite the entry in place when it
         * parses apart from its CRC. */
        {
            sl_legacy_msg_t m;

            memset(p + pos + SL_LEGACY_OFF_CRC, 0, 4);
            if (sl_legacy_msg_parse(p + pos, len - pos, &m) == SL_ECORRUPT) {
                int8_t magic = (int8_t)p[pos + SL_LEGACY_OFF_MAGIC];
                int8_t attr = (int8_t)p[pos + SL_LEGACY_OFF_ATTR];
                sl_reader_t rd;
                int64_t ts;
                sl_bytes_t k, v;

                sl_rd_init(&rd, p + pos + SL_LEGACY_OFF_ATTR + 1, sz - 6);
                ts = magic == 1 ? sl_rd_i64(&rd) : 0;
                k = sl_rd_bytes(&rd, false);
                v = sl_rd_bytes(&rd, false);
                if (rd.err == SL_OK && sl_rd_left(&rd) == 0) {
                    sl_legacy_msg_write(&tmp, magic, (int64_t)sl_be64(p + pos), attr, ts, k, v);
                    if (tmp.len == sz + SL_LEGACY_LOG_OVERHEAD)
                        memcpy(p + pos + SL_LEGACY_OFF_CRC, tmp.data + SL_LEGACY_OFF_CRC, 4);
                }
            }
        }
        sl_buf_deinit(&tmp);
        pos += SL_LEGACY_LOG_OVERHEAD + sz;
    }
}

static void
check_up(const uint8_t *set, size_t len)
{
    sl_legacy_up_opts_t o;
    sl_legacy_up_info_t info;
    sl_buf_t out = SL_BUF_INIT, scratch = SL_BUF_INIT, s2 = SL_BUF_INIT;
    sl_record_iter_t it;
    sl_record_t r;
    int32_t n = 0;
    int rc;

    sl_legacy_up_opts_init(&o);
    o.max_decompressed = BUDGET;
    rc = sl_legacy_up_convert(set, len, &o, &out, &scratch, &info);
    if (scratch.len > BUDGET)
        abort();
    if (rc != SL_OK) {
        if (out.len != 0)
            abort();
        goto done;
    }
    if (sl_record_iter_init(&it, out.data, out.len, &s2, 64u << 20) != SL_OK)
        abort();
    while ((rc = sl_record_iter_next(&it, &r)) == 1) {
        if (r.offset_delta != n || r.header_count != 0)
            abort();
        n++;
    }
    if (rc != 0 || n != info.count || n == 0)
        abort();
done:
    sl_buf_deinit(&out);
    sl_buf_deinit(&scratch);
    sl_buf_deinit(&s2);
}

/* Builds one wrapper around inner (codec, magic) and up-converts it. */
static void
check_up_wrapped(uint8_t *inner, size_t len, sl_codec_t codec, int8_t magic)
{
    sl_buf_t comp = SL_BUF_INIT, set = SL_BUF_INIT;

    fix_entries(inner, len);
    if (sl_compress(codec, SL_COMPRESS_LEVEL_DEFAULT, inner, len, &comp) != SL_OK)
        abort();
    sl_legacy_msg_write(&set, magic, 0, (int8_t)codec, 0, SL_BYTES_NULL,
                        (sl_bytes_t){comp.data, (int32_t)comp.len});
    check_up(set.data, set.len);
    sl_buf_deinit(&comp);
    sl_buf_deinit(&set);
}

/* Checks the next absolute offset a client would compute. */
static void
take_offset(int64_t off, const sl_legacy_down_opts_t *o, bool *any, int64_t *prev)
{
    if (off < o->fetch_offset || (*any && off <= *prev))
        abort();
    *any = true;
    *prev = off;
}

/* Parses a down-converted set like a client; returns the message count. */
static int32_t
read_back(const sl_buf_t *out, const sl_legacy_down_opts_t *o, bool partial)
{
    size_t pos = 0;
    int64_t prev = 0;
    bool any = false;
    int32_t n = 0;

    while (pos < out->len) {
        sl_legacy_msg_t m;
        int rc = sl_legacy_msg_parse(out->data + pos, out->len - pos, &m);

        if (rc == SL_EAGAIN && partial)
            return n;
        if (rc != SL_OK || m.magic != o->magic)
            abort();
        if (m.attributes & SL_ATTR_CODEC_MASK) {
            sl_buf_t inner = SL_BUF_INIT;
            sl_codec_t codec = (sl_codec_t)(m.attributes & SL_ATTR_CODEC_MASK);
            int64_t offs[4096];
            int32_t k = 0;
            size_t ip = 0;

            rc = codec == SL_CODEC_LZ4 && m.magic == 0
                     ? sl_decompress_lz4_legacy(m.value.ptr, (size_t)m.value.len, &inner, 64u << 20)
                     : sl_decompress(codec, m.value.ptr, (size_t)m.value.len, &inner, 64u << 20);
            if (rc != SL_OK)
                abort();
            while (ip < inner.len) {
                sl_legacy_msg_t im;

                if (sl_legacy_msg_parse(inner.data + ip, inner.len - ip, &im) != SL_OK ||
                    im.magic != m.magic || (im.attributes & SL_ATTR_CODEC_MASK) != 0 ||
                    k == (int32_t)SL_ARRAY_LEN(offs))
                    abort();
                offs[k++] = im.offset;
                ip += im.size;
            }
            /* Magic 1: relative from 0, the wrapper naming the last
             * absolute offset; magic 0: absolute, the wrapper the last. */
            if (k == 0 || m.offset != (m.magic == 1 ? m.offset : offs[k - 1]) ||
                (m.magic == 1 && offs[0] != 0))
                abort();
            for (int32_t i = 0; i < k; i++) {
                int64_t abs =
                    m.magic == 1
                        ? (int64_t)((uint64_t)m.offset - (uint64_t)offs[k - 1] + (uint64_t)offs[i])
                        : offs[i];

                take_offset(abs, o, &any, &prev);
            }
            if (prev != m.offset)
                abort();
            n += k;
            sl_buf_deinit(&inner);
        } else {
            take_offset(m.offset, o, &any, &prev);
            n++;
        }
        pos += m.size;
    }
    return n;
}

static void
check_down(const uint8_t *batches, size_t len, uint8_t mode, size_t limit)
{
    sl_legacy_down_opts_t o;
    sl_legacy_down_info_t info;
    sl_buf_t out = SL_BUF_INIT, scratch = SL_BUF_INIT;
    int64_t fetch_offset = 0;
    int rc;

    /* Fetch from the first batch's base offset plus a little. */
    if (len >= SL_BATCH_HEADER_SIZE)
        fetch_offset = (int64_t)(sl_be64(batches) + (uint64_t)(mode >> 5));
    sl_legacy_down_opts_init(&o, (mode & 4) ? 1 : 0, fetch_offset, limit);
    o.min_one = (mode & 8) != 0;
    o.partial_tail = !o.min_one;
    o.max_decompressed = BUDGET;
    rc = sl_legacy_down_convert(batches, len, &o, &out, &scratch, &info);
    if (scratch.len > BUDGET)
        abort();
    if (rc != SL_OK) {
        if (out.len != 0)
            abort();
        goto done;
    }
    if (!o.min_one && out.len > limit)
        abort();
    if (info.partial && (out.len != limit || info.messages != 0))
        abort();
    if (read_back(&out, &o, info.partial) != info.messages)
        abort();
done:
    sl_buf_deinit(&out);
    sl_buf_deinit(&scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode, *p;
    size_t limit;

    if (size < 2)
        return 0;
    mode = data[0];
    limit = (size_t)data[1] * 64;
    size -= 2;
    p = malloc(size ? size : 1);
    memcpy(p, data + 2, size);
    if (!(mode & 1)) {
        if (mode & 2)
            fix_entries(p, size);
        if (mode & 4)
            check_up_wrapped(p, size, (sl_codec_t)(1 + (mode >> 4) % 3), (mode & 8) ? 1 : 0);
        else
            check_up(p, size);
    } else {
        if ((mode & 2) && size >= SL_BATCH_HEADER_SIZE) {
            sl_put_be32(p + SL_BATCH_OFF_LENGTH, (uint32_t)(size - SL_BATCH_LOG_OVERHEAD));
            sl_batch_update_crc(p, size);
        }
        check_down(p, size, mode, limit);
    }
    free(p);
    return 0;
}
