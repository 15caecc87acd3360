#!/usr/bin/python3
"""Encode message bodies with kafka-python 2.0.2's own protocol classes.

Usage: encode_kp.py [OUTDIR]   (default: this directory)

A second, independent encoder for cross-checking the codec, including
responses and internal records that a client never sends us. Each output
file kp-<SpecMessageName>-v<N>.hex holds one body (no size, no header) in
hex; tests/proto/test_golden.c decodes it with the generated descriptor of
that name and re-encodes it byte for byte.
"""

import os
import sys

from kafka.coordinator.protocol import (ConsumerProtocolMemberAssignment,
                                        ConsumerProtocolMemberMetadata)
from kafka.protocol.admin import ApiVersionResponse
from kafka.protocol.commit import OffsetCommitRequest, OffsetFetchResponse
from kafka.protocol.fetch import FetchResponse
from kafka.protocol.group import JoinGroupResponse
from kafka.protocol.metadata import MetadataResponse
from kafka.protocol.produce import ProduceRequest

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = bytes(range(70))  # opaque to the codec


def enc(obj):
    # Struct.encode holds only a weak reference to its object: keep one alive.
    return obj.encode()


def bodies():
    yield "MetadataResponse", 5, enc(MetadataResponse[5](
        0, [(1, "localhost", 9092, None), (2, "h2", 9093, "rack-a")], "cluster-1", 1,
        [(0, "orders", False, [(0, 0, 1, [1, 2], [1], []), (0, 1, 2, [2, 1], [2, 1], [3])]),
         (3, "missing", False, [])]))
    yield "FetchResponse", 4, enc(FetchResponse[4](
        7, [("orders", [(0, 0, 100, 90, [(5, 40)], BATCH), (1, 1, -1, -1, None, b"")])]))
    yield "ProduceRequest", 3, enc(ProduceRequest[3](
        None, -1, 30000, [("orders", [(0, BATCH), (1, BATCH[:10])])]))
    yield "JoinGroupResponse", 2, enc(JoinGroupResponse[2](
        0, 0, 3, "range", "m-1", "m-1", [("m-1", b"\x00\x00meta"), ("m-2", b"")]))
    yield "OffsetCommitRequest", 2, enc(OffsetCommitRequest[2](
        "group", 3, "m-1", -1, [("orders", [(0, 100, ""), (1, 250, "meta")])]))
    yield "OffsetFetchResponse", 3, enc(OffsetFetchResponse[3](
        0, [("orders", [(0, 100, "", 0), (1, -1, "", 3)])], 0))
    yield "ApiVersionsResponse", 1, enc(ApiVersionResponse[1](
        0, [(0, 0, 8), (1, 0, 11), (18, 0, 3)], 0))
    # Consumer protocol blobs carry an i16 version in front of the struct.
    sub = enc(ConsumerProtocolMemberMetadata(0, ["orders", "payments"], b"ud"))
    yield "ConsumerProtocolSubscription", 0, sub[2:]
    asg = enc(ConsumerProtocolMemberAssignment(0, [("orders", [0, 2]), ("payments", [1])], b""))
    yield "ConsumerProtocolAssignment", 0, asg[2:]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    for name, ver, body in bodies():
        path = os.path.join(outdir, "kp-%s-v%d.hex" % (name, ver))
        hexs = body.hex()
        with open(path, "w") as fp:
            for i in range(0, len(hexs), 64):
                fp.write(hexs[i:i + 64] + "\n")
        print("wrote %s (%d bytes)" % (os.path.basename(path), len(body)))


if __name__ == "__main__":
    main()
