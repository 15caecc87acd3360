/*
 * buf.h -- a growable byte buffer (owned heap memory).
 *
 * Used for encoded responses, files read whole, and test scaffolding. The
 * buffer owns its memory; sl_buf_deinit frees it. Writers append; readers
 * use proto/wire.h over (data, len).
 */
#ifndef SL_BASE_BUF_H
#define SL_BASE_BUF_H

#include "base/common.h"

typedef struct sl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} sl_buf_t;

#define SL_BUF_INIT ((sl_buf_t){NULL, 0, 0})

void sl_buf_init(sl_buf_t *b);
void sl_buf_deinit(sl_buf_t *b);
void sl_buf_reserve(sl_buf_t *b, size_t extra);
void sl_buf_append(sl_buf_t *b, const void *p, size_t n);
/* Appends n bytes and returns a pointer to them (contents unspecified). */
uint8_t *sl_buf_extend(sl_buf_t *b, size_t n);
void sl_buf_reset(sl_buf_t *b);
/* Hands the memory to the caller and leaves b empty. */
uint8_t *sl_buf_take(sl_buf_t *b, size_t *len);

#endif
