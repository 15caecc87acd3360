/*
 * cli.h -- what every client subcommand of `sluice` shares: a table-driven
 * option parser (short flags, long flags and their Kafka-tool aliases, one
 * generated --help), the global options (-b/--bootstrap-server, --json, -X,
 * --timeout), error reporting with the CLI's exit codes, aligned text tables
 * and small value parsers (integers, durations, timestamps).
 */
#ifndef SL_CMD_CLI_H
#define SL_CMD_CLI_H

#include "commands.h"

#include "client/client.h"

#include <stdio.h>

/* One option of a subcommand. id is what the parser hands the callback. */
typedef struct sl_cli_opt {
    int id;
    char short_name;   /* 0 = none */
    const char *name;  /* long name, without "--" */
    const char *alias; /* another long name (a Kafka tool's), or NULL */
    const char *arg;   /* argument placeholder for --help; NULL = a flag */
    const char *help;
} sl_cli_opt_t;

typedef struct sl_cli {
    const char *name;     /* "topic create": used in messages and --help */
    const char *synopsis; /* "TOPIC [options]" */
    const char *about;    /* one paragraph for --help */
    const sl_cli_opt_t *opts;
    size_t nopts;
    int min_args;   /* positional arguments */
    int max_args;   /* -1 = any number */
    bool no_client; /* the command talks to no broker: hide the client options */
    /* Filled by sl_cli_parse. */
    sl_client_conf_t conf;
    bool json;
    char **args;
    int nargs;
    char *owned[SL_CLIENT_MAX_PROPS]; /* props built by sl_cli_add_prop */
    size_t nowned;
} sl_cli_t;

/* Handles one subcommand option; returns SL_EXIT_OK to go on, else an exit
 * code (after printing, e.g. with sl_cli_usage). */
typedef int (*sl_cli_opt_fn)(sl_cli_t *cli, void *ctx, int id, const char *arg);

#define SL_CLI_CONTINUE (-1)

/* Parses argv (the arguments after the subcommand's name). Returns
 * SL_CLI_CONTINUE when the command should run, else the exit code to return
 * at once (0 after --help, 2 after a usage error). The argument strings stay
 * owned by the caller's argv. */
int sl_cli_parse(sl_cli_t *cli, int argc, char **argv, sl_cli_opt_fn fn, void *ctx);
void sl_cli_help(const sl_cli_t *cli, FILE *out);

/* "sluice NAME: message" plus a --help hint on stderr; returns 2. */
int sl_cli_usage(const sl_cli_t *cli, const char *fmt, ...) SL_PRINTF(2, 3);
/* "sluice NAME: message" on stderr; returns 1. */
int sl_cli_fail(const sl_cli_t *cli, const char *fmt, ...) SL_PRINTF(2, 3);

/* Opens a client with the parsed options; on failure prints why and returns
 * SL_EXIT_FAIL (else SL_EXIT_OK). */
int sl_cli_connect(sl_cli_t *cli, sl_client_t **c);
/* Adds a librdkafka property "key=value" (copied; freed by sl_cli_deinit).
 * Returns SL_EXIT_OK or, when there are too many, a usage error. */
int sl_cli_add_prop(sl_cli_t *cli, const char *key, const char *value);
void sl_cli_deinit(sl_cli_t *cli);

/* A noun's verb table: `sluice topic create ...`. */
typedef struct sl_cli_verb {
    const char *name;
    sl_cmd_fn fn;
    const char *summary;
} sl_cli_verb_t;

int sl_cli_dispatch(const char *noun, const sl_cli_verb_t *verbs, size_t n, int argc, char **argv);

/* ---- values ---- */

bool sl_cli_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* "2s", "500ms", "1m", "1.5s"; a bare number is seconds. */
bool sl_cli_duration_ms(const char *s, int64_t *ms);
/* Milliseconds since the epoch, or "YYYY-MM-DDTHH:MM:SS[.mmm][Z]" (UTC). */
bool sl_cli_time_ms(const char *s, int64_t *ms);
/* Splits "key=value" at the first '='; false without one. The views point
 * into a copy the caller frees via *owned. */
bool sl_cli_kv(const char *s, char **owned, const char **key, const char **value);

/* ---- text tables ---- */

typedef struct sl_table {
    size_t ncols;
    size_t nrows;
    size_t cap; /* cells */
    char **cells;
    size_t cur; /* cells in the row being built */
} sl_table_t;

void sl_table_init(sl_table_t *t, size_t ncols);
/* Appends a cell to the current row; the row ends after ncols cells. */
void sl_table_cell(sl_table_t *t, const char *fmt, ...) SL_PRINTF(2, 3);
/* Prints columns separated by two spaces, padded to the widest cell. */
void sl_table_print(const sl_table_t *t, FILE *out);
void sl_table_deinit(sl_table_t *t);

#endif
