#!/usr/bin/python3
"""Runs the face pipeline end to end and reports what happened to every frame.

Starts N workers in group `face-recognition`, waits until the group has
assigned them, runs the camera agent for --seconds, optionally asks
`sluice group describe` for its capacity advice mid-run and kills a worker
(SIGKILL) mid-run, then waits until every frame has a result. Prints frames
produced, processed, lost (must be 0), duplicates and end-to-end latency
percentiles; exits 1 if any frame was lost.

  python3 run.py --workers 5 --seconds 20      # keeps up
  python3 run.py --workers 4 --describe-at 8   # lag grows, and the CLI says so
  python3 run.py --workers 5 --kill-one-at 6   # a worker dies, no frame is lost
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

HERE = Path(__file__).resolve().parent
PY = sys.executable or "/usr/bin/python3"


def find_sluice(flag):
    for cand in [flag, os.environ.get("SLUICE_BIN"), str(HERE.parents[1] / "build" / "sluice"),
                 shutil.which("sluice")]:
        if cand and os.access(cand, os.X_OK):
            return cand
    sys.exit("run.py: cannot find the sluice binary: run `make` or pass --sluice PATH")


class Results(threading.Thread):
    """Reads the `faces` topic from its current end; keeps this run's results."""

    def __init__(self, bootstrap, topic, run_id):
        super().__init__(daemon=True)
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "face-pipeline-runner",
                           "enable.auto.commit": False})
        _, high = self.c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        self.c.assign([TopicPartition(topic, 0, high)])
        self.run_id = run_id
        self.seen = {}  # seq -> times processed
        self.latencies = []
        self.by_worker = {}
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        while not self.stopping:
            m = self.c.poll(0.2)
            if m is None or m.error():
                continue
            r = json.loads(m.value())
            if r.get("run") != self.run_id:
                continue
            with self.lock:
                self.seen[r["seq"]] = self.seen.get(r["seq"], 0) + 1
                self.latencies.append(r["done_ms"] - r["sent_ms"])
                self.by_worker[r["worker"]] = self.by_worker.get(r["worker"], 0) + 1
        self.c.close()

    def unique(self):
        with self.lock:
            return len(self.seen)


def cli(sluice, bootstrap, *args, check=True):
    p = subprocess.run([sluice, *args, "-b", bootstrap], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        sys.exit(f"run.py: sluice {' '.join(args)} failed: {p.stderr.strip()}")
    return p.stdout


def wait_assigned(sluice, bootstrap, group, n, deadline_s=60):
    """Until the group is Stable with n members that all hold partitions."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        p = subprocess.run([sluice, "group", "describe", group, "-i", "0", "--json", "-b",
                            bootstrap], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if p.returncode == 0:
            d = json.loads(p.stdout)
            if d["state"] == "Stable" and len(d["members"]) == n and all(
                    m["assignment"] for m in d["members"]):
                return
        time.sleep(0.2)
    sys.exit(f"run.py: group {group} did not assign {n} workers within {deadline_s}s")


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--fps", type=float, default=10)
    ap.add_argument("--cameras", type=int, default=10)
    ap.add_argument("--frame-time", type=float, default=0.5)
    ap.add_argument("--group", default="face-recognition")
    ap.add_argument("--describe-at", type=float, help="run `sluice group describe` at T s")
    ap.add_argument("--describe-interval", default="4s")
    ap.add_argument("--kill-one-at", type=float, help="SIGKILL one worker at T s")
    ap.add_argument("--drain-timeout", type=float, default=120)
    ap.add_argument("--sluice", help="path of the sluice binary")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args()

    sluice = find_sluice(args.sluice)
    b = args.bootstrap
    run_id = f"{os.getpid()}-{int(time.time())}"
    cli(sluice, b, "topic", "create", "frames", "-p", str(args.cameras), "--if-not-exists",
        "-c", "max.message.bytes=4194304")
    cli(sluice, b, "topic", "create", "faces", "-p", "1", "--if-not-exists")
    results = Results(b, "faces", run_id)
    results.start()

    workers = [subprocess.Popen([PY, str(HERE / "worker.py"), "--bootstrap", b, "--group",
                                 args.group, "--frame-time", str(args.frame_time), "--id",
                                 f"worker-{i + 1}"], stdout=subprocess.DEVNULL)
               for i in range(args.workers)]
    report = {"workers": args.workers, "fps": args.fps, "seconds": args.seconds,
              "frame_time": args.frame_time}
    try:
        wait_assigned(sluice, b, args.group, args.workers)
        camera = subprocess.Popen([PY, str(HERE / "camera.py"), "--bootstrap", b, "--cameras",
                                   str(args.cameras), "--fps", str(args.fps), "--seconds",
                                   str(args.seconds), "--run-id", run_id],
                                  stdout=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        described = killed = False
        while camera.poll() is None:
            now = time.monotonic() - t0
            if args.kill_one_at is not None and not killed and now >= args.kill_one_at:
                workers[0].send_signal(signal.SIGKILL)
                killed = True
                print(f"[{now:5.1f}s] killed worker-1 (SIGKILL)", flush=True)
            if args.describe_at is not None and not described and now >= args.describe_at:
                described = True
                out = cli(sluice, b, "group", "describe", args.group, "--interval",
                          args.describe_interval)
                print(f"[{now:5.1f}s] sluice group describe {args.group}\n{out}", flush=True)
                report["cli_capacity"] = next(
                    (l.split(None, 1)[1] for l in out.splitlines() if l.startswith("CAPACITY")),
                    None)
            time.sleep(0.05)
        cam = json.loads(camera.stdout.read())
        report.update(produced=cam["produced"], jpeg=cam["jpeg"], frame_bytes=cam["frame_bytes"])
        end = time.monotonic() + args.drain_timeout
        while results.unique() < cam["produced"] and time.monotonic() < end:
            time.sleep(0.1)
        report["drain_s"] = round(time.monotonic() - t0 - args.seconds, 1)
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        results.stopping = True
        results.join(timeout=10)

    with results.lock:
        seen = dict(results.seen)
        lat = list(results.latencies)
        report["by_worker"] = dict(sorted(results.by_worker.items()))
    produced = report.get("produced", 0)
    report["processed"] = sum(1 for s in range(produced) if s in seen)
    report["lost"] = produced - report["processed"]
    report["duplicates"] = sum(n - 1 for n in seen.values())
    report["latency_ms"] = {f"p{q}": percentile(lat, q) for q in (50, 90, 99)}
    report["latency_ms"]["max"] = max(lat) if lat else None
    if args.json:
        print(json.dumps(report))
    else:
        l = report["latency_ms"]
        kind = "JPEG" if report.get("jpeg") else "JPEG-shaped"
        print(f"frames produced   {produced} ({args.fps:g} fps for {args.seconds:g} s, "
              f"{args.cameras} cameras, {kind} ~{report.get('frame_bytes', 0) // 1000} KB)")
        print(f"frames processed  {report['processed']} by {args.workers} workers "
              f"{report['by_worker']}")
        print(f"frames lost       {report['lost']}")
        print(f"duplicates        {report['duplicates']}")
        print(f"latency (ms)      p50 {l['p50']}  p90 {l['p90']}  p99 {l['p99']}  max {l['max']}")
        print(f"drained           {report.get('drain_s')} s after the camera stopped")
    return 0 if report["lost"] == 0 and produced > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
