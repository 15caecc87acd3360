"""kafka-python 2.0.2 with its version probe (no api_version given):
KafkaProducer, KafkaConsumer with assign/seek, KafkaAdminClient."""
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

DEADLINE_MS = 60000


def test_probe_infers_modern_broker_and_produces_with_headers(broker):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    # Headers need message format v2, which kafka-python only uses for >= 0.11.
    assert p.config["api_version"] >= (0, 11)
    futures = [p.send("kp", key=f"k{i}".encode(), value=f"v{i}".encode(),
                      headers=[("h", b"x")]) for i in range(100)]
    p.flush()
    metas = [f.get(timeout=60) for f in futures]
    assert [m.offset for m in metas] == list(range(100))
    p.close()

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                      consumer_timeout_ms=DEADLINE_MS)
    tp = TopicPartition("kp", 0)
    c.assign([tp])
    c.seek(tp, 40)
    got = []
    for m in c:
        got.append(m)
        if len(got) == 60:
            break
    assert [m.offset for m in got] == list(range(40, 100))
    assert got[0].key == b"k40" and got[0].value == b"v40"
    assert got[0].headers == [("h", b"x")]
    c.seek_to_beginning(tp)
    assert c.position(tp) == 0
    c.seek_to_end(tp)
    assert c.position(tp) == 100
    c.close()


def test_admin_client(broker):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    a.create_topics([NewTopic("kpa", 2, 1, topic_configs={"retention.ms": "60000"})])
    assert "kpa" in a.list_topics()
    a.create_partitions({"kpa": NewPartitions(4)})
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    assert c.partitions_for_topic("kpa") == {0, 1, 2, 3}
    c.close()
    res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kpa")])
    entries = {e[0]: e[1] for e in res[0].resources[0][4]}
    assert entries["retention.ms"] == "60000"
    a.delete_topics(["kpa"])
    assert "kpa" not in a.list_topics()
    a.close()
