/*
 * time.h -- clocks. Monotonic milliseconds for timers and deadlines, wall
 * clock milliseconds for Kafka timestamps.
 */
#ifndef SL_BASE_TIME_H
#define SL_BASE_TIME_H

#include "base/common.h"

int64_t sl_mono_ms(void);
int64_t sl_mono_ns(void);
int64_t sl_wall_ms(void);

#endif
