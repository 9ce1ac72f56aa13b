#!/usr/bin/python3
"""EVE-style envelope and what to log (issue 14, items 2 and 4).

  eve-flow-id-random     two runs without --flow-id-seed give other flow_ids
                         (unique across runs); the same seed gives the same
                         output byte for byte
  eve-flow-id-range      every flow_id is in [1, 2^53), one per connection
                         (community_id + ports), one connection per flow_id
  eve-envelope           proto "TCP" and app_proto "imap" on every flow event,
                         host = --sensor-name (default: the host name) on
                         every event, pcap_filename = the -r argument, none
                         for -r - (standard input)
  eve-pcap-cnt           pcap_cnt is the number of a frame of the capture
                         whose time is the event's timestamp (read from the
                         pcap file itself); none on stats
  eve-types              --types imap_session,alert writes exactly the
                         events of those types of a full run; an unknown
                         name is an error naming it (exit 1)
  eve-no-responses       --no-responses: the imap events of a full run
                         without "responses", nothing else changed
  eve-exclude-fields     --exclude-fields TYPE.FIELD,...: exactly those
                         members gone, in -T json, -T ecs and the text trace;
                         a malformed entry is an error
Environment: IMAPSCOPE (default ./build/imapscope).
"""
import datetime
import json
import os
import socket
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
failed = 0


def report(ok, name, why=""):
    global failed
    print(("PASS " + name) if ok else ("FAIL %s: %s" % (name, why)))
    if not ok:
        failed += 1


def run(args, stdin=None):
    p = subprocess.run([IMAPSCOPE] + args, capture_output=True, stdin=stdin)
    return p


def events(out):
    return [json.loads(x) for x in out.decode().splitlines()]


def pcap_times(path):
    """Frame number (1-based) -> timestamp in microseconds, of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian, nano = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian, nano = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        endian, nano = "<", True
    elif magic == b"\xa1\xb2\x3c\x4d":
        endian, nano = ">", True
    else:
        return None
    off, n, times = 24, 0, {}
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        n += 1
        times[n] = sec * 1000000 + (frac // 1000 if nano else frac)
        off += 16 + incl
    return times


def ts_us(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL eve-imapscope-missing")
        return 1
    caps = [os.path.join("captures", c) for c in ("imaplib-main.pcap", "imaplib-auth.pcap", "curl-imap.pcap",
                                                  "fetchmail-plain.pcap")]
    os.chdir(ROOT)

    # flow_id: random per run, fixed by a seed
    a = events(run(["-r", caps[1], "-T", "json"]).stdout)
    b = events(run(["-r", caps[1], "-T", "json"]).stdout)
    ida = {e["flow_id"] for e in a if "flow_id" in e}
    idb = {e["flow_id"] for e in b if "flow_id" in e}
    s1 = run(["-r", caps[1], "-T", "json", "--flow-id-seed", "99"]).stdout
    s2 = run(["-r", caps[1], "-T", "json", "--flow-id-seed", "99"]).stdout
    s3 = events(run(["-r", caps[1], "-T", "json", "--flow-id-seed", "100"]).stdout)
    id1 = {e["flow_id"] for e in events(s1) if "flow_id" in e}
    id3 = {e["flow_id"] for e in s3 if "flow_id" in e}
    report(len(ida) >= 3 and len(ida) == len(idb) and not (ida & idb) and s1 == s2 and not (id1 & id3),
           "eve-flow-id-random", "run a %s, run b %s, same seed same output %s" % (sorted(ida)[:3], sorted(idb)[:3],
                                                                                  s1 == s2))

    for cap in caps:
        name = os.path.basename(cap)
        full = events(run(["-r", cap, "-T", "json", "--flow-id-seed", "3", "--sensor-name", "s-1"]).stdout)
        why = []
        conn_of, id_of = {}, {}
        for e in full:
            if e["event_type"] in ("stats", "imap_user"):
                # per run / per user, not per connection: no flow keys
                if "pcap_cnt" in e or "flow_id" in e or "proto" in e:
                    why.append("%s has flow keys" % e["event_type"])
            else:
                fid = e["flow_id"]
                if not (1 <= fid < 2 ** 53):
                    why.append("flow_id %d out of range" % fid)
                conn = (e["community_id"], e["src_port"], e["dest_port"])
                if conn_of.setdefault(fid, conn) != conn or id_of.setdefault(conn, fid) != fid:
                    why.append("flow_id %d is two connections" % fid)
                if e.get("proto") != "TCP" or e.get("app_proto") != "imap":
                    why.append("proto/app_proto %s/%s" % (e.get("proto"), e.get("app_proto")))
            if e.get("host") != "s-1" or e.get("pcap_filename") != cap:
                why.append("host %r pcap_filename %r" % (e.get("host"), e.get("pcap_filename")))
        report(not why and len(id_of) >= 1, "eve-flow-id-range-" + name, "; ".join(sorted(set(why))[:4]))
        report(not why, "eve-envelope-" + name, "; ".join(sorted(set(why))[:4]))

        times = pcap_times(cap)
        bad, counted = [], 0
        for e in full:
            if "pcap_cnt" not in e:
                continue
            counted += 1
            n = e["pcap_cnt"]
            if n not in times or times[n] != ts_us(e["timestamp"]):
                bad.append("%s pcap_cnt %d at %s, frame time %s" % (e["event_type"], n, e["timestamp"],
                                                                  times.get(n)))
        with_cnt = [e for e in full if e["event_type"] == "imap"]
        report(not bad and counted > 0 and all("pcap_cnt" in e for e in with_cnt), "eve-pcap-cnt-" + name,
               "; ".join(bad[:3]) or "%d events with pcap_cnt" % counted)

        typed = events(run(["-r", cap, "-T", "json", "--flow-id-seed", "3", "--sensor-name", "s-1",
                            "--types", "imap_session,alert"]).stdout)
        want = [e for e in full if e["event_type"] in ("imap_session", "alert")]
        report(typed == want and len(want) > 0, "eve-types-" + name,
               "%d events, %d expected" % (len(typed), len(want)))

        nr = events(run(["-r", cap, "-T", "json", "--flow-id-seed", "3", "--sensor-name", "s-1",
                         "--no-responses"]).stdout)
        strip = []
        had = 0
        for e in full:
            if e["event_type"] == "imap" and "responses" in e["imap"]:
                had += 1
                e = json.loads(json.dumps(e))
                del e["imap"]["responses"]
            strip.append(e)
        report(nr == strip and had > 0 and not any("responses" in e.get("imap", {}) for e in nr),
               "eve-no-responses-" + name, "%d events differ" % sum(1 for x, y in zip(nr, strip) if x != y))

    # --no-responses with --annotate and a decrypted capture (layer ["tls"], annotations last)
    base = ["-r", "captures/imaplib-imaps-tls13.pcap", "--keylog", "captures/imaplib-imaps-tls13.keys", "-T", "json",
            "--flow-id-seed", "3", "--annotate"]
    full = events(run(base).stdout)
    nr = events(run(base + ["--no-responses"]).stdout)
    # annotations describe what the event shows: without responses, a subset
    # (those of the command, its status and code), in the same order
    sub, nann = True, 0
    for a, b in zip(nr, full):
        ann = [e[e["event_type"]].pop("annotations", []) if e["event_type"] in ("imap", "imap_session") else []
               for e in (a, b)]
        if b["event_type"] == "imap":
            b["imap"].pop("responses", None)
            nann += len(ann[0])
        sub &= [x for x in ann[1] if x in ann[0]] == ann[0]
    report(nr == full and sub and nann > 0 and any("tls" in e.get("imap", {}).get("layer", []) for e in nr),
           "eve-no-responses-annotate-decrypted",
           "%d events differ" % sum(1 for x, y in zip(nr, full) if x != y))

    # --exclude-fields imap.annotations: the array left out of imap events only
    base = ["-r", "captures/imaplib-main.pcap", "-T", "json", "--flow-id-seed", "3", "--annotate"]
    ann = events(run(base + ["--exclude-fields", "imap.annotations"]).stdout)
    full = events(run(base).stdout)
    for e in full:
        if e["event_type"] == "imap":
            e["imap"].pop("annotations", None)
    report(ann == full and any("annotations" in e.get("imap_session", {}) for e in ann)
           and not any("annotations" in e.get("imap", {}) for e in ann), "eve-exclude-fields-annotations",
           "%d events differ" % sum(1 for x, y in zip(ann, full) if x != y))

    # --exclude-fields: top-level members of several types, every format
    excl = {"imap": ["layer", "responses"], "imap_session": ["capabilities", "tls"], "tls": ["ja4_r", "certificates"],
            "alert": ["description"], "stats": ["limits"]}
    arg = ",".join("%s.%s" % (t, k) for t, ks in excl.items() for k in ks)
    base = ["-r", "captures/imaplib-starttls-tls13.pcap", "--keylog", "captures/imaplib-starttls-tls13.keys",
            "--flow-id-seed", "3"]
    full = events(run(base + ["-T", "json"]).stdout)
    cut = events(run(base + ["-T", "json", "--exclude-fields", arg]).stdout)
    removed = 0
    for e in full:
        for k in excl.get(e["event_type"], []):
            removed += e[e["event_type"]].pop(k, None) is not None
    report(cut == full and removed >= 5, "eve-exclude-fields-json",
           "%d removed, %d events differ" % (removed, sum(1 for x, y in zip(cut, full) if x != y)))
    ecs = events(run(base + ["-T", "ecs", "--exclude-fields", arg]).stdout)
    ns = {"imap_session": "session", "tls": "tls", "alert": "alert", "stats": "stats"}
    left = []
    for d in ecs:
        t = d["event"]["dataset"].split(".", 1)[1]
        body = d.get("imap", {}) if t == "imap" else d.get("imap", {}).get(ns.get(t, t), {})
        left += ["%s.%s" % (t, k) for k in excl.get(t, []) if k in body]
    report(not left and len(ecs) == len(full), "eve-exclude-fields-ecs", "still there: %s" % left[:4])
    txt = run(base + ["--exclude-fields", "imap_session.user"]).stdout.decode()
    ends = [x for x in txt.splitlines() if " end: " in x]
    plain = [x for x in run(base).stdout.decode().splitlines() if " end: " in x]
    report(ends and all(" end: user -," in x for x in ends) and any(" end: user alice," in x for x in plain),
           "eve-exclude-fields-text", ends[:1])
    p = run(["-r", caps[0], "--exclude-fields", "imap.a.b"])
    report(p.returncode == 1 and b"TYPE.FIELD" in p.stderr, "eve-exclude-fields-bad", p.stderr[:160])

    # defaults: the host name; standard input has no file name
    with open(caps[0], "rb") as f:
        e = events(run(["-r", "-", "-T", "json"], stdin=f).stdout)
    report(all(x.get("host") == socket.gethostname() and "pcap_filename" not in x for x in e),
           "eve-envelope-defaults", "host %r" % e[0].get("host"))

    p = run(["-r", caps[0], "--types", "imap,smtp"])
    err = p.stderr.decode()
    report(p.returncode == 1 and '"smtp"' in err and "imap_session" in err and not p.stdout, "eve-types-unknown",
           "rc %d, stderr %r" % (p.returncode, err[:200]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
