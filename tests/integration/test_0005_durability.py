"""Nothing acknowledged is lost: 100,000 messages with acks=all, SIGKILL,
restart, and every acknowledged message comes back once, in order."""
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

N = 100_000


def test_acks_all_survives_sigkill(broker):
    acked = []

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.offset())

    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                  "linger.ms": 5, "batch.num.messages": 2000})
    for i in range(N):
        while True:
            try:
                p.produce("durable", value=b"%08d" % i, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(120) == 0
    assert acked == list(range(N))

    broker.kill()
    broker.start()

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "durable-check",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition("durable", 0, 0)])
    values = []
    while True:
        m = c.poll(30)
        assert m is not None, f"stalled after {len(values)} messages"
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF
            break
        assert m.offset() == len(values)
        values.append(m.value())
    c.close()
    assert values == [b"%08d" % i for i in range(N)]
