"""`sluice cluster info`, the broker address defaults ($SLUICE_BROKERS),
exit codes and the error a user sees when no broker is running."""
import json
import os
import socket
import subprocess

import pytest

from conftest import SLUICE_BIN


def run_cli(args, env=None, input_bytes=None):
    e = dict(os.environ)
    e.pop("SLUICE_BROKERS", None)
    e.update(env or {})
    p = subprocess.run([SLUICE_BIN, *args], input=input_bytes, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, env=e)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def test_cluster_info_text_and_json(broker):
    run_cli(["topic", "create", "a", "-p", "3", "-b", broker.bootstrap])
    rc, out, _ = run_cli(["cluster", "info", "--bootstrap-server", broker.bootstrap])
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "CLUSTER" and len(lines[0].split()[1]) > 0
    ctrl = lines[1].split()
    assert ctrl[0] == "CONTROLLER"
    i = lines.index("BROKERS")
    assert lines[i + 1].split() == ["ID", "HOST", "PORT"]
    assert lines[i + 2].split() == [f"{ctrl[1]}*", "127.0.0.1", str(broker.port)]
    rc, out, _ = run_cli(["cluster", "info", "--json", "-b", broker.bootstrap])
    d = json.loads(out)
    assert d["brokers"] == [{"id": d["controller_id"], "host": "127.0.0.1", "port": broker.port,
                             "controller": True}]
    assert d["cluster_id"] and d["topics"] >= 1 and d["partitions"] >= 3


def test_sluice_brokers_env_is_the_default(broker):
    rc, out, _ = run_cli(["cluster", "info", "--json"], env={"SLUICE_BROKERS": broker.bootstrap})
    assert rc == 0 and json.loads(out)["brokers"][0]["port"] == broker.port
    # -b wins over the environment.
    rc, _, err = run_cli(["cluster", "info", "-b", f"127.0.0.1:{closed_port()}"],
                         env={"SLUICE_BROKERS": broker.bootstrap})
    assert rc == 1 and "cannot reach broker" in err


@pytest.mark.parametrize("args", [
    ["cluster", "info"], ["topic", "list"], ["topic", "create", "x"], ["topic", "describe", "x"],
    ["topic", "delete", "x"], ["topic", "alter-config", "x", "--set", "a=b"],
    ["topic", "add-partitions", "x", "-p", "2"], ["produce", "x"], ["consume", "x"],
    ["group", "list"], ["group", "describe", "g"], ["group", "seek", "g", "--to", "end"],
    ["group", "delete", "g"]])
def test_no_broker_names_the_problem_and_the_fix(args):
    port = closed_port()
    rc, out, err = run_cli(args + ["-b", f"127.0.0.1:{port}"], input_bytes=b"rec\n")
    assert rc == 1, (rc, out, err)
    assert (f"cannot reach broker at 127.0.0.1:{port}: is `sluice serve` running? "
            "(set -b or SLUICE_BROKERS)") in err
    assert out == ""


def test_default_address_when_nothing_is_set():
    # With neither -b nor $SLUICE_BROKERS the CLI tries 127.0.0.1:9092.
    with socket.socket() as s:
        busy = s.connect_ex(("127.0.0.1", 9092)) == 0
    if busy:
        pytest.skip("something listens on 127.0.0.1:9092 on this machine")
    rc, _, err = run_cli(["topic", "list"])
    assert rc == 1 and "127.0.0.1:9092" in err


def test_usage_errors_exit_2():
    assert run_cli([])[0] == 2
    assert run_cli(["nonsense"])[0] == 2
    assert run_cli(["topic"])[0] == 2
    rc, _, err = run_cli(["topic", "list", "--no-such-flag"])
    assert rc == 2 and "unknown option '--no-such-flag'" in err
    rc, _, err = run_cli(["consume", "t", "-n", "zero"])
    assert rc == 2 and "bad count" in err
    rc, _, err = run_cli(["group", "describe", "g", "--interval", "soon"])
    assert rc == 2 and "bad interval" in err
    rc, _, err = run_cli(["topic", "list", "-X", "novalue"])
    assert rc == 2 and "KEY=VALUE" in err
    rc, out, _ = run_cli(["cluster", "info", "--help"])
    assert rc == 0 and out.startswith("usage: sluice cluster info")
    rc, out, _ = run_cli(["--help"])
    assert rc == 0 and all(c in out for c in ["topic", "produce", "consume", "group", "cluster"])
