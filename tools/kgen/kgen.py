#!/usr/bin/env python3
"""kgen -- generate sluice's table-driven Kafka codec from Kafka's JSON specs.

Usage: kgen.py --specs DIR [--out DIR]

Reads DIR/messages/*.json and DIR/internal-records/*.json (JSON with //
comments) and writes two files to --out (default src/proto/gen):

  kmsgs.h  one C struct per message and nested struct, typed one-line
           wrappers (decode/encode/size/init), extern descriptors
  kmsgs.c  descriptor tables (one row per field, one per struct, one per
           message) and the API table

The C interpreter that walks the tables is src/proto/kcodec.c. Output is
deterministic: files are processed in sorted order and the only provenance
recorded is a SHA-256 over the spec files (no dates). Python 3 stdlib only.
See tools/kgen/NOTE for what to re-check by hand when the specs change.
"""

import argparse
import hashlib
import json
import os
import re
import sys

VMAX = 0x7FFF  # "N+" upper bound

KINDS = {
    "bool": ("SL_KK_BOOL", "bool", 1),
    "int8": ("SL_KK_INT8", "int8_t", 1),
    "int16": ("SL_KK_INT16", "int16_t", 2),
    "uint16": ("SL_KK_UINT16", "uint16_t", 2),
    "int32": ("SL_KK_INT32", "int32_t", 4),
    "uint32": ("SL_KK_UINT32", "uint32_t", 4),
    "int64": ("SL_KK_INT64", "int64_t", 8),
    "float64": ("SL_KK_FLOAT64", "double", 8),
    "uuid": ("SL_KK_UUID", "sl_uuid_t", 16),
    "string": ("SL_KK_STRING", "sl_str_t", None),
    "bytes": ("SL_KK_BYTES", "sl_bytes_t", None),
    "records": ("SL_KK_RECORDS", "sl_bytes_t", None),
}


class GenError(Exception):
    pass


# ---------------------------------------------------------------- parsing


def strip_comments(text):
    """Drops // comments outside string literals (about texts hold URLs)."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_versions(s, what):
    """'0+', '3-5', '7', 'none' -> (lo, hi) or None for none."""
    if s is None:
        return None
    s = str(s).strip()
    if s == "none":
        return None
    m = re.fullmatch(r"(\d+)\+", s)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r"(\d+)-(\d+)", s)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"(\d+)", s)
    if m:
        return (int(s), int(s))
    raise GenError("%s: bad versions %r" % (what, s))


def vin(v, vr):
    return vr is not None and vr[0] <= v <= vr[1]


def vintersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def vtext(vr):
    if vr is None:
        return "none"
    if vr[1] == VMAX:
        return "%d+" % vr[0]
    if vr[0] == vr[1]:
        return "%d" % vr[0]
    return "%d-%d" % vr


def vc(vr):
    """C initializer for an sl_kvers_t; 'none' is an empty range."""
    if vr is None:
        return "{1, 0}"
    return "{%d, %d}" % (vr[0], vr[1] if vr[1] != VMAX else VMAX)


class Field:
    pass


class Struct:
    def __init__(self, msg, name, fields_json, is_root):
        self.msg = msg
        self.name = name
        self.is_root = is_root
        self.cname = "sl_%s_t" % msg.name if is_root else "sl_%s_%s_t" % (msg.name, name)
        self.dname = "sl_kd_%s" % msg.name if is_root else "sl_kd_%s_%s" % (msg.name, name)
        self.fields_json = fields_json
        self.fields = []


class Message:
    pass


def parse_default(f, kind, is_array, is_struct, nullable_ever, what):
    d = f.get("default")
    if is_array or is_struct:
        if d is None or d == "":
            return (0, False)
        if d == "null":
            if not nullable_ever:
                raise GenError("%s: default null on a non-nullable field" % what)
            return (0, True)
        raise GenError("%s: unsupported default %r" % (what, d))
    if kind in ("string", "bytes", "records"):
        if d is None or d == "":
            return (0, False)
        if d == "null":
            if not nullable_ever:
                raise GenError("%s: default null on a non-nullable field" % what)
            return (0, True)
        raise GenError("%s: unsupported non-empty %s default %r" % (what, kind, d))
    if kind == "uuid":
        if d is not None:
            raise GenError("%s: unsupported uuid default %r" % (what, d))
        return (0, False)
    if d is None:
        return (0, False)
    if kind == "bool":
        if isinstance(d, bool):
            return (1 if d else 0, False)
        if str(d).lower() in ("true", "false"):
            return (1 if str(d).lower() == "true" else 0, False)
        raise GenError("%s: bad bool default %r" % (what, d))
    if kind == "float64":
        v = float(d)
        if v != int(v):
            raise GenError("%s: non-integral float default %r" % (what, d))
        return (int(v), False)
    if isinstance(d, int):
        return (d, False)
    return (int(str(d), 0), False)


def build_struct(msg, st, registry, common):
    for fj in st.fields_json:
        what = "%s.%s.%s" % (msg.name, st.name, fj.get("name"))
        f = Field()
        f.name = fj["name"]
        t = fj["type"]
        f.spec_type = t
        f.is_array = t.startswith("[]")
        base = t[2:] if f.is_array else t
        f.is_struct = base not in KINDS
        f.base = base
        f.tag = fj.get("tag", -1)
        if isinstance(f.tag, str):
            f.tag = int(f.tag, 0)
        f.tagged = parse_versions(fj.get("taggedVersions"), what)
        if (f.tag >= 0) != (f.tagged is not None):
            raise GenError("%s: tag and taggedVersions must come together" % what)
        vers = fj.get("versions", fj.get("taggedVersions"))
        if vers is None:
            raise GenError("%s: no versions" % what)
        f.spec_versions = parse_versions(vers, what)
        f.versions = vintersect(f.spec_versions, msg.valid)
        f.nullable = parse_versions(fj.get("nullableVersions"), what)
        fv = fj.get("flexibleVersions")
        f.noflex = False
        if fv is not None:
            if fv != "none":
                raise GenError("%s: only field flexibleVersions 'none' is supported" % what)
            f.noflex = True
        f.ptr = f.is_struct and not f.is_array and f.nullable is not None
        if f.ptr and f.tagged is not None:
            raise GenError("%s: nullable tagged structs are not supported" % what)
        if f.tagged is not None and f.base == "records":
            raise GenError("%s: tagged records" % what)
        f.default, f.defnull = parse_default(
            fj, base, f.is_array, f.is_struct, f.nullable is not None, what
        )
        f.child = None
        if f.is_struct:
            if "fields" in fj:
                if base in registry:
                    raise GenError("%s: struct %s defined twice" % (what, base))
                child = Struct(msg, base, fj["fields"], False)
                registry[base] = child
                msg.structs.append(child)
                build_struct(msg, child, registry, common)
            elif base in common:
                if base not in registry:
                    child = Struct(msg, base, common[base]["fields"], False)
                    registry[base] = child
                    msg.structs.append(child)
                    build_struct(msg, child, registry, common)
            elif base not in registry:
                raise GenError("%s: unknown struct type %s" % (what, base))
            f.child = registry[base]
        if f.versions is None:
            # Outside the message's validVersions: it never appears on the wire.
            continue
        st.fields.append(f)


def load_message(path, rel):
    with open(path, "rb") as fp:
        raw = fp.read()
    d = json.loads(strip_comments(raw.decode("utf-8")))
    m = Message()
    m.rel = rel
    m.name = d["name"]
    m.type = d["type"]
    m.api_key = d.get("apiKey", -1)
    m.valid = parse_versions(d["validVersions"], m.name)
    if m.valid is None:
        raise GenError("%s: no valid versions" % m.name)
    fv = parse_versions(d.get("flexibleVersions", "none"), m.name)
    if fv is not None and fv[1] != VMAX:
        raise GenError("%s: flexibleVersions must be N+ or none" % m.name)
    m.flex_min = fv[0] if fv is not None else -1
    m.unstable = bool(d.get("latestVersionUnstable", False))
    m.structs = []
    common = {}
    for cs in d.get("commonStructs", []):
        common[cs["name"]] = cs
    registry = {}
    root = Struct(m, m.name, d.get("fields", []), True)
    m.root = root
    build_struct(m, root, registry, common)
    # Common structs nobody references still get a type (tests, users).
    for name in sorted(common):
        if name not in registry:
            st = Struct(m, name, common[name]["fields"], False)
            registry[name] = st
            m.structs.append(st)
            build_struct(m, st, registry, common)
    m.structs.append(root)
    return m


# ---------------------------------------------------------------- analysis


def is_flex(m, v):
    return m.flex_min >= 0 and v >= m.flex_min


def min_size(m, st, v, depth=0):
    """Smallest encoding of struct st at version v: bounds peer counts."""
    if depth > 32:
        raise GenError("%s: struct nesting too deep" % m.name)
    flex = is_flex(m, v)
    n = 1 if flex else 0
    for f in st.fields:
        if not vin(v, f.versions) or vin(v, f.tagged):
            continue
        compact = flex and not f.noflex
        if f.is_array:
            n += 1 if compact else 4
        elif f.base in ("string",):
            n += 1 if compact else 2
        elif f.base in ("bytes", "records"):
            n += 1 if compact else 4
        elif f.is_struct:
            if f.ptr and vin(v, f.nullable):
                n += 1
            else:
                n += min_size(m, f.child, v, depth + 1)
        else:
            n += KINDS[f.base][2]
    return min(n, 0xFFFF)


def order_structs(m):
    """Children before parents, so inline members have complete types."""
    done, out = set(), []

    def visit(st, stack):
        if st.name in done:
            return
        if st.name in stack:
            raise GenError("%s: recursive struct %s" % (m.name, st.name))
        stack.add(st.name)
        for f in st.fields:
            if f.child is not None and not f.ptr:
                visit(f.child, stack)
        stack.discard(st.name)
        done.add(st.name)
        out.append(st)

    for st in m.structs:
        visit(st, set())
    return out


# ---------------------------------------------------------------- emitting


def c_member(f):
    if f.is_struct:
        et = f.child.cname
    else:
        et = KINDS[f.base][1]
    if f.is_array:
        return "struct { int32_t len; /* -1 = null */ %s *items; } %s;" % (et, f.name)
    if f.ptr:
        return "%s *%s; /* NULL = null */" % (et, f.name)
    return "%s %s;" % (et, f.name)


def field_comment(f):
    parts = ["v" + vtext(f.spec_versions)]
    if f.nullable is not None:
        parts.append("nullable " + vtext(f.nullable))
    if f.tag >= 0:
        parts.append("tag %d (tagged %s)" % (f.tag, vtext(f.tagged)))
    if f.defnull:
        parts.append("default null")
    elif f.default != 0:
        parts.append("default %s" % ("true" if f.base == "bool" else str(f.default)))
    if f.noflex:
        parts.append("never compact")
    return "/* %s */" % ", ".join(parts)


def kind_of(f):
    if f.is_struct:
        return "SL_KK_STRUCT"
    return KINDS[f.base][0]


def flags_of(f):
    fl = []
    if f.is_array:
        fl.append("SL_KF_ARRAY")
    if f.ptr:
        fl.append("SL_KF_PTR")
    if f.noflex:
        fl.append("SL_KF_NOFLEX")
    if f.defnull:
        fl.append("SL_KF_DEFNULL")
    return "|".join(fl) if fl else "0"


def emit_header(msgs, ident):
    o = []
    o.append("/*")
    o.append(" * kmsgs.h -- GENERATED by tools/kgen/kgen.py from Kafka's JSON message specs.")
    o.append(" * Do not edit: run `make gen`. Built from %s." % ident)
    o.append(" *")
    o.append(" * One struct per message (sl_<Message>_t) and per nested or common struct")
    o.append(" * (sl_<Message>_<Struct>_t); field names are the spec's. Each member's comment")
    o.append(" * gives its versions, nullable versions, tag and non-zero default. Strings and")
    o.append(" * bytes are views into the decoded frame; arrays live in the decode arena.")
    o.append(" * The wrappers below call the interpreter in proto/kcodec.h.")
    o.append(" */")
    o.append("#ifndef SL_PROTO_GEN_KMSGS_H")
    o.append("#define SL_PROTO_GEN_KMSGS_H")
    o.append("")
    o.append('#include "proto/kcodec.h"')
    o.append("")
    o.append("#define SL_KGEN_MSG_COUNT %d" % len(msgs))
    o.append("")
    o.append("/* API keys */")
    for m in msgs:
        if m.type == "request":
            o.append("#define SL_API_%s %d" % (m.name[: -len("Request")], m.api_key))
    o.append("")
    for m in msgs:
        o.append("/* ---- %s (%s%s, versions %s, flexible %s) ---- */" % (
            m.name, m.type, "" if m.api_key < 0 else " key %d" % m.api_key,
            vtext(m.valid), "none" if m.flex_min < 0 else "%d+" % m.flex_min))
        for st in order_structs(m):
            tag = st.cname[:-2]
            o.append("typedef struct %s {" % tag)
            for f in st.fields:
                o.append("    %s %s" % (c_member(f), field_comment(f)))
            o.append("    sl_ktags_t _unknown_tags;")
            o.append("} %s;" % st.cname)
            if st is not m.root:
                # Nested structs get an initialiser too: responses are built
                # element by element and need the spec defaults (-1s).
                o.append("extern const sl_kstruct_t %s;" % st.dname)
                o.append("static inline void %s_init(%s *p) { sl_kinit_struct(&%s, p); }" % (
                    tag, st.cname, st.dname))
        o.append("extern const sl_kmsg_t sl_kmsg_%s;" % m.name)
        n, t = m.name, "sl_%s_t" % m.name
        o.append(
            "SL_MUST_CHECK static inline int sl_%s_decode(%s *m, int16_t version, sl_reader_t *rd, "
            "sl_arena_t *a) { return sl_kdecode(&sl_kmsg_%s, m, version, rd, a); }" % (n, t, n))
        o.append(
            "static inline void sl_%s_encode(const %s *m, int16_t version, sl_writer_t *wr) "
            "{ sl_kencode(&sl_kmsg_%s, m, version, wr); }" % (n, t, n))
        o.append(
            "static inline size_t sl_%s_size(const %s *m, int16_t version) "
            "{ return sl_ksize(&sl_kmsg_%s, m, version); }" % (n, t, n))
        o.append(
            "static inline void sl_%s_init(%s *m) { sl_kinit(&sl_kmsg_%s, m); }" % (n, t, n))
        o.append("")
    o.append("#endif")
    return "\n".join(o) + "\n"


def emit_source(msgs, ident):
    o = []
    o.append("/*")
    o.append(" * kmsgs.c -- GENERATED by tools/kgen/kgen.py from Kafka's JSON message specs.")
    o.append(" * Do not edit: run `make gen`. Built from %s." % ident)
    o.append(" *")
    o.append(" * Field rows: {name, child, default, offset, tag, versions, nullable versions,")
    o.append(" * tagged versions, kind, flags}. Struct rows: {name, fields, min_size per")
    o.append(" * version, size, unknown-tags offset, field count, version count}.")
    o.append(" */")
    o.append('#include "proto/gen/kmsgs.h"')
    o.append("")
    o.append("#include <stddef.h>")
    o.append("")
    # Forward declarations: structs can point at each other in any order.
    for m in msgs:
        for st in m.structs:
            if st is m.root:
                o.append("static const sl_kstruct_t %s;" % st.dname)
    o.append("")
    for m in msgs:
        o.append("/* ---- %s ---- */" % m.name)
        hi = m.valid[1]
        for st in order_structs(m):
            sizes = [min_size(m, st, v) if v >= m.valid[0] else 0 for v in range(hi + 1)]
            o.append("static const uint16_t %s_min[] = {%s};" % (
                st.dname, ", ".join(str(s) for s in sizes)))
            if st.fields:
                o.append("static const sl_kfield_t %s_f[] = {" % st.dname)
                for f in st.fields:
                    child = "&%s" % f.child.dname if f.child is not None else "NULL"
                    d = "INT64_C(%d)" % f.default if f.default else "0"
                    o.append('    {"%s", %s, %s, offsetof(%s, %s), %d, %s, %s, %s, %s, %s},' % (
                        f.name, child, d, st.cname, f.name, f.tag, vc(f.versions),
                        vc(f.nullable), vc(f.tagged), kind_of(f), flags_of(f)))
                o.append("};")
            fields = "%s_f" % st.dname if st.fields else "NULL"
            o.append('%sconst sl_kstruct_t %s = {"%s", %s, %s_min, sizeof(%s), '
                     'offsetof(%s, _unknown_tags), %d, %d};' % (
                         "static " if st is m.root else "", st.dname, st.cname[3:-2], fields, st.dname, st.cname, st.cname,
                         len(st.fields), hi + 1))
        o.append('const sl_kmsg_t sl_kmsg_%s = {"%s", &%s, %d, %d, %d, %d, %s};' % (
            m.name, m.name, m.root.dname, m.api_key, m.valid[0], m.valid[1], m.flex_min,
            {"request": "SL_KMSG_REQUEST", "response": "SL_KMSG_RESPONSE",
             "header": "SL_KMSG_HEADER", "data": "SL_KMSG_DATA"}[m.type]))
        o.append("")
    # The message list (sorted by name) and the API table (sorted by key).
    o.append("static const sl_kmsg_t *const all_msgs[] = {")
    for m in msgs:
        o.append("    &sl_kmsg_%s," % m.name)
    o.append("};")
    o.append("")
    reqs = {m.api_key: m for m in msgs if m.type == "request"}
    resps = {m.api_key: m for m in msgs if m.type == "response"}
    if set(reqs) != set(resps):
        raise GenError("requests and responses do not pair up: %s" % (set(reqs) ^ set(resps)))
    keys = sorted(reqs)
    o.append("static const sl_api_desc_t apis[] = {")
    for k in keys:
        rq, rs = reqs[k], resps[k]
        if rq.valid != rs.valid or rq.flex_min != rs.flex_min:
            raise GenError("%s: request and response versions differ" % rq.name)
        o.append('    {%d, "%s", %d, %d, %d, &sl_kmsg_%s, &sl_kmsg_%s},' % (
            k, rq.name[: -len("Request")], rq.valid[0], rq.valid[1], rq.flex_min,
            rq.name, rs.name))
    o.append("};")
    o.append("")
    maxkey = keys[-1]
    idx = ["-1"] * (maxkey + 1)
    for i, k in enumerate(keys):
        idx[k] = str(i)
    o.append("/* api key -> index in apis[], -1 for a gap */")
    o.append("static const int16_t api_index[] = {")
    for i in range(0, len(idx), 16):
        o.append("    " + ", ".join(idx[i:i + 16]) + ",")
    o.append("};")
    o.append("")
    o.append("""const sl_api_desc_t *
sl_api_lookup(int16_t api_key)
{
    if (api_key < 0 || (size_t)api_key >= sizeof(api_index) / sizeof(api_index[0]))
        return NULL;
    return api_index[api_key] < 0 ? NULL : &apis[api_index[api_key]];
}

size_t
sl_api_count(void)
{
    return sizeof(apis) / sizeof(apis[0]);
}

const sl_api_desc_t *
sl_api_at(size_t i)
{
    return i < sl_api_count() ? &apis[i] : NULL;
}

size_t
sl_kmsg_count(void)
{
    return sizeof(all_msgs) / sizeof(all_msgs[0]);
}

const sl_kmsg_t *
sl_kmsg_at(size_t i)
{
    return i < sl_kmsg_count() ? all_msgs[i] : NULL;
}

const sl_kmsg_t *
sl_kmsg_find(const char *name)
{
    for (size_t i = 0; i < sl_kmsg_count(); i++)
        if (strcmp(all_msgs[i]->name, name) == 0)
            return all_msgs[i];
    return NULL;
}""")
    return "\n".join(o) + "\n"


# ---------------------------------------------------------------- main


def spec_files(specs):
    files = []
    for sub in ("messages", "internal-records"):
        d = os.path.join(specs, sub)
        if not os.path.isdir(d):
            if sub == "messages":
                raise GenError("no %s directory under %s" % (sub, specs))
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                files.append((sub + "/" + name, os.path.join(d, name)))
    files.sort()
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs", required=True, help="directory holding messages/ and internal-records/")
    ap.add_argument("--out", default="src/proto/gen", help="output directory")
    args = ap.parse_args()
    try:
        files = spec_files(args.specs)
        h = hashlib.sha256()
        msgs = []
        for rel, path in files:
            with open(path, "rb") as fp:
                data = fp.read()
            h.update(rel.encode() + b"\0" + data + b"\0")
            msgs.append(load_message(path, rel))
        ident = ("%d spec files,\n * sha256 %s\n * (hashed: each sorted relative path, NUL, "
                 "contents, NUL)" % (len(files), h.hexdigest()))
        names = [m.name for m in msgs]
        if len(set(names)) != len(names):
            raise GenError("duplicate message names")
        msgs.sort(key=lambda m: m.name)
        os.makedirs(args.out, exist_ok=True)
        outs = {"kmsgs.h": emit_header(msgs, ident), "kmsgs.c": emit_source(msgs, ident)}
    except GenError as e:
        print("kgen: error: %s" % e, file=sys.stderr)
        return 1
    for name, text in sorted(outs.items()):
        with open(os.path.join(args.out, name), "w", newline="\n") as fp:
            fp.write(text)
    print("kgen: %d messages from %d spec files -> %s" % (len(msgs), len(files), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
