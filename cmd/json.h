/*
 * json.h -- a streaming JSON writer for the CLI's --json output.
 *
 * Values are written as they come; the writer only tracks nesting to place
 * commas. A value inside an object takes a key; inside an array or at the
 * top level the key is NULL. Each top-level value ends with a newline, so a
 * stream of them is JSON Lines.
 */
#ifndef SL_CMD_JSON_H
#define SL_CMD_JSON_H

#include "base/common.h"

#include <stdio.h>

#define SL_JSON_MAX_DEPTH 16

typedef struct sl_json {
    FILE *out;
    int depth;
    bool comma[SL_JSON_MAX_DEPTH]; /* a value was written at this level */
} sl_json_t;

void sl_json_init(sl_json_t *j, FILE *out);
void sl_json_obj(sl_json_t *j, const char *key);
void sl_json_end_obj(sl_json_t *j);
void sl_json_arr(sl_json_t *j, const char *key);
void sl_json_end_arr(sl_json_t *j);
/* A NUL-terminated string; NULL writes null. */
void sl_json_str(sl_json_t *j, const char *key, const char *v);
/* Bytes as a string: valid UTF-8 passes through, any other byte is written
 * as \u00XX (its Latin-1 reading). NULL writes null. */
void sl_json_strn(sl_json_t *j, const char *key, const void *p, size_t n);
void sl_json_int(sl_json_t *j, const char *key, int64_t v);
void sl_json_num(sl_json_t *j, const char *key, double v);
void sl_json_bool(sl_json_t *j, const char *key, bool v);
void sl_json_null(sl_json_t *j, const char *key);

#endif
