#!/usr/bin/python3
"""The driver behind bench/run.sh: measures, in one run on one machine,

  * the limits: loopback TCP (iperf3), sequential buffered write of a fresh
    file and the same with fdatasync every 1 MiB (fio), fdatasync latency of
    4 KiB appends and sendfile from the page cache to a loopback socket
    (bench/perf/limits);
  * Redis Streams, the peer users reach for: XADD with redis-benchmark -P on
    one connection (appendfsync everysec and always), XREAD COUNT 1000 on one
    connection, and end-to-end latency at a fixed rate with the consumer
    blocked in XREAD BLOCK (bench/perf/redis_stream);
  * Sluice: `sluice serve` on a fresh temp dir and port, driven by
    `sluice perf`, with the broker's CPU time (/proc/PID/stat) and peak RSS
    (VmHWM in /proc/PID/status);

then writes a table of ratios to bench/RESULTS.md. Each target compares a
pair of measurements taken back to back within one repetition (the order of
the two alternates between repetitions), every ratio is computed within its
repetition, and only then are medians taken: on a shared machine whose speed
drifts by the minute, that keeps both sides of a ratio under the same load.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("BUILD", "build")
SLUICE = BUILD / "sluice"
LIMITS = BUILD / "bench" / "limits"
REDIS_STREAM = BUILD / "bench" / "redis_stream"
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN = "<!-- sluice-perf:begin (written by bench/run.sh; edits here are overwritten) -->"
END = "<!-- sluice-perf:end -->"
LISTEN_RE = re.compile(rb"listening on PLAINTEXT://127\.0\.0\.1:(\d+)")
MB = 1e6
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Sizes per mode: a default run stays well under 15 minutes on 2 vCPUs.
PROFILES = {
    "default": dict(reps=7, iperf_s=3, fio_mib=512, fsync_n=2000, sendfile_mib=256,
                    sendfile_passes=4, redis_n=1_000_000, redis_always_n=300_000,
                    p100_n=2_000_000, p1k_n=500_000, e2e_s=15, starts=3, settle_s=15),
    "quick": dict(reps=1, iperf_s=1, fio_mib=64, fsync_n=200, sendfile_mib=64,
                  sendfile_passes=2, redis_n=100_000, redis_always_n=30_000,
                  p100_n=200_000, p1k_n=50_000, e2e_s=3, starts=2, settle_s=3),
}
E2E_RATE = 10_000
REDIS_PIPELINE = 128


class Bench:
    def __init__(self, args, prof):
        self.args = args
        self.prof = prof
        self.tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-", dir=args.dir))
        self.commands = {}   # label -> command line as run (first repetition)
        self.failures = []
        self.rep = 0
        self.procs = []      # servers of the current repetition
        self.freed_at = time.monotonic()

    # ---- running commands ------------------------------------------------

    def show(self, argv):
        """A command line with this machine's paths replaced by placeholders."""
        s = " ".join(a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a + "'"
                     for a in map(str, argv))
        s = s.replace(str(self.tmp), "$TMP").replace(str(ROOT) + "/", "")
        return s.replace("x" * 100, "$VAL100")

    def run(self, label, argv, timeout=600, parse_json=True):
        self.commands.setdefault(label, self.show(argv))
        p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"{label}: exit {p.returncode}: "
                               f"{p.stderr.decode(errors='replace')[-500:]}")
        out = p.stdout.decode()
        return json.loads(out) if parse_json else out

    def step(self, res, label, fn):
        """Runs one measurement; a failure is recorded and the run goes on."""
        t0 = time.monotonic()
        try:
            fn(res)
        except Exception as e:  # noqa: BLE001 -- report and carry on
            self.failures.append(f"rep {self.rep + 1} {label}: {e}")
            print(f"  {label}: FAILED: {e}", file=sys.stderr)
            return
        if self.args.verbose:
            print(f"  {label}: {time.monotonic() - t0:.1f} s", file=sys.stderr)

    # ---- limits -------------------------------------------------------------

    def iperf(self, r):
        port = free_port()
        srv = subprocess.Popen(["iperf3", "-s", "-1", "--forceflush", "-p", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            # A probe connection would use up the one-off server: wait for its banner.
            while b"listening" not in (srv.stdout.readline() or b"listening"):
                pass
            j = self.run("iperf3", ["iperf3", "-c", "127.0.0.1", "-p", port,
                                    "-t", self.prof["iperf_s"], "-J"])
            r["iperf_Bps"] = j["end"]["sum_received"]["bits_per_second"] / 8
        finally:
            stop(srv)

    def fio(self, r, key, label, extra, keep=False):
        f = self.tmp / f"fio-{key}.dat"
        f.unlink(missing_ok=True)   # a fresh file each time
        j = self.run(label, ["fio", "--name=seqwrite", f"--filename={f}", "--rw=write",
                             "--bs=1M", f"--size={self.prof['fio_mib']}M", "--ioengine=psync",
                             "--fallocate=none", *extra, "--output-format=json"])
        r[key] = j["jobs"][0]["write"]["bw_bytes"]
        if not keep:
            f.unlink(missing_ok=True)

    def fsync(self, r):
        j = self.run("fdatasync latency", [LIMITS, "fsync", self.tmp, self.prof["fsync_n"]])
        r.update(fsync_p50=j["p50"], fsync_p99=j["p99"], fsync_p999=j["p999"])

    def sendfile(self, r):
        j = self.run("sendfile", [LIMITS, "sendfile", self.tmp, self.prof["sendfile_mib"],
                                  self.prof["sendfile_passes"]])
        r["sendfile_Bps"] = j["bytes_per_s"]

    # ---- Redis Streams ------------------------------------------------------

    def start_redis(self, fsync):
        d = self.tmp / f"redis-{fsync}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        port = free_port()
        argv = ["redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", d,
                "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--daemonize", "no"]
        self.commands.setdefault(f"redis-server ({fsync})", self.show(argv))
        srv = subprocess.Popen([str(a) for a in argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        self.procs.append(srv)
        wait_port(port, 10)
        return srv, port

    def redis_xadd(self, r, srv, port, fsync, n):
        cpu0 = cpu_seconds(srv.pid)
        out = self.run(f"redis-benchmark XADD ({fsync})",
                       ["redis-benchmark", "-p", port, "-c", "1", "-P", REDIS_PIPELINE,
                        "-n", n, "--csv", "XADD", "stream", "*", "f", "x" * 100],
                       parse_json=False)
        r[f"redis_{fsync}_xadd"] = float(out.strip().splitlines()[-1].split('","')[1])
        r[f"redis_{fsync}_cpu_us"] = (cpu_seconds(srv.pid) - cpu0) / n * 1e6

    def redis_xread(self, r, port, n):
        j = self.run("redis XREAD COUNT 1000", [REDIS_STREAM, "consume", port, "stream", n])
        r["redis_xread"] = j["records_per_s"]

    def redis_e2e(self, r, port, fsync):
        j = self.run(f"redis e2e ({fsync})",
                     [REDIS_STREAM, "e2e", port, "e2e", E2E_RATE, self.prof["e2e_s"], 100])
        for q in ("p50", "p99", "p999"):
            r[f"redis_{fsync}_e2e_{q}"] = j[q]

    # ---- Sluice -------------------------------------------------------------

    def start_broker(self, data):
        """Starts `sluice serve`; returns (process, port, ms until listening)."""
        shutil.rmtree(data, ignore_errors=True)
        argv = [SLUICE, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                "--override", f"log.dirs={data}"]
        self.commands.setdefault("sluice serve", self.show(argv))
        t0 = time.monotonic()
        proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        buf = b""
        while True:
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError(f"broker exited before listening: {buf[-500:]!r}")
            buf += line
            m = LISTEN_RE.search(line)
            if m:
                ms = (time.monotonic() - t0) * 1e3
                break
        # Keep reading its log so that it never blocks on a full pipe.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        return proc, int(m.group(1)), ms

    def start_sluice(self, res):
        """Start-up time over a few starts on an empty dir, then the broker
        that serves this repetition, with its idle RSS."""
        data = self.tmp / "sluice-data"
        starts = []
        for _ in range(self.prof["starts"] - 1):
            proc, _, ms = self.start_broker(data)
            starts.append(ms)
            stop(proc)
        proc, port, ms = self.start_broker(data)
        self.procs.append(proc)
        starts.append(ms)
        res["start_ms"] = statistics.median(starts)
        time.sleep(0.5)  # idle: after start-up, no client yet
        res["idle_rss_kb"] = proc_status_kb(proc.pid, "VmRSS")
        return proc, port

    def perf(self, label, port, *args):
        return self.run(label, [SLUICE, "perf", *args, "-b", f"127.0.0.1:{port}", "--json"])

    def sluice_produce(self, r, proc, port, size, n, key, topic):
        cpu0 = cpu_seconds(proc.pid)
        j = self.perf(f"sluice perf produce {size} B", port, "produce", "--topic", topic,
                      "--record-size", size, "--num-records", n, "--acks", "all")
        cpu = cpu_seconds(proc.pid) - cpu0
        pr = j["produce"]
        if pr["acked"] != n:
            raise RuntimeError(f"{pr['acked']} of {n} acknowledged")
        r[f"{key}_rps"] = pr["records_per_s"]
        r[f"{key}_Bps"] = pr["mb_per_s"] * MB
        r[f"{key}_cpu_us"] = cpu / n * 1e6

    def sluice_consume(self, r, proc, port, size, n, key, topic):
        cpu0 = cpu_seconds(proc.pid)
        j = self.perf(f"sluice perf consume {size} B", port, "consume", "--topic", topic,
                      "--num-records", n)
        r[f"{key}_cpu_us"] = (cpu_seconds(proc.pid) - cpu0) / n * 1e6
        r[f"{key}_rps"] = j["consume"]["records_per_s"]
        r[f"{key}_Bps"] = j["consume"]["mb_per_s"] * MB

    def sluice_e2e(self, r, port):
        j = self.perf("sluice perf e2e", port, "e2e", "--topic", "e2e", "--record-size", 100,
                      "--throughput", E2E_RATE, "--duration", self.prof["e2e_s"],
                      "--acks", "all", "--linger-ms", 1)
        for q in ("p50", "p99", "p999"):
            r[f"sluice_e2e_{q}"] = j["e2e_latency_ms"][q]

    # ---- one repetition ---------------------------------------------------

    def repetition(self, res):
        """Each target compares a pair of measurements taken back to back,
        the reference first in even repetitions and Sluice first in odd
        ones, so that a disturbance lasting minutes lands on both sides."""
        p = self.prof
        sl, sport = self.start_sluice(res)
        rev, rport = self.start_redis("everysec")
        ras, aport = self.start_redis("always")
        pairs = [
            ("write", lambda r: self.fio(r, "fio_buf_Bps", "fio buffered", [], keep=True),
             lambda r: self.sluice_produce(r, sl, sport, 1024, p["p1k_n"], "sluice_p1k", "p1k")),
            ("produce 100 B", lambda r: self.redis_xadd(r, rev, rport, "everysec", p["redis_n"]),
             lambda r: self.sluice_produce(r, sl, sport, 100, p["p100_n"], "sluice_p100",
                                           "p100")),
            ("fetch 1 KiB", self.sendfile,
             lambda r: self.sluice_consume(r, sl, sport, 1024, p["p1k_n"], "sluice_c1k", "p1k")),
            ("fetch 100 B", lambda r: self.redis_xread(r, rport, p["redis_n"]),
             lambda r: self.sluice_consume(r, sl, sport, 100, p["p100_n"], "sluice_c100",
                                           "p100")),
            ("e2e", lambda r: self.redis_e2e(r, aport, "always"),
             lambda r: self.sluice_e2e(r, sport)),
        ]
        # Measurements that free no page cache run while freed memory settles.
        before = [("iperf3", self.iperf), ("fdatasync latency", self.fsync),
                  ("redis always xadd",
                   lambda r: self.redis_xadd(r, ras, aport, "always", p["redis_always_n"]))]
        for name, fn in before:
            self.step(res, name, fn)
        # Page-cache pages freed in the last seconds are still backed by the
        # host and cost a sixth of a fresh one to touch (notes on this VM):
        # the write pair must not inherit them from the last cleanup.
        time.sleep(max(0.0, p["settle_s"] - (time.monotonic() - self.freed_at)))
        for name, ref, ours in pairs:
            first, second = (ref, ours) if self.rep % 2 == 0 else (ours, ref)
            self.step(res, f"{name} ({'reference' if first is ref else 'sluice'} first)", first)
            self.step(res, f"{name} ({'sluice' if first is ref else 'reference'} second)",
                      second)
            # fio leaves its file dirty: write it back now rather than under
            # the next pair's fsyncs.
            os.sync()
        self.step(res, "fio fdatasync",
                  lambda r: self.fio(r, "fio_sync_Bps", "fio fdatasync", ["--fdatasync=1"]))
        res["peak_rss_kb"] = proc_status_kb(sl.pid, "VmHWM")

    def go(self):
        reps = []
        t0 = time.monotonic()
        for self.rep in range(self.prof["reps"]):
            res = {}
            print(f"rep {self.rep + 1}/{self.prof['reps']}", file=sys.stderr)
            try:
                self.repetition(res)
            except Exception as e:  # noqa: BLE001
                self.failures.append(f"rep {self.rep + 1}: {e}")
                print(f"  FAILED: {e}", file=sys.stderr)
            finally:
                for proc in self.procs:
                    stop(proc)
                self.procs = []
                for d in self.tmp.iterdir():
                    if d.name != "sendfile-source.dat":
                        shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink()
                self.freed_at = time.monotonic()
            reps.append(res)
        elapsed = time.monotonic() - t0
        shutil.rmtree(self.tmp, ignore_errors=True)
        return reps, elapsed


# ---- helpers -------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline_s):
    end = time.monotonic() + deadline_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError(f"nothing listening on port {port} after {deadline_s} s")
            time.sleep(0.02)


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            osname = re.search(r'PRETTY_NAME="([^"]*)"', f.read()).group(1)
    except (OSError, AttributeError):
        pass
    fs = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", tempfile.gettempdir()],
                        stdout=subprocess.PIPE, text=True).stdout.strip() or "?"

    def ver(argv):
        try:
            return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=10).stdout.splitlines()[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    return {
        "cpu": f"{os.cpu_count()} x {cpu}", "mem": f"{mem:.0f} GiB",
        "kernel": platform.release(), "os": osname, "fs": fs,
        "tools": "; ".join([ver(["redis-server", "--version"]).split(" sha=")[0],
                            ver(["fio", "--version"]), ver(["iperf3", "--version"]),
                            ver(["cc", "--version"])]),
    }


# ---- statistics and the report --------------------------------------------------

def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def fmt(x, unit):
    if x is None:
        return "n/a"
    if unit == "MB/s":
        return f"{x / MB:,.0f}"
    if unit == "rec/s":
        return f"{x / 1e3:,.0f}k"
    if unit in ("ms", "us"):
        return f"{x:.2f}"
    if unit == "x":
        return f"{x:.2f}"
    return f"{x:,.1f}"


def fmt_sum(s, unit):
    if s is None:
        return "n/a"
    return f"{fmt(s[0], unit)} [{fmt(s[1], unit)}–{fmt(s[2], unit)}]"


# (label, key, unit)
MEASUREMENTS = [
    ("loopback TCP, 1 stream (iperf3)", "iperf_Bps", "MB/s"),
    ("buffered sequential write, fresh file, 1 MiB blocks (fio)", "fio_buf_Bps", "MB/s"),
    ("the same with fdatasync every 1 MiB (fio)", "fio_sync_Bps", "MB/s"),
    ("fdatasync latency of 4 KiB appends, p50", "fsync_p50", "ms"),
    ("fdatasync latency of 4 KiB appends, p99", "fsync_p99", "ms"),
    ("fdatasync latency of 4 KiB appends, p99.9", "fsync_p999", "ms"),
    ("sendfile page cache -> loopback socket, 1 MiB calls", "sendfile_Bps", "MB/s"),
    ("Redis XADD 100 B, appendfsync everysec", "redis_everysec_xadd", "rec/s"),
    ("Redis XADD 100 B, appendfsync always", "redis_always_xadd", "rec/s"),
    ("Redis server CPU per XADD (everysec), µs", "redis_everysec_cpu_us", "us"),
    ("Redis XREAD COUNT 1000, 100 B", "redis_xread", "rec/s"),
    ("Redis e2e 10k/s 100 B (always), p50 ms", "redis_always_e2e_p50", "ms"),
    ("Redis e2e 10k/s 100 B (always), p99 ms", "redis_always_e2e_p99", "ms"),
    ("Redis e2e 10k/s 100 B (always), p99.9 ms", "redis_always_e2e_p999", "ms"),
    ("Sluice produce 100 B, acks=all", "sluice_p100_rps", "rec/s"),
    ("Sluice produce 100 B, acks=all (MB/s)", "sluice_p100_Bps", "MB/s"),
    ("Sluice produce 1 KiB, acks=all (MB/s)", "sluice_p1k_Bps", "MB/s"),
    ("Sluice consume 100 B", "sluice_c100_rps", "rec/s"),
    ("Sluice consume 1 KiB (MB/s)", "sluice_c1k_Bps", "MB/s"),
    ("Sluice e2e 10k/s 100 B (acks=all, linger.ms=1), p50 ms", "sluice_e2e_p50", "ms"),
    ("Sluice e2e 10k/s 100 B, p99 ms", "sluice_e2e_p99", "ms"),
    ("Sluice e2e 10k/s 100 B, p99.9 ms", "sluice_e2e_p999", "ms"),
    ("Sluice broker CPU per produced 100 B record, µs", "sluice_p100_cpu_us", "us"),
    ("Sluice broker CPU per produced 1 KiB record, µs", "sluice_p1k_cpu_us", "us"),
    ("Sluice broker CPU per consumed 100 B record, µs", "sluice_c100_cpu_us", "us"),
    ("Sluice broker CPU per consumed 1 KiB record, µs", "sluice_c1k_cpu_us", "us"),
    ("Sluice idle RSS, MB", "idle_rss_mb", "x"),
    ("Sluice peak RSS (VmHWM) after the run, MB", "peak_rss_mb", "x"),
    ("Sluice start -> listening, empty data dir, ms", "start_ms", "ms"),
]

# (target, numerator key, denominator key or None, bound, "ge"/"le", unit shown)
TARGETS = [
    ("produce 1 KiB MB/s ≥ 0.8 × fio fresh-file buffered write", "sluice_p1k_Bps",
     "fio_buf_Bps", 0.8, "ge"),
    ("produce 100 B rec/s ≥ 2 × Redis XADD (everysec)", "sluice_p100_rps",
     "redis_everysec_xadd", 2.0, "ge"),
    ("fetch 1 KiB MB/s ≥ 0.5 × sendfile", "sluice_c1k_Bps", "sendfile_Bps", 0.5, "ge"),
    ("fetch 100 B rec/s ≥ 1.5 × Redis XREAD", "sluice_c100_rps", "redis_xread", 1.5, "ge"),
    ("e2e p99 ≤ 0.75 × Redis (always) p99", "sluice_e2e_p99", "redis_always_e2e_p99", 0.75,
     "le"),
    ("e2e p50 ≤ 1.5 × Redis (always) p50", "sluice_e2e_p50", "redis_always_e2e_p50", 1.5, "le"),
    ("e2e p99.9 ≤ 15 ms", "sluice_e2e_p999", None, 15.0, "le"),
    ("broker CPU ≤ 1 µs per produced 100 B record", "sluice_p100_cpu_us", None, 1.0, "le"),
    ("idle RSS ≤ 10 MB", "idle_rss_mb", None, 10.0, "le"),
    ("listening ≤ 50 ms after start, empty data dir", "start_ms", None, 50.0, "le"),
]


def derive(r):
    if "idle_rss_kb" in r:
        r["idle_rss_mb"] = r["idle_rss_kb"] * 1024 / MB
    if "peak_rss_kb" in r:
        r["peak_rss_mb"] = r["peak_rss_kb"] * 1024 / MB


def report(reps, elapsed, bench, mode):
    for r in reps:
        derive(r)
    m = machine()
    lines = [BEGIN, "", "## End to end: `sluice perf` against the machine's limits and Redis "
             "Streams (`bench/run.sh`)", ""]
    lines += [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `bench/run.sh"
              f"{' --quick' if mode == 'quick' else ''}`: {len(reps)} interleaved "
              f"repetition(s) in {elapsed / 60:.1f} min; medians [min–max]. Every ratio is "
              "taken within one repetition, then summarised.",
              "",
              f"Machine: {m['cpu']}, {m['mem']}, {m['os']}, kernel {m['kernel']}, "
              f"temp dir on {m['fs']}. Tools: {m['tools']}. One client process "
              "at a time; client and server share the same cores.", ""]
    lines += ["### Targets", "",
              "| target | ratio or value, median [min–max] | bound | met |", "|---|---|---|---|"]
    verdicts = []
    for label, num, den, bound, way in TARGETS:
        vals = []
        for r in reps:
            if r.get(num) is None or (den is not None and not r.get(den)):
                vals.append(None)
            else:
                vals.append(r[num] / r[den] if den else r[num])
        s = summary(vals)
        ok = None if s is None else (s[0] >= bound if way == "ge" else s[0] <= bound)
        verdicts.append((label, ok))
        lines.append(f"| {label} | {fmt_sum(s, 'x')} | {'≥' if way == 'ge' else '≤'} {bound:g} "
                     f"| {'n/a' if ok is None else 'yes' if ok else '**no**'} |")
    lines += ["", "### Measurements", "", "| measurement | median [min–max] | unit |",
              "|---|---|---|"]
    for label, key, unit in MEASUREMENTS:
        shown = {"x": "MB" if key.endswith("_mb") else "", "us": "µs"}.get(unit, unit)
        lines.append(f"| {label} | {fmt_sum(summary([r.get(key) for r in reps]), unit)} "
                     f"| {shown} |")
    lines += ["", "MB = 10^6 bytes; record throughput counts record values only. Broker CPU is "
              "utime+stime of every broker thread over the produce run divided by the records "
              "sent; RSS from /proc/PID/status.", "",
              "### Commands", "",
              "Each repetition starts a fresh Sluice broker and two fresh Redis servers, runs "
              "iperf3, the fdatasync latency probe and Redis XADD (always), waits until "
              f"{bench.prof['settle_s']} s have passed since the last repetition freed its "
              "files (freed page-cache pages stay cheap to reuse for a few seconds on this "
              "kind of VM, which would flatter whichever writer came first), "
              "then runs each compared pair back to back (the reference first in odd-numbered "
              "repetitions, Sluice first in even-numbered ones), then the other limits. "
              "`$TMP` is a fresh directory under the temp dir; ports are free ones picked at "
              "run time.", "", "```sh",
              "VAL100=$(printf 'x%.0s' $(seq 100))   # the 100-byte Redis value"]
    for label, cmd in bench.commands.items():
        lines.append(f"# {label}")
        lines.append(cmd)
    lines += ["```", ""]
    if bench.failures:
        lines += ["Failures in this run:", ""] + [f"- {f}" for f in bench.failures] + [""]
    lines.append(END)
    return "\n".join(lines) + "\n", verdicts


def write_results(path, section):
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one small repetition (smoke run)")
    ap.add_argument("--reps", type=int, help="repetitions (default 7, quick 1)")
    ap.add_argument("--out", help="results file (default bench/RESULTS.md; "
                                  "--quick: build/bench/RESULTS-quick.md)")
    ap.add_argument("--dir", help="where temp files go (default: the system temp dir)")
    ap.add_argument("-v", "--verbose", action="store_true", help="time every step")
    args = ap.parse_args()
    mode = "quick" if args.quick else "default"
    prof = dict(PROFILES[mode])
    if args.reps:
        prof["reps"] = args.reps
    out = Path(args.out) if args.out else (
        BUILD / "bench" / "RESULTS-quick.md" if args.quick else RESULTS)
    for tool in ("fio", "iperf3", "redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is missing (run `make deps`)")
    bench = Bench(args, prof)
    reps, elapsed = bench.go()
    section, verdicts = report(reps, elapsed, bench, mode)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_results(out, section)
    raw = BUILD / "bench" / f"perf-{mode}.json"
    raw.write_text(json.dumps({"profile": prof, "reps": reps, "failures": bench.failures},
                              indent=1))
    print(section)
    print(f"bench: wrote {out} (raw figures in {raw})", file=sys.stderr)
    sys.exit(1 if bench.failures else 0)


if __name__ == "__main__":
    main()
