#!/usr/bin/python3
"""One schema, one type per field (issue 10, item 3).

Renders EVERY capture of the repository with `-T json` (captures/*.pcap*,
*.cap; $IMAPSCOPE_SHARED/captures/public/*; the generated IMAP vectors
$IMAPSCOPE_SHARED/vectors/generated-imap/*.pcap), each with its .keys
key log when one sits next to it, three times: plain, --annotate and
--hash-literals.  Walks every event and collects field paths, array
indices collapsed to "[]" (e.g. "imap.responses[].uid").  Fails:

  schema-paths-one-type   a path takes two JSON types (null is no type:
                          a nullable field is fine; integer and a float
                          count as "number")
  schema-paths-named      a path the schema does not name (the schema's
                          names are its properties/items walked through
                          $ref, oneOf/anyOf; additionalProperties with a
                          schema names no path: a data-keyed map)
  schema-paths-count      the fields of all event types together, counted
                          as Elasticsearch counts them against its
                          1000-field limit (objects and leaves; an array
                          is no field of its own, see es_fields), exceed
                          MAX_PATHS: a guard against growth.  History:
                          647 paths when the maps keyed by data became
                          arrays; 581 paths after one shape each for
                          sequence sets, response codes, SASL and body
                          sections and a short session TLS summary; the
                          count moved to Elasticsearch's measure then: 500
                          fields (2026-12-06); 655 after issues 13-15;
                          394 after the second pass (2026-12-07), and
                          MAX_PATHS became issue 10's 400

Prints PASS/FAIL lines and the offenders.  Environment: IMAPSCOPE
(default ./build/imapscope), IMAPSCOPE_SHARED (default tests/data).
"""
import glob
import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCHEMA_PATH = os.path.join(REPO, "docs", "schema", "imapscope-events.schema.json")
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(REPO, "build", "imapscope"))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(REPO, "tests", "data"))
if not os.path.isabs(SHARED):
    SHARED = os.path.join(REPO, SHARED)
MAX_PATHS = 400      # issue 10's limit.  History: 655 fields after issues 13-15 (2026-12-06);
                     # 394 after the second pass of item 3 (2026-12-07): one field per
                     # datum, one list of named things, stats counters/limits, one
                     # evidence shape, annotations in one array (docs/output.md, Changes)
TARGET_PATHS = 400   # issue 10's target (now the limit itself)


def captures():
    out = []
    for pat in ("captures/*.pcap", "captures/*.pcapng", "captures/*.cap", "captures/detect/*.pcap"):
        out += sorted(glob.glob(os.path.join(REPO, pat)))
    for pat in ("*.pcap", "*.pcapng", "*.cap"):
        out += sorted(glob.glob(os.path.join(SHARED, "captures", "public", pat)))
    out += sorted(glob.glob(os.path.join(SHARED, "vectors", "generated-imap", "*.pcap")))
    return out


def jtype(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def walk(v, path, seen, where):
    t = jtype(v)
    if path:
        # null is no type (a nullable field is fine) but the path exists
        seen.setdefault(path, {}).setdefault(t if t is not None else "null", where)
    if t == "object":
        for k, x in v.items():
            walk(x, (path + "." if path else "") + k, seen, where)
    elif t == "array":
        for x in v:
            walk(x, path + "[]", seen, where)


def schema_paths(schema):
    """Paths the schema names, "[]" for array items; data-keyed maps
    (additionalProperties with a schema) name nothing below them."""
    defs = schema.get("$defs", {})
    names = set()

    def resolve(s):
        while isinstance(s, dict) and "$ref" in s:
            s = defs[s["$ref"].split("/")[-1]]
        return s

    def visit(s, path, depth):
        s = resolve(s)
        if not isinstance(s, dict) or depth > 30:
            return
        if path:
            names.add(path)
        for k, sub in s.get("properties", {}).items():
            visit(sub, (path + "." if path else "") + k, depth + 1)
        if isinstance(s.get("items"), dict):
            visit(s["items"], path + "[]", depth + 1)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in s.get(key, []):
                visit(sub, path, depth + 1)
        for key in ("then", "else"):
            if isinstance(s.get(key), dict):
                visit(s[key], path, depth + 1)

    visit(schema, "", 0)
    return names


def es_fields(seen):
    """The fields Elasticsearch maps for these paths, the count its
    index.mapping.total_fields.limit (default 1000) is checked against:
    every object and every leaf field counts once, an array is no field of
    its own (its items map under the same name): "imap.responses[].uid"
    gives "imap", "imap.responses" and "imap.responses.uid"."""
    out = set()
    for p in seen:
        parts = p.replace("[]", "").split(".")
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out


def dump(seen):
    p = os.environ.get("SCHEMA_PATHS_DUMP")
    if p:
        with open(p, "w") as f:
            for k in sorted(seen):
                f.write("%s %s\n" % (k, ",".join(sorted(seen[k]))))


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL schema-paths-imapscope-missing: %s is not built" % IMAPSCOPE)
        return 1
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        named = schema_paths(json.load(f))
    seen = {}
    caps = captures()
    runs = 0
    failed = 0
    for cap in caps:
        stem = cap
        for ext in (".pcapng", ".pcap", ".cap"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
        keys = stem + ".keys"
        base = [IMAPSCOPE, "-r", cap, "-T", "json"]
        if os.path.exists(keys):
            base += ["--keylog", keys]
        for extra in ([], ["--annotate"], ["--hash-literals"]):
            p = subprocess.run(base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
            runs += 1
            name = os.path.relpath(cap, REPO) + ("" if not extra else " " + extra[0])
            if p.returncode >= 128 or p.returncode < 0:
                print("FAIL schema-paths-run: %s died (status %d)" % (name, p.returncode))
                failed += 1
                continue
            for line in p.stdout.decode("utf-8", "replace").splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    print("FAIL schema-paths-run: %s: not JSON: %s" % (name, line[:120]))
                    failed += 1
                    continue
                walk(ev, "", seen, name)
    if runs == 0 or not seen:
        print("FAIL schema-paths-run: no capture rendered (%d captures)" % len(caps))
        return 1

    dump(seen)
    def kinds(t):
        # integer and number are one JSON type; null is none
        return {"number" if k == "integer" else k for k in t if k != "null"}
    two = {p: t for p, t in seen.items() if len(kinds(t)) > 1}
    if two:
        print("FAIL schema-paths-one-type: %d paths take two JSON types" % len(two))
        for p in sorted(two):
            print("    %s: %s" % (p, ", ".join("%s (%s)" % (t, w) for t, w in sorted(two[p].items()))))
        failed += 1
    else:
        print("PASS schema-paths-one-type (%d paths, %d runs)" % (len(seen), runs))

    unnamed = sorted(p for p in seen if p not in named)
    if unnamed:
        print("FAIL schema-paths-named: %d paths the schema does not name" % len(unnamed))
        for p in unnamed[:400]:
            print("    %s (%s)" % (p, next(iter(seen[p].values()))))
        if len(unnamed) > 400:
            print("    ... %d more" % (len(unnamed) - 400))
        failed += 1
    else:
        print("PASS schema-paths-named")

    n = len(es_fields(seen))
    if n > MAX_PATHS:
        print("FAIL schema-paths-count: %d fields > %d" % (n, MAX_PATHS))
        failed += 1
    else:
        print("PASS schema-paths-count (%d fields <= %d; %d paths with array levels)" % (n, MAX_PATHS, len(seen)))
    print("# schema-paths-target: %d fields, issue 10's target %d: %s"
          % (n, TARGET_PATHS, "met" if n <= TARGET_PATHS else "NOT met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
