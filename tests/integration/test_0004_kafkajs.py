"""kafkajs 2.2.4 (npm): admin client and producer; read-back with a kafkajs
consumer arrives with consumer groups."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import run

JS_DIR = Path(__file__).parent / "js"


def kafkajs_available():
    return shutil.which("node") and (JS_DIR / "node_modules" / "kafkajs").is_dir()


@pytest.mark.skipif(not kafkajs_available(), reason="kafkajs not installed (make deps)")
def test_kafkajs_produce_and_consume(broker):
    p = run(["node", str(JS_DIR / "produce_consume.js"), broker.bootstrap, "js-topic", "200"])
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert "js-topic" in out["topics"]
    assert out["baseOffset"] == "0"
    assert out["offsets"][0]["high"] == "200"
