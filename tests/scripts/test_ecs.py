#!/usr/bin/python3
"""-T ecs: every field is a field of our ECS subset, of its type (issue 14).

Renders EVERY capture of the repository with `-T ecs` (captures/*.pcap*,
*.cap; $IMAPSCOPE_SHARED/captures/public/*; the generated IMAP vectors),
each with its .keys key log when one sits next to it, plain and with
--hash-literals, and checks every document against
tests/data/ecs/ecs-subset.json (ECS 8.11 fields with their types from the
ECS reference, generated/ecs/ecs_flat.yml of elastic/ecs; our custom
imap.* and imapscope.* fields, listed too):

  ecs-named        a leaf path that is not in the subset (arrays are
                   transparent: "email.attachments.file.name"); a field
                   of type flattened is not looked into
  ecs-types        a value whose JSON type does not fit the field's type
                   (keyword: string; ip: an IPv4/IPv6 address; date:
                   RFC 3339; long: integer in int64; double: number;
                   boolean: true/false; object/nested/flattened: object)
  ecs-one-type     a path that takes two JSON types across documents
  ecs-required     a document without @timestamp, ecs.version, event.kind
                   or event.dataset, or with a flow but no source.ip
  ecs-docs         a subset field that docs/ecs-fields.md does not name
  ecs-template     contrib/elasticsearch/imapscope-ecs-template.json (the
                   index template that maps every field with its type) is
                   not the one the subset gives
  ecs-json-agrees  the ECS document and the -T json event of the same
                   capture agree: one document per event, same order,
                   @timestamp = timestamp, imapscope.flow_id = flow_id,
                   source.ip = src_ip, event.dataset = imapscope.<type>;
                   imap: user.name = imap.user (LOGIN or AUTHENTICATE),
                   event.outcome = success (OK) / failure / unknown

ECS_SUBSET_UPDATE=1 rewrites the "custom" part of the subset from what the
captures render (never the ECS part, which is written from the reference
by hand) and the index template; review the diff like code.  Environment: IMAPSCOPE, IMAPSCOPE_SHARED.
"""
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(REPO, "build", "imapscope"))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(REPO, "tests", "data"))
if not os.path.isabs(SHARED):
    SHARED = os.path.join(REPO, SHARED)
SUBSET = os.path.join(REPO, "tests", "data", "ecs", "ecs-subset.json")
DOCS = os.path.join(REPO, "docs", "ecs-fields.md")

STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text", "version"}
INT_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
CONTAINER_TYPES = {"object", "nested", "flattened"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def captures():
    out = []
    for pat in ("captures/*.pcap", "captures/*.pcapng", "captures/*.cap"):
        out += sorted(glob.glob(os.path.join(REPO, pat)))
    for pat in ("*.pcap", "*.pcapng", "*.cap"):
        out += sorted(glob.glob(os.path.join(SHARED, "captures", "public", pat)))
    out += sorted(glob.glob(os.path.join(SHARED, "vectors", "generated-imap", "*.pcap")))
    return out


def jkind(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if v is None:
        return "null"
    return "object"


def fits(ecs_type, v):
    """None when v fits ecs_type, else why not."""
    if ecs_type in STRING_TYPES:
        return None if isinstance(v, str) else "not a string"
    if ecs_type == "ip":
        if not isinstance(v, str):
            return "not a string"
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return "not an IP address"
        return None
    if ecs_type == "date":
        return None if isinstance(v, str) and RFC3339.match(v) else "not an RFC 3339 date"
    if ecs_type in INT_TYPES:
        if isinstance(v, bool) or not isinstance(v, int):
            return "not an integer"
        return None if -2**63 <= v < 2**63 else "out of long range"
    if ecs_type in FLOAT_TYPES:
        return None if isinstance(v, (int, float)) and not isinstance(v, bool) else "not a number"
    if ecs_type == "boolean":
        return None if isinstance(v, bool) else "not a boolean"
    if ecs_type in CONTAINER_TYPES:
        return None if isinstance(v, dict) else "not an object"
    return "unknown ECS type %s" % ecs_type


def leaves(doc, types, out, path=""):
    """(path, value) of every leaf; arrays transparent; flattened fields
    (and objects declared object/nested) are checked as the container."""
    if isinstance(doc, list):
        for x in doc:
            leaves(x, types, out, path)
        return
    if isinstance(doc, dict) and (not path or types.get(path) not in ("flattened",)):
        if path and types.get(path) in ("object", "nested"):
            out.append((path, doc))
        for k, x in doc.items():
            leaves(x, types, out, (path + "." if path else "") + k)
        return
    out.append((path, doc))


def infer(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "long"
    if isinstance(v, float):
        return "double"
    return "keyword"


TEMPLATE = os.path.join(REPO, "contrib", "elasticsearch", "imapscope-ecs-template.json")


def es_template(subset):
    """The Elasticsearch composable index template of the subset: every
    field mapped with its type (keyword with ignore_above 1024, as ECS),
    so that dynamic mapping never guesses (a flattened field stays one)."""
    root = {}
    types = dict(subset["fields"])
    types.update(subset["custom"])
    for name in sorted(types):
        t = types[name]
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})
            if "properties" not in node:
                node["properties"] = {}
            node = node["properties"]
        leaf = node.setdefault(parts[-1], {})
        leaf["type"] = t
        if t == "keyword":
            leaf["ignore_above"] = 1024
        if t in ("nested", "object") and "properties" not in leaf:
            leaf["properties"] = {}
    def fix(props):
        for k, v in props.items():
            if "properties" in v:
                if "type" in v and v["type"] not in ("nested", "object"):
                    raise ValueError("%s is a leaf and an object" % k)
                fix(v["properties"])
    fix(root)
    return {
        "index_patterns": ["imapscope-ecs-*"],
        "priority": 200,
        "_meta": {"description": "imapscope -T ecs (docs/ecs-fields.md); generated from "
                                 "tests/data/ecs/ecs-subset.json by ECS_SUBSET_UPDATE=1 tests/scripts/test_ecs.py",
                  "ecs_version": subset["ecs_version"]},
        "template": {
            "settings": {"index.mapping.total_fields.limit": 2000},
            "mappings": {"date_detection": False, "properties": root},
        },
    }


def render(cap, extra, fmt):
    stem = cap
    for ext in (".pcapng", ".pcap", ".cap"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    keys = stem + ".keys"
    cmd = [IMAPSCOPE, "-r", cap, "-T", fmt, "--flow-id-seed", "7", "--sensor-name", "ecs-test"] + extra
    if os.path.exists(keys):
        cmd += ["--keylog", keys]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL ecs-imapscope-missing: %s is not built" % IMAPSCOPE)
        return 1
    with open(SUBSET, encoding="utf-8") as f:
        subset = json.load(f)
    ecs_fields, custom = subset["fields"], subset["custom"]
    clash = sorted(set(ecs_fields) & set(custom))
    types = dict(ecs_fields)
    types.update(custom)
    failed = 0
    if clash:
        print("FAIL ecs-subset: fields both ECS and custom: %s" % clash)
        failed += 1
    bad_custom = sorted(k for k in custom if not (k.startswith("imap.") or k.startswith("imapscope.")))
    if bad_custom:
        print("FAIL ecs-subset: custom fields outside imap.* and imapscope.*: %s" % bad_custom[:10])
        failed += 1

    unnamed, badtype, missing_req = {}, {}, []
    kinds = {}
    agree_fail = []
    runs = docs = 0
    for cap in captures():
        name = os.path.relpath(cap, REPO)
        for extra in ([], ["--hash-literals"]):
            p = render(cap, extra, "ecs")
            runs += 1
            if p.returncode >= 128 or p.returncode < 0:
                print("FAIL ecs-run: %s died (status %d)" % (name, p.returncode))
                failed += 1
                continue
            lines = p.stdout.decode("utf-8", "replace").splitlines()
            for line in lines:
                try:
                    doc = json.loads(line)
                except ValueError:
                    print("FAIL ecs-run: %s: not JSON: %s" % (name, line[:120]))
                    failed += 1
                    continue
                docs += 1
                ev = doc.get("event", {})
                if not (doc.get("@timestamp") and doc.get("ecs", {}).get("version") and ev.get("kind")
                        and ev.get("dataset")):
                    missing_req.append((name, line[:160]))
                if "imapscope" in doc and "flow_id" in doc["imapscope"] and "source" not in doc:
                    missing_req.append((name, line[:160]))
                out = []
                leaves(doc, types, out)
                for path, v in out:
                    if path not in types:
                        unnamed.setdefault(path, (name, v))
                        continue
                    why = fits(types[path], v)
                    if why:
                        badtype.setdefault(path, (name, types[path], why, v))
                    kinds.setdefault(path, {}).setdefault(jkind(v), name)
            if not extra:
                j = render(cap, [], "json")
                jl = j.stdout.decode("utf-8", "replace").splitlines()
                if len(jl) != len(lines):
                    agree_fail.append("%s: %d JSON events, %d ECS documents" % (name, len(jl), len(lines)))
                    continue
                for a, b in zip(jl, lines):
                    e, d = json.loads(a), json.loads(b)
                    want = [(d.get("@timestamp"), e["timestamp"]),
                            (d["event"]["dataset"], "imapscope." + e["event_type"]),
                            (d.get("imapscope", {}).get("flow_id"), e.get("flow_id")),
                            (d.get("source", {}).get("ip"), e.get("src_ip")),
                            (d.get("destination", {}).get("port"), e.get("dest_port")),
                            (d.get("network", {}).get("community_id"), e.get("community_id")),
                            (d.get("observer", {}).get("hostname"), e.get("host"))]
                    if e["event_type"] == "imap":
                        im = e["imap"]
                        user = im.get("user")  # LOGIN and AUTHENTICATE alike
                        st = im.get("status")
                        want += [(d.get("user", {}).get("name"), user or None),
                                 (d["event"].get("outcome"),
                                  "unknown" if st is None else "success" if st == "OK" else "failure")]
                    bad = [w for w in want if w[0] != w[1]]
                    if bad:
                        agree_fail.append("%s: %s" % (name, bad[:2]))
                        break

    if runs == 0 or docs == 0:
        print("FAIL ecs-run: no document rendered")
        return 1

    if os.environ.get("ECS_SUBSET_UPDATE"):
        # added, never dropped: fields of other producers (alert.evidence,
        # email, fileinfo) may not occur in the captures
        new_custom = dict(custom)
        for path, (name, v) in unnamed.items():
            if path.startswith("imap.") or path.startswith("imapscope."):
                new_custom[path] = infer(v)
        subset["custom"] = dict(sorted(new_custom.items()))
        with open(SUBSET, "w", encoding="utf-8") as f:
            json.dump(subset, f, indent=1, sort_keys=False)
            f.write("\n")
        print("# ecs-subset: custom part rewritten (%d fields)" % len(new_custom))
        os.makedirs(os.path.dirname(TEMPLATE), exist_ok=True)
        with open(TEMPLATE, "w", encoding="utf-8") as f:
            json.dump(es_template(subset), f, indent=1)
            f.write("\n")
        print("# ecs-template: %s rewritten" % os.path.relpath(TEMPLATE, REPO))
        return 0

    if unnamed:
        print("FAIL ecs-named: %d fields not in the subset (%s)" % (len(unnamed), os.path.relpath(SUBSET, REPO)))
        for path in sorted(unnamed)[:200]:
            print("    %s = %s (%s)" % (path, json.dumps(unnamed[path][1])[:60], unnamed[path][0]))
        failed += 1
    else:
        print("PASS ecs-named (%d documents, %d runs, %d distinct fields)" % (docs, runs, len(kinds)))
    if badtype:
        print("FAIL ecs-types: %d fields whose value does not fit their type" % len(badtype))
        for path in sorted(badtype):
            n, t, why, v = badtype[path]
            print("    %s (%s): %s: %s (%s)" % (path, t, why, json.dumps(v)[:60], n))
        failed += 1
    else:
        print("PASS ecs-types")
    two = {p: k for p, k in kinds.items() if len(k) > 1}
    if two:
        print("FAIL ecs-one-type: %d paths take two JSON types" % len(two))
        for p in sorted(two):
            print("    %s: %s" % (p, two[p]))
        failed += 1
    else:
        print("PASS ecs-one-type")
    if missing_req:
        print("FAIL ecs-required: %d documents lack a required field, e.g. %s" % (len(missing_req), missing_req[0]))
        failed += 1
    else:
        print("PASS ecs-required")
    if agree_fail:
        print("FAIL ecs-json-agrees: %s" % "; ".join(agree_fail[:5]))
        failed += 1
    else:
        print("PASS ecs-json-agrees")
    try:
        with open(TEMPLATE, encoding="utf-8") as f:
            have = json.load(f)
    except (OSError, ValueError) as e:
        have = str(e)
    if have != es_template(subset):
        print("FAIL ecs-template: %s is not the template of the subset (ECS_SUBSET_UPDATE=1 rewrites it)"
              % os.path.relpath(TEMPLATE, REPO))
        failed += 1
    else:
        print("PASS ecs-template")
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    undoc = sorted(k for k in list(ecs_fields) + list(custom) if "`%s`" % k not in text)
    if undoc:
        print("FAIL ecs-docs: %d subset fields not named in docs/ecs-fields.md: %s" % (len(undoc), undoc[:10]))
        failed += 1
    else:
        print("PASS ecs-docs (%d ECS + %d custom fields)" % (len(ecs_fields), len(custom)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
