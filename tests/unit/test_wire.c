/*
 * test_wire.c -- primitive reader/writer: round trips and hostile lengths.
 */
#include "test.h"

#include "proto/wire.h"

SL_TEST(wire_varint_round_trip_extremes)
{
    int64_t longs[] = {0, 1, -1, 63, -64, 64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;

    for (size_t i = 0; i < SL_ARRAY_LEN(longs); i++) {
        sl_wr_varlong(&wr, longs[i]);
        sl_wr_varint(&wr, (int32_t)longs[i]);
        sl_wr_uvarint(&wr, (uint64_t)longs[i]);
    }
    sl_rd_init(&rd, b.data, b.len);
    for (size_t i = 0; i < SL_ARRAY_LEN(longs); i++) {
        SL_CHECK(sl_rd_varlong(&rd) == longs[i]);
        SL_CHECK_EQ(sl_rd_varint(&rd), (int32_t)longs[i]);
        SL_CHECK(sl_rd_uvarint_bits(&rd, 64) == (uint64_t)longs[i]);
    }
    SL_CHECK_EQ(rd.err, SL_OK);
    SL_CHECK_EQ(sl_rd_left(&rd), 0);
    sl_buf_deinit(&b);
}

SL_TEST(wire_sticky_error_on_short_reads)
{
    uint8_t data[3] = {0, 0, 7};
    sl_reader_t rd;

    sl_rd_init(&rd, data, sizeof(data));
    SL_CHECK_EQ(sl_rd_i16(&rd), 0);
    SL_CHECK_EQ(sl_rd_i32(&rd), 0); /* short */
    SL_CHECK_EQ(rd.err, SL_EPROTO);
    SL_CHECK_EQ(sl_rd_i8(&rd), 0); /* stays failed even though a byte was left */
}

SL_TEST(wire_rejects_absurd_array_and_string_lengths)
{
    uint8_t arr[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4};
    uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    uint8_t str[] = {0x00, 0x09, 'a', 'b'};
    uint8_t longvar[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    sl_reader_t rd;

    sl_rd_init(&rd, arr, sizeof(arr));
    sl_rd_array_len(&rd, false, 1);
    SL_CHECK_EQ(rd.err, SL_EPROTO);
    sl_rd_init(&rd, neg, sizeof(neg));
    sl_rd_array_len(&rd, false, 1);
    SL_CHECK_EQ(rd.err, SL_EPROTO);
    sl_rd_init(&rd, str, sizeof(str));
    sl_rd_str(&rd, false);
    SL_CHECK_EQ(rd.err, SL_EPROTO);
    sl_rd_init(&rd, longvar, sizeof(longvar));
    sl_rd_uvarint(&rd);
    SL_CHECK_EQ(rd.err, SL_EPROTO);
}

SL_TEST(wire_null_and_empty_strings_differ)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_writer_t wr = {&b};
    sl_reader_t rd;

    sl_wr_str(&wr, false, SL_STR_NULL);
    sl_wr_str(&wr, false, SL_STR_LIT(""));
    sl_wr_str(&wr, true, SL_STR_NULL);
    sl_wr_str(&wr, true, SL_STR_LIT("kafka"));
    sl_wr_bytes(&wr, true, SL_BYTES_NULL);
    sl_rd_init(&rd, b.data, b.len);
    SL_CHECK_EQ(sl_rd_str(&rd, false).len, -1);
    SL_CHECK_EQ(sl_rd_str(&rd, false).len, 0);
    SL_CHECK_EQ(sl_rd_str(&rd, true).len, -1);
    SL_CHECK(sl_str_eq_c(sl_rd_str(&rd, true), "kafka"));
    SL_CHECK_EQ(sl_rd_bytes(&rd, true).len, -1);
    SL_CHECK_EQ(rd.err, SL_OK);
    sl_buf_deinit(&b);
}
