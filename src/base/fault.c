/*
 * fault.c -- fault-point registry (a small fixed table: tests arm a handful).
 */
#include "base/fault.h"

#include <stdlib.h>
#include <string.h>

#define FAULT_SLOTS 16

typedef struct fault_point {
    char name[48];
    int skip;
    int count;
} fault_point_t;

static fault_point_t points[FAULT_SLOTS];
int sl_fault_armed_count;

void
sl_fault_arm(const char *name, int skip, int count)
{
    size_t i;

    for (i = 0; i < FAULT_SLOTS; i++) {
        if (points[i].name[0] == '\0' || strcmp(points[i].name, name) == 0)
            break;
    }
    SL_ASSERT(i < FAULT_SLOTS);
    if (points[i].name[0] == '\0')
        sl_fault_armed_count++;
    strncpy(points[i].name, name, sizeof(points[i].name) - 1);
    points[i].skip = skip;
    points[i].count = count;
}

void
sl_fault_disarm_all(void)
{
    memset(points, 0, sizeof(points));
    sl_fault_armed_count = 0;
}

bool
sl_fault_hit(const char *name)
{
    size_t i;

    for (i = 0; i < FAULT_SLOTS; i++) {
        fault_point_t *p = &points[i];

        if (p->name[0] == '\0' || strcmp(p->name, name) != 0)
            continue;
        if (p->skip > 0) {
            p->skip--;
            return false;
        }
        if (p->count == 0)
            return false;
        if (p->count > 0)
            p->count--;
        return true;
    }
    return false;
}

void
sl_fault_init_from_env(void)
{
    const char *env = getenv("SLUICE_FAULTS");
    char *copy, *save = NULL, *tok;

    if (env == NULL || *env == '\0')
        return;
    copy = sl_xstrdup(env);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *c1 = strchr(tok, ':'), *c2;

        if (c1 == NULL)
            continue;
        *c1++ = '\0';
        c2 = strchr(c1, ':');
        if (c2 == NULL)
            continue;
        *c2++ = '\0';
        sl_fault_arm(tok, atoi(c1), atoi(c2));
    }
    free(copy);
}
