# SPDX-License-Identifier: BSD-3-Clause
"""The JSON-RPC control socket under bad input: every bad request gets the
JSON-RPC error it deserves and the daemon keeps serving."""
import errno
import json
import os
import socket
import threading

import pytest

from lab import Rpc, wait_for

PARSE, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS, APP = -32700, -32600, -32601, -32602, -32000


@pytest.fixture
def dpud(lab):
    """dse-dpud with segment a (VLAN 100) and no port; it may open dse-nope0 (which
    does not exist)."""
    return lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}],
                          allow=["dse-nope0"])


def req(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        r["params"] = params
    return r


BAD_REQUESTS = [
    # (what, line or object, expected code, expected id, text the message must hold)
    ("unterminated JSON", b'{"jsonrpc": "2.0", "id": 1, "method": "rpc.list"', PARSE, None, ""),
    ("not JSON", b"hello dse", PARSE, None, ""),
    # Valid JSON that is not a request object: "Invalid Request" in JSON-RPC 2.0.
    ("a bare number", b"42", INVALID_REQUEST, None, "object"),
    ("duplicate key", b'{"jsonrpc":"2.0","id":1,"method":"rpc.list","id":2}', PARSE, None, ""),
    ("bad UTF-8", b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}', PARSE, None, ""),
    ("unknown method", req("no.such.method", id=2), NO_METHOD, 2, "no.such.method"),
    ("jsonrpc 1.0", dict(req("rpc.list", id=3), jsonrpc="1.0"), INVALID_REQUEST, 3, "jsonrpc"),
    ("no jsonrpc", {"id": 4, "method": "rpc.list"}, INVALID_REQUEST, 4, "jsonrpc"),
    ("method not a string", req(42, id=5), INVALID_REQUEST, 5, "method"),
    ("id an object", req("rpc.list", id={"a": 1}), INVALID_REQUEST, None, "id"),
    ("id a fraction", req("rpc.list", id=1.5), INVALID_REQUEST, None, "id"),
    ("positional params", req("segment.add", [1, 2], id=6), INVALID_PARAMS, 6, "params"),
    ("name not a string", req("segment.add", {"name": 5, "vlan": 10}, id=7), INVALID_PARAMS, 7,
     "name"),
    ("vlan a string", req("segment.add", {"name": "x", "vlan": "10"}, id=8), INVALID_PARAMS, 8,
     "vlan"),
    ("vlan a float", req("segment.add", {"name": "x", "vlan": 10.5}, id=9), INVALID_PARAMS, 9,
     "vlan"),
    ("vlan out of range", req("segment.add", {"name": "x", "vlan": 4095}, id=10), INVALID_PARAMS,
     10, "4095"),
    ("missing vlan", req("segment.add", {"name": "x"}, id=11), INVALID_PARAMS, 11, "vlan"),
    ("unknown param", req("segment.add", {"name": "x", "vlan": 10, "colour": "red"}, id=12),
     INVALID_PARAMS, 12, "colour"),
    ("param to a method without", req("rpc.list", {"verbose": True}, id=13), INVALID_PARAMS, 13,
     "verbose"),
    ("bad name", req("segment.add", {"name": "bad name!", "vlan": 10}, id=14), INVALID_PARAMS,
     14, "name"),
    ("name too long", req("segment.add", {"name": "n" * 32, "vlan": 10}, id=15), INVALID_PARAMS,
     15, "name"),
    ("PCI devargs", req("port.add", {"name": "p", "devargs": "0000:00:01.0"}, id=16),
     INVALID_PARAMS, 16, "devargs"),
    ("no such interface",
     req("port.add", {"name": "p", "devargs": "net_af_packet_p,iface=dse-nope0"}, id=17), APP,
     17, ""),
    ("bad mode", req("port.add", {"name": "p", "devargs": "net_null0", "mode": "hybrid"}, id=18),
     INVALID_PARAMS, 18, "mode"),
    ("mtu too big", req("port.add", {"name": "p", "devargs": "net_null0", "mtu": 9001}, id=19),
     INVALID_PARAMS, 19, "mtu"),
    ("no such segment", req("segment.del", {"name": "nope"}, id=20), APP, 20, "nope"),
    ("duplicate segment", req("segment.add", {"name": "a", "vlan": 100}, id="str-id"), APP,
     "str-id", "already"),
    ("negative clock step", req("clock.advance", {"seconds": -1}, id=21), INVALID_PARAMS, 21,
     "seconds"),
    ("broadcast static MAC",
     req("fdb.add", {"segment": "a", "mac": "ff:ff:ff:ff:ff:ff", "port": "x"}, id=22),
     INVALID_PARAMS, 22, "unicast"),
    ("short MAC", req("fdb.add", {"segment": "a", "mac": "02:00:00:00:01", "port": "x"}, id=23),
     INVALID_PARAMS, 23, "MAC"),
    ("ageing time negative", req("fdb.config.set", {"ageing_time": -5}, id=24), INVALID_PARAMS, 24,
     "ageing_time"),
    ("bad log level", req("log.set", {"level": "loud"}, id=25), INVALID_PARAMS, 25, "level"),
]


def send_line(rpc, line):
    rpc.send_raw((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n")
    return rpc.read()


def test_bad_requests_get_the_right_error_and_change_nothing(dpud):
    """Steps: on one connection, send each bad request of BAD_REQUESTS (malformed
    JSON, wrong types, unknown method, unknown or invalid params, ...).
    Verify: each gets exactly one response with the JSON-RPC error code of its
    kind, the request's id (null when it could not be read), a message that
    names the problem; the connection stays usable; afterwards segment.list and
    port.list are as before (refused calls change nothing)."""
    rpc = dpud.connect()
    before = (rpc.call("segment.list"), rpc.call("port.list"))
    for what, line, code, id_, text in BAD_REQUESTS:
        resp = send_line(rpc, line)
        assert resp is not None, "%s: the daemon closed the connection" % what
        assert set(resp) == {"jsonrpc", "id", "error"}, (what, resp)
        assert resp["jsonrpc"] == "2.0"
        assert resp["error"]["code"] == code, (what, resp)
        assert resp["id"] == id_, (what, resp)
        assert text in resp["error"]["message"] and resp["error"]["message"], (what, resp)
        assert rpc.call("dp.show")["segments"] == 1, what
    assert (rpc.call("segment.list"), rpc.call("port.list")) == before
    assert dpud.alive()


def test_batches_answer_each_call_in_order(dpud):
    """Steps: send a batch of rpc.list, an unknown method, a notification
    (segment.add b, no id), the number 1 and segment.list; then an empty batch;
    then a batch of notifications only, followed by a plain request.
    Verify: the first batch gets an array of 4 answers in order (the
    notification none, the number an invalid-request error with id null) and
    segment.list already shows b; the empty batch gets one invalid-request
    error; the notification-only batch gets nothing, so the next line read is
    the plain request's answer."""
    rpc = dpud.connect()
    batch = [req("rpc.list", id=1), req("no.such", id=2),
             {"jsonrpc": "2.0", "method": "segment.add", "params": {"name": "b", "vlan": 200}},
             1, req("segment.list", id=3)]
    resp = send_line(rpc, batch)
    assert isinstance(resp, list) and len(resp) == 4, resp
    assert resp[0]["id"] == 1 and {m["name"] for m in resp[0]["result"]} >= {"rpc.list",
                                                                             "stats.show"}
    assert resp[1]["id"] == 2 and resp[1]["error"]["code"] == NO_METHOD
    assert resp[2]["id"] is None and resp[2]["error"]["code"] == INVALID_REQUEST
    assert resp[3]["id"] == 3 and [s["name"] for s in resp[3]["result"]] == ["a", "b"]

    resp = send_line(rpc, [])
    assert isinstance(resp, dict) and resp["error"]["code"] == INVALID_REQUEST, resp

    rpc.send_raw(json.dumps([{"jsonrpc": "2.0", "method": "dp.show"},
                             {"jsonrpc": "2.0", "method": "segment.del",
                              "params": {"name": "b"}}]).encode() + b"\n")
    resp = send_line(rpc, req("segment.list", id=99))
    assert resp["id"] == 99, "a notification was answered: %s" % resp
    assert [s["name"] for s in resp["result"]] == ["a"]


def test_requests_split_or_pipelined_are_served(dpud):
    """Steps: send one request in three pieces; then three requests in one write;
    then a request ending in CRLF, and blank lines.
    Verify: every request is answered once, in order, with its own id; blank
    lines get no answer."""
    rpc = dpud.connect()
    line = json.dumps(req("dp.show", id=7)).encode() + b"\n"
    for part in (line[:5], line[5:20], line[20:]):
        rpc.send_raw(part)
    assert rpc.read()["id"] == 7
    rpc.send_raw(b"".join(json.dumps(req("clock.show", id=i)).encode() + b"\n"
                          for i in (8, 9, 10)))
    assert [rpc.read()["id"] for _ in range(3)] == [8, 9, 10]
    rpc.send_raw(b"\n\r\n" + json.dumps(req("clock.show", id=11)).encode() + b"\r\n")
    assert rpc.read()["id"] == 11


def test_a_huge_line_is_refused_and_the_daemon_keeps_serving(dpud):
    """Steps: send a 3 MiB request (a segment name that long), then on a second
    connection a 5 MiB line with no end.
    Verify: the 3 MiB request gets an invalid-params error; the 5 MiB line gets
    an invalid-request error saying it is too long and that connection is
    closed; a new connection is served normally."""
    rpc = dpud.connect()
    resp = send_line(rpc, req("segment.add", {"name": "n" * (3 << 20), "vlan": 7}, id=1))
    assert resp["error"]["code"] == INVALID_PARAMS and resp["id"] == 1

    big = dpud.connect()

    def flood():
        try:
            big.sock.sendall(b'{"jsonrpc":"2.0","id":1,"method":"' + b"x" * (5 << 20))
        except OSError:
            pass  # the daemon hung up on us, as it should

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    resp = big.read()
    assert resp is not None and resp["error"]["code"] == INVALID_REQUEST, resp
    assert "long" in resp["error"]["message"]
    try:
        assert big.read() is None, "the connection stayed open"
    except ConnectionResetError:
        pass
    t.join(timeout=10)
    big.close()
    assert dpud.connect().call("dp.show")["segments"] == 1
    assert dpud.alive()


def test_clients_beyond_the_limit_take_the_slots_of_idle_ones(dpud):
    """Steps: open 70 connections (the daemon takes 64 at a time); send half a
    request on the sixth; send a request on the last one; close ten of the
    first ones.
    Verify: the last client is answered (a full socket makes room by closing
    the longest idle client, test_rpc_limits.py has the attacks); a client
    that sent half a request and hung up does not disturb the others."""
    conns = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(70)]
    try:
        for c in conns:
            c.settimeout(10)
            # The daemon accepts one client per poll round: a burst of connects
            # can find the listen backlog full for a moment (EAGAIN).
            rc = wait_for(lambda: c.connect_ex(str(dpud.sock)),
                          lambda r: r in (0, errno.EISCONN), timeout=10)
            assert rc in (0, errno.EISCONN), os.strerror(rc)
        try:
            conns[5].sendall(b'{"jsonrpc": "2.0", "id": 1, "meth')
        except (BrokenPipeError, ConnectionResetError):
            # The sixth is among the six longest idle: once all 70 are accepted it
            # may already have made room for a later one, as the daemon should.
            pass
        last = conns[-1]
        last.sendall(json.dumps(req("dp.show", id=70)).encode() + b"\n")
        for c in conns[:10]:
            c.close()
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = last.recv(65536)
            assert chunk, "the daemon closed the connection"
            buf += chunk
        assert json.loads(buf)["id"] == 70
    finally:
        for c in conns:
            c.close()
    assert Rpc(dpud.sock).call("dp.show")["segments"] == 1
    assert dpud.alive()
