/*
 * legacy.h -- Kafka's old message formats (magic 0 and 1, "message sets")
 * and their conversion to and from record batches (magic 2), which is all
 * the log ever stores (STYLE.md §7, DESIGN.md "Protocol").
 *
 * A message set is a run of entries, back to back, each (big-endian):
 *
 *   off  size  field
 *     0     8  offset        absolute, or relative inside a magic-1 wrapper
 *     8     4  size          bytes after this field
 *    12     4  crc           CRC-32 (IEEE, zlib's crc32) of bytes 16..end
 *    16     1  magic         0 or 1 (byte 16 is the magic of a v2 batch too)
 *    17     1  attributes    bits 0-2 codec; bit 3 LogAppendTime (magic 1)
 *    18     8  timestamp     magic 1 only
 *     -     4  key length    -1 = null, then the key bytes
 *     -     4  value length  -1 = null, then the value bytes
 *
 * A compressed set is one *wrapper* entry whose value is a compressed
 * inner message set of the same magic. Inner offsets of a magic-1 wrapper
 * run 0..n-1 relative to the first message and the wrapper's offset is the
 * absolute offset of the last one; a magic-0 wrapper holds absolute inner
 * offsets. When a magic-1 wrapper carries LogAppendTime, every inner
 * message's timestamp is the wrapper's. lz4 inside magic 0 uses the header
 * checksum of Kafka 0.8/0.9, computed over the frame magic too (KAFKA-3160).
 *
 * Up-conversion (Produce v0-v2) follows Kafka 3.x's LogValidator: the whole
 * set becomes one magic-2 batch at offsets 0..n-1 (the log assigns the real
 * ones), inner offsets ignored, magic-0 timestamps become NO_TIMESTAMP (-1),
 * the output codec is the wrapper's (or the topic's compression.type). A
 * partial trailing entry is dropped as Kafka drops it.
 *
 * Down-conversion (Fetch v0-1 to magic 0, v2-3 to magic 1) follows Kafka's
 * RecordsUtil.downConvert: control batches are omitted, headers and producer
 * fields dropped, uncompressed batches become one message per record and
 * compressed ones become wrappers with the batch's codec. A wrapper holds at
 * most what fits the remaining byte limit (a big batch is split over several
 * wrappers rather than blowing the limit), so the output never passes the
 * limit except for the one whole first entry that KIP-74 (Fetch v3) asks for.
 *
 * Pure functions of their arguments, no global state: any thread.
 */
#ifndef SL_PROTO_LEGACY_H
#define SL_PROTO_LEGACY_H

#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "proto/record.h"

#define SL_LEGACY_LOG_OVERHEAD         12 /* offset + size */
#define SL_LEGACY_OFF_CRC              12
#define SL_LEGACY_OFF_MAGIC            16
#define SL_LEGACY_OFF_ATTR             17
#define SL_LEGACY_V0_OVERHEAD          14 /* crc, magic, attributes, key and value lengths */
#define SL_LEGACY_V1_OVERHEAD          22 /* ... plus the timestamp */
#define SL_LEGACY_ATTR_LOG_APPEND_TIME 0x08

/* Kafka's "no timestamp" (magic 0 messages, and what they convert to). */
#define SL_NO_TIMESTAMP (-1)

/* One entry, as views into the bytes it was parsed from. */
typedef struct sl_legacy_msg {
    int64_t offset;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp; /* SL_NO_TIMESTAMP for magic 0 */
    sl_bytes_t key;    /* len -1 = null */
    sl_bytes_t value;  /* len -1 = null */
    size_t size;       /* whole entry, SL_LEGACY_LOG_OVERHEAD included */
} sl_legacy_msg_t;

/*
 * Parses the entry at p[0..len). Returns SL_OK; SL_EAGAIN when the bytes
 * end inside the entry (a partial trailing entry); SL_EPROTO when the entry
 * is malformed (size below the overhead of its magic, key/value lengths
 * that do not fill the size exactly, magic other than 0/1); SL_ECORRUPT on
 * a CRC mismatch. A magic-2 batch is SL_EPROTO here: callers that may see
 * one look at byte SL_LEGACY_OFF_MAGIC first.
 */
SL_MUST_CHECK int sl_legacy_msg_parse(const uint8_t *p, size_t len, sl_legacy_msg_t *m);

/* Bytes sl_legacy_msg_write would append for these lengths (-1 = null). */
size_t sl_legacy_msg_size(int8_t magic, int32_t key_len, int32_t value_len);

/* Appends one entry (CRC computed). key/value len -1 = null. */
void sl_legacy_msg_write(sl_buf_t *out, int8_t magic, int64_t offset, int8_t attributes,
                         int64_t timestamp, sl_bytes_t key, sl_bytes_t value);

/* The magic byte of the first entry of a produce payload (0, 1, 2...), or -1
 * when it is shorter than the byte. */
int sl_legacy_peek_magic(const uint8_t *p, size_t len);

/* ---- up-conversion (produce) ------------------------------------------- */

typedef struct sl_legacy_up_opts {
    size_t max_decompressed; /* budget for a wrapper's inner set */
    int codec;               /* output codec; -1 = the wrapper's (uncompressed set: none) */
    int level;               /* SL_COMPRESS_LEVEL_DEFAULT or see sl_compress */
    bool require_key;        /* compacted topic: a null key is INVALID_RECORD */
    /* Timestamp checks, as Kafka's LogValidator does them per record: with
     * CreateTime, a timestamp outside [now - before, now + after] fails; with
     * LogAppendTime, a message that claims LogAppendTime itself fails. */
    bool log_append_time;
    int64_t now_ms;
    int64_t ts_before_max_ms; /* INT64_MAX = no limit */
    int64_t ts_after_max_ms;
} sl_legacy_up_opts_t;

/* No checks, codec as produced, 64 MiB budget. */
void sl_legacy_up_opts_init(sl_legacy_up_opts_t *o);

typedef struct sl_legacy_up_info {
    int8_t magic;          /* of the set */
    sl_codec_t wire_codec; /* the wrapper's, or none */
    int32_t count;         /* records converted */
    size_t trimmed;        /* bytes of a partial trailing entry ignored */
} sl_legacy_up_info_t;

/*
 * Converts the message set set[0..len) into one magic-2 batch appended to
 * out (base offset 0, leader epoch -1, no producer id). scratch holds the
 * decompressed inner set (reset first; owned by the caller).
 * Returns SL_OK or, with out unchanged:
 *   SL_EPROTO   malformed entry, or no whole entry at all (CORRUPT_MESSAGE)
 *   SL_ECORRUPT a CRC mismatch, outer or inner (CORRUPT_MESSAGE)
 *   SL_EINVAL   Kafka's INVALID_RECORD cases: entries of different magic, a
 *               wrapper that is not the only entry, an inner entry that is
 *               itself compressed or of another magic, an empty wrapper, a
 *               wrapper with a null value, a null key when require_key
 *   SL_ERANGE   a timestamp the checks above refuse (INVALID_TIMESTAMP)
 *   SL_EUNSUP   zstd or an unknown codec in an old format
 *               (UNSUPPORTED_COMPRESSION_TYPE)
 *   SL_ETOOBIG  the inner set passes max_decompressed, or the batch would
 *               pass 2 GiB
 */
SL_MUST_CHECK int sl_legacy_up_convert(const uint8_t *set, size_t len, const sl_legacy_up_opts_t *o,
                                       sl_buf_t *out, sl_buf_t *scratch, sl_legacy_up_info_t *info);

/* ---- down-conversion (fetch) ------------------------------------------- */

typedef struct sl_legacy_down_opts {
    int8_t magic;            /* 0 (Fetch v0-1) or 1 (Fetch v2-3) */
    int64_t fetch_offset;    /* records below it are left out */
    size_t max_bytes;        /* output limit (the partition's max bytes) */
    bool min_one;            /* the first entry goes out whole even past max_bytes (v3) */
    bool partial_tail;       /* when not even the first entry fits, send its first
                              * max_bytes bytes, so an old client learns it must
                              * fetch more (v0-2; Kafka does the same) */
    size_t max_decompressed; /* budget for one batch's records */
} sl_legacy_down_opts_t;

void sl_legacy_down_opts_init(sl_legacy_down_opts_t *o, int8_t magic, int64_t fetch_offset,
                              size_t max_bytes);

typedef struct sl_legacy_down_info {
    int64_t next_offset; /* after the last whole message written; -1 if none */
    int32_t messages;    /* records written (inner ones counted) */
    bool partial;        /* the output ends with a partial entry */
    bool stopped_zstd;   /* stopped before a zstd batch */
} sl_legacy_down_info_t;

/*
 * Converts the magic-2 batches in batches[0..len) (as the log returns them:
 * whole batches back to back; trailing bytes shorter than a batch are
 * ignored) to a message set of o->magic appended to out. scratch is the
 * decompression buffer (reset first; owned by the caller).
 * Conversion stops at the byte limit, at a zstd batch (which old formats
 * cannot carry) and at a batch that does not parse; what came before is
 * returned. Returns SL_OK, or when the very first batch to convert is the
 * problem: SL_EUNSUP (zstd: UNSUPPORTED_COMPRESSION_TYPE), SL_EPROTO /
 * SL_ECORRUPT (bad batch), SL_ETOOBIG (over max_decompressed).
 */
SL_MUST_CHECK int sl_legacy_down_convert(const uint8_t *batches, size_t len,
                                         const sl_legacy_down_opts_t *o, sl_buf_t *out,
                                         sl_buf_t *scratch, sl_legacy_down_info_t *info);

#endif
