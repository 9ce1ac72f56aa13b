#!/usr/bin/env python3
"""rewrite_ports.py - copy a classic pcap (Ethernet, IPv4/IPv6, TCP) with
one TCP port renamed in both directions, the TCP checksum recomputed.

    rewrite_ports.py IN.pcap OUT.pcap OLD_PORT NEW_PORT

Used by tests/scripts/test_output_hygiene.py to make an IMAPS capture on a
port that is not 993.  Frames that are not Ethernet + IP + TCP, or that are
cut short (caplen < the TCP header), are copied as they are.
"""
import os
import struct
import sys

# the Internet checksum of the attack generator (RFC 1071), one copy
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "attack"))
from gen_attack import csum as _csum  # noqa: E402


def _rewrite_frame(fr, old, new):
    if len(fr) < 14:
        return fr
    et = struct.unpack("!H", fr[12:14])[0]
    ip = 14
    if et == 0x0800 and len(fr) >= ip + 20:
        ihl = (fr[ip] & 15) * 4
        if fr[ip + 9] != 6:
            return fr
        tot = struct.unpack("!H", fr[ip + 2:ip + 4])[0]
        t, end = ip + ihl, ip + tot
        pseudo = fr[ip + 12:ip + 20] + struct.pack("!BBH", 0, 6, tot - ihl)
    elif et == 0x86DD and len(fr) >= ip + 40:
        if fr[ip + 6] != 6:
            return fr  # extension headers: not in our captures
        plen = struct.unpack("!H", fr[ip + 4:ip + 6])[0]
        t, end = ip + 40, ip + 40 + plen
        pseudo = fr[ip + 8:ip + 40] + struct.pack("!IxxxB", plen, 6)
    else:
        return fr
    if len(fr) < end or end - t < 20:
        return fr
    b = bytearray(fr)
    sp, dp = struct.unpack("!HH", b[t:t + 4])
    if old not in (sp, dp):
        return fr
    struct.pack_into("!HH", b, t, new if sp == old else sp, new if dp == old else dp)
    struct.pack_into("!H", b, t + 16, 0)
    struct.pack_into("!H", b, t + 16, _csum(pseudo + bytes(b[t:end])))
    return bytes(b)


def rewrite(src, dst, old, new):
    """Copies src to dst with TCP port old renamed new; returns frames changed."""
    changed = 0
    with open(src, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        raise ValueError("%s: not a classic pcap file" % src)
    e = "<" if magic[0] in (0xd4, 0x4d) else ">"
    if struct.unpack(e + "I", data[20:24])[0] != 1:
        raise ValueError("%s: not Ethernet" % src)
    out = [data[:24]]
    off = 24
    while off + 16 <= len(data):
        cl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        fr = data[off + 16:off + 16 + cl]
        nf = _rewrite_frame(fr, old, new)
        changed += nf is not fr
        out.append(data[off:off + 16])
        out.append(nf)
        off += 16 + cl
    with open(dst, "wb") as f:
        f.write(b"".join(out))
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    n = rewrite(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print("%d frames rewritten" % n)
