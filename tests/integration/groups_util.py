"""Helpers for the consumer-group tests: member processes, their outputs,
and the checks every group test makes (each record processed, duplicates
only where a member died between processing and committing)."""
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import wait_until

HERE = Path(__file__).parent
PY = "/usr/bin/python3"


class Member:
    def __init__(self, workdir, name, client, bootstrap, group, topic, **opts):
        self.name = name
        self.out = Path(workdir) / f"{name}.out"
        args = [PY, str(HERE / "members" / "member.py"), client, bootstrap, group, topic,
                str(self.out)] + [f"{k}={v}" for k, v in opts.items()]
        if client == "kafkajs":
            args = ["node", str(HERE / "js" / "member.js"), bootstrap, group, topic,
                    str(self.out)]
        self.log = open(Path(workdir) / f"{name}.log", "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def lines(self):
        try:
            return self.out.read_text().splitlines()
        except FileNotFoundError:
            return []

    def records(self):
        return [tuple(line.split(" ", 2)) for line in self.lines() if not line.startswith("#")]

    def assignments(self):
        return [line[len("# assigned "):] for line in self.lines()
                if line.startswith("# assigned")]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def create_topic(bootstrap, topic, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(60)


def produce(bootstrap, topic, values, key_fn=None):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i, v in enumerate(values):
        key = key_fn(i) if key_fn else str(i).encode()
        while True:
            try:
                p.produce(topic, key=key, value=v)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(120) == 0


def check_processed(members, expected_values, killed=()):
    """Every value processed; duplicates only where a killed member processed
    one copy (its uncommitted window). Returns the duplicate count."""
    counts = Counter()
    by_member = {}
    for m in members:
        vals = [r[2] for r in m.records()]
        by_member[m.name] = set(vals)
        counts.update(vals)
    missing = set(expected_values) - set(counts)
    assert not missing, f"{len(missing)} records never processed, e.g. {sorted(missing)[:5]}"
    dups = [v for v, n in counts.items() if n > 1]
    for v in dups:
        assert any(v in by_member[k.name] for k in killed), \
            f"record {v} processed twice without a member dying"
    return len(dups)


def wait_all_processed(members, expected_values, deadline_s=180):
    want = set(expected_values)

    def done():
        got = set()
        for m in members:
            got.update(r[2] for r in m.records())
        return want <= got

    wait_until(done, deadline_s, "every record to be processed")
