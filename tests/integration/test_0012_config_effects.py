"""Every broker config that docs/configuration.md marks honoured acts: one
broker per config (started with --override), and an assertion on what a
client sees (exact error codes, metadata, files on disk, offsets). The
config -> test mapping is docs/config-audit.md."""
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import kwire
from conftest import SLUICE_BIN, wait_until

DEADLINE_S = 60
MESSAGE_TOO_LARGE = 10
INVALID_SESSION_TIMEOUT = 26
TOPIC_DELETION_DISABLED = 73
UNKNOWN_TOPIC_OR_PARTITION = 3
GROUP_MAX_SIZE_REACHED = 81


class Reader:
    """Big-endian reader of a response body; every read is bounds-checked."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        assert self.pos + n <= len(self.data), "response truncated"
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def array(self, item):
        n = self.i32()
        return [] if n < 0 else [item() for _ in range(n)]


def metadata_v4(bootstrap, topics, allow_auto_create):
    """Metadata v4: brokers [(node_id, host, port, rack)] and topics
    {name: (error_code, partition_count)}."""
    body = struct.pack(">i", len(topics)) + b"".join(kwire.string(t) for t in topics)
    body += struct.pack(">b", 1 if allow_auto_create else 0)
    c = kwire.Conn(bootstrap)
    try:
        resp = c.roundtrip(kwire.request(3, 4, body))
    finally:
        c.close()
    r = Reader(resp)
    r.i32()  # correlation id
    r.i32()  # throttle
    brokers = r.array(lambda: (r.i32(), r.string(), r.i32(), r.string()))
    r.string()  # cluster id
    r.i32()  # controller id

    def partition():
        r.i16(), r.i32(), r.i32()
        r.array(r.i32), r.array(r.i32)  # replicas, isr (offline ones are v5+)

    def topic():
        err, name = r.i16(), r.string()
        r.i8()  # is_internal
        return name, (err, len(r.array(partition)))

    return brokers, dict(r.array(topic))


def produce_error(bootstrap, topic, values, timestamp=1_700_000_000_000):
    c = kwire.Conn(bootstrap)
    try:
        resp = c.roundtrip(kwire.produce_v3(topic, 0, kwire.batch(values, timestamp=timestamp)))
    finally:
        c.close()
    r = Reader(resp)
    r.i32()  # correlation id
    r.i32()  # topic count
    r.string()
    r.i32()  # partition count
    r.i32()  # partition index
    return r.i16()


def join_group_v0(conn, group, session_timeout_ms, member_id=""):
    body = (kwire.string(group) + struct.pack(">i", session_timeout_ms) + kwire.string(member_id)
            + kwire.string("consumer") + struct.pack(">i", 1) + kwire.string("range")
            + struct.pack(">i", 0))
    r = Reader(conn.roundtrip(kwire.request(11, 0, body)))
    r.i32()  # correlation id
    return r.i16()


def produce(bootstrap, topic, n, size=100):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    failures = []
    for i in range(n):
        p.produce(topic, value=b"v" * size, key=str(i).encode(),
                  on_delivery=lambda err, msg: failures.append(err) if err else None)
        p.poll(0)
    assert p.flush(DEADLINE_S) == 0
    assert failures == []


def low_watermark(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=DEADLINE_S)[0]
    finally:
        c.close()


def test_num_partitions_sizes_an_auto_created_topic(broker_factory):
    b = broker_factory({"num.partitions": "3"})
    _, topics = metadata_v4(b.bootstrap, ["auto3"], allow_auto_create=True)
    assert topics["auto3"] == (0, 3)


def test_auto_create_topics_enable_false_answers_unknown_topic(broker_factory):
    b = broker_factory({"auto.create.topics.enable": "false"})
    _, topics = metadata_v4(b.bootstrap, ["nope"], allow_auto_create=True)
    assert topics["nope"] == (UNKNOWN_TOPIC_OR_PARTITION, 0)
    assert produce_error(b.bootstrap, "nope", [b"x"]) == UNKNOWN_TOPIC_OR_PARTITION


@pytest.mark.parametrize("overrides,node_id,host,port,rack", [
    ({"broker.id": "7"}, 7, "127.0.0.1", None, None),
    ({"node.id": "5"}, 5, "127.0.0.1", None, None),
    ({"broker.rack": "rack-a"}, 0, "127.0.0.1", None, "rack-a"),
    ({"advertised.listeners": "PLAINTEXT://adv.example:1234"}, 0, "adv.example", 1234, None),
])
def test_identity_configs_show_in_metadata(broker_factory, overrides, node_id, host, port, rack):
    b = broker_factory(overrides)
    brokers, _ = metadata_v4(b.bootstrap, [], allow_auto_create=False)
    assert brokers == [(node_id, host, port if port is not None else b.port, rack)]


def test_message_max_bytes_refuses_a_larger_batch(broker_factory):
    b = broker_factory({"message.max.bytes": "2000"})
    metadata_v4(b.bootstrap, ["big"], allow_auto_create=True)
    assert produce_error(b.bootstrap, "big", [b"x" * 5000]) == MESSAGE_TOO_LARGE
    assert produce_error(b.bootstrap, "big", [b"x" * 500]) == 0


def test_delete_topic_enable_false_refuses_deletion(broker_factory):
    b = broker_factory({"delete.topic.enable": "false"})
    metadata_v4(b.bootstrap, ["keep"], allow_auto_create=True)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    fut = admin.delete_topics(["keep"])["keep"]
    with pytest.raises(Exception) as e:
        fut.result(DEADLINE_S)
    assert e.value.args[0].code() == TOPIC_DELETION_DISABLED
    _, topics = metadata_v4(b.bootstrap, ["keep"], allow_auto_create=False)
    assert topics["keep"] == (0, 1)


@pytest.mark.parametrize("timeout_ms,expected", [(5999, INVALID_SESSION_TIMEOUT),
                                                  (20001, INVALID_SESSION_TIMEOUT), (10000, 0)])
def test_group_session_timeout_bounds(broker_factory, timeout_ms, expected):
    b = broker_factory({"group.min.session.timeout.ms": "6000",
                        "group.max.session.timeout.ms": "20000",
                        "group.initial.rebalance.delay.ms": "0"})
    c = kwire.Conn(b.bootstrap)
    try:
        assert join_group_v0(c, "g", timeout_ms) == expected
    finally:
        c.close()


def test_group_max_size_refuses_the_extra_member(broker_factory):
    b = broker_factory({"group.max.size": "1", "group.initial.rebalance.delay.ms": "0"})
    first, second = kwire.Conn(b.bootstrap), kwire.Conn(b.bootstrap)
    try:
        assert join_group_v0(first, "g1", 10000) == 0
        assert join_group_v0(second, "g1", 10000) == GROUP_MAX_SIZE_REACHED
    finally:
        first.close()
        second.close()


def test_log_segment_bytes_rolls_segments(broker_factory):
    b = broker_factory({"log.segment.bytes": "1024"})
    produce(b.bootstrap, "seg", 30)
    logs = list((b.data_dir / "seg-0").glob("*.log"))
    assert len(logs) > 1


def test_log_retention_bytes_moves_the_log_start(broker_factory):
    b = broker_factory({"log.segment.bytes": "1024", "log.retention.bytes": "1024",
                        "log.retention.check.interval.ms": "100"})
    produce(b.bootstrap, "ret", 30)
    wait_until(lambda: low_watermark(b.bootstrap, "ret") > 0, DEADLINE_S,
               "retention to delete old segments")


def test_connections_max_idle_ms_closes_an_idle_connection(broker_factory):
    b = broker_factory({"connections.max.idle.ms": "200"})
    c = kwire.Conn(b.bootstrap)
    try:
        c.roundtrip(kwire.request(18, 0, b""))
        wait_until(c.closed_by_peer, DEADLINE_S, "the idle connection to be closed")
    finally:
        c.close()


def test_max_connections_closes_connections_over_the_cap(broker_factory):
    b = broker_factory({"max.connections": "2"})
    held = [kwire.Conn(b.bootstrap) for _ in range(2)]
    try:
        for c in held:
            c.roundtrip(kwire.request(18, 0, b""))
        extra = kwire.Conn(b.bootstrap)
        try:
            wait_until(extra.closed_by_peer, DEADLINE_S, "the third connection to be refused")
        finally:
            extra.close()
        for c in held:
            c.roundtrip(kwire.request(18, 0, b""))
    finally:
        for c in held:
            c.close()


def test_socket_request_max_bytes_closes_on_a_larger_frame(broker_factory):
    b = broker_factory({"socket.request.max.bytes": "1000"})
    c = kwire.Conn(b.bootstrap)
    try:
        c.send(struct.pack(">i", 5000) + b"\0" * 100)
        wait_until(c.closed_by_peer, DEADLINE_S, "the oversized frame's connection to close")
    finally:
        c.close()
    ok = kwire.Conn(b.bootstrap)
    try:
        ok.roundtrip(kwire.request(18, 0, b""))
    finally:
        ok.close()


OFFSET_METADATA_TOO_LARGE = 12
INVALID_REPLICATION_FACTOR = 38


def offset_commit_v2_error(bootstrap, group, topic, metadata):
    body = (kwire.string(group) + struct.pack(">i", -1) + kwire.string("") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", 1)
            + struct.pack(">iq", 0, 1) + kwire.string(metadata))
    c = kwire.Conn(bootstrap)
    try:
        r = Reader(c.roundtrip(kwire.request(8, 2, body)))
    finally:
        c.close()
    r.i32()  # correlation id
    r.i32()  # topic count
    r.string()
    r.i32()  # partition count
    r.i32()  # partition index
    return r.i16()


def test_offset_metadata_max_bytes_refuses_longer_metadata(broker_factory):
    b = broker_factory({"offset.metadata.max.bytes": "10"})
    metadata_v4(b.bootstrap, ["om"], allow_auto_create=True)
    assert offset_commit_v2_error(b.bootstrap, "gm", "om", "x" * 11) == OFFSET_METADATA_TOO_LARGE
    assert offset_commit_v2_error(b.bootstrap, "gm", "om", "x" * 10) == 0


def test_default_replication_factor_applies_to_creates_without_one(broker_factory):
    from confluent_kafka.admin import NewTopic
    b = broker_factory({"default.replication.factor": "2"})
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    fut = admin.create_topics([NewTopic("rf", num_partitions=1, replication_factor=-1)])["rf"]
    with pytest.raises(Exception) as e:
        fut.result(DEADLINE_S)
    assert e.value.args[0].code() == INVALID_REPLICATION_FACTOR
    fut = admin.create_topics([NewTopic("rf", num_partitions=1, replication_factor=1)])["rf"]
    assert fut.result(DEADLINE_S) is None


def listen_backlog(port):
    """Send-Q of a listening TCP socket is its accept backlog (ss(8))."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[2])


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss(8)")
def test_socket_listen_backlog_size_sets_the_accept_backlog(broker_factory):
    b = broker_factory({"socket.listen.backlog.size": "37"})
    assert listen_backlog(b.port) == 37


INVALID_RECORD = 87


def test_log_cleanup_policy_compact_is_the_default_of_new_topics(broker_factory):
    """A compacted topic refuses records without a key: the broker default
    reached the auto-created topic."""
    b = broker_factory({"log.cleanup.policy": "compact"})
    metadata_v4(b.bootstrap, ["lcp"], allow_auto_create=True)
    assert produce_error(b.bootstrap, "lcp", [b"no key"]) == INVALID_RECORD


def test_log_roll_ms_rolls_an_old_segment_on_the_next_append(broker_factory):
    """As in Kafka, the age is that of the records: the first batch's
    timestamp against the new batch's, so each batch is stamped now."""
    b = broker_factory({"log.roll.ms": "50"})
    metadata_v4(b.bootstrap, ["roll"], allow_auto_create=True)
    part = b.data_dir / "roll-0"

    def rolled():
        assert produce_error(b.bootstrap, "roll", [b"r"], timestamp=int(time.time() * 1000)) == 0
        return len(list(part.glob("*.log"))) > 1

    wait_until(rolled, DEADLINE_S, "a time-based segment roll")


def test_log_dir_alone_places_the_data(tmp_path):
    """The fixture always sets log.dirs; log.dir is its fallback."""
    data = tmp_path / "single-dir"
    proc = subprocess.Popen([SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                             "--override", f"log.dir={data}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: (data / "meta.properties").exists(), DEADLINE_S,
                   "meta.properties under log.dir")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def thread_count(pid):
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_log_cleaner_threads_starts_that_many_cleaners(broker_factory):
    """Two brokers differing only in log.cleaner.threads differ by exactly
    that many threads once listening (nothing else is started lazily by an
    idle broker)."""
    one = broker_factory({"log.cleaner.threads": "1"})
    three = broker_factory({"log.cleaner.threads": "3"})
    assert thread_count(three.proc.pid) - thread_count(one.proc.pid) == 2


def offset_fetch_v1(bootstrap, group, topic):
    body = (kwire.string(group) + struct.pack(">i", 1) + kwire.string(topic)
            + struct.pack(">ii", 1, 0))
    c = kwire.Conn(bootstrap)
    try:
        r = Reader(c.roundtrip(kwire.request(9, 1, body)))
    finally:
        c.close()
    r.i32()  # correlation id
    r.i32()  # topic count
    r.string()
    r.i32()  # partition count
    r.i32()  # partition index
    return r.i64()


def test_offsets_retention_minutes_expires_a_commit(broker_factory):
    """The smallest retention is one minute: this test takes about that long.
    offsets.retention.check.interval.ms makes the expiry run while it polls."""
    b = broker_factory({"offsets.retention.minutes": "1",
                        "offsets.retention.check.interval.ms": "200"})
    metadata_v4(b.bootstrap, ["exp"], allow_auto_create=True)
    assert offset_commit_v2_error(b.bootstrap, "gexp", "exp", "") == 0
    assert offset_fetch_v1(b.bootstrap, "gexp", "exp") == 1
    wait_until(lambda: offset_fetch_v1(b.bootstrap, "gexp", "exp") == -1, 120,
               "the committed offset to expire")
