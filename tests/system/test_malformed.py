# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and oversized frames: each is dropped under its own reason and
the datapath keeps forwarding."""
from collections import Counter

import pytest

from lab import RpcError, counters, delta, l2_frame, port_config, wait_counters, wait_for

SRC_IP, DST_IP = "198.18.0.1", "198.18.0.2"


@pytest.fixture
def jumbo_vms(lab):
    """vm1 (veth MTU 9000 on both ends, so the kernel delivers jumbo frames) and
    vm2 on access ports of segment a, whose dse MTU stays 1500."""
    vm1 = lab.add_vm("vm1", mtu=9000)
    vm2 = lab.add_vm("vm2")
    lab.static_arp()
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           port_config("vm1", segment="a"), port_config("vm2", segment="a")])
    return dpud, vm1, vm2


def drops(d):
    return {k[len("drop."):]: v for k, v in d.items() if k.startswith("drop.")}


def send_with_sentinel(dpud, vm1, vm2, frames, tag):
    """Sends 'frames' then a good frame to vm2 (in order through the same port);
    once the good frame is out, everything before it went through the datapath.
    Returns (send results, counter delta, frames vm2 received)."""
    cap = vm2.capture()
    start = counters(dpud.stats())
    sentinel = l2_frame(vm1.mac, vm2.mac, "sentinel-" + tag)
    results = vm1.send(frames + [sentinel])
    assert results[-1]["ok"], results[-1]
    assert len(cap.wait_matching("sentinel-" + tag, 1)) == 1, "the good frame was not forwarded"
    wait_counters(dpud, {"port.vm2.tx_packets": 1}, since=start)
    return results[:-1], start, cap


def test_malformed_frames_are_dropped_under_their_reason(jumbo_vms):
    """Steps: vm1 sends one frame of each kind: truncated IPv4 headers, bad IPv4
    version, IHL below 5 and beyond the frame, IPv4 total length beyond the
    frame and below the header, truncated TCP, UDP and ICMP echo headers, TCP
    data offsets 3 and 15, UDP lengths 4 and beyond the payload, a truncated
    IPv6 header, an IPv6 payload length that lies, a truncated IPv6 extension
    header, a truncated and a non-Ethernet ARP, a QinQ frame whose inner tag is
    cut, three stacked tags, multicast and zero source MACs, a 1600-byte IPv4
    packet and a 9000-byte frame (veth MTU 9000, dse port MTU 1500); then one
    good frame to vm2.
    Verify: each drop reason in stats.get counts exactly its frames and no other
    reason moves; vm1's rx counts every frame; only the good frame reaches vm2;
    afterwards vm1 pings vm2 (3 of 3) and dse-dpud answers dp.info."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP, Ether

    dpud, vm1, vm2 = jumbo_vms

    def eth(ethertype):
        return bytes(Ether(src=vm1.mac, dst=vm2.mac, type=ethertype))

    def ip4(**kw):
        return Ether(src=vm1.mac, dst=vm2.mac) / IP(src=SRC_IP, dst=DST_IP, **kw)

    def ip6(**kw):
        return Ether(src=vm1.mac, dst=vm2.mac) / IPv6(src="fd00::1", dst="fd00::2", **kw)

    bad_version = bytearray(bytes(ip4() / UDP() / (b"x" * 10)))
    bad_version[14] = 0x55
    tci = b"\x00\x64"
    cases = [
        ("ip4_trunc", eth(0x0800)),
        ("ip4_trunc", eth(0x0800) + bytes(IP())[:12]),
        ("ip4_version", bytes(bad_version)),
        ("ip4_ihl", bytes(ip4(ihl=3) / UDP() / (b"x" * 10))),
        ("ip4_ihl", bytes(ip4(ihl=15) / (b"x" * 8))),
        ("ip4_len", bytes(ip4(len=1000) / UDP() / (b"x" * 10))),
        ("ip4_len", bytes(ip4(len=12) / UDP() / (b"x" * 10))),
        ("l4_trunc", bytes(ip4(proto=6) / (b"x" * 10))),
        ("l4_trunc", bytes(ip4(proto=17) / (b"x" * 4))),
        ("l4_trunc", bytes(ip4(proto=1) / bytes([8, 0, 0, 0, 0, 0]))),
        ("tcp_off", bytes(ip4() / TCP(dataofs=3))),
        ("tcp_off", bytes(ip4() / TCP(dataofs=15))),
        ("udp_len", bytes(ip4() / UDP(len=4) / (b"x" * 8))),
        ("udp_len", bytes(ip4() / UDP(len=200) / (b"x" * 8))),
        ("ip6_trunc", eth(0x86DD) + bytes(IPv6())[:20]),
        ("ip6_len", bytes(ip6(plen=100, nh=59) / (b"x" * 8))),
        ("ip6_ext", bytes(ip6(nh=0, plen=8) / bytes([59, 10, 0, 0, 0, 0, 0, 0]))),
        ("arp_trunc", eth(0x0806) + bytes(ARP())[:10]),
        ("arp_bad", eth(0x0806) + b"\x00\x06" + bytes(ARP(psrc=SRC_IP, pdst=DST_IP))[2:]),
        ("vlan_trunc", eth(0x88A8) + tci + b"\x81\x00" + tci[:1] + b"\x00"),
        ("vlan_depth", eth(0x8100) + tci + b"\x81\x00" + tci + b"\x81\x00" + tci + b"\x08\x00"
         + bytes(IP() / UDP())),
        ("src_multicast", l2_frame("01:00:5e:00:00:01", vm2.mac, "mcast-src")),
        ("src_multicast", l2_frame("00:00:00:00:00:00", vm2.mac, "zero-src")),
        ("oversize", bytes(ip4() / UDP() / (b"x" * 1600))),
        ("oversize", l2_frame(vm1.mac, vm2.mac, "jumbo", size=9000)),
    ]
    results, start, cap = send_with_sentinel(dpud, vm1, vm2, [f for _, f in cases], "barrage")
    refused = [(reason, r) for (reason, _), r in zip(cases, results) if not r["ok"]]
    assert refused == [], "the VM kernel refused frames it should send"
    want = Counter(reason for reason, _ in cases)
    d = wait_counters(dpud, {"drop." + k: v for k, v in want.items()}, since=start)
    assert drops(d) == dict(want)
    assert d.get("port.vm1.rx_packets") == len(cases) + 1, d
    assert d.get("port.vm2.tx_packets") == 1, "a malformed frame was forwarded: %s" % d
    got = cap.stop()
    assert [f for f in got if b"sentinel-barrage" not in f] == []

    p = vm1.ping(vm2.ip, count=3)
    assert " 3 received" in p.stdout, p.stdout + p.stderr
    assert dpud.call("dp.show")["ports"] == 2
    assert dpud.alive()


def test_runts_and_cut_802_1q_tags_are_counted_if_they_reach_the_datapath(jumbo_vms):
    """Steps: vm1 tries to send runts of 1, 6 and 13 bytes and 802.1Q frames cut
    inside the tag (15, 16 and 17 bytes), then a good frame.
    Verify: the kernels refuse or drop some of these before dse-dpud sees them
    (Linux refuses frames under 14 bytes; the receiving veth drops a cut tag
    while untagging it); whatever does reach dse-dpud (vm1 rx beyond the good
    frame) is dropped and counted as runt or vlan_trunc, every one of them,
    and nothing but the good frame reaches vm2."""
    dpud, vm1, vm2 = jumbo_vms
    good = l2_frame(vm1.mac, vm2.mac, "x")
    runts = [good[:n] for n in (1, 6, 13)]
    cut_tags = [good[:12] + b"\x81\x00" + b"\x00\x64\x08"[:n] for n in (1, 2, 3)]
    results, start, cap = send_with_sentinel(dpud, vm1, vm2, runts + cut_tags, "runts")
    d = delta(counters(dpud.stats()), start)
    sent_runts = sum(r["ok"] for r in results[:len(runts)])
    reached = d.get("port.vm1.rx_packets", 0) - 1
    print("runts accepted by the kernel: %d of %d; frames that reached dse-dpud: %d of %d"
          % (sent_runts, len(runts), reached, len(runts) + len(cut_tags)))
    assert reached <= sent_runts + len(cut_tags)
    assert drops(d).get("runt", 0) <= sent_runts
    assert sum(drops(d).values()) == reached, d
    assert set(drops(d)) <= {"runt", "vlan_trunc"}, d
    assert d.get("port.vm2.tx_packets") == 1, d
    assert [f for f in cap.stop() if b"sentinel-runts" not in f] == []
    assert dpud.alive()


def test_jumbo_ip_packets_beyond_the_port_mtu_count_as_oversize(jumbo_vms):
    """Steps: vm1 (veth MTU 9000) sends a well-formed 9000-byte IPv4/UDP packet
    and a 9000-byte IPv6/UDP packet to vm2; vm1's dse port MTU is 1500.
    Verify: both are dropped and counted as 'oversize' (the frame is longer
    than the port's MTU), not as a malformed IP header; nothing reaches vm2.
    (Fails while the datapath parses before checking the MTU: net_af_packet
    truncates the frame to its 2048-byte ring slot, so the parser sees an IP
    length beyond the frame and counts ip4_len / ip6_len instead.)"""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    dpud, vm1, vm2 = jumbo_vms
    e = Ether(src=vm1.mac, dst=vm2.mac)
    frames = [bytes(e / IP(src=SRC_IP, dst=DST_IP) / UDP() / (b"j" * 8958)),
              bytes(e / IPv6(src="fd00::1", dst="fd00::2") / UDP() / (b"j" * 8938))]
    assert [len(f) for f in frames] == [9000, 9000]
    results, start, cap = send_with_sentinel(dpud, vm1, vm2, frames, "jumbo-ip")
    assert all(r["ok"] for r in results), results
    d = wait_for(lambda: delta(counters(dpud.stats()), start),
                 lambda d: sum(drops(d).values()) >= 2)
    assert d.get("port.vm1.rx_packets") == 3, d
    assert [f for f in cap.stop() if b"sentinel-jumbo-ip" not in f] == []
    assert drops(d) == {"oversize": 2}, \
        "over-MTU IP packets were counted under another reason: %s" % drops(d)


def test_a_port_never_forwards_a_frame_it_received_truncated(lab):
    """Steps: vm1 and vm2 on veths with MTU 9000; port.set to MTU 9000 is
    refused (net_af_packet hands over at most 1982 bytes of a frame with this
    ring size); both dse ports are set to the largest MTU port.list offers;
    vm1 sends non-IP frames of 1500, 3000 and 9000 bytes to vm2.
    Verify: each frame reaches vm2 byte for byte or is dropped and counted -
    never cut short."""
    vm1 = lab.add_vm("vm1", mtu=9000)
    vm2 = lab.add_vm("vm2", mtu=9000)
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           port_config("vm1", segment="a"), port_config("vm2", segment="a")])
    for name in ("vm1", "vm2"):
        with pytest.raises(RpcError, match="mtu 9000 is more than"):
            dpud.call("port.set", name=name, mtu=9000)
        top = [p for p in dpud.call("port.list") if p["name"] == name][0]["max_mtu"]
        assert 1500 <= top < 1982 - 22, top
        dpud.call("port.set", name=name, mtu=top)
    sent = [l2_frame(vm1.mac, vm2.mac, "size-%d" % n, size=n) for n in (1500, 3000, 9000)]
    cap = vm2.capture()
    start = counters(dpud.stats())
    vm1.send_ok(sent + [l2_frame(vm1.mac, vm2.mac, "sentinel")])
    assert len(cap.wait_matching("sentinel", 1)) == 1
    d = wait_counters(dpud, {"port.vm2.tx_packets": 1}, since=start)
    got = [f for f in cap.stop() if b"size-" in f]
    truncated = [len(f) for f in got if f not in sent]
    assert truncated == [], "frames forwarded cut short: sent %s bytes, vm2 got %s" % (
        [len(f) for f in sent], [len(f) for f in got])
    assert len(got) + sum(drops(d).values()) == len(sent), d
