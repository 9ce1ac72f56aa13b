#!/usr/bin/env python3
"""mkreport_corpus.py - a capture of many short IMAP connections for the
report test (issue 16): N connections, opened at a steady rate, several at
once, from many clients to three servers.

Each connection is either
  - a cleartext IMAP session on port 143, written here: greeting, LOGIN
    (a share of them first fails with NO [AUTHENTICATIONFAILED], then
    succeeds), SELECT, for a share a FETCH of one ENVELOPE (subject
    "Report test N"), for a share an unknown command (BAD), LOGOUT; or
  - (every --tls-every-th) a replay of the real implicit-TLS connection in
    captures/imaplib-imaps-tls13.pcap with new addresses and client port.

Latencies are set by the generator: LOGIN 5 ms + (n mod 40) ms, SELECT
1 ms, FETCH 2 ms, LOGOUT and BAD 0.5 ms, NO 20 ms.  Frames are Ethernet /
IPv4 / TCP with correct lengths; checksums are left zero (imapscope does
not verify them; loopback captures have none either).  Output is the same
for the same arguments.

Usage: mkreport_corpus.py --conns N [--tls-every K] [--fail-every F] -o OUT.pcap
"""
import argparse
import heapq
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETH_C2S = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
ETH_S2C = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10
SERVERS = [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes([10, 0, 0, 3])]


def client_addr(n):
    return bytes([172, 16 + (n >> 16) % 16, (n >> 8) & 255, n & 255 or 1])


def frame(c2s, src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    return (ETH_C2S if c2s else ETH_S2C) + ip + tcp + payload


def envelope(n):
    addr = b'(("Bob Example" NIL "bob" "example.org"))'
    return (b'* 1 FETCH (RFC822.SIZE 1234 ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "Report test %d" ' % n
            + addr + b" " + addr + b" " + addr + b' ((NIL NIL "alice" "example.org")) NIL NIL NIL "<m%d@example.org>"))\r\n' % n)


def cleartext_conn(n, t0, fail_every):
    """Yields (ts_us, frame) of connection n (ts increasing)."""
    cli, srv = client_addr(n), SERVERS[n % len(SERVERS)]
    cport, sport = 20000 + n % 40000, 143
    user = b"user%04d" % (n % 500)
    cs, ss = 1000 + n, 5000000 + n   # initial sequence numbers
    t = t0
    out = []

    def c(payload=b"", flags=PSH | ACK):
        nonlocal cs
        out.append((t, frame(True, cli, srv, cport, sport, cs, ss, flags, payload)))
        cs += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def s(payload=b"", flags=PSH | ACK):
        nonlocal ss
        out.append((t, frame(False, srv, cli, sport, cport, ss, cs, flags, payload)))
        ss += len(payload) + (1 if flags & (SYN | FIN) else 0)

    cs -= 1
    c(flags=SYN)
    t += 50
    ss -= 1
    s(flags=SYN | ACK)
    t += 50
    c(flags=ACK)
    t += 100
    s(b"* OK [CAPABILITY IMAP4rev1 LOGIN-REFERRALS] Report test server ready.\r\n")
    t += 300
    if fail_every and n % fail_every == 0:
        c(b"a0 LOGIN " + user + b" wrong\r\n")
        t += 20000
        s(b"a0 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        t += 300
    c(b"a1 LOGIN " + user + b" secret\r\n")
    t += 5000 + (n % 40) * 1000
    s(b"a1 OK Logged in\r\n")
    t += 200
    c(b"a2 SELECT INBOX\r\n")
    t += 1000
    s(b"* 3 EXISTS\r\n* FLAGS (\\Seen \\Answered)\r\na2 OK [READ-WRITE] Select completed.\r\n")
    t += 200
    if n % 3 == 0:
        c(b"a3 FETCH 1 (RFC822.SIZE ENVELOPE)\r\n")
        t += 2000
        s(envelope(n) + b"a3 OK Fetch completed.\r\n")
        t += 200
    if n % 7 == 0:
        c(b"a4 XYZZY\r\n")
        t += 500
        s(b"a4 BAD Error in IMAP command: Unknown command.\r\n")
        t += 200
    c(b"a5 LOGOUT\r\n")
    t += 500
    s(b"* BYE Logging out\r\na5 OK Logout completed.\r\n")
    t += 100
    s(flags=FIN | ACK)
    t += 50
    c(flags=FIN | ACK)
    t += 50
    s(flags=ACK)
    return out


def read_template(path):
    """The frames of the first connection of an Ethernet pcap, as
    (ts offset, frame, from_client)."""
    with open(path, "rb") as f:
        b = f.read()
    off, out, t0, server_port = 24, [], None, 993
    while off + 16 <= len(b):
        sec, usec, caplen, _ = struct.unpack("<IIII", b[off:off + 16])
        fr = b[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ts = sec * 1000000 + usec
        if t0 is None:
            t0 = ts
        ihl = (fr[14] & 15) * 4
        sport = struct.unpack("!H", fr[14 + ihl:14 + ihl + 2])[0]
        out.append((ts - t0, fr, sport != server_port, ihl))
    return out


def tls_conn(n, t0, tpl):
    cli, srv = client_addr(n), SERVERS[n % len(SERVERS)]
    cport = 20000 + n % 40000
    out = []
    for dt, fr, from_client, ihl in tpl:
        b = bytearray(fr)
        src, dst = (cli, srv) if from_client else (srv, cli)
        b[26:30], b[30:34] = src, dst
        p = 14 + ihl
        if from_client:
            b[p:p + 2] = struct.pack("!H", cport)
        else:
            b[p + 2:p + 4] = struct.pack("!H", cport)
        out.append((t0 + dt, bytes(b)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--tls-every", type=int, default=10)
    ap.add_argument("--fail-every", type=int, default=8)
    ap.add_argument("--gap-us", type=int, default=1000, help="time between connection starts")
    ap.add_argument("-o", required=True)
    a = ap.parse_args()
    tpl = read_template(os.path.join(ROOT, "captures", "imaplib-imaps-tls13.pcap"))
    base = 1767225600 * 1000000  # 2026-01-01T00:00:00Z
    heap = []  # (ts, seq, frames, index)
    seq = 0
    with open(a.o, "wb") as f:
        w = f.write
        w(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        n = 0
        while n < a.conns or heap:
            start = base + n * a.gap_us
            # open every connection that starts before the next frame due
            while n < a.conns and (not heap or start <= heap[0][0]):
                if a.tls_every and n % a.tls_every == a.tls_every - 1:
                    frames = tls_conn(n, start, tpl)
                else:
                    frames = cleartext_conn(n, start, a.fail_every)
                heapq.heappush(heap, (frames[0][0], seq, frames, 0))
                seq += 1
                n += 1
                start = base + n * a.gap_us
            ts, s, frames, i = heapq.heappop(heap)
            fr = frames[i][1]
            w(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
            w(fr)
            if i + 1 < len(frames):
                heapq.heappush(heap, (frames[i + 1][0], s, frames, i + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
