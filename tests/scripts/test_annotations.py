#!/usr/bin/python3
"""Every command, status, response code and capability shown is annotated.

Renders every capture of the repository -- the cases of
tests/golden/TESTLIST (captures/, $SHARED/captures/public/,
$SHARED/vectors/..., each with the flags and key log the golden test uses)
and any capture of those folders that TESTLIST lacks (with its sibling
.keys file as key log) -- twice:

  -T json --annotate   every "command", every status (tagged "status", an
                       untagged OK/NO/BAD/PREAUTH/BYE in "responses", a
                       greeting), every response code object and every
                       capability (objects and name strings) of an imap or
                       imap_session event has its entry in the event's
                       "annotations" array ({kind, name, rfc, meaning}, each
                       (kind, name) once, nothing the event does not show),
                       and no object carries annotation members of its own
                       (rfc, meaning, command_rfc, ...).  Exempt: a command
                       the dissector itself flags unknown_command (an alert
                       of the same flow naming it).  The annotated events
                       must also validate against the JSON Schema.
  -T text -v           annotations ("|   command UID FETCH (RFC ...): ...")
                       appear at most once per (connection, kind, name): the
                       first-occurrence rule; every command, status, code
                       and capability the JSON shows for a connection is
                       annotated in that connection's trace; no "not in our
                       table" except for exempt commands.

Also checks --explain (THREAD: command and capability; an unknown name:
exit 1, a message on standard error, nothing on standard output).

Prints PASS/FAIL lines.  Environment: IMAPSCOPE (default ./build/imapscope),
IMAPSCOPE_SHARED (default tests/data, relative to the repository root).
"""
import glob
import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(REPO, "build", "imapscope"))
SHARED = os.environ.get("IMAPSCOPE_SHARED", "tests/data")
SHARED_ABS = SHARED if os.path.isabs(SHARED) else os.path.normpath(os.path.join(REPO, SHARED))
STATUSES = {"OK", "NO", "BAD", "PREAUTH", "BYE"}

fails = 0


def report(ok, name, msg=""):
    global fails
    if ok:
        print("PASS %s" % name)
    else:
        fails += 1
        print("FAIL %s%s" % (name, (": " + msg[:1500]) if msg else ""))


def cases():
    """[(name, capture path, [flags])], one per capture."""
    out, seen = [], set()
    with open(os.path.join(REPO, "tests", "golden", "TESTLIST"), encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#") or len(w) < 3:
                continue
            flags = [x.replace("$SHARED", SHARED_ABS) for x in w[2:-1]]
            if "-T" not in flags or flags[flags.index("-T") + 1] != "json":
                continue
            i = flags.index("-T")
            flags = flags[:i] + flags[i + 2:]
            cap = w[1].replace("$SHARED", SHARED_ABS)
            cap = cap if os.path.isabs(cap) else os.path.join(REPO, cap)
            if cap in seen:
                continue
            seen.add(cap)
            out.append((re.sub(r"-json$", "", w[0]), cap, flags))
    pats = [os.path.join(REPO, "captures", "*")] + [os.path.join(SHARED_ABS, d, "*") for d in
                                                     ("captures/public", "vectors/generated-imap")]
    for pat in pats:
        for cap in sorted(glob.glob(pat)):
            if not re.search(r"\.(pcap|pcapng|cap)$", cap) or cap in seen:
                continue
            seen.add(cap)
            flags = []
            keys = re.sub(r"\.(pcap|pcapng|cap)$", ".keys", cap)
            if os.path.exists(keys):
                flags += ["--keylog", keys]
            if "/vectors/" in cap:
                flags += ["--server-port", "143"]
            out.append((os.path.basename(cap), cap, flags))
    return out


def run(cap, flags, extra):
    # runs are compared by flow_id: one key for all
    r = subprocess.run([IMAPSCOPE, "-r", cap, "--flow-id-seed", "1"] + flags + extra, capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


ANN_KEYS = {"rfc", "meaning", "command_rfc", "command_meaning", "status_rfc", "status_meaning"}


def json_items(ev_type, body, flow):
    """Yields (kind, name) for every item of one event body (its
    "annotations" member left out)."""
    def walk(v, key):
        if isinstance(v, list):
            for x in v:
                yield from walk(x, key)
            return
        if isinstance(v, str):
            if key in ("capabilities", "capabilities_before_tls"):
                yield ("capability", v)
            return
        if not isinstance(v, dict):
            return
        for k, x in v.items():
            if key is None and k in ("annotations", "annotations_dropped"):
                continue
            if k == "command" and isinstance(x, str):
                yield ("command", x)
            if k == "status" and isinstance(x, str) and x.upper() in STATUSES:
                yield ("status", x)
            yield from walk(x, k)
        if key in ("response_code", "code") and isinstance(v.get("code"), str):
            yield ("code", v["code"])
        elif key in ("capabilities", "capabilities_before_tls") and isinstance(v.get("name"), str):
            yield ("capability", v["name"])
        elif key == "responses" and isinstance(v.get("type"), str) and v["type"].upper() in STATUSES:
            yield ("status", v["type"])
    yield from walk(body, None)


def stray_members(v, path=""):
    """Paths of annotation members outside "annotations" (the old sibling
    members rfc/meaning/command_rfc/...)."""
    out = []
    if isinstance(v, list):
        for x in v:
            out += stray_members(x, path + "[]")
    elif isinstance(v, dict):
        for k, x in v.items():
            if path == "" and k == "annotations":
                continue
            if k in ANN_KEYS:
                out.append(path + "." + k)
            out += stray_members(x, path + "." + k)
    return out


def check_annotations(body, items, flow, exempt, problems):
    """The body's "annotations" hold each item once with a reference and a
    meaning, and nothing else."""
    ann = body.get("annotations", [])
    keys = []
    for a in ann:
        if not (isinstance(a, dict) and set(a) == {"kind", "name", "rfc", "meaning"}
                and all(isinstance(a[k], str) and a[k] for k in a)):
            problems.append("flow %s: bad annotation %r" % (flow, a))
            continue
        keys.append((a["kind"], a["name"].upper()))
    if len(keys) != len(set(keys)):
        problems.append("flow %s: an annotation listed twice: %s" % (flow, sorted(k for k in keys if keys.count(k) > 1)[:3]))
    have = set(keys)
    want = set()
    for kind, nm in items:
        if kind == "command" and (flow, nm.upper()) in exempt:
            continue
        want.add((kind, nm.upper()))
        if (kind, nm.upper()) not in have:
            problems.append("flow %s: %s %s has no annotation" % (flow, kind, nm))
    extra = sorted(have - want - {(k, n) for k, n in have if k == "command" and (flow, n) in exempt})
    if extra:
        problems.append("flow %s: annotations of items the event does not show: %s" % (flow, extra[:3]))
    stray = stray_members(body)
    if stray:
        problems.append("flow %s: annotation members outside annotations: %s" % (flow, stray[:3]))


ANN = re.compile(r"^ +\|   (command|status|code|capability) (.*)$")
FLOWLINE = re.compile(r"^\S+ \[flow (\d+)\] ")
# The trace numbers connections 1, 2, 3 per run; its header names the JSON
# flow_id when it differs: "--- flow 2 ... flow_id 251".
FLOWHEAD = re.compile(r"^\S+ --- flow (\d+) .*?(?: flow_id (\d+))?$")


def check_capture(name, cap, flags, validator):
    rc, out, err = run(cap, flags, ["-T", "json", "--annotate"])
    if rc >= 128 or rc < 0:
        report(False, "annot-json-%s" % name, "died (status %d): %s" % (rc, err[:200]))
        return
    exempt = set()
    events = []
    problems = []
    for i, line in enumerate(out.splitlines()):
        try:
            e = json.loads(line)
        except ValueError as x:
            problems.append("line %d not JSON: %s" % (i + 1, x))
            continue
        events.append(e)
        if validator is not None:
            errs = sorted(validator.iter_errors(e), key=lambda x: len(list(x.absolute_path)))
            if errs:
                problems.append("line %d schema: %s at %s" % (i + 1, errs[0].message[:200],
                                                               "/".join(map(str, errs[0].absolute_path))))
        if e.get("event_type") == "alert" and e["alert"].get("name") == "unknown_command":
            exempt.add((e.get("flow_id"), (e["alert"].get("detail") or "").upper()))
    if not events or events[-1].get("event_type") != "stats":
        problems.append("no output ending with a stats event (rc %d): %s" % (rc, err[:200]))
    want = set()  # (flow, kind, NAME) the text trace must annotate
    n_items = 0
    for e in events:
        t = e.get("event_type")
        if t not in ("imap", "imap_session"):
            continue
        flow = e.get("flow_id")
        items = list(json_items(t, e[t], flow))
        check_annotations(e[t], items, flow, exempt, problems)
        for kind, nm in items:
            n_items += 1
            if kind == "command" and (flow, nm.upper()) in exempt:
                continue
            want.add((flow, kind, nm.upper()))
    report(not problems, "annot-json-%s" % name, "; ".join(problems[:12]))

    rc, out, err = run(cap, flags, ["-T", "text", "-v", "--color", "never"])
    if rc >= 128 or rc < 0:
        report(False, "annot-text-%s" % name, "died (status %d)" % rc)
        return
    flow = None
    shown = {}
    problems = []
    after_alert = False
    flow_ids = {}  # trace number -> JSON flow_id
    for line in out.splitlines():
        m = FLOWHEAD.match(line)
        if m:
            flow_ids[int(m.group(1))] = int(m.group(2) or m.group(1))
            continue
        m = FLOWLINE.match(line)
        if m:
            flow = flow_ids.get(int(m.group(1)), int(m.group(1)))
            after_alert = False
            continue
        if " !!! " in line[:20]:  # an alert; its -v detail line follows, indented like annotations
            after_alert = True
            continue
        m = ANN.match(line)
        if not m or after_alert:
            after_alert = False
            continue
        kind, rest = m.group(1), m.group(2)
        unknown = rest.endswith(": not in our table")
        nm = rest[:-len(": not in our table")] if unknown else rest.split(" (", 1)[0]
        key = (flow, kind, nm.upper())
        shown[key] = shown.get(key, 0) + 1
        if shown[key] == 2:
            problems.append("flow %s: %s %s annotated more than once" % key)
        if unknown and not (kind == "command" and (flow, nm.upper()) in exempt):
            problems.append("flow %s: %s %s not in the table" % key)
        elif not unknown and not re.search(r" \(.+\): \S", rest):
            problems.append("flow %s: %s %s: no reference or meaning" % key)
    missing = sorted(want - set(shown))
    for k in missing[:10]:
        problems.append("flow %s: %s %s shown in the JSON, not annotated in the -v trace" % k)
    report(not problems, "annot-text-%s" % name, "; ".join(problems[:12]))
    return n_items, len(shown)


def check_explain():
    r = subprocess.run([IMAPSCOPE, "--explain", "THREAD"], capture_output=True, text=True)
    lines = r.stdout.splitlines()
    report(r.returncode == 0 and any(l.startswith("command THREAD (RFC 5256 3): ") for l in lines)
           and any(l.startswith("capability THREAD (RFC 5256): ") for l in lines) and len(lines) == 2,
           "annot-explain-thread", "rc %d, out %r" % (r.returncode, r.stdout))
    r = subprocess.run([IMAPSCOPE, "--explain", "uid fetch"], capture_output=True, text=True)
    report(r.returncode == 0 and r.stdout.startswith("command UID FETCH (RFC 9051 6.4.9): "),
           "annot-explain-uid-fetch", "rc %d, out %r" % (r.returncode, r.stdout))
    r = subprocess.run([IMAPSCOPE, "--explain", "NO"], capture_output=True, text=True)
    report(r.returncode == 0 and r.stdout.startswith("status NO (RFC 9051 7.1.2): "),
           "annot-explain-status", "rc %d, out %r" % (r.returncode, r.stdout))
    r = subprocess.run([IMAPSCOPE, "--explain", "AUTH=XOAUTH2"], capture_output=True, text=True)
    report(r.returncode == 0 and r.stdout.startswith("capability AUTH=XOAUTH2 (RFC 9051 6.2.2): ")
           and "AUTH=" in r.stdout, "annot-explain-prefix", "rc %d, out %r" % (r.returncode, r.stdout))
    r = subprocess.run([IMAPSCOPE, "--explain", "FROBNICATE"], capture_output=True, text=True)
    report(r.returncode == 1 and r.stdout == "" and "FROBNICATE" in r.stderr and "not a known" in r.stderr,
           "annot-explain-unknown", "rc %d, out %r, err %r" % (r.returncode, r.stdout, r.stderr))


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        report(False, "annot-imapscope", "%s is not built" % IMAPSCOPE)
        return 1
    validator = None
    try:
        import jsonschema
        with open(os.path.join(REPO, "docs", "schema", "imapscope-events.schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        validator = jsonschema.validators.validator_for(schema)(schema)
    except ImportError:
        print("SKIP annot-schema: python3-jsonschema not installed")
    check_explain()
    cs = cases()
    report(len(cs) >= 30, "annot-captures-found", "only %d captures" % len(cs))
    total_items = total_ann = 0
    for name, cap, flags in cs:
        r = check_capture(name, cap, flags, validator)
        if r:
            total_items += r[0]
            total_ann += r[1]
    # without --annotate nothing is added (off by default)
    rc, out, _ = run(os.path.join(REPO, "captures", "imaplib-main.pcap"), [], ["-T", "json"])
    report(rc == 0 and '"command":"' in out and "_rfc" not in out and '"meaning"' not in out
           and '"annotations"' not in out, "annot-json-off-by-default")
    report(total_items > 1000 and total_ann > 300, "annot-coverage-volume",
           "%d items in the JSON, %d annotations in the traces" % (total_items, total_ann))
    print("# %d captures, %d items in the JSON, %d annotations in the -v traces" % (len(cs), total_items, total_ann))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
