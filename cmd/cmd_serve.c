/*
 * cmd_serve.c -- `sluice serve [FILE.properties] [--override key=value]...`.
 * Placeholder until the broker lands (issue: single-node broker).
 */
#include "commands.h"

#include <stdio.h>

int
sl_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sluice serve: the broker is not built yet\n");
    return SL_EXIT_FAIL;
}
