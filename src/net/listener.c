/*
 * listener.c -- `listeners` entries: parsing "NAME://HOST:PORT", resolving
 * HOST to the addresses to bind, binding them (IPv4 and IPv6), and the
 * non-blocking accept loop that hands sockets to the server.
 *
 * Which addresses one entry binds:
 *   ""            "::" dual-stack (IPv4 too); "0.0.0.0" where IPv6 is off
 *   a literal     that address ("::" is dual-stack, other IPv6 is v6-only)
 *   a name        every address getaddrinfo returns, plus, for "localhost",
 *                 127.0.0.1 and ::1: clients disagree about which one
 *                 localhost means, so the broker answers on both.
 * An address the host does not have (EADDRNOTAVAIL, EAFNOSUPPORT) is skipped
 * as long as one binds. With port 0 the first bind picks the port and the
 * others reuse it, so an entry always has one port; if that port is taken
 * on another address family the whole entry retries with a fresh one.
 */
#include "net/net_int.h"

#include "base/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPTS_PER_EVENT 64  /* then let other fds run (level-triggered) */
#define ACCEPT_PAUSE_MS   100 /* back-off when out of fds or memory */
#define BIND_ATTEMPTS     8   /* ephemeral-port retries across families */

typedef struct addr_list {
    struct sockaddr_storage a[LISTENER_MAX_SOCKS];
    socklen_t len[LISTENER_MAX_SOCKS];
    size_t n;
} addr_list_t;

/* ======================================================================== */
/* Parsing and formatting                                                   */
/* ======================================================================== */

static int
parse_port(const char *s, int *port)
{
    long v = 0;

    if (*s == '\0' || strlen(s) > 5)
        return SL_EINVAL;
    for (; *s != '\0'; s++) {
        if (!isdigit((unsigned char)*s))
            return SL_EINVAL;
        v = v * 10 + (*s - '0');
    }
    if (v > 65535)
        return SL_EINVAL;
    *port = (int)v;
    return SL_OK;
}

static int
copy_part(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return SL_EINVAL;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return SL_OK;
}

int
sl_listener_parse(const char *spec, sl_listener_spec_t *out)
{
    const char *sep = strstr(spec, "://");
    const char *rest, *host, *port;
    size_t host_len;

    memset(out, 0, sizeof(*out));
    if (sep == NULL || sep == spec ||
        copy_part(out->name, sizeof(out->name), spec, (size_t)(sep - spec)) != SL_OK)
        return SL_EINVAL;
    for (const char *p = out->name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return SL_EINVAL;
    }
    rest = sep + 3;
    if (*rest == '[') {
        const char *end = strchr(rest, ']');

        if (end == NULL || end == rest + 1 || end[1] != ':')
            return SL_EINVAL;
        host = rest + 1;
        host_len = (size_t)(end - host);
        port = end + 2;
    } else {
        const char *colon = strrchr(rest, ':');

        if (colon == NULL)
            return SL_EINVAL;
        host = rest;
        host_len = (size_t)(colon - rest);
        if (memchr(host, ':', host_len) != NULL)
            return SL_EINVAL; /* IPv6 literals need brackets */
        port = colon + 1;
    }
    if (copy_part(out->host, sizeof(out->host), host, host_len) != SL_OK)
        return SL_EINVAL;
    return parse_port(port, &out->port);
}

void
sl_listener_format_addr(const struct sockaddr *sa, socklen_t salen, char *buf, size_t n)
{
    char ip[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, n, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, n, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(buf, n, "unix");
    } else {
        snprintf(buf, n, "?");
    }
}

/* A listener named after a security protocol uses it (Kafka's default
 * listener.security.protocol.map maps every protocol name to itself). */
static const char *
protocol_of_name(const char *name)
{
    static const char *const protos[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

    for (size_t i = 0; i < SL_ARRAY_LEN(protos); i++) {
        if (strcasecmp(name, protos[i]) == 0)
            return protos[i];
    }
    return "PLAINTEXT";
}

/* ======================================================================== */
/* Resolving                                                                */
/* ======================================================================== */

static void
addrs_add(addr_list_t *al, const struct sockaddr *sa, socklen_t len)
{
    if (len > sizeof(al->a[0]) || al->n == LISTENER_MAX_SOCKS)
        return;
    for (size_t i = 0; i < al->n; i++) {
        if (al->len[i] == len && memcmp(&al->a[i], sa, len) == 0)
            return;
    }
    memset(&al->a[al->n], 0, sizeof(al->a[0]));
    memcpy(&al->a[al->n], sa, len);
    al->len[al->n++] = len;
}

static void
addrs_add_v4(addr_list_t *al, uint32_t host_order)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(host_order)};

    addrs_add(al, (struct sockaddr *)&in, sizeof(in));
}

static void
addrs_add_v6(addr_list_t *al, const struct in6_addr *a)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = *a};

    addrs_add(al, (struct sockaddr *)&in6, sizeof(in6));
}

static int
resolve(const char *host, addr_list_t *al)
{
    struct addrinfo hints, *res = NULL;
    int err;

    al->n = 0;
    if (host[0] == '\0') {
        addrs_add_v6(al, &in6addr_any); /* bind_all falls back to 0.0.0.0 */
        return SL_OK;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0) {
        sl_error("net", "listener host \"%s\": %s", host, gai_strerror(err));
        return err == EAI_NONAME ? SL_ENOENT : SL_EIO;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            addrs_add(al, ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    if (strcasecmp(host, "localhost") == 0) {
        addrs_add_v4(al, INADDR_LOOPBACK);
        addrs_add_v6(al, &in6addr_loopback);
    }
    return al->n > 0 ? SL_OK : SL_ENOENT;
}

/* ======================================================================== */
/* Accepting                                                                */
/* ======================================================================== */

static void
listener_set_accepting(sl_listener_t *l, bool on)
{
    for (size_t i = 0; i < l->nsocks; i++)
        sl_loop_fd_set(l->srv->loop, &l->socks[i].w, on ? SL_EV_READ : 0);
}

static void
listener_resume(sl_loop_t *loop, void *arg)
{
    listener_set_accepting(arg, true);
}

static void
lsock_readable(sl_loop_t *loop, int fd, uint32_t events, void *arg)
{
    lsock_t *s = arg;

    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd >= 0) {
            sl_server_accepted(s->l, cfd, (struct sockaddr *)&ss, len);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        /* Out of fds or memory: the pending connection stays in the backlog
         * and level-triggered epoll would spin on it, so pause a moment. */
        sl_warn("net", "accept on %s: %s; pausing %d ms", s->addr, strerror(errno),
                ACCEPT_PAUSE_MS);
        listener_set_accepting(s->l, false);
        sl_timer_start(loop, &s->l->pause_timer, ACCEPT_PAUSE_MS);
        return;
    }
}

/* ======================================================================== */
/* Binding                                                                  */
/* ======================================================================== */

static void
set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void
set_sockopts(const sl_listener_t *l, int fd, const struct sockaddr_storage *ss)
{
    const sl_server_config_t *cfg = &l->srv->cfg;
    int one = 1;

    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6) {
        /* Only the wildcard takes IPv4 too; "::1" next to "127.0.0.1" must
         * not collide with it. */
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);

        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    /* Set before listen so accepted sockets inherit them (and the receive
     * window scale is negotiated for the configured size). */
    if (cfg->sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg->sndbuf, sizeof(int));
    if (cfg->rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->rcvbuf, sizeof(int));
}

/* Binds one address; returns 0 or an errno value. *port is updated when it
 * was 0. */
static int
bind_one(sl_listener_t *l, const struct sockaddr_storage *addr, socklen_t len, int *port)
{
    struct sockaddr_storage ss = *addr;
    lsock_t *s = &l->socks[l->nsocks];
    int fd, err;

    set_port(&ss, *port);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    set_sockopts(l, fd, &ss);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, l->srv->cfg.backlog) != 0)
        goto fail;
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        goto fail;
    sl_listener_format_addr((struct sockaddr *)&ss, len, s->addr, sizeof(s->addr));
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    s->l = l;
    s->fd = fd;
    if (sl_loop_fd_add(l->srv->loop, &s->w, fd, SL_EV_READ, lsock_readable, s) != SL_OK) {
        errno = EINVAL;
        goto fail;
    }
    l->nsocks++;
    return 0;

fail:
    err = errno;
    close(fd);
    return err;
}

static void
listener_close_socks(sl_listener_t *l)
{
    for (size_t i = 0; i < l->nsocks; i++) {
        sl_loop_fd_del(l->srv->loop, &l->socks[i].w);
        close(l->socks[i].fd);
    }
    l->nsocks = 0;
}

/* One pass over the addresses. Returns SL_OK, SL_EAGAIN (retry with a new
 * ephemeral port), SL_ENOENT (every address was skipped) or SL_EIO. */
static int
bind_pass(sl_listener_t *l, const addr_list_t *al)
{
    int port = l->spec.port;

    for (size_t i = 0; i < al->n; i++) {
        struct sockaddr_storage ss = al->a[i];
        char what[80];
        int err = bind_one(l, &al->a[i], al->len[i], &port);

        if (err == 0)
            continue;
        set_port(&ss, port);
        sl_listener_format_addr((const struct sockaddr *)&ss, al->len[i], what, sizeof(what));
        if (err == EADDRNOTAVAIL || err == EAFNOSUPPORT) {
            sl_debug("net", "listener %s: skipping %s: %s", l->spec.name, what, strerror(err));
            continue;
        }
        if (err == EADDRINUSE && l->spec.port == 0 && l->nsocks > 0)
            return SL_EAGAIN;
        sl_error("net", "listener %s: bind %s: %s", l->spec.name, what, strerror(err));
        return SL_EIO;
    }
    l->port = port;
    return l->nsocks > 0 ? SL_OK : SL_ENOENT;
}

static int
listener_bind(sl_listener_t *l, const addr_list_t *al)
{
    int rc = SL_EIO;

    for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        rc = bind_pass(l, al);
        if (rc == SL_ENOENT && l->spec.host[0] == '\0') {
            /* No IPv6 on this host: all interfaces means 0.0.0.0. */
            addr_list_t v4 = {.n = 0};

            addrs_add_v4(&v4, INADDR_ANY);
            rc = bind_pass(l, &v4);
        }
        if (rc != SL_EAGAIN)
            break;
        listener_close_socks(l);
    }
    if (rc == SL_ENOENT)
        sl_error("net", "listener %s: none of its addresses can be bound", l->spec.name);
    if (rc != SL_OK) {
        listener_close_socks(l);
        rc = SL_EIO;
    }
    return rc;
}

/* ======================================================================== */
/* Public                                                                   */
/* ======================================================================== */

int
sl_server_listen(sl_server_t *srv, const char *spec, sl_listener_t **out)
{
    sl_listener_t *l = sl_xcalloc(1, sizeof(*l));
    addr_list_t al;
    int rc;

    l->srv = srv;
    sl_timer_init(&l->pause_timer, listener_resume, l);
    if ((rc = sl_listener_parse(spec, &l->spec)) != SL_OK) {
        sl_error("net", "bad listener \"%s\" (want NAME://HOST:PORT)", spec);
        goto fail;
    }
    l->tp = &sl_transport_plaintext;
    sl_listener_set_security_protocol(l, protocol_of_name(l->spec.name));
    if ((rc = resolve(l->spec.host, &al)) != SL_OK)
        goto fail;
    if ((rc = listener_bind(l, &al)) != SL_OK)
        goto fail;
    for (size_t i = 0; i < l->nsocks; i++)
        sl_info("net", "listening on %s://%s", l->spec.name, l->socks[i].addr);
    l->next = srv->listeners;
    srv->listeners = l;
    if (out != NULL)
        *out = l;
    return SL_OK;

fail:
    sl_listener_free(l);
    return rc;
}

/* Connections outlive their listener (stop_listening at shutdown): they
 * forget it, keeping its name. */
static void
listener_orphan_conns(sl_listener_t *l)
{
    sl_conn_t *lists[2] = {l->srv->open.head, l->srv->closing.head};

    for (int i = 0; i < 2; i++) {
        for (sl_conn_t *c = lists[i]; c != NULL; c = c->next) {
            if (c->listener == l)
                c->listener = NULL;
        }
    }
}

void
sl_listener_free(sl_listener_t *l)
{
    if (l == NULL)
        return;
    listener_orphan_conns(l);
    listener_close_socks(l);
    sl_timer_stop(l->srv->loop, &l->pause_timer);
    free(l);
}

int
sl_listener_port(const sl_listener_t *l)
{
    return l->port;
}

const char *
sl_listener_name(const sl_listener_t *l)
{
    return l->spec.name;
}

const char *
sl_listener_security_protocol(const sl_listener_t *l)
{
    return l->secproto;
}

void
sl_listener_set_security_protocol(sl_listener_t *l, const char *protocol)
{
    snprintf(l->secproto, sizeof(l->secproto), "%s", protocol);
}

void
sl_listener_set_transport(sl_listener_t *l, const sl_transport_t *tp)
{
    l->tp = tp != NULL ? tp : &sl_transport_plaintext;
}

const char *
sl_listener_host(const sl_listener_t *l)
{
    return l->spec.host;
}

size_t
sl_listener_naddrs(const sl_listener_t *l)
{
    return l->nsocks;
}

const char *
sl_listener_addr(const sl_listener_t *l, size_t i)
{
    return i < l->nsocks ? l->socks[i].addr : NULL;
}
