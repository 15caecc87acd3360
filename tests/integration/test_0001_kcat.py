"""kcat (librdkafka 2.0.2): metadata, produce and consume with every codec,
keys, headers, and the start positions users reach for."""
import json
import re
import time

import pytest

from conftest import run

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def kcat(broker, *args, input_bytes=None, check=True):
    return run(["kcat", "-b", broker.bootstrap, *args], input_bytes=input_bytes, check=check)


def produce_lines(broker, topic, lines, *extra):
    data = "".join(line + "\n" for line in lines).encode()
    return kcat(broker, "-P", "-t", topic, "-X", "acks=all", *extra, input_bytes=data)


def consume(broker, topic, *extra, fmt="%k|%s|%h|%p|%o\n"):
    p = kcat(broker, "-C", "-t", topic, "-e", "-q", "-f", fmt, *extra)
    return p.stdout.decode().splitlines()


def test_metadata_lists_broker_and_features(broker):
    produce_lines(broker, "meta-topic", ["x"])
    p = kcat(broker, "-L", "-J")
    md = json.loads(p.stdout)
    assert [b["name"] for b in md["brokers"]] == [broker.bootstrap]
    topics = {t["topic"]: t for t in md["topics"]}
    assert "meta-topic" in topics
    assert len(topics["meta-topic"]["partitions"]) == 1
    # librdkafka turns features off silently when version ranges are wrong.
    dbg = kcat(broker, "-L", "-d", "feature").stderr.decode()
    enabled = set(re.findall(r"Enabling feature (\w+)", dbg))
    disabled = set(re.findall(r"Disabling feature (\w+)", dbg))
    for feature in ("MsgVer2", "ZSTD", "LZ4", "BrokerGroupCoordinator", "OffsetTime",
                    "IdempotentProducer"):
        assert feature in enabled, dbg
    # SASL arrives with the security work.
    assert disabled <= {"SaslHandshake", "SaslAuthReq"}, disabled


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_every_codec_with_keys_and_headers(broker, codec):
    topic = f"codec-{codec}"
    lines = [f"key-{i}:value-{codec}-{i}-" + "x" * (i % 50) for i in range(300)]
    p = produce_lines(broker, topic, lines, "-z", codec, "-K:", "-H", "trace=abc",
                      "-H", "n=1", "-d", "msg")
    assert b"not compressing" not in p.stderr
    got = consume(broker, topic, "-o", "beginning")
    want = [f"{line.split(':', 1)[0]}|{line.split(':', 1)[1]}|trace=abc,n=1|0|{i}"
            for i, line in enumerate(lines)]
    assert got == want


def test_start_positions_beginning_end_offset_relative(broker):
    topic = "positions"
    produce_lines(broker, topic, [f"m{i}" for i in range(10)])
    fmt = "%s\n"
    assert consume(broker, topic, "-o", "beginning", fmt=fmt) == [f"m{i}" for i in range(10)]
    assert consume(broker, topic, "-o", "7", fmt=fmt) == ["m7", "m8", "m9"]
    assert consume(broker, topic, "-o", "-2", fmt=fmt) == ["m8", "m9"]
    assert consume(broker, topic, "-o", "end", fmt=fmt) == []


def test_start_position_by_timestamp(broker):
    topic = "by-time"
    produce_lines(broker, topic, ["old-1", "old-2"])
    got = consume(broker, topic, "-o", "beginning", fmt="%T %s\n")
    first_ts = max(int(line.split()[0]) for line in got)
    # Timestamps are CreateTime from the client clock: make the boundary unambiguous.
    boundary = first_ts + 1
    while int(time.time() * 1000) <= boundary:
        time.sleep(0.001)
    produce_lines(broker, topic, ["new-1", "new-2"])
    assert consume(broker, topic, "-o", f"s@{boundary}", fmt="%s\n") == ["new-1", "new-2"]


def test_null_and_empty_keys_and_values(broker):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce("nulls", key=None, value=b"")
    p.produce("nulls", key=b"k", value=None)
    p.produce("nulls", key=b"", value=b"v")
    assert p.flush(60) == 0
    # kcat reports a null's length as -1 and an empty one's as 0.
    assert consume(broker, "nulls", "-o", "beginning", "-Z", fmt="%K:%S\n") == [
        "-1:0", "1:-1", "0:1"]
