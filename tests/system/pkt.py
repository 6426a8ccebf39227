#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Raw frame I/O inside a network namespace, for the system tests.

Run with `ip netns exec NS /usr/bin/python3 pkt.py ...`.  It uses only the
standard library so that it starts fast (the tests build frames with scapy
in their own process and hand them over as hex).

  pkt.py send IFACE          frames as hex, one per line on stdin; prints one
                             JSON line per frame: {"ok": true} or
                             {"ok": false, "errno": N, "error": "..."}
  pkt.py capture IFACE [--count K] [--timeout S]
                             prints "READY" once the socket is bound, then one
                             line of hex per frame received (outgoing frames
                             are ignored), then "END".  It stops after K
                             frames, after S seconds, or when stdin is closed
                             or gets a line, whichever comes first.

A VLAN tag that the kernel moved out of the frame (veth offloads it into the
packet's metadata) is put back from PACKET_AUXDATA, so captures show frames
exactly as they were on the wire.
"""
import errno
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
# struct tpacket_auxdata: status, len, snaplen (u32); mac, net, vlan_tci, vlan_tpid (u16)
AUXDATA = struct.Struct("IIIHHHH")


def cmd_send(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((iface, 0))
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        frame = bytes.fromhex(line)
        try:
            n = s.send(frame)
            res = {"ok": n == len(frame), "sent": n}
        except OSError as e:
            res = {"ok": False, "errno": e.errno, "error": os.strerror(e.errno)}
        print(json.dumps(res), flush=True)
    s.close()


def with_vlan(frame, ancdata):
    """Re-inserts the tag the kernel stripped into the metadata, if any."""
    for level, kind, data in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(data) < AUXDATA.size:
            continue
        status, _, _, _, _, tci, tpid = AUXDATA.unpack_from(data)
        if not status & TP_STATUS_VLAN_VALID:
            continue
        if not status & TP_STATUS_VLAN_TPID_VALID:
            tpid = 0x8100
        return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def cmd_capture(iface, count, timeout):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((iface, ETH_P_ALL))
    s.setblocking(False)
    print("READY", flush=True)
    deadline = time.monotonic() + timeout
    got = 0
    stop = False
    while not stop and (count == 0 or got < count):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s, sys.stdin], [], [], left)
        if sys.stdin in r:
            # Asked to stop (a line or EOF): drain what has arrived, then end.
            stop = True
        while count == 0 or got < count:
            try:
                frame, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUXDATA.size))
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            print(with_vlan(frame, anc).hex(), flush=True)
            got += 1
    print("END", flush=True)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("send", "capture"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "send":
        cmd_send(argv[2])
        return 0
    count, timeout = 0, 10.0
    args = argv[3:]
    while args:
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--count":
            count = int(val)
        elif opt == "--timeout":
            timeout = float(val)
        else:
            sys.stderr.write("unknown option %s\n" % opt)
            return 2
    cmd_capture(argv[2], count, timeout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:
        sys.exit(errno.EPIPE)
