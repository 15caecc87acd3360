/*
 * crc32c.c -- CRC-32C with a hardware path (x86-64 SSE4.2) and a
 * slicing-by-8 fallback. Reflected polynomial 0x82F63B78.
 */
#include "base/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
table_build(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];

        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
}

uint32_t
sl_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;

    pthread_once(&table_once, table_build);
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        w ^= crc; /* little-endian hosts only: x86-64 and arm64 */
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;

    while (len >= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

bool
sl_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

uint32_t
sl_crc32c_update(uint32_t crc, const void *data, size_t len)
{
    /* Benign first-use race: every thread computes the same answer. */
    static int hw_cached = -1;
    int hw = __atomic_load_n(&hw_cached, __ATOMIC_RELAXED);

    if (SL_UNLIKELY(hw < 0)) {
        hw = sl_crc32c_hw_available();
        __atomic_store_n(&hw_cached, hw, __ATOMIC_RELAXED);
    }
    return hw ? crc32c_hw(crc, data, len) : sl_crc32c_sw(crc, data, len);
}
#else
bool
sl_crc32c_hw_available(void)
{
    return false;
}

uint32_t
sl_crc32c_update(uint32_t crc, const void *data, size_t len)
{
    return sl_crc32c_sw(crc, data, len);
}
#endif
