/*
 * crc32c.h -- CRC-32C (Castagnoli), the checksum of Kafka record batches.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * start-up), else a slicing-by-8 table. sl_crc32c_update continues a running
 * CRC: crc = sl_crc32c_update(0, p, n) equals sl_crc32c(p, n).
 */
#ifndef SL_BASE_CRC32C_H
#define SL_BASE_CRC32C_H

#include "base/common.h"

uint32_t sl_crc32c_update(uint32_t crc, const void *data, size_t len);

static inline uint32_t
sl_crc32c(const void *data, size_t len)
{
    return sl_crc32c_update(0, data, len);
}

/* The portable path, exposed so tests can compare both implementations. */
uint32_t sl_crc32c_sw(uint32_t crc, const void *data, size_t len);
bool sl_crc32c_hw_available(void);

#endif
