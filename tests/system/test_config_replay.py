# SPDX-License-Identifier: BSD-3-Clause
"""config.save always replays.

A change that would leave the saved config unreplayable is refused with an
error that names what depends on the object (or the dependent state goes
with it), user names never collide with generated ones (the tep-<address>
ports of peer TEPs), and a fresh dse-dpud started with the saved calls has
the same state and saves the same calls.  The property test drives a real
dse-dpud with a long seeded random sequence of valid and invalid calls and
checks all of this; the other tests pin each case down on its own."""
import json
import os
import random

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
        "fdb.list": sorted((e["segment"], e["mac"].lower(), e["port"], e["static"])
                           for e in d.call("fdb.list")),
        "fdb.config.set": d.call("fdb.config.set"),
        "tep.show": tep,
        "fw.rule.list": d.call("fw.rule.list"),
        "fw.config.set": d.call("fw.config.set"),
        "log.set": d.call("log.set"),
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
            dpud.call("port.add", check=False, params=port_config(name, segment="ov",
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
    assert dpud.call("fdb.config.set", max_entries=2)["entries"] == 3
    second = assert_replays(lab, dpud)
    assert second.call("fdb.config.set")["max_entries"] == 2


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


# ---- the random calls ----

PORTS = ["p1", "p2", "p3", "p4"]
SEGMENTS = ["s1", "s2", "s3", "s4"]
PEERS = ["198.19.0.2", "198.19.0.3", "198.19.0.4"]
TEP_IPS = ["198.19.0.1", "198.19.0.5"]
MACS = ["02:00:00:00:aa:%02x" % i for i in range(1, 5)]
RULE_IDS = [1, 2, 3, 4, 5]
# 8 rounds of 60 calls, each round ending in a save and a replay.
ROUNDS, CALLS = 8, 60
# A port name in the namespace of the peer TEPs' virtual ports, on a cable of its own.
RESERVED_PORT = ("tep-198.19.0.2", "net_af_packet_q1,iface=q1")


def view(saved):
    """What config.save says exists: {segments: {name: params}, ports: {...}, ...}."""
    v = {"segments": {}, "ports": {}, "fdb": [], "rules": [], "tep": None}
    for c in saved:
        p = c["params"]
        if c["method"] == "segment.add":
            v["segments"][p["name"]] = p
        elif c["method"] == "port.add":
            v["ports"][p["name"]] = p
        elif c["method"] == "fdb.add":
            v["fdb"].append(p)
        elif c["method"] == "fw.rule.add":
            v["rules"].append(p["id"])
        elif c["method"] == "tep.set":
            v["tep"] = p
    return v


def some(rng, items, k=None):
    items = list(items)
    return rng.sample(items, rng.randint(0, len(items)) if k is None else min(k, len(items)))


def maybe(rng, items, p=0.85):
    """Mostly one of 'items' (things that exist), sometimes a name that does not."""
    items = list(items)
    return rng.choice(items) if items and rng.random() < p else rng.choice(["nope", "s9", "p9"])


def g_segment_add(rng, v):
    name = rng.choice(SEGMENTS) if rng.random() < 0.95 else rng.choice(["", "bad name", "x" * 32])
    if rng.random() < 0.6:
        return "segment.add", {"name": name, "vlan": rng.choice([100, 200, 300, 4094, 0, 4095])}
    peers = some(rng, PEERS)
    if rng.random() < 0.1:
        peers.append(rng.choice(TEP_IPS + ["not-an-ip"]))
    return "segment.add", {"name": name, "vni": rng.choice([5001, 5002, 5003]), "peers": peers}


def g_segment_del(rng, v):
    return "segment.del", {"name": maybe(rng, v["segments"])}


def g_segment_set(rng, v):
    return "segment.set", {"name": maybe(rng, v["segments"]), "peers": some(rng, PEERS)}


def port_segment_params(rng, v, mode, params):
    vlan_segs = [n for n, s in v["segments"].items() if "vlan" in s]
    if mode == "trunk":
        params["segments"] = some(rng, vlan_segs if rng.random() < 0.9 else v["segments"])
    elif rng.random() < 0.8:
        params["segment"] = maybe(rng, v["segments"])


def g_port_add(rng, v):
    if rng.random() < 0.08:
        name, devargs = RESERVED_PORT
    else:
        name, devargs = rng.choice(PORTS), None
    call = port_config(name, mode=rng.choice(["access", "access", "trunk"]), devargs=devargs)
    p = call["params"]
    port_segment_params(rng, v, p["mode"], p)
    if rng.random() < 0.3:
        p["mtu"] = rng.choice([1400, 1500, 68, 9000])
    if rng.random() < 0.5:
        p["uplink"] = rng.random() < 0.7
    return "port.add", p


def g_port_set(rng, v):
    p = {"name": maybe(rng, v["ports"])}
    r = rng.random()
    if r < 0.4:
        p["uplink"] = rng.random() < 0.5
    elif r < 0.6:
        p["mtu"] = rng.choice([1400, 1500, 68, 9000])
    else:
        cur = v["ports"].get(p["name"], {}).get("mode", "access")
        mode = rng.choice(["access", "trunk"]) if rng.random() < 0.3 else cur
        if mode != cur:
            p["mode"] = mode
        port_segment_params(rng, v, mode, p)
    return "port.set", p


def g_port_del(rng, v):
    return "port.del", {"name": maybe(rng, v["ports"], 0.9)}


def g_fdb_add(rng, v):
    pairs = [(s, n) for n, p in v["ports"].items()
             for s in ([p["segment"]] if "segment" in p else p.get("segments", []))]
    if pairs and rng.random() < 0.8:
        seg, port = rng.choice(pairs)
    else:
        seg, port = maybe(rng, v["segments"]), maybe(rng, v["ports"])
    return "fdb.add", {"segment": seg, "mac": rng.choice(MACS), "port": port}


def g_fdb_del(rng, v):
    if v["fdb"] and rng.random() < 0.7:
        e = rng.choice(v["fdb"])
        return "fdb.del", {"segment": e["segment"], "mac": e["mac"]}
    return "fdb.del", {"segment": maybe(rng, v["segments"]), "mac": rng.choice(MACS)}


def g_fdb_flush(rng, v):
    p = {}
    if rng.random() < 0.5:
        p["segment"] = maybe(rng, v["segments"])
    if rng.random() < 0.5:
        p["port"] = maybe(rng, v["ports"])
    if rng.random() < 0.5:
        p["static"] = rng.random() < 0.5
    return "fdb.flush", p


def g_fdb_config(rng, v):
    p = {}
    if rng.random() < 0.7:
        p["max_entries"] = rng.choice([1, 2, 3, 100, 16384, 0])
    if rng.random() < 0.5:
        p["ageing_time"] = rng.choice([0, 60, 300])
    return "fdb.config.set", p


def g_tep_set(rng, v):
    uplinks = [n for n, p in v["ports"].items() if p.get("uplink")]
    uplink = rng.choice(uplinks) if uplinks and rng.random() < 0.8 else maybe(rng, v["ports"])
    ip = rng.choice(TEP_IPS) if rng.random() < 0.85 else rng.choice(PEERS + ["0.0.0.0", "x"])
    return "tep.set", {"ip": ip, "uplink": uplink}


def g_fw_policy(rng, v):
    return "fw.policy.set", {"segment": maybe(rng, v["segments"]),
                         "default": rng.choice(["allow", "deny", "off", "off", "maybe"])}


def g_fw_rule_add(rng, v):
    p = {"id": rng.choice(RULE_IDS), "action": rng.choice(["allow", "drop", "reject"]),
         "priority": rng.randint(-5, 5)}
    proto = rng.choice(["any", "tcp", "udp", "icmp", "icmpv6", None])
    if proto:
        p["proto"] = proto
    if proto in ("tcp", "udp") and rng.random() < 0.5:
        p["dport"] = rng.choice([80, "1000-2000", 0])
    if proto == "icmp" and rng.random() < 0.5:
        p["icmp_type"] = 8
    if rng.random() < 0.3:
        p["src"] = rng.choice(["198.18.0.0/24", "198.18.0.1", "2001:db8::/32", "any"])
    if rng.random() < 0.3:
        p["direction"] = rng.choice(["in", "out", "any"])
    if rng.random() < 0.4:
        p["segment"] = maybe(rng, v["segments"])
    if rng.random() < 0.4:
        p["port"] = maybe(rng, v["ports"])
    return "fw.rule.add", p


def g_fw_rule_del(rng, v):
    ids = v["rules"] if v["rules"] and rng.random() < 0.8 else RULE_IDS
    return "fw.rule.del", {"id": rng.choice(ids)}


def g_fw_config(rng, v):
    p = {}
    if rng.random() < 0.5:
        p["max_conns"] = rng.choice([100, 1000, 65536])
    for k in some(rng, ["tcp_syn", "tcp_established", "udp", "icmp", "other"], 2):
        p[k] = rng.choice([1, 30, 3600])
    return "fw.config.set", p


def g_log_level(rng, v):
    return "log.set", {"level": rng.choice(["info", "notice", "warn", "err", "loud"])}


def g_no_change(rng, v):
    """Calls that change no config: their answers do not matter, config.save must not move."""
    return rng.choice([("flow.flush", {}), ("fw.conn.flush", {}), ("fdb.config.set", {}),
                       ("fw.config.set", {}), ("clock.advance", {"seconds": 30}),
                       ("fdb.list", {"port": maybe(rng, v["ports"])})])


def changes_nothing(method, params):
    """True for the calls that must leave config.save as it was even when they succeed."""
    return (method in ("flow.flush", "fw.conn.flush", "clock.advance")
            or method.endswith(".show")
            or (method in ("fdb.config.set", "fw.config.set") and not params))  # these only show


GENERATORS = [
    (g_segment_add, 8), (g_segment_del, 4), (g_segment_set, 3),
    (g_port_add, 8), (g_port_set, 12), (g_port_del, 4),
    (g_fdb_add, 6), (g_fdb_del, 2), (g_fdb_flush, 1), (g_fdb_config, 2),
    (g_tep_set, 5), (g_fw_policy, 3), (g_fw_rule_add, 4), (g_fw_rule_del, 2),
    (g_fw_config, 1), (g_log_level, 1), (g_no_change, 2),
]


def random_calls(dpud, rng, n, log):
    """Makes 'n' random calls; checks that each refusal is a clean error that changes nothing."""
    funcs, weights = zip(*GENERATORS)
    saved = dpud.call("config.save")
    for _ in range(n):
        method, params = rng.choices(funcs, weights)[0](rng, view(saved))
        try:
            dpud.call(method, params, check=False)
            log.append("ok   %s %s" % (method, json.dumps(params)))
        except RpcError as e:
            log.append("err  %s %s -> %s" % (method, json.dumps(params), e.message))
            assert e.code in (-32602, -32000), "%s answered %s" % (method, e)
            after = dpud.call("config.save")
            assert after == saved, "the refused call %s %s changed the config: %s -> %s" % (
                method, params, saved, after)
            continue
        after = dpud.call("config.save")
        if changes_nothing(method, params):
            assert after == saved, "%s %s changed the config: %s -> %s" % (
                method, params, saved, after)
        saved = after


def test_config_save_replays_after_a_long_random_sequence_of_calls(lab):
    """Steps: a dse-dpud with four cables (p1..p4) and one more (q1); 8 rounds
    of 60 random calls (seeded: the seed is in the failure, DSE_REPLAY_SEED=N
    repeats a run) over segment.add/del/set, port.add/set/del,
    fdb.add/del/flush/config, tep.set, fw.policy, fw.rule.add/del, fw.config,
    log.level and calls that change no config, valid and invalid ones; after
    each round config.save, stop the daemon and start a fresh one with the
    saved calls, which the next round goes on with.
    Verify: each refused call gets an invalid-params or application error
    and leaves config.save as it was, and so do the calls that change no
    config; every saved config replays; the fresh
    daemon's config.save, segment.list, port.list (without counters and
    DPDK ids), fdb.show, fdb.config, tep.show, fw.rule.list, fw.config and
    log.level equal the first one's.  (Fails before the change: a tep.set
    uplink later set to uplink false, or an FDB limit below the static
    entries, make the saved config fail to replay.)"""
    seed = int(os.environ.get("DSE_REPLAY_SEED") or random.SystemRandom().randrange(1 << 32))
    rng = random.Random(seed)
    for i, name in enumerate(PORTS + ["q1"], 1):
        lab.add_vm(name, index=i, ip="")
    dpud = lab.start_dpud([])
    log = []
    try:
        for round_ in range(ROUNDS):
            random_calls(dpud, rng, CALLS, log)
            dpud = assert_replays(lab, dpud, "round %d: " % (round_ + 1))
            log.append("---- replayed")
    except Exception as e:  # whatever went wrong, say how to repeat it
        raise AssertionError("DSE_REPLAY_SEED=%d: %s: %s\ncalls:\n%s"
                             % (seed, type(e).__name__, e, "\n".join(log))) from e
