#!/usr/bin/env python3
"""--threads 2 gives the same events as one thread, per flow (issue 6):
each connection's events, in order, are identical; connections interleave
differently.  The stats event must agree on every counter that does not
depend on the split (packets, flows, events)."""
import glob
import json
import os
import subprocess
import sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(ROOT, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))


def per_flow(out):
    flows, stats = OrderedDict(), None
    for line in out.splitlines():
        ev = json.loads(line)
        if ev["event_type"] == "stats":
            stats = ev["stats"]
            continue
        flows.setdefault(ev["flow_id"], []).append(line)
    return dict(flows), stats


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    ok = True
    caps = sorted(glob.glob(os.path.join(ROOT, "captures", "*.pcap")) +
                  glob.glob(os.path.join(SHARED, "captures", "public", "*")))
    for cap in caps:
        if cap.endswith(".md"):
            continue
        name = os.path.basename(cap)
        keys = os.path.splitext(cap)[0] + ".keys"
        extra = ["--keylog", keys] if os.path.exists(keys) else []
        one = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json"] + extra, capture_output=True, text=True)
        two = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json", "--threads", "2"] + extra,
                             capture_output=True, text=True)
        f1, s1 = per_flow(one.stdout)
        f2, s2 = per_flow(two.stdout)
        problems = []
        if one.returncode != two.returncode:
            problems.append("exit %d vs %d" % (one.returncode, two.returncode))
        if f1 != f2:
            diff = [k for k in set(f1) | set(f2) if f1.get(k) != f2.get(k)]
            problems.append("flows differ: %s" % sorted(diff)[:5])
        for key in ("frames", "tcp_packets", "non_tcp_packets"):
            if (s1 or {}).get(key) != (s2 or {}).get(key):
                problems.append("stats.%s %s vs %s" % (key, (s1 or {}).get(key), (s2 or {}).get(key)))
        for grp in ("flows", "events"):
            a = {k: v for k, v in ((s1 or {}).get(grp) or {}).items() if k != "peak_active"}
            b = {k: v for k, v in ((s2 or {}).get(grp) or {}).items() if k != "peak_active"}
            if a != b:
                problems.append("stats.%s %s vs %s" % (grp, a, b))
        if problems:
            ok = False
            print("FAIL threads-%s: %s" % (name, "; ".join(problems)))
        else:
            print("PASS threads-%s (%d flows)" % (name, len(f1)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
