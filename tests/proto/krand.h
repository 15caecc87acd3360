/*
 * krand.h -- random Kafka messages generated from the codec's descriptors
 * (tests and fuzz-corpus seeds). Values respect which fields exist in the
 * version, nullability, tagged fields (sometimes left at their default) and,
 * on flexible versions, add unknown tags interleaved with the known ones.
 */
#ifndef SL_TESTS_PROTO_KRAND_H
#define SL_TESTS_PROTO_KRAND_H

#include "proto/gen/kmsgs.h"

typedef struct krand {
    uint64_t state;
    int max_array; /* largest array length generated (at the top level) */
} krand_t;

uint64_t krand_next(krand_t *r);
/* Allocates a message of md's root type in a and fills it for `version`. */
void *krand_msg(krand_t *r, const sl_kmsg_t *md, int16_t version, sl_arena_t *a);

#endif
