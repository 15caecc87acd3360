/*
 * log.c -- stderr logger; one write(2) per line so lines from background
 * workers never interleave mid-line.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static sl_log_level_t log_level = SL_LOG_INFO;

void
sl_log_set_level(sl_log_level_t level)
{
    log_level = level;
}

void
sl_log_init_from_env(void)
{
    const char *v = getenv("SLUICE_LOG");

    if (v == NULL)
        return;
    if (strcasecmp(v, "debug") == 0)
        log_level = SL_LOG_DEBUG;
    else if (strcasecmp(v, "info") == 0)
        log_level = SL_LOG_INFO;
    else if (strcasecmp(v, "warn") == 0)
        log_level = SL_LOG_WARN;
    else if (strcasecmp(v, "error") == 0)
        log_level = SL_LOG_ERROR;
}

bool
sl_log_enabled(sl_log_level_t level)
{
    return level >= log_level;
}

void
sl_log(sl_log_level_t level, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n, m;

    if (!sl_log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level],
                 component);
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* Nowhere left to report a failed log write. */
    }
}
