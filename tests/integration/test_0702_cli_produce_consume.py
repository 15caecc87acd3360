"""`sluice produce` and `sluice consume` against a live broker: keys,
headers, codecs, acks, partitions, start offsets, formats, --json, groups.
Records written by the CLI are checked with confluent-kafka too."""
import json
import subprocess

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import SLUICE_BIN


def sluice(broker, *args, input_bytes=None, rc=0):
    p = subprocess.run([SLUICE_BIN, *args, "-b", broker.bootstrap], input=input_bytes,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
    return p.stdout, p.stderr.decode()


def jlines(out):
    return [json.loads(l) for l in out.decode().splitlines()]


def read_all(bootstrap, topic, partitions, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    for _ in range(600):
        if len(got) >= count:
            break
        m = c.poll(0.1)
        if m is not None and not m.error():
            got.append(m)
    c.close()
    return got


def test_produce_keys_headers_verbose(broker):
    sluice(broker, "topic", "create", "kv", "-p", "2")
    out, _ = sluice(broker, "produce", "kv", "-k", ":", "-H", "src=cli", "-H", "n=1", "-v",
                    input_bytes=b"a:1\nb:2\nnokey\n")
    lines = out.decode().splitlines()
    assert len(lines) == 3
    for l in lines:
        t, word, p, word2, o = l.split()
        assert (t, word, word2) == ("kv", "partition", "offset") and p in "01"
    got = read_all(broker.bootstrap, "kv", 2, 3)
    by_val = {m.value(): m for m in got}
    assert set(by_val) == {b"1", b"2", b"nokey"}
    assert by_val[b"1"].key() == b"a" and by_val[b"2"].key() == b"b"
    assert by_val[b"nokey"].key() is None
    assert by_val[b"1"].headers() == [("src", b"cli"), ("n", b"1")]
    # What -v printed is where the records are.
    printed = sorted((int(l.split()[2]), int(l.split()[4])) for l in lines)
    assert printed == sorted((m.partition(), m.offset()) for m in got)


def test_produce_json_partition_acks_and_codecs(broker):
    sluice(broker, "topic", "create", "codecs", "-p", "3")
    recs = jlines(sluice(broker, "produce", "codecs", "-p", "2", "-v", "--json",
                         input_bytes=b"x\ny\n")[0])
    assert recs == [{"record": 0, "topic": "codecs", "partition": 2, "offset": 0},
                    {"record": 1, "topic": "codecs", "partition": 2, "offset": 1}]
    summary = jlines(sluice(broker, "produce", "codecs", "--json", "-p", "1",
                            input_bytes=b"1\n2\n3\n")[0])
    assert summary == [{"topic": "codecs", "produced": 3, "failed": 0}]
    expect = [b"x", b"y", b"1", b"2", b"3"]
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        payload = (codec * 50).encode()
        sluice(broker, "produce", "codecs", "-z", codec, "--acks", "1", "-p", "0",
               input_bytes=payload + b"\n")
        expect.append(payload)
    sluice(broker, "produce", "codecs", "--acks", "0", "-p", "0", input_bytes=b"fire\n")
    expect.append(b"fire")
    got = read_all(broker.bootstrap, "codecs", 3, len(expect))
    assert sorted(m.value() for m in got) == sorted(expect)
    _, err = sluice(broker, "produce", "codecs", "-z", "brotli", rc=2)
    assert "unknown codec" in err
    _, err = sluice(broker, "produce", "codecs", "--acks", "2", rc=2)
    assert "acks must be" in err


def test_file_per_record_binary_round_trip(broker, tmp_path):
    sluice(broker, "topic", "create", "blobs", "-p", "1")
    blobs = [bytes(range(256)) * 40, b"\xff\xd8\xff\xe0JFIF\x00" + b"\x00\n\r" * 100]
    files = []
    for i, b in enumerate(blobs):
        f = tmp_path / f"b{i}.bin"
        f.write_bytes(b)
        files.append(str(f))
    sluice(broker, "produce", "blobs", "--key", "cam-01", "--file-per-record", *files)
    out, _ = sluice(broker, "consume", "blobs", "-n", "1", "-f", "%v")
    assert out == blobs[0]
    out, _ = sluice(broker, "consume", "blobs", "-o", "1", "-n", "1", "-f", "%k %S\\n")
    assert out == f"cam-01 {len(blobs[1])}\n".encode()
    _, err = sluice(broker, "produce", "blobs", str(tmp_path / "b0.bin"), rc=2)
    assert "--file-per-record" in err


def test_consume_offsets_formats_and_json(broker):
    sluice(broker, "topic", "create", "log", "-p", "1")
    sluice(broker, "produce", "log", "-k", "=", "-H", "h=v",
           input_bytes=b"".join(b"k%d=v%d\n" % (i, i) for i in range(10)))
    out, _ = sluice(broker, "consume", "log", "-e", "-f", "%p:%o:%k:%v:%h\\n")
    assert out.decode().splitlines() == [f"0:{i}:k{i}:v{i}:h=v" for i in range(10)]
    out, _ = sluice(broker, "consume", "log", "-o", "7", "-e")
    assert out == b"v7\nv8\nv9\n"
    out, _ = sluice(broker, "consume", "--topic", "log", "-o", "-2", "-e")
    assert out == b"v8\nv9\n"
    out, _ = sluice(broker, "consume", "log", "--from-beginning", "--max-messages", "2")
    assert out == b"v0\nv1\n"
    out, _ = sluice(broker, "consume", "log", "-o", "end", "-e")
    assert out == b""
    recs = jlines(sluice(broker, "consume", "log", "-p", "0", "-c", "3", "--json")[0])
    assert [(r["partition"], r["offset"], r["key"], r["value"], r["headers"]) for r in recs] == [
        (0, i, f"k{i}", f"v{i}", {"h": "v"}) for i in range(3)]
    assert all(r["topic"] == "log" and r["timestamp"] > 0 for r in recs)
    # @TIME: a timestamp after every record starts at the end; 0 at the start.
    ts = recs[0]["timestamp"]
    out, _ = sluice(broker, "consume", "log", "-o", f"@{ts}", "-n", "1", "-f", "%o\\n")
    assert out == b"0\n"
    out, _ = sluice(broker, "consume", "log", "-o", f"@{ts + 3600_000}", "-e")
    assert out == b""
    _, err = sluice(broker, "consume", "log", "-o", "sideways", rc=2)
    assert "bad offset" in err
    _, err = sluice(broker, "consume", "nope", "-e", rc=1)
    assert "topic 'nope' does not exist" in err


def test_consume_json_escapes_binary_and_null_key(broker):
    sluice(broker, "topic", "create", "bin", "-p", "1")
    sluice(broker, "produce", "bin", input_bytes='quote" tab\t é\n'.encode())
    [r] = jlines(sluice(broker, "consume", "bin", "-e", "--json")[0])
    assert r["key"] is None and r["value"] == 'quote" tab\t é'
    assert r["headers"] == {}


def test_consume_in_group_commits_what_it_printed(broker_factory):
    # No initial rebalance delay: each CLI member joins an empty group.
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    sluice(broker, "topic", "create", "work", "-p", "2")
    sluice(broker, "produce", "work", "-p", "0", input_bytes=b"a\nb\nc\n")
    sluice(broker, "produce", "work", "-p", "1", input_bytes=b"d\ne\n")
    out, _ = sluice(broker, "consume", "work", "-g", "workers", "-n", "4")
    assert len(out.splitlines()) == 4
    # The next member of the group reads only what is left.
    out, _ = sluice(broker, "consume", "work", "-g", "workers", "-e")
    assert len(out.splitlines()) == 1
    d = json.loads(sluice(broker, "group", "describe", "workers", "--interval", "0",
                          "--json")[0])
    assert d["total_lag"] == 0
    assert sorted((o["partition"], o["current_offset"]) for o in d["offsets"]) == [(0, 3), (1, 2)]
    _, err = sluice(broker, "consume", "work", "-g", "workers", "-o", "5", rc=2)
    assert "group seek" in err
    _, err = sluice(broker, "consume", "work", "-g", "workers", "-p", "0", rc=2)
    assert "-p cannot be used with -g" in err


@pytest.mark.parametrize("cmd", [["produce"], ["consume"]])
def test_help(broker, cmd):
    out, _ = sluice(broker, *cmd, "--help")
    assert out.decode().startswith(f"usage: sluice {cmd[0]}")


def test_produce_to_missing_topic_without_auto_create_fails_with_the_fix(broker_factory):
    broker = broker_factory({"auto.create.topics.enable": "false"})
    _, err = sluice(broker, "produce", "ghost", "--timeout", "3s", input_bytes=b"boo\n", rc=1)
    assert "does not exist" in err and "sluice topic create" in err
    assert "1 of 1 records failed" in err
