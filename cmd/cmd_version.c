/*
 * cmd_version.c -- `sluice version`.
 */
#include "commands.h"

#include <stdio.h>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0-dev"
#endif

int
sl_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("sluice %s\n", SLUICE_VERSION);
    return SL_EXIT_OK;
}
