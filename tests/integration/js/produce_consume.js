// kafkajs 2.2.4 against Sluice: admin create, produce, then read back with a
// consumer that seeks (needs consumer groups; pass 'consume' as 4th arg). Prints one JSON line with what it saw.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic, countArg, mode] = process.argv.slice(2);
  const count = parseInt(countArg, 10);
  const kafka = new Kafka({ clientId: 'sluice-it', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const topics = await admin.listTopics();
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) {
    messages.push({ key: `k${i}`, value: `v${i}`, headers: { idx: `${i}` } });
  }
  const res = await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();

  if (mode !== 'consume') {
    console.log(JSON.stringify({ topics, baseOffset: res[0].baseOffset, offsets, seen: null }));
    return;
  }
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: message.offset, key: message.key.toString(),
                    value: message.value.toString(), idx: message.headers.idx.toString() });
        if (seen.length === count) resolve();
      },
    }).catch(reject);
    consumer.seek({ topic, partition: 0, offset: '0' });
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ topics, baseOffset: res[0].baseOffset, offsets, seen }));
}

main().catch((e) => { console.error(e); process.exit(1); });
