/*
 * configdef.c -- config definitions: lookup, validation, canonical values.
 *
 * Values travel as strings everywhere in the admin module (that is how
 * properties files, the wire and the metadata file carry them); this file
 * turns a user's string into the one canonical spelling of its value, or
 * into Kafka's error message. Typed readers then parse canonical strings,
 * which cannot fail.
 */
#include "admin/admin_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "admin/configdef_table.h"

/* ======================================================================== */
/* Lookup                                                                   */
/* ======================================================================== */

const sl_cfgdef_t *
sl_cfgdef_all(sl_cfg_scope_t scope, size_t *n)
{
    if (scope == SL_CFG_TOPIC) {
        *n = SL_ARRAY_LEN(topic_defs);
        return topic_defs;
    }
    *n = SL_ARRAY_LEN(broker_defs);
    return broker_defs;
}

const sl_cfgdef_t *
sl_cfgdef_find_str(sl_cfg_scope_t scope, sl_str_t name)
{
    size_t n, lo = 0, hi;
    const sl_cfgdef_t *defs = sl_cfgdef_all(scope, &n);

    if (name.len <= 0)
        return NULL;
    /* The tables are sorted (a unit test keeps them so): binary search. */
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t dl = strlen(defs[mid].name);
        int c = memcmp(defs[mid].name, name.ptr, SL_MIN(dl, (size_t)name.len));

        if (c == 0)
            c = (dl > (size_t)name.len) - (dl < (size_t)name.len);
        if (c == 0)
            return &defs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const sl_cfgdef_t *
sl_cfgdef_find(sl_cfg_scope_t scope, const char *name)
{
    return sl_cfgdef_find_str(scope, sl_str_c(name));
}

bool
sl_cfgdef_sensitive(const sl_cfgdef_t *d)
{
    return d->type == SL_CFG_PASSWORD;
}

/* ======================================================================== */
/* Number formatting and parsing as Java does it                            */
/* ======================================================================== */

/* Integer.parseInt / Long.parseLong: optional sign, decimal digits only. */
static bool
parse_java_long(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    uint64_t v = 0, limit;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (*p == '\0')
        return false;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (limit - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Double.parseDouble, minus hex floats; "NaN"/"Infinity" as Java spells them. */
static bool
parse_java_double(const char *s, double *out)
{
    char *end;

    if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "+Infinity") == 0 ||
        strcmp(s, "-Infinity") == 0) {
        *out = s[0] == 'N' ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
        return true;
    }
    for (const char *p = s; *p; p++) {
        if (!(isdigit((unsigned char)*p) || strchr("+-.eEdDfF", *p)))
            return false;
    }
    errno = 0;
    *out = strtod(s, &end);
    /* Java allows a trailing type suffix (1.5d, 2f). */
    if (end != s && (*end == 'd' || *end == 'D' || *end == 'f' || *end == 'F'))
        end++;
    return end != s && *end == '\0' && errno != ERANGE;
}

/*
 * Double.toString: the shortest digits that read back to the same double,
 * plain notation for 1e-3 <= |x| < 1e7, else d.dddE[-]n; always at least
 * one digit after the point. Kafka shows doubles this way in DescribeConfigs.
 */
void
sl_cfg_format_double(double x, char *out, size_t cap)
{
    char digits[40], *e;
    int prec, exp10, nd, k = 0;
    char mant[24];

    if (isnan(x) || isinf(x)) {
        snprintf(out, cap, "%s", isnan(x) ? "NaN" : (x < 0 ? "-Infinity" : "Infinity"));
        return;
    }
    if (x == 0) {
        snprintf(out, cap, "%s", signbit(x) ? "-0.0" : "0.0");
        return;
    }
    for (prec = 0; prec < 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec, x);
        if (strtod(digits, NULL) == x)
            break;
    }
    /* digits = [-]d[.ddd]e[+-]NN: collect the mantissa digits and exponent. */
    e = strchr(digits, 'e');
    exp10 = atoi(e + 1);
    *e = '\0';
    for (const char *p = digits; *p; p++) {
        if (isdigit((unsigned char)*p))
            mant[k++] = *p;
    }
    while (k > 1 && mant[k - 1] == '0')
        k--;
    mant[k] = '\0';
    nd = k;

    size_t o = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 < cap)                                                                           \
            out[o++] = (c);                                                                        \
    } while (0)
    if (x < 0)
        PUT('-');
    if (fabs(x) >= 1e-3 && fabs(x) < 1e7) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                PUT(i < nd ? mant[i] : '0');
            PUT('.');
            if (exp10 + 1 >= nd)
                PUT('0');
            for (int i = exp10 + 1; i < nd; i++)
                PUT(mant[i]);
        } else {
            PUT('0');
            PUT('.');
            for (int i = 0; i < -exp10 - 1; i++)
                PUT('0');
            for (int i = 0; i < nd; i++)
                PUT(mant[i]);
        }
        out[o] = '\0';
    } else {
        PUT(mant[0]);
        PUT('.');
        if (nd == 1)
            PUT('0');
        for (int i = 1; i < nd; i++)
            PUT(mant[i]);
        out[o] = '\0';
        snprintf(out + o, cap > o ? cap - o : 0, "E%d", exp10);
    }
#undef PUT
}

/* ======================================================================== */
/* Validation                                                               */
/* ======================================================================== */

static const char *
shown(const sl_cfgdef_t *d, const char *v)
{
    return sl_cfgdef_sensitive(d) ? "[hidden]" : v;
}

/* "a|b|c" contains s (whole item)? */
static bool
choice_has(const char *choices, const char *s, size_t len)
{
    const char *p = choices;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);

        if (n == len && memcmp(p, s, len) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int
bad_choice(const sl_cfgdef_t *d, const char *raw, sl_errbuf_t *err)
{
    char list[512];
    size_t o = 0;

    for (const char *p = d->choices; *p && o + 3 < sizeof(list); p++) {
        if (*p == '|') {
            list[o++] = ',';
            list[o++] = ' ';
        } else {
            list[o++] = *p;
        }
    }
    list[o] = '\0';
    return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                         "Invalid value %s for configuration %s: String must be one of: %s",
                         shown(d, raw), d->name, list);
}

static bool
version_ok(const char *v)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(metadata_versions); i++) {
        const char *m = metadata_versions[i];
        const char *iv = strstr(m, "-IV");
        size_t shortlen = iv ? (size_t)(iv - m) : strlen(m);

        if (strcmp(m, v) == 0 || (strlen(v) == shortlen && memcmp(m, v, shortlen) == 0))
            return true;
    }
    /* Kafka also takes longer release strings ("0.10.0.1", "2.8.1") and
     * keeps only the leading 3 (0.x) or 2 segments. */
    int want = strncmp(v, "0.", 2) == 0 ? 3 : 2, dots = 0;
    size_t cut = 0;
    for (size_t i = 0; v[i]; i++) {
        if (v[i] == '.' && ++dots == want) {
            cut = i;
            break;
        }
    }
    if (cut == 0)
        return false;
    for (size_t i = 0; i < SL_ARRAY_LEN(metadata_versions); i++) {
        const char *m = metadata_versions[i];
        const char *iv = strstr(m, "-IV");
        size_t shortlen = iv ? (size_t)(iv - m) : strlen(m);

        if (cut == shortlen && memcmp(m, v, cut) == 0)
            return true;
    }
    return false;
}

/* "*" or P:B,P:B with decimal P and B; whitespace around items allowed. */
static bool
throttled_ok(const char *v)
{
    const char *p = v;

    if (strcmp(v, "*") == 0 || *v == '\0')
        return true;
    for (;;) {
        int digits = 0;

        while (*p == ' ' || *p == '\t')
            p++;
        for (; isdigit((unsigned char)*p); p++)
            digits++;
        if (digits == 0 || *p++ != ':')
            return false;
        for (digits = 0; isdigit((unsigned char)*p); p++)
            digits++;
        if (digits == 0)
            return false;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return true;
        if (*p++ != ',')
            return false;
    }
}

static int
check_range(const sl_cfgdef_t *d, const char *raw, int64_t v, sl_errbuf_t *err)
{
    if (d->valid == SL_CFGV_GZIP_LEVEL && !(v == -1 || (v >= 1 && v <= 9)))
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Value must be between 1 "
                             "and 9, or -1",
                             raw, d->name);
    if (d->valid != SL_CFGV_RANGE)
        return SL_OK;
    if (d->hi != INT64_MAX && (v < d->lo || v > d->hi))
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Value must be in the range "
                             "[%" PRId64 ", %" PRId64 "]",
                             raw, d->name, d->lo, d->hi);
    if (v < d->lo)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Value must be at least "
                             "%" PRId64,
                             raw, d->name, d->lo);
    return SL_OK;
}

static int
canon_integer(const sl_cfgdef_t *d, const char *t, char **out, sl_errbuf_t *err)
{
    static const char *const tname[] = {
        [SL_CFG_INT] = "INT", [SL_CFG_SHORT] = "SHORT", [SL_CFG_LONG] = "LONG"};
    int64_t v;
    bool ok = parse_java_long(t, &v);
    int rc;

    if (ok && d->type == SL_CFG_INT)
        ok = v >= INT32_MIN && v <= INT32_MAX;
    if (ok && d->type == SL_CFG_SHORT)
        ok = v >= INT16_MIN && v <= INT16_MAX;
    if (!ok)
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Not a number of type %s", t,
                             d->name, tname[d->type]);
    if ((rc = check_range(d, t, v, err)) != SL_OK)
        return rc;
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    *out = sl_xstrdup(buf);
    return SL_OK;
}

static int
canon_double(const sl_cfgdef_t *d, const char *t, char **out, sl_errbuf_t *err)
{
    double v;
    char buf[48];

    if (!parse_java_double(t, &v))
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Not a number of type DOUBLE",
                             t, d->name);
    /* NaN passes Kafka's range check by accident; it makes no sense here. */
    if (d->valid == SL_CFGV_DRANGE && (isnan(v) || v < d->dlo || v > d->dhi)) {
        char lo[32], hi[32];

        sl_cfg_format_double(d->dlo, lo, sizeof(lo));
        sl_cfg_format_double(d->dhi, hi, sizeof(hi));
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: Value must be in the range "
                             "[%s, %s]",
                             t, d->name, lo, hi);
    }
    sl_cfg_format_double(v, buf, sizeof(buf));
    *out = sl_xstrdup(buf);
    return SL_OK;
}

/* Lists: split on commas, trim items, validate each, join with ",". */
static int
canon_list(const sl_cfgdef_t *d, const char *t, char **out, sl_errbuf_t *err)
{
    size_t len = strlen(t), o = 0;
    char *res = sl_xmalloc(len + 1);
    const char *p = t;

    res[0] = '\0';
    if (d->valid == SL_CFGV_THROTTLED && !throttled_ok(t)) {
        free(res);
        return sl_errbuf_set(err, SL_EINVALID_CONFIG,
                             "Invalid value %s for configuration %s: must be the literal '*' or "
                             "a list of replicas in the following format: "
                             "[partitionId]:[brokerId],[partitionId]:[brokerId],...",
                             t, d->name);
    }
    while (len > 0) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;

        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (d->valid == SL_CFGV_LIST_ENUM && !choice_has(d->choices, a, (size_t)(b - a))) {
            char item[128];

            snprintf(item, sizeof(item), "%.*s", (int)SL_MIN(b - a, 120), a);
            free(res);
            return bad_choice(d, item, err);
        }
        if (o > 0)
            res[o++] = ',';
        memcpy(res + o, a, (size_t)(b - a));
        o += (size_t)(b - a);
        if (!comma)
            break;
        p = comma + 1;
    }
    res[o] = '\0';
    *out = res;
    return SL_OK;
}

int
sl_cfgdef_canonical(const sl_cfgdef_t *d, const char *raw, char **out, sl_errbuf_t *err)
{
    const char *a = raw, *b = raw + strlen(raw);
    char *t;
    int rc = SL_OK;

    *out = NULL;
    /* Kafka trims every value before parsing it. */
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    t = sl_xstrndup(a, (size_t)(b - a));

    switch (d->type) {
    case SL_CFG_BOOLEAN:
        if (strcasecmp(t, "true") == 0 || strcasecmp(t, "false") == 0)
            *out = sl_xstrdup(strcasecmp(t, "true") == 0 ? "true" : "false");
        else
            rc = sl_errbuf_set(err, SL_EINVALID_CONFIG,
                               "Invalid value %s for configuration %s: Expected value to be "
                               "either true or false",
                               t, d->name);
        break;
    case SL_CFG_INT:
    case SL_CFG_SHORT:
    case SL_CFG_LONG:
        rc = canon_integer(d, t, out, err);
        break;
    case SL_CFG_DOUBLE:
        rc = canon_double(d, t, out, err);
        break;
    case SL_CFG_LIST:
        rc = canon_list(d, t, out, err);
        break;
    default: /* STRING, CLASS, PASSWORD */
        if (d->valid == SL_CFGV_ENUM && !choice_has(d->choices, t, strlen(t)))
            rc = bad_choice(d, t, err);
        else if (d->valid == SL_CFGV_VERSION && !version_ok(t))
            rc = sl_errbuf_set(err, SL_EINVALID_CONFIG,
                               "Invalid value %s for configuration %s: Version `%s` is not a "
                               "valid version",
                               t, d->name, t);
        else
            *out = sl_xstrdup(t);
        break;
    }
    free(t);
    return rc;
}

/* ======================================================================== */
/* Typed readers of canonical values                                        */
/* ======================================================================== */

int64_t
sl_cfgdef_long(const char *v, int64_t dflt)
{
    int64_t x;

    return v && parse_java_long(v, &x) ? x : dflt;
}

bool
sl_cfgdef_bool(const char *v, bool dflt)
{
    return v ? strcmp(v, "true") == 0 : dflt;
}

double
sl_cfgdef_double(const char *v, double dflt)
{
    double x;

    return v && parse_java_double(v, &x) ? x : dflt;
}
