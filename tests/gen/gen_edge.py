#!/usr/bin/env python3
"""gen_edge.py - TCP edge-case captures made from a real capture.

Reads a pcap or pcapng file (Ethernet, raw IP, Linux SLL/SLL2, BSD loopback),
extracts every TCP connection on port 143 whose two byte streams are complete
(no hole in the source), and replays the same bytes into new captures
(Ethernet/IPv4/TCP, correct IPv4 and TCP checksums, a three-way handshake,
ACKs that acknowledge what the receiver has got) with one edge case each:

  baseline        every complete connection, clean (MSS 1460)
  mss536          small MSS segmentation
  reorder         segments of each burst sent in reverse order
  duplicate       every third segment retransmitted (exact duplicates)
  overlap_same    retransmissions re-segmented across segment boundaries
  overlap_conflict  a segment held out of order and a delivered one are
                  re-sent with different bytes: the first copy wins
  loss            one server and one client segment missing from the capture
                  (the receiver got them: its ACKs cover them): exact gaps
  midstream       capture starts after the handshake and the first bursts
  wrap            ISNs chosen so both sequence spaces wrap past 2^32
  syn_data        the client's first burst rides in its SYN (TCP Fast Open)
  keepalive       1-byte (SND.NXT-1) and 0-byte keep-alives between bursts
  port_reuse      two connections, one after the other, on the same 4-tuple
  half_close      client FIN right after its last data; the server goes on
  rst             the client resets the connection two-thirds of the way in

For each case it writes CASE.pcap and CASE.json; the JSON lists, per
connection in capture order, the endpoints, the files holding the exact
expected client->server and server->client bytes (CASE.N.client/.server),
the expected gaps [{direction, offset, length}] and the expected reassembly
anomaly names.  Python 3 standard library only.

usage: gen_edge.py [-i CAPTURE] -o OUTDIR [--cases a,b,...] [--list]
"""
import argparse
import json
import os
import struct
import sys

IMAP_PORTS = (143,)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MOD = 1 << 32


# --------------------------------------------------------------------------
# Reading pcap / pcapng
# --------------------------------------------------------------------------
def read_packets(path):
    """Yields (ts_us, linktype, frame bytes) from a pcap or pcapng file."""
    with open(path, 'rb') as fh:
        data = fh.read()
    if len(data) < 4:
        raise ValueError('%s: too short for a capture file' % path)
    magic = data[:4]
    if magic == b'\x0a\x0d\x0d\x0a':
        yield from _read_pcapng(data, path)
    else:
        yield from _read_pcap(data, path)


def _read_pcap(data, path):
    if len(data) < 24:
        raise ValueError('%s: truncated pcap header' % path)
    m = data[:4]
    if m in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif m in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError('%s: not a pcap or pcapng file' % path)
    nano = m in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0FFFFFFF
    p, end = 24, len(data)
    while end - p >= 16:
        sec, frac, incl, _orig = struct.unpack(e + 'IIII', data[p:p + 16])
        p += 16
        if incl > end - p:
            break                       # truncated or damaged: stop reading
        ts = sec * 1000000 + (frac // 1000 if nano else frac)
        yield ts, linktype, data[p:p + incl]
        p += incl


def _read_pcapng(data, path):
    p, end = 0, len(data)
    e = '<'
    ifaces = []                          # (linktype, ticks per second)
    while end - p >= 12:
        if data[p:p + 4] == b'\x0a\x0d\x0d\x0a':
            bom = data[p + 8:p + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            ifaces = []
        btype, blen = struct.unpack(e + 'II', data[p:p + 8])
        if blen < 12 or blen > end - p:
            break
        body = data[p + 8:p + blen - 4]
        if btype == 1 and len(body) >= 8:                # IDB
            lt = struct.unpack(e + 'H', body[:2])[0]
            tsres = 1000000
            q = 8
            while len(body) - q >= 4:                     # options
                code, olen = struct.unpack(e + 'HH', body[q:q + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:               # if_tsresol
                    v = body[q + 4]
                    tsres = (2 ** (v & 0x7f)) if v & 0x80 else 10 ** v
                q += 4 + ((olen + 3) & ~3)
            ifaces.append((lt, tsres))
        elif btype == 6 and len(body) >= 20:             # EPB
            iid, hi, lo, cap, _orig = struct.unpack(e + 'IIIII', body[:20])
            if iid < len(ifaces) and cap <= len(body) - 20:
                lt, res = ifaces[iid]
                ticks = (hi << 32) | lo
                yield ticks * 1000000 // res, lt, body[20:20 + cap]
        elif btype == 3 and len(body) >= 4 and ifaces:   # SPB
            orig = struct.unpack(e + 'I', body[:4])[0]
            yield 0, ifaces[0][0], body[4:4 + min(orig, len(body) - 4)]
        p += blen


def parse_tcp(linktype, frame):
    """Returns (src_ip, dst_ip, sport, dport, seq, ack, flags, payload) for an
    IPv4 TCP frame, else None.  Every read is bounds-checked."""
    p = 0
    if linktype == 1:                                    # Ethernet
        if len(frame) < 14:
            return None
        et = struct.unpack('>H', frame[12:14])[0]
        p = 14
        while et in (0x8100, 0x88a8) and len(frame) - p >= 4:
            et = struct.unpack('>H', frame[p + 2:p + 4])[0]
            p += 4
        if et != 0x0800:
            return None
    elif linktype in (101, 12, 14, 228):                 # raw IP / raw IPv4
        p = 0
    elif linktype == 113:                                # Linux SLL
        if len(frame) < 16 or struct.unpack('>H', frame[14:16])[0] != 0x0800:
            return None
        p = 16
    elif linktype == 276:                                # Linux SLL2
        if len(frame) < 20 or struct.unpack('>H', frame[0:2])[0] != 0x0800:
            return None
        p = 20
    elif linktype == 0:                                  # BSD loopback
        if len(frame) < 4:
            return None
        fam = struct.unpack('<I', frame[:4])[0]
        if fam != 2 and struct.unpack('>I', frame[:4])[0] != 2:
            return None
        p = 4
    else:
        return None
    ip = frame[p:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack('>H', ip[2:4])[0]
    if ihl < 20 or tot < ihl or tot > len(ip) or ip[9] != 6:
        return None
    if struct.unpack('>H', ip[6:8])[0] & 0x3fff:         # fragment
        return None
    tcp = ip[ihl:tot]
    if len(tcp) < 20:
        return None
    doff = (tcp[12] >> 4) * 4
    if doff < 20 or doff > len(tcp):
        return None
    sport, dport, seq, ack = struct.unpack('>HHII', tcp[:12])
    return (bytes(ip[12:16]), bytes(ip[16:20]), sport, dport, seq, ack,
            tcp[13], bytes(tcp[doff:]))


# --------------------------------------------------------------------------
# Extracting connections
# --------------------------------------------------------------------------
class Extracted:
    """One TCP connection of the source: endpoints, both streams and the
    order in which bursts were sent (script: list of (dir, start, end))."""

    def __init__(self, cip, cport, sip, sport):
        self.ip = [cip, sip]
        self.port = [cport, sport]
        self.stream = [b'', b'']
        self.script = []


def extract_connections(path):
    conns = {}                 # canonical key -> state
    order = []
    for _ts, lt, frame in read_packets(path):
        t = parse_tcp(lt, frame)
        if t is None:
            continue
        sip, dip, sport, dport, seq, _ack, flags, payload = t
        a, b = (sip, sport), (dip, dport)
        key = (a, b) if a <= b else (b, a)
        st = conns.get(key)
        if st is None:
            st = {'ends': [a, b], 'base': [None, None], 'bytes': [{}, {}],
                  'pkts': [], 'syn': [False, False], 'client': None}
            conns[key] = st
            order.append(key)
        d = 0 if (sip, sport) == st['ends'][0] else 1
        if flags & SYN:
            if st['base'][d] is None or not st['syn'][d]:
                st['base'][d] = (seq + 1) % MOD
                st['syn'][d] = True
            if not (flags & ACK) and st['client'] is None:
                st['client'] = d
            seq = (seq + 1) % MOD
        if flags & RST:
            continue
        if payload:
            st['pkts'].append((d, seq, payload))
    out = []
    for key in order:
        st = conns[key]
        ends = st['ends']
        c = st['client']
        if c is None:
            if ends[1][1] in IMAP_PORTS:
                c = 0
            elif ends[0][1] in IMAP_PORTS:
                c = 1
            else:
                continue
        if ends[1 - c][1] not in IMAP_PORTS:
            continue
        # Origin of each stream: the SYN, else the lowest data sequence
        # number seen (the source capture may start mid-connection).
        for d in (0, 1):
            if st['base'][d] is None:
                seqs = [q for dd, q, _p in st['pkts'] if dd == d]
                if seqs:
                    ref = seqs[0]
                    st['base'][d] = min(seqs, key=lambda q: ((q - ref + (1 << 31)) % MOD))
        offs = []
        for d, q, payload in st['pkts']:
            off = (q - st['base'][d]) % MOD
            if off > (1 << 31):
                offs.append(None)      # before the origin: ignore
                continue
            m = st['bytes'][d]
            for i, byte in enumerate(payload):
                m.setdefault(off + i, byte)     # first copy wins
            offs.append((d, off, off + len(payload)))
        streams = []
        ok = True
        for d in (0, 1):
            m = st['bytes'][d]
            n = (max(m) + 1) if m else 0
            if len(m) != n:
                ok = False             # the source itself has a hole
                break
            streams.append(bytes(m[i] for i in range(n)))
        if not ok:
            continue
        # Script: bursts in capture order, as contiguous coverage grows.
        cover = [set(), set()]
        ptr = [0, 0]
        script = []
        for t in offs:
            if t is None:
                continue
            d, s, e = t
            cover[d].update(range(s, e))
            p = ptr[d]
            while p in cover[d]:
                p += 1
            if p > ptr[d]:
                dd = d if c == 0 else 1 - d      # 0 = client
                if script and script[-1][0] == dd and script[-1][2] == ptr[d]:
                    script[-1] = (dd, script[-1][1], p)
                else:
                    script.append((dd, ptr[d], p))
                ptr[d] = p
        x = Extracted(ends[c][0], ends[c][1], ends[1 - c][0], ends[1 - c][1])
        x.stream = [streams[c], streams[1 - c]]
        x.script = script
        out.append(x)
    return out


# --------------------------------------------------------------------------
# Writing packets
# --------------------------------------------------------------------------
def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('>%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


MAC = [b'\x02\x00\x00\x00\x00\x01', b'\x02\x00\x00\x00\x00\x02']


def build_frame(d, ip, port, seq, ack, flags, payload, ipid, mss=None):
    opts = struct.pack('>BBH', 2, 4, mss) if mss else b''
    thl = 20 + len(opts)
    src, dst = ip[d], ip[1 - d]
    tcp = struct.pack('>HHIIBBHHH', port[d], port[1 - d], seq % MOD,
                      ack % MOD if flags & ACK else 0, (thl // 4) << 4, flags,
                      65535, 0, 0) + opts + payload
    pseudo = src + dst + struct.pack('>BBH', 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('>H', csum(pseudo + tcp)) + tcp[18:]
    iph = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), ipid & 0xffff,
                      0x4000, 64, 6, 0, src, dst)
    iph = iph[:10] + struct.pack('>H', csum(iph)) + iph[12:]
    return MAC[1 - d] + MAC[d] + b'\x08\x00' + iph + tcp


def write_pcap(path, pkts):
    with open(path, 'wb') as fh:
        fh.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for ts, frame in pkts:
            fh.write(struct.pack('<IIII', ts // 1000000, ts % 1000000,
                                 len(frame), len(frame)))
            fh.write(frame)


class Coverage:
    """Byte ranges of one direction the receiver has got; contiguous end."""

    def __init__(self):
        self.got = []
        self.contig = 0

    def add(self, s, e):
        self.got.append((s, e))
        self.got.sort()
        keep = []
        for a, b in self.got:
            if a <= self.contig:
                self.contig = max(self.contig, b)
            else:
                keep.append((a, b))
        self.got = keep


class Conn:
    """Emits the packets of one connection.  Plans are lists of events:
       ('syn', dir, payload) ('seg', dir, off, bytes, flags, captured)
       ('ack', dir) ('fin', dir, off) ('rst', dir) ('keepalive', dir, nbytes)
    Each event happens (the receiver's state advances) whether or not it is
    captured; only captured events are written."""

    def __init__(self, x, isn, mss, clock):
        self.x = x
        self.isn = list(isn)
        self.mss = mss
        self.clock = clock
        self.cov = [Coverage(), Coverage()]
        self.fin_got = [False, False]
        self.ipid = [0x1000, 0x5000]

    def ack_for(self, d):
        """ACK number direction d sends: everything of the other direction."""
        o = 1 - d
        return self.isn[o] + 1 + self.cov[o].contig + \
            (1 if self.fin_got[o] else 0)

    def seq_of(self, d, off):
        return self.isn[d] + 1 + off

    def run(self, plan):
        pkts = []
        for ev in plan:
            kind, d = ev[0], ev[1]
            captured = True
            if kind == 'syn':
                payload = ev[2]
                flags = SYN | (ACK if d == 1 else 0)
                fr = (d, self.isn[d], self.ack_for(d), flags, payload, 1460)
                if payload:
                    self.cov[d].add(0, len(payload))
                if len(ev) > 3:
                    captured = ev[3]
            elif kind == 'seg':
                _k, d, off, data, flags, captured = ev
                fr = (d, self.seq_of(d, off), self.ack_for(d), ACK | flags, data, None)
                self.cov[d].add(off, off + len(data))
                if flags & FIN:
                    self.fin_got[d] = True
            elif kind == 'ack':
                if len(ev) > 2:
                    captured = ev[2]
                fr = (d, self.seq_of(d, self.sent_end(d)), self.ack_for(d), ACK,
                      b'', None)
            elif kind == 'keepalive':
                n = ev[2]
                end = self.sent_end(d)
                fr = (d, self.seq_of(d, end - 1), self.ack_for(d), ACK,
                      b'\0' * n, None)
            elif kind == 'rst':
                fr = (d, self.seq_of(d, self.sent_end(d)), self.ack_for(d),
                      RST | ACK, b'', None)
            else:
                raise ValueError(kind)
            self.clock[0] += 700
            if captured:
                dd, seq, ack, flags, payload, mss = fr
                frame = build_frame(dd, self.x.ip, self.x.port, seq, ack, flags,
                                    payload, self.ipid[dd], mss)
                self.ipid[dd] += 1
                pkts.append((self.clock[0], frame))
        return pkts

    def sent_end(self, d):
        m = 0
        for a, b in self.cov[d].got:
            m = max(m, b)
        return max(m, self.cov[d].contig) + (1 if self.fin_got[d] else 0)


def base_plan(x, mss, syn_data=False, keepalive=False):
    """Handshake, the bursts of the script cut at MSS, an ACK from the other
    side after each burst, then FIN / FIN / ACK.  Returns (plan, bursts) where
    bursts[i] is the list of indexes in plan of burst i's segments."""
    plan = []
    bursts = []
    script = list(x.script)
    first_client = None
    if syn_data:
        for i, (d, s, e) in enumerate(script):
            if d == 0:
                first_client = i
                break
    if first_client is not None:
        d, s, e = script[first_client]
        n = min(e - s, mss)
        plan.append(('syn', 0, x.stream[0][s:s + n]))
        if n < e - s:
            script[first_client] = (0, s + n, e)
        else:
            script.pop(first_client)
    else:
        plan.append(('syn', 0, b''))
    plan.append(('syn', 1, b''))
    plan.append(('ack', 0))
    for bi, (d, s, e) in enumerate(script):
        idx = []
        for o in range(s, e, mss):
            idx.append(len(plan))
            plan.append(['seg', d, o, x.stream[d][o:min(e, o + mss)], PSH if o + mss >= e else 0, True])
        bursts.append(idx)
        plan.append(('ack', 1 - d))
        if keepalive and bi % 3 == 1:
            plan.append(('keepalive', d, 1))
            plan.append(('ack', 1 - d))
            plan.append(('keepalive', 1 - d, 0))
            plan.append(('ack', d))
    plan.append(['seg', 0, len(x.stream[0]), b'', FIN, True])
    plan.append(['seg', 1, len(x.stream[1]), b'', FIN, True])
    plan.append(('ack', 0))
    return [tuple(e) if isinstance(e, list) else e for e in plan], bursts


def conn_expect(x, cstream=None, sstream=None, gaps=None, anomalies=None):
    return {'client': [ip_str(x.ip[0]), x.port[0]],
            'server': [ip_str(x.ip[1]), x.port[1]],
            'client_data': x.stream[0] if cstream is None else cstream,
            'server_data': x.stream[1] if sstream is None else sstream,
            'gaps': gaps or [], 'anomalies': anomalies or []}


def ip_str(b):
    return '.'.join(str(v) for v in b)


DIRNAME = ['client', 'server']


# --------------------------------------------------------------------------
# The cases: each returns (packets, [expected connection])
# --------------------------------------------------------------------------
def isns(x, k=0):
    return [(0x11223344 + 7919 * k) % MOD, (0x55667788 + 104729 * k) % MOD]


def case_baseline(xs, primary, clock):
    pkts, exp = [], []
    for k, x in enumerate(xs):
        plan, _ = base_plan(x, 1460)
        pkts += Conn(x, isns(x, k), 1460, clock).run(plan)
        exp.append(conn_expect(x))
    return pkts, exp


def case_mss536(xs, x, clock):
    plan, _ = base_plan(x, 536)
    return Conn(x, isns(x), 536, clock).run(plan), [conn_expect(x)]


def case_reorder(xs, x, clock):
    plan, bursts = base_plan(x, 536)
    for idx in bursts:
        if len(idx) > 1:
            segs = [plan[i] for i in idx]
            for i, s in zip(idx, reversed(segs)):
                plan[i] = s
    return Conn(x, isns(x), 536, clock).run(plan), [conn_expect(x)]


def case_duplicate(xs, x, clock):
    plan, _ = base_plan(x, 536)
    out = []
    n = 0
    for ev in plan:
        out.append(ev)
        if ev[0] == 'seg' and ev[3]:
            n += 1
            if n % 3 == 0:
                out.append(ev)
    return Conn(x, isns(x), 536, clock).run(out), [conn_expect(x)]


def case_overlap_same(xs, x, clock):
    plan, bursts = base_plan(x, 536)
    extra = {}
    for idx in bursts:
        for a, b in zip(idx, idx[1:]):
            sa, sb = plan[a], plan[b]
            d, oa, da = sa[1], sa[2], sa[3]
            h = len(da) // 2
            o = oa + h
            data = x.stream[d][o:o + (len(da) - h) + len(sb[3]) // 2]
            extra[b] = ('seg', d, o, data, 0, True)   # straddles a and b
    out = []
    for i, ev in enumerate(plan):
        out.append(ev)
        if i in extra:
            out.append(extra[i])
    return Conn(x, isns(x), 536, clock).run(out), [conn_expect(x)]


def flip_case(data):
    for i, c in enumerate(data):
        if 0x41 <= c <= 0x5a or 0x61 <= c <= 0x7a:
            return data[:i] + bytes([c ^ 0x20]) + data[i + 1:], i
    return None, None


def case_overlap_conflict(xs, x, clock):
    """Server burst of >= 3 segments A B C sent as A, C' (C with one letter's
    case flipped: held out of order), C (conflicts with the held C': C'
    wins), B.  Then one client segment is re-sent, changed, after it was
    delivered: the delivered copy wins.  Both are overlap_mismatch."""
    plan, bursts = base_plan(x, 536)
    sstream = bytearray(x.stream[1])
    insert = {}
    done_s = done_c = False
    nclient = 0
    for idx in bursts:
        d = plan[idx[0]][1]
        if d == 1 and not done_s and len(idx) >= 3:
            a_i, b_i, c_i = idx[0], idx[1], idx[2]
            c_ev = plan[c_i]
            mod, at = flip_case(c_ev[3])
            if mod is None:
                continue
            insert[a_i] = [('seg', 1, c_ev[2], mod, 0, True)]
            plan[b_i], plan[c_i] = plan[c_i], plan[b_i]
            sstream[c_ev[2] + at] = mod[at]
            done_s = True
        elif d == 0:
            nclient += 1
            if done_c or nclient < 2:
                continue
            ev = plan[idx[-1]]
            mod, at = flip_case(ev[3])
            if mod is None:
                continue
            insert.setdefault(idx[-1], []).append(('seg', 0, ev[2], mod, 0, True))
            done_c = True
    if not done_s and not done_c:
        return None
    out = []
    for i, ev in enumerate(plan):
        out.append(ev)
        out += insert.get(i, [])
    return (Conn(x, isns(x), 536, clock).run(out),
            [conn_expect(x, x.stream[0], bytes(sstream), anomalies=['overlap_mismatch'])])


def case_loss(xs, x, clock):
    """Drops from the capture the middle segment of the largest server burst
    and one whole client burst (not the first or last); the receiver got
    them, so its ACKs cover them."""
    plan, bursts = base_plan(x, 536)
    gaps = []
    sb = [b for b in bursts if plan[b[0]][1] == 1 and len(b) >= 3]
    cb = [b for b in bursts if plan[b[0]][1] == 0 and len(b) == 1]
    drop = []
    if sb:
        big = max(sb, key=len)
        drop.append(big[len(big) // 2])
    if len(cb) >= 3:
        drop.append(cb[len(cb) // 2][0])
    if not drop:
        return None
    cdata, sdata = bytearray(), bytearray()
    dropped = set()
    for i in drop:
        ev = plan[i]
        plan[i] = ev[:5] + (False,)
        dropped.add((ev[1], ev[2]))
        gaps.append({'direction': DIRNAME[ev[1]], 'offset': ev[2], 'length': len(ev[3])})
    for d, buf in ((0, cdata), (1, sdata)):
        o = 0
        for g in sorted((g for g in gaps if g['direction'] == DIRNAME[d]), key=lambda g: g['offset']):
            buf += x.stream[d][o:g['offset']]
            o = g['offset'] + g['length']
        buf += x.stream[d][o:]
    return (Conn(x, isns(x), 536, clock).run(plan),
            [conn_expect(x, bytes(cdata), bytes(sdata), gaps=gaps)])


def case_midstream(xs, x, clock):
    """No handshake, and the first bursts are missing: each stream starts at
    its first captured data byte."""
    plan, bursts = base_plan(x, 1460)
    if len(bursts) < 5:
        return None
    cut = bursts[3][0]                       # first packet kept
    first = [None, None]
    for i, ev in enumerate(plan):
        if i < cut:
            if ev[0] == 'seg':
                plan[i] = ev[:5] + (False,)
            elif ev[0] == 'syn':
                plan[i] = ev + (False,)
            else:
                plan[i] = ev + (False,)
        elif ev[0] == 'seg' and ev[3] and first[ev[1]] is None:
            first[ev[1]] = ev[2]
    cs = x.stream[0][first[0]:] if first[0] is not None else b''
    ss = x.stream[1][first[1]:] if first[1] is not None else b''
    return Conn(x, isns(x), 1460, clock).run(plan), [conn_expect(x, cs, ss)]


def case_wrap(xs, x, clock):
    isn = [(MOD - 1 - len(x.stream[0]) // 2) % MOD, (MOD - 1 - len(x.stream[1]) // 2) % MOD]
    plan, _ = base_plan(x, 536)
    return Conn(x, isn, 536, clock).run(plan), [conn_expect(x)]


def case_syn_data(xs, x, clock):
    plan, _ = base_plan(x, 1460, syn_data=True)
    return Conn(x, isns(x), 1460, clock).run(plan), [conn_expect(x)]


def case_keepalive(xs, x, clock):
    plan, _ = base_plan(x, 1460, keepalive=True)
    return Conn(x, isns(x), 1460, clock).run(plan), [conn_expect(x)]


def case_port_reuse(xs, x, clock):
    second = xs[1] if len(xs) > 1 else x
    y = Extracted(x.ip[0], x.port[0], x.ip[1], x.port[1])
    y.stream, y.script = second.stream, second.script
    p1, _ = base_plan(x, 1460)
    p2, _ = base_plan(y, 1460)
    pkts = Conn(x, isns(x), 1460, clock).run(p1)
    clock[0] += 2000000
    pkts += Conn(y, isns(y, 5), 1460, clock).run(p2)
    return pkts, [conn_expect(x), conn_expect(y)]


def case_half_close(xs, x, clock):
    """Client FIN right after its last data segment; the server keeps
    sending (RFC 9293 3.6: a half-closed connection still carries data the
    other way)."""
    plan, bursts = base_plan(x, 1460)
    last_c = max((i for i, ev in enumerate(plan) if ev[0] == 'seg' and ev[1] == 0 and ev[3]),
                 default=None)
    if last_c is None:
        return None
    if not any(ev[0] == 'seg' and ev[1] == 1 and ev[3] for ev in plan[last_c:]):
        return None
    fin_c = [i for i, ev in enumerate(plan) if ev[0] == 'seg' and ev[1] == 0 and ev[4] & FIN][0]
    ev = plan.pop(fin_c)
    plan.insert(last_c + 1, ev)
    return Conn(x, isns(x), 1460, clock).run(plan), [conn_expect(x)]


def case_rst(xs, x, clock):
    """The client resets the connection two-thirds of the way in; no FIN."""
    plan, bursts = base_plan(x, 1460)
    if len(bursts) < 3:
        return None
    cut = bursts[(2 * len(bursts)) // 3][0]
    plan = plan[:cut] + [('rst', 0)]
    sent = [0, 0]
    for ev in plan:
        if ev[0] == 'seg' and ev[3]:
            sent[ev[1]] = max(sent[ev[1]], ev[2] + len(ev[3]))
        elif ev[0] == 'syn' and ev[2]:
            sent[ev[1]] = max(sent[ev[1]], len(ev[2]))
    return (Conn(x, isns(x), 1460, clock).run(plan),
            [conn_expect(x, x.stream[0][:sent[0]], x.stream[1][:sent[1]])])


CASES = [
    ('baseline', case_baseline), ('mss536', case_mss536), ('reorder', case_reorder),
    ('duplicate', case_duplicate), ('overlap_same', case_overlap_same),
    ('overlap_conflict', case_overlap_conflict), ('loss', case_loss),
    ('midstream', case_midstream), ('wrap', case_wrap), ('syn_data', case_syn_data),
    ('keepalive', case_keepalive), ('port_reuse', case_port_reuse),
    ('half_close', case_half_close), ('rst', case_rst),
]

# Names of the reassembler's anomalies (src/reassembly.h REASM_ANOMALY_TABLE);
# the end-to-end test reads the header itself and falls back to this.
REASM_ANOMALY_NAMES = [
    'overlap_mismatch', 'overlap_unverified', 'data_after_fin', 'data_after_close',
    'syn_seq_mismatch', 'fin_seq_mismatch', 'reasm_memcap', 'reasm_stream_cap',
    'reasm_depth', 'reasm_alloc_failed', 'segment_too_long',
]


def default_input():
    shared = os.environ.get('IMAPSCOPE_SHARED')
    if not shared:
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.path.join(here, '..', 'data')
    return os.path.join(shared, 'captures', 'public',
                        'bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap')


def generate(inputs, outdir, wanted=None):
    """Writes the cases for the given captures; returns the list of cases
    written as (name, pcap path, json path)."""
    os.makedirs(outdir, exist_ok=True)
    written = []
    for inp in inputs:
        xs = extract_connections(inp)
        if not xs:
            print('gen_edge: %s: no complete IMAP connection' % inp, file=sys.stderr)
            continue
        primary = max(xs, key=lambda c: len(c.stream[0]) + len(c.stream[1]))
        stem = os.path.splitext(os.path.basename(inp))[0]
        prefix = '' if len(inputs) == 1 else stem + '__'
        for name, fn in CASES:
            if wanted and name not in wanted:
                continue
            clock = [1700000000 * 1000000]
            res = fn(xs, primary, clock)
            if res is None:
                print('gen_edge: %s: case %s not applicable' % (inp, name), file=sys.stderr)
                continue
            pkts, exp = res
            case = prefix + name
            pcap = os.path.join(outdir, case + '.pcap')
            write_pcap(pcap, pkts)
            conns = []
            for i, c in enumerate(exp):
                cf = '%s.%d.client' % (case, i)
                sf = '%s.%d.server' % (case, i)
                with open(os.path.join(outdir, cf), 'wb') as fh:
                    fh.write(c['client_data'])
                with open(os.path.join(outdir, sf), 'wb') as fh:
                    fh.write(c['server_data'])
                conns.append({'client': c['client'], 'server': c['server'],
                              'client_file': cf, 'server_file': sf,
                              'client_bytes': len(c['client_data']),
                              'server_bytes': len(c['server_data']),
                              'gaps': sorted(c['gaps'], key=lambda g: (g['direction'], g['offset'])),
                              'anomalies': sorted(set(c['anomalies']))})
            js = os.path.join(outdir, case + '.json')
            with open(js, 'w') as fh:
                json.dump({'case': case, 'source': os.path.basename(inp),
                           'pcap': os.path.basename(pcap), 'connections': conns},
                          fh, indent=1)
                fh.write('\n')
            written.append((case, pcap, js))
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-i', '--input', action='append',
                    help='source capture (pcap or pcapng); repeatable')
    ap.add_argument('-o', '--outdir', help='output directory')
    ap.add_argument('--cases', help='comma-separated subset of cases')
    ap.add_argument('--list', action='store_true', help='list the cases and exit')
    a = ap.parse_args()
    if a.list:
        for name, fn in CASES:
            print(name)
        return 0
    if not a.outdir:
        ap.error('-o OUTDIR is required')
    inputs = a.input or [default_input()]
    wanted = set(a.cases.split(',')) if a.cases else None
    written = generate(inputs, a.outdir, wanted)
    for case, pcap, _ in written:
        print('%s %s' % (case, pcap))
    return 0 if written else 1


if __name__ == '__main__':
    sys.exit(main())
