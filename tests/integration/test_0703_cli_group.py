"""`sluice group list|describe|seek|delete` against a live broker: Kafka's
describe columns plus LOG-START-OFFSET and TOTAL-LAG, members of a running
consumer, capacity advice from two samples, seek rules, --json."""
import json
import subprocess

import pytest
from confluent_kafka import Consumer

from conftest import SLUICE_BIN, wait_until

COLUMNS = ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-START-OFFSET", "LOG-END-OFFSET", "LAG",
           "CONSUMER-ID", "HOST", "CLIENT-ID"]


@pytest.fixture
def gbroker(broker_factory):
    return broker_factory({"group.initial.rebalance.delay.ms": 0})


def sluice(broker, *args, input_bytes=None, rc=0):
    p = subprocess.run([SLUICE_BIN, *args, "-b", broker.bootstrap], input=input_bytes,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout.decode(), p.stderr.decode()


def sjson(broker, *args):
    return json.loads(sluice(broker, *args, "--json")[0])


def setup_group(broker, group="billing", consumed=3):
    """Topic pay (2 partitions: 5 and 2 records); group reads `consumed`."""
    sluice(broker, "topic", "create", "pay", "-p", "2")
    sluice(broker, "produce", "pay", "-p", "0", input_bytes=b"a\nb\nc\nd\ne\n")
    sluice(broker, "produce", "pay", "-p", "1", input_bytes=b"f\ng\n")
    sluice(broker, "consume", "pay", "-g", group, "-n", str(consumed))


def table(out, first_col="TOPIC"):
    lines = out.splitlines()
    i = next(i for i, l in enumerate(lines) if l.split()[:1] == [first_col])
    rows = []
    for l in lines[i + 1:]:
        if not l.strip():
            break
        rows.append(l.split())
    return lines[i].split(), rows


def test_list_and_describe_text(gbroker):
    setup_group(gbroker, consumed=7)
    sluice(gbroker, "produce", "pay", "-p", "0", input_bytes=b"late1\nlate2\n")
    out, _ = sluice(gbroker, "group", "list")
    assert [l.split() for l in out.splitlines()] == [["GROUP", "STATE"], ["billing", "Empty"]]
    assert sjson(gbroker, "group", "list") == {"groups": [
        {"group": "billing", "state": "Empty", "simple": False}]}

    out, _ = sluice(gbroker, "group", "describe", "billing", "--interval", "0")
    head = dict(l.split(None, 1) for l in out.splitlines()[:6])
    assert head["GROUP"] == "billing" and head["STATE"] == "Empty"
    assert head["MEMBERS"] == "0" and head["TOTAL-LAG"] == "2"
    assert head["COORDINATOR"].endswith(f"({gbroker.bootstrap})")
    hdr, rows = table(out)
    assert hdr == COLUMNS
    assert rows == [["pay", "0", "5", "0", "7", "2", "-", "-", "-"],
                    ["pay", "1", "2", "0", "2", "0", "-", "-", "-"]]
    assert "CAPACITY" not in out


def test_describe_active_member_json(gbroker):
    setup_group(gbroker, consumed=1)
    c = Consumer({"bootstrap.servers": gbroker.bootstrap, "group.id": "billing",
                  "client.id": "pay-worker-1", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe(["pay"])
    try:
        def stable():
            c.poll(0.05)
            d = sjson(gbroker, "group", "describe", "billing", "--interval", "0")
            return d if d["state"] == "Stable" and d["members"] else None
        d = wait_until(stable, 30, "the consumer to join")
        [m] = d["members"]
        assert m["client_id"] == "pay-worker-1" and m["consumer_id"]
        assert sorted(a["partition"] for a in m["assignment"]) == [0, 1]
        offs = {o["partition"]: o for o in d["offsets"]}
        assert (offs[0]["current_offset"] or 0) + (offs[1]["current_offset"] or 0) == 1
        for o in offs.values():
            assert o["consumer_id"] == m["consumer_id"] and o["client_id"] == "pay-worker-1"
            assert o["log_start_offset"] == 0
        assert d["total_lag"] == 6 and d["capacity"] is None
        assert d["coordinator"]["port"] == gbroker.port
        out, _ = sluice(gbroker, "group", "describe", "billing", "-i", "0")
        hdr, rows = table(out)
        assert all(r[6] == m["consumer_id"] and r[8] == "pay-worker-1" for r in rows)
        # Offsets cannot move under a live member.
        _, err = sluice(gbroker, "group", "seek", "billing", "--to", "beginning", rc=1)
        assert "active members" in err and "stop its consumers first" in err
        _, err = sluice(gbroker, "group", "delete", "billing", rc=1)
        assert "active members" in err
    finally:
        c.close()


def test_capacity_advice_from_two_samples(gbroker):
    setup_group(gbroker, consumed=7)
    # --watch advice spans every sample of the last 30 s, so each refresh after
    # the produce compares with the first one, taken before it.
    p = subprocess.Popen([SLUICE_BIN, "group", "describe", "billing", "--watch", "-n", "30",
                          "--interval", "500ms", "--json", "-b", gbroker.bootstrap],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = json.loads(p.stdout.readline())
        assert first["capacity"] is None and first["total_lag"] == 0
        # Produced after the first sample, and nobody consumes.
        sluice(gbroker, "produce", "pay", "-p", "0",
               input_bytes=b"".join(b"r%d\n" % i for i in range(40)))
        while True:
            line = p.stdout.readline()
            assert line, "watch ended before it saw the records"
            later = json.loads(line)
            if later["total_lag"] == 40:
                break
    finally:
        p.terminate()
        p.wait(timeout=30)
    cap = later["capacity"]
    assert cap["verdict"] == "grows" and cap["lag_delta"] == 40
    assert cap["active_members"] == 0 and cap["partitions"] == 2
    assert cap["in_rate"] == pytest.approx(40 / cap["interval_s"], rel=0.01)
    assert cap["out_rate"] == 0 and cap["needed_members"] is None

    out, _ = sluice(gbroker, "group", "describe", "billing", "--interval", "200ms")
    line = next(l for l in out.splitlines() if l.startswith("CAPACITY"))
    assert "0.0 rec/s in, 0.0 rec/s out" in line and "idle" in line


def test_seek_text_json_and_dry_run(gbroker):
    setup_group(gbroker, consumed=7)
    out, _ = sluice(gbroker, "group", "seek", "billing", "--to", "beginning", "--dry-run")
    hdr, rows = table(out)
    assert hdr == ["TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"]
    assert rows == [["pay", "0", "5", "0"], ["pay", "1", "2", "0"]]
    assert "dry run" in out
    d = sjson(gbroker, "group", "describe", "billing", "-i", "0")
    assert d["total_lag"] == 0  # unchanged

    d = sjson(gbroker, "group", "seek", "--group", "billing", "--to", "3", "--topic", "pay",
              "--partition", "0")
    assert d == {"group": "billing", "dry_run": False, "offsets": [
        {"topic": "pay", "partition": 0, "old_offset": 5, "new_offset": 3}]}
    out, _ = sluice(gbroker, "consume", "pay", "-g", "billing", "-e")
    assert out == "d\ne\n"

    sluice(gbroker, "group", "seek", "billing", "--to-earliest")
    assert sjson(gbroker, "group", "describe", "billing", "-i", "0")["total_lag"] == 7
    # Offsets past the log end are clamped to it, as Kafka's tool does.
    d = sjson(gbroker, "group", "seek", "billing", "--to", "999")
    assert [o["new_offset"] for o in d["offsets"]] == [5, 2]
    d = sjson(gbroker, "group", "seek", "billing", "--to", "@0")
    assert [o["new_offset"] for o in d["offsets"]] == [0, 0]
    sluice(gbroker, "group", "seek", "billing", "--to-latest", "--execute")
    assert sjson(gbroker, "group", "describe", "billing", "-i", "0")["total_lag"] == 0
    # A group with no offsets yet needs named topics.
    _, err = sluice(gbroker, "group", "seek", "fresh", "--to", "end", rc=1)
    assert "--topic" in err
    d = sjson(gbroker, "group", "seek", "fresh", "--to", "end", "-t", "pay")
    assert [(o["old_offset"], o["new_offset"]) for o in d["offsets"]] == [(None, 5), (None, 2)]
    _, err = sluice(gbroker, "group", "seek", "billing", rc=2)
    assert "--to" in err


def test_delete_and_unknown_groups(gbroker):
    setup_group(gbroker, "g1")
    sluice(gbroker, "consume", "pay", "-g", "g2", "-n", "1")
    out, _ = sluice(gbroker, "group", "delete", "g1")
    assert out == "deleted group g1\n"
    assert sjson(gbroker, "group", "delete", "g2") == {"deleted": ["g2"]}
    assert sjson(gbroker, "group", "list") == {"groups": []}
    _, err = sluice(gbroker, "group", "describe", "g1", "-i", "0", rc=1)
    assert "group 'g1' does not exist" in err
    _, err = sluice(gbroker, "group", "delete", "nope", rc=1)
    assert "group 'nope' does not exist" in err


def test_help_for_every_group_subcommand(gbroker):
    for verb in ["list", "describe", "seek", "delete"]:
        out, _ = sluice(gbroker, "group", verb, "--help")
        assert out.startswith(f"usage: sluice group {verb}")
    _, err = sluice(gbroker, "group", "describe", rc=2)
    assert "which group?" in err
