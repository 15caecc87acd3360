/*
 * cli.c -- option parsing, --help, errors, tables and value parsers shared
 * by the client subcommands (see cli.h). Parsing is GNU getopt_long built
 * from each command's option table, so flags and positionals may mix.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <time.h>

/* Ids of the options every client command takes (above any command's). */
enum {
    OPT_BROKERS = 10000,
    OPT_JSON,
    OPT_PROP,
    OPT_TIMEOUT,
    OPT_HELP,
};

static const sl_cli_opt_t common_opts[] = {
    {OPT_BROKERS, 'b', "bootstrap-server", "brokers", "HOST:PORT",
     "broker to talk to (default $SLUICE_BROKERS, then " SL_CLIENT_DEFAULT_BROKERS ")"},
    {OPT_JSON, 0, "json", NULL, NULL, "print JSON for scripts instead of text"},
    {OPT_PROP, 'X', "client-property", NULL, "KEY=VALUE",
     "set a librdkafka client property, repeatable (like kcat -X)"},
    {OPT_TIMEOUT, 0, "timeout", NULL, "DURATION", "per-request timeout (default 30s)"},
    {OPT_HELP, 'h', "help", NULL, NULL, "show this help"},
};

/* ================================================================ */
/* messages                                                         */
/* ================================================================ */

int
sl_cli_usage(const sl_cli_t *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sluice %s: ", cli->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(run 'sluice %s --help' for usage)\n", cli->name);
    return SL_EXIT_USAGE;
}

int
sl_cli_fail(const sl_cli_t *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sluice %s: ", cli->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return SL_EXIT_FAIL;
}

#define HELP_COL   34
#define HELP_WIDTH 100

/* Prints text word-wrapped from column HELP_COL to HELP_WIDTH. */
static void
help_wrap(const char *text, size_t col, FILE *out)
{
    const char *p = text;

    while (*p) {
        size_t room = HELP_WIDTH - col, len = strlen(p), cut = len;
        if (len > room) {
            cut = room;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = room;
        }
        fprintf(out, "%.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
        if (*p)
            fprintf(out, "%*s", HELP_COL, "");
        col = HELP_COL;
    }
}

static void
help_opt(const sl_cli_opt_t *o, FILE *out)
{
    char left[96], text[640];
    int n = 0;

    if (o->short_name)
        n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name);
    else
        n = snprintf(left, sizeof(left), "    --%s", o->name);
    if (o->arg && n > 0 && (size_t)n < sizeof(left))
        snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->arg);
    snprintf(text, sizeof(text), "%s%s%s%s", o->help, o->alias ? " (also --" : "",
             o->alias ? o->alias : "", o->alias ? ")" : "");
    if (strlen(left) + 3 > HELP_COL)
        fprintf(out, "  %s\n%*s", left, HELP_COL, "");
    else
        fprintf(out, "  %-*s", HELP_COL - 2, left);
    help_wrap(text, HELP_COL, out);
}

void
sl_cli_help(const sl_cli_t *cli, FILE *out)
{
    fprintf(out, "usage: sluice %s %s\n\n%s\n", cli->name, cli->synopsis, cli->about);
    if (cli->nopts > 0) {
        fprintf(out, "\noptions:\n");
        for (size_t i = 0; i < cli->nopts; i++)
            help_opt(&cli->opts[i], out);
    }
    fprintf(out, "\ncommon options:\n");
    for (size_t i = 0; i < SL_ARRAY_LEN(common_opts); i++) {
        if (cli->no_client && common_opts[i].id != OPT_HELP)
            continue;
        help_opt(&common_opts[i], out);
    }
    fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage error\n");
}

/* ================================================================ */
/* parsing                                                          */
/* ================================================================ */

int
sl_cli_add_prop(sl_cli_t *cli, const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *p;

    if (cli->conf.nprops >= SL_CLIENT_MAX_PROPS || cli->nowned >= SL_CLIENT_MAX_PROPS)
        return sl_cli_usage(cli, "too many client properties");
    p = sl_xmalloc(n);
    snprintf(p, n, "%s=%s", key, value);
    cli->owned[cli->nowned++] = p;
    cli->conf.props[cli->conf.nprops++] = p;
    return SL_EXIT_OK;
}

void
sl_cli_deinit(sl_cli_t *cli)
{
    for (size_t i = 0; i < cli->nowned; i++)
        free(cli->owned[i]);
    cli->nowned = 0;
}

static int
common_opt(sl_cli_t *cli, int id, const char *arg)
{
    int64_t ms;

    switch (id) {
    case OPT_BROKERS:
        cli->conf.brokers = arg;
        return SL_EXIT_OK;
    case OPT_JSON:
        cli->json = true;
        return SL_EXIT_OK;
    case OPT_PROP:
        if (!strchr(arg, '=') || cli->conf.nprops >= SL_CLIENT_MAX_PROPS)
            return sl_cli_usage(cli, "-X takes KEY=VALUE, got '%s'", arg);
        cli->conf.props[cli->conf.nprops++] = arg;
        return SL_EXIT_OK;
    case OPT_TIMEOUT:
        if (!sl_cli_duration_ms(arg, &ms) || ms <= 0 || ms > INT32_MAX)
            return sl_cli_usage(cli, "bad --timeout '%s' (try 10s)", arg);
        cli->conf.timeout_ms = (int)ms;
        return SL_EXIT_OK;
    default:
        return SL_EXIT_USAGE;
    }
}

/* Appends the getopt entries of opts; short option letters to shorts. */
static void
add_opts(const sl_cli_opt_t *opts, size_t n, struct option *lo, size_t *nlo, char *shorts,
         size_t *ns)
{
    for (size_t i = 0; i < n; i++) {
        int has = opts[i].arg ? required_argument : no_argument;
        lo[(*nlo)++] = (struct option){opts[i].name, has, NULL, opts[i].id};
        if (opts[i].alias)
            lo[(*nlo)++] = (struct option){opts[i].alias, has, NULL, opts[i].id};
        if (opts[i].short_name) {
            shorts[(*ns)++] = opts[i].short_name;
            if (opts[i].arg)
                shorts[(*ns)++] = ':';
        }
    }
}

/* Maps what getopt returned (a letter or a long id) to an option. */
static const sl_cli_opt_t *
find_opt(const sl_cli_t *cli, int c)
{
    for (size_t i = 0; i < cli->nopts; i++)
        if (cli->opts[i].id == c || (c < 256 && cli->opts[i].short_name == c))
            return &cli->opts[i];
    for (size_t i = 0; i < SL_ARRAY_LEN(common_opts); i++)
        if (common_opts[i].id == c || (c < 256 && common_opts[i].short_name == c))
            return &common_opts[i];
    return NULL;
}

static bool
is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Kafka tools' options that mean something else here get a sentence on
 * what to use instead. */
static int
unknown_option(const sl_cli_t *cli, const char *arg)
{
    if (is_opt(arg, "--zookeeper"))
        return sl_cli_usage(cli, "--zookeeper is not used: Sluice has no ZooKeeper; give a broker "
                                 "with --bootstrap-server HOST:PORT (or -b)");
    if (is_opt(arg, "--property") || is_opt(arg, "--producer-property") ||
        is_opt(arg, "--consumer-property"))
        return sl_cli_usage(cli,
                            "'%s' is not an option of this command; librdkafka client "
                            "settings are given with -X KEY=VALUE",
                            arg);
    return sl_cli_usage(cli, "unknown option '%s' (or its argument is missing)", arg);
}

static int
parse_loop(sl_cli_t *cli, int gargc, char **gargv, const struct option *lo, const char *shorts,
           sl_cli_opt_fn fn, void *ctx)
{
    int c, rc;

    opterr = 0;
    optind = 0; /* GNU: full re-initialisation */
    while ((c = getopt_long(gargc, gargv, shorts, lo, NULL)) != -1) {
        const sl_cli_opt_t *o;
        if (c == '?' || c == ':') {
            if (optopt && optopt < 256)
                return sl_cli_usage(cli, "bad option -%c (or its argument is missing)", optopt);
            return unknown_option(cli, gargv[optind - 1]);
        }
        o = find_opt(cli, c);
        if (!o)
            return sl_cli_usage(cli, "unknown option");
        if (o->id == OPT_HELP) {
            sl_cli_help(cli, stdout);
            return SL_EXIT_OK;
        }
        rc = o->id >= OPT_BROKERS ? common_opt(cli, o->id, optarg) : fn(cli, ctx, o->id, optarg);
        if (rc != SL_EXIT_OK)
            return rc;
    }
    return SL_CLI_CONTINUE;
}

int
sl_cli_parse(sl_cli_t *cli, int argc, char **argv, sl_cli_opt_fn fn, void *ctx)
{
    size_t nmax = 2 * (cli->nopts + SL_ARRAY_LEN(common_opts)) + 1;
    struct option *lo = sl_xcalloc(nmax, sizeof(*lo));
    char *shorts = sl_xcalloc(3 * (cli->nopts + SL_ARRAY_LEN(common_opts)) + 2, 1);
    char **gargv = sl_xcalloc((size_t)argc + 2, sizeof(*gargv));
    size_t nlo = 0, ns = 0;
    int rc;

    memset(&cli->conf, 0, sizeof(cli->conf));
    cli->json = false;
    add_opts(cli->opts, cli->nopts, lo, &nlo, shorts, &ns);
    add_opts(common_opts, SL_ARRAY_LEN(common_opts), lo, &nlo, shorts, &ns);
    /* getopt wants the program name first. */
    gargv[0] = (char *)cli->name;
    for (int i = 0; i < argc; i++)
        gargv[i + 1] = argv[i];
    rc = parse_loop(cli, argc + 1, gargv, lo, shorts, fn, ctx);
    if (rc == SL_CLI_CONTINUE) {
        /* getopt moved the positionals to the end, in order; they point
         * into the caller's argv strings. */
        cli->nargs = argc + 1 - optind;
        cli->args = argv + (argc - cli->nargs);
        for (int i = 0; i < cli->nargs; i++)
            cli->args[i] = gargv[optind + i];
        if (cli->nargs < cli->min_args)
            rc = sl_cli_usage(cli, "missing argument: expected %s", cli->synopsis);
        else if (cli->max_args >= 0 && cli->nargs > cli->max_args)
            rc = sl_cli_usage(cli, "unexpected argument '%s'", cli->args[cli->max_args]);
    }
    cli->conf.brokers = sl_client_default_brokers(cli->conf.brokers);
    if (rc == SL_CLI_CONTINUE && !cli->no_client) {
        char err[300];
        if (sl_client_check_brokers(cli->conf.brokers, err, sizeof(err)) != SL_OK)
            rc = sl_cli_usage(cli, "%s", err);
    }
    free(lo);
    free(shorts);
    free(gargv);
    return rc;
}

int
sl_cli_connect(sl_cli_t *cli, sl_client_t **c)
{
    char err[512];

    if (sl_client_open(&cli->conf, c, err, sizeof(err)) != SL_OK)
        return sl_cli_fail(cli, "%s", err);
    return SL_EXIT_OK;
}

int
sl_cli_dispatch(const char *noun, const sl_cli_verb_t *verbs, size_t n, int argc, char **argv)
{
    FILE *out = stderr;
    int rc = SL_EXIT_USAGE;

    if (argc >= 1) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[0], verbs[i].name) == 0)
                return verbs[i].fn(argc - 1, argv + 1);
        if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 ||
            strcmp(argv[0], "help") == 0) {
            out = stdout;
            rc = SL_EXIT_OK;
        } else {
            fprintf(stderr, "sluice %s: unknown subcommand '%s'\n\n", noun, argv[0]);
        }
    }
    fprintf(out, "usage: sluice %s <subcommand> [options]\n\nsubcommands:\n", noun);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nRun 'sluice %s <subcommand> --help' for its options.\n", noun);
    return rc;
}

/* ================================================================ */
/* values                                                           */
/* ================================================================ */

bool
sl_cli_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s)
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool
sl_cli_duration_ms(const char *s, int64_t *ms)
{
    char *end;
    double v;
    double mul = 1000.0;

    if (!s || !*s)
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    if (strcmp(end, "ms") == 0)
        mul = 1.0;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mul = 1000.0;
    else if (strcmp(end, "m") == 0)
        mul = 60000.0;
    else if (strcmp(end, "h") == 0)
        mul = 3600000.0;
    else
        return false;
    if (v * mul > 9.0e15)
        return false;
    *ms = (int64_t)(v * mul + 0.5);
    return true;
}

bool
sl_cli_time_ms(const char *s, int64_t *ms)
{
    struct tm tm;
    const char *rest;
    int64_t frac = 0;

    if (sl_cli_int(s, 0, INT64_MAX, ms))
        return true;
    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return false;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            frac *= 10;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest)
        return false;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return true;
}

bool
sl_cli_kv(const char *s, char **owned, const char **key, const char **value)
{
    char *copy, *eq;

    if (!s || !(eq = strchr(s, '=')) || eq == s)
        return false;
    copy = sl_xstrdup(s);
    eq = copy + (eq - s);
    *eq = '\0';
    *owned = copy;
    *key = copy;
    *value = eq + 1;
    return true;
}

/* ================================================================ */
/* tables                                                           */
/* ================================================================ */

void
sl_table_init(sl_table_t *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

void
sl_table_cell(sl_table_t *t, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    size_t idx = t->nrows * t->ncols + t->cur;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (idx >= t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = sl_xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    t->cells[idx] = sl_xstrdup(buf);
    if (++t->cur == t->ncols) {
        t->cur = 0;
        t->nrows++;
    }
}

void
sl_table_print(const sl_table_t *t, FILE *out)
{
    size_t *w = sl_xcalloc(t->ncols, sizeof(*w));

    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            w[c] = SL_MAX(w[c], strlen(t->cells[r * t->ncols + c]));
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(out, "%s\n", cell);
            else
                fprintf(out, "%-*s  ", (int)w[c], cell);
        }
    }
    free(w);
}

void
sl_table_deinit(sl_table_t *t)
{
    size_t n = t->nrows * t->ncols + t->cur;

    for (size_t i = 0; i < n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
