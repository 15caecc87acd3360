/*
 * common.c -- allocation wrappers, panics and status names.
 */
#include "base/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
sl_strerror(int rc)
{
    switch (rc) {
    case SL_OK:
        return "OK";
    case SL_EAGAIN:
        return "EAGAIN";
    case SL_EPROTO:
        return "EPROTO";
    case SL_ECORRUPT:
        return "ECORRUPT";
    case SL_EIO:
        return "EIO";
    case SL_ENOSPC:
        return "ENOSPC";
    case SL_ETOOBIG:
        return "ETOOBIG";
    case SL_ETIMEDOUT:
        return "ETIMEDOUT";
    case SL_ENOENT:
        return "ENOENT";
    case SL_EEXIST:
        return "EEXIST";
    case SL_EINVAL:
        return "EINVAL";
    case SL_ERANGE:
        return "ERANGE";
    case SL_EUNSUP:
        return "EUNSUP";
    case SL_EOFFLINE:
        return "EOFFLINE";
    case SL_ENFILE:
        return "ENFILE";
    default:
        return "E?";
    }
}

void
sl_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sluice: panic at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void
oom(size_t n)
{
    fprintf(stderr, "sluice: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
sl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
sl_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (p == NULL)
        oom(count * size);
    return p;
}

void *
sl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom(n);
    return q;
}

char *
sl_xstrdup(const char *s)
{
    return sl_xstrndup(s, strlen(s));
}

char *
sl_xstrndup(const char *s, size_t n)
{
    char *d = sl_xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
