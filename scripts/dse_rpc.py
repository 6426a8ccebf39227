#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Calls one method of dse-dpud or dse-hostd on its Unix socket, by the API schema.

A thin command line over the schema's client (dse_api.py): the params are
checked against api/ before anything is sent, and the program is the one
whose schema has the method (dse-dpud first).  Usage:

    dse_rpc.py SOCKET METHOD [PARAMS-JSON]

From Python, rpc_call(path, method, params) returns the result and raises
dse_api.RpcError for an error answer.
"""

import json
import sys

import dse_api

RpcError = dse_api.RpcError


def program_of(method):
    """The program whose schema has 'method' (dse-dpud first), or dse-dpud."""
    s = dse_api.schema()
    for prog in ("dse-dpud", "dse-hostd"):
        if s.method(prog, method) is not None:
            return prog
    return "dse-dpud"


def rpc_call(path, method, params=None, timeout=5.0, program=None):
    """Calls 'method' with 'params' (a dict, default none) on the socket at
    'path' and returns its result.  Raises ValueError when the schema
    refuses the call (nothing is sent), RpcError for an error answer,
    OSError when the socket can not be reached, socket.timeout after
    'timeout' seconds without an answer."""
    program = program or program_of(method)
    m = dse_api.schema().method(program, method)
    if m is None:
        raise ValueError("%s has no method %s (rpc.list lists them)" % (program, method))
    dse_api.check_params(m["params"], params or {})
    c = dse_api.Client(path, program=program, timeout=timeout)
    try:
        return c.call(method, params)
    finally:
        c.close()


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print("usage: dse_rpc.py SOCKET METHOD [PARAMS-JSON]\n"
              "Calls METHOD of dse-dpud or dse-hostd on its Unix socket and prints the\n"
              "result as JSON; the params are checked against the API schema (api/)\n"
              "first.  'rpc.list' lists the methods; docs/api.md describes them.")
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    try:
        params = json.loads(argv[3]) if len(argv) > 3 else None
        print(json.dumps(rpc_call(argv[1], argv[2], params), indent=2))
    except RpcError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("error: %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
