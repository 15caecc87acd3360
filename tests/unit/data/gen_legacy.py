#!/usr/bin/python3
"""Generates legacy_kp_sets.bin, the message sets (magic 0 and 1) that
tests/unit/test_legacy.c up-converts: written by an independent encoder,
kafka-python 2.0.2's LegacyRecordBatchBuilder, for every codec an old
format allows (none, gzip, snappy with xerial framing, lz4 -- with the
Kafka 0.8 header checksum for magic 0).

Layout: per set, i32 magic, i32 codec, i32 length, then the set's bytes.
Each set holds 20 messages: key "key-<i>", value "value-<i>" repeated
1 + i % 3 times, timestamp 1700000000000 + i (magic 1). test_legacy.c
repeats that formula.

Run from the repository root: /usr/bin/python3 tests/unit/data/gen_legacy.py
Needs python3-kafka python3-snappy python3-lz4 python3-xxhash. The output is
checked in; rerun only to change it (gzip headers carry the time).

With --fuzz-seeds DIR it writes the seed corpus of tests/fuzz/fuzz_legacy.c
instead: these sets behind the up-conversion mode bytes (plain, CRC-fixing,
and -- for uncompressed sets -- wrapped by the harness with each codec), and
the magic-2 batches of tests/unit/data/batch_*.bin behind the down-conversion
mode bytes (both magics, min_one or partial tail, small and large limits).
"""
import glob
import os
import struct
import sys

from kafka.record.legacy_records import LegacyRecordBatchBuilder

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_kp_sets.bin")


def build(magic, codec):
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(20):
        value = ("value-%d" % i) * (1 + i % 3)
        assert b.append(i, 1700000000000 + i, ("key-%d" % i).encode(), value.encode())
    return bytes(b.build())


def main():
    out = bytearray()
    for magic in (0, 1):
        for codec in (0, 1, 2, 3):
            data = build(magic, codec)
            out += struct.pack(">iii", magic, codec, len(data)) + data
    with open(OUT, "wb") as f:
        f.write(out)


def fuzz_seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    n = 0

    def seed(mode, limit, payload):
        nonlocal n
        with open(os.path.join(outdir, "seed-%03d" % n), "wb") as f:
            f.write(bytes([mode, limit]) + payload)
        n += 1

    for magic in (0, 1):
        for codec in (0, 1, 2, 3):
            data = build(magic, codec)
            seed(0, 0, data)
            seed(2, 0, data)
            if codec == 0:
                for c in range(3):
                    seed(4 | 2 | (magic << 3) | (c << 4), 0, data)
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "batch_*.bin"))):
        with open(path, "rb") as f:
            batch = f.read()
        for mode in (1, 7, 13):
            for limit in (2, 255):
                seed(mode, limit, batch)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fuzz-seeds":
        fuzz_seeds(sys.argv[2])
    else:
        main()
