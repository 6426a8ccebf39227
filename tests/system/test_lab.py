# SPDX-License-Identifier: BSD-3-Clause
"""System tests of dse-lab, the emulated data centre (docs/host-side.md).

One lab is built for the module (2 hosts: host 1 with 2 DPUs, host 2 with 1
DPU, 2 VMs each) in a state directory under pytest's temp dir, and the
tests walk through its life: up, status, the VM network and its tc mux,
exec, up again, a crash and down.  `dse-lab down --purge` runs at the end
whatever happened.  The lab's namespaces have fixed names (dse-fabric,
dse-hH...), so a lab that is already up on this machine fails the tests
instead of being torn down under someone else.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"
PKT = Path(__file__).resolve().with_name("pkt.py")
DPDK_RUN = Path("/var/run/dpdk")
NS_RE = re.compile(r"^dse-(fabric|h[0-9]+(-.*)?)$")


def build_dir():
    build = Path(os.environ.get("DSE_BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


LAB = build_dir() / "src" / "lab" / "dse-lab"

TOPOLOGY = {"hosts": [
    {"dpus": [
        {"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0",
         "fw_version": "24.35.1012", "serial": "MT2231X00001", "pci": "0000:3b:00.0"},
        {"vendor": "NVIDIA", "model": "BlueField-2", "hw_version": "B0",
         "fw_version": "24.35.1012", "serial": "MT2231X00002", "pci": "0000:af:00.0"}],
     "vms": 2},
    {"dpus": [
        {"vendor": "AMD", "model": "Pensando DSC2-200", "hw_version": "A1",
         "fw_version": "1.78.1", "serial": "PEN0042", "pci": "0000:5e:00.0"}],
     "vms": 2},
]}
MACHINES = {"fabric", "h1", "h1-d1", "h1-d2", "h1-vm1", "h1-vm2",
            "h2", "h2-d1", "h2-vm1", "h2-vm2"}
DPUS = ["h1-d1", "h1-d2", "h2-d1"]
VMS = [(1, 1), (1, 2), (2, 1), (2, 2)]


def run(cmd, timeout=60, check=False, input=None):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, input=input, check=check)


def lab(state, *args, timeout=90):
    """Runs dse-lab VERB ARGS... with --state; returns the CompletedProcess."""
    verb, rest = args[0], args[1:]
    return run([LAB, verb, "--state", state, *rest], timeout=timeout)


def ok(p):
    """Asserts a CompletedProcess exited 0 and returns it."""
    assert p.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, p.stdout, p.stderr)
    return p


def lab_namespaces():
    p = run(["ip", "netns", "list"], check=True)
    names = {line.split()[0] for line in p.stdout.splitlines() if line.strip()}
    return {n for n in names if NS_RE.match(n)}


def status(state):
    p = lab(state, "status", "-j")
    assert p.returncode in (0, 3), p.stderr
    st = json.loads(p.stdout)
    st["rc"] = p.returncode
    st["by_name"] = {m["name"]: m for m in st["machines"]}
    return st


def dpud_pids(state):
    return {m: status(state)["by_name"][m]["pid"] for m in DPUS}


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def ip_json(ns, *args):
    return json.loads(run(["ip", "-j", "-n", ns, *args], check=True).stdout)


def frame_hex(src_mac, marker):
    """A broadcast frame of ethertype 0x88b5 (no kernel answers it) carrying 'marker'."""
    payload = marker.encode().ljust(50, b".")
    return "ff" * 6 + src_mac.replace(":", "") + "88b5" + payload.hex()


class Capture:
    """pkt.py capture on 'iface' in namespace 'ns' (stdin kept open while it runs)."""

    def __init__(self, ns, iface, timeout=3):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, PYTHON, PKT, "capture", iface, "--timeout", str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        assert line == "READY", "capture on %s/%s: %r %s" % (ns, iface, line, self.p.stderr.read())

    def frames(self):
        """Stops the capture and returns the test frames seen (ethertype 0x88b5), as hex."""
        out, _ = self.p.communicate(input="stop\n", timeout=10)
        return [l for l in out.split() if l not in ("READY", "END") and l[24:28] == "88b5"]


def send(ns, iface, frames):
    p = run(["ip", "netns", "exec", ns, PYTHON, PKT, "send", iface],
            input="".join(f + "\n" for f in frames), check=True)
    assert all(json.loads(l)["ok"] for l in p.stdout.splitlines()), p.stdout


def wait_for(fn, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """The state dir of the module's lab; the lab is removed at the end, pass or fail."""
    assert os.geteuid() == 0, "the dse-lab tests need root (network namespaces)"
    assert LAB.exists(), "%s is missing: run 'make build'" % LAB
    present = lab_namespaces()
    assert not present, ("a lab is already up on this machine (%s): not touching it; "
                         "'dse-lab down' removes it" % sorted(present))
    d = tmp_path_factory.mktemp("lab") / "state"
    try:
        yield d
    finally:
        p = lab(d, "down", "--purge")
        left = lab_namespaces()
        assert p.returncode == 0 and not left, (p.stderr, left)


@pytest.fixture(scope="module")
def up(state, tmp_path_factory):
    """The module's lab, built from a topology file; returns the output of up."""
    topo = tmp_path_factory.mktemp("topo") / "topology.json"
    topo.write_text(json.dumps(TOPOLOGY))
    t0 = time.monotonic()
    p = ok(lab(state, "up", "--topology", topo))
    print("dse-lab up: %.2f s" % (time.monotonic() - t0))
    return p


def test_bad_topology_is_refused_and_builds_nothing(state, tmp_path):
    """Steps: up with bad topology files and flags.
    Verify: exit 2 and a message naming the member or flag; no namespace is made."""
    def bad_file(topo, words):
        f = tmp_path / "bad.json"
        f.write_text(topo if isinstance(topo, str) else json.dumps(topo))
        p = lab(state, "up", "--topology", f)
        assert p.returncode == 2, (topo, p.stdout, p.stderr)
        for w in words:
            assert w in p.stderr, (topo, w, p.stderr)

    dpu = {"serial": "X1", "pci": "0000:3b:00.0"}
    bad_file({"hosts": [{"dpus": [dpu], "vms": 1, "cpus": 4}]}, ["hosts[0]", "unknown", "cpus"])
    bad_file({"hosts": [{"dpus": [dpu], "vms": "2"}]}, ["hosts[0].vms", "integer"])
    bad_file({"hosts": [{"dpus": [dpu], "vms": 17}]}, ["hosts[0].vms", "0 to 16"])
    bad_file({"hosts": [{"dpus": [dpu] * 3}]}, ["hosts[0].dpus", "1 or 2"])
    bad_file({"hosts": [{"dpus": [{"vendor": 7}]}]}, ["hosts[0].dpus[0].vendor", "string"])
    bad_file({"hosts": [{"dpus": [{"pci": "3b:00.0"}]}]}, ["pci", "PCI address"])
    bad_file({"hosts": [{"dpus": [{}]}] * 9}, ["hosts", "1 to 8"])
    bad_file({"hosts": []}, ["hosts", "1 to 8"])
    bad_file("{\"hosts\": [", ["not valid JSON"])
    for flags, word in ((["--hosts", "0"], "--hosts"), (["--dpus", "3"], "--dpus"),
                        (["--hosts", "2", "--vms", "1,2,3"], "--vms"),
                        (["--dpus", "1,x"], "--dpus")):
        p = lab(state, "up", *flags)
        assert p.returncode == 2 and word in p.stderr, (flags, p.stderr)
    assert lab_namespaces() == set()


def test_up_builds_every_machine_and_starts_every_dpud(state, up):
    """Steps: up with the module's topology file; status -j.
    Verify: every namespace exists, each dse-dpud runs and answers; identities,
    topology.json, identity.json and the machine directories are written."""
    assert "lab up" in up.stdout
    assert lab_namespaces() == {"dse-" + m for m in MACHINES}
    st = status(state)
    assert st["rc"] == 0 and st["complete"] is True, st
    assert set(st["by_name"]) == MACHINES
    assert all(m["exists"] for m in st["machines"])
    dpus = [(h, n) for h, host in enumerate(TOPOLOGY["hosts"], 1)
            for n in range(1, len(host["dpus"]) + 1)]
    for h, n in dpus:
        m = st["by_name"]["h%d-d%d" % (h, n)]
        assert m["process"] == "dse-dpud" and m["running"] and m["answers"], m
        assert m["identity"] == TOPOLOGY["hosts"][h - 1]["dpus"][n - 1]
        d = state / ("h%d-d%d" % (h, n))
        assert json.loads((d / "identity.json").read_text()) == m["identity"]
        assert (d / "run" / "dse-dpud.pid").read_text().strip() == str(m["pid"])
    assert json.loads((state / "topology.json").read_text()) == TOPOLOGY
    for machine in ("h1", "h1-d1", "h1-d2", "h2", "h2-d1"):
        for sub in ("bank-a", "bank-b", "log", "run"):
            assert (state / machine / sub).is_dir(), (machine, sub)
    table = ok(lab(state, "status")).stdout
    assert "h1-d2" in table and "running" in table and "PEN0042" in table


def rpc_response(path, method, params=None):
    """One JSON-RPC 2.0 call on the Unix socket 'path'; returns the response."""
    import socket
    req = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        req["params"] = params
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, "%s: closed without an answer" % method
            buf += chunk
    return json.loads(buf.split(b"\n")[0])


def rpc(path, method, params=None):
    """One JSON-RPC 2.0 call on the Unix socket 'path'; returns the result."""
    resp = rpc_response(path, method, params)
    assert "result" in resp, resp
    return resp["result"]


def test_daemons_report_the_identity_of_the_topology(state, up):
    """Steps: dp.identity on each dse-dpud (when it has --identity); dpu.list on
    each dse-hostd (when it is built).
    Verify: every DPU reports the identity its topology gave it, and every host
    daemon lists its DPUs as connected with those identities."""
    dpud_help = run([build_dir() / "dse-dpud", "--", "--help"]).stdout
    hostd_built = (build_dir() / "src" / "hostd" / "dse-hostd").exists()
    if "--identity" not in dpud_help and not hostd_built:
        pytest.skip("neither dse-dpud --identity nor dse-hostd is built yet")
    keys = ("vendor", "model", "hw_version", "fw_version", "serial", "pci")
    for h, host in enumerate(TOPOLOGY["hosts"], 1):
        for n, want in enumerate(host["dpus"], 1):
            if "--identity" in dpud_help:
                got = rpc(state / ("h%d-d%d" % (h, n)) / "run" / "dpud.sock", "dp.identity.show")
                assert {k: got[k] for k in keys} == want, got
        if hostd_built:
            listed = {d["name"]: d for d in rpc(state / ("h%d" % h) / "hostd.sock", "dpu.list")}
            assert set(listed) == {"h%d-d%d" % (h, n) for n in range(1, len(host["dpus"]) + 1)}
            for n, want in enumerate(host["dpus"], 1):
                d = listed["h%d-d%d" % (h, n)]
                assert d["state"] == "connected", d
                assert {k: d[k] for k in keys} == want, d


def test_links_addresses_and_uplinks_follow_the_contract(state, up):
    """Steps: read the interfaces of every namespace.
    Verify: VM eth0 with 198.18.H.V/16 and MAC 02:00:00:00:HH:VV, TX checksum
    offload off; int-dN/int0 /30s, sync0 between the two DPUs of host 1, vmnic
    uplinks in the tor bridge; IPv6 off on lab links, lo up."""
    for h, v in VMS:
        ns = "dse-h%d-vm%d" % (h, v)
        (eth0,) = ip_json(ns, "addr", "show", "dev", "eth0")
        assert eth0["address"] == "02:00:00:00:%02x:%02x" % (h, v)
        assert "UP" in eth0["flags"] and eth0["mtu"] == 1450  # room for Geneve on the 1500 fabric
        addrs = {"%s/%d" % (a["local"], a["prefixlen"]) for a in eth0["addr_info"]}
        assert addrs == {"198.18.%d.%d/16" % (h, v)}, eth0
        k = run(["ip", "netns", "exec", ns, "ethtool", "-k", "eth0"], check=True).stdout
        assert "tx-checksumming: off" in k
        (lo,) = ip_json(ns, "link", "show", "dev", "lo")
        assert "UP" in lo["flags"]
    for h, dpus in ((1, 2), (2, 1)):
        for n in range(1, dpus + 1):
            (host_end,) = ip_json("dse-h%d" % h, "addr", "show", "dev", "int-d%d" % n)
            (dpu_end,) = ip_json("dse-h%d-d%d" % (h, n), "addr", "show", "dev", "int0")
            assert [(a["family"], a["local"], a["prefixlen"]) for a in host_end["addr_info"]] \
                == [("inet", "169.254.%d.%d" % (h, 4 * n + 1), 30)]
            assert [(a["family"], a["local"], a["prefixlen"]) for a in dpu_end["addr_info"]] \
                == [("inet", "169.254.%d.%d" % (h, 4 * n + 2), 30)]
            names = {l["ifname"] for l in ip_json("dse-h%d-d%d" % (h, n), "link", "show")}
            uplinks = {"vmnic%d" % k for k in range(2 * (n - 1), 2 * n)}
            assert names == {"lo", "int0", "rep-vm1", "rep-vm2"} | uplinks | (
                {"sync0"} if dpus == 2 else set()), names
    sync = [ip_json("dse-h1-d%d" % n, "addr", "show", "dev", "sync0")[0]["addr_info"]
            for n in (1, 2)]
    assert [[a["local"] for a in s] for s in sync] == [["169.254.1.201"], ["169.254.1.202"]]
    ports = {l["ifname"] for l in ip_json("dse-fabric", "link", "show", "master", "tor")}
    assert ports == {"h1-vmnic0", "h1-vmnic1", "h1-vmnic2", "h1-vmnic3",
                     "h2-vmnic0", "h2-vmnic1"}
    disable = run(["ip", "netns", "exec", "dse-h1-d1", "sysctl", "-n",
                   "net.ipv6.conf.int0.disable_ipv6", "net.ipv6.conf.rep-vm1.disable_ipv6",
                   "net.ipv6.conf.vmnic0.disable_ipv6"], check=True).stdout.split()
    assert disable == ["1", "1", "1"]
    # The host can reach its DPU over the internal link, and exec passes exit codes on.
    ok(run([LAB, "exec", "h1", "--", "ping", "-c", "1", "-W", "2", "169.254.1.10"]))
    assert run([LAB, "exec", "h2-vm1", "--", "false"]).returncode == 1
    assert run([LAB, "exec", "h9", "--", "true"]).returncode == 125
    assert run([LAB, "exec", "root", "--", "true"]).returncode == 125


def test_each_dpu_may_open_only_its_own_ports(state, up):
    """Steps: read each DPU's ports.allow; on h1-d1's dse-dpud, port.add on
    int0, sync0, lo and vmnic2 (DPU 2's uplink), then on rep-vm1; port.del.
    Verify: DPU N's allow-list names its uplinks vmnic(2N-2) and vmnic(2N-1)
    and the representors of its host's VMs, nothing else (not int0 or sync0:
    a port there would switch VM frames onto the internal network); h1-d1
    refuses the four interfaces with an error naming the allow-list and
    takes rep-vm1."""
    for h, dpus in ((1, 2), (2, 1)):
        for n in range(1, dpus + 1):
            text = (state / ("h%d-d%d" % (h, n)) / "ports.allow").read_text()
            names = [line for line in text.splitlines() if line and not line.startswith("#")]
            assert names == ["vmnic%d" % (2 * n - 2), "vmnic%d" % (2 * n - 1),
                             "rep-vm1", "rep-vm2"], text
    sock = state / "h1-d1" / "run" / "dpud.sock"
    for iface in ("int0", "sync0", "lo", "vmnic2"):
        resp = rpc_response(sock, "port.add",
                            {"name": "p", "devargs": "net_af_packet9,iface=" + iface})
        assert "error" in resp and "interface '%s' is not on this DPU's allow-list" % iface \
            in resp["error"]["message"], resp
    assert rpc(sock, "port.add", {"name": "p", "devargs": "net_af_packet9,iface=rep-vm1"})
    rpc(sock, "port.del", {"name": "p"})
    assert rpc(sock, "port.list") == []


def test_tc_mux_carries_vm_frames_to_the_attached_dpu_and_back(state, up):
    """Steps: capture on rep-vm2 in both DPUs of host 1, send a frame from
    h1-vm2's eth0; then send one from rep-vm2 of each DPU towards the VM.
    Verify: DPU 1 (the attached one) gets the VM's frame unchanged, DPU 2
    nothing; the VM gets the frames of both DPUs; status shows the attachment."""
    frame = frame_hex("02:00:00:00:01:02", "to-the-dpu")
    d1, d2 = Capture("dse-h1-d1", "rep-vm2"), Capture("dse-h1-d2", "rep-vm2")
    send("dse-h1-vm2", "eth0", [frame])
    time.sleep(0.3)
    got1, got2 = d1.frames(), d2.frames()
    assert got1 == [frame], got1
    assert frame not in got2, got2

    vm = Capture("dse-h1-vm2", "eth0")
    back = [frame_hex("02:00:00:00:aa:0%d" % n, "from-dpu-%d" % n) for n in (1, 2)]
    send("dse-h1-d1", "rep-vm2", [back[0]])
    send("dse-h1-d2", "rep-vm2", [back[1]])
    time.sleep(0.3)
    assert vm.frames() == back
    st = status(state)
    assert {m: st["by_name"][m]["attached"] for m in ("h1-vm1", "h1-vm2", "h2-vm2")} == {
        "h1-vm1": "h1-d1", "h1-vm2": "h1-d1", "h2-vm2": "h2-d1"}


def test_up_again_changes_nothing(state, up):
    """Steps: up a second time (no topology: the state's), then up with the
    same topology as flags-free file again.
    Verify: exit 0, nothing started, same dse-dpud pids, same interfaces."""
    before = dpud_pids(state)
    links = {ns: [(l["ifindex"], l["ifname"]) for l in ip_json(ns, "link", "show")]
             for ns in ("dse-h1", "dse-h1-d1", "dse-fabric")}
    t0 = time.monotonic()
    p = ok(lab(state, "up"))
    print("dse-lab up (again): %.2f s" % (time.monotonic() - t0))
    assert "started" not in p.stdout
    assert dpud_pids(state) == before
    assert {ns: [(l["ifindex"], l["ifname"]) for l in ip_json(ns, "link", "show")]
            for ns in links} == links
    assert status(state)["rc"] == 0


def test_up_restarts_a_dpud_that_died(state, up):
    """Steps: kill -9 the dse-dpud of h2-d1, then up.
    Verify: status reports it stopped (exit 3); up starts only that one again."""
    before = dpud_pids(state)
    os.kill(before["h2-d1"], signal.SIGKILL)
    assert wait_for(lambda: not alive(before["h2-d1"]))
    st = status(state)
    assert st["rc"] == 3 and st["by_name"]["h2-d1"]["running"] is False
    p = ok(lab(state, "up"))
    assert "started dse-dpud in h2-d1" in p.stdout and p.stdout.count("started") == 1
    after = dpud_pids(state)
    assert after["h2-d1"] != before["h2-d1"] and alive(after["h2-d1"])
    assert {m: after[m] for m in ("h1-d1", "h1-d2")} == {m: before[m] for m in ("h1-d1", "h1-d2")}
    assert status(state)["rc"] == 0


def test_up_with_another_topology_is_refused(state, up):
    """Steps: up --hosts 1 while the module's lab is up.
    Verify: exit 1 telling to run down first; the lab is untouched."""
    before = dpud_pids(state)
    p = lab(state, "up", "--hosts", "1")
    assert p.returncode == 1 and "dse-lab down" in p.stderr, p.stderr
    assert dpud_pids(state) == before
    assert json.loads((state / "topology.json").read_text()) == TOPOLOGY


def test_down_cleans_up_after_a_crash(state, up):
    """Steps: kill -9 one dse-dpud, lose another's pid file, delete the
    namespace of a third while it runs and a VM namespace; then down, twice.
    Verify: no lab namespace, no lab process, no DPDK runtime dir is left;
    the state dir stays (no --purge); a second down finds nothing to do."""
    pids = dpud_pids(state)
    os.kill(pids["h1-d1"], signal.SIGKILL)
    (state / "h1-d2" / "run" / "dse-dpud.pid").unlink()
    ok(run(["ip", "netns", "del", "dse-h2-d1"]))   # its dse-dpud lives on, orphaned
    ok(run(["ip", "netns", "del", "dse-h2-vm2"]))
    assert alive(pids["h1-d2"]) and alive(pids["h2-d1"])
    t0 = time.monotonic()
    p = ok(lab(state, "down"))
    print("dse-lab down: %.2f s" % (time.monotonic() - t0))
    assert lab_namespaces() == set()
    assert not any(alive(pid) for pid in pids.values()), pids
    assert not list(DPDK_RUN.glob("dse-lab-*"))
    assert (state / "topology.json").exists()
    assert not list(state.glob("*/run/*"))
    st = status(state)
    assert st["rc"] == 3 and not any(m["exists"] for m in st["machines"])
    p = ok(lab(state, "down"))
    assert "stopped 0 processes, removed 0 namespaces" in p.stdout


def test_failed_up_is_reported_and_down_removes_it(state, tmp_path):
    """Steps: up with a dse-dpud that exits at once (/bin/false), then down --purge;
    down with a state dir that does not exist.
    Verify: up exits 1 naming the DPU that died; down leaves no namespace and
    removes the state dir."""
    half = tmp_path / "half"
    p = lab(half, "up", "--hosts", "1", "--dpus", "2", "--vms", "1", "--dpud", "/bin/false",
            "--timeout", "5")
    assert p.returncode == 1
    assert "dse-dpud in h1-d" in p.stderr and "exited with status 1" in p.stderr, p.stderr
    assert "dse-lab down" in p.stderr
    assert lab_namespaces() == {"dse-fabric", "dse-h1", "dse-h1-d1", "dse-h1-d2", "dse-h1-vm1"}
    ok(lab(half, "down", "--purge"))
    assert lab_namespaces() == set() and not half.exists()
    ok(lab(tmp_path / "never-made", "down"))


def test_help_tells_every_verb(state):
    """Verify: dse-lab --help names every verb and each verb's --help its options."""
    top = ok(run([LAB, "--help"])).stdout
    for verb in ("up", "down", "status", "exec", "attach", "fault"):
        assert verb in top
    assert "--topology" in ok(run([LAB, "up", "--help"])).stdout
    assert "--purge" in ok(run([LAB, "help", "down"])).stdout
    assert "-j" in ok(run([LAB, "status", "--help"])).stdout
    assert "MACHINE" in ok(run([LAB, "exec", "--help"])).stdout
    assert "VM DPU" in ok(run([LAB, "attach", "--help"])).stdout
    assert run([LAB, "frobnicate"]).returncode == 2


def test_attach_refuses_what_is_not_a_vm_and_dpu_of_one_host(state):
    """dse-lab attach: bad names and a VM of another host are exit 2, a VM of no lab exit 1."""
    for args, want in ((["vm1"], "needs VM and DPU"), (["vm1", "h1-d3"], "not a DPU"),
                       (["eth0", "h1-d2"], "not a VM"), (["h2-vm1", "h1-d2"], "on host 2")):
        p = run([LAB, "attach"] + args)
        assert p.returncode == 2 and want in p.stderr, (args, p.stderr)
    p = run([LAB, "attach", "h7-vm1", "h7-d2"])
    assert p.returncode == 1 and "no VM h7-vm1" in p.stderr, p.stderr


def test_fault_refuses_what_it_can_not_do(state):
    """dse-lab fault: a machine that is neither DPU nor host, an unknown fault, a cable of a
    host or an uplink the DPU does not have are refused; a daemon that does not run too."""
    for args, rc, want in ((["h1-vm1", "kill"], 2, "neither a DPU"),
                           (["h1-d1", "explode"], 2, "no fault"),
                           (["h1", "cable-cut"], 2, "not a host"),
                           (["h1-d1", "kill", "vmnic0"], 2, "takes no UPLINK"),
                           (["h1-d1"], 2, "needs MACHINE and a fault")):
        p = run([LAB, "fault", "--state", state] + args)
        assert p.returncode == rc and want in p.stderr, (args, p.returncode, p.stderr)
    p = run([LAB, "fault", "--state", state, "h7-d1", "hang"])
    assert p.returncode == 1 and "no dse-dpud runs in h7-d1" in p.stderr, p.stderr
    assert "cable-cut" in ok(run([LAB, "fault", "--help"])).stdout


FAKE_DPUD = r'''#!/usr/bin/python3
# Stands for a dse-dpud with --identity, --mgmt and --ports-allow: records its
# arguments next to its socket, drops the first three options (the lab has
# no host CA here) and runs the real one.
import json, os, sys
REAL = %(real)r
args = sys.argv[1:]
if args[-2:] == ["--", "--help"]:
    print("  --identity FILE\n  --mgmt ADDR:PORT\n  --tls-dir DIR\n  --ports-allow FILE")
    sys.exit(0)
rpc = args[args.index("--rpc") + 1]
with open(os.path.join(os.path.dirname(rpc), "argv.json"), "w") as f:
    json.dump(args, f)
out, skip = [], 0
for a in args:
    if skip:
        skip -= 1
    elif a in ("--identity", "--mgmt", "--tls-dir"):
        skip = 1
    else:
        out.append(a)
os.execv(REAL, [REAL] + out)
'''

FAKE_HOSTD = r'''#!/usr/bin/python3
# Stands for dse-hostd: 'cert issue' writes dummy files; the daemon answers
# dpu.list on DIR/hostd.sock, a DPU "connected" once its dse-dpud answers.
import json, os, socket, sys
args = sys.argv[1:]
if args[:2] == ["cert", "issue"]:
    out, name = args[args.index("--out") + 1], args[args.index("--name") + 1]
    os.makedirs(out, exist_ok=True)
    for f in ("ca.pem", "cert.pem", "key.pem"):
        with open(os.path.join(out, f), "w") as fh:
            fh.write(name + "\n")
    sys.exit(0)
state = args[args.index("--state") + 1]
host = os.path.basename(state.rstrip("/"))
with open(os.path.join(state, "run", "argv.json"), "w") as f:
    json.dump(args, f)
def dpud_answers(path):
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(path)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"dp.show"}\n')
        ok = b"result" in s.recv(65536); s.close(); return ok
    except OSError:
        return False
srv = socket.socket(socket.AF_UNIX)
sock = os.path.join(state, "hostd.sock")
if os.path.exists(sock):
    os.unlink(sock)
srv.bind(sock); srv.listen(8)
lab = os.path.dirname(state.rstrip("/"))
while True:
    c, _ = srv.accept()
    req = json.loads(c.makefile().readline())
    dpus = sorted(d for d in os.listdir(lab) if d.startswith(host + "-d"))
    res = [{"name": d, "state": "connected" if dpud_answers(os.path.join(lab, d, "run", "dpud.sock"))
            else "connecting"} for d in dpus]
    c.sendall((json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": res}) + "\n").encode())
    c.close()
'''


def test_up_with_a_host_daemon_issues_certs_and_waits_for_connected_dpus(state, tmp_path):
    """Steps: up (1 host, 2 DPUs) with stand-ins for dse-hostd and a dse-dpud
    that has --identity and --mgmt; status; kill the host daemon and up
    again; down --purge.
    Verify: DPU certificates issued into hH-dN/tls before dse-dpud starts with
    --identity, --ports-allow, --mgmt 169.254.H.(4N+2):7300 and --tls-dir;
    dse-hostd runs in dse-h1 with --state DIR/h1 --init (a new host) and up
    waited for its DPUs to be connected; started again it gets no --init (a
    dse-hostd ran there: a store lost now is dse-hostd's to refuse)."""
    assert lab_namespaces() == set(), "the module's lab must be down by now"
    dpud, hostd = tmp_path / "dse-dpud", tmp_path / "dse-hostd"
    dpud.write_text(FAKE_DPUD % {"real": str(build_dir() / "dse-dpud")})
    hostd.write_text(FAKE_HOSTD)
    dpud.chmod(0o755)
    hostd.chmod(0o755)
    st_dir = tmp_path / "withhost"
    try:
        p = ok(lab(st_dir, "up", "--dpus", "2", "--vms", "1", "--dpud", dpud, "--hostd", hostd))
        assert "dse-hostd in every host" in p.stdout, p.stdout
        for n in (1, 2):
            d = st_dir / ("h1-d%d" % n)
            assert (d / "tls" / "cert.pem").read_text() == "h1-d%d\n" % n
            argv = json.loads((d / "run" / "argv.json").read_text())
            assert argv[0] == "--file-prefix=dse-lab-h1-d%d" % n and argv[1:4] == [
                "--", "--lab", "--ha-faults"]
            opts = dict(zip(argv[4::2], argv[5::2]))
            assert opts == {"--rpc": str(d / "run" / "dpud.sock"),
                            "--identity": str(d / "identity.json"),
                            "--ports-allow": str(d / "ports.allow"),
                            "--mgmt": "169.254.1.%d:7300" % (4 * n + 2),
                            "--tls-dir": str(d / "tls")}, argv
        # A failover moves the VMs with this lab's own attach.
        hook = "'%s' attach" % LAB.resolve()
        assert json.loads((st_dir / "h1" / "run" / "argv.json").read_text()) == [
            "--state", str(st_dir / "h1"), "--socket", str(st_dir / "h1" / "hostd.sock"),
            "--attach-hook", hook, "--init"]
        st = status(st_dir)
        h1 = st["by_name"]["h1"]
        assert st["rc"] == 0 and h1["process"] == "dse-hostd" and h1["running"] and h1["answers"]
        ok(run(["ip", "netns", "pids", "dse-h1"]))
        assert str(h1["pid"]) in run(["ip", "netns", "pids", "dse-h1"]).stdout.split()
        os.kill(h1["pid"], signal.SIGKILL)
        ok(lab(st_dir, "up", "--dpus", "2", "--vms", "1", "--dpud", dpud, "--hostd", hostd))
        assert json.loads((st_dir / "h1" / "run" / "argv.json").read_text()) == [
            "--state", str(st_dir / "h1"), "--socket", str(st_dir / "h1" / "hostd.sock"),
            "--attach-hook", hook]
    finally:
        p = lab(st_dir, "down", "--purge")
    assert p.returncode == 0 and lab_namespaces() == set() and not st_dir.exists(), p.stderr
