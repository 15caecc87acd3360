"""A consumer-group member for the group tests, run as its own process so a
test can SIGKILL it. It records each processed message as one line
"partition offset value" in its output file *before* committing it, so a
record processed twice is visible in the outputs. On SIGTERM it closes
cleanly (leaving the group).

usage: member.py CLIENT BOOTSTRAP GROUP TOPIC OUTFILE [key=value...]
CLIENT: confluent | kafka-python
options: strategy=range|roundrobin|cooperative-sticky, instance=ID (static
membership), session_ms=N
"""
import os
import signal
import sys

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def main():
    client, bootstrap, group, topic, outfile = sys.argv[1:6]
    opts = dict(a.split("=", 1) for a in sys.argv[6:])
    signal.signal(signal.SIGTERM, on_term)
    out = open(outfile, "a", buffering=1)
    out.write("# started\n")
    if client == "confluent":
        run_confluent(bootstrap, group, topic, out, opts)
    else:
        run_kafka_python(bootstrap, group, topic, out, opts)


def log_assignment(out, parts):
    out.write("# assigned %s\n" % ",".join(str(p) for p in sorted(parts)))


def run_confluent(bootstrap, group, topic, out, opts):
    from confluent_kafka import Consumer

    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": int(opts.get("session_ms", 6000)),
            "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": opts.get("strategy", "range")}
    if "instance" in opts:
        conf["group.instance.id"] = opts["instance"]
    c = Consumer(conf)
    owned = set()

    def on_assign(consumer, parts):
        if conf["partition.assignment.strategy"] == "cooperative-sticky":
            consumer.incremental_assign(parts)
            owned.update(p.partition for p in parts)
        else:
            owned.clear()
            owned.update(p.partition for p in parts)
        log_assignment(out, owned)

    def on_revoke(consumer, parts):
        if conf["partition.assignment.strategy"] == "cooperative-sticky":
            consumer.incremental_unassign(parts)
            owned.difference_update(p.partition for p in parts)
            log_assignment(out, owned)

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out.write("%d %d %s\n" % (m.partition(), m.offset(), m.value().decode()))
        c.commit(message=m, asynchronous=False)
    c.close()


def run_kafka_python(bootstrap, group, topic, out, opts):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.consumer.subscription_state import ConsumerRebalanceListener

    assignor = {"range": RangePartitionAssignor,
                "roundrobin": RoundRobinPartitionAssignor}[opts.get("strategy", "range")]
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest",
                      session_timeout_ms=int(opts.get("session_ms", 6000)),
                      heartbeat_interval_ms=500, partition_assignment_strategy=[assignor])

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, assigned):
            log_assignment(out, [tp.partition for tp in assigned])

    c.subscribe([topic], listener=Listener())
    while not stop:
        batch = c.poll(timeout_ms=200, max_records=50)
        for tp, msgs in batch.items():
            for m in msgs:
                out.write("%d %d %s\n" % (m.partition, m.offset, m.value.decode()))
                c.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(m.offset + 1, "")})
    c.close()


if __name__ == "__main__":
    main()
