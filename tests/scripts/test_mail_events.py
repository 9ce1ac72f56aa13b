#!/usr/bin/env python3
"""The "email" and "fileinfo" events (issue 13) against bytes known
independently of imapscope:

- the seeded maildir (captures/lib/seed_maildir.py writes the exact files
  dovecot serves): every fetched whole message whose Message-ID is seeded
  has the SHA-256 of its seeded file, every header fetch the SHA-256 of the
  seeded header block, and the attachment's decoded SHA-256 is the one of
  the seeded attachment (decoded here by Python's email package, not GMime);
- the literals of the plaintext captures, cut out of --streams-dir output by
  a small parser here: each email event is one literal, once, with its hash;
- the same messages inside implicit TLS, STARTTLS and COMPRESS (with keys);
- --extract-dir writes files named by the hash of their content, 0600;
- the session summary counts messages and bytes per mailbox;
- the text trace has one "@@@" line per message.

Prints PASS/FAIL lines.
"""
import email
import email.policy
import glob
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
CAPS = os.path.join(ROOT, "captures")
SEED = os.path.join(CAPS, "lib", "seed_maildir.py")

failed = False


def counter(st, name):
    """The count of the stats counter name (stats.counters[]), None when absent."""
    return next((c["count"] for c in st.get("counters", []) if c["name"] == name), None)


def check(ok, name, detail=""):
    global failed
    if ok:
        print("PASS", name)
    else:
        failed = True
        print("FAIL", name, detail)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def run(pcap, *extra):
    args = [IMAPSCOPE, "-r", pcap, "-T", "json"]
    keys = pcap[:-5] + ".keys"
    if os.path.exists(keys):
        args += ["--keylog", keys]
    p = subprocess.run(args + list(extra), capture_output=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (pcap, p.returncode, p.stderr.decode(errors="replace")))
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l]


def seeded():
    """{message_id: {"whole": set(sha), "header": set(sha)}}, {sha of seeded attachments}."""
    ids, atts = {}, set()
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, SEED, d], check=True)
        for path in glob.glob(os.path.join(d, "**", "*"), recursive=True):
            if not os.path.isfile(path) or os.path.basename(os.path.dirname(path)) not in ("cur", "new"):
                continue
            data = open(path, "rb").read()
            msg = email.message_from_bytes(data, policy=email.policy.default)
            mid = (msg.get("Message-ID") or "").strip()
            end = data.find(b"\r\n\r\n")
            e = ids.setdefault(mid, {"whole": set(), "header": set()})
            e["whole"].add(sha(data))
            e["header"].add(sha(data[:end + 4]))
            for part in msg.walk():
                if part.get_content_disposition() == "attachment":
                    atts.add(sha(part.get_payload(decode=True)))
    return ids, atts


LIT = re.compile(rb"(BODY\[\]|BODY\[HEADER\]|BODY\[HEADER\.FIELDS[^\]]*\]|RFC822\.HEADER|RFC822|BINARY\[\])"
                 rb"(<\d+>)? ~?\{(\d+)\}\r\n")
APPEND = re.compile(rb"APPEND [^\r\n]*?\{(\d+)\+?\}\r\n", re.I)


def stream_literals(d, flow):
    """sha256s of the message literals in DIR/<flow>.server (FETCH) and
    .client (APPEND): cut out here, by the literal's announced size."""
    fetched, appended = [], []
    s = open(os.path.join(d, "%d.server" % flow), "rb").read()
    i = 0
    while True:
        m = LIT.search(s, i)
        if not m:
            break
        n = int(m.group(3))
        start = m.end()
        # partial fetches are joined: not one literal; a header-only
        # fetch gives an email event without sha256 (it is not the message)
        if not m.group(2) and b"HEADER" not in m.group(1):
            fetched.append(sha(s[start:start + n]))
        i = start + n
    c = open(os.path.join(d, "%d.client" % flow), "rb").read()
    i = 0
    while True:
        m = APPEND.search(c, i)
        if not m:
            break
        n = int(m.group(1))
        appended.append(sha(c[m.end():m.end() + n]))
        i = m.end() + n
    return sorted(fetched), sorted(appended)


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL setup imapscope not built:", IMAPSCOPE)
        return 1
    ids, atts = seeded()
    check(len(ids) >= 10 and len(atts) == 1, "seed-maildir-read", "%d ids %d attachments" % (len(ids), len(atts)))

    # 1. plaintext captures: every email event is one literal of the stream, once
    for cap in ("fetchmail-plain", "imaplib-main", "curl-imap", "imaplib-idle"):
        pcap = os.path.join(CAPS, cap + ".pcap")
        with tempfile.TemporaryDirectory() as d:
            sd = os.path.join(d, "s")
            evs = run(pcap, "--streams-dir", sd)
            flows = {e["flow_id"] for e in evs if e["event_type"] == "imap_session"}
            want_f, want_a = [], []
            for fl in flows:
                f, a = stream_literals(sd, fl)
                want_f += f
                want_a += a
        got_f = sorted(e["email"]["sha256"] for e in evs if e["event_type"] == "email"
                       and e["email"]["direction"] == "fetched" and e["email"]["source"] == "message")
        no_hash = [e for e in evs if e["event_type"] == "email" and e["email"]["source"] == "header"
                   and "sha256" in e["email"]]
        check(not no_hash, "header-only-no-sha256-%s" % cap, "%d header-only events with a sha256" % len(no_hash))
        got_a = sorted(e["email"]["sha256"] for e in evs if e["event_type"] == "email"
                       and e["email"]["direction"] == "appended")
        headers = [e for e in evs if e["event_type"] == "email" and e["email"]["source"] == "header"]
        check(got_f == sorted(want_f) and got_a == sorted(want_a) and (got_f + got_a or headers),
              "literals-once-%s" % cap, "fetched %s vs %s, appended %s vs %s" % (got_f, want_f, got_a, want_a))

    # 2. every capture with keys or not: fetched messages equal the seeded bytes
    for cap in ("fetchmail-plain", "imaplib-main", "mbsync-imaps", "mbsync-compress", "imaplib-compress",
                "imaplib-compress-tls13", "imaplib-imaps-tls13", "imaplib-starttls-tls12",
                "imaplib-starttls-tls13", "curl-imap", "curl-imaps-tls13", "veth-imaplib-starttls-tls13"):
        pcap = os.path.join(CAPS, cap + ".pcap")
        evs = run(pcap)
        emails = [e["email"] for e in evs if e["event_type"] == "email"]
        files = [e["fileinfo"] for e in evs if e["event_type"] == "fileinfo"]
        bad, verified = [], 0
        for m in emails:
            if m["source"] == "envelope" or m["direction"] != "fetched":
                continue
            if m.get("state") != "complete":
                bad.append(("incomplete", m.get("message_id")))
                continue
            want = ids.get(m.get("message_id", ""))
            if not want or "section" in m and "FIELDS" in m["section"]:
                continue  # appended during the capture, or a field subset
            if m["source"] == "header":
                # no hash (it is not the message): the headers decoded
                if "sha256" not in m and m.get("subject") is not None:
                    verified += 1
                else:
                    bad.append(("header", m.get("message_id"), m.get("sha256")))
                continue
            if m["sha256"] in want["whole"]:
                verified += 1
            else:
                bad.append((m.get("message_id"), m["section"], m["sha256"]))
        msgs = [m for m in emails if m["source"] == "message" and m["direction"] == "fetched"]
        check(not bad and (verified > 0 or not msgs), "seeded-hashes-%s" % cap,
              "verified %d, bad %s" % (verified, bad))
        # every attachment of a seeded message decodes to the seeded bytes
        fbad = [f for f in files if f.get("message_id") == "<report-q3@example.net>" and f["sha256"] not in atts]
        check(not fbad, "attachment-hash-%s" % cap, str(fbad))
        # each fileinfo belongs to an email listing it
        listed = {(a["sha256"]) for m in emails for a in m.get("attachments", [])}
        check(all(f["sha256"] in listed and f["state"] == "complete" for f in files), "fileinfo-linked-%s" % cap)
        if cap in ("mbsync-imaps", "mbsync-compress", "imaplib-compress-tls13"):
            # inside TLS (keys) and COMPRESS: the same attachment is found
            check(any(f["sha256"] in atts and f.get("filename") == "report-q3.bin" and
                      f.get("magic") and f.get("md5") and f.get("sha1") for f in files),
                  "attachment-inside-layers-%s" % cap, str(files))

    # ENVELOPE only: an email from the decoded envelope (RFC 2047 decoded)
    evs = run(os.path.join(CAPS, "imaplib-main.pcap"))
    env = [e["email"] for e in evs if e["event_type"] == "email" and e["email"]["source"] == "envelope"]
    check(any(m.get("subject") == "Grüße aus München" and m.get("message_id") == "<gruss@example.de>" and
              [(a["field"], a.get("name")) for a in m.get("addresses", []) if a["field"] == "from"] ==
              [("from", "Jörg Müller")] and m.get("tag") and "command" not in m for m in env),
          "envelope-only", str(env[:2]))

    # 3. the session summary and the text trace
    evs = run(os.path.join(CAPS, "mbsync-imaps.pcap"))
    sess = [e["imap_session"] for e in evs if e["event_type"] == "imap_session"]
    emails = [e["email"] for e in evs if e["event_type"] == "email" and e["email"]["source"] == "message"]
    # the session's totals; each message's mailbox is its email event's
    mail = [s["mail"] for s in sess if "mail" in s]
    total = sum(m["messages_fetched"] for m in mail)
    nbytes = sum(m["bytes_fetched"] for m in mail)
    check(total == len(emails) > 0 and nbytes == sum(e["size"] for e in emails) and
          all(e.get("mailbox") == "INBOX" for e in emails) and all("mailbox" not in m for m in mail),
          "session-mail-summary", str(mail))
    txt = subprocess.run([IMAPSCOPE, "-r", os.path.join(CAPS, "mbsync-imaps.pcap"), "--keylog",
                          os.path.join(CAPS, "mbsync-imaps.keys"), "--color", "never"],
                         capture_output=True, timeout=120).stdout.decode()
    lines = [l for l in txt.splitlines() if " @@@ " in l]
    check(len(lines) == len(emails) and any('"Quarterly report (attached)" 1 attachment' in l for l in lines),
          "text-trace-lines", "\n".join(lines))

    # 4. --extract-dir: named by content, 0600, written once
    with tempfile.TemporaryDirectory() as d:
        xd = os.path.join(d, "x")
        for _ in range(2):
            evs = run(os.path.join(CAPS, "mbsync-imaps.pcap"), "--extract-dir", xd)
        names = sorted(os.listdir(xd))
        ok = bool(names)
        for n in names:
            p = os.path.join(xd, n)
            st = os.lstat(p)
            ok = ok and stat.S_IMODE(st.st_mode) == 0o600 and sha(open(p, "rb").read()) == n.split(".")[0]
        stored = [e["fileinfo"]["sha256"] for e in evs if e["event_type"] == "fileinfo" and
                  e["fileinfo"].get("stored")]
        stats = [e["stats"] for e in evs if e["event_type"] == "stats"][0]
        check(ok and stat.S_IMODE(os.stat(xd).st_mode) == 0o700 and stored and
              all(s in names for s in stored) and counter(stats, "extract.files") == 0 and
              counter(stats, "extract.already_present") == len(names), "extract-dir",
              "%s %s" % (names, [c for c in stats["counters"] if c["name"].startswith("extract.")]))
        # --extract-types: a type that is not there writes no part
        xd2 = os.path.join(d, "y")
        run(os.path.join(CAPS, "mbsync-imaps.pcap"), "--extract-dir", xd2, "--extract-types", "image/*")
        check(all(n.endswith(".eml") for n in os.listdir(xd2)), "extract-types")
        # the file cap: reached, counted, reported once on stderr
        p = subprocess.run([IMAPSCOPE, "-r", os.path.join(CAPS, "mbsync-imaps.pcap"), "--keylog",
                            os.path.join(CAPS, "mbsync-imaps.keys"), "-T", "json", "--extract-dir",
                            os.path.join(d, "z"), "--extract-max-files", "2"], capture_output=True, timeout=120)
        st = [json.loads(l) for l in p.stdout.decode().splitlines() if '"stats"' in l][0]["stats"]
        check(len(os.listdir(os.path.join(d, "z"))) == 2 and counter(st, "extract.cap_reached") > 0 and
              p.stderr.decode().count("cap reached") == 1, "extract-max-files", p.stderr.decode())

    # 5. --max-mail-bytes: the large message is cut, still hashed, counted
    evs = run(os.path.join(CAPS, "mbsync-imaps.pcap"), "--max-mail-bytes", "4096")
    big = [e["email"] for e in evs if e["event_type"] == "email" and e["email"].get("size", 0) > 4096]
    st = [e["stats"] for e in evs if e["event_type"] == "stats"][0]
    check(big and all(m["state"] == "truncated" and m["sha256"] in ids[m["message_id"]]["whole"] for m in big) and
          counter(st, "mail.truncated") == len(big), "max-mail-bytes", str(big))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
