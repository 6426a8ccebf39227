# SPDX-License-Identifier: BSD-3-Clause
"""System tests of the host side of the distributed firewall: dse-hostd and dsectl.

Like tests/system/test_hostd.py (whose daemon fixture and fake DPU they use),
each test runs its own dse-hostd in its own network namespace and drives it
only through 'dsectl'.  The fake DPUs serve dse-dpud's fw.* methods over
mutual TLS; a test reads what the host pushed on a fake DPU's Unix socket,
sets the hit counters and tracked connections a datapath would have, and
stops a DPU to see how the host reports it.

The tests in the real lab (dse-lab, dse-dpud) are in test_hostd_lab.py.
"""
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lab as labmod  # noqa: E402
from test_hostd import (IDENTITY, FakeDpuLink, hostd, wait_dpu, write)  # noqa: E402,F401

PAIR_PROFILE = """\
switches:
  - {name: sw1, mode: active-standby, dpus: [h1-d1, h1-d2], uplinks: [vmnic0, vmnic2]}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: db, switch: sw1, vlan: 200}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: web, vm: vm1}
firewall:
  policies:
    - {segment: web, default: deny}
  rules:
    - {id: 1, priority: 10, proto: icmp, action: allow}
    - {id: 2, segment: web, proto: tcp, dport: 22, src: 10.0.0.0/8, direction: in,
       action: allow}
    - {id: 3, port: vm1-eth0, proto: udp, sport: 1000-2000, direction: out, action: reject}
"""


def fw_state(link):
    """What a fake DPU holds of the firewall: ({segment: default}, {id: rule})."""
    pols = {c["params"]["segment"]: c["params"]["default"]
            for c in link.call("config.save") if c["method"] == "fw.policy.set"}
    rules = {r["id"]: r for r in link.call("fw.rule.list")}
    return pols, rules


def two_dpus(hostd):
    """Fake DPUs h1-d1 and h1-d2 (identical but for the serial) on int-d1 and int-d2."""
    hostd.stop()
    d1 = FakeDpuLink(hostd, 1, hostd.state, IDENTITY)
    d2 = FakeDpuLink(hostd, 2, hostd.state, dict(IDENTITY, serial="MT2334X00002"))
    hostd.start()
    for name in ("h1-d1", "h1-d2"):
        wait_dpu(hostd, name, lambda d: d["state"] == "connected")
    return d1, d2


def in_sync(hostd):
    for name in ("h1-d1", "h1-d2"):
        wait_dpu(hostd, name, lambda d: d["config"] == "in-sync")


def test_hostd_fw_rules_and_policies_reach_the_dpus(hostd):
    """Firewall policies and rules of the host profile are pushed to the DPUs they apply to.

    Steps: with an active-standby pair h1-d1 (active) + h1-d2, apply a profile
    with a deny policy on segment web and three rules: one without scope, one
    on segment web, one on VM port vm1-eth0; set hit counters on both fake
    DPUs; delete a rule behind the host's back on h1-d1; change a rule and
    the policy with dsectl; export and apply the profile again.
    Verify: both DPUs get the policy and every rule, the rule of the VM port
    too (the standby holds the VM ports, its datapath held); the rules as dse-dpud lists them (with "any",
    family, hits) count as in sync: a reconcile for another change pushes
    no firewall call again; 'fw rule list'
    sums the hits over the DPUs and gives each DPU's count, in evaluation
    order; the rule removed behind the host's back comes back; a changed
    rule is replaced; policy off removes it from both DPUs; the export
    applies with no change.
    """
    d1, d2 = two_dpus(hostd)
    r = hostd.ok("config", "apply", "-f", write(hostd.tmp, "p.yaml", PAIR_PROFILE))
    assert sorted((c["kind"], c["name"]) for c in r["changes"] if c["kind"] in
                  ("policy", "rule")) == [("policy", "web"), ("rule", "1"), ("rule", "2"),
                                          ("rule", "3")], r
    in_sync(hostd)
    pols, rules = labmod.wait_for(lambda: fw_state(d1), lambda s: len(s[1]) == 3, timeout=10)
    assert pols == {"web": "deny"}, pols
    assert sorted(rules) == [1, 2, 3], rules
    assert rules[2]["segment"] == "web" and rules[2]["dport"] == 22 and rules[2]["family"] == 4
    assert rules[2]["src"] == "10.0.0.0/8" and rules[2]["direction"] == "in"
    assert rules[3]["port"] == "vm1-eth0" and rules[3]["sport"] == "1000-2000"
    assert rules[3]["action"] == "reject" and rules[1]["family"] == 4
    pols2, rules2 = fw_state(d2)
    assert pols2 == {"web": "deny"} and sorted(rules2) == [1, 2, 3], (pols2, rules2)
    shown = hostd.ok("dpu", "show", "h1-d2")["desired"]
    assert [x["id"] for x in shown["rules"]] == [1, 2, 3], shown

    # In sync: a reconcile for another change reads the rules back as dse-dpud lists them
    # (with "any", family, hits) and pushes no firewall call again.
    def fw_calls(d):
        return [c for c in d.mutations() if c["method"].startswith("fw.")]

    before = [len(fw_calls(d)) for d in (d1, d2)]
    hostd.ok("segment", "add", "app", "--vlan", "300", "--switch", "sw1")
    for d in (d1, d2):
        labmod.wait_for(lambda: {s["name"] for s in d.call("segment.list")},
                        lambda s: "app" in s, timeout=10)
    in_sync(hostd)
    assert [len(fw_calls(d)) for d in (d1, d2)] == before, (fw_calls(d1), fw_calls(d2))

    d1.call("test.hits", {"id": 1, "hits": 5})
    d2.call("test.hits", {"id": 1, "hits": 7})
    d1.call("test.hits", {"id": 3, "hits": 2})
    listed = hostd.ok("fw", "rule", "list")
    assert [x["id"] for x in listed["rules"]] == [1, 2, 3], listed  # priority 10 first
    hits = {x["id"]: (x["hits"], x["dpus"]) for x in listed["rules"]}
    assert hits == {1: (12, {"h1-d1": 5, "h1-d2": 7}), 2: (0, {"h1-d1": 0, "h1-d2": 0}),
                    3: (2, {"h1-d1": 2, "h1-d2": 0})}, hits
    assert [(x["name"], x["error"]) for x in listed["dpus"]] == [("h1-d1", None),
                                                                 ("h1-d2", None)]
    t = hostd.ctl("fw", "rule", "list", json_out=False)
    assert t.rc == 0, t
    header, first = t.text.splitlines()[:2]
    assert header.split()[:3] == ["ID", "PRIO", "SEGMENT"] and "HITS" in header, t.text
    assert first.split()[0] == "1" and first[header.index("HITS"):].split()[0] == "12", t.text
    assert "h1-d1=5,h1-d2=7" in first, t.text

    # Behind the host's back: a rule goes on h1-d1; the host puts it back.
    d1.call("fw.rule.del", {"id": 2})
    labmod.wait_for(lambda: fw_state(d1)[1], lambda r: 2 in r, timeout=10)
    assert 2 in fw_state(d1)[1]

    # dsectl: replace rule 2, turn the policy off.
    hostd.ok("fw", "rule", "del", "2")
    r = hostd.ok("fw", "rule", "add", "2", "--action", "drop", "--proto", "tcp", "--dport",
                 "23-25", "--segment", "web", "--priority", "-5")
    assert r == {"changes": [{"action": "add", "kind": "rule", "name": "2"}]}, r
    rules = labmod.wait_for(lambda: fw_state(d2)[1],
                            lambda r: r.get(2, {}).get("action") == "drop", timeout=10)
    assert rules[2]["dport"] == "23-25" and rules[2]["priority"] == -5, rules
    r = hostd.ok("fw", "policy", "set", "web", "off")
    assert r == {"changes": [{"action": "delete", "kind": "policy", "name": "web"}]}, r
    for d in (d1, d2):
        pols = labmod.wait_for(lambda: fw_state(d)[0], lambda p: p == {}, timeout=10)
        assert pols == {}, pols
    assert hostd.ok("fw", "policy", "list") == []
    hostd.ok("fw", "policy", "set", "db", "deny")
    assert hostd.ok("fw", "policy", "list") == [{"segment": "db", "default": "deny"}]

    # The export applies with no change, as YAML and as JSON.
    y = hostd.tmp / "export.yaml"
    assert hostd.ctl("config", "export", "-o", y).rc == 0
    assert "firewall:" in y.read_text()
    assert hostd.ok("config", "apply", "-f", y)["changes"] == []
    exported = hostd.ok("config", "export")
    assert [x["id"] for x in exported["firewall"]["rules"]] == [1, 2, 3]
    j = write(hostd.tmp, "export.json", json.dumps(exported))
    assert hostd.ok("config", "apply", "-f", j)["changes"] == []
    in_sync(hostd)


def test_hostd_fw_conn_list_fans_out_and_reports_unreachable_dpus(hostd):
    """'dsectl fw conn list' and 'flush' ask every DPU and merge the answers.

    Steps: two DPUs serve switches of their own (h1-d1: segment web, h1-d2:
    segment db), each with tracked connections; list them without and with
    filters, with a limit; stop h1-d2 (SIGSTOP) and list and flush again;
    ask for a state dse-dpud does not know.
    Verify: the list holds both DPUs' connections, each naming its DPU, and
    the total is the sum; the filters reach the DPUs as given and a segment
    filter asks only the DPU that holds the segment; the limit caps the
    merged list; with h1-d2 stopped the call still answers (exit 0) with
    h1-d1's connections and h1-d2 reported with its error, also in the table
    for people; flush removes on every DPU reached and reports the one not
    reached; a state every DPU refuses is an error (exit 1) with dse-dpud's
    message.
    """
    d1, d2 = two_dpus(hostd)
    prof = {"switches": [{"name": "sw1", "mode": "independent", "dpus": ["h1-d1"]},
                         {"name": "sw2", "mode": "independent", "dpus": ["h1-d2"]}],
            "segments": [{"name": "web", "switch": "sw1", "vlan": 100},
                         {"name": "db", "switch": "sw2", "vlan": 200}],
            "firewall": {"policies": [{"segment": "web", "default": "allow"},
                                      {"segment": "db", "default": "allow"}]}}
    hostd.ok("config", "apply", "-f", write(hostd.tmp, "p.json", json.dumps(prof)))
    in_sync(hostd)

    def conn(seg, proto, src, dst, sport, dport, state):
        return {"segment": seg, "proto": proto, "src": src, "dst": dst, "sport": sport,
                "dport": dport, "state": state, "age": 1.5, "idle": 0.5, "timeout": 30.0,
                "packets": [3, 2], "bytes": [300, 200], "rule": 0}

    d1.call("test.conns", {"conns": [
        conn("web", "icmp", "198.18.1.1", "198.18.1.2", 7, 0, "REPLIED"),
        conn("web", "tcp", "198.18.1.1", "198.18.1.2", 40000, 22, "ESTABLISHED")]})
    d2.call("test.conns", {"conns": [
        conn("db", "tcp", "198.18.2.1", "198.18.2.2", 40001, 5432, "ESTABLISHED"),
        conn("db", "udp", "198.18.2.1", "198.18.2.9", 5353, 53, "UNREPLIED")]})

    r = hostd.ok("fw", "conn", "list")
    assert r["total"] == 4 and len(r["conns"]) == 4, r
    assert sorted((c["dpu"], c["proto"]) for c in r["conns"]) == [
        ("h1-d1", "icmp"), ("h1-d1", "tcp"), ("h1-d2", "tcp"), ("h1-d2", "udp")], r
    assert [(d["name"], d["state"], d["error"], d["total"]) for d in r["dpus"]] == [
        ("h1-d1", "connected", None, 2), ("h1-d2", "connected", None, 2)], r

    r = hostd.ok("fw", "conn", "list", "--proto", "tcp", "--state", "ESTABLISHED",
                 "--addr", "198.18.0.0/16", "--port", "22")
    assert [(c["dpu"], c["dport"]) for c in r["conns"]] == [("h1-d1", 22)], r
    sent = [json.loads(x)["params"] for x in d2.calls.read_text().splitlines()
            if json.loads(x)["method"] == "fw.conn.list"][-1]
    assert sent == {"proto": "tcp", "state": "ESTABLISHED", "addr": "198.18.0.0/16",
                    "port": 22}, sent
    asked = len([x for x in d2.calls.read_text().splitlines() if "fw.conn.list" in x])
    r = hostd.ok("fw", "conn", "list", "--segment", "web")
    assert {c["dpu"] for c in r["conns"]} == {"h1-d1"} and r["total"] == 2, r
    assert [d["name"] for d in r["dpus"]] == ["h1-d1"], r
    assert len([x for x in d2.calls.read_text().splitlines() if "fw.conn.list" in x]) == asked
    r = hostd.ok("fw", "conn", "list", "--limit", "3")
    assert len(r["conns"]) == 3 and r["total"] == 4, r

    r = hostd.ctl("fw", "conn", "list", "--state", "BOGUS")
    assert r.rc == 1 and "parameter 'state'" in r.err and "BOGUS" in r.err, r
    r = hostd.ctl("fw", "conn", "list", "--segment", "nope")
    assert r.rc == 1 and "no segment 'nope'" in r.err, r

    os.kill(d2.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = hostd.ok("fw", "conn", "list")
        assert time.monotonic() - t0 < 5, "a stopped DPU held the call for %.1f s" % (
            time.monotonic() - t0)
        assert {c["dpu"] for c in r["conns"]} == {"h1-d1"} and r["total"] == 2, r
        bad = [d for d in r["dpus"] if d["name"] == "h1-d2"][0]
        assert bad["error"] and bad["state"] != "connected", r
        t = hostd.ctl("fw", "conn", "list", json_out=False)
        assert t.rc == 0 and "h1-d2 (" in t.text and "without 1 DPU" in t.text, t
        assert "ESTABLISHED" in t.text and "198.18.1.2" in t.text, t
        r = hostd.ok("fw", "conn", "flush", "--proto", "tcp")
        assert r["removed"] == 1, r
        assert [(d["name"], d.get("removed"), bool(d["error"])) for d in r["dpus"]] == [
            ("h1-d1", 1, False), ("h1-d2", None, True)], r
    finally:
        os.kill(d2.proc.pid, signal.SIGCONT)
    assert [c["proto"] for c in d1.call("fw.conn.list")["conns"]] == ["icmp"]
    wait_dpu(hostd, "h1-d2", lambda d: d["state"] == "connected", timeout=20)
    r = hostd.ok("fw", "conn", "flush")
    assert r["removed"] == 3, r
    assert hostd.ok("fw", "conn", "list")["total"] == 0


def test_hostd_fw_commands_refuse_bad_input(hostd):
    """The fw commands refuse bad input with what to do, and change nothing.

    Verify: each bad command line exits 2 with the problem and the usage;
    each refused change exits 1 with dse-hostd's reason; the revision did
    not move; a segment or port the firewall names can not be deleted.
    """
    hostd.ok("switch", "add", "sw1", "--mode", "single", "--dpu", "h1-d1")
    hostd.ok("segment", "add", "web", "--vlan", "100", "--switch", "sw1")
    hostd.ok("port", "add", "vm1-eth0", "--mac", "02:00:00:00:01:01", "--segment", "web",
             "--vm", "vm1")
    hostd.ok("fw", "rule", "add", "7", "--action", "allow", "--port", "vm1-eth0")
    hostd.ok("fw", "policy", "set", "web", "deny")
    rev = hostd.ok("host", "show")["store"]["revision"]
    usage = [
        (["fw", "rule", "add"], "ID is missing"),
        (["fw", "rule", "add", "x", "--action", "allow"], "--id takes a number"),
        (["fw", "rule", "add", "5"], "--action is missing"),
        (["fw", "rule", "add", "5", "--action", "permit"], "--action takes allow, drop, reject"),
        (["fw", "rule", "add", "5", "--action", "drop", "--direction", "up"],
         "--direction takes in, out, any"),
        (["fw", "rule", "add", "5", "--action", "drop", "--priority", "high"],
         "--priority takes a number"),
        (["fw", "rule", "add", "5", "--action", "drop", "--bogus", "1"],
         "unknown option '--bogus'"),
        (["fw", "rule", "del"], "ID is missing"),
        (["fw", "policy", "set", "web"], "allow|deny|off is missing"),
        (["fw", "policy", "set", "web", "block"], "the policy takes allow, deny, off"),
        (["fw", "conn", "list", "--port", "70000"], "--port takes a number from 0 to 65535"),
        (["fw", "conn", "flush", "--limit", "5"], "unknown option '--limit'"),
        (["fw", "rule", "frobnicate"], "unknown verb 'frobnicate'"),
        (["fw", "frobnicate"], "unknown command 'fw frobnicate'"),
    ]
    for args, needle in usage:
        r = hostd.ctl(*args)
        assert r.rc == 2 and needle in r.err, (args, r)
        assert "--help" in r.err, (args, r)
    refused = [
        (["fw", "rule", "add", "7", "--action", "drop"], "rule 7 already exists"),
        (["fw", "rule", "add", "5", "--action", "drop", "--dport", "80"],
         "dport needs proto tcp or udp"),
        (["fw", "rule", "add", "5", "--action", "drop", "--src", "198.18.1.1/16"],
         "write 198.18.0.0/16"),
        (["fw", "rule", "add", "5", "--action", "drop", "--segment", "dmz"],
         "segment 'dmz', which does not exist"),
        (["fw", "rule", "add", "5", "--action", "drop", "--port", "vm9"],
         "not a VM port of this host"),
        (["fw", "rule", "add", "5", "--action", "drop", "--proto", "sctp"],
         "parameter 'proto' must be any, tcp, udp, icmp, icmpv6"),
        (["fw", "rule", "del", "99"], "no firewall rule 99"),
        (["fw", "policy", "set", "dmz", "deny"], "no segment 'dmz'"),
        (["port", "del", "vm1-eth0"], "scope of 1 firewall rule (7)"),
        (["segment", "del", "web"], "still has 1 port"),
    ]
    for args, needle in refused:
        r = hostd.ctl(*args)
        assert r.rc == 1 and needle in r.err, (args, r)
        assert r.json["error"]["exit"] == 1, (args, r)
    assert hostd.ok("host", "show")["store"]["revision"] == rev
    st = hostd.ok("host", "show")
    assert st["firewall"] == {"policies": 1, "rules": 1}, st
    # A profile's firewall errors point at the file position.
    bad = PAIR_PROFILE.replace("dport: 22", "dport: 99999")
    r = hostd.ctl("config", "apply", "-f", write(hostd.tmp, "bad.yaml", bad))
    assert r.rc == 2 and "bad.yaml:13:41:" in r.err and "firewall.rules[1].dport" in r.err, r


def test_hostd_fw_rules_reach_a_dpu_as_one_change_set(hostd):
    """Reconcile sends the firewall as change sets: one call each, not one per rule.

    Steps: with one fake DPU, apply a profile with a deny policy and 3,000
    rules; then a profile where rule 1 changes, rules 2 and 3 are gone and
    rule 5000 is new; then a profile without the firewall.
    Verify: storing the profile is one change per rule in one answer; the
    DPU received the 3,000 rules and the policy in exactly one
    fw.rule.apply call (no fw.rule.add, no fw.policy.set); the change is one
    call that deletes 2 and 3 and one that carries rules 1 and 5000 (rule 1
    replaced in place), and the DPU then holds 2,999 rules with rule 1
    changed; without the firewall one call deletes every rule and turns the
    policy off.
    """
    hostd.stop()
    d1 = FakeDpuLink(hostd, 1, hostd.state, IDENTITY)
    hostd.start()
    wait_dpu(hostd, "h1-d1", lambda d: d["state"] == "connected")

    def profile(rules):
        return {"switches": [{"name": "sw1", "mode": "single", "dpus": ["h1-d1"],
                              "uplinks": ["vmnic0"]}],
                "segments": [{"name": "web", "switch": "sw1", "vlan": 100}],
                "firewall": {"policies": [{"segment": "web", "default": "deny"}] if rules else [],
                             "rules": rules}}

    rules = [{"id": i, "proto": "tcp", "dport": 1 + i % 60000, "segment": "web",
              "action": "allow" if i % 2 else "drop"} for i in range(1, 3001)]
    r = hostd.ok("config", "apply", "-f", write(hostd.tmp, "p.json", json.dumps(profile(rules))))
    assert sum(c["kind"] == "rule" for c in r["changes"]) == 3000
    wait_dpu(hostd, "h1-d1", lambda d: d["config"] == "in-sync", timeout=30)
    fw = [c for c in d1.mutations() if c["method"].startswith("fw.")]
    assert [c["method"] for c in fw] == ["fw.rule.apply"], [c["method"] for c in fw][:5]
    assert len(fw[0]["params"]["rules"]) == 3000, fw[0]["params"].keys()
    assert fw[0]["params"]["policies"] == [{"segment": "web", "default": "deny"}]
    assert len(d1.call("fw.rule.list")) == 3000

    rules2 = [dict(rules[0], action="reject")] + rules[3:] + [
        {"id": 5000, "proto": "udp", "dport": 53, "action": "allow"}]
    hostd.ok("config", "apply", "--prune", "-f",
             write(hostd.tmp, "q.json", json.dumps(profile(rules2))))
    wait_dpu(hostd, "h1-d1", lambda d: d["config"] == "in-sync", timeout=30)
    fw = [c for c in d1.mutations() if c["method"].startswith("fw.")][1:]
    assert [sorted(c["params"]) for c in fw] == [["delete"], ["rules"]], fw
    assert sorted(fw[0]["params"]["delete"]) == [2, 3]
    assert sorted(x["id"] for x in fw[1]["params"]["rules"]) == [1, 5000]
    held = {x["id"]: x for x in d1.call("fw.rule.list")}
    assert len(held) == 2999 and held[1]["action"] == "reject" and 5000 in held

    hostd.ok("config", "apply", "--prune", "-f",
             write(hostd.tmp, "r.json", json.dumps(profile([]))))
    wait_dpu(hostd, "h1-d1", lambda d: d["config"] == "in-sync", timeout=30)
    fw = [c for c in d1.mutations() if c["method"].startswith("fw.")][3:]
    assert len(fw) == 1 and len(fw[0]["params"]["delete"]) == 2999, fw[:1]
    assert fw[0]["params"]["policies"] == [{"segment": "web", "default": "off"}]
    assert d1.call("fw.rule.list") == [] and d1.call("fw.policy.list") == []
