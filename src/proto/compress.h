/*
 * compress.h -- the four Kafka batch codecs, with a hard output budget on
 * decompression.
 *
 * Formats (what Kafka clients put in the records section of a batch whose
 * attributes name the codec):
 *
 *   gzip    RFC 1952 gzip members. The decoder also takes a zlib (RFC 1950)
 *           stream, as librdkafka does, and concatenated gzip members, as
 *           Java's GZIPInputStream does.
 *   snappy  either raw snappy (librdkafka, sarama, franz-go) or xerial
 *           snappy-java framing (Java client and broker, kafka-python):
 *           82 'SNAPPY' 00, i32 version, i32 compat, then repeated
 *           (i32 BE block length, raw snappy block). The decoder takes both.
 *   lz4     the LZ4 frame format (LZ4F); concatenated frames are decoded
 *           one after another.
 *   zstd    zstd frames; content size may be absent (streamed encoders).
 *
 * The encoder writes snappy in xerial framing with 32 KiB blocks, like the
 * Java broker does when it (re)compresses. Every client decoder we target
 * reads both framings, and data the broker writes should look like Kafka's
 * own; the price is 16 bytes + 4 per block. lz4 is written as one LZ4F frame
 * with independent 64 KiB blocks and no content size or checksum, which is
 * the subset every Kafka lz4 reader (including Java's block-by-block
 * decoder) accepts.
 *
 * Budget: sl_decompress never lets `out` grow by more than max_out + 1
 * bytes (the extra byte is how an over-long stream is noticed), whatever
 * the input claims. Declared sizes (snappy block lengths, zstd content size)
 * are checked against the budget before anything is allocated, so a
 * compression bomb fails with SL_ETOOBIG after at most max_out bytes of
 * work. Decoder working memory is bounded separately: zlib 32 KiB, LZ4F at
 * most 4 MiB + 64 KiB, zstd windows are capped at max(8 MiB, budget)
 * (never more than 128 MiB) -- a frame asking for more is SL_ETOOBIG.
 *
 * All functions append to `out` and leave out->len as it was on failure.
 * They are pure functions of their arguments (no global state): any thread.
 */
#ifndef SL_PROTO_COMPRESS_H
#define SL_PROTO_COMPRESS_H

#include "base/buf.h"
#include "base/common.h"
#include "proto/record.h"

/*
 * Decompresses in[0..in_len) with codec and appends the result to out.
 * SL_CODEC_NONE copies. Returns SL_OK; SL_ETOOBIG if the output would pass
 * max_out bytes (or a zstd window passes the cap above); SL_EPROTO if the
 * input is not a complete, valid stream of that codec (truncated, corrupt,
 * trailing garbage); SL_EUNSUP for an unknown codec.
 */
SL_MUST_CHECK int sl_decompress(sl_codec_t codec, const uint8_t *in, size_t in_len, sl_buf_t *out,
                                size_t max_out);

/*
 * The lz4 framing of Kafka 0.8/0.9 (magic 0 messages, KAFKA-3160): an LZ4F
 * frame whose header checksum byte was computed over the magic number too.
 * liblz4 rejects it, so the checksum byte is recomputed over the descriptor
 * before decoding -- as Kafka does for magic 0, the stored byte is ignored,
 * so correct frames decode as well. Same contract as sl_decompress.
 */
SL_MUST_CHECK int sl_decompress_lz4_legacy(const uint8_t *in, size_t in_len, sl_buf_t *out,
                                           size_t max_out);

/*
 * Compresses in[0..len) with codec and appends the result to out.
 * level: SL_COMPRESS_LEVEL_DEFAULT, or the codec's own scale as Kafka's
 * compression.<codec>.level configs use it: gzip 1..9 (default 6, as
 * java.util.zip), lz4 0..17 (0 = fast mode, the default; >= 3 is LZ4 HC,
 * which liblz4 caps at 12), zstd ZSTD_minCLevel()..22 (default 3). Snappy
 * has no levels. Returns SL_OK, SL_EINVAL for a level out of range,
 * SL_EUNSUP for an unknown codec.
 */
SL_MUST_CHECK int sl_compress(sl_codec_t codec, int level, const uint8_t *in, size_t len,
                              sl_buf_t *out);

/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" otherwise. */
const char *sl_codec_name(sl_codec_t codec);
/* Inverse of sl_codec_name (Kafka's compression.type values, minus
 * "producer"). SL_OK or SL_EINVAL. */
SL_MUST_CHECK int sl_codec_parse(const char *name, sl_codec_t *codec);

/* XXH32 of data (seed 0..), as used by the LZ4 frame header checksum.
 * Exposed for tests that build legacy frames. */
uint32_t sl_xxh32(const void *data, size_t len, uint32_t seed);

#endif
