#!/usr/bin/env python3
"""make_seeds.py OUTDIR [CAPTURE_DIRS...] - seed corpora for every fuzz target.

Writes OUTDIR/<target>/<name> for the targets dissector, tls, keylog, reasm,
decode, inflate, pcap, in each target's input format (see the header comment
of fuzz/fuzz_<target>.c).  Sources: the pcap / pcapng files and key logs
found (not recursively beyond two levels) in the capture directories given
(default: captures/, tests/data/captures/public/, tests/data/vectors/), the
committed seeds in fuzz/corpus/<target>/, and a few synthetic inputs.
Nothing is downloaded; seeds are capped in size (16 KiB streams, 64 frames).
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))

DECODE_LINKS = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]   # fuzz_decode.c links[]
PCAP_LINKS = [1, 0, 12, 101, 108, 113, 228, 229, 276, 147]          # fuzz_pcap.c links[]
IMAP_PORTS = {143, 220, 993}
MAX_STREAM = 16384
MAX_FRAMES = 64


def read_capture(path):
    """Yields (linktype, ts_us, caplen, wirelen, data) for pcap and pcapng."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        return
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        lt = struct.unpack(e + "I", blob[20:24])[0] & 0xffff
        off = 24
        while off + 16 <= len(blob):
            s, us, cl, wl = struct.unpack(e + "IIII", blob[off:off + 16])
            off += 16
            if cl > 262144 or off + cl > len(blob):
                return
            yield lt, s * 1000000 + (us // 1000 if nano else us), cl, wl, blob[off:off + cl]
            off += cl
    elif magic == b"\x0a\x0d\x0d\x0a":
        off, e, links = 0, "<", []
        while off + 12 <= len(blob):
            if blob[off:off + 4] == b"\x0a\x0d\x0d\x0a":
                e = "<" if blob[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            btype, blen = struct.unpack(e + "II", blob[off:off + 8])
            if blen < 12 or off + blen > len(blob):
                return
            body = blob[off + 8:off + blen - 4]
            if btype == 1 and len(body) >= 2:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, hi, lo, cl, wl = struct.unpack(e + "IIIII", body[:20])
                if iface < len(links):
                    yield links[iface], ((hi << 32) | lo), cl, wl, body[20:20 + cl]
            off += blen


def ip_of(lt, d):
    """The IP packet inside a frame of link type lt, or None."""
    if lt == 1:
        off, et = 12, None
        while off + 2 <= len(d):
            et = struct.unpack(">H", d[off:off + 2])[0]
            if et in (0x8100, 0x88a8):
                off += 4
                continue
            off += 2
            break
        return d[off:] if et in (0x0800, 0x86dd) else None
    if lt in (0, 108):
        return d[4:]
    if lt in (12, 14, 101, 228, 229):
        return d
    if lt == 113:
        return d[16:]
    if lt == 276:
        return d[20:]
    return None


def tcp_of(ip):
    """(src, dst, sport, dport, seq, flags, payload) or None."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0] or len(ip)
        if ip[9] != 6:
            return None
        src, dst, t = ip[12:16], ip[16:20], ip[ihl:tot]
    elif v == 6 and len(ip) >= 40:
        if ip[6] != 6:
            return None
        src, dst, t = ip[8:24], ip[24:40], ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if len(t) < 20:
        return None
    sp, dp, seq = struct.unpack(">HHI", t[:8])
    doff = (t[12] >> 4) * 4
    return src, dst, sp, dp, seq, t[13], t[doff:]


def streams(path):
    """{(conn, dir): bytes} with dir 1 = server -> client, naive seq order."""
    segs = {}
    for lt, _ts, _cl, _wl, d in read_capture(path):
        t = tcp_of(ip_of(lt, d))
        if not t or not t[6]:
            continue
        src, dst, sp, dp, seq, _fl, pl = t
        server = sp in IMAP_PORTS or (dp not in IMAP_PORTS and pl[:2] == b"* ")
        key = (tuple(sorted([(src, sp), (dst, dp)])), 1 if server else 0)
        segs.setdefault(key, {}).setdefault(seq, pl)
    out = {}
    for (conn, d), m in segs.items():
        data = b"".join(m[s] for s in sorted(m))
        out.setdefault(conn, {})[d] = data[:MAX_STREAM]
    return out


def chunk_records(conv, gap_ok):
    """Interleaves client/server pieces as ctl byte (bit 7 server, len) + bytes."""
    out = bytearray()
    pos = {0: 0, 1: 0}
    turn = 1 if conv.get(1, b"")[:1] == b"*" else 0
    while pos[0] < len(conv.get(0, b"")) or pos[1] < len(conv.get(1, b"")):
        d = turn
        data = conv.get(d, b"")
        if pos[d] >= len(data):
            turn ^= 1
            continue
        n = min(127, len(data) - pos[d])
        nl = data.find(b"\n", pos[d], pos[d] + n)
        if nl >= 0:
            n = nl + 1 - pos[d]
            turn ^= 1
        out.append((0x80 if d else 0) | n)
        out += data[pos[d]:pos[d] + n]
        pos[d] += n
    return bytes(out)


def captures(dirs):
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            if root.count(os.sep) - d.count(os.sep) > 2:
                continue
            for f in sorted(files):
                if f.endswith((".pcap", ".pcapng", ".cap")):
                    yield os.path.join(root, f)


def keylogs(dirs):
    for d in dirs:
        for root, _s, files in os.walk(d):
            for f in sorted(files):
                if f.endswith((".keys", ".keylog", ".keylog.txt")) or f == "keylog.txt":
                    yield os.path.join(root, f)


def write(outdir, target, name, data):
    p = os.path.join(outdir, target)
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, name), "wb") as f:
        f.write(data)


def synthetic_reasm():
    def rec(ctl, seq, length, ack=None, payload=None, absolute=False):
        b = bytes([ctl | (0x40 if ack is not None else 0) | (0x20 if absolute else 0) | (0x10 if payload is not None else 0)])
        b += struct.pack("<I" if absolute else "<H", seq)
        if ack is not None:
            b += struct.pack("<H", ack)
        b += bytes([length])
        return b + (payload or b"")
    cfg = bytes([32, 8, 64, 0x01])
    hs = rec(0x02, 0, 0) + rec(0x82, 0, 0, ack=1) + rec(0x00, 1, 0, ack=1)
    yield "inorder", cfg + hs + rec(0x00, 1, 2, ack=1) + rec(0x80, 1, 3, ack=75) + rec(0x01, 75, 0)
    yield "ooo", cfg + hs + rec(0x00, 75, 2) + rec(0x00, 1, 2) + rec(0x00, 149, 1, ack=1)
    yield "overlap", cfg + hs + rec(0x00, 1, 10, payload=b"HELLOWORLD") + rec(0x00, 5, 10, payload=b"XXXXXXXXXX")
    yield "gap_ack", cfg + hs + rec(0x00, 300, 3) + rec(0x80, 1, 1, ack=2000) + rec(0x08, 0, 0)
    yield "caps", bytes([0, 1, 0, 0x21]) + hs + b"".join(rec(0x00, 100 + 200 * i, 4) for i in range(10))
    yield "wrap", cfg + rec(0x82, 0xfff0, 0, absolute=True) + rec(0x80, 0xfff1, 3, absolute=True) + rec(0x84, 0, 0)
    yield "midstream_fin", cfg + rec(0x00, 500, 2) + rec(0x01, 574, 0) + rec(0x00, 600, 1) + rec(0x02, 9, 0)


def synthetic_inflate():
    text = b"".join(b"* %d FETCH (FLAGS (\\Seen) UID %d)\r\n" % (i, i + 100) for i in range(200))
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    s = c.compress(b"a1 NOOP\r\n") + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
    yield "imap_sync", bytes([0]) + s
    yield "imap_ratio", bytes([3]) + s
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield "bomb", bytes([2]) + c.compress(b"\0" * (4 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
    c = zlib.compressobj(0, zlib.DEFLATED, -15)
    yield "stored_final", bytes([1]) + c.compress(b"a2 LOGOUT\r\n") + c.flush(zlib.Z_FINISH) + b"junk"
    c = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    yield "fixed", bytes([4]) + c.compress(text[:500]) + c.flush(zlib.Z_FULL_FLUSH)


def main():
    outdir = sys.argv[1]
    dirs = sys.argv[2:] or [os.path.join(ROOT, "captures"), os.path.join(SHARED, "captures", "public"),
                            os.path.join(SHARED, "vectors")]
    dirs = [d for d in dirs if os.path.isdir(d)]
    n = 0
    for path in captures(dirs):
        base = os.path.basename(path).replace(".", "_")
        frames = []
        try:
            for i, fr in enumerate(read_capture(path)):
                if i >= MAX_FRAMES:
                    break
                frames.append(fr)
        except (struct.error, IndexError):
            pass
        if frames:
            lt = frames[0][0]
            if lt in DECODE_LINKS:
                body = b"".join(struct.pack("<HH", min(len(d), 65535), min(max(wl - len(d), 0), 0x7fff)) + d[:65535]
                                for _l, _t, _c, wl, d in frames if _l == lt)
                write(outdir, "decode", base, bytes([DECODE_LINKS.index(lt), 0]) + body)
            if lt in PCAP_LINKS:
                body = b"".join(struct.pack("<HBB", min(len(d), 65535), 8, min(max(wl - len(d), 0), 254)) + d[:65535]
                                for _l, _t, _c, wl, d in frames if _l == lt)
                write(outdir, "pcap", base, bytes([0x01, PCAP_LINKS.index(lt)]) + body)
                write(outdir, "pcap", base + "_text_rand", bytes([0x0c, PCAP_LINKS.index(lt)]) + body)
        try:
            conns = streams(path)
        except (struct.error, IndexError):
            conns = {}
        for i, conv in enumerate(list(conns.values())[:4]):
            recs = chunk_records(conv, True)
            if not recs:
                continue
            first = conv.get(0, b"")[:1] + conv.get(1, b"")[:1]
            if b"\x16" in first:
                write(outdir, "tls", "%s_%d" % (base, i), bytes([0]) + recs)
                write(outdir, "tls", "%s_%d_bytes" % (base, i), bytes([4]) + recs[:4096])
            else:
                write(outdir, "dissector", "%s_%d" % (base, i), bytes([0x02]) + recs)
        n += 1
    for path in keylogs(dirs):
        with open(path, "rb") as f:
            write(outdir, "keylog", os.path.basename(path).replace(".", "_"), f.read(8192))
    for name, data in synthetic_reasm():
        write(outdir, "reasm", name, data)
    for name, data in synthetic_inflate():
        write(outdir, "inflate", name, data)
    committed = os.path.join(HERE, "corpus")
    if os.path.isdir(committed):
        for t in os.listdir(committed):
            for f in os.listdir(os.path.join(committed, t)):
                with open(os.path.join(committed, t, f), "rb") as fp:
                    write(outdir, t, "committed_" + f, fp.read())
    print("make_seeds: %d captures -> %s" % (n, outdir))


if __name__ == "__main__":
    main()
