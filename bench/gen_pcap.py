#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the input pcaps of the benchmark workloads.

Every workload is one generator function registered in GENERATORS; it returns
the list of packets of one replay cycle.  The harness (run.py) replays the
file with net_pcap's infinite_rx=1, so one cycle is one packet per flow and
the file stays small.  Output is deterministic: the same bytes and the same
record timestamps on every run, so two pcaps from two machines are identical.

Usage: /usr/bin/python3 bench/gen_pcap.py [--workload l2] [--out DIR]
       writes DIR/<workload>.pcap (DIR defaults to the current directory).

The l2 packets are made with scapy.  The TCP and UDP workloads have tens of
thousands to a million packets, too many for scapy (a few thousand packets a
second): their frames are packed by hand (frame() and friends below, the
checksums computed here), and the unit check at the end of this file
(--check) compares them with scapy's reading of the same bytes.

Only RFC 2544 benchmarking addresses (198.18.0.0/15) and locally administered
MACs (02:...) are used.
"""

import argparse
import os
import struct
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

# The wire frame is 64 bytes; the FCS is not in the pcap record.
L2_FRAME_LEN = 60
L2_FLOWS = 1024
L2_MACS = 64


def l2_src_mac(i):
    """Source MAC number 'i' (0..63): 02:00:00:00:00:ii."""
    return "02:00:00:00:00:%02x" % i


def l2_dst_mac(i):
    """Destination MAC number 'i' (0..63): 02:00:00:00:01:ii."""
    return "02:00:00:00:01:%02x" % i


def l2_dst_macs():
    """All destination MACs of the L2 workload, in order; the harness installs
    a static FDB entry on the output port for each of them."""
    return [l2_dst_mac(i) for i in range(L2_MACS)]


def l2_packets():
    """1024 UDP flows, one 60-byte untagged frame each.

    Flow f uses source MAC f % 64 and destination MAC f // 16, so every one of
    the 64 x 64 MACs appears (each pair at most once), source IP
    198.18.(1 + f / 256).(f % 256) and destination IP 198.19.(same) (never the
    /15's network or broadcast address), source port
    10000 + f and destination port 20000 + f: every flow has ports of its own.
    The UDP payload fills the frame exactly to 60 bytes, so the IP and UDP
    length fields agree with the frame (no Ethernet padding).
    """
    pkts = []
    for f in range(L2_FLOWS):
        hi, lo = 1 + (f >> 8), f & 0xFF
        base = (Ether(src=l2_src_mac(f % L2_MACS), dst=l2_dst_mac(f // 16))
                / IP(src="198.18.%d.%d" % (hi, lo),
                     dst="198.19.%d.%d" % (hi, lo), id=f & 0xFFFF, ttl=64)
                / UDP(sport=10000 + f, dport=20000 + f))
        pad = L2_FRAME_LEN - len(base)
        p = Ether(bytes(base / Raw(b"\x00" * pad)))  # checksums filled in
        assert len(p) == L2_FRAME_LEN
        p.time = 1700000000 + f * 1e-6  # deterministic record timestamps
        pkts.append(p)
    return pkts


# --------------------------------------------------------------------------
# Frames packed by hand, for the big TCP and UDP pcaps.

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _csum(data):
    """The Internet checksum (RFC 1071) of 'data'."""
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def _ip4(text):
    return bytes(int(x) for x in text.split("."))


def frame(smac, dmac, sip, dip, proto, l4):
    """An untagged Ethernet/IPv4 frame around the L4 header + payload 'l4'
    (its checksum already filled in), TTL 64, DF, padded to 60 bytes."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64,
                     proto, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    f = dmac + smac + b"\x08\x00" + ip + l4
    return f + b"\x00" * max(0, L2_FRAME_LEN - len(f))


def tcp_frame(smac, dmac, sip, dip, sport, dport, seq, ack, flags,
              payload=b"", mss=None, window=65535):
    """A TCP segment ('mss': with the MSS option, as SYNs carry it)."""
    opts = struct.pack("!BBH", 2, 4, mss) if mss else b""
    hlen = 20 + len(opts)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, (hlen // 4) << 4, flags, window, 0,
                      0) + opts
    seg = hdr + payload
    pseudo = sip + dip + struct.pack("!BBH", 0, 6, len(seg))
    c = _csum(pseudo + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return frame(smac, dmac, sip, dip, 6, seg)


def udp_frame(smac, dmac, sip, dip, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = sip + dip + struct.pack("!BBH", 0, 17, len(seg))
    c = _csum(pseudo + seg) or 0xFFFF
    seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return frame(smac, dmac, sip, dip, 17, seg)


def write_raw_pcap(path, frames):
    """Write the byte strings 'frames' as a pcap (Ethernet, microsecond
    timestamps 1700000000 + i us: deterministic)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000,
                                i % 1000000, len(fr), len(fr)))
            f.write(fr)


# --------------------------------------------------------------------------
# TCP connections through the firewall (fw_est, conn_setup).
#
# Connection c: client 198.18.(1 + c / 256).(c % 256) port 10000 + c, MAC
# 02:00:00:00:00:(c % 64); server 198.19.(1 + c / 256).(c % 256) port 80
# (TCP_SERVER_PORT: the one port the firewall rule allows), MAC
# 02:00:00:00:01:(c / 4 % 64) -- the same 64 + 64 MACs as l2, all of them
# static FDB entries on the output port.  Client ISN 1000 + c, server ISN
# 500000 + c, windows 65535 without scaling, MSS 1460 in SYN and SYN+ACK.

TCP_SERVER_PORT = 80
FW_EST_CONNS = 256
# Replayed pcaps stay at a few thousand packets: net_pcap keeps the file in
# mbufs and copies each packet out of them, and on this machine (4 KiB pages)
# testpmd io falls from ~50 Mpps at 4096 packets to ~28 Mpps at 16384 and
# more: a cost every datapath would pay, which hides differences.
FW_EST_DATA = 4096       # data segments per replay cycle (16 per connection)
FW_EST_PAYLOAD = 6       # 14 + 20 + 20 + 6 = 60 bytes: a 64-byte frame
# conn_setup: 16384 connections, 65536 packets -- above that size, so the
# pcap source costs ~60 cycles/packet more than for fw_est (dse-dpud's
# dse_rx node: ~110 instead of ~45), about 7% of a new connection's cost; a
# smaller table would be kinder to the datapath than real life is.
CONN_SETUP_CONNS = 16384
CONN_SETUP_LAG = 128     # steps (4 packets each) between a connection's
                         # packets: 512 packets, never in one receive burst


def fw_macs():
    """Every MAC of the TCP workloads (clients and servers): the harness
    installs each as a static FDB entry on the output port."""
    return [l2_src_mac(i) for i in range(L2_MACS)] + l2_dst_macs()


class _Conn:
    def __init__(self, c):
        hi, lo = 1 + (c >> 8), c & 0xFF
        self.cmac, self.smac = _mac(l2_src_mac(c % L2_MACS)), _mac(
            l2_dst_mac(c // 4 % L2_MACS))
        self.cip = _ip4("198.18.%d.%d" % (hi, lo))
        self.sip = _ip4("198.19.%d.%d" % (hi, lo))
        self.cport, self.sport = 10000 + c, TCP_SERVER_PORT
        self.cisn, self.sisn = 1000 + c, 500000 + c

    def c2s(self, seq, ack, flags, payload=b"", mss=None):
        return tcp_frame(self.cmac, self.smac, self.cip, self.sip, self.cport,
                         self.sport, seq, ack, flags, payload, mss)

    def s2c(self, seq, ack, flags, mss=None):
        return tcp_frame(self.smac, self.cmac, self.sip, self.cip, self.sport,
                         self.cport, seq, ack, flags, b"", mss)

    def syn(self):
        return self.c2s(self.cisn, 0, TCP_SYN, mss=1460)

    def syn_ack(self):
        return self.s2c(self.sisn, self.cisn + 1, TCP_SYN | TCP_ACK, mss=1460)

    def ack(self):
        return self.c2s(self.cisn + 1, self.sisn + 1, TCP_ACK)

    def rst(self):
        return self.c2s(self.cisn + 1, self.sisn + 1, TCP_RST | TCP_ACK)


def fw_est_prime_frames():
    """The 256 handshakes of fw_est, read once before the data (the
    harness's priming port): 256 SYNs, then 256 SYN+ACKs, then 256 ACKs, so
    the three packets of one connection are 256 packets apart and never in
    one receive burst."""
    conns = [_Conn(c) for c in range(FW_EST_CONNS)]
    frames = [c.syn() for c in conns]
    frames += [c.syn_ack() for c in conns]
    frames += [c.ack() for c in conns]
    assert all(len(f) == L2_FRAME_LEN for f in frames)
    return frames


def fw_est_frames():
    """Data segments of the 256 established connections, replayed forever.

    The connections take turns sending (client to server, ACK + PSH, 6
    bytes: 16 segments each per cycle), each connection's sequence number
    advancing by 6 per segment: 96 bytes a cycle.  When the pcap starts
    over, the sequence numbers go back 96 bytes: inside the 65535-byte
    window, so to a window-tracking firewall the replay is a retransmission
    and stays valid forever.  The handshakes are not in this file (they
    would be replayed too, and a SYN on an established connection is only
    passed on, never tracked): fw_est_prime_frames() holds them.
    """
    conns = [_Conn(c) for c in range(FW_EST_CONNS)]
    payload = b"\x00" * FW_EST_PAYLOAD
    frames = []
    for k in range(FW_EST_DATA):
        c = conns[k % FW_EST_CONNS]
        seq = c.cisn + 1 + (k // FW_EST_CONNS) * FW_EST_PAYLOAD
        frames.append(c.c2s(seq, c.sisn + 1, TCP_ACK | TCP_PSH, payload))
    assert all(len(f) == L2_FRAME_LEN for f in frames)
    return frames


def conn_setup_frames():
    """16384 short connections: SYN, SYN+ACK, ACK, RST (from the client).

    Step k of the cycle sends the SYN of connection k, the SYN+ACK of
    k - 128, the ACK of k - 256 and the RST of k - 384 (modulo 16384: the
    cycle wraps around), so a connection's packets are 512 packets apart
    (never in one receive burst) and replies come later than requests, as on
    a network.  The RST closes the connection; when the pcap comes round
    again its SYN reopens it, a new connection (same ports and ISN, as a
    client reusing a port would).  In the first cycle only, the replies of
    the last 384 connections come before their SYN and are dropped.
    Every packet is 60 bytes; each connection is 4 packets.
    """
    n, lag = CONN_SETUP_CONNS, CONN_SETUP_LAG
    conns = [_Conn(c) for c in range(n)]
    frames = []
    for k in range(n):
        frames.append(conns[k].syn())
        frames.append(conns[(k - lag) % n].syn_ack())
        frames.append(conns[(k - 2 * lag) % n].ack())
        frames.append(conns[(k - 3 * lag) % n].rst())
    assert all(len(f) == L2_FRAME_LEN for f in frames)
    return frames


# --------------------------------------------------------------------------
# Distinct UDP flows to fill the connection table (conn_memory).

UDP_FILL_FLOWS = 1000000
UDP_FILL_PORT = 5001


def udp_fill_frames(n=UDP_FILL_FLOWS):
    """'n' UDP flows, one packet each: source 198.18.0.0/16 (host part
    1..65534) and port 10000 + flow / 65534, destination 198.19.0.1 port
    5001, MACs as l2 (client f % 64 to server f / 64 % 64).  Yields frames
    (a million do not need to be in memory at once)."""
    dip = _ip4("198.19.0.1")
    for f in range(n):
        h = f % 65534 + 1
        yield udp_frame(_mac(l2_src_mac(f % L2_MACS)),
                        _mac(l2_dst_mac(f // L2_MACS % L2_MACS)),
                        bytes((198, 18, h >> 8, h & 0xFF)), dip,
                        10000 + f // 65534, UDP_FILL_PORT, b"\x00" * 18)


# --------------------------------------------------------------------------
# Geneve from the peer TEPs (encap: teaches dse-dpud the peers' MACs and the
# remote VM MACs behind each peer).

ENCAP_LOCAL = "172.31.0.1"                            # our TEP
ENCAP_PEERS = ["172.31.0.%d" % (11 + i) for i in range(4)]
ENCAP_VNI = 5001
ENCAP_PRIME_ROUNDS = 2000   # 128000 packets, read in ~10 ms


def encap_peer_mac(i):
    """The underlay MAC of peer TEP 'i'."""
    return "02:00:00:00:aa:%02x" % (0x11 + i)


def geneve_frame(smac, dmac, sip, dip, sport, vni, inner):
    """An untagged Ethernet/IPv4/UDP(6081, checksum 0)/Geneve frame (no
    options, protocol 0x6558) around the Ethernet frame 'inner'."""
    gnv = struct.pack("!BBHI", 0, 0, 0x6558, vni << 8)
    udp = struct.pack("!HHHH", sport, 6081, 8 + len(gnv) + len(inner), 0)
    return frame(smac, dmac, sip, dip, 17, udp + gnv + inner)


def encap_prime_frames():
    """For each of the 64 destination MACs of the l2 traffic, a Geneve
    packet from the peer that MAC lives behind (MAC i behind peer i % 4,
    VNI 5001, to our TEP 172.31.0.1) whose inner frame comes from that MAC:
    decapsulating it, a TEP learns the peer's underlay MAC and the remote
    MAC behind the peer.  The 64 packets are repeated ENCAP_PRIME_ROUNDS
    times: the file is read once, as soon as the uplink port exists, which is
    a moment before its TEP is configured; the later rounds are the ones
    that teach (measured: the first 16 rounds came too early)."""
    local = _ip4(ENCAP_LOCAL)
    one = []
    for i, dst in enumerate(l2_dst_macs()):
        inner = udp_frame(_mac(dst), _mac(l2_src_mac(i)),
                          _ip4("198.19.1.%d" % i), _ip4("198.18.1.%d" % i),
                          20000 + i, 10000 + i, b"\x00" * 18)
        one.append(geneve_frame(_mac(encap_peer_mac(i % 4)),
                                b"\xff" * 6, _ip4(ENCAP_PEERS[i % 4]),
                                local, 49152 + i, ENCAP_VNI, inner))
    return one * ENCAP_PRIME_ROUNDS


GENERATORS = {
    "l2": l2_packets,
    # encap: the VM traffic of l2 (1024 UDP flows, 64 + 64 MACs) goes into
    # the overlay; the same frames.
    "encap": l2_packets,
    "encap_prime": encap_prime_frames,
    "fw_est": fw_est_frames,
    "fw_est_prime": fw_est_prime_frames,
    "conn_setup": conn_setup_frames,
    "conn_fill": udp_fill_frames,
}


def generate(workload, out_dir):
    """Write 'out_dir'/'workload'.pcap and return its path."""
    if workload not in GENERATORS:
        raise KeyError("no pcap generator for workload %r" % workload)
    path = os.path.join(out_dir, "%s.pcap" % workload)
    pkts = GENERATORS[workload]()
    if isinstance(pkts, list) and pkts and not isinstance(pkts[0], bytes):
        wrpcap(path, pkts)  # scapy packets
    else:
        write_raw_pcap(path, pkts)
    return path


def check():
    """The hand-packed frames as scapy reads them: checksums right, lengths
    and flags as meant.  Returns the number of frames checked."""
    from scapy.layers.inet import TCP

    def check_one(raw, length=L2_FRAME_LEN, l4_csum=True):
        p = Ether(raw)
        ip = p[IP]
        l4 = p[TCP] if TCP in p else p[UDP]
        want_ip, want_l4 = ip.chksum, l4.chksum
        del ip.chksum, l4.chksum
        q = Ether(bytes(p))
        assert q[IP].chksum == want_ip, "IPv4 checksum"
        if l4_csum:
            assert (q[TCP] if TCP in q else q[UDP]).chksum == want_l4, "L4"
        else:
            assert want_l4 == 0, "outer UDP checksum 0"
        assert len(raw) == length, "frame length"
        assert ip.len == length - 14 or length == L2_FRAME_LEN, "IPv4 length"
        return bytes(l4.payload)

    frames = (fw_est_prime_frames() + fw_est_frames()[:300]
              + conn_setup_frames()[:64] + list(udp_fill_frames(64)))
    for raw in frames:
        check_one(raw)
    gnv = encap_prime_frames()[:64]
    for raw in gnv:
        inner = check_one(raw, 110, l4_csum=False)[8:]  # after Geneve
        check_one(inner)
    return len(frames) + 2 * len(gnv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", default="l2", choices=sorted(GENERATORS))
    ap.add_argument("--out", default=".", help="directory to write into")
    ap.add_argument("--check", action="store_true",
                    help="check the hand-packed frames against scapy")
    args = ap.parse_args()
    if args.check:
        print("%d frames checked" % check())
        return 0
    print(generate(args.workload, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
