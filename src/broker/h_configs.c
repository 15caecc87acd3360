/*
 * h_configs.c -- DescribeConfigs, AlterConfigs, IncrementalAlterConfigs for
 * topics and for this broker (resource name = our id, or "" for the
 * cluster-wide default). The admin module owns definitions, validation and
 * sources; this file maps its entries to and from the wire.
 */
#include "broker/broker_int.h"

#include "base/log.h"

#define RES_TOPIC  2
#define RES_BROKER 4

/* True if name is this broker ("0") or the default resource (""). */
static bool
our_broker(sl_req_t *req, sl_str_t name, bool *is_default)
{
    char want[16];
    int n = snprintf(want, sizeof(want), "%d", req->b->node_id);

    *is_default = name.len == 0;
    return name.len == 0 || (name.len == n && memcmp(name.ptr, want, (size_t)n) == 0);
}

static void
put_entries(sl_req_t *req, sl_DescribeConfigsResponse_DescribeConfigsResult_t *res,
            const sl_cfg_entry_t *ents, int32_t n, bool docs)
{
    SL_KARR(req, res->Configs, n, sl_DescribeConfigsResponse_DescribeConfigsResourceResult_init);
    for (int32_t i = 0; i < n; i++) {
        sl_DescribeConfigsResponse_DescribeConfigsResourceResult_t *c = &res->Configs.items[i];
        const sl_cfg_entry_t *e = &ents[i];

        c->Name = sl_str_c(e->name);
        c->Value = sl_str_c(e->value);
        c->ReadOnly = e->read_only;
        c->IsDefault = e->is_default;
        c->ConfigSource = e->source;
        c->IsSensitive = e->is_sensitive;
        c->ConfigType = e->type;
        c->Documentation = docs ? sl_str_c(e->doc) : SL_STR_NULL;
        SL_KARR(req, c->Synonyms, e->n_synonyms,
                sl_DescribeConfigsResponse_DescribeConfigsSynonym_init);
        for (int32_t k = 0; k < e->n_synonyms; k++) {
            c->Synonyms.items[k].Name = sl_str_c(e->synonyms[k].name);
            c->Synonyms.items[k].Value = sl_str_c(e->synonyms[k].value);
            c->Synonyms.items[k].Source = e->synonyms[k].source;
        }
    }
}

int
sl_h_DescribeConfigs(sl_req_t *req)
{
    sl_broker_t *b = req->b;
    sl_DescribeConfigsRequest_t *dq = req->body;
    sl_DescribeConfigsResponse_t *resp = sl_req_resp_new(req);
    bool synonyms = req->hdr.api_version >= 1 && dq->IncludeSynonyms;
    bool docs = req->hdr.api_version >= 3 && dq->IncludeDocumentation;

    SL_KARR(req, resp->Results, dq->Resources.len,
            sl_DescribeConfigsResponse_DescribeConfigsResult_init);
    for (int32_t i = 0; i < dq->Resources.len; i++) {
        sl_DescribeConfigsRequest_DescribeConfigsResource_t *r = &dq->Resources.items[i];
        sl_DescribeConfigsResponse_DescribeConfigsResult_t *res = &resp->Results.items[i];
        const sl_str_t *keys = r->ConfigurationKeys.items;
        int32_t nkeys = r->ConfigurationKeys.len;
        sl_cfg_entry_t *ents = NULL;
        int32_t n = 0;
        bool dflt;

        res->ResourceType = r->ResourceType;
        res->ResourceName = r->ResourceName;
        if (r->ResourceType == RES_TOPIC) {
            const sl_topic_t *t = sl_topics_find(b->topics, r->ResourceName);

            if (t == NULL) {
                res->ErrorCode = SL_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                res->ErrorMessage = sl_str_c("Topic does not exist");
                continue;
            }
            sl_cfg_describe_topic(&b->cfg, &t->configs, keys, nkeys, synonyms, &req->arena, &ents,
                                  &n);
        } else if (r->ResourceType == RES_BROKER && our_broker(req, r->ResourceName, &dflt)) {
            sl_cfg_describe_broker(&b->cfg, dflt, keys, nkeys, synonyms, &req->arena, &ents, &n);
        } else {
            res->ErrorCode = SL_KERR_INVALID_REQUEST;
            res->ErrorMessage = sl_str_c("Unsupported resource");
            continue;
        }
        put_entries(req, res, ents, n, docs);
    }
    return SL_OK;
}

/* One resource of either alter API; fills code and message. */
static void
alter_resource(sl_req_t *req, int8_t type, sl_str_t name, const sl_cfg_alter_t *ents, size_t n,
               bool incremental, bool validate_only, int16_t *code, sl_str_t *msg)
{
    sl_broker_t *b = req->b;
    sl_errbuf_t eb = {{0}};
    int32_t bad = -1;
    bool dflt;
    int rc;

    if (type == RES_TOPIC && sl_internal_topic_refuse(name, code)) {
        *msg = sl_internal_topic_message(req, name, "reconfigure");
        return;
    }
    if (type == RES_TOPIC) {
        rc = sl_topics_alter_configs(b->topics, name, ents, n, incremental, validate_only, &bad,
                                     &eb);
        if (rc == SL_OK && !validate_only) {
            const sl_topic_t *t = sl_topics_find(b->topics, name);

            if (t)
                sl_btopic_apply_config(b, t);
        }
    } else if (type == RES_BROKER && our_broker(req, name, &dflt)) {
        rc = sl_topics_alter_broker_configs(b->topics, dflt, ents, n, incremental, validate_only,
                                            &bad, &eb);
        for (size_t i = 0; rc == SL_OK && !validate_only && i < sl_topics_count(b->topics); i++)
            sl_btopic_apply_config(b, sl_topics_at(b->topics, i));
        if (rc == SL_OK && !validate_only)
            sl_log_mgr_set_cleaner_tuning(b->logs, b->cfg.log_cleaner_dedupe_buffer_size,
                                          b->cfg.log_cleaner_io_buffer_load_factor,
                                          b->cfg.log_cleaner_io_max_bytes_per_second,
                                          b->cfg.log_cleaner_backoff_ms);
    } else {
        rc = sl_errbuf_set(&eb, SL_EINVALID_REQUEST, "Unsupported resource");
    }
    *code = sl_kerr_from_status(rc);
    *msg =
        *code == SL_KERR_NONE ? SL_STR_NULL : sl_str_c(sl_arena_printf(&req->arena, "%s", eb.msg));
}

/*
 * A resource named twice in one request is refused (Kafka answers a
 * duplicate resource with INVALID_REQUEST): each alteration persists the
 * store, and a broker resource reapplies every topic's config, so repeats
 * would multiply the work of one request. True if (type, name) was seen.
 */
static bool
seen_before(sl_req_t *req, sl_map_t *seen, int8_t type, sl_str_t name)
{
    size_t len = 1 + (size_t)SL_MAX(name.len, 0);
    char *key = sl_arena_alloc(&req->arena, len);

    key[0] = (char)type;
    if (len > 1)
        memcpy(key + 1, name.ptr, len - 1);
    if (sl_map_get(seen, key, len) != NULL)
        return true;
    (void)sl_map_put(seen, key, len, seen);
    return false;
}

static void
duplicate_resource(int16_t *code, sl_str_t *msg)
{
    *code = SL_KERR_INVALID_REQUEST;
    *msg = sl_str_c("Duplicate resource in the request");
}

int
sl_h_AlterConfigs(sl_req_t *req)
{
    sl_AlterConfigsRequest_t *aq = req->body;
    sl_AlterConfigsResponse_t *resp = sl_req_resp_new(req);
    sl_map_t seen;

    sl_map_init(&seen);
    SL_KARR(req, resp->Responses, aq->Resources.len,
            sl_AlterConfigsResponse_AlterConfigsResourceResponse_init);
    for (int32_t i = 0; i < aq->Resources.len; i++) {
        sl_AlterConfigsRequest_AlterConfigsResource_t *r = &aq->Resources.items[i];
        sl_AlterConfigsResponse_AlterConfigsResourceResponse_t *res = &resp->Responses.items[i];
        size_t n = (size_t)SL_MAX(r->Configs.len, 0);
        sl_cfg_alter_t *ents = sl_arena_array(&req->arena, n, sizeof(*ents));

        for (size_t k = 0; k < n; k++) {
            ents[k].name = r->Configs.items[k].Name;
            ents[k].value = r->Configs.items[k].Value;
            ents[k].op = SL_CFG_OP_SET;
        }
        res->ResourceType = r->ResourceType;
        res->ResourceName = r->ResourceName;
        if (seen_before(req, &seen, r->ResourceType, r->ResourceName))
            duplicate_resource(&res->ErrorCode, &res->ErrorMessage);
        else
            alter_resource(req, r->ResourceType, r->ResourceName, ents, n, false, aq->ValidateOnly,
                           &res->ErrorCode, &res->ErrorMessage);
    }
    sl_map_deinit(&seen);
    return SL_OK;
}

int
sl_h_IncrementalAlterConfigs(sl_req_t *req)
{
    sl_IncrementalAlterConfigsRequest_t *aq = req->body;
    sl_IncrementalAlterConfigsResponse_t *resp = sl_req_resp_new(req);
    sl_map_t seen;

    sl_map_init(&seen);
    SL_KARR(req, resp->Responses, aq->Resources.len,
            sl_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse_init);
    for (int32_t i = 0; i < aq->Resources.len; i++) {
        sl_IncrementalAlterConfigsRequest_AlterConfigsResource_t *r = &aq->Resources.items[i];
        sl_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse_t *res =
            &resp->Responses.items[i];
        size_t n = (size_t)SL_MAX(r->Configs.len, 0);
        sl_cfg_alter_t *ents = sl_arena_array(&req->arena, n, sizeof(*ents));

        for (size_t k = 0; k < n; k++) {
            ents[k].name = r->Configs.items[k].Name;
            ents[k].value = r->Configs.items[k].Value;
            ents[k].op = r->Configs.items[k].ConfigOperation;
        }
        res->ResourceType = r->ResourceType;
        res->ResourceName = r->ResourceName;
        if (seen_before(req, &seen, r->ResourceType, r->ResourceName))
            duplicate_resource(&res->ErrorCode, &res->ErrorMessage);
        else
            alter_resource(req, r->ResourceType, r->ResourceName, ents, n, true, aq->ValidateOnly,
                           &res->ErrorCode, &res->ErrorMessage);
    }
    sl_map_deinit(&seen);
    return SL_OK;
}
