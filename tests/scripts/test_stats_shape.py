#!/usr/bin/python3
"""The stats event's one shape (issue 10, item 3; docs/output.md "stats"):
every counter in stats.counters [{name, count}], every bounded resource in
stats.limits [{name, limit, used, peak, refused, evicted}].

  stats-shape-names-CAP      counter names "group.counter", each once; limit
                             names each once; only the members listed
  stats-shape-decode-CAP     decode.ok = tcp_packets + non_tcp_packets and
                             frames = decode.ok + held + skipped + errors
  stats-shape-events-CAP     events.imap / imap_session / alert / tls /
                             mail equal the events written
  stats-shape-limits-CAP     every limit has a limit; used <= peak; the
                             resources of a plain run are all there
  stats-shape-threads-CAP    --threads 2: the same counters (but the
                             reassembly ones the split changes) and limits
                             of the same names and limits
  stats-shape-keylog-cut     --key-log-max below the file's size: limit
                             keylog.bytes refused 1, used <= limit
  stats-shape-text           the text trace's stats rows: a group's row
                             lists exactly its counters that are not zero

Environment: IMAPSCOPE (default ./build/imapscope).
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
CAPS = os.path.join(ROOT, "captures")
failed = False


def result(ok, name, detail=""):
    global failed
    if ok:
        print("PASS " + name)
    else:
        failed = True
        print("FAIL %s: %s" % (name, str(detail)[:400]))


def run(*args):
    p = subprocess.run([IMAPSCOPE] + list(args), capture_output=True, text=True, timeout=300)
    return p.stdout


def events(*args):
    return [json.loads(x) for x in run(*args, "-T", "json").splitlines()]


def cap_args(name):
    keys = os.path.join(CAPS, name.rsplit(".", 1)[0] + ".keys")
    return ["-r", os.path.join(CAPS, name)] + (["--keylog", keys] if os.path.exists(keys) else [])


def counters(st):
    return {c["name"]: c["count"] for c in st["counters"]}


def limits(st):
    return {x["name"]: x for x in st["limits"]}


def check_capture(name):
    evs = events(*cap_args(name))
    st = evs[-1]["stats"]
    assert evs[-1]["event_type"] == "stats"
    names = [c["name"] for c in st["counters"]]
    lnames = [x["name"] for x in st["limits"]]
    bad = [n for n in names if not re.match(r"^[a-z0-9_]+\.[a-z0-9_.]+$", n)]
    extra = [k for x in st["limits"] for k in x if k not in ("name", "limit", "used", "peak", "refused", "evicted")]
    result(not bad and not extra and len(set(names)) == len(names) == len(st["counters"]) > 30
           and len(set(lnames)) == len(lnames), "stats-shape-names-" + name, (bad, extra, len(names)))
    c = counters(st)
    ok = c["decode.ok"] == st["tcp_packets"] + st["non_tcp_packets"] and \
        st["frames"] == c["decode.ok"] + c["decode.held"] + c["decode.skipped"] + c["decode.errors"]
    result(ok and st["tcp_packets"] > 0, "stats-shape-decode-" + name,
           (st["frames"], st["tcp_packets"], st["non_tcp_packets"],
            {k: v for k, v in c.items() if k.startswith("decode.")}))
    seen = {}
    for e in evs[:-1]:
        t = "mail" if e["event_type"] in ("email", "fileinfo") else e["event_type"]
        seen[t] = seen.get(t, 0) + 1
    want = {t: c["events." + t] for t in ("imap", "imap_session", "alert", "tls", "mail")}
    got = {t: seen.get(t, 0) for t in want}
    # the detections' alerts come from src/detect.c, not from a connection
    got["alert"] -= sum(v for k, v in c.items() if k.startswith("detect.alerts."))
    result(got == want and want["imap_session"] > 0, "stats-shape-events-" + name, (got, want))
    lm = limits(st)
    need = {"reassembly.memory", "flows.table", "imap.memory", "mail.memory", "mail.pending",
            "starttls_offered.servers", "starttls_offered.waiting", "detect.users", "detect.clients",
            "detect.client_user_pairs", "detect.servers"}
    if "--keylog" in cap_args(name):
        need.add("keylog.bytes")
    ok = need <= set(lm) and all(x["limit"] > 0 for x in lm.values()) and \
        all(x["used"] <= x["peak"] for x in lm.values() if "used" in x and "peak" in x) and \
        lm["flows.table"]["peak"] >= 1 and lm["reassembly.memory"]["limit"] > 0
    result(ok, "stats-shape-limits-" + name, (sorted(need - set(lm)), lm))
    return st


def check_threads(name, st1):
    st2 = events(*cap_args(name), "--threads", "2")[-1]["stats"]
    c1 = {k: v for k, v in counters(st1).items() if not k.startswith("reassembly.")}
    c2 = {k: v for k, v in counters(st2).items() if not k.startswith("reassembly.")}
    l1 = {k: x["limit"] for k, x in limits(st1).items()}
    l2 = {k: x["limit"] for k, x in limits(st2).items()}
    result(c1 == c2 and l1 == l2 and st2.get("threads") == 2, "stats-shape-threads-" + name,
           ({k: (c1.get(k), c2.get(k)) for k in set(c1) | set(c2) if c1.get(k) != c2.get(k)},
            {k: (l1.get(k), l2.get(k)) for k in set(l1) | set(l2) if l1.get(k) != l2.get(k)}))


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL stats-shape-imapscope-missing: %s" % IMAPSCOPE)
        return 1
    for name in ("imaplib-main.pcap", "curl-imaps-tls13.pcap", "imaplib-starttls-tls12.pcap"):
        st = check_capture(name)
        check_threads(name, st)

    # a key log cut at 200 bytes: the limit says so
    args = cap_args("curl-imaps-tls13.pcap")
    size = os.path.getsize(args[args.index("--keylog") + 1])
    st = events(*args, "--key-log-max", "200")[-1]["stats"]
    kb = limits(st).get("keylog.bytes", {})
    result(size > 200 and kb.get("limit") == 200 and kb.get("refused") == 1 and 0 < kb.get("used", 0) <= 200,
           "stats-shape-keylog-cut", kb)
    st = events(*args)[-1]["stats"]
    kb = limits(st).get("keylog.bytes", {})
    result(kb.get("refused") == 0 and kb.get("used") == size, "stats-shape-keylog-whole", (kb, size))

    # the text table: a group's row lists its counters that are not zero
    txt = run(*cap_args("imaplib-main.pcap"))
    st = events(*cap_args("imaplib-main.pcap"))[-1]["stats"]
    rows = {}
    for line in txt[txt.index("### stats"):].splitlines()[1:]:
        f = line.split("|", 1)[1].split(None, 1)
        rows[f[0]] = f[1] if len(f) > 1 else ""
    ok, bad = True, []
    for g in ("decode", "reassembly", "flows", "events", "mail", "detect"):
        want = ", ".join("%s %d" % (n[len(g) + 1:], v) for n, v in counters(st).items()
                         if n.startswith(g + ".") and v) or "-"
        if rows.get(g) != want:
            ok = False
            bad.append((g, rows.get(g), want))
    im = limits(st)["imap.memory"]
    ok = ok and rows.get("imap.memory") == "limit %d, peak %d" % (im["limit"], im["peak"])
    result(ok, "stats-shape-text", bad or rows.get("imap.memory"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
