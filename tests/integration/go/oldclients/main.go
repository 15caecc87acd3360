// Command oldclients drives two old Go Kafka clients as Debian packages
// them -- sarama 1.22.1 and segmentio/kafka-go 0.2.1 -- for the integration
// tests in tests/integration/test_0300_old_clients.py.
//
// Messages go in on stdin and come out on stdout one per line, as
// "<keyhex|-|.> <valuehex|-|.>" ("-" is null, "." empty); consumed messages are printed as
// "<offset> <keyhex|-> <valuehex|-> <timestamp ms|->". Errors go to stderr
// with exit status 1.
//
//	oldclients -client sarama -version 0.8.2.0 -codec gzip -mode produce ...
//	oldclients -client kafkago -mode consume -n 100 ...
//
// Built with GO111MODULE=off against /usr/share/gocode (no network).
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	kafka "github.com/segmentio/kafka-go"
	kgzip "github.com/segmentio/kafka-go/gzip"
	klz4 "github.com/segmentio/kafka-go/lz4"
	ksnappy "github.com/segmentio/kafka-go/snappy"
)

var (
	broker   = flag.String("broker", "127.0.0.1:9092", "bootstrap broker")
	client   = flag.String("client", "sarama", "sarama or kafkago")
	version  = flag.String("version", "", "sarama Config.Version (empty: sarama's default)")
	codec    = flag.String("codec", "none", "none, gzip, snappy or lz4")
	mode     = flag.String("mode", "produce", "produce, consume or group")
	topic    = flag.String("topic", "t", "topic")
	group    = flag.String("group", "", "consumer group (mode group)")
	count    = flag.Int("n", 0, "messages to consume")
	offset   = flag.Int64("offset", 0, "first offset (mode consume)")
	fetchMax = flag.Int("fetch-max", 0, "consumer fetch size in bytes (0: the client's default)")
	timeout  = flag.Duration("timeout", 60*time.Second, "overall deadline")
)

type msg struct {
	key, value []byte
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "oldclients: "+format+"\n", args...)
	os.Exit(1)
}

func unhex(s string) []byte {
	if s == "-" {
		return nil
	}
	if s == "." {
		return []byte{}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		fail("bad hex %q: %v", s, err)
	}
	return b
}

func tohex(b []byte) string {
	if b == nil {
		return "-"
	}
	if len(b) == 0 {
		return "."
	}
	return hex.EncodeToString(b)
}

func readInput() []msg {
	var out []msg
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		out = append(out, msg{unhex(f[0]), unhex(f[1])})
	}
	return out
}

func printMsg(w *bufio.Writer, off int64, key, value []byte, ts time.Time) {
	t := "-"
	if !ts.IsZero() && ts.Unix() > 0 {
		t = fmt.Sprint(ts.UnixNano() / int64(time.Millisecond))
	}
	fmt.Fprintf(w, "%d %s %s %s\n", off, tohex(key), tohex(value), t)
}

// ---- sarama ----------------------------------------------------------------

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "sluice-oldclients"
	if *version != "" {
		v, err := sarama.ParseKafkaVersion(*version)
		if err != nil {
			fail("version: %v", err)
		}
		cfg.Version = v
	}
	switch *codec {
	case "none":
	case "gzip":
		cfg.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		cfg.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		cfg.Producer.Compression = sarama.CompressionLZ4
	default:
		fail("codec %q", *codec)
	}
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Flush.Messages = 50
	cfg.Producer.Flush.Frequency = 20 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if *fetchMax > 0 {
		cfg.Consumer.Fetch.Default = int32(*fetchMax)
	}
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	return cfg
}

func saramaProduce(msgs []msg) {
	p, err := sarama.NewSyncProducer([]string{*broker}, saramaConfig())
	if err != nil {
		fail("producer: %v", err)
	}
	batch := make([]*sarama.ProducerMessage, 0, len(msgs))
	for _, m := range msgs {
		pm := &sarama.ProducerMessage{Topic: *topic, Partition: 0}
		if m.key != nil {
			pm.Key = sarama.ByteEncoder(m.key)
		}
		if m.value != nil {
			pm.Value = sarama.ByteEncoder(m.value)
		}
		batch = append(batch, pm)
	}
	if err := p.SendMessages(batch); err != nil {
		fail("send: %v", err)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, pm := range batch {
		fmt.Fprintf(w, "%d\n", pm.Offset)
	}
	w.Flush()
	if err := p.Close(); err != nil {
		fail("close: %v", err)
	}
}

func saramaConsume() {
	c, err := sarama.NewConsumer([]string{*broker}, saramaConfig())
	if err != nil {
		fail("consumer: %v", err)
	}
	pc, err := c.ConsumePartition(*topic, 0, *offset)
	if err != nil {
		fail("consume partition: %v", err)
	}
	w := bufio.NewWriter(os.Stdout)
	deadline := time.After(*timeout)
	for got := 0; got < *count; got++ {
		select {
		case m := <-pc.Messages():
			printMsg(w, m.Offset, m.Key, m.Value, m.Timestamp)
		case e := <-pc.Errors():
			fail("consume: %v", e)
		case <-deadline:
			w.Flush()
			fail("timed out after %d of %d messages", got, *count)
		}
	}
	w.Flush()
	pc.Close()
	c.Close()
}

type groupHandler struct {
	mu   sync.Mutex
	w    *bufio.Writer
	got  int
	done chan struct{}
	once sync.Once
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		if h.got < *count {
			printMsg(h.w, m.Offset, m.Key, m.Value, m.Timestamp)
			s.MarkMessage(m, "")
			h.got++
			if h.got == *count {
				h.once.Do(func() { close(h.done) })
			}
		}
		h.mu.Unlock()
	}
	return nil
}

func saramaGroup() {
	cfg := saramaConfig()
	cfg.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	g, err := sarama.NewConsumerGroup([]string{*broker}, *group, cfg)
	if err != nil {
		fail("consumer group: %v", err)
	}
	go func() {
		for e := range g.Errors() {
			fmt.Fprintf(os.Stderr, "oldclients: group error: %v\n", e)
		}
	}()
	h := &groupHandler{w: bufio.NewWriter(os.Stdout), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{*topic}, h); err != nil {
				fmt.Fprintf(os.Stderr, "oldclients: consume: %v\n", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	select {
	case <-h.done:
	case <-time.After(*timeout):
		h.mu.Lock()
		h.w.Flush()
		fail("timed out after %d of %d messages", h.got, *count)
	}
	cancel()
	// Close commits the marked offsets (OffsetCommit) before leaving.
	if err := g.Close(); err != nil {
		fail("close: %v", err)
	}
	h.mu.Lock()
	h.w.Flush()
	h.mu.Unlock()
}

// saramaAdmin walks sarama's admin requests: CreateTopics (v0 below 0.11,
// v1 from 0.11, v2 from 1.0), DeleteTopics (v0, v1 from 0.11) and, from 0.11
// on (sarama refuses them earlier), Metadata via ListTopics,
// DescribeConfigs v0, AlterConfigs v0 and (from 1.0) CreatePartitions v0.
// It prints one line per step.
func saramaAdmin() {
	cfg := saramaConfig()
	a, err := sarama.NewClusterAdmin([]string{*broker}, cfg)
	if err != nil {
		fail("admin: %v", err)
	}
	retention := "60000"
	err = a.CreateTopic(*topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false)
	if err != nil {
		fail("create topic: %v", err)
	}
	fmt.Println("created")
	if !cfg.Version.IsAtLeast(sarama.V0_11_0_0) {
		if err := a.DeleteTopic(*topic); err != nil {
			fail("delete topic: %v", err)
		}
		fmt.Println("deleted")
		a.Close()
		return
	}
	topics, err := a.ListTopics()
	if err != nil {
		fail("list topics: %v", err)
	}
	fmt.Printf("listed %d\n", topics[*topic].NumPartitions)
	describe := func() {
		entries, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource,
			Name: *topic, ConfigNames: []string{"retention.ms"}})
		if err != nil {
			fail("describe config: %v", err)
		}
		for _, e := range entries {
			fmt.Printf("config %s=%s\n", e.Name, e.Value)
		}
	}
	describe()
	newRetention := "120000"
	if err := a.AlterConfig(sarama.TopicResource, *topic,
		map[string]*string{"retention.ms": &newRetention}, false); err != nil {
		fail("alter config: %v", err)
	}
	describe()
	if cfg.Version.IsAtLeast(sarama.V1_0_0_0) {
		if err := a.CreatePartitions(*topic, 3, nil, false); err != nil {
			fail("create partitions: %v", err)
		}
		topics, err = a.ListTopics()
		if err != nil {
			fail("list topics: %v", err)
		}
		fmt.Printf("listed %d\n", topics[*topic].NumPartitions)
	}
	if err := a.DeleteTopic(*topic); err != nil {
		fail("delete topic: %v", err)
	}
	fmt.Println("deleted")
	a.Close()
}

// ---- kafka-go --------------------------------------------------------------

func kafkagoCodec() kafka.CompressionCodec {
	switch *codec {
	case "none":
		return nil
	case "gzip":
		return kgzip.NewCompressionCodec()
	case "snappy":
		return ksnappy.NewCompressionCodec()
	case "lz4":
		return klz4.NewCompressionCodec()
	}
	fail("codec %q", *codec)
	return nil
}

func kafkagoProduce(msgs []msg) {
	w := kafka.NewWriter(kafka.WriterConfig{
		Brokers:          []string{*broker},
		Topic:            *topic,
		Balancer:         &kafka.LeastBytes{},
		BatchSize:        50,
		BatchTimeout:     20 * time.Millisecond,
		RequiredAcks:     -1,
		CompressionCodec: kafkagoCodec(),
	})
	km := make([]kafka.Message, 0, len(msgs))
	for _, m := range msgs {
		km = append(km, kafka.Message{Key: m.key, Value: m.value})
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := w.WriteMessages(ctx, km...); err != nil {
		fail("write: %v", err)
	}
	if err := w.Close(); err != nil {
		fail("close: %v", err)
	}
}

func kafkagoConsume() {
	cfg := kafka.ReaderConfig{
		Brokers:  []string{*broker},
		Topic:    *topic,
		MinBytes: 1,
		MaxBytes: 10 << 20,
		MaxWait:  100 * time.Millisecond,
	}
	if *fetchMax > 0 {
		cfg.MaxBytes = *fetchMax
	}
	if *mode == "group" {
		cfg.GroupID = *group
		cfg.CommitInterval = 0 // commit synchronously
		cfg.HeartbeatInterval = 200 * time.Millisecond
	} else {
		cfg.Partition = 0
	}
	r := kafka.NewReader(cfg)
	if *mode != "group" {
		if err := r.SetOffset(*offset); err != nil {
			fail("set offset: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	w := bufio.NewWriter(os.Stdout)
	for got := 0; got < *count; got++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			w.Flush()
			fail("read after %d of %d: %v", got, *count, err)
		}
		printMsg(w, m.Offset, m.Key, m.Value, m.Time)
		if *mode == "group" {
			if err := r.CommitMessages(ctx, m); err != nil {
				fail("commit: %v", err)
			}
		}
	}
	w.Flush()
	r.Close()
}

func main() {
	flag.Parse()
	switch *client + "/" + *mode {
	case "sarama/produce":
		saramaProduce(readInput())
	case "sarama/consume":
		saramaConsume()
	case "sarama/group":
		saramaGroup()
	case "sarama/admin":
		saramaAdmin()
	case "kafkago/produce":
		kafkagoProduce(readInput())
	case "kafkago/consume", "kafkago/group":
		kafkagoConsume()
	default:
		fail("unknown client/mode %s/%s", *client, *mode)
	}
}
