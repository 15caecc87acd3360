/*
 * test_base.c -- unit tests for src/base: arena, buffers, crc32c, faults.
 */
#include "test.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fault.h"

SL_TEST(crc32c_known_vectors)
{
    /* RFC 3720 B.4 test vectors. */
    uint8_t zeros[32] = {0}, ones[32], inc[32];

    memset(ones, 0xff, sizeof(ones));
    for (int i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    SL_CHECK_EQ(sl_crc32c("123456789", 9), 0xE3069283u);
    SL_CHECK_EQ(sl_crc32c(zeros, 32), 0x8A9136AAu);
    SL_CHECK_EQ(sl_crc32c(ones, 32), 0x62A8AB43u);
    SL_CHECK_EQ(sl_crc32c(inc, 32), 0x46DD794Eu);
    SL_CHECK_EQ(sl_crc32c_sw(0, "123456789", 9), 0xE3069283u);
}

SL_TEST(crc32c_hw_matches_sw_at_every_length_and_split)
{
    uint8_t data[1024];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)sl_test_rand();
    for (size_t len = 0; len <= sizeof(data); len += 7) {
        uint32_t whole = sl_crc32c(data, len);
        size_t cut = len / 3;

        SL_CHECK_EQ(whole, sl_crc32c_sw(0, data, len));
        SL_CHECK_EQ(whole, sl_crc32c_update(sl_crc32c(data, cut), data + cut, len - cut));
    }
}

SL_TEST(arena_alloc_alignment_large_and_reset)
{
    sl_arena_t a;

    sl_arena_init(&a, 256);
    for (int i = 0; i < 1000; i++) {
        void *p = sl_arena_alloc(&a, (size_t)(i % 37) + 1);

        SL_CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    char *big = sl_arena_alloc(&a, 1 << 20);
    memset(big, 1, 1 << 20);
    SL_CHECK_STR(sl_arena_printf(&a, "%d-%s", 42, "x"), "42-x");
    SL_CHECK(sl_arena_strdup(&a, SL_STR_NULL) == NULL);
    sl_arena_reset(&a);
    SL_CHECK_EQ(a.total, 0);
    SL_CHECK(sl_arena_zalloc(&a, 64) != NULL);
    sl_arena_deinit(&a);
}

SL_TEST(buf_grows_and_takes)
{
    sl_buf_t b = SL_BUF_INIT;
    size_t len;
    uint8_t *p;

    for (int i = 0; i < 10000; i++)
        sl_buf_append(&b, "abc", 3);
    SL_CHECK_EQ(b.len, 30000);
    SL_CHECK_MEM(b.data + 29997, "abc", 3);
    p = sl_buf_take(&b, &len);
    SL_CHECK_EQ(len, 30000);
    SL_CHECK(b.data == NULL && b.len == 0);
    free(p);
}

SL_TEST(fault_points_skip_then_fail_count)
{
    SL_CHECK(!sl_fault("x.y"));
    sl_fault_arm("x.y", 2, 1);
    SL_CHECK(!sl_fault("x.y"));
    SL_CHECK(!sl_fault("x.y"));
    SL_CHECK(sl_fault("x.y"));
    SL_CHECK(!sl_fault("x.y"));
    SL_CHECK(!sl_fault("other"));
    sl_fault_disarm_all();
    SL_CHECK(!sl_fault("x.y"));
}

#include "base/map.h"

SL_TEST(map_matches_model_under_random_operations)
{
    enum { KEYS = 300 };
    void *model[KEYS] = {0};
    sl_map_t m;
    char key[32];

    sl_map_init(&m);
    for (int step = 0; step < 20000; step++) {
        int k = (int)(sl_test_rand() % KEYS);
        int op = (int)(sl_test_rand() % 3);
        size_t n = (size_t)snprintf(key, sizeof(key), "topic-%d", k);
        void *v = (void *)(uintptr_t)(step + 1);

        if (op == 0) {
            SL_CHECK(sl_map_put(&m, key, n, v) == model[k]);
            model[k] = v;
        } else if (op == 1) {
            SL_CHECK(sl_map_del(&m, key, n) == model[k]);
            model[k] = NULL;
        } else {
            SL_CHECK(sl_map_get(&m, key, n) == model[k]);
        }
    }
    size_t live = 0, iter = 0;
    const sl_map_slot_t *slot;
    for (int k = 0; k < KEYS; k++)
        live += model[k] != NULL;
    SL_CHECK_EQ(m.len, live);
    while (sl_map_next(&m, &iter, &slot))
        live--;
    SL_CHECK_EQ(live, 0);
    sl_map_deinit(&m);
}
