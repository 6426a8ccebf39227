# SPDX-License-Identifier: BSD-3-Clause
"""System tests of the host side of the Geneve overlay: dse-hostd and dsectl.

Like tests/system/test_hostd.py (whose daemon fixture and fake DPU they use),
each test runs its own dse-hostd in its own network namespace and drives it
only through 'dsectl'.  The fake DPUs serve dse-dpud's overlay methods
(segment.add with a VNI and peers, segment.set, tep.set, tep.show) over
mutual TLS with dse-dpud's checks: an overlay segment on a trunk, a TEP on a
port that is not an uplink and the deletion of the port under the TEP are
refused.  A test reads what the host pushed on a fake DPU's Unix socket.

The test in the real lab (two hosts, ping across the overlay) is in
test_hostd_lab.py.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lab as labmod  # noqa: E402
from test_hostd import (IDENTITY, FakeDpuLink, hostd, wait_dpu, write)  # noqa: E402,F401
from test_hostd_fw import in_sync, two_dpus  # noqa: E402

PROFILE = """\
switches:
  - name: sw1
    mode: active-standby
    dpus: [h1-d1, h1-d2]
    uplinks: [vmnic0, vmnic1, vmnic2]
    tep: {ip: 198.19.1.1}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: app, switch: sw1, vni: 5001, peers: [198.19.2.1]}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:01:02", segment: app, vm: vm2}
firewall:
  policies:
    - {segment: app, default: deny}
  rules:
    - {id: 1, segment: app, proto: icmp, action: allow}
"""


def overlay_state(link):
    """What a fake DPU holds of the overlay: ({segment: (vni, peers)}, {port: segments}, tep)."""
    segs = {s["name"]: (s["vni"], sorted(s["peers"])) for s in link.call("segment.list")
            if "vni" in s}
    trunks = {p["name"]: sorted(p["segments"]) for p in link.call("port.list")
              if p["mode"] == "trunk"}
    tep = link.call("tep.show")
    return segs, trunks, (tep["ip"], tep.get("uplink"))


def overlay_calls(link):
    """The host's calls to a fake DPU that touch the overlay or the TEP."""
    return [c for c in link.mutations()
            if c["method"] in ("segment.set", "tep.set") or
            c["method"] == "segment.add" and "vni" in c["params"]]


def test_hostd_overlay_segments_and_tep_reach_the_dpus(hostd):
    """The overlay of the host profile is pushed: VNI segments with peers, the TEP, no trunk.

    Steps: with an active-standby pair h1-d1 (active, vmnic0 + vmnic1) and
    h1-d2 (vmnic2), apply a profile with a TEP, a VLAN segment web, an
    overlay segment app (VNI 5001, one peer) with a VM port, and a deny
    policy on app with an ICMP rule; add an unrelated segment; set app's
    peers with 'dsectl segment set'; export and apply the export; move the
    TEP to another address; drop uplink vmnic0, which carries the TEP.
    Verify: h1-d1 holds app with its VNI and peer, vm2-eth0 on it, the
    uplinks as trunks of web only, and the TEP 198.19.1.1 on vmnic0 (its
    first uplink); h1-d2 (the standby, its datapath held) holds app and web,
    vmnic2 (web only), the VM port and the TEP on vmnic2; both hold app's
    policy; 'dpu show' says so (TEP line) and the lists show the TEP and peers; an unrelated change
    pushes no overlay call again; new peers are one segment.set per DPU and
    nothing else; the export applies with no change; a new TEP address is
    one tep.set on each DPU; without vmnic0 the TEP moves to vmnic1 before
    vmnic0 is deleted; every DPU ends in-sync.
    """
    d1, d2 = two_dpus(hostd)
    r = hostd.ok("config", "apply", "-f", write(hostd.tmp, "p.yaml", PROFILE))
    assert len(r["changes"]) == 7, r
    in_sync(hostd)
    want1 = ({"app": (5001, ["198.19.2.1"])}, {"vmnic0": ["web"], "vmnic1": ["web"]},
             ("198.19.1.1", "vmnic0"))
    got = labmod.wait_for(lambda: overlay_state(d1), lambda s: s == want1, timeout=10)
    assert got == want1, got
    ports = {p["name"]: p for p in d1.call("port.list")}
    assert ports["vm2-eth0"]["mode"] == "access" and ports["vm2-eth0"]["segment"] == "app"
    assert ports["vm2-eth0"]["devargs"].endswith(",iface=rep-vm2")
    assert ("app", "02:00:00:00:01:02", "vm2-eth0") in [
        (e["segment"], e["mac"].lower(), e["port"]) for e in d1.call("fdb.list")]
    assert overlay_state(d2) == ({"app": (5001, ["198.19.2.1"])}, {"vmnic2": ["web"]},
                                 ("198.19.1.1", "vmnic2"))
    # The standby holds the active's VM ports, beside its own uplink.
    vm_ports = sorted(p["name"] for p in d1.call("port.list") if not p.get("uplink"))
    assert sorted(p["name"] for p in d2.call("port.list")) == vm_ports + ["vmnic2"]
    for d in (d1, d2):
        pols = [c["params"] for c in d.call("config.save") if c["method"] == "fw.policy.set"]
        assert pols == [{"segment": "app", "default": "deny"}], pols
        assert [x["id"] for x in d.call("fw.rule.list")] == [1]

    shown = hostd.ok("dpu", "show", "h1-d1")["desired"]
    assert shown["tep"] == {"ip": "198.19.1.1", "uplink": "vmnic0"}, shown
    shown = hostd.ok("dpu", "show", "h1-d2")["desired"]
    assert shown["tep"] == {"ip": "198.19.1.1", "uplink": "vmnic2"}, shown
    t = hostd.ctl("dpu", "show", "h1-d1", json_out=False)
    assert t.rc == 0 and "TEP 198.19.1.1 on vmnic0" in t.text and "5001" in t.text, t
    t = hostd.ctl("switch", "list", json_out=False)
    assert t.rc == 0 and "TEP" in t.text.splitlines()[0] and "198.19.1.1" in t.text, t
    t = hostd.ctl("segment", "list", json_out=False)
    assert t.rc == 0 and "PEERS" in t.text.splitlines()[0] and "198.19.2.1" in t.text, t

    # In sync: another change reads the overlay back and pushes none of it again.
    before = [len(overlay_calls(d)) for d in (d1, d2)]
    hostd.ok("segment", "add", "db", "--vlan", "200", "--switch", "sw1")
    labmod.wait_for(lambda: overlay_state(d1)[1], lambda t: t["vmnic0"] == ["db", "web"],
                    timeout=10)
    in_sync(hostd)
    assert [len(overlay_calls(d)) for d in (d1, d2)] == before

    # New peers: one segment.set on each DPU, nothing taken down.
    n = [len(d.mutations()) for d in (d1, d2)]
    r = hostd.ok("segment", "set", "app", "--peer", "198.19.3.1", "--peer", "198.19.2.1")
    assert r["changes"] == [{"action": "change", "kind": "segment", "name": "app",
                             "fields": ["peers"]}], r
    for i, d in enumerate((d1, d2)):
        got = labmod.wait_for(lambda: overlay_state(d)[0], lambda s: len(s["app"][1]) == 2,
                              timeout=10)
        assert got == {"app": (5001, ["198.19.2.1", "198.19.3.1"])}, got
        new = [c["method"] for c in d.mutations()[n[i]:]]
        assert new == ["segment.set"], new
    in_sync(hostd)

    prof = hostd.ok("config", "export")
    assert prof["switches"][0]["tep"] == {"ip": "198.19.1.1"}
    assert [s.get("peers") for s in prof["segments"]] == [["198.19.2.1", "198.19.3.1"], None,
                                                          None], prof
    assert hostd.ok("config", "apply", "-f", write(hostd.tmp, "x.json", json.dumps(prof)))["changes"] == []

    # Another TEP address: one tep.set on each DPU (the standby holds the TEP too).
    n = [len(d.mutations()) for d in (d1, d2)]
    prof["switches"][0]["tep"]["ip"] = "198.19.1.9"
    hostd.ok("config", "apply", "-f", write(hostd.tmp, "y.json", json.dumps(prof)))
    got = labmod.wait_for(lambda: overlay_state(d1)[2], lambda t: t[0] == "198.19.1.9",
                          timeout=10)
    assert got == ("198.19.1.9", "vmnic0"), got
    in_sync(hostd)
    assert [c["method"] for c in d1.mutations()[n[0]:]] == ["tep.set"]
    got = labmod.wait_for(lambda: [c["method"] for c in d2.mutations()[n[1]:]],
                          lambda m: m == ["tep.set"], timeout=10)
    assert got == ["tep.set"], got

    # The TEP's uplink goes: the TEP moves first, then the port can go.
    n = len(d1.mutations())
    prof["switches"][0]["uplinks"] = ["vmnic1", "vmnic2"]
    hostd.ok("config", "apply", "-f", write(hostd.tmp, "z.json", json.dumps(prof)))
    got = labmod.wait_for(lambda: overlay_state(d1), lambda s: "vmnic0" not in s[1], timeout=10)
    assert got[1:] == ({"vmnic1": ["db", "web"]}, ("198.19.1.9", "vmnic1")), got
    calls = [(c["method"], c["params"].get("name", c["params"].get("uplink")))
             for c in d1.mutations()[n:]]
    assert calls == [("port.set", "vmnic0"), ("tep.set", "vmnic1"), ("port.del", "vmnic0")], calls
    in_sync(hostd)


def test_hostd_overlay_refuses_bad_profiles_and_commands(hostd):
    """A bad TEP or peer list is refused where it is written, and changes nothing.

    Verify: each bad profile exits 1 with the file position and the problem;
    each bad command line exits 2 with the usage, each refused change exits
    1 with dse-hostd's reason; the revision did not move; --no-peers then
    empties app's peers.
    """
    hostd.ok("config", "apply", "-f", write(hostd.tmp, "ok.yaml", PROFILE))
    rev = hostd.ok("host", "show")["store"]["revision"]
    # Not an address at all: no host profile (exit 2, as a syntax error).
    r = hostd.ctl("config", "apply", "-f",
                  write(hostd.tmp, "ip.yaml", PROFILE.replace("198.19.1.1", "198.19.1.300")))
    assert r.rc == 2 and "ip.yaml:6:11:" in r.err and "switches[0].tep.ip" in r.err, r
    assert "must be an IPv4 address" in r.err, r
    cases = [
        ("mc.yaml", PROFILE.replace("198.19.1.1", "224.0.0.5"),
         ["mc.yaml:6:11:", "switches[0].tep.ip", "IPv4 unicast"]),
        ("dup.yaml", PROFILE.replace("[198.19.2.1]", "[198.19.2.1, 198.19.2.1]"),
         ["dup.yaml:9:61:", "segments[1].peers[1]", "lists peer 198.19.2.1 twice"]),
        ("own.yaml", PROFILE.replace("[198.19.2.1]", "[198.19.1.1]"),
         ["own.yaml:9:49:", "is the TEP of its own switch"]),
        ("vlan.yaml", PROFILE.replace("vlan: 100}", "vlan: 100, peers: [198.19.2.1]}"),
         ["vlan.yaml:8:41:", "segments[0].peers", "only overlay (vni) segments have peers"]),
        ("notep.yaml", PROFILE.replace("    tep: {ip: 198.19.1.1}\n", ""),
         ["notep.yaml:8:30:", "overlay segment 'app' needs a tunnel endpoint"]),
    ]
    for name, text, needles in cases:
        r = hostd.ctl("config", "apply", "-f", write(hostd.tmp, name, text))
        assert r.rc == 1, (name, r)
        for n in needles:
            assert n in r.err, (name, n, r.err)

    usage = [
        (["segment", "add", "s", "--vlan", "5", "--peer", "198.19.2.1", "--switch", "sw1"],
         "--peer goes with --vni"),
        (["segment", "set", "app"], "give the peers"),
        (["segment", "set", "app", "--peer", "198.19.2.1", "--no-peers"], "not both"),
    ]
    for args, needle in usage:
        r = hostd.ctl(*args)
        assert r.rc == 2 and needle in r.err and "usage:" in r.err, (args, r)
    refused = [
        (["segment", "set", "web", "--peer", "198.19.2.1"], "only overlay (vni) segments"),
        (["segment", "set", "nope", "--no-peers"], "no segment 'nope'"),
        (["segment", "set", "app", "--peer", "fe80::1"], "'peers[0]' must be an IPv4 address"),
        (["switch", "add", "sw2", "--mode", "single", "--dpu", "h1-d3", "--tep", "198.19.1.3"],
         "has a TEP but no uplink"),
        (["switch", "add", "sw2", "--mode", "single", "--dpu", "h1-d3", "--uplink", "vmnic4",
          "--tep", "198.19.1.1"], "already the TEP of switch 'sw1'"),
        (["segment", "add", "x", "--vni", "7", "--peer", "1.2.3", "--switch", "sw1"],
         "'peers[0]' must be an IPv4 address, not \"1.2.3\""),
    ]
    for args, needle in refused:
        r = hostd.ctl(*args)
        assert r.rc == 1 and needle in r.err, (args, r)
    assert hostd.ok("host", "show")["store"]["revision"] == rev
    # --no-peers empties the list.
    r = hostd.ok("segment", "set", "app", "--no-peers")
    assert [c["name"] for c in r["changes"]] == ["app"], r
    assert hostd.ok("segment", "list")[0]["peers"] == []


def test_hostd_overlay_tep_left_on_a_dpu_is_reported(hostd):
    """dse-dpud can not take a TEP away: the host keeps its port and says so.

    Steps: a switch with a TEP and an overlay segment on DPU h1-d1; then the
    switch and everything on it are deleted.
    Verify: the DPU loses its segments and VM ports, but keeps vmnic0 (the
    TEP's port, with no segment left on it) and the TEP; its config is
    'error' with a message naming the TEP and what happens to it.
    """
    hostd.stop()
    d1 = FakeDpuLink(hostd, 1, hostd.state, IDENTITY)
    hostd.start()
    wait_dpu(hostd, "h1-d1", lambda d: d["state"] == "connected")
    hostd.ok("switch", "add", "sw1", "--mode", "single", "--dpu", "h1-d1", "--uplink", "vmnic0",
             "--tep", "198.19.1.1")
    hostd.ok("segment", "add", "app", "--vni", "5001", "--peer", "198.19.2.1", "--switch", "sw1")
    hostd.ok("segment", "add", "web", "--vlan", "100", "--switch", "sw1")
    hostd.ok("port", "add", "vm2-eth0", "--mac", "02:00:00:00:01:02", "--segment", "app",
             "--vm", "vm2")
    wait_dpu(hostd, "h1-d1", lambda d: d["config"] == "in-sync")
    assert overlay_state(d1)[2] == ("198.19.1.1", "vmnic0")

    for kind, name in (("port", "vm2-eth0"), ("segment", "app"), ("segment", "web"),
                       ("switch", "sw1")):
        hostd.ok(kind, "del", name)
    d = wait_dpu(hostd, "h1-d1", lambda d: d["config"] == "error")
    assert "TEP 198.19.1.1 on vmnic0" in d["error"] and "take a TEP away" in d["error"], d
    assert d1.call("segment.list") == []
    assert [(p["name"], p["segments"]) for p in d1.call("port.list")] == [("vmnic0", [])]
    assert overlay_state(d1)[2] == ("198.19.1.1", "vmnic0")
