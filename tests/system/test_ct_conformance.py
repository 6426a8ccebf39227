# SPDX-License-Identifier: BSD-3-Clause
"""Connection tracking conformance: scripted packet sequences through a
firewalled segment, one packet at a time, each verdict checked, in both
directions.

Two scripted endpoints, a client behind vm1 and a server behind vm2, speak
with frames built by scapy.  Their addresses (198.18.0.101, .102 and
2001:db8::101, ::102 in the VMs' segment) belong to no interface, so the
VMs' kernels stay silent and every frame on the wire is one a test wrote.

A verdict is read from dse-dpud, not guessed from a timeout: a packet either
arrives at the other VM (its capture sees it) or one of dse-dpud's drop
counters counts it, and the test waits (bounded) for whichever it expects
and checks that the other did not happen.  Fragments that wait for the rest
of their datagram are seen entering the reassembly node and going nowhere.

Where the RFCs leave room, each test says which reference its verdict
follows: Linux nf_conntrack in its strict setting (nf_conntrack_tcp_loose=0,
nf_conntrack_tcp_be_liberal=0, nf_conntrack_checksum=1) or OpenBSD pf.
"""
import itertools

import pytest

from lab import counters, delta, port_config, wait_for

CLIENT4, SERVER4 = "198.18.0.101", "198.18.0.102"
CLIENT6, SERVER6 = "2001:db8::101", "2001:db8::102"
ROUTER4 = "198.18.0.254"
CPORT, SPORT = 40000, 8080

_ids = itertools.count(1000)


def scapy():
    from scapy.layers import inet, inet6, l2
    return l2, inet, inet6


class Wire:
    """The scripted client (vm1 side) and server (vm2 side) and dse-dpud's verdicts."""

    def __init__(self, dpud, vm1, vm2):
        self.dpud = dpud
        self.vm = {"c": vm1, "s": vm2}
        self.cap = {"c": vm1.capture(timeout=120), "s": vm2.capture(timeout=120)}

    def eth(self, side):
        l2, _, _ = scapy()
        a, b = (self.vm["c"], self.vm["s"]) if side == "c" else (self.vm["s"], self.vm["c"])
        return l2.Ether(src=a.mac, dst=b.mac)

    def ip4(self, side, **kw):
        _, inet, _ = scapy()
        src, dst = (CLIENT4, SERVER4) if side == "c" else (SERVER4, CLIENT4)
        kw.setdefault("id", next(_ids))
        return self.eth(side) / inet.IP(src=kw.pop("src", src), dst=kw.pop("dst", dst), **kw)

    def ip6(self, side, **kw):
        _, _, inet6 = scapy()
        src, dst = (CLIENT6, SERVER6) if side == "c" else (SERVER6, CLIENT6)
        kw.setdefault("fl", next(_ids))
        return self.eth(side) / inet6.IPv6(src=src, dst=dst, **kw)

    def _arrived(self, to, raw):
        """Frames at 'to' that carry the bytes of 'raw' after its Ethernet header."""
        body = raw[14:]
        return [f for f in self.cap[to].frames if f[14:14 + len(body)] == body]

    def send(self, side, pkt, expect, wait_pass=True, drops=1):
        """Sends 'pkt' from 'side' ("c" or "s") and checks the verdict.

        'expect' is "pass" (it reaches the other side, no drop counted), a
        drop reason (that counter grows by one, nothing arrives), or "held"
        (a fragment taken by reassembly: nothing arrives, nothing dropped).
        A drop may take 'drops' packets (the fragments of one datagram).
        Returns the counter delta."""
        raw = bytes(pkt)
        to = "s" if side == "c" else "c"
        start = counters(self.dpud.stats())
        self.vm[side].send_ok([raw])
        if expect == "pass":
            got = wait_for(lambda: self._arrived(to, raw), len, timeout=5) if wait_pass else []
            d = delta(counters(self.dpud.stats()), start)
            drops = {k: v for k, v in d.items() if k.startswith("drop.")}
            assert (got or not wait_pass) and not drops, \
                "expected %s to pass: arrived %d, drops %s" % (pkt.summary(), len(got), drops)
            return d
        if expect == "held":
            d = wait_for(lambda: delta(counters(self.dpud.stats()), start),
                         lambda d: d.get("node.dse_reass", 0) >= 1, timeout=5)
            drops = {k: v for k, v in d.items() if k.startswith("drop.")}
            assert d.get("node.dse_reass") == 1 and not drops, (pkt.summary(), d)
            assert not self._arrived(to, raw), "a held fragment went on"
            return d
        key = "drop." + expect
        d = wait_for(lambda: delta(counters(self.dpud.stats()), start),
                     lambda d: d.get(key, 0) >= drops or any(
                         k.startswith("drop.") and k != key for k in d), timeout=5)
        got = {k: v for k, v in d.items() if k.startswith("drop.")}
        assert got == {key: drops}, "expected %s dropped as %s, drops %s" % (
            pkt.summary(), expect, got)
        assert not self._arrived(to, raw), "a dropped packet arrived"
        return d

    def conns(self, **filt):
        return self.dpud.call("fw.conn.list", **filt)["conns"]

    def conn(self, **filt):
        cs = self.conns(**filt)
        assert len(cs) == 1, cs
        return cs[0]


@pytest.fixture
def wire(lab):
    """vm1 and vm2 in segment a, firewall on with default deny; rules allow
    TCP to the server's port 8080, UDP to 5353 and ICMP/ICMPv6 echo from the
    client.  Returns a Wire."""
    vm1 = lab.add_vm("vm1", 1)
    vm2 = lab.add_vm("vm2", 2)
    dpud = lab.start_dpud([
        {"method": "segment.add", "params": {"name": "a", "vlan": 100}},
        port_config("vm1", segment="a"), port_config("vm2", segment="a"),
        {"method": "fw.policy.set", "params": {"segment": "a", "default": "deny"}},
        {"method": "fw.rule.add", "params": {"id": 1, "action": "allow", "proto": "tcp",
                                             "dport": SPORT}},
        {"method": "fw.rule.add", "params": {"id": 2, "action": "allow", "proto": "udp",
                                             "dport": 5353}},
        {"method": "fw.rule.add", "params": {"id": 3, "action": "allow", "proto": "icmp",
                                             "icmp_type": 8}},
        {"method": "fw.rule.add", "params": {"id": 4, "action": "allow", "proto": "icmpv6",
                                             "icmp_type": 128}}])
    return Wire(dpud, vm1, vm2)


class Tcp:
    """A scripted TCP connection: sequence numbers of both sides, IPv4 or IPv6."""

    def __init__(self, w, v6=False, cport=CPORT, cisn=100000, sisn=500000):
        self.w, self.v6, self.cport = w, v6, cport
        self.seq = {"c": cisn, "s": sisn}

    def pkt(self, side, flags, seq=None, ack=None, data=b"", win=64000, chksum=None,
            options=None):
        _, inet, _ = scapy()
        other = "s" if side == "c" else "c"
        sport, dport = (self.cport, SPORT) if side == "c" else (SPORT, self.cport)
        kw = {}
        if chksum is not None:
            kw["chksum"] = chksum
        if options is not None:
            kw["options"] = options
        tcp = inet.TCP(sport=sport, dport=dport, flags=flags,
                       seq=self.seq[side] if seq is None else seq,
                       ack=(self.seq[other] if "A" in flags else 0) if ack is None else ack,
                       window=win, **kw)
        ip = self.w.ip6(side) if self.v6 else self.w.ip4(side)
        return ip / tcp / data

    def send(self, side, flags, expect="pass", data=b"", advance=True, **kw):
        d = self.w.send(side, self.pkt(side, flags, data=data, **kw), expect)
        if advance and expect == "pass" and "seq" not in kw:
            self.seq[side] += len(data) + ("S" in flags) + ("F" in flags)
        return d

    def handshake(self):
        self.send("c", "S")
        self.send("s", "SA")
        self.send("c", "A")
        c = self.w.conn(proto="tcp", port=self.cport)
        assert c["state"] == "ESTABLISHED", c
        return c


def with_bad_checksum(pkt, layer):
    """'pkt' with the checksum of 'layer' (a scapy class) wrong by one."""
    raw = pkt.__class__(bytes(pkt))
    good = raw[layer].chksum
    raw[layer].chksum = (good + 1) & 0xffff or 1
    return raw


# ---- checksums (Linux nf_conntrack with nf_conntrack_checksum=1: INVALID) ----

def test_checksums_are_verified_before_any_state_changes(wire):
    """Steps: a TCP connection is established; the server sends a RST at the
    exact sequence number but with a wrong TCP checksum; the client sends a
    data segment with a wrong checksum, then the same segment right, and the
    server acknowledges it; then a SYN with a wrong checksum on new ports, a
    packet with a wrong IPv4 header checksum, a UDP datagram with a wrong
    checksum and one with none (zero), and an echo request with a wrong ICMP
    checksum.
    Verify: the bad RST is dropped (cksum_tcp) and the connection stays
    ESTABLISHED; the bad data is dropped and does not move the window (the
    good copy and its ACK pass); the bad SYN creates no connection; the IPv4
    header, UDP and ICMP ones are dropped by their own reasons; UDP without
    a checksum passes."""
    l2, inet, _ = scapy()
    t = Tcp(wire)
    t.handshake()
    rst = t.pkt("s", "R")
    wire.send("s", with_bad_checksum(rst, inet.TCP), "cksum_tcp")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    data = t.pkt("c", "PA", data=b"x" * 500)
    wire.send("c", with_bad_checksum(data, inet.TCP), "cksum_tcp")
    t.send("c", "PA", data=b"x" * 500)
    t.send("s", "A")
    assert wire.conn(proto="tcp")["packets"] == [3, 2]

    syn = Tcp(wire, cport=40100).pkt("c", "S")
    wire.send("c", with_bad_checksum(syn, inet.TCP), "cksum_tcp")
    assert not wire.conns(port=40100)
    udp = wire.ip4("c") / inet.UDP(sport=7000, dport=5353) / b"dgram"
    wire.send("c", with_bad_checksum(udp, inet.IP), "cksum_ip4")
    wire.send("c", with_bad_checksum(udp, inet.UDP), "cksum_udp")
    nosum = wire.ip4("c") / inet.UDP(sport=7001, dport=5353, chksum=0) / b"no checksum"
    wire.send("c", nosum, "pass")
    ping = wire.ip4("c") / inet.ICMP(type=8, id=9, seq=1) / b"ping"
    wire.send("c", with_bad_checksum(ping, inet.ICMP), "cksum_icmp")
    assert not wire.conns(proto="icmp")
    st = wire.dpud.stats()["drops"]
    assert (st["cksum_tcp"], st["cksum_ip4"], st["cksum_udp"], st["cksum_icmp"]) == (3, 1, 1, 1)


def test_ipv6_checksums_and_zero_udp_checksum(wire):
    """Steps: over IPv6, a UDP datagram without a checksum, one with a wrong
    one, a TCP SYN with a wrong checksum, then a right SYN and the server's
    SYN+ACK with a wrong checksum.
    Verify: zero is refused over IPv6 (RFC 8200: cksum_udp), the wrong ones
    too; the right SYN passes and the connection stays SYN_SENT."""
    _, inet, inet6 = scapy()
    u0 = wire.ip6("c") / inet.UDP(sport=7000, dport=5353, chksum=0) / b"zero"
    wire.send("c", u0, "cksum_udp")
    u = wire.ip6("c") / inet.UDP(sport=7000, dport=5353) / b"bad"
    wire.send("c", with_bad_checksum(u, inet.UDP), "cksum_udp")
    t = Tcp(wire, v6=True)
    wire.send("c", with_bad_checksum(t.pkt("c", "S"), inet.TCP), "cksum_tcp")
    t.send("c", "S")
    wire.send("s", with_bad_checksum(t.pkt("s", "SA"), inet.TCP), "cksum_tcp")
    assert wire.conn(proto="tcp")["state"] == "SYN_SENT"


# ---- RST (RFC 5961 section 3) ------------------------------------------------

def test_rst_only_at_the_exact_sequence_number_closes(wire):
    """RFC 5961 section 3; Linux nf_conntrack agrees (an in-window RST not at
    the expected number is passed and the connection kept until the
    challenge ACK is answered).
    Steps: after the handshake and 1000 bytes from the server (acknowledged),
    the client sends a RST above the window, one just below the number the
    server acknowledged last (its RCV.NXT), one in the window but not
    exact; the server sends its challenge ACK; the client sends the exact
    RST; then data from the server.
    Verify: the first two are dropped (ct_invalid) and change nothing; the
    inexact one reaches the server and the connection stays ESTABLISHED; the
    challenge ACK passes; the exact RST passes and closes (CLOSE); later
    data is dropped (ct_invalid)."""
    t = Tcp(wire)
    t.handshake()
    t.send("s", "PA", data=b"s" * 1000)
    t.send("c", "A")
    wire.send("c", t.pkt("c", "R", seq=t.seq["c"] + 10 ** 6), "ct_invalid")
    wire.send("c", t.pkt("c", "R", seq=t.seq["c"] - 1), "ct_invalid")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    wire.send("c", t.pkt("c", "R", seq=t.seq["c"] + 5000), "pass")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    t.send("s", "A")
    wire.send("c", t.pkt("c", "R"), "pass")
    assert wire.conn(proto="tcp")["state"] == "CLOSE"
    t.send("s", "PA", "ct_invalid", data=b"late")
    st = wire.dpud.call("fw.stats.show")
    assert st["rst_challenged"] == 1 and st["invalid_reasons"]["rst_window"] == 2, st


def test_rst_from_the_server_side_follows_the_same_rule(wire):
    """RFC 5961 section 3, the other direction.
    Steps: after the handshake the server sends an inexact RST, then the
    exact one.
    Verify: the first passes without closing, the second closes."""
    t = Tcp(wire)
    t.handshake()
    wire.send("s", t.pkt("s", "R", seq=t.seq["s"] + 100), "pass")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    wire.send("s", t.pkt("s", "RA"), "pass")
    assert wire.conn(proto="tcp")["state"] == "CLOSE"


# ---- SYN on an open connection (RFC 5961 section 4) --------------------------

def test_syn_on_an_established_connection_reaches_the_server_and_keeps_it(wire):
    """RFC 5961 section 4 (a client that restarted); Linux nf_conntrack lets
    the SYN through the same way.
    Steps: after the handshake the client sends a SYN with a new ISN; the
    server answers with its challenge ACK; the client (which has no state)
    answers with a RST at the acknowledged number; then its SYN again, and
    the new handshake.
    Verify: the SYN reaches the server and the connection stays ESTABLISHED;
    the challenge ACK reaches the client; the RST closes; the repeated SYN
    opens a new connection that completes."""
    t = Tcp(wire)
    t.handshake()
    wire.send("c", t.pkt("c", "S", seq=900000), "pass")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    t.send("s", "A")
    wire.send("c", t.pkt("c", "R", seq=t.seq["c"]), "pass")
    assert wire.conn(proto="tcp")["state"] == "CLOSE"
    t.seq["c"] = 900000
    t.send("c", "S")
    t.send("s", "SA")
    t.send("c", "A")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"
    assert wire.dpud.call("fw.stats.show")["syn_on_open"] == 1


def test_syn_on_an_established_connection_answered_by_synack_replaces_it(wire):
    """Linux nf_conntrack re-initialises a connection the same way when the
    server answers the SYN it let through with a SYN+ACK.
    Steps: after the handshake the client sends a SYN with a new ISN; the
    server answers with a SYN+ACK of a new ISN; the client ACKs; data both
    ways at the new numbers.
    Verify: each passes; the connection is a new one (fw.stats replaced 1,
    a new id) and ESTABLISHED; the new data passes both ways."""
    t = Tcp(wire)
    old = t.handshake()
    t.seq = {"c": 900000, "s": 300000}
    t.send("c", "S")
    t.send("s", "SA")
    t.send("c", "A")
    t.send("c", "PA", data=b"hello")
    t.send("s", "PA", data=b"world")
    c = wire.conn(proto="tcp")
    assert c["state"] == "ESTABLISHED" and c["id"] != old["id"], (old, c)
    assert wire.dpud.call("fw.stats.show")["replaced"] == 1


# ---- TCP Fast Open fallback and what stays strict ----------------------------

def test_syn_with_data_and_a_synack_of_the_syn_alone(wire):
    """RFC 7413 section 3 (the server ignores the SYN's data); Linux
    nf_conntrack accepts it.
    Steps: the client's SYN carries 200 bytes; the server's SYN+ACK
    acknowledges the SYN only; the client ACKs and sends the 200 bytes
    again; the server acknowledges them.
    Verify: every packet passes and the connection is ESTABLISHED."""
    t = Tcp(wire)
    isn = t.seq["c"]
    wire.send("c", t.pkt("c", "S", data=b"d" * 200), "pass")
    t.seq["c"] = isn + 1
    t.send("s", "SA")
    t.send("c", "A")
    t.send("c", "PA", data=b"d" * 200)
    t.send("s", "A")
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"


def test_what_stays_strict_synack_of_the_isn_and_data_past_the_window(wire):
    """Strict as OpenBSD pf and RFC 9293's acceptability test: a SYN+ACK
    that acknowledges the ISN itself, and a segment that starts past the
    right edge of the window the receiver offered, are refused.
    Steps: SYN; a SYN+ACK acknowledging the ISN; the right SYN+ACK (window
    1000); the ACK; data of 1000 bytes (fits), then 10 bytes starting 10
    bytes beyond the window's right edge.
    Verify: the bad SYN+ACK and the data beyond the edge are dropped
    (ct_invalid); the rest passes."""
    t = Tcp(wire)
    isn = t.seq["c"]
    t.send("c", "S")
    wire.send("s", t.pkt("s", "SA", ack=isn), "ct_invalid")
    t.send("s", "SA", win=1000)
    t.send("c", "A")
    t.send("c", "PA", data=b"x" * 1000)
    t.send("c", "PA", "ct_invalid", data=b"y" * 10, seq=t.seq["c"] + 10)


# ---- ICMP errors (RFC 5927; Linux nf_conntrack RELATED) ----------------------

def icmp4_error(wire, side, quoted, type_, code, src=None, **kw):
    """An ICMP error that 'side' ("c" or "s") sends across, to the other
    side's address, from 'src' (default: its own), quoting 'quoted' (a
    frame): its IP header and 8 bytes."""
    _, inet, _ = scapy()
    inner = inet.IP(bytes(quoted)[14:])
    ip = wire.ip4(side, src=src) if src else wire.ip4(side)
    return ip / inet.ICMP(type=type_, code=code, **kw) / bytes(inner)[:inner.ihl * 4 + 8]


def test_icmp_errors_about_a_connection_pass_as_related_both_ways(wire):
    """Linux nf_conntrack RELATED; the sequence check is RFC 5927's.
    Steps: a TCP connection carries data both ways; through default deny, a
    router (198.18.0.254, behind the server's side) sends the client a
    fragmentation needed quoting the client's segment; the server sends the
    client a port unreachable about it; the client sends the server a time
    exceeded quoting the server's segment; then a fragmentation needed
    quoting a sequence number far from anything sent; one quoting a port no
    connection uses; and a parameter problem to the wrong host.
    Verify: the first three pass and are counted by kind; the last three
    are judged by the rules and denied (fw_deny), the implausible sequence
    counted in related_bad_seq."""
    t = Tcp(wire)
    t.handshake()
    cseg = t.pkt("c", "PA", data=b"c" * 1400)
    t.send("c", "PA", data=b"c" * 1400)
    sseg = t.pkt("s", "PA", data=b"s" * 100)
    t.send("s", "PA", data=b"s" * 100)
    wire.send("s", icmp4_error(wire, "s", cseg, 3, 4, src=ROUTER4, nexthopmtu=1000), "pass")
    wire.send("s", icmp4_error(wire, "s", cseg, 3, 3), "pass")
    wire.send("c", icmp4_error(wire, "c", sseg, 11, 0), "pass")
    far = t.pkt("c", "PA", seq=t.seq["c"] + 3 * 10 ** 8, data=b"c")
    wire.send("s", icmp4_error(wire, "s", far, 3, 4, src=ROUTER4, nexthopmtu=1000), "fw_deny")
    other = Tcp(wire, cport=41000).pkt("c", "PA", data=b"c")
    wire.send("s", icmp4_error(wire, "s", other, 3, 3), "fw_deny")
    # The client "reports" its own segment to the server: the error does not go back to
    # the quoted packet's sender.
    wire.send("c", icmp4_error(wire, "c", cseg, 12, 0), "fw_deny")
    st = wire.dpud.call("fw.stats.show")
    assert st["related"] == {"frag_needed": 1, "unreachable": 1, "time_exceeded": 1,
                             "param_problem": 0}, st
    assert st["related_bad_seq"] == 1, st
    assert st["unrelated"] == {"frag_needed": 1, "unreachable": 1, "time_exceeded": 0,
                               "param_problem": 1}, st
    assert wire.conn(proto="tcp")["state"] == "ESTABLISHED"


def test_icmp_errors_about_udp_ping_and_ipv6_flows(wire):
    """Linux nf_conntrack RELATED for UDP, echo and ICMPv6.
    Steps: the client sends a UDP datagram to 5353 and an echo request;
    the server answers the datagram with a port unreachable and a router
    answers the echo with a time exceeded; over IPv6 the client sends a UDP
    datagram and a router sends back a packet too big about it.
    Verify: each error reaches the client."""
    _, inet, inet6 = scapy()
    udp = wire.ip4("c") / inet.UDP(sport=7100, dport=5353) / (b"q" * 100)
    wire.send("c", udp, "pass")
    wire.send("s", icmp4_error(wire, "s", udp, 3, 3), "pass")
    ping = wire.ip4("c") / inet.ICMP(type=8, id=77, seq=1) / (b"p" * 32)
    wire.send("c", ping, "pass")
    wire.send("s", icmp4_error(wire, "s", ping, 11, 0, src=ROUTER4), "pass")
    u6 = wire.ip6("c") / inet.UDP(sport=7200, dport=5353) / (b"v" * 1300)
    wire.send("c", u6, "pass")
    quote = bytes(u6)[14:14 + 1232]
    ptb = wire.ip6("s") / inet6.ICMPv6PacketTooBig(mtu=1280) / quote
    wire.send("s", ptb, "pass")
    st = wire.dpud.call("fw.stats.show")
    assert st["related"]["unreachable"] == 1 and st["related"]["time_exceeded"] == 1, st
    assert st["related"]["frag_needed"] == 1, st


# ---- fragments (RFC 791, RFC 8200, RFC 5722, RFC 1858) ---------------------

def frags4(pkt, size):
    """IPv4 fragments of 'pkt' with 'size' bytes of data each (a multiple of 8)."""
    l2, inet, _ = scapy()
    eth = pkt[l2.Ether]
    return [eth.__class__(src=eth.src, dst=eth.dst) / f
            for f in inet.fragment(pkt[inet.IP], fragsize=size)]


def test_fragmented_udp_is_tracked_whole_and_leaves_as_it_came_both_ways(wire):
    """Steps: the client sends a 3000-byte UDP datagram in fragments of 1000
    bytes, the server answers with 2000 bytes in fragments of 800.
    Verify: the first fragments are held, the last completes the datagram
    and all of its fragments arrive (the same number, each no larger than it
    came); the connection counts the whole datagrams (REPLIED, IP bytes 3020
    and 2020)."""
    _, inet, _ = scapy()
    q = wire.ip4("c") / inet.UDP(sport=7300, dport=5353) / (b"Q" * 2992)
    fs = frags4(q, 1000)
    assert len(fs) == 3
    start = counters(wire.dpud.stats())
    for f in fs[:-1]:
        wire.send("c", f, "held")
    wire.vm["c"].send_ok([bytes(fs[-1])])
    got = wait_for(lambda: [f for f in wire.cap["s"].frames if f[12:14] == b"\x08\x00" and
                            f[26:34] == bytes(q)[26:34] and f[23] == 17], lambda g: len(g) >= 3)
    assert len(got) == 3 and max(len(f) for f in got) <= max(len(bytes(f)) for f in fs), \
        ([len(f) for f in got], [len(bytes(f)) for f in fs])
    a = wire.ip4("s") / inet.UDP(sport=5353, dport=7300) / (b"A" * 1992)
    for f in frags4(a, 800)[:-1]:
        wire.send("s", f, "held")
    wire.vm["s"].send_ok([bytes(frags4(a, 800)[-1])])
    wait_for(lambda: wire.conn(proto="udp")["state"], lambda s: s == "REPLIED")
    c = wire.conn(proto="udp")
    assert c["bytes"] == [3020, 2020], c
    d = delta(counters(wire.dpud.stats()), start)
    assert not {k: v for k, v in d.items() if k.startswith("drop.")}, d


def test_fragments_of_a_tcp_segment_count_whole_so_the_ack_fits(wire):
    """The bug this fixes: tracking only the first fragment's bytes made the
    server's acknowledgement of the whole segment look out of window.
    Steps: after the handshake (server window 64000) the client sends a
    4000-byte segment in fragments of 1480; the server acknowledges all of
    it.
    Verify: the fragments arrive, and the ACK passes."""
    t = Tcp(wire)
    t.handshake()
    seg = t.pkt("c", "PA", data=b"f" * 4000)
    fs = frags4(seg, 1480)
    for f in fs[:-1]:
        wire.send("c", f, "held")
    wire.vm["c"].send_ok([bytes(fs[-1])])
    wait_for(lambda: wire.conn(proto="tcp")["packets"][0], lambda n: n == 3)
    t.seq["c"] += 4000
    t.send("s", "A")


def test_orphan_overlapping_and_tiny_fragments_are_dropped(wire):
    """RFC 5722 (overlap: the whole datagram goes, both fragments counted),
    RFC 1858 (tiny first
    fragment), and a fragment that belongs to no datagram (the hole this
    closes: it used to be forwarded).
    Steps: freeze the clock; the client sends a non-first fragment whose
    datagram never comes, then advance the clock past the fragment timeout;
    a datagram whose second fragment overlaps the first; a TCP first
    fragment of 16 bytes (the header cut); a fragment of a denied flow
    (UDP to 9999) completed.
    Verify: the orphan is held, then dropped as frag_timeout; the
    overlapping datagram is dropped (frag_invalid) and nothing of it
    arrives; the tiny fragment is dropped (frag_tiny); the denied datagram
    is dropped (fw_deny) and none of its fragments arrive."""
    _, inet, _ = scapy()
    dpud = wire.dpud
    dpud.call("clock.freeze")
    q = wire.ip4("c", id=4242) / inet.UDP(sport=7400, dport=5353) / (b"O" * 2000)
    fs = frags4(q, 1000)
    wire.send("c", fs[1], "held")
    start = counters(dpud.stats())
    dpud.call("clock.advance", seconds=6)
    d = wait_for(lambda: delta(counters(dpud.stats()), start),
                 lambda d: d.get("drop.frag_timeout", 0) >= 1)
    assert d.get("drop.frag_timeout") == 1, d

    ov = wire.ip4("c", id=4343) / inet.UDP(sport=7401, dport=5353) / (b"V" * 64)
    raw = bytes(ov[inet.IP])
    first = wire.ip4("c", id=4343, flags="MF", frag=0, proto=17) / raw[20:20 + 48]
    second = wire.ip4("c", id=4343, flags=0, frag=4, proto=17) / raw[20 + 32:]
    wire.send("c", first, "held")
    wire.send("c", second, "frag_invalid", drops=2)

    t = Tcp(wire, cport=40500)
    tiny = wire.ip4("c", flags="MF", frag=0, proto=6) / bytes(t.pkt("c", "S")[inet.TCP])[:16]
    wire.send("c", tiny, "frag_tiny")

    deny = wire.ip4("c") / inet.UDP(sport=7402, dport=9999) / (b"D" * 1500)
    dfs = frags4(deny, 1000)
    wire.send("c", dfs[0], "held")
    wire.send("c", dfs[1], "fw_deny")


def test_ipv6_fragments_are_reassembled_and_overlaps_dropped(wire):
    """RFC 8200 section 4.5, RFC 5722.
    Steps: over IPv6 the client sends a 2500-byte UDP datagram in two
    fragments; then a datagram whose two fragments overlap.
    Verify: the first datagram's fragments both arrive after the second;
    the overlapping one is dropped (frag_invalid)."""
    _, inet, inet6 = scapy()
    u = wire.ip6("c") / inet6.IPv6ExtHdrFragment(id=0x1234) / \
        inet.UDP(sport=7500, dport=5353) / (b"6" * 2492)
    fs = inet6.fragment6(u[inet6.IPv6], 1400)
    eth = wire.eth("c")
    fs = [eth / f for f in fs]
    assert len(fs) == 2
    wire.send("c", fs[0], "held")
    wire.vm["c"].send_ok([bytes(fs[1])])
    got = wait_for(lambda: [f for f in wire.cap["s"].frames
                            if f[12:14] == b"\x86\xdd" and f[20] == 44 and f[58:62] == b"\0\0\x12\x34"],
                   lambda g: len(g) >= 2)
    assert len(got) == 2, got
    a = wire.ip6("c") / inet6.IPv6ExtHdrFragment(id=0x5678, m=1, offset=0, nh=17) / \
        (bytes(inet.UDP(sport=7501, dport=5353, len=72)) + b"x" * 40)
    b = wire.ip6("c") / inet6.IPv6ExtHdrFragment(id=0x5678, m=0, offset=4, nh=17) / (b"y" * 40)
    wire.send("c", a, "held")
    wire.send("c", b, "frag_invalid", drops=2)


def test_a_flood_of_incomplete_datagrams_is_bounded_and_forwarding_goes_on(wire):
    """Steps: the client sends 1200 first fragments of datagrams that never
    complete (more than the reassembly table holds: 256), in bursts of 200,
    then a whole UDP datagram and an echo request.
    Verify: the table holds what it can and refuses the rest, counted as
    frag_invalid; the whole datagram and the echo request still pass."""
    _, inet, _ = scapy()
    start = counters(wire.dpud.stats())
    for b in range(6):
        burst = []
        for i in range(200):
            q = wire.ip4("c", id=10000 + 200 * b + i) / inet.UDP(sport=7600, dport=5353) / \
                (b"F" * 1600)
            burst.append(bytes(frags4(q, 800)[0]))
        wire.vm["c"].send_ok(burst)
        d = wait_for(lambda: delta(counters(wire.dpud.stats()), start),
                     lambda d: d.get("node.dse_reass", 0) >= 200 * (b + 1), timeout=10)
    assert d.get("node.dse_reass") == 1200, d
    assert d.get("drop.frag_invalid", 0) == 1200 - 256, d
    wire.send("c", wire.ip4("c") / inet.UDP(sport=7601, dport=5353) / b"still", "pass")
    wire.send("c", wire.ip4("c") / inet.ICMP(type=8, id=5, seq=1), "pass")


def test_a_layer_2_decision_never_lets_fragments_past_the_firewall(wire):
    """The hole found in review: a non-IP frame between two MACs made a layer
    2 flow cache entry that IP fragments between the same MACs then took,
    skipping reassembly and the rules.
    Steps: the client sends the server unicast ARP replies (not filtered:
    they make a layer 2 decision), then a UDP datagram to port 9999 (denied)
    in two fragments, then the same datagram whole.
    Verify: the ARP passes; the first fragment is held by reassembly, the
    second completes the datagram and it is denied (fw_deny), nothing of it
    arrives; the whole datagram is denied too."""
    l2, inet, _ = scapy()
    arp = wire.eth("c") / l2.ARP(op=2, hwsrc=wire.vm["c"].mac, psrc=CLIENT4,
                                 hwdst=wire.vm["s"].mac, pdst=SERVER4)
    for _ in range(3):
        wire.send("c", arp, "pass")
    deny = wire.ip4("c") / inet.UDP(sport=7700, dport=9999) / (b"H" * 1500)
    fs = frags4(deny, 1000)
    wire.send("c", fs[0], "held")
    wire.send("c", fs[1], "fw_deny")
    wire.send("c", wire.ip4("c") / inet.UDP(sport=7700, dport=9999) / b"whole", "fw_deny")
