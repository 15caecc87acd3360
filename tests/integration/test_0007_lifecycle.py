"""Start, SIGTERM, restart: exit status 0, topics and data persist, the
cluster id stays the same, and the broker logs the events users look for."""
import json

from conftest import run


def metadata(broker):
    return json.loads(run(["kcat", "-b", broker.bootstrap, "-L", "-J"]).stdout)


def test_sigterm_exits_zero_and_restart_serves_everything(broker):
    data = "".join(f"line-{i}\n" for i in range(1000)).encode()
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", "life", "-X", "acks=all"], input_bytes=data)
    assert broker.stop() == 0
    log = broker.log()
    broker.start()
    assert "life" in {t["topic"] for t in metadata(broker)["topics"]}
    out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", "life", "-o", "beginning", "-e",
               "-q", "-f", "%s\n"]).stdout
    assert out == data
    assert "created topic life" in log.lower() or "topic life" in log.lower()


def test_cluster_id_is_stable_across_restarts(broker):
    import kwire
    import struct

    def cluster_id():
        c = kwire.Conn(broker.bootstrap)
        # Metadata v2 has cluster_id after the brokers array.
        resp = c.roundtrip(kwire.request(3, 2, struct.pack(">i", 0)))
        c.close()
        off = 4
        (nb,) = struct.unpack(">i", resp[off:off + 4])
        off += 4
        for _ in range(nb):
            off += 4
            (hl,) = struct.unpack(">h", resp[off:off + 2])
            off += 2 + hl + 4
            (rl,) = struct.unpack(">h", resp[off:off + 2])
            off += 2 + max(rl, 0)
        (cl,) = struct.unpack(">h", resp[off:off + 2])
        return resp[off + 2:off + 2 + cl].decode()

    first = cluster_id()
    assert len(first) == 22
    broker.restart()
    assert cluster_id() == first
