"""examples/telematics with kafka-python, run for a few seconds: every
record reaches the `analytics` group, and each driver gets a score and a
premium."""
import json
import subprocess
import sys

from conftest import ROOT

RUN = ROOT / "examples" / "telematics" / "run.py"


def test_fleet_to_scores_without_loss(broker_factory):
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    p = subprocess.run([sys.executable, str(RUN), "--bootstrap", broker.bootstrap, "--vehicles",
                        "12", "--rate", "5", "--seconds", "3", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    r = json.loads(p.stdout)
    assert r["produced"] == 12 * 15 and r["failed_sends"] == 0
    assert r["unique"] == r["produced"] and r["lost"] == 0 and r["duplicates"] == 0
    assert sorted(r["drivers"]) == [f"driver-{i:03d}" for i in range(12)]
    for d in r["drivers"].values():
        assert d["records"] == 15 and d["km"] > 0
        assert 0 <= d["score"] <= 100 and d["premium"] > 0
    # Worse drivers pay more per km.
    by_score = sorted(r["drivers"].values(), key=lambda d: d["score"])
    assert by_score[0]["premium"] / by_score[0]["km"] >= by_score[-1]["premium"] / by_score[-1]["km"]
