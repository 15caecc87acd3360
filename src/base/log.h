/*
 * log.h -- one-line log messages to stderr.
 *
 * Format: "2026-11-22T02:45:00.123Z INFO  component: message". The level is
 * set once at start-up (SLUICE_LOG=debug|info|warn|error, or by the caller).
 * Quiet by default under load: per-request events belong at DEBUG.
 */
#ifndef SL_BASE_LOG_H
#define SL_BASE_LOG_H

#include "base/common.h"

typedef enum sl_log_level {
    SL_LOG_DEBUG = 0,
    SL_LOG_INFO,
    SL_LOG_WARN,
    SL_LOG_ERROR,
} sl_log_level_t;

void sl_log_set_level(sl_log_level_t level);
/* Reads SLUICE_LOG from the environment if set. */
void sl_log_init_from_env(void);
bool sl_log_enabled(sl_log_level_t level);
void sl_log(sl_log_level_t level, const char *component, const char *fmt, ...) SL_PRINTF(3, 4);

#define sl_debug(comp, ...)                                                                        \
    do {                                                                                           \
        if (sl_log_enabled(SL_LOG_DEBUG))                                                          \
            sl_log(SL_LOG_DEBUG, comp, __VA_ARGS__);                                               \
    } while (0)
#define sl_info(comp, ...)  sl_log(SL_LOG_INFO, comp, __VA_ARGS__)
#define sl_warn(comp, ...)  sl_log(SL_LOG_WARN, comp, __VA_ARGS__)
#define sl_error(comp, ...) sl_log(SL_LOG_ERROR, comp, __VA_ARGS__)

#endif
