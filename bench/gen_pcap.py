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

Only RFC 2544 benchmarking addresses (198.18.0.0/15) and locally administered
MACs (02:...) are used.
"""

import argparse
import os
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


GENERATORS = {
    "l2": l2_packets,
}


def generate(workload, out_dir):
    """Write 'out_dir'/'workload'.pcap and return its path."""
    if workload not in GENERATORS:
        raise KeyError("no pcap generator for workload %r" % workload)
    path = os.path.join(out_dir, "%s.pcap" % workload)
    wrpcap(path, GENERATORS[workload]())
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", default="l2", choices=sorted(GENERATORS))
    ap.add_argument("--out", default=".", help="directory to write into")
    args = ap.parse_args()
    print(generate(args.workload, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
