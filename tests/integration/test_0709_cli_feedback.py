"""Feedback on long work: `sluice perf` shows a live progress line (rate,
latency so far) when stderr is a terminal and nothing extra with --json or
without a terminal; `group describe` says it is sampling rates."""
import json
import os
import pty
import re
import select
import subprocess
import time

from conftest import SLUICE_BIN


def run_with_tty_stderr(args, timeout_s=90):
    """Runs args with stderr on a pseudo-terminal; returns (rc, stdout, tty text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    tty = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            tty += chunk
        elif p.poll() is not None:
            break
    out = p.stdout.read()
    rc = p.wait(timeout=max(1, deadline - time.monotonic()))
    os.close(master)
    return rc, out.decode(), tty.decode(errors="replace")


def test_perf_shows_live_progress_on_a_terminal(broker):
    rc, out, tty = run_with_tty_stderr([SLUICE_BIN, "perf", "produce", "-b", broker.bootstrap,
                                        "-t", "pg", "-d", "3", "-r", "2000", "-s", "100"])
    assert rc == 0, (out, tty)
    lines = [l for l in tty.split("\r") if "rec/s" in l]
    # At least one live update before the end, with a rate and latency so far.
    assert len(lines) >= 1, tty
    assert re.search(r"produce\s+\d+\.\d s  \d+ records  \d+ rec/s  latency so far p50 [\d.]+ ms",
                     lines[0]), lines
    # The final report (stdout) is as without a terminal.
    assert "records/s" in out or "records" in out


def test_perf_e2e_progress_has_end_to_end_latency(broker):
    rc, out, tty = run_with_tty_stderr([SLUICE_BIN, "perf", "e2e", "-b", broker.bootstrap,
                                        "-t", "pe", "-d", "3", "-r", "1000", "-s", "100"])
    assert rc == 0, (out, tty)
    assert re.search(r"e2e\s+\d+\.\d s  \d+ records  \d+ rec/s  latency so far", tty), tty


def test_perf_json_stays_quiet_on_a_terminal(broker):
    rc, out, tty = run_with_tty_stderr([SLUICE_BIN, "perf", "produce", "-b", broker.bootstrap,
                                        "-t", "pj", "-d", "2", "-r", "1000", "--json"])
    assert rc == 0, (out, tty)
    assert tty == "", tty
    assert json.loads(out)["mode"] == "produce"


def test_perf_without_terminal_prints_no_progress(broker):
    p = subprocess.run([SLUICE_BIN, "perf", "produce", "-b", broker.bootstrap, "-t", "pn",
                        "-d", "2", "-r", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"\r" not in p.stderr and b"rec/s" not in p.stderr


def test_perf_bad_broker_address_is_a_usage_error():
    p = subprocess.run([SLUICE_BIN, "perf", "produce", "-b", "localhost", "-n", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 2 and b"bad broker address 'localhost'" in p.stderr


def test_group_describe_says_it_samples(broker):
    bs = broker.bootstrap
    subprocess.run([SLUICE_BIN, "produce", "gs", "-b", bs], input=b"a\nb\n", check=True,
                   stdout=subprocess.PIPE, timeout=60)
    subprocess.run([SLUICE_BIN, "consume", "gs", "-b", bs, "-g", "readers", "-n", "2"],
                   check=True, stdout=subprocess.PIPE, timeout=60)
    p = subprocess.run([SLUICE_BIN, "group", "describe", "readers", "-b", bs, "-i", "1s"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.decode() == "sampling rates for 1 s (--interval 0 skips this)...\n"
    assert "TOTAL-LAG" in p.stdout.decode()
    p = subprocess.run([SLUICE_BIN, "group", "describe", "readers", "-b", bs, "-i", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and p.stderr == b""
    p = subprocess.run([SLUICE_BIN, "group", "describe", "readers", "-b", bs, "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and p.stderr == b""
