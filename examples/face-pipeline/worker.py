#!/usr/bin/python3
"""Face-recognition worker: a member of group `face-recognition`.

For each frame it runs a face detector (OpenCV's Haar cascade when Debian's
python3-opencv is installed; otherwise a stand-in), pads the work to
--frame-time seconds (0.5 s by default, the story's cost per frame),
writes a result to the `faces` topic, waits for it to be acknowledged, and
only then commits the frame's offset. A worker killed at any point
therefore loses no frame: whatever it had not committed is processed again
by the member that takes over its partitions (a duplicate, never a gap).
"""
import argparse
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

try:
    import cv2
    import numpy as np
    CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades +
                                    "haarcascade_frontalface_default.xml")
except Exception:  # pragma: no cover - depends on the machine
    cv2 = None

stopping = False


def detect(jpeg):
    """Number of faces found, or -1 when no detector is installed."""
    if cv2 is None:
        return -1
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        return 0
    return len(CASCADE.detectMultiScale(img, 1.1, 4))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--group", default="face-recognition")
    ap.add_argument("--topic", default="frames")
    ap.add_argument("--results", default="faces")
    ap.add_argument("--frame-time", type=float, default=0.5)
    ap.add_argument("--id", default=f"worker-{os.getpid()}")
    args = ap.parse_args()

    def on_term(sig, frame):
        global stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                  "client.id": args.id, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest",
                  # A killed worker's partitions move on after 6 s, not 45 s.
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                  # Fetch little ahead: frames are big and slow to process.
                  "queued.max.messages.kbytes": 1024, "fetch.max.bytes": 1048576})
    p = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "client.id": args.id})
    c.subscribe([args.topic])
    done = 0
    while not stopping:
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            print(f"{args.id}: {msg.error()}", file=sys.stderr)
            continue
        start = time.monotonic()
        faces = detect(msg.value())
        left = args.frame_time - (time.monotonic() - start)
        if left > 0:
            time.sleep(left)
        hdr = {k: v.decode() for k, v in (msg.headers() or [])}
        result = {"run": hdr.get("run"), "seq": int(hdr.get("seq", -1)),
                  "sent_ms": int(hdr.get("sent_ms", 0)), "done_ms": int(time.time() * 1000),
                  "camera": msg.key().decode() if msg.key() else None, "faces": faces,
                  "worker": args.id, "partition": msg.partition(), "offset": msg.offset()}
        p.produce(args.results, json.dumps(result).encode())
        if p.flush(30) != 0:
            print(f"{args.id}: result for frame {result['seq']} not acknowledged",
                  file=sys.stderr)
            break  # do not commit: another worker will redo the frame
        try:
            c.commit(message=msg, asynchronous=False)
        except KafkaException as e:
            # Lost the partition in a rebalance: the new owner redoes the frame.
            print(f"{args.id}: commit failed ({e}); frame {result['seq']} will be redone",
                  file=sys.stderr)
        done += 1
    c.close()
    print(json.dumps({"worker": args.id, "processed": done}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
