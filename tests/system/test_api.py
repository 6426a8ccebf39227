# SPDX-License-Identifier: BSD-3-Clause
"""The API schema (api/) against what the daemons serve: docs/api.md is what
the schema makes, every method a daemon serves is in the schema and every
method of the schema is served, old names answer as aliases, and the one
decoder refuses a bad param by name."""
import subprocess
import sys
from pathlib import Path

import pytest

from lab import Rpc, RpcError
from test_hostd import hostd  # noqa: F401  (the fixture: a dse-hostd without DPUs)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import dse_api  # noqa: E402

INVALID_PARAMS = -32602


def test_docs_api_md_is_current():
    """docs/api.md is generated from api/: a change of the schema without `make api-docs`
    fails here."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "apigen.py"), "check-md",
                        str(ROOT / "api"), str(ROOT / "docs" / "api.md")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_staleness_check_can_fail(tmp_path):
    """The check above compares for real: a docs/api.md one line off is stale."""
    stale = tmp_path / "api.md"
    stale.write_text((ROOT / "docs" / "api.md").read_text() + "\nedited by hand\n")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "apigen.py"), "check-md",
                        str(ROOT / "api"), str(stale)], capture_output=True, text=True)
    assert r.returncode == 1 and "stale" in r.stderr


def schema_names(prog, test_clock=True, remote=False):
    s = dse_api.schema()
    return {m["name"] for m in s.methods(prog)
            if (test_clock or not m.get("test_clock")) and not (remote and m.get("local"))}


@pytest.mark.parametrize("test_clock", [True, False])
def test_dpud_serves_the_schema(lab, test_clock):
    """rpc.list of dse-dpud is the schema's dse-dpud methods, with and without --test-clock,
    each with the schema's help and aliases."""
    d = lab.start_dpud([], test_clock=test_clock)
    listed = d.call("rpc.list")
    names = [m["name"] for m in listed]
    assert len(names) == len(set(names))
    assert set(names) == schema_names("dse-dpud", test_clock)
    s = dse_api.schema()
    for m in listed:
        want = s.method("dse-dpud", m["name"])
        assert m["help"] == dse_api.plain(want["help"])
        assert m["aliases"] == want["aliases"]


def test_hostd_serves_the_schema(hostd):  # noqa: F811
    c = dse_api.Client(hostd.sock, "dse-hostd")
    try:
        listed = c.call("rpc.list")
    finally:
        c.close()
    names = [m["name"] for m in listed]
    assert len(names) == len(set(names))
    assert set(names) == schema_names("dse-hostd")


def test_old_names_are_aliases(lab):
    """Every old name of the schema reaches its method (until the next release)."""
    d = lab.start_dpud([{"method": "segment.add", "params": {"name": "a", "vlan": 100}}])
    assert d.call("fdb.show") == d.call("fdb.list") == []
    assert d.call("stats.get")["ports"] == d.call("stats.show")["ports"]
    assert d.call("log.level")["level"] == d.call("log.show")["level"]
    assert d.call("dp.info")["version"] == d.call("dp.show")["version"]
    assert d.call("fdb.config", ageing_time=77)["ageing_time"] == 77
    assert d.call("fdb.config.show")["ageing_time"] == 77
    s = dse_api.schema()
    for m in s.methods("dse-dpud"):
        for a in m["aliases"]:
            if m.get("params") and any(p["required"] for p in m["params"]):
                # It is the method: its own required params are asked for by name.
                with pytest.raises(RpcError) as e:
                    d.call(a, check=False)
                assert e.value.code == INVALID_PARAMS and m["name"] in e.value.message
            else:
                try:
                    d.call(a, check=False)
                except RpcError as e:
                    # Reached: the method itself refuses (dp.identity without --identity).
                    assert e.code == -32000, (a, e)


def test_decoder_names_the_param(lab):
    """A bad param is refused before the handler runs, with the method and the param named,
    and the client of the schema refuses it before sending."""
    d = lab.start_dpud([])
    with pytest.raises(RpcError) as e:
        d.call("segment.add", name="a", vlan=5000, check=False)
    assert e.value.code == INVALID_PARAMS
    assert "segment.add: parameter 'vlan'" in e.value.message and "5000" in e.value.message
    with pytest.raises(RpcError) as e:
        d.call("fdb.add", segment="a", mac="01:00:5e:00:00:01", port="p", check=False)
    assert "'mac'" in e.value.message and "unicast" in e.value.message
    with pytest.raises(RpcError) as e:
        d.call("fw.rule.apply", rules=[{"id": 1, "action": "allow"},
                                       {"id": 2, "action": "allow", "proto": "sctp"}],
               check=False)
    assert "'rules[1].proto'" in e.value.message
    with pytest.raises(ValueError):
        d.call("segment.add", name="a", vlan=5000)
    with pytest.raises(ValueError):
        d.call("segment.add", name="a", vlan=5, colour="red")
    with pytest.raises(ValueError):
        d.call("no.such")
    # Nothing of the refused calls happened.
    assert d.call("segment.list") == []
