/*
 * properties.c -- Java .properties files and --override layering.
 *
 * The parser follows java.util.Properties.load: a logical line is one or
 * more natural lines joined where a line ends in an odd number of
 * backslashes; each natural line loses its leading blanks; '#' or '!' as
 * the first non-blank of a logical line makes it a comment; the key ends at
 * the first unescaped '=', ':' or blank, then blanks and at most one '='/':'
 * are skipped and the rest is the value (trailing blanks included -- the
 * config layer trims, as Kafka does). One deliberate difference: bytes
 * above 0x7f are kept as they are (UTF-8 files work), where Java would read
 * them as Latin-1.
 */
#include "admin/admin_int.h"

/* ======================================================================== */
/* The ordered key/value list                                               */
/* ======================================================================== */

void
sl_props_init(sl_props_t *p)
{
    memset(p, 0, sizeof(*p));
}

void
sl_props_deinit(sl_props_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

static sl_prop_t *
props_find(const sl_props_t *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    }
    return NULL;
}

const char *
sl_props_get(const sl_props_t *p, const char *key)
{
    const sl_prop_t *e = props_find(p, key);

    return e ? e->value : NULL;
}

static void
props_set_line(sl_props_t *p, const char *key, const char *value, int line)
{
    sl_prop_t *e = props_find(p, key);

    if (e) {
        free(e->value);
        e->value = sl_xstrdup(value);
        e->line = line;
        return;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = sl_xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n++] = (sl_prop_t){sl_xstrdup(key), sl_xstrdup(value), line};
}

void
sl_props_set(sl_props_t *p, const char *key, const char *value)
{
    props_set_line(p, key, value, 0);
}

bool
sl_props_unset(sl_props_t *p, const char *key)
{
    sl_prop_t *e = props_find(p, key);

    if (!e)
        return false;
    free(e->key);
    free(e->value);
    /* Keep the order of the others: later code prints in file order. */
    memmove(e, e + 1, (size_t)(&p->v[p->n] - (e + 1)) * sizeof(*e));
    p->n--;
    return true;
}

void
sl_props_copy(sl_props_t *dst, const sl_props_t *src)
{
    sl_props_deinit(dst);
    for (size_t i = 0; i < src->n; i++)
        props_set_line(dst, src->v[i].key, src->v[i].value, src->v[i].line);
}

/* ======================================================================== */
/* Parsing                                                                  */
/* ======================================================================== */

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads \uXXXX at s (s[0] == 'u'); returns the code unit or -1. */
static int32_t
read_u4(const char *s, size_t len)
{
    int32_t v = 0;

    if (len < 5)
        return -1;
    for (int i = 1; i <= 4; i++) {
        int h = hexval(s[i]);

        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Java's loadConvert: undoes escapes of s[0..len) into a heap string.
 * Output is never longer than input (\uXXXX is 6 bytes in, <= 4 out). */
static int
unescape(const char *s, size_t len, int line, char **out, sl_errbuf_t *err)
{
    char *o = sl_xmalloc(len + 1);
    size_t i = 0, k = 0;

    while (i < len) {
        char c = s[i++];

        if (c != '\\' || i == len) {
            /* A lone trailing backslash is dropped, as Java does. */
            if (c != '\\')
                o[k++] = c;
            continue;
        }
        c = s[i++];
        if (c == 'u') {
            int32_t u = read_u4(s + i - 1, len - (i - 1));

            if (u < 0) {
                free(o);
                return sl_errbuf_set(err, SL_EINVAL, "line %d: Malformed \\uxxxx encoding.", line);
            }
            i += 4;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < len && s[i] == '\\') {
                int32_t lo = read_u4(s + i + 1, len - (i + 1));

                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                    i += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd; /* an unpaired surrogate has no UTF-8 form */
            k += put_utf8(o + k, cp);
            continue;
        }
        switch (c) {
        case 't':
            c = '\t';
            break;
        case 'r':
            c = '\r';
            break;
        case 'n':
            c = '\n';
            break;
        case 'f':
            c = '\f';
            break;
        default:
            break;
        }
        o[k++] = c;
    }
    o[k] = '\0';
    *out = o;
    return SL_OK;
}

/* Splits one logical line (escapes still in) into key and value. */
static int
parse_logical(sl_props_t *p, const char *s, size_t len, int line, sl_errbuf_t *err)
{
    size_t klen = 0, vstart = len;
    bool sep = false, bs = false;
    char *key = NULL, *val = NULL;
    int rc;

    while (klen < len) {
        char c = s[klen];

        if ((c == '=' || c == ':') && !bs) {
            vstart = klen + 1;
            sep = true;
            break;
        }
        if (is_blank(c) && !bs) {
            vstart = klen + 1;
            break;
        }
        bs = c == '\\' ? !bs : false;
        klen++;
    }
    while (vstart < len) {
        char c = s[vstart];

        if (!is_blank(c)) {
            if (sep || (c != '=' && c != ':'))
                break;
            sep = true;
        }
        vstart++;
    }
    if ((rc = unescape(s, klen, line, &key, err)) != SL_OK)
        return rc;
    if ((rc = unescape(s + vstart, len - vstart, line, &val, err)) != SL_OK) {
        free(key);
        return rc;
    }
    props_set_line(p, key, val, line);
    free(key);
    free(val);
    return SL_OK;
}

int
sl_props_parse(sl_props_t *p, const char *text, size_t len, sl_errbuf_t *err)
{
    sl_buf_t logical;
    size_t i = 0;
    int line = 0, start_line = 0, rc = SL_OK;
    bool cont = false;

    logical.data = NULL;
    logical.len = logical.cap = 0;
    while (i < len) {
        size_t b = i, e;
        size_t nbs = 0;

        /* One natural line: [b, e), then its terminator (\n, \r or \r\n). */
        while (i < len && text[i] != '\n' && text[i] != '\r')
            i++;
        e = i;
        if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
            i++;
        if (i < len)
            i++;
        line++;

        while (b < e && is_blank(text[b]))
            b++;
        if (!cont) {
            if (b == e || text[b] == '#' || text[b] == '!')
                continue;
            logical.len = 0;
            start_line = line;
        }
        for (size_t k = e; k > b && text[k - 1] == '\\'; k--)
            nbs++;
        cont = nbs % 2 == 1;
        sl_buf_append(&logical, text + b, (e - b) - (cont ? 1 : 0));
        if (cont && i < len)
            continue;
        cont = false;
        rc = parse_logical(p, (const char *)logical.data, logical.len, start_line, err);
        if (rc != SL_OK)
            break;
    }
    sl_buf_deinit(&logical);
    return rc;
}

int
sl_props_load(sl_props_t *p, const char *path, sl_errbuf_t *err)
{
    char *text;
    size_t len;
    int rc;

    if ((rc = sl_meta_read_file(path, &text, &len, err)) != SL_OK)
        return rc;
    rc = sl_props_parse(p, text, len, err);
    if (rc != SL_OK && err) {
        char msg[sizeof(err->msg)];

        snprintf(msg, sizeof(msg), "%s", err->msg);
        sl_errbuf_set(err, rc, "%s: %s", path, msg);
    }
    free(text);
    return rc;
}

int
sl_props_override(sl_props_t *p, const char *kv, sl_errbuf_t *err)
{
    const char *eq = strchr(kv, '=');
    char *key;

    /* Split at the first '=' only, so values may hold '=' (JAAS lines). */
    if (eq == NULL || eq == kv)
        return sl_errbuf_set(
            err, SL_EINVAL, "invalid --override '%s': expected key=value with a non-empty key", kv);
    key = sl_xstrndup(kv, (size_t)(eq - kv));
    props_set_line(p, key, eq + 1, 0);
    free(key);
    return SL_OK;
}
