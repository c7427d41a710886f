#!/usr/bin/env python3
"""SIP over TLS towards a carrier, with real TLS and real peers.

    sipp UAC --UDP--> Portico --TLS--> Kamailio (tls.so) --UDP--> sipp UAS

Debian's sipp is built without TLS (`sipp -v`: -SCTP-PCAP-RTPSTREAM, no -t l1), so the TLS
carrier is Kamailio's tls module relaying to a sipp UAS over UDP; Portico's access side stays
UDP. Certificates are made in each test with the openssl CLI (tls_peers.Pki). The failure cases
use small Python TLS peers (a server with an expired, unknown-CA or wrong-name certificate, a
client without a certificate, a TCP client that never says hello).

    python3 tests/e2e/test_tls.py --portico build/src/portico
"""

import re
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

from harness import (assert_sipp, check, e2e_test, run_tests, scrape_metrics, spawn, stop_pid,
                     wait_until)
from tls_peers import Kamailio, Pki, TlsServer, tls_client

METRICS_PORT = 9476


def _policy(net, pki, *, trunks: str, client_cert: bool = True, verify_client: str = "optional",
            extra: str = "", peer_names: str = "") -> str:
    ident = (f", certificate: {pki.dir}/portico-client.crt, private_key: {pki.dir}/portico-client.key"
             if client_cert else "")
    return f"""server: {{shards: 2, log_level: info, trace: true}}
timers: {{t1: 50ms, t2: 400ms, t4: 500ms, max_call_duration: 1h, tcp_idle_timeout: 60s}}
realms:
  access:  {{listeners: ["udp://{net.access}:5060"]}}
  carrier:
    listeners: ["udp://{net.carrier}:5060", "tls://{net.carrier}:5061"]
    tls: {{certificate: {pki.dir}/portico.crt, private_key: {pki.dir}/portico.key,
           ca_file: {pki.ca}, verify_client: {verify_client}, handshake_timeout: 1s}}
trunks:
{trunks.replace("@IDENT@", ident).replace("@CA@", str(pki.ca))}
access_peers:
  uac: {{realm: access, sources: ["{net.uac}/32"], host: {net.uac}, port: 5060}}
routes:
  - name: out
    match: {{realm: access}}
    targets: [{{trunk: primary}}]
  - name: in
    match: {{realm: carrier}}
    targets: [{{peer: uac}}]
metrics: {{address: {net.access}, port: {METRICS_PORT}}}
cdr: {{path: CDR_PATH}}
{extra}"""


def _kamailio_trunk(net) -> str:
    return (f"  primary: {{realm: carrier, host: {net.ip(20)}, port: 5061, transport: tls,\n"
            f"            tls: {{server_name: carrier.example, ca_file: @CA@@IDENT@}}}}")


def _pki(ctx) -> Pki:
    pki = Pki(ctx.dir / "pki")
    pki.leaf("carrier", "carrier.example")
    pki.leaf("portico", "portico.example")
    pki.leaf("portico-client", "portico.example")
    return pki


def _start(ctx, policy: str):
    policy = policy.replace("CDR_PATH", str(ctx.dir / "cdr.jsonl"))
    return ctx.start_portico(policy)


def _metric(net, name: str) -> float:
    return scrape_metrics(net.access, METRICS_PORT).get(name, 0.0)


def _failures(net, reason: str) -> float:
    return _metric(net, f'portico_transport_tls_handshake_failures_total{{reason="{reason}"}}')


def _uas(ctx, duration_ms=200, calls=1):
    return ctx.sipp("uas", "uas_basic.xml", ctx.net.ip(21), calls=calls,
                    duration_ms=duration_ms, global_timeout_s=40).start()


def _uac(ctx, scenario="uac_basic.xml", duration_ms=200, calls=1):
    return ctx.sipp("uac", scenario, ctx.net.uac, remote=f"{ctx.net.access}:5060", calls=calls,
                    duration_ms=duration_ms, global_timeout_s=30)


def _call(ctx):
    """One call UAC -> Portico -> carrier -> UAS; both sipp must count it successful."""
    uas = _uas(ctx)
    uac = _uac(ctx)
    uac.run()
    uas.wait(timeout=10)
    assert_sipp(uac, 1)
    assert_sipp(uas, 1)
    return uac, uas


def _capture(ctx, host: str, port: int):
    path = ctx.dir / "tls-link.pcap"
    f = open(ctx.dir / "tcpdump.log", "wb")
    p = spawn(["tcpdump", "-i", "lo", "-U", "-n", "-w", str(path), f"host {host} and tcp port {port}"],
              stdout=f, stderr=subprocess.STDOUT)
    wait_until(lambda: path.exists() and b"listening" in (ctx.dir / "tcpdump.log").read_bytes(), 5)
    time.sleep(0.2)
    return p, path


@e2e_test(k=230, portico_only=True)
def test_call_over_tls(ctx):
    """A call to a TLS carrier completes; the link carries no cleartext SIP; Via/Contact say
    TLS with the TLS port; the CDR names the TLS version and cipher of the carrier leg."""
    net = ctx.net
    pki = _pki(ctx)
    kam = Kamailio(ctx, net.ip(20), net.ip(21), pki.dir / "carrier.crt", pki.dir / "carrier.key",
                   pki.ca).start()
    try:
        cap, pcap = _capture(ctx, net.ip(20), 5061)
        try:
            _start(ctx, _policy(net, pki, trunks=_kamailio_trunk(net)))
            _, uas = _call(ctx)
        finally:
            time.sleep(0.3)
            stop_pid(cap)
        data = pcap.read_bytes()
        check(len(data) > 2000, f"capture of the TLS link is {len(data)} bytes: nothing captured?")
        for needle in (b"INVITE sip:", b"SIP/2.0", b"BYE sip:"):
            check(needle not in data, f"cleartext {needle!r} on the TLS link")
        invite = uas.requests_received("INVITE")[0]
        vias = invite.header("Via") + invite.header("v")
        check(any(f"SIP/2.0/TLS {net.carrier}:5061" in v for v in vias),
              f"Portico's Via at the carrier does not say TLS {net.carrier}:5061: {vias}")
        contact = " ".join(invite.header("Contact") + invite.header("m"))
        check(f"{net.carrier}:5061;transport=tls" in contact, f"Contact: {contact}")
        check(_metric(net, "portico_transport_tls_handshakes_total") >= 1, "no TLS handshake counted")
        cdr = ctx.dir / "cdr.jsonl"
        check(wait_until(lambda: cdr.exists() and cdr.read_text().strip(), 5), "no CDR")
        rec = cdr.read_text()
        check(re.search(r'"b_tls_version":"TLSv1\.[23]"', rec) is not None, f"CDR: {rec}")
        check(re.search(r'"b_tls_cipher":"[A-Z0-9_-]+"', rec) is not None, f"CDR: {rec}")
        ctx.finish_portico()
    finally:
        kam.stop()


@e2e_test(k=231, portico_only=True)
def test_mutual_tls(ctx):
    """A carrier that requires a client certificate takes Portico's; without one the call
    fails and the refusal is named no_client_certificate."""
    net = ctx.net
    pki = _pki(ctx)
    kam = Kamailio(ctx, net.ip(20), net.ip(21), pki.dir / "carrier.crt", pki.dir / "carrier.key",
                   pki.ca, require_client_cert=True).start()
    try:
        _start(ctx, _policy(net, pki, trunks=_kamailio_trunk(net)))
        _call(ctx)
        ctx.finish_portico()
        # The same carrier, Portico without a client certificate.
        ctx.sipps.clear()
        _start(ctx, _policy(net, pki, trunks=_kamailio_trunk(net), client_cert=False))
        uac = ctx.sipp("uac2", "uac_expect_503.xml", net.uac, remote=f"{net.access}:5060",
                       global_timeout_s=20)
        uac.run()
        assert_sipp(uac, 1)
        check(wait_until(lambda: _failures(net, "no_client_certificate") >= 1, 5),
              "no_client_certificate not counted")
        lines = ctx.portico.grep("event=transport.tls_handshake_failed")
        check(any("reason=no_client_certificate" in l for l in lines), f"log: {lines}")
        ctx.finish_portico()
    finally:
        kam.stop()


@e2e_test(k=232, portico_only=True)
def test_handshake_failures_are_named(ctx):
    """Expired certificate, unknown CA and wrong host name at the carrier, a client without a
    certificate and a client that never says hello at Portico's listener: each is logged once
    with its reason and counted under it."""
    net = ctx.net
    pki = _pki(ctx)
    pki.leaf("expired", "carrier.example", expired=True)
    pki.leaf("rogue-leaf", "carrier.example", issuer="rogue")
    pki.leaf("other", "other.example")
    servers = [TlsServer(net.ip(20), 5061, pki.dir / "expired.crt", pki.dir / "expired.key"),
               TlsServer(net.ip(21), 5061, pki.dir / "rogue-leaf.crt", pki.dir / "rogue-leaf.key"),
               TlsServer(net.ip(22), 5061, pki.dir / "other.crt", pki.dir / "other.key")]
    try:
        trunks = "\n".join(
            f"  {name}: {{realm: carrier, host: {net.ip(host)}, port: 5061, transport: tls,\n"
            f"            tls: {{server_name: carrier.example, ca_file: @CA@}}}}"
            for name, host in (("primary", 20), ("rogue", 21), ("wrongname", 22)))
        policy = _policy(net, pki, trunks=trunks, verify_client="required")
        policy = policy.replace("targets: [{trunk: primary}]",
                                "targets: [{trunk: primary}, {trunk: rogue}, {trunk: wrongname}]")
        _start(ctx, policy)
        uac = ctx.sipp("uac", "uac_expect_503.xml", net.uac, remote=f"{net.access}:5060",
                       global_timeout_s=20)
        uac.run()
        assert_sipp(uac, 1)
        # At Portico's listener (verify_client: required): a client without a certificate...
        try:
            s = tls_client(net.carrier, 5061)
            s.sendall(b"\r\n\r\n")
            s.recv(10)  # TLS 1.3: the refusal arrives after the client's side is done
            s.close()
        except (ssl.SSLError, OSError):
            pass
        # ...and a TCP peer that connects and says nothing: cut at handshake_timeout (1 s).
        t0 = time.monotonic()
        raw = socket.create_connection((net.carrier, 5061), timeout=5)
        try:
            got = raw.recv(100)
        except OSError:
            got = b""
        held = time.monotonic() - t0
        raw.close()
        check(got == b"" and 0.8 <= held <= 3.0,
              f"a silent peer was held {held:.2f} s (expected cut at ~1 s), got {got!r}")
        for reason in ("expired", "unknown_ca", "name_mismatch", "no_client_certificate",
                       "handshake_timeout"):
            check(wait_until(lambda: _failures(net, reason) >= 1, 5),
                  f"{reason} not counted: {scrape_metrics(net.access, METRICS_PORT)}")
            lines = [l for l in ctx.portico.grep("event=transport.tls_handshake_failed")
                     if f"reason={reason}" in l]
            check(len(lines) == 1, f"{reason}: {len(lines)} log lines (expected one): {lines}")
        ctx.finish_portico()
    finally:
        for s in servers:
            s.stop()


@e2e_test(k=233, portico_only=True)
def test_carrier_closes_mid_call(ctx):
    """The carrier drops the TLS connection mid-call (Kamailio restarted); Portico opens a new
    one for the BYE, and the call ends cleanly at both ends."""
    net = ctx.net
    pki = _pki(ctx)
    args = (ctx, net.ip(20), net.ip(21), pki.dir / "carrier.crt", pki.dir / "carrier.key", pki.ca)
    kam = Kamailio(*args).start()
    try:
        _start(ctx, _policy(net, pki, trunks=_kamailio_trunk(net)))
        uas = _uas(ctx, duration_ms=4000)
        uac = _uac(ctx, duration_ms=4000)
        uac.start()
        check(wait_until(lambda: len(uas.requests_received("ACK")) >= 1, 10), "call not answered")
        kam.stop()
        kam = Kamailio(*args, name="kamailio2").start()
        uac.wait()
        uas.wait(timeout=10)
        assert_sipp(uac, 1)
        assert_sipp(uas, 1)
        check(_metric(net, "portico_transport_tls_handshakes_total") >= 2,
              "the BYE did not go over a new TLS connection")
        ctx.finish_portico()
    finally:
        kam.stop()


@e2e_test(k=234, portico_only=True)
def test_reload_new_certificate(ctx):
    """SIGHUP with a renewed certificate: a new connection sees the new one, the connection
    opened before keeps working (its keepalive is answered)."""
    net = ctx.net
    pki = _pki(ctx)
    kam_free = _policy(net, pki, trunks=_kamailio_trunk(net))
    p = _start(ctx, kam_free)
    old = tls_client(net.carrier, 5061, ca=pki.ca)
    serial_before = old.getpeercert()["serialNumber"]
    pki.leaf("portico", "portico.example")  # renewed in place: same files, new certificate
    p.proc.send_signal(1)
    check(wait_until(lambda: "event=policy.reloaded" in p.log(), 5), "no reload")
    new = tls_client(net.carrier, 5061, ca=pki.ca)
    serial_after = new.getpeercert()["serialNumber"]
    check(serial_after != serial_before, f"new connection still sees serial {serial_before}")
    old.sendall(b"\r\n\r\n")  # RFC 5626 ping on the connection from before the reload
    old.settimeout(3)
    check(old.recv(10) == b"\r\n", "the old connection did not answer its keepalive")
    old.close()
    new.close()
    ctx.finish_portico()


@e2e_test(k=235, portico_only=True)
def test_trunk_identified_by_certificate(ctx):
    """With tls.peer_names, a request on a TLS connection is the trunk's only if the client
    certificate names it: carrier.example gets an answer, other.example the unknown-source 403."""
    net = ctx.net
    pki = _pki(ctx)
    pki.leaf("other", "other.example")
    trunk = (f"  primary: {{realm: carrier, host: {net.ip(20)}, port: 5061, transport: tls,\n"
             f"            sources: [\"127.0.{net.k}.0/24\"],\n"
             f"            tls: {{server_name: carrier.example, ca_file: @CA@,"
             f" peer_names: [carrier.example]}}}}")
    _start(ctx, _policy(net, pki, trunks=trunk))

    def options(cert: str) -> str:
        s = tls_client(net.carrier, 5061, ca=pki.ca, source=net.ip(20),
                       cert=(pki.dir / f"{cert}.crt", pki.dir / f"{cert}.key"))
        msg = (f"OPTIONS sip:{net.carrier}:5061 SIP/2.0\r\n"
               f"Via: SIP/2.0/TLS {net.ip(20)}:5061;branch=z9hG4bK{cert}1\r\n"
               f"From: <sip:probe@carrier.example>;tag=1\r\nTo: <sip:{net.carrier}>\r\n"
               f"Call-ID: tls-{cert}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
               f"Content-Length: 0\r\n\r\n")
        s.sendall(msg.encode())
        s.settimeout(3)
        try:
            return s.recv(2000).decode(errors="replace").split("\r\n")[0]
        finally:
            s.close()

    check(options("other") == "SIP/2.0 403 Forbidden", "other.example was not refused")
    first = options("carrier")
    check(first.startswith("SIP/2.0 ") and " 403 " not in first,
          f"carrier.example was refused: {first}")
    ctx.finish_portico()


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
