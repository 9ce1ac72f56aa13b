#!/usr/bin/env python3
"""report.py - the benchmark's table and target checks (issue 6, item 2).

Reads what tests/bench/run.sh wrote in DIR:
  meta.tsv    key TAB value (date, machine, versions)
  files.tsv   corpus-id TAB path TAB bytes TAB packets
  raw.tsv     corpus-id TAB label TAB run TAB wall user sys maxrss_kib status
  checks.tsv  corpus-id TAB sessions TAB peak_active TAB evicted TAB gaps TAB imap_events
              TAB bytes of -T json output
prints the table and the checks, writes DIR/results.md, and with --doc FILE
replaces the part of FILE between "<!-- bench:begin -->" and
"<!-- bench:end -->" with the same text.

Times are CPU seconds (user + system) unless a column says wall; every
figure is the median of the runs.  Exit status 1 when a timed command
failed, 0 otherwise (a missed target is a result, not an error).
"""
import argparse
import os
import statistics
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--doc")
    a = ap.parse_args()

    meta = dict((r[0], r[1]) for r in read_tsv(os.path.join(a.dir, "meta.tsv")))
    files = {r[0]: {"path": r[1], "bytes": int(r[2]), "packets": int(r[3])}
             for r in read_tsv(os.path.join(a.dir, "files.tsv"))}
    checks = {r[0]: [int(x) for x in r[1:]] for r in read_tsv(os.path.join(a.dir, "checks.tsv"))}
    runs = {}
    failed = []
    for fid, label, _run, vals in read_tsv(os.path.join(a.dir, "raw.tsv")):
        wall, user, sys_, rss, status = vals.split()
        if int(status) != 0:
            failed.append("%s on %s exited with %s" % (label, fid, status))
        runs.setdefault((fid, label), []).append(
            (float(wall), float(user) + float(sys_), int(rss)))

    res = {}
    order = []
    for key, rs in runs.items():
        res[key] = {
            "wall": statistics.median(r[0] for r in rs),
            "cpu": statistics.median(r[1] for r in rs),
            "rss": statistics.median(r[2] for r in rs) / 1024.0,
            "n": len(rs),
        }
        order.append(key)

    def get(fid, label):
        return res.get((fid, label))

    lines = []
    out = lines.append
    out("Machine: %s; %s.  " % (meta.get("cpu", "?"), meta.get("kernel", "?")))
    out("Versions: %s; %s; %s%s.  " % (meta.get("imapscope", "?"), meta.get("cc", "?"),
                                    meta.get("libpcap", "?"),
                                    "; " + meta["tshark"] if "tshark" in meta else "; tshark not installed"))
    out("Date: %s; median of %s runs; times are CPU seconds (user + system); "
        "the whole run took %s s." % (meta.get("date", "?"), meta.get("runs", "?"), meta.get("elapsed", "?")))
    if "load" in meta:
        out("Load average: %s; CPU-time ratios hold up under load, wall times do not." % meta["load"])
    out("")
    out("| corpus | MB | packets | open at once | sessions | imap txns | txns/KB | JSON bytes per byte | gaps | evicted |")
    out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fid, f in files.items():
        c = checks.get(fid)
        if c:
            out("| %s | %.1f | %d | %d | %d | %d | %.2f | %.2f | %d | %d |" % (
                fid, f["bytes"] / 1e6, f["packets"], c[1], c[0], c[4], c[4] / (f["bytes"] / 1e3),
                c[5] / f["bytes"] if len(c) > 5 else float("nan"), c[3], c[2]))
        else:
            out("| %s | %.1f | %d | | | | | | | |" % (fid, f["bytes"] / 1e6, f["packets"]))
    out("")
    out("| corpus | program | MB/s | kpkt/s | cpu s | wall s | x floor | x faster than tshark -Y imap | peak RSS MiB |")
    out("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for fid, label in order:
        r = res[(fid, label)]
        f = files[fid]
        fl = get(fid, "floor")
        ts = get(fid, "tshark -Y imap")
        ratio = r["cpu"] / fl["cpu"] if fl and fl["cpu"] > 0 else float("nan")
        cpu = max(r["cpu"], 1e-6)
        vs_ts = "%.1f" % (ts["cpu"] / cpu) if ts and label != "floor" else ""
        out("| %s | %s | %.1f | %.0f | %.2f | %.2f | %.1f | %s | %.1f |" % (
            fid, label, f["bytes"] / 1e6 / cpu, f["packets"] / 1e3 / cpu, r["cpu"], r["wall"],
            ratio, vs_ts, r["rss"]))
    out("")

    verdicts = []

    def check(name, ok, figure):
        if ok is None:
            verdicts.append("- SKIP %s: %s" % (name, figure))
        else:
            verdicts.append("- %s %s: %s" % ("PASS" if ok else "MISS", name, figure))

    def ratio_floor(fid, label):
        r, fl = get(fid, label), get(fid, "floor")
        return r["cpu"] / fl["cpu"] if r and fl and fl["cpu"] > 0 else None

    # issue 10, item 6
    x = ratio_floor("dense", "imapscope -T json")
    check("issue 10: -T json <= 2.5x the floor (dense)", None if x is None else x <= 2.5,
          "%.1fx" % x if x else "not measured")
    t, i = get("slice-dense", "tshark -Y imap"), get("slice-dense", "imapscope -T json")
    if t and i:
        s = t["cpu"] / i["cpu"]
        check("issue 10: -T json >= 20x faster than tshark -Y imap (slice-dense)", s >= 20, "%.1fx" % s)
    else:
        check("issue 10: -T json >= 20x faster than tshark -Y imap (slice-dense)", None, "tshark not run")
    for fid in ("lo-1x", "mtu-1x"):
        x = ratio_floor(fid, "imapscope -T json")
        check("issue 10: -T json <= 1.2x the floor (body-heavy, %s)" % fid, None if x is None else x <= 1.2,
              "%.1fx" % x if x else "not measured")
    # issue 6
    for fid in ("slice-lo", "slice-mtu"):
        t, i = get(fid, "tshark -Y imap"), get(fid, "imapscope (default)")
        if t and i:
            s = t["cpu"] / i["cpu"]
            check(">= 20x faster than tshark -Y imap (%s, default text vs -Y imap)" % fid, s >= 20,
                  "%.1fx" % s)
        else:
            check(">= 20x faster than tshark -Y imap (%s)" % fid, None, "tshark not run")
        t, i = get(fid, "tshark -Y imap -T json"), get(fid, "imapscope -T json")
        if t and i:
            s = t["cpu"] / i["cpu"]
            check(">= 200x faster than tshark -Y imap -T json (%s)" % fid, s >= 200, "%.1fx" % s)
        else:
            check(">= 200x faster than tshark -T json (%s)" % fid, None, "tshark not run")
    for fid in files:
        r1, r2 = get(fid, "imapscope -T json"), get(fid, "imapscope -T json --threads 2")
        if r1 and r2:
            verdicts.append("- INFO --threads 2 on %s: %.2fx the speed of one thread (wall %.2f -> %.2f s; "
                            "CPU %.2f -> %.2f s)" % (fid, r1["wall"] / r2["wall"], r1["wall"], r2["wall"],
                                                     r1["cpu"], r2["cpu"]))
    rss = [(res[k]["rss"], k) for k in res
           if k[1].startswith("imapscope") and "--threads" not in k[1] and k[0] in ("lo-1x", "mtu-1x", "lo-4x", "dense")]
    if rss:
        m, k = max(rss)
        check("peak RSS <= 64 MiB (main corpora)", m <= 64, "%.1f MiB (%s, %s)" % (m, k[1], k[0]))
    r1, r4 = get("lo-1x", "imapscope -T json"), get("lo-4x", "imapscope -T json")
    if r1 and r4:
        q = r4["rss"] / r1["rss"]
        check("4x corpus RSS within 10% of 1x", q <= 1.10,
              "%.1f vs %.1f MiB (%+.1f%%)" % (r4["rss"], r1["rss"], (q - 1) * 100))
        t1 = r1["cpu"] / files["lo-1x"]["bytes"] * 1e6
        t4 = r4["cpu"] / files["lo-4x"]["bytes"] * 1e6
        q = t4 / t1
        check("time per MB within 10% between 1x and 4x", abs(q - 1) <= 0.10,
              "%.2f vs %.2f ms/MB (%+.1f%%)" % (t4 * 1e3, t1 * 1e3, (q - 1) * 100))
    a100, a100k = get("c100", "imapscope -T json"), get("c100k", "imapscope -T json")
    if a100 and a100k:
        t1 = a100["cpu"] / files["c100"]["bytes"] * 1e6
        t2 = a100k["cpu"] / files["c100k"]["bytes"] * 1e6
        q = t2 / t1
        check("per-byte cost at 100,000 open <= at 100 (within 10%)", q <= 1.10,
              "%.2f vs %.2f ms/MB (%+.1f%%); peak RSS %.1f vs %.1f MiB" % (
                  t2 * 1e3, t1 * 1e3, (q - 1) * 100, a100k["rss"], a100["rss"]))
    for fid, c in checks.items():
        if c[3] or c[2]:
            verdicts.append("- WARNING %s: %d gaps, %d flows evicted: the corpus did not decode "
                            "cleanly" % (fid, c[3], c[2]))
    for fmsg in failed:
        verdicts.append("- ERROR %s" % fmsg)
    lines.extend(verdicts)

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(a.dir, "results.md"), "w") as f:
        f.write(text)
    if a.doc:
        with open(a.doc) as f:
            doc = f.read()
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            _old, tail = rest.split(END, 1)
            with open(a.doc, "w") as f:
                f.write(head + BEGIN + "\n" + text + END + tail)
            print("bench: results written into %s" % a.doc, file=sys.stderr)
        else:
            print("bench: %s has no %s ... %s markers; not updated" % (a.doc, BEGIN, END),
                  file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
