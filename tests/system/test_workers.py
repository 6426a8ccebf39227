# SPDX-License-Identifier: BSD-3-Clause
"""dse-dpud with two workers: a MAC one worker sees is known to the other,
and a connection whose two directions come in on different workers' queues
is tracked as one.

Which worker receives a frame is made certain: the ports' devargs say
fanout_cpu=1 (the AF_PACKET sockets of a port share its frames by the CPU
that received them), and each frame is sent by a process pinned to a CPU,
so a frame sent on CPU i reaches worker i."""
import json
import os
import sys
from pathlib import Path

import pytest

from lab import PKT, PYTHON, l2_frame, port_config, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from dse_owner import conn_owner  # noqa: E402

pytestmark = pytest.mark.skipif(os.cpu_count() < 2, reason="needs two CPUs")


def worker_port(vm):
    return port_config(vm.port, segment="a",
                       devargs="net_af_packet_%s,iface=%s,fanout_cpu=1" % (vm.port, vm.port))


def send_on_cpu(vm, cpu, frames):
    """Sends raw frames out of vm's eth0 from a process pinned to 'cpu'."""
    p = vm.ns.run("taskset", "-c", str(cpu), PYTHON, PKT, "send", "eth0",
                  input="".join(bytes(f).hex() + "\n" for f in frames))
    results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert len(results) == len(frames) and all(r["ok"] for r in results), (results, p.stderr)


def workers(dpud):
    return {w["id"]: w for w in dpud.stats()["workers"]}


@pytest.fixture
def two_workers(lab):
    """vm1, vm2, vm3 in segment a of a dse-dpud with two workers whose ports
    share frames by CPU.  Returns (dpud, vm1, vm2, vm3)."""
    vms = [lab.add_vm("vm%d" % i, i) for i in (1, 2, 3)]
    lab.static_arp()
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}] +
                          [worker_port(vm) for vm in vms], extra_args=["--workers", "2"])
    info = dpud.call("dp.show")
    assert info["workers"] == 2, info
    return (dpud, *vms)


def test_two_workers_learn_from_each_other(two_workers):
    """Steps: vm1 sends a frame on CPU 1 (worker 1 receives it); then vm2
    sends a frame to vm1's MAC on CPU 0 (worker 0); then vm2 is learned on
    worker 0 and vm1 sends to it on CPU 1.
    Verify: worker 1 passed vm1's MAC to worker 0 (learn_sent), the FDB has
    both MACs on their ports, and each unicast frame reaches only its
    destination: vm3 never sees one (no flood: the worker that forwarded it
    knew the MAC the other worker learned)."""
    dpud, vm1, vm2, vm3 = two_workers
    seen3 = vm3.capture()
    got1, got2 = vm1.capture(), vm2.capture()
    before = workers(dpud)
    send_on_cpu(vm1, 1, [l2_frame(vm1.mac, "ff:ff:ff:ff:ff:ff", "hello-from-vm1")])
    wait_for(lambda: workers(dpud)[1]["learn_sent"] - before[1]["learn_sent"],
             lambda n: n >= 1, 5)
    wait_for(lambda: dpud.fdb(), lambda f: f.get(("a", vm1.mac.lower())) == vm1.port, 5)
    send_on_cpu(vm2, 0, [l2_frame(vm2.mac, vm1.mac, "w0-to-vm1")])
    assert len(got1.wait_matching("w0-to-vm1", 1)) == 1
    fdb = dpud.fdb()
    assert fdb.get(("a", vm2.mac.lower())) == vm2.port, fdb
    send_on_cpu(vm1, 1, [l2_frame(vm1.mac, vm2.mac, "w1-to-vm2")])
    assert len(got2.wait_matching("w1-to-vm2", 1)) == 1
    # The broadcast reached vm3; the unicast frames must not have.
    seen3.wait_matching("hello-from-vm1", 1)
    frames3 = seen3.stop()
    assert not [f for f in frames3 if b"w0-to-vm1" in f or b"w1-to-vm2" in f]
    after = workers(dpud)
    assert after[0]["learn_sent"] == before[0]["learn_sent"], after
    assert after[1]["learn_lost"] == 0, after


def tcp(src_mac, dst_mac, src, dst, sport, dport, flags, seq, ack, data=b""):
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    return bytes(Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst) /
                 TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535) /
                 data)


def test_a_connection_whose_directions_reach_different_workers(two_workers):
    """Steps: the firewall on (default deny, TCP to port 80 allowed); a TCP
    handshake and data between two addresses behind vm1 and vm2 (no kernel
    answers them), every frame from vm1 sent on CPU 0 (worker 0) and every
    frame from vm2 on CPU 1 (worker 1).
    Verify: the connection is ESTABLISHED with 3 packets counted from the
    client and 2 from the server, every frame arrived, and the direction
    that came in on the worker that does not own the connection (by
    dp_conn_owner) was handed over: exactly its frames in that worker's
    handoff_out and the owner's handoff_in; nothing was dropped."""
    dpud, vm1, vm2, vm3 = two_workers
    dpud.call("fw.policy.set", segment="a", default="deny")
    dpud.call("fw.rule.add", id=1, action="allow", proto="tcp", dport=80)
    a, b = "198.18.0.201", "198.18.0.202"
    owner = conn_owner(a, b, 2)
    cpu_of = {vm1: 0, vm2: 1}
    got1, got2 = vm1.capture(), vm2.capture()
    before = workers(dpud)
    drops_before = dpud.stats()["drops_total"]
    c, s = 1000, 5000
    steps = [
        (vm1, tcp(vm1.mac, vm2.mac, a, b, 40000, 80, "S", c, 0), got2),
        (vm2, tcp(vm2.mac, vm1.mac, b, a, 80, 40000, "SA", s, c + 1), got1),
        (vm1, tcp(vm1.mac, vm2.mac, a, b, 40000, 80, "A", c + 1, s + 1), got2),
        (vm1, tcp(vm1.mac, vm2.mac, a, b, 40000, 80, "PA", c + 1, s + 1, b"client-data"), got2),
        (vm2, tcp(vm2.mac, vm1.mac, b, a, 80, 40000, "PA", s + 1, c + 12, b"server-data"), got1),
    ]
    expect = {got1: 0, got2: 0}
    for vm, frame, cap in steps:
        send_on_cpu(vm, cpu_of[vm], [frame])
        expect[cap] += 1
        wait_for(lambda: cap.frames, lambda fs: len([f for f in fs if f[12:14] == b"\x08\x00"])
                 >= expect[cap], 5)
    conns = dpud.call("fw.conn.list")["conns"]
    assert len(conns) == 1, conns
    assert conns[0]["state"] == "ESTABLISHED" and conns[0]["packets"] == [3, 2], conns
    # The frames of the direction that reached the other worker were handed to the owner.
    other = 1 - owner
    handed = 3 if cpu_of[vm1] == other else 2
    after = workers(dpud)
    assert after[other]["handoff_out"] - before[other]["handoff_out"] == handed, after
    assert after[owner]["handoff_in"] - before[owner]["handoff_in"] == handed, after
    assert after[owner]["handoff_out"] == before[owner]["handoff_out"], after
    assert dpud.stats()["drops_total"] == drops_before
