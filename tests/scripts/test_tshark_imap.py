#!/usr/bin/env python3
"""Oracle test against tshark's IMAP dissector (DESIGN.md "Oracle tests",
issues 3 and 4): for every capture (TLS ones decrypted by both tools from
the capture's key log: tshark -o tls.keylog_file, imapscope --keylog), the commands (tag, command) and
tagged responses (tag, status) tshark sees equal ours, except where tshark
is known to misread; each such case is named here:

  - literal_data: tshark 4.0 takes every line inside a literal (a message
    body of APPEND or FETCH) for a command line;
  - sasl_response: the base64 lines a client sends during AUTHENTICATE are
    not commands;
  - idle_done: DONE ends IDLE and is not a command;
  - not_dissected: tshark does not inflate COMPRESS=DEFLATE, so it sees
    nothing of the commands after COMPRESS;
  - response_missed_by_tshark: a tagged response on the line after a
    literal, which tshark took for part of the literal's line.

Anything else that differs fails.  SKIP when tshark is not installed.
"""
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))

COMMANDS = set("""APPEND AUTHENTICATE CAPABILITY CHECK CLOSE COMPARATOR COMPRESS CONVERSIONS COPY CREATE
DELETE DELETEACL ENABLE EXAMINE EXPUNGE FETCH GETACL GETMETADATA GETQUOTA GETQUOTAROOT ID IDLE LANGUAGE
LIST LISTRIGHTS LOGIN LOGOUT LSUB MOVE MYRIGHTS NAMESPACE NOOP NOTIFY RENAME SEARCH SELECT SETACL
SETMETADATA SETQUOTA SORT STARTTLS STATUS STORE SUBSCRIBE THREAD UID UNSELECT UNSUBSCRIBE URLFETCH
GENURLAUTH RESETKEY ESEARCH XLIST""".split())


def tshark_lines(pcap, keys=None):
    """tshark's reading, line by line (PDML keeps every line of a packet):
    requests [(tag, COMMAND)] and tagged responses [(tag, STATUS)]."""
    tls = ["-o", "tls.keylog_file:" + keys] if keys else []
    proc = subprocess.Popen(["tshark", "-r", pcap] + tls + ["-Y", "imap", "-T", "pdml"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reqs, resps = [], []
    for _, el in ET.iterparse(proc.stdout, events=("end",)):
        if el.tag != "field" or el.get("name") != "imap.line":
            if el.tag == "packet":
                el.clear()
            continue
        f = {c.get("name"): c.get("show") for c in el}
        if "imap.request_tag" in f:
            reqs.append((f["imap.request_tag"], (f.get("imap.request.command") or "").upper()))
        elif "imap.response_tag" in f:
            st = (f.get("imap.response.status") or "").upper()
            if f["imap.response_tag"] not in ("*", "+") and st in ("OK", "NO", "BAD"):
                resps.append((f["imap.response_tag"], st))
    proc.wait(timeout=300)
    return reqs, resps


def classify(tag, cmd):
    if tag.upper() == "DONE" and not cmd:
        return "idle_done"
    if re.fullmatch(r"[A-Za-z0-9+/=]{8,}", tag) and not cmd:
        return "sasl_response"
    if cmd not in COMMANDS:
        return "literal_data"
    return None


def main():
    if not shutil.which("tshark"):
        print("SKIP tshark-imap: tshark not installed")
        return 0
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    ok = True
    caps = sorted(glob.glob(os.path.join(ROOT, "captures", "*.pcap")) +
                  [p for p in glob.glob(os.path.join(SHARED, "captures", "public", "*")) if not p.endswith(".md")])
    for cap in caps:
        name = os.path.basename(cap)
        keys = os.path.splitext(cap)[0] + ".keys"
        keys = keys if os.path.exists(keys) else None
        out = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json"] + (["--keylog", keys] if keys else []),
                             capture_output=True, text=True, timeout=300).stdout
        ours_req, ours_resp = [], []
        compressed = False
        for l in out.splitlines():
            e = json.loads(l)
            if e["event_type"] == "imap_session" and e["imap_session"].get("compress") == "OK":
                compressed = True
            if e["event_type"] != "imap":
                continue
            i = e["imap"]
            cmd = (i.get("command") or "")
            if i.get("tag") is not None and cmd:
                ours_req.append((i["tag"], cmd.split(" ")[-1] if cmd.startswith("UID ") else cmd))
            if i.get("status"):
                ours_resp.append((i["tag"], i["status"]))
        t_req, t_resp = tshark_lines(cap, keys)
        # tshark names a UID command by its sub-command
        t_req = [(t, c) for t, c in t_req]
        cr, ct = collections.Counter(ours_req), collections.Counter(t_req)
        only_ours = cr - ct
        only_tshark = ct - cr
        named = collections.Counter()
        unexplained = []
        for (tag, cmd), n in only_tshark.items():
            why = classify(tag, cmd)
            if why:
                named[why] += n
            else:
                unexplained.append((tag, cmd))
        rr, rt = collections.Counter(ours_resp), collections.Counter(t_resp)
        resp_only_ours = rr - rt
        resp_only_tshark = rt - rr
        problems = []
        if only_ours:
            # tshark sees nothing of compressed or encrypted IMAP
            if not t_req or compressed:
                named["not_dissected"] += sum(only_ours.values())
            else:
                problems.append("commands only ours: %s" % sorted(only_ours)[:5])
        if unexplained:
            problems.append("commands only tshark: %s" % sorted(unexplained)[:5])
        our_tags = {t for t, _ in ours_req}
        for (tag, st), n in resp_only_tshark.items():
            if tag not in our_tags:
                named["literal_data"] += n   # a line inside or after a literal taken for a response
            else:
                problems.append("response only tshark: %s %s" % (tag, st))
        if resp_only_ours and t_resp:
            if compressed:
                named["not_dissected"] += sum(resp_only_ours.values())
            elif resp_only_tshark:
                named["response_missed_by_tshark"] += sum(resp_only_ours.values())
            else:
                problems.append("responses only ours: %s" % sorted(resp_only_ours)[:5])
        if problems:
            ok = False
            print("FAIL tshark-imap-%s: %s" % (name, "; ".join(problems)))
        else:
            extra = ", ".join("%s %d" % kv for kv in sorted(named.items()))
            print("PASS tshark-imap-%s (%d commands agree%s%s)" % (name, sum((cr & ct).values()),
                                                               ", decrypted" if keys else "",
                                                               "; tshark differs: " + extra if extra else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
