"""Consumer groups: members never share a record, a killed member's
partitions move to the others, and everyone resumes at committed offsets."""
import subprocess
import pytest

from conftest import wait_until
from groups_util import Member, check_processed, create_topic, produce, wait_all_processed

GROUP_BROKER = {"group.initial.rebalance.delay.ms": "0"}


def start_members(tmp_path, broker, n, client, topic, group, **opts):
    ms = [Member(tmp_path, f"{client}-{i}", client, broker.bootstrap, group, topic, **opts)
          for i in range(n)]
    return ms


def wait_balanced(members, partitions):
    """Until the members' latest assignments cover every partition once."""
    def balanced():
        latest = []
        for m in members:
            a = m.assignments()
            if not a:
                return False
            latest += [int(p) for p in a[-1].split(",") if p]
        return sorted(latest) == list(range(partitions))

    wait_until(balanced, 90, "the group to settle")


@pytest.mark.parametrize("client,strategy", [("confluent", "range"),
                                             ("kafka-python", "range"),
                                             ("kafka-python", "roundrobin")])
def test_five_members_split_partitions_and_survive_a_kill(tmp_path, broker_factory, client,
                                                          strategy):
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "work", 10)
    members = start_members(tmp_path, broker, 5, client, "work", "analytics", strategy=strategy)
    try:
        wait_balanced(members, 10)
        values = [b"rec-%05d" % i for i in range(10000)]
        produce(broker.bootstrap, "work", values[:5000])
        victim = members[0]
        wait_until(lambda: len(victim.records()) >= 50 or not victim.assignments()[-1], 60,
                   "the victim to process some records")
        victim.kill()
        produce(broker.bootstrap, "work", values[5000:])
        survivors = members[1:]
        wait_all_processed(members, [v.decode() for v in values])
        dups = check_processed(members, [v.decode() for v in values], killed=[victim])
        # Commits follow processing: at most one uncommitted record per partition it owned.
        assert dups <= 10
        # The victim's partitions moved: survivors cover all ten.
        wait_balanced(survivors, 10)
    finally:
        for m in members:
            m.stop()


def test_mixed_clients_share_one_group(tmp_path, broker_factory):
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "mixed", 6)
    members = [Member(tmp_path, "c", "confluent", broker.bootstrap, "mix", "mixed"),
               Member(tmp_path, "k", "kafka-python", broker.bootstrap, "mix", "mixed")]
    try:
        wait_balanced(members, 6)
        values = [b"m-%04d" % i for i in range(2000)]
        produce(broker.bootstrap, "mixed", values)
        wait_all_processed(members, [v.decode() for v in values])
        assert check_processed(members, [v.decode() for v in values]) == 0
        assert all(m.records() for m in members)
    finally:
        for m in members:
            m.stop()


def test_committed_offsets_survive_broker_sigkill(tmp_path, broker_factory):
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "resume", 3)
    first = [b"a-%04d" % i for i in range(900)]
    produce(broker.bootstrap, "resume", first)
    m1 = Member(tmp_path, "first", "confluent", broker.bootstrap, "resumers", "resume")
    try:
        wait_all_processed([m1], [v.decode() for v in first])
    finally:
        m1.stop()
    broker.kill()
    broker.start()
    second = [b"b-%04d" % i for i in range(300)]
    produce(broker.bootstrap, "resume", second)
    m2 = Member(tmp_path, "second", "confluent", broker.bootstrap, "resumers", "resume")
    try:
        wait_all_processed([m2], [v.decode() for v in second])
        # Resumed exactly at the committed offsets: nothing from before again.
        assert not any(r[2].startswith("a-") for r in m2.records())
    finally:
        m2.stop()


def test_cooperative_sticky_keeps_assignments_on_join(tmp_path, broker_factory):
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "coop", 6)
    a = Member(tmp_path, "a", "confluent", broker.bootstrap, "coop", "coop",
               strategy="cooperative-sticky")
    b = None
    try:
        wait_balanced([a], 6)
        b = Member(tmp_path, "b", "confluent", broker.bootstrap, "coop", "coop",
                   strategy="cooperative-sticky")
        wait_balanced([a, b], 6)
        # Incremental: a only ever lost partitions, it never got a new set.
        sets = [set(x.split(",")) - {""} for x in a.assignments()]
        assert all(later <= sets[0] for later in sets[1:])
        values = [b"c-%03d" % i for i in range(600)]
        produce(broker.bootstrap, "coop", values)
        wait_all_processed([a, b], [v.decode() for v in values])
        assert check_processed([a, b], [v.decode() for v in values]) == 0
    finally:
        for m in (a, b):
            if m:
                m.stop()


def test_static_member_rejoins_without_reassignment(tmp_path, broker_factory):
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "static", 4)
    a = Member(tmp_path, "a1", "confluent", broker.bootstrap, "st", "static", instance="inst-a",
               session_ms=30000)
    b = Member(tmp_path, "b", "confluent", broker.bootstrap, "st", "static", instance="inst-b",
               session_ms=30000)
    a2 = None
    try:
        wait_balanced([a, b], 4)
        before_b = b.assignments()
        owned_a = a.assignments()[-1]
        a.kill()
        a2 = Member(tmp_path, "a2", "confluent", broker.bootstrap, "st", "static",
                    instance="inst-a", session_ms=30000)
        wait_until(lambda: a2.assignments(), 60, "the static member to rejoin")
        assert a2.assignments()[-1] == owned_a
        # The other member saw no rebalance.
        assert b.assignments() == before_b
    finally:
        for m in (a, b, a2):
            if m:
                m.stop()


def kafkajs_available():
    import shutil
    from pathlib import Path
    return shutil.which("node") and (Path(__file__).parent / "js" / "node_modules" /
                                     "kafkajs").is_dir()


@pytest.mark.skipif(not kafkajs_available(), reason="kafkajs not installed (make deps)")
def test_kafkajs_members_split_and_survive_a_kill(tmp_path, broker_factory):
    # kafkajs names its assignor "RoundRobinAssigner", which no other client
    # offers, so a kafkajs group is kafkajs only (Kafka would refuse the mix
    # with INCONSISTENT_GROUP_PROTOCOL just the same).
    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "jsg", 4)
    members = [Member(tmp_path, f"js-{i}", "kafkajs", broker.bootstrap, "jsgroup", "jsg")
               for i in range(3)]
    try:
        wait_balanced(members, 4)
        values = [b"j-%04d" % i for i in range(1200)]
        produce(broker.bootstrap, "jsg", values[:600])
        victim = members[0]
        wait_until(lambda: victim.records() or not victim.assignments()[-1], 60,
                   "the victim to process a record")
        victim.kill()
        produce(broker.bootstrap, "jsg", values[600:])
        wait_all_processed(members, [v.decode() for v in values])
        assert check_processed(members, [v.decode() for v in values], killed=[victim]) <= 4
    finally:
        for m in members:
            m.stop()


def test_kcat_balanced_consumer_and_metadata_with_internal_topic(tmp_path, broker_factory):
    import json
    import subprocess

    broker = broker_factory(GROUP_BROKER)
    create_topic(broker.bootstrap, "kg", 3)
    values = [b"k-%03d" % i for i in range(300)]
    produce(broker.bootstrap, "kg", values)
    out = tmp_path / "kcat.out"
    with open(out, "wb") as f:
        p = subprocess.Popen(["kcat", "-b", broker.bootstrap, "-G", "kcatgroup", "-q", "-u",
                              "-f", "%s\n", "-X", "auto.offset.reset=earliest", "kg"],
                             stdout=f, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: len(out.read_bytes().splitlines()) >= 300, 90,
                       "kcat -G to consume everything")
        finally:
            p.terminate()
            p.wait(timeout=60)
    assert sorted(out.read_bytes().splitlines()) == sorted(values)
    md = json.loads(subprocess.run(["kcat", "-b", broker.bootstrap, "-L", "-J"],
                                   stdout=subprocess.PIPE, check=True).stdout)
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics["__consumer_offsets"]["partitions"]) == 50
    assert len(topics["kg"]["partitions"]) == 3


def offsets_topic_records(bootstrap):
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", "__consumer_offsets", "-p", "0",
                          "-o", "beginning", "-e", "-q", "-f", "%o\n"],
                         stdout=subprocess.PIPE, check=True, timeout=60).stdout
    return len(out.splitlines())


@pytest.mark.parametrize("cleaner", ["true", "false"])
def test_offsets_topic_is_compacted_and_commits_survive(tmp_path, broker_factory, cleaner):
    from confluent_kafka import Consumer, TopicPartition

    # A tiny offsets segment size: the log cleaner compacts sealed segments
    # of __consumer_offsets like any compacted topic; without the cleaner
    # the broker rewrites it from its snapshot after a few KiB of commits.
    broker = broker_factory({**GROUP_BROKER, "offsets.topic.num.partitions": "1",
                             "offsets.topic.segment.bytes": "16384",
                             "log.cleaner.enable": cleaner, "log.cleaner.backoff.ms": "100"})
    create_topic(broker.bootstrap, "compacted", 2)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer",
                  "enable.auto.commit": False})
    for i in range(1, 400):
        c.commit(offsets=[TopicPartition("compacted", 0, i), TopicPartition("compacted", 1, 2 * i)],
                 asynchronous=False)
    c.close()

    if cleaner == "true":
        # 798 commit records for 2 keys (+ group metadata) shrink to the
        # active segment's records and a few per cleaned segment
        wait_until(lambda: offsets_topic_records(broker.bootstrap) < 300, 60,
                   "the cleaner to compact __consumer_offsets")
    else:
        probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "probe"})
        low, high = probe.get_watermark_offsets(TopicPartition("__consumer_offsets", 0),
                                                timeout=30)
        probe.close()
        assert low > 0, "the offsets topic was never compacted"
        assert high - low < 200, (low, high)

    broker.kill()
    broker.start()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer"})
    got = c.committed([TopicPartition("compacted", 0), TopicPartition("compacted", 1)], timeout=30)
    c.close()
    assert [(tp.partition, tp.offset) for tp in got] == [(0, 399), (1, 798)]
