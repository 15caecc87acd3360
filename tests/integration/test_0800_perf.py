"""`sluice perf produce|consume|e2e` against a real broker, with small counts:
the counts add up, --json parses, latencies are non-negative and ordered,
and the exit codes follow the CLI convention (0 ok, 1 failed, 2 usage).
No timing thresholds: the figures themselves are bench/run.sh's business."""
import json
import os
import subprocess

import pytest

from conftest import SLUICE_BIN, run

QUANTILES = ("min", "p50", "p99", "p999", "max")


def perf(broker, *args, check=True):
    """Runs `sluice perf ARGS -b BROKER --json`; returns (process, parsed JSON)."""
    cmd = [SLUICE_BIN, "perf", *map(str, args), "-b", broker.bootstrap, "--json"]
    p = run(cmd, check=check, timeout=120)
    return p, (json.loads(p.stdout) if p.stdout.strip() else None)


def run_env(cmd, env):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                          env={**os.environ, **env})


def check_latency(h, count):
    assert h["count"] == count
    values = [h[q] for q in QUANTILES]
    assert all(v >= 0 for v in values), h
    assert values == sorted(values), h
    assert h["min"] <= h["mean"] <= h["max"], h


def test_produce_counts_and_ack_latency(broker):
    _, j = perf(broker, "produce", "--topic", "pp", "--num-records", 2000, "--record-size", 100)
    assert j["mode"] == "produce" and j["ok"] is True
    pr = j["produce"]
    assert (pr["sent"], pr["acked"], pr["failed"]) == (2000, 2000, 0)
    assert pr["bytes"] == 2000 * 100
    assert pr["records_per_s"] > 0 and pr["mb_per_s"] > 0 and pr["elapsed_s"] > 0
    check_latency(pr["ack_latency_ms"], 2000)


def test_consume_reads_what_was_produced(broker):
    perf(broker, "produce", "--topic", "cc", "--num-records", 1500, "--record-size", 256)
    _, j = perf(broker, "consume", "--topic", "cc")
    c = j["consume"]
    assert j["ok"] is True
    assert (c["received"], c["bytes"], c["errors"]) == (1500, 1500 * 256, 0)
    assert c["records_per_s"] > 0
    # --num-records stops at exactly N even when a fetch returns more.
    _, j = perf(broker, "consume", "--topic", "cc", "--num-records", 700)
    assert j["consume"]["received"] == 700


def test_consume_waits_for_records_it_cannot_get(broker):
    perf(broker, "produce", "--topic", "short", "--num-records", 10)
    p, j = perf(broker, "consume", "--topic", "short", "--num-records", 11, "--timeout-ms", 500,
                check=False)
    assert p.returncode == 1
    assert j["ok"] is False and j["consume"]["received"] == 10 and "error" in j


def test_e2e_at_a_fixed_rate(broker):
    _, j = perf(broker, "e2e", "--topic", "e2e", "--throughput", 2000, "--duration", 0.5,
                "--linger-ms", 1)
    pr, c = j["produce"], j["consume"]
    # The schedule is start + i/rate, so the count is exact.
    assert pr["sent"] == pr["acked"] == 1000
    assert c["received"] == 1000 and c["foreign"] == 0
    check_latency(j["e2e_latency_ms"], 1000)
    check_latency(pr["ack_latency_ms"], 1000)
    assert j["target_rate"] == 2000


def test_latency_log_has_one_line_per_record(broker, tmp_path):
    for mode, extra in (("produce", []), ("e2e", ["--throughput", 1000])):
        log = tmp_path / f"{mode}.txt"
        _, j = perf(broker, mode, "--topic", f"log-{mode}", "--num-records", 200,
                    "--latency-log", log, *extra)
        rows = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
        assert len(rows) == 200
        assert all(sched >= 0 and lat >= 0 for sched, lat in rows)
        hist = j["e2e_latency_ms" if mode == "e2e" else "produce"]
        hist = hist if mode == "e2e" else hist["ack_latency_ms"]
        assert abs(max(lat for _, lat in rows) - hist["max"]) < 0.01


def test_e2e_skips_records_of_earlier_runs(broker):
    perf(broker, "produce", "--topic", "again", "--num-records", 500, "--record-size", 64)
    _, j = perf(broker, "e2e", "--topic", "again", "--num-records", 300, "--record-size", 64)
    assert j["consume"]["received"] == 300 and j["consume"]["foreign"] == 0
    check_latency(j["e2e_latency_ms"], 300)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_produce_then_consume(broker, codec):
    topic = f"z-{codec}"
    _, j = perf(broker, "produce", "--topic", topic, "--num-records", 1000, "--compression",
                codec, "--acks", "1")
    assert j["produce"]["acked"] == 1000 and j["compression"] == codec
    _, j = perf(broker, "consume", "--topic", topic)
    assert j["consume"]["received"] == 1000


def test_partitions_and_acks_zero(broker):
    _, j = perf(broker, "produce", "--topic", "parts", "--partitions", 3, "--num-records", 900,
                "--acks", "0", "-X", "sticky.partitioning.linger.ms=0")
    assert j["produce"]["acked"] == 900
    _, j = perf(broker, "consume", "--topic", "parts")
    assert j["consume"]["received"] == 900
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=30)
    assert len(md.topics["parts"].partitions) == 3


def test_text_output_and_env_bootstrap(broker):
    p = run_env([SLUICE_BIN, "perf", "produce", "--num-records", "50"],
                 {"SLUICE_BROKERS": broker.bootstrap})
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "produced 50 records (50 acked, 0 failed)" in out
    assert "ack latency ms: p50" in out


def test_unreachable_broker_fails_with_1():
    p = run([SLUICE_BIN, "perf", "produce", "-b", "127.0.0.1:1", "--num-records", "5",
             "--timeout-ms", "300", "--json"], check=False)
    assert p.returncode == 1
    assert json.loads(p.stdout)["ok"] is False


@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["produce"],                              # neither a count nor a duration
    ["produce", "--num-records", "x"],
    ["produce", "--num-records", 5, "--acks", "2"],
    ["e2e", "--num-records", 5, "--record-size", 10],
    ["consume", "extra-argument"],
    ["produce", "--no-such-option"],
])
def test_usage_errors_exit_2(args):
    p = run([SLUICE_BIN, "perf", *map(str, args)], check=False)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stdout == b""


def test_help_exits_0():
    for args in (["--help"], ["produce", "--help"]):
        p = run([SLUICE_BIN, "perf", *args])
        assert b"--bootstrap-server" in p.stdout and b"e2e" in p.stdout
    assert b"perf" in run([SLUICE_BIN, "--help"]).stdout
