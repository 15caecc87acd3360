"""Log compaction (cleanup.policy=compact) end to end with confluent-kafka:
a compacted topic written with 10 keys x 10,000 updates shrinks to about
the latest value per key, every key keeps its latest value, tombstones go
after delete.retention.ms, and the cleaned log survives a kill -9 restart."""
import subprocess
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

DEADLINE_S = 120
CLEANER = {"log.cleaner.backoff.ms": "100"}


def create(bootstrap, name, **config):
    a = AdminClient({"bootstrap.servers": bootstrap})
    cfg = {"cleanup.policy": "compact", "segment.bytes": "16384",
           "min.cleanable.dirty.ratio": "0.01", **config}
    for f in a.create_topics([NewTopic(name, 1, 1, config=cfg)]).values():
        f.result(timeout=DEADLINE_S)


def produce(bootstrap, topic, items):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.num.messages": 200})
    for k, v in items:
        while True:
            try:
                p.produce(topic, key=k, value=v)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(DEADLINE_S) == 0


def read_all(bootstrap, topic):
    """Every record from the log start to the high watermark, in order."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-reader",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            break
        got.append((m.offset(), m.key(), m.value()))
    c.close()
    return got


def read_kafka_python(bootstrap, topic):
    from kafka import KafkaConsumer, TopicPartition as KTP

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    c.assign([KTP(topic, 0)])
    c.seek_to_beginning()
    got = [(m.offset, m.key, m.value) for m in c]
    c.close()
    return got


def read_kcat(bootstrap, topic):
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-f", "%o %k %s\n"], capture_output=True, timeout=DEADLINE_S,
                         check=True).stdout.decode().splitlines()
    return [(int(o), k.encode(), v.encode()) for o, k, v in (line.split(" ", 2) for line in out)]


def latest_per_key(records):
    out = {}
    for _, k, v in records:
        out[k] = v
    return out


def test_compacted_topic_shrinks_to_latest_value_per_key(broker_factory):
    broker = broker_factory(CLEANER)
    create(broker.bootstrap, "cmp")
    items = [(f"key{i % 10}".encode(), f"value-{i}".encode()) for i in range(100_000)]
    produce(broker.bootstrap, "cmp", items)
    want = latest_per_key([(0, k, v) for k, v in items])

    def shrunk():
        recs = read_all(broker.bootstrap, "cmp")
        offsets = [o for o, _, _ in recs]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        assert latest_per_key(recs) == want  # at every moment, not only at the end
        return recs if len(recs) < 2_000 else None

    recs = wait_until_value(shrunk, DEADLINE_S)
    assert len(recs) >= 10
    # other clients read the cleaned batches (offset gaps, thinned batches)
    assert latest_per_key(read_kafka_python(broker.bootstrap, "cmp")) == want
    assert latest_per_key(read_kcat(broker.bootstrap, "cmp")) == want
    # the cleaned log is what a restart after kill -9 serves too
    broker.kill()
    broker.start()
    again = read_all(broker.bootstrap, "cmp")
    assert latest_per_key(again) == want
    assert len(again) <= len(recs) + 10


def test_tombstones_disappear_after_delete_retention(broker_factory):
    broker = broker_factory(CLEANER)
    create(broker.bootstrap, "tomb", **{"delete.retention.ms": "0"})
    items = [(f"key{i % 20}".encode(), f"v{i}".encode()) for i in range(20_000)]
    items += [(f"key{i}".encode(), None) for i in range(10)]  # delete keys 0-9
    items += [(b"other", f"o{i}".encode()) for i in range(5_000)]
    produce(broker.bootstrap, "tomb", items)

    def cleaned():
        recs = read_all(broker.bootstrap, "tomb")
        keys = {k for _, k, _ in recs}
        live = latest_per_key(recs)
        for i in range(10, 20):
            assert live[f"key{i}".encode()] == f"v{20_000 - 20 + i}".encode()
        # a deleted key reads as deleted while its tombstone is there, then
        # not at all
        for i in range(10):
            assert live.get(f"key{i}".encode()) is None
        return all(f"key{i}".encode() not in keys for i in range(10))

    wait_until_value(cleaned, DEADLINE_S)


def wait_until_value(fn, deadline_s):
    end = time.monotonic() + deadline_s
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < end, "timed out waiting for the cleaner"
        time.sleep(0.5)


def test_dynamic_cleaner_backoff_acts_at_once(broker_factory):
    from confluent_kafka.admin import ConfigResource

    broker = broker_factory({"log.cleaner.backoff.ms": "3600000"})
    create(broker.bootstrap, "dyn")
    items = [(f"key{i % 10}".encode(), f"v{i}".encode()) for i in range(20_000)]
    produce(broker.bootstrap, "dyn", items)
    # an hour of backoff from start-up: nothing was cleaned
    assert len(read_all(broker.bootstrap, "dyn")) == 20_000
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    res = ConfigResource(ConfigResource.Type.BROKER, "0",
                         set_config={"log.cleaner.backoff.ms": "100"})
    for f in a.alter_configs([res]).values():
        f.result(timeout=DEADLINE_S)
    want = latest_per_key([(0, k, v) for k, v in items])

    def cleaned():
        recs = read_all(broker.bootstrap, "dyn")
        assert latest_per_key(recs) == want
        return len(recs) < 2_000

    wait_until_value(cleaned, DEADLINE_S)
