#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark dse-dpud against OVS-DPDK and dpdk-testpmd (the harness behind
`make bench`).

    /usr/bin/python3 bench/run.py [--workload l2] [--runs 3] [--seconds 5]
                                  [--warmup 2] [--dse build/dse-dpud]

For every workload, every datapath is started, warmed up and measured once per
run, the datapaths interleaved (the order rotates from run to run), so that
machine drift hits all of them alike.  A run: start the datapath with its
forwarding thread on CPU 1 and everything else on CPU 0, wait until its ports
are up, warm up, then read the TX packet counter of the output port through the
process's DPDK telemetry socket (/ethdev/stats) at the start and the end of a
fixed window.  Traffic is replayed in memory: net_pcap (rx_pcap, infinite_rx)
-> datapath -> net_null (no-rx).  The median of the runs is reported, with the
ratios of dse to its peers and the workload's targets.  The results are merged
into bench/results/latest.json.

A workload is one entry of WORKLOADS: its pcap generator (gen_pcap.py), how
each datapath is configured for it, and its targets.  Everything the harness
creates lives in one temp directory and under /var/run/dpdk/dse-bench-<pid>-*,
both removed at the end, also on error and Ctrl-C.

Exit status: 0 when every datapath that exists ran (targets missed are shown
as FAIL but do not change it unless --fail-on-target), 1 when a datapath failed
to run, 2 on a usage error, 130 on interruption.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(0, os.path.join(ROOT_DIR, "scripts"))
sys.dont_write_bytecode = True  # no __pycache__ in the tree

import dpdk_telemetry  # noqa: E402
from dse_rpc import RpcError, rpc_call  # noqa: E402

RESULTS_FILE = os.path.join(BENCH_DIR, "results", "latest.json")
DEFAULT_DSE = os.path.join(ROOT_DIR, "build", "dse-dpud")

# The DPDK build of ovs-vswitchd: /usr/sbin/ovs-vswitchd is an alternative
# that points at the build without DPDK unless someone switched it.
OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TESTPMD = "dpdk-testpmd"

FWD_CPU = 1   # the one forwarding core
CTRL_CPU = 0  # everything else: EAL control threads, OVS, the harness

IN_VDEV = "net_pcap0"
OUT_VDEV = "net_null0"

# Seconds allowed for a datapath to come up (OVS allocates and zeroes 2 GB).
START_TIMEOUT = 60.0


class DatapathError(Exception):
    """A datapath failed to start or to forward; 'log' is the path of the log
    whose tail explains it."""

    def __init__(self, msg, log=None):
        super().__init__(msg)
        self.log = log


class Interrupted(Exception):
    """SIGTERM or SIGHUP arrived; handled like Ctrl-C."""


# --------------------------------------------------------------------------
# Workloads


def in_devargs(pcap):
    return "%s,rx_pcap=%s,infinite_rx=1" % (IN_VDEV, pcap)


def out_devargs():
    return "%s,no-rx=1" % OUT_VDEV


class Workload:
    """One benchmark entry.

    'pcaps(dir)' writes the input pcap(s) into 'dir' and returns {"in": path};
    'dse_config(pcaps)' returns dse-dpud's --config (a list of JSON-RPC
    calls); 'ovs_setup(ovs, pcaps)' configures a running private OVS (bridge,
    ports, flows, FDB); 'testpmd_args' are the testpmd application arguments;
    'targets' is a list of (result key, text, minimum ratio).  A workload whose
    metric is not forwarding rate (connection setup rate, memory per
    connection) would bring its own 'measure' in the same way.
    """

    def __init__(self, name, title, pcaps, dse_config, ovs_setup,
                 testpmd_args, targets):
        self.name = name
        self.title = title
        self.pcaps = pcaps
        self.dse_config = dse_config
        self.ovs_setup = ovs_setup
        self.testpmd_args = testpmd_args
        self.targets = targets


def import_gen_pcap():
    """gen_pcap.py needs scapy: Debian's python3-scapy, which only Debian's
    /usr/bin/python3 sees (a python3 earlier on PATH may not)."""
    try:
        import gen_pcap
    except ImportError as e:
        raise SystemExit("bench: cannot import scapy (%s); run the harness "
                         "as /usr/bin/python3 bench/run.py with python3-scapy "
                         "installed" % e)
    return gen_pcap


def l2_pcaps(out_dir):
    return {"in": import_gen_pcap().generate("l2", out_dir)}


def l2_dst_macs():
    return import_gen_pcap().l2_dst_macs()


def l2_dse_config(pcaps):
    calls = [
        {"method": "segment.add", "params": {"name": "s1", "vlan": 100}},
        {"method": "port.add", "params": {
            "name": "in", "devargs": in_devargs(pcaps["in"]),
            "mode": "access", "segment": "s1"}},
        {"method": "port.add", "params": {
            "name": "out", "devargs": out_devargs(),
            "mode": "access", "segment": "s1"}},
    ]
    for mac in l2_dst_macs():
        calls.append({"method": "fdb.add", "params": {
            "segment": "s1", "mac": mac, "port": "out"}})
    return calls


def l2_ovs_setup(ovs, pcaps):
    """A learning switch: the NORMAL action alone, and a static FDB entry on
    the output port for each destination MAC, so nothing is flooded.  The
    input port comes last: it receives from the moment it is added, and the
    first packets should meet the finished configuration."""
    ovs.ofctl("del-flows", ovs.bridge)
    ovs.ofctl("add-flow", ovs.bridge, "actions=NORMAL")
    ovs.add_dpdk_port("dpdk1", out_devargs(), 2)
    for mac in l2_dst_macs():
        ovs.appctl("fdb/add", ovs.bridge, "dpdk1", "0", mac)
    ovs.add_dpdk_port("dpdk0", in_devargs(pcaps["in"]), 1)


WORKLOADS = {
    "l2": Workload(
        name="l2",
        title="L2 switching, 64-byte frames, 1024 UDP flows, 64+64 MACs",
        pcaps=l2_pcaps,
        dse_config=l2_dse_config,
        ovs_setup=l2_ovs_setup,
        testpmd_args=["--forward-mode=io"],
        targets=[("dse_vs_ovs", "dse >= 1.5x OVS-DPDK", 1.5),
                 ("dse_vs_testpmd", "dse >= 0.5x testpmd", 0.5)],
    ),
}


# --------------------------------------------------------------------------
# Processes


class Harness:
    """Owns the temp directory, every process started and every DPDK file
    prefix used; cleanup() undoes all of it and may be called twice."""

    def __init__(self, keep=False):
        self.tmp = tempfile.mkdtemp(prefix="dse-bench-")
        self.procs = []
        self.prefixes = []
        self.keep = keep

    def prefix(self, name):
        """A DPDK --file-prefix unique to this invocation."""
        p = "dse-bench-%d-%s" % (os.getpid(), name)
        self.prefixes.append(p)
        return p

    def spawn(self, argv, log, env=None, stdin=subprocess.DEVNULL):
        """Start 'argv' in a session of its own (so a Ctrl-C at the terminal
        reaches only the harness, which then stops it in order), output to
        the file 'log'."""
        with open(log, "ab") as logf:
            p = subprocess.Popen(argv, stdin=stdin, stdout=logf,
                                 stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        p.log = log
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10.0):
        """Stop process 'p' (and its process group): SIGTERM, then SIGKILL."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        # Children left in the group (none expected) are killed too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p in self.procs:
            self.procs.remove(p)

    def remove_prefix(self, prefix):
        d = os.path.join(dpdk_telemetry.DPDK_RUN_DIR, prefix)
        shutil.rmtree(d, ignore_errors=True)

    def cleanup(self):
        for p in list(self.procs):
            self.stop(p)
        for prefix in self.prefixes:
            self.remove_prefix(prefix)
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def log_tail(path, lines=25):
    try:
        with open(path, "rb") as f:
            data = f.read().decode(errors="replace").splitlines()
    except OSError as e:
        return "(no log: %s)" % e
    return "\n".join(data[-lines:])


def wait_for(what, cond, timeout, proc=None, poll=0.1):
    """Poll 'cond()' until it returns something other than None or False
    (0 counts as an answer: it is a port id), which is returned.  Fails if
    'timeout' passes or 'proc' exits first."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if proc is not None and proc.poll() is not None:
            raise DatapathError("exited with status %d while waiting for %s"
                                % (proc.returncode, what), proc.log)
        try:
            v = cond()
            if v is not None and v is not False:
                return v
        except (OSError, ValueError, RpcError) as e:
            last = e
        if time.monotonic() > deadline:
            raise DatapathError("timed out after %.0f s waiting for %s%s"
                                % (timeout, what,
                                   " (last error: %s)" % last if last else ""),
                                proc.log if proc is not None else None)
        time.sleep(poll)


def thread_cpu_times(pid):
    """{tid: (name, utime+stime ticks, last cpu)} of every thread of 'pid'."""
    out = {}
    base = "/proc/%d/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime = 14, stime = 15, cpu = 39.
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]),
                         int(fields[36]))
    return out


def busy_threads(before, after, seconds):
    """Threads that used more than 20% of a CPU between two
    thread_cpu_times() samples: [(name, share of a CPU, cpu)]."""
    hz = os.sysconf("SC_CLK_TCK")
    res = []
    for tid, (name, t1, cpu) in after.items():
        t0 = before.get(tid, (name, 0, cpu))[1]
        share = (t1 - t0) / hz / seconds
        if share > 0.2:
            res.append((name, share, cpu))
    return sorted(res, key=lambda r: -r[1])


def process_cpu_times():
    """{pid: (name, session id, utime+stime ticks)} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        # fields[0] is field 3: session = 6, utime = 14, stime = 15.
        out[int(entry)] = (name, int(fields[3]),
                           int(fields[11]) + int(fields[12]))
    return out


def foreign_load(before, after, seconds, own_sessions):
    """Processes outside 'own_sessions' (the harness's and its children's
    session ids) that used more than 10% of a CPU between two
    process_cpu_times() samples: [(name, pid, share of a CPU)]."""
    hz = os.sysconf("SC_CLK_TCK")
    res = []
    for pid, (name, sid, t1) in after.items():
        if sid in own_sessions or pid == os.getpid():
            continue
        t0 = before.get(pid, (name, sid, t1))[2]
        share = (t1 - t0) / hz / seconds
        if share > 0.1:
            res.append((name, pid, share))
    return sorted(res, key=lambda r: -r[2])


def fmt_load(load):
    return ", ".join("%s[%d] %.0f%%" % (n, pid, 100 * share)
                     for n, pid, share in load)


# --------------------------------------------------------------------------
# Datapaths.


class Datapath:
    """What measure() needs of a datapath.  'key' names it in the results,
    'label' in the table."""

    key = label = None

    def available(self):
        """(True, "") if it can run here, else (False, why)."""
        raise NotImplementedError

    def start(self, wl, pcaps, run):
        """Start it for workload 'wl' (run number 'run') and return once it
        forwards: (telemetry socket or None, output port id, pid of the
        process whose threads forward)."""
        raise NotImplementedError

    def stop(self):
        """Stop every process of the run and remove its DPDK prefix; safe to
        call when start() failed half-way."""
        raise NotImplementedError

    def main_proc(self):
        return None

    def running(self):
        p = self.main_proc()
        return p is not None and p.poll() is None

    def log(self):
        p = self.main_proc()
        return p.log if p is not None else None


class Testpmd(Datapath):
    key = "testpmd"
    label = "testpmd"

    def __init__(self, h):
        self.h = h
        self.proc = None
        self.prefix = None

    def available(self):
        return shutil.which(TESTPMD) is not None, "dpdk-testpmd not found"

    def start(self, wl, pcaps, run):
        self.prefix = self.h.prefix("testpmd-%d" % run)
        log = os.path.join(self.h.tmp, "testpmd-%d.log" % run)
        # Without -i and with --auto-start, testpmd forwards until a line
        # (or EOF) arrives on stdin: keep stdin an open pipe, close it to stop.
        argv = ["taskset", "-c", str(CTRL_CPU), TESTPMD,
                "-l", "%d,%d" % (CTRL_CPU, FWD_CPU), "--no-huge", "-m", "1024",
                "--no-pci", "--file-prefix", self.prefix,
                "--vdev", in_devargs(pcaps["in"]), "--vdev", out_devargs(),
                "--", "--nb-cores=1", "--auto-start"] + wl.testpmd_args
        self.proc = self.h.spawn(argv, log, stdin=subprocess.PIPE)
        sock = dpdk_telemetry.socket_path(self.prefix)
        port = wait_for("telemetry and both ports",
                        lambda: dpdk_telemetry.port_by_name(sock, OUT_VDEV),
                        START_TIMEOUT, self.proc)
        return sock, port, self.proc.pid

    def main_proc(self):
        return self.proc

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()  # "Press enter to exit"
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.h.stop(self.proc)
            self.proc = None
        if self.prefix:
            self.h.remove_prefix(self.prefix)


class OvsDpdk(Datapath):
    key = "ovs_dpdk"
    label = "OVS-DPDK"

    def __init__(self, h):
        self.h = h
        self.db = None
        self.vswitchd = None
        self.prefix = None
        self.dir = None
        self.bridge = "dsebr%d" % (os.getpid() % 100000)
        self.stats_via = "telemetry"
        self.ifaces = {}     # interface name -> (devargs, OpenFlow port)
        self.netns = None    # ["unshare", "--net"] where that works

    def available(self):
        for exe in (OVS_VSWITCHD, "/usr/sbin/ovsdb-server"):
            if not os.access(exe, os.X_OK):
                return False, "%s not found" % exe
        return True, ""

    def env(self):
        e = dict(os.environ)
        e.update(OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir, OVS_LOGDIR=self.dir,
                 OVS_SYSCONFDIR=self.dir)
        return e

    def _run(self, argv):
        r = subprocess.run(argv, env=self.env(), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise DatapathError("%s failed (%d): %s" % (
                " ".join(argv[:4]), r.returncode, r.stderr.strip()),
                self.vswitchd.log if self.vswitchd else None)
        return r.stdout

    def vsctl(self, *args, wait=True):
        return self._run(["ovs-vsctl", "--db=unix:%s/db.sock" % self.dir,
                          "--timeout=60"] + ([] if wait else ["--no-wait"])
                         + list(args))

    def appctl(self, *args):
        return self._run(["ovs-appctl", "-t", "%s/ovs-vswitchd.ctl" % self.dir,
                          "--timeout=60"] + list(args))

    def ofctl(self, *args):
        return self._run(["ovs-ofctl"] + list(args))

    def add_dpdk_port(self, name, devargs, ofport):
        """Add DPDK interface 'name' on 'devargs' as OpenFlow port 'ofport'."""
        self.ifaces[name] = (devargs, ofport)
        self.vsctl("add-port", self.bridge, name, "--", "set", "Interface",
                   name, "type=dpdk", 'options:dpdk-devargs="%s"' % devargs,
                   "ofport_request=%d" % ofport)

    def start(self, wl, pcaps, run):
        self.dir = os.path.join(self.h.tmp, "ovs-%d" % run)
        os.mkdir(self.dir)
        self.ifaces = {}
        self.prefix = self.h.prefix("ovs-%d" % run)
        d = self.dir
        self._run(["ovsdb-tool", "create", d + "/conf.db", OVS_SCHEMA])
        self.db = self.h.spawn(
            ["taskset", "-c", str(CTRL_CPU), "ovsdb-server", d + "/conf.db",
             "--remote=punix:%s/db.sock" % d,
             "--pidfile=%s/ovsdb-server.pid" % d,
             "--unixctl=%s/ovsdb-server.ctl" % d,
             "--log-file=%s/ovsdb-server.log" % d, "-vconsole:off"],
            os.path.join(d, "ovsdb-server.out"), env=self.env())
        wait_for("ovsdb-server socket",
                 lambda: os.path.exists(d + "/db.sock"), 20, self.db)
        self.vsctl("init", wait=False)
        extra = ("--no-huge --legacy-mem -m 2048 --no-pci --no-shconf "
                 "--file-prefix %s" % self.prefix)
        self.vsctl("set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true",
                   'other_config:dpdk-extra="%s"' % extra,
                   "other_config:pmd-cpu-mask=0x%x" % (1 << FWD_CPU),
                   wait=False)
        # A network namespace of its own, when possible: the bridge's
        # internal port is a tap device, which then never shows up on the
        # machine.
        if self.netns is None:
            self.netns = ["unshare", "--net"] if self._can_unshare() else []
        self.vswitchd = self.h.spawn(
            self.netns + ["taskset", "-c", str(CTRL_CPU), OVS_VSWITCHD,
                     "unix:%s/db.sock" % d,
                     "--pidfile=%s/ovs-vswitchd.pid" % d,
                     "--unixctl=%s/ovs-vswitchd.ctl" % d,
                     "--log-file=%s/ovs-vswitchd.log" % d, "-vconsole:off"],
            os.path.join(d, "ovs-vswitchd.log"), env=self.env())
        wait_for("DPDK initialisation in ovs-vswitchd",
                 lambda: self.vsctl("get", "Open_vSwitch", ".",
                                    "dpdk_initialized",
                                    wait=False).strip() == "true",
                 START_TIMEOUT, self.vswitchd)
        self.vsctl("add-br", self.bridge, "--", "set", "Bridge", self.bridge,
                   "datapath_type=netdev", "fail_mode=secure")
        wl.ovs_setup(self, pcaps)
        out_ofport = None
        for iface, (devargs, ofport) in self.ifaces.items():
            err = self.vsctl("get", "Interface", iface, "error").strip()
            if err not in ("[]", ""):
                raise DatapathError("interface %s: %s" % (iface, err),
                                    self.vswitchd.log)
            if devargs.split(",")[0] == OUT_VDEV:
                out_ofport = ofport
        sock = dpdk_telemetry.socket_path(self.prefix)
        try:
            port = wait_for("telemetry",
                            lambda: dpdk_telemetry.port_by_name(sock,
                                                                OUT_VDEV),
                            10, self.vswitchd)
            self.stats_via = "telemetry"
        except DatapathError:
            if self.vswitchd.poll() is not None:
                raise
            sock, port = None, out_ofport
            self.stats_via = "ovs-ofctl dump-ports"
        return sock, port, self.vswitchd.pid

    def tx_packets(self, ofport):
        """TX packets of OpenFlow port 'ofport', the fallback counter when
        telemetry is unusable.  `ovs-ofctl dump-ports` reads the port live;
        the statistics column of the Interface table (ovs-vsctl get
        interface dpdk1 statistics) would do too, but ovs-vswitchd refreshes
        it only every 5 s (other_config:stats-update-interval, 5000 ms at the
        least), too coarse for a 5 s window."""
        out = self.ofctl("dump-ports", self.bridge, str(ofport))
        m = re.search(r"tx pkts=(\d+)", out)
        if not m:
            raise DatapathError("no tx pkts in ovs-ofctl dump-ports: %s"
                                % out, self.log())
        return int(m.group(1))

    @staticmethod
    def _can_unshare():
        try:
            return subprocess.run(["unshare", "--net", "true"],
                                  capture_output=True,
                                  timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def main_proc(self):
        return self.vswitchd

    def stop(self):
        if self.vswitchd is not None:
            try:
                self.appctl("exit", "--cleanup")
                self.vswitchd.wait(15)
            except (DatapathError, OSError, subprocess.TimeoutExpired):
                pass
            self.h.stop(self.vswitchd)
            self.vswitchd = None
        if self.db is not None:
            self.h.stop(self.db)
            self.db = None
        if self.prefix:
            self.h.remove_prefix(self.prefix)


class Dse(Datapath):
    key = "dse"
    label = "dse"

    def __init__(self, h, binary):
        self.h = h
        self.binary = binary
        self.proc = None
        self.prefix = None

    def available(self):
        if not os.access(self.binary, os.X_OK):
            return False, "not built (%s missing; run make)" % self.binary
        return True, ""

    def start(self, wl, pcaps, run):
        self.prefix = self.h.prefix("dse-%d" % run)
        log = os.path.join(self.h.tmp, "dse-%d.log" % run)
        cfg = os.path.join(self.h.tmp, "dse-%s.json" % wl.name)
        with open(cfg, "w") as f:
            json.dump(wl.dse_config(pcaps), f, indent=1)
        rpc = os.path.join(self.h.tmp, "dse-%d.sock" % run)
        argv = ["taskset", "-c", str(CTRL_CPU), self.binary,
                "-l", "%d,%d" % (CTRL_CPU, FWD_CPU), "--no-huge", "-m", "1024",
                "--no-pci", "--file-prefix", self.prefix, "--",
                "--rpc", rpc, "--config", cfg, "--busy-poll"]
        self.proc = self.h.spawn(argv, log)
        self.last_ports = None

        def two_ports():
            if not os.path.exists(rpc):
                return None
            ports = rpc_call(rpc, "port.list", timeout=2)
            self.last_ports = ports
            if isinstance(ports, dict):
                ports = ports.get("ports", ports)
            return ports if len(ports) >= 2 else None

        try:
            wait_for("both ports in JSON-RPC port.list", two_ports,
                     START_TIMEOUT, self.proc)
        except DatapathError as e:
            if self.last_ports is not None:
                e.args = ("%s; last port.list answer: %r"
                          % (e.args[0], self.last_ports),)
            raise
        sock = dpdk_telemetry.socket_path(self.prefix)
        port = wait_for("telemetry",
                        lambda: dpdk_telemetry.port_by_name(sock, OUT_VDEV),
                        10, self.proc)
        return sock, port, self.proc.pid

    def main_proc(self):
        return self.proc

    def stop(self):
        if self.proc is not None:
            self.h.stop(self.proc)
            self.proc = None
        if self.prefix:
            self.h.remove_prefix(self.prefix)


# --------------------------------------------------------------------------
# Measuring


def measure(dp, wl, pcaps, run, warmup, seconds):
    """One run of datapath 'dp': start, warm up, count, stop.  Returns a dict
    with "mpps" (output port TX rate), "rx_mpps" (input port) and notes."""
    try:
        sock, port, pid = dp.start(wl, pcaps, run)

        def counters():
            """(input port RX, input port TX, output port TX, time)"""
            if sock is None:
                return None, None, dp.tx_packets(port), time.monotonic()
            st = dpdk_telemetry.port_stats(sock, port)
            t = time.monotonic()
            rx = back = None
            if in_port is not None:
                ist = dpdk_telemetry.port_stats(sock, in_port)
                rx, back = ist["ipackets"], ist["opackets"]
            return rx, back, st["opackets"], t

        in_port = (dpdk_telemetry.port_by_name(sock, IN_VDEV)
                   if sock is not None else None)
        time.sleep(warmup)
        if not dp.running():
            raise DatapathError("exited during warm-up", dp.log())
        cpu0 = thread_cpu_times(pid)
        all0 = process_cpu_times()
        rx0, back0, tx0, t0 = counters()
        time.sleep(seconds)
        rx1, back1, tx1, t1 = counters()
        cpu1 = thread_cpu_times(pid)
        all1 = process_cpu_times()
        dt = t1 - t0
        own = {p.pid for p in dp.h.procs}  # sessions of our processes
        res = {"mpps": (tx1 - tx0) / dt / 1e6, "seconds": dt,
               "rx_mpps": (rx1 - rx0) / dt / 1e6 if rx0 is not None else None,
               "back_mpps": ((back1 - back0) / dt / 1e6
                             if back0 is not None else None),
               "busy": busy_threads(cpu0, cpu1, dt),
               "foreign": foreign_load(all0, all1, dt, own)}
        if tx1 - tx0 <= 0:
            raise DatapathError("forwarded nothing to %s in %.1f s"
                                % (OUT_VDEV, dt), dp.log())
        return res
    finally:
        dp.stop()


def pinning_note(busy, foreign):
    """A warning when the forwarding thread is not alone on FWD_CPU or other
    processes of the machine ('foreign') competed for the CPUs."""
    on_fwd = [b for b in busy if b[2] == FWD_CPU]
    off_fwd = [b for b in busy if b[2] != FWD_CPU and b[1] > 0.5]
    notes = []
    if not on_fwd:
        notes.append("no busy thread on CPU %d" % FWD_CPU)
    elif on_fwd[0][1] < 0.9:
        notes.append("forwarding thread %s got only %.0f%% of CPU %d" % (
            on_fwd[0][0], 100 * on_fwd[0][1], FWD_CPU))
    if foreign:
        notes.append("other processes busy: %s" % fmt_load(foreign))
    if len(on_fwd) > 1:
        notes.append("several busy threads on CPU %d: %s" % (
            FWD_CPU, ", ".join(b[0] for b in on_fwd)))
    if off_fwd:
        notes.append("busy thread off CPU %d: %s" % (
            FWD_CPU, ", ".join("%s on CPU %d" % (b[0], b[2]) for b in off_fwd)))
    return "; ".join(notes)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def software_versions():
    """'Open vSwitch x, DPDK y' as the DPDK build of ovs-vswitchd reports."""
    try:
        out = subprocess.run([OVS_VSWITCHD, "--version"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m1 = re.search(r"Open vSwitch\) (\S+)", out)
    m2 = re.search(r"DPDK (\S+)", out)
    return "Open vSwitch %s, DPDK %s" % (m1.group(1) if m1 else "?",
                                         m2.group(1) if m2 else "?")


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def ratio(a, b):
    return a / b if a is not None and b else None


def merge_results(entries):
    """Merge {workload: result} into RESULTS_FILE, keeping other keys."""
    os.makedirs(os.path.dirname(RESULTS_FILE), exist_ok=True)
    data = {}
    try:
        with open(RESULTS_FILE) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        pass
    data.update(entries)
    tmp = RESULTS_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, RESULTS_FILE)


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main():
    ap = argparse.ArgumentParser(
        description="Benchmark dse-dpud against OVS-DPDK and dpdk-testpmd.")
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS),
                    help="workload to run (repeatable; default: all)")
    ap.add_argument("--runs", type=int, default=3,
                    help="interleaved runs per datapath (default 3)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="measurement window in seconds (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="warm-up before the window in seconds (default 2)")
    ap.add_argument("--dse", default=DEFAULT_DSE,
                    help="path of dse-dpud (default: build/dse-dpud)")
    ap.add_argument("--datapaths", default="dse,ovs_dpdk,testpmd",
                    help="comma-separated subset of dse,ovs_dpdk,testpmd")
    ap.add_argument("--no-save", action="store_true",
                    help="do not write bench/results/latest.json")
    ap.add_argument("--fail-on-target", action="store_true",
                    help="exit 3 when a target is missed")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp directory (logs) for debugging")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0 or args.warmup < 0:
        ap.error("--runs >= 1, --seconds > 0 and --warmup >= 0 please")
    workloads = [WORKLOADS[w] for w in (args.workload or sorted(WORKLOADS))]
    wanted = [d.strip() for d in args.datapaths.split(",") if d.strip()]
    for d in wanted:
        if d not in ("dse", "ovs_dpdk", "testpmd"):
            ap.error("unknown datapath %r" % d)

    # The harness and all it starts live on CTRL_CPU; DPDK moves the
    # forwarding lcore to FWD_CPU itself.
    try:
        os.sched_setaffinity(0, {CTRL_CPU})
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    h = Harness(keep=args.keep)
    failures = []   # (datapath label, workload, message, log tail)
    status = 0
    try:
        all_dps = {"dse": Dse(h, os.path.abspath(args.dse)),
                   "ovs_dpdk": OvsDpdk(h), "testpmd": Testpmd(h)}
        dps = [all_dps[k] for k in ("dse", "ovs_dpdk", "testpmd")]
        unavailable = {}
        for dp in dps:
            if dp.key not in wanted:
                unavailable[dp.key] = "not selected"
                continue
            ok, why = dp.available()
            if not ok:
                unavailable[dp.key] = why
                if dp.key != "dse":
                    failures.append((dp.label, "-", why, ""))
        active = [dp for dp in dps if dp.key not in unavailable]

        date = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds")
        machine = "%s, %d cores" % (cpu_model(), os.cpu_count() or 0)
        mhz = cpu_mhz()
        software = software_versions()
        print("dse bench  %s" % date)
        print("machine    %s (Linux %s); forwarding on CPU %d, the rest on"
              " CPU %d" % (machine, platform.release(), FWD_CPU, CTRL_CPU))
        print("software   %s" % software)
        print("method     net_pcap(infinite_rx) -> datapath -> net_null(no-rx);"
              " TX packets of the output port from DPDK telemetry"
              " /ethdev/stats;\n           %g s warm-up, %g s window,"
              " median of %d interleaved runs" % (args.warmup, args.seconds,
                                                   args.runs))
        for k, why in unavailable.items():
            print("skip       %s: %s" % (k, why))
        # Two busy-polling processes on one core halve each other: say so
        # before the numbers, not after.
        idle0, t_idle = process_cpu_times(), time.monotonic()
        time.sleep(1.0)
        busy = foreign_load(idle0, process_cpu_times(),
                            time.monotonic() - t_idle, set())
        if busy:
            print("WARNING    the machine is not idle, results will be noisy:"
                  " %s" % fmt_load(busy))
        sys.stdout.flush()

        results = {}
        for wl in workloads:
            wdir = os.path.join(h.tmp, wl.name)
            os.mkdir(wdir)
            pcaps = wl.pcaps(wdir)
            samples = {dp.key: [] for dp in dps}
            failed = set()
            notes = []
            ovs_stats_via = None
            for run in range(args.runs):
                # Rotate the order so no datapath always goes first.
                order = active[run % len(active):] + active[:run % len(active)]
                for dp in order:
                    if dp.key in failed:
                        continue
                    try:
                        r = measure(dp, wl, pcaps, run, args.warmup,
                                    args.seconds)
                    except DatapathError as e:
                        failed.add(dp.key)
                        failures.append((dp.label, wl.name, str(e),
                                         log_tail(e.log) if e.log else ""))
                        print("%-4s run %d %-9s FAILED: %s"
                              % (wl.name, run + 1, dp.label, e))
                        sys.stdout.flush()
                        continue
                    if dp.key == "ovs_dpdk":
                        ovs_stats_via = dp.stats_via
                    r["mpps"] = round(r["mpps"], 3)
                    samples[dp.key].append(r["mpps"])
                    note = pinning_note(r["busy"], r["foreign"])
                    if note:
                        notes.append("%s run %d: %s" % (dp.label, run + 1,
                                                        note))
                    if r["back_mpps"] and r["back_mpps"] > 0.01 * r["mpps"]:
                        note += ("%s%.2f Mpps sent back out of the input port"
                                 " (flooding?)" % ("; " if note else "",
                                                   r["back_mpps"]))
                    cyc = (" ~%.0f cycles/pkt" % (mhz / r["mpps"])
                           if mhz and r["mpps"] else "")
                    print("%-4s run %d %-9s %7.2f Mpps (input %s Mpps)%s%s"
                          % (wl.name, run + 1, dp.label, r["mpps"],
                             fmt(r["rx_mpps"]), cyc,
                             "  WARNING: " + note if note else ""))
                    sys.stdout.flush()

            med = {k: (statistics.median(v) if v and k not in failed
                       else None) for k, v in samples.items()}
            entry = {
                "dse_mpps": med["dse"],
                "ovs_dpdk_mpps": med["ovs_dpdk"],
                "testpmd_mpps": med["testpmd"],
                "dse_vs_ovs": ratio(med["dse"], med["ovs_dpdk"]),
                "dse_vs_testpmd": ratio(med["dse"], med["testpmd"]),
                "runs": samples,
                "machine": machine,
                "software": software,
                "date": date,
                "method": "TX packets of %s via DPDK telemetry /ethdev/stats;"
                          " %g s warm-up, %g s window" % (
                              OUT_VDEV, args.warmup, args.seconds),
            }
            for k in ("dse_mpps", "ovs_dpdk_mpps", "testpmd_mpps",
                      "dse_vs_ovs", "dse_vs_testpmd"):
                if entry[k] is not None:
                    entry[k] = round(entry[k], 3)
            if ovs_stats_via and ovs_stats_via != "telemetry":
                entry["method"] += (" (OVS-DPDK: %s statistics, telemetry"
                                    " unusable)" % ovs_stats_via)
            status_of = {}
            for dp in dps:
                if dp.key in failed:
                    status_of[dp.key] = "failed"
                elif dp.key in unavailable:
                    status_of[dp.key] = unavailable[dp.key]
            if status_of:
                entry["status"] = status_of
            if notes:
                entry["warnings"] = notes
            entry["targets"] = {}
            for key, text, minimum in wl.targets:
                v = entry[key]
                entry["targets"][key] = {
                    "min": minimum,
                    "pass": None if v is None else v >= minimum}
            results[wl.name] = (wl, entry, ovs_stats_via)

        print()
        hdr = ("workload", "dse Mpps", "OVS-DPDK Mpps", "testpmd Mpps",
               "dse/OVS", "dse/testpmd")
        print("%-9s %10s %14s %13s %8s %12s" % hdr)
        for name, (wl, e, _) in results.items():
            dse_cell = fmt(e["dse_mpps"])
            dse_status = e.get("status", {}).get("dse", "")
            if dse_status.startswith("not built"):
                dse_cell = "not built"
            elif dse_status:
                dse_cell = dse_status
            print("%-9s %10s %14s %13s %8s %12s" % (
                name, dse_cell, fmt(e["ovs_dpdk_mpps"]),
                fmt(e["testpmd_mpps"]), fmt(e["dse_vs_ovs"], "%.2fx"),
                fmt(e["dse_vs_testpmd"], "%.2fx")))
        print()
        missed = False
        for name, (wl, e, via) in results.items():
            print("%s: %s" % (name, wl.title))
            print("  samples (Mpps): " + "; ".join(
                "%s %s" % (k, ", ".join("%.2f" % x for x in v) or "-")
                for k, v in e["runs"].items()))
            if e.get("warnings"):
                print("  %d run(s) had warnings (above): a low sample may be"
                      " another process's doing, not the datapath's"
                      % len(e["warnings"]))
            if via and via != "telemetry":
                print("  NOTE: OVS-DPDK counted through %s statistics (its"
                      " telemetry socket was not usable)" % via)
            for key, text, minimum in wl.targets:
                v = e[key]
                if v is None:
                    verdict = "n/a (no dse result)"
                elif v >= minimum:
                    verdict = "PASS (%.2fx)" % v
                else:
                    verdict = "FAIL (%.2fx)" % v
                    missed = True
                print("  target %-24s %s" % (text + ":", verdict))

        if not args.no_save and results:
            merge_results({n: e for n, (_, e, _) in results.items()})
            print("\nresults merged into %s" % os.path.relpath(RESULTS_FILE))

        sys.stdout.flush()
        if failures:
            status = 1
            for label, wl, msg, tail in failures:
                print("\nERROR: %s failed to run (workload %s): %s"
                      % (label, wl, msg), file=sys.stderr)
                if tail:
                    print("---- last lines of its log ----\n%s\n----" % tail,
                          file=sys.stderr)
        elif missed and args.fail_on_target:
            status = 3
    except (KeyboardInterrupt, Interrupted) as e:
        print("\ninterrupted (%s); cleaning up" % (str(e) or "Ctrl-C"),
              file=sys.stderr)
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        h.cleanup()
        if args.keep:
            print("kept %s" % h.tmp, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
