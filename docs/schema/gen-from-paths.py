#!/usr/bin/python3
"""Draft of the strict JSON Schema from observed field paths (issue 10).

  SCHEMA_PATHS_DUMP=/tmp/paths.txt tests/scripts/test_schema_paths.py
  docs/schema/gen-from-paths.py OLD-SCHEMA /tmp/paths.txt NEW-SCHEMA

Every object becomes additionalProperties: false with the members seen in
the captures (plus the single-typed fields the old schema named), every
field one JSON type, nullable where null was seen or the old schema said
so; descriptions, patterns, enums and bounds are kept from OLD-SCHEMA.
The output is a draft to review by hand (a few hand edits were applied to
the committed schema: gap items, required members, tls.anomalies), not
the specification itself.  Field paths that no capture shows and the old
schema did not name are missing from a draft: add them by hand.
"""
import json, sys
old = json.load(open(sys.argv[1]))
paths = {}
for line in open(sys.argv[2]):
    p, t = line.split()
    paths[p] = set(t.split(","))
NULL_ONLY = {"description": "string", "adl": "string", "in_reply_to": "string", "id": "string",
             "language": "array", "location": "string", "md5": "string", "other": "array",
             "shared": "array", "resumption": "string"}
defs = old["$defs"]
def resolve(s):
    while isinstance(s, dict) and "$ref" in s:
        s = defs[s["$ref"].split("/")[-1]]
    return s
# fields the previous schema named and no capture shows keep their place
# when they have one JSON type (the code emits them in cases the captures
# do not reach, e.g. anomalies[].suppressed)
def old_paths(s, path, depth):
    s = resolve(s)
    if not isinstance(s, dict) or depth > 12:
        return
    t = s.get("type")
    ts = [t] if isinstance(t, str) else list(t or [])
    real = [x for x in ts if x != "null"]
    if path and len(real) == 1 and path not in paths and path.split(".")[0] in ("imap", "imap_session", "alert", "tls", "stats"):
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        if parent.endswith("[]"):
            parent_ok = parent in paths
        else:
            parent_ok = parent == "" or parent in paths
        if parent_ok:
            paths[path] = set(real) | ({"null"} if "null" in ts else set())
    for k, sub in s.get("properties", {}).items():
        old_paths(sub, (path + "." if path else "") + k, depth + 1)
    if isinstance(s.get("items"), dict):
        old_paths(s["items"], path + "[]", depth + 1)
    for k in ("oneOf", "anyOf"):
        for sub in s.get(k, []):
            old_paths(sub, path, depth + 1)
for _ in range(3):
    old_paths(old, "", 0)
def old_at(path):
    s = old
    for seg in path.replace("[]", ".[]").split("."):
        if not seg:
            continue
        s = resolve(s)
        if not isinstance(s, dict):
            return None
        if seg == "[]":
            s = s.get("items")
        else:
            cand = s.get("properties", {}).get(seg)
            if cand is None:
                for k in ("oneOf", "anyOf"):
                    for sub in s.get(k, []):
                        sub = resolve(sub)
                        if isinstance(sub, dict) and seg in sub.get("properties", {}):
                            cand = sub["properties"][seg]
            s = cand
        if s is None:
            return None
    return resolve(s)
def children(path):
    pre = path + "."
    out = sorted({p[len(pre):].split(".")[0] for p in paths if p.startswith(pre)})
    return [c for c in out if c and not c.startswith("[]")]
def build(path):
    ts = paths[path]
    real = sorted(t for t in ts if t != "null")
    if not real:
        last = path.split(".")[-1].replace("[]", "")
        real = [NULL_ONLY.get(last, "string")]
    if "integer" in real and "number" in real:
        real.remove("integer")
    assert len(real) == 1, (path, real)
    t = real[0]
    s = {}
    o = old_at(path)
    if isinstance(o, dict) and "description" in o:
        s["description"] = o["description"]
    if isinstance(o, dict) and ((isinstance(o.get("type"), list) and "null" in o["type"]) or
                                (None in o.get("enum", [])) or
                                any(isinstance(x, dict) and x.get("type") == "null" for x in o.get("oneOf", []))):
        ts = ts | {"null"}
    s["type"] = [t, "null"] if "null" in ts else t
    if isinstance(o, dict):
        for k in ("pattern", "minimum", "maximum", "format", "minLength"):
            if k in o and t in ("string", "integer", "number"):
                if k in ("minimum", "maximum") and t == "string":
                    continue
                s[k] = o[k]
        if "enum" in o and t == "string":
            e = [x for x in o["enum"] if isinstance(x, str)]
            if e and all(isinstance(x, str) or x is None for x in o["enum"]):
                s["enum"] = e + ([None] if "null" in ts else [])
    if t == "object":
        s["properties"] = {c: build(path + "." + c) for c in children(path)}
        s["additionalProperties"] = False
    elif t == "array":
        if path + "[]" in paths:
            s["items"] = build(path + "[]")
        elif path.split(".")[-1] in ("language",):
            s["items"] = {"type": "string"}
        elif path.split(".")[-1] in ("other", "shared"):
            s["items"] = {"type": "object", "properties": {"prefix": {"type": "string"}, "delimiter": {"type": ["string", "null"]}}, "additionalProperties": False}
    return s
out = dict(old)
newdefs = {k: v for k, v in defs.items() if k in ("ip", "port", "count", "direction", "nullable_string")}
for body in ("imap", "imap_session", "alert", "tls", "stats"):
    b = build(body)
    od = defs.get(body, {})
    if "description" in od:
        b["description"] = od["description"]
    if "required" in od:
        b["required"] = [r for r in od["required"] if r in b["properties"]]
    newdefs[body] = b
out["$defs"] = newdefs
out["description"] = ("One line of `imapscope -T json`: the common envelope, then the body under the key named like the "
    "event type. Field names are an interface (docs/output.md); rename only with a note under \"Changes\" there. "
    "Strict: every object has additionalProperties false and every field one JSON type (plus null where nullable); "
    "maps keyed by network data are arrays of {name, value} (issue 10). tests/scripts/test_schema_paths.py checks "
    "that every capture of the repository renders only named paths of one type each.")
json.dump(out, open(sys.argv[3], "w"), indent=1)
