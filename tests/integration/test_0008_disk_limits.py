"""Storage limits through real sockets: CreateTopics/CreatePartitions are
all-or-nothing and refuse what the broker cannot hold (INVALID_PARTITIONS,
37); a broker whose RLIMIT_NOFILE is far below 3 fds per segment keeps
serving old segments and taking produces."""
import os
import re
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from conftest import wait_until

DEADLINE_S = 60
INVALID_PARTITIONS = 37
KAFKA_STORAGE_ERROR = 56


def admin(b):
    return AdminClient({"bootstrap.servers": b.bootstrap})


def result_code(fut):
    try:
        fut.result(timeout=DEADLINE_S)
        return 0
    except Exception as e:  # confluent_kafka.KafkaException
        return e.args[0].code()


def dirs_of(b, topic):
    pat = re.compile(re.escape(topic) + r"-\d+(\..*-delete)?$")
    return sorted(d for d in os.listdir(b.data_dir) if pat.match(d))


def topics_of(b):
    return set(admin(b).list_topics(timeout=DEADLINE_S).topics)


def partitions_of(b, topic):
    return len(admin(b).list_topics(topic, timeout=DEADLINE_S).topics[topic].partitions)


def test_create_over_the_partition_cap_is_refused_and_leaves_nothing(broker):
    a = admin(broker)
    fs = a.create_topics([NewTopic("huge", 100000, 1)])
    assert result_code(fs["huge"]) == INVALID_PARTITIONS
    assert dirs_of(broker, "huge") == []
    assert "huge" not in topics_of(broker)
    # CreatePartitions is capped the same way and changes nothing
    assert result_code(a.create_topics([NewTopic("small", 2, 1)])["small"]) == 0
    fs = a.create_partitions([NewPartitions("small", 100000)])
    assert result_code(fs["small"]) == INVALID_PARTITIONS
    assert partitions_of(broker, "small") == 2
    assert dirs_of(broker, "small") == ["small-0", "small-1"]
    broker.restart()
    assert "huge" not in topics_of(broker)
    assert partitions_of(broker, "small") == 2


def test_max_broker_partitions_is_a_broker_wide_cap(broker_factory):
    # __consumer_offsets (created at start) counts too: 50 of the 60
    b = broker_factory({"max.broker.partitions": "60"})
    a = admin(b)
    assert result_code(a.create_topics([NewTopic("six", 6, 1)])["six"]) == 0
    assert result_code(a.create_topics([NewTopic("five", 5, 1)])["five"]) == INVALID_PARTITIONS
    assert result_code(a.create_topics([NewTopic("four", 4, 1)])["four"]) == 0
    assert "five" not in topics_of(b)
    assert dirs_of(b, "five") == []


def _fails_midway(monkeypatch, broker_factory, skip):
    # __consumer_offsets (1 partition here) is created at start: skip it too
    monkeypatch.setenv("SLUICE_FAULTS", f"broker.partition.create:{skip + 1}:1")
    b = broker_factory({"offsets.topic.num.partitions": "1"})
    monkeypatch.delenv("SLUICE_FAULTS")
    return b


def test_create_failing_midway_rolls_back(monkeypatch, broker_factory):
    b = _fails_midway(monkeypatch, broker_factory, 5)
    a = admin(b)  # kept alive until the futures resolve
    fs = a.create_topics([NewTopic("mid", 10, 1)])
    assert result_code(fs["mid"]) == KAFKA_STORAGE_ERROR
    assert "mid" not in topics_of(b)
    wait_until(lambda: dirs_of(b, "mid") == [], DEADLINE_S, "rolled-back dirs to go")
    b.restart()  # no fault armed now; the broker starts and the name is free
    assert "mid" not in topics_of(b)
    a = admin(b)
    assert result_code(a.create_topics([NewTopic("mid", 10, 1)])["mid"]) == 0
    assert partitions_of(b, "mid") == 10


def test_create_partitions_failing_midway_rolls_back(monkeypatch, broker_factory):
    b = _fails_midway(monkeypatch, broker_factory, 6)
    a = admin(b)
    assert result_code(a.create_topics([NewTopic("cp", 4, 1)])["cp"]) == 0
    fs = a.create_partitions([NewPartitions("cp", 10)])
    assert result_code(fs["cp"]) == KAFKA_STORAGE_ERROR
    assert partitions_of(b, "cp") == 4
    wait_until(lambda: dirs_of(b, "cp") == [f"cp-{p}" for p in range(4)], DEADLINE_S,
               "rolled-back partitions to go")
    b.restart()
    assert partitions_of(b, "cp") == 4
    a = admin(b)
    assert result_code(a.create_partitions([NewPartitions("cp", 10)])["cp"]) == 0
    assert partitions_of(b, "cp") == 10


def produce(b, topic, start, n):
    acked = []

    def on_delivery(err, msg):
        assert err is None, err
        acked.append(msg.offset())

    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0,
                  "batch.num.messages": 1})
    for i in range(start, start + n):
        p.produce(topic, value=b"v%06d" % i + b"x" * 300, partition=0, on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(DEADLINE_S) == 0
    return acked


def consume_all(b, topic, count):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    end = time.monotonic() + DEADLINE_S
    while len(got) < count and time.monotonic() < end:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            continue
        got.append(m.value()[:7])
    c.close()
    return got


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_low_nofile_with_many_segments_keeps_serving(monkeypatch, tmp_path, broker_factory):
    import conftest

    limit = 300
    wrapper = tmp_path / "sluice-lowfd"
    wrapper.write_text(f"#!/bin/sh\nexec prlimit --nofile={limit}:{limit} "
                       f"{conftest.SLUICE_BIN} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setattr(conftest, "SLUICE_BIN", str(wrapper))
    broker = broker_factory({"offsets.topic.num.partitions": "1"})
    a = admin(broker)
    fs = a.create_topics([NewTopic("segs", 1, 1, config={"segment.bytes": "400"})])
    assert result_code(fs["segs"]) == 0
    n = 600
    assert sorted(produce(broker, "segs", 0, n)) == list(range(n))
    nlogs = len([f for f in os.listdir(broker.data_dir / "segs-0") if f.endswith(".log")])
    assert nlogs >= n  # one batch per segment: 3 * 600 fds the old way
    assert open_fds(broker.proc.pid) < limit
    want = [b"v%06d" % i for i in range(n)]
    assert consume_all(broker, "segs", n) == want
    assert sorted(produce(broker, "segs", n, 50)) == list(range(n, n + 50))
    want += [b"v%06d" % i for i in range(n, n + 50)]
    assert consume_all(broker, "segs", n + 50) == want
    assert open_fds(broker.proc.pid) < limit
    broker.restart()  # a clean load of every segment under the same limit
    assert consume_all(broker, "segs", n + 50) == want
    assert open_fds(broker.proc.pid) < limit
    broker.kill()  # and an unclean one
    broker.start()
    assert consume_all(broker, "segs", n + 50) == want
    assert open_fds(broker.proc.pid) < limit
