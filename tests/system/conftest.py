# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures of the dse-dpud system tests (see lab.py for the lab itself).

The tests never skip: missing root, binary or tools make every test fail
with the reason.  Each test gets its own lab, closed even when the test
fails; a failing test's report carries the dse-dpud log.
"""
import os
import shutil
import signal
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab as labmod  # noqa: E402

# Numbers worth seeing in the run's output (throughput), printed at the end.
METRICS = []


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def pytest_sessionstart(session):
    # A CI timeout sends SIGTERM: turn it into an interrupt so that teardown runs.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)


def pytest_sessionfinish(session, exitstatus):
    for live in list(labmod.LIVE_LABS):
        try:
            live.close()
        except Exception as e:  # report, keep going
            sys.stderr.write("system tests: cleanup of %s: %s\n" % (live.id, e))
    # Anything of this session still there is a cleanup bug: remove it and fail the run.
    left = labmod.remove_leftovers()
    if left:
        sys.stderr.write("system tests: left behind and now removed: %s\n" % left)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if METRICS:
        terminalreporter.section("dse datapath measurements")
        for line in METRICS:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    the_lab = getattr(item, "_dse_lab", None)
    if the_lab is not None and rep.failed and rep.when in ("setup", "call"):
        rep.sections.append(("dse lab " + the_lab.id, the_lab.debug_text()))


@pytest.fixture
def metrics():
    return METRICS


@pytest.fixture
def lab(request):
    """A fresh lab: the DPU namespace only; the test adds VMs and starts dse-dpud."""
    labmod.check_prerequisites()
    tmp = tempfile.mkdtemp(prefix=labmod.SESSION + "-")
    the_lab = None
    try:
        the_lab = labmod.Lab(tmp)
        request.node._dse_lab = the_lab
        yield the_lab
    finally:
        try:
            if the_lab is not None:
                the_lab.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def segment_lab(lab, n_vms, segment="a", vlan=100, extra_calls=(), mtu=None):
    """Helper: 'n_vms' VMs vm1..vmN on access ports of one segment, static ARP, dse-dpud up."""
    vms = [lab.add_vm("vm%d" % i) for i in range(1, n_vms + 1)]
    lab.static_arp()
    calls = [{"method": "segment.add", "params": {"name": segment, "vlan": vlan}}]
    calls += [labmod.port_config(vm.port, segment=segment, mtu=mtu) for vm in vms]
    calls += list(extra_calls)
    dpud = lab.start_dpud(calls)
    return dpud, vms


@pytest.fixture
def three_vms(lab):
    """vm1, vm2, vm3 on access ports of segment 'a' (VLAN 100); returns (dpud, vms)."""
    return segment_lab(lab, 3)


@pytest.fixture
def two_vms(lab):
    """vm1, vm2 on access ports of segment 'a' (VLAN 100); returns (dpud, vms)."""
    return segment_lab(lab, 2)
