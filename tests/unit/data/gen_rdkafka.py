#!/usr/bin/python3
"""Captures record batches written by librdkafka (a real client) as fixtures.

librdkafka's in-process mock cluster (test.mock.num.brokers) stores produced
batches as the client wrote them. This script produces the records of
gen_batches.rec() with each codec, then fetches partition 0 back over a raw
socket (Fetch v4) and saves the single batch it holds as rdkafka_<codec>.bin.
test_record.c checks that our iterator reads exactly those records.

Run from the repository root: /usr/bin/python3 tests/unit/data/gen_rdkafka.py
Needs python3-confluent-kafka (librdkafka). Outputs are checked in.
"""
import os
import socket
import struct
import sys

import confluent_kafka

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_batches import N, rec, write  # noqa: E402

TOPIC = b"fixtures"


def kstr(s):
    return struct.pack(">h", len(s)) + s


def fetch_v4(host, port, topic, partition):
    body = struct.pack(">iiiib", -1, 1000, 1, 16 << 20, 0)
    body += struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, 0, 16 << 20)
    req = struct.pack(">hhi", 1, 4, 7) + kstr(b"fixture-capture") + body
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
    pos = 4 + 4  # correlation id, throttle_time_ms
    assert struct.unpack_from(">i", resp, pos)[0] == 1
    pos += 4
    tlen = struct.unpack_from(">h", resp, pos)[0]
    pos += 2 + tlen
    assert struct.unpack_from(">i", resp, pos)[0] == 1
    pos += 4
    part, err, _hw, _lso = struct.unpack_from(">ihqq", resp, pos)
    assert part == partition and err == 0, err
    pos += 4 + 2 + 8 + 8
    naborted = struct.unpack_from(">i", resp, pos)[0]
    pos += 4 + max(naborted, 0) * 16
    rlen = struct.unpack_from(">i", resp, pos)[0]
    return resp[pos + 4:pos + 4 + rlen]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk
        buf += chunk
    return buf


def capture(codec):
    # All N records in one batch: a long linger, sent when the batch is full.
    p = confluent_kafka.Producer({"test.mock.num.brokers": 1, "compression.codec": codec,
                                  "linger.ms": 5000, "batch.num.messages": N,
                                  "log_level": 3})
    # Learn the partition leader first, so no record is sent on its own
    # while the rest wait for metadata.
    p.list_topics(TOPIC.decode(), timeout=5)
    for i in range(N):
        key, value, headers, ts = rec(i)
        p.produce(TOPIC.decode(), key=key, value=value, headers=headers, partition=0,
                  timestamp=ts)
    assert p.flush(10) == 0
    broker = list(p.list_topics(timeout=5).brokers.values())[0]
    records = fetch_v4(broker.host, broker.port, TOPIC, 0)
    length = struct.unpack_from(">i", records, 8)[0]
    assert len(records) == length + 12, "expected exactly one batch"
    assert struct.unpack_from(">i", records, 57)[0] == N, "expected all records in one batch"
    assert records[21 + 1] & 7 == {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
    return records


def main():
    print("librdkafka", confluent_kafka.libversion()[0])
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        for attempt in range(5):
            try:
                batch = capture(codec)
                break
            except AssertionError as e:
                print("%s: retrying (%s)" % (codec, e))
        write("rdkafka_%s.bin" % codec, batch)


if __name__ == "__main__":
    main()
