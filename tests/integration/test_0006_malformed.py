"""Malformed input: each bad frame gets an error or a closed connection, and
the broker keeps serving a well-behaved client meanwhile, memory bounded."""
import struct

import pytest
from confluent_kafka import Producer

import kwire


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def well_behaved_roundtrip(broker, topic="healthy"):
    delivered = []
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    p.produce(topic, b"still-alive", on_delivery=lambda e, m: delivered.append(e))
    assert p.flush(60) == 0
    assert delivered == [None]


def api_versions_v0(conn):
    resp = conn.roundtrip(kwire.request(18, 0, b""))
    (corr, err) = struct.unpack(">ih", resp[:6])
    return err


BAD_FRAMES = {
    "negative-size": struct.pack(">i", -5) + b"xxxx",
    "oversized-size": struct.pack(">i", 0x7FFFFFF0) + b"partial",
    "unknown-api-key": kwire.frame(kwire.request(999, 0, b"")),
    "unsupported-metadata-version": kwire.frame(kwire.request(3, 99, b"")),
    "absurd-array-count": kwire.frame(kwire.request(3, 1, struct.pack(">i", 0x7FFFFFFF))),
    "negative-string-length": kwire.frame(kwire.request(3, 1, struct.pack(">ih", 1, -7))),
    "truncated-header": struct.pack(">i", 3) + b"\x00\x03\x00",
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_bad_frame_closes_connection_and_broker_serves_others(broker, name):
    before = rss_kib(broker.proc.pid)
    c = kwire.Conn(broker.bootstrap)
    c.send(BAD_FRAMES[name])
    assert c.closed_by_peer()
    c.close()
    well_behaved_roundtrip(broker)
    assert broker.alive()
    # Nothing was allocated from the declared sizes (budget: 64 MiB of growth).
    assert rss_kib(broker.proc.pid) - before < 64 * 1024


def test_truncated_frame_then_vanish(broker):
    c = kwire.Conn(broker.bootstrap)
    c.send(struct.pack(">i", 1000) + b"\x00\x12\x00\x00")
    c.close()
    well_behaved_roundtrip(broker)


def test_api_versions_unsupported_version_answers_v0_error(broker):
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.request(18, 99, b"garbage-body"))
    corr, err, n = struct.unpack(">ihi", resp[:10])
    assert err == 35  # UNSUPPORTED_VERSION
    keys = [struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i]) for i in range(n)]
    assert any(k == 18 and lo == 0 and hi >= 3 for k, lo, hi in keys)
    # The connection stays usable.
    assert api_versions_v0(c) == 0
    c.close()


def test_bad_crc_is_corrupt_message(broker):
    well_behaved_roundtrip(broker, "crc")
    b = bytearray(kwire.batch([b"a", b"b"]))
    b[-1] ^= 0xFF
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.produce_v3("crc", 0, bytes(b)))
    # corr, topics[1], name, partitions[1], index, error
    off = 4 + 4
    (nlen,) = struct.unpack(">h", resp[off:off + 2])
    off += 2 + nlen + 4
    part, err = struct.unpack(">ih", resp[off:off + 6])
    assert (part, err) == (0, 2)  # CORRUPT_MESSAGE
    c.close()
    well_behaved_roundtrip(broker, "crc")


def gzip_bomb(value_len):
    """A gzip'd record section holding one record whose value is value_len
    zero bytes, compressed in chunks so the test itself stays small."""
    import zlib
    body_head = bytes([0]) + kwire.varint(0) + kwire.varint(0) + kwire.varint(-1)
    body_head += kwire.varint(value_len)
    body_len = len(body_head) + value_len + 1  # + headers count varint(0)
    z = zlib.compressobj(wbits=31)
    out = [z.compress(kwire.varint(body_len) + body_head)]
    chunk = bytes(1 << 20)
    for _ in range(value_len >> 20):
        out.append(z.compress(chunk))
    out.append(z.compress(kwire.varint(0)))
    out.append(z.flush())
    return b"".join(out)


def test_compression_bomb_is_rejected(broker):
    well_behaved_roundtrip(broker, "bomb")
    # 1 GiB of zeros in one record (about 1 MB compressed): the broker's
    # decompression budget is 64 MiB, so memory grows by a bounded amount,
    # far below what inflating the whole record would take.
    bomb = kwire.batch([b"x"], codec=1, raw_records=gzip_bomb(1 << 30))
    before = rss_kib(broker.proc.pid)
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.produce_v3("bomb", 0, bomb))
    off = 8
    (nlen,) = struct.unpack(">h", resp[off:off + 2])
    off += 2 + nlen + 4
    part, err = struct.unpack(">ih", resp[off:off + 6])
    assert err != 0
    c.close()
    # Bounded even under ASan, whose allocator keeps freed memory around.
    assert rss_kib(broker.proc.pid) - before < 320 * 1024
    well_behaved_roundtrip(broker, "bomb")
