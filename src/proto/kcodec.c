/*
 * kcodec.c -- the interpreter behind every generated Kafka message.
 *
 * Walks the descriptor tables written by tools/kgen (src/proto/gen/) to
 * initialise, decode, encode, size and print messages. The wire rules and
 * the memory bounds are described in kcodec.h. Encoding and sizing share one
 * code path (a sink that either appends or only counts) so the two can never
 * disagree.
 */
#include "proto/kcodec.h"

#include <inttypes.h>
#include <stdarg.h>

/* ==================================================================== */
/* Field access helpers                                                 */
/* ==================================================================== */

typedef struct kctx {
    int16_t ver;
    bool flex;
    int depth;
    sl_arena_t *a;
} kctx_t;

static bool
f_present(const sl_kfield_t *f, int16_t v)
{
    return sl_kvers_has(f->versions, v);
}

static bool
f_tagged(const sl_kfield_t *f, int16_t v)
{
    return f->tag >= 0 && sl_kvers_has(f->tagged, v);
}

static bool
f_nullable(const sl_kfield_t *f, int16_t v)
{
    return sl_kvers_has(f->nullable, v);
}

static bool
f_compact(const sl_kfield_t *f, const kctx_t *cx)
{
    return cx->flex && !(f->flags & SL_KF_NOFLEX);
}

static sl_karray_t
arr_get(const void *p)
{
    sl_karray_t arr;

    memcpy(&arr, p, sizeof(arr));
    return arr;
}

static void
arr_set(void *p, int32_t len, void *items)
{
    sl_karray_t arr = {len, items};

    memcpy(p, &arr, sizeof(arr));
}

static void *
ptr_get(const void *p)
{
    void *q;

    memcpy(&q, p, sizeof(q));
    return q;
}

static void
ptr_set(void *p, void *q)
{
    memcpy(p, &q, sizeof(q));
}

/* In-memory size of one value of a kind (array element size). */
static size_t
kind_size(const sl_kfield_t *f)
{
    switch (f->kind) {
    case SL_KK_BOOL:
        return sizeof(bool);
    case SL_KK_INT8:
        return 1;
    case SL_KK_INT16:
    case SL_KK_UINT16:
        return 2;
    case SL_KK_INT32:
    case SL_KK_UINT32:
        return 4;
    case SL_KK_INT64:
    case SL_KK_FLOAT64:
        return 8;
    case SL_KK_UUID:
        return sizeof(sl_uuid_t);
    case SL_KK_STRING:
        return sizeof(sl_str_t);
    case SL_KK_BYTES:
    case SL_KK_RECORDS:
        return sizeof(sl_bytes_t);
    case SL_KK_STRUCT:
        return f->child->size;
    }
    return 1;
}

/* Smallest wire encoding of one array element: bounds a peer's count. */
static size_t
elem_min(const sl_kfield_t *f, const kctx_t *cx)
{
    bool compact = f_compact(f, cx);

    switch (f->kind) {
    case SL_KK_STRING:
        return compact ? 1 : 2;
    case SL_KK_BYTES:
    case SL_KK_RECORDS:
        return compact ? 1 : 4;
    case SL_KK_STRUCT:
        if (cx->ver < f->child->nvers && f->child->min_size[cx->ver] > 0)
            return f->child->min_size[cx->ver];
        return 1;
    case SL_KK_BOOL:
    case SL_KK_INT8:
        return 1;
    case SL_KK_UUID:
        return 16;
    default:
        return kind_size(f); /* fixed-width integers: wire size == memory size */
    }
}

/* ==================================================================== */
/* Defaults                                                             */
/* ==================================================================== */

static void init_struct(const sl_kstruct_t *sd, void *p);

static void
init_field(const sl_kfield_t *f, uint8_t *p)
{
    bool dnull = f->flags & SL_KF_DEFNULL;

    if (f->flags & SL_KF_ARRAY) {
        arr_set(p, dnull ? -1 : 0, NULL);
        return;
    }
    switch (f->kind) {
    case SL_KK_BOOL:
        *(bool *)p = f->def != 0;
        break;
    case SL_KK_INT8:
        *(int8_t *)p = (int8_t)f->def;
        break;
    case SL_KK_INT16:
        *(int16_t *)p = (int16_t)f->def;
        break;
    case SL_KK_UINT16:
        *(uint16_t *)p = (uint16_t)f->def;
        break;
    case SL_KK_INT32:
        *(int32_t *)p = (int32_t)f->def;
        break;
    case SL_KK_UINT32:
        *(uint32_t *)p = (uint32_t)f->def;
        break;
    case SL_KK_INT64:
        *(int64_t *)p = f->def;
        break;
    case SL_KK_FLOAT64: {
        double d = (double)f->def;

        memcpy(p, &d, sizeof(d));
        break;
    }
    case SL_KK_UUID:
        memset(p, 0, sizeof(sl_uuid_t));
        break;
    case SL_KK_STRING:
        *(sl_str_t *)p = dnull ? SL_STR_NULL : (sl_str_t){"", 0};
        break;
    case SL_KK_BYTES:
    case SL_KK_RECORDS:
        *(sl_bytes_t *)p = dnull ? SL_BYTES_NULL : (sl_bytes_t){(const uint8_t *)"", 0};
        break;
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR)
            ptr_set(p, NULL);
        else
            init_struct(f->child, p);
        break;
    }
}

static void
init_struct(const sl_kstruct_t *sd, void *p)
{
    uint8_t *base = p;

    memset(p, 0, sd->size);
    for (uint16_t i = 0; i < sd->nfields; i++)
        init_field(&sd->fields[i], base + sd->fields[i].offset);
}

void
sl_kinit_struct(const sl_kstruct_t *sd, void *p)
{
    init_struct(sd, p);
}

void
sl_kinit(const sl_kmsg_t *md, void *msg)
{
    init_struct(md->root, msg);
}

static bool struct_is_default(const sl_kstruct_t *sd, const uint8_t *p);

/* Whether a (tagged) field holds its default, so it need not be written. */
static bool
field_is_default(const sl_kfield_t *f, const uint8_t *p)
{
    bool dnull = f->flags & SL_KF_DEFNULL;

    if (f->flags & SL_KF_ARRAY) {
        int32_t len = arr_get(p).len;

        return dnull ? len < 0 : len == 0;
    }
    switch (f->kind) {
    case SL_KK_BOOL:
        return *(const bool *)p == (f->def != 0);
    case SL_KK_INT8:
        return *(const int8_t *)p == (int8_t)f->def;
    case SL_KK_INT16:
        return *(const int16_t *)p == (int16_t)f->def;
    case SL_KK_UINT16:
        return *(const uint16_t *)p == (uint16_t)f->def;
    case SL_KK_INT32:
        return *(const int32_t *)p == (int32_t)f->def;
    case SL_KK_UINT32:
        return *(const uint32_t *)p == (uint32_t)f->def;
    case SL_KK_INT64:
        return *(const int64_t *)p == f->def;
    case SL_KK_FLOAT64: {
        double d = (double)f->def;

        return memcmp(p, &d, sizeof(d)) == 0;
    }
    case SL_KK_UUID: {
        static const sl_uuid_t zero;

        return memcmp(p, &zero, sizeof(zero)) == 0;
    }
    case SL_KK_STRING: {
        int32_t len = ((const sl_str_t *)p)->len;

        return dnull ? len < 0 : len == 0;
    }
    case SL_KK_BYTES:
    case SL_KK_RECORDS: {
        int32_t len = ((const sl_bytes_t *)p)->len;

        return dnull ? len < 0 : len == 0;
    }
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR)
            return ptr_get(p) == NULL;
        return struct_is_default(f->child, p);
    }
    return true;
}

static bool
struct_is_default(const sl_kstruct_t *sd, const uint8_t *p)
{
    const sl_ktags_t *unk = (const sl_ktags_t *)(p + sd->tags_offset);

    if (unk->len > 0)
        return false;
    for (uint16_t i = 0; i < sd->nfields; i++)
        if (!field_is_default(&sd->fields[i], p + sd->fields[i].offset))
            return false;
    return true;
}

/* ==================================================================== */
/* Decode                                                               */
/* ==================================================================== */

static void decode_struct(const sl_kstruct_t *sd, uint8_t *p, kctx_t *cx, sl_reader_t *rd);

/* One non-array value of f's kind into p. `nullable` applies to strings,
 * bytes and pointer structs; array elements pass false. */
static void
decode_value(const sl_kfield_t *f, uint8_t *p, bool nullable, bool compact, kctx_t *cx,
             sl_reader_t *rd)
{
    switch (f->kind) {
    case SL_KK_BOOL:
        *(bool *)p = sl_rd_i8(rd) != 0;
        break;
    case SL_KK_INT8:
        *(int8_t *)p = sl_rd_i8(rd);
        break;
    case SL_KK_INT16:
        *(int16_t *)p = sl_rd_i16(rd);
        break;
    case SL_KK_UINT16:
        *(uint16_t *)p = (uint16_t)sl_rd_i16(rd);
        break;
    case SL_KK_INT32:
        *(int32_t *)p = sl_rd_i32(rd);
        break;
    case SL_KK_UINT32:
        *(uint32_t *)p = sl_rd_u32(rd);
        break;
    case SL_KK_INT64:
        *(int64_t *)p = sl_rd_i64(rd);
        break;
    case SL_KK_FLOAT64: {
        double d = sl_rd_f64(rd);

        memcpy(p, &d, sizeof(d));
        break;
    }
    case SL_KK_UUID: {
        const uint8_t *q = sl_rd_take(rd, sizeof(sl_uuid_t));

        if (q)
            memcpy(p, q, sizeof(sl_uuid_t));
        break;
    }
    case SL_KK_STRING: {
        sl_str_t s = sl_rd_str(rd, compact);

        /* Kafka bounds strings to i16 lengths even where the prefix is a uvarint. */
        if ((s.len < 0 && !nullable) || s.len > INT16_MAX)
            sl_rd_fail(rd);
        *(sl_str_t *)p = s;
        break;
    }
    case SL_KK_BYTES:
    case SL_KK_RECORDS: {
        sl_bytes_t b = sl_rd_bytes(rd, compact);

        if (b.len < 0 && !nullable)
            sl_rd_fail(rd);
        *(sl_bytes_t *)p = b;
        break;
    }
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR) {
            void *q;

            if (nullable && sl_rd_i8(rd) < 0) {
                ptr_set(p, NULL);
                break;
            }
            if (rd->err)
                break;
            q = sl_arena_zalloc(cx->a, f->child->size);
            ptr_set(p, q);
            decode_struct(f->child, q, cx, rd);
        } else {
            decode_struct(f->child, p, cx, rd);
        }
        break;
    }
}

static void
decode_field(const sl_kfield_t *f, uint8_t *p, bool compact, kctx_t *cx, sl_reader_t *rd)
{
    bool nullable = f_nullable(f, cx->ver);
    int32_t n;
    size_t esz;
    uint8_t *items;

    if (!(f->flags & SL_KF_ARRAY)) {
        decode_value(f, p, nullable, compact, cx, rd);
        return;
    }
    n = sl_rd_array_len(rd, compact, elem_min(f, cx));
    if (rd->err)
        return;
    if (n < 0) {
        if (!nullable)
            sl_rd_fail(rd);
        arr_set(p, -1, NULL);
        return;
    }
    if (n == 0) {
        arr_set(p, 0, NULL);
        return;
    }
    /* n x elem_min <= bytes left was checked by sl_rd_array_len. */
    esz = kind_size(f);
    items = sl_arena_array(cx->a, (size_t)n, esz);
    arr_set(p, n, items);
    for (int32_t i = 0; i < n && !rd->err; i++) {
        uint8_t *e = items + (size_t)i * esz;

        decode_value(f, e, false, compact, cx, rd); /* structs: decode_struct inits */
    }
}

static const sl_kfield_t *
find_tagged(const sl_kstruct_t *sd, uint32_t tag, int16_t v)
{
    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (f->tag >= 0 && (uint32_t)f->tag == tag && f_present(f, v) && f_tagged(f, v))
            return f;
    }
    return NULL;
}

static void
decode_tags(const sl_kstruct_t *sd, uint8_t *p, kctx_t *cx, sl_reader_t *rd)
{
    sl_ktags_t *unk = (sl_ktags_t *)(p + sd->tags_offset);
    uint32_t n = sl_rd_uvarint(rd);
    int64_t prev = -1;

    /* Each tagged field takes at least two bytes (tag, size). */
    if (rd->err || (uint64_t)n * 2 > sl_rd_left(rd)) {
        sl_rd_fail(rd);
        return;
    }
    for (uint32_t i = 0; i < n && !rd->err; i++) {
        uint32_t tag = sl_rd_uvarint(rd);
        uint32_t size = sl_rd_uvarint(rd);
        const sl_kfield_t *f;
        const uint8_t *data;

        if (rd->err)
            return;
        if ((int64_t)tag <= prev) {
            sl_rd_fail(rd); /* duplicate or out of order */
            return;
        }
        prev = tag;
        data = sl_rd_take(rd, size);
        if (data == NULL)
            return;
        f = find_tagged(sd, tag, cx->ver);
        if (f) {
            sl_reader_t sub;

            sl_rd_init(&sub, data, size);
            decode_field(f, p + f->offset, !(f->flags & SL_KF_NOFLEX), cx, &sub);
            if (sub.err || sl_rd_left(&sub) != 0)
                sl_rd_fail(rd);
            continue;
        }
        if (unk->items == NULL) {
            /* Room for every tag still to come; n was bounded by the bytes left. */
            unk->items = sl_arena_array(cx->a, n - i, sizeof(*unk->items));
        }
        unk->items[unk->len++] = (sl_ktag_t){tag, {data, (int32_t)size}};
    }
}

/* Defaults for the fields this version will not read (absent or tagged);
 * the rest are overwritten by the decoder, so initialising them would be
 * wasted work (a quarter of the decode time for arrays of small structs). */
static void
init_unread(const sl_kstruct_t *sd, uint8_t *p, int16_t v)
{
    sl_ktags_t *unk = (sl_ktags_t *)(p + sd->tags_offset);

    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (!f_present(f, v) || f_tagged(f, v))
            init_field(f, p + f->offset);
    }
    unk->len = 0;
    unk->items = NULL;
}

static void
decode_struct(const sl_kstruct_t *sd, uint8_t *p, kctx_t *cx, sl_reader_t *rd)
{
    init_unread(sd, p, cx->ver);
    if (++cx->depth > SL_KMAX_DEPTH) {
        sl_rd_fail(rd);
        cx->depth--;
        return;
    }
    for (uint16_t i = 0; i < sd->nfields && !rd->err; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (f_present(f, cx->ver) && !f_tagged(f, cx->ver))
            decode_field(f, p + f->offset, f_compact(f, cx), cx, rd);
    }
    if (cx->flex && !rd->err)
        decode_tags(sd, p, cx, rd);
    cx->depth--;
}

int
sl_kdecode(const sl_kmsg_t *md, void *msg, int16_t version, sl_reader_t *rd, sl_arena_t *a)
{
    kctx_t cx = {version, sl_kmsg_is_flexible(md, version), 0, a};

    if (version < md->min_ver || version > md->max_ver)
        return SL_EUNSUP;
    memset(msg, 0, md->root->size);
    if (rd->err)
        return rd->err;
    decode_struct(md->root, msg, &cx, rd);
    return rd->err;
}

/* ==================================================================== */
/* Encode and size (one path: a sink that appends or only counts)      */
/* ==================================================================== */

typedef struct sink {
    sl_buf_t *buf; /* NULL: count only */
    size_t n;
    sl_writer_t *wr; /* for its records hook; NULL when sizing */
} sink_t;

static void
put(sink_t *s, const void *p, size_t n)
{
    if (s->buf && n)
        sl_buf_append(s->buf, p, n);
    s->n += n;
}

static void
put_be(sink_t *s, uint64_t v, size_t n)
{
    uint8_t tmp[8];

    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    put(s, tmp, n);
}

static void
put_uvarint(sink_t *s, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(s, tmp, n);
}

/* Length prefix of a string (i16), bytes/array (i32) or any compact one. */
static void
put_len(sink_t *s, bool compact, bool wide, int32_t len)
{
    if (compact)
        put_uvarint(s, len < 0 ? 0 : (uint64_t)len + 1);
    else if (wide)
        put_be(s, (uint32_t)(len < 0 ? -1 : len), 4);
    else
        put_be(s, (uint16_t)(int16_t)(len < 0 ? -1 : len), 2);
}

static void encode_struct(const sl_kstruct_t *sd, const uint8_t *p, kctx_t *cx, sink_t *s);

static void
encode_value(const sl_kfield_t *f, const uint8_t *p, bool nullable, bool compact, kctx_t *cx,
             sink_t *s)
{
    switch (f->kind) {
    case SL_KK_BOOL:
        put_be(s, *(const bool *)p ? 1 : 0, 1);
        break;
    case SL_KK_INT8:
        put_be(s, (uint8_t) * (const int8_t *)p, 1);
        break;
    case SL_KK_INT16:
        put_be(s, (uint16_t) * (const int16_t *)p, 2);
        break;
    case SL_KK_UINT16:
        put_be(s, *(const uint16_t *)p, 2);
        break;
    case SL_KK_INT32:
        put_be(s, (uint32_t) * (const int32_t *)p, 4);
        break;
    case SL_KK_UINT32:
        put_be(s, *(const uint32_t *)p, 4);
        break;
    case SL_KK_INT64:
        put_be(s, (uint64_t) * (const int64_t *)p, 8);
        break;
    case SL_KK_FLOAT64: {
        uint64_t u;

        memcpy(&u, p, sizeof(u));
        put_be(s, u, 8);
        break;
    }
    case SL_KK_UUID:
        put(s, p, sizeof(sl_uuid_t));
        break;
    case SL_KK_STRING: {
        sl_str_t v = *(const sl_str_t *)p;

        if (v.len < 0 && !nullable)
            v = (sl_str_t){"", 0}; /* Kafka throws; we write the empty value */
        put_len(s, compact, false, v.len);
        if (v.len > 0)
            put(s, v.ptr, (size_t)v.len);
        break;
    }
    case SL_KK_BYTES:
    case SL_KK_RECORDS: {
        sl_bytes_t v = *(const sl_bytes_t *)p;

        if (v.len < 0 && !nullable)
            v = (sl_bytes_t){(const uint8_t *)"", 0};
        put_len(s, compact, true, v.len);
        if (v.len > 0 && f->kind == SL_KK_RECORDS && s->wr && s->wr->records_fn) {
            /* The hook supplies the bytes out of band (file regions for sendfile). */
            s->wr->records_fn(s->wr, v.ptr, (size_t)v.len, s->wr->records_arg);
            s->n += (size_t)v.len;
        } else if (v.len > 0) {
            put(s, v.ptr, (size_t)v.len);
        }
        break;
    }
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR) {
            const uint8_t *q = ptr_get(p);

            if (nullable) {
                put_be(s, q ? 1 : 0xff, 1);
                if (q)
                    encode_struct(f->child, q, cx, s);
            } else if (q) {
                encode_struct(f->child, q, cx, s);
            } else {
                /* Null where the version cannot say null: write the defaults. */
                void *tmp = sl_xmalloc(f->child->size);

                init_struct(f->child, tmp);
                encode_struct(f->child, tmp, cx, s);
                free(tmp);
            }
        } else {
            encode_struct(f->child, p, cx, s);
        }
        break;
    }
}

static void
encode_field(const sl_kfield_t *f, const uint8_t *p, bool compact, kctx_t *cx, sink_t *s)
{
    bool nullable = f_nullable(f, cx->ver);
    sl_karray_t arr;
    size_t esz;

    if (!(f->flags & SL_KF_ARRAY)) {
        encode_value(f, p, nullable, compact, cx, s);
        return;
    }
    arr = arr_get(p);
    if (arr.len < 0) {
        put_len(s, compact, true, nullable ? -1 : 0);
        return;
    }
    put_len(s, compact, true, arr.len);
    esz = kind_size(f);
    for (int32_t i = 0; i < arr.len; i++)
        encode_value(f, (const uint8_t *)arr.items + (size_t)i * esz, false, compact, cx, s);
}

/* The tagged section: known non-default fields and unknown raw tags, merged
 * in ascending tag order. */
static void
encode_tags(const sl_kstruct_t *sd, const uint8_t *p, kctx_t *cx, sink_t *s)
{
    const sl_ktags_t *unk = (const sl_ktags_t *)(p + sd->tags_offset);
    const sl_kfield_t *known[32];
    int nk = 0, ki = 0;
    int32_t ui = 0, nu = unk->len > 0 ? unk->len : 0;

    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];
        int j;

        if (!f_present(f, cx->ver) || !f_tagged(f, cx->ver) || field_is_default(f, p + f->offset))
            continue;
        SL_ASSERT(nk < (int)SL_ARRAY_LEN(known));
        for (j = nk; j > 0 && known[j - 1]->tag > f->tag; j--)
            known[j] = known[j - 1];
        known[j] = f;
        nk++;
    }
    put_uvarint(s, (uint64_t)nk + (uint64_t)nu);
    while (ki < nk || ui < nu) {
        if (ui >= nu || (ki < nk && (uint32_t)known[ki]->tag <= unk->items[ui].tag)) {
            const sl_kfield_t *f = known[ki++];
            bool compact = !(f->flags & SL_KF_NOFLEX);
            sink_t count = {NULL, 0};

            encode_field(f, p + f->offset, compact, cx, &count);
            put_uvarint(s, (uint64_t)f->tag);
            put_uvarint(s, count.n);
            encode_field(f, p + f->offset, compact, cx, s);
        } else {
            const sl_ktag_t *t = &unk->items[ui++];
            int32_t len = t->data.len > 0 ? t->data.len : 0;

            put_uvarint(s, t->tag);
            put_uvarint(s, (uint64_t)len);
            put(s, t->data.ptr, (size_t)len);
        }
    }
}

static void
encode_struct(const sl_kstruct_t *sd, const uint8_t *p, kctx_t *cx, sink_t *s)
{
    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (f_present(f, cx->ver) && !f_tagged(f, cx->ver))
            encode_field(f, p + f->offset, f_compact(f, cx), cx, s);
    }
    if (cx->flex)
        encode_tags(sd, p, cx, s);
}

void
sl_kencode(const sl_kmsg_t *md, const void *msg, int16_t version, sl_writer_t *wr)
{
    kctx_t cx = {version, sl_kmsg_is_flexible(md, version), 0, NULL};
    sink_t s = {wr->buf, 0, wr};

    SL_ASSERT(version >= md->min_ver && version <= md->max_ver);
    encode_struct(md->root, msg, &cx, &s);
}

size_t
sl_ksize(const sl_kmsg_t *md, const void *msg, int16_t version)
{
    kctx_t cx = {version, sl_kmsg_is_flexible(md, version), 0, NULL};
    sink_t s = {NULL, 0, NULL};

    SL_ASSERT(version >= md->min_ver && version <= md->max_ver);
    encode_struct(md->root, msg, &cx, &s);
    return s.n;
}

/* ==================================================================== */
/* Printer                                                              */
/* ==================================================================== */

static void SL_PRINTF(2, 3) pr(sl_buf_t *out, const char *fmt, ...);

static void
pr(sl_buf_t *out, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sl_buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
pr_indent(sl_buf_t *out, int depth)
{
    for (int i = 0; i < depth; i++)
        sl_buf_append(out, "  ", 2);
}

static void
pr_hex(sl_buf_t *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};

        sl_buf_append(out, two, 2);
    }
}

static void print_struct(const sl_kstruct_t *sd, const uint8_t *p, int16_t v, int depth,
                         sl_buf_t *out);

static void
print_value(const sl_kfield_t *f, const uint8_t *p, int16_t v, int depth, sl_buf_t *out)
{
    switch (f->kind) {
    case SL_KK_BOOL:
        pr(out, "%s", *(const bool *)p ? "true" : "false");
        break;
    case SL_KK_INT8:
        pr(out, "%d", *(const int8_t *)p);
        break;
    case SL_KK_INT16:
        pr(out, "%d", *(const int16_t *)p);
        break;
    case SL_KK_UINT16:
        pr(out, "%u", *(const uint16_t *)p);
        break;
    case SL_KK_INT32:
        pr(out, "%" PRId32, *(const int32_t *)p);
        break;
    case SL_KK_UINT32:
        pr(out, "%" PRIu32, *(const uint32_t *)p);
        break;
    case SL_KK_INT64:
        pr(out, "%" PRId64, *(const int64_t *)p);
        break;
    case SL_KK_FLOAT64: {
        double d;

        memcpy(&d, p, sizeof(d));
        pr(out, "%.17g", d);
        break;
    }
    case SL_KK_UUID:
        pr(out, "uuid:");
        pr_hex(out, p, sizeof(sl_uuid_t));
        break;
    case SL_KK_STRING: {
        sl_str_t s = *(const sl_str_t *)p;

        if (s.len < 0) {
            pr(out, "null");
            break;
        }
        sl_buf_append(out, "\"", 1);
        for (int32_t i = 0; i < s.len; i++) {
            unsigned char c = (unsigned char)s.ptr[i];

            if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                pr(out, "\\x%02x", c);
            else
                sl_buf_append(out, &s.ptr[i], 1);
        }
        sl_buf_append(out, "\"", 1);
        break;
    }
    case SL_KK_BYTES:
    case SL_KK_RECORDS: {
        sl_bytes_t b = *(const sl_bytes_t *)p;

        if (b.len < 0) {
            pr(out, "null");
            break;
        }
        pr(out, "0x");
        pr_hex(out, b.ptr, (size_t)b.len);
        pr(out, " (%" PRId32 " bytes)", b.len);
        break;
    }
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR) {
            p = ptr_get(p);
            if (p == NULL) {
                pr(out, "null");
                break;
            }
        }
        print_struct(f->child, p, v, depth, out);
        break;
    }
}

static void
print_field(const sl_kfield_t *f, const uint8_t *p, int16_t v, int depth, sl_buf_t *out)
{
    sl_karray_t arr;
    size_t esz;

    pr_indent(out, depth);
    pr(out, "%s: ", f->name);
    if (!(f->flags & SL_KF_ARRAY)) {
        print_value(f, p, v, depth, out);
        pr(out, "\n");
        return;
    }
    arr = arr_get(p);
    if (arr.len < 0) {
        pr(out, "null\n");
        return;
    }
    esz = kind_size(f);
    pr(out, "[");
    for (int32_t i = 0; i < arr.len; i++) {
        if (f->kind == SL_KK_STRUCT) {
            pr(out, "\n");
            pr_indent(out, depth + 1);
        } else if (i > 0) {
            pr(out, ", ");
        }
        print_value(f, (const uint8_t *)arr.items + (size_t)i * esz, v, depth + 1, out);
    }
    if (f->kind == SL_KK_STRUCT && arr.len > 0) {
        pr(out, "\n");
        pr_indent(out, depth);
    }
    pr(out, "]\n");
}

static void
print_struct(const sl_kstruct_t *sd, const uint8_t *p, int16_t v, int depth, sl_buf_t *out)
{
    const sl_ktags_t *unk = (const sl_ktags_t *)(p + sd->tags_offset);

    pr(out, "{\n");
    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (f_present(f, v))
            print_field(f, p + f->offset, v, depth + 1, out);
    }
    for (int32_t i = 0; i < unk->len; i++) {
        const sl_ktag_t *t = &unk->items[i];

        pr_indent(out, depth + 1);
        pr(out, "_unknown_tag %" PRIu32 ": 0x", t->tag);
        pr_hex(out, t->data.ptr, t->data.len > 0 ? (size_t)t->data.len : 0);
        pr(out, "\n");
    }
    pr_indent(out, depth);
    pr(out, "}");
}

void
sl_kprint_buf(const sl_kmsg_t *md, const void *msg, int16_t version, sl_buf_t *out)
{
    pr(out, "%s v%d ", md->name, version);
    print_struct(md->root, msg, version, 0, out);
    pr(out, "\n");
}

void
sl_kprint(const sl_kmsg_t *md, const void *msg, int16_t version, FILE *f)
{
    sl_buf_t b = SL_BUF_INIT;

    sl_kprint_buf(md, msg, version, &b);
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    sl_buf_deinit(&b);
}
