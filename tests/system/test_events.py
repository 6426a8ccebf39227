# SPDX-License-Identifier: BSD-3-Clause
"""Events out of the datapath: events.subscribe streams the workers' change
records (FDB, connections, denials) over the Unix socket as JSON-RPC
notifications; the deny log is written by the control side from those
records; a subscriber that never reads costs only its bounded queue."""
import json
import socket
import threading
import time

import pytest

from lab import RpcError, announce, l2_frame, port_config, wait_for
from test_fw import fw_lab, listen  # noqa: F401 (fw_lab is a fixture)

PYTHON = "/usr/bin/python3"

# Runs in a VM: one TCP connect to argv[1]:argv[2], sends 5 bytes, reads the echo,
# closes; prints ok, refused or timeout.
CONNECT = r"""
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); s.sendall(b"hello"); s.recv(100)
    s.close(); print("ok")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")
except OSError as e: print("error", e)
"""

class Subscriber:
    """A connection that called events.subscribe and collects its notifications."""

    def __init__(self, dpud, kinds=None):
        self.rpc = dpud.connect()
        params = {} if kinds is None else {"kinds": kinds}
        self.result = self.rpc.call("events.subscribe", params)
        self.events = []
        self.lost = 0
        self.notes = 0

    def poll(self, timeout=0.2):
        """Reads what arrived within 'timeout' seconds."""
        self.rpc.sock.settimeout(timeout)
        try:
            while True:
                line = self.rpc.read_line()
                if line is None:
                    raise ConnectionError("dse-dpud closed the subscription")
                note = json.loads(line)
                assert note["method"] == "events" and "id" not in note, note
                self.notes += 1
                self.events += note["params"]["events"]
                self.lost = note["params"]["lost"]
                self.rpc.sock.settimeout(0.01)
        except socket.timeout:
            pass
        return self.events

    def wait(self, pred, timeout=5.0):
        """Polls until pred(events) holds; returns the events."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.poll()):
                return self.events
        raise AssertionError("no such events within %ss; got %s" % (timeout, self.events))

    def of(self, kind, **match):
        return [e for e in self.events if e["kind"] == kind and
                all(e.get(k) == v for k, v in match.items())]


@pytest.fixture
def l2_lab(lab):
    vm1 = lab.add_vm("vm1", 1)
    vm2 = lab.add_vm("vm2", 2)
    dpud = lab.start_dpud([
        {"method": "segment.add", "params": {"name": "a", "vlan": 100}},
        port_config("vm1", segment="a"), port_config("vm2", segment="a")])
    return dpud, vm1, vm2


def connect(vm, ip, port, timeout=1.5):
    return vm.ns.run(PYTHON, "-c", CONNECT, ip, str(port), str(timeout),
                     check=False, timeout=30).stdout.strip()


def test_subscribe_refuses_unknown_kinds_and_says_what_it_streams(l2_lab):
    """Steps: events.subscribe with an unknown kind, with an empty list, then
    with two kinds.
    Verify: the first two are invalid-params errors naming the known kinds;
    the third answers with its kinds and its queue bound."""
    dpud, _, _ = l2_lab
    rpc = dpud.connect()
    for bad in (["fdb_learned", "nope"], []):
        with pytest.raises(RpcError) as e:
            rpc.call("events.subscribe", kinds=bad, check=False)
        assert e.value.code == -32602 and "'kinds" in e.value.message
        # The message names the kinds it takes, or says a list of one or more.
        assert "fdb_learned" in e.value.message or "1 to 32 items" in e.value.message
    r = rpc.call("events.subscribe", kinds=["fdb_learned", "deny"])
    assert r["kinds"] == ["fdb_learned", "deny"]
    assert r["max_queued_bytes"] >= 65536
    assert dpud.stats()["events"]["subscribers"][0]["lost"] == 0


def test_traffic_makes_fdb_learned_events_and_a_flush_makes_deleted_ones(l2_lab):
    """Steps: subscribe to fdb_* over the Unix socket; vm1 and vm2 each send a
    broadcast; then fdb.flush.
    Verify: one fdb_learned record per MAC, with its segment and port, then one
    fdb_deleted per MAC after it (each MAC's records in order); the worker's
    sequence numbers rise; stats.get counts no lost record."""
    dpud, vm1, vm2 = l2_lab
    sub = Subscriber(dpud, ["fdb_learned", "fdb_moved", "fdb_aged", "fdb_deleted"])
    announce(dpud, [vm1, vm2])
    sub.wait(lambda ev: len([e for e in ev if e["kind"] == "fdb_learned"]) >= 2)
    for vm in (vm1, vm2):
        learned = sub.of("fdb_learned", mac=vm.mac)
        assert len(learned) == 1, sub.events
        assert learned[0]["segment"] == "a" and learned[0]["port"] == vm.port
        assert learned[0]["worker"] == 0
    dpud.call("fdb.flush")
    sub.wait(lambda ev: len([e for e in ev if e["kind"] == "fdb_deleted"]) >= 2)
    for vm in (vm1, vm2):
        kinds = [e["kind"] for e in sub.events if e.get("mac") == vm.mac]
        assert kinds == ["fdb_learned", "fdb_deleted"], sub.events
    seqs = [e["seq"] for e in sub.events]
    assert seqs == sorted(seqs)
    st = dpud.stats()
    assert st["events_lost"] == 0 and st["events"]["subscribers"][0]["lost"] == 0


def test_firewalled_tcp_connection_makes_created_state_and_closed_events(fw_lab):
    """Steps: rule 20 allows TCP to vm2:7000; subscribe to conn_*; freeze the
    clock; vm1 connects to vm2:7000, sends 5 bytes, reads the echo and
    closes; read the connection's counters from fw.conn.list; advance the
    clock past the TIME_WAIT timeout.
    Verify: conn_created names vm1 -> vm2:7000 and rule 20; conn_state records
    of that id take it through SYN_RECV and ESTABLISHED to a closing state;
    conn_closed of that id comes last, reason expired, rule 20, with exactly
    the packet and byte counters fw.conn.list showed for each direction."""
    dpud, vm1, vm2 = fw_lab
    dpud.call("fw.rule.add", id=20, action="allow", proto="tcp", dst="198.18.0.2", dport=7000)
    listen(vm2, 7000)
    sub = Subscriber(dpud, ["conn_created", "conn_state", "conn_closed"])
    dpud.call("clock.freeze")
    assert connect(vm1, vm2.ip, 7000) == "ok"
    created = sub.wait(lambda ev: any(e["kind"] == "conn_created" for e in ev))
    created = sub.of("conn_created")
    assert len(created) == 1, sub.events
    c = created[0]
    assert (c["src"], c["dst"], c["dport"], c["proto"], c["rule"], c["segment"]) == \
        (vm1.ip, vm2.ip, 7000, 6, 20, "a")

    def settled():
        conns = dpud.call("fw.conn.list", proto="tcp")["conns"]
        return conns and conns[0]["state"] == "TIME_WAIT" and conns

    conn = wait_for(settled, timeout=5)
    assert conn, dpud.call("fw.conn.list", proto="tcp")
    conn = conn[0]
    assert conn["id"] == c["id"]
    dpud.call("clock.advance", seconds=200)
    sub.wait(lambda ev: any(e["kind"] == "conn_closed" for e in ev))
    mine = [e for e in sub.events if e.get("id") == c["id"]]
    assert mine[0]["kind"] == "conn_created" and mine[-1]["kind"] == "conn_closed", mine
    states = [e["state"] for e in mine if e["kind"] == "conn_state"]
    assert "SYN_RECV" in states and "ESTABLISHED" in states and states[-1] == "TIME_WAIT", mine
    for a, b in zip(mine, mine[1:]):
        if a["kind"] == "conn_state" and b["kind"] == "conn_state":
            assert b["old_state"] == a["state"], mine
    closed = mine[-1]
    assert closed["reason"] == "expired" and closed["rule"] == 20
    assert [closed["packets_orig"], closed["packets_reply"]] == conn["packets"], (closed, conn)
    assert [closed["bytes_orig"], closed["bytes_reply"]] == conn["bytes"], (closed, conn)
    assert conn["packets"][0] >= 4 and conn["packets"][1] >= 3


def test_denied_connection_makes_a_deny_record_and_the_control_side_logs_it(fw_lab):
    """Steps: default deny, no rule; subscribe to deny records; vm1 connects to
    vm2:7001 (its SYN and retransmissions are denied).
    Verify: deny records name vm1 -> vm2:7001, TCP, the default policy (rule
    0) and the segment; the worker's ring carried them (the ring's sent
    count covers every record the subscriber and the log got); the log's
    line about the denial is in dse-dpud's output, written by the control
    side from the record (denials_logged counts it), naming the segment and
    the port by their names."""
    dpud, vm1, vm2 = fw_lab
    sub = Subscriber(dpud, ["deny"])
    before = dpud.stats()["events"]["workers"][0]["sent"]
    assert connect(vm1, vm2.ip, 7001, timeout=1) == "timeout"
    sub.wait(lambda ev: len(ev) >= 1)
    d = sub.events[0]
    assert (d["kind"], d["src"], d["dst"], d["dport"], d["proto"], d["rule"], d["segment"],
            d["action"]) == ("deny", vm1.ip, vm2.ip, 7001, 6, 0, "a", "drop"), d
    assert d["direction"] in ("in", "out")

    def logged():
        return "denied by the default policy" in dpud.log() and dpud.log()
    log = wait_for(logged, timeout=5)
    assert log and "198.18.0.1" in log and "7001" in log, dpud.log()
    # By the names the operator gave, not the table indexes.
    line = [x for x in log.splitlines() if "denied by the default policy" in x][0]
    assert "the default policy of segment a: " in line and " segment a port " in line, line
    assert " port any" in line or " port %s" % vm1.port in line, (line, vm1.port)
    st = dpud.stats()
    assert st["events"]["workers"][0]["sent"] - before >= len(sub.events)
    assert dpud.call("fw.stats.show")["denials_logged"] >= 1


def test_a_subscriber_that_never_reads_stops_neither_forwarding_nor_rpc(l2_lab):
    """Steps: subscriber A subscribes to every kind and never reads; B
    subscribes to fdb_learned and reads; vm1 sends 20 rounds of 2000 frames
    from new source MACs to vm2, each round followed by fdb.flush (4000
    records a round, about 1 MB of notifications a round for A).
    Verify: every fdb.flush and stats.get on a third connection answers
    within 1 s; vm2 receives the last round's frames (forwarding went on);
    stats.get shows A's records lost while its queue stays bounded, and B
    lost none of its 40000; when A finally reads, its notifications say how
    many it lost."""
    dpud, vm1, vm2 = l2_lab
    a = Subscriber(dpud)
    b = Subscriber(dpud, ["fdb_learned"])
    ctl = dpud.connect()
    rounds, per = 20, 2000
    slowest = 0.0
    stop = threading.Event()
    reader = threading.Thread(target=lambda: [b.poll(0.05) for _ in iter(stop.is_set, True)])
    reader.start()
    try:
        cap = vm2.capture()
        for r in range(rounds):
            frames = [l2_frame("02:%02x:00:00:%02x:%02x" % (r + 16, i >> 8, i & 0xff),
                               vm2.mac, "r%d-%d" % (r, i)) for i in range(per)]
            vm1.send_ok(frames)
            for method in ("fdb.flush", "stats.show"):
                t0 = time.monotonic()
                ctl.call(method)
                slowest = max(slowest, time.monotonic() - t0)
        assert slowest < 1.0, slowest
        # Forwarding went on: the last round's frames reach vm2 (floods: vm2 never spoke).
        got = cap.wait_matching("r%d-" % (rounds - 1), per, timeout=10)
        assert len(got) >= per * 0.9, len(got)
        wait_for(lambda: len(b.events) >= rounds * per, timeout=20)
    finally:
        stop.set()
        reader.join()
    st = ctl.call("stats.show")["events"]
    subs = {s["subscription"]: s for s in st["subscribers"]}
    sa, sb = subs[a.result["subscription"]], subs[b.result["subscription"]]
    assert sa["lost"] > 0, st
    assert sa["queued_bytes"] <= a.result["max_queued_bytes"] + (1 << 20), st
    assert sb["lost"] == 0 and len(b.of("fdb_learned")) == rounds * per, st
    assert st["lost"] == 0, st
    # A reads at last what was queued for it; its next notification says how many it lost.
    seen = -1
    while a.notes != seen:
        seen = a.notes
        a.poll(0.5)
    vm1.send_ok([l2_frame("02:7f:00:00:00:01", vm2.mac, "after")])
    a.wait(lambda ev: a.lost > 0, timeout=10)
    final = {s["subscription"]: s for s in ctl.call("stats.show")["events"]["subscribers"]}
    assert a.lost == final[a.result["subscription"]]["lost"] >= sa["lost"], (a.lost, final)


def carrier(ns, iface):
    """Whether interface 'iface' of namespace 'ns' has a carrier (up and running)."""
    link = json.loads(ns.ip("-j", "link", "show", iface).stdout)[0]
    return "NO-CARRIER" not in link["flags"] and "UP" in link["flags"]


def test_a_port_whose_link_goes_down_and_up_makes_port_link_records(l2_lab):
    """Steps: subscribe to port_link; vm2 takes its eth0 down (the DPU's port
    vm2 loses its carrier), then up again.
    Verify: a port_link record for vm2 with up false, then one with up true
    (the control thread looks twice a second); none for vm1, whose link
    never changed; the kernel agrees (the interface's carrier: the driver
    itself says up all along)."""
    dpud, vm1, vm2 = l2_lab
    # A new veth's carrier comes up in the kernel's own time: start once both
    # have it and the control thread has looked at them since.
    wait_for(lambda: all(carrier(dpud.lab.dp, vm.port) for vm in (vm1, vm2)), timeout=5)
    polls = dpud.stats()["events"]["link_polls"]
    wait_for(lambda: dpud.stats()["events"]["link_polls"] >= polls + 2, timeout=5)
    sub = Subscriber(dpud, ["port_link"])
    vm2.ns.ip("link", "set", "eth0", "down")
    sub.wait(lambda ev: any(e["port"] == "vm2" and not e["up"] for e in ev), timeout=5)
    assert not carrier(dpud.lab.dp, "vm2")
    vm2.ns.ip("link", "set", "eth0", "up")
    sub.wait(lambda ev: any(e["port"] == "vm2" and e["up"] for e in ev), timeout=5)
    assert [e["up"] for e in sub.events if e["port"] == "vm2"] == [False, True], sub.events
    assert carrier(dpud.lab.dp, "vm2")
    assert not [e for e in sub.events if e["port"] == "vm1"], sub.events
    assert all(e["worker"] == -1 and e["kind"] == "port_link" for e in sub.events)
