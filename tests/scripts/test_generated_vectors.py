#!/usr/bin/env python3
"""The generated IMAP vectors (tests/data/vectors/generated-imap): imapscope
decrypts them with their key logs, inflates COMPRESS, and the transactions
it reports (tag, command, status) equal the IMAP lines in each
<name>.expected.txt, in order; each security case raises its named alert.
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
VEC = os.path.join(SHARED, "vectors", "generated-imap")
PORTS = ["143", "11143", "11144", "11145", "11151", "11152", "11153", "11154", "11155", "11156"]

# What each case must raise (SPECS.md section 6), and must not.
ALERTS = {
    "cmd-injection": {"starttls_command_injection"},
    "resp-injection": {"starttls_response_injection"},
    "untagged-before-starttls-ok": {"starttls_untagged_before_ok"},
    "preauth-plaintext": {"preauth_cleartext"},
    "starttls-stripped": {"starttls_stripped", "cleartext_credentials"},
}


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n")


def expected_lines(path):
    """[(phase, direction, line)] in stream order: phase "clear" before
    TLS, "tls" for decrypted (and inflated) text."""
    text = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) == 3 and f[1] in ("C", "S"):        # cleartext segment
            ph, d, data = "clear", f[1], f[2]
        elif len(f) == 2 and f[0] in ("C", "S"):      # decrypted record
            ph, d, data = "tls", f[0], f[1]
        elif len(f) == 2 and f[0] in ("inflated_C", "inflated_S"):
            ph, d, data = "inflated", f[0][-1], f[1]
        else:
            continue
        if data.startswith("<"):
            continue                                  # TLS records, binary
        text[(ph, d)] = text.get((ph, d), "") + unescape(data)
    return {k: [l for l in t.split("\r\n") if l] for k, t in text.items()}


def expected_transactions(lines):
    """(tag, command, status) of every command.  Each phase is matched on
    its own: a command sent in clear after STARTTLS (injected) has no
    answer in clear, and the connection's state starts again under TLS."""
    result = []
    for phases in (("clear",), ("tls", "inflated")):
        cmds, resps = [], []
        for ph in phases:
            for l in lines.get((ph, "C"), []):
                p = l.split(" ", 2)
                if len(p) >= 2 and p[0] not in ("+", "*"):
                    cmds.append([p[0], p[1].upper(), None])
            for l in lines.get((ph, "S"), []):
                p = l.split(" ", 2)
                if len(p) >= 2 and p[0] not in ("*", "+") and p[1] in ("OK", "NO", "BAD"):
                    resps.append((p[0], p[1]))
        for tag, st in resps:
            for c in cmds:
                if c[0] == tag and c[2] is None:
                    c[2] = st
                    break
        result += [tuple(c) for c in cmds]
    return sorted(result, key=lambda t: (t[0], t[1], t[2] or ""))


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    ok = True
    for pcap in sorted(glob.glob(os.path.join(VEC, "*.pcap"))):
        name = os.path.basename(pcap)[:-5]
        args = [IMAPSCOPE, "-r", pcap, "-T", "json"]
        for p in PORTS:
            args += ["--server-port", p]
        keys = pcap[:-5] + ".keys"
        if os.path.exists(keys):
            args += ["--keylog", keys]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60).stdout
        events = [json.loads(l) for l in out.splitlines()]
        got = sorted(((e["imap"].get("tag"), e["imap"].get("command"), e["imap"].get("status"))
                      for e in events if e["event_type"] == "imap"),
                     key=lambda t: (t[0] or "", t[1] or "", t[2] or ""))
        want = expected_transactions(expected_lines(pcap[:-5] + ".expected.txt"))
        problems = []
        if got != want:
            problems.append("transactions %s, expected %s" % (got, want))
        alerts = {e["alert"]["name"] for e in events if e["event_type"] == "alert"}
        missing = ALERTS.get(name, set()) - alerts
        if missing:
            problems.append("alerts missing: %s (got %s)" % (sorted(missing), sorted(alerts)))
        sess = [e["imap_session"] for e in events if e["event_type"] == "imap_session"]
        if len(sess) != 1:
            problems.append("%d imap_session events" % len(sess))
        else:
            s = sess[0]
            tls = s.get("tls", {})
            if os.path.exists(keys) and not tls.get("decrypted_client_bytes", 0) + tls.get("decrypted_server_bytes", 0):
                problems.append("TLS not decrypted")
            if "compress" in name and s.get("compress") != "OK":
                problems.append("COMPRESS not seen")
            # the session counts anomalies by name; each kind's alert says its layer
            bad = sorted({e["alert"]["name"] for e in events if e["event_type"] == "alert"
                          and e["alert"].get("category") in ("tcp", "tls", "deflate")})
            if bad:
                problems.append("lower-layer anomalies: %s" % bad)
        if problems:
            ok = False
            print("FAIL vector-%s: %s" % (name, "; ".join(problems)))
        else:
            print("PASS vector-%s (%d transactions)" % (name, len(got)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
