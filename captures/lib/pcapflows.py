#!/usr/bin/env python3
"""Minimal pcap reader: TCP connections and their reassembled payloads.

usage: pcapflows.py FILE.pcap            one line per connection:
           CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT C2S_BYTES S2C_BYTES
       pcapflows.py --check-transcript FILE.pcap FILE.transcript.json
           compares every plaintext connection's reassembled payload with the
           transcript (exact bytes; after COMPRESS the deflate stream is
           inflated first); TLS connections are only matched by port.
           Prints "ok N" or the first difference and exits 1.

Classic pcap only (tcpdump -w), link types EN10MB, LINUX_SLL, NULL/LOOP and
RAW; IPv4 and IPv6.  The client is the side that sent the SYN.  Payload per
direction is reassembled by sequence number from the SYN's ISN: a
retransmitted or overlapping byte is counted once (first copy wins).
"""
import base64
import json
import re
import socket
import struct
import sys
import zlib


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    off = 24
    while off + 16 <= len(data):
        _ts, _tu, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break  # truncated last record
        yield linktype, data[off:off + incl]
        off += incl


def ip_payload(linktype, frame):
    """Return (src, dst, tcp_bytes) or None."""
    if linktype == 1:  # Ethernet
        if len(frame) < 14:
            return None
        etype, p = struct.unpack("!H", frame[12:14])[0], 14
        while etype == 0x8100 and len(frame) >= p + 4:
            etype, p = struct.unpack("!H", frame[p + 2:p + 4])[0], p + 4
    elif linktype == 113:  # Linux cooked
        if len(frame) < 16:
            return None
        etype, p = struct.unpack("!H", frame[14:16])[0], 16
    elif linktype == 0 or linktype == 108:  # NULL / LOOP: 4-byte family
        if len(frame) < 4:
            return None
        fam = struct.unpack("<I", frame[:4])[0]
        if fam > 0xFFFF:
            fam = struct.unpack(">I", frame[:4])[0]
        etype, p = (0x0800 if fam == 2 else 0x86DD), 4
    elif linktype in (101, 12, 14):  # RAW
        if not frame:
            return None
        etype, p = (0x0800 if frame[0] >> 4 == 4 else 0x86DD), 0
    else:
        return None
    if etype == 0x0800:
        if len(frame) < p + 20:
            return None
        ihl = (frame[p] & 0x0F) * 4
        total = struct.unpack("!H", frame[p + 2:p + 4])[0]
        if frame[p + 9] != 6 or ihl < 20:
            return None
        src = socket.inet_ntop(socket.AF_INET, frame[p + 12:p + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[p + 16:p + 20])
        end = min(len(frame), p + total) if total else len(frame)
        return src, dst, frame[p + ihl:end]
    if etype == 0x86DD:
        if len(frame) < p + 40 or frame[p + 6] != 6:
            return None  # extension headers not needed for our captures
        plen = struct.unpack("!H", frame[p + 4:p + 6])[0]
        src = socket.inet_ntop(socket.AF_INET6, frame[p + 8:p + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[p + 24:p + 40])
        return src, dst, frame[p + 40:p + 40 + plen]
    return None


class Conn:
    def __init__(self, client, server):
        self.client, self.server = client, server
        self.isn = {}       # endpoint -> ISN
        self.segs = {client: {}, server: {}}

    def stream(self, ep):
        """Reassembled bytes sent by endpoint ep (first copy of a byte wins)."""
        if ep not in self.isn:
            return b""
        buf = bytearray()
        for rel in sorted(self.segs[ep]):
            pay = self.segs[ep][rel]
            if rel > len(buf):
                break  # a hole: stop at the first gap
            if rel + len(pay) > len(buf):
                buf += pay[len(buf) - rel:]
        return bytes(buf)


def connections(path):
    conns, order = {}, []
    for linktype, frame in packets(path):
        r = ip_payload(linktype, frame)
        if r is None:
            continue
        src, dst, tcp = r
        if len(tcp) < 20:
            continue
        sport, dport, seq, _ack, offflags = struct.unpack("!HHIIH", tcp[:14])
        doff = (offflags >> 12) * 4
        flags = offflags & 0x3F
        payload = tcp[doff:]
        a, b = (src, sport), (dst, dport)
        key = (min(a, b), max(a, b))
        c = conns.get(key)
        if c is None:
            if not (flags & 0x02) or (flags & 0x10):
                continue  # only connections whose first SYN we saw
            c = conns[key] = Conn(a, b)
            order.append(c)
        if flags & 0x02:
            c.isn[a] = seq
            continue
        if a not in c.isn or not payload:
            continue
        rel = (seq - c.isn[a] - 1) & 0xFFFFFFFF
        if rel >= 0x80000000:
            continue
        old = c.segs[a].get(rel)
        if old is None or len(payload) > len(old):
            c.segs[a][rel] = payload
    return order


def inflate_after_compress(client, server):
    """Split both streams at COMPRESS DEFLATE's tagged OK (RFC 4978) and
    inflate what follows."""
    m = re.search(rb"(?m)^(\S+) COMPRESS DEFLATE\r\n", client)
    if not m:
        return client, server
    tag = m.group(1)
    mo = re.search(rb"(?m)^" + re.escape(tag) + rb" OK[^\n]*\n", server)
    if not mo:
        return client, server
    c_cut, s_cut = m.end(), mo.end()
    out = []
    for raw, cut in ((client, c_cut), (server, s_cut)):
        d = zlib.decompressobj(-15)
        out.append(raw[:cut] + d.decompress(raw[cut:]))
    return out[0], out[1]


def check_transcript(pcap, tjson):
    with open(tjson) as f:
        t = json.load(f)
    conns = {c.client[1]: c for c in connections(pcap)}
    n = 0
    for tc in t["connections"]:
        c = conns.get(tc["client_port"])
        if c is None:
            print("connection from port %d not in %s" % (tc["client_port"], pcap))
            return 1
        if c.server[1] != tc["server_port"]:
            print("port %d: server port %d, transcript %d" % (tc["client_port"], c.server[1], tc["server_port"]))
            return 1
        if tc["tls"] != "none":
            n += 1
            continue
        cl, sv = c.stream(c.client), c.stream(c.server)
        if tc["compress"]:
            cl, sv = inflate_after_compress(cl, sv)
        for name, got, want in (("client", cl, tc["client"]), ("server", sv, tc["server"])):
            want = base64.b64decode(want)
            if got != want:
                i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                         min(len(got), len(want)))
                print("port %d %s bytes differ at %d (pcap %d bytes, transcript %d): pcap %r transcript %r"
                      % (tc["client_port"], name, i, len(got), len(want), got[i:i + 40], want[i:i + 40]))
                return 1
        n += 1
    print("ok %d" % n)
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--check-transcript":
        sys.exit(check_transcript(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for c in connections(sys.argv[1]):
        print(c.client[0], c.client[1], c.server[0], c.server[1],
              len(c.stream(c.client)), len(c.stream(c.server)))


if __name__ == "__main__":
    main()
