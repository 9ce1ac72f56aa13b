#!/usr/bin/env python3
"""gen_attack.py OUTDIR [CASE...] - hostile captures for tests/scripts/test_attack.py.

Every file is generated (nothing committed), bounded in size:
  syn_flood.pcap        1,000,000 SYNs from distinct source address/port pairs
                        to port 143 (LINKTYPE_RAW, 40-byte packets, ~56 MB)
  imap_flood.pcap       5,000 IMAP connections left open, each mid-line
  huge_literal.pcap     APPEND announcing a 4 GiB literal {4294967296}, then
                        2 KB of data and FIN
  endless_line.pcap     a client "line" of 16 MiB with no CRLF
  deflate_bomb.pcap     COMPRESS DEFLATE accepted, then ~160 KB of DEFLATE that
                        inflates to 160 MiB
  pending_tags.pcap     10,000 tagged NOOPs, no tagged response
  ooo_hold.pcap         200 flows, each a 100-byte hole then 64 KiB out of order
  tls_oversize.pcap     TLS on 993: a 16 MiB handshake message announced, a
                        record of 65535 bytes
  big.keys              a 4.7 MB key log
  overlap_conflict.pcap a LOGIN sent twice at the same sequence numbers with
                        different bytes (first copy: alice; second: mallory)
  header_extremes.pcap  every header field at its extremes (see extremes())
  damaged/*.pcap        a real-looking capture truncated at many offsets,
                        wrong magic, absurd snap length, caplen > len,
                        caplen > snaplen, zero-length packets, timestamps
                        going backwards
"""
import os
import struct
import sys
import zlib

ETH = 1
RAW = 101


class Pcap:
    def __init__(self, path, linktype=ETH, snaplen=262144, magic=0xa1b2c3d4):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.ts = 1700000000 * 1000000

    def add(self, frame, ts=None, caplen=None, wirelen=None):
        if ts is None:
            self.ts += 1000
            ts = self.ts
        cl = len(frame) if caplen is None else caplen
        wl = len(frame) if wirelen is None else wirelen
        self.f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, cl, wl))
        self.f.write(frame)

    def close(self):
        self.f.close()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(src, dst, proto, payload, ttl=64, ident=1, frag=0x4000, opts=b"", tot=None, ihl=None):
    ihl = ihl if ihl is not None else 5 + len(opts) // 4
    tot = tot if tot is not None else 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot & 0xffff, ident, frag, ttl, proto, 0,
                    bytes(src), bytes(dst)) + opts
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", win=65535, opts=b"", doff=None, urg=0):
    doff = doff if doff is not None else 5 + len(opts) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                       doff << 4, flags, win, 0, urg) + opts + payload


def eth(payload, et=0x0800):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", et) + payload


FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32
CLI, SRV = (10, 0, 0, 1), (10, 0, 0, 2)


class Conv:
    """One TCP connection written to a Pcap: handshake, data both ways, FIN."""

    def __init__(self, pcap, cport=40000, sport=143, cli=CLI, srv=SRV):
        self.p, self.cport, self.sport, self.cli, self.srv = pcap, cport, sport, cli, srv
        self.cseq, self.sseq = 1000, 5000
        self.pkt(0, SYN, b"", self.cseq - 1)
        self.pkt(1, SYN | ACK, b"", self.sseq - 1)
        self.pkt(0, ACK, b"")

    def pkt(self, d, flags, data, seq=None):
        if d == 0:
            seg = tcp(self.cport, self.sport, self.cseq if seq is None else seq, self.sseq, flags | (0 if flags == SYN else 0), data)
            self.p.add(eth(ipv4(self.cli, self.srv, 6, seg)))
        else:
            seg = tcp(self.sport, self.cport, self.sseq if seq is None else seq, self.cseq, flags, data)
            self.p.add(eth(ipv4(self.srv, self.cli, 6, seg)))

    def send(self, d, data, mss=1400):
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            self.pkt(d, PSH | ACK, chunk)
            if d == 0:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)

    def close(self):
        self.pkt(0, FIN | ACK, b"")
        self.cseq += 1
        self.pkt(1, FIN | ACK, b"")
        self.sseq += 1
        self.pkt(0, ACK, b"")


GREETING = b"* OK [CAPABILITY IMAP4rev1 LITERAL+ COMPRESS=DEFLATE] ready\r\n"


def syn_flood(path, n=1000000):
    p = Pcap(path, RAW)
    tmpl = bytearray(ipv4((10, 0, 0, 0), SRV, 6, tcp(1, 143, 0, 0, SYN, win=1024)))
    rec = bytearray(16 + len(tmpl))
    struct.pack_into("<II", rec, 8, len(tmpl), len(tmpl))
    ts = 1700000000
    w = p.f.write
    for i in range(n):
        # source 10.x.y.z (distinct), source port from i, seq from i
        tmpl[12:16] = struct.pack("!I", 0x0a000000 | (i >> 4))
        struct.pack_into("!H", tmpl, 20, 1024 + (i & 15) * 1000)
        struct.pack_into("!I", tmpl, 24, (i * 7919) & 0xffffffff)
        struct.pack_into("<II", rec, 0, ts + i // 100000, (i % 100000) * 10)
        rec[16:] = tmpl
        w(rec)
    p.close()


def open_conns(path, n, net, line_bytes):
    """n IMAP connections that never end, from distinct clients 10.net.x.y:
    the greeting, a command, then a line of line_bytes bytes not yet
    ended."""
    p = Pcap(path)
    for i in range(n):
        c = Conv(p, cport=1024 + (i % 50000), cli=(10, net, (i >> 8) & 255, i & 255))
        c.send(1, GREETING)
        c.send(0, b"a1 NOOP\r\na2 LOGIN " + b"A" * line_bytes)
    p.close()


def imap_flood(path, n=5000):
    open_conns(path, n, 1, 2000)


def imap_long_lines(path, n=2000, size=60000):
    """Every session would hold a 64 KiB line buffer (n x 64 KiB in all)
    without the shared dissector budget."""
    open_conns(path, n, 2, size)


def huge_literal(path):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    c.send(0, b"a1 LOGIN alice secret\r\n")
    c.send(1, b"a1 OK done\r\n")
    c.send(0, b"a2 APPEND INBOX {4294967296}\r\n")
    c.send(1, b"+ go ahead\r\n")
    c.send(0, b"From: x\r\n" + b"y" * 2000)
    c.close()
    p.close()


def endless_line(path, size=16 << 20):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    c.send(0, b"a1 LOGIN " + b"A" * (size - 9))
    c.close()
    p.close()


def deflate_bomb(path, inflated=160 << 20):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    c.send(0, b"a0 LOGIN alice secret\r\n")
    c.send(1, b"a0 OK done\r\n")
    c.send(0, b"a1 COMPRESS DEFLATE\r\n")
    c.send(1, b"a1 OK DEFLATE active\r\n")
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"a2 NOOP " + b"A" * (1 << 20)
    out = bytearray()
    for _ in range(inflated // len(block)):
        out += z.compress(block)
    out += z.flush(zlib.Z_SYNC_FLUSH)
    c.send(0, bytes(out))
    c.close()
    p.close()
    return len(out)


def pending_tags(path, n=10000):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    c.send(0, b"".join(b"t%d NOOP\r\n" % i for i in range(n)))
    c.close()
    p.close()


def ooo_hold(path, flows=200, per_flow=64 << 10):
    """Every flow leaves a hole at its first byte and sends per_flow bytes
    after it: out-of-order data the reassembler would have to hold."""
    p = Pcap(path)
    for i in range(flows):
        c = Conv(p, cport=20000 + i)
        c.send(1, GREETING)
        c.cseq += 100                        # the hole
        c.send(0, b"x" * per_flow)
    p.close()


def tls_oversize(path):
    """Implicit TLS (port 993): one connection whose client announces a
    handshake message of 16 MiB and sends 1 MiB of it in 16 KiB records;
    another whose first record claims 65535 bytes (over 2^14 + 2048)."""
    p = Pcap(path)
    c = Conv(p, cport=41000, sport=993)
    body = b"\x01\xff\xff\xff" + b"\x03\x03" + b"\x00" * (16384 - 6)
    recs = b"\x16\x03\x01" + struct.pack("!H", len(body)) + body
    filler = b"\x16\x03\x03" + struct.pack("!H", 16384) + b"\x00" * 16384
    c.send(0, recs + filler * 63)
    c.close()
    c = Conv(p, cport=41001, sport=993)
    c.send(0, b"\x16\x03\x03\xff\xff" + b"\x00" * 65535 + filler)
    c.close()
    p.close()


def keylog_big(path, lines=40000):
    """A 4.7 MB key log (CLIENT_RANDOM lines) for --key-log-max."""
    with open(path, "w") as f:
        for i in range(lines):
            f.write("CLIENT_RANDOM %064x %096x\n" % (i, i))


def overlap_conflict(path):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    first = b"a1 LOGIN alice secret1\r\n"
    second = b"a1 LOGIN mallory xxxxx\r\n"
    assert len(first) == len(second)
    c.pkt(0, PSH | ACK, first)
    c.pkt(0, PSH | ACK, second)      # same sequence numbers, other bytes
    c.cseq += len(first)
    # half overlapping the held/delivered bytes, plus new in-order bytes
    c.pkt(0, PSH | ACK, b"XXXX" + b"a2 NOOP\r\n", seq=c.cseq - 4)
    c.cseq += 9
    c.send(1, b"a1 OK LOGIN done\r\na2 OK NOOP done\r\n")
    c.close()
    p.close()


def extremes(path):
    """Every header field at its extremes, each in a packet of its own."""
    p = Pcap(path)
    c = Conv(p, cport=65535, sport=143)
    c.send(1, GREETING)
    c.send(0, b"a1 NOOP\r\n")
    s, d = (255, 255, 255, 255), (0, 0, 0, 0)
    pay = b"a2 NOOP\r\n"
    frames = [
        eth(ipv4(CLI, SRV, 6, tcp(0, 0, 0, 0, 0xff, pay, win=0, urg=0xffff))),                 # ports 0, all flags
        eth(ipv4(s, d, 6, tcp(65535, 65535, 0xffffffff, 0xffffffff, SYN | FIN | RST, pay))),
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay), ttl=0, ident=0xffff, frag=0xffff)),  # MF, offset max
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay), opts=b"\x01" * 40)),                 # IHL 15
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay, opts=b"\x02\x00" * 20))),            # data offset 15, bad option lengths
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay, doff=15))),                           # data offset beyond segment
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay, doff=0))),
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay), tot=65535)),                         # total length beyond frame
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay), tot=0)),                             # total length 0 (TSO)
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay), ihl=0)),
        eth(ipv4(CLI, SRV, 255, pay, ttl=255)),                                                 # protocol 255
        eth(b"\x60\0\0\0\0\0\x06\0" + bytes(16) + b"\xff" * 16 + tcp(1, 143, 1, 1, ACK, pay), 0x86dd),  # IPv6 payload length 0, hop 0
        eth(b"\x6f\xff\xff\xff\xff\xff\x2c\xff" + b"\xff" * 32 + b"\x06\x00\xff\xff\xff\xff\xff\xff" + tcp(1, 143, 1, 1, ACK, pay), 0x86dd),
        eth(b"\x0f\xff\x81\x00" * 12 + b"\x0f\xff\x08\x00" + ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay)), 0x8100),  # 13 VLAN tags
        eth(b"\x00\x00\x00\xff" * 11 + b"\x00\x00\x01\xff" + ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay)), 0x8847),  # 12 MPLS labels
        eth(ipv4(CLI, SRV, 4, ipv4(CLI, SRV, 4, ipv4(CLI, SRV, 4, ipv4(CLI, SRV, 4, ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay))))))),  # tunnel depth 4
        eth(b""), b"", b"\xff" * 13, eth(b"\x45"),                                              # empty / cut frames
        eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, b"\xff" * 1400), frag=0x2000 | 8191)),     # fragment past 65535
    ]
    for f in frames:
        p.add(f)
    p.add(eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay))), wirelen=0)                        # wire length 0 < caplen
    p.add(eth(ipv4(CLI, SRV, 6, tcp(1, 143, 1, 1, ACK, pay))), wirelen=0xffffffff)               # wire length huge
    c.send(0, b"a3 LOGOUT\r\n")
    c.close()
    p.close()


def base_capture(path):
    p = Pcap(path)
    c = Conv(p)
    c.send(1, GREETING)
    c.send(0, b"a1 LOGIN alice secret\r\n")
    c.send(1, b"a1 OK done\r\n")
    c.send(0, b"a2 SELECT INBOX\r\n")
    c.send(1, b"* 3 EXISTS\r\na2 OK [READ-WRITE] done\r\n")
    c.send(0, b"a3 LOGOUT\r\n")
    c.send(1, b"* BYE\r\na3 OK bye\r\n")
    c.close()
    p.close()


def damaged(outdir):
    os.makedirs(outdir, exist_ok=True)
    base = os.path.join(outdir, "base.pcap")
    base_capture(base)
    blob = open(base, "rb").read()
    out = {}
    # truncated anywhere: inside the file header, record headers, and data
    for cut in sorted(set([0, 1, 4, 23, 24, 25, 30, 39, 40, 41, 60] + list(range(100, len(blob), max(1, len(blob) // 40))))):
        out["trunc_%05d.pcap" % cut] = blob[:cut]
    out["wrong_magic.pcap"] = b"\xde\xad\xbe\xef" + blob[4:]
    out["pcapng_garbage.pcap"] = b"\x0a\x0d\x0d\x0a" + b"\xff" * 100
    out["absurd_snaplen.pcap"] = blob[:16] + struct.pack("<I", 0xffffffff) + blob[20:]
    out["zero_snaplen.pcap"] = blob[:16] + struct.pack("<I", 0) + blob[20:]
    out["bad_linktype.pcap"] = blob[:20] + struct.pack("<I", 0xfffe) + blob[24:]
    # record tweaks on the first data packet (record 4: greeting)
    recs, off = [], 24
    while off + 16 <= len(blob):
        cl = struct.unpack("<I", blob[off + 8:off + 12])[0]
        recs.append((off, cl))
        off += 16 + cl
    o4, cl4 = recs[3]

    def with_rec(i, ts=None, cl=None, wl=None, data=None):
        o, c = recs[i]
        sec, us, c0, w0 = struct.unpack("<IIII", blob[o:o + 16])
        hdr = struct.pack("<IIII", sec if ts is None else ts, us, c0 if cl is None else cl, w0 if wl is None else wl)
        body = blob[o + 16:o + 16 + c] if data is None else data
        return blob[:o] + hdr + body + blob[o + 16 + c:]
    out["caplen_gt_len.pcap"] = with_rec(3, wl=10)
    out["caplen_gt_snaplen.pcap"] = with_rec(3, cl=0x7fffffff)
    out["caplen_huge_small_snap.pcap"] = blob[:16] + struct.pack("<I", 96) + with_rec(3, cl=300000)[20:]
    out["zero_length_packets.pcap"] = b"".join([blob[:o4], struct.pack("<IIII", 1700000000, 0, 0, 0) * 5, blob[o4:]])
    zl = bytearray(blob)
    for o, c in recs:
        struct.pack_into("<I", zl, o + 12, 0)
    out["wirelen_zero_all.pcap"] = bytes(zl)
    back = bytearray(blob)
    for i, (o, c) in enumerate(recs):
        struct.pack_into("<I", back, o, 1800000000 - i * 1000)
    out["timestamps_backwards.pcap"] = bytes(back)
    out["timestamp_zero.pcap"] = with_rec(2, ts=0)
    out["timestamp_max.pcap"] = with_rec(5, ts=0xffffffff)
    for name, data in out.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return sorted(out)


CASES = {
    "syn_flood": lambda d: syn_flood(os.path.join(d, "syn_flood.pcap")),
    "imap_flood": lambda d: imap_flood(os.path.join(d, "imap_flood.pcap")),
    "imap_long_lines": lambda d: imap_long_lines(os.path.join(d, "imap_long_lines.pcap")),
    "huge_literal": lambda d: huge_literal(os.path.join(d, "huge_literal.pcap")),
    "endless_line": lambda d: endless_line(os.path.join(d, "endless_line.pcap")),
    "deflate_bomb": lambda d: deflate_bomb(os.path.join(d, "deflate_bomb.pcap")),
    "pending_tags": lambda d: pending_tags(os.path.join(d, "pending_tags.pcap")),
    "ooo_hold": lambda d: ooo_hold(os.path.join(d, "ooo_hold.pcap")),
    "tls_oversize": lambda d: tls_oversize(os.path.join(d, "tls_oversize.pcap")),
    "keylog_big": lambda d: keylog_big(os.path.join(d, "big.keys")),
    "overlap_conflict": lambda d: overlap_conflict(os.path.join(d, "overlap_conflict.pcap")),
    "header_extremes": lambda d: extremes(os.path.join(d, "header_extremes.pcap")),
    "base": lambda d: base_capture(os.path.join(d, "base.pcap")),
    "damaged": lambda d: damaged(os.path.join(d, "damaged")),
}

if __name__ == "__main__":
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name in sys.argv[2:] or CASES:
        CASES[name](outdir)
