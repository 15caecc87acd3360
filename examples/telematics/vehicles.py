#!/usr/bin/python3
"""Simulated vehicles: each sends its time, position, speed, the road's speed
limit, braking and mileage to the `telematics` topic (key = vehicle id), with
kafka-python as in the original story.

Simulated time runs faster than real time: each record covers --step
seconds of driving, and each vehicle sends --rate records per real second.
Drivers differ in temperament (how often they speed and brake hard), so
their scores differ. Prints a JSON summary: records produced per vehicle.
"""
import argparse
import json
import math
import os
import random
import sys
import time

from kafka import KafkaProducer

ROADS = [("urban", 50), ("rural", 100), ("motorway", 130)]


class Vehicle:
    def __init__(self, i, seed):
        self.rnd = random.Random(seed * 1000 + i)
        self.id = f"veh-{i:04d}"
        self.driver = f"driver-{i:03d}"
        self.temper = self.rnd.uniform(0.0, 1.0)  # 0 calm .. 1 aggressive
        self.lat = 52.52 + self.rnd.uniform(-0.2, 0.2)
        self.lon = 13.40 + self.rnd.uniform(-0.3, 0.3)
        self.heading = self.rnd.uniform(0, 2 * math.pi)
        self.speed = 0.0
        self.road = self.rnd.choice(ROADS)
        self.odometer = self.rnd.uniform(5_000, 120_000)
        self.seq = 0

    def step(self, ts_ms, dt):
        if self.rnd.random() < 0.02:
            self.road = self.rnd.choice(ROADS)
        limit = self.road[1]
        target = limit * (0.9 + 0.3 * self.temper) + self.rnd.gauss(0, 5)
        brake = 0.0
        if self.rnd.random() < 0.01 + 0.04 * self.temper:
            # Something happens ahead: the harder the temper, the harder the stop.
            brake = min(1.0, 0.3 + 0.7 * self.temper * self.rnd.random() + 0.2 * self.rnd.random())
            self.speed = max(0.0, self.speed * (1 - brake * 0.6))
        else:
            self.speed += (target - self.speed) * 0.3 + self.rnd.gauss(0, 2)
            self.speed = max(0.0, self.speed)
        km = self.speed * dt / 3600
        self.odometer += km
        self.heading += self.rnd.gauss(0, 0.05)
        self.lat += km / 111.0 * math.cos(self.heading)
        self.lon += km / (111.0 * math.cos(math.radians(self.lat))) * math.sin(self.heading)
        rec = {"ts": ts_ms, "vehicle": self.id, "driver": self.driver, "seq": self.seq,
               "lat": round(self.lat, 6), "lon": round(self.lon, 6),
               "speed_kmh": round(self.speed, 1), "limit_kmh": limit, "brake": round(brake, 2),
               "odometer_km": round(self.odometer, 3)}
        self.seq += 1
        return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("SLUICE_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--topic", default="telematics")
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--rate", type=float, default=5, help="records per vehicle per second")
    ap.add_argument("--step", type=float, default=30, help="simulated seconds per record")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run-id", default=str(os.getpid()))
    args = ap.parse_args()

    p = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=10,
                      client_id="vehicles", key_serializer=str.encode,
                      value_serializer=lambda v: json.dumps(v).encode())
    fleet = [Vehicle(i, args.seed) for i in range(args.vehicles)]
    failed = []
    sim_ms = int(time.time() * 1000)
    rounds = int(args.rate * args.seconds)
    t0 = time.monotonic()
    try:
        for r in range(rounds):
            delay = t0 + r / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sim_ms += int(args.step * 1000)
            for v in fleet:
                rec = v.step(sim_ms, args.step)
                rec["run"] = args.run_id
                p.send(args.topic, key=v.id, value=rec).add_errback(failed.append)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the drive early: what was sent is still flushed and counted
    p.flush(timeout=60)
    p.close()
    print(json.dumps({"produced": {v.id: v.seq for v in fleet}, "failed": len(failed)}),
          flush=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
