/*
 * str.c -- helpers for borrowed string views.
 */
#include "base/str.h"

char *
sl_str_dup(sl_str_t s)
{
    if (s.len < 0)
        return NULL;
    return sl_xstrndup(s.ptr ? s.ptr : "", (size_t)s.len);
}
