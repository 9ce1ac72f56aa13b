#!/usr/bin/env python3
"""Ground truth from the clients themselves (issue 3): every connection of
every capture made by captures/make-captures.sh with a python client has a
transcript of what the client sent and received (tag, command, status per
command).  imapscope's transactions for that connection must equal it, in
order, with TLS decrypted from the capture's key log and COMPRESS inflated;
and, where the client's byte streams are known, the bytes imapscope fed to
the dissector must add up to them."""
import base64
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
EXPECTED_ANOMALIES = {
    "imaplib-main": {"unknown_command"},          # "A0xx FROBNICATE", sent on purpose
    "veth-imaplib-main": {"unknown_command"},
}


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    ok = True
    for tpath in sorted(glob.glob(os.path.join(ROOT, "captures", "*.transcript.json"))):
        base = tpath[:-len(".transcript.json")]
        name = os.path.basename(base)
        pcap = base + ".pcap"
        args = [IMAPSCOPE, "-r", pcap, "-T", "json"]
        if os.path.exists(base + ".keys"):
            args += ["--keylog", base + ".keys"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
        events = [json.loads(l) for l in out.splitlines()]
        transcript = json.load(open(tpath))
        problems = []
        for conn in transcript["connections"]:
            port = conn["client_port"]
            got = [(e["imap"].get("tag"), e["imap"].get("command"), e["imap"].get("status"))
                   for e in events if e["event_type"] == "imap" and e["src_port"] == port]
            want = [(c["tag"], c["command"], c["status"]) for c in conn["commands"]]
            if got != want:
                first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                             min(len(got), len(want)))
                problems.append("port %d: %d transactions vs %d expected; first difference at %d: %s vs %s"
                                % (port, len(got), len(want), first,
                                   got[first] if first < len(got) else None,
                                   want[first] if first < len(want) else None))
            sess = [e for e in events if e["event_type"] == "imap_session" and e["src_port"] == port]
            if len(sess) != 1:
                problems.append("port %d: %d imap_session events" % (port, len(sess)))
                continue
            s = sess[0]["imap_session"]
            if conn["tls"] != "none":
                tls = s.get("tls", {})
                dec = tls.get("decrypted_client_bytes", 0) + tls.get("decrypted_server_bytes", 0)
                if tls.get("mode") != conn["tls"] or not dec:
                    problems.append("port %d: tls %s/%d bytes decrypted, expected %s decrypted"
                                    % (port, tls.get("mode"), dec, conn["tls"]))
            if conn.get("compress") and s.get("compress") != "OK":
                problems.append("port %d: COMPRESS not seen" % port)
            # the session counts anomalies by name; each kind's alert says its layer
            bad = sorted({e["alert"]["name"] for e in events if e["event_type"] == "alert"
                          and e["src_port"] == port and e["alert"].get("category") in ("tcp", "tls", "deflate")})
            if bad:
                problems.append("port %d: lower-layer anomalies %s" % (port, bad))
            # A clean capture raises no anomaly (STYLE.md): only the security
            # findings that really apply (a password sent without TLS), and
            # the unknown command the main scenario sends on purpose.
            allowed = {"cleartext_credentials"} | EXPECTED_ANOMALIES.get(name, set())
            noise = [a["name"] for a in s.get("anomalies", []) if a["name"] not in allowed]
            if noise:
                problems.append("port %d: anomalies on a clean capture: %s" % (port, noise))
            if conn["tls"] == "none" and not conn.get("compress"):
                cb = len(base64.b64decode(conn["client"]))
                sb = len(base64.b64decode(conn["server"]))
                if (s["client_bytes"], s["server_bytes"]) != (cb, sb):
                    problems.append("port %d: bytes %d/%d, transcript %d/%d"
                                    % (port, s["client_bytes"], s["server_bytes"], cb, sb))
        if problems:
            ok = False
            print("FAIL transcript-%s: %s" % (name, "; ".join(problems[:4])))
        else:
            n = sum(len(c["commands"]) for c in transcript["connections"])
            print("PASS transcript-%s (%d connections, %d commands)" % (name, len(transcript["connections"]), n))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
