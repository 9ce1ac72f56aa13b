#!/usr/bin/env python3
"""Prove captures/mail-manifest.json against the pcaps, without imapscope.

usage: mailproof.py MANIFEST      prints PASS/FAIL lines, exits 1 on a FAIL

For each capture of the manifest, the application bytes of every TCP
connection are rebuilt independently of imapscope: plaintext by
lib/pcapflows.py (sequence-number reassembly; after COMPRESS DEFLATE the
rest inflated with zlib), TLS by tshark's `-z follow,tls,raw` with the key
log beside the pcap.  Every IMAP literal ({n}, {n+}, ~{n}) is cut out of
both directions, and each expected message is looked for:

  kind message      a literal (server side when fetched, client side when
                    appended) whose sha256 is the manifest's, exactly as
                    many times as the manifest lists it; partial: the
                    BODY[]<origin> pieces of that UID joined in order;
                    CATENATE: its TEXT literals, consecutive, joined
  kind header       a literal equal to the header section (header_sha256),
                    or for HEADER.FIELDS one of that UID holding the Message-ID

The bytes found are then read with python's email package: Message-ID,
Subject (decoded), From address and, for whole messages, every attachment's
filename and decoded sha256 must equal the manifest.
"""
import email
import email.policy
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapflows  # noqa: E402

LIT = re.compile(rb"~?\{(\d+)\+?\}\r\n")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def tls_streams(pcap, keys):
    ids = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True, check=True).stdout.split()
    out = []
    for sid in sorted({int(x) for x in ids}):
        txt = subprocess.run(["tshark", "-r", pcap, "-o", "tls.keylog_file:" + keys, "-q",
                              "-z", "follow,tls,raw,%d" % sid],
                             capture_output=True, text=True, check=True).stdout
        a, b = bytearray(), bytearray()
        body = txt.split("=" * 67)[1] if txt.count("=" * 67) >= 2 else ""
        for line in body.splitlines():
            if not line.strip() or ":" in line:
                continue  # "Follow: ...", "Node 0: ..." headers
            if line.startswith("\t"):
                b += bytes.fromhex(line.strip())
            else:
                a += bytes.fromhex(line.strip())
        # The client is the side that sends tagged commands (LOGOUT last).
        if re.search(rb"(?m)^\S+ LOGOUT\r$", bytes(a)):
            out.append((bytes(a), bytes(b)))
        else:
            out.append((bytes(b), bytes(a)))
    return out


def plain_streams(pcap):
    out = []
    for c in pcapflows.connections(pcap):
        cl, sv = c.stream(c.client), c.stream(c.server)
        out.append(pcapflows.inflate_after_compress(cl, sv))
    return out


def literals(stream):
    """[(context, data)]: every literal with the non-literal text of its
    response/command line before it (from the last CRLF outside literals)."""
    out, pos, ctx = [], 0, b""
    while True:
        m = LIT.search(stream, pos)
        if not m:
            return out
        between = stream[pos:m.start()]
        i = between.rfind(b"\r\n")
        ctx = between[i + 2:] if i >= 0 else ctx + between
        n = int(m.group(1))
        data = stream[m.end():m.end() + n]
        out.append((ctx, data))
        pos = m.end() + n


def read_headers(data, e):
    """Check Message-ID, Subject and From of bytes against entry e."""
    m = email.message_from_bytes(data, policy=email.policy.default)
    bad = []
    if m["Message-ID"] != e["message_id"]:
        bad.append("Message-ID %r" % m["Message-ID"])
    if str(m["Subject"]) != e["subject"]:
        bad.append("Subject %r" % str(m["Subject"]))
    frm = m["From"].addresses[0].addr_spec if m["From"] else None
    if frm != e["from"]:
        bad.append("From %r" % frm)
    if "received_count" in e and len(m.get_all("Received", [])) != e["received_count"]:
        bad.append("Received count %d" % len(m.get_all("Received", [])))
    for k, h in (("x_mailer", "X-Mailer"), ("user_agent", "User-Agent")):
        if k in e and m[h] != e[k]:
            bad.append("%s %r" % (h, m[h]))
    return m, bad


def attachments(m):
    found = []
    for part in m.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        fn = part.get_filename()
        if fn is not None or part.get_content_disposition() == "attachment":
            found.append((fn, sha256(part.get_payload(decode=True))))
    return sorted(found)


def prove_capture(cdir, name, cap):
    pcap = os.path.join(cdir, cap["pcap"])
    keys = os.path.join(cdir, cap["keys"]) if cap.get("keys") else None
    streams = tls_streams(pcap, keys) if keys else plain_streams(pcap)
    lits = {"fetched": [], "appended": []}
    for cl, sv in streams:
        lits["fetched"] += literals(sv)
        lits["appended"] += literals(cl)
    problems = []
    want_count = {}
    for e in cap["messages"]:
        if e["kind"] == "message" and not e.get("partial") and e["section"] != "CATENATE":
            k = (e["direction"], e["sha256"])
        elif "header_sha256" in e:
            k = (e["direction"], e["header_sha256"])
        else:
            continue
        want_count[k] = want_count.get(k, 0) + 1
    for (direction, h), n in want_count.items():
        got = sum(1 for _c, d in lits[direction] if sha256(d) == h)
        if got != n:
            problems.append("%s message/header sha256 %s..: %d literal(s) in the pcap, manifest %d"
                            % (direction, h[:12], got, n))
    for e in cap["messages"]:
        where = "%s uid %s %s" % (e["direction"], e["uid"], e["section"])
        L = lits[e["direction"]]
        data = None
        if e["kind"] == "message":
            if e.get("partial"):
                uid = re.compile(rb"\bUID %d\b" % e["uid"])
                pieces = []
                for c, d in L:
                    mo = re.search(rb"BODY\[\]<(\d+)>", c)
                    if mo and uid.search(c):
                        pieces.append((int(mo.group(1)), d))
                data = b"".join(d for _o, d in sorted(pieces))
                if len(pieces) != e.get("pieces", len(pieces)):
                    problems.append("%s: %d pieces, manifest %d" % (where, len(pieces), e["pieces"]))
            elif e["section"] == "CATENATE":
                shas = [sha256(d) for _c, d in L]
                for i in range(len(shas) - 1):
                    if shas[i:i + 2] == e["catenate_parts"]:
                        data = L[i][1] + L[i + 1][1]
                        break
            else:
                data = next((d for _c, d in L if sha256(d) == e["sha256"]), None)
            if data is None or sha256(data) != e["sha256"] or len(data) != e["size"]:
                problems.append("%s: message bytes not in the pcap" % where)
                continue
        elif "header_sha256" in e:
            data = next((d for _c, d in L if sha256(d) == e["header_sha256"]), None)
            if data is None:
                problems.append("%s: header bytes not in the pcap" % where)
                continue
        else:
            uid = re.compile(rb"\bUID %d\b" % e["uid"])
            data = next((d for c, d in L if uid.search(c) and b"HEADER.FIELDS" in c
                         and e["message_id"].encode() in d), None)
            if data is None:
                problems.append("%s: HEADER.FIELDS literal not in the pcap" % where)
                continue
        m, bad = read_headers(data, e)
        if e["kind"] == "message":
            want = sorted((a["filename"], a["sha256"]) for a in e["attachments"])
            if attachments(m) != want:
                bad.append("attachments %r, manifest %r" % (attachments(m), want))
        problems += ["%s: %s" % (where, b) for b in bad]
    return problems


def prove(manifest_path):
    """[(ok, name, detail)] per capture."""
    with open(manifest_path, encoding="utf-8") as f:
        man = json.load(f)
    cdir = os.path.dirname(os.path.abspath(manifest_path))
    res = []
    for name, cap in man["captures"].items():
        try:
            problems = prove_capture(cdir, name, cap)
        except (OSError, subprocess.CalledProcessError, ValueError) as ex:
            problems = ["%s" % ex]
        n = len(cap["messages"])
        res.append((not problems and n > 0, "mail-manifest-pcap-" + name,
                    "%d expected messages carried by the pcap" % n if not problems and n
                    else "; ".join(problems[:4]) or "no messages"))
    return res


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ok = True
    for good, name, detail in prove(sys.argv[1]):
        print("%s %s: %s" % ("PASS" if good else "FAIL", name, detail))
        ok &= good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
