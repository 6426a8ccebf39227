#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Which worker of dse-dpud owns a connection: dp_conn_owner() of
src/dpud/core/dp.h, for the harness and the tests that must know where a
connection's packets go.  Keep it in step with the C function."""


def conn_owner(a, b, n):
    """The owner among 'n' workers of a connection between the IPv4
    addresses 'a' and 'b' (dotted strings), the same both ways."""
    def fold(ip):
        return int.from_bytes(bytes(int(x) for x in ip.split(".")), "little")
    lo, hi = sorted((fold(a), fold(b)))
    h = (lo * 0x9E3779B1 + hi) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    return (h * n) >> 32
