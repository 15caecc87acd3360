/*
 * commands.h -- the subcommand table of the `sluice` binary.
 *
 * Each subcommand lives in cmd/cmd_<name>.c and exposes one entry point
 * taking the arguments after its name. Exit codes: 0 ok, 1 failed, 2 usage.
 */
#ifndef SL_CMD_COMMANDS_H
#define SL_CMD_COMMANDS_H

#define SL_EXIT_OK    0
#define SL_EXIT_FAIL  1
#define SL_EXIT_USAGE 2

typedef int (*sl_cmd_fn)(int argc, char **argv);

typedef struct sl_command {
    const char *name;
    sl_cmd_fn fn;
    const char *summary;
} sl_command_t;

int sl_cmd_perf(int argc, char **argv);
int sl_cmd_serve(int argc, char **argv);
int sl_cmd_version(int argc, char **argv);
int sl_cmd_topic(int argc, char **argv);
int sl_cmd_produce(int argc, char **argv);
int sl_cmd_consume(int argc, char **argv);
int sl_cmd_group(int argc, char **argv);
int sl_cmd_cluster(int argc, char **argv);

#endif
