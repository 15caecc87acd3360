"""Kafka tool habits a new user brings, and the messages they see when
something is wrong: kafka-topics' action flags, --zookeeper, the console
tools' --property settings, the global -b, --version, and one-sentence
errors for a missing topic or group, an unknown host, a port without a
number, a port in use and a brand-new data directory."""
import re
import socket
import subprocess

from conftest import SLUICE_BIN, wait_until


def run(*args, input_bytes=None, rc=0, env=None):
    p = subprocess.run([SLUICE_BIN, *args], input=input_bytes, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout.decode(), p.stderr.decode()


def test_kafka_topics_action_flags(broker):
    bs = broker.bootstrap
    out, _ = run("topic", "--bootstrap-server", bs, "--create", "--topic", "orders",
                 "--partitions", "2", "--replication-factor", "1")
    assert out == "created topic orders\n"
    out, _ = run("topic", "--list", "--bootstrap-server", bs)
    assert [l.split()[0] for l in out.splitlines()[1:]] == ["orders"]
    out, _ = run("topic", "--bootstrap-server", bs, "--describe", "--topic", "orders")
    assert "Topic: orders" in out and "PartitionCount: 2" in out
    # --alter with --partitions grows the topic; with --config it sets overrides.
    out, _ = run("topic", "--bootstrap-server", bs, "--alter", "--topic", "orders",
                 "--partitions", "4")
    assert out == "topic orders now has 4 partitions\n"
    run("topic", "--bootstrap-server", bs, "--alter", "--topic", "orders",
        "--add-config", "retention.ms=60000")
    out, _ = run("topic", "describe", "orders", "-b", bs)
    assert re.search(r"retention\.ms\s+60000\s+DYNAMIC_TOPIC_CONFIG", out), out
    out, _ = run("topic", "--bootstrap-server", bs, "--delete", "--topic", "orders")
    assert out == "deleted topic orders\n"
    out, _ = run("topic", "--list", "--bootstrap-server", bs)
    assert out.splitlines()[1:] == []


def test_zookeeper_points_to_bootstrap_server(broker):
    _, err = run("topic", "--zookeeper", "localhost:2181", "--list", rc=2)
    assert "--zookeeper is not used" in err and "--bootstrap-server" in err


def test_console_property_key_handling(broker):
    bs = broker.bootstrap
    run("topic", "create", "kv", "-p", "1", "-b", bs)
    out, _ = run("produce", "--bootstrap-server", bs, "--topic", "kv",
                 "--property", "parse.key=true", "--property", "key.separator=:",
                 input_bytes=b"alice:hello\nbob:hi:there\n")
    # Kafka's default separator is a tab.
    run("produce", "kv", "-b", bs, "--property", "parse.key=true", input_bytes=b"carol\they\n")
    out, _ = run("consume", "kv", "-b", bs, "--from-beginning", "-e",
                 "--property", "print.key=true", "--property", "key.separator=:")
    assert out == "alice:hello\nbob:hi:there\ncarol:hey\n"
    out, _ = run("consume", "kv", "-b", bs, "-e", "--property", "print.key=true",
                 "--property", "print.offset=true", "--property", "print.partition=true")
    assert out.splitlines() == ["Partition:0\tOffset:0\talice\thello",
                                "Partition:0\tOffset:1\tbob\thi:there",
                                "Partition:0\tOffset:2\tcarol\they"]
    # Without print.key only values, as kafka-console-consumer.
    out, _ = run("consume", "kv", "-b", bs, "-e", "--property", "print.value=true")
    assert out == "hello\nhi:there\nhey\n"
    # A record without a key prints "null" as its key.
    run("produce", "kv", "-b", bs, input_bytes=b"nokey\n")
    out, _ = run("consume", "kv", "-b", bs, "-o", "3", "-e", "--property", "print.key=true")
    assert out == "null\tnokey\n"
    # Unknown settings are refused with what is supported; client settings go to -X.
    _, err = run("consume", "kv", "-b", bs, "--property", "fetch.min.bytes=1", rc=2)
    assert "print.key" in err and "-X" in err
    _, err = run("produce", "kv", "-b", bs, "--property", "acks=all", rc=2,
                 input_bytes=b"")
    assert "parse.key" in err and "-X" in err
    _, err = run("topic", "list", "-b", bs, "--property", "a=b", rc=2)
    assert "-X KEY=VALUE" in err
    # -X, --producer-property and --consumer-property are librdkafka settings.
    run("produce", "kv", "-b", bs, "-X", "linger.ms=0", "--producer-property", "acks=all",
        input_bytes=b"x:y\n")
    out, _ = run("consume", "kv", "-b", bs, "-o", "4", "-e", "--consumer-property",
                 "fetch.wait.max.ms=10")
    assert out == "x:y\n"
    _, err = run("produce", "kv", "-b", bs, "-X", "no.such.setting=1", rc=1, input_bytes=b"")
    assert "no.such.setting" in err


def test_global_broker_flag_and_version(broker):
    bs = broker.bootstrap
    out, _ = run("-b", bs, "topic", "create", "g1", "-p", "1")
    assert out == "created topic g1\n"
    out, _ = run("--bootstrap-server", bs, "topic", "list")
    assert "g1" in out
    out, _ = run(f"--bootstrap-server={bs}", "cluster", "info")
    assert "127.0.0.1" in out
    out, _ = run("--version")
    assert re.fullmatch(r"sluice \S+\n", out)
    _, err = run("-b", rc=2)
    assert "needs HOST:PORT" in err


def test_missing_topic_and_group_deletes_are_sentences(broker):
    bs = broker.bootstrap
    _, err = run("topic", "delete", "nope", "-b", bs, rc=1)
    assert err == "sluice topic delete: topic 'nope' does not exist (see `sluice topic list`)\n"
    _, err = run("group", "delete", "nogroup", "-b", bs, rc=1)
    assert err == ("sluice group delete: group 'nogroup' does not exist "
                   "(see `sluice group list`)\n")
    assert "Broker:" not in err


def test_bad_addresses():
    _, err = run("topic", "list", "-b", "no-such-host.invalid:9092", rc=1)
    assert "unknown host 'no-such-host.invalid'" in err
    for bad in ("127.0.0.1", "localhost:", "localhost:port", "localhost:70000"):
        _, err = run("topic", "list", "-b", bad, rc=2)
        assert f"bad broker address '{bad}'" in err, err
    env = {"SLUICE_BROKERS": "localhost"}
    _, err = run("topic", "list", rc=2, env=env)
    assert "bad broker address 'localhost'" in err


def test_port_in_use_is_one_line_and_new_dir_is_not_unclean(broker, tmp_path):
    # The fixture's broker reports a brand-new data dir as new.
    log = broker.log()
    assert "unclean shutdown" not in log and "a new data directory" in log, log
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    p = subprocess.run([SLUICE_BIN, "serve", "--override", f"log.dirs={tmp_path}/second",
                        "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode != 0
    errors = [l for l in p.stderr.decode().splitlines() if " ERROR " in l]
    assert len(errors) == 1, errors
    assert f"127.0.0.1:{port}: Address already in use" in errors[0]
    assert "EIO" not in p.stderr.decode()


def test_serve_help_lists_main_configs():
    out, _ = run("serve", "--help")
    for key in ("listeners", "advertised.listeners", "log.dirs", "num.partitions",
                "auto.create.topics.enable", "log.retention.hours", "--override"):
        assert key in out, key
