#!/usr/bin/python3
"""Validates real `imapscope -T json` output against the JSON Schema.

For every capture in captures/*.pcap* (and *.cap) and in
$IMAPSCOPE_SHARED/captures/public/ (default tests/data), runs
`$IMAPSCOPE -r CAPTURE -T json` (IMAPSCOPE default ./build/imapscope) and
checks each output line: valid UTF-8, one JSON object, valid against
docs/schema/imapscope-events.schema.json (formats ipv4/ipv6 checked).  A
damaged capture may make imapscope exit 1; its lines must still validate,
and it must not die of a signal.  Each run must end with exactly one
"stats" event, the last line.

Before that, the schema itself is checked (draft 2020-12 meta-schema) and
tried on hand-written events that must pass and must fail, so a schema that
accepts anything cannot pass ("schema-self").

Prints PASS schema-<name> / FAIL schema-<name>: <first error>.  Run from
anywhere with /usr/bin/python3 (python3-jsonschema).
"""
import glob
import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCHEMA_PATH = os.path.join(REPO, "docs", "schema", "imapscope-events.schema.json")

try:
    import jsonschema
except ImportError:
    print("FAIL schema-jsonschema-missing: python3-jsonschema is not installed for %s" % sys.executable)
    sys.exit(1)


def validator():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def first_error(v, obj):
    errs = sorted(v.iter_errors(obj), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if not errs:
        return None
    e = errs[0]
    where = "/".join(str(p) for p in e.absolute_path) or "(top)"
    return "%s: %s" % (where, e.message[:300])


ENV = {"timestamp": "2024-05-01T12:34:56.123456Z", "flow_id": 3,
       "community_id": "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "src_ip": "192.0.2.1",
       "src_port": 51000, "dest_ip": "2001:db8::2", "dest_port": 143}


def ev(event_type, body, **over):
    d = dict(ENV)
    d["event_type"] = event_type
    d[event_type] = body
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


GOOD = [
    ev("imap", {"tag": "A1", "command": "UID FETCH", "status": "OK", "latency_us": 650,
                "response_code": {"code": "CAPABILITY"}, "response_text": "done",
                "untagged": [{"name": "FETCH", "count": 2}], "client_bytes": 30, "server_bytes": 900,
                "layer": ["tls", "deflate"], "search": [{"key": "OR", "depth": 0, "nargs": 2},
                                                        {"key": "SINCE", "value": "1994-02-01", "depth": 1},
                                                        {"key": "LARGER", "number": 1000, "depth": 1}]}),
    ev("imap", {"tag": "A3", "command": "AUTHENTICATE", "status": "OK", "mechanism": "DIGEST-MD5",
                "user": "alice", "values": [{"name": "realm", "value": ""}, {"name": "nonce", "value": "x"}],
                "sasl": {"client_steps": 2}, "continuations": 2}),
    ev("imap", {"tag": "A2", "command": "LOGOUT", "status": None}),
    ev("imap_session", {"client_bytes": 10, "server_bytes": 20, "user": "alice",
                        "gaps": [{"direction": "client", "offset": 5, "length": 100}],
                        "anomalies": [{"name": "overlap_mismatch", "count": 1}],
                        "commands": [{"name": "LOGIN", "count": 1}], "tls": {"mode": "none"},
                        "capabilities": ["IMAP4rev1", "AUTH=PLAIN"], "starttls": None, "compress": "OK",
                        "id": [{"direction": "client", "name": "name", "value": "mutt"}],
                        "annotations": [{"kind": "capability", "name": "IMAP4rev1", "rfc": "RFC 3501",
                                         "meaning": "IMAP version 4 revision 1"}],
                        "end_reason": "fin"}),
    ev("alert", {"name": "starttls_command_injection", "direction": "client", "offset": 7,
                 "category": "imap", "detail": None, "severity": 1, "signature_id": 2300022}),
    ev("tls", {"version": "TLS 1.3", "sni": "localhost", "ja3": "e7d705a3286e19ea42f587b344ee6865",
               "ja4": "t13d1516h2_8daaf6152771_02713d6af862"}),
    {"timestamp": "2024-05-01T12:34:56.000000Z", "event_type": "stats", "stats": {"frames": 1}},
    ev("imap", {"tag": "A3", "command": "FETCH", "status": "OK", "responses": [
        {"type": "FETCH", "number": 1, "uid": 5, "internaldate": "1996-07-17T02:44:25-07:00",
         "envelope": {"date": "1996-07-17T02:23:25-07:00", "subject": "Caf\u00e9",
                      "addresses": [{"field": "from", "name": "Terry Gray", "address": "gray@example.org"}],
                      "in_reply_to": None, "message_id": "<1@x>"},
         "bodystructure": [{"part": "", "depth": 0, "mime_type": "multipart/mixed", "params": "boundary=XX"},
                           {"part": "1", "depth": 1, "mime_type": "application/pdf", "filename": "a.pdf",
                            "disposition": "attachment; size=4000", "encoding": "base64", "size": 4000}]},
        {"type": "STATUS", "mailbox": "INBOX", "values": [{"name": "MESSAGES", "number": 3},
                                                          {"name": "APPENDLIMIT", "value": None}]},
        {"type": "QUOTA", "roots": [""], "values": [{"name": "STORAGE", "number": 10, "limit": 512}]},
        {"type": "VANISHED", "earlier": True, "messages": {"text": "1:3", "count": 3, "ranges": [[1, 3]]}}]}),
]
BAD = [
    ("no microseconds", dict(GOOD[0], timestamp="2024-05-01T12:34:56Z")),
    ("local time", dict(GOOD[0], timestamp="2024-05-01T12:34:56.123456+02:00")),
    ("unknown event type", dict(GOOD[0], event_type="smtp")),
    ("body under wrong key", ev("imap", None, alert={"name": "x"})),
    ("two bodies", dict(GOOD[0], alert={"name": "x"})),
    ("status lower case", ev("imap", {"tag": "A1", "command": "NOOP", "status": "ok"})),
    ("missing flow_id", ev("imap", GOOD[0]["imap"], flow_id=None)),
    ("bad community id", ev("imap", GOOD[0]["imap"], community_id="2:abc")),
    ("port too big", ev("imap", GOOD[0]["imap"], src_port=70000)),
    ("ip not an ip", ev("imap", GOOD[0]["imap"], src_ip="localhost")),
    ("session without bytes", ev("imap_session", {"client_bytes": 1})),
    ("gap without length", ev("imap_session", {"client_bytes": 1, "server_bytes": 1,
                                               "gaps": [{"direction": "client", "offset": 1}]})),
    ("alert without name", ev("alert", {"detail": "x"})),
    ("alert without severity", ev("alert", {"name": "x", "signature_id": 2300001})),
    ("alert severity out of range", ev("alert", {"name": "x", "severity": 4, "signature_id": 2300001})),
    ("alert without signature_id", ev("alert", {"name": "x", "severity": 3})),
    ("ja3 not md5", ev("tls", {"ja3": "xyz"})),
    ("extra envelope key", dict(GOOD[0], extra=1)),
    ("unknown imap field", ev("imap", dict(GOOD[0]["imap"], no_such_field=1))),
    ("untagged keyed by name", ev("imap", dict(GOOD[0]["imap"], untagged={"FETCH": 2}))),
    ("commands keyed by name", ev("imap_session", dict(GOOD[3]["imap_session"], commands={"LOGIN": 1}))),
    ("sequence set star as string", ev("imap", dict(GOOD[0]["imap"], sequence_set={
        "text": "1:*", "ranges": [[1, "*"]], "star": True}))),
    ("sequence set flat companions", ev("imap", dict(GOOD[0]["imap"], sequence_set={"text": "1:2"},
                                                     sequence_set_count=2))),
    ("sasl mechanism field by name", ev("imap", dict(GOOD[0]["imap"], sasl={"client_steps": 1, "nonce": "x"}))),
    ("sasl user inside sasl", ev("imap", dict(GOOD[0]["imap"], sasl={"user": "u"}))),
    ("sasl params inside sasl", ev("imap", dict(GOOD[0]["imap"], sasl={
        "params": [{"name": "nonce", "value": "x"}]}))),
    ("values value a number", ev("imap", dict(GOOD[0]["imap"], values=[{"name": "iterations", "value": 4096}]))),
    ("layer as an object", ev("imap", dict(GOOD[0]["imap"], layer={"tls": True, "compressed": False}))),
    ("layer of an unknown kind", ev("imap", dict(GOOD[0]["imap"], layer=["ssl"]))),
    ("search operator under op", ev("imap", dict(GOOD[0]["imap"], search=[{"op": "OR", "depth": 0, "nargs": 2}]))),
    ("response code per-code member", ev("imap", dict(GOOD[0]["imap"], response_code={
        "code": "COPYUID", "uidvalidity": 1, "dest_uids": "1:2"}))),
    ("response code args not strings", ev("imap", dict(GOOD[0]["imap"], response_code={
        "code": "UIDNEXT", "args": [5]}))),
    ("bodystructure params as a list", ev("imap", dict(GOOD[0]["imap"], responses=[
        {"type": "FETCH", "bodystructure": [{"part": "1", "params": [{"name": "charset", "value": "x"}]}]}]))),
    ("values value a number", ev("imap", dict(GOOD[0]["imap"], responses=[
        {"type": "STATUS", "values": [{"name": "MESSAGES", "value": 3}]}]))),
    ("envelope date and date_iso", ev("imap", dict(GOOD[0]["imap"], responses=[
        {"type": "FETCH", "envelope": {"date": "x", "date_iso": "1996-07-17"}}]))),
    ("response keyed by data", ev("imap", dict(GOOD[0]["imap"], responses=[
        {"type": "STATUS", "status_items": [{"name": "MESSAGES", "value": 3}]}]))),
    ("session tls with handshake details", ev("imap_session", dict(GOOD[3]["imap_session"], tls={
        "mode": "implicit", "ja3s": "0" * 32}))),
    ("session tls alerts as a list", ev("imap_session", dict(GOOD[3]["imap_session"], tls={
        "mode": "implicit", "alerts": [{"from": "client", "encrypted": True}]}))),
    ("annotation as sibling members", ev("imap", dict(GOOD[0]["imap"], command_rfc="RFC 9051 6.4.9"))),
    ("annotation inside a response code", ev("imap", dict(GOOD[0]["imap"], response_code={
        "code": "CAPABILITY", "rfc": "RFC 9051 7.1"}))),
    ("annotation of an unknown kind", ev("imap", dict(GOOD[0]["imap"], annotations=[
        {"kind": "flag", "name": "\\Seen", "rfc": "RFC 9051 2.3.2", "meaning": "seen"}]))),
    ("annotation without meaning", ev("imap", dict(GOOD[0]["imap"], annotations=[
        {"kind": "command", "name": "NOOP", "rfc": "RFC 9051 6.1.2"}]))),
    ("session capabilities as objects", ev("imap_session", dict(GOOD[3]["imap_session"],
        capabilities=[{"name": "IDLE"}]))),
    ("session id keyed by side", ev("imap_session", dict(GOOD[3]["imap_session"],
        id={"client": [{"name": "name", "value": "mutt"}], "server": None}))),
    ("session starttls as an object", ev("imap_session", dict(GOOD[3]["imap_session"],
        starttls={"requested": True, "result": "OK"}))),
]


def self_test(v):
    for i, g in enumerate(GOOD):
        err = first_error(v, g)
        if err:
            return "good example %d (%s) rejected: %s" % (i, g["event_type"], err)
    for what, b in BAD:
        if first_error(v, b) is None:
            return "bad example accepted: %s" % what
    return None


def captures(shared):
    found = []
    for pat in ("*.pcap", "*.pcapng", "*.cap"):
        found += glob.glob(os.path.join(REPO, "captures", pat))
        found += glob.glob(os.path.join(REPO, "captures", "detect", pat))  # issue 15
        found += glob.glob(os.path.join(shared, "captures", "public", pat))
    return sorted(set(found))


def check_capture(v, prog, path):
    try:
        p = subprocess.run([prog, "-r", path, "-T", "json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=300, cwd=REPO)
    except subprocess.TimeoutExpired:
        return "timed out after 300 s"
    if p.returncode < 0 or p.returncode >= 128:
        return "imapscope died (status %d): %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[:200])
    try:
        text = p.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        return "output is not valid UTF-8 at byte %d" % e.start
    if text and not text.endswith("\n"):
        return "output does not end with a newline"
    lines = text.split("\n")[:-1] if text else []
    types = []
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            return "line %d is not JSON: %s" % (n, e)
        if not isinstance(obj, dict):
            return "line %d is not an object" % n
        err = first_error(v, obj)
        if err:
            return "line %d (%s): %s" % (n, obj.get("event_type"), err)
        types.append(obj.get("event_type"))
    if p.returncode == 0:
        if types.count("stats") != 1 or types[-1] != "stats":
            return "expected exactly one stats event, last (got %d stats in %d lines)" % (types.count("stats"), len(types))
    return None


def main():
    shared = os.environ.get("IMAPSCOPE_SHARED") or os.path.join(REPO, "tests", "data")
    prog = os.environ.get("IMAPSCOPE") or os.path.join(REPO, "build", "imapscope")
    failed = 0
    try:
        v = validator()
        err = self_test(v)
    except Exception as e:  # a broken schema file
        v, err = None, "schema does not load: %s" % e
    if err:
        print("FAIL schema-self: %s" % err)
        return 1
    print("PASS schema-self")
    if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
        print("FAIL imapscope-missing: %s is not built (make)" % prog)
        return 1
    caps = captures(shared)
    if not caps:
        print("FAIL schema-no-captures: none in captures/ or %s/captures/public" % shared)
        return 1
    for path in caps:
        err = check_capture(v, prog, path)
        name = os.path.basename(path)
        if err:
            failed += 1
            print("FAIL schema-%s: %s" % (name, err))
        else:
            print("PASS schema-%s" % name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
