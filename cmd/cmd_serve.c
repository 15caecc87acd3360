/*
 * cmd_serve.c -- `sluice serve [FILE.properties] [--override key=value]...`:
 * hands the command line to the broker's one entry point.
 */
#include "commands.h"

#include "broker/broker.h"

int
sl_cmd_serve(int argc, char **argv)
{
    return sl_broker_main(argc, argv);
}
