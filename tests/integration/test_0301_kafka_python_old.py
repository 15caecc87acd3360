"""kafka-python 2.0.2 forced to old broker versions: api_version=(0, 9) (Produce
v1 with magic 0, Fetch v1, ListOffsets v0, Metadata v0, JoinGroup v0) and
(0, 10) (Produce v2 with magic 1, Fetch v2), every codec the old formats
allow -- lz4 at (0, 9) uses the Kafka 0.8 framing. What they write is read
back byte for byte by librdkafka (confluent-kafka, magic 2) and the other
way round."""
import os

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition as CTP
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

DEADLINE_MS = 60000
API_VERSIONS = [(0, 9), (0, 10)]
CODECS = [None, "gzip", "snappy", "lz4"]


def dataset(n, seed):
    """Binary keys and values, some null, sizes 0..~2 KiB."""
    rnd = __import__("random").Random(seed)
    out = []
    for i in range(n):
        key = None if i % 11 == 3 else b"k%d-" % i + bytes(rnd.getrandbits(8) for _ in range(i % 7))
        value = None if i % 13 == 5 and key is not None else bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 2048)))
        out.append((key, value))
    return out


def old_produce(broker, api, codec, topic, msgs):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api, acks="all",
                      compression_type=codec, linger_ms=20)
    futures = [p.send(topic, key=k, value=v, partition=0) for k, v in msgs]
    p.flush()
    metas = [f.get(timeout=60) for f in futures]
    p.close()
    return metas


def old_consume(broker, api, topic, n, start=0, **kw):
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=api,
                      enable_auto_commit=False, consumer_timeout_ms=DEADLINE_MS, **kw)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, start)
    got = []
    for m in c:
        got.append(m)
        if len(got) == n:
            break
    c.close()
    assert len(got) == n, f"got {len(got)} of {n}"
    return got


def modern_consume(broker, topic, n):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "modern",
                  "enable.auto.commit": False})
    c.assign([CTP(topic, 0, 0)])
    got = []
    while len(got) < n:
        m = c.poll(30)
        assert m is not None, f"timed out after {len(got)} of {n}"
        assert m.error() is None, m.error()
        got.append((m.offset(), m.key(), m.value()))
    c.close()
    return got


def modern_produce(broker, topic, msgs, codec):
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "compression.type": codec, "linger.ms": 20})
    for k, v in msgs:
        p.produce(topic, key=k, value=v, partition=0)
    assert p.flush(60) == 0


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("api", API_VERSIONS, ids=["0.9", "0.10"])
def test_old_kafka_python_round_trip_and_modern_reader(broker, api, codec):
    if codec == "lz4" and api == (0, 9):
        # kafka-python writes Kafka 0.8's lz4 framing with the xxhash module.
        pytest.importorskip("xxhash")
    topic = "kpold-%d%d-%s" % (api + (codec,))
    msgs = dataset(150, 1)
    metas = old_produce(broker, api, codec, topic, msgs)
    assert [m.offset for m in metas] == list(range(150))
    # magic 0 carries no timestamp; magic 1 does.
    assert all((m.timestamp == -1) == (api == (0, 9)) for m in metas)
    got = old_consume(broker, api, topic, 150)
    assert [(m.offset, m.key, m.value) for m in got] == [(i, k, v) for i, (k, v) in enumerate(msgs)]
    assert modern_consume(broker, topic, 150) == [(i, k, v) for i, (k, v) in enumerate(msgs)]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("api", API_VERSIONS, ids=["0.9", "0.10"])
def test_modern_writer_old_kafka_python_reader(broker, api, codec):
    topic = "kpnew-%d%d-%s" % (api + (codec,))
    msgs = dataset(300, 2)
    modern_produce(broker, topic, msgs, codec)
    # Start in the middle of a batch: records before it are not returned.
    got = old_consume(broker, api, topic, 290, start=10)
    assert [(m.offset, m.key, m.value) for m in got] == \
        [(i, k, v) for i, (k, v) in enumerate(msgs)][10:]


def test_old_kafka_python_seek_and_group(broker):
    """ListOffsets v0 behind seek_to_beginning/end; a consumer group at
    (0, 9): GroupCoordinator v0, JoinGroup v0, SyncGroup v0, OffsetCommit v2,
    OffsetFetch v1."""
    api = (0, 9)
    msgs = dataset(40, 3)
    old_produce(broker, api, "gzip", "kpgrp", msgs)
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=api)
    tp = TopicPartition("kpgrp", 0)
    c.assign([tp])
    c.seek_to_end(tp)
    assert c.position(tp) == 40
    c.seek_to_beginning(tp)
    assert c.position(tp) == 0
    c.close()

    c = KafkaConsumer("kpgrp", bootstrap_servers=broker.bootstrap, api_version=api,
                      group_id="kp09", auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=DEADLINE_MS)
    got = []
    for m in c:
        got.append((m.key, m.value))
        if len(got) == 30:
            break
    c.commit()
    c.close()
    assert got == msgs[:30]
    # librdkafka sees the committed offset (OffsetFetch v7 on the same store).
    mc = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "kp09"})
    committed = mc.committed([CTP("kpgrp", 0)], timeout=30)
    mc.close()
    assert committed[0].offset == 30
    # A new member of the group resumes there.
    c = KafkaConsumer("kpgrp", bootstrap_servers=broker.bootstrap, api_version=api,
                      group_id="kp09", enable_auto_commit=False, consumer_timeout_ms=DEADLINE_MS)
    rest = []
    for m in c:
        rest.append((m.offset, m.key, m.value))
        if len(rest) == 10:
            break
    c.close()
    assert rest == [(30 + i, k, v) for i, (k, v) in enumerate(msgs[30:])]


def test_old_kafka_python_large_message_needs_bigger_fetch(broker):
    """A message larger than max_partition_fetch_bytes: Fetch v1 returns a
    partial message, which kafka-python turns into RecordTooLargeError as it
    does with Kafka -- rather than silently spinning."""
    from kafka.consumer.fetcher import RecordTooLargeError

    big = os.urandom(20000)
    modern_produce(broker, "kpbig", [(b"k", big)], "none")
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=(0, 9),
                      max_partition_fetch_bytes=4096, consumer_timeout_ms=DEADLINE_MS)
    tp = TopicPartition("kpbig", 0)
    c.assign([tp])
    c.seek(tp, 0)
    with pytest.raises(RecordTooLargeError):
        c.poll(timeout_ms=DEADLINE_MS)
    c.close()
    got = old_consume(broker, (0, 9), "kpbig", 1, max_partition_fetch_bytes=32768)
    assert got[0].value == big
