#!/usr/bin/env python3
"""mkdense.py - the DENSE benchmark corpus (issue 10, item 6): many short
IMAP sessions of many server dialects, few bytes per transaction.

Sources: every complete plaintext TCP connection (three-way handshake and a
FIN or RST seen, no TLS record in it) of the given captures, whatever the
server port (the server is the SYN's destination): the project's own
captures (dovecot 2.3 with imaplib, curl, mbsync, fetchmail), the public
ones (MS Exchange 5.5, an old dovecot, "mimap" with Thunderbird, the
synthetic servers of arkime's NTLM and multi-protocol captures) and the
generated vectors (Python test servers: COMPRESS, PREAUTH, stripped
STARTTLS).  Only the short ones are used (--max-template-bytes after
thinning, default 8000): body-heavy sessions are the other corpora's job.

Each source connection is replayed as many instances by mkcorpus.py's
writer: own client address and port, server port 143, own initial
sequence numbers, a server address per template, IPv4 (an IPv6 source is
written as IPv4), strictly
increasing timestamps at 1 Gbit/s, correct checksums, C open at once.

Density: a loopback capture ACKs every segment with a pure ACK; on a real
network the ACK of a request rides on the response (delayed ACK, RFC 1122
4.2.3.2).  The replay drops every pure ACK except the handshake's third
segment and those after a FIN, which leaves the TCP byte streams, and so
every IMAP event, unchanged (tests/scripts/test_bench_corpus.py checks the
events against the sources).

Deterministic: the same arguments and inputs give the same bytes.
With --manifest FILE it also writes, as JSON, each template's source file,
client and server ports in the source and the number of instances, so that
the expected events can be computed from the sources.

Usage:
  mkdense.py (--conns N | --mb MB) [--concurrency C] [--seed S]
             [--max-template-bytes B] [--manifest F] [--list] -o OUT.pcap INPUT...
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkcorpus  # noqa: E402  (reader, shapes, writer)

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def imap_server_ports(path):
    """The ports in path that a SYN was sent to and whose first payload
    towards the client is an IMAP greeting (RFC 9051 7.1: "* OK",
    "* PREAUTH"); several protocols may share a capture."""
    syn_ports, greeted = set(), set()
    first = set()
    for _ts, frame in mkcorpus.read_pcap(path):
        t = mkcorpus.parse_tcp(frame)
        if not t:
            continue
        if t[6] & SYN and not t[6] & ACK:
            syn_ports.add(t[3])
        elif t[8] and t[2] in syn_ports and (t[0], t[2], t[1], t[3]) not in first:
            first.add((t[0], t[2], t[1], t[3]))
            if t[8].startswith((b"* OK", b"* PREAUTH")):
                greeted.add(t[2])
    return sorted(greeted)


def thin_acks(pkts):
    """Drops the pure ACKs (no payload, flags ACK only) except the first one
    (the handshake's third segment) and those after a FIN of either side."""
    out = []
    handshake_acked = False
    fin_seen = False
    for p in pkts:
        flags, payload = p[1], p[5]
        if flags & FIN:
            fin_seen = True
        if not payload and flags == ACK:
            if handshake_acked and not fin_seen:
                continue
            handshake_acked = True
        out.append(p)
    return out


def dense_templates(inputs):
    """[(template, source path, client port, server port)] of the complete
    plaintext connections in inputs, pure ACKs thinned."""
    out = []
    for path in inputs:
        try:
            ports = imap_server_ports(path)
        except ValueError as e:  # pcapng, other link types: not read here
            print("mkdense: %s: skipped" % e, file=sys.stderr)
            continue
        for tpl in [t for port in ports for t in mkcorpus.extract_templates([path], server_port=port)]:
            pk = tpl.pkts
            if not any(p[1] & (FIN | RST) for p in pk):
                continue  # never closed: would stay open to the end of the file
            if any(p[5][:2] == b"\x16\x03" for p in pk):
                continue  # TLS: not IMAP to a decoder without the keys
            port = ports[0] if len(ports) == 1 else None
            out.append((mkcorpus.Template(tpl.name, thin_acks(pk)), path, tpl.client_port, port))
    return out


def dense_endpoints(k, t):
    """Instance k's client address and port (as mkcorpus), and a server
    address of its own per template t: imapscope's cross-connection
    heuristics (a server that offered STARTTLS to other clients) must see
    each source server apart, as in its own capture."""
    cli, port, _srv, sport = mkcorpus.instance_endpoints(k)
    return cli, port, bytes((10, 200, 1 + (t >> 8) % 255, t & 255)), sport


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=500)
    ap.add_argument("--conns", type=int, help="connections in all")
    ap.add_argument("--mb", type=float, help="approximate size in MB (instead of --conns)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-template-bytes", type=int, default=8000,
                    help="use only the connections of at most this many pcap bytes (after thinning)")
    ap.add_argument("--manifest", help="write the templates and their instance counts (JSON)")
    ap.add_argument("--list", action="store_true", help="list the templates and exit")
    ap.add_argument("-o", "--out")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    found = dense_templates(a.inputs)
    chosen = [(mkcorpus.Prepared(t, "lo"), src, cp, sp) for t, src, cp, sp in found]
    chosen = [c for c in chosen if c[0].bytes <= a.max_template_bytes]
    if not chosen:
        sys.exit("mkdense: no complete plaintext connection of at most %d bytes" % a.max_template_bytes)
    preps = [c[0] for c in chosen]
    mean = sum(p.bytes for p in preps) / len(preps)
    if a.list:
        for p, src, cp, sp in chosen:
            print("%-60s %4d packets %6d bytes  %s %s->%s" % (p.name, p.n, p.bytes, src, cp, sp))
        print("%d templates, mean %.0f bytes" % (len(preps), mean))
        return
    if not a.out or (a.conns is None) == (a.mb is None):
        sys.exit("mkdense: give -o and one of --conns, --mb")
    conns = a.conns if a.conns is not None else max(1, int(a.mb * 1e6 / mean))
    with open(a.out, "wb", buffering=1 << 20) as f:
        n, b = mkcorpus.write_corpus(f, preps, "lo", conns, a.concurrency, a.seed,
                                     endpoints=dense_endpoints)
    # write_corpus gives instance k the template k % len(preps)
    counts = [conns // len(preps) + (1 if i < conns % len(preps) else 0) for i in range(len(preps))]
    if a.manifest:
        with open(a.manifest, "w") as f:
            json.dump({"connections": conns, "packets": n, "bytes": b, "templates": [
                {"name": p.name, "source": src, "client_port": cp, "server_port": sp,
                 "packets": p.n, "bytes": p.bytes, "payload_bytes": sum(len(x[5]) for x in p.pkts),
                 "instances": k}
                for (p, src, cp, sp), k in zip(chosen, counts)]}, f, indent=1)
    payload = sum(sum(len(x[5]) for x in p.pkts) * k for p, k in zip(preps, counts))
    print("mkdense: %s: %d connections (%d templates), %d open at once, %d packets, %.1f MB "
          "(%.1f MB of TCP payload)" % (a.out, conns, len(preps), min(a.concurrency, conns), n, b / 1e6,
                                        payload / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
