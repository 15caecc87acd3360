#!/usr/bin/python3
"""Camera agent: sends JPEG frames to the `frames` topic at a fixed rate.

Frames round-robin over --cameras cameras; the key is the camera id and
camera i always writes partition i % partitions, so each camera's frames
stay in order on one partition. Headers carry the run id, a sequence
number and the send time (ms), which the runner uses to find lost and
duplicated frames and to measure latency. Prints a JSON summary at the end.
"""
import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from frames import HAVE_PIL, make_frames


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--topic", default="frames")
    ap.add_argument("--cameras", type=int, default=10)
    ap.add_argument("--fps", type=float, default=10.0, help="frames per second, all cameras")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--run-id", default=str(os.getpid()))
    args = ap.parse_args()

    md = AdminClient({"bootstrap.servers": args.bootstrap}).list_topics(args.topic, timeout=30)
    nparts = len(md.topics[args.topic].partitions)
    frames = make_frames(args.cameras)
    p = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 5,
                  "client.id": "camera-agent"})
    acked, failed = [0], [0]

    def on_delivery(err, msg):
        if err:
            failed[0] += 1
            print(f"camera: frame not written: {err}", file=sys.stderr)
        else:
            acked[0] += 1

    total = int(args.fps * args.seconds)
    t0 = time.monotonic()
    for seq in range(total):
        # Frame seq is due at t0 + seq/fps: no drift, however long a send takes.
        delay = t0 + seq / args.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        cam = seq % args.cameras
        p.produce(args.topic, key=f"cam-{cam:02d}", value=frames[cam], partition=cam % nparts,
                  headers=[("run", args.run_id.encode()), ("seq", str(seq).encode()),
                           ("sent_ms", str(int(time.time() * 1000)).encode())],
                  on_delivery=on_delivery)
        p.poll(0)
    p.flush(60)
    print(json.dumps({"produced": acked[0], "failed": failed[0], "frames": total,
                      "jpeg": HAVE_PIL, "frame_bytes": len(frames[0])}), flush=True)
    return 0 if failed[0] == 0 and acked[0] == total else 1


if __name__ == "__main__":
    sys.exit(main())
