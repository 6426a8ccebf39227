# SPDX-License-Identifier: BSD-3-Clause
"""Certificates made by hand with openssl, for the tests of the certificate profile.

dse-hostd issues only certificates of the profile (docs/host-side.md
"Certificate profile"); the tests also need certificates of the host CA
outside it: a client-only one under a DPU's name, or one of the older
profile with both serverAuth and clientAuth.
"""
import subprocess
from pathlib import Path


def sign(ca_dir, cn, eku, out_dir, serial):
    """Writes out_dir/cert.pem and out_dir/key.pem: CN 'cn', extended key usage 'eku'
    (openssl's words, e.g. "serverAuth,clientAuth"), signed by the CA in ca_dir (ca.pem,
    ca.key) with 'serial'.  Returns (cert, key)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert, key = out_dir / "cert.pem", out_dir / "key.pem"
    ext, csr = out_dir / "ext.cnf", out_dir / "req.csr"
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=%s\n" % eku)
    for cmd in (["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", "/CN=%s" % cn],
                ["openssl", "x509", "-req", "-in", csr, "-CA", Path(ca_dir) / "ca.pem",
                 "-CAkey", Path(ca_dir) / "ca.key", "-set_serial", str(serial), "-days", "30",
                 "-extfile", ext, "-out", cert]):
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, "%s: %s" % (" ".join(map(str, cmd)), p.stderr)
    ext.unlink()
    csr.unlink()
    return cert, key


HOST_CONTROL = "dse:host-control"


def host_identity(ca_dir, out_dir, serial=4242):
    """Writes the host's control identity (client-only, CN dse:host-control: what a
    DPU's control port accepts, docs/host-side.md) signed by the CA in ca_dir to
    out_dir/cert.pem and key.pem, with the CA beside it (ca.pem), as dse-hostd
    keeps its own.  Returns out_dir."""
    out_dir = Path(out_dir)
    sign(ca_dir, HOST_CONTROL, "clientAuth", out_dir, serial)
    (out_dir / "ca.pem").write_bytes((Path(ca_dir) / "ca.pem").read_bytes())
    return out_dir


def extended_key_usage(cert):
    """The extended key usage of the PEM certificate 'cert', as openssl prints it."""
    p = subprocess.run(["openssl", "x509", "-noout", "-ext", "extendedKeyUsage", "-in",
                        str(cert)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split("Usage:", 1)[-1].strip()
