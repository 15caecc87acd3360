"""`make install` (PREFIX, DESTDIR) puts the binary, a man page covering
every command, the example server.properties and a systemd unit in place;
the installed config starts a broker and the unit points at the installed
paths."""
import os
import re
import shutil
import subprocess

from conftest import ROOT, SLUICE_BIN, wait_until


def make_install(destdir, prefix):
    env = dict(os.environ)
    build = os.path.relpath(os.path.dirname(SLUICE_BIN), ROOT)
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"BUILD={build}",
                        f"PREFIX={prefix}", f"DESTDIR={destdir}"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert p.returncode == 0, p.stderr.decode()


def commands_of(binary):
    out = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    return re.findall(r"^  (\w+)\s", out.split("commands:", 1)[1], re.M)


def test_install_layout_under_usr_local(tmp_path):
    dest = tmp_path / "stage"
    make_install(dest, "/usr/local")
    root = dest / "usr/local"
    binary = root / "bin/sluice"
    assert os.access(binary, os.X_OK)
    assert subprocess.run([str(binary), "--version"], stdout=subprocess.PIPE,
                          check=True).stdout.startswith(b"sluice ")
    man = (root / "share/man/man1/sluice.1").read_text()
    for cmd in commands_of(str(binary)):
        assert re.search(rf"^\.SS \"{cmd}\b", man, re.M), f"man page lacks {cmd}"
    for verb in ("create", "list", "describe", "delete", "alter\\-config", "add\\-partitions"):
        assert f'.SS "topic {verb}' in man, verb
    for verb in ("list", "describe", "seek", "delete"):
        assert f'.SS "group {verb}' in man, verb
    conf = root / "etc/sluice/server.properties"
    assert "listeners=" in conf.read_text() and "advertised.listeners" in conf.read_text()
    assert (root / "share/doc/sluice/server.properties.example").read_text() == conf.read_text()
    unit = (root / "lib/systemd/system/sluice.service").read_text()
    assert "ExecStart=/usr/local/bin/sluice serve /usr/local/etc/sluice/server.properties" in unit
    assert "StateDirectory=sluice" in unit and "@" not in unit.split("[Unit]", 1)[1]
    # An operator's edited config survives a second install.
    conf.write_text(conf.read_text() + "\n# edited\n")
    make_install(dest, "/usr/local")
    assert conf.read_text().endswith("# edited\n")


def test_install_prefix_usr_puts_config_in_etc(tmp_path):
    dest = tmp_path / "stage"
    make_install(dest, "/usr")
    assert (dest / "etc/sluice/server.properties").is_file()
    unit = (dest / "usr/lib/systemd/system/sluice.service").read_text()
    assert "ExecStart=/usr/bin/sluice serve /etc/sluice/server.properties" in unit


def test_installed_config_starts_a_broker(tmp_path):
    conf = ROOT / "packaging" / "server.properties"
    data = tmp_path / "data"
    p = subprocess.Popen([SLUICE_BIN, "serve", str(conf), "--override",
                          "listeners=PLAINTEXT://127.0.0.1:0", "--override", f"log.dirs={data}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        lines = []

        def listening():
            line = p.stdout.readline().decode()
            lines.append(line)
            if not line and p.poll() is not None:
                raise AssertionError("".join(lines))
            return "listening on PLAINTEXT://127.0.0.1:" in line

        wait_until(listening, 30, "the broker to listen")
        assert not any(" WARN " in l or " ERROR " in l for l in lines), lines
    finally:
        p.terminate()
        p.wait(timeout=60)
    assert p.returncode == 0


def test_installed_unit_verifies(tmp_path):
    """systemd's own checker accepts the unit (where systemd-analyze exists)."""
    import pytest
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    dest = tmp_path / "stage"
    make_install(dest, "/usr")
    unit = (dest / "usr/lib/systemd/system/sluice.service").read_text()
    # Point ExecStart at the staged binary: verify checks that it exists.
    staged = tmp_path / "sluice.service"
    staged.write_text(unit.replace("/usr/bin/sluice", str(dest / "usr/bin/sluice")))
    p = subprocess.run([analyze, "verify", "--man=no", str(staged)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr
