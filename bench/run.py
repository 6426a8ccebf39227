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
each datapath is configured for it, and its targets: l2 (switching), fw_est
(stateful firewall, established TCP), encap (Geneve), conn_setup (new
connections per second through the firewall), l2_churn (l2 while MACs move
between two output ports, against l2 without moves), events (conn_setup with
and without an events.subscribe consumer), fw_rules (fw_est and conn_setup
with 10,000 rules against one rule, dse against itself, and the time to
push and compile 10,000 rules), l2_2w and fw_est_2w (two workers against
one) and conn_memory (bytes per tracked connection, measured by
dse-ct-bench and a filled dse-dpud instead of a forwarding rate).
Everything the harness
creates lives in one temp directory and under /var/run/dpdk/dse-bench-<pid>-*,
both removed at the end, also on error and Ctrl-C.

Exit status: 0 when every datapath that exists ran (targets missed are shown
as FAIL but do not change it unless --fail-on-target), 1 when a datapath failed
to run, 2 on a usage error, 130 on interruption.
"""

import argparse
import copy
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
from dse_owner import conn_owner  # noqa: E402
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
OUT2_VDEV = "net_null1"  # l2_churn: the port moved MACs go to

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


ALL_DATAPATHS = ("dse", "ovs_dpdk", "testpmd")


class Workload:
    """One benchmark entry.

    'pcaps(dir)' writes the input pcap(s) into 'dir' and returns {"in": path};
    'dse_config(pcaps)' returns dse-dpud's --config (a list of JSON-RPC
    calls), or is None when dse can not run the workload yet ('dse_missing'
    says why); 'ovs_setup(ovs, pcaps)' configures a running private OVS
    (bridges, ports, flows, FDB); 'testpmd_args' are the testpmd application
    arguments; 'targets' is a list of (result key, text, minimum) or
    (result key, text, ">=" or "<=", bound).

    Optional: 'datapaths', the datapaths that take part (testpmd, the I/O
    ceiling, only where it says something new); 'dse_args', more dse-dpud
    options (--mbufs for a big pcap: net_pcap holds the whole file in mbufs);
    'dse_needs', JSON-RPC methods dse-dpud must have (else dse is reported as
    lacking them, not as failed); 'dse_stats', a JSON-RPC method whose answer
    is read at the start and the end of each dse window; 'pkts_per_conn',
    packets per connection when the metric is connections per second;
    'out_len', the frame length expected at the output port (checked with
    the port's byte counter: encapsulation must show); 'measure', a function
    (harness, args) -> result entry for a workload whose metric is not a
    forwarding rate (then the other fields are unused).
    """

    def __init__(self, name, title, pcaps=None, dse_config=None,
                 ovs_setup=None, testpmd_args=(), targets=(),
                 datapaths=ALL_DATAPATHS, dse_args=(), dse_needs=(),
                 dse_missing=None, dse_stats=None, pkts_per_conn=None,
                 out_len=60, measure=None, unit="Mpps", ovs_verify=None,
                 dse_prime=None, out_vdev=OUT_VDEV):
        self.name = name
        self.title = title
        self.pcaps = pcaps
        self.dse_config = dse_config
        self.ovs_setup = ovs_setup
        self.testpmd_args = list(testpmd_args)
        self.targets = [t if len(t) == 4 else (t[0], t[1], ">=", t[2])
                        for t in targets]
        self.datapaths = datapaths
        self.dse_args = list(dse_args)
        self.dse_needs = dse_needs
        self.dse_missing = dse_missing
        self.dse_stats = dse_stats
        self.pkts_per_conn = pkts_per_conn
        self.out_len = out_len
        self.measure = measure
        self.unit = unit
        self.ovs_verify = ovs_verify
        self.dse_prime = dse_prime
        self.out_vdev = out_vdev


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


def pcaps_of(name):
    """The 'pcaps' function of a workload whose one input pcap is
    gen_pcap's generator 'name'."""
    return lambda out_dir: {"in": import_gen_pcap().generate(name, out_dir)}


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


# ---- the stateful firewall (fw_est, conn_setup)

FW_SERVER_NET = "198.19.0.0/16"   # the servers of gen_pcap's TCP workloads


def fw_dse_config(pcaps, in_port=True, proto="tcp", dport=None):
    """One segment with the firewall on: default deny, one rule allowing
    new connections from the clients to the servers' port, every MAC of the
    workload (clients and servers) a static FDB entry on the output port, so
    the servers' replies, which arrive on the input port, go out too.  The
    input port comes last, after the configuration it should meet."""
    g = import_gen_pcap()
    if dport is None:
        dport = g.TCP_SERVER_PORT
    calls = [
        {"method": "segment.add", "params": {"name": "s1", "vlan": 100}},
        {"method": "fw.policy.set", "params": {"segment": "s1",
                                           "default": "deny"}},
        {"method": "fw.rule.add", "params": {
            "id": 1, "priority": 10, "proto": proto, "dst": FW_SERVER_NET,
            "dport": dport, "action": "allow"}},
        {"method": "port.add", "params": {
            "name": "out", "devargs": out_devargs(),
            "mode": "access", "segment": "s1"}},
    ]
    for mac in g.fw_macs():
        calls.append({"method": "fdb.add", "params": {
            "segment": "s1", "mac": mac, "port": "out"}})
    if in_port:
        calls.append({"method": "port.add", "params": {
            "name": "in", "devargs": in_devargs(pcaps["in"]),
            "mode": "access", "segment": "s1"}})
    return calls


PRIME_VDEV = "net_pcap1"   # the priming port: a pcap read once


def prime_devargs(pcap):
    return "%s,rx_pcap=%s" % (PRIME_VDEV, pcap)


def fw_est_pcaps(out_dir):
    g = import_gen_pcap()
    return {"in": g.generate("fw_est", out_dir),
            "prime": g.generate("fw_est_prime", out_dir)}


def fw_est_dse_config(pcaps):
    """fw_dse_config() with the priming port in place of the input port:
    fw_est_dse_prime() swaps them once the handshakes went through."""
    return fw_dse_config(pcaps, in_port=False) + [
        {"method": "port.add", "params": {
            "name": "prime", "devargs": prime_devargs(pcaps["prime"]),
            "mode": "access", "segment": "s1"}}]


def fw_est_dse_prime(dse, pcaps):
    """Wait until the priming port's handshakes went through (the 256
    connections are in fw.stats), then replace it by the input port."""
    n = import_gen_pcap().FW_EST_CONNS
    st = wait_for("the %d primed connections in fw.stats" % n,
                  lambda: (lambda x: x if x.get("conns", 0) >= n else None)(
                      dse.call("fw.stats.show")), 20, dse.proc)
    dse.call("port.del", {"name": "prime"})
    dse.call("port.add", {"name": "in",
                          "devargs": pcaps.get("in_devargs",
                                               in_devargs(pcaps["in"])),
                          "mode": "access", "segment": "s1"}, timeout=30)
    return st


def ovs_established(ovs):
    """TCP connections in ESTABLISHED state in OVS's conntrack."""
    out = ovs.appctl("dpctl/dump-conntrack")
    return sum(1 for line in out.splitlines() if "state=ESTABLISHED" in line)


def fw_est_ovs_setup(ovs, pcaps):
    """fw_ovs_setup() with the connections established first: the 768
    handshake packets go through the pipeline as OpenFlow packet-outs (one
    bundle, in order, resubmitted to table 0), then the input port is added.
    (A port reading the handshake pcap once, as dse gets, is unreliable
    here: OVS drops some of a new port's first packets when their upcall
    fails -- "miss with failed upcall" in dpif-netdev/pmd-stats-show -- and
    some connections then stay half open.)"""
    g = import_gen_pcap()
    n = g.FW_EST_CONNS
    fw_ovs_setup(ovs, pcaps, in_port=False)
    bundle = os.path.join(ovs.dir, "prime.bundle")
    with open(bundle, "w") as f:
        for fr in g.fw_est_prime_frames():
            f.write("packet-out in_port=LOCAL packet=%s"
                    " actions=resubmit(,0)\n" % fr.hex())
    ovs.ofctl("-O", "OpenFlow14", "bundle", ovs.bridge, bundle)
    wait_for("%d established connections in OVS's conntrack" % n,
             lambda: ovs_established(ovs) >= n, 10, ovs.vswitchd)
    ovs.add_dpdk_port("dpdk0", in_devargs(pcaps["in"]), 1)


def fw_ovs_setup(ovs, pcaps, in_port=True):
    """The usual OVS stateful firewall: every IP packet through ct() into
    table 1; a new connection to the servers' port 80 is committed and
    switched, established ones are switched, the rest is dropped.  Switched
    = NORMAL with the same static FDB as dse (every MAC on the output
    port)."""
    g = import_gen_pcap()
    br = ovs.bridge
    ovs.ofctl("del-flows", br)
    flows = [
        "table=0,priority=100,ip,actions=ct(table=1)",
        "table=0,priority=0,actions=NORMAL",
        "table=1,priority=100,ct_state=+new+trk,tcp,nw_dst=%s,tp_dst=%d,"
        "actions=ct(commit),NORMAL" % (FW_SERVER_NET, g.TCP_SERVER_PORT),
        "table=1,priority=90,ct_state=+est+trk,actions=NORMAL",
        "table=1,priority=0,actions=drop",
    ]
    for f in flows:
        ovs.ofctl("add-flow", br, f)
    ovs.add_dpdk_port("dpdk1", out_devargs(), 2)
    for mac in g.fw_macs():
        ovs.appctl("fdb/add", br, "dpdk1", "0", mac)
    if in_port:
        ovs.add_dpdk_port("dpdk0", in_devargs(pcaps["in"]), 1)


# ---- Geneve encapsulation (encap)

ENCAP_OUT_LEN = 60 + 50             # inner frame + Ethernet/IPv4/UDP/Geneve
# The uplink: net_pcap reading the Geneve packets of encap_prime once (they
# teach dse-dpud the peers' MACs and the remote VM MACs) and dropping what
# is sent, counting packets and bytes (net_null counts no bytes).  OVS gets
# the same device (it drops what arrives there: no flow takes it).
UPLINK_VDEV = "net_pcap2"


def encap_pcaps(out_dir):
    g = import_gen_pcap()
    return {"in": g.generate("encap", out_dir),
            "uplink": g.generate("encap_prime", out_dir)}


def uplink_devargs(pcaps):
    return "%s,rx_pcap=%s" % (UPLINK_VDEV, pcaps["uplink"])


def encap_dse_config(pcaps):
    """An overlay segment (VNI 5001) whose peers are the 4 remote TEPs, our
    TEP 172.31.0.1 on the uplink, FDB entries that never age.  The VM port
    comes later (encap_dse_prime): first the uplink's Geneve packets must
    have taught the peers' MACs and the 64 remote MACs behind them --
    fdb.add can not name a peer's port, so learning is the way in."""
    g = import_gen_pcap()
    return [
        {"method": "segment.add", "params": {
            "name": "ov1", "vni": g.ENCAP_VNI, "peers": g.ENCAP_PEERS}},
        {"method": "fdb.config.set", "params": {"ageing_time": 0}},
        {"method": "port.add", "params": {
            "name": "out", "devargs": uplink_devargs(pcaps),
            "uplink": True}},
        {"method": "tep.set", "params": {"ip": g.ENCAP_LOCAL,
                                         "uplink": "out"}},
    ]


def encap_learned(dse):
    """(peers resolved, remote MACs learned behind peers) in dse-dpud."""
    peers = dse.call("tep.show").get("peers", [])
    resolved = sum(1 for p in peers if p.get("mac"))
    fdb = dse.call("fdb.list", {"segment": "ov1"})
    if isinstance(fdb, dict):
        fdb = fdb.get("entries", [])
    behind = sum(1 for e in fdb if str(e.get("port", "")).startswith("tep-"))
    return resolved, behind


def encap_dse_prime(dse, pcaps):
    """Wait until the 4 peers are resolved and the 64 destination MACs
    learned behind them, then add the VM port."""
    g = import_gen_pcap()
    want = (len(g.ENCAP_PEERS), len(g.l2_dst_macs()))
    last = [None]

    n_prime = g.ENCAP_PRIME_ROUNDS * len(g.l2_dst_macs())

    def done():
        last[0] = got = encap_learned(dse)
        # ... and the uplink's pcap read to its end: what is decapsulated
        # later would be flooded to the VM port.
        rx = [p["stats"]["rx_packets"] for p in dse.call("port.list")
              if p["name"] == "out"]
        return (got[0] >= want[0] and got[1] >= want[1] and
                rx and rx[0] >= n_prime)

    try:
        wait_for("the peers' MACs and the remote MACs learned from the"
                 " uplink", done, 10, dse.proc)
    except DatapathError as e:
        got = last[0] or ("?", "?")
        e.args = ("%s: %s of %d peers resolved, %s of %d MACs behind peers"
                  " (were the uplink's Geneve packets all read before"
                  " tep.set?)" % (e.args[0], got[0], want[0], got[1],
                                  want[1]),)
        raise
    dse.call("port.add", {"name": "in", "devargs": in_devargs(pcaps["in"]),
                          "segment": "ov1"}, timeout=30)


def encap_ovs_setup(ovs, pcaps):
    """OVS-DPDK's userspace (native) tunnelling.  The VM bridge holds the VM
    port (the pcap) and one Geneve port per remote TEP (remote_ip, VNI
    5001); NORMAL switches with a static FDB entry per destination MAC on
    one of the tunnel ports (MAC i on peer i % 4).  The encapsulated packet
    is routed out of a second bridge, the underlay, whose internal port
    holds our TEP address (172.31.0.1/24, set inside OVS's network
    namespace) and whose one other port is the uplink; the peers' MACs are
    static ARP entries (tnl/arp/set), and the underlay bridge sends what
    comes from its LOCAL port (where tunnelled packets enter it) out of the
    uplink.  The harness checks that the frames leaving are 110 bytes (the
    60-byte frame + 50 bytes of Ethernet, IPv4, UDP and Geneve) and that
    OVS's datapath flows encapsulate (encap_ovs_verify)."""
    g = import_gen_pcap()
    if not ovs.netns:
        raise DatapathError("the encap setup needs OVS in a network namespace"
                            " of its own (unshare --net failed): it gives the"
                            " underlay bridge an IP address")
    br, phy = ovs.bridge, ovs.bridge + "u"
    ovs.vsctl("add-br", phy, "--", "set", "Bridge", phy,
              "datapath_type=netdev", "fail_mode=secure")
    ovs.ofctl("del-flows", phy)
    ovs.ofctl("add-flow", phy, "priority=10,in_port=LOCAL,actions=output:2")
    ovs.add_dpdk_port("dpdk1", uplink_devargs(pcaps), 2, bridge=phy)
    wait_for("the underlay bridge's tap device",
             lambda: ovs.in_netns("ip", "link", "show", phy, check=False),
             10, ovs.vswitchd)
    # No IPv6 on it: the kernel would send MLD reports out of the uplink.
    ovs.in_netns("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % phy,
                 check=False)
    ovs.in_netns("ip", "addr", "add", g.ENCAP_LOCAL + "/24", "dev", phy)
    ovs.in_netns("ip", "link", "set", phy, "up")
    # OVS learns the connected route from the kernel (netlink); wait for it.
    wait_for("the route to the remote TEPs in OVS",
             lambda: "172.31.0.0/24" in ovs.appctl("ovs/route/show"), 10,
             ovs.vswitchd)
    for i, ip in enumerate(g.ENCAP_PEERS):
        ovs.appctl("tnl/arp/set", phy, ip, g.encap_peer_mac(i))
    ovs.ofctl("del-flows", br)
    ovs.ofctl("add-flow", br, "actions=NORMAL")
    tunnels = []
    for i, ip in enumerate(g.ENCAP_PEERS):
        name = "gnv%d" % i
        ovs.vsctl("add-port", br, name, "--", "set", "Interface", name,
                  "type=geneve", "options:remote_ip=%s" % ip,
                  "options:key=%d" % g.ENCAP_VNI,
                  "ofport_request=%d" % (10 + i))
        tunnels.append(name)
    for i, mac in enumerate(l2_dst_macs()):
        ovs.appctl("fdb/add", br, tunnels[i % len(tunnels)], "0", mac)
    ovs.add_dpdk_port("dpdk0", in_devargs(pcaps["in"]), 1)


def encap_ovs_verify(ovs):
    """The packets of OVS's datapath flows were Geneve-encapsulated: at
    least 99% of the packets of flows that do not drop (those drop what the
    uplink received) went through a tnl_push(... geneve ...) action."""
    out = ovs.appctl("dpctl/dump-flows")
    total = encap = 0
    for line in out.splitlines():
        m = re.search(r"packets:(\d+)", line)
        if not m or line.split("actions:", 1)[-1].strip() == "drop":
            continue
        total += int(m.group(1))
        if "tnl_push(" in line and "geneve(" in line:
            encap += int(m.group(1))
    if total == 0 or encap < 0.99 * total:
        raise DatapathError("only %d of %d packets in OVS's datapath flows"
                            " were Geneve-encapsulated (dpctl/dump-flows)"
                            % (encap, total), ovs.log())
    return "%.1f%% of the packets of its datapath flows went through" \
        " tnl_push(geneve)" % (100.0 * encap / total)


# ---- several workers (l2_2w, fw_est_2w): measure_workers() below

def split_pcap(src, n, queue_of):
    """Writes the packets of pcap 'src' into n files (src.q0.pcap, ...) by
    queue_of(packet), as a device's RSS would spread them over n receive
    queues; returns the paths."""
    from scapy.utils import rdpcap, wrpcap
    pkts = rdpcap(src)
    parts = [[] for _ in range(n)]
    for p in pkts:
        parts[queue_of(p) % n].append(p)
    paths = []
    for i, part in enumerate(parts):
        path = "%s.q%d.pcap" % (src[:-5] if src.endswith(".pcap") else src, i)
        if not part:
            raise SystemExit("bench: queue %d of %s got no packets" % (i, src))
        wrpcap(path, part)
        paths.append(path)
    return paths


def flow_queue(p):
    """A receive queue by flow: the UDP or TCP source port, else the IP pair."""
    from scapy.layers.inet import IP, TCP, UDP
    if UDP in p:
        return p[UDP].sport
    if TCP in p:
        return conn_owner(p[IP].src, p[IP].dst, 2)
    return 0


def owner_queue(p):
    """The receive queue of the worker that owns the packet's connection."""
    from scapy.layers.inet import IP
    return conn_owner(p[IP].src, p[IP].dst, 2) if IP in p else 0


def multi_in_devargs(paths):
    return "%s,%s,infinite_rx=1" % (IN_VDEV, ",".join(
        "rx_pcap=%s" % x for x in paths))


# ---- memory per connection (conn_memory): measure_conn_memory() below

# net_pcap keeps the whole pcap in mbufs: conn_setup's 65536 packets need
# more than dse-dpud's default 16383.
MBUFS_BIG = "131071"

WORKLOADS = {
    "l2": Workload(
        name="l2",
        title="L2 switching, 64-byte frames, 1024 UDP flows, 64+64 MACs",
        pcaps=pcaps_of("l2"),
        dse_config=l2_dse_config,
        ovs_setup=l2_ovs_setup,
        testpmd_args=["--forward-mode=io"],
        targets=[("dse_vs_ovs", "dse >= 2.2x OVS-DPDK", 2.2),
                 ("dse_vs_testpmd", "dse >= 0.5x testpmd", 0.5)],
    ),
    "fw_est": Workload(
        name="fw_est",
        title="L2 + stateful firewall, 64-byte frames, 256 established TCP"
              " connections (OVS: ct() with commit and +est)",
        pcaps=fw_est_pcaps,
        dse_config=fw_est_dse_config,
        dse_prime=fw_est_dse_prime,
        dse_needs=("fw.policy.set", "fw.rule.add", "fw.stats.show", "port.del"),
        dse_stats="fw.stats.show",
        ovs_setup=fw_est_ovs_setup,
        testpmd_args=["--forward-mode=io"],
        targets=[("dse_vs_ovs", "dse >= 4x OVS-DPDK", 4.0)],
    ),
    "encap": Workload(
        name="encap",
        title="Geneve encapsulation, 64-byte frames from a VM port, 1024 UDP"
              " flows to 4 remote TEPs, out of the uplink",
        pcaps=encap_pcaps,
        dse_config=encap_dse_config,
        dse_prime=encap_dse_prime,
        dse_needs=("tep.set", "tep.show", "fdb.config.set"),
        ovs_setup=encap_ovs_setup,
        datapaths=("dse", "ovs_dpdk"),
        out_vdev=UPLINK_VDEV,
        out_len=ENCAP_OUT_LEN,
        ovs_verify=encap_ovs_verify,
        targets=[("dse_vs_ovs", "dse >= 1.8x OVS-DPDK", 1.8)],
    ),
    "conn_setup": Workload(
        name="conn_setup",
        title="connection setup through the firewall: 16384 connections of"
              " 4 packets (SYN, SYN+ACK, ACK, RST), replayed",
        pcaps=pcaps_of("conn_setup"),
        dse_config=fw_dse_config,
        dse_args=["--mbufs", MBUFS_BIG],
        dse_needs=("fw.policy.set", "fw.rule.add", "fw.stats.show"),
        dse_stats="fw.stats.show",
        ovs_setup=fw_ovs_setup,
        datapaths=("dse", "ovs_dpdk"),
        pkts_per_conn=4,
        unit="Mconn/s",
        targets=[("dse_conns_per_s", "dse >= 1.5M connections/s", ">=", 1.5e6)],
    ),
    "l2_churn": Workload(
        name="l2_churn",
        title="the l2 workload while 1% of the destination MACs (at least"
              " one) move to a second output port every second and the"
              " previous ones move back (dse against dse without moves)",
        measure=lambda h, args, ctx: measure_l2_churn(h, args, ctx),
        dse_needs=("fdb.add", "flow.show"),
        targets=[("dse_vs_static", "dse churn >= 0.9x static l2", ">=", 0.9),
                 ("moved_seconds_ok",
                  "every second, moved MACs on the new port", ">=", 1.0)],
    ),
    "l2_2w": Workload(
        name="l2_2w",
        title="l2 split over two receive queues: dse with two workers on the"
              " two cores against dse with one worker",
        measure=lambda h, args, ctx: measure_workers(h, args, ctx, "l2",
                                                     flow_queue),
        targets=[("dse_2w_vs_1w", "two workers >= 1.7x one", 1.7)],
    ),
    "fw_est_2w": Workload(
        name="fw_est_2w",
        title="fw_est split over two receive queues by connection owner:"
              " dse with two workers against dse with one worker",
        measure=lambda h, args, ctx: measure_workers(h, args, ctx, "fw_est",
                                                     owner_queue),
        targets=[("dse_2w_vs_1w", "two workers >= 1.7x one", 1.7)],
    ),
    "events": Workload(
        name="events",
        title="conn_setup with one events.subscribe consumer (conn_created,"
              " conn_closed) against conn_setup without one",
        pcaps=pcaps_of("conn_setup"),
        dse_config=fw_dse_config,
        dse_args=["--mbufs", MBUFS_BIG],
        dse_needs=("fw.policy.set", "fw.rule.add", "events.subscribe"),
        pkts_per_conn=4,
        unit="Mconn/s",
        measure=lambda h, args, ctx: measure_events(h, args, ctx),
        targets=[("with_vs_without", "with a consumer >= 85% of without",
                  ">=", 0.85),
                 ("accounted", "every record received or counted lost",
                  ">=", 0.999)],
    ),
    "fw_rules": Workload(
        name="fw_rules",
        title="fw_est and conn_setup with 10,000 rules installed (the"
              " traffic's allow rule number 7000) against one rule, and the"
              " time to push and compile 10,000 rules",
        measure=lambda h, args, ctx: measure_fw_rules(h, args, ctx),
        unit="ratio",
        targets=[("fw_est_ratio", "fw_est 10k rules >= 80% of 1 rule",
                  ">=", 0.8),
                 ("conn_setup_ratio", "conn_setup 10k rules >= 80% of 1 rule",
                  ">=", 0.8)],
    ),
    "conn_memory": Workload(
        name="conn_memory",
        title="memory per tracked connection, 1 million connections",
        measure=lambda h, args, ctx: measure_conn_memory(h, args, ctx),
        unit="B/conn",
        targets=[("ct_bench_bytes_per_conn",
                  "table code <= 200 B/connection", "<=", 200),
                 ("dpud_bytes_per_conn",
                  "dse-dpud <= 200 B/connection", "<=", 200)],
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
    stats_name = None   # what window_stats() reads, for the output

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

    def window_stats(self, wl):
        """The datapath's own statistics for workload 'wl', read at the
        start and at the end of the window (dse: wl.dse_stats), or None."""
        return None

    def verify(self, wl):
        """After the window, while it runs: check it did the workload's work
        (raises DatapathError if not); returns a note or None."""
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
        self.prefix = self.h.prefix("testpmd-%s-%d" % (wl.name, run))
        log = os.path.join(self.h.tmp, "testpmd-%s-%d.log" % (wl.name, run))
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
                        lambda: dpdk_telemetry.port_by_name(sock,
                                                            wl.out_vdev),
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

    def add_dpdk_port(self, name, devargs, ofport, bridge=None):
        """Add DPDK interface 'name' on 'devargs' as OpenFlow port 'ofport'
        (of the workload's bridge, or of 'bridge')."""
        self.ifaces[name] = (devargs, ofport)
        self.vsctl("add-port", bridge or self.bridge, name, "--", "set",
                   "Interface", name, "type=dpdk",
                   'options:dpdk-devargs="%s"' % devargs,
                   "ofport_request=%d" % ofport)

    def in_netns(self, *argv, check=True):
        """Run 'argv' in ovs-vswitchd's network namespace.  With 'check'
        a failure raises; without, returns whether it succeeded."""
        r = subprocess.run(["nsenter", "-t", str(self.vswitchd.pid), "-n"]
                           + list(argv), capture_output=True, text=True,
                           timeout=30)
        if check and r.returncode != 0:
            raise DatapathError("%s failed in OVS's namespace (%d): %s" % (
                " ".join(argv), r.returncode, r.stderr.strip()),
                self.vswitchd.log)
        return r.returncode == 0

    def start(self, wl, pcaps, run):
        self.dir = os.path.join(self.h.tmp, "ovs-%s-%d" % (wl.name, run))
        os.mkdir(self.dir)
        self.ifaces = {}
        self.prefix = self.h.prefix("ovs-%s-%d" % (wl.name, run))
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
            if devargs.split(",")[0] == wl.out_vdev:
                out_ofport = ofport
        sock = dpdk_telemetry.socket_path(self.prefix)
        try:
            port = wait_for("telemetry",
                            lambda: dpdk_telemetry.port_by_name(
                                sock, wl.out_vdev),
                            10, self.vswitchd)
            self.stats_via = "telemetry"
        except DatapathError:
            if self.vswitchd.poll() is not None:
                raise
            sock, port = None, out_ofport
            self.stats_via = "ovs-ofctl dump-ports"
        return sock, port, self.vswitchd.pid

    def verify(self, wl):
        return wl.ovs_verify(self) if wl.ovs_verify else None

    stats_name = "datapath flows"

    def window_stats(self, wl):
        """For the firewall workloads: packets of the datapath flows that
        commit a connection (ct(commit): the new connections) and of those
        that drop, read live from the PMD (dpctl/dump-flows; the OpenFlow
        flow statistics lag by up to a revalidation period)."""
        if not wl.dse_stats:
            return None
        try:
            out = self.appctl("dpctl/dump-flows")
        except DatapathError:
            return None
        created = dropped = 0
        for line in out.splitlines():
            m = re.search(r"packets:(\d+)", line)
            if not m:
                continue
            acts = line.split("actions:", 1)[-1]
            if "ct(commit" in acts:
                created += int(m.group(1))
            elif acts.strip() == "drop":
                dropped += int(m.group(1))
        return {"created": created, "denied": dropped}

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

    def has_methods(self, names):
        """The JSON-RPC methods of 'names' that the binary lacks: a method's
        name is a string constant of the binary (cheaper than starting it
        for rpc.list)."""
        try:
            with open(self.binary, "rb") as f:
                data = f.read()
        except OSError:
            return list(names)
        return [n for n in names if b"\0" + n.encode() + b"\0" not in data]

    def available_for(self, wl):
        """(True, "") if dse can run workload 'wl', else (False, why)."""
        if wl.dse_config is None:
            return False, wl.dse_missing or "not available"
        missing = self.has_methods(wl.dse_needs)
        if missing:
            return False, "dse-dpud has no %s yet" % ", ".join(missing)
        return True, ""

    def start(self, wl, pcaps, run, config=None, args=(), mem="1024",
              lcores=None):
        """Start dse-dpud with the workload's config (or 'config') and
        options (and 'args'), on the EAL lcores 'lcores' (default: control
        on CTRL_CPU, one worker on FWD_CPU); returns once 'port.list' shows
        the config's ports."""
        self.prefix = self.h.prefix("dse-%s-%d" % (wl.name, run))
        log = os.path.join(self.h.tmp, "dse-%s-%d.log" % (wl.name, run))
        cfg = os.path.join(self.h.tmp, "dse-%s.json" % wl.name)
        calls = config if config is not None else wl.dse_config(pcaps)
        with open(cfg, "w") as f:
            json.dump(calls, f, indent=1)
        n_ports = sum(1 for c in calls if c["method"] == "port.add")
        rpc = os.path.join(self.h.tmp, "dse-%s-%d.sock" % (wl.name, run))
        self.rpc = rpc
        if lcores is None:
            lcores = ["-l", "%d,%d" % (CTRL_CPU, FWD_CPU)]
        argv = ["taskset", "-c", str(CTRL_CPU), self.binary] + lcores + [
                "--no-huge", "-m", mem,
                "--no-pci", "--file-prefix", self.prefix, "--",
                "--rpc", rpc, "--config", cfg, "--busy-poll",
                # The workloads' ports are net_pcap and net_null, from --config.
                "--test-devices"] + wl.dse_args + list(args)
        self.proc = self.h.spawn(argv, log)
        self.last_ports = None

        def two_ports():
            if not os.path.exists(rpc):
                return None
            ports = rpc_call(rpc, "port.list", timeout=2)
            self.last_ports = ports
            if isinstance(ports, dict):
                ports = ports.get("ports", ports)
            return ports if len(ports) >= n_ports else None

        try:
            wait_for("the ports in JSON-RPC port.list", two_ports,
                     START_TIMEOUT, self.proc)
        except DatapathError as e:
            if self.last_ports is not None:
                e.args = ("%s; last port.list answer: %r"
                          % (e.args[0], self.last_ports),)
            raise
        if wl.dse_prime and config is None:
            try:
                wl.dse_prime(self, pcaps)
            except (OSError, ValueError, RpcError) as e:
                raise DatapathError("priming failed: %s" % e, log)
        sock = dpdk_telemetry.socket_path(self.prefix)
        port = wait_for("telemetry",
                        lambda: dpdk_telemetry.port_by_name(sock,
                                                            wl.out_vdev),
                        10, self.proc)
        return sock, port, self.proc.pid

    def call(self, method, params=None, timeout=5):
        return rpc_call(self.rpc, method, params, timeout=timeout)

    stats_name = "fw.stats.show"

    def window_stats(self, wl):
        if not wl.dse_stats:
            return None
        try:
            return self.call(wl.dse_stats)
        except (OSError, ValueError, RpcError):
            return None

    def main_proc(self):
        return self.proc

    def stop(self):
        if self.proc is not None:
            self.h.stop(self.proc)
            self.proc = None
        if self.prefix:
            self.h.remove_prefix(self.prefix)


class DseWorkers(Dse):
    """dse-dpud with 'n' workers on a workload whose input port is split
    over n receive queues ('split' gives the queue of each packet).  With
    n == 1 it is the baseline: one worker, the whole pcap on one queue."""

    def __init__(self, h, binary, n, split):
        super().__init__(h, binary)
        self.n = n
        self.split = split
        self.key = "dse_%dw" % n
        self.label = "dse %dw" % n

    def start(self, wl, pcaps, run, config=None, args=(), mem="1024",
              lcores=None):
        calls = wl.dse_config(pcaps)
        mine = dict(pcaps)
        if self.n > 1:
            if "queues" not in pcaps:
                pcaps["queues"] = split_pcap(pcaps["in"], self.n, self.split)
            qs = pcaps["queues"]
            mine["in_devargs"] = multi_in_devargs(qs)
            for c in calls:
                prm = c.get("params", {})
                if c["method"] == "port.add" and prm.get("name") == "in":
                    prm["devargs"] = multi_in_devargs(qs)
                elif c["method"] == "port.add" and prm.get("name") == "prime":
                    # One queue per worker: the handshakes on the first,
                    # an empty file on the others.
                    prm["devargs"] += "".join(
                        ",rx_pcap=%s" % pcaps["empty"] for _ in
                        range(self.n - 1))
            # The workers: the first on FWD_CPU, the others where the control
            # thread is (a 2-core machine has no third core).
            spec = ["0@%d" % CTRL_CPU] + [
                "%d@%d" % (i + 1, FWD_CPU if i == 0 else CTRL_CPU)
                for i in range(self.n)]
            lcores = ["--lcores", ",".join(spec)]
            args = list(args) + ["--workers", str(self.n)]
        r = Dse.start(self, wl, mine, run, config=calls, args=args, mem=mem,
                      lcores=lcores)
        if wl.dse_prime:
            try:
                wl.dse_prime(self, mine)
            except (OSError, ValueError, RpcError) as e:
                raise DatapathError("priming failed: %s" % e, self.proc.log)
        return r

    def verify(self, wl):
        """After the window: each worker's handoff counters and the drops."""
        return workers_note(self)


def workers_note(dse):
    """What each worker of a running dse-dpud handed over and dropped."""
    st = dse.call("stats.show")
    drops = {k: v for k, v in st.get("drops", {}).items() if v}
    return "workers: %s; drops: %s" % (", ".join(
        "%d: handoff in %d out %d" % (w["id"], w["handoff_in"], w["handoff_out"])
        for w in st.get("workers", [])), drops or "none")


def measure_workers(h, args, ctx, base, split):
    """Workload 'base' with dse-dpud's traffic split over two receive queues
    and two workers, against one worker with the same traffic on one queue;
    each measured args.runs times, interleaved.  Reports both rates, the
    ratio and what else was busy on the cores during the windows."""
    wl = WORKLOADS[base]
    wdir = os.path.join(h.tmp, base + "_2w")
    os.mkdir(wdir)
    pcaps = wl.pcaps(wdir)
    from scapy.utils import wrpcap
    pcaps["empty"] = os.path.join(wdir, "empty.pcap")
    wrpcap(pcaps["empty"], [])
    entry = {"unit": "Mpps", "machine": ctx["machine"],
             "software": ctx["software"], "date": ctx["date"]}
    dse = ctx["dse"]
    if "dse" not in [d.strip() for d in args.datapaths.split(",")]:
        entry["status"] = {"dse": "not selected"}
        return entry
    if not dse.available()[0]:
        entry["status"] = {"dse": dse.available()[1]}
        return entry
    dps = [DseWorkers(h, dse.binary, 1, split),
           DseWorkers(h, dse.binary, 2, split)]
    samples = {dp.key: [] for dp in dps}
    notes = []
    for run in range(args.runs):
        order = dps[run % 2:] + dps[:run % 2]
        for dp in order:
            try:
                r = measure(dp, wl, pcaps, run, args.warmup, args.seconds)
            except DatapathError as e:
                ctx["failures"].append((dp.label, base + "_2w", str(e),
                                        log_tail(e.log) if e.log else ""))
                print("%-10s run %d %-9s FAILED: %s"
                      % (base + "_2w", run + 1, dp.label, e))
                entry["status"] = {dp.key: "failed"}
                return entry
            samples[dp.key].append(round(r["mpps"], 3))
            busy = ", ".join("%s %.0f%% on CPU %d" % b for b in r["busy"])
            other = fmt_load(r["foreign"])
            notes.append("%s run %d: busy threads: %s; other processes: %s"
                         % (dp.label, run + 1, busy or "none",
                            other or "none"))
            print("%-10s run %d %-9s %7.2f Mpps  (busy: %s; other processes"
                  " busy: %s) [%s]" % (base + "_2w", run + 1, dp.label,
                                       r["mpps"], busy or "none",
                                       other or "none", r["verify"]))
            sys.stdout.flush()
    one = statistics.median(samples["dse_1w"])
    two = statistics.median(samples["dse_2w"])
    entry.update({"dse_1w_mpps": one, "dse_2w_mpps": two,
                  "dse_2w_vs_1w": round(ratio(two, one), 3),
                  "runs": samples, "cores": notes,
                  "method": "TX packets of %s via DPDK telemetry; two "
                            "workers: the input pcap split over two rx_pcap "
                            "queues (%s), worker 0 on CPU %d and worker 1 "
                            "with the control thread on CPU %d; one worker: "
                            "the whole pcap on one queue, worker on CPU %d; "
                            "%g s warm-up, %g s window"
                            % (OUT_VDEV, split.__doc__.strip().rstrip("."),
                               FWD_CPU, CTRL_CPU, FWD_CPU, args.warmup,
                               args.seconds)})
    return entry


# --------------------------------------------------------------------------
# Measuring


def measure(dp, wl, pcaps, run, warmup, seconds):
    """One run of datapath 'dp': start, warm up, count, stop.  Returns a dict
    with "mpps" (output port TX rate), "rx_mpps" (input port), "out_len"
    (bytes per frame sent), "stats" (the datapath's own statistics at the
    start and the end of the window, or None) and notes."""
    try:
        sock, port, pid = dp.start(wl, pcaps, run)

        def counters():
            """(input port RX, input port TX, output port TX, output port
            TX bytes, time)"""
            if sock is None:
                return (None, None, dp.tx_packets(port), None,
                        time.monotonic())
            st = dpdk_telemetry.port_stats(sock, port)
            t = time.monotonic()
            rx = back = None
            if in_port is not None:
                ist = dpdk_telemetry.port_stats(sock, in_port)
                rx, back = ist["ipackets"], ist["opackets"]
            return rx, back, st["opackets"], st.get("obytes"), t

        in_port = (dpdk_telemetry.port_by_name(sock, IN_VDEV)
                   if sock is not None else None)
        time.sleep(warmup)
        if not dp.running():
            raise DatapathError("exited during warm-up", dp.log())
        cpu0 = thread_cpu_times(pid)
        all0 = process_cpu_times()
        st0 = dp.window_stats(wl)
        ts0 = time.monotonic()
        rx0, back0, tx0, by0, t0 = counters()
        time.sleep(seconds)
        rx1, back1, tx1, by1, t1 = counters()
        st1 = dp.window_stats(wl)
        ts1 = time.monotonic()
        cpu1 = thread_cpu_times(pid)
        all1 = process_cpu_times()
        dt = t1 - t0
        own = {p.pid for p in dp.h.procs}  # sessions of our processes
        res = {"mpps": (tx1 - tx0) / dt / 1e6, "seconds": dt,
               "rx_mpps": (rx1 - rx0) / dt / 1e6 if rx0 is not None else None,
               "back_mpps": ((back1 - back0) / dt / 1e6
                             if back0 is not None else None),
               # net_null counts no bytes: only a port that does tells.
               "out_len": ((by1 - by0) / (tx1 - tx0)
                           if by0 is not None and by1 > by0 and tx1 > tx0
                           else None),
               "verify": dp.verify(wl),
               # The datapath's own counters, over their own interval.
               "stats": ((st0, st1, ts1 - ts0)
                         if st0 is not None and st1 is not None else None),
               "busy": busy_threads(cpu0, cpu1, dt),
               "foreign": foreign_load(all0, all1, dt, own)}
        if tx1 - tx0 <= 0:
            raise DatapathError("forwarded nothing to %s in %.1f s"
                                % (wl.out_vdev, dt), dp.log())
        return res
    finally:
        dp.stop()


def stats_rates(stats):
    """Per-second increase of the numeric counters of fw.stats-like answers
    (start, end, seconds between the two reads); {} without them."""
    if not stats:
        return {}
    s0, s1, seconds = stats
    out = {}
    for k in ("created", "invalid", "denied", "expired", "full"):
        if isinstance(s0.get(k), (int, float)) and isinstance(s1.get(k),
                                                              (int, float)):
            out[k] = (s1[k] - s0[k]) / seconds
    return out


def pinning_note(busy, foreign):
    """A warning when the forwarding thread is not alone on FWD_CPU or other
    processes of the machine ('foreign') competed for the CPUs."""
    on_fwd = [b for b in busy if b[2] == FWD_CPU]
    off_fwd = [b for b in busy if b[2] != FWD_CPU and b[1] > 0.5]
    notes = []
    if not on_fwd:
        notes.append("no busy thread on CPU %d" % FWD_CPU)
    elif on_fwd[0][1] < 0.9:
        notes.append("forwarding thread %s got only %.0f%% of CPU %d%s" % (
            on_fwd[0][0], 100 * on_fwd[0][1], FWD_CPU,
            "" if foreign or len(on_fwd) > 1 else
            " (no other process was busy: it waited by itself, e.g. on a"
            " lock)"))
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


OPS = {">=": ("min", lambda v, b: v >= b),
       "<=": ("max", lambda v, b: v <= b),
       "<": ("below", lambda v, b: v < b)}


def op_name(op):
    return OPS[op][0]


def check_op(v, op, bound):
    return OPS[op][1](v, bound)


def fmt_bound(op, bound):
    if bound >= 1e6:
        return "%s %gM" % (op, bound / 1e6)
    return "%s %g" % (op, bound)


def run_rate_workload(h, wl, dps, active, unavailable, args, ctx):
    """Every datapath of 'wl' measured args.runs times, interleaved; returns
    the workload's result entry (medians, ratios, runs, status)."""
    mhz = ctx["mhz"]
    wdir = os.path.join(h.tmp, wl.name)
    os.mkdir(wdir)
    pcaps = wl.pcaps(wdir)
    mine = [dp for dp in dps if dp.key in wl.datapaths]
    status_of = {}
    for dp in mine:
        if dp.key in unavailable:
            status_of[dp.key] = unavailable[dp.key]
        elif dp.key == "dse":
            ok, why = dp.available_for(wl)
            if not ok:
                status_of["dse"] = why
                print("%-10s dse: %s" % (wl.name, why))
    for dp in dps:
        if dp.key not in wl.datapaths:
            status_of[dp.key] = "not part of this workload"
    wl_active = [dp for dp in active
                 if dp.key in wl.datapaths and dp.key not in status_of]
    samples = {dp.key: [] for dp in dps}
    out_len = {dp.key: [] for dp in dps}
    fw_rates = {dp.key: [] for dp in dps}
    failed = set()
    notes = []
    ovs_stats_via = None
    for run in range(args.runs):
        # Rotate the order so no datapath always goes first.
        n = max(len(wl_active), 1)
        order = wl_active[run % n:] + wl_active[:run % n]
        for dp in order:
            if dp.key in failed:
                continue
            try:
                r = measure(dp, wl, pcaps, run, args.warmup, args.seconds)
            except DatapathError as e:
                failed.add(dp.key)
                ctx["failures"].append((dp.label, wl.name, str(e),
                                        log_tail(e.log) if e.log else ""))
                print("%-10s run %d %-9s FAILED: %s"
                      % (wl.name, run + 1, dp.label, e))
                sys.stdout.flush()
                continue
            if dp.key == "ovs_dpdk":
                ovs_stats_via = dp.stats_via
            r["mpps"] = round(r["mpps"], 3)
            samples[dp.key].append(r["mpps"])
            note = pinning_note(r["busy"], r["foreign"])
            if note:
                notes.append("%s run %d: %s" % (dp.label, run + 1, note))
            if r["back_mpps"] and r["back_mpps"] > 0.01 * r["mpps"]:
                note += ("%s%.2f Mpps sent back out of the input port"
                         " (flooding?)" % ("; " if note else "",
                                           r["back_mpps"]))
            if r["out_len"] is not None:
                out_len[dp.key].append(r["out_len"])
                if wl.out_len and abs(r["out_len"] - wl.out_len) > 0.5:
                    msg = ("frames leaving are %.1f bytes, %d expected"
                           % (r["out_len"], wl.out_len))
                    note += ("; " if note else "") + msg
                    notes.append("%s run %d: %s" % (dp.label, run + 1, msg))
            extra = ""
            if r["verify"]:
                extra += " [%s]" % r["verify"]
            if wl.pkts_per_conn:
                extra += " = %.3f Mconn/s" % (r["mpps"] / wl.pkts_per_conn)
            rates = stats_rates(r["stats"])
            if rates:
                fw_rates[dp.key].append(rates)
                extra += " (%s: %s)" % (dp.stats_name, ", ".join(
                    "%s %.3f M/s" % (k, v / 1e6) for k, v in rates.items()
                    if k in ("created", "invalid", "denied") and
                    (v or k == "created")))
            cyc = (" ~%.0f cycles/pkt" % (mhz / r["mpps"])
                   if mhz and r["mpps"] else "")
            print("%-10s run %d %-9s %7.2f Mpps (input %s Mpps)%s%s%s"
                  % (wl.name, run + 1, dp.label, r["mpps"], fmt(r["rx_mpps"]),
                     cyc, extra, "  WARNING: " + note if note else ""))
            sys.stdout.flush()

    med = {k: (statistics.median(v) if v and k not in failed else None)
           for k, v in samples.items()}
    entry = {
        "dse_mpps": med["dse"],
        "ovs_dpdk_mpps": med["ovs_dpdk"],
        "testpmd_mpps": med["testpmd"],
        "dse_vs_ovs": ratio(med["dse"], med["ovs_dpdk"]),
        "dse_vs_testpmd": ratio(med["dse"], med["testpmd"]),
        "runs": {k: v for k, v in samples.items() if k in wl.datapaths},
        "unit": wl.unit,
        "machine": ctx["machine"],
        "software": ctx["software"],
        "date": ctx["date"],
        "method": "TX packets of %s via DPDK telemetry /ethdev/stats;"
                  " %g s warm-up, %g s window" % (wl.out_vdev, args.warmup,
                                                  args.seconds),
    }
    for k in ("dse_mpps", "ovs_dpdk_mpps", "testpmd_mpps", "dse_vs_ovs",
              "dse_vs_testpmd"):
        if entry[k] is not None:
            entry[k] = round(entry[k], 3)
    if wl.pkts_per_conn:
        for k in ("dse", "ovs_dpdk"):
            m = med[k]
            entry[k + "_conns_per_s"] = (round(m * 1e6 / wl.pkts_per_conn)
                                         if m is not None else None)
        entry["method"] += ("; connections/s = packets/s / %d"
                            % wl.pkts_per_conn)
    for k, v in fw_rates.items():
        if v and k not in failed:
            entry.setdefault("stats_per_s", {})[k] = {
                name: round(statistics.median(x.get(name, 0) for x in v))
                for name in v[0]}
    if entry.get("stats_per_s", {}).get("dse", {}).get("created") is not None:
        entry["dse_created_per_s"] = entry["stats_per_s"]["dse"]["created"]
    lens = {k: round(statistics.median(v), 1) for k, v in out_len.items()
            if v and k not in failed}
    if lens:
        entry["out_frame_bytes"] = lens
    if ovs_stats_via and ovs_stats_via != "telemetry":
        entry["method"] += (" (OVS-DPDK: %s statistics, telemetry unusable)"
                            % ovs_stats_via)
    for k in failed:
        status_of[k] = "failed"
    if status_of:
        entry["status"] = status_of
    if notes:
        entry["warnings"] = notes
    entry["_stats_via"] = ovs_stats_via
    return entry


# ---- the events workload: conn_setup with a subscriber

EVENT_KINDS = ("conn_created", "conn_closed")


class EventConsumer:
    """A client of events.subscribe in a thread of the harness (on
    CTRL_CPU): counts the records of each kind it receives (from the text,
    without parsing every record) and keeps the last 'lost' its
    notifications reported."""

    def __init__(self, path, kinds=EVENT_KINDS):
        import socket
        import threading

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        req = {"jsonrpc": "2.0", "id": 1, "method": "events.subscribe",
               "params": {"kinds": list(kinds)}}
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise DatapathError("dse-dpud closed the subscription")
            buf += chunk
        line, self.rest = buf.split(b"\n", 1)
        answer = json.loads(line)
        if "result" not in answer:
            raise DatapathError("events.subscribe failed: %s" % answer)
        self.subscription = answer["result"]["subscription"]
        self.kinds = {k: 0 for k in kinds}
        self.received = 0
        self.lost = 0
        self.bytes = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _count(self, text):
        for k in self.kinds:
            n = text.count(b'"kind":"%s"' % k.encode())
            self.kinds[k] += n
            self.received += n
        i = text.rfind(b'"lost":')
        if i >= 0:
            m = re.match(rb'"lost":(\d+)', text[i:])
            if m:
                self.lost = int(m.group(1))

    def _run(self):
        buf = self.rest
        self.sock.settimeout(0.2)
        while not self.stop_flag.is_set():
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                continue
            if not chunk:
                break
            self.bytes += len(chunk)
            buf += chunk
            end = buf.rfind(b"\n")
            if end >= 0:
                self._count(buf[:end + 1])
                buf = buf[end + 1:]

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=5)
        self.sock.close()


class DseEvents(Dse):
    """dse-dpud with an EventConsumer attached from start to stop; after
    the window its accounting is in 'self.accounting'."""

    key = "dse_events"
    label = "dse+sub"

    def start(self, wl, pcaps, run, config=None, args=(), mem="1024"):
        r = super().start(wl, pcaps, run, config, args, mem)
        self.consumer = EventConsumer(self.rpc)
        return r

    def verify(self, wl):
        """Reads the events counters and waits until the consumer has every
        record dse-dpud queued for it; then compares what the worker made
        with what was delivered or counted lost."""
        st = self.call("stats.show", timeout=10)["events"]
        sub = [x for x in st["subscribers"]
               if x["subscription"] == self.consumer.subscription][0]
        w = st["workers"][0]
        deadline = time.monotonic() + 20
        while (self.consumer.received < sub["delivered"] and
               time.monotonic() < deadline):
            time.sleep(0.05)
        made = w["sent"] + w["lost"]
        # Records still in the ring or not yet handed to the subscriber
        # are in flight: neither received nor lost.
        accounted = sub["delivered"] + sub["lost"] + w["lost"] + w["queued"]
        self.accounting = {
            "made": made, "ring_lost": w["lost"],
            "delivered": sub["delivered"], "subscriber_lost": sub["lost"],
            "in_ring": w["queued"], "received": self.consumer.received,
            "received_by_kind": dict(self.consumer.kinds),
            "reported_lost": self.consumer.lost,
            "accounted": round(min(accounted, made) / made, 6) if made else None,
            "all_received": self.consumer.received >= sub["delivered"],
        }
        a = self.accounting
        return ("%d records made, %d received, %d lost at the subscriber"
                " (its notifications said %d), %d lost at the ring"
                % (a["made"], a["received"], a["subscriber_lost"],
                   a["reported_lost"], a["ring_lost"]))

    def stop(self):
        c = getattr(self, "consumer", None)
        if c is not None:
            c.stop()
            self.consumer = None
        super().stop()


def measure_events(h, args, ctx):
    """conn_setup measured with and without an events.subscribe consumer of
    conn_created and conn_closed, interleaved; the consumer's accounting
    (every record the worker made is received, lost at the subscriber's
    full queue or lost at a full ring, each loss counted and reported)."""
    wl = WORKLOADS["events"]
    entry = {"unit": wl.unit, "machine": ctx["machine"],
             "software": ctx["software"], "date": ctx["date"]}
    plain = ctx["dse"]
    ok, why = plain.available_for(wl)
    if not ok or "dse" not in [d.strip() for d in args.datapaths.split(",")]:
        entry["status"] = {"dse": why if not ok else "not selected"}
        print("%-10s dse: %s" % (wl.name, entry["status"]["dse"]))
        return entry
    with_sub = DseEvents(h, plain.binary)
    wdir = os.path.join(h.tmp, wl.name)
    os.mkdir(wdir)
    pcaps = wl.pcaps(wdir)
    samples = {"without": [], "with": []}
    accounting = []
    for run in range(args.runs):
        order = [("without", plain), ("with", with_sub)]
        if run % 2:
            order.reverse()
        for mode, dp in order:
            try:
                r = measure(dp, wl, pcaps, run, args.warmup, args.seconds)
            except DatapathError as e:
                ctx["failures"].append((dp.label, wl.name, str(e),
                                        log_tail(e.log) if e.log else ""))
                print("%-10s run %d %-9s FAILED: %s"
                      % (wl.name, run + 1, dp.label, e))
                entry["status"] = {"dse": "failed"}
                return entry
            conns = r["mpps"] / wl.pkts_per_conn
            samples[mode].append(round(conns, 4))
            note = pinning_note(r["busy"], r["foreign"])
            extra = ""
            if mode == "with":
                accounting.append(dp.accounting)
                extra = " [%s]" % r["verify"]
            print("%-10s run %d %-13s %7.3f Mconn/s%s%s"
                  % (wl.name, run + 1, mode + " consumer", conns, extra,
                     "  WARNING: " + note if note else ""))
            sys.stdout.flush()
    med = {k: statistics.median(v) for k, v in samples.items()}
    entry.update({
        "without_mconn_per_s": round(med["without"], 4),
        "with_mconn_per_s": round(med["with"], 4),
        "with_vs_without": round(med["with"] / med["without"], 3)
        if med["without"] else None,
        "runs": samples,
        "accounting": accounting,
        "accounted": min(a["accounted"] for a in accounting
                         if a["accounted"] is not None)
        if all(a["all_received"] for a in accounting) else 0.0,
        "method": "conn_setup (16384 connections of SYN, SYN+ACK, ACK, RST,"
                  " replayed), TX packets of %s / 4 via DPDK telemetry; %g s"
                  " warm-up, %g s window; the consumer is a thread of the"
                  " harness on CPU %d subscribed to conn_created and"
                  " conn_closed from dse-dpud's start; after the window"
                  " stats.get events gives what the worker made, delivered"
                  " and lost" % (OUT_VDEV, args.warmup, args.seconds,
                                 CTRL_CPU),
    })
    return entry


# ---- memory per connection


def find_ct_bench(args):
    """dse-ct-bench next to dse-dpud's build (tests/unit/ or the root)."""
    if args.ct_bench:
        return os.path.abspath(args.ct_bench)
    build = os.path.dirname(os.path.abspath(args.dse))
    for rel in ("dse-ct-bench", os.path.join("tests", "unit",
                                              "dse-ct-bench")):
        p = os.path.join(build, rel)
        if os.access(p, os.X_OK):
            return p
    return os.path.join(build, "tests", "unit", "dse-ct-bench")


CONN_MEMORY_N = 1000000


def measure_conn_memory(h, args, ctx):
    """Bytes per tracked connection with a million connections, two ways:
    dse-ct-bench (the conntrack table code alone: rte_hash + entries +
    timer wheel, from the DPDK heap statistics) and, when dse-dpud has
    fw.stats with memory_bytes, the daemon itself filled through a pcap of a
    million distinct UDP flows (each one a connection) read once."""
    n = CONN_MEMORY_N
    entry = {"connections": n, "unit": "B/conn", "machine": ctx["machine"],
             "software": ctx["software"], "date": ctx["date"],
             "ct_bench_bytes_per_conn": None, "dpud_bytes_per_conn": None}
    status = {}

    # ---- the table code: dse-ct-bench
    ct = find_ct_bench(args)
    if not os.access(ct, os.X_OK):
        status["ct_bench"] = "not built (%s missing)" % ct
        print("conn_memory ct_bench: %s" % status["ct_bench"])
    else:
        prefix = h.prefix("ct-bench")
        argv = [ct, "-n", str(n), "--", "--no-huge", "-m", "4096",
                "--no-pci", "--no-shconf", "--no-telemetry", "-l",
                str(FWD_CPU), "--file-prefix", prefix, "--log-level=error"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=300)
            out, rc = r.stdout, r.returncode
        except subprocess.TimeoutExpired:
            out, rc = "", "timeout"
        h.remove_prefix(prefix)
        m = re.search(r"memory\s+([\d.]+) bytes/connection at (\d+)", out)
        if rc != 0 or not m:
            status["ct_bench"] = "failed (%s)" % rc
            ctx["failures"].append(("dse-ct-bench", "conn_memory",
                                    "exit status %s" % rc,
                                    (out + (r.stderr if rc != "timeout"
                                            else ""))[-2000:]))
            print("conn_memory ct_bench FAILED (%s)" % rc)
        else:
            entry["ct_bench_bytes_per_conn"] = float(m.group(1))
            entry["ct_bench"] = {
                "command": " ".join([os.path.relpath(ct)] + argv[1:3]),
                "seconds": round(time.monotonic() - t0, 1),
                "output": out.strip().splitlines()}
            print("conn_memory ct_bench  %s" % m.group(0))
            for line in out.strip().splitlines():
                print("            | %s" % line)
    sys.stdout.flush()

    # ---- the daemon: dse-dpud filled with a million UDP flows
    dse = ctx["dse"]
    if "dse" not in [d.strip() for d in args.datapaths.split(",")]:
        status["dpud"] = "not selected"
    elif not dse.available()[0]:
        status["dpud"] = dse.available()[1]
    elif dse.has_methods(("fw.policy.set", "fw.rule.add", "fw.stats.show")):
        status["dpud"] = "dse-dpud has no %s yet" % ", ".join(
            dse.has_methods(("fw.policy.set", "fw.rule.add", "fw.stats.show")))
    else:
        try:
            entry["dpud"] = fill_dpud(h, dse, n)
            d = entry["dpud"]
            if d.get("bytes_per_conn") is not None:
                entry["dpud_bytes_per_conn"] = d["bytes_per_conn"]
            else:
                status["dpud"] = d.get("status", "no memory_bytes")
        except DatapathError as e:
            status["dpud"] = "failed"
            ctx["failures"].append(("dse", "conn_memory", str(e),
                                    log_tail(e.log) if e.log else ""))
            print("conn_memory dse-dpud FAILED: %s" % e)
        finally:
            dse.stop()
    if "dpud" in status:
        print("conn_memory dse-dpud: %s" % status["dpud"])
    if status:
        entry["status"] = status
    entry["method"] = ("dse-ct-bench -n %d (DPDK heap bytes of the table"
                       " after %d handshakes / connections); dse-dpud:"
                       " fw.stats memory_bytes / conns after a pcap of %d"
                       " distinct UDP flows read once" % (n, n, n))
    return entry


def fill_dpud(h, dse, n):
    """Start dse-dpud with a table of 'n' connections, read fw.stats
    (empty), add a port reading a pcap of 'n' distinct UDP flows once, wait
    until the table stops growing, read fw.stats again."""
    g = import_gen_pcap()
    wdir = os.path.join(h.tmp, "conn_memory")
    os.makedirs(wdir, exist_ok=True)
    t0 = time.monotonic()
    pcap = g.generate("conn_fill", wdir)
    print("conn_memory dse-dpud  pcap of %d UDP flows written in %.1f s"
          % (n, time.monotonic() - t0))
    wl = WORKLOADS["conn_memory"]
    calls = fw_dse_config(None, in_port=False, proto="udp",
                          dport=g.UDP_FILL_PORT)
    # The flows are never answered, so each stays half-open: let the one
    # segment hold them all (by default a segment holds half the table's).
    calls.append({"method": "fw.config.set",
                  "params": {"max_half_open_per_segment": n}})
    dse.start(wl, None, 0, config=calls,
              args=["--conn-table", str(n)], mem="2048")
    empty = dse.call("fw.stats.show")
    if not isinstance(empty, dict) or "memory_bytes" not in empty:
        return {"status": "fw.stats has no memory_bytes", "stats": empty}
    dse.call("port.add", {"name": "in", "devargs": "%s,rx_pcap=%s"
                          % (IN_VDEV, pcap), "mode": "access",
                          "segment": "s1"}, timeout=30)
    t0 = time.monotonic()
    last, last_change, st = -1, t0, empty
    while time.monotonic() - t0 < 90:
        time.sleep(0.5)
        if not dse.running():
            raise DatapathError("exited while filling its table", dse.log())
        st = dse.call("fw.stats.show")
        if st.get("conns", 0) != last:
            last, last_change = st.get("conns", 0), time.monotonic()
        elif time.monotonic() - last_change > 2.0 or last >= n:
            break
    conns = st.get("conns", 0)
    res = {"stats_empty": empty, "stats_full": st,
           "memory_bytes": st.get("memory_bytes"), "conns": conns,
           "max_conns": st.get("max_conns"),
           "fill_seconds": round(last_change - t0, 1)}
    if conns > 0 and isinstance(st.get("memory_bytes"), (int, float)):
        res["bytes_per_conn"] = round(st["memory_bytes"] / conns, 1)
    if st.get("max_conns"):
        res["bytes_per_slot"] = round(st["memory_bytes"] / st["max_conns"], 1)
    print("conn_memory dse-dpud  %d connections in the table (%s created,"
          " %s full), memory_bytes %s (empty: %s): %s bytes/connection"
          % (conns, st.get("created"), st.get("full"), st.get("memory_bytes"),
             empty.get("memory_bytes"), res.get("bytes_per_conn", "-")))
    if conns < n:
        res["status"] = "only %d of %d connections tracked" % (conns, n)
    return res


# ---- many rules (fw_rules)

FW_RULES_N = 10000       # rules installed
FW_RULES_ALLOW_AT = 7000  # the workload's allow rule is this one of them


def fw_rules_many(allow, first_id=1):
    """FW_RULES_N rules as a DFW policy looks: host destinations and service
    ports, half drop and half allow, priorities mixed; rule FW_RULES_ALLOW_AT
    is the workload's own allow rule 'allow' (fw.rule.add params) with a
    priority in the middle, so the traffic's rule is neither first nor last
    in evaluation order.  The others name destinations outside the
    workload's servers (198.19.0.0/16): only the allow rule matches it.
    Their ids start at 'first_id'."""
    rules = []
    for i in range(1, FW_RULES_N + 1):
        if i == FW_RULES_ALLOW_AT:
            r = dict(allow, id=i, priority=500)
        else:
            r = {"id": i, "priority": (i * 7919) % 1000, "proto": "tcp",
                 "dst": "198.18.%d.%d/32" % (i // 256 % 256, i % 256),
                 "dport": 1 + i % 60000,
                 "action": "drop" if i % 2 else "allow"}
            if i % 3 == 0:
                r["src"] = "198.18.%d.0/24" % (i % 256)
        r["id"] = first_id - 1 + i
        rules.append(r)
    return rules


def with_many_rules(calls):
    """dse-dpud's config 'calls' with its fw.rule.add replaced by one
    fw.rules.apply of fw_rules_many() around it."""
    out = []
    for c in calls:
        if c["method"] == "fw.rule.add":
            c = {"method": "fw.rule.apply",
                 "params": {"rules": fw_rules_many(c["params"])}}
        out.append(c)
    return out


def fw_rules_variant(base):
    """Workload 'base' (fw_est or conn_setup) on dse only, with the rules of
    with_many_rules()."""
    wl = copy.copy(base)
    wl.name = base.name + "_10k"
    orig = base.dse_config
    wl.dse_config = lambda pcaps: with_many_rules(orig(pcaps))
    return wl


def fw_rules_churn(dse, sock, port, rules, seconds):
    """The cost of a rule change to forwarding: with 'rules' in force and
    fw_est's traffic flowing, the output rate over a window without changes
    and over one with a one-rule change set every 0.25 s (each compiles the
    whole set and makes every connection be judged again on its next
    packet, and every cached decision be made again)."""
    def rate(change):
        st0 = dpdk_telemetry.port_stats(sock, port)
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < seconds:
            if change:
                flip = dict(rules[0], action="allow" if n % 2 == 0 else
                            rules[0]["action"])
                dse.call("fw.rule.apply", {"rules": [flip]}, timeout=60)
                n += 1
            time.sleep(0.25)
        st1 = dpdk_telemetry.port_stats(sock, port)
        return (st1["opackets"] - st0["opackets"]) / (time.monotonic() - t0) / 1e6, n

    dse.call("fw.rule.apply", {"rules": rules}, timeout=60)
    steady, _ = rate(False)
    churned, changes = rate(True)
    out = {"steady_mpps": round(steady, 3), "changing_mpps": round(churned, 3),
           "changes": changes, "ratio": round(churned / steady, 3) if steady else None}
    print("fw_rules   fw_est with %d rules: %.2f Mpps steady, %.2f Mpps with a"
          " change set every 0.25 s (%d changes, each a full re-judge): %.2f"
          % (len(rules), steady, churned, changes, out["ratio"] or 0))
    return out


def measure_fw_rules(h, args, ctx):
    """fw_est and conn_setup through dse-dpud with FW_RULES_N rules against
    the same with the workload's one rule (interleaved runs, medians), and
    the time to push and compile FW_RULES_N rules in one fw.rules.apply
    call while dse-dpud forwards fw_est's traffic (and to delete them)."""
    dse = ctx["dse"]
    entry = {"rules": FW_RULES_N, "allow_rule_at": FW_RULES_ALLOW_AT,
             "unit": "ratio", "machine": ctx["machine"],
             "software": ctx["software"], "date": ctx["date"], "samples": {}}
    status = {}
    if "dse" not in [d.strip() for d in args.datapaths.split(",")]:
        entry["status"] = {"dse": "not selected"}
        return entry
    ok, why = dse.available()
    missing = dse.has_methods(("fw.rule.apply",))
    if not ok or missing:
        why = why or "dse-dpud has no %s yet" % ", ".join(missing)
        print("fw_rules   dse: %s" % why)
        entry["status"] = {"dse": why}
        return entry
    for name in ("fw_est", "conn_setup"):
        base = WORKLOADS[name]
        many = fw_rules_variant(base)
        wdir = os.path.join(h.tmp, "fw_rules_" + name)
        os.mkdir(wdir)
        pcaps = base.pcaps(wdir)
        samples = {"1": [], "10k": []}
        for run in range(args.runs):
            order = [("1", base), ("10k", many)]
            if run % 2:
                order.reverse()
            for key, wl in order:
                try:
                    r = measure(dse, wl, pcaps, run, args.warmup, args.seconds)
                except DatapathError as e:
                    status[name] = "failed"
                    ctx["failures"].append(("dse", "fw_rules " + wl.name, str(e),
                                            log_tail(e.log) if e.log else ""))
                    print("fw_rules   %s run %d FAILED: %s" % (wl.name, run + 1, e))
                    break
                rate = r["mpps"] / (base.pkts_per_conn or 1)
                samples[key].append(round(rate, 3))
                note = pinning_note(r["busy"], r["foreign"])
                print("fw_rules   %-13s run %d %s rule%s %7.3f %s%s"
                      % (name, run + 1, key, "" if key == "1" else "s", rate,
                         base.unit, "  WARNING: " + note if note else ""))
                sys.stdout.flush()
            if name in status:
                break
        entry["samples"][name] = samples
        if samples["1"] and samples["10k"] and name not in status:
            one = statistics.median(samples["1"])
            ten = statistics.median(samples["10k"])
            entry[name + "_1_rule"] = one
            entry[name + "_10k_rules"] = ten
            entry[name + "_ratio"] = round(ten / one, 3)
            print("fw_rules   %-13s 10k rules %.3f vs 1 rule %.3f %s: %.2f"
                  % (name, ten, one, base.unit, ten / one))

    # ---- pushing and compiling 10k rules over the RPC, under fw_est's traffic
    wl = WORKLOADS["fw_est"]
    os.mkdir(os.path.join(h.tmp, "fw_rules_push"))
    pcaps = wl.pcaps(os.path.join(h.tmp, "fw_rules_push"))
    # Beside the workload's rule 1, so deleting them leaves the traffic allowed.
    rules = fw_rules_many(fw_dse_config(pcaps)[2]["params"], first_id=100001)
    try:
        sock, port, _ = dse.start(wl, pcaps, 0)
        pushes = []
        for run in range(args.runs):
            t0 = time.monotonic()
            r = dse.call("fw.rule.apply", {"rules": rules}, timeout=60)
            t1 = time.monotonic()
            dse.call("fw.rule.apply",
                     {"delete": [x["id"] for x in rules]}, timeout=60)
            t2 = time.monotonic()
            pushes.append({"push_s": round(t1 - t0, 3),
                           "compile_ms": round(r["compile_ms"], 1),
                           "delete_s": round(t2 - t1, 3)})
            print("fw_rules   push %d rules: %.3f s (compile %.1f ms), delete"
                  " them: %.3f s" % (FW_RULES_N, t1 - t0, r["compile_ms"],
                                     t2 - t1))
            sys.stdout.flush()
        entry["push"] = pushes
        entry["push_s"] = statistics.median(x["push_s"] for x in pushes)
        entry["compile_ms"] = statistics.median(x["compile_ms"] for x in pushes)
        entry["delete_s"] = statistics.median(x["delete_s"] for x in pushes)
        entry["churn"] = fw_rules_churn(dse, sock, port, rules, args.seconds)
    except (DatapathError, OSError, ValueError, RpcError) as e:
        status["push"] = "failed"
        ctx["failures"].append(("dse", "fw_rules push", str(e),
                                log_tail(e.log) if getattr(e, "log", None) else ""))
        print("fw_rules   push FAILED: %s" % e)
    finally:
        dse.stop()
    entry["table_value"] = entry.get("fw_est_ratio")
    entry["method"] = ("dse-dpud with %d rules (the workload's allow rule"
                       " number %d, priority in the middle) against the same"
                       " workload with its one rule, runs interleaved,"
                       " medians; push: one fw.rules.apply of the %d rules"
                       " over the Unix socket while fw_est's traffic flows,"
                       " timed by the caller (compile_ms: dse-dpud's own"
                       " compile time)" % (FW_RULES_N, FW_RULES_ALLOW_AT,
                                           FW_RULES_N))
    if status:
        entry["status"] = status
    return entry


# ---- l2 under MAC moves


L2_CHURN_SHARE = 0.01   # of the destination MACs moved each second
L2_CHURN_TOLERANCE = 0.25  # a second's share on the new port may be off by


def l2_churn_dse_config(pcaps):
    """The l2 configuration with a second sink, "out2", in the segment."""
    calls = l2_dse_config(pcaps)
    at = max(i for i, c in enumerate(calls) if c["method"] == "port.add")
    calls.insert(at + 1, {"method": "port.add", "params": {
        "name": "out2", "devargs": "%s,no-rx=1" % OUT2_VDEV,
        "mode": "access", "segment": "s1"}})
    return calls


def l2_churn_run(h, dse, wl, pcaps, run, churn, args, movers):
    """One run of dse-dpud on the l2_churn configuration: warm up, then a
    window of whole seconds.  With 'churn', at the start of each second the
    next group of 'movers' is re-pointed to out2 and the previous group back
    to out (fdb.add; each call returns once the worker applied it), and the
    share of the traffic that out2 sent over the second is compared with the
    group's share of the pcap.  Returns the total rate (out + out2), the
    per-second shares, and the flow cache misses per second."""
    calls = l2_churn_dse_config(pcaps)
    try:
        sock, out, pid = dse.start(wl, pcaps, run, config=calls)
        out2 = dpdk_telemetry.port_by_name(sock, OUT2_VDEV)
        if out2 is None:
            raise DatapathError("no %s in telemetry" % OUT2_VDEV, dse.log())

        def sample():
            a = dpdk_telemetry.port_stats(sock, out)["opackets"]
            b = dpdk_telemetry.port_stats(sock, out2)["opackets"]
            return a, b, time.monotonic()

        def point(group, port):
            for mac in group:
                dse.call("fdb.add", {"segment": "s1", "mac": mac,
                                     "port": port})

        time.sleep(args.warmup)
        if not dse.running():
            raise DatapathError("exited during warm-up", dse.log())
        n_s = max(2, int(round(args.seconds)))
        cpu0, all0 = thread_cpu_times(pid), process_cpu_times()
        fc0 = dse.call("flow.show")
        samples, shares, prev = [sample()], [], None
        t_start = samples[0][2]
        for i in range(n_s):
            group = movers[i % len(movers)]
            if churn:
                point(group, "out2")
                if prev is not None:
                    point(prev, "out")
                prev = group
            # Sleep to the next whole second of the window, then count.
            time.sleep(max(0.0, t_start + i + 1 - time.monotonic()))
            samples.append(sample())
            a0, b0, _ = samples[-2]
            a1, b1, _ = samples[-1]
            total = (a1 - a0) + (b1 - b0)
            shares.append((b1 - b0) / total if total else None)
        fc1 = dse.call("flow.show")
        cpu1, all1 = thread_cpu_times(pid), process_cpu_times()
        (a0, b0, t0), (a1, b1, t1) = samples[0], samples[-1]
        dt = t1 - t0
        if (a1 - a0) + (b1 - b0) <= 0:
            raise DatapathError("forwarded nothing in %.1f s" % dt, dse.log())
        own = {p.pid for p in h.procs}
        return {"mpps": ((a1 - a0) + (b1 - b0)) / dt / 1e6,
                "shares": shares,
                "flow_misses_per_s": (fc1["misses"] - fc0["misses"]) / dt,
                "flow_hits_per_s": (fc1["hits"] - fc0["hits"]) / dt,
                "busy": busy_threads(cpu0, cpu1, dt),
                "foreign": foreign_load(all0, all1, dt, own)}
    finally:
        dse.stop()


def measure_l2_churn(h, args, ctx):
    """dse-dpud on the l2 traffic with two sinks, 'static' (the destination
    MACs stay on out) and 'churn' (each second 1% of them, at least one,
    move to out2 and the previous ones move back), interleaved args.runs
    times.  Targets: the median churn rate >= 90% of the median static
    rate, and in every second of every churn run out2 sent the moved
    group's share of the traffic (within 25%), so the moved MACs' packets
    left by their new port within that second and the ones moved back did
    not."""
    wl = WORKLOADS["l2_churn"]
    dse = ctx["dse"]
    entry = {"unit": "Mpps", "machine": ctx["machine"],
             "software": ctx["software"], "date": ctx["date"],
             "dse_mpps": None, "dse_static_mpps": None, "dse_vs_static": None,
             "moved_seconds_ok": None}
    why = None
    if "dse" not in [d.strip() for d in args.datapaths.split(",")]:
        why = "not selected"
    elif not dse.available()[0]:
        why = dse.available()[1]
    elif dse.has_methods(wl.dse_needs):
        why = "dse-dpud has no %s yet" % ", ".join(dse.has_methods(wl.dse_needs))
    if why:
        print("%-10s dse: %s" % (wl.name, why))
        entry["status"] = {"dse": why}
        return entry
    wdir = os.path.join(h.tmp, wl.name)
    os.mkdir(wdir)
    pcaps = pcaps_of("l2")(wdir)
    macs = l2_dst_macs()
    per = max(1, int(round(L2_CHURN_SHARE * len(macs))))
    movers = [macs[i:i + per] for i in range(0, len(macs) - per + 1, per)]
    # Each destination MAC has the same number of flows in the l2 pcap.
    expect = per / len(macs)
    runs = {"dse_static": [], "dse_churn": []}
    misses = {"dse_static": [], "dse_churn": []}
    checked, bad, notes = 0, [], []
    for run in range(args.runs):
        order = (False, True) if run % 2 == 0 else (True, False)
        for churn in order:
            key = "dse_churn" if churn else "dse_static"
            try:
                r = l2_churn_run(h, dse, wl, pcaps, 2 * run + int(churn), churn,
                                 args, movers)
            except (DatapathError, OSError, ValueError, RpcError) as e:
                ctx["failures"].append(("dse", wl.name, str(e),
                                        log_tail(e.log) if getattr(
                                            e, "log", None) else ""))
                print("%-10s run %d %-10s FAILED: %s"
                      % (wl.name, run + 1, key, e))
                entry["status"] = {"dse": "failed"}
                return entry
            runs[key].append(round(r["mpps"], 3))
            misses[key].append(r["flow_misses_per_s"])
            note = pinning_note(r["busy"], r["foreign"])
            if note:
                notes.append("%s run %d: %s" % (key, run + 1, note))
            if churn:
                for i, sh in enumerate(r["shares"]):
                    checked += 1
                    if sh is None or abs(sh / expect - 1) > L2_CHURN_TOLERANCE:
                        bad.append("run %d second %d: out2 sent %s of the"
                                   " traffic, %.4f expected"
                                   % (run + 1, i + 1, fmt(sh, "%.4f"), expect))
                shown = ", ".join(fmt(x, "%.4f") for x in r["shares"])
            else:
                if any(sh for sh in r["shares"]):
                    bad.append("static run %d: out2 sent traffic" % (run + 1))
                shown = "-"
            print("%-10s run %d %-10s %7.2f Mpps, flow misses %.0f/s,"
                  " out2 share per second: %s%s"
                  % (wl.name, run + 1, key, r["mpps"], r["flow_misses_per_s"],
                     shown, "  WARNING: " + note if note else ""))
            sys.stdout.flush()
    med_s = statistics.median(runs["dse_static"])
    med_c = statistics.median(runs["dse_churn"])
    entry.update({
        "dse_mpps": round(med_c, 3), "dse_static_mpps": round(med_s, 3),
        "dse_vs_static": round(med_c / med_s, 3) if med_s else None,
        "moved_seconds_ok": round((checked - len(bad)) / checked, 3)
        if checked else None,
        "moved_per_second": per, "destination_macs": len(macs),
        "expected_out2_share": expect,
        "flow_misses_per_s": {k: round(statistics.median(v))
                              for k, v in misses.items() if v},
        "runs": runs,
        "method": "TX packets of %s + %s via DPDK telemetry /ethdev/stats,"
                  " %g s warm-up, whole-second windows; moves by fdb.add"
                  " (re-pointing a static entry)" % (OUT_VDEV, OUT2_VDEV,
                                                      args.warmup)})
    if bad:
        entry["moves_late"] = bad
        for b in bad:
            print("%-10s %s" % (wl.name, b))
    if notes:
        entry["warnings"] = notes
    return entry


# ---- output


def print_results(results):
    """The table of all workloads, then each workload's samples and
    targets.  Returns whether a target was missed."""
    print()
    hdr = ("workload", "unit", "dse", "OVS-DPDK", "testpmd", "dse/OVS",
           "dse/testpmd")
    line = "%-11s %-7s %10s %10s %10s %8s %12s"
    print(line % hdr)
    for name, (wl, e) in results.items():
        st = e.get("status", {})
        if wl.measure is not None and "dse_static_mpps" in e:   # l2_churn
            print(line % (name, wl.unit, fmt(e.get("dse_mpps")), "-", "-",
                          "-", "-"))
            continue
        if wl.measure is not None and "dse_2w_mpps" in e:   # l2_2w, fw_est_2w
            print(line % (name, wl.unit, fmt(e["dse_2w_mpps"], "%.2f"),
                          "1w: " + fmt(e["dse_1w_mpps"], "%.2f"), "-",
                          fmt(e["dse_2w_vs_1w"], "%.2fx"), "-"))
            continue
        if wl.name == "events":
            print(line % (name, wl.unit, fmt(e.get("with_mconn_per_s"), "%.3f"),
                          "-", "-", "-", "-"))
            continue
        if wl.measure is not None:   # conn_memory, fw_rules
            v = e.get("table_value", e.get("dpud_bytes_per_conn"))
            if v is None:
                v = e.get("ct_bench_bytes_per_conn")
            print(line % (name, wl.unit,
                          fmt(v, "%.2f" if wl.unit == "ratio" else "%.1f"),
                          "-", "-", "-", "-"))
            continue
        div = wl.pkts_per_conn or 1
        cells = []
        for k in ("dse", "ovs_dpdk", "testpmd"):
            v = e[k + "_mpps"]
            why = st.get(k, "")
            if v is not None:
                cells.append(fmt(v / div, "%.3f" if div > 1 else "%.2f"))
            elif why.startswith("not built"):
                cells.append("not built")
            elif why == "failed":
                cells.append("failed")
            elif why == "not part of this workload":
                cells.append("-")
            elif why:
                cells.append("n/a")
            else:
                cells.append("-")
        print(line % (name, wl.unit, cells[0], cells[1], cells[2],
                      fmt(e["dse_vs_ovs"], "%.2fx"),
                      fmt(e["dse_vs_testpmd"], "%.2fx")))
    print()
    missed = False
    for name, (wl, e) in results.items():
        print("%s: %s" % (name, wl.title))
        if wl.name == "events" and e.get("runs"):
            print("  samples (Mconn/s): " + "; ".join(
                "%s consumer %s" % (k, ", ".join("%.3f" % x for x in v))
                for k, v in e["runs"].items()))
        elif e.get("runs"):
            print("  samples (Mpps): " + "; ".join(
                "%s %s" % (k, ", ".join("%.2f" % x for x in v) or "-")
                for k, v in e["runs"].items()))
        for k, v in e.get("samples", {}).items():   # fw_rules
            print("  %s samples: %s" % (k, "; ".join(
                "%s rule(s) %s" % (n, ", ".join("%.3f" % x for x in xs) or "-")
                for n, xs in v.items())))
        if e.get("push_s") is not None:
            print("  push and compile %d rules over the RPC: %.3f s (compile"
                  " %.1f ms); delete them: %.3f s (medians)"
                  % (e["rules"], e["push_s"], e["compile_ms"], e["delete_s"]))
        if e.get("churn"):
            c = e["churn"]
            print("  fw_est with %d rules, a change set every 0.25 s: %.2f"
                  " Mpps against %.2f steady (%s)"
                  % (e["rules"], c["changing_mpps"], c["steady_mpps"],
                     fmt(c["ratio"], "%.2f")))
        for k, why in e.get("status", {}).items():
            if why != "not part of this workload":
                print("  %s: %s" % (k, why))
        if e.get("stats_per_s"):
            for k, v in e["stats_per_s"].items():
                print("  %s %s over the window (median, per s): %s"
                      % (k, "fw.stats.show" if k == "dse" else "datapath flows",
                         ", ".join("%s %d" % kv for kv in v.items())))
        if e.get("out_frame_bytes"):
            print("  bytes per frame sent: %s" % ", ".join(
                "%s %.1f" % kv for kv in e["out_frame_bytes"].items()))
        if e.get("warnings"):
            print("  %d run(s) had warnings (above): a low sample may be"
                  " another process's doing, not the datapath's"
                  % len(e["warnings"]))
        via = e.pop("_stats_via", None)
        if via and via != "telemetry":
            print("  NOTE: OVS-DPDK counted through %s statistics (its"
                  " telemetry socket was not usable)" % via)
        for key, text, op, bound in wl.targets:
            v = e.get(key)
            if v is None:
                shown = ""
            elif key.startswith("dse_vs") or key == "dse_2w_vs_1w":
                shown = "%.2fx" % v
            elif key in ("with_vs_without", "accounted"):
                shown = "%.1f%%" % (100 * v)
            elif key.endswith("_ratio"):
                shown = "%.0f%%" % (v * 100)
            elif v >= 1e5:
                shown = "%.3fM" % (v / 1e6)
            else:
                shown = "%.1f" % v
            if v is None:
                verdict = "n/a (no result)"
            elif check_op(v, op, bound):
                verdict = "PASS (%s)" % shown
            else:
                verdict = "FAIL (%s)" % shown
                missed = True
            print("  target %-32s %s" % (text + ":", verdict))
    return missed


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
    ap.add_argument("--ct-bench", default=None,
                    help="path of dse-ct-bench (default: next to dse-dpud's"
                    " build, tests/unit/dse-ct-bench)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp directory (logs) for debugging")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0 or args.warmup < 0:
        ap.error("--runs >= 1, --seconds > 0 and --warmup >= 0 please")
    workloads = [WORKLOADS[w] for w in (args.workload or list(WORKLOADS))]
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

        ctx = {"machine": machine, "software": software, "date": date,
               "mhz": mhz, "dse": all_dps["dse"], "failures": failures}
        results = {}
        for wl in workloads:
            if wl.measure is not None:
                entry = wl.measure(h, args, ctx)
            else:
                entry = run_rate_workload(h, wl, dps, active, unavailable,
                                          args, ctx)
            entry["targets"] = {}
            for key, text, op, bound in wl.targets:
                v = entry.get(key)
                entry["targets"][key] = {
                    op_name(op): bound,
                    "pass": None if v is None else check_op(v, op, bound)}
            results[wl.name] = (wl, entry)

        missed = print_results(results)
        if not args.no_save and results:
            merge_results({n: e for n, (_, e) in results.items()})
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
