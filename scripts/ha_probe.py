#!/usr/bin/python3
"""Traffic of the failover harness: what a failover must not break.

  ha_probe.py server PORT
      TCP and UDP echo on PORT (every address), until killed.
  ha_probe.py client ADDR PORT [--conns N] [--seconds S] [--rate PPS]
      N long-lived TCP connections to ADDR:PORT, each sending a small
      message every 10 ms and checking every reply, and a sequence-numbered
      UDP probe stream at PPS datagrams a second, for S seconds; then prints
      one JSON object:
        start: CLOCK_MONOTONIC seconds when the stream began (the same clock
               in every namespace: a fault's time can be set against it)
        tcp: {conns, opened, survived, failed: [why...], max_stall_ms}
        udp: {sent, received, lost, window_ms, first_lost_ms, last_lost_ms}
      A TCP connection survives when it was never reset or closed and never
      waited more than --stall seconds (default 1) for a reply.  'window_ms' is the longest run
      of probes without a reply, in milliseconds of the stream (lost *
      1000 / PPS when they are consecutive).

Only the standard library: it runs inside the lab's VMs (network
namespaces) with the system's Python.
"""
import argparse
import json
import selectors
import socket
import struct
import sys
import time

MSG = 32  # bytes of one TCP message: an 8-byte counter, then padding


def server(port):
    sel = selectors.DefaultSelector()
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("0.0.0.0", port))
    lst.listen(1024)
    lst.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    udp.setblocking(False)
    sel.register(lst, selectors.EVENT_READ, "listen")
    sel.register(udp, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data == "listen":
                try:
                    c, _ = lst.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(c, selectors.EVENT_READ, "tcp")
            elif key.data == "udp":
                while True:
                    try:
                        d, a = udp.recvfrom(2048)
                    except BlockingIOError:
                        break
                    udp.sendto(d, a)
            else:
                c = key.fileobj
                try:
                    d = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(c)
                    c.close()
                    continue
                try:
                    c.sendall(d)
                except OSError:
                    sel.unregister(c)
                    c.close()


class Conn:
    def __init__(self, i, addr, port):
        self.i = i
        self.s = socket.create_connection((addr, port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.sent = 0       # messages sent
        self.echoed = 0     # bytes echoed back
        self.buf = b""
        self.failed = None
        self.wait_since = None  # when the oldest unanswered message went
        self.max_stall = 0.0


def client(addr, port, nconns, seconds, rate, stall=1.0):
    conns, failed = [], []
    for i in range(nconns):
        try:
            conns.append(Conn(i, addr, port))
        except OSError as e:
            failed.append("connection %d: connect: %s" % (i, e))
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.s, selectors.EVENT_READ, c)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect((addr, port))
    udp.setblocking(False)
    sel.register(udp, selectors.EVENT_READ, None)
    start = time.monotonic()
    end = start + seconds
    next_tcp = start
    n_udp = int(seconds * rate)
    got = bytearray(n_udp)
    sent_udp = 0
    while True:
        now = time.monotonic()
        if now >= end + 1.0:
            break
        # The UDP stream: as many as the schedule says by now.
        while sent_udp < n_udp and start + sent_udp / rate <= now:
            try:
                udp.send(struct.pack("!Q", sent_udp) + b"p" * 24)
            except OSError:
                pass
            sent_udp += 1
        if now >= next_tcp and now < end:
            next_tcp += 0.01
            for c in conns:
                if c.failed:
                    continue
                try:
                    c.s.send(struct.pack("!Q", c.sent) + b"m" * (MSG - 8))
                    c.sent += 1
                    if c.wait_since is None:
                        c.wait_since = now
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as e:
                    c.failed = "send: %s" % e
        timeout = max(0.0, min(next_tcp, start + sent_udp / rate) - time.monotonic())
        for key, _ in sel.select(timeout=min(timeout, 0.01)):
            c = key.data
            if c is None:
                while True:
                    try:
                        d = udp.recv(2048)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if len(d) >= 8:
                        seq = struct.unpack("!Q", d[:8])[0]
                        if seq < n_udp:
                            got[seq] = 1
                continue
            try:
                d = c.s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                c.failed = "recv: %s" % e
                sel.unregister(c.s)
                continue
            if not d:
                c.failed = "closed by the peer"
                sel.unregister(c.s)
                continue
            c.buf += d
            while len(c.buf) >= MSG:
                seq = struct.unpack("!Q", c.buf[:8])[0]
                if seq != c.echoed // MSG:
                    c.failed = "reply %d out of order (expected %d)" % (seq, c.echoed // MSG)
                c.buf = c.buf[MSG:]
                c.echoed += MSG
            t = time.monotonic()
            if c.wait_since is not None:
                c.max_stall = max(c.max_stall, t - c.wait_since)
                c.wait_since = None if c.echoed // MSG >= c.sent else t
        t = time.monotonic()
        for c in conns:
            if c.wait_since is not None and t - c.wait_since > stall and not c.failed:
                c.failed = "stalled: no reply for over %g s" % stall
    for c in conns:
        if c.wait_since is not None:
            c.max_stall = max(c.max_stall, time.monotonic() - c.wait_since)
        if c.failed:
            failed.append("connection %d: %s" % (c.i, c.failed))
        c.s.close()
    lost = [i for i in range(sent_udp) if not got[i]]
    # The tail still in flight when the stream ended is not a loss.
    run = longest = 0
    for i in range(sent_udp):
        run = run + 1 if not got[i] else 0
        longest = max(longest, run)
    return {
        "start": start,
        "tcp": {"conns": nconns, "opened": len(conns),
                "survived": sum(1 for c in conns if not c.failed), "failed": failed,
                "max_stall_ms": round(max([c.max_stall for c in conns] or [0]) * 1000)},
        "udp": {"sent": sent_udp, "received": sent_udp - len(lost), "lost": len(lost),
                "window_ms": round(longest * 1000.0 / rate),
                "first_lost_ms": round(lost[0] * 1000.0 / rate) if lost else None,
                "last_lost_ms": round(lost[-1] * 1000.0 / rate) if lost else None},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server", help="TCP and UDP echo")
    s.add_argument("port", type=int)
    c = sub.add_parser("client", help="long-lived TCP connections and a UDP probe stream")
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("--conns", type=int, default=50)
    c.add_argument("--seconds", type=float, default=10.0)
    c.add_argument("--rate", type=int, default=1000, help="UDP probes a second")
    c.add_argument("--stall", type=float, default=1.0,
                   help="seconds without a reply that fail a TCP connection (default 1)")
    a = ap.parse_args()
    if a.cmd == "server":
        server(a.port)
    else:
        if a.conns < 0 or a.seconds <= 0 or a.rate <= 0:
            ap.error("--conns >= 0, --seconds > 0, --rate > 0")
        print(json.dumps(client(a.addr, a.port, a.conns, a.seconds, a.rate, a.stall)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
