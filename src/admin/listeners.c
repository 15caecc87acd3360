/*
 * listeners.c -- parsing `listeners` / `advertised.listeners`.
 *
 * Kafka's syntax: NAME://HOST:PORT, comma separated. NAME is a listener
 * name, normalised to upper case; its security protocol comes from
 * listener.security.protocol.map (which maps every protocol name to itself
 * by default). HOST may be empty (every interface), a name, an IPv4
 * address or a bracketed IPv6 address. Port 0 asks for any free port.
 */
#include "admin/admin_int.h"

#include <ctype.h>

static const char *const proto_names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

const char *
sl_secproto_name(int8_t proto)
{
    return proto >= 0 && proto < 4 ? proto_names[proto] : "UNKNOWN";
}

static int
proto_by_name(const char *s, size_t n)
{
    for (int i = 0; i < 4; i++) {
        if (strlen(proto_names[i]) == n && strncasecmp(proto_names[i], s, n) == 0)
            return i;
    }
    return -1;
}

/* Protocol of listener `name` per map ("NAME:PROTO,..."), or -1. */
static int
map_lookup(const char *map, const char *name)
{
    const char *p = map;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));

        while (p < end && isspace((unsigned char)*p))
            p++;
        if (colon) {
            const char *ne = colon, *v = colon + 1, *ve = end;

            while (ne > p && isspace((unsigned char)ne[-1]))
                ne--;
            while (v < ve && isspace((unsigned char)*v))
                v++;
            while (ve > v && isspace((unsigned char)ve[-1]))
                ve--;
            if ((size_t)(ne - p) == strlen(name) && strncasecmp(p, name, strlen(name)) == 0)
                return proto_by_name(v, (size_t)(ve - v));
        }
        p = comma ? comma + 1 : NULL;
    }
    return -1;
}

static int
parse_one(const char *s, size_t n, const char *map, sl_listener_cfg_t *l, sl_errbuf_t *err)
{
    const char *sep = NULL, *host, *hend, *port;
    char item[300], *end;
    long v;

    snprintf(item, sizeof(item), "%.*s", (int)SL_MIN(n, 290), s);
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
    }
    if (sep == NULL || sep == s)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid listener '%s': expected NAME://HOST:PORT", item);
    host = sep + 3;
    if (*host == '[') {
        hend = memchr(host, ']', (size_t)(s + n - host));
        if (hend == NULL || hend + 1 >= s + n || hend[1] != ':')
            return sl_errbuf_set(err, SL_EINVALID_CONFIG, "Invalid listener '%s': bad IPv6 address",
                                 item);
        port = hend + 2;
        host++;
    } else {
        hend = NULL;
        for (const char *p = s + n; p > host; p--) {
            if (p[-1] == ':') {
                hend = p - 1;
                break;
            }
        }
        if (hend == NULL)
            return sl_errbuf_set(err, SL_EINVALID_CONFIG, "Invalid listener '%s': missing port",
                                 item);
        port = hend + 1;
    }
    char pbuf[16];
    snprintf(pbuf, sizeof(pbuf), "%.*s", (int)SL_MIN((size_t)(s + n - port), 15), port);
    v = strtol(pbuf, &end, 10);
    if (pbuf[0] == '\0' || *end != '\0' || (size_t)(s + n - port) > 15 || v < 0 || v > 65535)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid listener '%s': port must be in 0..65535", item);
    l->name = sl_xstrndup(s, (size_t)(sep - s));
    for (char *c = l->name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    l->host = sl_xstrndup(host, (size_t)(hend - host));
    l->port = (int32_t)v;
    int proto = map_lookup(map, l->name);
    if (proto < 0)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid listener '%s': no security protocol for listener name %s "
                             "in listener.security.protocol.map",
                             item, l->name);
    l->protocol = (int8_t)proto;
    return SL_OK;
}

int
sl_listeners_parse(const char *s, const char *proto_map, sl_listener_cfg_t **out, size_t *n,
                   sl_errbuf_t *err)
{
    sl_listener_cfg_t *v = NULL;
    size_t count = 0, cap = 0;
    const char *p = s;
    int rc = SL_OK;

    *out = NULL;
    *n = 0;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        const char *a = p, *b = comma ? comma : p + strlen(p);

        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        p = comma ? comma + 1 : NULL;
        if (a == b)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            v = sl_xrealloc(v, cap * sizeof(*v));
        }
        memset(&v[count], 0, sizeof(v[count]));
        rc = parse_one(a, (size_t)(b - a), proto_map, &v[count], err);
        count++;
        if (rc != SL_OK)
            goto fail;
        for (size_t i = 0; i + 1 < count; i++) {
            if (strcmp(v[i].name, v[count - 1].name) == 0) {
                rc = sl_errbuf_set(err, SL_EINVALID_CONFIG,
                                   "Each listener must have a different name, listeners: %s", s);
                goto fail;
            }
        }
    }
    *out = v;
    *n = count;
    return SL_OK;

fail:
    sl_listeners_free(v, count);
    return rc;
}

void
sl_listeners_free(sl_listener_cfg_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].host);
    }
    free(v);
}
