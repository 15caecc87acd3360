#!/usr/bin/python3
"""Generates the record-batch fixtures that tests/unit/test_record.c reads.

An independent encoder (kafka-python 2.0.2's DefaultRecordBatchBuilder and
the python-snappy / lz4 / zstandard bindings) writes magic-2 batches; the C
tests check that our iterator reads exactly the records below and that our
builder's uncompressed output equals kafka-python's byte for byte.

Run from the repository root: /usr/bin/python3 tests/unit/data/gen_batches.py
With --fuzz-seeds DIR it writes the seed corpus of tests/fuzz/fuzz_batch.c
instead (small batches per codec behind the harness's mode byte).
Needs the Debian packages python3-kafka python3-snappy python3-lz4
python3-zstandard. The outputs are checked in; rerun only to change them.

Reruns change batch_gzip.bin (the gzip header carries the time) and nothing
else. The record contents are a formula (rec() below) that test_record.c repeats
as fixture_record(); keep the two in step.
"""
import os
import struct
import sys

import lz4.frame
import snappy
import zstandard
from kafka.codec import has_lz4, has_snappy, has_zstd
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

OUT = os.path.dirname(os.path.abspath(__file__))
N = 50
BASE_TS = 1700000000000
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
HEADER_SIZE = 61


def rec(i):
    key = None if i % 5 == 0 else b"key-%d" % i
    value = None if i % 7 == 3 else (b"value-%d " % i) * (1 + i % 4)
    headers = [("h%d" % j, None if j == 1 else b"hv-%d-%d" % (i, j)) for j in range(i % 3)]
    ts = BASE_TS + i * 10 - (7 if i % 6 == 2 else 0)
    return key, value, headers, ts


def build(codec, n=N, txn=False, pid=-1, epoch=-1, seq=-1):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=CODECS[codec], is_transactional=txn,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 30)
    for i in range(n):
        key, value, headers, ts = rec(i)
        assert b.append(i, timestamp=ts, key=key, value=value, headers=headers) is not None
    out = bytes(b.build())
    attrs = struct.unpack(">h", out[21:23])[0]
    # kafka-python silently falls back to no compression when it does not pay.
    assert attrs & 7 == CODECS[codec], codec
    return out


def recompress(plain, codec_id, compress):
    """Replaces the records section of an uncompressed batch."""
    body = compress(plain[HEADER_SIZE:])
    hdr = bytearray(plain[:HEADER_SIZE])
    struct.pack_into(">i", hdr, 8, HEADER_SIZE - 12 + len(body))
    attrs = struct.unpack(">h", hdr[21:23])[0]
    struct.pack_into(">h", hdr, 21, (attrs & ~7) | codec_id)
    out = hdr + body
    struct.pack_into(">I", out, 17, calc_crc32c(bytes(out[21:])))
    return bytes(out)


def xxh32(data, seed=0):
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    m = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed, (seed - p1) & m]
        while n - i >= 16:
            for k in range(4):
                w = struct.unpack_from("<I", data, i)[0]
                v[k] = (rotl((v[k] + w * p2) & m, 13) * p1) & m
                i += 4
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while n - i >= 4:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


def lz4_legacy_frame(payload):
    """Kafka 0.8/0.9 framing: no content size, header checksum over magic too."""
    frame = bytearray(lz4.frame.compress(payload, store_size=False, block_linked=False))
    assert frame[4] & 0x09 == 0  # no content size, no dict id: HC is byte 6
    # liblz4 computed the correct byte; our xxh32 must agree before we trust it.
    assert frame[6] == (xxh32(bytes(frame[4:6])) >> 8) & 0xFF
    frame[6] = (xxh32(bytes(frame[0:6])) >> 8) & 0xFF
    return bytes(frame)


def write(name, data, out=OUT):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print("%-28s %6d bytes" % (name, len(data)))


def main():
    assert has_snappy() and has_lz4() and has_zstd()
    for codec in CODECS:
        write("batch_%s.bin" % codec, build(codec))
    plain = build("none")
    write("batch_snappy_raw.bin", recompress(plain, 2, snappy.compress))
    write("batch_zstd_stream.bin", recompress(
        plain, 4, zstandard.ZstdCompressor(write_content_size=False).compress))
    write("batch_lz4_linked.bin", recompress(
        plain, 3, lambda d: lz4.frame.compress(d, block_size=lz4.frame.BLOCKSIZE_MAX4MB)))
    write("batch_txn.bin", build("none", n=3, txn=True, pid=4242, epoch=7, seq=100))
    write("lz4_legacy.bin", lz4_legacy_frame(b"sluice legacy lz4 " * 100))


def fuzz_seeds(out):
    """Mode byte 0 = batch as is; 0x0e = also feed the section to lz4 decoders."""
    n = 8
    for codec in CODECS:
        write("%s.bin" % codec, b"\x00" + build(codec, n=n), out)
    plain = build("none", n=n)
    write("snappy_raw.bin", b"\x00" + recompress(plain, 2, snappy.compress), out)
    write("zstd_stream.bin", b"\x00" + recompress(
        plain, 4, zstandard.ZstdCompressor(write_content_size=False).compress), out)
    write("lz4_linked.bin", b"\x00" + recompress(plain, 3, lz4.frame.compress), out)
    write("txn.bin", b"\x00" + build("none", n=2, txn=True, pid=9, epoch=1, seq=5), out)
    legacy = lz4_legacy_frame(b"sluice legacy lz4 " * 20)
    write("lz4_legacy.bin", b"\x0e" + plain[:HEADER_SIZE] + legacy, out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fuzz-seeds":
        fuzz_seeds(sys.argv[2])
    else:
        main()
