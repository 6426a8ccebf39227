# SPDX-License-Identifier: BSD-3-Clause
"""The Geneve overlay between two hosts of the real lab: one overlay segment
(VNI 5001) joins h1-vm1 and h2-vm1 across the fabric.  The DPUs are
configured on dse-dpud's own socket (the lab runs without dse-hostd here).

Checked: ping and iperf3 across the overlay, remote MAC learning, flooding
by head-end replication, Geneve on the wire field by field (captured on the
fabric), the MTU (an oversize frame is dropped and counted, never cut),
malformed Geneve (each counted under its reason), and that a TCP stream
between the hosts loses next to nothing in the kernel in front of the
DPUs' ports, and what it loses shows in their counters."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lab import Capture, Netns, has_marker, l2_frame, dpud_workers

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from dse_rpc import rpc_call  # noqa: E402  (the schema's client, scripts/dse_api.py)

ROOT = Path(__file__).resolve().parents[2]
NS_RE = re.compile(r"^dse-(fabric|h[0-9]+(-.*)?)$")
VNI = 5001
TEP = {1: "198.19.1.1", 2: "198.19.2.1"}
VM_IP = {1: "198.18.1.1", 2: "198.18.2.1"}
VM_MAC = {1: "02:00:00:00:01:01", 2: "02:00:00:00:02:01"}


def build_dir():
    build = Path(os.environ.get("DSE_BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


LAB = build_dir() / "src" / "lab" / "dse-lab"


def run(cmd, timeout=60, input=None):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, input=input)


class Overlay:
    def __init__(self, state):
        self.state = Path(state)

    def exec(self, machine, *cmd, timeout=60):
        return run([LAB, "exec", "--state", self.state, machine, "--"] + list(cmd),
                   timeout=timeout)

    def call(self, dpu, method, **params):
        """Calls dse-dpud of 'dpu' on its Unix socket; raises RpcError on an error."""
        return rpc_call(str(self.state / dpu / "run" / "dpud.sock"), method, params, timeout=10)

    def drops(self, dpu):
        return self.call(dpu, "stats.show")["drops"]


@pytest.fixture(scope="module")
def ov():
    if os.geteuid() != 0:
        pytest.fail("the overlay tests need root (network namespaces)")
    if not LAB.exists():
        pytest.fail("%s is missing: run 'make build'" % LAB)
    up = [line.split()[0] for line in run(["ip", "netns", "list"]).stdout.splitlines()
          if line.strip() and NS_RE.match(line.split()[0])]
    if up:
        pytest.fail("a lab is already up on this machine (%s): 'dse-lab down' it first" % up)
    tmp = tempfile.mkdtemp(prefix="dse-overlay-")
    o = Overlay(Path(tmp) / "lab")
    try:
        p = run([LAB, "up", "--state", o.state, "--hosts", "2", "--dpus", "1,1", "--vms", "1,1",
                 "--no-hostd", "--workers", str(dpud_workers())], timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        for h in (1, 2):
            d = "h%d-d1" % h
            o.call(d, "segment.add", name="ov", vni=VNI, peers=[TEP[3 - h]])
            o.call(d, "port.add", name="vm1", devargs="net_af_packet0,iface=rep-vm1",
                   segment="ov")
            o.call(d, "port.add", name="vmnic0", devargs="net_af_packet1,iface=vmnic0",
                   mode="trunk", segments=[], uplink=True)
            o.call(d, "tep.set", ip=TEP[h], uplink="vmnic0")
            # The lab lowers the MTU of overlay VMs by the encapsulation's 50 bytes.
            assert o.exec("h%d-vm1" % h, "ip", "link", "set", "eth0", "mtu", "1450").returncode == 0
        yield o
    finally:
        run([LAB, "down", "--state", o.state, "--purge"], timeout=120)
        subprocess.run(["rm", "-rf", tmp])


def test_overlay_vms_on_two_hosts_ping_and_learn_each_other(ov):
    """Steps: h1-vm1 pings h2-vm1 (first the ARP request floods to the peer
    TEP, then unicast).
    Verify: 3 of 3 replies; each DPU resolved the other's TEP MAC (tep.show);
    h1-d1's FDB has h2-vm1's MAC behind the peer TEP's virtual port and
    h2-d1's has h1-vm1's."""
    p = ov.exec("h1-vm1", "ping", "-c", "3", "-i", "0.2", "-W", "2", VM_IP[2])
    assert " 3 received" in p.stdout, p.stdout + p.stderr
    for h in (1, 2):
        tep = ov.call("h%d-d1" % h, "tep.show")
        assert tep["ip"] == TEP[h] and [(x["ip"], x["mac"] is not None) for x in tep["peers"]] \
            == [(TEP[3 - h], True)], tep
        fdb = {(e["mac"], e["port"]) for e in ov.call("h%d-d1" % h, "fdb.list", segment="ov")}
        assert (VM_MAC[3 - h], "tep-" + TEP[3 - h]) in fdb, fdb
        assert (VM_MAC[h], "vm1") in fdb, fdb


def test_geneve_on_the_wire_is_right_field_by_field(ov):
    """Steps: capture on the fabric end of h1-d1's uplink; h1-vm1 sends a UDP
    datagram to h2-vm1 (both learned).
    Verify: one outer frame: Ethernet from h1-d1's uplink MAC to h2-d1's;
    IPv4 198.19.1.1 -> 198.19.2.1, header checksum right, DF set, TTL 64,
    UDP to 6081 from a port in 49152..65535 with the right length and
    checksum 0; Geneve version 0, no options, O and C clear, protocol
    0x6558, VNI 5001; and the inner frame is exactly what the VM sent."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    ov.exec("h1-vm1", "ping", "-c", "1", "-W", "2", VM_IP[2])
    cap = Capture(Netns("dse-fabric"), "h1-vmnic0")
    inner = bytes(Ether(src=VM_MAC[1], dst=VM_MAC[2]) / IP(src=VM_IP[1], dst=VM_IP[2], ttl=9) /
                  UDP(sport=7777, dport=7778) / b"geneve-wire-check")
    p = run(["ip", "netns", "exec", "dse-h1-vm1", "/usr/bin/python3",
             ROOT / "tests/system/pkt.py", "send", "eth0"], input=inner.hex() + "\n")
    assert '"ok": true' in p.stdout, p
    frames = cap.wait_matching("geneve-wire-check", 1)
    cap.stop()
    assert len(frames) == 1, frames
    f = frames[0]
    outer = Ether(f)
    h1, h2 = ov.call("h1-d1", "tep.show"), ov.call("h2-d1", "tep.show")
    assert outer.src == h1["mac"].lower() and outer.dst == h2["mac"].lower()
    ip = outer[IP]
    assert (ip.src, ip.dst, ip.ttl, ip.proto) == (TEP[1], TEP[2], 64, 17)
    assert ip.flags.DF and ip.frag == 0 and ip.ihl == 5
    raw_ip = f[14:34]
    total = sum(int.from_bytes(raw_ip[i:i + 2], "big") for i in range(0, 20, 2))
    assert (total & 0xffff) + (total >> 16) == 0xffff, "outer IPv4 checksum wrong"
    udp = outer[UDP]
    assert udp.dport == 6081 and 49152 <= udp.sport <= 65535 and udp.chksum == 0
    assert udp.len == len(f) - 14 - 20 == 8 + 8 + len(inner)
    gen = f[42:50]
    assert gen[0] >> 6 == 0 and gen[0] & 0x3f == 0, "version or option length"
    assert gen[1] & 0xc0 == 0, "O or C bit set"
    assert int.from_bytes(gen[2:4], "big") == 0x6558
    assert int.from_bytes(gen[4:7], "big") == VNI and gen[7] == 0
    assert f[50:] == inner


def test_a_broadcast_is_replicated_to_the_peer_tep_and_delivered(ov):
    """Steps: h1-vm1 sends a broadcast frame.
    Verify: it reaches h2-vm1 unchanged (head-end replication to the one
    peer TEP), and exactly one Geneve copy crossed h1-d1's uplink."""
    cap_vm = Capture(Netns("dse-h2-vm1"), "eth0")
    cap_wire = Capture(Netns("dse-fabric"), "h1-vmnic0")
    frame = l2_frame(VM_MAC[1], "ff:ff:ff:ff:ff:ff", "overlay-bcast")
    p = run(["ip", "netns", "exec", "dse-h1-vm1", "/usr/bin/python3",
             ROOT / "tests/system/pkt.py", "send", "eth0"], input=frame.hex() + "\n")
    assert '"ok": true' in p.stdout, p
    got = cap_vm.wait_matching("overlay-bcast", 1)
    assert got == [frame]
    wire = [x for x in cap_wire.stop() if has_marker(x, "overlay-bcast")]
    assert len(wire) == 1 and wire[0][50:] == frame
    cap_vm.stop()


def test_oversize_frames_are_dropped_and_counted_never_cut(ov):
    """Steps: give h1-vm1 MTU 1500 for the test; it sends frames of 1464
    bytes (the most that fits a 1500-byte underlay: 1464 + 36 = 1500) and
    1465 bytes to h2-vm1.
    Verify: the 1464-byte frame arrives whole; the 1465-byte frame never
    arrives, not even cut, and h1-d1 counts it as overlay_oversize."""
    assert ov.exec("h1-vm1", "ip", "link", "set", "eth0", "mtu", "1500").returncode == 0
    try:
        before = ov.drops("h1-d1")["overlay_oversize"]
        cap = Capture(Netns("dse-h2-vm1"), "eth0")
        frames = [l2_frame(VM_MAC[1], VM_MAC[2], "fits", size=1464),
                  l2_frame(VM_MAC[1], VM_MAC[2], "toolarge", size=1465)]
        p = run(["ip", "netns", "exec", "dse-h1-vm1", "/usr/bin/python3",
                 ROOT / "tests/system/pkt.py", "send", "eth0"],
                input="".join(f.hex() + "\n" for f in frames))
        assert p.stdout.count('"ok": true') == 2, p
        assert cap.wait_matching("fits", 1) == [frames[0]]
        got = cap.stop()
        assert not [f for f in got if has_marker(f, "toolarge")]
        assert ov.drops("h1-d1")["overlay_oversize"] == before + 1
    finally:
        ov.exec("h1-vm1", "ip", "link", "set", "eth0", "mtu", "1450")


def geneve(vni=VNI, version=0, optlen=0, opts=b"", proto=0x6558, src=TEP[2], inner=None,
           crit=False, udp_len=None):
    """A Geneve frame from h2-d1's TEP to h1-d1's, built byte by byte."""
    import struct
    inner = inner if inner is not None else l2_frame(VM_MAC[2], VM_MAC[1], "malformed-probe")
    gen = bytes([(version << 6) | optlen, 0x40 if crit else 0]) + struct.pack("!H", proto) + \
        struct.pack("!I", vni << 8) + opts
    udp_payload = gen + inner
    udp = struct.pack("!HHHH", 50000, 6081, udp_len or 8 + len(udp_payload), 0) + udp_payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               socket.inet_aton(src), socket.inet_aton(TEP[1])))
    s = sum(int.from_bytes(ip[i:i + 2], "big") for i in range(0, 20, 2))
    s = (s & 0xffff) + (s >> 16)
    ip[10:12] = struct.pack("!H", ~s & 0xffff)
    return ip, udp


def test_malformed_geneve_is_dropped_under_its_reason(ov):
    """Steps: from the fabric, send h1-d1's TEP Geneve frames with version 1,
    an option length beyond the packet, an unknown critical option, the
    wrong protocol type, a UDP length that lies, an unknown VNI and a valid
    one from an address that is not a peer; then a valid frame.
    Verify: each is counted under geneve_version, geneve_optlen,
    geneve_critical, geneve_proto, geneve_udp_len and tep_unknown (x2); none
    reaches h1-vm1; the valid frame does."""
    h1 = ov.call("h1-d1", "tep.show")
    dst = bytes.fromhex(h1["mac"].replace(":", ""))
    src = bytes.fromhex("02aa00000001")
    critical_opt = bytes([0x01, 0x02, 0x80, 0x01]) + b"\0" * 4  # type with the critical bit

    def frame(parts):
        ip, udp = parts
        return dst + src + b"\x08\x00" + bytes(ip) + udp

    cases = [("geneve_version", geneve(version=1)),
             ("geneve_optlen", geneve(optlen=60)),
             ("geneve_critical", geneve(optlen=2, opts=critical_opt)),
             ("geneve_proto", geneve(proto=0x0800)),
             ("geneve_udp_len", geneve(udp_len=20)),
             ("tep_unknown", geneve(vni=4242)),
             ("tep_unknown", geneve(src="198.19.9.9"))]
    before = ov.drops("h1-d1")
    cap = Capture(Netns("dse-h1-vm1"), "eth0")
    valid = l2_frame(VM_MAC[2], VM_MAC[1], "valid-after-malformed")
    frames = [frame(c[1]) for c in cases] + [frame(geneve(inner=valid))]
    p = run(["ip", "netns", "exec", "dse-fabric", "/usr/bin/python3",
             ROOT / "tests/system/pkt.py", "send", "h1-vmnic0"],
            input="".join(f.hex() + "\n" for f in frames))
    assert p.stdout.count('"ok": true') == len(frames), p
    assert cap.wait_matching("valid-after-malformed", 1) == [valid]
    assert not [f for f in cap.stop() if has_marker(f, "malformed-probe")]
    after = ov.drops("h1-d1")
    want = {}
    for reason, _ in cases:
        want[reason] = want.get(reason, 0) + 1
    got = {r: after[r] - before[r] for r in want}
    assert got == want, got


def test_a_peer_teps_gratuitous_arp_moves_it_to_its_new_mac(ov):
    """Steps: note the MAC h1-d1 resolved for its peer TEP 198.19.2.1; from the
    fabric, a gratuitous ARP of 198.19.2.1 with another MAC (as the standby
    DPU of host 2 sends when it takes over); then the real one again.
    Verify: h1-d1's peer entry takes the new MAC at once, and the old one
    back after the second announcement."""
    def peer_mac():
        return [p for p in ov.call("h1-d1", "tep.show")["peers"]
                if p["ip"] == TEP[2]][0]["mac"]

    real = None
    for _ in range(100):
        real = peer_mac()
        if real:
            break
        ov.exec("h1-vm1", "ping", "-c", "1", "-W", "1", VM_IP[2])
    assert real, ov.call("h1-d1", "tep.show")

    def garp(mac):
        m = bytes.fromhex(mac.replace(":", ""))
        ip = socket.inet_aton(TEP[2])
        arp = b"\x00\x01\x08\x00\x06\x04\x00\x01" + m + ip + b"\0" * 6 + ip
        return b"\xff" * 6 + m + b"\x08\x06" + arp

    for mac in ("02:bb:00:00:00:02", real):
        p = run(["ip", "netns", "exec", "dse-fabric", "/usr/bin/python3",
                 ROOT / "tests/system/pkt.py", "send", "h1-vmnic0"], input=garp(mac).hex() + "\n")
        assert '"ok": true' in p.stdout, p
        got = None
        for _ in range(50):
            got = peer_mac()
            if got and got.lower() == mac.lower():
                break
            time.sleep(0.02)
        assert got and got.lower() == mac.lower(), (got, mac)


def iperf3_h1_to_h2(ov, seconds):
    """Runs iperf3 TCP from h1-vm1 to a server in h2-vm1 for 'seconds'; returns its JSON."""
    server = subprocess.Popen(["ip", "netns", "exec", "dse-h2-vm1", "iperf3", "-s", "-1", "-B",
                               VM_IP[2]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if "5201" in run(["ip", "netns", "exec", "dse-h2-vm1", "ss", "-Hltn"]).stdout:
                break
            time.sleep(0.05)
        p = ov.exec("h1-vm1", "iperf3", "-c", VM_IP[2], "-t", str(seconds), "-J", timeout=60)
        assert p.returncode == 0, p.stdout[-800:] + p.stderr
        return json.loads(p.stdout)
    finally:
        server.kill()
        server.wait()


def test_iperf3_runs_across_the_overlay(ov):
    """Steps: iperf3 server in h2-vm1, client in h1-vm1 for 2 s (TCP, VM MTU
    1450 so every frame fits the underlay once encapsulated).
    Verify: data moved; neither DPU counted an oversize or an unresolved
    TEP; h1-d1's uplink sent Geneve packets (its tx counter grew)."""
    before = {p["name"]: p["stats"]["tx_packets"] for p in ov.call("h1-d1", "port.list")}
    drops_before = {h: ov.drops("h%d-d1" % h) for h in (1, 2)}
    assert iperf3_h1_to_h2(ov, 2)["end"]["sum_received"]["bytes"] > 1000000
    after = {p["name"]: p["stats"]["tx_packets"] for p in ov.call("h1-d1", "port.list")}
    assert after["vmnic0"] - before["vmnic0"] > 1000
    for h in (1, 2):
        d = {k: v - drops_before[h][k] for k, v in ov.drops("h%d-d1" % h).items()}
        assert d["overlay_oversize"] == 0 and d["tep_unresolved"] == 0, d


# Bounds of test_an_iperf3_stream_loses_next_to_nothing_in_the_kernel, for
# 3 s of TCP.  With DPDK's default ring of 512 frames (framecnt=512) this
# test measured 3,681 to 7,448 packets dropped in the kernel and 3,348 to
# 7,448 retransmits (3 runs); with dse-dpud's 4096 frames 0 drops and 0 to
# 30 retransmits.  The bounds leave room for a busier machine and stay far
# below the loss they guard against.
MAX_KERNEL_DROPS = 100
MAX_RETRANSMITS = 300


def kernel_rx(dpu):
    """{interface: packets received} of a DPU namespace, the kernel's own counters."""
    links = json.loads(run(["ip", "-n", "dse-" + dpu, "-s", "-j", "link"]).stdout)
    return {link["ifname"]: link["stats64"]["rx"]["packets"] for link in links}


def port_counters(ov, dpu):
    """{(interface, counter): value} of dse-dpud's net_af_packet ports."""
    out = {}
    for p in ov.call(dpu, "port.list"):
        iface = p["devargs"].split("iface=")[1].split(",")[0]
        for k in ("rx_packets", "rx_kernel_packets", "rx_kernel_dropped", "rx_missed"):
            out[(iface, k)] = p["stats"][k]
    return out


def test_an_iperf3_stream_loses_next_to_nothing_in_the_kernel(ov, metrics):
    """Steps: iperf3 TCP h1-vm1 -> h2-vm1 for 3 s across both DPUs (every DPU
    runs one worker; all share the machine's two cores with the VMs); the
    kernel's counters of the DPUs' interfaces and dse-dpud's port counters
    before and after (once they stop moving).
    Verify: for every port the kernel's count of the interface equals dse's
    rx_packets plus rx_kernel_dropped, and rx_kernel_packets (nothing is lost
    unseen); over all ports fewer than MAX_KERNEL_DROPS packets were dropped
    in the kernel, and iperf3 counted fewer than MAX_RETRANSMITS
    retransmissions (see the bounds for why)."""
    dpus = ("h1-d1", "h2-d1")
    k0 = {d: kernel_rx(d) for d in dpus}
    c0 = {d: port_counters(ov, d) for d in dpus}
    result = iperf3_h1_to_h2(ov, 3)
    last, stable = None, 0
    for _ in range(100):
        now = ({d: kernel_rx(d) for d in dpus}, {d: port_counters(ov, d) for d in dpus})
        stable = stable + 1 if now == last else 0
        if stable == 2:
            break
        last = now
        time.sleep(0.05)
    k1, c1 = last
    drops = 0
    for d in dpus:
        for iface in {i for i, _ in c1[d]}:
            got = {k: c1[d][(iface, k)] - c0[d].get((iface, k), 0)
                   for k in ("rx_packets", "rx_kernel_packets", "rx_kernel_dropped", "rx_missed")}
            kern = k1[d][iface] - k0[d][iface]
            assert kern == got["rx_packets"] + got["rx_kernel_dropped"] == \
                got["rx_kernel_packets"], (d, iface, kern, got)
            assert got["rx_missed"] == got["rx_kernel_dropped"], (d, iface, got)
            drops += got["rx_kernel_dropped"]
    retrans = result["end"]["sum_sent"]["retransmits"]
    metrics.append("iperf3 TCP h1-vm1 -> h2-vm1 over the overlay, 3 s: %.2f Gbit/s, "
                   "%d retransmits, %d packets dropped in the kernel"
                   % (result["end"]["sum_received"]["bits_per_second"] / 1e9, retrans, drops))
    print(metrics[-1])
    assert drops < MAX_KERNEL_DROPS, metrics[-1]
    assert retrans < MAX_RETRANSMITS, metrics[-1]
