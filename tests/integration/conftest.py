"""Shared fixtures for the integration suite: each test starts its own broker.

A broker runs `sluice serve` on 127.0.0.1 with an ephemeral port and a temp
data dir, logging to a file; the fixture learns the port from the broker's
"listening on PLAINTEXT://127.0.0.1:PORT" line and stops the broker by PID.
Every wait has a deadline; nothing sleeps to synchronise.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLUICE_BIN = os.environ.get("SLUICE_BIN") or str(ROOT / "build" / "sluice")
LISTEN_RE = re.compile(r"listening on PLAINTEXT://127\.0\.0\.1:(\d+)")
START_DEADLINE_S = 60


def wait_until(predicate, deadline_s, what):
    """Polls predicate() until true or the deadline passes (then fails)."""
    end = time.monotonic() + deadline_s
    delay = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class Broker:
    def __init__(self, workdir, overrides=None):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.overrides = dict(overrides or {})
        self.proc = None
        self.port = 0
        self.log_path = None
        self.starts = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.starts += 1
        self.log_path = self.workdir / f"broker-{self.starts}.log"
        args = [SLUICE_BIN, "serve",
                "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "--override", f"log.dirs={self.data_dir}"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"broker exited with {self.proc.returncode}:\n{self.log()}")
            m = LISTEN_RE.search(self.log())
            return int(m.group(1)) if m else None

        self.port = wait_until(listening, START_DEADLINE_S, "the broker to listen")
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signals the broker and waits for it; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError(f"broker ignored signal {sig} for {timeout}s")
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()


@pytest.fixture
def broker_factory(tmp_path):
    brokers = []

    def make(overrides=None, name=None):
        b = Broker(tmp_path / (name or f"b{len(brokers)}"), overrides)
        b.workdir.mkdir(parents=True, exist_ok=True)
        brokers.append(b)
        return b.start()

    yield make
    for b in brokers:
        if b.alive():
            b.kill()
        if os.environ.get("SLUICE_KEEP_LOGS") and b.log_path:
            print(b.log())


@pytest.fixture
def broker(broker_factory):
    return broker_factory()


def run(cmd, input_bytes=None, timeout=120, check=True):
    """Runs a client command; returns CompletedProcess (stdout/stderr bytes)."""
    p = subprocess.run(cmd, input=input_bytes, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}:\n{p.stderr.decode(errors='replace')}")
    return p


def pytest_terminal_summary(terminalreporter):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    skipped = len(stats.get("skipped", []))
    terminalreporter.write_line(
        f"{os.environ.get('SL_SUITE', 'integration')}: {passed} passed, {failed} failed, "
        f"{skipped} skipped")
