#!/usr/bin/env python3
"""--stats (issue 16): the tables on standard error agree with the JSON
events of the same run: connections by TLS mode, commands with their
status counts and exact p50 (nearest rank; every command here has at most
256 samples, so the value printed is exact) or the histogram's p50 within
3.2% (a generated corpus with more samples), alerts by kind, and the top
users (connections, logins, bytes).  Standard output stays JSON lines."""
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
failures = 0


def result(ok, name, detail=""):
    global failures
    if ok:
        print("PASS %s" % name)
    else:
        failures += 1
        print("FAIL %s%s" % (name, ": " + detail if detail else ""))


def fmt_latency(u):
    if u < 1000:
        return "%d us" % u
    if u < 1000000:
        return "%d.%d ms" % (u // 1000, u % 1000 // 100)
    return "%d.%03d s" % (u // 1000000, u % 1000000 // 1000)


def parse_latency(tok):
    v, unit = tok.lstrip("~").split()
    return float(v) * {"us": 1, "ms": 1000, "s": 1000000}[unit]


def nearest_rank(values, p):
    v = sorted(values)
    return v[max(1, -(-len(v) * p // 100)) - 1]


def expected(lines):
    cmds = defaultdict(lambda: {"count": 0, "OK": 0, "NO": 0, "BAD": 0, "none": 0, "lat": []})
    modes, alerts = Counter(), Counter()
    users = defaultdict(lambda: {"conns": 0, "ok": 0, "fail": 0, "bytes": 0})
    for line in lines:
        ev = json.loads(line)
        t = ev["event_type"]
        if t == "imap":
            i = ev["imap"]
            c = cmds[i.get("command") or "(none)"]
            c["count"] += 1
            c[i.get("status") or "none"] += 1
            if i.get("latency_us") is not None:
                c["lat"].append(i["latency_us"])
            if i.get("command") in ("LOGIN", "AUTHENTICATE") and i.get("status"):
                u = i.get("user")  # LOGIN and AUTHENTICATE alike
                if u:
                    users[u]["ok" if i["status"] == "OK" else "fail"] += 1
        elif t == "imap_session":
            s = ev["imap_session"]
            modes[s["tls"]["mode"]] += 1
            if s.get("user"):
                u = users[s["user"]]
                u["conns"] += 1
                u["bytes"] += s["client_bytes"] + s["server_bytes"]
        elif t == "alert":
            alerts[ev["alert"]["name"]] += 1
    return cmds, modes, alerts, users


def section(err, title):
    """Lines of a table: from its header (the line after `title`) to a blank line."""
    lines = err.split("\n")
    i = lines.index(title)
    out = []
    for line in lines[i + 1:]:
        if not line.strip():
            break
        out.append(line)
    return out


def check(name, args):
    p = subprocess.run([IMAPSCOPE] + args + ["-T", "json", "--stats"], capture_output=True, text=True)
    if p.returncode != 0:
        result(False, name + "-run", p.stderr[-300:])
        return
    out = p.stdout.splitlines()
    try:
        cmds, modes, alerts, users = expected(out)
        result(True, name + "-stdout-is-json")
    except ValueError as e:
        result(False, name + "-stdout-is-json", str(e))
        return
    err = p.stderr
    m = re.search(r"Connections:\s+(\d+) \(cleartext (\d+), STARTTLS (\d+), implicit TLS (\d+)\)", err)
    got = tuple(int(x) for x in m.groups()) if m else None
    want = (sum(modes.values()), modes["none"], modes["starttls"], modes["implicit"])
    result(got == want, name + "-connections", "stats %s, JSON %s" % (got, want))

    tab = section(err, "Commands")
    w = tab[0].index("Count") - 5
    seen = {}
    for row in tab[1:]:
        if row.startswith("Latency:"):
            break
        cmd = row[:w].rstrip()
        f = row[w:].split()
        seen[cmd] = ([int(x) for x in f[:5]], f[5:])
    ok, bad = True, []
    for cmd, c in cmds.items():
        want = [c["count"], c["OK"], c["NO"], c["BAD"], c["none"]]
        if cmd not in seen or seen[cmd][0] != want:
            ok = False
            bad.append("%s: %s vs %s" % (cmd, seen.get(cmd, [None])[0], want))
            continue
        lat = seen[cmd][1]
        if c["lat"]:
            p50 = lat[0] + " " + lat[1]
            exact = nearest_rank(c["lat"], 50)
            if p50.startswith("~"):
                good = abs(parse_latency(p50) - exact) <= 0.032 * exact + 1 and len(c["lat"]) > 256
            else:
                good = p50 == fmt_latency(exact)
            if not good:
                ok = False
                bad.append("%s p50 %s vs %s" % (cmd, p50, fmt_latency(exact)))
    result(ok and len(seen) == len(cmds), name + "-commands", "; ".join(bad[:5]))

    if alerts:
        tab = section(err, "Alerts")
        got = {}
        for row in tab[1:]:
            f = row.split()
            got[f[0]] = int(f[1])
        result(got == dict(alerts), name + "-alerts", "stats %s, JSON %s" % (got, dict(alerts)))

    tab = section(err, "Top users (by bytes)")
    w = tab[0].index("Conns") - 5
    ok, bad, rows = True, [], 0
    for row in tab[1:]:
        if row.startswith("("):
            continue
        rows += 1
        u = row[:w].rstrip()
        f = [int(x) for x in row[w:].split()]
        e = users.get(u)
        want = [e["conns"], e["ok"], e["fail"], e["bytes"]] if e else None
        if f != want:
            ok = False
            bad.append("%s: %s vs %s" % (u, f, want))
    byb = sorted((v["bytes"] for v in users.values()), reverse=True)
    result(ok and rows == min(20, len(users)), name + "-top-users", "; ".join(bad[:5]) or "%d rows" % rows)
    if rows >= 2:
        printed = [int(r[w:].split()[-1]) for r in tab[1:] if not r.startswith("(")]
        result(printed == byb[:rows], name + "-top-users-order")


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    caps = ROOT + "/captures/"
    check("imaplib-main", ["-r", caps + "imaplib-main.pcap"])
    check("imaplib-auth", ["-r", caps + "imaplib-auth.pcap"])
    check("starttls-tls13", ["-r", caps + "imaplib-starttls-tls13.pcap", "--keylog", caps + "imaplib-starttls-tls13.keys"])
    check("curl-imaps", ["-r", caps + "curl-imaps-tls13.pcap"])
    with tempfile.TemporaryDirectory() as tmp:
        pc = os.path.join(tmp, "c.pcap")
        g = subprocess.run([sys.executable, ROOT + "/tests/gen/mkreport_corpus.py", "--conns", "3000", "-o", pc],
                           capture_output=True, text=True)
        result(g.returncode == 0, "corpus3000-generated", g.stderr[-300:])
        if g.returncode == 0:
            check("corpus3000", ["-r", pc])
            check("corpus3000-threads2", ["-r", pc, "--threads", "2"])
    # stats go to standard error, the trace stays on standard output
    p = subprocess.run([IMAPSCOPE, "-r", caps + "imaplib-main.pcap", "--stats"], capture_output=True, text=True)
    result("=== imapscope statistics ===" in p.stderr and "===" not in p.stdout.replace("=== flow", ""),
           "stats-on-stderr-with-text")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
