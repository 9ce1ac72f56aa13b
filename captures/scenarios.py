#!/usr/bin/env python3
"""python imaplib capture scenarios (driven by captures/make-captures.sh).

usage: scenarios.py NAME HOST PLAIN_PORT TLS_PORT OUTPREFIX CAFILE

Writes OUTPREFIX.transcript.json (see imapcap.py) and, for TLS scenarios,
OUTPREFIX.keys (NSS key log).  Every socket has a 10 s timeout.
"""
import base64
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from imapcap import Lit, RecIMAP, RecIMAP_SSL, dump, tls_context  # noqa: E402
from seed_maildir import mutf7  # noqa: E402

TIMEOUT = 10
SAMPLE = (b"From: Alice Example <alice@example.org>\r\n"
          b"To: bob@example.org\r\n"
          b"Subject: Appended draft\r\n"
          b"Date: Wed, 22 Nov 2023 09:00:00 +0100\r\n"
          b"Message-ID: <append-1@example.org>\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: text/plain; charset=us-ascii\r\n"
          b"\r\n"
          b"Appended with a synchronizing literal.\r\n")


def q(name):
    """A mailbox name as a quoted string in modified UTF-7."""
    return '"%s"' % mutf7(name)


def must(res, want="OK"):
    typ = res[0]
    if typ != want:
        raise SystemExit("unexpected %s (wanted %s): %r" % (typ, want, res))
    return res


def sc_main(a):
    c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(c.cmd("CAPABILITY"))
    must(c.cmd("ID", '("name" "imapscope-capture" "version" "1.0" "os" "Linux")'))
    try:
        c.login("alice", "wrong-password")
        raise SystemExit("bad login accepted")
    except c.error:
        pass
    must(c.login("alice", "secret"))
    must(c.cmd("CAPABILITY"))
    must(c.namespace())
    must(c.cmd("ENABLE", "CONDSTORE QRESYNC"))
    must(c.cmd("LIST", '""', '"*"'))
    must(c.cmd("LSUB", '""', '"*"'))
    must(c.cmd("LIST", '""', '"*"', "RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))"))
    must(c.cmd("LIST", "(SUBSCRIBED)", '""', '"*"', "RETURN (CHILDREN)"))
    must(c.cmd("LIST", '""', '"%"'))
    # Mailbox management with non-ASCII names (modified UTF-7 on the wire).
    must(c.cmd("CREATE", q("Reisepläne")))
    must(c.cmd("CREATE", q("日本語/メモ")))
    must(c.cmd("RENAME", q("Reisepläne"), q("Reisepläne 2024")))
    must(c.cmd("SUBSCRIBE", q("Reisepläne 2024")))
    must(c.cmd("LSUB", '""', '"Reise*"'))
    must(c.cmd("UNSUBSCRIBE", q("Reisepläne 2024")))
    must(c.cmd("DELETE", q("Reisepläne 2024")))
    must(c.cmd("DELETE", q("日本語/メモ")))
    must(c.cmd("CREATE", q("Entwürfe")), "NO")  # already exists
    must(c.cmd("STATUS", "INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)"))
    must(c.cmd("STATUS", q("Entwürfe"), "(MESSAGES UNSEEN)"))
    must(c.cmd("STATUS", "Nonexistent", "(MESSAGES)"), "NO")
    must(c.cmd("EXAMINE", "Archive"))
    c.state, c.is_readonly = "SELECTED", True
    must(c.cmd("FETCH", "1:*", "(FLAGS UID)"))
    must(c.cmd("SELECT", "INBOX", "(CONDSTORE)"))
    c.untagged_responses.pop("READ-ONLY", None)
    c.is_readonly = False
    must(c.cmd("FETCH", "1:3", "(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ)"))
    must(c.cmd("FETCH", "2", "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] BODY[1]<0.64>)"))
    must(c.cmd("FETCH", "1", "(BODY[TEXT])"))
    must(c.cmd("FETCH", "2", "(BINARY.PEEK[1] BINARY.SIZE[1])"))
    must(c.cmd("FETCH", "5", "(BODYSTRUCTURE ENVELOPE BODY.PEEK[2.HEADER])"))
    must(c.cmd("FETCH", "6", "(ENVELOPE BODY.PEEK[])"))
    must(c.cmd("FETCH", "1:*", "(UID FLAGS)", "(CHANGEDSINCE 1)"))
    must(c.cmd("SEARCH", 'OR (FROM "bob" SINCE 1-Nov-2023) (NOT SEEN LARGER 1000)'))
    must(c.cmd("SEARCH", 'NOT (OR SEEN FLAGGED) SUBJECT "newsletter"'))
    must(c.raw("SEARCH", ["CHARSET UTF-8 SUBJECT", Lit("Grüße".encode("utf-8"))]))
    must(c.cmd("SEARCH", "RETURN (MIN MAX COUNT ALL)", "UNSEEN"))
    must(c.cmd("SORT", "(REVERSE DATE)", "UTF-8", "ALL"))
    must(c.cmd("THREAD", "REFERENCES", "UTF-8", "ALL"))
    must(c.cmd("STORE", "1", "+FLAGS", "(\\Flagged)"))
    must(c.cmd("STORE", "1", "-FLAGS", "(\\Flagged)"))
    must(c.cmd("STORE", "2", "FLAGS.SILENT", "(\\Seen $Label1)"))
    must(c.cmd("STORE", "3", "(UNCHANGEDSINCE 1)", "+FLAGS", "(\\Answered)"))
    must(c.cmd("COPY", "1:2", "Archive"))
    must(c.cmd("MOVE", "9", "Trash"))
    must(c.cmd("UID", "FETCH", "1:*", "(FLAGS)"))
    must(c.cmd("UID", "SEARCH", 'FROM "bob"'))
    must(c.cmd("UID", "STORE", "4", "+FLAGS", "(\\Seen)"))
    must(c.cmd("UID", "COPY", "4", q("Entwürfe")))
    must(c.cmd("UID", "MOVE", "10", "Archive"))
    must(c.cmd("UID", "STORE", "7", "+FLAGS.SILENT", "(\\Deleted)"))
    must(c.cmd("UID", "EXPUNGE", "7"))
    must(c.cmd("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)"))
    must(c.cmd("EXPUNGE"))
    must(c.append("Drafts", "(\\Draft \\Seen)", '"21-Nov-2023 10:00:00 +0100"', SAMPLE))
    must(c.raw("APPEND", ["Drafts", "(\\Draft)",
                          Lit(SAMPLE.replace(b"synchronizing", b"non-synchronizing"), plus=True)]))
    must(c.cmd("GETQUOTAROOT", "INBOX"))
    must(c.cmd("GETQUOTA", '"User quota"'))
    must(c.cmd("GETACL", "INBOX"))
    must(c.cmd("MYRIGHTS", "INBOX"))
    must(c.cmd("LISTRIGHTS", "INBOX", "bob"))
    must(c.cmd("SETACL", "INBOX", "bob", "lrs"))
    must(c.cmd("GETACL", "INBOX"))
    must(c.cmd("DELETEACL", "INBOX", "bob"))
    must(c.cmd("SETMETADATA", "INBOX", '(/private/comment "Mailbox for everyday mail")'))
    must(c.cmd("SETMETADATA", '""', '(/private/vendor/imapscope/theme "dark")'))
    must(c.cmd("GETMETADATA", "INBOX", "(/private/comment /shared/comment)"))
    must(c.cmd("GETMETADATA", "(DEPTH infinity)", '""', "(/private/vendor)"))
    must(c.cmd("CHECK"))
    must(c.cmd("NOOP"))
    must(c.cmd("UNSELECT"))
    c.state = "AUTH"
    must(c.cmd("SELECT", "Archive"))
    c.state = "SELECTED"
    must(c.cmd("CLOSE"))
    c.state = "AUTH"
    must(c.cmd("FROBNICATE", "now"), "BAD")
    must(c.cmd("XNOSUCHCMD"), "BAD")
    c.logout()
    # Second connection: LOGIN with the user name as a synchronizing literal.
    d = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(d.raw("LOGIN", [Lit(b"alice"), '"secret"']))
    d.state = "AUTH"
    must(d.cmd("NOOP"))
    d.logout()


class Scram:
    """Client side of SASL SCRAM (RFC 5802 / RFC 7677), no channel binding."""

    def __init__(self, user, password, hname):
        self.user, self.password, self.h = user.encode(), password.encode(), hname
        self.nonce = b"rOprNGfwEbeRWgbNEkqO"  # fixed: reruns send the same first message
        self.step = 0

    def _hmac(self, key, msg):
        return hmac.new(key, msg, self.h).digest()

    def __call__(self, challenge):
        self.step += 1
        if self.step == 1:
            self.bare = b"n=" + self.user + b",r=" + self.nonce
            return b"n,," + self.bare
        if self.step == 2:
            self.server_first = challenge
            f = dict(kv.split(b"=", 1) for kv in challenge.split(b","))
            salted = hashlib.pbkdf2_hmac(self.h, self.password,
                                         base64.b64decode(f[b"s"]), int(f[b"i"]))
            client_key = self._hmac(salted, b"Client Key")
            stored = hashlib.new(self.h, client_key).digest()
            without_proof = b"c=biws,r=" + f[b"r"]
            auth_msg = self.bare + b"," + self.server_first + b"," + without_proof
            sig = self._hmac(stored, auth_msg)
            proof = bytes(x ^ y for x, y in zip(client_key, sig))
            self.server_sig = self._hmac(self._hmac(salted, b"Server Key"), auth_msg)
            return without_proof + b",p=" + base64.b64encode(proof)
        # Server final message: v=signature.
        if challenge != b"v=" + base64.b64encode(self.server_sig):
            raise SystemExit("SCRAM server signature mismatch: %r" % challenge)
        return b""


def sc_auth(a):
    def session(login):
        c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
        login(c)
        c.state = "AUTH"
        must(c.cmd("NOOP"))
        c.logout()
    plain = base64.b64encode(b"\0alice\0secret").decode()
    session(lambda c: must(c.authenticate("PLAIN", lambda _ch: b"\0alice\0secret")))
    session(lambda c: must(c.raw("AUTHENTICATE", ["PLAIN", plain])))

    def login_mech(c):
        answers = {b"Username:": b"alice", b"Password:": b"secret"}
        must(c.authenticate("LOGIN", lambda ch: answers[ch]))
    session(login_mech)
    session(lambda c: must(c.login_cram_md5("alice", "secret")))
    session(lambda c: must(c.authenticate("SCRAM-SHA-256", Scram("alice", "secret", "sha256"))))
    session(lambda c: must(c.authenticate("SCRAM-SHA-1", Scram("bob", "hunter2", "sha1"))))
    # A failed AUTHENTICATE (wrong password), then a good LOGIN.
    c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    try:
        c.authenticate("PLAIN", lambda _ch: b"\0alice\0not-the-password")
        raise SystemExit("bad AUTHENTICATE accepted")
    except c.error:
        pass
    must(c.login("alice", "secret"))
    c.logout()


def tls_session(c):
    must(c.cmd("CAPABILITY"))
    must(c.login("alice", "secret"))
    must(c.select("INBOX"))
    must(c.cmd("FETCH", "1", "(FLAGS ENVELOPE BODY[])"))
    must(c.cmd("FETCH", "2:4", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    c.logout()


def sc_starttls(a, version):
    ctx = tls_context(a.prefix + ".keys", a.cafile, version)
    c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(c.starttls(ctx))
    tls_session(c)


def sc_imaps(a):
    ctx = tls_context(a.prefix + ".keys", a.cafile, "1.3")
    c = RecIMAP_SSL(a.host, a.tls_port, ssl_context=ctx, timeout=TIMEOUT)
    tls_session(c)


def compressed_session(c):
    must(c.login("alice", "secret"))
    must(c.compress())
    must(c.cmd("CAPABILITY"))
    must(c.cmd("LIST", '""', '"*"'))
    must(c.select("INBOX"))
    must(c.cmd("FETCH", "1:4", "(FLAGS ENVELOPE)"))
    must(c.cmd("FETCH", "2", "(BODY[])"))
    must(c.cmd("SEARCH", 'FROM "bob"'))
    must(c.cmd("NOOP"))
    c.logout()


def sc_compress(a):
    compressed_session(RecIMAP(a.host, a.port, timeout=TIMEOUT))


def sc_compress_tls(a):
    ctx = tls_context(a.prefix + ".keys", a.cafile, "1.3")
    c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(c.starttls(ctx))
    compressed_session(c)


def sc_idle(a):
    c = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(c.login("alice", "secret"))
    must(c.select("INBOX"))
    tag = c.raw("IDLE", [], wait=False)
    if c._get_response() is not None:  # None: the "+ idling" continuation
        raise SystemExit("no IDLE continuation")
    d = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(d.login("bob", "hunter2"))
    # bob has no rights on alice's INBOX, so alice appends from a second session.
    d.logout()
    e = RecIMAP(a.host, a.port, timeout=TIMEOUT)
    must(e.login("alice", "secret"))
    must(e.append("INBOX", "", '"22-Nov-2023 12:00:00 +0000"',
                  SAMPLE.replace(b"Appended draft", b"Arrived during IDLE")))
    got = False
    for _ in range(20):
        resp = c._get_response()
        if resp and resp.endswith(b"EXISTS"):
            got = True
            break
    if not got:
        raise SystemExit("no EXISTS during IDLE")
    c.send(b"DONE\r\n")
    must(c._command_complete("IDLE", tag))
    must(c.cmd("FETCH", "*", "(FLAGS ENVELOPE)"))
    e.logout()
    c.logout()


SCENARIOS = {
    "main": sc_main,
    "auth": sc_auth,
    "starttls12": lambda a: sc_starttls(a, "1.2"),
    "starttls13": lambda a: sc_starttls(a, "1.3"),
    "imaps13": sc_imaps,
    "compress": sc_compress,
    "compress-tls": sc_compress_tls,
    "idle": sc_idle,
}


class Args:
    pass


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: scenarios.py {%s} HOST PLAIN_PORT TLS_PORT OUTPREFIX CAFILE"
                 % "|".join(SCENARIOS))
    a = Args()
    a.host, a.port, a.tls_port = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    a.prefix, a.cafile = sys.argv[5], sys.argv[6]
    SCENARIOS[sys.argv[1]](a)
    dump(a.prefix + ".transcript.json")


if __name__ == "__main__":
    main()
