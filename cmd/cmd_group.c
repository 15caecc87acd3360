/*
 * cmd_group.c -- `sluice group list|describe|seek|delete`.
 *
 * describe prints Kafka's kafka-consumer-groups.sh columns plus rpk's
 * LOG-START-OFFSET and a TOTAL-LAG summary, and capacity advice: it samples
 * log-end and committed offsets twice (--interval apart, or across --watch
 * refreshes) and turns the produce rate and the members' consumption rate
 * into "lag grows/steady/shrinks" and "needs >= N members".
 */
#include "cli.h"
#include "json.h"

#include "base/time.h"

#include <math.h>
#include <signal.h>
#include <time.h>

enum {
    O_GROUP = 1,
    O_INTERVAL,
    O_WATCH,
    O_COUNT,
    O_TO,
    O_TO_EARLIEST,
    O_TO_LATEST,
    O_TOPIC,
    O_PARTITION,
    O_DRY_RUN,
    O_EXECUTE,
};

#define MAX_TOPICS  64
#define MAX_SAMPLES 16
/* --watch computes rates over the samples of this window. */
#define WATCH_WINDOW_MS 30000

typedef struct group_opts {
    const char *group;
    int64_t interval_ms;
    bool watch;
    int64_t count;
    const char *to;
    const char *topics[MAX_TOPICS];
    size_t ntopics;
    int64_t partition;
    bool dry_run;
} group_opts_t;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int
on_opt(sl_cli_t *cli, void *ctx, int id, const char *arg)
{
    group_opts_t *o = ctx;

    switch (id) {
    case O_GROUP:
        o->group = arg;
        return SL_EXIT_OK;
    case O_INTERVAL:
        if (!sl_cli_duration_ms(arg, &o->interval_ms) || o->interval_ms > 3600000)
            return sl_cli_usage(cli, "bad interval '%s' (try 2s, or 0 for no sampling)", arg);
        return SL_EXIT_OK;
    case O_WATCH:
        o->watch = true;
        return SL_EXIT_OK;
    case O_COUNT:
        if (!sl_cli_int(arg, 1, INT32_MAX, &o->count))
            return sl_cli_usage(cli, "bad count '%s'", arg);
        return SL_EXIT_OK;
    case O_TO:
        o->to = arg;
        return SL_EXIT_OK;
    case O_TO_EARLIEST:
        o->to = "beginning";
        return SL_EXIT_OK;
    case O_TO_LATEST:
        o->to = "end";
        return SL_EXIT_OK;
    case O_TOPIC:
        if (o->ntopics >= MAX_TOPICS)
            return sl_cli_usage(cli, "too many topics");
        o->topics[o->ntopics++] = arg;
        return SL_EXIT_OK;
    case O_PARTITION:
        if (!sl_cli_int(arg, 0, INT32_MAX, &o->partition))
            return sl_cli_usage(cli, "bad partition '%s'", arg);
        return SL_EXIT_OK;
    case O_DRY_RUN:
        o->dry_run = true;
        return SL_EXIT_OK;
    case O_EXECUTE:
        return SL_EXIT_OK;
    default:
        return SL_EXIT_USAGE;
    }
}

/* The group names: positionals, plus --group. */
static int
group_names(sl_cli_t *cli, group_opts_t *o, const char **names, int max, int *n)
{
    *n = 0;
    if (o->group)
        names[(*n)++] = o->group;
    for (int i = 0; i < cli->nargs && *n < max; i++)
        names[(*n)++] = cli->args[i];
    if (*n == 0)
        return sl_cli_usage(cli, "which group? (give GROUP or --group GROUP)");
    return SL_EXIT_OK;
}

#define GROUP_OPT                                                                                  \
    {                                                                                              \
        O_GROUP, 'g', "group", NULL, "GROUP", "the group (instead of GROUP)"                       \
    }

/* ================================================================ */
/* list                                                             */
/* ================================================================ */

static int
group_list(int argc, char **argv)
{
    sl_cli_t cli = {"group list",
                    "[options]",
                    "List consumer groups and their state (kafka-consumer-groups.sh --list).",
                    NULL,
                    0,
                    0,
                    0};
    group_opts_t o = {0};
    sl_client_t *c = NULL;
    sl_client_groups_t *gs = NULL;
    sl_table_t t;
    int rc;

    sl_table_init(&t, 2);
    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_list_groups(c, &gs) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    if (cli.json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_arr(&j, "groups");
        for (size_t i = 0; i < gs->n; i++) {
            sl_json_obj(&j, NULL);
            sl_json_str(&j, "group", gs->v[i].id);
            sl_json_str(&j, "state", gs->v[i].state);
            sl_json_bool(&j, "simple", gs->v[i].simple);
            sl_json_end_obj(&j);
        }
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    } else {
        sl_table_cell(&t, "GROUP");
        sl_table_cell(&t, "STATE");
        for (size_t i = 0; i < gs->n; i++) {
            sl_table_cell(&t, "%s", gs->v[i].id);
            sl_table_cell(&t, "%s", gs->v[i].state);
        }
        sl_table_print(&t, stdout);
    }
out:
    sl_table_deinit(&t);
    sl_client_groups_free(gs);
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* describe: one snapshot of a group                                */
/* ================================================================ */

typedef struct row {
    const char *topic; /* owned by the snapshot's metadata */
    int32_t partition;
    int64_t committed; /* -1 = none */
    int64_t log_start;
    int64_t log_end;
    int64_t lag;
    const sl_client_member_t *member; /* NULL = unassigned */
} row_t;

typedef struct snap {
    int64_t at_ms; /* monotonic */
    sl_client_group_desc_t *d;
    sl_client_meta_t *m;
    row_t *rows;
    size_t nrows;
    int64_t total_lag;
    size_t active; /* members with at least one partition */
} snap_t;

static void
snap_free(snap_t *s)
{
    if (!s)
        return;
    sl_client_group_desc_free(s->d);
    sl_client_meta_free(s->m);
    free(s->rows);
    free(s);
}

static const sl_client_member_t *
owner(const sl_client_group_desc_t *d, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < d->nmembers; i++)
        for (size_t k = 0; k < d->members[i].nassigned; k++)
            if (d->members[i].assigned[k].partition == partition &&
                strcmp(d->members[i].assigned[k].topic, topic) == 0)
                return &d->members[i];
    return NULL;
}

static int64_t
committed_of(const sl_client_group_desc_t *d, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < d->ncommitted; i++)
        if (d->committed[i].partition == partition && strcmp(d->committed[i].topic, topic) == 0)
            return d->committed[i].offset;
    return -1;
}

/* A topic is shown whole if a member is assigned any of it; otherwise only
 * its partitions with a committed offset. */
static bool
topic_assigned(const sl_client_group_desc_t *d, const char *topic)
{
    for (size_t i = 0; i < d->nmembers; i++)
        for (size_t k = 0; k < d->members[i].nassigned; k++)
            if (strcmp(d->members[i].assigned[k].topic, topic) == 0)
                return true;
    return false;
}

static bool
topic_involved(const sl_client_group_desc_t *d, const char *topic)
{
    if (topic_assigned(d, topic))
        return true;
    for (size_t i = 0; i < d->ncommitted; i++)
        if (strcmp(d->committed[i].topic, topic) == 0)
            return true;
    return false;
}

static void
add_row(snap_t *s, const sl_client_topic_t *t, const sl_client_part_t *p)
{
    row_t *r = &s->rows[s->nrows++];

    r->topic = t->name;
    r->partition = p->id;
    r->committed = committed_of(s->d, t->name, p->id);
    r->log_start = p->log_start;
    r->log_end = p->log_end;
    r->member = owner(s->d, t->name, p->id);
    /* Without a commit the group would read from the log start (rpk's
     * convention), so that is what it still has to read. */
    if (r->log_end < 0)
        r->lag = 0;
    else if (r->committed >= 0)
        r->lag = SL_MAX(0, r->log_end - r->committed);
    else
        r->lag = SL_MAX(0, r->log_end - SL_MAX(r->log_start, 0));
    s->total_lag += r->lag;
}

static int
snapshot(sl_client_t *c, const char *group, snap_t **out)
{
    snap_t *s = sl_xcalloc(1, sizeof(*s));
    size_t cap = 0;
    int rc;

    *out = NULL;
    if ((rc = sl_client_describe_group(c, group, &s->d)) != SL_OK)
        goto fail;
    if ((rc = sl_client_metadata(c, NULL, &s->m)) != SL_OK)
        goto fail;
    s->at_ms = sl_mono_ms();
    for (int i = 0; i < s->m->ntopics; i++)
        if (topic_involved(s->d, s->m->topics[i].name))
            cap += (size_t)s->m->topics[i].nparts;
    s->rows = sl_xcalloc(cap ? cap : 1, sizeof(*s->rows));
    for (int i = 0; i < s->m->ntopics; i++) {
        sl_client_topic_t *t = &s->m->topics[i];
        bool whole = topic_assigned(s->d, t->name);
        if (!topic_involved(s->d, t->name))
            continue;
        if ((rc = sl_client_fill_watermarks(c, t)) != SL_OK)
            goto fail;
        for (int k = 0; k < t->nparts; k++)
            if (whole || committed_of(s->d, t->name, t->parts[k].id) >= 0)
                add_row(s, t, &t->parts[k]);
    }
    for (size_t i = 0; i < s->d->nmembers; i++)
        if (s->d->members[i].nassigned > 0)
            s->active++;
    *out = s;
    return SL_OK;

fail:
    snap_free(s);
    return rc;
}

/* ================================================================ */
/* describe: capacity advice                                        */
/* ================================================================ */

typedef enum verdict {
    V_NONE, /* no earlier sample */
    V_IDLE, /* nothing produced or consumed */
    V_GROWS,
    V_STEADY,
    V_SHRINKS,
} verdict_t;

static const char *const verdict_names[] = {"none", "idle", "grows", "steady", "shrinks"};

typedef struct advice {
    verdict_t verdict;
    double secs;
    double in_rate;
    double out_rate;
    double per_member;
    double growth; /* lag change, records per second */
    int64_t lag_delta;
    size_t active;
    size_t partitions;
    long needed; /* members needed to keep up; -1 unknown */
} advice_t;

static const row_t *
find_row(const snap_t *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].partition == partition && strcmp(s->rows[i].topic, topic) == 0)
            return &s->rows[i];
    return NULL;
}

/*
 * Rates between two snapshots over the partitions both show: records in is
 * the growth of the log ends, records out is that minus the growth of the
 * lag. Members that keep up consume exactly what comes in, so their rate is
 * only a lower bound of what they could do; only a growing lag shows the
 * members' real capacity, and then members needed = in / per-member rate,
 * which cannot usefully exceed the partition count.
 *
 * Offsets move in whole records, so a difference of up to one record per
 * member between the samples is noise, not a trend: the verdict needs both
 * a rate above 5% of the input (at least 0.2 rec/s) and more lag change than
 * there are active members.
 */
static void
advise(const snap_t *s0, const snap_t *s1, advice_t *a)
{
    int64_t din = 0, dlag = 0;
    double tol;

    memset(a, 0, sizeof(*a));
    a->needed = -1;
    a->active = s1->active;
    a->partitions = s1->nrows;
    if (!s0 || s1->at_ms <= s0->at_ms)
        return;
    a->secs = (double)(s1->at_ms - s0->at_ms) / 1000.0;
    for (size_t i = 0; i < s1->nrows; i++) {
        const row_t *r1 = &s1->rows[i], *r0 = find_row(s0, r1->topic, r1->partition);
        if (!r0 || r0->log_end < 0 || r1->log_end < 0)
            continue;
        din += r1->log_end - r0->log_end;
        dlag += r1->lag - r0->lag;
    }
    a->lag_delta = dlag;
    a->in_rate = (double)din / a->secs;
    a->growth = (double)dlag / a->secs;
    a->out_rate = SL_MAX(0.0, a->in_rate - a->growth);
    if (a->active > 0)
        a->per_member = a->out_rate / (double)a->active;
    tol = SL_MAX(0.2, 0.05 * a->in_rate);
    if (din == 0 && dlag == 0)
        a->verdict = V_IDLE;
    else if (a->growth > tol && dlag > (int64_t)a->active)
        a->verdict = V_GROWS;
    else if (a->growth < -tol && -dlag > (int64_t)a->active)
        a->verdict = V_SHRINKS;
    else
        a->verdict = V_STEADY;
    if (a->verdict == V_GROWS && a->per_member > 0)
        a->needed = (long)ceil(a->in_rate / a->per_member - 1e-9);
    else if (a->verdict == V_STEADY || a->verdict == V_SHRINKS || a->verdict == V_IDLE)
        a->needed = (long)a->active;
}

static void
advice_text(const advice_t *a, const char *group)
{
    if (a->verdict == V_NONE)
        return;
    printf("\nCAPACITY     over %.1fs: %.1f rec/s in, %.1f rec/s out", a->secs, a->in_rate,
           a->out_rate);
    if (a->active > 0)
        printf(", %.1f rec/s per member", a->per_member);
    printf(": ");
    switch (a->verdict) {
    case V_IDLE:
        printf("idle, nothing produced or consumed\n");
        return;
    case V_STEADY:
        printf("keeps up with %zu members, lag steady\n", a->active);
        return;
    case V_SHRINKS:
        printf("catching up with %zu members, lag shrinks %.1f rec/s\n", a->active, -a->growth);
        return;
    default:
        break;
    }
    if (a->active == 0) {
        printf("no active members, lag grows %.1f rec/s (start consumers with -g %s)\n", a->growth,
               group);
    } else if (a->needed < 0) {
        printf("members consume nothing, lag grows %.1f rec/s\n", a->growth);
    } else {
        printf("needs >= %ld members, has %zu, lag grows %.1f rec/s\n", a->needed, a->active,
               a->growth);
        if ((size_t)a->needed > a->partitions)
            printf("             only %zu partitions: a group uses at most one member per "
                   "partition, so add partitions (sluice topic add-partitions) first\n",
                   a->partitions);
    }
}

static void
advice_json(sl_json_t *j, const advice_t *a)
{
    if (a->verdict == V_NONE) {
        sl_json_null(j, "capacity");
        return;
    }
    sl_json_obj(j, "capacity");
    sl_json_num(j, "interval_s", a->secs);
    sl_json_num(j, "in_rate", a->in_rate);
    sl_json_num(j, "out_rate", a->out_rate);
    sl_json_num(j, "per_member_rate", a->per_member);
    sl_json_num(j, "lag_growth", a->growth);
    sl_json_int(j, "lag_delta", a->lag_delta);
    sl_json_int(j, "active_members", (int64_t)a->active);
    sl_json_int(j, "partitions", (int64_t)a->partitions);
    if (a->needed >= 0)
        sl_json_int(j, "needed_members", a->needed);
    else
        sl_json_null(j, "needed_members");
    sl_json_str(j, "verdict", verdict_names[a->verdict]);
    sl_json_end_obj(j);
}

/* ================================================================ */
/* describe: output                                                 */
/* ================================================================ */

static void
offset_cell(sl_table_t *t, int64_t v)
{
    if (v < 0)
        sl_table_cell(t, "-");
    else
        sl_table_cell(t, "%lld", (long long)v);
}

static void
member_cells(sl_table_t *t, const sl_client_member_t *m)
{
    sl_table_cell(t, "%s", m ? m->member_id : "-");
    sl_table_cell(t, "%s", m ? m->host : "-");
    sl_table_cell(t, "%s", m ? m->client_id : "-");
}

static void
describe_text(const snap_t *s, const advice_t *a)
{
    const sl_client_group_desc_t *d = s->d;
    sl_table_t t;

    printf("GROUP        %s\n", d->id);
    printf("COORDINATOR  %d (%s:%d)\n", (int)d->coordinator_id, d->coordinator_host,
           d->coordinator_port);
    printf("STATE        %s\n", d->state);
    printf("ASSIGNOR     %s\n", d->assignor[0] ? d->assignor : "-");
    printf("MEMBERS      %zu\n", d->nmembers);
    printf("TOTAL-LAG    %lld\n\n", (long long)s->total_lag);
    sl_table_init(&t, 9);
    sl_table_cell(&t, "TOPIC");
    sl_table_cell(&t, "PARTITION");
    sl_table_cell(&t, "CURRENT-OFFSET");
    sl_table_cell(&t, "LOG-START-OFFSET");
    sl_table_cell(&t, "LOG-END-OFFSET");
    sl_table_cell(&t, "LAG");
    sl_table_cell(&t, "CONSUMER-ID");
    sl_table_cell(&t, "HOST");
    sl_table_cell(&t, "CLIENT-ID");
    for (size_t i = 0; i < s->nrows; i++) {
        const row_t *r = &s->rows[i];
        sl_table_cell(&t, "%s", r->topic);
        sl_table_cell(&t, "%d", (int)r->partition);
        offset_cell(&t, r->committed);
        offset_cell(&t, r->log_start);
        offset_cell(&t, r->log_end);
        sl_table_cell(&t, "%lld", (long long)r->lag);
        member_cells(&t, r->member);
    }
    /* Members with nothing assigned, as kafka-consumer-groups.sh shows them. */
    for (size_t i = 0; i < d->nmembers; i++) {
        if (d->members[i].nassigned > 0)
            continue;
        for (int k = 0; k < 6; k++)
            sl_table_cell(&t, "-");
        member_cells(&t, &d->members[i]);
    }
    sl_table_print(&t, stdout);
    sl_table_deinit(&t);
    advice_text(a, d->id);
}

static void
describe_json(const snap_t *s, const advice_t *a)
{
    const sl_client_group_desc_t *d = s->d;
    sl_json_t j;

    sl_json_init(&j, stdout);
    sl_json_obj(&j, NULL);
    sl_json_str(&j, "group", d->id);
    sl_json_str(&j, "state", d->state);
    sl_json_str(&j, "assignor", d->assignor);
    sl_json_obj(&j, "coordinator");
    sl_json_int(&j, "id", d->coordinator_id);
    sl_json_str(&j, "host", d->coordinator_host);
    sl_json_int(&j, "port", d->coordinator_port);
    sl_json_end_obj(&j);
    sl_json_arr(&j, "members");
    for (size_t i = 0; i < d->nmembers; i++) {
        const sl_client_member_t *m = &d->members[i];
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "consumer_id", m->member_id);
        sl_json_str(&j, "host", m->host);
        sl_json_str(&j, "client_id", m->client_id);
        sl_json_arr(&j, "assignment");
        for (size_t k = 0; k < m->nassigned; k++) {
            sl_json_obj(&j, NULL);
            sl_json_str(&j, "topic", m->assigned[k].topic);
            sl_json_int(&j, "partition", m->assigned[k].partition);
            sl_json_end_obj(&j);
        }
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    }
    sl_json_end_arr(&j);
    sl_json_arr(&j, "offsets");
    for (size_t i = 0; i < s->nrows; i++) {
        const row_t *r = &s->rows[i];
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "topic", r->topic);
        sl_json_int(&j, "partition", r->partition);
        if (r->committed >= 0)
            sl_json_int(&j, "current_offset", r->committed);
        else
            sl_json_null(&j, "current_offset");
        sl_json_int(&j, "log_start_offset", r->log_start);
        sl_json_int(&j, "log_end_offset", r->log_end);
        sl_json_int(&j, "lag", r->lag);
        sl_json_str(&j, "consumer_id", r->member ? r->member->member_id : NULL);
        sl_json_str(&j, "host", r->member ? r->member->host : NULL);
        sl_json_str(&j, "client_id", r->member ? r->member->client_id : NULL);
        sl_json_end_obj(&j);
    }
    sl_json_end_arr(&j);
    sl_json_int(&j, "total_lag", s->total_lag);
    advice_json(&j, a);
    sl_json_end_obj(&j);
}

/* Sleeps ms unless a signal asks to stop first. */
static void
pause_ms(int64_t ms)
{
    int64_t end = sl_mono_ms() + ms;

    while (!stop) {
        int64_t left = end - sl_mono_ms();
        struct timespec ts;
        if (left <= 0)
            break;
        left = SL_MIN(left, 100);
        ts.tv_sec = (time_t)(left / 1000);
        ts.tv_nsec = (long)(left % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
}

static int
describe_once(sl_cli_t *cli, sl_client_t *c, const group_opts_t *o, const char *group)
{
    snap_t *s0 = NULL, *s1 = NULL;
    advice_t a;
    int rc = SL_EXIT_FAIL;

    if (snapshot(c, group, &s1) != SL_OK)
        goto out;
    if (o->interval_ms > 0) {
        s0 = s1;
        s1 = NULL;
        /* Say why nothing shows yet; stderr keeps stdout the table alone. */
        if (!cli->json)
            fprintf(stderr, "sampling rates for %g s (--interval 0 skips this)...\n",
                    (double)o->interval_ms / 1000.0);
        pause_ms(o->interval_ms);
        if (snapshot(c, group, &s1) != SL_OK)
            goto out;
    }
    advise(s0, s1, &a);
    if (cli->json)
        describe_json(s1, &a);
    else
        describe_text(s1, &a);
    rc = SL_EXIT_OK;
out:
    if (rc != SL_EXIT_OK)
        sl_cli_fail(cli, "%s", sl_client_errmsg(c));
    snap_free(s0);
    snap_free(s1);
    return rc;
}

/* --watch: refresh every interval; rates span the samples of the last
 * WATCH_WINDOW_MS, so the advice steadies as history builds up. */
static int
describe_watch(sl_cli_t *cli, sl_client_t *c, const group_opts_t *o, const char *group)
{
    snap_t *ring[MAX_SAMPLES] = {0};
    size_t n = 0;
    int64_t iter = 0;
    int rc = SL_EXIT_OK;
    int64_t interval = o->interval_ms > 0 ? o->interval_ms : 2000;

    while (!stop && (o->count <= 0 || iter < o->count)) {
        snap_t *s, *old = NULL;
        advice_t a;
        if (snapshot(c, group, &s) != SL_OK) {
            rc = sl_cli_fail(cli, "%s", sl_client_errmsg(c));
            break;
        }
        if (n == MAX_SAMPLES) {
            snap_free(ring[0]);
            memmove(ring, ring + 1, (MAX_SAMPLES - 1) * sizeof(*ring));
            n--;
        }
        ring[n++] = s;
        for (size_t i = 0; i + 1 < n && !old; i++)
            if (s->at_ms - ring[i]->at_ms <= WATCH_WINDOW_MS)
                old = ring[i];
        advise(old, s, &a);
        if (!cli->json)
            printf("%s--- %s", iter ? "\n" : "", ctime(&(time_t){time(NULL)}));
        if (cli->json)
            describe_json(s, &a);
        else
            describe_text(s, &a);
        fflush(stdout);
        if (++iter < o->count || o->count <= 0)
            pause_ms(interval);
    }
    for (size_t i = 0; i < n; i++)
        snap_free(ring[i]);
    return rc;
}

static int
group_describe(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        GROUP_OPT,
        {O_INTERVAL, 'i', "interval", NULL, "DURATION",
         "sample offsets twice this far apart for the capacity advice (default 2s; 0 = one "
         "sample, no advice); with --watch, the refresh period"},
        {O_WATCH, 'w', "watch", NULL, NULL, "refresh until Ctrl-C; advice uses the history"},
        {O_COUNT, 'n', "count", NULL, "N", "with --watch, stop after N refreshes"},
    };
    sl_cli_t cli = {"group describe",
                    "GROUP... [options]",
                    "Show a group's members and, per partition, CURRENT-OFFSET LOG-START-OFFSET\n"
                    "LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID (kafka-consumer-groups.sh "
                    "--describe),\nTOTAL-LAG, and capacity advice: whether lag grows and how "
                    "many members the group needs.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    -1};
    group_opts_t o = {.interval_ms = 2000};
    sl_client_t *c = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    const char *names[32];
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = group_names(&cli, &o, names, 32, &n)) != SL_EXIT_OK)
        goto out;
    if (o.watch && n > 1) {
        rc = sl_cli_usage(&cli, "--watch follows one group");
        goto out;
    }
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.watch) {
        rc = describe_watch(&cli, c, &o, names[0]);
        goto out;
    }
    for (int i = 0; i < n && rc == SL_EXIT_OK; i++) {
        if (i > 0 && !cli.json)
            printf("\n");
        rc = describe_once(&cli, c, &o, names[i]);
    }
out:
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* seek                                                             */
/* ================================================================ */

typedef struct target {
    char *topic;
    int32_t partition;
    int64_t old_offset;
    int64_t new_offset;
} target_t;

/* Where --to puts one partition. */
static int
seek_offset(sl_cli_t *cli, sl_client_t *c, const char *to, const char *topic,
            const sl_client_part_t *p, int64_t *out)
{
    int64_t v;

    if (!strcmp(to, "beginning") || !strcmp(to, "start") || !strcmp(to, "earliest")) {
        *out = p->log_start;
    } else if (!strcmp(to, "end") || !strcmp(to, "latest")) {
        *out = p->log_end;
    } else if (to[0] == '@') {
        if (!sl_cli_time_ms(to + 1, &v))
            return sl_cli_usage(cli, "bad time '%s'", to + 1);
        if (sl_client_offset_for_time(c, topic, p->id, v, out) != SL_OK)
            return sl_cli_fail(cli, "%s", sl_client_errmsg(c));
    } else if (sl_cli_int(to, 0, INT64_MAX, &v)) {
        /* Like kafka-consumer-groups.sh, clamp into what the log holds. */
        *out = SL_MIN(SL_MAX(v, p->log_start), p->log_end);
    } else {
        return sl_cli_usage(cli, "bad --to '%s' (beginning, end, OFFSET or @TIME)", to);
    }
    return SL_EXIT_OK;
}

static int
seek_targets(sl_cli_t *cli, sl_client_t *c, const group_opts_t *o, sl_client_group_desc_t *d,
             target_t **out, size_t *nout)
{
    sl_client_meta_t *m = NULL;
    target_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = SL_EXIT_OK;

    if (sl_client_metadata(c, NULL, &m) != SL_OK)
        return sl_cli_fail(cli, "%s", sl_client_errmsg(c));
    for (int i = 0; i < m->ntopics && rc == SL_EXIT_OK; i++) {
        sl_client_topic_t *t = &m->topics[i];
        bool named = false;
        for (size_t k = 0; k < o->ntopics; k++)
            named |= strcmp(o->topics[k], t->name) == 0;
        if (o->ntopics > 0 ? !named : !topic_involved(d, t->name))
            continue;
        if (sl_client_fill_watermarks(c, t) != SL_OK) {
            rc = sl_cli_fail(cli, "%s", sl_client_errmsg(c));
            break;
        }
        for (int k = 0; k < t->nparts && rc == SL_EXIT_OK; k++) {
            int64_t old = committed_of(d, t->name, t->parts[k].id);
            if (o->partition >= 0 && t->parts[k].id != o->partition)
                continue;
            if (o->ntopics == 0 && old < 0)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                v = sl_xrealloc(v, cap * sizeof(*v));
            }
            v[n] = (target_t){sl_xstrdup(t->name), t->parts[k].id, old, -1};
            rc = seek_offset(cli, c, o->to, t->name, &t->parts[k], &v[n].new_offset);
            n++;
        }
    }
    for (size_t k = 0; k < o->ntopics && rc == SL_EXIT_OK; k++)
        if (!sl_client_meta_topic(m, o->topics[k]))
            rc = sl_cli_fail(&*cli, "topic '%s' does not exist", o->topics[k]);
    sl_client_meta_free(m);
    *out = v;
    *nout = n;
    return rc;
}

static void
seek_print(sl_cli_t *cli, const group_opts_t *o, const char *group, const target_t *v, size_t n)
{
    if (cli->json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "group", group);
        sl_json_bool(&j, "dry_run", o->dry_run);
        sl_json_arr(&j, "offsets");
        for (size_t i = 0; i < n; i++) {
            sl_json_obj(&j, NULL);
            sl_json_str(&j, "topic", v[i].topic);
            sl_json_int(&j, "partition", v[i].partition);
            if (v[i].old_offset >= 0)
                sl_json_int(&j, "old_offset", v[i].old_offset);
            else
                sl_json_null(&j, "old_offset");
            sl_json_int(&j, "new_offset", v[i].new_offset);
            sl_json_end_obj(&j);
        }
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
        return;
    }
    sl_table_t t;
    sl_table_init(&t, 4);
    sl_table_cell(&t, "TOPIC");
    sl_table_cell(&t, "PARTITION");
    sl_table_cell(&t, "OLD-OFFSET");
    sl_table_cell(&t, "NEW-OFFSET");
    for (size_t i = 0; i < n; i++) {
        sl_table_cell(&t, "%s", v[i].topic);
        sl_table_cell(&t, "%d", (int)v[i].partition);
        offset_cell(&t, v[i].old_offset);
        sl_table_cell(&t, "%lld", (long long)v[i].new_offset);
    }
    sl_table_print(&t, stdout);
    sl_table_deinit(&t);
    if (o->dry_run)
        printf("\n(dry run: nothing changed)\n");
}

static int
group_seek(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {
        GROUP_OPT,
        {O_TO, 0, "to", NULL, "WHERE", "beginning, end, OFFSET or @TIME (epoch ms or ISO 8601)"},
        {O_TO_EARLIEST, 0, "to-earliest", NULL, NULL, "same as --to beginning"},
        {O_TO_LATEST, 0, "to-latest", NULL, NULL, "same as --to end"},
        {O_TOPIC, 't', "topic", NULL, "TOPIC",
         "only this topic, repeatable (default: every topic the group has offsets for)"},
        {O_PARTITION, 'p', "partition", NULL, "N", "only partition N"},
        {O_DRY_RUN, 0, "dry-run", NULL, NULL, "show the new offsets, change nothing"},
        {O_EXECUTE, 0, "execute", NULL, NULL, "accepted for kafka-consumer-groups.sh habits"},
    };
    sl_cli_t cli = {"group seek",
                    "GROUP --to WHERE [options]",
                    "Move a group's committed offsets (kafka-consumer-groups.sh --reset-offsets).\n"
                    "The group must have no active members. Unlike the Kafka tool it applies the "
                    "change\nunless --dry-run is given.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    1};
    group_opts_t o = {.partition = -1};
    sl_client_t *c = NULL;
    sl_client_group_desc_t *d = NULL;
    target_t *v = NULL;
    size_t n = 0;
    const char *group;
    int rc, ng;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = group_names(&cli, &o, &group, 1, &ng)) != SL_EXIT_OK)
        goto out;
    if (!o.to) {
        rc = sl_cli_usage(&cli, "where to? give --to beginning|end|OFFSET|@TIME");
        goto out;
    }
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_describe_group(c, group, &d) != SL_OK &&
        strstr(sl_client_errmsg(c), "does not exist") == NULL) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    if (d && d->nmembers > 0) {
        rc = sl_cli_fail(&cli,
                         "group '%s' has %zu active members: stop its consumers first (offsets "
                         "can only be moved while the group is empty)",
                         group, d->nmembers);
        goto out;
    }
    if (!d && o.ntopics == 0) {
        rc =
            sl_cli_fail(&cli, "group '%s' has no offsets yet: name the topics with --topic", group);
        goto out;
    }
    if (d) {
        rc = seek_targets(&cli, c, &o, d, &v, &n);
    } else {
        sl_client_group_desc_t empty = {0};
        rc = seek_targets(&cli, c, &o, &empty, &v, &n);
    }
    if (rc != SL_EXIT_OK)
        goto out;
    if (n == 0) {
        rc = sl_cli_fail(&cli, "nothing to move: the group has no offsets there (use --topic)");
        goto out;
    }
    if (!o.dry_run) {
        sl_client_tp_t *tps = sl_xcalloc(n, sizeof(*tps));
        for (size_t i = 0; i < n; i++)
            tps[i] = (sl_client_tp_t){v[i].topic, v[i].partition, v[i].new_offset};
        if (sl_client_alter_group_offsets(c, group, tps, n) != SL_OK)
            rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        free(tps);
        if (rc != SL_EXIT_OK)
            goto out;
    }
    seek_print(&cli, &o, group, v, n);
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].topic);
    free(v);
    sl_client_group_desc_free(d);
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

/* ================================================================ */
/* delete                                                           */
/* ================================================================ */

static int
group_delete(int argc, char **argv)
{
    static const sl_cli_opt_t opts[] = {GROUP_OPT};
    sl_cli_t cli = {"group delete",
                    "GROUP... [options]",
                    "Delete groups and their committed offsets (kafka-consumer-groups.sh "
                    "--delete).\nA group must have no active members.",
                    opts,
                    SL_ARRAY_LEN(opts),
                    0,
                    -1};
    group_opts_t o = {0};
    sl_client_t *c = NULL;
    const char *names[32];
    sl_json_t j;
    int rc, n;

    if ((rc = sl_cli_parse(&cli, argc, argv, on_opt, &o)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = group_names(&cli, &o, names, 32, &n)) != SL_EXIT_OK)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    sl_json_init(&j, stdout);
    if (cli.json) {
        sl_json_obj(&j, NULL);
        sl_json_arr(&j, "deleted");
    }
    for (int i = 0; i < n; i++) {
        if (sl_client_delete_group(c, names[i]) != SL_OK) {
            rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
            break;
        }
        if (cli.json)
            sl_json_str(&j, NULL, names[i]);
        else
            printf("deleted group %s\n", names[i]);
    }
    if (cli.json) {
        sl_json_end_arr(&j);
        sl_json_end_obj(&j);
    }
out:
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

static const sl_cli_verb_t verbs[] = {
    {"list", group_list, "list consumer groups"},
    {"describe", group_describe, "members, offsets, lag and capacity advice"},
    {"seek", group_seek, "move a group's committed offsets"},
    {"delete", group_delete, "delete groups and their offsets"},
};

int
sl_cmd_group(int argc, char **argv)
{
    return sl_cli_dispatch("group", verbs, SL_ARRAY_LEN(verbs), argc, argv);
}
