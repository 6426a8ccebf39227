# SPDX-License-Identifier: BSD-3-Clause
"""Real traffic between two VMs through dse-dpud: ping and a TCP stream."""
import json
import subprocess

from lab import LabError, counters, delta, wait_for


def test_ping_between_two_vms_gets_every_reply(two_vms):
    """Steps: vm1 pings vm2 3 times, then vm2 pings vm1 3 times.
    Verify: 3 of 3 replies each way; the ports count the 12 frames (6 each
    direction) and no drop counter moves."""
    dpud, (vm1, vm2) = two_vms
    start = counters(dpud.stats())
    for a, b in ((vm1, vm2), (vm2, vm1)):
        p = a.ping(b.ip, count=3)
        assert " 3 received" in p.stdout, p.stdout + p.stderr
    d = delta(counters(dpud.stats()), start)
    assert d.get("port.vm1.rx_packets") == 6 and d.get("port.vm2.rx_packets") == 6, d
    assert d.get("port.vm1.tx_packets") == 6 and d.get("port.vm2.tx_packets") == 6, d
    assert not [k for k in d if k.startswith("drop.")], d


def test_tcp_stream_between_two_vms_transfers_data(two_vms, metrics):
    """Steps: iperf3 -s -1 in vm2; iperf3 -c from vm1 for 3 seconds (TCP).
    Verify: the client ends without error and the receiver got more than 0
    bytes; the throughput is printed in the run's summary; dse-dpud counted
    the frames and is still alive."""
    dpud, (vm1, vm2) = two_vms
    lab = vm1.lab
    server_log = lab.tmp / "iperf3-server.log"
    with open(server_log, "w") as log:
        server = lab.popen(vm2.ns, "iperf3", "-s", "-1", "-B", vm2.ip, "-p", "5201",
                           stdout=log, stderr=subprocess.STDOUT)

    def listening():
        if server.poll() is not None:
            raise LabError("iperf3 -s exited: %s" % server_log.read_text())
        return vm2.ns.run("ss", "-Hltn", "sport = :5201").stdout.strip()

    assert wait_for(listening, timeout=10), "iperf3 -s does not listen"
    start = counters(dpud.stats())
    client = vm1.ns.run("iperf3", "-c", vm2.ip, "-p", "5201", "-t", "3", "-J", check=False,
                        timeout=30)
    assert client.stdout.strip().startswith("{"), client.stdout + client.stderr
    report = json.loads(client.stdout)
    assert client.returncode == 0 and "error" not in report, client.stdout[-2000:]
    received = report["end"]["sum_received"]
    assert received["bytes"] > 0
    server.wait(timeout=10)
    d = delta(counters(dpud.stats()), start)
    drops = {k: v for k, v in d.items() if k.startswith("drop.")}
    # TCP retransmits come from the kernel's AF_PACKET rings overflowing (not
    # visible in dse counters); dse-dpud's own drops are shown next to them.
    metrics.append("iperf3 TCP vm1 -> vm2 through dse-dpud: %.1f Mbit/s (%d bytes in %.1f s, "
                   "%d TCP retransmits, dse drops %s)"
                   % (received["bits_per_second"] / 1e6, received["bytes"], received["seconds"],
                      report["end"]["sum_sent"].get("retransmits", 0), drops or "none"))
    print(metrics[-1])
    assert d.get("port.vm1.rx_packets", 0) > 0 and d.get("port.vm2.tx_packets", 0) > 0, d
    # Segmentation offloads are off in the VMs: no frame may exceed the port MTU.
    assert d.get("drop.oversize", 0) == 0, d
    assert dpud.alive()
