"""Old Go clients as Debian packages them: sarama 1.22.1
(golang-github-shopify-sarama-dev) with its default config (Kafka 0.8.2:
Produce v0 with magic 0, Fetch v0, ListOffsets v0, Metadata v0), with
Version 0.10.2.0 (Produce v2 with magic 1, Fetch v3, consumer groups with
JoinGroup v1 and OffsetCommit v2) and 2.0.0 (record batches); kafka-go 0.2.1
(golang-github-segmentio-kafka-go-dev: Produce v2 with magic 1, Fetch v2,
JoinGroup v1). What they write is read back byte for byte by librdkafka
(confluent-kafka) and the other way round.

tests/integration/go/oldclients is compiled here with Debian's Go against
/usr/share/gocode, offline (GO111MODULE=off); without Go or the packages
every test is skipped."""
import os
import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parents[2]
GOPATH = "/usr/share/gocode"
SRC = ROOT / "tests" / "integration" / "go" / "oldclients"
NEEDED = ["github.com/Shopify/sarama", "github.com/segmentio/kafka-go"]


@pytest.fixture(scope="module")
def oldclients(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("go not installed (Debian golang-go)")
    for pkg in NEEDED:
        if not (Path(GOPATH) / "src" / pkg).is_dir():
            pytest.skip(f"{pkg} not installed (Debian golang-github-* packages)")
    out = tmp_path_factory.mktemp("go") / "oldclients"
    cache = ROOT / "build" / "go-cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = out.parent / "cache"
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="", GOCACHE=str(cache),
               CGO_ENABLED="1")
    p = subprocess.run([go, "build", "-o", str(out), "."], cwd=SRC, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return str(out)


def enc(b):
    if b is None:
        return "-"
    return b.hex() if b else "."


def dec(s):
    if s == "-":
        return None
    return b"" if s == "." else bytes.fromhex(s)


def dataset(n, seed, no_empty=False):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 11 == 3 else b"k%d" % i + bytes(rnd.getrandbits(8) for _ in range(i % 5))
        if i % 13 == 5 and key is not None:
            value = None
        elif i % 17 == 6 and not no_empty:
            value = b""
        else:
            value = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 1500)))
        out.append((key, value))
    return out


def go_run(binary, broker, *args, input_msgs=None, timeout=120):
    stdin = "".join(f"{enc(k)} {enc(v)}\n" for k, v in input_msgs or []).encode()
    p = subprocess.run([binary, "-broker", broker.bootstrap, "-timeout", "60s", *args],
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout.decode().split("\n")[:-1]


def go_produce(binary, broker, client, topic, msgs, codec="none", version=""):
    lines = go_run(binary, broker, "-client", client, "-version", version, "-codec", codec,
                   "-mode", "produce", "-topic", topic, input_msgs=msgs)
    return [int(x) for x in lines]


def go_consume(binary, broker, client, topic, n, version="", mode="consume", group="",
               offset=0, fetch_max=0):
    lines = go_run(binary, broker, "-client", client, "-version", version, "-mode", mode,
                   "-topic", topic, "-n", str(n), "-group", group, "-offset", str(offset),
                   "-fetch-max", str(fetch_max))
    out = []
    for line in lines:
        off, k, v, ts = line.split(" ")
        out.append((int(off), dec(k), dec(v)))
    return out


def modern_produce(broker, topic, msgs, codec):
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "compression.type": codec, "linger.ms": 20})
    for k, v in msgs:
        p.produce(topic, key=k, value=v, partition=0)
    assert p.flush(60) == 0


def modern_consume(broker, topic, n):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "modern",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    while len(got) < n:
        m = c.poll(30)
        assert m is not None, f"timed out after {len(got)} of {n}"
        assert m.error() is None, m.error()
        got.append((m.offset(), m.key(), m.value()))
    c.close()
    return got


def committed(broker, group, topic):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    tp = c.committed([TopicPartition(topic, 0)], timeout=30)
    c.close()
    return tp[0].offset


def numbered(msgs, start=0):
    return [(start + i, k, v) for i, (k, v) in enumerate(msgs)]


# ---- sarama ------------------------------------------------------------------

SARAMA = [("", ["none", "gzip", "snappy"]),  # lz4 needs Version >= 0.10
          ("0.10.2.0", ["none", "gzip", "snappy", "lz4"]),
          ("2.0.0", ["none", "gzip", "snappy", "lz4"])]


@pytest.mark.parametrize("version,codecs", SARAMA, ids=["default", "0.10.2", "2.0"])
def test_sarama_produce_consume_and_modern_reader(oldclients, broker, version, codecs):
    for codec in codecs:
        topic = f"sarama-{version or 'default'}-{codec}"
        msgs = dataset(120, zlib.crc32(topic.encode()))
        offsets = go_produce(oldclients, broker, "sarama", topic, msgs, codec, version)
        assert offsets == list(range(120))
        assert go_consume(oldclients, broker, "sarama", topic, 120, version) == numbered(msgs)
        assert modern_consume(broker, topic, 120) == numbered(msgs)


@pytest.mark.parametrize("version", ["", "0.10.2.0"], ids=["default", "0.10.2"])
def test_modern_writer_sarama_reader(oldclients, broker, version):
    for codec in ["none", "gzip", "snappy", "lz4"]:
        topic = f"to-sarama-{version or 'default'}-{codec}"
        msgs = dataset(200, 7)
        modern_produce(broker, topic, msgs, codec)
        got = go_consume(oldclients, broker, "sarama", topic, 180, version, offset=20)
        assert got == numbered(msgs[20:], 20)


@pytest.mark.parametrize("version", ["0.10.2.0", "2.0.0"], ids=["0.10.2", "2.0"])
def test_sarama_consumer_group_commits(oldclients, broker, version):
    topic = f"sgroup-{version}"
    group = f"sg-{version}"
    msgs = dataset(60, 11)
    go_produce(oldclients, broker, "sarama", topic, msgs, "gzip", version)
    got = go_consume(oldclients, broker, "sarama", topic, 60, version, mode="group", group=group)
    assert sorted(got) == numbered(msgs)
    assert committed(broker, group, topic) == 60
    # New records only for the next member of the group.
    more = dataset(5, 12)
    go_produce(oldclients, broker, "sarama", topic, more, "none", version)
    got = go_consume(oldclients, broker, "sarama", topic, 5, version, mode="group", group=group)
    assert got == numbered(more, 60)


def test_sarama_default_grows_fetch_size_past_a_big_message(oldclients, broker):
    """Fetch v0 returns a partial message when the first one does not fit;
    sarama doubles its fetch size until it does (as with Kafka)."""
    big = os.urandom(100_000)
    modern_produce(broker, "sbig", [(b"big", big), (b"small", b"x")], "none")
    got = go_consume(oldclients, broker, "sarama", "sbig", 2, fetch_max=4096)
    assert got == [(0, b"big", big), (1, b"small", b"x")]


# ---- kafka-go --------------------------------------------------------------

@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_kafkago_writer_reader_and_modern_reader(oldclients, broker, codec):
    topic = "kgo-" + codec
    # kafka-go 0.2.1 hands an empty value back as nil: no empty values here.
    msgs = dataset(150, 21, no_empty=True)
    go_produce(oldclients, broker, "kafkago", topic, msgs, codec)
    assert modern_consume(broker, topic, 150) == numbered(msgs)
    assert go_consume(oldclients, broker, "kafkago", topic, 150) == numbered(msgs)
    got = go_consume(oldclients, broker, "kafkago", topic, 150, mode="group", group="kg-" + codec)
    assert got == numbered(msgs)
    assert committed(broker, "kg-" + codec, topic) == 150


def test_modern_writer_kafkago_reader(oldclients, broker):
    for codec in ["none", "gzip", "snappy", "lz4"]:
        topic = "to-kgo-" + codec
        msgs = dataset(200, 31, no_empty=True)
        modern_produce(broker, topic, msgs, codec)
        got = go_consume(oldclients, broker, "kafkago", topic, 190, offset=10)
        assert got == numbered(msgs[10:], 10)


@pytest.mark.parametrize("version", ["0.10.2.0", "0.11.0.0", "2.0.0"], ids=["0.10.2", "0.11", "2.0"])
def test_sarama_admin(oldclients, broker, version):
    """CreateTopics v0/v1/v2, DeleteTopics v0/v1, DescribeConfigs v0,
    AlterConfigs v0, CreatePartitions v0, as sarama picks them."""
    lines = go_run(oldclients, broker, "-client", "sarama", "-version", version, "-mode", "admin",
                   "-topic", "sadmin")
    if version == "0.10.2.0":
        assert lines == ["created", "deleted"]
    else:
        assert lines[:4] == ["created", "listed 2", "config retention.ms=60000",
                             "config retention.ms=120000"]
        assert lines[4:] == (["listed 3", "deleted"] if version == "2.0.0" else ["deleted"])
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x"})
    assert "sadmin" not in c.list_topics(timeout=30).topics
    c.close()
