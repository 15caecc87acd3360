/*
 * describe.c -- DescribeConfigs entries for topics and brokers.
 *
 * Each entry carries the effective value, where it came from, and (v1+)
 * the synonyms Kafka lists: for a topic config, the topic override and
 * then every broker synonym in every layer that sets it plus its broker
 * default; for a broker config, its own family (log.retention.ms/minutes/
 * hours, log.roll.ms/hours, ...) the same way. The entry's source is the
 * first synonym's. Password values are never returned.
 */
#include "admin/admin_int.h"

typedef struct syn_list {
    sl_cfg_synonym_t *v;
    int32_t n, cap;
    sl_arena_t *a;
    bool sensitive;
} syn_list_t;

static void
syn_add(syn_list_t *l, const char *name, const char *value, sl_cfg_source_t src)
{
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 8;
        sl_cfg_synonym_t *v = sl_arena_array(l->a, (size_t)cap, sizeof(*v));

        if (l->n)
            memcpy(v, l->v, (size_t)l->n * sizeof(*v));
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (sl_cfg_synonym_t){
        .name = name,
        .value = l->sensitive || value == NULL ? NULL : sl_arena_strdup(l->a, sl_str_c(value)),
        .source = (int8_t)src,
    };
}

/* Adds every layer that sets broker config `name`, then its default.
 * skip_broker leaves the per-broker layer out (the cluster-default view). */
static void
syn_add_broker(syn_list_t *l, const sl_broker_config_t *b, const char *name, bool skip_broker)
{
    const sl_cfgdef_t *bd = sl_cfgdef_find(SL_CFG_BROKER, name);
    const char *v;

    if (!skip_broker && (v = sl_props_get(&b->dyn_broker, name)) != NULL)
        syn_add(l, name, v, SL_CFG_SRC_DYNAMIC_BROKER);
    if ((v = sl_props_get(&b->dyn_default, name)) != NULL)
        syn_add(l, name, v, SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER);
    if ((v = sl_props_get(&b->static_props, name)) != NULL)
        syn_add(l, name, v, SL_CFG_SRC_STATIC_BROKER);
    if (bd && bd->dflt)
        syn_add(l, name, bd->dflt, SL_CFG_SRC_DEFAULT);
}

/* Which definitions of a scope a request names; NULL = all. One binary
 * search per requested name, so a huge name list costs O(n log m). */
static bool *
wanted_set(sl_cfg_scope_t scope, const sl_str_t *names, int32_t n_names, sl_arena_t *a)
{
    size_t nd;
    const sl_cfgdef_t *defs = sl_cfgdef_all(scope, &nd);
    bool *w;

    if (n_names < 0)
        return NULL;
    w = sl_arena_zalloc(a, nd * sizeof(bool));
    for (int32_t i = 0; i < n_names; i++) {
        const sl_cfgdef_t *d = sl_cfgdef_find_str(scope, names[i]);

        if (d)
            w[d - defs] = true;
    }
    return w;
}

static sl_cfg_entry_t *
entry_init(sl_cfg_entry_t *e, const sl_cfgdef_t *d, const char *value, sl_cfg_source_t src,
           sl_arena_t *a)
{
    bool sens = sl_cfgdef_sensitive(d);

    *e = (sl_cfg_entry_t){
        .name = d->name,
        .value = sens || value == NULL ? NULL : sl_arena_strdup(a, sl_str_c(value)),
        .source = (int8_t)src,
        .is_default = src == SL_CFG_SRC_DEFAULT,
        .read_only = d->scope == SL_CFG_BROKER && d->mode == SL_CFG_READ_ONLY,
        .is_sensitive = sens,
        .type = (int8_t)d->type,
        .doc = d->doc,
    };
    return e;
}

void
sl_cfg_describe_topic(const sl_broker_config_t *b, const sl_props_t *ov, const sl_str_t *names,
                      int32_t n_names, bool synonyms, sl_arena_t *a, sl_cfg_entry_t **out,
                      int32_t *n_out)
{
    size_t nd;
    const sl_cfgdef_t *defs = sl_cfgdef_all(SL_CFG_TOPIC, &nd);
    sl_cfg_entry_t *v = sl_arena_array(a, nd, sizeof(*v));
    const bool *want = wanted_set(SL_CFG_TOPIC, names, n_names, a);
    int32_t n = 0;

    for (size_t i = 0; i < nd; i++) {
        const sl_cfgdef_t *d = &defs[i];
        sl_cfg_source_t src;
        char buf[64];
        const char *val;
        sl_cfg_entry_t *e;

        if (want && !want[i])
            continue;
        val = sl_topic_config_effective(b, ov, d, buf, sizeof(buf), &src);
        e = entry_init(&v[n++], d, val, src, a);
        if (!synonyms)
            continue;
        syn_list_t l = {.a = a, .sensitive = e->is_sensitive};
        const char *o = ov ? sl_props_get(ov, d->name) : NULL;

        if (o)
            syn_add(&l, d->name, o, SL_CFG_SRC_DYNAMIC_TOPIC);
        for (int k = 0; b && k < SL_CFG_MAX_SYNONYMS && d->synonyms[k]; k++)
            syn_add_broker(&l, b, d->synonyms[k], false);
        e->synonyms = l.v;
        e->n_synonyms = l.n;
    }
    *out = v;
    *n_out = n;
}

/*
 * Kafka's broker synonym families: any member of a ms/minutes/hours family
 * lists the whole family; log.flush.interval.ms falls back to
 * log.flush.scheduler.interval.ms (but not the other way round). The topic
 * table already holds these families as synonym lists.
 */
static void
broker_family(const char *name, const char *fam[SL_CFG_MAX_SYNONYMS])
{
    size_t nd;
    const sl_cfgdef_t *defs = sl_cfgdef_all(SL_CFG_TOPIC, &nd);

    memset(fam, 0, SL_CFG_MAX_SYNONYMS * sizeof(*fam));
    fam[0] = name;
    for (size_t i = 0; i < nd; i++) {
        const char *const *s = defs[i].synonyms;

        if (s[1] == NULL)
            continue;
        for (int k = 0; k < SL_CFG_MAX_SYNONYMS && s[k]; k++) {
            if (strcmp(s[k], name) == 0 && (k == 0 || sl_topic_config_synonym_scale(name) != 1)) {
                memcpy(fam, s, SL_CFG_MAX_SYNONYMS * sizeof(*fam));
                return;
            }
        }
    }
}

void
sl_cfg_describe_broker(const sl_broker_config_t *b, bool default_resource, const sl_str_t *names,
                       int32_t n_names, bool synonyms, sl_arena_t *a, sl_cfg_entry_t **out,
                       int32_t *n_out)
{
    size_t nd;
    const sl_cfgdef_t *defs = sl_cfgdef_all(SL_CFG_BROKER, &nd);
    sl_cfg_entry_t *v = sl_arena_array(a, nd, sizeof(*v));
    const bool *want = wanted_set(SL_CFG_BROKER, names, n_names, a);
    int32_t n = 0;

    for (size_t i = 0; i < nd; i++) {
        const sl_cfgdef_t *d = &defs[i];
        const char *fam[SL_CFG_MAX_SYNONYMS];
        const char *val;
        sl_cfg_source_t src;
        sl_cfg_entry_t *e;

        if (want && !want[i])
            continue;
        if (default_resource) {
            /* The "" resource shows only what is set cluster-wide. */
            if ((val = sl_props_get(&b->dyn_default, d->name)) == NULL)
                continue;
            src = SL_CFG_SRC_DYNAMIC_DEFAULT_BROKER;
        } else {
            val = sl_broker_config_value(b, d->name, &src);
        }
        e = entry_init(&v[n++], d, val, src, a);

        syn_list_t l = {.a = a, .sensitive = e->is_sensitive};
        broker_family(d->name, fam);
        for (int k = 0; k < SL_CFG_MAX_SYNONYMS && fam[k]; k++)
            syn_add_broker(&l, b, fam[k], default_resource);
        /* Kafka reports the strongest synonym's source for the entry. */
        if (l.n > 0)
            e->source = l.v[0].source;
        e->is_default = e->source == SL_CFG_SRC_DEFAULT;
        if (synonyms) {
            e->synonyms = l.v;
            e->n_synonyms = l.n;
        }
    }
    *out = v;
    *n_out = n;
}
