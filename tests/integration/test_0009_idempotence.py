"""Idempotent producers: InitProducerId and Kafka's sequence checks with real
clients (confluent-kafka, kcat, kafkajs), raw frames for each answer
(duplicate -> original offset, gap -> 45, old epoch -> 47, transactional
id -> 53), and exactly-once delivery across a kill -9 of the broker."""
import json
import shutil
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kwire
from conftest import run, wait_until

JS_DIR = Path(__file__).parent / "js"

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53


def create_topic(broker, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def consume_all(broker, topic, partition=0, deadline_s=60):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"check-{topic}",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, 0)])
    out = []
    end = time.monotonic() + deadline_s
    while True:
        assert time.monotonic() < end, f"stalled after {len(out)} records"
        m = c.poll(5)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            break
        out.append((m.offset(), m.value()))
    c.close()
    return out


# ---- raw frames --------------------------------------------------------------

def idem_batch(values, pid, epoch, seq, timestamp=1_700_000_000_000):
    recs = b"".join(kwire.record(i, None, v) for i, v in enumerate(values))
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, timestamp, timestamp,
                            pid, epoch, seq, len(values)) + recs
    body = struct.pack(">iB", 0, 2) + struct.pack(">I", kwire.crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def init_producer_id(conn, version=0, transactional_id=None):
    if version >= 2:  # flexible: compact nullable string, tagged fields
        tid = b"\x00" if transactional_id is None else \
            kwire.varint(0)[:0] + bytes([len(transactional_id) + 1]) + transactional_id.encode()
        body = tid + struct.pack(">i", 60000)
        if version >= 3:
            body += struct.pack(">qh", -1, -1)
        body += b"\x00"
        hdr = struct.pack(">hhi", 22, version, 7) + kwire.string("raw-test") + b"\x00"
        resp = conn.roundtrip(hdr + body)
        _corr, _tags = struct.unpack(">iB", resp[:5])
        throttle, err, pid, epoch = struct.unpack(">ihqh", resp[5:21])
        return err, pid, epoch
    body = kwire.string(transactional_id) + struct.pack(">i", 60000)
    resp = conn.roundtrip(kwire.request(22, version, body, correlation_id=7))
    _corr, throttle, err, pid, epoch = struct.unpack(">iihqh", resp[:20])
    return err, pid, epoch


def produce(conn, topic, records):
    """Produce v3, one partition; returns (error, base offset)."""
    resp = conn.roundtrip(kwire.produce_v3(topic, 0, records))
    p = 4 + 4  # correlation id, topic count
    (n,) = struct.unpack(">h", resp[p:p + 2])
    p += 2 + n + 4  # name, partition count
    _idx, err, base = struct.unpack(">ihq", resp[p:p + 14])
    return err, base


def log_end(broker, topic):
    """ListOffsets v1 (latest) straight to the broker."""
    c = kwire.Conn(broker.bootstrap)
    body = struct.pack(">ii", -1, 1) + kwire.string(topic) + struct.pack(">iiq", 1, 0, -1)
    resp = c.roundtrip(kwire.request(2, 1, body))
    c.close()
    p = 4 + 4
    (n,) = struct.unpack(">h", resp[p:p + 2])
    p += 2 + n + 4
    _part, err, _ts, offset = struct.unpack(">ihqq", resp[p:p + 22])
    assert err == 0
    return offset


@pytest.fixture
def conn(broker):
    c = kwire.Conn(broker.bootstrap)
    yield c
    c.close()


def test_api_versions_advertise_init_producer_id(broker, conn):
    resp = conn.roundtrip(kwire.request(18, 0, b""))
    _corr, err, n = struct.unpack(">ihi", resp[:10])
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i])
        keys[k] = (lo, hi)
    assert err == 0 and keys[22] == (0, 5)


def test_init_producer_id_unique_ids_across_restart(broker_factory):
    b = broker_factory()
    seen = set()
    for version in (0, 1, 2, 3, 4, 5):
        c = kwire.Conn(b.bootstrap)
        err, pid, epoch = init_producer_id(c, version)
        c.close()
        assert (err, epoch) == (0, 0) and pid >= 0 and pid not in seen
        seen.add(pid)
    b.kill()
    b.start()
    c = kwire.Conn(b.bootstrap)
    err, pid, epoch = init_producer_id(c)
    c.close()
    assert err == 0 and pid not in seen and pid > max(seen)
    assert json.loads((b.data_dir / "latest_producer_id_block").read_text())["version"] == 1


def test_transactional_id_is_refused_clearly(broker, conn):
    assert init_producer_id(conn, 0, "txn-1")[0] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert init_producer_id(conn, 4, "txn-1")[0] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    assert "transactions are not supported" in broker.log()


def test_transactional_producer_fails_fast_and_fatal(broker):
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "txn-app"})
    with pytest.raises(KafkaException) as exc:
        p.init_transactions(30)
    err = exc.value.args[0]
    assert err.code() == TRANSACTIONAL_ID_AUTHORIZATION_FAILED and err.fatal()


def test_raw_duplicate_gap_and_old_epoch(broker, conn):
    create_topic(broker, "raw-idem")
    err, pid, _ = init_producer_id(conn)
    assert err == 0
    assert produce(conn, "raw-idem", idem_batch([b"a", b"b"], pid, 0, 0)) == (0, 0)
    assert produce(conn, "raw-idem", idem_batch([b"c"], pid, 0, 2)) == (0, 2)
    # a retry of either batch: success with the original offset, nothing written
    assert produce(conn, "raw-idem", idem_batch([b"a", b"b"], pid, 0, 0)) == (0, 0)
    assert produce(conn, "raw-idem", idem_batch([b"c"], pid, 0, 2)) == (0, 2)
    # a gap
    assert produce(conn, "raw-idem", idem_batch([b"x"], pid, 0, 5))[0] == \
        OUT_OF_ORDER_SEQUENCE_NUMBER
    # a new epoch starts at 0; then the old one is fenced
    assert produce(conn, "raw-idem", idem_batch([b"d"], pid, 1, 0)) == (0, 3)
    assert produce(conn, "raw-idem", idem_batch([b"e"], pid, 0, 3))[0] == INVALID_PRODUCER_EPOCH
    assert [v for _, v in consume_all(broker, "raw-idem")] == [b"a", b"b", b"c", b"d"]


def test_duplicate_recognised_after_kill9(broker, conn):
    create_topic(broker, "raw-crash")
    err, pid, _ = init_producer_id(conn)
    for i in range(5):
        assert produce(conn, "raw-crash", idem_batch([b"%d" % i], pid, 0, i)) == (0, i)
    conn.close()
    broker.kill()
    broker.start()
    c = kwire.Conn(broker.bootstrap)
    for i in range(5):  # the whole in-flight window is still known
        assert produce(c, "raw-crash", idem_batch([b"%d" % i], pid, 0, i)) == (0, i)
    assert produce(c, "raw-crash", idem_batch([b"9"], pid, 0, 9))[0] == \
        OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce(c, "raw-crash", idem_batch([b"5"], pid, 0, 5)) == (0, 5)
    c.close()
    broker.stop()
    broker.start()  # clean stop: from the .snapshot written at close
    c = kwire.Conn(broker.bootstrap)
    assert produce(c, "raw-crash", idem_batch([b"5"], pid, 0, 5)) == (0, 5)
    assert produce(c, "raw-crash", idem_batch([b"6"], pid, 0, 6)) == (0, 6)
    c.close()
    assert list((broker.data_dir / "raw-crash-0").glob("*.snapshot"))


# ---- real clients ----------------------------------------------------------------

def test_confluent_idempotent_producer(broker):
    create_topic(broker, "cf-idem")
    acked, errors = [], []

    def on_delivery(err, msg):
        (errors if err else acked).append(err or msg.offset())

    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                  "acks": "all", "linger.ms": 2, "batch.num.messages": 100})
    for i in range(5000):
        p.produce("cf-idem", value=b"%06d" % i, partition=0, on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(60) == 0
    assert errors == [] and sorted(acked) == list(range(5000))
    got = consume_all(broker, "cf-idem")
    assert [v for _, v in got] == [b"%06d" % i for i in range(5000)]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
def test_kcat_idempotent_producer(broker):
    create_topic(broker, "kcat-idem")
    lines = b"".join(b"line-%d\n" % i for i in range(300))
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", "kcat-idem", "-p", "0",
         "-X", "enable.idempotence=true", "-X", "acks=all"], input_bytes=lines)
    got = consume_all(broker, "kcat-idem")
    assert [v for _, v in got] == [b"line-%d" % i for i in range(300)]


@pytest.mark.skipif(not (shutil.which("node") and (JS_DIR / "node_modules" / "kafkajs").is_dir()),
                    reason="kafkajs not installed (make deps)")
def test_kafkajs_idempotent_producer(broker):
    p = run(["node", str(JS_DIR / "idempotent.js"), broker.bootstrap, "js-idem", "20"])
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert out["bases"] == [str(10 * i) for i in range(20)]
    assert out["offsets"][0]["high"] == "200"


class LossyProxy:
    """A TCP proxy in front of the broker that can swallow every response:
    requests still reach the broker (and are written), the producer never
    hears back, so it must retry them with the same sequences."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.upstream = None
        self.swallow = threading.Event()
        self.socks = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src, dst, is_response):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not (is_response and self.swallow.is_set()):
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stopped = True
        self.lsock.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def test_exactly_once_across_kill9(broker_factory):
    """N unique records from one idempotent producer. Mid-run the broker's
    responses are swallowed while it keeps writing, then it is killed with
    SIGKILL and restarted: librdkafka retries the unanswered batches with
    their sequences, and the state rebuilt from the log must answer them as
    duplicates. Every record must be in the log exactly once."""
    n = 20000
    proxy = LossyProxy()
    broker = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.upstream = broker.port
    create_topic(broker, "eos")
    acked, errors = set(), []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked.add(msg.value())

    p = Producer({"bootstrap.servers": f"127.0.0.1:{proxy.port}", "enable.idempotence": True,
                  "acks": "all", "linger.ms": 1, "batch.num.messages": 50,
                  "max.in.flight.requests.per.connection": 5,
                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                  "message.timeout.ms": 120000})
    deadline = time.monotonic() + 180

    def send(i):
        while True:
            try:
                p.produce("eos", value=b"%08d" % i, partition=0, on_delivery=on_delivery)
                return
            except BufferError:
                p.poll(0.05)

    try:
        for i in range(n // 2):
            send(i)
            p.poll(0)
        wait_until(lambda: p.poll(0.01) >= 0 and len(acked) > n // 4, 60, "first acks")
        proxy.swallow.set()
        for i in range(n // 2, n // 2 + 500):
            send(i)
            p.poll(0)
        # the broker wrote records nobody was told about
        wait_until(lambda: p.poll(0.01) >= 0 and log_end(broker, "eos") > len(acked), 60,
                   "unanswered writes")
        unanswered = len(acked)
        broker.kill()
        proxy.swallow.clear()
        broker.start()
        for i in range(n // 2 + 500, n):
            send(i)
            p.poll(0)
            assert time.monotonic() < deadline
        assert p.flush(120) == 0
        # the consumer is sent to the advertised (proxy) address too
        values = [v for _, v in consume_all(broker, "eos")]
    finally:
        proxy.close()
    assert errors == []
    assert len(acked) == n and unanswered < n
    assert len(values) == len(set(values)), "duplicates in the log"
    assert set(values) == acked
