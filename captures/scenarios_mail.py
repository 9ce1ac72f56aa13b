#!/usr/bin/env python3
"""Mail capture scenarios with known bytes (issue 13), driven by
`captures/make-captures.sh --only mail` (or the full run).

usage:
  scenarios_mail.py probe HOST PORT UIDMAP
      (not captured) log in as carol, map Message-ID -> UID of her INBOX
  scenarios_mail.py {plain|starttls13|compress} HOST PORT TLS_PORT OUTPREFIX CAFILE UIDMAP EXPECT
      one python imaplib session; writes OUTPREFIX.transcript.json
      (OUTPREFIX.keys for TLS) and the expected messages to EXPECT
  scenarios_mail.py client {mbsync|curl|fetchmail} UIDMAP EXPECT
      what a real client's run (make-captures.sh) transfers, as expectations
  scenarios_mail.py manifest OUTFILE NAME=EXPECT...
      merge the expectations into captures/mail-manifest.json

Every expectation comes from captures/lib/seed_mail_known.py (the seeded
bytes), never from imapscope.  The python sessions also compare every byte
dovecot returns with the seed and stop with an error on a difference, so a
manifest is only written for traffic that carries exactly those bytes.

The python session (same in all three layers, so the STARTTLS and COMPRESS
captures must give the same email/fileinfo events as the plain one):
  LOGIN carol, SELECT INBOX,
  UID FETCH (BODY.PEEK[])      pdf-png
  UID FETCH (RFC822)           zip-txt
  UID FETCH (BINARY.PEEK[])    rfc2231
  UID FETCH a,b (BODY.PEEK[])  rfc2047-filename and nested (two in one command)
  UID FETCH x:y (BODY.PEEK[])  four charset messages in one command
  UID FETCH (BODY.PEEK[HEADER]), (RFC822.HEADER),
            (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])   three charset messages
  UID FETCH (BODY.PEEK[]<0.1000>), <1000.1000>, ... one command each, covering `partial`
  APPEND Uploads (synchronizing literal), APPEND Uploads (LITERAL+, attachment),
  APPEND Uploads CATENATE (TEXT {n} TEXT {m+}), LOGOUT.
"""
import imaplib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
from imapcap import Lit, RecIMAP, dump, tls_context  # noqa: E402
import seed_mail_known as seed  # noqa: E402

TIMEOUT = 10
USER, PASSWORD = "carol", "carol-pw"
PARTIAL = 1000
HEADER_EXTRAS = ("received_count", "x_mailer", "user_agent", "in_reply_to")


def must(res, want="OK"):
    if res[0] != want:
        raise SystemExit("unexpected %s (wanted %s): %r" % (res[0], want, res))
    return res


def by_key():
    return {m.key: m for m in seed.inbox_messages()}


def expect_message(m, direction, mailbox, uid, section, command, partial=False):
    e = {"direction": direction, "mailbox": mailbox, "uid": uid, "kind": "message",
         "section": section, "command": command}
    if direction == "fetched":
        e["seq"] = SEQ[m.message_id]
    if partial:
        e["partial"] = True
    e.update(m.manifest())
    e["key"] = m.key
    return e


def expect_header(m, mailbox, uid, section, command, fields=None):
    """Header-only fetch: headers, no sha256 / attachments."""
    e = {"direction": "fetched", "mailbox": mailbox, "uid": uid, "kind": "header",
         "section": section, "command": command, "key": m.key,
         "message_id": m.message_id, "subject": m.subject, "from": m.from_addr,
         "seq": SEQ[m.message_id]}
    if command == "FETCH":  # by sequence number: the UID is not in the traffic
        e["uid_in_traffic"] = False
    if fields is None:  # the whole header section: extras are in it
        for k in HEADER_EXTRAS:
            if k in m.extra:
                e[k] = m.extra[k]
        e["header_sha256"] = seed.sha256(m.header_block())
    return e


def fetched_literals(dat):
    """[(prefix bytes, literal bytes)] of an imaplib FETCH answer."""
    return [x for x in dat if isinstance(x, tuple)]


def check_same(what, got, want):
    if got != want:
        n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise SystemExit("%s: server bytes differ from the seed (%d vs %d bytes, first difference at %d)"
                         % (what, len(got), len(want), n))


def same_content(what, data, m):
    """data (a BINARY[] answer) carries m's headers and attachments."""
    import email
    import email.policy
    a = email.message_from_bytes(data, policy=email.policy.default)
    b = email.message_from_bytes(m.data, policy=email.policy.default)
    for h in ("Message-ID", "Subject", "From", "To", "Date"):
        if str(a[h]) != str(b[h]):
            raise SystemExit("%s BINARY[]: header %s differs: %r" % (what, h, a[h]))

    def parts(x):
        return [(p.get_filename(), seed.sha256(p.get_payload(decode=True) or b""))
                for p in x.walk() if not p.is_multipart()]
    if parts(a) != parts(b):
        raise SystemExit("%s BINARY[]: parts differ: %r vs %r" % (what, parts(a), parts(b)))
    with open(os.environ.get("MAILCAP_DEBUG", os.devnull), "wb") as f:
        f.write(data)


def appenduid(c, tag):
    m = re.search(rb"(?m)^" + tag + rb" OK \[APPENDUID \d+ (\d+)\]", bytes(c.rec["server"]))
    if not m:
        raise SystemExit("no APPENDUID for %s" % tag.decode())
    return int(m.group(1))


def send_exact(c, name, pieces):
    """Send `TAG name` + pieces verbatim (bytes, or Lit for {n}/{n+}
    literals; no separators added), waiting for continuations."""
    tag = c._new_tag()
    c.rec["commands"].append({"tag": tag.decode(), "command": name, "status": None})
    c._cmd_index[tag] = len(c.rec["commands"]) - 1
    buf = tag + b" " + name.encode()
    for p in pieces:
        if isinstance(p, Lit):
            buf += b"{%d%s}\r\n" % (len(p.data), b"+" if p.plus else b"")
            if not p.plus:
                c.send(buf)
                buf = b""
                while c._get_response():
                    if c.tagged_commands[tag]:
                        return tag, c._command_complete(name, tag)
            buf += p.data
        else:
            buf += p
    c.send(buf + b"\r\n")
    return tag, c._command_complete(name, tag)


def mail_session(c, uids):
    """The session of the python captures; returns the expectations."""
    k = by_key()
    exp = []
    must(c.login(USER, PASSWORD))
    return mail_session_selected(c, uids, k, exp)


def mail_session_selected(c, uids, k, exp):
    must(c.select("INBOX"))

    def fetch(keys, item, section, kind="message"):
        uidset = ",".join(str(uids[k[x].message_id]) for x in keys)
        typ, dat = must(c.uid("FETCH", uidset, "(%s)" % item))
        lits = fetched_literals(dat)
        if len(lits) != len(keys):
            raise SystemExit("UID FETCH %s %s: %d literals for %d messages" % (uidset, item, len(lits), len(keys)))
        for x, (_pre, data) in zip(keys, lits):
            m = k[x]
            if kind == "message" and section.startswith("BINARY"):
                # RFC 3516: the server content-transfer-decodes the parts, so
                # the bytes are dovecot's, not the file's.  They must still
                # hold the seed's headers and attachments exactly.
                same_content(x, data, m)
                e = expect_message(m, "fetched", "INBOX", uids[m.message_id], section, "UID FETCH")
                e["sha256"], e["size"] = seed.sha256(data), len(data)
                e["binary_decoded_by_server"] = True
                exp.append(e)
            elif kind == "message":
                check_same("%s %s" % (x, item), data, m.data)
                exp.append(expect_message(m, "fetched", "INBOX", uids[m.message_id], section, "UID FETCH"))
            elif kind == "header":
                check_same("%s %s" % (x, item), data, m.header_block())
                exp.append(expect_header(m, "INBOX", uids[m.message_id], section, "UID FETCH"))
            else:  # header fields
                if m.message_id.encode() not in data:
                    raise SystemExit("%s: HEADER.FIELDS without the Message-ID" % x)
                exp.append(expect_header(m, "INBOX", uids[m.message_id], section, "UID FETCH",
                                         fields=kind))

    fetch(["pdf-png"], "BODY.PEEK[]", "BODY[]")
    fetch(["zip-txt"], "RFC822", "RFC822")
    fetch(["rfc2231"], "BINARY.PEEK[]", "BINARY[]")
    fetch(["rfc2047-filename", "nested"], "BODY.PEEK[]", "BODY[]")
    fetch(["charset-iso-2022-jp", "charset-gb2312", "charset-shift_jis", "charset-mixed"],
          "BODY.PEEK[]", "BODY[]")
    fetch(["charset-windows-1252"], "BODY.PEEK[HEADER]", "BODY[HEADER]", "header")
    fetch(["charset-iso-8859-15"], "RFC822.HEADER", "RFC822.HEADER", "header")
    fetch(["charset-koi8-r"], "BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]",
          "BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]", "fields")
    # Partial fetches (RFC 3501 6.4.5 <origin.octets>), one command each,
    # until a piece comes back short.
    m = k["partial"]
    got, off = b"", 0
    while True:
        typ, dat = must(c.uid("FETCH", str(uids[m.message_id]),
                              "(BODY.PEEK[]<%d.%d>)" % (off, PARTIAL)))
        lits = fetched_literals(dat)
        piece = lits[0][1] if lits else b""
        got += piece
        off += PARTIAL
        if len(piece) < PARTIAL:
            break
    check_same("partial", got, m.data)
    e = expect_message(m, "fetched", "INBOX", uids[m.message_id], "BODY[]", "UID FETCH", partial=True)
    e["pieces"] = (len(m.data) + PARTIAL - 1) // PARTIAL + (1 if len(m.data) % PARTIAL == 0 else 0)
    exp.append(e)
    # Uploads.
    ap = seed.append_plain()
    must(c.append("Uploads", "(\\Seen)", '"01-Dec-2023 12:00:00 +0000"', ap.data))
    tag = b"A%03d" % c.tagnum
    exp.append(expect_message(ap, "appended", "Uploads", appenduid(c, tag), "APPEND", "APPEND"))
    aa = seed.append_attach()
    must(c.raw("APPEND", ["Uploads", Lit(aa.data, plus=True)]))
    tag = b"A%03d" % c.tagnum
    exp.append(expect_message(aa, "appended", "Uploads", appenduid(c, tag), "APPEND", "APPEND"))
    p1, p2, whole = seed.catenate_parts()
    tag, res = send_exact(c, "APPEND", [b" Uploads CATENATE (TEXT ", Lit(p1), b" TEXT ",
                                        Lit(p2, plus=True), b")"])
    must(res)
    e = expect_message(whole, "appended", "Uploads", appenduid(c, tag), "CATENATE", "APPEND")
    e["catenate_parts"] = [seed.sha256(p1), seed.sha256(p2)]
    exp.append(e)
    c.logout()
    return exp


SEQ = {}  # Message-ID -> sequence number in carol's INBOX (nothing is expunged)


def load_uids(path):
    with open(path) as f:
        uids = json.load(f)
    SEQ.update({mid: i + 1 for i, mid in enumerate(sorted(uids, key=uids.get))})
    return uids


def write_expect(path, exp, extra=None):
    d = {"messages": exp}
    d.update(extra or {})
    with open(path, "w") as f:
        json.dump(d, f, indent=1, ensure_ascii=False)


def sc_probe(host, port, out):
    c = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    must(c.login(USER, PASSWORD))
    must(c.select("INBOX", readonly=True))
    typ, dat = must(c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
    uids = {}
    for pre, data in fetched_literals(dat):
        uid = int(re.search(rb"UID (\d+)", pre).group(1))
        mid = re.search(rb"(?i)Message-ID:\s*(<[^>]+>)", data).group(1).decode()
        uids[mid] = uid
    c.logout()
    want = {m.message_id for m in seed.inbox_messages()}
    if set(uids) != want:
        raise SystemExit("probe: carol's INBOX is not the seed: %r" % sorted(set(uids) ^ want))
    with open(out, "w") as f:
        json.dump(uids, f, indent=1)


def sc_client(client, uidmap, out):
    """Expectations for the real clients of make-captures.sh."""
    uids = load_uids(uidmap)
    msgs = sorted(seed.inbox_messages(), key=lambda m: uids[m.message_id])
    exp = []
    if client == "mbsync":  # syncs INBOX: UID FETCH ... BODY.PEEK[] of every message
        exp = [expect_message(m, "fetched", "INBOX", uids[m.message_id], "BODY[]", "UID FETCH")
               for m in msgs]
    elif client == "curl":  # imap://host/INBOX;UID=n of the pdf-png message
        m = by_key()["pdf-png"]
        exp = [expect_message(m, "fetched", "INBOX", uids[m.message_id], "BODY[]", "UID FETCH")]
    elif client == "fetchmail":  # per message RFC822.HEADER, then BODY.PEEK[TEXT]
        exp = [expect_header(m, "INBOX", uids[m.message_id], "RFC822.HEADER", "FETCH") for m in msgs]
    else:
        raise SystemExit("unknown client %s" % client)
    write_expect(out, exp)


CAPTURE_INFO = {
    "mail-imaplib": {"client": "python imaplib", "layers": "plain"},
    "mail-starttls-tls13": {"client": "python imaplib", "layers": "STARTTLS TLS 1.3",
                            "keys": "mail-starttls-tls13.keys", "same_as": "mail-imaplib"},
    "mail-compress": {"client": "python imaplib", "layers": "COMPRESS=DEFLATE",
                      "same_as": "mail-imaplib"},
    "mail-mbsync": {"client": "mbsync (isync)", "layers": "COMPRESS=DEFLATE (mbsync's choice)"},
    "mail-fetchmail": {"client": "fetchmail", "layers": "plain"},
    "mail-curl": {"client": "curl", "layers": "plain"},
}


def sc_manifest(outfile, pairs):
    caps = {}
    for p in pairs:
        name, path = p.split("=", 1)
        with open(path) as f:
            d = json.load(f)
        info = dict(CAPTURE_INFO[name])
        info["pcap"] = name + ".pcap"
        info["messages"] = d["messages"]
        caps[name] = info
    doc = {"about": "Expected email/fileinfo content of the mail-* captures, written by "
                    "captures/scenarios_mail.py from the seeded bytes "
                    "(captures/lib/seed_mail_known.py), not from imapscope. kind: message "
                    "(whole message: sha256/size of its bytes, attachments with the sha256 "
                    "of their decoded bytes) or header (header-only fetch: no sha256). "
                    "partial: joined from <origin.octets> pieces. same_as: a capture whose "
                    "events must be the same (other layers).",
           "user": USER, "captures": dict(sorted(caps.items()))}
    with open(outfile, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    a = sys.argv[1:]
    if a[:1] == ["probe"] and len(a) == 4:
        return sc_probe(a[1], int(a[2]), a[3])
    if a[:1] == ["client"] and len(a) == 4:
        return sc_client(a[1], a[2], a[3])
    if a[:1] == ["manifest"] and len(a) >= 3:
        return sc_manifest(a[1], a[2:])
    if len(a) == 8 and a[0] in ("plain", "starttls13", "compress"):
        scen, host, port, tls_port, prefix, cafile, uidmap, out = a
        uids = load_uids(uidmap)
        c = RecIMAP(host, int(port), timeout=TIMEOUT)
        k = by_key()
        if scen == "starttls13":
            must(c.starttls(tls_context(prefix + ".keys", cafile, "1.3")))
            exp = mail_session(c, uids)
        elif scen == "compress":
            must(c.login(USER, PASSWORD))
            must(c.compress())
            exp = mail_session_selected(c, uids, k, [])
        else:
            exp = mail_session(c, uids)
        dump(prefix + ".transcript.json")
        write_expect(out, exp)
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
