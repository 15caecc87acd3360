/*
 * bench_codec.c -- decode/encode cost of the table-driven codec.
 *
 * Main figure: a Produce v7 request carrying one record batch (magic 2) of
 * 1,000 records with 100-byte values, as a producer would send it. The batch
 * is opaque to the codec (a bytes view), so this measures request framing
 * only; decoding the records inside the batch needs a record parser, which
 * does not exist yet. Also reported: a Fetch v11 request (5 topics x 10
 * partitions), where the codec walks every element.
 *
 * Usage: bench_codec [iterations [produce|fetch]]
 *   iterations default 200000 (the Fetch bench runs a tenth as many); the
 *   optional name runs one bench only (for callgrind instruction counts).
 */
#include "base/arena.h"
#include "base/time.h"
#include "proto/gen/kmsgs.h"
#include "proto/record.h"

#define NRECORDS  1000
#define VALUE_LEN 100

static void
put_varint(sl_buf_t *b, int64_t v)
{
    sl_writer_t wr = {b};

    sl_wr_varlong(&wr, v);
}

/* A magic-2 batch of NRECORDS uncompressed records, CRC filled in. */
static void
build_batch(sl_buf_t *b)
{
    uint8_t hdr[SL_BATCH_HEADER_SIZE] = {0};
    uint8_t value[VALUE_LEN];

    memset(value, 'v', sizeof(value));
    sl_buf_append(b, hdr, sizeof(hdr));
    for (int i = 0; i < NRECORDS; i++) {
        sl_buf_t rec = SL_BUF_INIT;

        sl_buf_append(&rec, "\0", 1); /* attributes */
        put_varint(&rec, i);          /* timestamp delta */
        put_varint(&rec, i);          /* offset delta */
        put_varint(&rec, -1);         /* null key */
        put_varint(&rec, VALUE_LEN);
        sl_buf_append(&rec, value, VALUE_LEN);
        put_varint(&rec, 0); /* headers */
        put_varint(b, (int64_t)rec.len);
        sl_buf_append(b, rec.data, rec.len);
        sl_buf_deinit(&rec);
    }
    sl_put_be32(b->data + SL_BATCH_OFF_LENGTH, (uint32_t)(b->len - SL_BATCH_LOG_OVERHEAD));
    sl_put_be32(b->data + SL_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
    b->data[SL_BATCH_OFF_MAGIC] = 2;
    sl_put_be32(b->data + 23, NRECORDS - 1);          /* lastOffsetDelta */
    sl_put_be64(b->data + 43, (uint64_t)(int64_t)-1); /* producerId */
    sl_put_be16(b->data + 51, (uint16_t)-1);          /* producerEpoch */
    sl_put_be32(b->data + 53, (uint32_t)-1);          /* baseSequence */
    sl_put_be32(b->data + 57, NRECORDS);
    sl_batch_update_crc(b->data, b->len);
}

typedef struct result {
    double dec_ns, enc_ns;
    size_t bytes;
} result_t;

static result_t
measure(const sl_kmsg_t *md, const void *msg, int16_t v, long iters)
{
    sl_buf_t frame = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_writer_t wr = {&frame}, wo = {&out};
    sl_arena_t a;
    void *m = sl_xmalloc(md->root->size);
    int64_t t0, t1;
    result_t r;

    sl_kencode(md, msg, v, &wr);
    r.bytes = frame.len;
    sl_arena_init(&a, 64 * 1024);
    t0 = sl_mono_ns();
    for (long i = 0; i < iters; i++) {
        sl_reader_t rd;

        sl_rd_init(&rd, frame.data, frame.len);
        if (sl_kdecode(md, m, v, &rd, &a) != SL_OK)
            sl_panic(__FILE__, __LINE__, "decode failed");
        sl_arena_reset(&a);
    }
    t1 = sl_mono_ns();
    r.dec_ns = (double)(t1 - t0) / (double)iters;
    {
        sl_reader_t rd;

        sl_rd_init(&rd, frame.data, frame.len);
        if (sl_kdecode(md, m, v, &rd, &a) != SL_OK)
            sl_panic(__FILE__, __LINE__, "decode failed");
    }
    t0 = sl_mono_ns();
    for (long i = 0; i < iters; i++) {
        sl_buf_reset(&out);
        sl_kencode(md, m, v, &wo);
    }
    t1 = sl_mono_ns();
    r.enc_ns = (double)(t1 - t0) / (double)iters;
    if (out.len != frame.len || memcmp(out.data, frame.data, out.len) != 0)
        sl_panic(__FILE__, __LINE__, "re-encoding differs");
    free(m);
    sl_arena_deinit(&a);
    sl_buf_deinit(&frame);
    sl_buf_deinit(&out);
    return r;
}

static void
bench_produce(long iters)
{
    sl_buf_t batch = SL_BUF_INIT;
    sl_ProduceRequest_t req;
    sl_ProduceRequest_TopicProduceData_t topic = {0};
    sl_ProduceRequest_PartitionProduceData_t part = {0};
    result_t r;

    build_batch(&batch);
    sl_ProduceRequest_init(&req);
    req.Acks = -1;
    req.TimeoutMs = 30000;
    topic.Name = SL_STR_LIT("bench");
    part.Index = 0;
    part.Records = (sl_bytes_t){batch.data, (int32_t)batch.len};
    topic.PartitionData.len = 1;
    topic.PartitionData.items = &part;
    req.TopicData.len = 1;
    req.TopicData.items = &topic;
    r = measure(&sl_kmsg_ProduceRequest, &req, 7, iters);
    printf("ProduceRequest v7, 1 batch of %d records (%zu bytes): decode %.1f ns/request "
           "(%.3f ns/record), encode %.1f ns/request (%.3f ns/record)\n",
           NRECORDS, r.bytes, r.dec_ns, r.dec_ns / NRECORDS, r.enc_ns, r.enc_ns / NRECORDS);
    sl_buf_deinit(&batch);
}

static void
bench_fetch(long iters)
{
    sl_FetchRequest_t req;
    sl_FetchRequest_FetchTopic_t topics[5];
    sl_FetchRequest_FetchPartition_t parts[5][10];
    char names[5][16];
    result_t r;

    sl_FetchRequest_init(&req);
    req.MaxWaitMs = 500;
    req.MinBytes = 1;
    req.MaxBytes = 52428800;
    for (int t = 0; t < 5; t++) {
        memset(&topics[t], 0, sizeof(topics[t]));
        snprintf(names[t], sizeof(names[t]), "topic-%d", t);
        topics[t].Topic = sl_str_c(names[t]);
        for (int p = 0; p < 10; p++) {
            memset(&parts[t][p], 0, sizeof(parts[t][p]));
            parts[t][p].Partition = p;
            parts[t][p].CurrentLeaderEpoch = -1;
            parts[t][p].FetchOffset = 123456789;
            parts[t][p].LogStartOffset = -1;
            parts[t][p].PartitionMaxBytes = 1048576;
        }
        topics[t].Partitions.len = 10;
        topics[t].Partitions.items = parts[t];
    }
    req.Topics.len = 5;
    req.Topics.items = topics;
    r = measure(&sl_kmsg_FetchRequest, &req, 11, iters);
    printf("FetchRequest v11, 5 topics x 10 partitions (%zu bytes): decode %.1f ns, "
           "encode %.1f ns\n",
           r.bytes, r.dec_ns, r.enc_ns);
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    const char *only = argc > 2 ? argv[2] : "";

    if (iters <= 0)
        iters = 1;
    if (!*only || strcmp(only, "produce") == 0)
        bench_produce(iters);
    if (!*only || strcmp(only, "fetch") == 0)
        bench_fetch(iters / 10 ? iters / 10 : 1);
    return 0;
}
