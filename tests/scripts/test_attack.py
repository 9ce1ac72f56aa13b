#!/usr/bin/env python3
"""test_attack.py - imapscope under attack and load (issue 5, item 3).

Generates hostile captures (tests/attack/gen_attack.py) in a temp dir, runs
imapscope on each with stated caps, and asserts for every case:
  - it exits normally (0, or 1/2 with one clear error line for a damaged
    file), never by a signal, within a time limit;
  - peak memory (ru_maxrss of the child, from wait4) stays under
    BASELINE + the case's allowance, where BASELINE is the peak of a run on
    a small clean capture and the allowance is derived from the caps;
  - the expected alerts / counters are reported, by name.
Also runs every capture in tests/data/captures/public/ (damaged ones too).
Prints "PASS name" / "FAIL name" lines and a table of peak memory; exit 1 on
any failure.  About 30 s in all.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", "build")
PROG = os.path.join(ROOT, BUILD, "imapscope")
if not os.path.exists(PROG):
    PROG = os.path.join(ROOT, "imapscope")
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
TIME = "/usr/bin/time"
SAN = "san" in BUILD          # sanitizer builds: memory figures are not comparable
KIB = 1024
MIB = 1024 * 1024
failures = 0
table = []


def report(ok, name, why=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why))
    if not ok:
        failures += 1


def run(args, out_path, timeout=60):
    """Runs imapscope; returns (rc, peak_rss_bytes, seconds, stderr).

    Peak memory is the child's ru_maxrss as GNU time reports it (%M): Linux
    carries the high-water mark across execve, so measuring a child forked
    straight from this (large) Python process would report Python's size."""
    t0 = time.time()
    rss_file = out_path + ".rss"
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        p = subprocess.Popen([TIME, "-q", "-f", "%M %x", "-o", rss_file, PROG] + args, stdout=out, stderr=err)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return -999, 0, time.time() - t0, "timeout"
    with open(out_path + ".err", "rb") as f:
        err = f.read().decode("utf-8", "replace")
    with open(rss_file) as f:
        words = f.read().split()
    # "Command terminated by signal N" when killed; else "<maxrss KiB> <exit>"
    if len(words) != 2 or not words[0].isdigit():
        return -1000, 0, time.time() - t0, err + " ".join(words)
    return int(words[1]), int(words[0]) * KIB, time.time() - t0, err


def counter(st, name):
    """The count of the stats counter name, None when absent."""
    return next((c["count"] for c in st.get("counters", []) if c["name"] == name), None)


def limit(st, name):
    """The stats limit name ({name, limit, used, ...}), {} when absent."""
    return next((x for x in st.get("limits", []) if x["name"] == name), {})


def events(path):
    alerts, evs, stats = {}, [], None
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            evs.append(e)
            if e["event_type"] == "alert":
                n = e["alert"]["name"]
                alerts[n] = alerts.get(n, 0) + 1
            elif e["event_type"] == "stats":
                stats = e["stats"]
    return alerts, evs, stats


def case(name, pcap, args, allowance, timeout=60, check=None, want_err=None):
    out = os.path.join(TMP, name + ".json")
    rc, rss, secs, err = run(["-T", "json", "-r", pcap] + args, out, timeout)
    table.append((name, rss, allowance, secs))
    if rc != 0:
        report(False, "attack_" + name, "exit %s (%s)" % (rc, err.strip()[:200]))
        return
    limit = BASELINE + allowance
    if not SAN and rss > limit:
        report(False, "attack_" + name, "peak memory %d KiB > %d KiB (baseline %d + allowance %d)"
               % (rss // KIB, limit // KIB, BASELINE // KIB, allowance // KIB))
        return
    alerts, evs, stats = events(out)
    why = check(alerts, evs, stats) if check else None
    if not why and want_err and want_err not in err:
        why = "stderr lacks %r: %r" % (want_err, err[:200])
    report(not why, "attack_" + name, why or "")


def need(alerts, *names):
    missing = [n for n in names if not alerts.get(n)]
    return "missing alert(s) %s (got %s)" % (missing, sorted(alerts)) if missing else None


def main():
    global TMP, BASELINE
    if not os.path.exists(PROG):
        print("SKIP attack: %s not built" % PROG)
        return 0
    if not os.path.exists(TIME):
        print("SKIP attack: %s (Debian package time) missing" % TIME)
        return 0
    TMP = tempfile.mkdtemp(prefix="imapscope-attack-")
    try:
        t0 = time.time()
        subprocess.check_call([sys.executable, os.path.join(ROOT, "tests", "attack", "gen_attack.py"), TMP])
        print("# generated in %.1f s" % (time.time() - t0))
        P = lambda n: os.path.join(TMP, n + ".pcap")

        rc, BASELINE, _s, err = run(["-T", "json", "-r", P("base")], os.path.join(TMP, "base.json"))
        report(rc == 0, "attack_baseline", err)
        table.append(("baseline (clean capture)", BASELINE, 0, _s))

        # 1. SYN flood: a million distinct flows, 20000 tracked at most.
        #    Allowance: 1 KiB per tracked flow (flow + two streams: ~750 B
        #    measured) + 4 MiB.
        def flood(alerts, evs, st):
            fl = limit(st, "flows.table")
            if counter(st, "flows.created") != 1000000 or fl["peak"] > 20000 or fl["evicted"] != 980000:
                return "flows.created %s, flows.table %s" % (counter(st, "flows.created"), fl)
            return None
        case("syn_flood_1M_flows", P("syn_flood"), ["--max-flows", "20000"], 20000 * KIB + 4 * MIB,
             timeout=60, check=flood)

        # 1b. 5000 IMAP connections left open, 1000 tracked: the oldest are
        #     evicted and reported (end_reason "evicted").  Allowance per
        #     tracked IMAP connection: what the dissector allocates up front
        #     (its value arena's first 64 KiB block, max_pending x ~320 B,
        #     two line buffers of max_line, 2 x 16 x literal_keep) + 8 KiB,
        #     plus 4 MiB.  Measured: ~71 KiB per connection.
        def iflood(alerts, evs, st):
            ends = {}
            for e in evs:
                if e["event_type"] == "imap_session":
                    r = e["imap_session"]["end_reason"]
                    ends[r] = ends.get(r, 0) + 1
            if ends != {"evicted": 4000, "end_of_input": 1000} or limit(st, "flows.table")["peak"] > 1000:
                return "end reasons %s, flows.table %s" % (ends, limit(st, "flows.table"))
            return None
        per_conn = 64 * KIB + 32 * 320 + 2 * 8192 + 32 * 256 + 8 * KIB
        case("imap_flood_5000_open", P("imap_flood"), ["--max-flows", "1000", "--max-line", "8192",
                                                       "--max-pending", "32", "--literal-keep", "256"],
             1000 * per_conn + 4 * MIB, check=iflood)

        # 1c. 2000 open IMAP connections, each in the middle of a 60 KB
        #     line: 2000 x 64 KiB of line buffers (~154 MiB measured without
        #     a budget) against a dissector budget of 8 MiB shared by all.
        #     The budget's peak may pass its limit by one pending command
        #     per session (1 KiB: tracked without its arguments when the
        #     budget is full).  Allowance: the budget + 2000 x (1 KiB over
        #     the limit + 24 KiB fixed per connection: flow, streams,
        #     session; ~15 KiB measured) + 4 MiB.
        def memcap(alerts, evs, st):
            w = need(alerts, "memcap")
            if w:
                return w
            im = limit(st, "imap.memory")
            if im.get("limit") != 8 * MIB or im.get("refused", 0) < 1000:
                return "imap.memory %s" % im
            if im["peak"] > 8 * MIB + 2000 * KIB or im["used"] != 0:
                return "imap.memory peak/used %s" % im
            sessions = sum(1 for e in evs if e["event_type"] == "imap_session")
            if sessions != 2000:
                return "%d sessions, expected 2000" % sessions
            return None
        case("imap_memcap_2000_long_lines", P("imap_long_lines"), ["--imap-memcap", str(8 * MIB)],
             8 * MIB + 2000 * (KIB + 24 * KIB) + 4 * MIB, check=memcap)

        # 2. A 4 GiB literal announced, 2 KB sent: nothing is reserved.
        def lit(alerts, evs, st):
            return need(alerts, "literal_too_large", "literal_incomplete")
        case("literal_4GiB", P("huge_literal"), ["--max-literal", "1048576", "--literal-keep", "1024"],
             2 * MIB, check=lit)

        # 3. One endless line (16 MiB): held at most max_line.
        def line(alerts, evs, st):
            return need(alerts, "line_too_long")
        case("endless_line_16MiB", P("endless_line"), ["--max-line", "65536"], 2 * 65536 + 4 * MIB,
             check=line)

        # 4. Deflate bomb after COMPRESS (~170 KB inflating to 160 MiB).
        def bomb(alerts, evs, st):
            return need(alerts, "deflate_bomb")
        case("deflate_bomb", P("deflate_bomb"), ["--max-line", "65536"], 2 * 65536 + 4 * MIB, check=bomb)

        # 5. 10,000 pending tags, 256 kept: the others abandoned, each counted
        #    (the first 10 alerts written, --max-alerts-per-kind, the rest
        #    counted in the session's anomalies).
        def tags(alerts, evs, st):
            n = alerts.get("too_many_pending", 0)
            an = [a for e in evs if e["event_type"] == "imap_session"
                  for a in e["imap_session"]["anomalies"] if a["name"] == "too_many_pending"]
            total = an[0]["count"] if an else 0
            if n != 10 or total != 10000 - 256 or an[0].get("suppressed") != total - 10 \
                    or alerts.get("alerts_suppressed") != 1:
                return "too_many_pending: %d alerts, %d counted, expected 10 and %d" % (n, total, 10000 - 256)
            txns = sum(1 for e in evs if e["event_type"] == "imap")
            if txns != 10000:
                return "%d transactions, expected 10000" % txns
            return None
        case("pending_tags_10000", P("pending_tags"), ["--max-pending", "256"], 256 * 4 * KIB + 4 * MIB,
             check=tags)

        # 5b. Out-of-order data held: per-flow cap 32 KiB, total 1 MiB, 200
        #     IMAP flows.  Allowance: the memcap, plus per IMAP session what
        #     the dissector allocates up front (measured: max_pending x ~262 B
        #     of pending slots, two line buffers of max_line, 2 x 16 x
        #     literal_keep) with 32 KiB of slack each, plus 4 MiB.
        def ooo(alerts, evs, st):
            w = need(alerts, "reasm_stream_cap", "reasm_memcap")
            if w:
                return w
            rm = limit(st, "reassembly.memory")
            if rm["peak"] > 524288 or rm["limit"] != 524288 or rm.get("refused", 0) < 1:
                return "reassembly.memory %s: peak above the memcap, or no refusal" % rm
            return None
        per_session = 256 * 320 + 2 * 4096 + 32 * 64 + 32 * KIB
        # (the memcap also covers the 2 KiB verify windows of the 200 open
        # connections: 512 KiB is reached by the held data plus those)
        case("out_of_order_held", P("ooo_hold"), ["--reasm-flow-cap", "32768", "--reasm-memcap", "524288",
                                                  "--max-line", "4096", "--literal-keep", "64", "--max-pending", "256"],
             1 * MIB + 200 * per_session + 4 * MIB, check=ooo)

        # 5c. TLS caps: a 16 MiB handshake message announced (1 MiB sent),
        #     a 65535-byte record; key log cap: 4.7 MB file, 64 KiB read.
        #     Allowance: the handshake cap (256 KiB) + record buffers + 4 MiB.
        def tlscap(alerts, evs, st):
            return need(alerts, "tls_handshake_too_long", "tls_record_too_long")
        case("tls_oversize_and_keylog_cap", P("tls_oversize"),
             ["--keylog", os.path.join(TMP, "big.keys"), "--key-log-max", "65536"],
             256 * KIB + 4 * 18 * KIB + 64 * KIB + 4 * MIB, check=tlscap,
             want_err="keylog_truncated")

        # 6. Overlapping segments with conflicting data: first copy wins.
        def overlap(alerts, evs, st):
            w = need(alerts, "overlap_mismatch")
            if w:
                return w
            users = [e["imap"].get("user") for e in evs if e["event_type"] == "imap" and e["imap"].get("command") == "LOGIN"]
            cmds = [e["imap"].get("command") for e in evs if e["event_type"] == "imap"]
            if users != ["alice"] or cmds != ["LOGIN", "NOOP"]:
                return "users %s commands %s" % (users, cmds)
            return None
        case("overlap_conflict", P("overlap_conflict"), ["--reasm-flow-cap", "65536"], 2 * MIB, check=overlap)

        # 7. Header fields at their extremes: each named, the session still decoded.
        def extremes(alerts, evs, st):
            dec = {c["name"][7:]: c["count"] for c in st["counters"] if c["name"].startswith("decode.")}
            want = ["vlan_too_deep", "mpls_too_deep", "tunnel_too_deep", "ipv4_bad_ihl",
                    "ip_total_length_too_long", "tcp_bad_data_offset", "frag_too_big",
                    "ipv6_payload_length_zero", "ipv4_total_length_zero", "tcp_option_bad_length",
                    "truncated_link_header"]
            missing = [w for w in want if not dec.get(w)]
            if missing:
                return "decode counters missing %s (got %s)" % (missing, dec)
            cmds = [e["imap"].get("command") for e in evs if e["event_type"] == "imap" and e["src_port"] == 65535]
            if "LOGOUT" not in cmds or "NOOP" not in cmds:
                return "session on port 65535 not decoded: %s" % cmds
            return None
        case("header_extremes", P("header_extremes"), [], 2 * MIB, check=extremes)

        # 8. Damaged captures: output or one clear error line, never a crash.
        bad = []
        worst = 0
        for f in sorted(glob.glob(os.path.join(TMP, "damaged", "*.pcap"))):
            rc, rss, secs, err = run(["-T", "json", "-r", f], os.path.join(TMP, "d.json"), timeout=20)
            worst = max(worst, rss)
            name = os.path.basename(f)
            lines = [l for l in err.splitlines() if l.strip()]
            with open(os.path.join(TMP, "d.json")) as fp:
                out = fp.read().splitlines()
            if rc not in (0, 1, 2):
                bad.append("%s: exit %s" % (name, rc))
            elif rc != 0 and (len(lines) != 1 or name not in lines[0]):
                bad.append("%s: exit %d without one error line naming the file: %r" % (name, rc, err[:200]))
            elif rc in (0, 2) and (not out or json.loads(out[-1])["event_type"] != "stats"):
                bad.append("%s: exit %d without a final stats event" % (name, rc))
            elif rc == 1 and out:
                bad.append("%s: setup error but output written" % name)
        n = len(glob.glob(os.path.join(TMP, "damaged", "*.pcap")))
        table.append(("damaged captures (%d files, worst)" % n, worst, 2 * MIB, 0))
        if not SAN and worst > BASELINE + 2 * MIB:
            bad.append("peak memory %d KiB" % (worst // KIB))
        report(not bad, "attack_damaged_captures", "; ".join(bad[:5]))

        # 9. Every public capture (damaged ones too): output or a clear error.
        bad = []
        pub = sorted(glob.glob(os.path.join(SHARED, "captures", "public", "*.*ap*")))
        for f in pub:
            for fmt in ("json", "text"):
                rc, rss, secs, err = run(["-T", fmt, "-r", f], os.path.join(TMP, "p.out"), timeout=30)
                if rc not in (0, 1, 2) or (rc != 0 and len([l for l in err.splitlines() if l.strip()]) != 1):
                    bad.append("%s -T %s: exit %s %r" % (os.path.basename(f), fmt, rc, err[:160]))
        report(pub and not bad, "attack_public_captures", "; ".join(bad[:5]) or "no captures found")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("# %-36s %12s %12s %8s" % ("case", "peak KiB", "allow KiB", "seconds"))
    for name, rss, allow, secs in table:
        print("# %-36s %12d %12d %8.2f" % (name, rss // KIB, (BASELINE + allow) // KIB if allow else rss // KIB, secs))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
