/*
 * main.c -- entry point of the `sluice` binary: dispatches to a subcommand
 * from the table below (one file per subcommand, cmd/cmd_<name>.c).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const sl_command_t commands[] = {
    {"perf", sl_cmd_perf, "measure produce/consume throughput and end-to-end latency"},
    {"serve", sl_cmd_serve, "run a broker in the foreground"},
    {"topic", sl_cmd_topic, "create, list, describe, delete and configure topics"},
    {"produce", sl_cmd_produce, "write records from stdin (or files) to a topic"},
    {"consume", sl_cmd_consume, "read records from a topic, alone or in a group"},
    {"group", sl_cmd_group, "list, describe (lag, capacity), seek and delete groups"},
    {"cluster", sl_cmd_cluster, "brokers, controller and topic counts"},
    {"version", sl_cmd_version, "print the version"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'sluice <command> --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    }
    fprintf(stderr, "sluice: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return SL_EXIT_USAGE;
}
