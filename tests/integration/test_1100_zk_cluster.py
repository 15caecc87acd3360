"""Cluster mode, first step: a broker with zookeeper.connect registers in
Kafka's ZooKeeper layout and takes part in the controller election.

Each test starts its own ZooKeeper (zk_fixture.py) and reads the znodes with
kazoo, as an operator's tools would.
"""
import json
import re
import signal
import subprocess

import pytest

from conftest import SLUICE_BIN, wait_until
from zk_fixture import kz, now_ms, zookeeper  # noqa: F401 (fixtures)

SESSION_MS = 4000  # small, so a killed broker's ephemerals go quickly
DEADLINE_S = 60

PERSISTENT = ["/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid",
              "/config/changes", "/config/topics", "/config/clients", "/config/users",
              "/config/brokers", "/config/ips", "/admin/delete_topics",
              "/isr_change_notification", "/latest_producer_id_block",
              "/log_dir_event_notification"]


def zk_overrides(zk, broker_id, chroot="", **extra):
    # Topics are still each broker's own (no replication yet, docs/cluster.md):
    # __consumer_offsets can only have one replica.
    o = {"zookeeper.connect": zk.connect + chroot,
         "zookeeper.session.timeout.ms": str(SESSION_MS),
         "offsets.topic.replication.factor": "1",
         "broker.id": str(broker_id)}
    o.update(extra)
    return o


def get_json(kz_client, path):
    data, stat = kz_client.get(path)
    return json.loads(data.decode()), stat


def wait_controller(kz_client, not_id=None):
    def ready():
        if not kz_client.exists("/controller"):
            return None
        doc, _ = get_json(kz_client, "/controller")
        return doc if doc["brokerid"] != not_id else None
    return wait_until(ready, DEADLINE_S, "a /controller")


def wait_epoch(kz_client, epoch):
    def ready():
        if not kz_client.exists("/controller_epoch"):
            return False
        return int(kz_client.get("/controller_epoch")[0]) == epoch
    wait_until(ready, DEADLINE_S, f"/controller_epoch == {epoch}")


def test_one_broker_registers(zookeeper, kz, broker_factory):
    t0 = now_ms()
    b = broker_factory(zk_overrides(zookeeper, 7, **{"broker.rack": "rack-a"}))
    for p in PERSISTENT:
        assert kz.exists(p), p
    cid_doc, _ = get_json(kz, "/cluster/id")
    assert cid_doc["version"] == "1"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid_doc["id"])
    # The broker's cluster id (meta.properties, Metadata) is ZooKeeper's.
    meta = (b.data_dir / "meta.properties").read_text()
    assert f"cluster.id={cid_doc['id']}" in meta
    assert "broker.id=7" in meta

    reg, stat = get_json(kz, "/brokers/ids/7")
    assert stat.ephemeralOwner != 0
    assert kz.get_children("/brokers/ids") == ["7"]
    assert reg == {
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "endpoints": [f"PLAINTEXT://127.0.0.1:{b.port}"],
        "rack": "rack-a",
        "jmx_port": -1,
        "features": {},
        "host": "127.0.0.1",
        "timestamp": reg["timestamp"],
        "port": b.port,
        "version": 5,
    }
    assert t0 <= int(reg["timestamp"]) <= now_ms()

    ctl = wait_controller(kz)
    assert ctl["version"] == 1 and ctl["brokerid"] == 7
    assert t0 <= int(ctl["timestamp"]) <= now_ms()
    wait_epoch(kz, 1)
    wait_until(lambda: "became controller (epoch 1)" in b.log(), DEADLINE_S, "the log line")

    # A clean stop closes the session: the ephemerals go at once.
    assert b.stop() == 0
    assert kz.exists("/brokers/ids/7") is None
    assert kz.exists("/controller") is None
    # The cluster id survives, and the broker comes back with it.
    b.start()
    assert get_json(kz, "/cluster/id")[0]["id"] == cid_doc["id"]
    wait_controller(kz)
    wait_epoch(kz, 2)


def test_chroot_is_created(zookeeper, kz, broker_factory):
    broker_factory(zk_overrides(zookeeper, 1, chroot="/kafka/one"))
    assert kz.exists("/kafka/one/brokers/ids/1")
    assert kz.exists("/kafka/one/cluster/id")
    assert kz.exists("/brokers") is None


def test_killed_broker_registration_expires(zookeeper, kz, broker_factory):
    b = broker_factory(zk_overrides(zookeeper, 3))
    assert kz.exists("/brokers/ids/3")
    wait_controller(kz)
    b.kill()
    # No clean close: ZooKeeper removes the ephemerals when the session
    # times out (SESSION_MS), well within the deadline.
    wait_until(lambda: kz.exists("/brokers/ids/3") is None, DEADLINE_S,
               "/brokers/ids/3 to expire")
    wait_until(lambda: kz.exists("/controller") is None, DEADLINE_S, "/controller to expire")


def cluster_view(b):
    """(controller id, {id: port}) as a client sees it through Metadata."""
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=30)
    return md.controller_id, {i: m.port for i, m in md.brokers.items()}


def test_controller_failover(zookeeper, kz, broker_factory):
    b1 = broker_factory(zk_overrides(zookeeper, 1), name="b1")
    assert wait_controller(kz)["brokerid"] == 1
    wait_epoch(kz, 1)
    b2 = broker_factory(zk_overrides(zookeeper, 2), name="b2")
    assert sorted(kz.get_children("/brokers/ids")) == ["1", "2"]
    wait_until(lambda: "controller is broker 1" in b2.log(), DEADLINE_S, "b2 to see controller 1")
    assert get_json(kz, "/controller")[0]["brokerid"] == 1
    # Metadata from either broker lists both (from /brokers/ids) and the
    # controller (from /controller).
    both = (1, {1: b1.port, 2: b2.port})
    wait_until(lambda: cluster_view(b1) == both, DEADLINE_S, "b1's Metadata to list both")
    wait_until(lambda: cluster_view(b2) == both, DEADLINE_S, "b2's Metadata to list both")

    b1.kill()
    ctl = wait_controller(kz, not_id=1)
    assert ctl["brokerid"] == 2
    wait_epoch(kz, 2)
    wait_until(lambda: "became controller (epoch 2)" in b2.log(), DEADLINE_S, "b2's log line")
    assert kz.get_children("/brokers/ids") == ["2"]
    wait_until(lambda: cluster_view(b2) == (2, {2: b2.port}), DEADLINE_S,
               "b2's Metadata to list itself as controller")


def test_duplicate_broker_id_refused(zookeeper, kz, broker_factory, tmp_path):
    broker_factory(zk_overrides(zookeeper, 5), name="first")
    data = tmp_path / "second-data"
    args = [SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
            "--override", f"log.dirs={data}"]
    for k, v in zk_overrides(zookeeper, 5).items():
        args += ["--override", f"{k}={v}"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 1, out
    assert ("broker.id 5 is already registered in ZooKeeper (/brokers/ids/5 exists): "
            "another broker runs with this id") in out
    assert kz.get_children("/brokers/ids") == ["5"]


def test_wrong_cluster_refused(zookeeper, kz, broker_factory, tmp_path):
    # A data dir that belongs to another cluster (a single-node start).
    b = broker_factory({"broker.id": "4"}, name="solo")
    assert b.stop() == 0
    solo_cid = re.search(r"cluster.id=(\S+)", (b.data_dir / "meta.properties").read_text())[1]
    args = [SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
            "--override", f"log.dirs={b.data_dir}"]
    for k, v in zk_overrides(zookeeper, 4).items():
        args += ["--override", f"{k}={v}"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    zk_cid = get_json(kz, "/cluster/id")[0]["id"]
    assert p.returncode == 1, out
    assert (f"The Cluster ID {zk_cid} doesn't match stored clusterId {solo_cid} in "
            "meta.properties. The broker is trying to join the wrong cluster.") in out
    assert kz.get_children("/brokers/ids") == []


def test_unreachable_zookeeper_times_out(tmp_path):
    from zk_fixture import free_port
    port = free_port()  # nobody listens there
    args = [SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
            "--override", f"log.dirs={tmp_path / 'd'}",
            "--override", f"zookeeper.connect=127.0.0.1:{port}",
            "--override", "zookeeper.connection.timeout.ms=1500"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 1, out
    assert f"Timed out waiting for connection to ZooKeeper at 127.0.0.1:{port}" in out


def test_session_expiry_registers_again(zookeeper, kz, broker_factory):
    b = broker_factory(zk_overrides(zookeeper, 9))
    wait_controller(kz)
    wait_epoch(kz, 1)
    _, before = kz.get("/brokers/ids/9")
    # A broker frozen for longer than its session timeout loses the session
    # (ZooKeeper deletes its ephemerals); when it runs again the client hears
    # "expired" and the broker must open a new session and register again.
    b.proc.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: kz.exists("/brokers/ids/9") is None, DEADLINE_S,
                   "the frozen broker's session to expire")
    finally:
        b.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: kz.exists("/brokers/ids/9") is not None, DEADLINE_S,
               "the broker to register again")
    reg, after = get_json(kz, "/brokers/ids/9")
    assert after.ephemeralOwner != before.ephemeralOwner
    assert reg["port"] == b.port
    assert wait_controller(kz)["brokerid"] == 9
    wait_epoch(kz, 2)
    assert "ZooKeeper session expired" in b.log()
    assert b.alive()
    assert b.stop() == 0
