"""Hardening of the configs, metadata, offsets, groups and topic-deletion
handlers, through raw frames (kwire): internal topics belong to the broker,
DeleteRecords refuses negative offsets other than -1, broker AlterConfigs
accepts Kafka's dynamic keys and refuses the ones that could lock clients out,
unsupported listeners and KRaft settings are refused at start-up, SASL
requests get ILLEGAL_SASL_STATE, JoinGroup with 100,000 protocols does not
stall other clients, Metadata auto-creation is bounded per request, and a
generation -1 commit with the client's own member id is stored."""
import resource
import struct
import subprocess

import pytest

import kwire
from conftest import LISTEN_RE, SLUICE_BIN, wait_until
from kwire import string

OFFSETS = "__consumer_offsets"
INVALID_TOPIC_EXCEPTION = 17
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
ILLEGAL_SASL_STATE = 34
RES_TOPIC, RES_BROKER = 2, 4


class Rd:
    """Reads a non-flexible response body after its correlation id."""

    def __init__(self, frame):
        self.b = frame
        self.i = 4  # correlation id

    def take(self, fmt):
        v = struct.unpack_from(">" + fmt, self.b, self.i)
        self.i += struct.calcsize(">" + fmt)
        return v[0] if len(v) == 1 else v

    def str(self):
        n = self.take("h")
        if n < 0:
            return None
        s = self.b[self.i:self.i + n].decode()
        self.i += n
        return s

    def bytes(self):
        n = self.take("i")
        if n < 0:
            return None
        s = self.b[self.i:self.i + n]
        self.i += n
        return s

    def array(self, fn):
        return [fn() for _ in range(self.take("i"))]


def arr(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def nbytes(b):
    return struct.pack(">i", len(b)) + b


# ---- request builders ------------------------------------------------------

def offset_commit_v2(group, generation, member, topic, partition, offset):
    body = string(group) + struct.pack(">i", generation) + string(member) + struct.pack(">q", -1)
    body += arr([string(topic) + arr([struct.pack(">iq", partition, offset) + string("")])])
    return kwire.request(8, 2, body)


def parse_offset_commit_v2(frame):
    r = Rd(frame)
    return r.array(lambda: (r.str(), r.array(lambda: (r.take("i"), r.take("h")))))


def offset_fetch_v1(group, topic, partitions):
    body = string(group) + arr([string(topic) + arr([struct.pack(">i", p) for p in partitions])])
    return kwire.request(9, 1, body)


def parse_offset_fetch_v1(frame):
    r = Rd(frame)
    return r.array(lambda: (r.str(), r.array(
        lambda: (r.take("i"), r.take("q"), r.str(), r.take("h")))))


def committed(conn, group, topic, partition):
    [(_, [(_, off, _, err)])] = parse_offset_fetch_v1(
        conn.roundtrip(offset_fetch_v1(group, topic, [partition])))
    assert err == 0
    return off


def commit(conn, group, generation, member, topic, partition, offset):
    [(_, [(_, err)])] = parse_offset_commit_v2(
        conn.roundtrip(offset_commit_v2(group, generation, member, topic, partition, offset)))
    return err


def delete_topics_v1(names):
    return kwire.request(20, 1, arr([string(n) for n in names]) + struct.pack(">i", 30000))


def parse_delete_topics_v1(frame):
    r = Rd(frame)
    r.take("i")
    return dict(r.array(lambda: (r.str(), r.take("h"))))


def delete_records_v0(topic, partition_offsets):
    parts = [struct.pack(">iq", p, o) for p, o in partition_offsets]
    return kwire.request(21, 0, arr([string(topic) + arr(parts)]) + struct.pack(">i", 30000))


def parse_delete_records_v0(frame):
    r = Rd(frame)
    r.take("i")
    [(_, parts)] = r.array(lambda: (r.str(), r.array(
        lambda: (r.take("i"), r.take("q"), r.take("h")))))
    return {p: (low, err) for p, low, err in parts}


def create_partitions_v0(topic, count):
    body = arr([string(topic) + struct.pack(">ii", count, -1)]) + struct.pack(">iB", 30000, 0)
    return kwire.request(37, 0, body)


def parse_create_partitions_v0(frame):
    r = Rd(frame)
    r.take("i")
    return r.array(lambda: (r.str(), r.take("h"), r.str()))


def alter_configs_v0(res_type, name, configs):
    cfgs = arr([string(k) + string(v) for k, v in configs])
    return kwire.request(33, 0, arr([struct.pack(">b", res_type) + string(name) + cfgs]) + b"\0")


def incremental_alter_configs_v0(res_type, name, configs, op=0):
    cfgs = arr([string(k) + struct.pack(">b", op) + string(v) for k, v in configs])
    return kwire.request(44, 0, arr([struct.pack(">b", res_type) + string(name) + cfgs]) + b"\0")


def parse_alter_configs(frame):
    r = Rd(frame)
    r.take("i")
    [(err, msg, _, _)] = r.array(lambda: (r.take("h"), r.str(), r.take("b"), r.str()))
    return err, msg


def describe_configs_v0(res_type, name, keys):
    return kwire.request(32, 0, arr([struct.pack(">b", res_type) + string(name) +
                                     arr([string(k) for k in keys])]))


def parse_describe_configs_v0(frame):
    r = Rd(frame)
    r.take("i")

    def entry():
        name, value = r.str(), r.str()
        r.take("B")  # read only
        r.take("B")  # is default
        r.take("B")  # sensitive
        return name, value

    [(err, _, _, _, entries)] = r.array(lambda: (r.take("h"), r.str(), r.take("b"), r.str(),
                                                r.array(entry)))
    assert err == 0
    return dict(entries)


def metadata_v1(topics):
    return kwire.request(3, 1, arr([string(t) for t in topics]))


def parse_metadata_v1(frame):
    r = Rd(frame)
    r.array(lambda: (r.take("i"), r.str(), r.take("i"), r.str()))
    r.take("i")  # controller

    def partition():
        r.take("h"), r.take("i"), r.take("i")
        r.array(lambda: r.take("i"))
        r.array(lambda: r.take("i"))

    def topic():
        err, name = r.take("h"), r.str()
        r.take("B")
        parts = r.array(partition)
        return name, (err, len(parts))

    return dict(r.array(topic))


def join_group_v1(group, member, protocols, session_ms=10000, rebalance_ms=30000):
    body = string(group) + struct.pack(">ii", session_ms, rebalance_ms) + string(member)
    body += string("raw") + arr([string(p) + nbytes(b"") for p in protocols])
    return kwire.request(11, 1, body)


def parse_join_group_v1(frame):
    r = Rd(frame)
    err, gen, proto, leader, member = r.take("h"), r.take("i"), r.str(), r.str(), r.str()
    members = r.array(lambda: (r.str(), r.bytes()))
    return err, gen, proto, leader, member, len(members)


def produce_to(conn, topic, partition, values):
    resp = conn.roundtrip(kwire.produce_v3(topic, partition, kwire.batch(values)))
    r = Rd(resp)
    [(_, [(_, err, base)])] = r.array(lambda: (r.str(), r.array(
        lambda: (r.take("i"), r.take("h"), r.take("q"), r.take("q"))[:3])))
    return err, base


# ---- 1. internal topics ----------------------------------------------------

def test_internal_topics_refuse_every_client_change_and_offsets_survive(broker):
    conn = kwire.Conn(broker.bootstrap)
    conn.roundtrip(metadata_v1(["orders"]))
    assert commit(conn, "keep", -1, "", "orders", 0, 42) == 0
    assert committed(conn, "keep", "orders", 0) == 42

    err, _ = produce_to(conn, OFFSETS, 0, [b"garbage"])
    assert err == INVALID_TOPIC_EXCEPTION
    assert parse_delete_topics_v1(conn.roundtrip(delete_topics_v1([OFFSETS]))) == {
        OFFSETS: INVALID_TOPIC_EXCEPTION}
    # __transaction_state is refused by the same predicate, existing or not.
    assert parse_delete_topics_v1(conn.roundtrip(delete_topics_v1(["__transaction_state"]))) == {
        "__transaction_state": INVALID_TOPIC_EXCEPTION}
    low_err = parse_delete_records_v0(conn.roundtrip(delete_records_v0(OFFSETS, [(0, -1), (1, 5)])))
    assert low_err == {0: (-1, INVALID_TOPIC_EXCEPTION), 1: (-1, INVALID_TOPIC_EXCEPTION)}
    [(name, err, _)] = parse_create_partitions_v0(conn.roundtrip(create_partitions_v0(OFFSETS, 60)))
    assert (name, err) == (OFFSETS, INVALID_TOPIC_EXCEPTION)
    err, msg = parse_alter_configs(conn.roundtrip(
        alter_configs_v0(RES_TOPIC, OFFSETS, [("retention.ms", "1")])))
    assert err == INVALID_TOPIC_EXCEPTION and "internal topic" in msg
    err, _ = parse_alter_configs(conn.roundtrip(
        incremental_alter_configs_v0(RES_TOPIC, OFFSETS, [("cleanup.policy", "delete")])))
    assert err == INVALID_TOPIC_EXCEPTION
    cfg = parse_describe_configs_v0(conn.roundtrip(
        describe_configs_v0(RES_TOPIC, OFFSETS, ["cleanup.policy", "retention.ms"])))
    assert cfg["cleanup.policy"] == "compact"
    meta = parse_metadata_v1(conn.roundtrip(metadata_v1([OFFSETS])))
    assert meta[OFFSETS] == (0, 50)

    # The committed offset is still there, and still there after a restart.
    assert committed(conn, "keep", "orders", 0) == 42
    conn.close()
    broker.restart()
    conn = kwire.Conn(broker.bootstrap)
    assert committed(conn, "keep", "orders", 0) == 42
    conn.close()


# ---- 2. DeleteRecords offsets ----------------------------------------------

def test_delete_records_negative_offsets_other_than_hw_delete_nothing(broker):
    conn = kwire.Conn(broker.bootstrap)
    meta = parse_metadata_v1(conn.roundtrip(metadata_v1(["dr"])))
    assert meta["dr"][0] == 0
    err, _ = produce_to(conn, "dr", 0, [b"a", b"b", b"c", b"d"])
    assert err == 0
    # librdkafka sends -1001 for a partition listed without an offset.
    for bad in (-1001, -2, -1 << 62):
        got = parse_delete_records_v0(conn.roundtrip(delete_records_v0("dr", [(0, bad)])))
        assert got == {0: (-1, OFFSET_OUT_OF_RANGE)}
    got = parse_delete_records_v0(conn.roundtrip(delete_records_v0("dr", [(0, 1)])))
    assert got == {0: (1, 0)}
    # -1 still means "up to the high watermark".
    got = parse_delete_records_v0(conn.roundtrip(delete_records_v0("dr", [(0, -1)])))
    assert got == {0: (4, 0)}
    got = parse_delete_records_v0(conn.roundtrip(delete_records_v0("nope", [(0, 1)])))
    assert got == {0: (-1, UNKNOWN_TOPIC_OR_PARTITION)}
    conn.close()


# ---- 3/4. broker AlterConfigs ----------------------------------------------

def test_broker_alter_configs_accepts_kafka_dynamic_keys_and_guards_listeners(broker):
    conn = kwire.Conn(broker.bootstrap)
    accepted = [("listener.name.internal.ssl.keystore.location", "/etc/k.jks"),
                ("listener.name.internal.ssl.keystore.password", "secret"),
                ("ssl.truststore.password", "secret"),
                ("sasl.enabled.mechanisms", "PLAIN"),
                ("log.cleaner.threads", "2"),
                ("num.io.threads", "4"),
                ("num.network.threads", "4"),
                ("sasl.kerberos.service.name", "kafka"),
                ("follower.replication.throttled.rate", "1000000"),
                ("ssl.trustmanager.algorithm", "PKIX"),
                ("message.max.bytes", "2000000")]
    for req in (incremental_alter_configs_v0(RES_BROKER, "0", accepted),
                alter_configs_v0(RES_BROKER, "0", accepted)):
        assert parse_alter_configs(conn.roundtrip(req)) == (0, None)
    cfg = parse_describe_configs_v0(conn.roundtrip(
        describe_configs_v0(RES_BROKER, "0", ["num.io.threads", "message.max.bytes"])))
    assert cfg == {"num.io.threads": "4", "message.max.bytes": "2000000"}
    # message.max.bytes is live: it is the default of every topic's max.message.bytes.
    conn.roundtrip(metadata_v1(["live"]))
    cfg = parse_describe_configs_v0(conn.roundtrip(
        describe_configs_v0(RES_TOPIC, "live", ["max.message.bytes"])))
    assert cfg == {"max.message.bytes": "2000000"}

    # Not dynamic in Kafka: Kafka's INVALID_REQUEST.
    err, msg = parse_alter_configs(conn.roundtrip(
        incremental_alter_configs_v0(RES_BROKER, "0", [("num.partitions", "3")])))
    assert err == INVALID_REQUEST and "Cannot update these configs dynamically" in msg

    # Keys that lock clients out or move a listener are the operator's.
    for key, value in [("max.connections", "0"), ("listeners", "PLAINTEXT://127.0.0.1:1"),
                       ("advertised.listeners", "PLAINTEXT://10.9.9.9:1"),
                       ("listener.security.protocol.map", "PLAINTEXT:SSL"),
                       ("max.connections.per.ip", "0"),
                       ("listener.name.plaintext.max.connections", "0")]:
        for req in (incremental_alter_configs_v0(RES_BROKER, "0", [(key, value)]),
                    alter_configs_v0(RES_BROKER, "0", [(key, value)]),
                    incremental_alter_configs_v0(RES_BROKER, "", [(key, value)])):
            err, msg = parse_alter_configs(conn.roundtrip(req))
            assert err == POLICY_VIOLATION and key in msg and "--override" in msg
    conn.close()
    # New clients still get in after a restart.
    broker.restart()
    conn = kwire.Conn(broker.bootstrap)
    cfg = parse_describe_configs_v0(conn.roundtrip(
        describe_configs_v0(RES_BROKER, "0", ["num.io.threads", "max.connections"])))
    assert cfg == {"num.io.threads": "4", "max.connections": "2147483647"}
    conn.close()


# ---- 5. start-up refusals and SASL -----------------------------------------

@pytest.mark.parametrize("overrides,words", [
    (["listeners=SSL://127.0.0.1:0"], ["listener SSL", "security protocol SSL", "cannot serve"]),
    (["listeners=SASL_SSL://127.0.0.1:0"], ["SASL_SSL", "cannot serve"]),
    (["listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"],
     ["SASL_PLAINTEXT", "cannot serve"]),
    (["listeners=CLIENT://127.0.0.1:0", "listener.security.protocol.map=CLIENT:SSL"],
     ["listener CLIENT", "SSL"]),
    (["process.roles=broker,controller",
      "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "controller.listener.names=CONTROLLER"],
     ["process.roles", "KRaft", "single node", "zookeeper.connect"]),
    (["controller.quorum.voters=1@127.0.0.1:9093"], ["controller.quorum.voters", "KRaft"]),
])
def test_startup_refuses_listeners_and_kraft_it_cannot_serve(tmp_path, overrides, words):
    args = [SLUICE_BIN, "serve", "--override", f"log.dirs={tmp_path / 'data'}",
            "--override", "listeners=PLAINTEXT://127.0.0.1:0"]
    for o in overrides:
        args += ["--override", o]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode != 0, out
    for w in words:
        assert w in out, out
    assert "listening on" not in out


def test_sasl_requests_get_illegal_sasl_state_and_the_connection_stays(broker):
    conn = kwire.Conn(broker.bootstrap)
    for version in (0, 1):
        r = Rd(conn.roundtrip(kwire.request(17, version, string("PLAIN"))))
        assert r.take("h") == ILLEGAL_SASL_STATE
        assert r.array(r.str) == []
    r = Rd(conn.roundtrip(kwire.request(36, 0, nbytes(b"\0user\0pass"))))
    assert r.take("h") == ILLEGAL_SASL_STATE
    assert "PLAINTEXT" in r.str()
    # The same connection still serves.
    assert parse_metadata_v1(conn.roundtrip(metadata_v1(["after-sasl"])))["after-sasl"][0] == 0
    conn.close()


# ---- 6. JoinGroup with 100,000 protocols ----------------------------------

def test_join_group_with_100k_protocols_does_not_stall_other_clients(broker_factory):
    broker = broker_factory({"group.initial.rebalance.delay.ms": "0"})
    protos = [f"p{i}" for i in range(100_000)]
    a = kwire.Conn(broker.bootstrap, timeout=120)
    b = kwire.Conn(broker.bootstrap, timeout=120)
    healthy = kwire.Conn(broker.bootstrap, timeout=120)

    a.send(kwire.frame(join_group_v1("huge", "", protos)))
    err, gen, proto, leader, member_a, n = parse_join_group_v1(a.recv_frame())
    assert (err, gen, n) == (0, 1, 1) and proto == "p0" and leader == member_a
    # A second member with the list reversed: the group rebalances, and
    # selection runs across both members' 100,000 names.
    b.send(kwire.frame(join_group_v1("huge", "", list(reversed(protos)))))
    # Meanwhile a healthy client is answered.
    assert parse_metadata_v1(healthy.roundtrip(metadata_v1(["healthy"])))["healthy"][0] == 0
    a.send(kwire.frame(join_group_v1("huge", member_a, protos)))
    results = [parse_join_group_v1(a.recv_frame()), parse_join_group_v1(b.recv_frame())]
    for err, gen, proto, leader, _, _ in results:
        assert (err, gen) == (0, 2)
        # One vote each: the tie goes to the leader's preference.
        assert proto in ("p0", "p99999") and leader == member_a
    assert results[0][2] == results[1][2]
    assert parse_metadata_v1(healthy.roundtrip(metadata_v1(["healthy"])))["healthy"][0] == 0
    for c in (a, b, healthy):
        c.close()


# ---- 7. Metadata auto-creation flood ---------------------------------------

def test_metadata_autocreation_is_bounded_per_request(broker):
    conn = kwire.Conn(broker.bootstrap, timeout=120)
    names = [f"flood-{i}" for i in range(250)]
    meta = parse_metadata_v1(conn.roundtrip(metadata_v1(names)))
    created = [n for n in names if meta[n] == (0, 1)]
    later = [n for n in names if meta[n][0] == LEADER_NOT_AVAILABLE]
    assert len(created) == 100 and len(later) == 150
    assert created == names[:100]
    # Clients retry: the next requests create the rest.
    for _ in range(2):
        meta = parse_metadata_v1(conn.roundtrip(metadata_v1(names)))
    assert all(meta[n] == (0, 1) for n in names)
    assert commit(conn, "after-flood", -1, "", "flood-0", 0, 7) == 0
    conn.close()
    broker.restart()
    conn = kwire.Conn(broker.bootstrap)
    assert committed(conn, "after-flood", "flood-0", 0) == 7
    assert parse_metadata_v1(conn.roundtrip(metadata_v1([OFFSETS])))[OFFSETS] == (0, 50)
    conn.close()


# ---- 8. ZooKeeper-balanced consumers' commits --------------------------------

def test_generation_minus_one_commit_with_own_member_id_is_stored(broker):
    conn = kwire.Conn(broker.bootstrap)
    conn.roundtrip(metadata_v1(["events"]))
    # pykafka's balanced consumer: generation -1 and a member id of its own.
    assert commit(conn, "zk-balanced", -1, "pykafka-host-1234", "events", 0, 100) == 0
    assert committed(conn, "zk-balanced", "events", 0) == 100
    assert commit(conn, "zk-balanced", -1, "pykafka-host-1234", "events", 0, 150) == 0
    conn.close()
    broker.restart()
    conn = kwire.Conn(broker.bootstrap)
    assert committed(conn, "zk-balanced", "events", 0) == 150
    # A group with live members still refuses such commits.
    joined = kwire.Conn(broker.bootstrap)
    joined.send(kwire.frame(join_group_v1("managed", "", ["range"])))
    err, _, _, _, member, _ = parse_join_group_v1(joined.recv_frame())
    assert err == 0 and member
    assert commit(conn, "managed", -1, "pykafka-host-1234", "events", 0, 5) == 25  # UNKNOWN_MEMBER_ID
    # The member itself passes the checks (the group awaits its SyncGroup).
    assert commit(conn, "managed", 1, member, "events", 0, 5) == 27  # REBALANCE_IN_PROGRESS
    for c in (conn, joined):
        c.close()


def start_limited(data_dir, log_path, nofile):
    """A broker whose hard RLIMIT_NOFILE is nofile; returns (proc, port)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = open(log_path, "wb")
    proc = subprocess.Popen([SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                             "--override", f"log.dirs={data_dir}"], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=limit)

    def port():
        if proc.poll() is not None:
            raise AssertionError(log_path.read_text())
        m = LISTEN_RE.search(log_path.read_text())
        return int(m.group(1)) if m else None

    return proc, wait_until(port, 60, "the broker to listen")


def test_autocreation_stops_before_descriptors_run_out(tmp_path):
    """With ulimit -n 1024 a flood used to open partitions until the broker
    ran out of descriptors; after a restart __consumer_offsets loaded offline."""
    procs = []
    try:
        proc, port = start_limited(tmp_path / "data", tmp_path / "b1.log", 1024)
        procs.append(proc)
        conn = kwire.Conn(f"127.0.0.1:{port}", timeout=120)
        names = [f"fd-{i}" for i in range(400)]
        for _ in range(4):
            meta = parse_metadata_v1(conn.roundtrip(metadata_v1(names)))
        created = sum(meta[n][0] == 0 for n in names)
        # 3 descriptors a partition, half of 1024 for partitions, 50 of them
        # __consumer_offsets'.
        assert created == 1024 // 2 // 3 - 50
        assert all(meta[n][0] == UNKNOWN_TOPIC_OR_PARTITION for n in names if meta[n][0])
        assert commit(conn, "fd", -1, "", "fd-0", 0, 11) == 0
        conn.close()
        proc.terminate()
        assert proc.wait(timeout=60) == 0
        proc, port = start_limited(tmp_path / "data", tmp_path / "b2.log", 1024)
        procs.append(proc)
        conn = kwire.Conn(f"127.0.0.1:{port}", timeout=120)
        assert committed(conn, "fd", "fd-0", 0) == 11
        conn.close()
        assert "offline" not in (tmp_path / "b2.log").read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_alter_configs_refuses_a_resource_named_twice(broker):
    conn = kwire.Conn(broker.bootstrap)
    conn.roundtrip(metadata_v1(["twice"]))
    one = struct.pack(">b", RES_TOPIC) + string("twice") + arr([string("retention.ms") +
                                                               string("1000")])
    req = kwire.request(33, 0, arr([one, one]) + b"\0")
    r = Rd(conn.roundtrip(req))
    r.take("i")
    got = r.array(lambda: (r.take("h"), r.str(), r.take("b"), r.str()))
    assert [g[0] for g in got] == [0, INVALID_REQUEST]
    conn.close()
