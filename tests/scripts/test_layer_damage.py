#!/usr/bin/env python3
"""Damaged layers (issue 4): corrupt DEFLATE data after COMPRESS, and a
wrong key log, each give their named alert; the connection goes on as
opaque, nothing crashes, and what came before is still decoded.  The
damaged captures are made here from the generated vectors."""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
VEC = os.path.join(SHARED, "vectors", "generated-imap")
PORTS = ["--server-port", "11145", "--server-port", "11156", "--server-port", "11144"]


def records(data):
    """(offset of packet data, caplen) of each record of a classic pcap."""
    off, out = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        out.append((off + 16, caplen))
        off += 16 + caplen
    return out


def corrupt_after(data, marker, skip=4):
    """Overwrites payload bytes of the first packet that follows the one
    holding `marker` and carries at least 8 bytes (a DEFLATE segment)."""
    buf = bytearray(data)
    seen = False
    for off, caplen in records(data):
        pkt = data[off:off + caplen]
        if not seen:
            seen = marker in pkt
            continue
        # Ethernet/IPv4/TCP: payload after the headers
        ihl = (pkt[14] & 15) * 4
        doff = (pkt[14 + ihl + 12] >> 4) * 4
        start = 14 + ihl + doff
        if caplen - start >= 8:
            for i in range(start + skip, caplen):
                buf[off + i] = 0xFF
            return bytes(buf)
    raise RuntimeError("no segment after the marker")


def run(pcap, extra):
    p = subprocess.run([IMAPSCOPE, "-r", pcap, "-T", "json"] + PORTS + extra,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines()]


def check(name, ok, why):
    print(("PASS %s" if ok else "FAIL %s: " + why) % ("layer-" + name))
    return ok


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    ok = True
    with tempfile.TemporaryDirectory() as d:
        # 1. corrupt DEFLATE on a cleartext connection (the first compressed
        #    segment after the server's OK to COMPRESS)
        src = open(os.path.join(VEC, "compress-plaintext.pcap"), "rb").read()
        bad = os.path.join(d, "deflate-corrupt.pcap")
        open(bad, "wb").write(corrupt_after(src, b"a2 OK DEFLATE active", skip=0))
        rc, ev = run(bad, [])
        alerts = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
        txns = [(e["imap"]["tag"], e["imap"]["status"]) for e in ev if e["event_type"] == "imap"]
        ok &= check("deflate-corrupt", rc == 0 and "deflate_corrupt" in alerts and ("a2", "OK") in txns,
                    "rc %d alerts %s transactions %s" % (rc, alerts, txns))
        sess = [e["imap_session"] for e in ev if e["event_type"] == "imap_session"]
        ok &= check("deflate-corrupt-session", len(sess) == 1 and sess[0]["compress"] == "OK",
                    "sessions %s" % sess)

        # 2. a wrong key log: every secret changed
        keys = open(os.path.join(VEC, "tls13-chacha20.keys")).read().splitlines()
        wrong = []
        for l in keys:
            f = l.split()
            if len(f) == 3:
                f[2] = f[2][:-2] + ("00" if f[2][-2:] != "00" else "11")
            wrong.append(" ".join(f))
        wk = os.path.join(d, "wrong.keys")
        open(wk, "w").write("\n".join(wrong) + "\n")
        rc, ev = run(os.path.join(VEC, "tls13-chacha20.pcap"), ["--keylog", wk])
        alerts = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
        txns = [(e["imap"]["tag"], e["imap"]["command"]) for e in ev if e["event_type"] == "imap"]
        sess = [e["imap_session"] for e in ev if e["event_type"] == "imap_session"]
        ok &= check("tls-wrong-key", rc == 0 and "tls_decrypt_failed" in alerts and txns == [("a1", "STARTTLS")]
                    and len(sess) == 1 and sess[0]["tls"]["decrypted_client_bytes"] == 0
                    and sess[0]["tls"]["decrypted_server_bytes"] == 0,
                    "rc %d alerts %s transactions %s" % (rc, alerts, txns))

        # 3. no key for the session: said once, opaque
        nk = os.path.join(d, "none.keys")
        open(nk, "w").write("# empty\n")
        rc, ev = run(os.path.join(VEC, "tls13-chacha20.pcap"), ["--keylog", nk])
        alerts = [e["alert"]["name"] for e in ev if e["event_type"] == "alert"]
        ok &= check("tls-no-key", rc == 0 and alerts.count("tls_no_key") == 1, "rc %d alerts %s" % (rc, alerts))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
