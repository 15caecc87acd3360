/*
 * krand.c -- random message generator over the codec descriptors; see krand.h.
 */
#include "krand.h"

uint64_t
krand_next(krand_t *r)
{
    /* xorshift64*: deterministic per seed, good enough for test data */
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545F4914F6CDD1DULL;
}

static uint64_t
pick(krand_t *r, uint64_t n)
{
    return n ? krand_next(r) % n : 0;
}

/* Integers: mostly small, sometimes extreme, so both ends get encoded. */
static int64_t
rand_int(krand_t *r)
{
    switch (pick(r, 4)) {
    case 0:
        return (int64_t)pick(r, 10) - 2;
    case 1:
        return (int64_t)krand_next(r);
    case 2:
        return pick(r, 2) ? INT64_MAX : INT64_MIN;
    default:
        return (int64_t)pick(r, 100000);
    }
}

static void *
rand_blob(krand_t *r, sl_arena_t *a, int32_t len, bool text)
{
    uint8_t *p = sl_arena_alloc(a, (size_t)len + 1);

    for (int32_t i = 0; i < len; i++)
        p[i] = text ? (uint8_t)('a' + pick(r, 26)) : (uint8_t)krand_next(r);
    return p;
}

static void rand_struct(krand_t *r, const sl_kstruct_t *sd, uint8_t *p, int16_t v, bool flex,
                        sl_arena_t *a, int depth);

static void
rand_value(krand_t *r, const sl_kfield_t *f, uint8_t *p, int16_t v, bool flex, bool nullable,
           sl_arena_t *a, int depth)
{
    bool null = nullable && pick(r, 5) == 0;

    switch (f->kind) {
    case SL_KK_BOOL:
        *(bool *)p = pick(r, 2);
        break;
    case SL_KK_INT8:
        *(int8_t *)p = (int8_t)rand_int(r);
        break;
    case SL_KK_INT16:
        *(int16_t *)p = (int16_t)rand_int(r);
        break;
    case SL_KK_UINT16:
        *(uint16_t *)p = (uint16_t)rand_int(r);
        break;
    case SL_KK_INT32:
        *(int32_t *)p = (int32_t)rand_int(r);
        break;
    case SL_KK_UINT32:
        *(uint32_t *)p = (uint32_t)rand_int(r);
        break;
    case SL_KK_INT64:
        *(int64_t *)p = rand_int(r);
        break;
    case SL_KK_FLOAT64:
        *(double *)p = (double)(int32_t)rand_int(r) / 8.0;
        break;
    case SL_KK_UUID:
        memcpy(p, rand_blob(r, a, 16, false), 16);
        break;
    case SL_KK_STRING: {
        int32_t len = (int32_t)pick(r, 9);

        *(sl_str_t *)p = null ? SL_STR_NULL : (sl_str_t){rand_blob(r, a, len, true), len};
        break;
    }
    case SL_KK_BYTES:
    case SL_KK_RECORDS: {
        int32_t len = (int32_t)pick(r, 13);

        *(sl_bytes_t *)p = null ? SL_BYTES_NULL : (sl_bytes_t){rand_blob(r, a, len, false), len};
        break;
    }
    case SL_KK_STRUCT:
        if (f->flags & SL_KF_PTR) {
            void *q = NULL;

            if (!(null && pick(r, 2))) {
                q = sl_arena_alloc(a, f->child->size);
                sl_kinit_struct(f->child, q);
                rand_struct(r, f->child, q, v, flex, a, depth + 1);
            }
            memcpy(p, &q, sizeof(q));
        } else {
            rand_struct(r, f->child, p, v, flex, a, depth + 1);
        }
        break;
    }
}

static size_t
elem_size(const sl_kfield_t *f)
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
    default:
        return f->child->size;
    }
}

static void
rand_field(krand_t *r, const sl_kfield_t *f, uint8_t *p, int16_t v, bool flex, sl_arena_t *a,
           int depth)
{
    bool nullable = sl_kvers_has(f->nullable, v);
    int max = r->max_array > depth ? r->max_array - depth : 1;
    sl_karray_t arr;
    size_t esz;

    if (!(f->flags & SL_KF_ARRAY)) {
        rand_value(r, f, p, v, flex, nullable, a, depth);
        return;
    }
    if (nullable && pick(r, 5) == 0) {
        arr = (sl_karray_t){-1, NULL};
        memcpy(p, &arr, sizeof(arr));
        return;
    }
    arr.len = (int32_t)pick(r, (uint64_t)max + 1);
    esz = elem_size(f);
    arr.items = arr.len ? sl_arena_array(a, (size_t)arr.len, esz) : NULL;
    for (int32_t i = 0; i < arr.len; i++) {
        uint8_t *e = (uint8_t *)arr.items + (size_t)i * esz;

        if (f->kind == SL_KK_STRUCT)
            sl_kinit_struct(f->child, e);
        rand_value(r, f, e, v, flex, false, a, depth + 1);
    }
    memcpy(p, &arr, sizeof(arr));
}

/* 0-2 unknown tags in ascending order, avoiding every tag the struct knows. */
static void
rand_unknown_tags(krand_t *r, const sl_kstruct_t *sd, uint8_t *p, sl_arena_t *a)
{
    sl_ktags_t *unk = (sl_ktags_t *)(p + sd->tags_offset);
    int n = (int)pick(r, 3);
    uint32_t tag = (uint32_t)pick(r, 3);

    if (n == 0)
        return;
    unk->items = sl_arena_array(a, (size_t)n, sizeof(sl_ktag_t));
    unk->len = 0;
    for (int i = 0; i < n; i++, tag += 1 + (uint32_t)pick(r, 200)) {
        bool known = true;

        while (known) {
            known = false;
            for (uint16_t j = 0; j < sd->nfields; j++)
                if (sd->fields[j].tag >= 0 && (uint32_t)sd->fields[j].tag == tag)
                    known = true;
            if (known)
                tag++;
        }
        int32_t len = (int32_t)pick(r, 6);

        unk->items[unk->len++] = (sl_ktag_t){tag, {rand_blob(r, a, len, false), len}};
    }
}

static void
rand_struct(krand_t *r, const sl_kstruct_t *sd, uint8_t *p, int16_t v, bool flex, sl_arena_t *a,
            int depth)
{
    for (uint16_t i = 0; i < sd->nfields; i++) {
        const sl_kfield_t *f = &sd->fields[i];

        if (!sl_kvers_has(f->versions, v))
            continue;
        if (f->tag >= 0 && sl_kvers_has(f->tagged, v) && pick(r, 3) == 0)
            continue; /* leave a tagged field at its default: not written */
        rand_field(r, f, p + f->offset, v, flex, a, depth);
    }
    if (flex && pick(r, 3) == 0)
        rand_unknown_tags(r, sd, p, a);
}

void *
krand_msg(krand_t *r, const sl_kmsg_t *md, int16_t version, sl_arena_t *a)
{
    void *m = sl_arena_alloc(a, md->root->size);

    sl_kinit(md, m);
    rand_struct(r, md->root, m, version, sl_kmsg_is_flexible(md, version), a, 0);
    return m;
}
