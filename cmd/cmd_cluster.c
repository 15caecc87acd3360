/*
 * cmd_cluster.c -- `sluice cluster info`: cluster id, brokers (the
 * controller marked *) and topic/partition counts, from one Metadata call.
 */
#include "cli.h"
#include "json.h"

static int
no_opts(sl_cli_t *cli, void *ctx, int id, const char *arg)
{
    return SL_EXIT_USAGE;
}

static int
cluster_info(int argc, char **argv)
{
    sl_cli_t cli = {"cluster info",
                    "[options]",
                    "Show the cluster id, its brokers (the controller marked *) and how many\n"
                    "topics and partitions it holds.",
                    NULL,
                    0,
                    0,
                    0};
    sl_client_t *c = NULL;
    sl_client_meta_t *m = NULL;
    sl_table_t t;
    int rc, nparts = 0, ntopics = 0;

    sl_table_init(&t, 3);
    if ((rc = sl_cli_parse(&cli, argc, argv, no_opts, NULL)) != SL_CLI_CONTINUE)
        goto out;
    if ((rc = sl_cli_connect(&cli, &c)) != SL_EXIT_OK)
        goto out;
    if (sl_client_metadata(c, NULL, &m) != SL_OK) {
        rc = sl_cli_fail(&cli, "%s", sl_client_errmsg(c));
        goto out;
    }
    /* Internal topics count too: they hold partitions like any other. */
    for (int i = 0; i < m->ntopics; i++) {
        ntopics++;
        nparts += m->topics[i].nparts;
    }
    if (cli.json) {
        sl_json_t j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j, NULL);
        sl_json_str(&j, "cluster_id", m->cluster_id);
        sl_json_int(&j, "controller_id", m->controller_id);
        sl_json_arr(&j, "brokers");
        for (int i = 0; i < m->nbrokers; i++) {
            sl_json_obj(&j, NULL);
            sl_json_int(&j, "id", m->brokers[i].id);
            sl_json_str(&j, "host", m->brokers[i].host);
            sl_json_int(&j, "port", m->brokers[i].port);
            sl_json_bool(&j, "controller", m->brokers[i].id == m->controller_id);
            sl_json_end_obj(&j);
        }
        sl_json_end_arr(&j);
        sl_json_int(&j, "topics", ntopics);
        sl_json_int(&j, "partitions", nparts);
        sl_json_end_obj(&j);
    } else {
        printf("CLUSTER     %s\n", m->cluster_id ? m->cluster_id : "-");
        printf("CONTROLLER  %d\n", (int)m->controller_id);
        printf("TOPICS      %d (%d partitions)\n\nBROKERS\n", ntopics, nparts);
        sl_table_cell(&t, "ID");
        sl_table_cell(&t, "HOST");
        sl_table_cell(&t, "PORT");
        for (int i = 0; i < m->nbrokers; i++) {
            sl_table_cell(&t, "%d%s", (int)m->brokers[i].id,
                          m->brokers[i].id == m->controller_id ? "*" : "");
            sl_table_cell(&t, "%s", m->brokers[i].host);
            sl_table_cell(&t, "%d", m->brokers[i].port);
        }
        sl_table_print(&t, stdout);
    }
out:
    sl_table_deinit(&t);
    sl_client_meta_free(m);
    sl_client_free(c);
    sl_cli_deinit(&cli);
    return rc;
}

static const sl_cli_verb_t verbs[] = {
    {"info", cluster_info, "cluster id, brokers, controller, topic counts"},
};

int
sl_cmd_cluster(int argc, char **argv)
{
    return sl_cli_dispatch("cluster", verbs, SL_ARRAY_LEN(verbs), argc, argv);
}
