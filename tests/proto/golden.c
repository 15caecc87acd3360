/*
 * golden.c -- shared loader for the golden-frame tests (golden.h).
 */
#include "golden.h"

#include "test.h"

#include "proto/gen/kmsgs.h"

#include <ctype.h>

static void
golden_path(char *out, size_t n, const char *name)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dirlen = slash ? (int)(slash - file) : 1;

    snprintf(out, n, "%.*s/golden/%s", dirlen, slash ? file : ".", name);
}

void
sl_golden_read_hex(const char *name, sl_buf_t *out)
{
    char path[512];
    FILE *f;
    int c, hi = -1;

    golden_path(path, sizeof(path), name);
    f = fopen(path, "r");
    if (f == NULL)
        sl_test_fail(__FILE__, __LINE__, "cannot open %s", path);
    while ((c = fgetc(f)) != EOF) {
        int v;

        if (isspace(c))
            continue;
        v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
        SL_CHECK(v >= 0 && v < 16);
        if (hi < 0) {
            hi = v;
        } else {
            uint8_t byte = (uint8_t)(hi << 4 | v);

            sl_buf_append(out, &byte, 1);
            hi = -1;
        }
    }
    fclose(f);
    SL_CHECK(hi < 0);
}

void
sl_golden_load(sl_golden_t *g, const char *name)
{
    sl_reader_t rd;
    sl_buf_t out = SL_BUF_INIT;
    sl_writer_t wr = {&out};
    const sl_api_desc_t *api;
    const uint8_t *body_at;

    memset(g, 0, sizeof(*g));
    sl_arena_init(&g->a, 4096);
    sl_golden_read_hex(name, &g->raw);
    SL_CHECK(g->raw.len > 12);
    SL_CHECK_EQ(sl_be32(g->raw.data), g->raw.len - 4);
    sl_rd_init(&rd, g->raw.data + 4, g->raw.len - 4);
    SL_CHECK_OK(sl_kheader_request_decode(&rd, &g->a, &g->h));
    body_at = rd.p;
    api = sl_api_lookup(g->h.api_key);
    SL_CHECK(api != NULL);
    g->md = api->request;
    g->body = sl_arena_alloc(&g->a, g->md->root->size);
    SL_CHECK_OK(sl_kdecode(g->md, g->body, g->h.api_version, &rd, &g->a));
    SL_CHECK_EQ(sl_rd_left(&rd), 0);

    (void)sl_buf_extend(&out, 4); /* size prefix, patched below */
    sl_kheader_request_encode(&g->h, &wr);
    sl_kencode(g->md, g->body, g->h.api_version, &wr);
    sl_put_be32(out.data, (uint32_t)(out.len - 4));
    SL_CHECK_EQ(out.len, g->raw.len);
    SL_CHECK_MEM(out.data, g->raw.data, out.len);
    SL_CHECK_EQ(sl_ksize(g->md, g->body, g->h.api_version),
                (size_t)(g->raw.data + g->raw.len - body_at));
    sl_buf_deinit(&out);
}

void
sl_golden_free(sl_golden_t *g)
{
    sl_arena_deinit(&g->a);
    sl_buf_deinit(&g->raw);
}
