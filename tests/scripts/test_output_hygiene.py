#!/usr/bin/env python3
"""test_output_hygiene.py - output hygiene (issue 12, part 3).

Runs imapscope on the captures of the repository and on small captures
generated here (tests/attack/gen_attack.py's writer) and checks:
  - a write error (disk full: -w /dev/full, > /dev/full) exits 3 with one
    line on stderr; a reader that leaves (| head -1) is quiet, exit 0;
  - no 1970 timestamp when no packet was seen (empty capture, a capture
    without TCP): the stats event carries the wall-clock time;
  - alerts of one kind on one connection are capped (--max-alerts-per-kind),
    the session's anomaly count keeps the true total;
  - a TLS hint once per run when TLS stayed opaque;
  - --tls-port P alone decodes implicit TLS on port P.
Prints "PASS name" / "FAIL name"; exit 1 on any failure.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", "build")
PROG = os.environ.get("IMAPSCOPE") or os.path.join(ROOT, BUILD, "imapscope")
sys.path.insert(0, os.path.join(ROOT, "tests", "attack"))
import gen_attack as G  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
import rewrite_ports  # noqa: E402

CAP = os.path.join(ROOT, "captures", "imaplib-main.pcap")
failures = 0


def report(ok, name, why=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why))
    if not ok:
        failures += 1


def run(args, **kw):
    return subprocess.run([PROG] + args, capture_output=True, timeout=120, **kw)


def events(out):
    return [json.loads(x) for x in out.decode().splitlines() if x.strip()]


def stderr_lines(p):
    return [x for x in p.stderr.decode().splitlines() if x.strip()]


def test_write_errors():
    if not os.access("/dev/full", os.W_OK):
        print("SKIP write-error: no /dev/full")
        return
    for name, args, redirect in (("w-dev-full", ["-w", "/dev/full"], None),
                                 ("stdout-dev-full", [], "/dev/full"),
                                 ("stdout-dev-full-json-threads", ["-T", "json", "--threads", "2"], "/dev/full")):
        if redirect:
            with open(redirect, "wb") as f:
                p = subprocess.run([PROG, "-r", CAP] + args, stdout=f, stderr=subprocess.PIPE, timeout=60)
        else:
            p = run(["-r", CAP] + args)
        err = stderr_lines(p)
        ok = p.returncode == 3 and len(err) == 1 and "No space left" in err[0]
        report(ok, "write-error-" + name, "exit %d, stderr %r" % (p.returncode, err))
    # the reader of a pipe leaves after one line: quiet, exit 0.  The output
    # (some MB: an alert per garbage line, no cap) is far more than a pipe
    # holds, so writing meets EPIPE for sure.
    with tempfile.TemporaryDirectory() as d:
        big = os.path.join(d, "big.pcap")
        p = G.Pcap(big)
        c = G.Conv(p)
        c.send(1, G.GREETING)
        c.send(0, b"".join(b"\x01 )(garbage %d\r\n" % i for i in range(20000)))
        c.close()
        p.close()
        for fmt in ("json", "text"):
            p = subprocess.run(["bash", "-c", 'set -o pipefail; "$0" -r "$1" -T "$2" --max-alerts-per-kind 0 '
                                '| head -1 >/dev/null', PROG, big, fmt], capture_output=True, timeout=60)
            report(p.returncode == 0 and p.stderr == b"", "epipe-quiet-" + fmt,
                   "exit %d, stderr %r" % (p.returncode, p.stderr[:200]))


def test_no_1970():
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.pcap")
        G.Pcap(empty).close()                      # a header, no packet
        udp = os.path.join(d, "udp.pcap")
        p = G.Pcap(udp)                            # packets, none of them IMAP
        p.add(G.eth(G.ipv4(G.CLI, G.SRV, 17, b"\0\x35\0\x35\0\x0c\0\0data")))
        p.close()
        now = datetime.datetime.now(datetime.timezone.utc)
        for cap, name, want in ((empty, "empty", "wall"), (udp, "no-imap", "packet")):
            ev = events(run(["-r", cap, "-T", "json"]).stdout)
            st = [e for e in ev if e["event_type"] == "stats"]
            ts = st[0]["timestamp"] if st else ""
            t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc) if ts else None
            if want == "wall":
                ok = t is not None and abs((t - now).total_seconds()) < 120
            else:
                ok = ts.startswith("2023-11-14T22:13:20")  # the packet's time (gen_attack's clock)
            report(ok, "stats-time-" + name, "timestamp %r" % ts)
            txt = run(["-r", cap]).stdout.decode()
            stats_line = [x for x in txt.splitlines() if "### stats" in x]
            ok = bool(stats_line) and not stats_line[0].startswith("00:00:00.000000") if want == "wall" else bool(stats_line)
            report(ok, "stats-time-text-" + name, "line %r" % (stats_line[:1],))


def test_alert_cap():
    """Repeated alerts of one kind on one connection: an informational one
    (severity 3: malformed lines) is written once, the rest counted; others
    (nul_byte, severity 2) the first --max-alerts-per-kind, then one
    alerts_suppressed naming the kind, the rest counted.  2 MB of garbage
    never turns into an alert per line."""
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "garbage.pcap")
        p = G.Pcap(cap)
        c = G.Conv(p)
        c.send(1, G.GREETING)
        c.send(0, b"".join(b"\x01 )(garbage %d\r\n" % i for i in range(3000)))
        c.send(1, b"".join(b"* garbage ))( %d\r\n" % i for i in range(2000)))
        c.close()
        p.close()
        pr = run(["-r", cap, "-T", "json"])
        ev = events(pr.stdout)
        names = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
        sess = [e["imap_session"] for e in ev if e["event_type"] == "imap_session"]
        an = {a["name"]: a for a in sess[0]["anomalies"]} if sess else {}
        ok = (names.count("malformed_command") == 1 and names.count("malformed_response") == 1
              and an.get("malformed_command", {}).get("count") == 3000
              and an.get("malformed_command", {}).get("suppressed") == 2999
              and an.get("malformed_response", {}).get("count") == 2000
              and "alerts_suppressed" not in names and len(pr.stdout) < 64 * 1024)
        report(ok, "alert-informational-once", "alerts %d/%d, anomalies %r, %d bytes" % (
            names.count("malformed_command"), names.count("malformed_response"), an, len(pr.stdout)))

        cap = os.path.join(d, "nul.pcap")
        p = G.Pcap(cap)
        c = G.Conv(p)
        c.send(1, G.GREETING)
        for i in range(3000):
            c.send(0, b"a%d NOOP\x00x\r\n" % i)
            c.send(1, b"a%d OK done\r\n" % i)
        c.close()
        p.close()
        for n, args in ((10, []), (3, ["--max-alerts-per-kind", "3"])):
            pr = run(["-r", cap, "-T", "json"] + args)
            ev = events(pr.stdout)
            names = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
            sess = [e["imap_session"] for e in ev if e["event_type"] == "imap_session"]
            an = {a["name"]: a for a in sess[0]["anomalies"]} if sess else {}
            supp = [e["alert"] for e in ev if e["event_type"] == "alert" and e["alert"]["name"] == "alerts_suppressed"]
            ok = (names.count("nul_byte") == n
                  and an.get("nul_byte", {}).get("count") == 3000
                  and an.get("nul_byte", {}).get("suppressed") == 3000 - n
                  and [a["suppressed_name"] for a in supp] == ["nul_byte"]
                  and all(a.get("severity") == 3 and a.get("signature_id") == 2304001 for a in supp))
            report(ok, "alert-cap-%d" % n, "alerts %d, anomalies %r, suppressed %r" % (
                names.count("nul_byte"), an.get("nul_byte"), supp))
        ev = events(run(["-r", cap, "-T", "json", "--max-alerts-per-kind", "0"]).stdout)
        names = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
        report(names.count("nul_byte") == 3000 and "alerts_suppressed" not in names,
               "alert-cap-0-is-no-cap", "%d alerts" % names.count("nul_byte"))


def test_tls_port():
    """IMAPS moved from 993 to 10993: --tls-port 10993 alone decodes it."""
    src = os.path.join(ROOT, "captures", "imaplib-imaps-tls13.pcap")
    keys = os.path.join(ROOT, "captures", "imaplib-imaps-tls13.keys")
    with tempfile.TemporaryDirectory() as d:
        cap = os.path.join(d, "imaps-10993.pcap")
        n = rewrite_ports.rewrite(src, cap, 993, 10993)

        def cmds(path, args):
            ev = events(run(["-r", path, "-T", "json", "--keylog", keys] + args).stdout)
            sess = [e["imap_session"] for e in ev if e["event_type"] == "imap_session"]
            return ([(e["imap"]["command"], e["imap"]["status"]) for e in ev if e["event_type"] == "imap"],
                    sess[0]["tls"] if sess else {}, [e["dest_port"] for e in ev if e["event_type"] == "imap_session"])
        want, _, _ = cmds(src, [])
        got, tls, ports = cmds(cap, ["--tls-port", "10993"])
        ok = (n > 0 and len(want) >= 5 and got == want and tls.get("mode") == "implicit"
              and tls.get("decrypted_client_bytes", 0) > 0 and tls.get("decrypted_server_bytes", 0) > 0
              and ports == [10993])
        report(ok, "tls-port-alone", "%d frames moved; commands %r (want %r), tls %r, ports %r" % (
            n, got[:4], want[:4], tls, ports))


def test_subject_decoded():
    """RFC 2047 subjects and sender names of an ENVELOPE, decoded in the text
    trace after the FETCH line (the JSON has them decoded in "subject" and
    "name")."""
    txt = run(["-r", CAP]).stdout.decode()
    fetch = [x for x in txt.splitlines() if " S * " in x and "FETCH" in x and "=?UTF-8?" in x]
    ok = bool(fetch) and fetch[0].endswith('[subject "Grüße aus München", from "Jörg Müller"]')
    report(ok, "text-subject-rfc2047", "line %r" % (fetch[0][-160:] if fetch else None))
    # a subject and names the line shows as they are get no decoded copy
    plain = [x for x in txt.splitlines() if " S * " in x and "FETCH" in x and '"Meeting tomorrow"' in x]
    report(bool(plain) and "[subject" not in plain[0] and "from \"" not in plain[0],
           "text-subject-plain-not-repeated", "line %r" % (plain[0][-160:] if plain else None))


def test_keylog_hint():
    """Opaque TLS: one hint per run in the text trace, whatever the number of
    connections (and threads); none when everything was decrypted."""
    src = os.path.join(ROOT, "captures", "imaplib-imaps-tls13.pcap")
    keys = os.path.join(ROOT, "captures", "imaplib-imaps-tls13.keys")
    other_keys = os.path.join(ROOT, "captures", "curl-imaps-tls13.keys")
    with tempfile.TemporaryDirectory() as d:
        moved = os.path.join(d, "moved.pcap")
        rewrite_ports.rewrite(src, moved, 993, 995)
        both = os.path.join(d, "two-imaps.pcap")
        with open(src, "rb") as a, open(moved, "rb") as b, open(both, "wb") as out:
            out.write(a.read())
            out.write(b.read()[24:])  # the second file's records after the first's
        base = ["-r", both, "--tls-port", "993", "--tls-port", "995"]
        for name, args, want in (("no-keylog", [], "use --keylog FILE (SSLKEYLOGFILE) to see inside"),
                                 ("no-keylog-threads", ["--threads", "2"], "use --keylog FILE"),
                                 ("wrong-keylog", ["--keylog", other_keys], "the --keylog file has no secrets"),
                                 ("decrypted", ["--keylog", keys], None)):
            lines = run(base + args).stdout.decode().splitlines()
            hints = [x for x in lines if "hint: TLS not decrypted" in x]
            ends = [x for x in lines if " end: " in x]
            if want:
                ok = len(ends) == 2 and all("opaque" in x for x in ends) and len(hints) == 1 and want in hints[0]
            else:
                ok = len(ends) == 2 and all("decrypted" in x for x in ends) and not hints
            report(ok, "keylog-hint-" + name, "ends %r hints %r" % (ends, hints))
        ev = run(base + ["-T", "json"]).stdout.decode()
        report("hint" not in ev, "keylog-hint-not-in-json", "")


def test_readable_trace():
    """Flow numbers 1, 2, 3 ... in order of appearance (the JSON keeps its
    flow_id); long lines cut with the count of bytes not shown; the stats
    as an aligned table."""
    import re
    cap = os.path.join(ROOT, "captures", "imaplib-auth.pcap")
    # two runs compared by flow_id: the same key for both
    txt = run(["-r", cap, "--flow-id-seed", "5"]).stdout.decode().splitlines()
    seen = []
    for x in txt:
        m = re.search(r"(?:\[flow |--- flow |=== flow |!!! flow |~~~ flow )(\d+)", x)
        if m and int(m.group(1)) not in seen:
            seen.append(int(m.group(1)))
    ev = events(run(["-r", cap, "-T", "json", "--flow-id-seed", "5"]).stdout)
    ids = []
    for e in ev:
        if "flow_id" in e and e["flow_id"] not in ids:
            ids.append(e["flow_id"])
    heads = [x for x in txt if " --- flow " in x]
    named = [int(x.split(" flow_id ")[1]) if " flow_id " in x else int(x.split()[3]) for x in heads]
    ok = (len(seen) >= 3 and seen == list(range(1, len(seen) + 1)) and ids != seen
          and sorted(named) == sorted(ids))
    report(ok, "text-flow-numbers-sequential", "text %r json %r headers name %r" % (seen, ids, named))

    full = run(["-r", CAP, "--max-text-line", "0"]).stdout.decode().splitlines()
    cut = run(["-r", CAP]).stdout.decode().splitlines()
    longest = max(full, key=len)
    i = full.index(longest)
    m = re.search(r"\.\.\. \[\+(\d+) bytes\]$", cut[i])
    shown_prefix = cut[i][:m.start()] if m else ""
    # shown + not shown = the whole line (no escapes in this capture's lines)
    ok = (m is not None and len(longest) > 300 and longest.startswith(shown_prefix)
          and len(shown_prefix.encode()) + int(m.group(1)) == len(longest.encode())
          and not any("... [+" in x for x in full))
    report(ok, "text-long-line-cut", "cut %r" % (cut[i][-60:],))

    tail = cut[[k for k, x in enumerate(cut) if "### stats" in x][0]:]
    rows = [x for x in tail[1:] if x.startswith("                |   ")]
    cols = {len(x) - len(x[20:].split(" ", 1)[1].lstrip()) for x in rows}
    ok = tail[0].endswith("### stats") and len(rows) >= 6 and len(cols) == 1 and all(len(x) < 160 for x in rows)
    report(ok, "text-stats-table", "rows %r" % rows[:3])


test_write_errors()
test_readable_trace()
test_keylog_hint()
test_subject_decoded()
test_tls_port()
test_no_1970()
test_alert_cap()
sys.exit(1 if failures else 0)
