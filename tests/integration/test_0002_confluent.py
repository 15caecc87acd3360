"""confluent-kafka (librdkafka 2.0.2): Producer, Consumer with assign,
AdminClient topics/partitions/configs, offsets by time and watermarks."""
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition, KafkaError
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

DEADLINE_S = 60


def produce(bootstrap, topic, n, partition=None, **conf):
    acked = []

    def on_delivery(err, msg):
        assert err is None, err
        acked.append((msg.partition(), msg.offset(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", **conf})
    for i in range(n):
        kwargs = {"key": f"k{i}".encode(), "value": f"v{i}".encode(),
                  "headers": [("idx", str(i).encode())], "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        p.produce(topic, **kwargs)
        p.poll(0)
    assert p.flush(DEADLINE_S) == 0
    return acked


def consume_assigned(bootstrap, tps, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign(tps)
    got = []
    import time
    end = time.monotonic() + DEADLINE_S
    while len(got) < count and time.monotonic() < end:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            continue
        got.append(m)
    c.close()
    return got


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def wait_futures(fs):
    return {k: f.result(timeout=DEADLINE_S) for k, f in fs.items()}


def test_producer_offsets_and_assign_consumer(broker):
    a = admin(broker.bootstrap)  # keep the handle alive until the futures resolve
    wait_futures(a.create_topics([NewTopic("cf", 3, 1)]))
    acked = produce(broker.bootstrap, "cf", 300)
    assert len(acked) == 300
    per_part = {}
    for part, off, _ in acked:
        per_part.setdefault(part, []).append(off)
    for offs in per_part.values():
        assert offs == list(range(len(offs)))
    msgs = consume_assigned(broker.bootstrap, [TopicPartition("cf", p, 0) for p in range(3)], 300)
    assert sorted(m.value() for m in msgs) == sorted(v for _, _, v in acked)
    for m in msgs:
        i = int(m.value()[1:])
        assert m.key() == f"k{i}".encode()
        assert m.headers() == [("idx", str(i).encode())]


def test_admin_create_delete_partitions_configs(broker):
    a = admin(broker.bootstrap)
    wait_futures(a.create_topics([NewTopic("adm", 2, 1, config={"retention.ms": "3600000"})]))
    with pytest.raises(Exception):
        wait_futures(a.create_topics([NewTopic("adm", 2, 1)]))
    # validate_only does not create.
    wait_futures(a.create_topics([NewTopic("dry", 1, 1)], validate_only=True))
    md = a.list_topics(timeout=DEADLINE_S)
    assert "adm" in md.topics and "dry" not in md.topics
    assert len(md.topics["adm"].partitions) == 2

    wait_futures(a.create_partitions([NewPartitions("adm", 5)]))
    assert len(a.list_topics(timeout=DEADLINE_S).topics["adm"].partitions) == 5

    res = ConfigResource(ConfigResource.Type.TOPIC, "adm")
    configs = wait_futures(a.describe_configs([res]))[res]
    assert configs["retention.ms"].value == "3600000"
    assert not configs["retention.ms"].is_default
    assert configs["segment.bytes"].is_default
    assert configs["cleanup.policy"].value == "delete"

    res.set_config("retention.bytes", "1048576")
    wait_futures(a.alter_configs([res]))
    configs = wait_futures(a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "adm")]))
    configs = list(configs.values())[0]
    assert configs["retention.bytes"].value == "1048576"
    # AlterConfigs replaces the whole set: retention.ms is back to its default.
    assert configs["retention.ms"].is_default

    broker_res = ConfigResource(ConfigResource.Type.BROKER, "0")
    bconf = wait_futures(a.describe_configs([broker_res]))[broker_res]
    assert "log.retention.hours" in bconf or "log.retention.ms" in bconf

    wait_futures(a.delete_topics(["adm"]))
    assert "adm" not in a.list_topics(timeout=DEADLINE_S).topics


def test_watermarks_and_offsets_for_times(broker):
    acked = produce(broker.bootstrap, "lo", 50, partition=0)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "lo"})
    low, high = c.get_watermark_offsets(TopicPartition("lo", 0), timeout=DEADLINE_S)
    assert (low, high) == (0, 50)
    res = c.offsets_for_times([TopicPartition("lo", 0, 0)], timeout=DEADLINE_S)
    assert res[0].offset == 0
    far_future = 2 ** 62
    res = c.offsets_for_times([TopicPartition("lo", 0, far_future)], timeout=DEADLINE_S)
    assert res[0].offset in (-1, 50)  # no such record: end
    c.close()
    assert len(acked) == 50
