#!/usr/bin/python3
"""Capture Produce request frames from real clients through a recording proxy.

Usage: capture_produce.py [OUTDIR]   (default: the directory holding this script)
Run from anywhere after `make`; needs build/sluice, kcat, kafka-python and
confluent-kafka (stdlib only otherwise). Not part of `make test`: the frames
are checked in and tests/proto/test_golden_produce.c decodes them.

Set-up: a proxy socket is bound first (127.0.0.1, port 0); the broker then
starts on its own ephemeral port and advertises the proxy's port, so every
connection a client opens after bootstrap comes back through the proxy too.
The proxy forwards both directions and records each client->broker frame
whole (i32 size, header, body); the first Produce frame of each client run
is saved as <client>-Produce-v<ver>-<codec>.hex, 32 bytes per line.

Every run sends the same RECORDS (below) to topic "golden", partition 0,
acks=all, with linger long enough that all records leave in one batch when
the client flushes. The C test hardcodes the same keys, values and headers:
change both together.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SLUICE = os.environ.get("SLUICE_BIN") or os.path.join(ROOT, "build", "sluice")
TOPIC = "golden"
LISTEN_RE = re.compile(r"listening on PLAINTEXT://127\.0\.0\.1:(\d+)")
DEADLINE_S = 60

# Values repeat a phrase so every codec shrinks the batch: librdkafka sends a
# batch uncompressed when compression does not make it smaller.
RECORDS = [
    (b"k0", b"golden value zero " * 4),
    (b"k1", b"golden value one " * 4),
    (b"k2", b"golden value two " * 4),
]
HEADERS = [("h1", b"v1"), ("h2", b"v2")]
# confluent-kafka run: a null key and a null header value on top.
CONFLUENT_RECORDS = RECORDS + [(None, b"golden value null key " * 4)]
CONFLUENT_HEADERS = HEADERS + [("h3", None)]

KCAT_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KAFKA_PYTHON_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CONFLUENT_CODEC = "zstd"


def wait_until(predicate, what):
    end = time.monotonic() + DEADLINE_S
    delay = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            sys.exit("capture: timed out waiting for %s" % what)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Proxy:
    """Forwards 127.0.0.1:port to the broker, recording request frames."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.upstream = None
        self.lock = threading.Lock()
        self.frames = []

    def start(self, upstream_port):
        self.upstream = upstream_port
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def take(self):
        with self.lock:
            frames, self.frames = self.frames, []
        return frames

    def accept_loop(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.requests, args=(client, broker), daemon=True).start()
            threading.Thread(target=self.responses, args=(broker, client), daemon=True).start()

    def requests(self, client, broker):
        try:
            while True:
                size = read_exact(client, 4)
                if size is None:
                    break
                body = read_exact(client, struct.unpack(">i", size)[0])
                if body is None:
                    break
                with self.lock:
                    self.frames.append(size + body)
                broker.sendall(size + body)
        except OSError:
            pass
        shut(broker)

    def responses(self, broker, client):
        try:
            while True:
                data = broker.recv(65536)
                if not data:
                    break
                client.sendall(data)
        except OSError:
            pass
        shut(client)


def shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def start_broker(workdir, proxy_port):
    log_path = os.path.join(workdir, "broker.log")
    args = [SLUICE, "serve",
            "--override", "listeners=PLAINTEXT://127.0.0.1:0",
            "--override", "advertised.listeners=PLAINTEXT://127.0.0.1:%d" % proxy_port,
            "--override", "log.dirs=%s" % os.path.join(workdir, "data")]
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()

    def listening():
        if proc.poll() is not None:
            sys.exit("capture: broker exited %d" % proc.returncode)
        with open(log_path, errors="replace") as fp:
            m = LISTEN_RE.search(fp.read())
        return int(m.group(1)) if m else None

    return proc, wait_until(listening, "the broker to listen")


def run(argv, stdin=None):
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=DEADLINE_S)
    if p.returncode != 0:
        sys.exit("capture: %s exited %d:\n%s" % (argv[0], p.returncode, p.stderr.decode()))


def kcat(bootstrap, codec):
    lines = b"".join(k + b":" + v + b"\n" for k, v in RECORDS)
    argv = ["kcat", "-b", bootstrap, "-P", "-t", TOPIC, "-p", "0", "-z", codec, "-K:",
            "-X", "acks=all", "-X", "linger.ms=1000"]
    for k, v in HEADERS:
        argv += ["-H", "%s=%s" % (k, v.decode())]
    run(argv, lines)


def kafka_python(bootstrap, codec):
    code = (
        "from kafka import KafkaProducer\n"
        "p = KafkaProducer(bootstrap_servers=%r, acks='all', linger_ms=1000,\n"
        "                  compression_type=%r)\n"
        "for k, v in %r:\n"
        "    p.send(%r, key=k, value=v, partition=0, headers=%r)\n"
        "p.flush()\n"
        "p.close()\n" % (bootstrap, None if codec == "none" else codec, RECORDS, TOPIC, HEADERS))
    run([sys.executable, "-c", code])


def confluent(bootstrap, codec):
    code = (
        "from confluent_kafka import Producer\n"
        "p = Producer({'bootstrap.servers': %r, 'acks': 'all', 'linger.ms': 1000,\n"
        "              'compression.type': %r})\n"
        "for k, v in %r:\n"
        "    p.produce(%r, key=k, value=v, partition=0, headers=%r)\n"
        "if p.flush(%d) != 0:\n"
        "    raise SystemExit('undelivered')\n"
        % (bootstrap, codec, CONFLUENT_RECORDS, TOPIC, CONFLUENT_HEADERS, DEADLINE_S))
    run([sys.executable, "-c", code])


def save(outdir, client, codec, frame):
    key, ver = struct.unpack(">hh", frame[4:8])
    assert key == 0
    name = "%s-Produce-v%d-%s.hex" % (client, ver, codec)
    with open(os.path.join(outdir, name), "w") as fp:
        hexs = frame.hex()
        for i in range(0, len(hexs), 64):
            fp.write(hexs[i:i + 64] + "\n")
    print("captured %s (%d bytes)" % (name, len(frame)))


def capture(proxy, outdir, client, codec, fn):
    proxy.take()
    fn("127.0.0.1:%d" % proxy.port, codec)
    produce = [f for f in proxy.take() if struct.unpack(">h", f[4:6])[0] == 0]
    if not produce:
        sys.exit("capture: %s %s sent no Produce" % (client, codec))
    if len(produce) > 1:
        # A retry or a split batch: the test expects every record in one frame.
        sys.exit("capture: %s %s sent %d Produce frames" % (client, codec, len(produce)))
    save(outdir, client, codec, produce[0])


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    workdir = tempfile.mkdtemp(prefix="sluice-golden-")
    proxy = Proxy()
    proc, port = start_broker(workdir, proxy.port)
    try:
        proxy.start(port)
        for codec in KCAT_CODECS:
            capture(proxy, outdir, "kcat", codec, kcat)
        for codec in KAFKA_PYTHON_CODECS:
            capture(proxy, outdir, "kafka-python", codec, kafka_python)
        capture(proxy, outdir, "confluent-kafka", CONFLUENT_CODEC, confluent)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DEADLINE_S)
        proxy.sock.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
