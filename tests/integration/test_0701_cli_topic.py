"""`sluice topic create|list|describe|delete|alter-config|add-partitions`
against a live broker, text and --json, with the Kafka-tool flag aliases."""
import json
import subprocess

from conftest import SLUICE_BIN


def sluice(broker, *args, input_bytes=None, rc=0):
    p = subprocess.run([SLUICE_BIN, *args, "-b", broker.bootstrap], input=input_bytes,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout.decode(), p.stderr.decode()


def sjson(broker, *args):
    out, _ = sluice(broker, *args, "--json")
    return json.loads(out)


def test_create_list_delete_text_and_json(broker):
    out, _ = sluice(broker, "topic", "create", "orders", "-p", "3", "-r", "1")
    assert out == "created topic orders\n"
    # Kafka-tool spellings: --topic, --partitions, --replication-factor, --config.
    d = sjson(broker, "topic", "create", "--topic", "audit", "--partitions", "2",
              "--replication-factor", "1", "--config", "retention.ms=3600000")
    assert d == {"topic": "audit", "partitions": 2, "replication_factor": 1, "created": True}

    out, _ = sluice(broker, "topic", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "PARTITIONS", "REPLICAS"]
    assert [l.split() for l in lines[1:]] == [["audit", "2", "1"], ["orders", "3", "1"]]
    assert sjson(broker, "topic", "list") == {"topics": [
        {"name": "audit", "partitions": 2, "replication_factor": 1},
        {"name": "orders", "partitions": 3, "replication_factor": 1}]}

    out, _ = sluice(broker, "topic", "delete", "audit")
    assert out == "deleted topic audit\n"
    assert sjson(broker, "topic", "delete", "orders") == {"deleted": ["orders"]}
    assert sjson(broker, "topic", "list") == {"topics": []}


def test_create_errors_and_if_not_exists(broker):
    sluice(broker, "topic", "create", "dup", "-p", "1")
    _, err = sluice(broker, "topic", "create", "dup", "-p", "1", rc=1)
    assert "already exists" in err and "--if-not-exists" in err
    sluice(broker, "topic", "create", "dup", "-p", "1", "--if-not-exists")
    _, err = sluice(broker, "topic", "create", "bad", "-p", "0", rc=2)
    assert "bad partition count" in err
    _, err = sluice(broker, "topic", "create", rc=2)
    assert "which topic?" in err
    # validate only: nothing is created.
    out, _ = sluice(broker, "topic", "create", "dry", "-p", "2", "--dry-run")
    assert out == "validated topic dry\n"
    assert [t["name"] for t in sjson(broker, "topic", "list")["topics"]] == ["dup"]
    _, err = sluice(broker, "topic", "delete", "nope", rc=1)
    assert "nope" in err
    sluice(broker, "topic", "delete", "nope", "--if-exists")


def test_describe_partitions_offsets_and_config_sources(broker):
    sluice(broker, "topic", "create", "desc", "-p", "2", "-c", "retention.ms=7200000")
    sluice(broker, "produce", "desc", "-p", "1", input_bytes=b"a\nb\nc\n")
    out, _ = sluice(broker, "topic", "describe", "desc")
    lines = out.splitlines()
    assert lines[0].split() == ["Topic:", "desc", "PartitionCount:", "2", "ReplicationFactor:",
                                "1"]
    hdr = lines.index(next(l for l in lines if l.startswith("PARTITION")))
    assert lines[hdr].split() == ["PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET",
                                  "LOG-END-OFFSET"]
    rows = [l.split() for l in lines[hdr + 1:hdr + 3]]
    assert rows[0][0] == "0" and rows[0][4:] == ["0", "0"]
    assert rows[1][0] == "1" and rows[1][4:] == ["0", "3"]
    assert rows[0][2] == rows[0][3] == f"[{rows[0][1]}]"
    cfg = {l.split()[0]: l.split()[1:] for l in lines if l.startswith(("retention.ms ",
                                                                       "cleanup.policy "))}
    assert cfg["retention.ms"] == ["7200000", "DYNAMIC_TOPIC_CONFIG"]
    assert cfg["cleanup.policy"] == ["delete", "DEFAULT_CONFIG"]

    [d] = sjson(broker, "topic", "describe", "--topic", "desc")
    assert d["name"] == "desc" and d["replication_factor"] == 1
    assert [(p["partition"], p["log_start_offset"], p["log_end_offset"])
            for p in d["partitions"]] == [(0, 0, 0), (1, 0, 3)]
    assert d["partitions"][1]["isr"] == d["partitions"][1]["replicas"] == [
        d["partitions"][1]["leader"]]
    srcs = {c["name"]: (c["value"], c["source"]) for c in d["configs"]}
    assert srcs["retention.ms"] == ("7200000", "DYNAMIC_TOPIC_CONFIG")
    assert srcs["segment.bytes"][1] == "DEFAULT_CONFIG"

    _, err = sluice(broker, "topic", "describe", "missing", rc=1)
    assert "topic 'missing' does not exist" in err


def test_alter_config_set_and_delete(broker):
    sluice(broker, "topic", "create", "cfg", "-p", "1", "-c", "retention.ms=1000000")

    def overrides():
        [d] = sjson(broker, "topic", "describe", "cfg")
        return {c["name"]: c["value"] for c in d["configs"]
                if c["source"] == "DYNAMIC_TOPIC_CONFIG"}

    out, _ = sluice(broker, "topic", "alter-config", "cfg", "--set", "cleanup.policy=compact")
    assert out == "set cleanup.policy=compact on topic cfg\n"
    # The earlier override survives: the non-incremental AlterConfigs is sent merged.
    assert overrides() == {"retention.ms": "1000000", "cleanup.policy": "compact"}
    d = sjson(broker, "topic", "alter-config", "--topic", "cfg", "--delete-config",
              "retention.ms", "--add-config", "segment.ms=3600000")
    assert d == {"topic": "cfg", "set": {"segment.ms": "3600000"}, "deleted": ["retention.ms"]}
    assert overrides() == {"cleanup.policy": "compact", "segment.ms": "3600000"}
    _, err = sluice(broker, "topic", "alter-config", "cfg", rc=2)
    assert "nothing to change" in err
    _, err = sluice(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=abc", rc=1)
    assert "cannot alter configs of topic 'cfg'" in err
    assert overrides() == {"cleanup.policy": "compact", "segment.ms": "3600000"}


def test_add_partitions(broker):
    sluice(broker, "topic", "create", "grow", "-p", "2")
    out, _ = sluice(broker, "topic", "add-partitions", "grow", "--partitions", "5")
    assert out == "topic grow now has 5 partitions\n"
    [d] = sjson(broker, "topic", "describe", "grow")
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2, 3, 4]
    _, err = sluice(broker, "topic", "add-partitions", "grow", "-p", "3", rc=1)
    assert "cannot grow topic 'grow'" in err


def test_help_for_every_topic_subcommand(broker):
    for verb in ["create", "list", "describe", "delete", "alter-config", "add-partitions"]:
        out, _ = sluice(broker, "topic", verb, "--help")
        assert out.startswith(f"usage: sluice topic {verb}")
        assert "--bootstrap-server" in out and "--json" in out
    out, _ = sluice(broker, "topic", "--help")
    assert "alter-config" in out
    _, err = sluice(broker, "topic", "frobnicate", rc=2)
    assert "unknown subcommand 'frobnicate'" in err


def test_create_with_broker_defaults_reports_them(broker_factory):
    broker = broker_factory({"num.partitions": 4})
    d = sjson(broker, "topic", "create", "dflt")
    assert d == {"topic": "dflt", "partitions": 4, "replication_factor": 1, "created": True}
