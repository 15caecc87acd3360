"""examples/face-pipeline, run for a few seconds: no frame is lost, with 4
workers the lag grows and `sluice group describe` says the group needs 5,
and killing a worker mid-run loses nothing."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SLUICE_BIN

RUN = ROOT / "examples" / "face-pipeline" / "run.py"


@pytest.fixture
def fbroker(broker_factory):
    # The runner waits for the group to assign every worker anyway; without
    # the initial delay that happens at once.
    return broker_factory({"group.initial.rebalance.delay.ms": 0})


def run(broker, *args):
    p = subprocess.run([sys.executable, str(RUN), "--bootstrap", broker.bootstrap, "--sluice",
                        SLUICE_BIN, "--json", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return json.loads(p.stdout.splitlines()[-1])


def test_four_workers_fall_behind_and_the_cli_says_so(fbroker):
    r = run(fbroker, "--workers", "4", "--seconds", "7", "--describe-at", "2",
            "--describe-interval", "4s")
    assert r["produced"] == 70 and r["lost"] == 0 and r["processed"] == 70
    # 10 partitions over 4 workers: 3+3+2+2, each worker does 2 frames/s.
    assert sorted(r["by_worker"].values()) == [14, 14, 21, 21]
    cap = r["cli_capacity"]
    m = re.search(r"needs >= (\d+) members, has 4, lag grows ([\d.]+) rec/s", cap)
    assert m, cap
    assert int(m.group(1)) >= 5 and float(m.group(2)) > 0


def test_killing_a_worker_loses_no_frame(fbroker):
    r = run(fbroker, "--workers", "5", "--seconds", "6", "--kill-one-at", "2")
    assert r["produced"] == 60 and r["lost"] == 0 and r["processed"] == 60
    assert len(r["by_worker"]) == 5
    # The survivors took over the dead worker's partitions.
    assert sum(n for w, n in r["by_worker"].items() if w != "worker-1") > 48
    assert r["latency_ms"]["p50"] >= 500  # each frame takes 0.5 s of work
