"""docs/quickstart.md, followed literally: every command of its `sh` blocks
runs, in order, against a test broker. Substitutions: the broker address
(127.0.0.1:9092 becomes the test broker's) and build/sluice (becomes the
binary under test, e.g. the sanitizer build). Skipped lines: `make` and
`sudo sh tools/deps.sh test` (the binary is built already) and `sluice serve` (the
fixture runs the broker)."""
import os
import re
import subprocess

from conftest import ROOT, SLUICE_BIN

DOC = ROOT / "docs" / "quickstart.md"


def commands():
    text = DOC.read_text()
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("make", "sudo make", "sudo sh tools/deps.sh")) or \
                    line.startswith("build/sluice serve"):
                continue
            cmds.append(line)
    return cmds


def test_quickstart_commands_are_what_the_test_runs():
    cmds = commands()
    assert any(c.startswith("examples/face-pipeline/run.py") for c in cmds)
    assert any(c.startswith("examples/telematics/run.py") for c in cmds)
    assert any("group describe" in c for c in cmds)


def test_quickstart_runs_literally(broker_factory):
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    env = dict(os.environ)
    env.pop("SLUICE_BROKERS", None)
    outputs = []
    script = ["set -e"]
    for c in commands():
        c = c.replace("127.0.0.1:9092", broker.bootstrap)
        c = re.sub(r"(^|\s)build/sluice(\s)", rf"\g<1>{SLUICE_BIN}\g<2>", c)
        script.append(f"echo '>>> {len(script)}'")
        script.append(c)
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=240)
    assert p.returncode == 0, (p.stdout[-4000:], p.stderr[-4000:])
    out = p.stdout
    # What the page promises the reader sees.
    assert "alice said hello" in out and "carol said hey" in out
    assert "TOTAL-LAG" in out and "CURRENT-OFFSET" in out
    assert "retention.ms" in out and "DYNAMIC_TOPIC_CONFIG" in out
    assert out.count("frames lost       0") == 2
    assert re.search(r"needs >= \d+ members, has 4, lag grows", out), out
    assert "lost 0" in out and "driver-019" in out
    assert "deleted topic greetings" in out and "deleted group readers" in out
