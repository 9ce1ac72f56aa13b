#!/usr/bin/env python3
"""Messages whose every byte is known, for the mail captures (issue 13).

usage: seed_mail_known.py MAILROOT          write MAILROOT/carol/Maildir
       seed_mail_known.py --charsets FILE   write the charset subject table

carol's INBOX holds the messages of INBOX_MESSAGES in this order (UIDs 1..N on
a fresh dovecot), `Uploads` is empty (the APPEND target).  Every file's mtime
(INTERNALDATE) is fixed.  alice's and bob's seeded mail (seed_maildir.py) is
not touched: the older captures and their goldens depend on it.

What a message is made of is kept beside its bytes (KnownMessage): the
Message-ID, the decoded subject, the From address, header values and every
attachment with its decoded bytes, so captures/scenarios_mail.py can write
captures/mail-manifest.json from the seed itself, not from a parser.  The
constructor cross-checks that data against python's email package (a second
reading of the same bytes), so a typo in one of the two is caught at seeding.

Attachments: a small PDF, a PNG, a stored zip, a text file, filenames in
RFC 2231 (UTF-8, and ISO-8859-1 with continuations) and RFC 2047 (UTF-8 B,
ISO-8859-1 Q); subjects as encoded-words in windows-1252, ISO-8859-15,
KOI8-R, ISO-2022-JP, GB2312, Shift_JIS; a nested message/rfc822 with its
own attachment; a three-hop Received chain; X-Mailer and User-Agent.
"""
import base64
import email
import email.header
import email.policy
import hashlib
import io
import json
import os
import struct
import sys
import zipfile
import zlib

BASE_TS = 1701000000  # 2023-11-26T12:00:00Z, after seed_maildir.py's dates


def crlf(text):
    if isinstance(text, bytes):
        return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def b64lines(data):
    return base64.encodebytes(data).decode("ascii")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# --- encoded words (RFC 2047 section 4) --------------------------------------

def ew_b(text, charset, codec=None):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(codec or charset)).decode())


def ew_q(text, charset, codec=None):
    out = []
    for byte in text.encode(codec or charset):
        c = chr(byte)
        if c == " ":
            out.append("_")
        elif c.isascii() and c.isalnum():
            out.append(c)
        else:
            out.append("=%02X" % byte)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


# Subject encoded-word -> expected UTF-8.  (key, encoded header value,
# expected decoded text, body charset codec).  The mixed one checks RFC 2047
# section 6.2: white space between adjacent encoded-words is dropped, white
# space before ordinary text is kept.
CHARSET_SUBJECTS = [
    ("windows-1252", ew_q("Preis: 20 € – „Angebot“ gültig", "windows-1252", "cp1252"),
     "Preis: 20 € – „Angebot“ gültig", "cp1252"),
    ("ISO-8859-15", ew_b("Œuvre complète: 15 € (š, ž)", "ISO-8859-15", "iso8859_15"),
     "Œuvre complète: 15 € (š, ž)", "iso8859_15"),
    ("KOI8-R", ew_b("Привет, мир! Отчёт за квартал", "KOI8-R", "koi8_r"),
     "Привет, мир! Отчёт за квартал", "koi8_r"),
    ("ISO-2022-JP", ew_b("会議の議事録について", "ISO-2022-JP", "iso2022_jp"),
     "会議の議事録について", "iso2022_jp"),
    ("GB2312", ew_b("你好，世界：季度报告", "GB2312", "gb2312"),
     "你好，世界：季度报告", "gb2312"),
    ("Shift_JIS", ew_b("日本語のテスト（添付あり）", "Shift_JIS", "shift_jis"),
     "日本語のテスト（添付あり）", "shift_jis"),
    ("mixed", ew_b("Отчёт", "KOI8-R", "koi8_r") + " " + ew_q(" für Jörg", "ISO-8859-15", "iso8859_15")
     + " (fwd)", "Отчёт für Jörg (fwd)", None),
]


# --- attachment bytes ------------------------------------------------------------

def make_pdf(text):
    """A minimal one-page PDF 1.4 with a correct xref table."""
    stream = ("BT /F1 18 Tf 40 120 Td (%s) Tj ET" % text).encode("ascii")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_png(w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"".join(bytes(((x * 255) // w, (y * 255) // h, ((x ^ y) * 16) & 255))
                                      for x in range(w)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2023, 11, 20, 10, 0, 0))
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return buf.getvalue()


PDF = make_pdf("Q3 report - imapscope test")
PDF2 = make_pdf("Shiryou - imapscope test")
PNG = make_png(16, 12)
ZIP = make_zip([("readme.txt", b"Archive made for the imapscope mail captures.\n"),
                ("data.csv", b"id,value\n1,42\n2,17\n3,99\n")])
UPLOAD_ZIP = make_zip([("upload/notes.txt", b"Uploaded by APPEND.\n")])
NOTES_TXT = crlf("Meeting notes\n- budget approved\n- next review in December\n")
CSV_UTF8 = "Monat;Umsatz\nJuli;12.000 €\nAugust;13.500 €\n".encode("utf-8")
GRUSS_TXT = "Viele Grüße aus Köln!\n".encode("iso-8859-1")
RESUME_TXT = b"Curriculum vitae (plain text).\n"
INNER_TXT = b"Inner attachment of the forwarded message.\n"
TELEMETRY = bytes((i * 131 + (i >> 3) * 7 + 5) % 256 for i in range(3000))
CATENATE_TXT = b"Attachment sent in the second CATENATE part.\n"


# --- messages --------------------------------------------------------------------

class Attachment:
    def __init__(self, filename, content_type, data, disposition="attachment", nested=False):
        self.filename, self.content_type, self.data = filename, content_type, data
        self.disposition, self.nested = disposition, nested

    def manifest(self):
        d = {"filename": self.filename, "content_type": self.content_type,
             "disposition": self.disposition, "size": len(self.data), "sha256": sha256(self.data)}
        if self.nested:
            d["nested"] = True
        return d


class KnownMessage:
    """Bytes plus what they say.  `headers`: exact decoded values the
    manifest records (from, subject, message_id, x_mailer, user_agent,
    received_count ...)."""

    def __init__(self, key, data, message_id, subject, from_addr, attachments=(), **extra):
        self.key, self.data = key, data
        self.message_id, self.subject, self.from_addr = message_id, subject, from_addr
        self.attachments = list(attachments)
        self.extra = extra
        self._cross_check()

    def header_block(self):
        """The header section including the empty line (BODY[HEADER])."""
        i = self.data.find(b"\r\n\r\n")
        return self.data[:i + 4]

    def _cross_check(self):
        m = email.message_from_bytes(self.data, policy=email.policy.default)
        problems = []
        if m["Message-ID"] != self.message_id:
            problems.append("message-id %r" % m["Message-ID"])
        if str(m["Subject"]) != self.subject:
            problems.append("subject %r != %r" % (str(m["Subject"]), self.subject))
        if m["From"].addresses[0].addr_spec != self.from_addr:
            problems.append("from %r" % m["From"].addresses[0].addr_spec)
        if "received_count" in self.extra and len(m.get_all("Received", [])) != self.extra["received_count"]:
            problems.append("received count")
        found = []
        for part in m.walk():
            if part.is_multipart() or part.get_content_maintype() == "message":
                continue
            fn = part.get_filename()
            if fn is not None or part.get_content_disposition() == "attachment":
                found.append((fn, sha256(part.get_payload(decode=True))))
        want = [(a.filename, sha256(a.data)) for a in self.attachments]
        if sorted(found) != sorted(want):
            problems.append("attachments %r != %r" % (found, want))
        if problems:
            raise SystemExit("seed_mail_known: %s: %s" % (self.key, "; ".join(problems)))

    def manifest(self):
        d = {"message_id": self.message_id, "subject": self.subject, "from": self.from_addr,
             "size": len(self.data), "sha256": sha256(self.data),
             "attachments": [a.manifest() for a in self.attachments]}
        d.update(self.extra)
        return d


RECEIVED = """Received: from mx2.example.net (mx2.example.net [192.0.2.25])
	by mail.example.org (Postfix) with ESMTPS id 4SbX1c2Hz9
	for <carol@example.org>; Mon, 27 Nov 2023 09:00:05 +0000 (UTC)
Received: from relay.example.net (relay.example.net [198.51.100.7])
	by mx2.example.net (Postfix) with ESMTP id 8F1A2B3C
	for <carol@example.org>; Mon, 27 Nov 2023 09:00:03 +0000 (UTC)
Received: from [10.0.0.12] (dyn-12.office.example.net [203.0.113.12])
	by relay.example.net with ESMTPSA id q2B9kP
	for <carol@example.org>; Mon, 27 Nov 2023 09:00:01 +0000
"""


def msg_pdf_png():
    return KnownMessage("pdf-png", crlf(RECEIVED + """From: Dave Sender <dave@example.net>
To: Carol Example <carol@example.org>
Cc: finance@example.org
Subject: Q3 report and chart
Date: Mon, 27 Nov 2023 09:00:00 +0000
Message-ID: <q3-report@example.net>
X-Mailer: Microsoft Outlook 16.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1-pdf-png"

--b1-pdf-png
Content-Type: text/plain; charset=us-ascii

The report is attached, the chart is inline.

--b1-pdf-png
Content-Type: application/pdf; name="q3-report.pdf"
Content-Disposition: attachment; filename="q3-report.pdf"
Content-Transfer-Encoding: base64

""" + b64lines(PDF) + """
--b1-pdf-png
Content-Type: image/png; name="chart.png"
Content-Disposition: inline; filename="chart.png"
Content-Transfer-Encoding: base64
Content-ID: <chart@example.net>

""" + b64lines(PNG) + """
--b1-pdf-png--
"""), "<q3-report@example.net>", "Q3 report and chart", "dave@example.net",
        [Attachment("q3-report.pdf", "application/pdf", PDF),
         Attachment("chart.png", "image/png", PNG, "inline")],
        received_count=3, x_mailer="Microsoft Outlook 16.0")


def qp_text(data):
    import quopri
    return quopri.encodestring(data).decode("ascii")


def msg_zip_txt():
    return KnownMessage("zip-txt", crlf("""Received: from laptop.example.org (laptop.example.org [192.0.2.80])
	by mail.example.org (Postfix) with ESMTPSA id 77AB
	for <carol@example.org>; Mon, 27 Nov 2023 10:15:02 +0000 (UTC)
From: Erin Archive <erin@example.org>
To: carol@example.org
Reply-To: Erin (replies) <erin.replies@example.org>
Subject: Archive and notes
Date: Mon, 27 Nov 2023 10:15:00 +0000
Message-ID: <archive-notes@example.org>
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2-zip"

--b2-zip
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 7bit

Zip and meeting notes attached.

--b2-zip
Content-Type: application/zip; name="archive.zip"
Content-Disposition: attachment; filename="archive.zip"
Content-Transfer-Encoding: base64

""" + b64lines(ZIP) + """
--b2-zip
Content-Type: text/plain; charset=us-ascii; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"
Content-Transfer-Encoding: quoted-printable

""" + qp_text(NOTES_TXT) + """
--b2-zip--
"""), "<archive-notes@example.org>", "Archive and notes", "erin@example.org",
        [Attachment("archive.zip", "application/zip", ZIP),
         Attachment("notes.txt", "text/plain", NOTES_TXT)],
        received_count=1,
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0")


def msg_rfc2231():
    return KnownMessage("rfc2231", crlf("""From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>
To: carol@example.org
Subject: =?UTF-8?Q?Dateien_mit_Umlauten?=
Date: Mon, 27 Nov 2023 11:00:00 +0100
Message-ID: <umlaut-files@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b3-2231"

--b3-2231
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Zwei Dateien mit Umlauten im Namen.

--b3-2231
Content-Type: text/csv; charset=utf-8;
 name*=UTF-8''%C3%9Cbersicht%20Q3%20%E2%80%93%20Zahlen.csv
Content-Disposition: attachment;
 filename*=UTF-8''%C3%9Cbersicht%20Q3%20%E2%80%93%20Zahlen.csv
Content-Transfer-Encoding: base64

""" + b64lines(CSV_UTF8) + """
--b3-2231
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: attachment;
 filename*0*=ISO-8859-1''Gr%FC%DFe%20aus;
 filename*1*=%20K%F6ln.txt
Content-Transfer-Encoding: base64

""" + b64lines(GRUSS_TXT) + """
--b3-2231--
"""), "<umlaut-files@example.de>", "Dateien mit Umlauten", "joerg@example.de",
        [Attachment("Übersicht Q3 – Zahlen.csv", "text/csv", CSV_UTF8),
         Attachment("Grüße aus Köln.txt", "text/plain", GRUSS_TXT)])


def msg_rfc2047_filename():
    fn1 = "日本語の資料.pdf"
    ew1 = ew_b(fn1, "UTF-8")
    ew2 = ew_q("résumé.txt", "ISO-8859-1", "latin-1")
    return KnownMessage("rfc2047-filename", crlf("""From: Hanako Yamada <hanako@example.jp>
To: carol@example.org
Subject: Documents with encoded names
Date: Tue, 28 Nov 2023 09:30:00 +0900
Message-ID: <encoded-names@example.jp>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b4-2047"

--b4-2047
Content-Type: text/plain; charset=us-ascii

Two files, names as RFC 2047 encoded-words.

--b4-2047
Content-Type: application/pdf; name="%s"
Content-Disposition: attachment; filename="%s"
Content-Transfer-Encoding: base64

""" % (ew1, ew1) + b64lines(PDF2) + """
--b4-2047
Content-Type: text/plain; charset=us-ascii; name="%s"
Content-Disposition: attachment; filename="%s"
Content-Transfer-Encoding: 7bit

""" % (ew2, ew2) + RESUME_TXT.decode() + """
--b4-2047--
"""), "<encoded-names@example.jp>", "Documents with encoded names", "hanako@example.jp",
        [Attachment(fn1, "application/pdf", PDF2),
         Attachment("résumé.txt", "text/plain", crlf(RESUME_TXT))])


def msg_charset(i, key, encoded, expected, codec):
    body = "Subject charset test: %s\n\n%s\n" % (key, expected)
    if codec is None:
        ctype, payload = "text/plain; charset=utf-8", body.encode("utf-8")
        cte = "8bit"
    elif codec == "iso2022_jp":
        ctype, payload, cte = "text/plain; charset=ISO-2022-JP", body.encode(codec), "7bit"
    else:
        ctype, payload, cte = "text/plain; charset=%s" % key, body.encode(codec), "8bit"
    head = ("From: Charset Tester <charsets@example.com>\n"
            "To: carol@example.org\n"
            "Subject: %s\n"
            "Date: Wed, 29 Nov 2023 1%d:00:00 +0000\n"
            "Message-ID: <charset-%s@example.com>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: %s\n"
            "Content-Transfer-Encoding: %s\n\n" % (encoded, i, key.lower(), ctype, cte))
    return KnownMessage("charset-" + key.lower(), crlf(head.encode("ascii") + payload),
                        "<charset-%s@example.com>" % key.lower(), expected,
                        "charsets@example.com", charset=key, subject_encoded=encoded)


def msg_nested():
    inner = """From: Frank Inner <frank@example.com>
To: dave@example.net
Subject: Original with attachment
Date: Thu, 30 Nov 2023 08:00:00 +0000
Message-ID: <inner-original@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b5-inner"

--b5-inner
Content-Type: text/plain; charset=us-ascii

Original text.

--b5-inner
Content-Type: text/plain; charset=us-ascii; name="inner-notes.txt"
Content-Disposition: attachment; filename="inner-notes.txt"
Content-Transfer-Encoding: base64

""" + b64lines(INNER_TXT) + """
--b5-inner--
"""
    return KnownMessage("nested", crlf("""From: Dave Sender <dave@example.net>
To: carol@example.org
Subject: Fwd: Original with attachment
Date: Thu, 30 Nov 2023 09:00:00 +0000
Message-ID: <fwd-nested@example.net>
In-Reply-To: <inner-original@example.com>
References: <inner-original@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b5-outer"

--b5-outer
Content-Type: text/plain; charset=us-ascii

Forwarding the original below.

--b5-outer
Content-Type: message/rfc822
Content-Disposition: inline

""" + inner + """
--b5-outer--
"""), "<fwd-nested@example.net>", "Fwd: Original with attachment", "dave@example.net",
        [Attachment("inner-notes.txt", "text/plain", INNER_TXT, nested=True)],
        in_reply_to="<inner-original@example.com>")


def msg_partial():
    return KnownMessage("partial", crlf("""From: Telemetry <telemetry@example.com>
To: carol@example.org
Subject: Telemetry dump (fetched in 1000-byte pieces)
Date: Fri, 01 Dec 2023 06:00:00 +0000
Message-ID: <telemetry-dump@example.com>
X-Mailer: telemetryd 2.1
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b6-partial"

--b6-partial
Content-Type: text/plain; charset=us-ascii

Nightly telemetry, 3000 bytes attached.

--b6-partial
Content-Type: application/octet-stream; name="telemetry.bin"
Content-Disposition: attachment; filename="telemetry.bin"
Content-Transfer-Encoding: base64

""" + b64lines(TELEMETRY) + """
--b6-partial--
"""), "<telemetry-dump@example.com>", "Telemetry dump (fetched in 1000-byte pieces)",
        "telemetry@example.com", [Attachment("telemetry.bin", "application/octet-stream", TELEMETRY)],
        x_mailer="telemetryd 2.1")


def inbox_messages():
    msgs = [msg_pdf_png(), msg_zip_txt(), msg_rfc2231(), msg_rfc2047_filename()]
    for i, (key, enc, exp, codec) in enumerate(CHARSET_SUBJECTS):
        msgs.append(msg_charset(i, key, enc, exp, codec))
    msgs += [msg_nested(), msg_partial()]
    return msgs


# --- messages the clients upload ------------------------------------------------

def append_plain():
    return KnownMessage("append-plain", crlf("""From: Carol Example <carol@example.org>
To: dave@example.net
Subject: =?UTF-8?Q?Entwurf_=E2=80=93_hochgeladen?=
Date: Fri, 01 Dec 2023 12:00:00 +0000
Message-ID: <append-plain@example.org>
User-Agent: imapscope-capture/1.0
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Plain message stored with APPEND.
"""), "<append-plain@example.org>", "Entwurf – hochgeladen", "carol@example.org",
        user_agent="imapscope-capture/1.0")


def append_attach():
    return KnownMessage("append-attach", crlf("""From: Carol Example <carol@example.org>
To: dave@example.net
Subject: Upload with a zip
Date: Fri, 01 Dec 2023 12:05:00 +0000
Message-ID: <append-attach@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b7-append"

--b7-append
Content-Type: text/plain; charset=us-ascii

Stored with APPEND and a LITERAL+ literal.

--b7-append
Content-Type: application/zip; name="upload.zip"
Content-Disposition: attachment; filename="upload.zip"
Content-Transfer-Encoding: base64

""" + b64lines(UPLOAD_ZIP) + """
--b7-append--
"""), "<append-attach@example.org>", "Upload with a zip", "carol@example.org",
        [Attachment("upload.zip", "application/zip", UPLOAD_ZIP)])


def catenate_parts():
    """Two TEXT parts of one CATENATE (RFC 4469); the stored message is
    their concatenation."""
    p1 = crlf("""From: Carol Example <carol@example.org>
To: dave@example.net
Subject: Built with CATENATE
Date: Fri, 01 Dec 2023 12:10:00 +0000
Message-ID: <catenate-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b8-cat"

--b8-cat
Content-Type: text/plain; charset=us-ascii

First CATENATE part: headers and text.
""")
    p2 = crlf("""
--b8-cat
Content-Type: text/plain; charset=us-ascii; name="catenated.txt"
Content-Disposition: attachment; filename="catenated.txt"
Content-Transfer-Encoding: base64

""" + b64lines(CATENATE_TXT) + """
--b8-cat--
""")
    whole = KnownMessage("catenate", p1 + p2, "<catenate-1@example.org>", "Built with CATENATE",
                         "carol@example.org", [Attachment("catenated.txt", "text/plain", CATENATE_TXT)])
    return p1, p2, whole


# --- maildir ---------------------------------------------------------------------

def write_maildir(root):
    base = os.path.join(root, "carol", "Maildir")
    for folder in (base, os.path.join(base, ".Uploads")):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for n, m in enumerate(inbox_messages(), 1):
        ts = BASE_TS + n * 3600
        fn = os.path.join(base, "cur", "%d.M%dP2000.imapscope,S=%d:2," % (ts, n, len(m.data)))
        with open(fn, "wb") as f:
            f.write(m.data)
        os.utime(fn, (ts, ts))
    with open(os.path.join(base, "subscriptions"), "w") as f:
        f.write("V\t2\n\nUploads\n")


def charset_table():
    return [{"charset": k, "encoded": enc, "expected": exp} for k, enc, exp, _c in CHARSET_SUBJECTS]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--charsets":
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            json.dump({"about": "RFC 2047 subjects of captures/lib/seed_mail_known.py: "
                                "encoded header value -> expected UTF-8 after decoding",
                       "subjects": charset_table()}, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write_maildir(sys.argv[1])


if __name__ == "__main__":
    main()
