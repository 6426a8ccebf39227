# SPDX-License-Identifier: BSD-3-Clause
"""Changes at runtime: ports added and removed while traffic runs, and the
running config saved and replayed into a fresh daemon."""
import re
import subprocess

from lab import (BROADCAST, LabError, RpcError, announce, counters, l2_frame, port_config,
                 wait_counters, wait_for)


def test_a_port_added_at_runtime_gets_traffic_and_leaves_no_trace_when_removed(lab):
    """Steps: dse-dpud starts with vm1 and vm2; vm1 pings vm2 every 50 ms; while
    it runs, port.add vm3 (segment a); vm1 broadcasts; vm3 announces itself;
    vm1 sends a unicast to vm3; port.del vm3; vm1 sends to vm3's MAC again;
    port.add vm3 once more and vm1 broadcasts.
    Verify: the new port is listed (link up) and in segment a; it receives the
    broadcast and the unicast; its MAC is learned on it; after port.del, no FDB
    entry points at vm3, the port and its membership are gone and the frame to
    vm3's MAC floods to vm2 only; the re-added port works again; the ping
    running all along lost nothing."""
    vm1, vm2, vm3 = (lab.add_vm("vm%d" % i) for i in (1, 2, 3))
    lab.static_arp()
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           port_config("vm1", segment="a"), port_config("vm2", segment="a")])
    ping = lab.popen(vm1.ns, "ping", "-n", "-q", "-c", "50", "-i", "0.05", "-W", "2", vm2.ip,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    start = counters(dpud.stats())
    wait_counters(dpud, {"port.vm2.tx_packets": 2}, since=start)

    added = dpud.call("port.add", port_config("vm3", segment="a")["params"])
    assert ping.poll() is None, "the ping ended before the port was added"
    assert added["name"] == "vm3"
    port = dpud.ports()["vm3"]
    assert port["link"] == "up" and port["segment"] == "a" and port["port_id"] == added["port_id"]
    assert "vm3" in {s["name"]: s for s in dpud.call("segment.list")}["a"]["ports"]
    c3 = vm3.capture()
    vm1.send_ok([l2_frame(vm1.mac, BROADCAST, "to-new-port")])
    assert len(c3.wait_matching("to-new-port", 1)) == 1
    announce(dpud, [vm1, vm3])
    vm1.send_ok([l2_frame(vm1.mac, vm3.mac, "unicast-to-vm3")])
    assert len(c3.wait_matching("unicast-to-vm3", 1)) == 1

    dpud.call("port.del", name="vm3")
    assert [e for e in dpud.call("fdb.list") if e["port"] == "vm3"] == []
    assert ("a", vm3.mac) not in dpud.fdb()
    assert "vm3" not in dpud.ports()
    assert sorted({s["name"]: s for s in dpud.call("segment.list")}["a"]["ports"]) == \
        ["vm1", "vm2"]
    c2 = vm2.capture()
    vm1.send_ok([l2_frame(vm1.mac, vm3.mac, "after-del")])
    assert len(c2.wait_matching("after-del", 1)) == 1, "unknown unicast was not flooded"
    assert c3.matching("after-del") == []

    dpud.call("port.add", port_config("vm3", segment="a")["params"])
    vm1.send_ok([l2_frame(vm1.mac, BROADCAST, "re-added")])
    assert len(c3.wait_matching("re-added", 1)) == 1

    out, _ = ping.communicate(timeout=20)
    assert re.search(r"50 packets transmitted, 50 received", out), out
    assert dpud.alive()


def without_counters(ports):
    return [{k: v for k, v in p.items() if k != "stats"} for p in ports]


def test_saved_config_replayed_into_a_fresh_daemon_reproduces_it(lab):
    """Steps: start dse-dpud with segments a, b, c and ports vm1 (access a),
    vm2 (access b, MTU 1900) and tr1 (trunk a, c); at runtime add segment d,
    move vm2 to d, make tr1 carry a, b and d, add a static FDB entry, set the
    ageing time to 120 s and the log level to info; vm1 gets a learned entry.
    config.save; stop the daemon (SIGTERM); start a fresh one with the saved
    calls as --config.
    Verify: the first daemon exits with 0; the fresh one has the same
    segment.list, port.list (without counters), static FDB entries (the
    learned one is not saved), ageing time and log level; its own config.save
    equals the first one's."""
    vm1 = lab.add_vm("vm1")
    lab.add_vm("vm2", mtu=9000)
    lab.add_vm("t1", port="tr1", ip="")
    lab.static_arp()
    calls = [{"method": "segment.add", "params": {"name": n, "vlan": v}}
             for n, v in (("a", 100), ("b", 200), ("c", 300))]
    calls += [port_config("vm1", segment="a"), port_config("vm2", segment="b", mtu=1900),
              port_config("tr1", mode="trunk", segments=["a", "c"])]
    first = lab.start_dpud(calls)
    first.call("segment.add", name="d", vlan=400)
    first.call("port.set", name="vm2", segment="d")
    first.call("port.set", name="tr1", segments=["a", "b", "d"])
    first.call("fdb.add", segment="a", mac="02:00:00:00:00:aa", port="vm1")
    first.call("fdb.config.set", ageing_time=120)
    first.call("log.set", level="info")
    announce(first, [vm1])

    def state(d):
        return {"segments": d.call("segment.list"),
                "ports": without_counters(d.call("port.list")),
                "fdb": [e for e in d.call("fdb.list") if e["static"]],
                "ageing": d.call("fdb.config.set")["ageing_time"],
                "log": d.call("log.set")["level"]}

    saved = first.call("config.save")
    want = state(first)
    assert [dict(e, mac=e["mac"].lower()) for e in want["fdb"]] == [
        {"segment": "a", "mac": "02:00:00:00:00:aa", "port": "vm1", "static": True, "age": 0}]
    assert {p["name"]: p.get("segments") for p in want["ports"]}["tr1"] == ["a", "b", "d"]
    assert first.stop() == 0, "dse-dpud did not exit cleanly on SIGTERM:\n" + first.log()

    second = lab.start_dpud(saved)
    got = wait_for(lambda: state(second), lambda s: s == want, timeout=5)
    assert got == want
    assert second.call("config.save") == saved
    assert len(second.call("fdb.list")) == 1, "a learned entry was saved as static"


def test_saved_config_keeps_the_fdb_size_limit(lab):
    """Steps: fdb.config max_entries 100 and ageing_time 60; config.save; start a
    fresh dse-dpud with the saved calls.
    Verify: the fresh daemon's fdb.config has max_entries 100 and ageing_time 60.
    (Fails while config.save writes fdb.config with ageing_time only.)"""
    first = lab.start_dpud([])
    first.call("fdb.config.set", max_entries=100, ageing_time=60)
    saved = first.call("config.save")
    first.stop()
    second = lab.start_dpud(saved)
    conf = second.call("fdb.config.set")
    assert conf["ageing_time"] == 60
    assert conf["max_entries"] == 100, \
        "config.save lost fdb.config max_entries; it saved: %s" % saved


def test_a_failed_port_add_leaves_nothing_behind(lab):
    """Steps: port.add p with an interface that is on the allow-list but does not
    exist; then port.add p
    with the right interface (vm1's cable); vm1 sends a broadcast.
    Verify: the first call fails with an application error that names the
    devargs and port.list stays empty; the second succeeds (the failed device
    left nothing that blocks its name) and the port receives vm1's frame."""
    vm1 = lab.add_vm("vm1")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}],
                          allow=["vm1", "dse-nope0"])
    bad = "net_af_packet_p,iface=dse-nope0"
    try:
        dpud.call("port.add", name="p", devargs=bad, segment="a")
        raise AssertionError("port.add accepted a missing interface")
    except RpcError as e:
        assert e.code == -32000 and bad in e.message, e
    assert dpud.call("port.list") == []
    assert dpud.call("port.add", name="p", devargs="net_af_packet_p,iface=vm1",
                     segment="a")["name"] == "p"
    start = counters(dpud.stats())
    vm1.send_ok([l2_frame(vm1.mac, BROADCAST, "hello")])
    d = wait_counters(dpud, {"port.p.rx_packets": 1}, since=start)
    assert d.get("port.p.rx_packets") == 1 and d.get("drop.flood_empty") == 1, d


def test_a_failing_startup_config_call_stops_the_start_with_its_error(lab):
    """Steps: start dse-dpud with --config whose second call is invalid (a port
    in a segment that does not exist).
    Verify: dse-dpud exits with a non-zero status without serving its socket,
    and its log names the failing call and the missing segment."""
    bad = [{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
           {"method": "port.add", "params": {"name": "p", "devargs": "net_null0",
                                             "segment": "nope"}}]
    try:
        lab.start_dpud(bad)
        raise AssertionError("dse-dpud started with a failing config")
    except LabError as e:
        assert "exited with" in str(e), e
    dpud = lab.dpuds[-1]
    assert dpud.proc.returncode not in (0, None)
    assert not dpud.sock.exists()
    log = dpud.log()
    assert "call 2 (port.add)" in log and "nope" in log, log


def test_a_vm_that_vanishes_does_not_disturb_the_others(lab):
    """Steps: vm1, vm2 and vm3 on segment a; vm1 and vm2 are learned; vm2's
    namespace is deleted (its veth pair disappears under dse-dpud); vm1 sends 5
    broadcasts and 5 unicasts to vm2's MAC; port.del vm2.
    Verify: vm3 still gets the 5 broadcasts; the frames dse-dpud could not send
    to vm2 show as vm2 tx_errors (10), not as sent; dse-dpud stays alive,
    port.del vm2 succeeds and forgets vm2's MAC, and vm1 still pings vm3."""
    vm1, vm2, vm3 = (lab.add_vm("vm%d" % i) for i in (1, 2, 3))
    lab.static_arp()
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}]
                          + [port_config(vm.port, segment="a") for vm in (vm1, vm2, vm3)])
    announce(dpud, [vm1, vm2])
    vm2.ns.delete()
    c3 = vm3.capture()
    start = counters(dpud.stats())
    vm1.send_ok([l2_frame(vm1.mac, BROADCAST, "bc-%d" % i) for i in range(5)]
                + [l2_frame(vm1.mac, vm2.mac, "uc-%d" % i) for i in range(5)])
    assert len(c3.wait_matching("bc-", 5)) == 5
    d = wait_counters(dpud, {"port.vm2.tx_errors": 10}, since=start)
    assert d.get("port.vm2.tx_errors") == 10 and d.get("port.vm2.tx_packets", 0) == 0, d
    assert dpud.alive()
    dpud.call("port.del", name="vm2")
    assert sorted(dpud.ports()) == ["vm1", "vm3"]
    assert ("a", vm2.mac) not in dpud.fdb()
    p = vm1.ping(vm3.ip, count=3)
    assert " 3 received" in p.stdout, p.stdout + p.stderr
