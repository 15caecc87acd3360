"""A deliberately small Kafka wire client for tests that need raw frames:
well-formed requests built by hand, and malformed ones on purpose."""
import socket
import struct
import zlib

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def request(api_key, version, body, correlation_id=1, client_id="raw-test"):
    """Header v1 (non-flexible) + body, without the size prefix."""
    return struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + body


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def record(offset_delta, key, value, ts_delta=0):
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(0)  # headers
    return varint(len(body)) + body


def batch(values, codec=0, timestamp=1_700_000_000_000, raw_records=None):
    """A magic-2 batch; raw_records replaces the (possibly compressed) record bytes."""
    recs = b"".join(record(i, None, v) for i, v in enumerate(values))
    if raw_records is not None:
        recs = raw_records
    elif codec == 1:
        c = zlib.compressobj(wbits=31)
        recs = c.compress(recs) + c.flush()
    after_crc = struct.pack(">hiqqqhii", codec, len(values) - 1, timestamp, timestamp,
                            -1, -1, -1, len(values)) + recs
    head = struct.pack(">iB", 0, 2)  # partition leader epoch, magic
    crc = struct.pack(">I", crc32c(after_crc))
    body = head + crc + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def produce_v3(topic, partition, records_bytes, acks=-1, timeout_ms=30000):
    body = string(None) + struct.pack(">hi", acks, timeout_ms)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">ii", partition, len(records_bytes)) + records_bytes
    return request(0, 3, body)


class Conn:
    def __init__(self, bootstrap, timeout=30):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by broker")
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        (size,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(size)

    def roundtrip(self, payload):
        self.send(frame(payload))
        return self.recv_frame()

    def closed_by_peer(self):
        """True once the broker has closed the connection (reads EOF or reset)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()
