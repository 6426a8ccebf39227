#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The API schema of dse (api/, api/README.md) in Python: its loader and
checker (scripts/apigen.py builds the C tables and docs/api.md from it) and a
client whose methods come from it.

    from dse_api import Client
    c = Client("/run/dse/dpud.sock", "dse-dpud")
    c.call("segment.add", name="web", vlan=10)

A call is checked against the schema before it is sent (unknown method or
param, missing param, ill-typed value: ValueError), so a test or a script
can not drift from the API; Client.request() sends anything, for tests of
the server's own checks.  An error answer raises RpcError."""

import ipaddress
import json
import os
import re
import socket

API_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "api")

KINDS = {"string", "integer", "number", "boolean", "enum", "mac", "ipv4", "ip", "prefix",
         "port_range", "array", "object", "any"}
TYPE_KEYS = {"kind", "help", "min", "max", "min_len", "max_len", "charset", "reserved_prefix",
             "unicast", "values", "integer", "items", "min_items", "max_items", "fields"}
PARAM_KEYS = {"name", "type", "required", "default", "help"} | (TYPE_KEYS - {"kind", "help"})
METHOD_KEYS = {"name", "help", "doc", "params", "result", "errors", "aliases", "local",
               "test_clock"}
VERBS = {"list", "show", "add", "set", "del"}
INT64 = (-(1 << 63), (1 << 63) - 1)


class SchemaError(Exception):
    pass


def short_name(prog):
    """'dse-dpud' -> 'dpud'."""
    return prog[4:] if prog.startswith("dse-") else prog


def plain(s):
    """Help text without markdown back quotes, for C strings and terminals."""
    return s.replace("`", "")


class Schema:
    def __init__(self):
        self.limits = {}
        self.types = {}
        self.verbs = {}
        self.intro = ""
        self.programs = []
        self.program_doc = {}
        self._modules = {}

    @classmethod
    def load(cls, api_dir=API_DIR):
        s = cls()
        s._load(api_dir)
        return s

    def _read(self, path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise SchemaError("%s: %s" % (path, e))

    def _load(self, d):
        top = self._read(os.path.join(d, "types.json"))
        for name, lim in top.get("limits", {}).items():
            if not isinstance(lim.get("value"), int):
                raise SchemaError("types.json: limit %s has no integer value" % name)
            self.limits[name] = lim
        self.verbs = top.get("verbs", {})
        for name, raw in top.get("types", {}).items():
            self.types[name] = None  # named before resolving: types may refer to earlier ones
            self.types[name] = self._type(raw, "types.%s" % name, name)
        with open(os.path.join(d, "intro.md")) as f:
            self.intro = f.read()
        for prog_dir, prog in (("dpud", "dse-dpud"), ("hostd", "dse-hostd")):
            pd = os.path.join(d, prog_dir)
            self.programs.append(prog)
            doc = os.path.join(d, prog_dir + ".md")
            if os.path.exists(doc):
                with open(doc) as f:
                    self.program_doc[prog] = f.read()
            mods = []
            for fn in sorted(os.listdir(pd)):
                if not fn.endswith(".json"):
                    continue
                path = os.path.join(pd, fn)
                mod = self._read(path)
                if mod.get("program") != prog:
                    raise SchemaError("%s: 'program' must be %r" % (path, prog))
                md = path[:-5] + ".md"
                if os.path.exists(md):
                    with open(md) as f:
                        mod["text"] = f.read()
                mod["methods"] = [self._method(m, "%s: %s" % (path, m.get("name")))
                                  for m in mod.get("methods", [])]
                mod.setdefault("order", 100)
                mod.setdefault("title", fn[:-5])
                mods.append(mod)
            mods.sort(key=lambda m: m["order"])
            self._modules[prog] = mods
            seen = {}
            for m in self.methods(prog):
                for n in [m["name"]] + m.get("aliases", []):
                    if n in seen:
                        raise SchemaError("%s: method %s defined twice" % (prog, n))
                    seen[n] = m

    def _limit(self, v, where):
        if isinstance(v, str):
            if v not in self.limits:
                raise SchemaError("%s: no limit %r" % (where, v))
            return self.limits[v]["value"]
        return v

    def _type(self, raw, where, name=None):
        """Resolves a type: a kind or a named type, with overrides."""
        if isinstance(raw, str):
            raw = {"kind": raw}
        base = raw.get("kind")
        if base in self.types and self.types[base] is not None:
            overrides = {k: v for k, v in raw.items() if k in TYPE_KEYS - {"kind", "help"}}
            if not overrides and name is None:
                return self.types[base]
            t = dict(self.types[base])
            t["name"] = name
            if "help" in raw:
                t["help"] = raw["help"]
            raw = dict(t, **overrides)
            base = t["kind"]
        if base not in KINDS:
            raise SchemaError("%s: unknown type %r" % (where, base))
        bad = set(raw) - TYPE_KEYS - {"name"}
        if bad:
            raise SchemaError("%s: unknown keys %s" % (where, sorted(bad)))
        t = {"kind": base, "name": name}
        if raw.get("help"):
            t["help"] = raw["help"]
        if base == "string":
            t["min_len"] = self._limit(raw.get("min_len", 0), where)
            t["max_len"] = self._limit(raw.get("max_len", 4096), where)
            for k in ("charset", "reserved_prefix"):
                if raw.get(k):
                    t[k] = raw[k]
        elif base == "integer":
            t["min"] = self._limit(raw.get("min", INT64[0]), where)
            t["max"] = self._limit(raw.get("max", INT64[1]), where)
        elif base == "number":
            t["min"] = raw.get("min", -1e308)
            t["max"] = raw.get("max", 1e308)
        elif base == "mac":
            t["unicast"] = bool(raw.get("unicast"))
        elif base == "enum":
            vals = raw.get("values")
            if isinstance(vals, list):
                t["values"] = [(v, i) for i, v in enumerate(vals)]
            elif isinstance(vals, dict):
                t["values"] = list(vals.items())
            else:
                raise SchemaError("%s: an enum needs 'values'" % where)
            if "integer" in raw:
                t["integer"] = list(raw["integer"])
        elif base == "array":
            if "items" not in raw:
                raise SchemaError("%s: an array needs 'items'" % where)
            t["items"] = self._type(raw["items"], where + ".items")
            t["min_items"] = self._limit(raw.get("min_items", 0), where)
            t["max_items"] = self._limit(raw.get("max_items", 65536), where)
        elif base == "object":
            if raw.get("fields") is not None:
                t["fields"] = [self._param(p, where) for p in raw["fields"]]
        return t

    def _param(self, raw, where):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise SchemaError("%s: a param needs a name" % where)
        w = "%s.%s" % (where, raw["name"])
        bad = set(raw) - PARAM_KEYS
        if bad:
            raise SchemaError("%s: unknown keys %s" % (w, sorted(bad)))
        if not re.fullmatch(r"[a-z][a-z0-9_]*", raw["name"]):
            raise SchemaError("%s: param names are lower case [a-z0-9_]" % w)
        traw = {k: v for k, v in raw.items() if k in TYPE_KEYS - {"help"}}
        traw["kind"] = raw.get("type")
        p = {"name": raw["name"], "type": self._type(traw, w), "required": bool(raw.get("required")),
             "help": raw.get("help", "")}
        if "default" in raw:
            p["default"] = raw["default"]
            try:
                check_value(p["type"], raw["default"], w)
            except ValueError as e:
                raise SchemaError("default of %s" % e)
        return p

    def _method(self, raw, where):
        bad = set(raw) - METHOD_KEYS
        if bad:
            raise SchemaError("%s: unknown keys %s" % (where, sorted(bad)))
        name = raw.get("name", "")
        if not re.fullmatch(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+", name):
            raise SchemaError("%s: a method is noun.verb, lower case" % where)
        verb = name.rsplit(".", 1)[1]
        if verb not in VERBS and verb not in self.verbs:
            raise SchemaError("%s: verb %r is neither one of %s nor a specific verb of "
                              "types.json 'verbs'" % (where, verb, sorted(VERBS)))
        if not raw.get("help"):
            raise SchemaError("%s: no help" % where)
        m = dict(raw)
        params = raw.get("params", [])
        if isinstance(params, str):
            t = self.types.get(params)
            if t is None or t["kind"] != "object" or t.get("fields") is None:
                raise SchemaError("%s: params %r is not an object type with fields" % (
                    where, params))
            m["params_type"] = params
            m["params"] = t["fields"]
        else:
            m["params"] = [self._param(p, where) for p in params]
            names = [p["name"] for p in m["params"]]
            if len(set(names)) != len(names):
                raise SchemaError("%s: a param is listed twice" % where)
        m["aliases"] = list(raw.get("aliases", []))
        return m

    def modules(self, prog):
        return self._modules[prog]

    def methods(self, prog):
        return [m for mod in self._modules[prog] for m in mod["methods"]]

    def method(self, prog, name):
        """The method 'name' (or an alias) of program 'prog', None if there is none."""
        for m in self.methods(prog):
            if name == m["name"] or name in m["aliases"]:
                return m
        return None


def type_text(t):
    """What a value of 't' is, for docs/api.md."""
    k = t["kind"]
    if t.get("name") and t.get("help"):
        return t["help"]
    if k == "string":
        s = "a string"
        if t["min_len"] or t["max_len"] != 4096:
            s += " of %d to %d characters" % (t["min_len"], t["max_len"])
        return s
    if k == "integer":
        lo, hi = t["min"], t["max"]
        if (lo, hi) == INT64:
            return "an integer"
        if hi == INT64[1]:
            return "an integer ≥ %d" % lo
        return "an integer %d–%d" % (lo, hi)
    if k == "number":
        return "a number %s–%s" % (fmt_num(t["min"]), fmt_num(t["max"]))
    if k == "boolean":
        return "true or false"
    if k == "enum":
        s = ", ".join("`%s`" % n for n, _ in t["values"])
        if "integer" in t:
            s += " or a number %d–%d" % tuple(t["integer"])
        return s
    if k == "mac":
        return "a %sMAC address" % ("unicast " if t.get("unicast") else "")
    if k == "ipv4":
        return "an IPv4 address"
    if k == "ip":
        return "an IPv4 or IPv6 address"
    if k == "prefix":
        return "an IPv4 or IPv6 prefix, or `\"any\"`"
    if k == "port_range":
        return "a port or a range `\"LO-HI\"`"
    if k == "array":
        s = "a list of " + (("`%s`" % t["items"]["name"]) if t["items"].get("name")
                            else type_text(t["items"]))
        if t["min_items"] or t["max_items"] != 65536:
            s += " (%d to %d)" % (t["min_items"], t["max_items"])
        return s
    if k == "object":
        if t.get("name"):
            return "a `%s` object" % t["name"]
        if t.get("fields"):
            return "an object: " + "; ".join(param_text(p) for p in t["fields"])
        return "an object"
    return "any JSON value"


def fmt_num(x):
    return ("%g" % x) if abs(x) < 1e300 else ("−∞" if x < 0 else "∞")


def param_text(p):
    t = p["type"]
    tt = ("`%s`" % t["name"]) if t.get("name") else type_text(t)
    s = "`%s`" % p["name"]
    s += " (required, %s)" % tt if p["required"] else " (%s)" % tt
    if p.get("help"):
        s += " " + p["help"]
    if "default" in p:
        s += ", default `%s`" % json.dumps(p["default"])
    return s


def in_charset(cs, c):
    """Whether character 'c' is in the charset 'cs' ("A-Za-z0-9_.-"), as api.c reads one."""
    i = 0
    while i < len(cs):
        if i + 2 < len(cs) and cs[i + 1] == "-":
            if cs[i] <= c <= cs[i + 2]:
                return True
            i += 3
        else:
            if c == cs[i]:
                return True
            i += 1
    return False


def check_value(t, v, where):
    """Raises ValueError when 'v' is not a value of type 't' (as dse_api_decode() checks it)."""
    k = t["kind"]

    def bad(what=None):
        raise ValueError("parameter '%s' must be %s, not %s" % (
            where, plain(what or type_text(t)), json.dumps(v)[:64]))

    if k == "string":
        if not isinstance(v, str) or not t["min_len"] <= len(v.encode()) <= t["max_len"]:
            bad()
        if t.get("charset") and not all(in_charset(t["charset"], c) for c in v):
            bad()
        if t.get("reserved_prefix") and v.lower().startswith(t["reserved_prefix"]):
            bad("a name outside the reserved prefix %r" % t["reserved_prefix"])
    elif k == "integer":
        if isinstance(v, bool) or not isinstance(v, int) or not t["min"] <= v <= t["max"]:
            bad()
    elif k == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not t["min"] <= v <= t["max"]:
            bad()
    elif k == "boolean":
        if not isinstance(v, bool):
            bad()
    elif k == "enum":
        names = [n for n, _ in t["values"]]
        if isinstance(v, str):
            if v.lower() not in names:
                bad()
        elif "integer" in t and isinstance(v, int) and not isinstance(v, bool):
            if not t["integer"][0] <= v <= t["integer"][1]:
                bad()
        else:
            bad()
    elif k == "mac":
        if not isinstance(v, str) or not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", v):
            bad()
    elif k == "ipv4":
        try:
            ipaddress.IPv4Address(v)
        except (ValueError, TypeError):
            bad()
    elif k == "ip":
        try:
            ipaddress.ip_address(v)
        except (ValueError, TypeError):
            bad()
    elif k == "prefix":
        if isinstance(v, str) and v.lower() == "any":
            return
        try:
            ipaddress.ip_network(v, strict=True)
        except (ValueError, TypeError):
            bad()
    elif k == "port_range":
        if isinstance(v, int) and not isinstance(v, bool):
            if not 0 <= v <= 65535:
                bad()
        elif not isinstance(v, str) or not re.fullmatch(r"\d+(-\d+)?", v):
            bad()
    elif k == "array":
        if not isinstance(v, list) or not t["min_items"] <= len(v) <= t["max_items"]:
            bad()
        for i, item in enumerate(v):
            check_value(t["items"], item, "%s[%d]" % (where, i))
    elif k == "object":
        if not isinstance(v, dict):
            bad()
        if t.get("fields") is not None:
            check_params(t["fields"], v, where + ".")


def check_params(params, given, prefix=""):
    """Raises ValueError for an unknown, missing or ill-typed member of 'given'."""
    known = {p["name"]: p for p in params}
    for k in given:
        if k not in known:
            raise ValueError("unknown parameter %s%s (known: %s)" % (
                prefix, k, ", ".join(known) or "none"))
    for p in params:
        v = given.get(p["name"])
        if v is None:
            if p["required"]:
                raise ValueError("missing parameter %s%s" % (prefix, p["name"]))
            continue
        check_value(p["type"], v, prefix + p["name"])


class RpcError(Exception):
    """The server answered with an error: 'code' and 'message' as JSON-RPC has them."""

    def __init__(self, error, method=None):
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.method = method
        super().__init__("%s (%s)" % (self.message, self.code))


_SCHEMA = None


def schema():
    """The schema in api/, loaded once."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = Schema.load()
    return _SCHEMA


class Client:
    """A JSON-RPC 2.0 client of one program ('dse-dpud' or 'dse-hostd') on a
    Unix stream socket, one JSON text per line, with the methods of the schema."""

    def __init__(self, path, program="dse-dpud", timeout=10.0, sock=None):
        self.schema = schema()
        if program not in self.schema.programs:
            raise ValueError("no program %r in the schema" % program)
        self.program = program
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(str(path))
        self.sock = sock
        self.buf = b""
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self):
        """The next line the server sent (bytes), or None when it closed."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read(self):
        line = self.read_line()
        return None if line is None else json.loads(line)

    def request(self, obj):
        """Sends 'obj' as it is (no schema check) and returns the answer."""
        self.send_raw(json.dumps(obj).encode() + b"\n")
        return self.read()

    def check(self, method, params):
        """Raises ValueError unless 'method' with 'params' is a call the schema allows."""
        m = self.schema.method(self.program, method)
        if m is None:
            raise ValueError("%s has no method %s in api/" % (self.program, method))
        check_params(m["params"], params)

    def call(self, method, params=None, check=True, **kw):
        """Calls 'method' with 'params' (or keyword arguments) and returns its result;
        check=False sends params the schema refuses (to test the server's checks)."""
        p = dict(params or {}, **kw)
        if check:
            self.check(method, p)
        req = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params is not None or kw:
            req["params"] = p
        resp = self.request(req)
        if resp is None:
            raise ConnectionError("%s closed the connection during %s" % (self.program, method))
        if resp.get("id") != req["id"]:
            raise AssertionError("response id %r for request %r" % (resp.get("id"), req["id"]))
        if "error" in resp:
            raise RpcError(resp["error"], method)
        return resp["result"]
