"""Memory and size limits that hold against a hostile client (docs/broker.md
"Limits"): fetch.max.bytes caps every Fetch response, replies a client never
reads are bounded in memory (and the memory goes back after it leaves),
queued.max.request.bytes caps partial frames across connections, and the
broker keeps serving a well-behaved client meanwhile. Also: a 0-byte frame
after a valid request, and topic names that are not UTF-8."""
import select
import socket
import struct

from confluent_kafka import Producer

import kwire
from conftest import SLUICE_BIN, wait_until

FETCH_MAX_BYTES = 57671680  # Kafka's default fetch.max.bytes (55 MiB)
MIB = 1024 * 1024
DEADLINE_S = 60


def _sanitized():
    with open(SLUICE_BIN, "rb") as f:
        return b"__asan_init" in f.read()


# ASan's redzones, shadow memory and quarantine (freed memory is held, not
# reused) make a sanitized broker use ~2x the memory; its bounds are scaled.
ASAN = _sanitized()
MEM_FACTOR = 2.5 if ASAN else 1.0


def kib_bound(kib):
    return int(kib * MEM_FACTOR)


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key}")


def rss_kib(broker):
    return proc_status_kib(broker.proc.pid, "VmRSS")


def hwm_kib(broker):
    return proc_status_kib(broker.proc.pid, "VmHWM")


def raw_string(b):
    return struct.pack(">h", len(b)) + b


def api_versions_ok(bootstrap):
    c = kwire.Conn(bootstrap)
    try:
        resp = c.roundtrip(kwire.request(18, 0, b"", correlation_id=77))
        corr, err = struct.unpack(">ih", resp[:6])
        return corr == 77 and err == 0
    finally:
        c.close()


def fill_partition(broker, topic, total_bytes, value_size=256 * 1024):
    """Writes total_bytes of values to partition 0 (acks=all)."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "linger.ms": 5, "batch.size": 1000000, "compression.type": "none"})
    errors = []
    value = b"v" * value_size
    for _ in range(total_bytes // value_size):
        p.produce(topic, value, partition=0, on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(DEADLINE_S) == 0
    assert errors == []


def fetch_v2(topic, times, partition_max_bytes):
    parts = b"".join(struct.pack(">iqi", 0, 0, partition_max_bytes) for _ in range(times))
    body = struct.pack(">iii", -1, 0, 0) + struct.pack(">i", 1) + kwire.string(topic)
    body += struct.pack(">i", times) + parts
    return kwire.request(1, 2, body)


def fetch_v11(topic, times, max_bytes, partition_max_bytes):
    parts = b"".join(struct.pack(">iiqqi", 0, -1, 0, -1, partition_max_bytes)
                     for _ in range(times))
    body = struct.pack(">iiiibii", -1, 0, 0, max_bytes, 0, 0, -1)
    body += struct.pack(">i", 1) + kwire.string(topic) + struct.pack(">i", times) + parts
    body += struct.pack(">i", 0) + kwire.string("")  # forgotten topics, rack
    return kwire.request(1, 11, body)


def read_stream(conn, n, keep):
    """Reads n bytes, returning the first `keep` of them."""
    head = bytearray()
    left = n
    while left > 0:
        chunk = conn.sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("closed by broker")
        if len(head) < keep:
            head += chunk[:keep - len(head)]
        left -= len(chunk)
    return bytes(head)


def test_fetch_v2_one_partition_named_50_times_is_capped(broker):
    """Fetch v2 carries no MaxBytes: the sum of 50 x 20 MB used to be
    down-converted in memory (2.8 GB RSS). fetch.max.bytes caps it."""
    fill_partition(broker, "big2", 20 * MIB)
    req = fetch_v2("big2", 50, 20 * MIB)
    assert len(req) + 4 < 1024  # the attack is tiny
    c = kwire.Conn(broker.bootstrap, timeout=120)
    c.send(kwire.frame(req))
    (size,) = struct.unpack(">i", c.recv_exact(4))
    # The response is queued; a healthy client is served while it is unread.
    assert api_versions_ok(broker.bootstrap)
    head = read_stream(c, size, 64)
    c.close()
    assert size <= FETCH_MAX_BYTES + 64 * 1024
    # correlation id, throttle, 1 topic "big2", 50 partitions; the first is
    # answered (no error) with records, so the client makes progress.
    corr, throttle, ntopics = struct.unpack(">iii", head[:12])
    assert ntopics == 1 and head[12:18] == kwire.string("big2")
    (nparts,) = struct.unpack(">i", head[18:22])
    part, err, hw, rec_len = struct.unpack(">ihqi", head[22:40])
    assert (nparts, part, err) == (50, 0, 0)
    assert hw > 0 and 0 < rec_len <= FETCH_MAX_BYTES
    # 55 MiB of converted records plus one partition's read at a time.
    assert hwm_kib(broker) < kib_bound(256 * 1024), hwm_kib(broker)
    assert api_versions_ok(broker.bootstrap)


def v2_first_partition(resp):
    """(error, records length) of the first partition of a Fetch v2 answer."""
    (tlen,) = struct.unpack(">h", resp[12:14])
    at = 14 + tlen + 4
    part, err, hw, rec_len = struct.unpack(">ihqi", resp[at:at + 18])
    return err, rec_len


def test_down_converted_fetches_left_unread_share_one_bound(broker):
    """12 clients send the v2 attack and never read: together they hold at
    most 256 MiB of converted records (not 12 x 55 MiB); meanwhile an old
    consumer is answered (without records), and gets records again once
    they are gone."""
    fill_partition(broker, "big2", 20 * MIB)
    attackers = []
    for _ in range(12):
        c = kwire.Conn(broker.bootstrap, timeout=120)
        c.send(kwire.frame(fetch_v2("big2", 50, 20 * MIB)))
        c.recv_exact(4)  # its answer is queued
        attackers.append(c)
    assert hwm_kib(broker) < kib_bound(360 * 1024), hwm_kib(broker)
    healthy = kwire.Conn(broker.bootstrap)
    err, _ = v2_first_partition(healthy.roundtrip(fetch_v2("big2", 1, 1 << 20)))
    assert err == 0
    for c in attackers:
        c.close()

    def served():
        err, rec_len = v2_first_partition(healthy.roundtrip(fetch_v2("big2", 1, 1 << 20)))
        assert err == 0
        return rec_len > 0
    wait_until(served, DEADLINE_S, "an old consumer to get records again")
    healthy.close()


def test_fetch_v11_one_partition_named_500_times_is_capped(broker):
    """MaxBytes 2^31-1 and one partition listed 500 times used to return
    2 GB; the response is min(MaxBytes, fetch.max.bytes)."""
    fill_partition(broker, "big11", 8 * MIB)
    c = kwire.Conn(broker.bootstrap, timeout=120)
    c.send(kwire.frame(fetch_v11("big11", 500, 2**31 - 1, 8 * MIB)))
    (size,) = struct.unpack(">i", c.recv_exact(4))
    assert api_versions_ok(broker.bootstrap)
    head = read_stream(c, size, 64)
    c.close()
    # Records within the budget, plus 500 partition headers.
    assert size <= FETCH_MAX_BYTES + 500 * 64 + 1024, size
    corr, throttle, err, session = struct.unpack(">iihi", head[:14])
    assert (err, session) == (0, 0)
    assert hwm_kib(broker) < kib_bound(128 * 1024), hwm_kib(broker)


def test_fetch_v3_first_batch_returned_even_past_max_bytes(broker):
    """KIP-74: MaxBytes smaller than the first batch still returns it."""
    fill_partition(broker, "kip74", 512 * 1024, value_size=512 * 1024)
    body = struct.pack(">iiii", -1, 0, 0, 1024) + struct.pack(">i", 1) + kwire.string("kip74")
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1024)
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.request(1, 3, body))
    c.close()
    part, err, hw, rec_len = struct.unpack(">ihqi", resp[4 + 4 + 4 + 7 + 4:][:18])
    assert (part, err) == (0, 0)
    assert rec_len > 512 * 1024


def send_until_blocked(socks, payload, max_bytes):
    """Sends payload repeatedly on every socket (non-blocking) until each has
    sent max_bytes or stays unwritable for a while; returns bytes sent."""
    sent = {s: 0 for s in socks}
    live = set(socks)
    while live:
        _, writable, _ = select.select([], list(live), [], 2.0)
        if not writable:
            break  # every remaining socket is full: the broker stopped reading
        for s in writable:
            try:
                n = s.send(payload)
            except BlockingIOError:
                continue
            sent[s] += n
            if sent[s] >= max_bytes:
                live.discard(s)
    return sent


def test_replies_never_read_are_bounded_and_memory_returns(broker):
    """10 connections pipeline ApiVersions and never read: each costs at most
    its queued-output bound, and the memory goes back after they close."""
    assert api_versions_ok(broker.bootstrap)
    baseline = rss_kib(broker)
    one = kwire.frame(kwire.request(18, 0, b"", client_id="x"))
    payload = one * (65536 // len(one))
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", broker.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        socks.append(s)
    sent = send_until_blocked(socks, payload, 4 * MIB)
    assert sum(sent.values()) > 10 * 64 * 1024
    assert api_versions_ok(broker.bootstrap)
    # 4 MiB of queued replies per connection, plus rx buffers.
    peak = rss_kib(broker)
    assert peak - baseline < kib_bound(10 * 8 * 1024), (baseline, peak)
    for s in socks:
        s.close()
    if not ASAN:  # ASan's quarantine keeps freed memory by design
        wait_until(lambda: rss_kib(broker) < baseline + 16 * 1024, DEADLINE_S,
                   f"RSS to return near {baseline} KiB (now {rss_kib(broker)})")
    assert api_versions_ok(broker.bootstrap)


def test_partial_frames_share_queued_max_request_bytes(broker_factory):
    """10 connections each sending 20 MiB of a 30 MiB frame: together they
    hold at most queued.max.request.bytes (64 MiB here), not 200 MiB."""
    broker = broker_factory({"queued.max.request.bytes": 64 * MIB,
                             "socket.request.max.bytes": 32 * MIB})
    baseline = rss_kib(broker)
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", broker.port))
        s.setblocking(False)
        s.send(struct.pack(">i", 30 * MIB))
        socks.append(s)
    send_until_blocked(socks, b"\x00" * 65536, 20 * MIB)
    assert api_versions_ok(broker.bootstrap)
    grown = rss_kib(broker) - baseline
    assert grown < kib_bound(64 * 1024 + 16 * 1024), grown
    for s in socks:
        s.close()
    assert api_versions_ok(broker.bootstrap)


def test_queued_max_request_bytes_below_frame_size_is_refused(tmp_path):
    import subprocess
    from conftest import SLUICE_BIN
    p = subprocess.run([SLUICE_BIN, "serve", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                        "--override", f"log.dirs={tmp_path}",
                        "--override", "queued.max.request.bytes=1048576"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode != 0
    assert b"queued.max.request.bytes" in p.stdout


def test_default_queued_max_request_bytes_follows_a_larger_frame_size(broker_factory):
    broker = broker_factory({"socket.request.max.bytes": 600 * MIB})
    assert api_versions_ok(broker.bootstrap)


def test_valid_request_then_zero_size_frame_is_answered_then_closed(broker):
    c = kwire.Conn(broker.bootstrap)
    c.send(kwire.frame(kwire.request(18, 0, b"", correlation_id=5)) + struct.pack(">i", 0))
    resp = c.recv_frame()
    assert struct.unpack(">ih", resp[:6]) == (5, 0)
    assert c.closed_by_peer()
    c.close()
    assert api_versions_ok(broker.bootstrap)


BAD_NAME = b"bad\xff\xfename"
REPLACED = "bad\ufffd\ufffdname".encode()


def test_fetch_non_utf8_topic_is_invalid_topic_and_not_echoed_raw(broker):
    body = struct.pack(">iiiib", -1, 0, 0, 1 << 20, 0) + struct.pack(">i", 1)
    body += raw_string(BAD_NAME) + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20)
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.request(1, 4, body))
    c.close()
    assert BAD_NAME not in resp
    # corr, throttle, 1 topic, its name (read as Kafka's decoder reads it),
    # 1 partition: INVALID_TOPIC_EXCEPTION (17).
    name = raw_string(REPLACED)
    assert resp[8:12] == struct.pack(">i", 1) and resp[12:12 + len(name)] == name
    rest = resp[12 + len(name):]
    part, err = struct.unpack(">ih", rest[4:10])
    assert (part, err) == (0, 17)


def test_metadata_non_utf8_topic_is_invalid_topic_and_not_echoed_raw(broker):
    body = struct.pack(">i", 1) + raw_string(BAD_NAME)
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.request(3, 1, body))
    c.close()
    assert BAD_NAME not in resp
    # Topic entries: error code, then the (replaced) name.
    at = resp.find(raw_string(REPLACED))
    assert at >= 2
    (err,) = struct.unpack(">h", resp[at - 2:at])
    assert err == 17


def test_produce_non_utf8_topic_is_not_echoed_raw(broker):
    """The name is read as Kafka reads it (U+FFFD for each bad byte). The
    Produce handler (h_produce.c) still says UNKNOWN_TOPIC_OR_PARTITION for
    a topic it does not find; sl_kerr_unknown_topic gives 17 there too."""
    body = kwire.string(None) + struct.pack(">hi", -1, 30000)
    body += struct.pack(">i", 1) + raw_string(BAD_NAME) + struct.pack(">i", 1)
    recs = kwire.batch([b"x"])
    body += struct.pack(">ii", 0, len(recs)) + recs
    c = kwire.Conn(broker.bootstrap)
    resp = c.roundtrip(kwire.request(0, 3, body))
    c.close()
    assert BAD_NAME not in resp
    name = raw_string(REPLACED)
    at = resp.find(name)
    assert at > 0
    part, err = struct.unpack(">ih", resp[at + len(name) + 4:][:6])
    assert part == 0 and err == 17


def test_memory_of_a_big_request_is_returned_while_the_connection_idles(broker):
    """A Fetch naming 1M unknown partitions decodes into hundreds of MiB; once
    answered that memory goes back, though the connection stays open."""
    baseline = rss_kib(broker)
    n = 1_000_000
    body = struct.pack(">iii", -1, 0, 0) + struct.pack(">i", 1) + kwire.string("nosuch")
    body += struct.pack(">i", n) + struct.pack(">iqi", 0, 0, 1024) * n
    c = kwire.Conn(broker.bootstrap, timeout=120)
    resp = c.roundtrip(kwire.request(1, 2, body))
    assert len(resp) > 18 * n
    wait_until(lambda: rss_kib(broker) < baseline + 32 * 1024 or ASAN, DEADLINE_S,
               f"RSS to return near {baseline} KiB (now {rss_kib(broker)})")
    assert api_versions_ok(broker.bootstrap)
    c.close()


def test_parked_fetches_share_one_memory_bound(broker):
    """20 long polls naming 200k partitions each (~70 MiB of request memory
    apiece) would keep 1.4 GB parked; parked fetches keep at most 256 MiB
    together and the rest are answered at once."""
    fill_partition(broker, "idle", 1024, value_size=1024)  # high watermark 1
    n = 200_000
    body = struct.pack(">iiiib", -1, 30000, 1, 1 << 20, 0) + struct.pack(">i", 1)
    body += kwire.string("idle") + struct.pack(">i", n) + struct.pack(">iqi", 0, 1, 1024) * n
    req = kwire.frame(kwire.request(1, 4, body))
    polls = []
    for _ in range(20):
        c = kwire.Conn(broker.bootstrap, timeout=120)
        c.send(req)
        polls.append(c)
    assert api_versions_ok(broker.bootstrap)
    answered = []

    def some_answered():
        for c in polls:
            c.sock.setblocking(False)
            try:
                got = c.sock.recv(1)
            except BlockingIOError:
                got = None
            finally:
                c.sock.setblocking(True)
            if got:
                answered.append(c)
                polls.remove(c)
        return len(answered) >= 10
    wait_until(some_answered, DEADLINE_S, "the fetches that could not park to be answered")
    assert hwm_kib(broker) < kib_bound(512 * 1024), hwm_kib(broker)
    for c in answered + polls:
        c.close()
    assert api_versions_ok(broker.bootstrap)
