/*
 * fault.h -- named fault points for tests ("log.fsync", "log.write", ...).
 *
 * Code under test calls sl_fault("log.fsync") right before the real call and
 * fails as if the call had failed when it returns true. Tests arm points with
 * sl_fault_arm(name, skip, count): let `skip` hits pass, then fail the next
 * `count` hits (count < 0 = forever). The environment variable SLUICE_FAULTS
 * ("name:skip:count,...") arms points in a child process. Compiled in every
 * build -- a disarmed check is one load and a branch -- so the binary that is
 * tested is the binary that ships.
 */
#ifndef SL_BASE_FAULT_H
#define SL_BASE_FAULT_H

#include "base/common.h"

extern int sl_fault_armed_count;

bool sl_fault_hit(const char *name);

static inline bool
sl_fault(const char *name)
{
    return SL_UNLIKELY(sl_fault_armed_count > 0) && sl_fault_hit(name);
}

void sl_fault_arm(const char *name, int skip, int count);
void sl_fault_disarm_all(void);
/* Arms points listed in SLUICE_FAULTS; unknown syntax is ignored. */
void sl_fault_init_from_env(void);

#endif
