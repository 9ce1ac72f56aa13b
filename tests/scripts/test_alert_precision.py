#!/usr/bin/env python3
"""Alert precision (issue 11 part 2): for each false-positive class a
generated capture that must NOT raise the alert, next to the true
positives that must.  Captures are written by this script (tests/attack/
gen_attack.py's packet writer) into a temporary directory."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "attack"))
import gen_attack as g  # noqa: E402

IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))


def counter(st, name):
    """The count of the stats counter name (stats.counters[]), None when absent."""
    return next((c["count"] for c in st.get("counters", []) if c["name"] == name), None)


class MidConv(g.Conv):
    """A connection whose handshake is not in the capture."""

    def __init__(self, pcap, cport=40000, sport=143, cli=g.CLI, srv=g.SRV):
        self.p, self.cport, self.sport, self.cli, self.srv = pcap, cport, sport, cli, srv
        self.cseq, self.sseq = 123456, 654321


def capture(path, convs):
    """convs: [(kwargs, [(dir, bytes)], midstream)] written one after the other."""
    p = g.Pcap(path)
    for kw, steps, mid in convs:
        c = (MidConv if mid else g.Conv)(p, **kw)
        for d, data in steps:
            c.send(d, data)
        c.close()
    p.close()


def run(path, *extra):
    out = subprocess.run([IMAPSCOPE, "-r", path, "-T", "json"] + list(extra),
                         capture_output=True, text=True, timeout=60)
    return [json.loads(l) for l in out.stdout.splitlines()]


def alerts(events, port=None):
    return [e["alert"] for e in events if e["event_type"] == "alert" and (port is None or e["src_port"] == port)]


def names(events, port=None):
    return [a["name"] for a in alerts(events, port)]


def imap(events):
    return [e["imap"] for e in events if e["event_type"] == "imap"]


def session(events, port=None):
    return [e["imap_session"] for e in events if e["event_type"] == "imap_session"
            and (port is None or e["src_port"] == port)]


C, S = 0, 1
CAPS_TLS = b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n"
CAPS_NOTLS = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"
LOGIN = [(C, b"a1 LOGIN alice secret\r\n"), (S, b"a1 OK done\r\n"),
         (C, b"a2 LOGOUT\r\n"), (S, b"* BYE bye\r\na2 OK done\r\n")]
RESULTS = []


def check(name, cond, why=""):
    RESULTS.append(cond)
    print("%s %s%s" % ("PASS" if cond else "FAIL", name, "" if cond else ": " + str(why)))


def case_stripped(tmp):
    # negative: the server never offers STARTTLS in this capture
    f = os.path.join(tmp, "notls.pcap")
    capture(f, [({}, [(S, CAPS_NOTLS)] + LOGIN, False)])
    n = names(run(f))
    check("stripped-not-offered-no-alert", "starttls_stripped" not in n and "cleartext_credentials" in n, n)
    # positive: STARTTLS answered NO
    f = os.path.join(tmp, "refused.pcap")
    capture(f, [({}, [(S, CAPS_TLS), (C, b"a0 STARTTLS\r\n"), (S, b"a0 NO not now\r\n")] + LOGIN, False)])
    n = names(run(f))
    check("stripped-refused-alert", "starttls_stripped" in n, n)
    # positive: mangled STARTTLS in the capability list (sslstrip-like)
    for tok in (b"XXXXXXXX", b"STARTTLZ", b"XSTARTTLS", b"STARTXXXX"):
        f = os.path.join(tmp, "mangled.pcap")
        capture(f, [({}, [(S, b"* OK [CAPABILITY IMAP4rev1 " + tok + b" AUTH=PLAIN] ready\r\n")] + LOGIN, False)])
        a = [x for x in alerts(run(f)) if x["name"] == "starttls_stripped"]
        check("stripped-mangled-%s-alert" % tok.decode(), len(a) == 1 and tok.decode() in a[0].get("detail", ""), a)
    # negative: offered, and the client did not use it (a client set to
    # "no encryption"): no evidence of a man in the middle
    f = os.path.join(tmp, "unused.pcap")
    capture(f, [({}, [(S, CAPS_TLS)] + LOGIN, False)])
    n = names(run(f))
    check("stripped-offered-unused-no-alert", "starttls_stripped" not in n and "cleartext_credentials" in n, n)
    # positive: STARTTLS sent and ignored (no answer), then a cleartext login
    f = os.path.join(tmp, "ignored.pcap")
    capture(f, [({}, [(S, CAPS_TLS), (C, b"a0 STARTTLS\r\n")] + LOGIN, False)])
    a = [x for x in alerts(run(f)) if x["name"] == "starttls_stripped"]
    check("stripped-starttls-ignored-alert", len(a) == 1 and "unanswered" in a[0]["detail"], a)
    # positive, cross-connection: another client of the same server was
    # offered STARTTLS (before, or later in the capture)
    other = ({"cport": 40001}, [(S, CAPS_TLS), (C, b"b1 LOGOUT\r\n"), (S, b"* BYE x\r\nb1 OK done\r\n")], False)
    victim = ({"cport": 40002}, [(S, CAPS_NOTLS)] + LOGIN, False)
    for order, convs in (("before", [other, victim]), ("after", [victim, other])):
        f = os.path.join(tmp, "cross-%s.pcap" % order)
        capture(f, convs)
        ev = run(f)
        a = [x for x in alerts(ev, 40002) if x["name"] == "starttls_stripped"]
        check("stripped-cross-connection-%s-alert" % order,
              len(a) == 1 and "other clients" in a[0].get("detail", "") and not names(ev, 40001),
              (a, names(ev, 40001)))
        # the worker threads share one table
        a = [x for x in alerts(run(f, "--threads", "2"), 40002) if x["name"] == "starttls_stripped"]
        check("stripped-cross-connection-%s-threads" % order, len(a) == 1, a)
    # negative, cross-connection: another server offering STARTTLS is no evidence
    other_srv = ({"cport": 40001, "srv": (10, 0, 0, 9)}, other[1], False)
    f = os.path.join(tmp, "cross-other-server.pcap")
    capture(f, [other_srv, victim])
    n = names(run(f))
    check("stripped-cross-other-server-no-alert", "starttls_stripped" not in n, n)


def case_midstream(tmp):
    # negative: the capture starts during an IDLE; the first server line is
    # the keep-alive, not a greeting
    f = os.path.join(tmp, "mid-idle.pcap")
    capture(f, [({}, [(S, b"* OK Still here\r\n"), (C, b"DONE\r\n"), (S, b"a4 OK Idle completed.\r\n"),
                      (C, b"a5 UID FETCH 1:* (FLAGS)\r\n"), (S, b"* 1 FETCH (UID 7 FLAGS (\\Seen))\r\na5 OK done\r\n"),
                      (C, b"a6 LOGOUT\r\n"), (S, b"* BYE bye\r\na6 OK done\r\n")], True)])
    ev = run(f)
    n = names(ev)
    ss = session(ev)
    check("midstream-keepalive-no-alert", not n and len(ss) == 1 and ss[0].get("midstream") is True
          and ss[0].get("greeting") is None, (n, ss and {k: ss[0].get(k) for k in ("midstream", "greeting", "state")}))
    orphan = [t for t in imap(ev) if t.get("tag") == "a4"]
    # an orphan (its command not seen): no command, so no latency (the
    # command's time is timestamp - latency_us)
    check("orphan-ts-request-null", len(orphan) == 1 and orphan[0]["command"] is None
          and "latency_us" not in orphan[0] and "ts_request_us" not in orphan[0], orphan)
    # positive: a real greeting at the start of a capture without the handshake stays a greeting
    f = os.path.join(tmp, "mid-greeting.pcap")
    capture(f, [({}, [(S, b"* OK IMAP4rev1 server ready\r\n"), (C, b"a1 SELECT INBOX\r\n"),
                      (S, b"a1 NO not authenticated\r\n")], True)])
    ev = run(f)
    ss = session(ev)
    check("midstream-real-greeting-kept", len(ss) == 1 and (ss[0].get("greeting") or {}).get("status") == "OK"
          and "command_invalid_in_state" in names(ev), (names(ev), ss and ss[0].get("greeting")))
    # TLS seen mid-stream: informational tls_midstream, no tls_handshake_not_seen
    f = os.path.join(tmp, "mid-tls.pcap")
    rec = b"\x17\x03\x03\x00\x20" + bytes(range(32))
    capture(f, [({"sport": 993}, [(C, rec), (S, rec + rec), (C, rec)], True)])
    ev = run(f)
    a = alerts(ev)
    check("midstream-tls-informational", [x["name"] for x in a] == ["tls_midstream"] and a[0]["severity"] == 3, a)
    f = os.path.join(tmp, "tls-nohs.pcap")
    capture(f, [({"sport": 993}, [(C, rec), (S, rec + rec), (C, rec)], False)])
    n = names(run(f))
    check("tls-handshake-not-seen-with-tcp-handshake", n == ["tls_handshake_not_seen"], n)


def case_decode(tmp):
    # the transactions of commands in the selected state name the mailbox
    f = os.path.join(tmp, "selected.pcap")
    capture(f, [({}, [(S, CAPS_NOTLS), (C, b"a1 LOGIN alice secret\r\n"), (S, b"a1 OK done\r\n"),
                      (C, b"a2 SELECT Archive\r\n"), (S, b"* 3 EXISTS\r\na2 OK [READ-WRITE] done\r\n"),
                      (C, b"a3 FETCH 1 (FLAGS)\r\n"), (S, b"* 1 FETCH (FLAGS ())\r\na3 OK done\r\n"),
                      (C, b"a4 COPY 1 Trash\r\n"), (S, b"a4 OK done\r\n"),
                      (C, b"a5 CLOSE\r\n"), (S, b"a5 OK done\r\n"),
                      (C, b"a6 LIST \"\" *\r\n"), (S, b"a6 OK done\r\n")], False)])
    t = {x["tag"]: x for x in imap(run(f))}
    check("selected-mailbox-on-fetch", t["a3"].get("mailbox") == "Archive", t["a3"])
    check("selected-mailbox-on-copy", t["a4"].get("mailbox") == "Trash" and t["a4"].get("selected_mailbox") == "Archive",
          t["a4"])
    # RFC 5255 LANGUAGE / COMPARATOR and RFC 5259 CONVERSIONS: known commands, decoded
    f = os.path.join(tmp, "i18n.pcap")
    capture(f, [({}, [(S, b"* OK [CAPABILITY IMAP4rev1 LANGUAGE I18NLEVEL=2 CONVERT STARTTLS] ready\r\n"),
                      (C, b"a0 LANGUAGE DE\r\n"), (S, b"* LANGUAGE (DE)\r\na0 OK Sprache DE\r\n"),
                      (C, b"a1 STARTTLS\r\n"), (S, b"a1 NO later\r\n"),
                      (C, b"a2 COMPARATOR \"i;unicode-casemap\" \"i;octet\"\r\n"),
                      (S, b"* COMPARATOR \"i;unicode-casemap\" (\"i;unicode-casemap\" \"i;octet\")\r\na2 BAD state\r\n"),
                      (C, b"a3 UNAUTHENTICATE\r\n"), (S, b"a3 BAD state\r\n")], False)])
    ev = run(f)
    u = {x["tag"]: x for x in imap(ev)}
    n = names(ev)
    check("i18n-commands-known", "unknown_command" not in n and "malformed_response" not in n, n)
    check("i18n-decoded", u["a0"].get("languages") == ["DE"] and u["a2"].get("comparators") == ["i;unicode-casemap", "i;octet"]
          and u["a2"]["responses"][0].get("matching") == ["i;unicode-casemap", "i;octet"], (u["a0"], u["a2"]))
    check("no-mailbox-after-close", "mailbox" not in t["a6"] and "mailbox" not in t["a1"], (t["a6"], t["a1"]))


def case_broken_lines(tmp):
    pre = [(S, CAPS_NOTLS), (C, b"a1 LOGIN alice secret\r\n"), (S, b"a1 OK done\r\n"),
           (C, b"a2 SELECT INBOX\r\n"), (S, b"a2 OK [READ-WRITE] done\r\n")]
    # a miscounted literal leaves ")" on a line of its own
    f = os.path.join(tmp, "paren.pcap")
    capture(f, [({}, pre + [(C, b"a3 FETCH 1 (BODY[HEADER])\r\n"),
                            (S, b"* 1 FETCH (BODY[HEADER] {5}\r\nSubj:\r\n)\r\na3 OK done\r\n")], False)])
    ev = run(f)
    bad = [n for n in names(ev) if n != "cleartext_credentials"]
    tags = [t["tag"] for t in imap(ev)]
    check("broken-line-one-alert", bad == ["malformed_response"], bad)
    check("broken-line-no-transaction", tags == ["a1", "a2", "a3"], tags)
    # Exchange: the COPYUID code on a line of its own
    f = os.path.join(tmp, "copyuid.pcap")
    capture(f, [({}, pre + [(C, b"a3 UID COPY 7 Trash\r\n"),
                            (S, b"[COPYUID 38505 7 3956] COPY completed.\r\na3 OK COPY completed.\r\n")], False)])
    ev = run(f)
    bad = [n for n in names(ev) if n != "cleartext_credentials"]
    t = [x for x in imap(ev) if x["tag"] == "a3"]
    code = (((t or [{}])[0].get("responses") or [{}])[0]).get("code") or {}
    check("bare-copyuid-one-alert", bad == ["malformed_response"] and [x["tag"] for x in imap(ev)] == ["a1", "a2", "a3"],
          (bad, [x["tag"] for x in imap(ev)]))
    check("bare-copyuid-decoded", code.get("code") == "COPYUID" and code.get("uidvalidity") == 38505, t)


def case_repeated(tmp):
    # a server with one formatting defect on every FETCH line (here an empty
    # line after each, as a Domino-style server does): one alert for the
    # connection and kind, the count in the session summary
    lines = b"".join(b"* %d FETCH (UID %d FLAGS (\\Seen))\r\n\r\n" % (i, 100 + i) for i in range(1, 6))
    f = os.path.join(tmp, "repeat.pcap")
    capture(f, [({}, [(S, b"* OK Domino IMAP4 Server ready\r\n"), (C, b"a1 LOGIN a b\r\n"), (S, b"a1 OK done\r\n"),
                      (C, b"a2 SELECT INBOX\r\n"), (S, b"a2 OK [READ-WRITE] done\r\n"),
                      (C, b"a3 UID FETCH 1:* (UID FLAGS)\r\n"), (S, lines + b"a3 OK FETCH completed\r\n")], False)])
    ev = run(f)
    n = [x for x in names(ev) if x == "malformed_response"]
    counts = {a["name"]: a["count"] for a in session(ev)[0]["anomalies"]}
    st = [e["stats"] for e in ev if e["event_type"] == "stats"][0]
    check("repeated-informational-one-alert", n == ["malformed_response"] and counts.get("malformed_response") == 5
          and counter(st, "events.alerts_suppressed") == 4, (n, counts, counter(st, "events.alerts_suppressed")))
    # severity 1 alerts are never folded: two cleartext logins, two alerts
    f = os.path.join(tmp, "two-logins.pcap")
    capture(f, [({}, [(S, CAPS_NOTLS), (C, b"a1 LOGIN a b\r\n"), (S, b"a1 NO bad\r\n"),
                      (C, b"a2 LOGIN a c\r\n"), (S, b"a2 OK done\r\n")], False)])
    n = [x for x in names(run(f)) if x == "cleartext_credentials"]
    check("repeated-high-severity-kept", len(n) == 2, n)


def case_docs(tmp):
    """docs/output.md lists every signature of the two tables with its
    severity, and names every field the real output has (the golden JSON of
    every capture) in the session, alert, tls and stats events."""
    import glob
    import re
    doc = open(os.path.join(ROOT, "docs", "output.md"), encoding="utf-8").read()
    rows = []
    h = open(os.path.join(ROOT, "dissector", "imap_anomaly.h")).read()
    rows += [(m.group(1), m.group(2), m.group(3))
             for m in re.finditer(r'X\(\w+, "([a-z0-9_]+)", (\d), (\d+), ', h)]
    a = open(os.path.join(ROOT, "src", "alert_sig.h")).read()
    rows += [(m.group(1), m.group(2), m.group(3)) for m in re.finditer(r'X\("([a-z0-9_]+)", (\d), (\d+)\)', a)]
    missing = [r for r in rows if "| %s | `%s` | %s |" % (r[2], r[0], r[1]) not in doc]
    check("docs-signature-table", len(rows) > 60 and not missing, missing)
    keys = {}
    for f in glob.glob(os.path.join(ROOT, "tests", "golden", "*.json")):
        for line in open(f, encoding="utf-8"):
            e = json.loads(line)
            t = e["event_type"]
            if t == "imap":
                continue
            for k, v in e[t].items():
                keys.setdefault(t, set()).add(k)
                if t == "imap_session" and k == "tls":
                    keys.setdefault("imap_session.tls", set()).update(v)
    undocumented = sorted("%s.%s" % (t, k) for t, ks in keys.items() for k in ks if "`%s`" % k not in doc)
    check("docs-every-field", not undocumented, undocumented)


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            case(tmp)
    return 0 if all(RESULTS) else 1


CASES = [case_stripped, case_midstream, case_decode, case_broken_lines, case_repeated, case_docs]

if __name__ == "__main__":
    sys.exit(main())
