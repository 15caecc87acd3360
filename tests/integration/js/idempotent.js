// kafkajs 2.2.4 idempotent producer against Sluice: InitProducerId, then
// sequenced batches (maxInFlightRequests 1, acks all, as kafkajs requires
// for idempotence). Prints one JSON line with the offsets it got.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic, sendsArg] = process.argv.slice(2);
  const sends = parseInt(sendsArg, 10);
  const kafka = new Kafka({ clientId: 'sluice-idem', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const bases = [];
  for (let s = 0; s < sends; s++) {
    const messages = [];
    for (let i = 0; i < 10; i++) messages.push({ value: `s${s}-m${i}` });
    const res = await producer.send({ topic, acks: -1, messages });
    bases.push(res[0].baseOffset);
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  console.log(JSON.stringify({ bases, offsets }));
}

main().catch((e) => { console.error(e); process.exit(1); });
