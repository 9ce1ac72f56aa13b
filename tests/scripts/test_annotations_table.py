#!/usr/bin/python3
"""The annotation table (dissector/imap_annot.c) holds every item it must.

Checks, through `imapscope --explain NAME` (the table's public face):
  - every command, response code and capability of the seed list in
    docs/decoded.md (its "Commands" and "Response codes" tables and its
    "Capabilities" paragraph, parsed here);
  - the five status responses of RFC 9051 7.1.1-7.1.5 (parsed from the
    RFC's headings, with the section the table must cite);
  - every command and capability defined by an RFC in the RFC folder
    ($IMAPSCOPE_SHARED/rfc, default tests/data/rfc), found in the texts:
      commands: section headings "N.N. [The] NAME [and UID NAME] Command(s)"
        and the ABNF "command-any / -auth / -nonauth / -select" rules
        (rule names resolved to the keywords they start with);
      capabilities: the ABNF "capability =/" rules (resolved the same way),
        phrases 'capability name "NAME"', 'NAME capability', and the names
        on example "CAPABILITY" lines;
    minus the explicit EXCLUDE list below (example names, generic words).
  - the RFCs that define no command nor capability are listed in NO_ITEMS
    and must indeed yield none (so a new RFC in the folder is looked at).
An item is "in the table" when --explain prints a line of the right kind
("command NAME (REF): ...") whose reference is not empty.

Prints PASS/FAIL lines.  Environment: IMAPSCOPE (default ./build/imapscope),
IMAPSCOPE_SHARED (default tests/data, relative to the repository root).
"""
import glob
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(REPO, "build", "imapscope"))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(REPO, "tests", "data"))
if not os.path.isabs(SHARED):
    SHARED = os.path.join(REPO, SHARED)
RFC_DIR = os.path.join(SHARED, "rfc")

# RFCs of the folder that define no IMAP command and no capability (SASL
# mechanisms, syntax collections, advice).  What the parsers find in them
# (capabilities of their examples) must still be in the table.
NO_ITEMS = {
    "rfc1731": "IMAP4 authentication mechanisms (AUTH= values, covered by the AUTH= prefix)",
    "rfc2195": "CRAM-MD5 SASL mechanism",
    "rfc2245": "ANONYMOUS SASL mechanism",
    "rfc2683": "implementation recommendations, no new items",
    "rfc2831": "DIGEST-MD5 SASL mechanism",
    "rfc4466": "collected ABNF extensions, no new command or capability",
    "rfc4616": "PLAIN SASL mechanism",
    "rfc5530": "response codes only (checked through docs/decoded.md)",
    "rfc7628": "OAUTHBEARER SASL mechanism",
    "rfc8457": "$Important keyword (uses CREATE-SPECIAL-USE, defines no capability)",
}

# Names the parsers find that are not items: example names the RFCs invent,
# and words caught by the "NAME capability" phrase.
EXCLUDE = {
    ("capability", "XPIG-LATIN"): "RFC 3501/9051 example of an experimental capability",
    ("capability", "IMAP"): "'IMAP capability' (generic phrase)",
    ("capability", "EXTENDED"): "'EXTENDED capability' (generic phrase in RFC 9051)",
    ("capability", "UTF-8"): "'UTF-8 capability' (generic phrase in RFC 6855)",
    ("capability", "STLS"): "POP3's STLS capability (RFC 2595 4), not IMAP",
    ("capability", "AUTH"): "the AUTH= prefix, checked as AUTH=<mechanism>",
    ("capability", "X"): "x-command / experimental placeholder",
    ("command", "X"): "x-command: checked as an X-prefixed name",
    ("capability", "X-GOOD-IDEA"): "RFC 5161/9051 example of an experimental capability (ENABLE)",
}

fails = 0


def report(ok, name, msg=""):
    global fails
    if ok:
        print("PASS %s" % name)
    else:
        fails += 1
        print("FAIL %s%s" % (name, (": " + msg) if msg else ""))


_cache = {}


def explain(name):
    """--explain NAME: {kind: (shown name, reference)}."""
    if name in _cache:
        return _cache[name]
    r = subprocess.run([IMAPSCOPE, "--explain", name], capture_output=True, text=True)
    got = {}
    if r.returncode == 0:
        for line in r.stdout.splitlines():
            m = re.match(r"^(command|status|code|capability) (.+?) \((.+?)\): (.+)$", line)
            if m and m.group(4).strip():
                got[m.group(1)] = (m.group(2), m.group(3))
    _cache[name] = got
    return got


def has(kind, name):
    if name.endswith("="):  # a prefix: any value after it
        name += "TESTVALUE"
    return kind in explain(name)


# ---------------------------------------------------------------- decoded.md

def decoded_md_items():
    text = open(os.path.join(REPO, "docs", "decoded.md"), encoding="utf-8").read()
    items = set()

    def section(title):
        m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), text, re.S | re.M)
        return m.group(1) if m else ""

    def table_first_column(sec):
        for line in sec.splitlines():
            if not line.startswith("|") or line.startswith("|---"):
                continue
            cell = line.split("|")[1].strip()
            if cell in ("command", "code", "type"):
                continue
            yield cell

    for cell in table_first_column(section("Commands (`imap` object)")):
        if cell.startswith("X-*"):
            continue
        cell = re.sub(r"\((?:UID|\d+)\)", "", cell)  # "(UID)", "(2342)"
        for part in re.split(r",|/", cell):
            part = part.strip()
            if re.fullmatch(r"(?:UID )?[A-Z][A-Z0-9-]+", part):
                items.add(("command", part))
                if "(UID)" in cell or part in ("FETCH", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD"):
                    items.add(("command", "UID " + part))
            elif part:
                raise SystemExit("FAIL annot-decoded-md-parse: command cell part %r" % part)
    for cell in table_first_column(section("Response codes (`{\"code\": NAME, ...}`)")):
        if cell == "unknown":
            continue
        for tok in re.findall(r"[A-Z][A-Z0-9-]{2,}", cell):
            if tok != "RFC":
                items.add(("code", tok))
    caps = section("Capabilities")
    caps = re.sub(r"`[^`]*`", "", caps)          # code spans
    caps = re.sub(r"\([^)]*\)", "", caps)        # "(RFC numbers)"
    for tok in re.findall(r"[A-Z0-9][A-Za-z0-9+\-]*=?[A-Za-z0-9+\-/]*", caps):
        if tok in ("In", "RFC") or not re.search(r"[A-Z]{2}", tok):
            continue
        m = re.fullmatch(r"(.*=)(\d)/(\d)", tok)   # "I18NLEVEL=1/2"
        if m:
            items.add(("capability", m.group(1) + m.group(2)))
            items.add(("capability", m.group(1) + m.group(3)))
            continue
        items.add(("capability", tok))
    return items


# ---------------------------------------------------------------- RFC texts

PAGE_BREAK = re.compile(r"^\S.*\[Page \d+\]$|^RFC \d+ .*\d{4}$|^\f")


def abnf_rules(text):
    """{rule name: [definition texts]} of the ABNF-looking productions."""
    rules = {}
    cur = None
    for line in text.splitlines():
        if PAGE_BREAK.match(line):
            continue
        m = re.match(r"^(\s{0,12})([a-zA-Z][\w-]*)\s*(=/|=)\s*(.*)$", line)
        if m and not re.search(r'[.:]\s*$', m.group(4)[:0]):
            cur = [m.group(2).lower(), len(m.group(1)), m.group(4)]
            rules.setdefault(cur[0], []).append("")
            rules[cur[0]][-1] = cur[2]
            continue
        if cur and line.strip() and len(line) - len(line.lstrip()) > cur[1]:
            rules[cur[0]][-1] += " " + line.strip()
            continue
        cur = None
    return rules


def leading_keyword(defs):
    """'"UID" SP "EXPUNGE" SP ...' -> "UID EXPUNGE"; None when not a keyword."""
    for d in defs:
        m = re.match(r'^\s*\(?\s*((?:"[A-Za-z0-9=+\-]+"\s*(?:SP\s*)?)+)', d)
        if m:
            words = re.findall(r'"([^"]+)"', m.group(1))
            return " ".join(w.upper() if w.upper() != "IMAP4REV1" else w for w in words)
    return None


def rfc_items(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    rules = abnf_rules(text)
    items = set()
    # commands: headings
    for line in text.splitlines():
        m = re.match(r"^(?:BASE\.[\dA-Z.]+\.|\d[\d.]*\.?)\s+(?:The\s+)?((?:UID )?[A-Z][A-Z0-9-]+(?:\s+and\s+(?:UID )?[A-Z][A-Z0-9-]+)*)\s+[Cc]ommands?$", line)
        if m:
            for c in re.split(r"\s+and\s+", m.group(1)):
                items.add(("command", c))
    # commands and capabilities: ABNF
    for rule, kind in (("command-any", "command"), ("command-auth", "command"), ("command-nonauth", "command"),
                       ("command-select", "command"), ("capability", "capability")):
        for d in rules.get(rule, []):
            for alt in re.split(r"\s/\s", d):
                alt = alt.strip().strip("()").strip()
                m = re.match(r'^"([A-Za-z0-9=+\-]+)"', alt)
                if m:
                    name = m.group(1)
                    if kind == "command" and re.match(r'^"UID"\s+SP\s+"(\w+)"', alt):
                        name = "UID " + re.match(r'^"UID"\s+SP\s+"(\w+)"', alt).group(1)
                    items.add((kind, name if kind == "capability" else name.upper()))
                    continue
                m = re.match(r"^([a-zA-Z][\w-]*)", alt)
                if not m:
                    continue
                ref = m.group(1).lower()
                if ref in ("atom", "sp", "x-command", "auth-type", "capability"):
                    continue
                kw = leading_keyword(rules.get(ref, []))
                if kw:
                    items.add((kind, kw))
    # commands: pre-RFC 5234 syntax (RFC 2060 era): 'idle ::= "IDLE" ...'
    # (rules named in a "command_any/auth/nonauth/select ::=" production only)
    cmd_refs = set()
    for m in re.finditer(r'^\s*command_\w+\s+::=((?:.*\n\s{10,}.*)*.*)', text, re.M):
        cmd_refs.update(re.findall(r"[a-z][a-z_]*", m.group(1)))
    for m in re.finditer(r'^\s*([a-z][a-z_]*)\s+::=\s+"([A-Z]+)"', text, re.M):
        if m.group(1) == m.group(2).lower() and m.group(1) in cmd_refs:
            items.add(("command", m.group(2)))
    # capabilities: phrases and example CAPABILITY lines
    for m in re.finditer(r'(?:capability names? (?:of |is )?|MUST include |list (?:the )?)"([A-Z][A-Za-z0-9=+\-]+)"', text):
        items.add(("capability", m.group(1)))
    for m in re.finditer(r'\b([A-Z][A-Z0-9+\-]{2,}) in (?:their|its|the) CAPABILITY response', text):
        items.add(("capability", m.group(1)))
    for m in re.finditer(r'capability names? (?:which starts with|consisting of) "([A-Z]+=?)"', text):
        items.add(("capability", m.group(1)))
    for m in re.finditer(r'(?<![\w=(])"?([A-Z][A-Z0-9+\-]*(?:=[A-Z0-9+\-]+)?)"? (?:IMAP )?capability\b', text):
        items.add(("capability", m.group(1)))
    for m in re.finditer(r"^\s*S:\s+\*\s+(?:OK\s+\[)?CAPABILITY\s+([^\]\n]+)", text, re.M):
        for tok in m.group(1).split():
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9=+\-._]*", tok):
                items.add(("capability", tok))
    out = set()
    for kind, name in items:
        if name.startswith("AUTH="):
            name = "AUTH="           # any mechanism: the prefix entry
        if (kind, name) in EXCLUDE or (kind == "capability" and name == "AUTH"):
            continue
        if len(name) < 2:
            continue
        out.add((kind, name))
    return out


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        report(False, "annot-imapscope", "%s is not built" % IMAPSCOPE)
        return 1

    seed = decoded_md_items()
    report(len([i for i in seed if i[0] == "command"]) >= 60 and len([i for i in seed if i[0] == "code"]) >= 40
           and len([i for i in seed if i[0] == "capability"]) >= 70,
           "annot-decoded-md-parsed", "too few items parsed from docs/decoded.md: %d" % len(seed))
    missing = sorted("%s %s" % i for i in seed if not has(*i))
    report(not missing, "annot-decoded-md-seed", "not in the table: " + ", ".join(missing))

    # statuses: RFC 9051 7.1.1-7.1.5 headings, with their sections
    r9051 = os.path.join(RFC_DIR, "rfc9051.txt")
    if os.path.exists(r9051):
        heads = re.findall(r"^(7\.1\.\d)\.\s+(OK|NO|BAD|PREAUTH|BYE) Response$",
                           open(r9051, encoding="utf-8").read(), re.M)
        bad = []
        for sec, name in heads:
            got = explain(name).get("status")
            if not got or got[1] != "RFC 9051 " + sec:
                bad.append("%s (want RFC 9051 %s, got %s)" % (name, sec, got[1] if got else "none"))
        report(len(heads) == 5 and not bad, "annot-statuses-rfc9051",
               "%d headings; %s" % (len(heads), ", ".join(bad)))
    else:
        report(False, "annot-statuses-rfc9051", "%s missing" % r9051)

    rfcs = sorted(glob.glob(os.path.join(RFC_DIR, "rfc*.txt")))
    report(len(rfcs) >= 40, "annot-rfc-folder", "%d RFC texts in %s" % (len(rfcs), RFC_DIR))
    all_missing = []
    for path in rfcs:
        base = os.path.basename(path)[:-4]
        items = rfc_items(path)
        if base in NO_ITEMS:
            missing = sorted("%s %s" % i for i in items if not has(*i))
            report(not missing, "annot-rfc-%s-examples" % base,
                   "defines none (%s); its examples use items not in the table: %s" % (NO_ITEMS[base], ", ".join(missing)))
            continue
        if not items:
            report(False, "annot-rfc-%s" % base, "no command or capability parsed: add it to NO_ITEMS with a reason, or fix the parser")
            continue
        missing = sorted("%s %s" % i for i in items if not has(*i))
        all_missing += ["%s: %s" % (base, m) for m in missing]
        report(not missing, "annot-rfc-%s" % base, "not in the table: " + ", ".join(missing))
    # self-check: the parser finds what we know these RFCs define
    known = {("rfc2177", "command", "IDLE"), ("rfc4315", "command", "UID EXPUNGE"), ("rfc5161", "command", "ENABLE"),
             ("rfc6203", "capability", "SEARCH=FUZZY"), ("rfc4314", "capability", "RIGHTS="),
             ("rfc7377", "command", "ESEARCH"), ("rfc5256", "command", "THREAD"), ("rfc3502", "capability", "MULTIAPPEND"),
             ("rfc5267", "command", "CANCELUPDATE"), ("rfc9051", "command", "UID")}
    lost = []
    for base, kind, name in sorted(known):
        p = os.path.join(RFC_DIR, base + ".txt")
        if os.path.exists(p) and (kind, name) not in rfc_items(p):
            lost.append("%s %s %s" % (base, kind, name))
    report(not lost, "annot-rfc-parser-self-check", "parser missed: " + ", ".join(lost))
    # and the table check can fail: a made-up name is not in it
    report(not has("command", "FROBNICATE") and not has("capability", "NO-SUCH-CAPABILITY"),
           "annot-table-rejects-unknown")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
