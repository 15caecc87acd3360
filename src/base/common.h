/*
 * common.h -- status codes, assertions and allocation helpers shared by every
 * module. Leaf header: libc/POSIX only.
 *
 * Internal status is an int: SL_OK (0) or one of the negative SL_E* codes
 * below. Kafka error codes never travel through these; handlers map a status
 * to a Kafka code in one place (see STYLE.md section 5).
 */
#ifndef SL_BASE_COMMON_H
#define SL_BASE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* Pulled in before the poison below so their declarations stay legal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_OK        0
#define SL_EAGAIN    (-1) /* not yet: call again later */
#define SL_EPROTO    (-2) /* the peer sent bytes that do not parse */
#define SL_ECORRUPT  (-3) /* bad bytes on disk */
#define SL_EIO       (-4) /* an I/O call failed */
#define SL_ENOSPC    (-5) /* no space left on the device */
#define SL_ETOOBIG   (-6) /* over a configured or safety limit */
#define SL_ETIMEDOUT (-7)
#define SL_ENOENT    (-8) /* no such object (topic, file, member...) */
#define SL_EEXIST    (-9)
#define SL_EINVAL    (-10) /* a caller-supplied argument is invalid */
#define SL_ERANGE    (-11) /* an offset outside what is stored */
#define SL_EUNSUP    (-12) /* unsupported feature, version or codec */
#define SL_EOFFLINE  (-13) /* the object was taken offline after an error */
#define SL_ENFILE    (-14) /* out of file descriptors (EMFILE/ENFILE): retry later */

/* Short name of a status code, for logs ("EIO"). Never NULL. */
const char *sl_strerror(int rc);

#define SL_MUST_CHECK               __attribute__((warn_unused_result))
#define SL_UNUSED                   __attribute__((unused))
#define SL_NORETURN                 __attribute__((noreturn))
#define SL_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define SL_LIKELY(x)                __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x)              __builtin_expect(!!(x), 0)
#define SL_ARRAY_LEN(a)             (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)                ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)                ((a) > (b) ? (a) : (b))

SL_NORETURN void sl_panic(const char *file, int line, const char *fmt, ...) SL_PRINTF(3, 4);

/* Always on: guards invariants whose violation would corrupt data. Never use
 * it on bytes from the network or the disk -- validate those instead. */
#define SL_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (SL_UNLIKELY(!(cond)))                                                                  \
            sl_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);                           \
    } while (0)

#ifdef SL_DEBUG
#define SL_DASSERT(cond) SL_ASSERT(cond)
#else
#define SL_DASSERT(cond) ((void)0)
#endif

/* Allocation failure aborts: memory is bounded earlier, by admission limits. */
void *sl_xmalloc(size_t n);
void *sl_xcalloc(size_t count, size_t size);
void *sl_xrealloc(void *p, size_t n);
char *sl_xstrdup(const char *s);
char *sl_xstrndup(const char *s, size_t n);

/* Unsafe string functions are poisoned; use snprintf/memcpy with lengths. */
#ifndef SL_ALLOW_UNSAFE_STRING
#pragma GCC poison strcpy strcat sprintf vsprintf gets
#endif

#endif
