# SPDX-License-Identifier: BSD-3-Clause
"""Layer 2 switching of dse-dpud: learning, forwarding, flooding, MAC moves,
ageing and exact counters, with real frames between VM namespaces."""
from lab import (BROADCAST, announce, counters, delta, l2_frame, wait_counters, wait_for)

UNKNOWN = "02:00:00:00:00:99"


def test_known_unicast_reaches_only_the_learned_port(three_vms):
    """Steps: vm1 and vm2 each send a broadcast (learning); vm1 sends 5 unicast
    frames to vm2's MAC, waits for them, then 5 more (a cached flow).
    Verify: fdb.show holds vm1's and vm2's MACs on ports vm1 and vm2 and nothing
    else; all 10 frames reach vm2 and none reaches vm3; port counters say the
    same (vm3 tx +0); the second batch is all flow cache hits (hits +5, misses +0)."""
    dpud, (vm1, vm2, vm3) = three_vms
    fdb = announce(dpud, [vm1, vm2])
    assert fdb == {("a", vm1.mac): "vm1", ("a", vm2.mac): "vm2"}
    c2, c3 = vm2.capture(), vm3.capture()
    start = counters(dpud.stats())

    vm1.send_ok([l2_frame(vm1.mac, vm2.mac, "uc-first-%d" % i) for i in range(5)])
    assert len(c2.wait_matching("uc-first-", 5)) == 5
    wait_counters(dpud, {"port.vm2.tx_packets": 5}, since=start)
    mid = counters(dpud.stats())

    vm1.send_ok([l2_frame(vm1.mac, vm2.mac, "uc-second-%d" % i) for i in range(5)])
    assert len(c2.wait_matching("uc-second-", 5)) == 5
    d2 = wait_counters(dpud, {"port.vm2.tx_packets": 5, "flow.hits": 5}, since=mid)
    at_vm3 = c3.stop()
    at_vm2 = c2.stop()

    assert [f for f in at_vm3 if b"uc-" in f] == [], "unicast to vm2 leaked to vm3"
    assert len([f for f in at_vm2 if b"uc-" in f]) == 10, "vm2 got duplicates"
    total = delta(counters(dpud.stats()), start)
    assert total.get("port.vm1.rx_packets") == 10
    assert total.get("port.vm2.tx_packets") == 10
    assert total.get("port.vm3.tx_packets", 0) == 0
    assert total.get("port.vm1.tx_packets", 0) == 0
    assert d2.get("flow.hits") == 5 and d2.get("flow.misses", 0) == 0, d2
    assert dpud.call("flow.show")["entries"] >= 1


def test_hairpin_to_a_mac_behind_the_ingress_port_is_dropped(three_vms):
    """Steps: vm1 sends from a second MAC (02:..:11) so it is learned on port
    vm1, then sends a frame to that MAC out of the same port.
    Verify: the second frame reaches no VM, is counted as drop 'same_port', and
    fdb.show puts 02:..:11 on vm1."""
    dpud, (vm1, vm2, vm3) = three_vms
    other = "02:00:00:00:00:11"
    c2, c3 = vm2.capture(), vm3.capture()
    vm1.send_ok([l2_frame(other, BROADCAST, "second-mac")])
    assert len(c3.wait_matching("second-mac", 1)) == 1
    start = counters(dpud.stats())
    vm1.send_ok([l2_frame(vm1.mac, other, "hairpin")])
    d = wait_counters(dpud, {"drop.same_port": 1}, since=start)
    assert d.get("drop.same_port") == 1, d
    assert dpud.fdb().get(("a", other)) == "vm1"
    assert c2.matching("hairpin") == [] and c3.matching("hairpin") == [], \
        "a hairpinned frame left the switch"
    assert d.get("port.vm2.tx_packets", 0) == 0 and d.get("port.vm3.tx_packets", 0) == 0


def test_broadcast_multicast_and_unknown_unicast_flood_but_never_return(three_vms):
    """Steps: vm1 sends one broadcast, one multicast (01:00:5e:00:00:fb) and one
    unknown unicast (02:..:99) frame.
    Verify: vm2 and vm3 each get all three, unchanged; vm1 gets none of them
    back; counters: vm1 rx +3, vm2 and vm3 tx +3, vm1 tx +0, dse_flood +3, no
    drops; the unknown destination is not learned."""
    dpud, (vm1, vm2, vm3) = three_vms
    caps = {vm.name: vm.capture() for vm in (vm1, vm2, vm3)}
    sent = [l2_frame(vm1.mac, BROADCAST, "flood-bcast"),
            l2_frame(vm1.mac, "01:00:5e:00:00:fb", "flood-mcast"),
            l2_frame(vm1.mac, UNKNOWN, "flood-unknown")]
    start = counters(dpud.stats())
    vm1.send_ok(sent)
    for name in ("vm2", "vm3"):
        assert len(caps[name].wait_matching("flood-", 3)) == 3, name
    d = wait_counters(dpud, {"node.dse_flood": 3}, since=start)
    got = {name: [f for f in c.stop() if b"flood-" in f] for name, c in caps.items()}
    assert got["vm2"] == sent and got["vm3"] == sent
    assert got["vm1"] == [], "a flooded frame came back out of its ingress port"
    assert d.get("port.vm1.rx_packets") == 3
    assert d.get("port.vm2.tx_packets") == 3 and d.get("port.vm3.tx_packets") == 3
    assert d.get("port.vm1.tx_packets", 0) == 0
    assert d.get("node.dse_flood") == 3
    assert not [k for k in d if k.startswith("drop.")], d
    assert ("a", UNKNOWN) not in dpud.fdb()


def test_mac_move_sends_traffic_to_the_new_port_only(three_vms):
    """Steps: vm1 (MAC X) and vm3 learn; vm3 sends two batches to X so that the
    decision is cached; then vm2 sends a broadcast with source MAC X (the
    station moved behind vm2); vm3 sends 5 more frames to X.
    Verify: fdb.show moves X to port vm2 and fdb 'moved' counts 1; the last 5
    frames reach vm2 only (vm1 gets none, its tx counter does not move), so
    the cached decision for X was not reused."""
    dpud, (vm1, vm2, vm3) = three_vms
    announce(dpud, [vm1, vm3])
    c1 = vm1.capture()
    for batch in ("a", "b"):
        vm3.send_ok([l2_frame(vm3.mac, vm1.mac, "before-%s-%d" % (batch, i)) for i in range(3)])
        assert len(c1.wait_matching("before-" + batch, 3)) == 3
    assert dpud.call("flow.show")["hits"] >= 3, "the flow to X was not cached"

    start = counters(dpud.stats())
    vm2.send_ok([l2_frame(vm1.mac, BROADCAST, "moved-here")])
    d = wait_counters(dpud, {"fdb.moved": 1}, since=start)
    assert d.get("fdb.moved") == 1, d
    assert dpud.fdb()[("a", vm1.mac)] == "vm2"

    c2 = vm2.capture()
    mid = counters(dpud.stats())
    vm3.send_ok([l2_frame(vm3.mac, vm1.mac, "after-%d" % i) for i in range(5)])
    assert len(c2.wait_matching("after-", 5)) == 5
    d = wait_counters(dpud, {"port.vm2.tx_packets": 5}, since=mid)
    assert c1.matching("after-") == [], "traffic still went to the old port"
    assert d.get("port.vm1.tx_packets", 0) == 0, d
    assert d.get("port.vm2.tx_packets") == 5, d
    c1.stop()
    assert len(c2.stop()) == 5


def test_a_mac_move_retires_only_the_cached_decisions_of_that_mac(three_vms):
    """Steps: 32 stations behind vm1 announce themselves (broadcasts from 32
    MACs); vm3 sends one frame to each, twice, so 32 decisions are cached;
    station 7 moves behind vm2 (a broadcast from its MAC on vm2); vm3 sends
    one frame to each station again.
    Verify: before the move flow.show holds 32 valid decisions and the second
    round is 32 hits; the move leaves 31 (only station 7's decision retired,
    the others untouched); in the last round station 7's frame leaves by vm2
    and not vm1, the 31 others leave by vm1, and the flow cache counts exactly
    31 hits and 1 miss: the moved MAC's first frame decided afresh, every
    other MAC kept its cached decision."""
    dpud, (vm1, vm2, vm3) = three_vms
    announce(dpud, [vm1, vm2, vm3])
    macs = ["02:00:00:00:50:%02x" % (i + 1) for i in range(32)]
    vm1.send_ok([l2_frame(m, BROADCAST, "station-%d-" % i) for i, m in enumerate(macs)])
    want = {("a", m): "vm1" for m in macs}
    fdb = wait_for(dpud.fdb, lambda f: all(f.get(k) == v for k, v in want.items()), 5.0)
    assert all(fdb.get(k) == v for k, v in want.items()), fdb

    c1 = vm1.capture()
    for batch in ("a", "b"):
        before = counters(dpud.stats())
        vm3.send_ok([l2_frame(vm3.mac, m, "to-%s-%d-" % (batch, i)) for i, m in enumerate(macs)])
        assert len(c1.wait_matching("to-%s-" % batch, 32)) == 32
        d = wait_counters(dpud, {"port.vm1.tx_packets": 32}, since=before)
    assert d.get("flow.hits") == 32 and d.get("flow.misses", 0) == 0, d
    assert dpud.call("flow.show")["entries"] == 32

    moved = 7
    start = counters(dpud.stats())
    vm2.send_ok([l2_frame(macs[moved], BROADCAST, "moved-here")])
    d = wait_counters(dpud, {"fdb.moved": 1}, since=start)
    assert d.get("fdb.moved") == 1, d
    assert dpud.fdb()[("a", macs[moved])] == "vm2"
    assert dpud.call("flow.show")["entries"] == 31, "the move retired other decisions"

    c2 = vm2.capture()
    mid = counters(dpud.stats())
    vm3.send_ok([l2_frame(vm3.mac, m, "to-c-%d-" % i) for i, m in enumerate(macs)])
    assert len(c1.wait_matching("to-c-", 31)) == 31
    assert len(c2.wait_matching("to-c-%d-" % moved, 1)) == 1
    d = wait_counters(dpud, {"port.vm1.tx_packets": 31, "port.vm2.tx_packets": 1,
                             "flow.hits": 31, "flow.misses": 1}, since=mid)
    assert c1.matching("to-c-%d-" % moved) == [], "the moved MAC's frame went to its old port"
    assert d.get("port.vm1.tx_packets") == 31 and d.get("port.vm2.tx_packets") == 1, d
    assert d.get("flow.hits") == 31 and d.get("flow.misses") == 1, d
    assert dpud.call("flow.show")["entries"] == 32
    c1.stop()
    c2.stop()


def test_ageing_with_the_test_clock_forgets_and_then_floods(three_vms):
    """Steps: clock.freeze; vm1 and vm2 learn; fdb.config ageing_time 10; vm2
    sends to vm1 (reaches vm1 only, cached); clock.advance 5; clock.advance 6.
    Verify: after 5 s both entries are still there (age 5); after 11 s they are
    gone and fdb 'aged' counts 2; a frame from vm3 to vm1's MAC is then
    flooded (reaches vm1 and vm2), and vm2's next frame to vm1 floods too
    (reaches vm3): the cached decision did not outlive the entry."""
    dpud, (vm1, vm2, vm3) = three_vms
    assert dpud.call("clock.freeze")["frozen"] is True
    announce(dpud, [vm1, vm2])
    conf = dpud.call("fdb.config.set", ageing_time=10)
    assert conf["ageing_time"] == 10
    c1, c3 = vm1.capture(), vm3.capture()
    for batch in ("a", "b"):
        vm2.send_ok([l2_frame(vm2.mac, vm1.mac, "known-%s" % batch)])
        assert len(c1.wait_matching("known-" + batch, 1)) == 1
    assert c3.matching("known-") == []

    dpud.call("clock.advance", seconds=5)
    ages = {e["mac"]: e["age"] for e in dpud.call("fdb.list")}
    assert ages == {vm1.mac: 5, vm2.mac: 5}, ages

    start = counters(dpud.stats())
    dpud.call("clock.advance", seconds=6)
    assert dpud.call("fdb.list") == []
    assert delta(counters(dpud.stats()), start).get("fdb.aged") == 2

    c2 = vm2.capture()
    vm3.send_ok([l2_frame(vm3.mac, vm1.mac, "aged-from-vm3")])
    assert len(c1.wait_matching("aged-from-vm3", 1)) == 1
    assert len(c2.wait_matching("aged-from-vm3", 1)) == 1
    vm2.send_ok([l2_frame(vm2.mac, vm1.mac, "aged-from-vm2")])
    assert len(c3.wait_matching("aged-from-vm2", 1)) == 1, \
        "a cached decision kept forwarding to an aged-out MAC"
    assert len(c1.wait_matching("aged-from-vm2", 1)) == 1


def test_counters_match_exactly_what_was_sent(two_vms):
    """Steps: vm1 and vm2 learn; vm1 sends exactly 200 frames of 100 bytes to vm2.
    Verify: vm2 receives exactly 200; vm1 rx and vm2 tx count +200 packets and
    +20000 bytes, vm1 tx and vm2 rx +0; the nodes dse_rx, dse_parse and dse_tx
    count +200, dse_flow, dse_segment and dse_fdb count the flow cache misses
    (the parse node replays the hits), hits + misses = 200; no drop counter
    moves; nothing more arrives later."""
    dpud, (vm1, vm2) = two_vms
    k, size = 200, 100
    announce(dpud, [vm1, vm2])
    c2 = vm2.capture()
    start = counters(dpud.stats())
    vm1.send_ok([l2_frame(vm1.mac, vm2.mac, "count-%03d" % i, size=size) for i in range(k)])
    assert len(c2.wait_matching("count-", k)) == k
    d = wait_counters(dpud, {"port.vm2.tx_packets": k, "node.dse_tx": k}, since=start)
    # A second, later look: no frame may be counted or delivered twice.
    vm1.send_ok([l2_frame(vm1.mac, vm2.mac, "count-end")])
    c2.wait_matching("count-end", 1)
    d = wait_counters(dpud, {"port.vm2.tx_packets": k + 1}, since=start)
    got = [f for f in c2.stop() if b"count-" in f]
    k, bytes_ = k + 1, k * size + 64  # the 'count-end' frame is 64 bytes
    assert len(got) == k
    assert d.get("port.vm1.rx_packets") == k and d.get("port.vm1.rx_bytes") == bytes_, d
    assert d.get("port.vm2.tx_packets") == k and d.get("port.vm2.tx_bytes") == bytes_, d
    assert d.get("port.vm1.tx_packets", 0) == 0 and d.get("port.vm2.rx_packets", 0) == 0, d
    for node in ("dse_rx", "dse_parse", "dse_tx"):
        assert d.get("node." + node) == k, (node, d)
    assert d.get("flow.hits", 0) + d.get("flow.misses", 0) == k, d
    assert d.get("node.dse_flow", 0) == d.get("flow.misses", 0), d
    assert d.get("node.dse_segment", 0) == d.get("flow.misses", 0), d
    assert d.get("node.dse_fdb", 0) == d.get("flow.misses", 0), d
    assert d.get("node.dse_flood", 0) == 0, d
    assert not [c for c in d if c.startswith("drop.")], d


def test_a_full_fdb_stops_learning_but_keeps_forwarding(three_vms):
    """Steps: fdb.config max_entries 2; vm1 and vm2 announce themselves, then vm3
    sends a broadcast; vm1 sends a frame to vm3's MAC.
    Verify: fdb.show holds vm1 and vm2 only and fdb 'full' counts 1; vm3's
    broadcast was still delivered; the frame to vm3's (unlearned) MAC is
    flooded and reaches vm3 and vm2."""
    dpud, (vm1, vm2, vm3) = three_vms
    assert dpud.call("fdb.config.set", max_entries=2)["max_entries"] == 2
    announce(dpud, [vm1, vm2])
    c1, c2, c3 = vm1.capture(), vm2.capture(), vm3.capture()
    start = counters(dpud.stats())
    vm3.send_ok([l2_frame(vm3.mac, BROADCAST, "full-bcast")])
    assert len(c1.wait_matching("full-bcast", 1)) == 1
    d = wait_counters(dpud, {"fdb.full": 1}, since=start)
    assert d.get("fdb.full") == 1, d
    assert dpud.fdb() == {("a", vm1.mac): "vm1", ("a", vm2.mac): "vm2"}
    vm1.send_ok([l2_frame(vm1.mac, vm3.mac, "to-unlearned")])
    assert len(c3.wait_matching("to-unlearned", 1)) == 1
    assert len(c2.wait_matching("to-unlearned", 1)) == 1
    assert dpud.call("fdb.config.set")["entries"] == 2
