// A kafkajs 2.2.4 consumer-group member for the group tests: records each
// processed message as "partition offset value" before committing it, and
// leaves the group cleanly on SIGTERM.
// usage: node member.js BOOTSTRAP GROUP TOPIC OUTFILE
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, groupId, topic, outfile] = process.argv.slice(2);
  const out = fs.openSync(outfile, 'a');
  const write = (line) => fs.writeSync(out, line + '\n');
  write('# started');
  const kafka = new Kafka({ clientId: 'sluice-js-member', brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200, rebalanceTimeout: 10000,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    write('# assigned ' + parts.join(','));
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  process.on('SIGTERM', async () => {
    await consumer.disconnect();
    process.exit(0);
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      write(`${partition} ${message.offset} ${message.value.toString()}`);
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
