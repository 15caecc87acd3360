"""A throwaway ZooKeeper server for the cluster-mode tests (test_11xx_zk_*).

Runs Debian's ZooKeeper (package `zookeeper`) standalone as
`java -cp '/usr/share/java/*' org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg`
on 127.0.0.1 with a free port (found by binding port 0), a data dir under the
test's tmp dir, the admin server off, and a minimum session timeout low
enough for tests to see an ephemeral node vanish in a few seconds. The
fixture waits (with a deadline) until the server answers `ruok`, and stops
it by PID. Tests are skipped when java, the ZooKeeper jars or kazoo are
missing (`tools/deps.sh test` installs them).
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import wait_until

ZK_START_DEADLINE_S = 60
TICK_MS = 500  # minSessionTimeout defaults to 2 ticks; set explicitly below


def zk_available():
    if shutil.which("java") is None:
        return "java is not installed"
    if not glob.glob("/usr/share/java/zookeeper*.jar"):
        return "the ZooKeeper jars are not installed (Debian package zookeeper)"
    try:
        import kazoo  # noqa: F401
    except ImportError:
        return "python3-kazoo is not installed"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter(port, word=b"ruok"):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(word)
            return s.recv(64)
    except OSError:
        return b""


class ZooKeeper:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port = 0
        self.proc = None

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        self.port = free_port()
        cfg = self.workdir / "zoo.cfg"
        cfg.write_text(
            f"tickTime={TICK_MS}\n"
            f"dataDir={data}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr\n"
            f"minSessionTimeout={2 * TICK_MS}\n"
            "maxSessionTimeout=60000\n")
        log4j = self.workdir / "log4j.properties"
        log4j.write_text("log4j.rootLogger=WARN, F\n"
                         "log4j.appender.F=org.apache.log4j.FileAppender\n"
                         f"log4j.appender.F.File={self.workdir / 'zookeeper.log'}\n"
                         "log4j.appender.F.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.F.layout.ConversionPattern=%d %p %c: %m%n\n")
        env = dict(os.environ, ZOO_LOG_DIR=str(self.workdir))
        with open(self.workdir / "zookeeper.out", "wb") as out:
            self.proc = subprocess.Popen(
                ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log4j}",
                 f"-Dzookeeper.log.dir={self.workdir}",
                 "-cp", "/usr/share/java/*",
                 "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"ZooKeeper exited with {self.proc.returncode}:\n"
                                     + (self.workdir / "zookeeper.out").read_text(errors="replace"))
            return four_letter(self.port) == b"imok"

        wait_until(ready, ZK_START_DEADLINE_S, "ZooKeeper to answer ruok")
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        from kazoo.client import KazooClient
        kz = KazooClient(hosts=self.connect, timeout=10)
        kz.start(timeout=30)
        return kz


@pytest.fixture
def zookeeper(tmp_path):
    why = zk_available()
    if why:
        pytest.skip(why)
    zk = ZooKeeper(tmp_path / "zk").start()
    yield zk
    zk.stop()


@pytest.fixture
def kz(zookeeper):
    client = zookeeper.client()
    yield client
    client.stop()
    client.close()


def deadline_poll(predicate, deadline_s, what):
    """wait_until, re-exported for the zk tests."""
    return wait_until(predicate, deadline_s, what)


def now_ms():
    return int(time.time() * 1000)
