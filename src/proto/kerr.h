/*
 * kerr.h -- Kafka protocol error codes (int16 on the wire) built from
 * kerr.def: SL_KERR_NONE = 0, SL_KERR_UNKNOWN_SERVER_ERROR = -1, ...
 *
 * These appear only in protocol structs (ErrorCode fields). Internal status
 * codes (SL_E*) are never Kafka codes; a handler maps one to the other in
 * one place (STYLE.md section 5).
 */
#ifndef SL_PROTO_KERR_H
#define SL_PROTO_KERR_H

#include "base/common.h"

enum sl_kerr {
#define SL_KERR(name, code, retriable, msg) SL_KERR_##name = (code),
#include "proto/kerr.def"
#undef SL_KERR
};

/* "UNKNOWN_TOPIC_OR_PARTITION"; "UNKNOWN" for a code not in the table. */
const char *sl_kerr_name(int16_t code);
/* Short human description; "unknown error code" if not in the table. */
const char *sl_kerr_message(int16_t code);
/* Whether Kafka clients treat the error as retriable. */
bool sl_kerr_retriable(int16_t code);

#endif
