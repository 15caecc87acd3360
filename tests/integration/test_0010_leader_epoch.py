"""OffsetsForLeaderEpoch (API 23) through raw frames, every version 0..4:
after batches produced at the single node's epoch 0, the epoch ends at the
log end; an unknown epoch answers UNDEFINED (-1/-1) without error; a
CurrentLeaderEpoch newer than ours is UNKNOWN_LEADER_EPOCH (75); unknown
topics and partitions are UNKNOWN_TOPIC_OR_PARTITION (3). Answers across
several epochs are in tests/unit/test_broker_pstate.c (deltas move the
epoch in-process)."""
import struct

import pytest

import kwire

UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_LEADER_EPOCH = 75


@pytest.fixture
def conn(broker):
    c = kwire.Conn(broker.bootstrap)
    yield c
    c.close()


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def read_uvarint(buf, pos):
    shift = v = 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def epoch_request(version, topics, replica_id=-1, corr=9):
    """topics: [(name, [(partition, current_epoch, epoch)])]."""
    flex = version >= 4
    body = struct.pack(">i", replica_id) if version >= 3 else b""
    body += uvarint(len(topics) + 1) if flex else struct.pack(">i", len(topics))
    for name, parts in topics:
        n = name.encode()
        body += (uvarint(len(n) + 1) if flex else struct.pack(">h", len(n))) + n
        body += uvarint(len(parts) + 1) if flex else struct.pack(">i", len(parts))
        for p, current, epoch in parts:
            body += struct.pack(">i", p)
            if version >= 2:
                body += struct.pack(">i", current)
            body += struct.pack(">i", epoch)
            body += b"\x00" if flex else b""
        body += b"\x00" if flex else b""
    body += b"\x00" if flex else b""
    hdr = struct.pack(">hhi", 23, version, corr) + kwire.string("raw-test")
    return hdr + (b"\x00" if flex else b"") + body


def epoch_response(version, resp, corr=9):
    """-> {(topic, partition): (error, leader_epoch, end_offset)}"""
    flex = version >= 4
    (got_corr,) = struct.unpack(">i", resp[:4])
    assert got_corr == corr
    pos = 4
    if flex:
        assert resp[pos] == 0
        pos += 1
    if version >= 2:
        (throttle,) = struct.unpack(">i", resp[pos:pos + 4])
        assert throttle == 0
        pos += 4

    def count():
        nonlocal pos
        if flex:
            n, pos = read_uvarint(resp, pos)
            return n - 1
        (n,) = struct.unpack(">i", resp[pos:pos + 4])
        pos += 4
        return n

    out = {}
    for _ in range(count()):
        if flex:
            n, pos = read_uvarint(resp, pos)
            n -= 1
        else:
            (n,) = struct.unpack(">h", resp[pos:pos + 2])
            pos += 2
        name = resp[pos:pos + n].decode()
        pos += n
        for _ in range(count()):
            err, part = struct.unpack(">hi", resp[pos:pos + 6])
            pos += 6
            epoch = -1
            if version >= 1:
                (epoch,) = struct.unpack(">i", resp[pos:pos + 4])
                pos += 4
            (end,) = struct.unpack(">q", resp[pos:pos + 8])
            pos += 8
            if flex:
                assert resp[pos] == 0
                pos += 1
            out[(name, part)] = (err, epoch, end)
        if flex:
            assert resp[pos] == 0
            pos += 1
    if flex:
        assert resp[pos] == 0
        pos += 1
    assert pos == len(resp)
    return out


def produce_ok(conn, topic, values):
    """Produce v3, after a Metadata v4 that auto-creates the topic."""
    conn.roundtrip(kwire.request(3, 4, struct.pack(">i", 1) + kwire.string(topic) + b"\x01"))
    resp = conn.roundtrip(kwire.produce_v3(topic, 0, kwire.batch(values)))
    # corr, [topic: name, [partition, error, base offset, log append time]], throttle
    pos = 4 + 4
    (n,) = struct.unpack(">h", resp[pos:pos + 2])
    pos += 2 + n + 4
    _part, err = struct.unpack(">ih", resp[pos:pos + 6])
    assert err == 0


def test_api_versions_advertise_offsets_for_leader_epoch(conn):
    resp = conn.roundtrip(kwire.request(18, 0, b""))
    _corr, err, n = struct.unpack(">ihi", resp[:10])
    assert err == 0
    apis = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i])
        apis[key] = (lo, hi)
    assert apis[23] == (0, 4)


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_offsets_for_leader_epoch_every_version(broker, conn, version):
    topic = f"epochs-v{version}"
    # Two batches (3 + 2 records) at epoch 0: LEO 5.
    for values in ([b"a", b"b", b"c"], [b"d", b"e"]):
        produce_ok(conn, topic, values)
    got = epoch_response(version, conn.roundtrip(epoch_request(version, [
        (topic, [(0, -1, 0), (0, -1, 1), (0, -1, -1), (7, -1, 0)]),
        ("no-such-topic", [(0, -1, 0)]),
    ])))
    # (the map keeps the last of the repeated partition 0; asked one by one below)
    assert got[(topic, 7)] == (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
    assert got[("no-such-topic", 0)] == (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)

    def one(current, epoch):
        return epoch_response(version, conn.roundtrip(
            epoch_request(version, [(topic, [(0, current, epoch)])])))[(topic, 0)]

    # v0 carries no LeaderEpoch in the answer (read as -1 here).
    assert one(-1, 0) == (0, 0 if version >= 1 else -1, 5)
    assert one(-1, 1) == (0, -1, -1)
    assert one(-1, -1) == (0, -1, -1)
    if version >= 2:
        assert one(0, 0) == (0, 0 if version >= 1 else -1, 5)
        assert one(1, 0) == (UNKNOWN_LEADER_EPOCH, -1, -1)


def test_offsets_for_leader_epoch_follower_replica_id(broker, conn):
    """A follower (ReplicaId >= 0) is answered by the leader like a consumer."""
    topic = "epochs-follower"
    produce_ok(conn, topic, [b"x"])
    got = epoch_response(3, conn.roundtrip(epoch_request(3, [(topic, [(0, 0, 0)])],
                                                         replica_id=2)))
    assert got[(topic, 0)] == (0, 0, 1)
