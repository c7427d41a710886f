#!/usr/bin/env python3
"""Per-call SIP traces, opened with the tools an operator uses: real sipp calls through Portico,
then the call's pcap file, found from its CDR line, read by tshark (and sngrep), and the HEPv3
export captured on loopback and decoded by sngrep's own HEP parser.

  pcap_udp_call_and_retention  the CDR names the call's pcap file; tshark decodes both legs'
                    INVITE/100/180/200/ACK/BYE/200 with their own Call-IDs and the real
                    addresses and ports, in time order, nothing else; sngrep reads the file as
                    one dialog per leg; four more calls with max_files 3 leave the three newest
                    files and /metrics counts the written and pruned files.
  pcap_failover     the primary trunk answers 503, the backup 200: the file holds the first
                    attempt (its own Call-ID, the 503 and Portico's ACK for it) and then the call.
  pcap_tcp_carrier_leg  the carrier leg over TCP: tshark reassembles the SIP on Portico's real
                    (ephemeral) source port, with no lost or out-of-order segment reported.
  hep_export        every SIP message of a call, both legs, reaches a HEP collector address as
                    HEP3 (tcpdump on lo); sngrep decodes the capture (-E) into SIP that tshark
                    reads back with the original addresses; /metrics counts what was sent.

    python3 tests/e2e/test_trace.py --portico build/src/portico
"""

import json
import os
import shutil
import subprocess
import sys
import socket

sys.dont_write_bytecode = True

import netns
from harness import (Ctx, assert_sipp, check, default_policy, e2e_test, run_tests,
                     scrape_metrics, wait_until)

METRICS_PORT = 9465
HEP_PORT = 9060
TOOL_TIMEOUT_S = 20


def records(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def tshark_sip(path, fields: list[str], display_filter: str = "sip",
               extra: list[str] = ()) -> list[dict[str, str]]:
    """One dict per SIP frame of `path`, as tshark decodes it."""
    check(shutil.which("tshark") is not None, "tshark not found (scripts/install-deps.sh)")
    argv = ["tshark", "-n", "-r", str(path), *extra, "-Y", display_filter, "-T", "fields",
            "-E", "separator=|", "-E", "occurrence=f"]
    for f in fields:
        argv += ["-e", f]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    check(r.returncode == 0, f"tshark -r {path} failed ({r.returncode}): {r.stderr[-400:]}")
    return [dict(zip(fields, line.split("|"))) for line in r.stdout.splitlines() if line]


def label(frame: dict[str, str]) -> str:
    """'INVITE' for a request, '200 INVITE' for a response."""
    if frame.get("sip.Method"):
        return frame["sip.Method"]
    return f'{frame.get("sip.Status-Code")} {frame.get("sip.CSeq.method")}'


def start_traced(ctx: Ctx, traces: str, **policy_kw):
    """Portico with CDRs, metrics and this `traces` section; returns the CDR path."""
    cdr = ctx.dir / "cdr.jsonl"
    ctx.start_portico(default_policy(ctx.net, **policy_kw) + f"cdr: {{path: {cdr}}}\n"
                      f"metrics: {{address: {ctx.net.access}, port: {METRICS_PORT}}}\n"
                      f"traces: {traces}\n")
    return cdr


def first_record(cdr) -> dict:
    check(wait_until(lambda: len(records(cdr)) >= 1, 10), f"no CDR: {records(cdr)}")
    return records(cdr)[0]


def call_frames(pcap: str, fields: list[str]) -> list[dict[str, str]]:
    """The SIP frames of a call's trace once both legs' 200 BYE are in it (the file is written
    as the call goes, so it may lag the CDR by a batch)."""
    frames: list[dict[str, str]] = []

    def complete() -> bool:
        frames[:] = tshark_sip(pcap, fields) if os.path.exists(pcap) else []
        return sum(1 for f in frames if label(f) == "200 BYE") >= 2
    check(wait_until(complete, 10, step=0.5), f"the trace {pcap} never held both legs' 200 BYE: "
                                              f"{[label(f) for f in frames]}")
    return frames


def run_call(ctx: Ctx, name: str, calls: int = 1, uas_transport: str = "u1") -> None:
    net = ctx.net
    uas = ctx.sipp(f"{name}_uas", "uas_basic.xml", net.primary, transport=uas_transport,
                   calls=calls).start()
    uac = ctx.sipp(f"{name}_uac", "uac_basic.xml", net.uac, remote=ctx.access_target(),
                   calls=calls, rate=10 if calls > 1 else None)
    uac.run()
    uas.wait(timeout=10)
    print(f"    {uac.describe()}; {uas.describe()}", flush=True)
    assert_sipp(uac, calls)
    assert_sipp(uas, calls)


def legs(frames: list[dict[str, str]], a_call_id: str, b_call_id: str):
    a = [f for f in frames if f["sip.Call-ID"] == a_call_id]
    b = [f for f in frames if f["sip.Call-ID"] == b_call_id]
    others = [f for f in frames if f["sip.Call-ID"] not in (a_call_id, b_call_id)]
    check(not others, f"frames of other Call-IDs in the call's file: {others[:3]}")
    return a, b


def basic_call_legs(frames: list[dict[str, str]], rec: dict, where: str):
    """Both legs of one uac_basic/uas_basic call, each complete and in order (the callee sends
    no 100 Trying)."""
    a, b = legs(frames, rec["a_call_id"], rec["b_call_id"])
    a_labels = [label(f) for f in a]
    b_labels = [label(f) for f in b]
    print(f"    A leg {where}: {a_labels}\n    B leg {where}: {b_labels}", flush=True)
    check(a_labels == ["INVITE", "100 INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"],
          f"A leg {where}: {a_labels}")
    check(b_labels == ["INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"],
          f"B leg {where}: {b_labels}")
    return a, b


UDP_FIELDS = ["frame.time_epoch", "ip.src", "udp.srcport", "ip.dst", "udp.dstport",
              "sip.Call-ID", "sip.Method", "sip.Status-Code", "sip.CSeq.method"]


@e2e_test(k=131, portico_only=True)
def test_pcap_udp_call_and_retention(ctx: Ctx):
    net = ctx.net
    tdir = ctx.dir / "traces"
    cdr = start_traced(ctx, f"{{directory: {tdir}, max_files: 3}}")
    run_call(ctx, "first")
    rec = first_record(cdr)
    pcap = rec.get("trace", "")
    print(f"    CDR call={rec['call']} trace={pcap}", flush=True)
    check(pcap.startswith(str(tdir) + "/") and rec["call"] in pcap and pcap.endswith(".pcap"),
          f"CDR trace should name a file in {tdir} with the call id {rec['call']}: {pcap!r}")
    check(any(f"call={rec['call']}" in l and pcap in l for l in ctx.portico.grep("call.trace")),
          "no call.trace log line naming the file")
    frames = call_frames(pcap, UDP_FIELDS)
    a, b = basic_call_legs(frames, rec, "in the trace")
    check(frames[0]["sip.Call-ID"] == rec["a_call_id"] and label(frames[0]) == "INVITE",
          f"the file must start with the caller's INVITE: {frames[0]}")
    times = [float(f["frame.time_epoch"]) for f in frames]
    check(times == sorted(times), "frames are not in time order")
    access, uac = (net.access, "5060"), (net.uac, "5060")
    carrier, uas = (net.carrier, "5060"), (net.primary, "5060")
    for f in a:
        ends = {(f["ip.src"], f["udp.srcport"]), (f["ip.dst"], f["udp.dstport"])}
        check(ends == {access, uac}, f"A-leg frame between {ends}, expected {access} and {uac}")
    for f in b:
        ends = {(f["ip.src"], f["udp.srcport"]), (f["ip.dst"], f["udp.dstport"])}
        check(ends == {carrier, uas}, f"B-leg frame between {ends}, expected {carrier} and {uas}")
    check((a[0]["ip.src"], b[0]["ip.src"]) == (net.uac, net.carrier),
          "INVITEs must go caller -> Portico and Portico -> callee")
    sngrep_dialogs(ctx, pcap, 2)

    # Retention: four more calls with max_files 3 leave the three newest files.
    run_call(ctx, "more", calls=4)
    check(wait_until(lambda: len(records(cdr)) == 5, 10), "missing CDRs of the four calls")
    newest = {r["trace"] for r in records(cdr)[-3:]}

    def pruned() -> bool:
        m = scrape_metrics(net.access, METRICS_PORT)
        return m.get('portico_trace_files_total{result="written"}', 0) == 5 and \
            m.get('portico_trace_files_total{result="pruned"}', 0) == 2
    check(wait_until(pruned, 12, step=0.5), "metrics never showed 5 written and 2 pruned files: "
          f"{ {k: v for k, v in scrape_metrics(net.access, METRICS_PORT).items() if 'trace' in k} }")
    left = {str(p) for p in tdir.glob("*.pcap")}
    check(left == newest, f"after retention the directory holds {sorted(left)}, expected the "
                          f"three newest {sorted(newest)}")
    m = scrape_metrics(net.access, METRICS_PORT)
    check(m.get('portico_trace_messages_total{result="written"}', 0) >= 5 * 12
          and m.get('portico_trace_messages_total{result="dropped"}', -1) == 0,
          f"trace message counters: { {k: v for k, v in m.items() if 'trace_messages' in k} }")
    ctx.finish_portico()


def sngrep_dialogs(ctx: Ctx, pcap: str, expected: int) -> None:
    """sngrep reads the file on its own (no interface) and writes the dialogs it understood."""
    check(shutil.which("sngrep") is not None, "sngrep not found (scripts/install-deps.sh)")
    out = ctx.dir / "sngrep_out.pcap"
    r = subprocess.run(["sngrep", "-N", "-q", "-F", "-I", pcap, "-O", str(out)],
                       capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    check(r.returncode == 0 and out.exists(), f"sngrep -I {pcap}: {r.returncode} {r.stderr[-300:]}")
    ids = {f["sip.Call-ID"] for f in tshark_sip(out, ["sip.Call-ID"])}
    check(len(ids) == expected, f"sngrep kept {len(ids)} dialogs from the trace, expected {expected}")


TCP_FIELDS = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "sip.Call-ID", "sip.Method",
              "sip.Status-Code", "sip.CSeq.method"]


@e2e_test(k=132, portico_only=True)
def test_pcap_tcp_carrier_leg(ctx: Ctx):
    net = ctx.net
    cdr = start_traced(ctx, f"{{directory: {ctx.dir / 'traces'}}}", primary_transport="tcp")
    run_call(ctx, "tcp", uas_transport="t1")
    rec = first_record(cdr)
    pcap = rec["trace"]
    _, b = legs(call_frames(pcap, TCP_FIELDS), rec["a_call_id"], rec["b_call_id"])
    labels = [label(f) for f in b]
    print(f"    B leg over TCP: {labels}", flush=True)
    check(labels == ["INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"],
          f"B leg over TCP: {labels}")
    ours = {(f["ip.src"], f["tcp.srcport"]) for f in b if f["ip.src"] == net.carrier} | \
           {(f["ip.dst"], f["tcp.dstport"]) for f in b if f["ip.dst"] == net.carrier}
    peers = {(f["ip.src"], f["tcp.srcport"]) for f in b if f["ip.src"] == net.primary} | \
            {(f["ip.dst"], f["tcp.dstport"]) for f in b if f["ip.dst"] == net.primary}
    check(len(ours) == 1 and next(iter(ours))[1] != "5060",
          f"Portico's end of its outbound connection should be one ephemeral port: {ours}")
    check(peers == {(net.primary, "5060")}, f"the trunk's end: {peers}")
    bad = tshark_sip(pcap, ["frame.number"], "tcp.analysis.flags && !tcp.analysis.window_update")
    check(not bad, f"tshark reports TCP problems (lost/out-of-order segments) in frames {bad}")
    ctx.finish_portico()


@e2e_test(k=134, portico_only=True)
def test_pcap_failover(ctx: Ctx):
    net = ctx.net
    cdr = start_traced(ctx, f"{{directory: {ctx.dir / 'traces'}}}")
    prim = ctx.sipp("primary", "uas_503.xml", net.primary).start()
    back = ctx.sipp("backup", "uas_basic.xml", net.backup, duration_ms=200).start()
    uac = ctx.sipp("uac", "uac_basic.xml", net.uac, remote=ctx.access_target())
    uac.run()
    back.wait(timeout=10)
    prim.wait(timeout=10)
    assert_sipp(uac, 1)
    rec = first_record(cdr)
    check(rec["attempts"] == 2, f"expected a failover (2 attempts): {rec}")
    frames = call_frames(rec["trace"], UDP_FIELDS)
    # The first attempt has its own Call-ID; the CDR names the last B leg.
    first = [f for f in frames if f["ip.dst"] == net.primary or f["ip.src"] == net.primary]
    ids = {f["sip.Call-ID"] for f in first}
    check(len(ids) == 1 and rec["b_call_id"] not in ids, f"first attempt's Call-IDs: {ids}")
    first_labels = [label(f) for f in first]
    print(f"    first attempt: {first_labels}", flush=True)
    # The ACK of the 503 comes from the transaction layer after the call moved on: still there.
    check(first_labels[:1] == ["INVITE"] and "503 INVITE" in first_labels
          and first_labels[-1] == "ACK", f"first attempt in the trace: {first_labels}")
    rest = [f for f in frames if f not in first]
    basic_call_legs(rest, rec, "after failover")
    ctx.finish_portico()


@e2e_test(k=133, portico_only=True)
def test_hep_export(ctx: Ctx):
    net = ctx.net
    collector = net.ip(50)
    # Something listens where HEP goes, so the kernel answers no ICMP errors; the test reads
    # the packets from the capture, not from this socket.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((collector, HEP_PORT))
    cap = netns.Capture(netns.HostNamespace(), "host", "lo", ctx.dir / "hep.pcap",
                        bpf=f"udp and dst host {collector} and dst port {HEP_PORT}").start()
    try:
        cdr = start_traced(
            ctx, f"{{hep: udp://{collector}:{HEP_PORT}, hep_id: 2001, hep_password: s3cret}}")
        run_call(ctx, "hep")
        rec = first_record(cdr)
        check(rec["trace"] == "", f"no pcap directory: the CDR names no file: {rec['trace']!r}")

        def counted() -> float:
            return scrape_metrics(net.access, METRICS_PORT).get(
                'portico_trace_hep_packets_total{result="sent"}', 0)
        # The call's 13 messages at least: 7 on the A leg, 6 on B (the callee sends no 100).
        check(wait_until(lambda: counted() >= 13, 5), f"HEP packets sent: {counted()}")
        sent = counted()
        m = scrape_metrics(net.access, METRICS_PORT)
        check(m.get('portico_trace_hep_packets_total{result="send_error"}', -1) == 0,
              "HEP send errors counted")
        wait_until(lambda: False, 0.5)  # let the capture take the last datagrams
        cap.stop()
    finally:
        cap.stop()
        sink.close()
    ctx.finish_portico()

    raw = tshark_sip(ctx.dir / "hep.pcap", ["frame.number"], f"udp.dstport == {HEP_PORT}")
    check(len(raw) >= sent, f"the capture holds {len(raw)} HEP datagrams, Portico sent {sent}")
    # sngrep's own HEP parser (-E) turns the capture back into SIP packets.
    decoded = ctx.dir / "hep_decoded.pcap"
    r = subprocess.run(["sngrep", "-N", "-q", "-F", "-E", "-I", str(ctx.dir / "hep.pcap"),
                        "-O", str(decoded)], capture_output=True, text=True,
                       timeout=TOOL_TIMEOUT_S)
    check(r.returncode == 0 and decoded.exists(), f"sngrep -E: {r.returncode} {r.stderr[-300:]}")
    # sngrep 1.6 writes each HEP-decoded packet twice to its output: keep one of each.
    frames = list({tuple(f.values()): f for f in tshark_sip(decoded, UDP_FIELDS)}.values())
    check(len(frames) == len(raw), f"sngrep decoded {len(frames)} distinct SIP messages from "
                                   f"{len(raw)} HEP datagrams")
    a, b = basic_call_legs(frames, rec, "decoded from HEP")
    check({(f["ip.src"], f["udp.srcport"]) for f in a} == {(net.uac, "5060"), (net.access, "5060")},
          "A-leg addresses inside HEP")
    check({(f["ip.src"], f["udp.srcport"]) for f in b} == {(net.primary, "5060"), (net.carrier, "5060")},
          "B-leg addresses inside HEP")
    # What sngrep does not show: the agent id, the auth key, and the correlation id that ties
    # both legs to the caller's Call-ID (how Homer shows the two legs as one call).
    for pkt in netns.read_pcap_udp(ctx.dir / "hep.pcap"):
        c = hep_chunks(pkt.payload)
        check(c.get(0x000c) == (2001).to_bytes(4, "big") and c.get(0x000e) == b"s3cret",
              f"HEP agent id / auth key chunks: {c.get(0x000c)!r} {c.get(0x000e)!r}")
        check(c.get(0x0011) == rec["a_call_id"].encode(),
              f"HEP correlation id {c.get(0x0011)!r}, expected the caller's Call-ID")


def hep_chunks(payload: bytes) -> dict[int, bytes]:
    """HEP3 chunk type -> value (generic vendor only), bounded by the packet's own length."""
    check(payload[:4] == b"HEP3" and int.from_bytes(payload[4:6], "big") == len(payload),
          f"not a HEP3 packet: {payload[:8]!r}")
    out, at = {}, 6
    while at + 6 <= len(payload):
        ctype, clen = int.from_bytes(payload[at + 2:at + 4], "big"), int.from_bytes(payload[at + 4:at + 6], "big")
        check(clen >= 6, f"bad chunk length {clen}")
        out[ctype] = payload[at + 6:at + clen]
        at += clen
    return out


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
