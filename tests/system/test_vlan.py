# SPDX-License-Identifier: BSD-3-Clause
"""Segments and VLANs: isolation between segments, tagging on trunk ports,
and the drops for frames that break the VLAN rules."""
import pytest

from lab import (BROADCAST, RpcError, announce, counters, delta, l2_frame, port_config, vlan_of,
                 wait_counters, wait_for)

VLAN_A, VLAN_B, VLAN_C, VLAN_D = 100, 200, 300, 400


def trunk_ip(vm):
    """t1's address in the subnet of access VM 'vm'."""
    return "198.18.%s.5" % vm.ip.split(".")[2]


@pytest.fixture
def vlan_lab(lab):
    """Segments a (VLAN 100), b (200), c (300, on no port) and d (400, on the
    trunk only); access VMs a1, a2 in a and b1, b2 in b; VM t1 on trunk port tr1
    carrying a, b and d.  The kernel here may lack 802.1Q support, so t1 speaks
    through the trunk with tagged frames that the tests build.  t1 is known to
    the access VMs (static ARP) as 198.18.1.5 and 198.18.2.5.
    Returns (dpud, vms by name)."""
    a1 = lab.add_vm("a1", 1, ip="198.18.1.1")
    a2 = lab.add_vm("a2", 2, ip="198.18.1.2")
    b1 = lab.add_vm("b1", 3, ip="198.18.2.3")
    b2 = lab.add_vm("b2", 4, ip="198.18.2.4")
    t1 = lab.add_vm("t1", 5, ip="", port="tr1")
    lab.static_arp()
    for vm in (a1, a2, b1, b2):
        vm.neigh(trunk_ip(vm), t1.mac)
    calls = [{"method": "segment.add", "params": {"name": n, "vlan": v}}
             for n, v in (("a", VLAN_A), ("b", VLAN_B), ("c", VLAN_C), ("d", VLAN_D))]
    calls += [port_config("a1", segment="a"), port_config("a2", segment="a"),
              port_config("b1", segment="b"), port_config("b2", segment="b"),
              port_config("tr1", mode="trunk", segments=["a", "b", "d"])]
    dpud = lab.start_dpud(calls)
    return dpud, lab.vms


def test_segments_are_isolated_and_the_trunk_tags_by_segment(vlan_lab):
    """Steps: a1 sends a broadcast; b1 sends a broadcast; a1 sends a unicast to
    b1's MAC (learned, but in segment b).
    Verify: a1's frames reach a2 untagged and t1 tagged with VLAN 100, never b1
    or b2; b1's broadcast reaches b2 untagged and t1 tagged with VLAN 200, never
    a1 or a2; the unicast to b1's MAC is unknown in segment a, so it floods in a
    only; segment.list shows the membership."""
    dpud, vms = vlan_lab
    segs = {s["name"]: s for s in dpud.call("segment.list")}
    assert sorted(segs["a"]["ports"]) == ["a1", "a2", "tr1"]
    assert sorted(segs["b"]["ports"]) == ["b1", "b2", "tr1"]
    assert segs["c"]["ports"] == [] and segs["d"]["ports"] == ["tr1"]
    caps = {n: vm.capture() for n, vm in vms.items()}
    vms["a1"].send_ok([l2_frame(vms["a1"].mac, BROADCAST, "from-a1-bcast")])
    vms["b1"].send_ok([l2_frame(vms["b1"].mac, BROADCAST, "from-b1-bcast")])
    assert len(caps["t1"].wait_matching("bcast", 2)) == 2
    assert dpud.fdb()[("b", vms["b1"].mac)] == "b1"
    vms["a1"].send_ok([l2_frame(vms["a1"].mac, vms["b1"].mac, "from-a1-to-b1")])
    assert len(caps["t1"].wait_matching("from-a1", 2)) == 2
    assert len(caps["a2"].wait_matching("from-a1", 2)) == 2
    got = {n: c.stop() for n, c in caps.items()}

    def marked(name, marker):
        return [f for f in got[name] if marker.encode() in f]

    for n in ("a2",):
        assert [vlan_of(f) for f in marked(n, "from-a1")] == [None, None]
        assert marked(n, "from-b1") == []
    for n in ("b1", "b2"):
        assert marked(n, "from-a1") == [], "segment a leaked into segment b (%s)" % n
    assert [vlan_of(f) for f in marked("b2", "from-b1")] == [None]
    assert marked("a1", "from-b1") == [] and marked("a2", "from-b1") == []
    assert [vlan_of(f) for f in marked("t1", "from-a1")] == [VLAN_A, VLAN_A]
    assert [vlan_of(f) for f in marked("t1", "from-b1")] == [VLAN_B]
    # The tag is inserted, not written over the frame: the rest is unchanged.
    tagged = marked("t1", "from-a1-bcast")[0]
    sent = l2_frame(vms["a1"].mac, BROADCAST, "from-a1-bcast")
    assert tagged[:12] + tagged[16:] == sent


def test_tagged_frames_from_the_trunk_reach_only_their_segment_untagged(vlan_lab):
    """Steps: t1 sends a broadcast tagged 100 and one tagged 200; after a1 is
    learned, t1 sends a unicast tagged 100 to a1 and a1 answers to t1's MAC.
    Verify: the VLAN 100 broadcast reaches a1 and a2 untagged and not b1/b2;
    VLAN 200 reaches b1 and b2 untagged and not a1/a2; the unicast reaches a1
    only, untagged; a1's answer reaches t1 tagged with VLAN 100; fdb.show has
    t1's MAC on tr1 in both segments."""
    dpud, vms = vlan_lab
    t1, a1 = vms["t1"], vms["a1"]
    caps = {n: vm.capture() for n, vm in vms.items() if n != "t1"}
    t1.send_ok([l2_frame(t1.mac, BROADCAST, "tr-100", vlan=VLAN_A),
                l2_frame(t1.mac, BROADCAST, "tr-200", vlan=VLAN_B)])
    for n in ("a1", "a2"):
        frames = caps[n].wait_matching("tr-100", 1)
        assert [vlan_of(f) for f in frames] == [None], n
        assert frames[0] == l2_frame(t1.mac, BROADCAST, "tr-100")
    for n in ("b1", "b2"):
        assert [vlan_of(f) for f in caps[n].wait_matching("tr-200", 1)] == [None], n
    fdb = dpud.fdb()
    assert fdb[("a", t1.mac)] == "tr1" and fdb[("b", t1.mac)] == "tr1"

    announce(dpud, [a1])
    ct = t1.capture()
    start = counters(dpud.stats())
    t1.send_ok([l2_frame(t1.mac, a1.mac, "tr-uc", vlan=VLAN_A)])
    assert [vlan_of(f) for f in caps["a1"].wait_matching("tr-uc", 1)] == [None]
    a1.send_ok([l2_frame(a1.mac, t1.mac, "a1-answer")])
    assert [vlan_of(f) for f in ct.wait_matching("a1-answer", 1)] == [VLAN_A]
    d = wait_counters(dpud, {"port.a1.tx_packets": 1, "port.tr1.tx_packets": 1}, since=start)
    got = {n: c.stop() for n, c in caps.items()}
    assert [f for f in got["a2"] if b"tr-uc" in f] == []
    assert [f for n in ("b1", "b2") for f in got[n] if b"tr-100" in f] == []
    assert [f for n in ("a1", "a2") for f in got[n] if b"tr-200" in f] == []
    assert d.get("port.a2.tx_packets", 0) == 0 and d.get("node.dse_flood", 0) == 0, d


def test_frames_that_break_vlan_rules_are_dropped_and_counted(vlan_lab):
    """Steps: t1 sends an untagged frame on the trunk, frames tagged 300 (segment
    c, not carried by the trunk) and 999 (no segment), and one tagged 400
    (segment d, no other port); a1 sends a frame tagged 100 on its access port.
    Verify: drops trunk_untagged +1, vlan_unknown +2, flood_empty +1,
    access_tagged +1, and no other drop; no VM receives any of them."""
    dpud, vms = vlan_lab
    t1, a1 = vms["t1"], vms["a1"]
    caps = {n: vm.capture() for n, vm in vms.items()}
    start = counters(dpud.stats())
    t1.send_ok([l2_frame(t1.mac, BROADCAST, "bad-untagged"),
                l2_frame(t1.mac, BROADCAST, "bad-300", vlan=VLAN_C),
                l2_frame(t1.mac, BROADCAST, "bad-999", vlan=999),
                l2_frame(t1.mac, BROADCAST, "bad-400", vlan=VLAN_D)])
    a1.send_ok([l2_frame(a1.mac, BROADCAST, "bad-access-tagged", vlan=VLAN_A)])
    want = {"drop.trunk_untagged": 1, "drop.vlan_unknown": 2, "drop.flood_empty": 1,
            "drop.access_tagged": 1}
    d = wait_counters(dpud, want, since=start)
    assert {k: v for k, v in d.items() if k.startswith("drop.")} == want
    assert d.get("port.tr1.rx_packets") == 4 and d.get("port.a1.rx_packets") == 1, d
    got = {n: [f for f in c.stop() if b"bad-" in f] for n, c in caps.items()}
    assert got == {n: [] for n in vms}
    assert not [k for k in d if k.endswith(".tx_packets")], d


def test_ping_through_the_trunk_is_answered_with_the_right_tag(vlan_lab):
    """Steps: t1 sends 3 ICMP echo requests tagged 100 to a1's IP and 3 tagged
    200 to b1's IP (from its address in each subnet); a1's and b1's kernels
    answer.
    Verify: t1 receives all 6 echo replies, a1's tagged 100 and b1's tagged 200,
    with valid checksums and the request's identifier and sequence numbers:
    the tag was popped towards the access ports and pushed back towards the
    trunk, and the IP packet was not altered on the way."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Dot1Q, Ether

    dpud, vms = vlan_lab
    t1 = vms["t1"]
    ct = t1.capture()
    requests = []
    for vm, vid in ((vms["a1"], VLAN_A), (vms["b1"], VLAN_B)):
        for seq in range(1, 4):
            requests.append(bytes(Ether(src=t1.mac, dst=vm.mac) / Dot1Q(vlan=vid)
                                  / IP(src=trunk_ip(vm), dst=vm.ip)
                                  / ICMP(type=8, id=0x5A00 + vid, seq=seq) / (b"ping%d" % seq)))
    t1.send_ok(requests)
    replies = wait_for(lambda: [Ether(f) for f in ct.frames if ICMP in Ether(f)],
                       lambda r: len(r) >= 6, timeout=5)
    seen = set()
    for r in replies:
        ip, icmp = r[IP], r[ICMP]
        assert r[Dot1Q].vlan == (VLAN_A if ip.src == vms["a1"].ip else VLAN_B), r.summary()
        assert icmp.type == 0 and icmp.id == 0x5A00 + r[Dot1Q].vlan
        assert ip.dst == trunk_ip(vms["a1"] if r[Dot1Q].vlan == VLAN_A else vms["b1"])
        # Recompute both checksums: they must match what arrived.
        again = Ether(bytes(r))
        del again[IP].chksum, again[ICMP].chksum
        again = Ether(bytes(again))
        assert (again[IP].chksum, again[ICMP].chksum) == (ip.chksum, icmp.chksum)
        seen.add((r[Dot1Q].vlan, icmp.seq))
    assert seen == {(v, s) for v in (VLAN_A, VLAN_B) for s in (1, 2, 3)}
    assert len(replies) == 6
    assert dpud.alive()


def handled(dpud, start, n):
    """Waits until 'n' frames left the switch or were dropped; returns the counter delta."""
    def done(d):
        return d.get("node.dse_tx", 0) + sum(v for k, v in d.items() if k.startswith("drop.")) >= n

    return wait_for(lambda: delta(counters(dpud.stats()), start), done)


def test_a_static_fdb_entry_cannot_send_frames_into_another_segment(vlan_lab):
    """Steps: fdb.add a static entry in segment a for MAC 02:..:77 on port b1
    (an access port of segment b); a1 sends a frame to 02:..:77.
    Verify: either fdb.add refuses the entry, or the frame never reaches b1 or
    b2: a static entry must not break the isolation of segments.  (Fails while
    fdb.add accepts any port: the frame of segment a leaves through b1.)"""
    dpud, vms = vlan_lab
    target = "02:00:00:00:00:77"
    caps = {n: vms[n].capture() for n in ("b1", "b2", "a2")}
    try:
        dpud.call("fdb.add", segment="a", mac=target, port="b1")
    except RpcError as e:
        assert e.code in (-32602, -32000) and "b1" in e.message, e
    start = counters(dpud.stats())
    vms["a1"].send_ok([l2_frame(vms["a1"].mac, target, "cross-static")])
    handled(dpud, start, 1)
    leaked = {n: len(c.stop()) for n, c in caps.items() if n != "a2"}
    assert leaked == {"b1": 0, "b2": 0}, \
        "a frame of segment a left through a port of segment b: %s" % leaked


def test_moving_a_port_to_another_segment_leaves_no_path_from_the_old_one(vlan_lab):
    """Steps: fdb.add static entries in segment a: 02:..:78 on a2 and 02:..:79
    on trunk tr1; port.set a2 into segment b and tr1 to carry b and d only; a1
    sends one frame to each MAC.
    Verify: neither frame reaches a2 (now in segment b) nor reaches t1 tagged
    with VLAN 100 (no longer carried): a port that leaves a segment takes no
    traffic of it along.  (Fails while port.set keeps static entries.)"""
    dpud, vms = vlan_lab
    a1 = vms["a1"]
    dpud.call("fdb.add", segment="a", mac="02:00:00:00:00:78", port="a2")
    dpud.call("fdb.add", segment="a", mac="02:00:00:00:00:79", port="tr1")
    dpud.call("port.set", name="a2", segment="b")
    dpud.call("port.set", name="tr1", segments=["b", "d"])
    assert sorted({s["name"]: s for s in dpud.call("segment.list")}["a"]["ports"]) == ["a1"]
    ca2, ct = vms["a2"].capture(), vms["t1"].capture()
    start = counters(dpud.stats())
    a1.send_ok([l2_frame(a1.mac, "02:00:00:00:00:78", "moved-static-78"),
                l2_frame(a1.mac, "02:00:00:00:00:79", "moved-static-79")])
    d = handled(dpud, start, 2)
    got = {"a2": len(ca2.stop()), "t1": [vlan_of(f) for f in ct.stop()]}
    assert got == {"a2": 0, "t1": []}, \
        "segment a traffic followed ports that left it: %s (counters %s, fdb %s)" % (
            got, d, dpud.call("fdb.list"))
