#!/usr/bin/env python3
"""The dense benchmark corpus decodes as its sources (issue 10, item 6).

tests/bench/mkdense.py replays short real sessions many times; if it broke
a session (a lost segment, a wrong sequence number, a pure ACK it should
have kept) the benchmark would time something else without a word.  This
generates a small dense corpus (a few hundred connections) from the same
inputs as `make bench`, and checks, against imapscope's events on the
source captures of the templates it replayed (its --manifest), that:

  - every replayed connection is one flow, one imap_session, no gap, none
    evicted;
  - the imap events (transactions) number exactly sum(instances x the
    template's transactions in its source), per command name too;
  - every alert name occurs exactly as often as in the sources times the
    instances: in particular no unknown_tag or malformed_* alert the sources
    do not have;
  - the same arguments give the same bytes (seeded).
"""
import collections
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
MKDENSE = os.path.join(ROOT, "tests", "bench", "mkdense.py")

ok = True


def counter(st, name):
    """The count of the stats counter name (stats.counters[]), None when absent."""
    return next((c["count"] for c in st.get("counters", []) if c["name"] == name), None)


def limit(st, name):
    """The stats limit name (stats.limits[]: {name, limit, used, ...}), {} when absent."""
    return next((x for x in st.get("limits", []) if x["name"] == name), {})


def result(name, good, detail=""):
    global ok
    ok = ok and good
    print("%s %s%s" % ("PASS" if good else "FAIL", name, (": " + detail) if detail else ""))


def inputs():
    """The inputs tests/bench/run.sh gives mkdense.py."""
    pats = [os.path.join(ROOT, "captures", "*.pcap"),
            os.path.join(SHARED, "captures", "public", "*.pcap"),
            os.path.join(SHARED, "captures", "public", "*.cap"),
            os.path.join(SHARED, "vectors", "generated-imap", "*.pcap")]
    return [f for p in pats for f in sorted(glob.glob(p))]


def events(path):
    # --no-detect, --no-user-events: the detections across connections
    # (issue 15) count users and clients over the whole capture, and a
    # session replayed N times is not N times the alerts of one; this test
    # is about each connection decoding as its source
    out = subprocess.run([IMAPSCOPE, "-r", path, "-T", "json", "--no-detect", "--no-user-events"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("imapscope -r %s: exit %d: %s" % (path, out.returncode, out.stderr[-300:]))
    return [json.loads(line) for line in out.stdout.splitlines()]


def tally(evs):
    """Counter of ('imap', command), ('imap_session',), ('alert', name)."""
    c = collections.Counter()
    for e in evs:
        t = e["event_type"]
        if t == "imap":
            c[("imap", e["imap"].get("command", "?"))] += 1
        elif t == "imap_session":
            c[("imap_session",)] += 1
        elif t == "alert":
            c[("alert", e["alert"]["name"])] += 1
    return c


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        result("bench-corpus-imapscope", False, "%s not built" % IMAPSCOPE)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        pcap, man = os.path.join(tmp, "dense.pcap"), os.path.join(tmp, "dense.json")
        args = [sys.executable, MKDENSE, "--conns", "400", "--concurrency", "60", "--seed", "7"]
        gen = subprocess.run(args + ["--manifest", man, "-o", pcap] + inputs(), capture_output=True, text=True)
        if gen.returncode != 0:
            result("bench-corpus-generate", False, gen.stderr[-500:])
            return 1
        again = os.path.join(tmp, "again.pcap")
        subprocess.run(args + ["-o", again] + inputs(), check=True, capture_output=True)
        digest = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (pcap, again)]
        result("bench-corpus-deterministic", digest[0] == digest[1], "%s vs %s" % (digest[0][:12], digest[1][:12]))

        manifest = json.load(open(man))
        tpls = manifest["templates"]
        families = {t["source"] for t in tpls}
        result("bench-corpus-sources", len(tpls) >= 20 and len(families) >= 10,
               "%d templates from %d captures" % (len(tpls), len(families)))

        # Expected: each template's events in its source capture, times its instances.
        by_source = {}
        expected = collections.Counter()
        for t in tpls:
            if t["source"] not in by_source:
                by_source[t["source"]] = events(t["source"])
            ports = {t["client_port"], t["server_port"]}
            mine = [e for e in by_source[t["source"]]
                    if e["event_type"] != "stats" and {e.get("src_port"), e.get("dest_port")} == ports]
            for k, v in tally(mine).items():
                expected[k] += v * t["instances"]

        evs = events(pcap)
        got = tally(evs)
        stats = [e for e in evs if e["event_type"] == "stats"][-1]["stats"]
        conns = manifest["connections"]
        reported, gaps = counter(stats, "events.imap_session"), counter(stats, "reassembly.gaps")
        evicted = limit(stats, "flows.table").get("evicted")
        result("bench-corpus-flows", reported == conns and evicted == 0 and gaps == 0,
               "%s flows reported of %d, %s evicted, %s gaps" % (reported, conns, evicted, gaps))
        result("bench-corpus-sessions", got[("imap_session",)] == conns == expected[("imap_session",)],
               "%d imap_session, expected %d (sources), %d connections" % (
                   got[("imap_session",)], expected[("imap_session",)], conns))
        n_got = sum(v for k, v in got.items() if k[0] == "imap")
        n_exp = sum(v for k, v in expected.items() if k[0] == "imap")
        cmd_diff = {k[1]: (got[k], expected[k]) for k in set(got) | set(expected)
                    if k[0] == "imap" and got[k] != expected[k]}
        result("bench-corpus-transactions", n_got == n_exp and n_exp > conns and not cmd_diff,
               "%d imap events, expected %d; differing commands %s" % (n_got, n_exp, cmd_diff))
        bad = {k[1]: (got[k], expected[k]) for k in set(got) | set(expected)
               if k[0] == "alert" and (k[1] == "unknown_tag" or k[1].startswith("malformed_"))
               and got[k] != expected[k]}
        result("bench-corpus-no-new-parse-alerts", not bad, "got vs expected %s" % bad if bad else
               "unknown_tag/malformed_*: %d, as in the sources" % sum(
                   v for k, v in got.items() if k[0] == "alert" and
                   (k[1] == "unknown_tag" or k[1].startswith("malformed_"))))
        other = {k[1]: (got[k], expected[k]) for k in set(got) | set(expected)
                 if k[0] == "alert" and got[k] != expected[k]}
        result("bench-corpus-alerts", not other, "every alert name as in the sources" if not other else
               "got vs expected %s" % other)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
