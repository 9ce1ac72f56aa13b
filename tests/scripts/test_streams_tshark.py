#!/usr/bin/env python3
"""Oracle test: the bytes imapscope delivers per direction per connection
equal what tshark's "follow,tcp,raw" gives, for every capture in captures/
and tests/data/captures/public/ (issue 2).

Only connections on IMAP ports are compared (143, 220, 993 and the ports
of the generated vectors).  Prints PASS/FAIL lines; SKIP when tshark is
not installed.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
PORTS = {143, 220, 993}


def tshark_streams(pcap):
    """{stream: (src, sport, dst, dport)} of TCP streams on an IMAP port."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
         "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"],
        capture_output=True, text=True, timeout=120).stdout
    streams = {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 7 or not f[0]:
            continue
        src = f[1].split(",")[-1] or f[2].split(",")[-1]
        dst = f[4].split(",")[-1] or f[5].split(",")[-1]
        sp, dp = int(f[3].split(",")[-1]), int(f[6].split(",")[-1])
        sid = int(f[0].split(",")[-1])
        if sid not in streams and (sp in PORTS or dp in PORTS):
            streams[sid] = (src, sp, dst, dp)
    return streams


def tshark_follow(pcap, sids):
    """{stream: {"node0": (ip, port), "node1":..., 0: bytes, 1: bytes}}."""
    if not sids:
        return {}
    args = ["tshark", "-r", pcap, "-q"]
    for s in sids:
        args += ["-z", "follow,tcp,raw,%d" % s]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300).stdout
    res, cur = {}, None
    for line in out.splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            cur = {0: bytearray(), 1: bytearray()}
            res[int(line.split()[-1])] = cur
        elif cur is None or line.startswith("====") or line.startswith("Follow:"):
            continue
        elif line.startswith("Node 0: ") or line.startswith("Node 1: "):
            ep = line[8:]
            host, port = ep.rsplit(":", 1)
            cur["node" + line[5]] = (host.strip("[]"), int(port))
        elif line.startswith("\t"):
            cur[1] += bytes.fromhex(line.strip())
        elif line.strip():
            cur[0] += bytes.fromhex(line.strip())
    return res


def run_case(pcap, name):
    streams = tshark_streams(pcap)
    follows = tshark_follow(pcap, sorted(streams))
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.run([IMAPSCOPE, "-r", pcap, "-T", "json", "--streams-dir", d],
                              capture_output=True, text=True, timeout=300)
        sessions = []
        for line in proc.stdout.splitlines():
            ev = json.loads(line)
            if ev.get("event_type") == "imap_session":
                sessions.append(ev)
        used = set()
        problems = []
        for sid in sorted(follows):
            fo = follows[sid]
            if "node0" not in fo:
                continue
            if not fo[0] and not fo[1]:
                continue  # no payload: we report only connections that carried data
            match = None
            for i, ev in enumerate(sessions):
                if i in used:
                    continue
                cli = (ev["src_ip"], ev["src_port"])
                srv = (ev["dest_ip"], ev["dest_port"])
                if {cli, srv} == {fo["node0"], fo["node1"]}:
                    match = (i, ev, cli)
                    break
            if match is None:
                problems.append("stream %d %s<->%s: no imap_session" % (sid, fo["node0"], fo["node1"]))
                continue
            i, ev, cli = match
            used.add(i)
            node_cli = 0 if fo["node0"] == cli else 1
            fid = ev["flow_id"]
            for role, node in (("client", node_cli), ("server", 1 - node_cli)):
                path = os.path.join(d, "%d.%s" % (fid, role))
                ours = open(path, "rb").read() if os.path.exists(path) else b""
                theirs = bytes(fo[node])
                if ours != theirs:
                    k = next((j for j in range(min(len(ours), len(theirs))) if ours[j] != theirs[j]),
                             min(len(ours), len(theirs)))
                    problems.append("stream %d %s: %d bytes vs tshark %d, first difference at %d"
                                    % (sid, role, len(ours), len(theirs), k))
                key = role + "_bytes"
                if ev["imap_session"].get(key) != len(ours):
                    problems.append("stream %d: %s=%s but %d bytes delivered"
                                    % (sid, key, ev["imap_session"].get(key), len(ours)))
        if not follows:
            problems.append("tshark found no IMAP stream")
    if problems:
        print("FAIL streams-%s: %s" % (name, "; ".join(problems[:5])))
        return False
    print("PASS streams-%s (%d connections)" % (name, len(follows)))
    return True


def main():
    if not shutil.which("tshark"):
        print("SKIP streams: tshark not installed")
        return 0
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    pcaps = sorted(glob.glob(os.path.join(ROOT, "captures", "*.pcap")) +
                   glob.glob(os.path.join(ROOT, "captures", "*.pcapng")) +
                   glob.glob(os.path.join(SHARED, "captures", "public", "*.pcap*")) +
                   glob.glob(os.path.join(SHARED, "captures", "public", "*.cap")))
    ok = True
    for p in pcaps:
        name = os.path.basename(p)
        if name.startswith("peafowl__"):
            continue  # damaged on purpose: covered by the robustness tests
        ok &= run_case(p, name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
