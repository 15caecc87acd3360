/*
 * golden.h -- loading the captured frames under tests/proto/golden/ (hex
 * files, see its README) for the golden tests. Files are found next to this
 * source file via __FILE__, so the test binary runs from the repo root.
 */
#ifndef SL_TESTS_PROTO_GOLDEN_H
#define SL_TESTS_PROTO_GOLDEN_H

#include "base/arena.h"
#include "base/buf.h"
#include "proto/kheader.h"

typedef struct sl_golden {
    sl_buf_t raw; /* the whole frame */
    sl_kreq_header_t h;
    void *body; /* decoded request, in arena */
    const sl_kmsg_t *md;
    sl_arena_t a;
} sl_golden_t;

/* Appends the bytes of golden/<name> to out; fails the test if unreadable. */
void sl_golden_read_hex(const char *name, sl_buf_t *out);

/* Reads golden/<name>, a whole request frame, decodes header and body and
 * checks that re-encoding size + header + body gives the same bytes. */
void sl_golden_load(sl_golden_t *g, const char *name);
void sl_golden_free(sl_golden_t *g);

#endif
