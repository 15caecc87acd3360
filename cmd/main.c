/*
 * main.c -- entry point of the `sluice` binary: dispatches to a subcommand
 * from the table below (one file per subcommand, cmd/cmd_<name>.c).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
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
    fprintf(out, "usage: sluice [-b HOST:PORT] <command> [options]\n"
                 "       sluice --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'sluice <command> --help' for a command's options.\n");
}

/* Kafka's tools and kcat take the broker first (`kcat -b H:P -L`); so does
 * sluice: a leading -b/--bootstrap-server/--brokers sets SLUICE_BROKERS for
 * the subcommand (whose own -b still wins). Returns how many arguments it
 * used, or -1 after a usage error. */
static int
global_brokers(int argc, char **argv)
{
    static const char *const names[] = {"-b", "--bootstrap-server", "--brokers"};
    const char *a = argv[0], *val = NULL;
    int used = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !val; i++) {
        size_t n = strlen(names[i]);
        if (strcmp(a, names[i]) == 0) {
            if (argc < 2) {
                fprintf(stderr, "sluice: %s needs HOST:PORT\n", a);
                return -1;
            }
            val = argv[1];
            used = 2;
        } else if (strncmp(a, names[i], n) == 0 && a[n] == '=') {
            val = a + n + 1;
            used = 1;
        } else if (n == 2 && strncmp(a, names[i], 2) == 0 && a[2]) {
            val = a + 2; /* -bHOST:PORT */
            used = 1;
        }
    }
    if (val && setenv("SLUICE_BROKERS", val, 1) != 0)
        return -1;
    return used;
}

int
main(int argc, char **argv)
{
    int used;

    argc--;
    argv++;
    while (argc > 0 && (used = global_brokers(argc, argv)) != 0) {
        if (used < 0)
            return SL_EXIT_USAGE;
        argc -= used;
        argv += used;
    }
    if (argc < 1) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return SL_EXIT_OK;
    }
    if (strcmp(argv[0], "--version") == 0 || strcmp(argv[0], "-V") == 0)
        return sl_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[0], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "sluice: unknown command '%s'\n\n", argv[0]);
    usage(stderr);
    return SL_EXIT_USAGE;
}
