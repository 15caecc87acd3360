/*
 * transport.c -- the plaintext transport: a connection's bytes go straight
 * to the socket with the same system calls net made before the seam
 * existed (read, sendmsg with MSG_NOSIGNAL, sendfile), so plain TCP costs
 * one indirect call per system call and nothing else.
 */
#include "net/net_int.h"

#include <sys/sendfile.h>
#include <unistd.h>

#define SENDFILE_CHUNK ((size_t)1 << 30)

static ssize_t
plain_recv(sl_conn_t *c, void *buf, size_t n)
{
    return read(c->fd, buf, n);
}

static ssize_t
plain_send(sl_conn_t *c, const struct iovec *iov, int iovcnt, bool more)
{
    struct msghdr mh;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = (struct iovec *)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    /* MSG_MORE when a file region (or more memory) follows at once: the
     * header and the sendfile'd body then share segments. */
    return sendmsg(c->fd, &mh, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

static ssize_t
plain_sendfile(sl_conn_t *c, int fd, int64_t off, size_t n)
{
    off_t o = (off_t)off;

    return sendfile(c->fd, fd, &o, SL_MIN(n, SENDFILE_CHUNK));
}

const sl_transport_t sl_transport_plaintext = {
    .name = "plaintext",
    .can_sendfile = true,
    .recv = plain_recv,
    .send = plain_send,
    .sendfile = plain_sendfile,
};
