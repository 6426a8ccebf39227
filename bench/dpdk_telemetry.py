# SPDX-License-Identifier: BSD-3-Clause
"""A tiny client for the DPDK telemetry socket (v2 protocol).

Every DPDK process has /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2 (when
run as root), a SOCK_SEQPACKET socket: on connect the server sends a JSON
greeting, then each command ("/ethdev/stats,1") is answered by one JSON
message {"/ethdev/stats": {...}}.
"""

import json
import os
import socket

DPDK_RUN_DIR = "/var/run/dpdk"


def socket_path(file_prefix):
    """The telemetry socket of the DPDK process started with 'file_prefix'."""
    return os.path.join(DPDK_RUN_DIR, file_prefix, "dpdk_telemetry.v2")


def query(path, command, timeout=2.0):
    """Send 'command' to the telemetry socket at 'path' and return the value
    of its answer (the JSON object's only member).  Raises OSError when the
    socket is absent or silent and ValueError on a malformed answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(timeout)
        s.connect(path)
        hello = json.loads(s.recv(16384).decode())
        maxlen = int(hello.get("max_output_len", 16384))
        s.send(command.encode())
        reply = json.loads(s.recv(maxlen + 1024).decode())
    key = command.split(",", 1)[0]
    if key not in reply:
        raise ValueError("telemetry %r: unexpected answer %r" % (command, reply))
    return reply[key]


def port_by_name(path, name):
    """The ethdev port id whose device name is 'name' (for example
    "net_null0"), or None if no port has that name."""
    for port in query(path, "/ethdev/list") or []:
        info = query(path, "/ethdev/info,%d" % port)
        if isinstance(info, dict) and info.get("name") == name:
            return port
    return None


def port_stats(path, port):
    """The /ethdev/stats dict of 'port' (ipackets, opackets, ...)."""
    return query(path, "/ethdev/stats,%d" % port)
