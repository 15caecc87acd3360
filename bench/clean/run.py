"""Log cleaner benchmark, one run: cleaner throughput (MB/s of log cleaned)
and its effect on produce latency (p50/p99 of acks=1 produce round trips).

Two brokers on 127.0.0.1 (ephemeral ports, temp dirs, stopped by PID), the
same load on both: a compacted topic (segment.bytes=1 MiB,
min.cleanable.dirty.ratio=0.01) gets VALUES records of 1 KiB over KEYS keys
from one producer that keeps one request in flight and times each one.
Broker A has log.cleaner.threads=0, broker B cleans
(log.cleaner.backoff.ms=200). Cleaner throughput comes from the broker's
"cleaned N segments ... bytes read ... in T ms" lines.

    bench/clean/run.sh [VALUES] [KEYS]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
VALUES = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
KEYS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
CLEANED = re.compile(r"cleaned \d+ segments into \d+: (\d+) bytes read, (\d+) written in (\d+) ms")


def start(workdir, threads):
    log = open(os.path.join(workdir, "broker.log"), "wb")
    proc = subprocess.Popen([BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                             "--override", f"log.dirs={workdir}/data",
                             "--override", f"log.cleaner.threads={threads}",
                             "--override", "log.cleaner.backoff.ms=200"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        m = re.search(r"listening on PLAINTEXT://127\.0\.0\.1:(\d+)",
                      open(os.path.join(workdir, "broker.log")).read())
        if m:
            return proc, f"127.0.0.1:{m.group(1)}"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("broker did not start")


def load(bootstrap):
    a = AdminClient({"bootstrap.servers": bootstrap})
    cfg = {"cleanup.policy": "compact", "segment.bytes": str(1 << 20),
           "min.cleanable.dirty.ratio": "0.01"}
    for f in a.create_topics([NewTopic("bench", 1, 1, config=cfg)]).values():
        f.result(timeout=60)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0,
                  "max.in.flight.requests.per.connection": 1, "batch.num.messages": 10})
    lat = []
    value = b"x" * 1024
    t0 = time.monotonic()
    for i in range(VALUES):
        sent = time.monotonic()
        p.produce("bench", key=f"key{i % KEYS}".encode(), value=value,
                  on_delivery=lambda err, msg, s=sent: lat.append(time.monotonic() - s))
        p.poll(0)
        if i % 10 == 9:
            p.flush(60)
    p.flush(60)
    return lat, time.monotonic() - t0


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def run(threads):
    workdir = tempfile.mkdtemp(prefix="sl-bench-clean-")
    proc, bootstrap = start(workdir, threads)
    try:
        lat, wall = load(bootstrap)
        if threads:
            time.sleep(1.0)  # let the last clean finish before reading the log
        text = open(os.path.join(workdir, "broker.log")).read()
        cleans = [tuple(map(int, m.groups())) for m in CLEANED.finditer(text)]
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in
                   os.walk(os.path.join(workdir, "data", "bench-0")) for f in fs
                   if f.endswith(".log"))
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(workdir, ignore_errors=True)
    return lat, wall, cleans, size


uncleaned = 0
for threads in (0, 1):
    lat, wall, cleans, size = run(threads)
    if threads == 0:
        uncleaned = size  # the dirty log the cleaner gets in the second run
    line = (f"log.cleaner.threads={threads}: {VALUES} x 1 KiB over {KEYS} keys in {wall:.1f} s,"
            f" produce p50 {pct(lat, 0.5):.2f} ms p99 {pct(lat, 0.99):.2f} ms,"
            f" log {size / 1e6:.1f} MB after")
    if cleans:
        read = sum(c[0] for c in cleans)
        ms = sum(c[2] for c in cleans)
        line += (f", {len(cleans)} cleans in {ms} ms: {uncleaned / 1e6:.1f} MB of dirty log"
                 f" cleaned = {uncleaned / 1e6 / max(ms, 1) * 1000:.0f} MB/s"
                 f" ({read / 1e6:.1f} MB read = {read / 1e6 / max(ms, 1) * 1000:.0f} MB/s,"
                 f" median clean {statistics.median(c[2] for c in cleans)} ms)")
    print(line, flush=True)
