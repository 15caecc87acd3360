#!/usr/bin/python3
"""Runs the telematics story end to end: creates the `telematics` topic
(6 partitions, as in the original), starts the `analytics` group member,
drives the simulated fleet for --seconds, then lets analytics finish and
prints per-driver scores and premiums plus records produced / received /
lost (must be 0). Everything talks Kafka through kafka-python.

  python3 run.py --vehicles 20 --seconds 10
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

HERE = Path(__file__).resolve().parent
PY = sys.executable or "/usr/bin/python3"


def finish(proc, on_interrupt):
    """Waits for proc's output; a Ctrl-C is passed on to it as SIGINT (it then
    stops early and still prints its summary)."""
    try:
        return proc.communicate(timeout=180)[0]
    except KeyboardInterrupt:
        print(f"\n^C: {on_interrupt}", file=sys.stderr, flush=True)
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=180)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="telematics-setup")
    try:
        admin.create_topics([NewTopic("telematics", 6, 1,
                                      topic_configs={"retention.ms": "604800000"})])
    except TopicAlreadyExistsError:
        pass
    admin.close()

    run_id = f"{os.getpid()}-{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp:
        expect = Path(tmp) / "produced.json"
        # The children get no Ctrl-C from the terminal (own sessions): this
        # script turns it into "stop driving, then report" for them.
        analytics = subprocess.Popen(
            [PY, str(HERE / "analytics.py"), "--bootstrap", args.bootstrap, "--run-id", run_id,
             "--expect", str(expect), "--json"], stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        vehicles = subprocess.Popen(
            [PY, str(HERE / "vehicles.py"), "--bootstrap", args.bootstrap, "--vehicles",
             str(args.vehicles), "--rate", str(args.rate), "--seconds", str(args.seconds),
             "--run-id", run_id], stdout=subprocess.PIPE, text=True, start_new_session=True)
        vout = finish(vehicles, "stopping the fleet early; analytics reads what was sent")
        if vehicles.returncode != 0:
            analytics.kill()
            sys.exit(f"vehicles.py failed (exit {vehicles.returncode})")
        summary = json.loads(vout)
        tmpfile = expect.with_suffix(".tmp")
        tmpfile.write_text(json.dumps(summary))
        tmpfile.rename(expect)  # analytics sees the whole file or none
        out = finish(analytics, "stopping analytics; reporting what arrived")
    report = json.loads(out)
    report["produced"] = sum(summary["produced"].values())
    report["failed_sends"] = summary["failed"]
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{'DRIVER':<12} {'KM':>8} {'SPEEDING%':>9} {'HARSH':>5} {'SCORE':>6} "
              f"{'PREMIUM':>8}")
        for d, r in report["drivers"].items():
            print(f"{d:<12} {r['km']:>8.1f} {r['speeding_pct']:>9.1f} {r['harsh_brakes']:>5} "
                  f"{r['score']:>6.1f} {r['premium']:>8.2f}")
        print(f"\nrecords produced {report['produced']}, received {report['unique']}, "
              f"duplicates {report['duplicates']}, lost {report['lost']}")
    return 0 if report["lost"] == 0 and analytics.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
