# SPDX-License-Identifier: BSD-3-Clause
"""A small network lab for the dse-dpud system tests.

A Lab is one test's world: a namespace for the DPU where dse-dpud runs, and
"VMs", each a namespace whose eth0 is one end of a veth pair; the other end
lives in the DPU namespace under the port's name (vm1, tr1, ...) and is
handed to dse-dpud as a net_af_packet port.

Safety: every namespace is named "dse-t<pid>-<n>-<role>", so parallel runs
and the real lab never collide; VMs only use 198.18.0.0/15 and nothing is
ever routed out.  VMs are kept silent (IPv6 off, static ARP, checksum and
segmentation offloads off) so that the tests can count frames exactly.

Lab.close() undoes everything it made, in reverse order, and is safe to
call after any failure: captures, helper processes and dse-dpud are
stopped, the namespaces deleted, /var/run/dpdk/<prefix> removed.
"""
import importlib
import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import dse_api  # noqa: E402  (the client of the API schema)

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
PKT = Path(__file__).resolve().with_name("pkt.py")
SESSION = "dse-t%d" % os.getpid()
DPDK_RUN = Path("/var/run/dpdk")

_lab_seq = itertools.count(1)
_dpud_seq = itertools.count(1)
# Labs not yet closed, so that the session can close them on an abort.
LIVE_LABS = []


def dpud_binary():
    build = Path(os.environ.get("DSE_BUILD", "build"))
    if not build.is_absolute():
        build = ROOT / build
    return build / "dse-dpud"


class LabError(Exception):
    """The lab itself could not be set up (not a failure of the code under test)."""


def run(cmd, check=True, timeout=30, input=None):
    """Runs 'cmd' (a list) and returns the CompletedProcess; raises LabError on failure."""
    try:
        p = subprocess.run([str(c) for c in cmd], input=input, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabError("%s: timed out after %ss" % (" ".join(map(str, cmd)), timeout)) from e
    if check and p.returncode != 0:
        raise LabError("%s: exit %d: %s" % (" ".join(map(str, cmd)), p.returncode,
                                           (p.stderr or p.stdout).strip()))
    return p


def wait_for(fn, pred=bool, timeout=5.0, interval=0.02):
    """Calls 'fn' until pred(value) holds or 'timeout' seconds pass; returns the last value.

    The caller asserts on the value, so a timeout shows what was seen last.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if pred(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def check_prerequisites():
    """Raises LabError with a reason when the system tests cannot run here."""
    if os.geteuid() != 0:
        raise LabError("the system tests need root (network namespaces, AF_PACKET)")
    if not dpud_binary().exists():
        raise LabError("%s is missing: run 'make build' (DSE_BUILD=%s)"
                       % (dpud_binary(), os.environ.get("DSE_BUILD", "build")))
    for tool in ("ip", "ethtool", "ping", "iperf3", "ss"):
        if shutil.which(tool) is None:
            raise LabError("'%s' is not installed" % tool)
    try:
        importlib.import_module("scapy.layers.l2")
    except ImportError as e:
        raise LabError("scapy is missing for %s (Debian: python3-scapy): %s" % (PYTHON, e))


# ---- frames ----

def mac(i):
    """The MAC address of VM number 'i': 02:00:00:00:00:0i."""
    return "02:00:00:00:00:%02x" % i


def l2_frame(src, dst, marker, size=64, ethertype=0x88B5, vlan=None):
    """An Ethernet frame of 'size' bytes (before any tag) carrying 'marker'.

    The default ethertype is the IEEE "local experimental" one: no kernel
    answers it, so the frame causes no reply.
    """
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.packet import Raw

    payload = marker.encode() if isinstance(marker, str) else marker
    payload = payload.ljust(max(size - 14, len(payload)), b".")
    if vlan is None:
        return bytes(Ether(src=src, dst=dst, type=ethertype) / Raw(payload))
    return bytes(Ether(src=src, dst=dst) / Dot1Q(vlan=vlan, type=ethertype) / Raw(payload))


def has_marker(frame, marker):
    return (marker.encode() if isinstance(marker, str) else marker) in frame


def vlan_of(frame):
    """The VLAN id of the outer 802.1Q tag of 'frame', or None if untagged."""
    if len(frame) >= 18 and frame[12:14] in (b"\x81\x00", b"\x88\xa8"):
        return int.from_bytes(frame[14:16], "big") & 0xFFF
    return None


# ---- namespaces ----

class Netns:
    """A network namespace made by the lab, with IPv6 off and lo up."""

    def __init__(self, name):
        self.name = name

    def create(self):
        run(["ip", "netns", "add", self.name])
        # Every interface made in here later inherits "default": no IPv6, so no ND or MLD.
        self.sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        self.ip("link", "set", "lo", "up")

    def args(self, *cmd):
        return ["ip", "netns", "exec", self.name] + [str(c) for c in cmd]

    def run(self, *cmd, **kw):
        return run(self.args(*cmd), **kw)

    def ip(self, *args, **kw):
        return run(["ip", "-n", self.name] + [str(a) for a in args], **kw)

    def sysctl(self, *settings):
        self.run("sysctl", "-q", "-w", *settings)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(self.args(*cmd), **kw)

    def pids(self):
        p = run(["ip", "netns", "pids", self.name], check=False)
        return [int(x) for x in p.stdout.split()]

    def delete(self):
        # Anything still running in here was started by this lab: end it by its pid.
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        run(["ip", "netns", "del", self.name], check=False)


class Capture:
    """Frames arriving at an interface, read by pkt.py in the namespace.

    Started and confirmed listening ("READY") before the constructor
    returns, so nothing sent afterwards can be missed.
    """

    def __init__(self, ns, iface, timeout=20.0):
        self.proc = ns.popen(PYTHON, PKT, "capture", iface, "--timeout", timeout,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
        self.where = "%s/%s" % (ns.name, iface)
        self._frames = []
        self._lock = threading.Lock()
        self._ready = queue.Queue()
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            line = self._ready.get(timeout=10)
        except queue.Empty:
            line = None
        if line != "READY":
            self.proc.kill()
            raise LabError("capture on %s did not start: %s %s"
                           % (self.where, line, self.proc.stderr.read()))

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line in ("READY",):
                self._ready.put(line)
            elif line == "END":
                break
            elif line:
                with self._lock:
                    self._frames.append(bytes.fromhex(line))
        self._ready.put("EOF")
        self._done.set()

    @property
    def frames(self):
        with self._lock:
            return list(self._frames)

    def matching(self, marker):
        return [f for f in self.frames if has_marker(f, marker)]

    def wait_matching(self, marker, n, timeout=5.0):
        """Waits until 'n' frames with 'marker' arrived; returns those seen."""
        return wait_for(lambda: self.matching(marker), lambda fs: len(fs) >= n, timeout)

    def stop(self):
        """Stops the capture and returns every frame it saw."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._done.wait(timeout=5)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        return self.frames


class Vm:
    """A VM: namespace 'ns' whose eth0 is cabled to DPU port 'port'."""

    def __init__(self, lab, name, index, ip, port, mtu):
        self.lab = lab
        self.name = name
        self.index = index
        self.mac = mac(index)
        self.ip = ip
        self.port = port
        self.ns = lab.netns(name)
        dp = lab.dp
        dp.ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", self.ns.name)
        dp.sysctl("net.ipv6.conf.%s.disable_ipv6=1" % port)
        self.ns.sysctl("net.ipv6.conf.eth0.disable_ipv6=1")
        self.ns.ip("link", "set", "eth0", "address", self.mac, "mtu", mtu)
        dp.ip("link", "set", port, "mtu", mtu)
        # Unfinished checksums and TSO super-frames must not reach AF_PACKET.
        self.ns.run("ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
        if ip:
            self.ns.ip("addr", "add", ip + "/24", "dev", "eth0")
        self.ns.ip("link", "set", "eth0", "up")
        dp.ip("link", "set", port, "up")

    def neigh(self, ip, lladdr):
        """A permanent ARP entry: the kernel then never sends ARP for 'ip'."""
        self.ns.ip("neigh", "replace", ip, "lladdr", lladdr, "dev", "eth0", "nud", "permanent")

    def send(self, frames):
        """Sends raw frames (bytes) out of eth0; returns pkt.py's result per frame."""
        p = self.ns.run(PYTHON, PKT, "send", "eth0",
                        input="".join(bytes(f).hex() + "\n" for f in frames))
        results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        if len(results) != len(frames):
            raise LabError("pkt.py send on %s: %d results for %d frames: %s"
                           % (self.name, len(results), len(frames), p.stderr))
        return results

    def send_ok(self, frames):
        """Sends frames that must all leave eth0."""
        results = self.send(frames)
        bad = [r for r in results if not r["ok"]]
        if bad:
            raise LabError("%s could not send %d of %d frames: %s"
                           % (self.name, len(bad), len(frames), bad[0]))

    def capture(self, timeout=20.0):
        return self.lab.track(Capture(self.ns, "eth0", timeout))

    def ping(self, ip, count=3, interval=0.2):
        """Runs ping in the VM; returns the CompletedProcess (the caller checks the replies)."""
        return self.ns.run("ping", "-n", "-q", "-c", count, "-i", interval, "-W", 2, ip,
                           check=False, timeout=count * interval + 15)


# ---- dse-dpud and its control socket ----

RpcError = dse_api.RpcError


class Rpc(dse_api.Client):
    """dse-dpud's control socket through the client of the API schema (scripts/dse_api.py):
    every call is checked against api/ before it is sent; call(..., check=False) and
    request() send what the schema refuses, to test the daemon's own checks."""

    def __init__(self, path, timeout=10.0, program="dse-dpud"):
        super().__init__(path, program, timeout=timeout)


def dpud_workers():
    """Workers the system tests give dse-dpud: DSE_TEST_WORKERS, default 1.

    tests/run runs the layer 2, firewall and overlay tests a second time
    with two workers."""
    n = int(os.environ.get("DSE_TEST_WORKERS", "1"))
    assert 1 <= n <= 16, "DSE_TEST_WORKERS must be 1 to 16"
    return n


class Dpud:
    """One dse-dpud running in namespace 'ns' with the startup config 'calls'.

    It runs dpud_workers() workers unless 'extra_args' says --workers.

    Its allow-list (--ports-allow) names the interfaces in 'allow': the lab's
    cables by default.  With 'test_devices' it may also create net_pcap,
    net_null and net_ring devices (--test-devices).  With 'test_clock' (the
    default here, never in dse-dpud itself) it serves the clock.* methods
    (--test-clock)."""

    def __init__(self, lab, ns, calls, extra_args=(), ready_timeout=20.0, allow=None,
                 test_devices=False, test_clock=True):
        n = next(_dpud_seq)
        self.lab = lab
        self.ns = ns
        self.prefix = "%s-%d" % (SESSION, n)
        self.sock = lab.tmp / ("dpud%d.sock" % n)
        self.config = lab.tmp / ("dpud%d.json" % n)
        self.allow = lab.tmp / ("dpud%d.allow" % n)
        self.log_path = lab.tmp / ("dpud%d.log" % n)
        self.config.write_text(json.dumps(calls, indent=1))
        if allow is None:
            allow = [vm.port for vm in lab.vms.values()]
        self.allow.write_text("".join("%s\n" % name for name in allow))
        self.returncode = None
        self._rpc = None
        cmd = [dpud_binary(), "--file-prefix=" + self.prefix, "--", "--lab",
               "--rpc", self.sock, "--config", self.config, "--ports-allow", self.allow]
        if test_devices:
            cmd.append("--test-devices")
        if test_clock:
            cmd.append("--test-clock")
        if dpud_workers() > 1 and "--workers" not in extra_args:
            cmd += ["--workers", str(dpud_workers())]
        cmd += list(extra_args)
        with open(self.log_path, "w") as log:
            self.proc = ns.popen(*cmd, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        lab.dpuds.append(self)
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError("dse-dpud exited with %d during start:\n%s"
                               % (self.proc.returncode, self.log()))
            if self.sock.exists():
                try:
                    rpc = Rpc(self.sock, timeout=5)
                    rpc.call("rpc.list")
                    self._rpc = rpc
                    return
                except (OSError, RpcError) as e:
                    last = e
            time.sleep(0.02)
        raise LabError("dse-dpud not ready on %s after %ss (%s):\n%s"
                       % (self.sock, timeout, last, self.log()))

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    @property
    def rpc(self):
        return self._rpc

    def call(self, method, params=None, **kw):
        return self._rpc.call(method, params, **kw)

    def connect(self):
        """A new, separate connection to the control socket."""
        return Rpc(self.sock)

    # Counters.

    def stats(self):
        return self.call("stats.show")

    def ports(self):
        return {p["name"]: p for p in self.call("port.list")}

    def port_stats(self):
        return {name: p["stats"] for name, p in self.ports().items()}

    def fdb(self):
        """{(segment, mac in lower case): port} of the FDB (dse-dpud writes upper case)."""
        return {(e["segment"], e["mac"].lower()): e["port"] for e in self.call("fdb.list")}

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after 'timeout'; removes the runtime files.

        Returns the exit code (0 for a clean stop)."""
        if self._rpc:
            self._rpc.close()
            self._rpc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.returncode is None:
            self.returncode = self.proc.returncode
        shutil.rmtree(DPDK_RUN / self.prefix, ignore_errors=True)
        for p in (self.sock,):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        return self.returncode


def counters(stats):
    """Flattens stats.get into {"port.<name>.<counter>", "node.<name>", "drop.<reason>"}."""
    out = {}
    for p in stats["ports"]:
        for k, v in p["stats"].items():
            out["port.%s.%s" % (p["name"], k)] = v
    for n in stats["nodes"]:
        out["node." + n["name"]] = n["packets"]
    for k, v in stats["drops"].items():
        out["drop." + k] = v
    for k in ("hits", "misses", "inserts"):
        out["flow." + k] = stats["flow_cache"][k]
    for k, v in stats["fdb"].items():
        out["fdb." + k] = v
    return out


def delta(after, before):
    """The counters that changed between two counters() snapshots."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def port_config(name, mode="access", segment=None, segments=None, mtu=None, devargs=None):
    params = {"name": name, "devargs": devargs or "net_af_packet_%s,iface=%s" % (name, name),
              "mode": mode}
    if segment is not None:
        params["segment"] = segment
    if segments is not None:
        params["segments"] = segments
    if mtu is not None:
        params["mtu"] = mtu
    return {"method": "port.add", "params": params}


class Lab:
    """One test's namespaces, VMs, dse-dpud instances and helper processes."""

    def __init__(self, tmp):
        self.id = "%s-%d" % (SESSION, next(_lab_seq))
        self.tmp = Path(tmp)
        self.namespaces = []
        self.dpuds = []
        self.tracked = []
        self.vms = {}
        self.closed = False
        LIVE_LABS.append(self)
        self.dp = self.netns("dp")

    def netns(self, role):
        ns = Netns("%s-%s" % (self.id, role))
        # Registered first, so that close() deletes it even if creating it is interrupted.
        self.namespaces.append(ns)
        ns.create()
        return ns

    def track(self, thing):
        """Has close() stop 'thing' (a Capture or a Popen)."""
        self.tracked.append(thing)
        return thing

    def add_vm(self, name, index=None, ip=None, port=None, mtu=1500, subnet="198.18.0"):
        """Adds VM 'name' (number 'index': MAC 02:..:index, IP <subnet>.<index>)."""
        index = index or len(self.vms) + 1
        if ip is None:
            ip = "%s.%d" % (subnet, index)
        vm = Vm(self, name, index, ip or None, port or name, mtu)
        self.vms[name] = vm
        return vm

    def static_arp(self):
        """Gives every VM a permanent ARP entry for every other VM of its /24."""
        def subnet(vm):
            return vm.ip.rsplit(".", 1)[0] if vm.ip else None

        for a in self.vms.values():
            for b in self.vms.values():
                if a is not b and subnet(a) and subnet(a) == subnet(b):
                    a.neigh(b.ip, b.mac)

    def start_dpud(self, calls, extra_args=(), allow=None, test_devices=False, test_clock=True):
        """Starts dse-dpud in the DPU namespace (see Dpud for the keywords)."""
        return Dpud(self, self.dp, calls, extra_args, allow=allow, test_devices=test_devices,
                    test_clock=test_clock)

    def popen(self, ns, *cmd, **kw):
        return self.track(ns.popen(*cmd, **kw))

    def debug_text(self):
        """What to show when a test failed: dse-dpud logs and the DPU's links."""
        parts = []
        for d in self.dpuds:
            parts.append("---- dse-dpud %s (%s) log:\n%s" % (d.prefix, "running" if d.alive()
                                                             else "exit %s" % d.proc.returncode,
                                                             d.log()[-20000:]))
        try:
            parts.append("---- links in %s:\n%s" % (self.dp.name,
                                                    self.dp.ip("-br", "link", check=False).stdout))
        except LabError:
            pass
        return "\n".join(parts)

    def close(self):
        if self.closed:
            return
        self.closed = True
        errors = []
        for t in reversed(self.tracked):
            try:
                if isinstance(t, Capture):
                    t.stop()
                elif t.poll() is None:
                    t.kill()
                    t.wait(timeout=10)
            except Exception as e:  # keep cleaning up whatever happens
                errors.append(e)
        for d in reversed(self.dpuds):
            try:
                d.stop()
            except Exception as e:
                errors.append(e)
        for ns in reversed(self.namespaces):
            try:
                ns.delete()
            except Exception as e:
                errors.append(e)
        if self in LIVE_LABS:
            LIVE_LABS.remove(self)
        if errors:
            raise LabError("lab cleanup: %s" % errors)


def remove_leftovers():
    """Removes namespaces and DPDK runtime directories of this session that still
    exist (there should be none) and returns their names."""
    p = run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    left = [n for n in names if n.startswith(SESSION + "-")]
    for n in left:
        Netns(n).delete()
    runtime = sorted(DPDK_RUN.glob(SESSION + "-*")) if DPDK_RUN.exists() else []
    for d in runtime:
        shutil.rmtree(d, ignore_errors=True)
    return left + [str(d) for d in runtime]


BROADCAST = "ff:ff:ff:ff:ff:ff"


def announce(dpud, vms, segment="a", timeout=5.0):
    """Each VM sends one broadcast so that dse-dpud learns its MAC; waits until all are learned."""
    for vm in vms:
        vm.send_ok([l2_frame(vm.mac, BROADCAST, "announce-%s" % vm.name)])
    want = {(segment, vm.mac): vm.port for vm in vms}
    fdb = wait_for(dpud.fdb, lambda f: all(f.get(k) == v for k, v in want.items()), timeout)
    missing = {k: v for k, v in want.items() if fdb.get(k) != v}
    if missing:
        raise AssertionError("dse-dpud did not learn %s; fdb.show: %s" % (missing, fdb))
    return fdb


def wait_counters(dpud, want, timeout=5.0, since=None):
    """Polls stats.get until every counter in 'want' has reached its value.

    With 'since' (a counters() snapshot), 'want' holds deltas.  Returns the
    last counters() snapshot (or delta) so the caller can assert exactly.
    """
    def snap():
        c = counters(dpud.stats())
        return delta(c, since) if since is not None else c

    return wait_for(snap, lambda c: all(c.get(k, 0) >= v for k, v in want.items()), timeout)
