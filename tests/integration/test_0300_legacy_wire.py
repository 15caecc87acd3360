"""Old message formats at the wire: Produce v0-v2 with magic 0/1 message sets
(every codec and framing, Kafka's rejections), Fetch v0-v3 down-conversion
(magic per version, wrappers, the byte limit, zstd and
message.downconversion.enable), ListOffsets v0 -- with frames built and
parsed here, byte for byte, so each rule is checked exactly."""
import struct
import zlib

import lz4.frame
import pytest
import snappy
import xxhash
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kwire

CORRUPT_MESSAGE = 2
UNSUPPORTED_VERSION = 35
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87
LAT = 0x08
TS = 1_700_000_000_000


# ---- message sets ----------------------------------------------------------

def lbytes(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def message(magic, offset, key, value, attr=0, ts=TS):
    body = struct.pack(">bb", magic, attr)
    if magic == 1:
        body += struct.pack(">q", ts)
    body += lbytes(key) + lbytes(value)
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return struct.pack(">qiI", offset, len(body) + 4, crc) + body


def lz4_kafka08(data):
    """LZ4F with the header checksum of Kafka 0.8 (over the magic too)."""
    frame = bytearray(lz4.frame.compress(data, content_checksum=False))
    hc = 6 + (8 if frame[4] & 0x08 else 0) + (4 if frame[4] & 0x01 else 0)
    frame[hc] = (xxhash.xxh32(bytes(frame[:hc])).intdigest() >> 8) & 0xFF
    return bytes(frame)


def compress(codec, data, magic):
    if codec == 1:
        c = zlib.compressobj(wbits=31)
        return c.compress(data) + c.flush()
    if codec == 2:
        return snappy.compress(data)  # raw, as sarama/kafka-go/librdkafka
    if codec == 3:
        return lz4_kafka08(data) if magic == 0 else lz4.frame.compress(data)
    raise ValueError(codec)


def wrapper(magic, codec, msgs, offsets=None, attr=0, ts=TS):
    """One compressed wrapper around msgs [(key, value)]; inner offsets
    relative for magic 1, `offsets` (absolute) for magic 0."""
    offsets = offsets or list(range(len(msgs)))
    inner = b"".join(message(magic, o, k, v, ts=ts + i)
                     for i, (o, (k, v)) in enumerate(zip(offsets, msgs)))
    return message(magic, offsets[-1], None, compress(codec, inner, magic), attr | codec, ts)


def parse_set(data):
    """Client-side reading of a message set: [(offset, magic, attr, ts, key,
    value)], wrappers resolved; plus True when it ends in a partial entry."""
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 12:
            return out, True
        offset, size = struct.unpack_from(">qi", data, pos)
        if len(data) - pos - 12 < size:
            return out, True
        entry = data[pos + 12:pos + 12 + size]
        crc, magic, attr = struct.unpack_from(">Ibb", entry)
        assert zlib.crc32(entry[4:]) & 0xFFFFFFFF == crc
        p = 6
        ts = None
        if magic == 1:
            (ts,) = struct.unpack_from(">q", entry, p)
            p += 8
        vals = []
        for _ in range(2):
            (n,) = struct.unpack_from(">i", entry, p)
            p += 4
            vals.append(None if n < 0 else entry[p:p + n])
            p += max(n, 0)
        assert p == len(entry)
        codec = attr & 7
        if codec:
            raw = vals[1]
            if codec == 1:
                inner = zlib.decompress(raw, 47)
            elif codec == 2:
                inner = snappy.decompress(raw) if raw[:1] != b"\x82" else xerial(raw)
            else:
                if magic == 0:  # repair the Kafka 0.8 header checksum
                    raw = bytearray(raw)
                    hc = 6 + (8 if raw[4] & 0x08 else 0) + (4 if raw[4] & 0x01 else 0)
                    raw[hc] = (xxhash.xxh32(bytes(raw[4:hc])).intdigest() >> 8) & 0xFF
                    raw = bytes(raw)
                inner = lz4.frame.decompress(raw)
            msgs, partial = parse_set(inner)
            assert not partial
            if magic == 1:
                base = offset - msgs[-1][0]
                msgs = [(base + m[0],) + m[1:] for m in msgs]
                if attr & LAT:
                    msgs = [m[:3] + (ts,) + m[4:] for m in msgs]
            assert msgs[-1][0] == offset
            out += msgs
        else:
            out.append((offset, magic, attr, ts, vals[0], vals[1]))
        pos += 12 + size
    return out, False


def xerial(raw):
    out, p = b"", 16
    while p < len(raw):
        (n,) = struct.unpack_from(">i", raw, p)
        out += snappy.decompress(raw[p + 4:p + 4 + n])
        p += 4 + n
    return out


# ---- requests --------------------------------------------------------------

def ensure_topic(conn, topic):
    """Metadata v0 naming the topic auto-creates it, as clients rely on."""
    from conftest import wait_until

    def exists():
        body = struct.pack(">i", 1) + kwire.string(topic)
        resp = conn.roundtrip(kwire.request(3, 0, body))
        p = 4
        (nb,) = struct.unpack_from(">i", resp, p)
        p += 4
        for _ in range(nb):
            p += 4
            (n,) = struct.unpack_from(">h", resp, p)
            p += 2 + n + 4
        (nt,) = struct.unpack_from(">i", resp, p)
        (err,) = struct.unpack_from(">h", resp, p + 4)
        return nt == 1 and err == 0

    wait_until(exists, 30, f"topic {topic}")


_known = set()


def produce(conn, version, topic, records, acks=-1):
    if (id(conn), topic) not in _known:
        ensure_topic(conn, topic)
        _known.add((id(conn), topic))
    body = b""
    if version >= 3:
        body += kwire.string(None)
    body += struct.pack(">hi", acks, 30000)
    body += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
    body += struct.pack(">ii", 0, len(records)) + records
    resp = conn.roundtrip(kwire.request(0, version, body))
    p = 4 + 4  # correlation id, topic count
    (n,) = struct.unpack_from(">h", resp, p)
    p += 2 + n + 4
    part, err, base = struct.unpack_from(">ihq", resp, p)
    p += 14
    lat = None
    if version >= 2:
        (lat,) = struct.unpack_from(">q", resp, p)
    return err, base, lat


def fetch(conn, version, topic, offset, part_max=1 << 20, max_bytes=1 << 20):
    body = struct.pack(">iii", -1, 0, 0)
    if version >= 3:
        body += struct.pack(">i", max_bytes)
    if version >= 4:
        body += struct.pack(">b", 0)
    body += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iqi", 0, offset, part_max)
    resp = conn.roundtrip(kwire.request(1, version, body))
    p = 4 + (4 if version >= 1 else 0) + 4
    (n,) = struct.unpack_from(">h", resp, p)
    p += 2 + n + 4
    part, err, hw = struct.unpack_from(">ihq", resp, p)
    p += 14
    if version >= 4:
        p += 8
        (na,) = struct.unpack_from(">i", resp, p)
        p += 4 + 16 * max(na, 0)
    (size,) = struct.unpack_from(">i", resp, p)
    return err, hw, resp[p + 4:p + 4 + size]


def list_offsets_v0(conn, topic, ts, max_num=1):
    ensure_topic(conn, topic)
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + kwire.string(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, ts, max_num)
    resp = conn.roundtrip(kwire.request(2, 0, body))
    p = 4 + 4
    (n,) = struct.unpack_from(">h", resp, p)
    p += 2 + n + 4
    part, err, count = struct.unpack_from(">ihi", resp, p)
    p += 10
    return err, list(struct.unpack_from(">%dq" % count, resp, p))


def modern_read(broker, topic, n):
    """Reads n records with librdkafka (Fetch v11, magic 2)."""
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "modern-" + topic,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out = []
    while len(out) < n:
        m = c.poll(30)
        assert m is not None, f"timed out after {len(out)} of {n}"
        assert m.error() is None, m.error()
        out.append((m.offset(), m.key(), m.value(), m.timestamp()[1]))
    c.close()
    return out


@pytest.fixture
def conn(broker):
    c = kwire.Conn(broker.bootstrap)
    yield c
    c.close()


MSGS = [(b"k0", b"v0"), (None, b"\x00\xff binary"), (b"k2", None), (b"", b"")]


# ---- produce ---------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 1, 2])
@pytest.mark.parametrize("magic", [0, 1])
def test_produce_plain_set_any_old_version_any_magic(broker, conn, version, magic):
    topic = f"plain-{version}-{magic}"
    # Client offsets are ignored (kafka-python sends 0s).
    records = b"".join(message(magic, 0, k, v, ts=TS + i) for i, (k, v) in enumerate(MSGS))
    assert produce(conn, version, topic, records)[:2] == (0, 0)
    assert produce(conn, version, topic, records)[:2] == (0, 4)
    got = modern_read(broker, topic, 8)
    assert [g[0] for g in got] == list(range(8))
    assert [(g[1], g[2]) for g in got] == MSGS * 2
    # magic 0 has no timestamp: librdkafka reports -1 for NO_TIMESTAMP.
    assert [g[3] for g in got[:4]] == ([-1] * 4 if magic == 0 else [TS, TS + 1, TS + 2, TS + 3])


@pytest.mark.parametrize("codec", [1, 2, 3])
@pytest.mark.parametrize("magic", [0, 1])
def test_produce_compressed_wrapper(broker, conn, codec, magic):
    topic = f"wrap-{codec}-{magic}"
    msgs = [(b"key-%d" % i, b"value-%d " % i * 10) for i in range(30)]
    # Magic 0 inner offsets are absolute (and arbitrary here); magic 1 relative.
    offsets = [5000 + i for i in range(30)] if magic == 0 else None
    assert produce(conn, 2, topic, wrapper(magic, codec, msgs[:10], offsets[:10] if offsets else None))[:2] == (0, 0)
    assert produce(conn, 1, topic, wrapper(magic, codec, msgs[10:], offsets[10:] if offsets else None))[:2] == (0, 10)
    got = modern_read(broker, topic, 30)
    assert [(g[1], g[2]) for g in got] == msgs
    assert [g[0] for g in got] == list(range(30))


def test_produce_xerial_snappy_and_log_append_time_wrapper(broker, conn):
    inner = b"".join(message(1, i, b"k%d" % i, b"v%d" % i, ts=5) for i in range(3))
    raw = snappy.compress(inner)
    xer = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) + struct.pack(">i", len(raw)) + raw
    rec = message(1, 2, None, xer, attr=LAT | 2, ts=TS + 99)
    assert produce(conn, 2, "xer", rec)[0] == 0
    got = modern_read(broker, "xer", 3)
    assert [(g[1], g[3]) for g in got] == [(b"k0", TS + 99), (b"k1", TS + 99), (b"k2", TS + 99)]


def test_produce_rejections_match_kafka(broker, conn):
    good = message(1, 0, b"k", b"v")
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 1
    assert produce(conn, 2, "rej", bytes(bad_crc))[0] == CORRUPT_MESSAGE
    assert produce(conn, 2, "rej", good + message(0, 1, b"k", b"v"))[0] == INVALID_RECORD
    assert produce(conn, 2, "rej", good + wrapper(1, 1, [(b"a", b"b")]))[0] == INVALID_RECORD
    inner_compressed = message(1, 0, None, b"x", attr=1)
    assert produce(conn, 2, "rej",
                   message(1, 0, None, compress(1, inner_compressed, 1), attr=1))[0] == INVALID_RECORD
    assert produce(conn, 2, "rej", message(1, 0, None, b"zstd?", attr=4))[0] == \
        UNSUPPORTED_COMPRESSION_TYPE
    assert produce(conn, 2, "rej", message(1, 0, None, b"not gzip", attr=1))[0] == CORRUPT_MESSAGE
    # From v3 on only v2 batches are allowed.
    assert produce(conn, 3, "rej", good)[0] == INVALID_RECORD
    # A partial trailing entry is dropped, as Kafka does.
    assert produce(conn, 2, "rej", good + good[:-3])[:2] == (0, 0)
    assert produce(conn, 2, "rej", good[:-3])[0] == CORRUPT_MESSAGE
    assert modern_read(broker, "rej", 1)[0][:3] == (0, b"k", b"v")
    err, hw, _ = fetch(conn, 4, "rej", 0)
    assert (err, hw) == (0, 1)  # nothing else got in


def test_produce_acks0_gets_no_response(broker, conn):
    ensure_topic(conn, "acks0")
    conn.send(kwire.frame(kwire.request(0, 0, struct.pack(">hi", 0, 1000) + struct.pack(">i", 1)
                                        + kwire.string("acks0") + struct.pack(">i", 1)
                                        + struct.pack(">i", 0) + lbytes(message(0, 0, b"k", b"v")))))
    # The next answer on the connection is the ListOffsets one.
    assert list_offsets_v0(conn, "acks0", -1) == (0, [1])


def test_produce_v2_reports_log_append_time(broker_factory):
    b = broker_factory({"log.message.timestamp.type": "LogAppendTime"})
    c = kwire.Conn(b.bootstrap)
    err, base, lat = produce(c, 2, "lat", message(1, 0, b"k", b"v", ts=5))
    assert err == 0 and lat > TS
    msgs, _ = parse_set(fetch(c, 2, "lat", 0)[2])
    assert msgs[0][2] & LAT and msgs[0][3] == lat
    # A producer may not claim LogAppendTime on such a topic.
    assert produce(c, 2, "lat", message(1, 0, b"k", b"v", attr=LAT))[0] == 32  # INVALID_TIMESTAMP
    c.close()


# ---- fetch -----------------------------------------------------------------

def produce_modern(broker, topic, msgs, codec="none", headers=None):
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "compression.type": codec, "linger.ms": 20})
    for k, v in msgs:
        p.produce(topic, key=k, value=v, headers=headers, partition=0)
    assert p.flush(60) == 0


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_fetch_down_converts_per_version(broker, conn, codec):
    topic = "down-" + codec
    msgs = [(b"key-%d" % i, b"value-%d" % i * 5) for i in range(20)]
    produce_modern(broker, topic, msgs, codec, headers=[("h", b"dropped")])
    for version, magic in [(0, 0), (1, 0), (2, 1), (3, 1)]:
        err, hw, data = fetch(conn, version, topic, 5)
        assert (err, hw) == (0, 20)
        got, partial = parse_set(data)
        assert not partial
        assert [m[0] for m in got] == list(range(5, 20))
        assert {m[1] for m in got} == {magic}
        assert [(m[4], m[5]) for m in got] == msgs[5:]
        if magic == 1:
            assert all(m[3] > TS for m in got)
        # Compressed batches come back compressed with the same codec.
        first_attr = struct.unpack_from(">b", data, 17)[0]
        assert first_attr & 7 == {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3}[codec]


def test_fetch_limit_partial_message_v0_to_v2_whole_first_v3(broker, conn):
    big = b"x" * 5000
    produce_modern(broker, "lim", [(b"k", big), (b"k2", b"small")])
    for version in (0, 1, 2):
        err, hw, data = fetch(conn, version, "lim", 0, part_max=1000)
        assert err == 0 and len(data) == 1000
        assert parse_set(data) == ([], True)
    # v3 (KIP-74): the first message whole, even past both limits.
    err, hw, data = fetch(conn, 3, "lim", 0, part_max=1000, max_bytes=1000)
    got, partial = parse_set(data)
    assert [m[5] for m in got] == [big] and not partial
    # Whole messages up to the limit, no partial after them.
    err, hw, data = fetch(conn, 2, "lim", 0, part_max=len(message(1, 0, b"k", big)) + 10)
    got, partial = parse_set(data)
    assert [m[0] for m in got] == [0] and not partial


def test_fetch_big_compressed_batch_is_split_under_the_limit(broker, conn):
    import os
    msgs = [(b"k%d" % i, os.urandom(200)) for i in range(200)]
    produce_modern(broker, "split", msgs, "lz4")
    offset, seen = 0, []
    while offset < 200:
        err, hw, data = fetch(conn, 2, "split", offset, part_max=4096)
        assert err == 0 and 0 < len(data) <= 4096
        got, partial = parse_set(data)
        assert not partial and got
        assert [m[0] for m in got] == list(range(offset, offset + len(got)))
        seen += [(m[4], m[5]) for m in got]
        offset += len(got)
    assert seen == msgs


def test_fetch_zstd_is_unsupported_below_v10(broker_factory):
    b = broker_factory()
    # Compressible values: librdkafka sends a batch uncompressed when
    # compression would not shrink it.
    v = b"v" * 1000
    produce_modern(b, "zs", [(b"k", v)], "zstd")
    c = kwire.Conn(b.bootstrap)
    for version in (0, 2, 3, 4):
        assert fetch(c, version, "zs", 0)[0] == UNSUPPORTED_COMPRESSION_TYPE
    # Data before the first zstd batch is still served, then the error.
    produce_modern(b, "zs2", [(b"a", v)], "gzip")
    produce_modern(b, "zs2", [(b"b", v)], "zstd")
    for version in (2, 4):
        err, hw, data = fetch(c, version, "zs2", 0)
        assert err == 0 and hw == 2
        if version == 2:
            assert [m[0] for m in parse_set(data)[0]] == [0]
        assert fetch(c, version, "zs2", 1)[0] == UNSUPPORTED_COMPRESSION_TYPE
    c.close()
    # A topic configured compression.type=zstd: Kafka refuses old fetches outright.
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    fs = a.create_topics([NewTopic("zcfg", 1, 1, config={"compression.type": "zstd"})])
    fs["zcfg"].result(30)
    c = kwire.Conn(b.bootstrap)
    assert fetch(c, 4, "zcfg", 0)[0] == UNSUPPORTED_COMPRESSION_TYPE
    c.close()


def test_fetch_downconversion_disabled(broker, conn):
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    fs = a.create_topics([NewTopic("nodown", 1, 1,
                                   config={"message.downconversion.enable": "false"})])
    fs["nodown"].result(30)
    produce_modern(broker, "nodown", [(b"k", b"v")])
    assert fetch(conn, 3, "nodown", 0)[0] == UNSUPPORTED_VERSION
    assert fetch(conn, 4, "nodown", 0)[0] == 0


# ---- ListOffsets v0 ------------------------------------------------------------

def test_list_offsets_v0(broker, conn):
    for i in range(3):
        assert produce(conn, 0, "lo", message(0, 0, b"k", b"v%d" % i))[0] == 0
    assert list_offsets_v0(conn, "lo", -1) == (0, [3])
    assert list_offsets_v0(conn, "lo", -2) == (0, [0])
    assert list_offsets_v0(conn, "lo", -1, max_num=0) == (0, [])
    # Every record is older than "now + 1 hour": the end.
    import time
    assert list_offsets_v0(conn, "lo", int(time.time() * 1000) + 3600_000) == (0, [3])


# ---- OffsetCommit v0/v1, OffsetFetch v0 ------------------------------------------

def offset_commit(conn, version, group, topic, offset):
    body = kwire.string(group)
    if version >= 1:
        body += struct.pack(">i", -1) + kwire.string("")  # generation, member
    body += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iq", 0, offset)
    if version == 1:
        body += struct.pack(">q", -1)  # commit timestamp
    body += kwire.string("meta")
    resp = conn.roundtrip(kwire.request(8, version, body))
    p = 4 + 4
    (n,) = struct.unpack_from(">h", resp, p)
    p += 2 + n + 4
    return struct.unpack_from(">ih", resp, p)[1]


def offset_fetch_v0(conn, group, topic):
    body = kwire.string(group) + struct.pack(">i", 1) + kwire.string(topic)
    body += struct.pack(">ii", 1, 0)
    resp = conn.roundtrip(kwire.request(9, 0, body))
    p = 4 + 4
    (n,) = struct.unpack_from(">h", resp, p)
    p += 2 + n + 4
    part, off = struct.unpack_from(">iq", resp, p)
    p += 12
    (n,) = struct.unpack_from(">h", resp, p)
    meta = resp[p + 2:p + 2 + max(n, 0)]
    (err,) = struct.unpack_from(">h", resp, p + 2 + max(n, 0))
    return err, off, meta


@pytest.mark.parametrize("version", [0, 1])
def test_offset_commit_old_versions_and_offset_fetch_v0(broker, conn, version):
    """kafka-python 0.9's SimpleConsumer (v0, to any broker) and pykafka
    (v1, simple generation -1) commit without joining; the offsets land in
    the group store that modern clients read."""
    ensure_topic(conn, "oc")
    group = f"oc-{version}"
    assert offset_commit(conn, version, group, "oc", 42) == 0
    assert offset_fetch_v0(conn, group, "oc") == (0, 42, b"meta")
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    assert c.committed([TopicPartition("oc", 0)], timeout=30)[0].offset == 42
    c.close()
