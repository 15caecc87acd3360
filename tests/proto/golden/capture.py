#!/usr/bin/python3
"""Capture raw Kafka request frames from real clients on loopback.

Usage: capture.py [OUTDIR]   (default: the directory holding this script)

Listens on 127.0.0.1 (ephemeral port), points a client at it and records
the request frames it sends, each as a hex file (the whole frame: i32 size,
header, body). No broker is needed:

  kcat -L (librdkafka)     first frame = ApiVersions v3; we record it and
                           close (librdkafka would retry; one frame is enough)
  kafka-python KafkaClient (api_version unset) probes with ApiVersions v0 and
                           pipelines Metadata v0; we answer both with
                           hand-built v0 responses so the probe completes

Output files: kcat-ApiVersions-v3.hex, kafka-python-ApiVersions-v0.hex,
kafka-python-Metadata-v0.hex. The C test tests/proto/test_golden.c decodes
them and re-encodes header + body byte for byte.
"""

import os
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))

# (api key, min, max) advertised to kafka-python: a Kafka 2.x-like set.
ADVERTISED = [(0, 0, 8), (1, 0, 11), (2, 0, 5), (3, 0, 9), (8, 0, 8), (9, 0, 7),
              (10, 0, 3), (11, 0, 7), (12, 0, 4), (13, 0, 4), (14, 0, 4), (15, 0, 5),
              (16, 0, 3), (17, 0, 1), (18, 0, 3), (19, 0, 5), (20, 0, 4), (21, 0, 2),
              (22, 0, 3), (23, 0, 3), (24, 0, 1), (25, 0, 1), (26, 0, 1), (27, 0, 0),
              (28, 0, 3), (29, 0, 2), (30, 0, 2), (31, 0, 2), (32, 0, 3), (33, 0, 1),
              (34, 0, 1), (35, 0, 2), (36, 0, 2), (37, 0, 2), (42, 0, 2)]


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(conn):
    size = read_exact(conn, 4)
    if size is None:
        return None
    body = read_exact(conn, struct.unpack(">i", size)[0])
    if body is None:
        return None
    return size + body


def frame_info(frame):
    key, ver, corr = struct.unpack(">hhi", frame[4:12])
    return key, ver, corr


def respond(conn, corr, body):
    payload = struct.pack(">i", corr) + body
    conn.sendall(struct.pack(">i", len(payload)) + payload)


def api_versions_v0_response():
    body = struct.pack(">hi", 0, len(ADVERTISED))
    for key, lo, hi in ADVERTISED:
        body += struct.pack(">hhh", key, lo, hi)
    return body


def metadata_v0_response():
    return struct.pack(">ii", 0, 0)  # no brokers, no topics


class Capture:
    def __init__(self, want, answer):
        self.want = want
        self.answer = answer
        self.frames = []
        self.done = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            self.done.set()
            return
        conn.settimeout(20)
        try:
            while len(self.frames) < self.want:
                frame = read_frame(conn)
                if frame is None:
                    break
                self.frames.append(frame)
                key, ver, corr = frame_info(frame)
                if self.answer:
                    if key == 18 and ver == 0:
                        respond(conn, corr, api_versions_v0_response())
                    elif key == 3 and ver == 0:
                        respond(conn, corr, metadata_v0_response())
        except OSError:
            pass
        finally:
            conn.close()
            self.done.set()


def run_client(argv, cap):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cap.done.wait(30)
    proc.kill()
    proc.wait()
    cap.sock.close()


def save(outdir, prefix, frames):
    names = {18: "ApiVersions", 3: "Metadata"}
    for frame in frames:
        key, ver, _ = frame_info(frame)
        path = os.path.join(outdir, "%s-%s-v%d.hex" % (prefix, names.get(key, "Api%d" % key), ver))
        with open(path, "w") as fp:
            hexs = frame.hex()
            for i in range(0, len(hexs), 64):
                fp.write(hexs[i:i + 64] + "\n")
        print("captured %s (%d bytes)" % (os.path.basename(path), len(frame)))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    cap = Capture(want=1, answer=False)
    run_client(["kcat", "-b", "127.0.0.1:%d" % cap.port, "-L", "-m", "3"], cap)
    if not cap.frames:
        sys.exit("capture: kcat sent nothing")
    save(outdir, "kcat", cap.frames[:1])

    cap = Capture(want=2, answer=True)
    code = ("from kafka import KafkaClient\n"
            "KafkaClient(bootstrap_servers='127.0.0.1:%d')\n" % cap.port)
    run_client([sys.executable, "-c", code], cap)
    if len(cap.frames) < 2:
        sys.exit("capture: kafka-python sent %d frames" % len(cap.frames))
    save(outdir, "kafka-python", cap.frames[:2])


if __name__ == "__main__":
    main()
