"""The failover harness: traffic across a dual-DPU host while a failover happens.

Used by the system tests (tests/system/test_ha_lab.py, short runs); a
full run for make bench is still to come.  Its lab: host 1 with an
active/standby pair (h1-d1, h1-d2) and two VMs, host 2 with one DPU and two
VMs.  Switch sw1 of host 1 carries segment web (VLAN 100) and overlay
segment ov (VNI 5001), both with the firewall on: default deny and one
allow rule per protocol for host 1's VMs as clients, so that replies pass
only through tracked connections.  h1-vm1 (web) talks to h2-vm1, h1-vm2
(ov) to h2-vm2, each with scripts/ha_probe.py: long-lived TCP connections
(a message every 10 ms, every reply checked) and a sequence-numbered UDP
probe stream.

A run starts the probes, makes the fault at a given moment, and reports
what the probes saw (lost probes and the loss window, TCP connections that
survived) with what the host recorded (the failover's kind, detection and
takeover times).
"""
import json
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "scripts" / "ha_probe.py"
PORT = 5001

NVIDIA = {"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0",
          "fw_version": "24.35.1012"}
TOPOLOGY = {"hosts": [
    {"dpus": [dict(NVIDIA, serial="MT2231X00011", pci="0000:3b:00.0"),
              dict(NVIDIA, serial="MT2231X00012", pci="0000:af:00.0")], "vms": 2},
    {"dpus": [dict(NVIDIA, serial="MT2231X00021", pci="0000:3b:00.0")], "vms": 2},
]}

FIREWALL = """\
firewall:
  policies:
    - {segment: web, default: deny}
    - {segment: ov, default: deny}
  rules:
    - {id: 1, segment: web, action: allow, proto: tcp, src: 198.18.1.0/24, dport: 5001}
    - {id: 2, segment: web, action: allow, proto: udp, src: 198.18.1.0/24, dport: 5001}
    - {id: 3, segment: ov, action: allow, proto: tcp, src: 198.18.1.0/24, dport: 5001}
    - {id: 4, segment: ov, action: allow, proto: udp, src: 198.18.1.0/24, dport: 5001}
    - {id: 5, segment: web, action: allow, proto: icmp, src: 198.18.1.0/24}
    - {id: 6, segment: ov, action: allow, proto: icmp, src: 198.18.1.0/24}
"""

PROFILES = {
    "h1": """\
switches:
  - name: sw1
    mode: active-standby
    dpus: [h1-d1, h1-d2]
    uplinks: [vmnic0, vmnic2]
    tep: {ip: 198.19.1.1}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: ov, switch: sw1, vni: 5001, peers: [198.19.2.1]}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:01:02", segment: ov, vm: vm2}
""" + FIREWALL,
    "h2": """\
switches:
  - {name: sw2, mode: single, dpus: [h2-d1], uplinks: [vmnic0], tep: {ip: 198.19.2.1}}
segments:
  - {name: web, switch: sw2, vlan: 100}
  - {name: ov, switch: sw2, vni: 5001, peers: [198.19.1.1]}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:02:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:02:02", segment: ov, vm: vm2}
""",
}

# client VM -> (server VM, its address, segment)
PAIRS = {"h1-vm1": ("h2-vm1", "198.18.2.1", "web"), "h1-vm2": ("h2-vm2", "198.18.2.2", "ov")}


class Harness:
    """'lab' is the tests' Lab (dse-lab and dsectl on one state directory)."""

    def __init__(self, lab, lab_bin):
        self.lab = lab
        self.lab_bin = str(lab_bin)
        self.servers = []

    def setup(self):
        for host, text in PROFILES.items():
            prof = self.lab.state.parent / ("ha-%s.yaml" % host)
            prof.write_text(text)
            self.lab.ctl(host, "config", "apply", "-f", prof, "--prune", "--wait")
        # Geneve adds 50 bytes on the 1500-byte fabric.
        for vm in ("h1-vm2", "h2-vm2"):
            subprocess.run(["ip", "-n", "dse-" + vm, "link", "set", "eth0", "mtu", "1450"],
                           check=True)
        for vm in ("h2-vm1", "h2-vm2"):
            p = subprocess.Popen([self.lab_bin, "exec", "--state", str(self.lab.state), vm,
                                  "--", "/usr/bin/python3", str(PROBE), "server", str(PORT)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.servers.append(p)
            line = p.stdout.readline()
            assert line.strip() == "ready", line + p.stdout.read()

    def teardown(self):
        for p in self.servers:
            p.kill()
            p.wait()
        self.servers = []

    def reachable(self, timeout=20.0):
        """Until each client VM pings its server (the TEPs resolved, the FDB learned)."""
        deadline = time.monotonic() + timeout
        for vm, (_, addr, _) in PAIRS.items():
            while True:
                p = subprocess.run(["ip", "netns", "exec", "dse-" + vm, "ping", "-c", "1",
                                    "-W", "1", addr], capture_output=True, text=True)
                if p.returncode == 0:
                    break
                assert time.monotonic() < deadline, "%s cannot reach %s" % (vm, addr)
                time.sleep(0.2)

    def run(self, fault, seconds=8.0, fault_at=3.0, conns=25, rate=1000, stall=1.0):
        """Probes for 'seconds'; 'fault()' at 'fault_at' s.  Returns the results per segment."""
        clients = {}
        for vm, (_, addr, seg) in PAIRS.items():
            clients[seg] = subprocess.Popen(
                ["ip", "netns", "exec", "dse-" + vm, "/usr/bin/python3", str(PROBE), "client",
                 addr, str(PORT), "--conns", str(conns), "--seconds", str(seconds), "--rate",
                 str(rate), "--stall", str(stall)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fault_t = None
        try:
            time.sleep(fault_at)
            fault_t = time.monotonic()
            self.fault_wall = time.time()
            if fault:
                fault()
            out = {}
            for seg, p in clients.items():
                o, e = p.communicate(timeout=seconds + 60)
                assert p.returncode == 0, (seg, o, e)
                out[seg] = json.loads(o)
        finally:
            for p in clients.values():
                if p.poll() is None:
                    p.kill()
        for r in out.values():
            r["fault_ms"] = round((fault_t - r["start"]) * 1000)
        return out


def summary(res):
    """One line per segment: what was lost and what survived."""
    return "; ".join(
        "%s: %d of %d probes lost (window %d ms), %d/%d TCP connections survived" % (
            seg, r["udp"]["lost"], r["udp"]["sent"], r["udp"]["window_ms"],
            r["tcp"]["survived"], r["tcp"]["conns"]) for seg, r in sorted(res.items()))
