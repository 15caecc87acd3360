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


def test_ctrl_c_prints_the_table_without_a_traceback(broker_factory):
    """Ctrl-C (SIGINT to the run's process group, as a terminal sends it)
    stops the fleet early; analytics still reads everything that was sent and
    the driver table is printed, with no traceback."""
    import os
    import signal

    from conftest import SLUICE_BIN, wait_until

    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    p = subprocess.Popen([sys.executable, str(RUN), "--bootstrap", broker.bootstrap,
                          "--vehicles", "5", "--rate", "5", "--seconds", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        def produced():
            d = subprocess.run([SLUICE_BIN, "topic", "describe", "telematics", "--json", "-b",
                                broker.bootstrap], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            if d.returncode != 0:
                return False
            parts = json.loads(d.stdout)[0]["partitions"]
            return sum(x["log_end_offset"] for x in parts) >= 10

        wait_until(produced, 60, "the fleet to send records")
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert out.startswith("DRIVER"), out
    assert "driver-004" in out
    assert out.rstrip().endswith("lost 0"), out
