"""The README, followed literally: its "Using it" commands run in order
against a test broker (the broker address and build/sluice substituted, the
`serve` line left to the fixture), and its two commands are the ones
`make test-fresh` (tools/test-fresh.sh) runs in a fresh Debian root."""
import os
import re
import subprocess

from conftest import ROOT, SLUICE_BIN

README = (ROOT / "README.md").read_text()


def sh_block(section):
    body = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", body, re.S).group(1)
    return [l.split("  #")[0].strip() for l in block.splitlines() if l.strip()]


def test_two_commands_are_what_test_fresh_runs():
    assert sh_block("Two commands") == ["sh sluice.sh serve", "sh sluice.sh test"]
    script = (ROOT / "tools" / "test-fresh.sh").read_text()
    assert "exec sh sluice.sh serve'" in script and "&& sh sluice.sh test'" in script
    assert "test-fresh:" in (ROOT / "Makefile").read_text()


def test_using_it_runs_in_readme_order(broker_factory):
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    env = dict(os.environ, SLUICE_BROKERS=broker.bootstrap)
    script = ["set -e"]
    for c in sh_block("Using it"):
        if c.startswith("build/sluice serve"):
            continue
        c = c.replace("127.0.0.1:9092", broker.bootstrap)
        c = re.sub(r"(^|\s)build/sluice(\s)", rf"\g<1>{SLUICE_BIN}\g<2>", c)
        script.append(c)
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "created topic frames" in p.stdout
    assert "hello\n" in p.stdout
    assert "GROUP" in p.stdout and "readers" in p.stdout and "TOTAL-LAG" in p.stdout
    assert re.search(r"^frames partition \d+ offset 0$", p.stdout, re.M), p.stdout
