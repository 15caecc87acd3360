"""compression.type (topic and broker) recompresses produced batches with the
configured codec and level, `producer` keeps the client's codec; fetched
batches carry that codec and kcat / confluent-kafka read the records back.
min.insync.replicas above the single broker's ISR refuses acks=all with
NOT_ENOUGH_REPLICAS (19) and nothing is written."""
import struct
import subprocess

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kwire

DEADLINE_S = 60
CODECS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def create(bootstrap, name, **config):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(name, 1, 1, config=config)]).values():
        f.result(timeout=DEADLINE_S)


def produce(bootstrap, topic, values, codec):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
                  "linger.ms": 50})
    for i, v in enumerate(values):
        p.produce(topic, key=f"k{i}".encode(), value=v)
    assert p.flush(DEADLINE_S) == 0


def fetch_batches(bootstrap, topic):
    """Raw Fetch v10 (zstd needs v10+) from offset 0: [(attributes, batch bytes)]."""
    body = struct.pack(">iiiibii", -1, 100, 1, 1 << 24, 0, 0, -1)
    body += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iiqqi", 0, -1, 0, -1, 1 << 24)
    body += struct.pack(">i", 0)  # forgotten topics
    c = kwire.Conn(bootstrap)
    resp = c.roundtrip(kwire.request(1, 10, body))
    c.close()
    pos = 4 + 4 + 2 + 4 + 4  # correlation id, throttle, error, session, topics count
    (n,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + n + 4  # topic name, partitions count
    _, err = struct.unpack_from(">ih", resp, pos)
    assert err == 0
    pos += 4 + 2 + 8 + 8 + 8
    (naborted,) = struct.unpack_from(">i", resp, pos)
    pos += 4 + max(naborted, 0) * 16
    (size,) = struct.unpack_from(">i", resp, pos)
    data = resp[pos + 4:pos + 4 + size]
    out, at = [], 0
    while at + 61 <= len(data):
        (blen,) = struct.unpack_from(">i", data, at + 8)
        (attrs,) = struct.unpack_from(">h", data, at + 21)
        out.append((attrs, data[at:at + 12 + blen]))
        at += 12 + blen
    return out


def consume_values(bootstrap, topic, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cmp-reader",
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    while len(got) < n:
        m = c.poll(DEADLINE_S)
        assert m is not None
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            break
        got.append(m.value())
    c.close()
    return got


def kcat_values(bootstrap, topic):
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-f", "%s\n"], capture_output=True, timeout=DEADLINE_S, check=True)
    return out.stdout.decode().splitlines()


VALUES = [(f"value {i} " * 20).encode() for i in range(200)]


@pytest.mark.parametrize("topic_codec,producer_codec", [
    ("gzip", "none"), ("snappy", "gzip"), ("lz4", "none"), ("zstd", "lz4"),
    ("uncompressed", "gzip"), ("producer", "lz4"), ("producer", "none"),
])
def test_topic_compression_type_sets_the_stored_codec(broker, topic_codec, producer_codec):
    topic = f"c-{topic_codec}-{producer_codec}"
    create(broker.bootstrap, topic, **{"compression.type": topic_codec})
    produce(broker.bootstrap, topic, VALUES, producer_codec)
    want = CODECS["uncompressed" if producer_codec == "none" else producer_codec] \
        if topic_codec == "producer" else CODECS[topic_codec]
    batches = fetch_batches(broker.bootstrap, topic)
    assert batches
    assert {a & 7 for a, _ in batches} == {want}
    assert consume_values(broker.bootstrap, topic, len(VALUES)) == VALUES
    assert kcat_values(broker.bootstrap, topic) == [v.decode() for v in VALUES]


def test_broker_compression_type_is_the_topic_default(broker_factory):
    broker = broker_factory({"compression.type": "zstd"})
    create(broker.bootstrap, "bz")
    produce(broker.bootstrap, "bz", VALUES, "none")
    assert {a & 7 for a, _ in fetch_batches(broker.bootstrap, "bz")} == {4}
    assert consume_values(broker.bootstrap, "bz", len(VALUES)) == VALUES


LEVEL_VALUES = [bytes((i * 7919 + j * 31) % 251 % 16 + 65 for j in range(600)) for i in range(300)]


@pytest.mark.parametrize("codec,low,high", [("gzip", "1", "9"), ("zstd", "1", "19"),
                                            ("lz4", "1", "17")])
def test_compression_level_is_applied(broker, codec, low, high):
    sizes = {}
    for level in (low, high):
        topic = f"lvl-{codec}-{level}"
        create(broker.bootstrap, topic,
               **{"compression.type": codec, f"compression.{codec}.level": level})
        produce(broker.bootstrap, topic, LEVEL_VALUES, "none")
        batches = fetch_batches(broker.bootstrap, topic)
        assert {a & 7 for a, _ in batches} == {CODECS[codec]}
        sizes[level] = sum(len(b) for _, b in batches)
        assert consume_values(broker.bootstrap, topic, len(LEVEL_VALUES)) == LEVEL_VALUES
    assert sizes[high] < sizes[low], sizes


def produce_raw(bootstrap, topic, acks):
    c = kwire.Conn(bootstrap)
    resp = c.roundtrip(kwire.produce_v3(topic, 0, kwire.batch([b"a", b"b"]), acks=acks))
    c.close()
    pos = 4 + 4  # correlation id, topics
    (n,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + n + 4
    _, err, base = struct.unpack_from(">ihq", resp, pos)
    return err, base


def test_min_insync_replicas_above_the_isr_refuses_acks_all(broker):
    create(broker.bootstrap, "isr2", **{"min.insync.replicas": "2"})
    create(broker.bootstrap, "isr1", **{"min.insync.replicas": "1"})
    assert produce_raw(broker.bootstrap, "isr2", -1)[0] == 19  # NOT_ENOUGH_REPLICAS
    assert produce_raw(broker.bootstrap, "isr2", 1) == (0, 0)  # Kafka checks acks=all only
    assert produce_raw(broker.bootstrap, "isr1", -1) == (0, 0)
    # the refused batch was not written
    assert consume_values(broker.bootstrap, "isr2", 10) == [b"a", b"b"]
