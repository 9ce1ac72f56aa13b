#!/usr/bin/env python3
"""A fleet (issue 14, item 5; docs/deployment.md), against a real
redis-server started on loopback in a temp dir:

  fleet-two-sensors-*   two imapscope processes at once on two captures,
                        one redis stream; two consumers of one group
                        (contrib/imapscope-redis-consumer) drain it into two
                        stores: every event of both runs (their -w files) is
                        in the stores exactly once, nothing left pending
  fleet-ecs-stream-*    -T ecs lines through the stream and the consumer
  fleet-doc-try-*       the docs/deployment.md block "fleet-try" run as
                        written (REDIS and OUT set, imapscope on PATH)
  fleet-doc-elastic-*   the Filebeat YAML and the ingest pipelines parse;
                        the -T json pipeline, applied to real events (date,
                        rename, set as Elasticsearch does them), gives
                        @timestamp, source.ip, destination.port, dataset
  fleet-doc-splunk-*    props.conf TIME_PREFIX/TIME_FORMAT find and parse
                        the timestamp of every event of every capture;
                        transforms.conf REGEX picks exactly the alerts
  fleet-sigma-*         docs/sigma/*.yml parse, have logsource imapscope/imap,
                        name only fields that real events have, and match
                        (and do not match) the events they should: cleartext
                        LOGIN and AUTHENTICATE PLAIN, not CRAM-MD5, not a
                        decrypted STARTTLS login; a failed login; the brute
                        force correlation at 10 failures, not at 9
Prints PASS/FAIL lines; SKIP when redis-server is missing.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import sinklib  # noqa: E402

IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
CAPS = os.path.join(ROOT, "tests", "data", "captures", "public")
CONSUMER = os.path.join(ROOT, "contrib", "imapscope-redis-consumer")
DOC = os.path.join(ROOT, "docs", "deployment.md")
failures = 0


def result(ok, name, detail=""):
    global failures
    if ok:
        print("PASS %s" % name)
    else:
        failures += 1
        print("FAIL %s%s" % (name, ": " + str(detail)[:600] if detail else ""))


def lines_of(path):
    with open(path, "rb") as f:
        return f.read().decode().splitlines()


def events(args):
    r = subprocess.run([IMAPSCOPE, "-T", "json"] + args, capture_output=True, text=True, timeout=120)
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def doc_blocks():
    """{name: text} of the fenced blocks after "<!-- test: NAME -->"."""
    out, name, inblock, buf = {}, None, False, []
    for ln in open(DOC).read().splitlines():
        m = re.match(r"^<!-- test: ([\w-]+) -->$", ln)
        if m:
            name = m.group(1)
            continue
        if ln.startswith("```"):
            if inblock:
                if name:
                    out[name] = "\n".join(buf) + "\n"
                inblock, name, buf = False, None, []
            else:
                inblock = True
            continue
        if inblock:
            buf.append(ln)
    return out


# ---------------------------------------------------------------- fleet
def test_two_sensors(work, rd):
    caps = [os.path.join(CAPS, "arkime__imap.pcap"),
            os.path.join(CAPS, "bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap")]
    procs, outs = [], []
    for i, cap in enumerate(caps):
        out = os.path.join(work, "sensor%d.json" % (i + 1))
        outs.append(out)
        procs.append(subprocess.Popen([IMAPSCOPE, "-r", cap, "-T", "json", "-w", out, "--threads", "2",
                                       "--redis", "127.0.0.1:%d" % rd.port, "--redis-mode", "stream",
                                       "--redis-key", "fleet:events"], stderr=subprocess.PIPE, text=True))
    errs = [p.communicate(timeout=120)[1] for p in procs]
    result(all(p.returncode == 0 for p in procs), "fleet-two-sensors-exit", errs)
    stores = [os.path.join(work, "store%d.json" % i) for i in (1, 2)]
    # two consumers of one group, one after the other: the first takes 30
    # entries and leaves, the second gets only the rest
    cerr, cons = [], []
    for i in (0, 1):
        c = subprocess.Popen([sys.executable, CONSUMER, "--redis", "127.0.0.1:%d" % rd.port, "--stream",
                              "fleet:events", "--group", "store", "--consumer", "c%d" % i, "--out", stores[i],
                              "--count", "7", "--idle-exit", "3"] + (["--max", "30"] if i == 0 else []),
                             stderr=subprocess.PIPE, text=True)
        cerr.append(c.communicate(timeout=60)[1])
        cons.append(c)
    result(all(c.returncode == 0 for c in cons), "fleet-two-consumers-exit", cerr)
    want = Counter()
    for o in outs:
        want.update(lines_of(o))
    got = Counter()
    per = []
    for s in stores:
        ls = lines_of(s) if os.path.exists(s) else []
        per.append(len(ls))
        got.update(ls)
    result(sum(want.values()) > 80 and got == want and max(got.values()) == 1,
           "fleet-two-sensors-every-event-once", "stored %d (%s), emitted %d" % (sum(got.values()), per,
                                                                                 sum(want.values())))
    result(per[0] == 30 and per[1] == sum(want.values()) - 30, "fleet-consumer-group-shares", per)
    c = rd.client()
    pending = c.call("XPENDING", "fleet:events", "store")
    xlen = c.call("XLEN", "fleet:events")
    c.close()
    result(pending[0] == 0 and xlen == sum(want.values()), "fleet-all-acknowledged", (pending, xlen))
    # both sensors' stats events are in, each with its sinks
    stats = [json.loads(ln) for ln in got if '"event_type":"stats"' in ln]
    result(len(stats) == 2 and all(s["stats"]["sinks"][1]["type"] == "redis" for s in stats),
           "fleet-two-stats-events")


def test_ecs_stream(work, rd):
    """-T ecs lines through the stream and the consumer, unchanged."""
    out = os.path.join(work, "ecs.json")
    store = os.path.join(work, "ecs-store.json")
    r = subprocess.run([IMAPSCOPE, "-r", os.path.join(CAPS, "arkime__imap.pcap"), "-T", "ecs", "-w", out,
                        "--redis", "127.0.0.1:%d" % rd.port, "--redis-mode", "stream", "--redis-key", "fleet:ecs"],
                       capture_output=True, text=True, timeout=120)
    c = subprocess.run([sys.executable, CONSUMER, "--redis", "127.0.0.1:%d" % rd.port, "--stream", "fleet:ecs",
                        "--group", "store", "--out", store, "--idle-exit", "2"], capture_output=True, text=True,
                       timeout=60)
    want, got = lines_of(out), lines_of(store) if os.path.exists(store) else []
    result(r.returncode == 0 and c.returncode == 0 and got == want and len(want) > 20 and
           all("@timestamp" in json.loads(g) for g in got), "fleet-ecs-stream-every-event-once",
           (r.returncode, c.returncode, len(got), len(want)))


def test_doc_try(work, rd):
    blocks = doc_blocks()
    b = blocks.get("fleet-try")
    result(b is not None and "imapscope-redis-consumer" in b, "fleet-doc-try-block-found", sorted(blocks))
    if not b:
        return
    out = os.path.join(work, "try")
    env = dict(os.environ, REDIS="127.0.0.1:%d" % rd.port, OUT=out,
               PATH=os.path.dirname(IMAPSCOPE) + os.pathsep + os.environ.get("PATH", ""))
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", b], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    result(r.returncode == 0 and r.stdout.strip().endswith("every event once"), "fleet-doc-try-runs-as-written",
           (r.returncode, r.stdout[-200:], r.stderr[-400:]))
    n1, n2 = len(lines_of(os.path.join(out, "sensor1.json"))), len(lines_of(os.path.join(out, "sensor2.json")))
    ns = len(lines_of(os.path.join(out, "store.json")))
    result(n1 > 10 and n2 > 10 and ns == n1 + n2, "fleet-doc-try-store-count", (n1, n2, ns))


# ---------------------------------------------------------------- Elastic, Splunk
def get(e, path):
    cur = e
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            return None, False
        cur = cur[k]
    return cur, True


def put(e, path, v):
    ks = path.split(".")
    cur = e
    for k in ks[:-1]:
        cur = cur.setdefault(k, {})
    cur[ks[-1]] = v


def pop(e, path):
    ks = path.split(".")
    cur = e
    for k in ks[:-1]:
        cur = cur.get(k, {})
    return cur.pop(ks[-1])


def mustache(s, doc):
    return re.sub(r"\{\{([\w.]+)\}\}", lambda m: "INGEST_TS" if m.group(1) == "_ingest.timestamp"
                  else str(get(doc, m.group(1))[0]), s)


def ingest(pipeline, doc):
    """Elasticsearch's date, rename and set processors, as documented."""
    doc = json.loads(json.dumps(doc))
    for p in pipeline["processors"]:
        (kind, o), = p.items()
        if kind == "date":
            v, ok = get(doc, o["field"])
            assert ok and "ISO8601" in o["formats"]
            put(doc, o.get("target_field", "@timestamp"),
                datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).isoformat())
        elif kind == "rename":
            v, ok = get(doc, o["field"])
            if not ok:
                assert o.get("ignore_missing")
                continue
            pop(doc, o["field"])
            put(doc, o["target_field"], v)
        elif kind == "set":
            if o.get("override") is False and get(doc, o["field"])[1]:
                continue
            put(doc, o["field"], mustache(o["value"], doc))
        else:
            raise ValueError("processor %s not simulated" % kind)
    return doc


def test_doc_elastic(samples):
    blocks = doc_blocks()
    try:
        import yaml
        fb = yaml.safe_load(blocks["filebeat-yaml"])
        inp = fb["filebeat.inputs"][0]
        tpl = json.load(open(os.path.join(ROOT, "contrib", "elasticsearch", "imapscope-ecs-template.json")))
        index = fb["output.elasticsearch"]["index"]
        result(inp["type"] == "filestream" and inp["parsers"][0]["ndjson"]["target"] == "" and
               fb["output.elasticsearch"]["pipeline"] == "imapscope-ecs" and
               any(re.match(pat.replace("*", ".*") + "$", index.replace("%{+yyyy.MM.dd}", "2026.01.01"))
                   for pat in tpl["index_patterns"]), "fleet-doc-elastic-filebeat-yaml", index)
    except ImportError:
        print("SKIP fleet-doc-elastic-filebeat-yaml: python3-yaml not installed")
    pe = json.loads(blocks["ingest-ecs"])
    out = ingest(pe, {"@timestamp": "2024-05-01T12:00:00.000000Z", "event": {"kind": "event"}})
    result(out["event"]["dataset"] == "imapscope.events" and out["event"]["ingested"] == "INGEST_TS",
           "fleet-doc-elastic-ingest-ecs", out)
    pj = json.loads(blocks["ingest-json"])
    bad = []
    for e in samples:
        o = ingest(pj, e)
        ok = o["@timestamp"].startswith(e["timestamp"][:19]) and o["event"]["dataset"] == "imapscope." + e["event_type"]
        if "src_ip" in e:
            ok = ok and o["source"]["ip"] == e["src_ip"] and o["destination"]["port"] == e["dest_port"] and \
                "src_ip" not in o and o["network"]["community_id"] == e["community_id"]
        if not ok:
            bad.append(o)
    result(not bad and len(samples) > 100, "fleet-doc-elastic-ingest-json-on-real-events", bad[:1])


def ini(text):
    out = {}
    for ln in text.splitlines():
        if "=" in ln and not ln.startswith("["):
            k, _, v = ln.partition("=")
            out[k.strip()] = v.strip()
    return out


def test_doc_splunk(raw_lines):
    blocks = doc_blocks()
    props = ini(blocks["splunk-props"])
    tr = ini(blocks["splunk-transforms"])
    result(props.get("KV_MODE") == "json" and "[imapscope:json]" in blocks["splunk-props"],
           "fleet-doc-splunk-sourcetype")
    prefix = re.compile(props["TIME_PREFIX"])
    fmt = props["TIME_FORMAT"].replace("%6N", "%f").replace("%Z", "Z")
    look = int(props["MAX_TIMESTAMP_LOOKAHEAD"])
    bad = []
    for ln in raw_lines:
        m = prefix.search(ln)
        try:
            t = datetime.datetime.strptime(ln[m.end():m.end() + look].split('"')[0], fmt) if m else None
        except ValueError:
            t = None
        if not t or t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") != json.loads(ln)["timestamp"]:
            bad.append(ln[:80])
    result(not bad and len(raw_lines) > 100, "fleet-doc-splunk-time-every-event", bad[:2])
    rx = re.compile(tr["REGEX"])
    picked = [ln for ln in raw_lines if rx.search(ln)]
    alerts = [ln for ln in raw_lines if json.loads(ln)["event_type"] == "alert"]
    result(picked == alerts and len(alerts) > 0 and tr["FORMAT"] == "sourcetype::imapscope:alert",
           "fleet-doc-splunk-transforms-alerts", (len(picked), len(alerts)))


# ---------------------------------------------------------------- Sigma
def value_match(v, want):
    if isinstance(want, list):
        return any(value_match(v, w) for w in want)
    if isinstance(v, list):  # a list field matches when one element does (as Elasticsearch's terms)
        return any(value_match(x, want) for x in v)
    if isinstance(want, bool) or isinstance(v, bool):
        return v is want
    if isinstance(want, str):
        return isinstance(v, str) and v.lower() == want.lower()  # Sigma: case-insensitive strings
    return v == want


def sel_match(e, sel):
    for field, want in sel.items():
        v, ok = get(e, field)
        if not ok or not value_match(v, want):
            return False
    return True


def rule_match(rule, e):
    det = rule["detection"]
    res = {k: sel_match(e, v) for k, v in det.items() if k != "condition"}
    cond = re.sub(r"\b(\w+)\b", lambda m: m.group(1) if m.group(1) in ("and", "or", "not")
                  else "res[%r]" % m.group(1), det["condition"])
    return eval(cond, {"res": res})  # only names of the rule's own selections


def rule_fields(rule):
    return {f for k, v in rule["detection"].items() if k != "condition" for f in v}


def correlation(corr, base, evs):
    """event_count: groups (group-by) with >= condition events of base within timespan."""
    span = int(corr["timespan"][:-1]) * {"s": 1, "m": 60, "h": 3600}[corr["timespan"][-1]]
    groups = defaultdict(list)
    for e in evs:
        if rule_match(base, e):
            t = datetime.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
            groups[tuple(get(e, g)[0] for g in corr["group-by"])].append(t)
    hits = []
    for k, ts in groups.items():
        ts.sort()
        j = 0
        for i in range(len(ts)):
            while ts[i] - ts[j] > span:
                j += 1
            if i - j + 1 >= corr["condition"]["gte"]:
                hits.append(k)
                break
    return hits


def test_sigma(work, samples):
    try:
        import yaml
    except ImportError:
        print("SKIP fleet-sigma: python3-yaml not installed")
        return
    d = os.path.join(ROOT, "docs", "sigma")
    docs = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".yml"):
            docs[f] = list(yaml.safe_load_all(open(os.path.join(d, f))))
    result(len(docs) >= 3, "fleet-sigma-rules-present", sorted(docs))
    present = set()

    def paths(o, pre=""):
        for k, v in o.items():
            present.add(pre + k)
            if isinstance(v, dict):
                paths(v, pre + k + ".")
    for e in samples:
        paths(e)
    for f, rules in docs.items():
        for r in rules:
            if "detection" in r:
                ok = r["logsource"] == {"product": "imapscope", "service": "imap"} and \
                    rule_fields(r) <= present and r.get("id") and r.get("level")
                result(ok, "fleet-sigma-%s-fields-exist" % f, rule_fields(r) - present)

    clear = docs["imapscope_cleartext_login.yml"][0]

    def hits(rule, args):
        return [e for e in events(args) if rule_match(rule, e)]
    h = hits(clear, ["-r", os.path.join(CAPS, "bruteshark__IMAP_-_Login_Plaintext_1.pcapng")])
    result(len(h) == 1 and h[0]["imap"]["command"] == "LOGIN", "fleet-sigma-cleartext-login", len(h))
    h = hits(clear, ["-r", os.path.join(CAPS, "bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap")])
    result(len(h) == 2 and all(e["imap"]["mechanism"] == "PLAIN" for e in h), "fleet-sigma-cleartext-plain", len(h))
    h = hits(clear, ["-r", os.path.join(CAPS, "bruteshark__IMAP_-_Authenticate_CRAM-MD5.pcapng")])
    result(h == [], "fleet-sigma-cleartext-not-cram-md5", len(h))
    tls = events(["-r", os.path.join(ROOT, "captures", "imaplib-starttls-tls13.pcap"), "--keylog",
                  os.path.join(ROOT, "captures", "imaplib-starttls-tls13.keys")])
    logins = [e for e in tls if e["event_type"] == "imap" and e["imap"]["command"] == "LOGIN" and
              e["imap"]["status"] == "OK"]
    result(len(logins) >= 1 and not any(rule_match(clear, e) for e in tls), "fleet-sigma-cleartext-not-inside-tls",
           len(logins))

    failed, corr = docs["imapscope_failed_login_bruteforce.yml"]
    result(corr["correlation"]["rules"] == [failed["name"]], "fleet-sigma-correlation-names-base-rule")
    main = events(["-r", os.path.join(ROOT, "captures", "imaplib-main.pcap")])
    h = [e for e in main if rule_match(failed, e)]
    result(len(h) == 1 and h[0]["imap"]["command"] == "LOGIN", "fleet-sigma-failed-login", len(h))
    for n, want in ((10, 1), (9, 0)):
        hdr, recs = sinklib.copies(os.path.join(ROOT, "captures", "imaplib-main.pcap"), 33930, n, gap_s=5)
        p = os.path.join(work, "bf%d.pcap" % n)
        with open(p, "wb") as f:
            f.write(hdr + b"".join(recs))
        evs = events(["-r", p])
        nf = sum(1 for e in evs if rule_match(failed, e))
        got = correlation(corr["correlation"], failed, evs)
        result(nf == n and len(got) == want, "fleet-sigma-bruteforce-%d-failures" % n, (nf, got))
        if n == 10:
            bf_events = evs
    alert_rule = docs["imapscope_auth_bruteforce_alert.yml"][0]
    sel = alert_rule["detection"]["selection"]
    result(sel == {"event_type": "alert", "alert.name": "auth_bruteforce"}, "fleet-sigma-alert-rule-shape")
    # imapscope's own detection (docs/alerts.md) raises it on the 10 failures
    h = [e for e in bf_events if rule_match(alert_rule, e)]
    result(len(h) >= 1 and all(e["alert"]["name"] == "auth_bruteforce" for e in h),
           "fleet-sigma-auth-bruteforce-alert-matches", len(h))


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL fleet-imapscope-missing: %s" % IMAPSCOPE)
        return 1
    work = tempfile.mkdtemp(prefix="imapscope-fleet.")
    try:
        samples, raw = [], []
        for f in sorted(os.listdir(CAPS)):
            if f.endswith((".pcap", ".pcapng", ".cap")):
                r = subprocess.run([IMAPSCOPE, "-r", os.path.join(CAPS, f), "-T", "json"], capture_output=True,
                                   text=True, timeout=120)
                raw += r.stdout.splitlines()
        samples = [json.loads(ln) for ln in raw]
        test_doc_elastic(samples)
        test_doc_splunk(raw)
        test_sigma(work, samples)
        if not sinklib.have("redis-server"):
            print("SKIP fleet-redis: redis-server not installed")
        else:
            d = os.path.join(work, "redis")
            os.mkdir(d)
            rd = sinklib.Redis(d).start()
            try:
                test_two_sensors(work, rd)
                test_ecs_stream(work, rd)
                test_doc_try(work, rd)
            finally:
                rd.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
