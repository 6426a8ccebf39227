# SPDX-License-Identifier: BSD-3-Clause
"""What port.add may open, tried from the caller's side, and what the kernel
drops in front of a port.

A port's devargs reach a DPDK driver that runs as root: the tests check that
dse-dpud opens only interfaces of its allow-list (--ports-allow), that the
test devices (net_pcap reads and writes files) exist only with
--test-devices and never for a caller on the TLS control port, and that
nothing of a refused call reached the OS (no socket on a refused interface,
no file touched, no command run).  Then that frames the kernel dropped
because a port's ring was full show in the port's counters.
"""
import json
import os
import signal
from pathlib import Path

import pytest

import certs

from lab import PYTHON, ROOT, BROADCAST, RpcError, dpud_binary, l2_frame, run, wait_for

INVALID_PARAMS, APP, NOT_FOUND = -32602, -32000, -32601


def packet_socket_ifindexes(ns):
    """The interface index of every AF_PACKET socket in namespace 'ns' (/proc/net/packet)."""
    lines = ns.run("cat", "/proc/net/packet").stdout.splitlines()[1:]
    return [int(line.split()[4]) for line in lines if line.strip()]


def ifindex(ns, iface):
    return json.loads(ns.ip("-j", "link", "show", iface).stdout)[0]["ifindex"]


def kernel_rx(ns, iface):
    """Packets the kernel received on 'iface' (its own counter, ip -s link)."""
    link = json.loads(ns.ip("-s", "-j", "link", "show", iface).stdout)[0]
    return link["stats64"]["rx"]["packets"]


def refused(dpud_or_call, code, text, *args, **kw):
    """Calls port.add and expects the error 'code' with 'text' in its message; returns it."""
    try:
        dpud_or_call("port.add", *args, **kw)
    except RpcError as e:
        assert e.code == code and text in e.message, e
        return e.message
    raise AssertionError("port.add %s was accepted" % (kw or args))


def test_port_add_opens_only_interfaces_of_the_allow_list(lab):
    """Steps: vm1 and vm2 are cabled, dse-dpud's allow-list names vm1 only
    and it runs without --test-devices; on its Unix socket port.add tries lo
    (an interface of the DPU's own OS), vm2, a PCI address, net_tap (which
    would create an interface), net_null, an unknown key and a second queue;
    then vm1, and vm1 again under another device name.
    Verify: every attempt but the first vm1 is refused with invalid params
    naming the interface, driver or key (the second vm1 with an application
    error naming the port that has it); port.list holds vm1 only; the
    namespace has AF_PACKET sockets on vm1 only (none on lo or vm2, no new
    interface) and vm2 was not put in promiscuous mode."""
    lab.add_vm("vm1")
    lab.add_vm("vm2")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}],
                          allow=["vm1"])
    links_before = {link["ifname"] for link in json.loads(lab.dp.ip("-j", "link").stdout)}
    for devargs, text in (
            ("net_af_packet5,iface=lo", "interface 'lo' is not on this DPU's allow-list"),
            ("net_af_packet5,iface=vm2", "interface 'vm2' is not on"),
            ("0000:00:01.0", "must name a net_af_packet device"),
            ("net_tap0,iface=dse-tap0", "must name a net_af_packet device"),
            ("net_null0", "net_null is a test device"),
            ("net_af_packet5,iface=vm1,rx_iface=lo", "takes no key 'rx_iface'"),
            ("net_af_packet5,iface=vm1,qpairs=2", "qpairs must be 1, the number of workers")):
        msg = refused(dpud.call, INVALID_PARAMS, text, name="p", devargs=devargs, segment="a")
        assert "(--ports-allow: vm1)" in msg or "allow-list" not in msg, msg
    assert dpud.call("port.list") == []
    assert packet_socket_ifindexes(lab.dp) == []

    assert dpud.call("port.add", name="vm1", devargs="net_af_packet0,iface=vm1",
                     segment="a")["name"] == "vm1"
    refused(dpud.call, APP, "interface 'vm1' is already port 'vm1'", name="again",
            devargs="net_af_packet1,iface=vm1", segment="a")
    ports = dpud.call("port.list")
    assert [(p["name"], p["devargs"]) for p in ports] == [("vm1", "net_af_packet0,iface=vm1")]
    assert ports[0]["ring_frames"] == 4096, ports
    socks = packet_socket_ifindexes(lab.dp)
    assert socks and set(socks) == {ifindex(lab.dp, "vm1")}, socks
    assert {link["ifname"] for link in json.loads(lab.dp.ip("-j", "link").stdout)} == links_before
    vm2_flags = json.loads(lab.dp.ip("-j", "link", "show", "vm2").stdout)[0]["flags"]
    assert "PROMISC" not in vm2_flags, vm2_flags


TLS_CALL = r"""
import json, socket, ssl, sys
host, port, cert, key, method, params = sys.argv[1:7]
s = socket.create_connection((host, int(port)), timeout=5)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(s)
s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": json.loads(params)}) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
"""


def hostd_binary():
    build = Path(os.environ.get("DSE_BUILD", "build"))
    return (build if build.is_absolute() else ROOT / build) / "src" / "hostd" / "dse-hostd"


class TlsClient:
    """Calls dse-dpud's TLS control port from inside its namespace, as the host does."""

    def __init__(self, ns, addr, tls_dir):
        self.ns, self.addr, self.tls_dir = ns, addr, Path(tls_dir)

    def call(self, method, params=None, **kw):
        host, port = self.addr.split(":")
        p = self.ns.run(PYTHON, "-c", TLS_CALL, host, port, self.tls_dir / "cert.pem",
                        self.tls_dir / "key.pem", method, json.dumps(dict(params or {}, **kw)))
        resp = json.loads(p.stdout)
        if "error" in resp:
            raise RpcError(resp["error"])
        return resp["result"]


def write_pcap(path, frames):
    """A pcap file (microsecond, Ethernet) holding 'frames'."""
    import struct
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for f in frames:
        data += struct.pack("<IIII", 0, 0, len(f), len(f)) + f
    Path(path).write_bytes(data)


@pytest.fixture
def tls_dpud(lab):
    """dse-dpud with --test-devices and its control port on 127.0.0.1:7300 of its
    namespace (a certificate of a test CA; the client has one from the same CA);
    vm1 is cabled and on the allow-list."""
    state = lab.tmp / "ca"
    run([hostd_binary(), "cert", "issue", "--state", state, "--name", "dpu", "--out",
         lab.tmp / "dpu-tls"])
    certs.host_identity(state, lab.tmp / "host-tls")
    lab.add_vm("vm1")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}],
                          ["--mgmt", "127.0.0.1:7300", "--tls-dir", lab.tmp / "dpu-tls"],
                          test_devices=True)
    return dpud, TlsClient(lab.dp, "127.0.0.1:7300", lab.tmp / "host-tls")


def test_the_network_can_not_open_files_devices_or_foreign_interfaces(lab, tls_dpud):
    """Steps: dse-dpud runs with --test-devices and its TLS control port; a
    file 'victim' holds some bytes.  Over TLS (a client with a certificate of
    the right CA) port.add asks for net_pcap with tx_pcap=victim (the issue's
    attack), net_af_packet on lo (the DPU's own OS), net_failsafe with
    exec(...) (DPDK runs that shell command) and net_null; then for vm1, an
    allowed interface.  Then the same net_pcap, reading a real pcap and
    writing to a new file, on the Unix socket.
    Verify: over TLS every device but vm1 is refused with invalid params that
    say why (test device never over the network, lo not on the allow-list,
    not a net_af_packet device); the victim is unchanged, failsafe's command
    did not run (no marker file), no AF_PACKET socket is on lo; vm1 is added.
    On the Unix socket net_pcap is accepted (the benchmarks' way) and reads
    the pcap's frames."""
    dpud, tls = tls_dpud
    victim = lab.tmp / "victim"
    victim.write_bytes(b"precious bytes\n")
    pcap, marker = lab.tmp / "in.pcap", lab.tmp / "failsafe-ran"
    write_pcap(pcap, [l2_frame("02:00:00:00:00:0a", BROADCAST, "from-pcap-%d" % i)
                      for i in range(3)])

    refused(tls.call, INVALID_PARAMS, "net_pcap is a test device: it is opened only from the "
            "Unix socket or --config, never over the network", name="p",
            devargs="net_pcap7,rx_pcap=%s,tx_pcap=%s" % (pcap, victim), segment="a")
    refused(tls.call, INVALID_PARAMS, "interface 'lo' is not on this DPU's allow-list",
            name="p", devargs="net_af_packet5,iface=lo", segment="a")
    refused(tls.call, INVALID_PARAMS, "must name a net_af_packet device", name="p",
            devargs="net_failsafe0,exec(touch${IFS}%s)" % marker, segment="a")
    refused(tls.call, INVALID_PARAMS, "never over the network", name="p", devargs="net_null0",
            segment="a")
    assert victim.read_bytes() == b"precious bytes\n"
    assert not marker.exists(), "net_failsafe ran its exec() command"
    assert ifindex(lab.dp, "lo") not in packet_socket_ifindexes(lab.dp)
    assert dpud.call("port.list") == []
    assert tls.call("port.add", name="vm1", devargs="net_af_packet0,iface=vm1",
                    segment="a")["name"] == "vm1"

    out = lab.tmp / "out.pcap"
    dpud.call("port.add", name="p", devargs="net_pcap7,rx_pcap=%s,tx_pcap=%s" % (pcap, out),
              segment="a")
    st = wait_for(lambda: {p["name"]: p["stats"] for p in dpud.call("port.list")},
                  lambda s: s["p"]["rx_packets"] >= 3)
    assert st["p"]["rx_packets"] == 3, st
    assert victim.read_bytes() == b"precious bytes\n"


CLOCK_METHODS = ("clock.show", "clock.freeze", "clock.release", "clock.advance")


def unknown_method(call, method, **kw):
    """Calls 'method' and expects "unknown method"; returns the message."""
    try:
        call(method, **kw)
    except RpcError as e:
        assert e.code == NOT_FOUND and "unknown method" in e.message, e
        return e.message
    raise AssertionError("%s was served" % method)


def test_the_test_clock_is_local_and_only_with_its_option(lab, tls_dpud):
    """Steps: dse-dpud runs with --test-clock and its TLS control port; over
    TLS rpc.list is read and every clock method called (clock.freeze would
    stop the datapath's timers: ageing, connection expiry); then the same on
    the Unix socket.  A second dse-dpud starts without --test-clock and is
    asked the same on its Unix socket.
    Verify: over TLS no clock method exists (unknown method, not in
    rpc.list) and the clock is not frozen afterwards; on the Unix socket of
    the first they are listed and work; the second knows none of them."""
    dpud, tls = tls_dpud
    remote = {m["name"] for m in tls.call("rpc.list")}
    assert "dp.show" in remote and not remote & set(CLOCK_METHODS), remote
    for m in CLOCK_METHODS:
        unknown_method(tls.call, m, **({"seconds": 60} if m == "clock.advance" else {}))
    local = {m["name"] for m in dpud.call("rpc.list")}
    assert set(CLOCK_METHODS) <= local, local
    assert dpud.call("clock.show")["frozen"] is False
    assert dpud.call("clock.freeze")["frozen"] is True
    assert dpud.call("clock.release")["frozen"] is False

    plain = lab.start_dpud([], test_clock=False)
    assert not {m["name"] for m in plain.call("rpc.list")} & set(CLOCK_METHODS)
    for m in CLOCK_METHODS:
        unknown_method(lambda method: plain.call(method, check=False), m)
    assert "--test-clock" in run([dpud_binary(), "--help"]).stdout


def test_frames_the_kernel_drops_in_front_of_a_port_are_counted(lab):
    """Steps: vm1 on a port with a ring of 64 frames (framecnt=64), alone in
    its segment; dse-dpud is stopped (SIGSTOP: its worker reads nothing, as
    when its core is taken by others) while vm1 sends 300 frames; it
    continues (SIGCONT); port.list is read twice; the same again with 100
    frames.
    Verify: the kernel's own counter of the interface (ip -s link) grew by
    300; dse counts rx_packets 64 (the ring's frames), rx_kernel_packets 300
    and rx_kernel_dropped 236, and rx_missed 236: the kernel's count equals
    dse's received plus dropped.  A second read changes nothing (the
    kernel's counters reset on each read; dse keeps the sum).  After the
    second round the sums are 128 received, 400 offered and 272 dropped."""
    vm1 = lab.add_vm("vm1")
    dpud = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}},
                           {"method": "port.add", "params": {
                               "name": "vm1", "devargs": "net_af_packet0,iface=vm1,framecnt=64",
                               "segment": "a"}}])
    assert dpud.ports()["vm1"]["ring_frames"] == 64
    want = {"rx_packets": 0, "rx_kernel_packets": 0, "rx_kernel_dropped": 0, "rx_missed": 0}
    k0 = kernel_rx(lab.dp, "vm1")
    for n_frames, rx, offered in ((300, 64, 300), (100, 128, 400)):
        os.kill(dpud.proc.pid, signal.SIGSTOP)
        try:
            vm1.send_ok([l2_frame(vm1.mac, BROADCAST, "flood-%d" % i) for i in range(n_frames)])
        finally:
            os.kill(dpud.proc.pid, signal.SIGCONT)
        want = {"rx_packets": rx, "rx_kernel_packets": offered,
                "rx_kernel_dropped": offered - rx, "rx_missed": offered - rx}
        st = wait_for(lambda: dpud.port_stats()["vm1"],
                      lambda s: s["rx_packets"] >= rx and s["rx_kernel_packets"] >= offered)
        assert {k: st[k] for k in want} == want, st
        assert kernel_rx(lab.dp, "vm1") - k0 == offered
        again = dpud.port_stats()["vm1"]
        assert {k: again[k] for k in want} == want, again
