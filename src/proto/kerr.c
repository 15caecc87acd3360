/*
 * kerr.c -- name/message/retriable lookups over kerr.def.
 */
#include "proto/kerr.h"

typedef struct kerr_row {
    int16_t code;
    bool retriable;
    const char *name;
    const char *msg;
} kerr_row_t;

static const kerr_row_t rows[] = {
#define SL_KERR(name, code, retriable, msg) {(code), (retriable) != 0, #name, msg},
#include "proto/kerr.def"
#undef SL_KERR
};

/* kerr.def is sorted by code, so a binary search finds a row. */
static const kerr_row_t *
find(int16_t code)
{
    size_t lo = 0, hi = SL_ARRAY_LEN(rows);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (rows[mid].code == code)
            return &rows[mid];
        if (rows[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *
sl_kerr_name(int16_t code)
{
    const kerr_row_t *r = find(code);

    return r ? r->name : "UNKNOWN";
}

const char *
sl_kerr_message(int16_t code)
{
    const kerr_row_t *r = find(code);

    return r ? r->msg : "unknown error code";
}

bool
sl_kerr_retriable(int16_t code)
{
    const kerr_row_t *r = find(code);

    return r && r->retriable;
}
