#!/usr/bin/env python3
"""mkcorpus.py - the benchmark corpus: real IMAP sessions replayed many times.

Reads the project's real plaintext captures (classic pcap, Ethernet), takes
every complete TCP connection to port 143 (three-way handshake seen), and
writes a pcap in which those connections are replayed as N instances, each
with its own client address and port and its own initial sequence numbers,
C of them open at once.

Shapes:
  lo   every packet as captured on loopback (large segments, the original
       pure ACKs), sequence and acknowledgment numbers rebased;
  mtu  Ethernet MTU 1500: every payload longer than 1448 bytes (MSS with
       TCP timestamps) is split into 1448-byte segments, and the receiver
       ACKs every second full segment (delayed ACK, RFC 1122 4.2.3.2).

Scheduling: C slots; each slot runs its share of the N instances back to
back, in its own (seeded) random order of templates.  Every slot's timeline
is [0, 1), cut among its connections in proportion to their packet counts,
and packets are merged by that virtual time, so all slots open at once and
stay busy to the end: C connections are open during the whole file.  The
pcap timestamps increase strictly and follow a 1 Gbit/s line rate (at least
1 us per frame).  IPv4 header and TCP checksums are correct.

The same (--conns, --seed, inputs) gives the same instances whatever C is,
so two corpora that differ only in C hold exactly the same bytes.

Usage:
  mkcorpus.py --shape lo|mtu --concurrency C (--conns N | --mb MB)
              [--seed S] [--max-template-bytes B] [--list] -o OUT.pcap INPUT.pcap...
"""
import argparse
import heapq
import random
import struct
import sys

MSS = 1448
ETH_HDR = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
ETH_HDR_S2C = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
LINE_RATE_NS_PER_BYTE = 8  # 1 Gbit/s


# ---- reading --------------------------------------------------------------

def read_pcap(path):
    """Yields (ts_us, frame bytes) of a classic pcap; stops at a damaged record."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 24:
        raise ValueError("%s: not a pcap" % path)
    magic = struct.unpack("<I", b[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap (pcapng is not read here)" % path)
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(e + "I", b[20:24])[0] & 0x0FFFFFFF
    if linktype != 1:
        raise ValueError("%s: link type %d, only Ethernet (1) is read" % (path, linktype))
    off = 24
    while off + 16 <= len(b):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        if caplen > 262144 or off + caplen > len(b) or caplen != wirelen:
            return
        yield sec * 1000000 + (frac // 1000 if nano else frac), b[off:off + caplen]
        off += caplen


def parse_tcp(frame):
    """(src, dst, sport, dport, seq, ack, flags, win, payload) or None."""
    p = 12
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[p:p + 2])[0]
    p += 2
    while et == 0x8100 and len(frame) >= p + 4:
        et = struct.unpack("!H", frame[p + 2:p + 4])[0]
        p += 4
    if et == 0x0800:
        if len(frame) < p + 20 or frame[p] >> 4 != 4:
            return None
        ihl = (frame[p] & 15) * 4
        tot = struct.unpack("!H", frame[p + 2:p + 4])[0]
        frag = struct.unpack("!H", frame[p + 6:p + 8])[0]
        if frame[p + 9] != 6 or frag & 0x3FFF or tot < ihl or len(frame) < p + tot:
            return None
        src, dst = frame[p + 12:p + 16], frame[p + 16:p + 20]
        seg = frame[p + ihl:p + tot]
    elif et == 0x86DD:
        if len(frame) < p + 40 or frame[p + 6] != 6:
            return None
        plen = struct.unpack("!H", frame[p + 4:p + 6])[0]
        src, dst = frame[p + 8:p + 24], frame[p + 24:p + 40]
        seg = frame[p + 40:p + 40 + plen]
    else:
        return None
    if len(seg) < 20:
        return None
    sport, dport, seq, ack, offflags, win = struct.unpack("!HHIIHH", seg[:16])
    doff = (offflags >> 12) * 4
    if doff < 20 or doff > len(seg):
        return None
    return src, dst, sport, dport, seq, ack, offflags & 0x3F, win, bytes(seg[doff:])


class Template:
    """One real connection: packets as (from_client, flags, seq_rel, ack_rel,
    win, payload), relative sequence numbers (the SYN is 0 each way), and
    the client's port in the source capture."""

    def __init__(self, name, pkts, client_port=None):
        self.name = name
        self.pkts = pkts
        self.client_port = client_port


def extract_templates(paths, server_port=143):
    out = []
    for path in paths:
        conns = {}
        order = []
        for _ts, frame in read_pcap(path):
            t = parse_tcp(frame)
            if not t:
                continue
            src, dst, sport, dport, seq, ack, flags, win, payload = t
            if server_port not in (sport, dport):
                continue
            key = (min((src, sport), (dst, dport)), max((src, sport), (dst, dport)))
            if key not in conns:
                conns[key] = []
                order.append(key)
            conns[key].append(t)
        for key in order:
            pk = conns[key]
            syn = [t for t in pk if t[6] & SYN and not t[6] & ACK]
            synack = [t for t in pk if t[6] & SYN and t[6] & ACK]
            if not syn or not synack:
                continue  # no handshake: cannot be replayed faithfully
            cli = (syn[0][0], syn[0][2])
            isn = {True: syn[0][4], False: synack[0][4]}
            rel = []
            seen_syn = False
            for src, dst, sport, dport, seq, ack, flags, win, payload in pk:
                fc = (src, sport) == cli
                if flags & SYN and not flags & ACK:
                    if seen_syn:
                        break  # port reuse: a second connection, not replayed
                    seen_syn = True
                if not seen_syn:
                    continue
                rel.append((fc, flags, (seq - isn[fc]) & 0xFFFFFFFF,
                            (ack - isn[not fc]) & 0xFFFFFFFF if flags & ACK else 0,
                            win, payload))
            name = "%s#%d" % (path.rsplit("/", 1)[-1], len([t for t in out if t.name.startswith(path.rsplit("/", 1)[-1])]))
            out.append(Template(name, rel, cli[1]))
    return out


# ---- shapes ------------------------------------------------------------------

def shape_mtu(pkts):
    """Splits payloads longer than MSS; the receiver ACKs every second full
    segment of a split."""
    out = []
    for fc, flags, seq, ack, win, payload in pkts:
        if len(payload) <= MSS:
            out.append((fc, flags, seq, ack, win, payload))
            continue
        n = (len(payload) + MSS - 1) // MSS
        for i in range(n):
            piece = payload[i * MSS:(i + 1) * MSS]
            last = i == n - 1
            fl = flags if last else (flags & ~(FIN | PSH))
            s = (seq + i * MSS) & 0xFFFFFFFF
            out.append((fc, fl, s, ack, win, piece))
            if not last and i % 2 == 1:
                out.append((not fc, ACK, ack, (s + len(piece)) & 0xFFFFFFFF, 65535, b""))
    return out


def csum_words(data):
    """Sum of the 16-bit big-endian words of data (odd length padded)."""
    if len(data) & 1:
        data = data + b"\x00"
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Prepared:
    """A template ready to stamp: per packet, the constant parts and the
    partial checksum of its payload."""

    def __init__(self, tpl, shape):
        pk = shape_mtu(tpl.pkts) if shape == "mtu" else tpl.pkts
        self.name = tpl.name
        self.pkts = [(fc, flags, seq, ack, win, payload, csum_words(payload)) for
                     fc, flags, seq, ack, win, payload in pk]
        self.n = len(self.pkts)
        self.bytes = sum(16 + 54 + len(p[5]) for p in self.pkts)


# ---- writing -----------------------------------------------------------------

def instance_endpoints(k):
    """Distinct client address and port per instance k; three servers."""
    a = k % 4093 + 1
    port = 1024 + (k // 4093) % 64000
    cli = bytes((10, 1 + (a >> 16), (a >> 8) & 255, a & 255))
    srv = bytes((10, 200, 0, 1 + k % 3))
    return cli, port, srv, 143


def write_corpus(out, preps, shape, conns, conc, seed, verbose=False, endpoints=None):
    """Writes the corpus; endpoints(k, t) gives instance k of template t its
    (client address, client port, server address, server port), by default
    instance_endpoints(k)."""
    rng = random.Random(seed)
    # The instances: template index and ISNs, fixed by (conns, seed).
    inst = [(k % len(preps), rng.getrandbits(32), rng.getrandbits(32)) for k in range(conns)]
    ordr = random.Random(seed + 1)
    ordr.shuffle(inst)  # same multiset, order independent of conc
    slots = [[] for _ in range(min(conc, conns))]
    for k, it in enumerate(inst):
        slots[k % len(slots)].append((k,) + it)
    # Each slot's timeline [0, 1): its connections back to back, a packet's
    # virtual time proportional to the packets before it in the slot.
    heap = []
    state = []
    for si, sl in enumerate(slots):
        total = sum(preps[t].n for _k, t, _a, _b in sl)
        state.append([sl, 0, 0, 0, total])  # list, conn index, pkt index, done pkts, total
        heap.append((0.5 / total, si))
    heapq.heapify(heap)

    w = out.write
    w(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    t0 = ts = 1700000000 * 1000000
    ns_acc = 0
    n_pkts = 0
    n_bytes = 0
    pack_hdr = struct.Struct("<IIII").pack
    pack_ip = struct.Struct("!BBHHHBBH4s4s").pack
    pack_tcp = struct.Struct("!HHIIBBHHH").pack
    ipid = 0
    cache = {}
    while heap:
        _vt, si = heapq.heappop(heap)
        st = state[si]
        sl, ci, pi, done, total = st
        k, t, isn_c, isn_s = sl[ci]
        prep = preps[t]
        fc, flags, seq, ack, _win, payload, psum = prep.pkts[pi]
        win = 65535  # no window scaling option: the largest unscaled window
        ep = cache.get(k)
        if ep is None:
            cli, cport, srv, sport = endpoints(k, t) if endpoints else instance_endpoints(k)
            ep = cache[k] = (cli, cport, srv, sport,
                             csum_words(cli) + csum_words(srv) + 6)
        cli, cport, srv, sport, pseudo = ep
        if fc:
            s_ip, d_ip, s_p, d_p, eth = cli, srv, cport, sport, ETH_HDR
            s_seq, s_ack = (isn_c + seq) & 0xFFFFFFFF, (isn_s + ack) & 0xFFFFFFFF if flags & ACK else 0
        else:
            s_ip, d_ip, s_p, d_p, eth = srv, cli, sport, cport, ETH_HDR_S2C
            s_seq, s_ack = (isn_s + seq) & 0xFFFFFFFF, (isn_c + ack) & 0xFFFFFFFF if flags & ACK else 0
        tcplen = 20 + len(payload)
        ipid = (ipid + 1) & 0xFFFF
        ip0 = pack_ip(0x45, 0, 20 + tcplen, ipid, 0x4000, 64, 6, 0, s_ip, d_ip)
        ipc = (~fold(csum_words(ip0))) & 0xFFFF
        tsum = (pseudo + tcplen + s_p + d_p + (s_seq >> 16) + (s_seq & 0xFFFF) +
                (s_ack >> 16) + (s_ack & 0xFFFF) + (0x50 << 8) + flags + win + psum)
        tc = (~fold(tsum)) & 0xFFFF
        frame_len = 14 + 20 + tcplen
        ns_acc += frame_len * LINE_RATE_NS_PER_BYTE
        ts = max(ts + 1, t0 + ns_acc // 1000)
        w(pack_hdr(ts // 1000000, ts % 1000000, frame_len, frame_len))
        w(eth)
        w(ip0[:10] + struct.pack("!H", ipc) + ip0[12:])
        w(pack_tcp(s_p, d_p, s_seq, s_ack, 0x50, flags, win, tc, 0))
        if payload:
            w(payload)
        n_pkts += 1
        n_bytes += 16 + frame_len
        # next packet of this slot
        pi += 1
        done += 1
        if pi == prep.n:
            del cache[k]
            ci += 1
            pi = 0
        if ci < len(sl):
            st[1], st[2], st[3] = ci, pi, done
            heapq.heappush(heap, ((done + 0.5) / total, si))
    return n_pkts, n_bytes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=("lo", "mtu"), default="lo")
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--conns", type=int, help="connections in all")
    ap.add_argument("--mb", type=float, help="approximate size in MB (instead of --conns)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-template-bytes", type=int,
                    help="use only the connections of at most this many pcap bytes")
    ap.add_argument("--list", action="store_true", help="list the templates and exit")
    ap.add_argument("-o", "--out")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    tpls = extract_templates(a.inputs)
    if not tpls:
        sys.exit("mkcorpus: no complete port-143 connection in the inputs")
    preps = [Prepared(t, a.shape) for t in tpls]
    if a.max_template_bytes:
        preps = [p for p in preps if p.bytes <= a.max_template_bytes]
        if not preps:
            sys.exit("mkcorpus: no connection of at most %d bytes" % a.max_template_bytes)
    mean = sum(p.bytes for p in preps) / len(preps)
    if a.list:
        for p in preps:
            print("%-60s %6d packets %8d bytes" % (p.name, p.n, p.bytes))
        print("%d templates, mean %.0f bytes" % (len(preps), mean))
        return
    if not a.out or (a.conns is None) == (a.mb is None):
        sys.exit("mkcorpus: give -o and one of --conns, --mb")
    # --mb counts connections by their loopback size, so that both shapes
    # made with the same --mb hold the same connections.
    lo_mean = mean if a.shape == "lo" else sum(
        Prepared(t, "lo").bytes for t in tpls if t.name in {p.name for p in preps}) / len(preps)
    conns = a.conns if a.conns is not None else max(1, int(a.mb * 1e6 / lo_mean))
    with open(a.out, "wb", buffering=1 << 20) as f:
        n, b = write_corpus(f, preps, a.shape, conns, a.concurrency, a.seed)
    print("mkcorpus: %s: %d connections (%d templates), %d open at once, %d packets, %.1f MB"
          % (a.out, conns, len(preps), min(a.concurrency, conns), n, b / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
