#!/usr/bin/env python3
"""Seed deterministic maildirs for the private dovecot (captures/lib/dovecot.sh).

usage: seed_maildir.py MAILROOT

Writes MAILROOT/{alice,bob}/Maildir in Maildir++ layout (folder names in
modified UTF-7 on disk, as dovecot 2.3 stores them), with realistic MIME
messages: plain text, multipart/alternative, multipart/mixed with an
attachment, nested message/rfc822, encoded-word headers (Q and B, UTF-8 and
ISO-8859-1), a thread (In-Reply-To/References) and a range of sizes.
Every file's mtime (dovecot's INTERNALDATE) is fixed, so reruns give the same
mailboxes.
"""
import base64
import os
import sys

BASE_TS = 1700000000  # 2023-11-14T22:13:20Z


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def msg_plain():
    return crlf("""Return-Path: <bob@example.org>
From: Bob Example <bob@example.org>
To: Alice Example <alice@example.org>
Subject: Meeting tomorrow
Date: Tue, 14 Nov 2023 10:00:00 +0000
Message-ID: <meeting-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi Alice,

can we meet tomorrow at 10:00 in room 4?

Bob
""")


def msg_reply():
    return crlf("""From: Alice Example <alice@example.org>
To: Bob Example <bob@example.org>
Subject: Re: Meeting tomorrow
Date: Tue, 14 Nov 2023 11:30:00 +0000
Message-ID: <meeting-2@example.org>
In-Reply-To: <meeting-1@example.org>
References: <meeting-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Yes, 10:00 works. Bis morgen!

> can we meet tomorrow at 10:00 in room 4?
""")


def msg_reply2():
    return crlf("""From: Bob Example <bob@example.org>
To: Alice Example <alice@example.org>
Subject: Re: Re: Meeting tomorrow
Date: Tue, 14 Nov 2023 12:05:00 +0000
Message-ID: <meeting-3@example.org>
In-Reply-To: <meeting-2@example.org>
References: <meeting-1@example.org> <meeting-2@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Great, see you.
""")


def msg_alternative():
    html = ("<html><body><p>Liebe Alice,</p><p>viele Gr&uuml;&szlig;e aus "
            "M&uuml;nchen!</p></body></html>")
    return crlf("""From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>
To: alice@example.org
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=
Date: Wed, 15 Nov 2023 08:15:00 +0100
Message-ID: <gruss@example.de>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-boundary-1"

--alt-boundary-1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Liebe Alice,

viele Gr=C3=BC=C3=9Fe aus M=C3=BCnchen!

--alt-boundary-1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 7bit

""" + html + """

--alt-boundary-1--
""")


def msg_mixed():
    # A small binary attachment (deterministic bytes), base64 in 76-char lines.
    blob = bytes((i * 37 + 11) % 256 for i in range(1500))
    b64 = base64.encodebytes(blob).decode("ascii")
    return crlf("""From: Carol <carol@example.net>
To: Alice Example <alice@example.org>
Cc: bob@example.org
Subject: Quarterly report (attached)
Date: Thu, 16 Nov 2023 14:00:00 -0500
Message-ID: <report-q3@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-boundary-7"

This is a multi-part message in MIME format.

--mixed-boundary-7
Content-Type: text/plain; charset=us-ascii

Please find the Q3 report attached.

Carol

--mixed-boundary-7
Content-Type: application/octet-stream; name="report-q3.bin"
Content-Disposition: attachment; filename="report-q3.bin"
Content-Transfer-Encoding: base64

""" + b64 + """
--mixed-boundary-7--
""")


def msg_rfc822():
    return crlf("""From: Bob Example <bob@example.org>
To: Alice Example <alice@example.org>
Subject: Fwd: Quarterly report (attached)
Date: Fri, 17 Nov 2023 09:00:00 +0000
Message-ID: <fwd-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-outer"

--fwd-outer
Content-Type: text/plain; charset=us-ascii

See the forwarded message below.

--fwd-outer
Content-Type: message/rfc822
Content-Disposition: inline

From: Carol <carol@example.net>
To: Bob Example <bob@example.org>
Subject: Quarterly numbers
Date: Thu, 16 Nov 2023 13:00:00 -0500
Message-ID: <numbers@example.net>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="fwd-inner"

--fwd-inner
Content-Type: text/plain; charset=us-ascii

Revenue up 4%.

--fwd-inner
Content-Type: text/html; charset=us-ascii

<p>Revenue up 4%.</p>

--fwd-inner--

--fwd-outer--
""")


def msg_latin1():
    return crlf("""From: =?ISO-8859-1?B?Suly9G1lIEx16WNr?= <jerome@example.fr>
To: alice@example.org
Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me_=E0_midi=3F?=
Date: Sat, 18 Nov 2023 12:00:00 +0100
Message-ID: <cafe@example.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Un caf=E9 cr=E8me =E0 midi?
""")


def msg_large():
    lines = []
    for i in range(300):
        lines.append("Line %03d of the log excerpt: status=ok latency=%dms "
                     "path=/api/v1/items/%d" % (i, (i * 7) % 250, i))
    return crlf("""From: monitor@example.com
To: alice@example.org
Subject: Nightly log excerpt
Date: Sun, 19 Nov 2023 03:00:00 +0000
Message-ID: <log-1119@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

""" + "\n".join(lines) + "\n")


def msg_short(n, subj):
    return crlf("""From: Newsletter <news@example.com>
To: alice@example.org
Subject: %s
Date: Mon, 20 Nov 2023 0%d:00:00 +0000
Message-ID: <news-%d@example.com>

Short note number %d.
""" % (subj, n % 10, n, n))


def msg_draft():
    return crlf("""From: Alice Example <alice@example.org>
To: bob@example.org
Subject: =?UTF-8?B?RW50d3VyZjogw5xiZXJsZWd1bmdlbg==?=
Date: Tue, 21 Nov 2023 16:00:00 +0100
Message-ID: <draft-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Überlegungen zum Entwurf, noch nicht fertig.
""")


def mutf7(name):
    """RFC 3501 5.1.3 modified UTF-7 (what dovecot 2.3 keeps on disk)."""
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def write_folder(root, folder, messages, start_index):
    path = root if folder == "INBOX" else os.path.join(
        root, "." + ".".join(mutf7(p) for p in folder.split("/")))
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for i, (body, flags) in enumerate(messages):
        n = start_index + i
        ts = BASE_TS + n * 3600
        name = "%d.M%dP1000.imapscope,S=%d:2,%s" % (ts, n, len(body), flags)
        fn = os.path.join(path, "cur", name)
        with open(fn, "wb") as f:
            f.write(body)
        os.utime(fn, (ts, ts))
    return start_index + len(messages)


def main():
    root = sys.argv[1]
    a = os.path.join(root, "alice", "Maildir")
    n = 1
    n = write_folder(a, "INBOX", [
        (msg_plain(), "S"),
        (msg_alternative(), ""),
        (msg_mixed(), "F"),
        (msg_reply(), "RS"),
        (msg_rfc822(), ""),
        (msg_latin1(), "S"),
        (msg_reply2(), ""),
        (msg_large(), ""),
        (msg_short(1, "Newsletter 1"), "S"),
        (msg_short(2, "Newsletter 2"), ""),
    ], n)
    n = write_folder(a, "Archive", [(msg_short(3, "Old newsletter 3"), "S"),
                                    (msg_short(4, "Old newsletter 4"), "S")], n)
    n = write_folder(a, "Archive/2023", [(msg_short(5, "Archived 5"), "S")], n)
    n = write_folder(a, "Sent", [(msg_reply(), "S")], n)
    n = write_folder(a, "Drafts", [], n)
    n = write_folder(a, "Trash", [], n)
    n = write_folder(a, "Entwürfe", [(msg_draft(), "D")], n)
    n = write_folder(a, "Projekte/Übersicht", [(msg_short(6, "Plan"), "")], n)
    with open(os.path.join(a, "subscriptions"), "w") as f:
        # dovecot 2.3 subscriptions file, version 2: names in UTF-8 with
        # the hierarchy separator as a TAB.
        f.write("V\t2\n\nEntwürfe\nArchive\t2023\n")
    b = os.path.join(root, "bob", "Maildir")
    write_folder(b, "INBOX", [(msg_plain(), ""), (msg_short(7, "Hello Bob"), "")], n)
    write_folder(b, "Sent", [], n)


if __name__ == "__main__":
    main()
