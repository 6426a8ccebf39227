# SPDX-License-Identifier: BSD-3-Clause
"""Uplinks: a switch's uplinks to the physical network are a team.  Frames
never pass from one uplink to another, a flood from a local port leaves
through one uplink only, and the switch's own frames reflected back by the
fabric are dropped instead of stealing a local MAC."""
import pytest

from lab import BROADCAST, counters, l2_frame, port_config, wait_counters

VLAN = 100


@pytest.fixture
def team_lab(lab):
    """VMs v1, v2 on access ports of segment s (VLAN 100); two "switches of
    the fabric" u1, u2 on trunk ports up1, up2, both uplinks carrying s.
    Returns (dpud, vms by name)."""
    lab.add_vm("v1", 1)
    lab.add_vm("v2", 2)
    lab.add_vm("u1", 3, ip="", port="up1")
    lab.add_vm("u2", 4, ip="", port="up2")
    calls = [{"method": "segment.add", "params": {"name": "s", "vlan": VLAN}},
             port_config("v1", segment="s"), port_config("v2", segment="s")]
    for up in ("up1", "up2"):
        call = port_config(up, mode="trunk", segments=["s"])
        call["params"]["uplink"] = True
        calls.append(call)
    return lab.start_dpud(calls), lab.vms


def test_a_flood_from_a_local_port_leaves_through_one_uplink(team_lab):
    """Steps: v1 sends a broadcast.
    Verify: v2 gets it untagged; exactly one of the two uplinks gets it, tagged
    with VLAN 100; port.list shows both uplinks as uplinks."""
    dpud, vms = team_lab
    assert {p["name"]: p["uplink"] for p in dpud.call("port.list")} == {
        "v1": False, "v2": False, "up1": True, "up2": True}
    caps = {n: vms[n].capture() for n in ("v2", "u1", "u2")}
    vms["v1"].send_ok([l2_frame(vms["v1"].mac, BROADCAST, "bcast-from-v1")])
    assert len(caps["v2"].wait_matching("bcast-from-v1", 1)) == 1
    got = {n: [f for f in c.stop() if b"bcast-from-v1" in f] for n, c in caps.items()}
    on_uplinks = got["u1"] + got["u2"]
    assert len(on_uplinks) == 1, "the flood left through %d uplinks" % len(on_uplinks)
    assert on_uplinks[0][12:16] == b"\x81\x00\x00\x64"


def test_frames_never_pass_between_uplinks(team_lab):
    """Steps: u2 sends a frame tagged 100 (learned on up2); u1 sends a
    broadcast and then a unicast to u2's MAC, both tagged 100.
    Verify: the broadcast reaches v1 and v2 but not u2; the unicast does not
    reach u2 and is counted as uplink_to_uplink."""
    dpud, vms = team_lab
    u1, u2 = vms["u1"], vms["u2"]
    u2.send_ok([l2_frame(u2.mac, BROADCAST, "hello-from-u2", vlan=VLAN)])
    caps = {n: vms[n].capture() for n in ("v1", "v2", "u2")}
    before = counters(dpud.stats())
    u1.send_ok([l2_frame(u1.mac, BROADCAST, "bcast-from-u1", vlan=VLAN),
                l2_frame(u1.mac, u2.mac, "ucast-u1-to-u2", vlan=VLAN)])
    assert len(caps["v1"].wait_matching("bcast-from-u1", 1)) == 1
    assert len(caps["v2"].wait_matching("bcast-from-u1", 1)) == 1
    wait_counters(dpud, {"drop.uplink_to_uplink": 1}, since=before)
    got = caps["u2"].stop()
    assert [f for f in got if b"from-u1" in f] == [], "a frame passed between uplinks"


def test_a_reflected_frame_does_not_move_a_local_mac(team_lab):
    """Steps: v1 sends a frame (v1's MAC learned on port v1); then u1 sends a
    broadcast tagged 100 whose source MAC is v1's, as a fabric that floods our
    own frame back would; then v2 sends a unicast to v1.
    Verify: the reflection is counted as uplink_loop and reaches no VM; fdb.show
    still has v1's MAC on v1; v2's unicast reaches v1."""
    dpud, vms = team_lab
    v1, v2, u1 = vms["v1"], vms["v2"], vms["u1"]
    v1.send_ok([l2_frame(v1.mac, BROADCAST, "v1-announces")])
    caps = {n: vms[n].capture() for n in ("v1", "v2")}
    before = counters(dpud.stats())
    u1.send_ok([l2_frame(v1.mac, BROADCAST, "reflection", vlan=VLAN)])
    wait_counters(dpud, {"drop.uplink_loop": 1}, since=before)
    assert dpud.fdb()[("s", v1.mac)] == "v1"
    v2.send_ok([l2_frame(v2.mac, v1.mac, "v2-to-v1")])
    assert len(caps["v1"].wait_matching("v2-to-v1", 1)) == 1
    got = {n: c.stop() for n, c in caps.items()}
    assert [f for f in got["v1"] + got["v2"] if b"reflection" in f] == []
