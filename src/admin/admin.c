/*
 * admin.c -- the small shared types of the admin module: status names,
 * error buffers and string lists.
 */
#include "admin/admin_int.h"

#include <stdarg.h>

const char *
sl_admin_strerror(int rc)
{
    switch (rc) {
    case SL_EINVALID_CONFIG:
        return "EINVALID_CONFIG";
    case SL_EINVALID_TOPIC:
        return "EINVALID_TOPIC";
    case SL_EINVALID_PARTITIONS:
        return "EINVALID_PARTITIONS";
    case SL_EINVALID_REPLICATION:
        return "EINVALID_REPLICATION";
    case SL_EINVALID_REQUEST:
        return "EINVALID_REQUEST";
    case SL_EDELETION_DISABLED:
        return "EDELETION_DISABLED";
    default:
        return sl_strerror(rc);
    }
}

int
sl_errbuf_set(sl_errbuf_t *err, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return rc;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rc;
}

void
sl_strlist_init(sl_strlist_t *l)
{
    memset(l, 0, sizeof(*l));
}

void
sl_strlist_deinit(sl_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void
sl_strlist_add(sl_strlist_t *l, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = sl_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = sl_xstrdup(buf);
}
