# SPDX-License-Identifier: BSD-3-Clause
"""config.save always replays.

A change that would leave the saved config unreplayable is refused with an
error that names what depends on the object (or the dependent state goes
with it), user names never collide with generated ones (the tep-<address>
ports of peer TEPs), and a fresh dse-dpud started with the saved calls has
the same state and saves the same calls.  Each test pins one case down."""
import json

import pytest

from lab import LabError, RpcError, port_config

# ---- the state a config.save describes, and comparing two daemons ----


def state(d):
    """Everything a replay must reproduce, in a form two daemons can be compared by.

    Left out: counters, DPDK port ids (a replay numbers the ports afresh) and
    the order of tep.show's peers (the order their virtual ports were made)."""
    tep = d.call("tep.show")
    tep["peers"] = sorted(tep["peers"], key=lambda p: p["ip"])
    return {
        "config.save": d.call("config.save"),
        "segment.list": d.call("segment.list"),
        "port.list": [{k: v for k, v in p.items() if k not in ("stats", "port_id")}
                      for p in d.call("port.list")],
        "fdb.show": sorted((e["segment"], e["mac"].lower(), e["port"], e["static"])
                           for e in d.call("fdb.show")),
        "fdb.config": d.call("fdb.config"),
        "tep.show": tep,
        "fw.rule.list": d.call("fw.rule.list"),
        "fw.config": d.call("fw.config"),
        "log.level": d.call("log.level"),
    }


def differences(want, got):
    return {k: {"before": want[k], "after replay": got.get(k)} for k in want
            if want[k] != got.get(k)}


def replay(lab, first, what=""):
    """config.save of 'first', stop it, start a fresh dse-dpud with the saved calls.

    Returns (saved state, the fresh daemon).  Raises AssertionError when the
    fresh daemon refuses the saved config."""
    want = state(first)
    assert first.stop() == 0, "dse-dpud did not exit cleanly:\n" + first.log()
    try:
        second = lab.start_dpud(want["config.save"])
    except LabError as e:
        raise AssertionError("%sthe saved config does not replay: %s\nsaved: %s"
                             % (what, e, json.dumps(want["config.save"]))) from None
    return want, second


def assert_replays(lab, first, what=""):
    """The fresh daemon started from first's config.save has first's state; returns it."""
    want, second = replay(lab, first, what)
    got = state(second)
    assert got == want, "%sreplay differs: %s" % (what, json.dumps(differences(want, got)))
    return second


# ---- the cases one by one ----


def uplink_port(name, **kw):
    call = port_config(name, **kw)
    call["params"]["uplink"] = True
    return call


def test_port_names_of_peer_teps_are_reserved(lab):
    """Steps: port.add a port named tep-198.19.0.2, then TEP-198.19.0.9; add
    an overlay segment with peer 198.19.0.2 and an ordinary port p1.
    Verify: both port.add calls are refused as invalid params with an error
    that says tep- names are kept for peer TEPs; fdb.show, tep.show and
    port.list never show a user port of such a name.  (Before the change the
    port was added and fdb.show could name two different ports alike.)"""
    lab.add_vm("p1", ip="")
    dpud = lab.start_dpud([{"method": "segment.add",
                            "params": {"name": "ov", "vni": 5001, "peers": ["198.19.0.2"]}}])
    for name in ("tep-198.19.0.2", "TEP-198.19.0.9"):
        with pytest.raises(RpcError, match="reserved|kept") as e:
            dpud.call("port.add", port_config(name, segment="ov",
                                              devargs="net_af_packet_p1,iface=p1")["params"])
        assert e.value.code == -32602 and "tep-" in e.value.message, e.value
    assert dpud.call("port.list") == []
    dpud.call("port.add", port_config("p1", segment="ov")["params"])
    assert list(dpud.ports()) == ["p1"]
    assert [p["port"] for p in dpud.call("tep.show")["peers"]] == ["tep-198.19.0.2"]
    assert_replays(lab, dpud)


def test_the_uplink_that_carries_the_tep_stays_an_uplink(lab):
    """Steps: port.add u1 as an uplink (trunk), tep.set on it; port.set u1
    uplink false; port.add u2 (uplink), tep.set on u2, port.set u1 uplink
    false again; config.save and replay it.
    Verify: the first port.set is refused with an error naming the TEP and
    tep.set, u1 stays an uplink; once the TEP moved to u2, u1 may stop being
    an uplink; the saved config replays to the same state.  (Before the
    change the first port.set was accepted and the saved config made a fresh
    dse-dpud fail with "tep.set failed: port is not an uplink".)"""
    lab.add_vm("u1", ip="")
    lab.add_vm("u2", ip="")
    dpud = lab.start_dpud([uplink_port("u1", mode="trunk", segments=[])])
    dpud.call("tep.set", ip="198.19.0.1", uplink="u1")
    with pytest.raises(RpcError, match=r"u1.*TEP.*tep\.set") as e:
        dpud.call("port.set", name="u1", uplink=False)
    assert e.value.code == -32000
    assert dpud.ports()["u1"]["uplink"] is True
    dpud.call("port.add", uplink_port("u2", mode="trunk", segments=[])["params"])
    dpud.call("tep.set", ip="198.19.0.1", uplink="u2")
    dpud.call("port.set", name="u1", uplink=False)
    assert dpud.call("tep.show")["uplink"] == "u2"
    assert_replays(lab, dpud)


def test_an_fdb_limit_below_the_static_entries_still_replays(lab):
    """Steps: three static FDB entries on p1; fdb.config max_entries 2;
    config.save and replay it.
    Verify: the fresh daemon has the three entries and max_entries 2, and
    saves the same calls.  (Before the change config.save wrote fdb.config
    first, so the third fdb.add of the replay failed: the FDB is full.)"""
    lab.add_vm("p1", ip="")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           port_config("p1", segment="a")])
    for m in ("02:00:00:00:aa:01", "02:00:00:00:aa:02", "02:00:00:00:aa:03"):
        dpud.call("fdb.add", segment="a", mac=m, port="p1")
    assert dpud.call("fdb.config", max_entries=2)["entries"] == 3
    second = assert_replays(lab, dpud)
    assert second.call("fdb.config")["max_entries"] == 2


def test_config_save_writes_static_entries_in_one_order(lab):
    """Steps: add static entries in segments b then a (b made first) in a
    shuffled order of MACs, delete and re-add some; config.save; replay.
    Verify: the fdb.add calls of config.save come by segment (in the order
    the segments are saved) and MAC, whatever the order they were made in,
    so two daemons with the same entries save the same calls."""
    lab.add_vm("p1", ip="")
    lab.add_vm("p2", ip="")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "b", "vlan": 200}},
                           {"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           port_config("p1", segment="b"), port_config("p2", segment="a")])
    macs = ["02:00:00:00:aa:%02x" % i for i in (7, 3, 9, 1, 5)]
    for m in macs:
        dpud.call("fdb.add", segment="a", mac=m, port="p2")
        dpud.call("fdb.add", segment="b", mac=m, port="p1")
    for m in macs[1:4]:
        dpud.call("fdb.del", segment="a", mac=m)
    for m in reversed(macs[1:4]):
        dpud.call("fdb.add", segment="a", mac=m, port="p2")
    saved = [(c["params"]["segment"], c["params"]["mac"]) for c in dpud.call("config.save")
             if c["method"] == "fdb.add"]
    assert saved == [("b", m) for m in sorted(macs)] + [("a", m) for m in sorted(macs)], saved
    assert_replays(lab, dpud)



def test_the_tep_address_and_the_peers_refuse_each_other_by_name(lab):
    """Steps: overlay segment ov with peer 198.19.0.2; an uplink u1; tep.set
    198.19.0.2 on u1; tep.set 198.19.0.1 on u1; segment.set ov peers
    [198.19.0.1].
    Verify: the first tep.set is refused with an error that names segment ov
    and segment.set; the second is accepted; the segment.set is refused (our
    own address); the saved config replays.  (Before the change the error
    named no segment.)"""
    lab.add_vm("u1", ip="")
    dpud = lab.start_dpud([{"method": "segment.add",
                            "params": {"name": "ov", "vni": 5001, "peers": ["198.19.0.2"]}},
                           uplink_port("u1", mode="trunk", segments=[])])
    with pytest.raises(RpcError, match=r"peer TEP of segment 'ov'.*segment\.set") as e:
        dpud.call("tep.set", ip="198.19.0.2", uplink="u1")
    assert e.value.code == -32000
    dpud.call("tep.set", ip="198.19.0.1", uplink="u1")
    with pytest.raises(RpcError, match="our own TEP address"):
        dpud.call("segment.set", name="ov", peers=["198.19.0.1"])
    assert_replays(lab, dpud)
