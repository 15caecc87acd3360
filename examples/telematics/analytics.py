#!/usr/bin/python3
"""Analytics: a member of consumer group `analytics` (kafka-python) that
turns telematics records into a per-driver driving score and a
pay-as-you-drive premium.

Score (0-100): starts at 100, loses up to 50 points for the share of time
spent more than 10% over the limit and 2 points per harsh brake (brake >=
0.7) per 100 km, at most 50. Premium: 0.05 per km times a factor from 0.7 (score 100)
to 1.3 (score 0).

Offsets are committed after each batch is folded into the scores, so a
restarted member re-reads at most one batch; records are de-duplicated by
(vehicle, seq). With --expect FILE (a vehicles.py summary, written once the
run is over) it stops as soon as it has every record of --run-id, checks
none is missing, and prints the report.
"""
import argparse
import json
import os
import sys
import time

from kafka import KafkaConsumer

BASE_PER_KM = 0.05


class Driver:
    def __init__(self):
        self.first_km = None
        self.last_km = 0.0
        self.records = 0
        self.speeding = 0
        self.harsh = 0

    def add(self, r):
        self.records += 1
        km = r["odometer_km"]
        self.first_km = km if self.first_km is None else min(self.first_km, km)
        self.last_km = max(self.last_km, km)
        if r["speed_kmh"] > 1.1 * r["limit_kmh"]:
            self.speeding += 1
        if r["brake"] >= 0.7:
            self.harsh += 1

    def report(self):
        km = max(0.0, self.last_km - (self.first_km or 0.0))
        share = self.speeding / self.records if self.records else 0.0
        per100 = self.harsh / km * 100 if km > 0 else 0.0
        score = max(0.0, min(100.0, 100 - 50 * share - min(50.0, 2 * per100)))
        factor = 0.7 + 0.6 * (1 - score / 100)
        return {"km": round(km, 1), "records": self.records, "speeding_pct": round(100 * share, 1),
                "harsh_brakes": self.harsh, "score": round(score, 1),
                "premium": round(km * BASE_PER_KM * factor, 2)}


def consume(c, args, st, end):
    """Polls until every expected record arrived (or the deadline)."""
    seen, drivers = st["seen"], st["drivers"]
    while time.monotonic() < end:
        batch = c.poll(timeout_ms=500)
        for recs in batch.values():
            for m in recs:
                r = m.value
                if args.run_id and r.get("run") != args.run_id:
                    continue
                st["total"] += 1
                s = seen.setdefault(r["vehicle"], set())
                if r["seq"] in s:
                    st["dups"] += 1
                    continue
                s.add(r["seq"])
                drivers.setdefault(r["driver"], Driver()).add(r)
        if batch:
            c.commit()
        if st["expected"] is None and args.expect and os.path.exists(args.expect):
            with open(args.expect) as f:
                st["expected"] = json.load(f)["produced"]
        if (st["expected"] is not None and
                sum(len(s) for s in seen.values()) >= sum(st["expected"].values())):
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--topic", default="telematics")
    ap.add_argument("--group", default="analytics")
    ap.add_argument("--run-id", help="only records of this run (default: all)")
    ap.add_argument("--expect", help="vehicles.py summary; stop once every record arrived")
    ap.add_argument("--deadline", type=float, default=120, help="give up after this many s")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    c = KafkaConsumer(args.topic, bootstrap_servers=args.bootstrap, group_id=args.group,
                      client_id="analytics", auto_offset_reset="earliest",
                      enable_auto_commit=False,
                      value_deserializer=lambda b: json.loads(b.decode()))
    st = {"seen": {}, "drivers": {}, "total": 0, "dups": 0, "expected": None}
    try:
        consume(c, args, st, time.monotonic() + args.deadline)
    except KeyboardInterrupt:
        pass  # Ctrl-C: report what has arrived so far
    c.close()
    seen, drivers, total, dups = st["seen"], st["drivers"], st["total"], st["dups"]
    expected = st["expected"]

    lost = None
    if expected is not None:
        lost = sum(n - len(seen.get(v, set()) & set(range(n))) for v, n in expected.items())
    report = {"records": total, "unique": sum(len(s) for s in seen.values()), "duplicates": dups,
              "lost": lost, "drivers": {d: drivers[d].report() for d in sorted(drivers)}}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{'DRIVER':<12} {'KM':>8} {'SPEEDING%':>9} {'HARSH':>5} {'SCORE':>6} "
              f"{'PREMIUM':>8}")
        for d, r in report["drivers"].items():
            print(f"{d:<12} {r['km']:>8.1f} {r['speeding_pct']:>9.1f} {r['harsh_brakes']:>5} "
                  f"{r['score']:>6.1f} {r['premium']:>8.2f}")
        print(f"\nrecords {total}, unique {report['unique']}, duplicates {dups}, lost "
              f"{'?' if lost is None else lost}")
    return 0 if lost in (None, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
