#!/usr/bin/env python3
"""Capture scenarios for the detections across connections (issue 15).

usage: scenarios_detect.py NAME HOST PORT CAFILE

Real python imaplib sessions against the private dovecot of
captures/make-captures.sh (`--only detect`), one capture per scenario in
captures/detect/.  Users: alice/secret, bob/hunter2 and user01..user30
(password pw-userNN, added to the passwd file by the script).  Clients
bind to other loopback addresses (127.0.0.0/8) to stand for many hosts.
Every socket has a 10 s timeout.
"""
import imaplib
import socket
import ssl
import sys
import time

TIMEOUT = 10
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
imaplib.Commands.setdefault("MOVE", ("SELECTED",))


class Client(imaplib.IMAP4):
    """imaplib.IMAP4 from a chosen source address."""

    def __init__(self, host, port, src=None):
        self._src = src
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._src, 0) if self._src else None)


def attempt(a, user, password, src=None):
    """One connection, one LOGIN; True when it succeeded."""
    c = Client(a.host, a.port, src)
    try:
        c.login(user, password)
        ok = True
    except c.error:
        ok = False
    c.logout()
    return ok


def must(res, want="OK"):
    if res[0] != want:
        raise SystemExit("unexpected %s (wanted %s): %r" % (res[0], want, res))
    return res


def msg(i):
    return ("From: bulk@example.org\r\nTo: alice@example.org\r\nSubject: item %d\r\n"
            "Message-ID: <item-%d@example.org>\r\n\r\nbody %d\r\n" % (i, i, i)).encode()


def sc_bruteforce(a):
    # 50 failed logins for alice from one address (one connection each)
    for i in range(50):
        if attempt(a, "alice", "guess-%02d" % i):
            raise SystemExit("a guess was accepted")


def sc_after_failures(a):
    # 6 failures for bob (under auth_bruteforce's 10), then bob logs in
    for i in range(6):
        attempt(a, "bob", "wrong-%d" % i)
    if not attempt(a, "bob", "hunter2"):
        raise SystemExit("bob could not log in")


def sc_spray(a):
    # one client, one password, 30 users
    for i in range(1, 31):
        if attempt(a, "user%02d" % i, "Summer2024!"):
            raise SystemExit("spray password accepted")


def stuffing(a, pairs, pause):
    for k, (src, user, pw) in enumerate(pairs):
        attempt(a, user, pw, src)
        if pause and k + 1 < len(pairs):
            time.sleep(pause)


def sc_stuffing(a):
    # 20 addresses, 2 leaked pairs each, one right (user05)
    pairs = []
    for i in range(20):
        src = "127.0.0.%d" % (10 + i)
        for j in range(2):
            n = (i * 2 + j) % 30 + 1
            pw = "pw-user%02d" % n if n == 5 else "leaked-%d-%d" % (i, j)
            pairs.append((src, "user%02d" % n, pw))
    stuffing(a, pairs, 0)


def sc_stuffing_slow(a):
    # 12 addresses, 12 users, 1.5 s apart: under the threshold of any
    # window shorter than about 6 s
    pairs = [("127.0.0.%d" % (40 + i), "user%02d" % (i + 1), "leaked-slow-%d" % i) for i in range(12)]
    stuffing(a, pairs, 1.5)


def sc_bulk(a):
    c = Client(a.host, a.port)
    must(c.login("alice", "secret"))
    must(c.select("INBOX"))
    must(c.fetch("1:*", "(UID BODY.PEEK[])"))
    c.logout()


def sc_massdelete(a):
    c = Client(a.host, a.port)
    must(c.login("alice", "secret"))
    must(c.create("Purge"))
    for i in range(60):
        must(c.append("Purge", None, None, msg(i)))
    must(c.select("Purge"))
    must(c.store("1:*", "+FLAGS", "(\\Deleted)"))
    must(c.expunge())
    must(c.close())
    for i in range(1, 6):
        must(c.create("Old%d" % i))
    for i in range(1, 6):
        must(c.delete("Old%d" % i))
    must(c.delete("Purge"))
    c.logout()


def sc_massmove(a):
    c = Client(a.host, a.port)
    must(c.login("alice", "secret"))
    must(c.create("Src"))
    must(c.create("Stage"))
    for i in range(110):
        must(c.append("Src", None, None, msg(1000 + i)))
    must(c.select("Src"))
    must(c._simple_command("MOVE", "1:*", "Stage"))
    c.logout()


def sc_fingerprint(a):
    # alice twice from the same client (ID), then from another one
    for src, ident in (("127.0.0.1", '("name" "Thunderbird" "version" "115.3")'),
                       ("127.0.0.1", '("name" "Thunderbird" "version" "115.3")'),
                       ("127.0.0.7", '("name" "imapsync" "version" "2.229")')):
        c = Client(a.host, a.port, src)
        must(c._simple_command("ID", ident))
        must(c.login("alice", "secret"))
        must(c.select("INBOX"))
        c.logout()


def sc_starttls_offered(a):
    # the server offers STARTTLS: the client takes it
    c = Client(a.host, a.port, "127.0.0.2")
    must(c.capability())
    must(c.starttls(ssl.create_default_context(cafile=a.cafile)))
    must(c.login("alice", "secret"))
    c.logout()


def sc_starttls_absent(a):
    # the same address and port, STARTTLS not offered: LOGIN in clear
    c = Client(a.host, a.port, "127.0.0.3")
    caps = must(c.capability())[1][0]
    if b"STARTTLS" in caps:
        raise SystemExit("STARTTLS offered where it should not be")
    must(c.login("alice", "secret"))
    c.logout()


SCENARIOS = {
    "bruteforce": sc_bruteforce,
    "after-failures": sc_after_failures,
    "spray": sc_spray,
    "stuffing": sc_stuffing,
    "stuffing-slow": sc_stuffing_slow,
    "bulk": sc_bulk,
    "massdelete": sc_massdelete,
    "massmove": sc_massmove,
    "fingerprint": sc_fingerprint,
    "starttls-offered": sc_starttls_offered,
    "starttls-absent": sc_starttls_absent,
}


class Args:
    pass


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: scenarios_detect.py {%s} HOST PORT CAFILE" % "|".join(SCENARIOS))
    a = Args()
    a.host, a.port, a.cafile = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    SCENARIOS[sys.argv[1]](a)


if __name__ == "__main__":
    main()
