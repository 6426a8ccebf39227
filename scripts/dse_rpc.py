#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A tiny JSON-RPC 2.0 client for dse-dpud's control socket.

The socket is a Unix stream socket; a request and its response are each one
JSON object on one line.  Usage:

    from dse_rpc import rpc_call
    ports = rpc_call("/tmp/x/dse.sock", "port.list")
"""

import json
import socket


class RpcError(Exception):
    """The server answered with a JSON-RPC error object ('error')."""

    def __init__(self, method, error):
        self.method = method
        self.error = error
        msg = error.get("message", error) if isinstance(error, dict) else error
        super().__init__("%s: %s" % (method, msg))


def rpc_call(path, method, params=None, timeout=5.0, req_id=1):
    """Call 'method' with 'params' (a dict, default {}) on the socket at
    'path' and return the "result" member of the response.

    Raises RpcError if the response carries an "error" member, OSError if the
    socket cannot be reached or closes early, ValueError if the response is not
    JSON, and socket.timeout after 'timeout' seconds without a full line.
    """
    req = {"jsonrpc": "2.0", "id": req_id, "method": method,
           "params": params if params is not None else {}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                if buf.strip():
                    break
                raise OSError("%s: connection closed without a response" % method)
            buf += chunk
    resp = json.loads(buf.split(b"\n", 1)[0])
    if "error" in resp and resp["error"] is not None:
        raise RpcError(method, resp["error"])
    return resp.get("result")


def main(argv):
    """Command line: dse_rpc.py SOCKET METHOD [PARAMS-JSON] prints the result as JSON."""
    import sys
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print("usage: dse_rpc.py SOCKET METHOD [PARAMS-JSON]\n"
              "Calls METHOD on a dse JSON-RPC socket and prints the result as JSON;\n"
              "'rpc.list' lists the methods.")
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    try:
        params = json.loads(argv[3]) if len(argv) > 3 else {}
        print(json.dumps(rpc_call(argv[1], argv[2], params), indent=2))
    except RpcError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print("error: %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
