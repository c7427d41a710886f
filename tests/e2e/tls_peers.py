"""TLS building blocks for tests/e2e/test_tls.py: a PKI made with the openssl CLI, Kamailio as a
TLS carrier (Debian's sipp is built without TLS, so Kamailio's tls module terminates TLS and
relays over UDP to a sipp UAS behind it), and small Python TLS peers for the failure cases."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

from harness import TestFailure, check, is_bound, spawn, tail, wait_until

KAMAILIO = "/usr/sbin/kamailio"
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def _run(argv: list[str], cwd: Path) -> None:
    r = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise TestFailure(f"{' '.join(map(str, argv))}: {r.stderr.decode()[-400:]}")


class Pki:
    """A CA, a second CA nobody trusts, and leaf certificates (EC P-256, fast to make)."""

    def __init__(self, d: Path):
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        self._ca("ca", "Portico Test CA")
        self._ca("rogue", "Rogue CA")
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        (d / "ca.cnf").write_text(f"""[ca]
default_ca = test
[test]
database = {d}/index.txt
serial = {d}/serial
new_certs_dir = {d}
certificate = {d}/ca.crt
private_key = {d}/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = supplied
""")

    def _ca(self, name: str, cn: str) -> None:
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "30",
              "-subj", f"/CN={cn}"], self.dir)

    def leaf(self, name: str, dns: str, *, issuer: str = "ca", expired: bool = False) -> tuple[Path, Path]:
        """name.crt / name.key for `dns` (SAN and CN), signed by `issuer`; expired: valid only
        in 2020."""
        _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns}",
              "-addext", f"subjectAltName=DNS:{dns}"], self.dir)
        if expired:
            _run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-in", f"{name}.csr",
                  "-out", f"{name}.crt", "-startdate", "20200101000000Z",
                  "-enddate", "20200102000000Z", "-notext"], self.dir)
        else:
            _run(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.crt",
                  "-CAkey", f"{issuer}.key", "-CAcreateserial", "-out", f"{name}.crt",
                  "-days", "30", "-copy_extensions", "copy"], self.dir)
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"


def write_kamailio_tls_cfg(path: Path, cert: Path, key: Path, ca: Path,
                           require_client_cert: bool = False) -> None:
    """The config file of Kamailio's tls module (modparam("tls", "config", path)): TLS 1.2+."""
    verify = "yes" if require_client_cert else "no"
    path.write_text(f"""[server:default]
method = TLSv1.2+
verify_certificate = {verify}
require_certificate = {verify}
certificate = {cert}
private_key = {key}
ca_list = {ca}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
""")


class Kamailio:
    """Kamailio with tls.so: TLS on ip:5061 toward Portico, UDP on ip:5060 toward `uas`."""

    def __init__(self, ctx, ip: str, uas: str, cert: Path, key: Path, ca: Path, *,
                 require_client_cert: bool = False, name: str = "kamailio"):
        self.ctx, self.ip = ctx, ip
        d = ctx.dir / name
        d.mkdir(exist_ok=True)
        self.dir = d
        write_kamailio_tls_cfg(d / "tls.cfg", cert, key, ca, require_client_cert)
        (d / "kamailio.cfg").write_text(f"""#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
tcp_children=1
auto_aliases=no
dns=no
rev_dns=no
enable_tls=yes
listen=udp:{ip}:5060
listen=tls:{ip}:5061
mpath="{KAMAILIO_MODULES}"
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
modparam("tls", "config", "{d}/tls.cfg")
request_route {{
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    t_check_trans();
    record_route();
    $du = "sip:{uas}:5060";
    t_relay();
    exit;
}}
""")
        self.proc = None

    def start(self) -> "Kamailio":
        self.log = open(self.dir / "kamailio.log", "wb")
        self.proc = spawn([KAMAILIO, "-f", str(self.dir / "kamailio.cfg"), "-DD", "-E",
                           "-w", str(self.dir), "-m", "64", "-M", "8"],
                          stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        ok = wait_until(lambda: is_bound(self.ip, 5061, "tcp") or self.proc.poll() is not None, 10)
        check(ok and self.proc.poll() is None,
              f"kamailio did not start:\n{tail(self.dir / 'kamailio.log', 20)}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class TlsServer:
    """A Python TLS server that completes (or fails) handshakes and otherwise reads and drops:
    the carrier with a bad certificate."""

    def __init__(self, ip: str, port: int, cert: Path, key: Path):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.create_server((ip, port))
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(2000):  # bounded: at most ~400 s of 0.2 s accept waits
            if self.stopping:
                return
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(2)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(4096)
            except (ssl.SSLError, OSError):
                pass

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(3)
        self.sock.close()


def tls_client(ip: str, port: int, *, ca: Path | None = None, cert: tuple[Path, Path] | None = None,
               server_name: str = "portico.example", timeout: float = 3.0,
               source: str | None = None) -> ssl.SSLSocket:
    """Connects to a Portico tls listener; the caller closes it."""
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is not None:
        c.load_verify_locations(ca)
    else:
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
    if cert is not None:
        c.load_cert_chain(*cert)
    raw = socket.create_connection((ip, port), timeout=timeout,
                                   source_address=(source, 0) if source else None)
    return c.wrap_socket(raw, server_hostname=server_name)
