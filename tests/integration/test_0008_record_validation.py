"""Record validation on Produce (docs/broker.md, "Record validation"): batches
with a valid CRC but malformed records, out-of-range timestamps, or no keys
for a compacted topic get Kafka's error code and leave the log untouched: the
log end offset stays, the next valid produce gets the next offset, and a
consumer reads exactly the valid records."""
import struct
import time
import zlib

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kwire

DEADLINE_S = 60
CORRUPT_MESSAGE = 2
INVALID_TIMESTAMP = 32
INVALID_RECORD = 87
HOUR_MS = 3_600_000
FIFTY_YEARS_MS = 50 * 365 * 24 * HOUR_MS


# ---- raw records and batches, lies included -------------------------------

def body(offset_delta, key, value, ts_delta=0, headers=b"\x00"):
    b = bytes([0]) + kwire.varint(ts_delta) + kwire.varint(offset_delta)
    b += kwire.varint(-1) if key is None else kwire.varint(len(key)) + key
    b += kwire.varint(-1) if value is None else kwire.varint(len(value)) + value
    return b + headers


def rec(offset_delta, value=b"v", key=None, ts_delta=0, len_adjust=0):
    b = body(offset_delta, key, value, ts_delta)
    return kwire.varint(len(b) + len_adjust) + b


def framed(raw_body):
    return kwire.varint(len(raw_body)) + raw_body


def batch(records, count, last_delta=None, codec=0, base_ts=None, max_ts=None, attrs=0,
          base_offset=0, producer_id=-1, base_sequence=-1):
    """A magic-2 batch around an (uncompressed) records section; correct CRC."""
    now = int(time.time() * 1000)
    base_ts = now if base_ts is None else base_ts
    max_ts = base_ts if max_ts is None else max_ts
    last_delta = count - 1 if last_delta is None else last_delta
    if codec == 1:
        z = zlib.compressobj(wbits=31)
        records = z.compress(records) + z.flush()
    after_crc = struct.pack(">hiqqqhii", codec | attrs, last_delta, base_ts, max_ts,
                            producer_id, -1, base_sequence, count) + records
    body_ = struct.pack(">iB", -1, 2) + struct.pack(">I", kwire.crc32c(after_crc)) + after_crc
    return struct.pack(">qi", base_offset, len(body_)) + body_


def good(n):
    return batch(b"".join(rec(i, b"ok-%d" % i) for i in range(n)), n)


# ---- Produce v3 / v8 on the wire ------------------------------------------

def produce(conn, topic, records, version=8):
    body_ = kwire.string(None) + struct.pack(">hi", -1, 30000)
    body_ += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
    body_ += struct.pack(">ii", 0, len(records)) + records
    resp = conn.roundtrip(kwire.request(0, version, body_))
    off = 4 + 4
    (nlen,) = struct.unpack(">h", resp[off:off + 2])
    off += 2 + nlen + 4
    part, err, base = struct.unpack(">ihq", resp[off:off + 14])
    off += 14 + 8 + 8  # log append time, log start offset
    rec_errors, message = [], None
    if version >= 8:
        (n,) = struct.unpack(">i", resp[off:off + 4])
        off += 4
        for _ in range(max(n, 0)):
            idx, mlen = struct.unpack(">ih", resp[off:off + 6])
            off += 6 + max(mlen, 0)
            rec_errors.append(idx)
        (mlen,) = struct.unpack(">h", resp[off:off + 2])
        message = resp[off + 2:off + 2 + mlen].decode() if mlen >= 0 else None
    assert part == 0
    return err, base, rec_errors, message


def create_topic(bootstrap, name, config=None):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(name, 1, 1, config=config or {})]).values():
        f.result(timeout=DEADLINE_S)


def high_watermark(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "hw-probe"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=DEADLINE_S)[1]
    finally:
        c.close()


def consume_all(bootstrap, topic, expect):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, 0)])
    got, end = [], time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < end:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                if len(got) >= expect:
                    break
                continue
            got.append(m)
    finally:
        c.close()
    return got


# ---- the malformed cases ---------------------------------------------------

SIX_BYTE_VARINT = b"\x80\x80\x80\x80\x80\x00"

MALFORMED = {
    # name: (records bytes, expected code)
    "record-length-past-batch-end":
        (batch(rec(0) + rec(1, len_adjust=5), 2), INVALID_RECORD),
    "record-length-short-of-fields":
        (batch(rec(0) + rec(1, b"vvvv", len_adjust=-2), 2), INVALID_RECORD),
    "record-length-longer-than-fields":
        (batch(rec(0, len_adjust=1) + b"\x00" + rec(1), 2), INVALID_RECORD),
    "bad-varint":
        (batch(rec(0) + framed(bytes([0]) + kwire.varint(0) + SIX_BYTE_VARINT
                               + kwire.varint(-1) * 2 + b"\x00"), 2), INVALID_RECORD),
    "cut-length-varint": (batch(rec(0) + b"\x80", 2), INVALID_RECORD),
    "last-offset-delta-too-big": (batch(rec(0) + rec(1), 2, last_delta=5), INVALID_RECORD),
    "last-offset-delta-too-small": (batch(rec(0) + rec(1), 2, last_delta=0), INVALID_RECORD),
    "offset-deltas-reversed": (batch(rec(1) + rec(0), 2), INVALID_RECORD),
    "offset-deltas-repeated": (batch(rec(0) + rec(0), 2), INVALID_RECORD),
    "offset-deltas-gap": (batch(rec(0) + rec(2) + rec(3), 3), INVALID_RECORD),
    "absurd-header-count":
        (batch(rec(0) + framed(body(1, None, b"v", headers=kwire.varint(10**6) + b"\x00\x00")),
               2), INVALID_RECORD),
    "negative-header-count":
        (batch(rec(0) + framed(body(1, None, b"v", headers=kwire.varint(-4))), 2),
         INVALID_RECORD),
    "null-header-key":
        (batch(rec(0) + framed(body(1, None, b"v", headers=kwire.varint(1) + kwire.varint(-1)
                                    + kwire.varint(-1))), 2), INVALID_RECORD),
    "key-length-minus-two":
        (batch(rec(0) + framed(bytes([0]) + kwire.varint(0) + kwire.varint(1) + kwire.varint(-2)
                               + kwire.varint(-1) + b"\x00"), 2), INVALID_RECORD),
    "value-length-minus-nine":
        (batch(rec(0) + framed(bytes([0]) + kwire.varint(0) + kwire.varint(1) + kwire.varint(-1)
                               + kwire.varint(-9) + b"\x00"), 2), INVALID_RECORD),
    "fewer-records-than-count": (batch(rec(0), 2), INVALID_RECORD),
    "more-records-than-count": (batch(rec(0) + rec(1) + rec(2), 2), INVALID_RECORD),
    "trailing-bytes-in-batch": (batch(rec(0) + rec(1) + b"\x00\x00", 2), INVALID_RECORD),
    "zero-record-count": (batch(b"", 0, last_delta=-1), INVALID_RECORD),
    "gzip-malformed-record": (batch(rec(0) + rec(1, len_adjust=3), 2, codec=1), INVALID_RECORD),
    "gzip-offset-gap": (batch(rec(0) + rec(5), 2, codec=1), INVALID_RECORD),
    "base-offset-not-zero": (batch(rec(0), 1, base_offset=100), INVALID_RECORD),
    "control-batch": (batch(rec(0), 1, attrs=0x20), INVALID_RECORD),
    "producer-id-without-sequence": (batch(rec(0), 1, producer_id=7), INVALID_RECORD),
    "producer-claims-log-append-time": (batch(rec(0), 1, attrs=0x08), INVALID_TIMESTAMP),
    "two-batches": (batch(rec(0), 1) + batch(rec(0), 1), INVALID_RECORD),
    "batch-and-a-cut-one": (batch(rec(0), 1) + batch(rec(0), 1)[:30], CORRUPT_MESSAGE),
}


def not_gzip_batch():
    """A batch flagged gzip whose records section is not a gzip stream."""
    raw = bytearray(batch(b"definitely not a gzip stream", 1))
    raw[21:23] = struct.pack(">h", 1)
    raw[17:21] = struct.pack(">I", kwire.crc32c(bytes(raw[21:])))
    return bytes(raw)


MALFORMED["gzip-not-gzip"] = (not_gzip_batch(), CORRUPT_MESSAGE)


def bad_crc_and_bad_records():
    raw = bytearray(MALFORMED["record-length-past-batch-end"][0])
    raw[17] ^= 0xFF
    return bytes(raw)


MALFORMED["bad-crc-over-bad-records"] = (bad_crc_and_bad_records(), CORRUPT_MESSAGE)


def test_malformed_batches_get_kafka_codes_and_store_nothing(broker):
    create_topic(broker.bootstrap, "mal")
    c = kwire.Conn(broker.bootstrap)
    expected_values = []
    next_offset = 0
    for name in sorted(MALFORMED):
        records, code = MALFORMED[name]
        for version in (3, 8):
            err, _, rec_errors, message = produce(c, "mal", records, version)
            assert err == code, (name, version, err)
            if version == 8:
                assert message, name  # a reason the client can log
                assert rec_errors == [], name  # structural: no per-record blame
        assert high_watermark(broker.bootstrap, "mal") == next_offset, name
        # The log is intact: the next valid batch lands at the next offset.
        err, base, _, _ = produce(c, "mal", good(2))
        assert (err, base) == (0, next_offset), name
        next_offset += 2
        expected_values += [b"ok-0", b"ok-1"]
    c.close()
    got = consume_all(broker.bootstrap, "mal", len(expected_values))
    assert [m.value() for m in got] == expected_values
    assert [m.offset() for m in got] == list(range(next_offset))


def test_record_far_in_the_future_is_invalid_timestamp(broker):
    create_topic(broker.bootstrap, "ts", {"message.timestamp.after.max.ms": str(HOUR_MS)})
    c = kwire.Conn(broker.bootstrap)
    now = int(time.time() * 1000)
    # An honest-looking header (base and max = now); record 1 is 50 years ahead.
    bad = batch(rec(0) + rec(1, ts_delta=FIFTY_YEARS_MS) + rec(2), 3, base_ts=now, max_ts=now)
    err, _, rec_errors, message = produce(c, "ts", bad)
    assert (err, rec_errors) == (INVALID_TIMESTAMP, [1])
    assert "timestamp" in message
    assert produce(c, "ts", bad, version=3)[0] == INVALID_TIMESTAMP
    assert high_watermark(broker.bootstrap, "ts") == 0
    # Within the hour: accepted at offset 0.
    ok = batch(rec(0) + rec(1, ts_delta=HOUR_MS // 2), 2, base_ts=now, max_ts=now + HOUR_MS // 2)
    assert produce(c, "ts", ok)[:2] == (0, 0)
    c.close()
    got = consume_all(broker.bootstrap, "ts", 2)
    assert [m.timestamp()[1] for m in got] == [now, now + HOUR_MS // 2]


def test_timestamp_limits_from_broker_config_and_deprecated_difference(broker_factory):
    b = broker_factory({"log.message.timestamp.before.max.ms": str(HOUR_MS)})
    create_topic(b.bootstrap, "old")  # inherits the broker's before limit
    create_topic(b.bootstrap, "diff", {"message.timestamp.difference.max.ms": str(HOUR_MS),
                                       "message.timestamp.before.max.ms": str(2 ** 62)})
    create_topic(b.bootstrap, "lat", {"message.timestamp.type": "LogAppendTime",
                                      "message.timestamp.after.max.ms": "0"})
    c = kwire.Conn(b.bootstrap)
    now = int(time.time() * 1000)
    past = batch(rec(0), 1, base_ts=now - 2 * HOUR_MS)
    future = batch(rec(0), 1, base_ts=now + 2 * HOUR_MS)
    assert produce(c, "old", past)[0] == INVALID_TIMESTAMP
    assert produce(c, "old", future)[:2] == (0, 0)
    # difference.max.ms (deprecated) fills in only the limit left at its
    # default: after here; before was set explicitly and wins.
    assert produce(c, "diff", future)[0] == INVALID_TIMESTAMP
    assert produce(c, "diff", past)[:2] == (0, 0)
    # LogAppendTime overwrites: the producer's timestamp is not checked.
    far = batch(rec(0), 1, base_ts=now + FIFTY_YEARS_MS)
    assert produce(c, "lat", far)[:2] == (0, 0)
    c.close()
    (m,) = consume_all(b.bootstrap, "lat", 1)
    assert abs(m.timestamp()[1] - now) < FIFTY_YEARS_MS // 2


def test_lying_max_timestamp_is_corrected(broker):
    """The batch header claims a maxTimestamp 50 years ahead while every
    record is honest: the stored batch carries its records' real maximum,
    so the time index does not point into the future."""
    create_topic(broker.bootstrap, "lie")
    c = kwire.Conn(broker.bootstrap)
    now = int(time.time() * 1000)
    lying = batch(rec(0) + rec(1, ts_delta=10), 2, base_ts=now, max_ts=now + FIFTY_YEARS_MS)
    assert produce(c, "lie", lying)[:2] == (0, 0)
    c.close()
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "t"})
    res = probe.offsets_for_times([TopicPartition("lie", 0, now + HOUR_MS)], timeout=DEADLINE_S)
    probe.close()
    assert res[0].offset in (-1, 2)  # nothing at or after now + 1h


def test_compacted_topic_refuses_records_without_key(broker):
    create_topic(broker.bootstrap, "cmp", {"cleanup.policy": "compact"})
    c = kwire.Conn(broker.bootstrap)
    mixed = batch(rec(0, key=b"k0") + rec(1, key=None) + rec(2, key=b"k2") + rec(3, key=None), 4)
    err, _, rec_errors, _ = produce(c, "cmp", mixed)
    assert (err, rec_errors) == (INVALID_RECORD, [1, 3])
    assert produce(c, "cmp", mixed, version=3)[0] == INVALID_RECORD
    gz = batch(rec(0, key=None), 1, codec=1)
    assert produce(c, "cmp", gz)[0] == INVALID_RECORD
    assert high_watermark(broker.bootstrap, "cmp") == 0
    keyed = batch(rec(0, b"a", key=b"k0") + rec(1, b"b", key=b"k1"), 2, codec=1)
    assert produce(c, "cmp", keyed)[:2] == (0, 0)
    c.close()
    got = consume_all(broker.bootstrap, "cmp", 2)
    assert [(m.key(), m.value()) for m in got] == [(b"k0", b"a"), (b"k1", b"b")]
