# SPDX-License-Identifier: BSD-3-Clause
"""System tests of dse-hostd and dsectl in the real lab (dse-lab).

One lab for the module: host 1 with two identical NVIDIA DPUs, host 2 with
one AMD DPU, two VMs each; every DPU runs dse-dpud with its TLS control
port and a certificate from its host's CA, every host runs dse-hostd.  The
tests drive dse-hostd only through 'dsectl -j'; they read a DPU's state on
dse-dpud's own Unix socket and send traffic between VMs with ping.

The lab's namespaces have fixed names (dse-fabric, dse-hH...), so a lab
that is already up on this machine fails the tests instead of being torn
down under someone else.  'dse-lab down --purge' runs at the end.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import certs  # noqa: E402
from dse_rpc import rpc_call  # noqa: E402  (the schema's client, scripts/dse_api.py)

ROOT = Path(__file__).resolve().parents[2]
NS_RE = re.compile(r"^dse-(fabric|h[0-9]+(-.*)?)$")


def build_dir():
    build = Path(os.environ.get("DSE_BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


LAB = build_dir() / "src" / "lab" / "dse-lab"
DSECTL = build_dir() / "src" / "ctl" / "dsectl"
HOSTD = build_dir() / "src" / "hostd" / "dse-hostd"

NVIDIA = {"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0",
          "fw_version": "24.35.1012"}
AMD = {"vendor": "AMD", "model": "Pensando DSC2-200", "hw_version": "A1", "fw_version": "1.78.1"}
TOPOLOGY = {"hosts": [
    {"dpus": [dict(NVIDIA, serial="MT2231X00001", pci="0000:3b:00.0"),
              dict(NVIDIA, serial="MT2231X00002", pci="0000:af:00.0")], "vms": 2},
    {"dpus": [dict(AMD, serial="PEN0042", pci="0000:5e:00.0")], "vms": 2},
]}

PROFILE = """\
switches:
  - name: sw1
    mode: active-standby
    dpus: [h1-d1, h1-d2]
    uplinks: [vmnic0, vmnic2]
segments:
  - {name: web, switch: sw1, vlan: 100}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:01:02", segment: web, vm: vm2}
"""


def run(cmd, timeout=60, input=None):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, input=input)


def lab_namespaces():
    p = run(["ip", "netns", "list"])
    return {line.split()[0] for line in p.stdout.splitlines()
            if line.strip() and NS_RE.match(line.split()[0])}


class Lab:
    def __init__(self, state):
        self.state = Path(state)

    def lab(self, *args, timeout=120):
        p = run([LAB, args[0], "--state", self.state] + list(args[1:]), timeout=timeout)
        assert p.returncode == 0, "dse-lab %s: exit %d\n%s%s" % (
            " ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
        return p

    def ctl(self, host, *args, check=True):
        p = run([DSECTL, "-s", self.state / host / "hostd.sock", "-j"] + list(args))
        if check:
            assert p.returncode == 0, "dsectl %s on %s: exit %d\n%s%s\n%s" % (
                " ".join(map(str, args)), host, p.returncode, p.stdout, p.stderr,
                self.hostd_log(host))
        return p

    def ok(self, host, *args):
        return json.loads(self.ctl(host, *args).stdout)

    def hostd_log(self, host):
        p = self.state / host / "log" / "dse-hostd.log"
        return p.read_text(errors="replace")[-8000:] if p.exists() else "(no log)"

    def dpud(self, dpu, method, params=None):
        """Calls dse-dpud of 'dpu' on its Unix socket; raises RpcError on an error."""
        return rpc_call(str(self.state / dpu / "run" / "dpud.sock"), method, params, timeout=10)

    def ping(self, vm, addr, count=3):
        return run([LAB, "exec", "--state", self.state, vm, "--", "ping", "-c", str(count),
                    "-W", "1", "-i", "0.2", addr], timeout=30)

    def pid(self, machine, prog):
        return int((self.state / machine / "run" / ("%s.pid" % prog)).read_text())


def wait(fn, pred, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if pred(v) or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def dpus_by_name(lab, host):
    return {d["name"]: d for d in lab.ok(host, "dpu", "list")}


def lab_up(topology, prefix):
    """Brings a lab of 'topology' up (a generator: yields the Lab, then takes it down).

    Root is needed, and no other lab may be up (the namespaces have fixed
    names): either fails the tests instead of touching someone else's lab."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (network namespaces)")
    for b in (LAB, DSECTL, HOSTD):
        if not b.exists():
            pytest.fail("%s is missing: run 'make build'" % b)
    if lab_namespaces():
        pytest.fail("a lab is already up on this machine (%s): 'dse-lab down' it first"
                    % sorted(lab_namespaces()))
    tmp = tempfile.mkdtemp(prefix=prefix)
    the_lab = Lab(Path(tmp) / "lab")
    topo = Path(tmp) / "topology.json"
    topo.write_text(json.dumps(topology))
    try:
        the_lab.lab("up", "--topology", topo, "--timeout", "60")
        yield the_lab
    finally:
        run([LAB, "down", "--state", the_lab.state, "--purge"], timeout=120)
        subprocess.run(["rm", "-rf", tmp])


@pytest.fixture(scope="module")
def lab():
    yield from lab_up(TOPOLOGY, "dse-hostd-lab-")


def test_hostd_lab_dpu_list_shows_connected_dpus(lab):
    """'dsectl dpu list' shows every DPU of the host connected, with its identity.

    Verify: host 1 lists h1-d1 and h1-d2, host 2 lists h2-d1, each connected
    over its internal link with the vendor, model, versions, serial and PCI
    address of the topology and dse-dpud's version; no DPU serves a switch
    yet (role none, config unmanaged).
    """
    for host, names in (("h1", ["h1-d1", "h1-d2"]), ("h2", ["h2-d1"])):
        dpus = wait(lambda: dpus_by_name(lab, host),
                    lambda d: sorted(d) == names and all(
                        x["state"] == "connected" for x in d.values()))
        assert sorted(dpus) == names, dpus
        for i, name in enumerate(names):
            d = dpus[name]
            want = TOPOLOGY["hosts"][int(host[1]) - 1]["dpus"][i]
            for k, v in want.items():
                assert d[k] == v, (name, k, d)
            assert d["state"] == "connected" and d["link"] == "int-d%d" % (i + 1), d
            assert d["address"] == "169.254.%s.%d" % (host[1], 4 * (i + 1) + 2), d
            assert d["version"] and d["role"] == "none" and d["config"] == "unmanaged", d
    p = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "dpu", "list"])
    assert p.returncode == 0 and "h1-d2" in p.stdout and "connected" in p.stdout, p


def test_hostd_lab_config_reaches_the_dpus(lab):
    """A profile applied on the host configures its DPUs, and the VMs talk.

    Steps: apply (with --wait) an active-standby switch on h1-d1 + h1-d2
    with one uplink each, segment web (VLAN 100) and the ports of vm1 and vm2.
    Verify: when apply returns, both DPUs are in-sync at its revision, h1-d1
    active, h1-d2 standby; dse-dpud on
    h1-d1 has the segment, vmnic0 as a trunk and the VM ports on rep-vm1 and
    rep-vm2 with static FDB entries; h1-d2 has vmnic2 and the VM ports too, its
    datapath held (ha.show); vm1
    pings vm2; port list shows the ports up on h1-d1 with their counters.
    Then a port for vm9, which has no representor: h1-d1's config is in
    error and port list shows the port missing there with the DPU's reason
    (in JSON and in the table); deleting it brings h1-d1 back in sync.
    """
    prof = lab.state / "profile.yaml"
    prof.write_text(PROFILE)
    # --wait returns once both DPUs hold the new revision: no polling here.
    r = json.loads(lab.ctl("h1", "config", "apply", "-f", prof, "--wait").stdout)
    assert len(r["changes"]) == 4, r
    dpus = dpus_by_name(lab, "h1")
    assert (dpus["h1-d1"]["role"], dpus["h1-d2"]["role"]) == ("active", "standby"), dpus
    assert all(x["config"] == "in-sync" and x["synced_revision"] == r["revision"]
               and x["sync"] is None for x in dpus.values()), (dpus, lab.hostd_log("h1"))

    ports = {p["name"]: p for p in lab.dpud("h1-d1", "port.list")}
    assert sorted(ports) == ["vm1-eth0", "vm2-eth0", "vmnic0"], ports
    assert ports["vmnic0"]["mode"] == "trunk" and ports["vmnic0"]["segments"] == ["web"]
    assert ports["vm1-eth0"]["devargs"].endswith("iface=rep-vm1")
    assert ports["vm1-eth0"]["segment"] == "web"
    assert [s["vlan"] for s in lab.dpud("h1-d1", "segment.list")] == [100]
    static = sorted(e["mac"].lower() for e in lab.dpud("h1-d1", "fdb.list") if e["static"])
    assert static == ["02:00:00:00:01:01", "02:00:00:00:01:02"]
    assert sorted(p["name"] for p in lab.dpud("h1-d2", "port.list")) == [
        "vm1-eth0", "vm2-eth0", "vmnic2"]
    assert lab.dpud("h1-d2", "ha.show")["hold"] == "standby"
    p = lab.ping("h1-vm1", "198.18.1.2")
    assert p.returncode == 0, p.stdout + p.stderr
    # port list asks the DPU: the ports are up there and count what they carried.
    ports = {p["name"]: p for p in lab.ok("h1", "port", "list")}
    assert ports["vm1-eth0"]["dpu"] == "h1-d1" and ports["vm1-eth0"]["state"] == "up", ports
    assert ports["vm1-eth0"]["stats"]["rx_packets"] > 0 and ports["vm1-eth0"]["error"] is None
    # And the FDB of the host's DPUs, by dsectl: the two static entries on each DPU.
    fdb = lab.ok("h1", "fdb", "list", "--segment", "web")
    static = sorted((e["dpu"], e["mac"].lower()) for e in fdb["entries"] if e["static"])
    assert static == [("h1-d1", "02:00:00:00:01:01"), ("h1-d1", "02:00:00:00:01:02"),
                      ("h1-d2", "02:00:00:00:01:01"), ("h1-d2", "02:00:00:00:01:02")], fdb
    t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "fdb", "list"])
    assert t.returncode == 0 and "02:00:00:00:01:01" in t.stdout.lower(), t

    # A port for a VM that has no representor: the DPU cannot open it, and
    # port list says so (not a fine-looking port beside a DPU in error).
    lab.ok("h1", "port", "add", "vm9-eth0", "--mac", "02:00:00:00:01:09", "--segment", "web",
           "--vm", "vm9")
    wait(lambda: dpus_by_name(lab, "h1")["h1-d1"], lambda d: d["config"] == "error")
    ports = {p["name"]: p for p in lab.ok("h1", "port", "list")}
    bad = ports["vm9-eth0"]
    assert (bad["dpu"], bad["state"]) == ("h1-d1", "missing"), bad
    assert "DPU h1-d1 does not have it: " in bad["error"] and "rep-vm9" in bad["error"], bad
    text = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "port", "list"]).stdout
    assert "missing" in text and "vm9-eth0: DPU h1-d1 does not have it" in text, text
    lab.ok("h1", "port", "del", "vm9-eth0")
    wait(lambda: dpus_by_name(lab, "h1")["h1-d1"], lambda d: d["config"] == "in-sync")


def test_hostd_lab_dpus_forward_while_hostd_is_down(lab):
    """The DPUs keep forwarding with their last config while dse-hostd is down.

    Steps: kill -9 dse-hostd of host 1; ping; 'dse-lab up' starts it again.
    Verify: the ping works without the host daemon; up says that host 1
    keeps the desired state of the earlier run; after the restart both
    DPUs are connected and in-sync again and their config generation did
    not move (the host found them as it left them and pushed nothing).
    """
    gens = {d: lab.dpud(d, "dp.identity.show")["generation"] for d in ("h1-d1", "h1-d2")}
    os.kill(lab.pid("h1", "dse-hostd"), signal.SIGKILL)
    p = lab.ping("h1-vm1", "198.18.1.2")
    assert p.returncode == 0, p.stdout + p.stderr
    up = lab.lab("up", "--timeout", "60")
    # The restarted daemon brings back the desired state it had, and up says so.
    assert "h1: dse-hostd keeps the desired state of an earlier run" in up.stdout, up.stdout
    assert "'dse-lab up --fresh' starts it empty" in up.stdout, up.stdout
    dpus = wait(lambda: dpus_by_name(lab, "h1"),
                lambda d: all(x["state"] == "connected" and x["config"] == "in-sync"
                              for x in d.values()))
    assert all(x["config"] == "in-sync" for x in dpus.values()), dpus
    time.sleep(2.5)  # a heartbeat and a reconcile turn
    assert {d: lab.dpud(d, "dp.identity.show")["generation"] for d in gens} == gens
    assert "config generation unchanged" in lab.hostd_log("h1")


# Prints the source MACs of the RARP frames (tagged or not) seen on argv[1] for argv[2] s.
RARP_SNIFFER = r"""
import json, sys
from scapy.all import sniff


def rarp(p):
    b = bytes(p)
    return b[12:14] == b"\x80\x35" or (b[12:14] == b"\x81\x00" and b[16:18] == b"\x80\x35")


got = sniff(iface=sys.argv[1], timeout=float(sys.argv[2]), lfilter=rarp)
print(json.dumps(sorted({bytes(p)[6:12].hex(":") for p in got})))
"""


def fail_back_to_d1(lab):
    """'dsectl ha failover sw1' once h1-d1 is a ready standby: h1-d1 active, vm1 pings vm2."""
    wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["ready"])
    assert lab.ok("h1", "ha", "failover", "sw1")["to"] == "h1-d1"
    dpus = wait(lambda: dpus_by_name(lab, "h1"),
                lambda d: all(x["config"] == "in-sync" for x in d.values())
                and d["h1-d1"]["role"] == "active")
    assert dpus["h1-d1"]["role"] == "active", dpus
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr


def attached_to(host, vm):
    """The DPU (hH-dN) VM 'vm' of host 'host' is attached to: the lab's tc redirect."""
    p = run(["tc", "-j", "-n", "dse-" + host, "filter", "show", "dev",
             "%s-%s" % (host, vm), "ingress"])
    for f in json.loads(p.stdout or "[]"):
        for a in f.get("options", {}).get("actions", []):
            to = a.get("to_dev")
            if to:
                return to.rsplit("-", 1)[1].replace("d", host + "-d")
    return None


def test_hostd_lab_crash_of_the_active_dpu_fails_over(lab, metrics):
    """The active DPU of a pair killed: the standby takes over; the old one rejoins as standby.

    Steps: with the profile of the earlier tests (sw1 active-standby on
    h1-d1 + h1-d2, vm1 and vm2 on h1-d1), 'dsectl ha status'; a ping from
    vm1 to vm2 every 10 ms (500 in all); 'dse-lab fault h1-d1 kill' (kill
    -9 of its dse-dpud); 'dse-lab fault h1-d1 restart' starts it again;
    then 'dsectl ha failover sw1' back.
    Verify: before, h1-d1 active and h1-d2 a ready standby; after the kill
    the host records a crash failover from h1-d1 to h1-d2 within the
    heartbeat limit (1 s by default, plus slack), moves both VMs'
    attachments to h1-d2, which gets their ports and announces both VMs'
    MACs on its uplink (RARP, VLAN 100, seen on the fabric's end of
    vmnic2); the ping goes on (what it
    lost, the loss window, is reported); back up, h1-d1 is connected and in
    sync as the standby (its datapath held) and the roles stay; the planned
    failover makes h1-d1 active again with the VMs, vm1 pings vm2, and
    'dsectl ha events' lists both failovers.
    """
    st = lab.ok("h1", "ha", "status")
    assert [(x["switch"], x["active"], x["standby"], x["ready"]) for x in st] == [
        ("sw1", "h1-d1", "h1-d2", True)], st
    assert attached_to("h1", "vm1") == "h1-d1", attached_to("h1", "vm1")
    # What the new active announces reaches the fabric: RARPs from the VMs' MACs.
    sniff = subprocess.Popen(
        ["ip", "netns", "exec", "dse-fabric", "/usr/bin/python3", "-c", RARP_SNIFFER,
         "h1-vmnic2", "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ping = subprocess.Popen([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "ping", "-n",
                             "-i", "0.01", "-c", "500", "-W", "1", "198.18.1.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.0)  # the stream runs before the fault
        lab.lab("fault", "h1-d1", "kill")
        st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["active"] == "h1-d2",
                  timeout=10, interval=0.05)
        out = ping.communicate(timeout=60)[0]
        sniffed, err = sniff.communicate(timeout=30)
    finally:
        for p in (ping, sniff):
            if p.poll() is None:
                p.kill()
    assert sniff.returncode == 0, err
    assert json.loads(sniffed) == ["02:00:00:00:01:01", "02:00:00:00:01:02"], (sniffed, err)
    assert st["active"] == "h1-d2", (st, lab.hostd_log("h1"))
    last = st["last"]
    assert (last["kind"], last["from"], last["to"]) == ("crash", "h1-d1", "h1-d2"), last
    assert 0 <= last["detect_ms"] <= 1500, last
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    sent, got = int(m.group(1)), int(m.group(2))
    assert got > 0 and sent == 500, out
    assert attached_to("h1", "vm1") == "h1-d2" and attached_to("h1", "vm2") == "h1-d2"
    ports = wait(lambda: sorted(p["name"] for p in lab.dpud("h1-d2", "port.list")),
                 lambda p: "vm1-eth0" in p)
    assert ports == ["vm1-eth0", "vm2-eth0", "vmnic2"], ports
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr
    metrics.append("hostd lab: crash of the active DPU (kill -9), heartbeat 500 ms x 2: "
                   "failover decided %d ms after its last answer; ping every 10 ms lost "
                   "%d of %d (a window of about %d ms)"
                   % (last["detect_ms"], sent - got, sent, (sent - got) * 10))

    lab.lab("fault", "h1-d1", "restart")
    d = wait(lambda: dpus_by_name(lab, "h1")["h1-d1"],
             lambda d: d["state"] == "connected" and d["config"] == "in-sync")
    assert d["config"] == "in-sync" and d["role"] == "standby", (d, lab.hostd_log("h1"))
    assert wait(lambda: lab.dpud("h1-d1", "ha.show")["hold"], lambda x: x == "standby") == \
        "standby"
    st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["ready"])
    assert (st["active"], st["standby"], st["ready"]) == ("h1-d2", "h1-d1", True), st

    r = lab.ctl("h1", "ha", "failover", "sw1", "--to", "h1-d2", check=False)
    assert r.returncode == 1 and "already" in r.stderr, r.stderr
    assert lab.ok("h1", "ha", "failover", "sw1") == {"switch": "sw1", "from": "h1-d2",
                                                     "to": "h1-d1"}
    dpus = wait(lambda: dpus_by_name(lab, "h1"),
                lambda d: all(x["config"] == "in-sync" for x in d.values())
                and d["h1-d1"]["role"] == "active")
    assert dpus["h1-d1"]["role"] == "active", dpus
    assert sorted(p["name"] for p in lab.dpud("h1-d1", "port.list")) == [
        "vm1-eth0", "vm2-eth0", "vmnic0"]
    assert wait(lambda: attached_to("h1", "vm1"), lambda a: a == "h1-d1") == "h1-d1"
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr
    ev = lab.ok("h1", "ha", "events")
    assert [(e["kind"], e["from"], e["to"]) for e in ev[-2:]] == [
        ("crash", "h1-d1", "h1-d2"), ("userInitiated", "h1-d2", "h1-d1")], ev
    t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "ha", "status"]).stdout
    assert "sw1" in t and "userInitiated from h1-d2 to h1-d1" in t, t


def test_hostd_lab_hung_active_dpu_fails_over_and_rejoins_as_standby(lab, metrics):
    """The active DPU hangs (SIGSTOP): its silence makes the standby take over.

    Steps: sw1 active on h1-d1, h1-d2 a ready standby; a ping from vm1 to vm2
    every 10 ms; 'dse-lab fault h1-d1 hang' (SIGSTOP of its dse-dpud); once
    the host failed over, 'dse-lab fault h1-d1 resume'; then 'dsectl ha
    failover sw1' back.
    Verify: a crash failover from h1-d1 to h1-d2, decided from the silence
    within the default heartbeat limit (2 x 500 ms after its last answer,
    plus slack); the ping goes on (its loss reported); the resumed h1-d1
    is reconnected and reconciled as the standby (its VM ports taken away);
    the planned failover brings it back as active and vm1 pings vm2.
    """
    st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["ready"])
    assert (st["active"], st["standby"], st["ready"]) == ("h1-d1", "h1-d2", True), st
    ping = subprocess.Popen([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "ping", "-n",
                             "-i", "0.01", "-c", "500", "-W", "1", "198.18.1.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.0)  # the stream runs before the fault
        lab.lab("fault", "h1-d1", "hang")
        st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["active"] == "h1-d2",
                  timeout=10, interval=0.05)
    finally:
        lab.lab("fault", "h1-d1", "resume")
    try:
        out = ping.communicate(timeout=60)[0]
    finally:
        if ping.poll() is None:
            ping.kill()
    assert st["active"] == "h1-d2", (st, lab.hostd_log("h1"))
    last = st["last"]
    assert (last["kind"], last["from"], last["to"]) == ("crash", "h1-d1", "h1-d2"), last
    assert 900 <= last["detect_ms"] <= 1500, last
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m and int(m.group(2)) > 0, out
    sent, got = int(m.group(1)), int(m.group(2))
    metrics.append("hostd lab: the active DPU hung (SIGSTOP), heartbeat 500 ms x 2: failover "
                   "decided %d ms after its last answer; ping every 10 ms lost %d of %d "
                   "(about %d ms)" % (last["detect_ms"], sent - got, sent, (sent - got) * 10))
    d = wait(lambda: dpus_by_name(lab, "h1")["h1-d1"],
             lambda d: d["state"] == "connected" and d["config"] == "in-sync", timeout=30)
    assert d["role"] == "standby" and d["config"] == "in-sync", (d, lab.hostd_log("h1"))
    assert wait(lambda: lab.dpud("h1-d1", "ha.show")["hold"], lambda x: x == "standby") == \
        "standby"
    fail_back_to_d1(lab)


def test_hostd_lab_uplink_loss_of_the_active_dpu_fails_over(lab, metrics):
    """Every uplink of the active DPU down: the standby, whose uplink is up, takes over.

    Steps: with sw1 active on h1-d1 (its one uplink vmnic0) and h1-d2 a ready
    standby (vmnic2), 'dse-lab fault h1-d1 cable-cut' (the fabric ends of its
    uplinks down); then 'cable-restore vmnic0' and fail over back with
    'dsectl ha failover sw1'.
    Verify: the host hears of the link from h1-d1's event stream (dpu show:
    vmnic0 down) and records a linkDown failover from h1-d1 to h1-d2 within
    a few seconds (dse-dpud looks at its links twice a second); the VMs are
    attached to h1-d2 and vm1 pings vm2; after the cable is back and the
    planned failover, h1-d1 is active again and the ping passes.
    """
    st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["ready"])
    assert (st["active"], st["standby"], st["ready"]) == ("h1-d1", "h1-d2", True), st
    t0 = time.monotonic()
    try:
        lab.lab("fault", "h1-d1", "cable-cut")
        st = wait(lambda: lab.ok("h1", "ha", "status")[0], lambda x: x["active"] == "h1-d2",
                  timeout=10, interval=0.05)
        took = time.monotonic() - t0
        assert st["active"] == "h1-d2", (st, lab.hostd_log("h1"))
        assert (st["last"]["kind"], st["last"]["from"], st["last"]["to"]) == (
            "linkDown", "h1-d1", "h1-d2"), st
        live = lab.ok("h1", "dpu", "show", "h1-d1")["live"]
        assert {x["port"]: x["up"] for x in live["links"]}["vmnic0"] is False, live
        assert wait(lambda: attached_to("h1", "vm1"), lambda a: a == "h1-d2") == "h1-d2"
        p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0,
                 timeout=10)
        assert p.returncode == 0, p.stdout + p.stderr
        metrics.append("hostd lab: every uplink of the active DPU down: failover to the "
                       "standby seen %.0f ms after the cable was cut" % (took * 1000))
    finally:
        lab.lab("fault", "h1-d1", "cable-restore", "vmnic0")
    wait(lambda: {x["port"]: x["up"] for x in
                  lab.ok("h1", "dpu", "show", "h1-d1")["live"]["links"]}.get("vmnic0"),
         lambda up: up is True)
    fail_back_to_d1(lab)


def test_hostd_lab_profile_refused_where_dpus_cannot_serve_it(lab):
    """A profile exported on host 1 is refused on host 2, whose DPUs can not serve it.

    Verify: host 2 refuses the export of host 1 (exit 1) naming its AMD DPU
    and the NVIDIA one the profile needs; host 2's store did not change;
    host 1 applies its own export with no change.
    """
    out = lab.state / "h1-profile.yaml"
    lab.ctl("h1", "config", "export", "-o", out)
    assert json.loads(lab.ctl("h1", "config", "apply", "-f", out).stdout)["changes"] == []
    rev = lab.ok("h2", "host", "show")["store"]["revision"]
    p = lab.ctl("h2", "config", "apply", "-f", out, check=False)
    assert p.returncode == 1, p
    assert "is AMD Pensando DSC2-200, but the profile needs NVIDIA BlueField-2" in p.stderr, p
    assert lab.ok("h2", "host", "show")["store"]["revision"] == rev


def test_hostd_lab_vms_cannot_reach_the_internal_network(lab):
    """No VM can reach any address of the internal network (169.254.0.0/16).

    Steps: with the profile of the earlier test applied (vm1 and vm2 in
    segment web on h1-d1), give h1-vm1 an address in 169.254.0.0/16 on its
    eth0 as a hostile workload would, then ping the host's and both DPUs'
    internal addresses and try the DPU control port (TCP 7300).
    Verify: vm1 still reaches vm2 (the datapath works), but not one of the
    internal addresses answers, and no TCP connection to 7300 opens.
    """
    prof = lab.state / "profile.yaml"
    prof.write_text(PROFILE)
    lab.ctl("h1", "config", "apply", "-f", prof, "--prune")
    wait(lambda: dpus_by_name(lab, "h1"),
         lambda d: all(x["config"] == "in-sync" for x in d.values()))
    assert lab.ping("h1-vm1", "198.18.1.2").returncode == 0
    add = run([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "ip", "addr", "add",
               "169.254.1.99/16", "dev", "eth0"])
    assert add.returncode == 0, add
    try:
        for addr in ("169.254.1.5", "169.254.1.6", "169.254.1.9", "169.254.1.10",
                     "169.254.1.201", "169.254.2.6"):
            p = lab.ping("h1-vm1", addr, count=2)
            assert p.returncode != 0, "VM reached internal address %s:\n%s" % (addr, p.stdout)
        probe = ("import socket, sys\n"
                 "s = socket.socket(); s.settimeout(1.5)\n"
                 "sys.exit(0 if s.connect_ex(('169.254.1.6', 7300)) == 0 else 1)\n")
        p = run([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "/usr/bin/python3", "-c",
                 probe], timeout=30)
        assert p.returncode == 1, "VM opened the DPU control port: %s" % p
    finally:
        run([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "ip", "addr", "del",
             "169.254.1.99/16", "dev", "eth0"])


TLS_PROBE = r"""
import json, socket, ssl, sys
mode, host, port, ca, cert, key = sys.argv[1:7]
req = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "dp.show"}) + "\n").encode()
s = socket.create_connection((host, int(port)), timeout=3)
try:
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(cert, key)
        s = ctx.wrap_socket(s)
    s.sendall(req)
    data = s.recv(65536)
    print("ANSWERED" if b'"result"' in data else "REFUSED")
except (OSError, ssl.SSLError) as e:
    print("REFUSED", type(e).__name__)
"""


def test_hostd_lab_dpu_control_port_refuses_plain_and_foreign_clients(lab, tmp_path):
    """The DPU's control port talks only to clients with a certificate of the host CA.

    Steps: from host 1's namespace, connect to h1-d1's control port
    (169.254.1.6:7300) with plain TCP and send a JSON-RPC request; then with
    TLS and a self-signed certificate that the host CA did not issue.
    Verify: neither gets an answer; dse-dpud's refusal counters (dp.show
    mgmt.refused) grow by at least 2 and it logs the refusals; dsectl still
    shows h1-d1 connected (the host's own certificate works).
    """
    key, cert = tmp_path / "rogue.key", tmp_path / "rogue.pem"
    p = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
             "-days", "1", "-subj", "/CN=host"])
    assert p.returncode == 0, p.stderr
    before = lab.dpud("h1-d1", "dp.info")["mgmt"]["refused"]
    for mode in ("plain", "tls"):
        p = run([LAB, "exec", "--state", lab.state, "h1", "--", "/usr/bin/python3", "-c",
                 TLS_PROBE, mode, "169.254.1.6", "7300", "-", cert, key], timeout=30)
        assert p.returncode == 0, p
        assert p.stdout.startswith("REFUSED"), "%s client got an answer: %s" % (mode, p.stdout)
    after = wait(lambda: lab.dpud("h1-d1", "dp.info")["mgmt"]["refused"],
                 lambda n: n >= before + 2)
    assert after >= before + 2, (before, after)
    log = (lab.state / "h1-d1" / "log" / "dse-dpud.log").read_text(errors="replace")
    assert "refused" in log.lower(), log[-2000:]
    assert dpus_by_name(lab, "h1")["h1-d1"]["state"] == "connected"


def test_hostd_lab_dpu_control_port_serves_only_the_host_role(lab, tmp_path):
    """A certificate of the host CA is not enough: a DPU serves only the host's identity.

    Steps: from host 1's namespace, connect to h1-d1's control port with TLS
    and, in turn, the sibling DPU h1-d2's own certificate and key, h1-d1's
    own server certificate, and a client-only certificate (clientAuth) that
    host 1's CA signed for the name 'h1-d9' (openssl with h1/ca.key); each
    sends dp.info.  Then the same with the host's own certificate (h1/tls).
    Verify: none of the three gets an answer; h1-d1's mgmt.refused_role
    grows by exactly 3 and refused_cert not at all; its log names each
    certificate and why it is not the host's control identity; the host's
    certificate gets the answer, and dsectl still shows h1-d1 connected.
    """
    cert, key = certs.sign(lab.state / "h1", "h1-d9", "clientAuth", tmp_path / "d9", 4242)
    before = lab.dpud("h1-d1", "dp.info")["mgmt"]
    clients = [(lab.state / "h1-d2" / "tls" / "cert.pem", lab.state / "h1-d2" / "tls" / "key.pem"),
               (lab.state / "h1-d1" / "tls" / "cert.pem", lab.state / "h1-d1" / "tls" / "key.pem"),
               (cert, key)]
    for c, k in clients:
        p = run([LAB, "exec", "--state", lab.state, "h1", "--", "/usr/bin/python3", "-c",
                 TLS_PROBE, "tls", "169.254.1.6", "7300", "-", c, k], timeout=30)
        assert p.returncode == 0, p
        assert p.stdout.startswith("REFUSED"), "%s got an answer: %s" % (c, p.stdout)
    after = wait(lambda: lab.dpud("h1-d1", "dp.info")["mgmt"],
                 lambda m: m["refused_role"] >= before["refused_role"] + 3)
    assert after["refused_role"] == before["refused_role"] + 3, (before, after)
    assert after["refused_cert"] == before["refused_cert"], (before, after)
    log = (lab.state / "h1-d1" / "log" / "dse-dpud.log").read_text(errors="replace")
    for why in ("certificate 'h1-d2' is not the host's control identity: it is a DPU server "
                "certificate",
                "certificate 'h1-d1' is not the host's control identity: it is a DPU server "
                "certificate",
                "certificate 'h1-d9' is not the host's control identity: its name is not"):
        assert why in log, "%r not in the log:\n%s" % (why, log[-3000:])
    host = lab.state / "h1" / "tls"
    p = run([LAB, "exec", "--state", lab.state, "h1", "--", "/usr/bin/python3", "-c",
             TLS_PROBE, "tls", "169.254.1.6", "7300", "-", host / "cert.pem", host / "key.pem"],
            timeout=30)
    assert p.stdout.startswith("ANSWERED"), p
    assert dpus_by_name(lab, "h1")["h1-d1"]["state"] == "connected"


def fw_on_dpu(lab, dpu):
    """What dse-dpud of 'dpu' holds of the firewall: ({segment: default}, [rule ids])."""
    pols = {c["params"]["segment"]: c["params"]["default"]
            for c in lab.dpud(dpu, "config.save") if c["method"] == "fw.policy.set"}
    return pols, sorted(r["id"] for r in lab.dpud(dpu, "fw.rule.list"))


def test_hostd_lab_dpu_show_follows_the_dpu_events(lab):
    """dse-hostd keeps each DPU's links, MACs and connection count from its event stream.

    Steps: with the profile of the earlier tests in sync, read 'dsectl dpu
    show h1-d1'; send one ARP from vm1 with a MAC the DPU does not know;
    take the link of vm2's representor down (its veth peer in the host
    namespace) and up again.
    Verify: dpu show has the stream up, both VM ports and the uplink up,
    the two static MACs of the ports (read again after the host's own
    changes: dse-dpud makes no record of what fdb.add adds); after the ARP
    one learned MAC more, from the stream;
    vm2-eth0 shown down after the link went down and up after it came
    back; the records counted by the host grow, and dse-dpud has one
    subscriber more than before the host subscribed (the host's), which it
    delivered records to: the host learned this from the stream, not by
    asking.
    """
    prof = lab.state / "profile.yaml"
    prof.write_text(PROFILE)
    lab.ctl("h1", "config", "apply", "-f", prof, "--prune", "--wait")

    def live():
        return lab.ok("h1", "dpu", "show", "h1-d1")["live"]

    v = wait(live, lambda v: v and v["stream"] == "up" and v["macs"]["static"] == 2)
    assert v["stream"] == "up" and v["error"] is None, (v, lab.hostd_log("h1"))
    links = {x["port"]: x["up"] for x in v["links"]}
    assert links == {"vm1-eth0": True, "vm2-eth0": True, "vmnic0": True}, v
    assert v["macs"]["static"] == 2, v
    subs = lab.dpud("h1-d1", "stats.show")["events"]["subscribers"]
    assert len(subs) >= 1, subs

    learned = v["macs"]["learned"]
    p = run([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "/usr/bin/python3", "-c",
             "from scapy.all import Ether, ARP, sendp; sendp(Ether(src='02:00:00:00:01:77', "
             "dst='ff:ff:ff:ff:ff:ff')/ARP(hwsrc='02:00:00:00:01:77', psrc='198.18.1.77', "
             "pdst='198.18.1.2'), iface='eth0', verbose=0)"])
    assert p.returncode == 0, p.stdout + p.stderr
    v = wait(live, lambda v: v["macs"]["learned"] >= learned + 1)
    assert v["macs"]["learned"] >= learned + 1, (v, lab.dpud("h1-d1", "fdb.list"))
    assert any(e["mac"].lower() == "02:00:00:00:01:77" and not e["static"]
               for e in lab.dpud("h1-d1", "fdb.list"))

    events = v["events"]
    try:
        run(["ip", "-n", "dse-h1", "link", "set", "h1-vm2-d1", "down"])
        v = wait(live, lambda v: {x["port"]: x["up"] for x in v["links"]}["vm2-eth0"] is False)
        assert {x["port"]: x["up"] for x in v["links"]}["vm2-eth0"] is False, v
        t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "dpu", "show", "h1-d1"]).stdout
        assert "vm2-eth0 down" in t and "events:" in t and "MACs:" in t, t
    finally:
        run(["ip", "-n", "dse-h1", "link", "set", "h1-vm2-d1", "up"])
    v = wait(live, lambda v: {x["port"]: x["up"] for x in v["links"]}["vm2-eth0"] is True)
    assert {x["port"]: x["up"] for x in v["links"]}["vm2-eth0"] is True, v
    assert v["events"] >= events + 2 and v["lost"] == 0, v
    subs = lab.dpud("h1-d1", "stats.show")["events"]["subscribers"]
    assert any(x["delivered"] >= v["events"] for x in subs), (subs, v)


def test_hostd_lab_firewall_policy_rule_hits_and_connections(lab):
    """The firewall set with dsectl is in force on the DPUs: deny, then allow ICMP.

    Steps: with the profile of the earlier tests (vm1 and vm2 in segment web
    on the pair h1-d1 + h1-d2), 'dsectl fw policy set web deny'; ping vm2
    from vm1; 'dsectl fw rule add 100 --action allow --proto icmp --segment
    web'; ping again; read 'dsectl fw rule list' and 'dsectl fw conn list';
    turn the firewall off again.
    Verify: both DPUs hold the policy and then the rule; the deny policy
    blocks the ping, the ICMP rule lets it through; the rule's hits (summed
    over the DPUs) count the pings and h1-d1, the active DPU, has them;
    'fw conn list --proto icmp' shows the ping's connection between
    198.18.1.1 and 198.18.1.2 on segment web, tracked by h1-d1; with the
    rule and the policy gone both DPUs hold no firewall and the ping works.
    """
    prof = lab.state / "profile.yaml"
    prof.write_text(PROFILE)
    lab.ctl("h1", "config", "apply", "-f", prof, "--prune")
    wait(lambda: dpus_by_name(lab, "h1"),
         lambda d: all(x["config"] == "in-sync" for x in d.values()))
    assert lab.ping("h1-vm1", "198.18.1.2").returncode == 0

    lab.ctl("h1", "fw", "policy", "set", "web", "deny")
    for dpu in ("h1-d1", "h1-d2"):
        got = wait(lambda: fw_on_dpu(lab, dpu), lambda f: f[0] == {"web": "deny"})
        assert got[0] == {"web": "deny"}, (dpu, got, lab.hostd_log("h1"))
    p = lab.ping("h1-vm1", "198.18.1.2", count=2)
    assert p.returncode != 0, "the deny policy let the ping through:\n" + p.stdout
    # The denials are drops of the active DPU, seen from the host by reason.
    drops = lab.ok("h1", "drop", "list")
    assert any(d["dpu"] == "h1-d1" and d["reason"] == "fw_deny" and d["count"] >= 2
               for d in drops["drops"]), drops
    assert sorted(d["name"] for d in drops["dpus"]) == ["h1-d1", "h1-d2"], drops
    assert all(d["error"] is None and d["drops_total"] >= 0 for d in drops["dpus"]), drops

    r = json.loads(lab.ctl("h1", "fw", "rule", "add", "100", "--action", "allow", "--proto",
                           "icmp", "--segment", "web").stdout)
    assert r["changes"] == [{"action": "add", "kind": "rule", "name": "100"}], r
    for dpu in ("h1-d1", "h1-d2"):
        got = wait(lambda: fw_on_dpu(lab, dpu), lambda f: f[1] == [100])
        assert got[1] == [100], (dpu, got, lab.hostd_log("h1"))
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, "the ICMP rule did not let the ping through:\n" + p.stdout

    conns = lab.ok("h1", "fw", "conn", "list", "--proto", "icmp")
    mine = [c for c in conns["conns"] if {c["src"], c["dst"]} == {"198.18.1.1", "198.18.1.2"}]
    assert mine and mine[0]["dpu"] == "h1-d1" and mine[0]["segment"] == "web", conns
    # The host counts the connections from the DPU's events, without asking.
    live = wait(lambda: lab.ok("h1", "dpu", "show", "h1-d1")["live"], lambda v: v["conns"] >= 1)
    assert live["conns"] >= 1, live
    assert conns["total"] >= 1 and all(d["error"] is None for d in conns["dpus"]), conns
    rules = lab.ok("h1", "fw", "rule", "list")["rules"]
    assert [x["id"] for x in rules] == [100], rules
    assert rules[0]["hits"] >= 1 and rules[0]["dpus"].get("h1-d1", 0) >= 1, rules
    assert rules[0]["hits"] == sum(rules[0]["dpus"].values()), rules
    t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "fw", "rule", "list"])
    assert t.returncode == 0 and "HITS" in t.stdout and "allow" in t.stdout, t
    t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "fw", "conn", "list"])
    assert t.returncode == 0 and "198.18.1.2" in t.stdout and "h1-d1" in t.stdout, t

    lab.ctl("h1", "fw", "rule", "del", "100")
    lab.ctl("h1", "fw", "policy", "set", "web", "off")
    for dpu in ("h1-d1", "h1-d2"):
        got = wait(lambda: fw_on_dpu(lab, dpu), lambda f: f == ({}, []))
        assert got == ({}, []), (dpu, got)
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr


def ten_thousand_rules_profile(rules):
    """PROFILE as JSON with a deny policy on web and 'rules' (none: no firewall)."""
    return json.dumps({
        "switches": [{"name": "sw1", "mode": "active-standby", "dpus": ["h1-d1", "h1-d2"],
                      "uplinks": ["vmnic0", "vmnic2"]}],
        "segments": [{"name": "web", "switch": "sw1", "vlan": 100}],
        "ports": [{"name": "vm1-eth0", "mac": "02:00:00:00:01:01", "segment": "web", "vm": "vm1"},
                  {"name": "vm2-eth0", "mac": "02:00:00:00:01:02", "segment": "web", "vm": "vm2"}],
        "firewall": {"policies": [{"segment": "web", "default": "deny"}] if rules else [],
                     "rules": rules}})


def test_hostd_lab_ten_thousand_rules_reach_the_dpus(lab, metrics):
    """10,000 firewall rules applied with dsectl are compiled and in force on the DPUs.

    Steps: apply the profile of the earlier tests (vm1 pings vm2), then the
    same with a deny policy on web and 10,000 rules, of which only rule 7000 (neither first nor last in
    evaluation order) allows vm1's ping to vm2 (the others are TCP rules
    for other ports, half drop, half allow other sources); watch 'dsectl
    dpu list' until both DPUs are in-sync; ping vm2 from vm1; then apply
    the profile without the firewall.
    Verify: the apply stores 10,000 rule changes; both DPUs end in-sync
    holding 10,000 rules (dse-dpud's own count and fw.rule.list), and
    neither was ever reported other than connected while the rules went
    over (the heartbeats kept being answered); the ping passes and counts
    on rule 7000 of h1-d1; without the firewall both DPUs hold no rule and
    no policy, again never unreachable.  The times from dsectl apply to
    both DPUs in-sync are reported (the benchmark fw_rules has the target).
    """
    rules = []
    for i in range(1, 10001):
        if i == 7000:
            r = {"id": i, "priority": 500, "proto": "icmp", "src": "198.18.1.1/32",
                 "dst": "198.18.1.2/32", "action": "allow"}
        else:
            r = {"id": i, "priority": (i * 7919) % 1000, "proto": "tcp",
                 "dst": "198.18.1.2/32", "dport": 1 + i, "action": "drop" if i % 2 else "allow"}
            if not i % 2:
                r["src"] = "198.19.%d.%d/32" % (i // 256 % 256, i % 256)
        rules.append(r)
    prof = lab.state / "rules.json"

    def apply_and_wait(text, want_rules):
        """Applies 'text'; returns (answer, seconds to store, seconds until both DPUs hold it)."""
        prof.write_text(text)
        log = lab.state / "h1" / "log" / "dse-hostd.log"
        log_before = log.stat().st_size
        states = set()
        t0 = time.monotonic()
        r = json.loads(lab.ctl("h1", "config", "apply", "-f", prof, "--prune").stdout)
        t_stored = time.monotonic() - t0
        held, next_list = None, 0
        while time.monotonic() - t0 < 60:
            # The DPUs themselves say when the rules are in force (compiled and published).
            held = [lab.dpud(d, "fw.stats")["rules"] for d in ("h1-d1", "h1-d2")]
            if held == [want_rules] * 2:
                break
            if time.monotonic() >= next_list:
                states |= {x["state"] for x in dpus_by_name(lab, "h1").values()}
                next_list = time.monotonic() + 0.5
            time.sleep(0.02)
        t_sync = time.monotonic() - t0
        assert held == [want_rules] * 2, (held, lab.hostd_log("h1"))
        dpus = wait(lambda: dpus_by_name(lab, "h1"),
                    lambda d: all(x["config"] == "in-sync" for x in d.values()))
        states |= {x["state"] for x in dpus.values()}
        assert all(x["config"] == "in-sync" for x in dpus.values()), (dpus, lab.hostd_log("h1"))
        assert states == {"connected"}, (states, lab.hostd_log("h1")[-5000:])
        with open(log, errors="replace") as f:
            f.seek(log_before)
            new_lines = f.read()
        assert "unreachable" not in new_lines and "lost the connection" not in new_lines, \
            new_lines[-6000:]
        return r, t_stored, t_sync

    apply_and_wait(ten_thousand_rules_profile([]), 0)
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr
    r, stored, synced = apply_and_wait(ten_thousand_rules_profile(rules), 10000)
    assert sum(c["kind"] == "rule" for c in r["changes"]) == 10000, len(r["changes"])
    assert len(lab.dpud("h1-d1", "fw.rule.list")) == 10000
    p = wait(lambda: lab.ping("h1-vm1", "198.18.1.2"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr
    hits = {x["id"]: x["hits"] for x in lab.dpud("h1-d1", "fw.rule.list")}
    assert hits[7000] >= 1 and sum(hits.values()) == hits[7000], hits[7000]
    metrics.append("hostd lab: 10,000 rules: dsectl apply stored in %.2f s, both DPUs in-sync "
                   "after %.2f s" % (stored, synced))

    r, stored, synced = apply_and_wait(ten_thousand_rules_profile([]), 0)
    assert sum(c["kind"] == "rule" for c in r["changes"]) == 10000
    for dpu in ("h1-d1", "h1-d2"):
        assert lab.dpud(dpu, "fw.rule.list") == [] and lab.dpud(dpu, "fw.policy.list") == []
    metrics.append("hostd lab: 10,000 rules deleted: stored in %.2f s, both DPUs in-sync after "
                   "%.2f s" % (stored, synced))


OVERLAY_PROFILES = {
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
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: ov, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:01:02", segment: web, vm: vm2}
""",
    "h2": """\
switches:
  - {name: sw1, mode: single, dpus: [h2-d1], uplinks: [vmnic0], tep: {ip: 198.19.2.1}}
segments:
  - {name: ov, switch: sw1, vni: 5001, peers: [198.19.1.1]}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:02:01", segment: ov, vm: vm1}
""",
}


def test_hostd_lab_overlay_joins_vms_on_two_hosts(lab):
    """Two hosts push one overlay segment; their VMs ping and run iperf3 across it.

    Steps: host 1 applies a profile with its pair h1-d1 + h1-d2 (TEP
    198.19.1.1), segment web (VLAN 100) and overlay segment ov (VNI 5001,
    peer 198.19.2.1) with h1-vm1's port; host 2 applies one with h2-d1 (TEP
    198.19.2.1) and ov (peer 198.19.1.1) with h2-vm1's port; both VMs get
    MTU 1450 (Geneve adds 50 bytes on the 1500-byte fabric); h1-vm1 pings
    h2-vm1 once each TEP resolved its peer, then sends it a 1 s iperf3
    stream.
    Verify: every DPU in-sync; h1-d1 holds ov with its VNI and peer, no
    trunk carries it, and its TEP is 198.19.1.1 on vmnic0; h1-d2 holds ov
    and the TEP on vmnic2 (the standby, held); h2-d1's TEP is 198.19.2.1 on vmnic0; 3 of 3
    pings are answered; each active DPU resolved its peer TEP and learned
    the other VM's MAC behind it; iperf3 moved data; neither active DPU
    counted an oversize or unresolved frame.
    """
    for host, text in OVERLAY_PROFILES.items():
        prof = lab.state / ("overlay-%s.yaml" % host)
        prof.write_text(text)
        lab.ctl(host, "config", "apply", "-f", prof, "--prune")
    for host in ("h1", "h2"):
        dpus = wait(lambda: dpus_by_name(lab, host),
                    lambda d: all(x["config"] == "in-sync" for x in d.values()))
        assert all(x["config"] == "in-sync" for x in dpus.values()), (dpus, lab.hostd_log(host))
    segs = {s["name"]: s for s in lab.dpud("h1-d1", "segment.list")}
    assert (segs["ov"]["vni"], segs["ov"]["peers"]) == (5001, ["198.19.2.1"]), segs
    trunks = [p for p in lab.dpud("h1-d1", "port.list") if p["mode"] == "trunk"]
    assert [(p["name"], p["segments"]) for p in trunks] == [("vmnic0", ["web"])], trunks
    assert "ov" in {s["name"] for s in lab.dpud("h1-d2", "segment.list")}
    # The standby holds the TEP too, on its own uplink; held, it answers no ARP.
    assert lab.dpud("h1-d2", "tep.show")["uplink"] == "vmnic2"
    teps = {d: lab.dpud(d, "tep.show") for d in ("h1-d1", "h2-d1")}
    assert (teps["h1-d1"]["ip"], teps["h1-d1"]["uplink"]) == ("198.19.1.1", "vmnic0"), teps
    assert (teps["h2-d1"]["ip"], teps["h2-d1"]["uplink"]) == ("198.19.2.1", "vmnic0"), teps

    for vm in ("h1-vm1", "h2-vm1"):
        p = run([LAB, "exec", "--state", lab.state, vm, "--", "ip", "link", "set", "eth0",
                 "mtu", "1450"])
        assert p.returncode == 0, p
    # Each TEP asks for its peer's MAC every second until it has it.
    for dpu in ("h1-d1", "h2-d1"):
        tep = wait(lambda: lab.dpud(dpu, "tep.show"),
                   lambda t: all(x["mac"] for x in t["peers"]), timeout=5)
        assert all(x["mac"] for x in tep["peers"]), (dpu, tep)
    drops = {d: lab.dpud(d, "stats.get")["drops"] for d in ("h1-d1", "h2-d1")}
    p = wait(lambda: lab.ping("h1-vm1", "198.18.2.1"), lambda p: " 3 received" in p.stdout,
             timeout=10)
    assert " 3 received" in p.stdout, p.stdout + p.stderr + lab.hostd_log("h1")
    for dpu, peer, mac in (("h1-d1", "198.19.2.1", "02:00:00:00:02:01"),
                           ("h2-d1", "198.19.1.1", "02:00:00:00:01:01")):
        tep = lab.dpud(dpu, "tep.show")
        assert [(x["ip"], x["mac"] is not None) for x in tep["peers"]] == [(peer, True)], tep
        fdb = {(e["mac"].lower(), e["port"]) for e in lab.dpud(dpu, "fdb.show", {"segment": "ov"})}
        assert (mac, "tep-" + peer) in fdb, (dpu, fdb)
    # The same seen from the host, across its DPUs, with dsectl alone.
    for host, dpu, peer, mac in (("h1", "h1-d1", "198.19.2.1", "02:00:00:00:02:01"),
                                 ("h2", "h2-d1", "198.19.1.1", "02:00:00:00:01:01")):
        teps = lab.ok(host, "tep", "list")["teps"]
        # Both DPUs of the pair hold the TEP (the standby's datapath held).
        want = [(dpu, [peer])] + ([("h1-d2", [peer])] if host == "h1" else [])
        assert [(t["dpu"], [x["ip"] for x in t["peers"]]) for t in teps if t["ip"]] == want, teps
        fdb = lab.ok(host, "fdb", "list", "--segment", "ov")
        assert (dpu, mac, "tep-" + peer) in {(e["dpu"], e["mac"].lower(), e["port"])
                                             for e in fdb["entries"]}, fdb
        assert all(e["segment"] == "ov" for e in fdb["entries"]), fdb
    t = run([DSECTL, "-s", lab.state / "h1" / "hostd.sock", "tep", "list"])
    assert t.returncode == 0 and "198.19.1.1" in t.stdout and "198.19.2.1 (" in t.stdout, t

    server = subprocess.Popen(["ip", "netns", "exec", "dse-h2-vm1", "iperf3", "-s", "-1", "-B",
                               "198.18.2.1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait(lambda: run(["ip", "netns", "exec", "dse-h2-vm1", "ss", "-Hltn"]).stdout,
             lambda out: ":5201" in out, timeout=5, interval=0.05)
        p = run([LAB, "exec", "--state", lab.state, "h1-vm1", "--", "iperf3", "-c",
                 "198.18.2.1", "-t", "1", "-J"], timeout=60)
        assert p.returncode == 0, p.stdout[-800:] + p.stderr
        assert json.loads(p.stdout)["end"]["sum_received"]["bytes"] > 100000
    finally:
        server.kill()
        server.wait()
    for dpu, before in drops.items():
        after = lab.dpud(dpu, "stats.get")["drops"]
        assert after["overlay_oversize"] == before["overlay_oversize"], (dpu, after)
        assert after["tep_unresolved"] == before["tep_unresolved"], (dpu, after)


def test_hostd_lab_up_replaces_certificates_of_the_older_profile(lab, tmp_path):
    """'dse-lab up' on a lab whose certificates have no role issues them again.

    Steps: while the lab runs, replace h1-d2's certificate with one of the
    older profile (serverAuth and clientAuth, from host 1's CA) and the
    host's own with one named 'host' of the same profile (as a lab made
    before the roles has them); run 'dse-lab up' again.
    Verify: up says it issues h1-d2's certificate again and restarts h1-d2's
    dse-dpud and host 1's dse-hostd (new pids); h1-d2's certificate is
    serverAuth only and the host's is the control identity (CN
    dse:host-control, clientAuth only); both DPUs are connected again and
    in sync, and host 1's desired state is kept (the same store revision).
    """
    rev = lab.ok("h1", "host", "show")["store"]["revision"]
    pids = {m: lab.pid(m, p) for m, p in (("h1-d2", "dse-dpud"), ("h1", "dse-hostd"))}
    certs.sign(lab.state / "h1", "h1-d2", "serverAuth,clientAuth", lab.state / "h1-d2" / "tls",
               77)
    certs.sign(lab.state / "h1", "host", "serverAuth,clientAuth", lab.state / "h1" / "tls", 78)
    p = lab.lab("up", "--timeout", "60")
    assert "issuing the certificate of h1-d2 again" in p.stdout, p.stdout
    assert "restarting dse-dpud in h1-d2" in p.stdout, p.stdout
    assert "restarting dse-hostd in h1" in p.stdout, p.stdout
    assert lab.pid("h1-d2", "dse-dpud") != pids["h1-d2"]
    assert lab.pid("h1", "dse-hostd") != pids["h1"]
    for cert, cn, eku in ((lab.state / "h1-d2" / "tls" / "cert.pem", "h1-d2",
                           "TLS Web Server Authentication"),
                          (lab.state / "h1" / "tls" / "cert.pem", "dse:host-control",
                           "TLS Web Client Authentication")):
        subj = run(["openssl", "x509", "-noout", "-subject", "-in", cert]).stdout
        assert cn in subj and certs.extended_key_usage(cert) == eku, (subj, cert)
    dpus = wait(lambda: dpus_by_name(lab, "h1"),
                lambda d: all(x["state"] == "connected" and x["config"] == "in-sync"
                              for x in d.values()), timeout=30)
    assert all(x["state"] == "connected" and x["config"] == "in-sync"
               for x in dpus.values()), (dpus, lab.hostd_log("h1"))
    assert lab.ok("h1", "host", "show")["store"]["revision"] == rev


def test_hostd_lab_up_fresh_starts_the_hosts_empty(lab):
    """'dse-lab up --fresh' starts every dse-hostd with an empty desired state.

    Runs last: it empties the hosts.  Steps: with host 1 holding a profile,
    run 'dse-lab up --fresh'.
    Verify: up stops each running dse-hostd and says why, and does not say
    that an earlier desired state is kept; afterwards both hosts show store
    revision 0 and no switches, and host 1's DPUs are connected and
    unmanaged (no switch names them).
    """
    if lab.ok("h1", "host", "show")["switches"] == 0:  # run alone: give it something
        lab.ok("h1", "switch", "add", "sw1", "--mode", "single", "--dpu", "h1-d1")
    p = lab.lab("up", "--fresh", "--timeout", "60")
    assert "stopping dse-hostd in h1" in p.stdout and "--fresh" in p.stdout, p.stdout
    assert "keeps the desired state" not in p.stdout, p.stdout
    for host in ("h1", "h2"):
        st = lab.ok(host, "host", "show")
        assert st["store"]["revision"] == 0 and st["switches"] == 0, (host, st)
    # No switch names them any more: connected, and the host leaves them alone.
    dpus = wait(lambda: dpus_by_name(lab, "h1"),
                lambda d: all(x["state"] == "connected" and x["config"] == "unmanaged"
                              for x in d.values()), timeout=30)
    assert all(x["state"] == "connected" and x["config"] == "unmanaged"
               for x in dpus.values()), dpus


def test_hostd_lab_independent_dpus_do_not_disturb_each_other(lab, metrics):
    """Mode independent: each DPU its own switch; one DPU killed costs the other nothing.

    Steps: host 1 gets switch sw1 (independent) on h1-d1 with vm1 in VLAN 100
    and sw2 (independent) on h1-d2, uplink vmnic2, with vm2 in VLAN 200;
    host 2 a switch on h2-d1 with its vm1 in VLAN 200.  A ping every 10 ms
    from h1-vm2 to h2-vm1 (through h1-d2) while dse-dpud of h1-d1 is
    killed; then it is restarted.
    Verify: the host attached vm2 to h1-d2 (the DPU of its switch) and vm1
    to h1-d1; no failover is recorded (there is no pair); the ping lost
    nothing; h1-d1, back, is in sync again with vm1's port.
    """
    h1 = lab.state / "independent-h1.yaml"
    h1.write_text("""\
switches:
  - {name: sw1, mode: independent, dpus: [h1-d1], uplinks: [vmnic0]}
  - {name: sw2, mode: independent, dpus: [h1-d2], uplinks: [vmnic2]}
segments:
  - {name: web, switch: sw1, vlan: 100}
  - {name: db, switch: sw2, vlan: 200}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:01:01", segment: web, vm: vm1}
  - {name: vm2-eth0, mac: "02:00:00:00:01:02", segment: db, vm: vm2}
""")
    h2 = lab.state / "independent-h2.yaml"
    h2.write_text("""\
switches:
  - {name: sw1, mode: single, dpus: [h2-d1], uplinks: [vmnic0]}
segments:
  - {name: db, switch: sw1, vlan: 200}
ports:
  - {name: vm1-eth0, mac: "02:00:00:00:02:01", segment: db, vm: vm1}
""")
    # Fresh datapaths: an earlier test's TEP can not be taken from a running dse-dpud.
    for d in ("h1-d1", "h1-d2", "h2-d1"):
        lab.lab("fault", d, "restart")
    lab.ctl("h1", "config", "apply", "-f", h1, "--prune", "--wait")
    lab.ctl("h2", "config", "apply", "-f", h2, "--prune", "--wait")
    assert wait(lambda: attached_to("h1", "vm2"), lambda a: a == "h1-d2") == "h1-d2"
    assert attached_to("h1", "vm1") == "h1-d1"
    events = len(lab.ok("h1", "ha", "events"))
    p = wait(lambda: lab.ping("h1-vm2", "198.18.2.1"), lambda p: p.returncode == 0, timeout=10)
    assert p.returncode == 0, p.stdout + p.stderr
    ping = subprocess.Popen([LAB, "exec", "--state", lab.state, "h1-vm2", "--", "ping", "-n",
                             "-i", "0.01", "-c", "300", "-W", "1", "198.18.2.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)  # the stream runs before the fault
        lab.lab("fault", "h1-d1", "kill")
        out = ping.communicate(timeout=60)[0]
    finally:
        if ping.poll() is None:
            ping.kill()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m and m.group(1) == "300", out
    metrics.append("hostd lab: independent DPUs, one killed: the other's ping every 10 ms lost "
                   "%d of 300" % (300 - int(m.group(2))))
    assert m.group(2) == "300", out
    assert len(lab.ok("h1", "ha", "events")) == events
    assert lab.ok("h1", "ha", "status") == []
    lab.lab("fault", "h1-d1", "restart")
    d = wait(lambda: dpus_by_name(lab, "h1")["h1-d1"],
             lambda d: d["state"] == "connected" and d["config"] == "in-sync", timeout=30)
    assert d["config"] == "in-sync" and d["role"] == "independent", d
    assert sorted(p["name"] for p in lab.dpud("h1-d1", "port.list")) == ["vm1-eth0", "vmnic0"]
