#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Clients for the tests of the JSON-RPC servers' limits (test_rpc_limits.py,
test_hostd.py).

Run as a program, it is a client of its own process, so that what it
measures does not depend on the test process (which runs the attack), and
so that it can run inside a namespace (ip netns exec) to reach a TLS port
on that namespace's loopback:

  rpc_load.py probe unix PATH METHOD SECONDS INTERVAL_MS [--connect]
  rpc_load.py probe tls ADDR PORT TLSDIR SRC METHOD SECONDS INTERVAL_MS [--connect]
      a well-behaved client: calls METHOD every INTERVAL_MS for SECONDS, on
      one connection or (--connect) a new one for each call, and prints
      {"calls": [ms], "connects": [ms], "errors": [text]}: the time of each
      answer from the request's first byte, and of each connect (TLS: with
      the handshake and the server's verdict on our certificate).
  rpc_load.py tls-idle ADDR PORT TLSDIR SRC N
      opens N authenticated TLS sessions (each answers one call), prints
      READY, keeps them open and idle until its stdin closes, then prints
      {"closed_by_server": n}.
  rpc_load.py tcp-flood ADDR PORT RATE SECONDS SRC...
      opens RATE TCP connections a second to ADDR:PORT for SECONDS, from the
      source addresses SRC in turn, and never sends a byte on them (the
      server sees TLS clients that never start their handshake); prints
      READY after the first, then {"opened": n, "failed": n}.

TLSDIR holds ca.pem, cert.pem and key.pem ('dse-hostd cert issue').  As a
module it gives the tests what they share: the memory of a process, the
checks of a probe's timings, and the attacking clients that run in the
test process (Unix sockets are reachable from any namespace).
"""
import json
import math
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

# Calls of a well-behaved client are answered within this: 99 in 100 of them
# (p99), since the test's own processes share two cores with the daemon and
# with whatever else runs on the machine, and a scheduling hiccup of the probe
# must not fail the test...
CALL_MS = 100
# ... and every one of them (p100) within this: a server loop that blocks on
# one client (the issue: 15.8 s, 30 s) fails, as does a client starved.
STALL_MS = 1000
# Every connect with its TLS handshake takes less than this: dse-hostd's budget.
CONNECT_MS = 500
# After an attack the daemon's RSS is back within this of where it was.
RSS_SLACK_KB = 4096
PYTHON = "/usr/bin/python3"
SELF = Path(__file__).resolve()


# ---- what the tests import ----

def _status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_kb(pid):
    """The resident set of process 'pid' in KiB (VmRSS)."""
    return _status_kb(pid, "VmRSS")


def peak_kb(pid):
    """The peak resident set of 'pid' in KiB since reset_peak() (VmHWM)."""
    return _status_kb(pid, "VmHWM")


def reset_peak(pid):
    """Resets the peak resident set of 'pid' to its current one (Linux 4.0+)."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def pct(values, p):
    """The p-th percentile (nearest rank) of 'values'; p=100 is the maximum."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def assert_served(res, what, metrics, connects=False):
    """p99 of the calls within CALL_MS, every call within STALL_MS, every connect within
    CONNECT_MS, no error."""
    assert not res["errors"], "%s: %s" % (what, res["errors"][:5])
    calls = res["calls"]
    assert len(calls) >= 10, "%s: only %d calls" % (what, len(calls))
    line = "%s: %d calls, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        what, len(calls), pct(calls, 50), pct(calls, 99), max(calls))
    if connects:
        line += "; %d connects, max %.1f ms" % (len(res["connects"]), max(res["connects"]))
    metrics.append(line)
    assert pct(calls, 99) < CALL_MS and max(calls) < STALL_MS, line
    if connects:
        assert max(res["connects"]) < CONNECT_MS, line


def settle_rss(pid, before_kb, timeout=2.0):
    """RSS of 'pid' once it is back within 512 KiB of 'before_kb', or after
    'timeout' (the server trims its heap at most every 100 ms)."""
    end = time.monotonic() + timeout
    while True:
        kb = rss_kb(pid)
        if kb <= before_kb + 512 or time.monotonic() > end:
            return kb
        time.sleep(0.05)


def record_rss(metrics, what, before, peak, after):
    metrics.append("%s: RSS %.1f MB before, peak %.1f MB, %.1f MB after"
                   % (what, before / 1024, peak / 1024, after / 1024))
    assert after <= before + RSS_SLACK_KB, (
        "%s: RSS %d KiB after, %d KiB before" % (what, after, before))


def unix_conn(path, timeout=10.0):
    """A connection to the Unix socket 'path'.  A burst of connects can find
    the listen backlog full for a moment (EAGAIN: the server takes a batch
    of new clients per turn): it tries again for up to 5 s."""
    end = time.monotonic() + 5
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.005)


def read_line(sock, buf=b""):
    while b"\n" not in buf:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf.split(b"\n", 1)


class Flooder:
    """A client that sends one request line without end and never reads an
    answer; it connects again when the server hangs up on it."""

    def __init__(self, path, line):
        self.path, self.blob = path, line * 2000
        self.sock = None
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                self.sock = unix_conn(self.path, timeout=None)
                while not self.stopping:
                    self.sock.sendall(self.blob)
            except OSError:
                time.sleep(0.01)
            finally:
                if self.sock:
                    self.sock.close()

    def stop(self):
        self.stopping = True
        s = self.sock
        if s:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the send() that blocks
            except OSError:
                pass
        self.thread.join(timeout=10)


def probe_unix(path, seconds, method, connect=False, interval=10):
    """Starts this program as a well-behaved client of the Unix socket 'path'."""
    cmd = [PYTHON, SELF, "probe", "unix", path, method, seconds, interval]
    if connect:
        cmd.append("--connect")
    return subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def probe_result(p, timeout=60):
    """What the probe 'p' measured (it fails the test if the probe failed)."""
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    return json.loads(out)


def request_line(method, id_=1, params=None):
    r = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        r["params"] = params
    return json.dumps(r, separators=(",", ":")).encode() + b"\n"


# ---- the clients ----

class LineConn:
    """One connection (a socket, plain or TLS) speaking one JSON text per line."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def call(self, method, id_):
        self.sock.sendall(request_line(method, id_))
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        resp = json.loads(line)
        if resp.get("id") != id_ or "result" not in resp:
            raise RuntimeError("bad answer to %s: %s" % (method, line[:300]))
        return resp

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_context(tls_dir):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(tls_dir + "/ca.pem")
    ctx.load_cert_chain(tls_dir + "/cert.pem", tls_dir + "/key.pem")
    return ctx


def tls_connect(ctx, addr, port, src, timeout=5.0):
    """Connects and completes the handshake, the server's verdict included."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((addr, port))
    t = ctx.wrap_socket(s)
    # In TLS 1.3 the server judges our certificate after our side of the
    # handshake: its session ticket (read and kept by OpenSSL) is the "yes".
    t.setblocking(False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if t.recv(1):
                raise RuntimeError("unexpected data before any request")
            raise ConnectionError("the server closed the connection after the handshake")
        except ssl.SSLWantReadError:
            # No ticket processed yet: wait for it, or give up after a while.
            if getattr(t, "session", None) is not None and t.session.has_ticket:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no verdict from the server")
            select.select([t], [], [], min(left, 0.005))
    t.setblocking(True)
    t.settimeout(timeout)
    return t


def probe(argv):
    connect_each = "--connect" in argv
    argv = [a for a in argv if a != "--connect"]
    if argv[0] == "unix":
        _, path, method, seconds, interval = argv

        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5.0)
            s.connect(path)
            return s
    else:
        _, addr, port, tls_dir, src, method, seconds, interval = argv
        ctx = tls_context(tls_dir)

        def connect():
            return tls_connect(ctx, addr, int(port), src)
    out = {"calls": [], "connects": [], "errors": []}
    end = time.monotonic() + float(seconds)
    conn = None
    i = 0
    while time.monotonic() < end:
        i += 1
        try:
            if conn is None:
                t0 = time.monotonic()
                conn = LineConn(connect())
                out["connects"].append((time.monotonic() - t0) * 1000)
            t0 = time.monotonic()
            conn.call(method, i)
            out["calls"].append((time.monotonic() - t0) * 1000)
        except (OSError, RuntimeError, ValueError) as e:
            out["errors"].append("call %d: %s: %s" % (i, type(e).__name__, e))
            if conn:
                conn.close()
            conn = None
        if connect_each and conn:
            conn.close()
            conn = None
        time.sleep(float(interval) / 1000)
    if conn:
        conn.close()
    print(json.dumps(out))


def tls_idle(argv):
    addr, port, tls_dir, src, n = argv
    ctx = tls_context(tls_dir)
    conns = []
    for i in range(int(n)):
        c = LineConn(tls_connect(ctx, addr, int(port), src))
        c.call("rpc.list", i + 1)
        conns.append(c)
    print("READY", flush=True)
    sys.stdin.read()
    closed = 0
    for c in conns:
        c.sock.setblocking(False)
        try:
            if c.sock.recv(1) == b"":
                closed += 1
        except ssl.SSLWantReadError:
            pass
        except OSError:
            closed += 1
    print(json.dumps({"closed_by_server": closed}))


def tcp_flood(argv):
    addr, port, rate, seconds = argv[:4]
    srcs = argv[4:]
    socks = []
    failed = 0
    start = time.monotonic()
    n = int(float(rate) * float(seconds))
    for i in range(n):
        # Evenly paced: connection i goes at i / rate seconds.
        delay = start + i / float(rate) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.bind((srcs[i % len(srcs)], 0))
            s.connect((addr, int(port)))
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
        if i == 0:
            print("READY", flush=True)
    for s in socks:
        s.close()
    print(json.dumps({"opened": len(socks), "failed": failed}))


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    {"probe": probe, "tls-idle": tls_idle, "tcp-flood": tcp_flood}[cmd](argv)


if __name__ == "__main__":
    main()
