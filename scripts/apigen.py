#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generates code and documentation from the API schema in api/ (api/README.md).

  apigen.py c API_DIR OUT_H OUT_C    the C tables and args structs (at build time)
  apigen.py md API_DIR [OUT]         docs/api.md (stdout without OUT)
  apigen.py check-md API_DIR FILE    fails when FILE is not what 'md' makes
  apigen.py check API_DIR            loads and checks the schema, prints a summary

The schema is read by scripts/dse_api.py too (the Python client)."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dse_api  # noqa: E402  (the loader and checker, shared with the client)

C_KEYWORDS = {"default", "static", "auto", "break", "case", "char", "const", "continue", "do",
              "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int",
              "long", "register", "restrict", "return", "short", "signed", "sizeof", "struct",
              "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool"}

KIND_C = {"string": "DSE_API_STRING", "integer": "DSE_API_INTEGER", "number": "DSE_API_NUMBER",
          "boolean": "DSE_API_BOOLEAN", "enum": "DSE_API_ENUM", "mac": "DSE_API_MAC",
          "ipv4": "DSE_API_IPV4", "ip": "DSE_API_IP", "prefix": "DSE_API_PREFIX",
          "port_range": "DSE_API_PORT_RANGE", "array": "DSE_API_ARRAY",
          "object": "DSE_API_OBJECT", "any": "DSE_API_ANY"}


def c_ident(s):
    s = re.sub(r"[^A-Za-z0-9_]", "_", s)
    return s + "_" if s in C_KEYWORDS else s


def c_str(s):
    if s is None:
        return "NULL"
    return json.dumps(s, ensure_ascii=False)


# The member of an args struct that holds a value of each kind (api/README.md).
KIND_DECL = {"string": "const char *%s;", "integer": "long long %s;", "number": "double %s;",
             "boolean": "bool %s;", "enum": "int %s;", "mac": "uint8_t %s[6];",
             "ipv4": "uint32_t %s; /* network byte order */", "ip": "struct dse_api_ip %s;",
             "prefix": "struct dse_api_prefix %s;",
             "port_range": "struct dse_api_port_range %s;"}


def c_field_decl(t, name):
    """The member of an args struct that holds a value of type 't' (json_t * for the rest)."""
    return KIND_DECL.get(t["kind"], "json_t *%s;") % c_ident(name)


class CGen:
    def __init__(self, schema):
        self.s = schema
        self.type_defs = []   # C text of the type definitions, in dependency order
        self.type_ref = {}    # id(type dict) -> C name of its struct dse_api_type
        self.n_anon = 0

    def type_c(self, t, hint):
        """The C name of the dse_api_type for 't', defining it first if needed."""
        if id(t) in self.type_ref:
            return self.type_ref[id(t)]
        if t.get("name"):
            cname = "dse_api_t_" + c_ident(t["name"])
            static = ""
        else:
            self.n_anon += 1
            cname = "t_%s_%d" % (c_ident(hint), self.n_anon)
            static = "static "
        self.type_ref[id(t)] = cname
        fields = []
        k = t["kind"]
        fields.append(".name = %s" % c_str(t.get("name")))
        fields.append(".kind = %s" % KIND_C[k])
        if t.get("help"):
            fields.append(".help = %s" % c_str(dse_api.plain(t["help"])))
        if k == "string":
            fields.append(".min = %d, .max = %d" % (t["min_len"], t["max_len"]))
            if t.get("charset"):
                fields.append(".charset = %s" % c_str(t["charset"]))
            if t.get("reserved_prefix"):
                fields.append(".reserved_prefix = %s" % c_str(t["reserved_prefix"]))
        elif k == "integer":
            fields.append(".min = %dLL, .max = %dLL" % (t["min"], t["max"]))
        elif k == "number":
            fields.append(".num_min = %r, .num_max = %r" % (float(t["min"]), float(t["max"])))
        elif k == "mac":
            if t.get("unicast"):
                fields.append(".unicast = true")
        elif k == "enum":
            vals = "%s_values" % cname
            self.type_defs.append(
                "static const struct dse_api_enum_value %s[] = {\n%s\n};\n" % (
                    vals, "\n".join("\t{%s, %d}," % (c_str(n), v) for n, v in t["values"])))
            fields.append(".values = %s, .n_values = %d" % (vals, len(t["values"])))
            if "integer" in t:
                fields.append(".enum_integer = true, .min = %d, .max = %d" % tuple(t["integer"]))
        elif k == "array":
            items = self.type_c(t["items"], hint + "_item")
            fields.append(".items = &%s" % items)
            fields.append(".min = %d, .max = %d" % (t["min_items"], t["max_items"]))
        elif k == "object" and t.get("fields") is not None:
            struct = "struct dse_api_obj_%s" % c_ident(t["name"]) if t.get("name") else None
            fl = self.params_c(t["fields"], struct, cname + "_fields")
            fields.append(".fields = %s, .n_fields = %d" % (fl, len(t["fields"])))
            if struct:
                fields.append(".size = sizeof(%s)" % struct)
        self.type_defs.append("%sconst struct dse_api_type %s = {\n\t%s,\n};\n" % (
            static, cname, ",\n\t".join(fields)))
        return cname

    def params_c(self, params, struct, cname):
        """Defines the param table 'cname' of 'params' (members of 'struct'); returns its name."""
        rows = []
        for p in params:
            t = self.type_c(p["type"], "%s_%s" % (cname, p["name"]))
            row = [c_str(p["name"]), "&" + t, "true" if p["required"] else "false"]
            d = p.get("default")
            extra = ""
            if d is not None:
                k = p["type"]["kind"]
                if k in ("integer", "boolean"):
                    extra = ", .has_default = true, .def_int = %d" % int(d)
                elif k == "enum":
                    extra = ", .has_default = true, .def_int = %d" % dict(p["type"]["values"])[d]
                elif k == "number":
                    extra = ", .has_default = true, .def_num = %r" % float(d)
                elif k == "string":
                    extra = ", .has_default = true, .def_str = %s" % c_str(d)
            if struct:
                extra += ", .offset = offsetof(%s, %s), .has_offset = offsetof(%s, has_%s)" % (
                    struct, c_ident(p["name"]), struct, p["name"])
            rows.append("\t{.name = %s, .type = %s, .required = %s%s}," % (
                row[0], row[1], row[2], extra))
        if not rows:
            return "NULL"
        self.type_defs.append("static const struct dse_api_param %s[] = {\n%s\n};\n" % (
            cname, "\n".join(rows)))
        return cname

    def struct_text(self, struct, params, doc):
        lines = ["/* %s */" % doc, "%s {" % struct]
        for p in params:
            lines.append("\t" + c_field_decl(p["type"], p["name"]))
        for p in params:
            lines.append("\tbool has_%s;" % p["name"])
        if not params:
            lines.append("\tchar unused_; /* no params */")
        lines.append("};")
        return "\n".join(lines) + "\n"

    def header(self):
        s = self.s
        out = ["/* Generated by scripts/apigen.py from api/: do not edit. */",
               "#ifndef DSE_API_GEN_H", "#define DSE_API_GEN_H", "",
               "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", "",
               '#include "api.h"', "", "/* Limits (api/types.json). */"]
        for name, lim in s.limits.items():
            out.append("#define DSE_API_LIMIT_%s %d /* %s */" % (
                name.upper(), lim["value"], lim.get("help", "")))
        out.append("")
        for name, t in s.types.items():
            if t["kind"] == "enum":
                out.append("enum dse_api_%s {" % c_ident(name))
                for vn, vv in t["values"]:
                    out.append("\tDSE_API_%s_%s = %d," % (c_ident(name).upper(),
                                                         c_ident(vn).upper(), vv))
                out.append("};")
            out.append("extern const struct dse_api_type dse_api_t_%s;" % c_ident(name))
        out.append("")
        for name, t in s.types.items():
            if t["kind"] == "object" and t.get("fields") is not None:
                out.append(self.struct_text("struct dse_api_obj_%s" % c_ident(name), t["fields"],
                                            "the fields of a '%s'" % name))
        for prog in s.programs:
            short = dse_api.short_name(prog)
            for m in s.methods(prog):
                if m.get("params_type"):
                    continue
                out.append(self.struct_text(self.args_struct(prog, m), m["params"],
                                            "%s %s" % (prog, m["name"])))
            out.append("extern const struct dse_api_program dse_api_%s;" % short)
            out.append("")
        out.append("#endif")
        return "\n".join(out) + "\n"

    def args_struct(self, prog, m):
        if m.get("params_type"):
            return "struct dse_api_obj_%s" % c_ident(m["params_type"])
        return "struct dse_api_%s_%s" % (dse_api.short_name(prog), c_ident(m["name"]))

    def source(self, header_name):
        s = self.s
        for name, t in s.types.items():
            self.type_c(t, name)
        progs = []
        for prog in s.programs:
            short = dse_api.short_name(prog)
            rows = []
            for m in s.methods(prog):
                mid = "%s_%s" % (short, c_ident(m["name"]))
                struct = self.args_struct(prog, m)
                pl = self.params_c(m["params"], struct, "p_" + mid)
                aliases = "NULL"
                if m.get("aliases"):
                    aliases = "a_" + mid
                    self.type_defs.append("static const char *const %s[] = {%s, NULL};\n" % (
                        aliases, ", ".join(c_str(a) for a in m["aliases"])))
                flags = []
                if m.get("local"):
                    flags.append("DSE_API_LOCAL")
                if m.get("test_clock"):
                    flags.append("DSE_API_TEST_CLOCK")
                rows.append("\t{.name = %s, .help = %s, .params = %s, .n_params = %d, "
                            ".args_size = sizeof(%s), .flags = %s, .aliases = %s}," % (
                                c_str(m["name"]), c_str(dse_api.plain(m["help"])), pl,
                                len(m["params"]), struct, " | ".join(flags) or "0", aliases))
            progs.append("static const struct dse_api_method %s_methods[] = {\n%s\n};\n\n"
                         "const struct dse_api_program dse_api_%s = {%s, %s_methods, %d};\n" % (
                             short, "\n".join(rows), short, c_str(prog), short, len(rows)))
        return ("/* Generated by scripts/apigen.py from api/: do not edit. */\n"
                "#include <stddef.h>\n\n#include \"%s\"\n\n" % header_name +
                "\n".join(self.type_defs) + "\n" + "\n".join(progs))


def md_escape_cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def md(schema):
    s = schema
    out = ["<!-- Generated by scripts/apigen.py from api/: edit api/, then run "
           "`make api-docs`. -->", ""]
    out.append(s.intro.rstrip())
    for prog in s.programs:
        out += ["", "# %s" % prog, ""]
        if s.program_doc.get(prog):
            out += [s.program_doc[prog].rstrip(), ""]
        for mod in s.modules(prog):
            out += ["## %s" % mod["title"], ""]
            table = md_table(s, prog, mod)
            text = mod.get("text", "").rstrip()
            if "{{methods}}" in text:
                out.append(text.replace("{{methods}}", table))
            else:
                if text:
                    out += [text, ""]
                out.append(table)
            out.append("")
    out += ["# Types", "", "The params' types (`api/types.json`), shared by both programs.", "",
            "| type | values |", "|---|---|"]
    for name, t in s.types.items():
        out.append("| `%s` | %s |" % (name, md_escape_cell(dse_api.type_text(t))))
    out += ["", "# Limits", "",
            "What one DPU holds (`api/types.json`): dse-dpud refuses more, and dse-hostd "
            "refuses a desired state that needs more at `apply`, naming the limit.", "",
            "| limit | value | what |", "|---|---|---|"]
    for name, lim in s.limits.items():
        out.append("| `%s` | %d | %s |" % (name, lim["value"], lim.get("help", "")))
    return "\n".join(out).rstrip() + "\n"


def md_table(s, prog, mod):
    rows = ["| method | what it does, params | result |", "|---|---|---|"]
    for m in mod["methods"]:
        name = "`%s`" % m["name"]
        notes = []
        if m.get("aliases"):
            notes.append("old name%s %s, kept until the next release" % (
                "s" if len(m["aliases"]) > 1 else "",
                ", ".join("`%s`" % a for a in m["aliases"])))
        if m.get("local"):
            notes.append("Unix socket only")
        if m.get("test_clock"):
            notes.append("`--test-clock` only")
        if notes:
            name += " (%s)" % "; ".join(notes)
        what = m["help"]
        if m.get("doc"):
            what += ". " + m["doc"]
        if m["params"]:
            what += ". Params: " + "; ".join(dse_api.param_text(p) for p in m["params"])
        res = m.get("result", "null")
        if m.get("errors"):
            res += ". Errors: " + "; ".join(m["errors"])
        rows.append("| %s | %s | %s |" % (name, md_escape_cell(what), md_escape_cell(res)))
    return "\n".join(rows)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, api_dir = argv[1], argv[2]
    try:
        schema = dse_api.Schema.load(api_dir)
    except dse_api.SchemaError as e:
        sys.stderr.write("apigen: %s\n" % e)
        return 1
    if cmd == "c" and len(argv) == 5:
        g = CGen(schema)
        src = g.source(os.path.basename(argv[3]))
        with open(argv[3], "w") as f:
            f.write(g.header())
        with open(argv[4], "w") as f:
            f.write(src)
        return 0
    if cmd == "md" and len(argv) in (3, 4):
        text = md(schema)
        if len(argv) == 4:
            with open(argv[3], "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        return 0
    if cmd == "check-md" and len(argv) == 4:
        with open(argv[3]) as f:
            have = f.read()
        if have != md(schema):
            sys.stderr.write("apigen: %s is stale: it is not what api/ makes; run "
                             "`make api-docs` and commit it\n" % argv[3])
            return 1
        return 0
    if cmd == "check" and len(argv) == 3:
        for prog in schema.programs:
            print("%s: %d methods" % (prog, len(schema.methods(prog))))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
