#!/usr/bin/python3
"""Secrets never leak: every capture, every output form (issue 12).

For every capture in captures/, $IMAPSCOPE_SHARED/captures/public/ and
$IMAPSCOPE_SHARED/vectors/ (default tests/data; with --keylog where a key
log sits beside the capture, as in test_leaks.sh):

1. The secrets of the capture are collected from imapscope itself:
   the capture is run with and without --show-credentials, in JSON and in
   text; wherever the redacted run says "<redacted>", the run with the
   flag says the secret (JSON: the value at the same place of the same
   event; text: the rest of the same trace line from where "<redacted>"
   stands, so the base64 of a SASL PLAIN response is collected too, and
   a LOGIN password's quotes are taken off).
2. The hard-listed passwords of the repository's captures (set in
   captures/scenarios.py, captures/make-captures.sh and the generated
   vectors) are added; those sent in clear must show up with the flag
   (so this test can fail).
3. Without the flag, none of them may appear in the standard output or
   standard error of -T text, -T text -v, -T json, or
   -T json --hash-literals.

Then --streams-dir (which holds secrets in clear by design): a new
directory is made 0700 with files 0600; a second run into it (files exist)
exits 1 naming the file; a group-writable directory, a symbolic link and a
missing parent are refused with exit 1; as root, with -Z nobody the
directory belongs to nobody.

Prints PASS secrets-<capture> / FAIL secrets-<capture>: <form>: <secret>,
and PASS/FAIL streams-dir-<case>.  IMAPSCOPE (default ./build/imapscope).
"""
import base64
import glob
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHARED = os.environ.get("IMAPSCOPE_SHARED", os.path.join(REPO, "tests", "data"))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(REPO, "build", "imapscope"))
REDACTED = "<redacted>"
MIN_SECRET = 4  # shorter values would match anything
IDENT = re.compile(r"^[a-z0-9_]+$")

# Passwords the repository's captures carry: (password, sent in clear).
# captures/scenarios.py: LOGIN/AUTHENTICATE as alice "secret" (also the
# wrong ones), SCRAM as bob "hunter2" (never in clear); make-captures.sh:
# fetchmail's "secret"; vectors/generated-imap: "injected" (cmd-injection),
# "s3cret pass" (starttls-stripped).
# (password, sent in clear, only the captures whose name has this; None: all)
HARD = [("secret", True, None), ("wrong-password", True, None), ("not-the-password", True, None),
        ("hunter2", False, None), ("injected", True, "cmd-injection"), ("s3cret pass", True, None)]

FORMS = [["-T", "text"], ["-T", "text", "-v"], ["-T", "json"], ["-T", "json", "--hash-literals"]]


def strings_of(v, acc):
    """The string values of a decoded event, and the keys that are not
    field names (a field name is a lowercase identifier; a command count
    is keyed by the command's name)."""
    if isinstance(v, dict):
        for k, x in v.items():
            if not IDENT.match(k):
                acc.append(k)
            strings_of(x, acc)
    elif isinstance(v, list):
        for x in v:
            strings_of(x, acc)
    elif isinstance(v, str):
        acc.append(v)


def leak(text, secret, form):
    """Where secret appears in the output text of form (None: nowhere)."""
    for line in text.splitlines():
        if secret not in line:
            continue
        if "json" in form and line.startswith("{"):
            vals = []
            try:
                strings_of(json.loads(line), vals)
            except ValueError:
                return line[:300]
            for v in vals:
                if secret in v:
                    return v[:300]
            continue
        return line[:300]
    return None


def captures():
    roots = [os.path.join(REPO, "captures"), os.path.join(SHARED, "captures", "public"),
             os.path.join(SHARED, "vectors")]
    out = []
    for r in roots:
        for dp, _dn, fn in os.walk(r):
            for f in fn:
                if f.endswith((".pcap", ".pcapng", ".cap")):
                    out.append(os.path.join(dp, f))
    return sorted(out)


def keylog_for(cap):
    d = os.path.dirname(cap)
    b = os.path.splitext(os.path.basename(cap))[0]
    for k in (os.path.join(d, b + ".keys"), os.path.join(d, "keylog.txt"), os.path.join(d, "premaster.txt")):
        if os.path.isfile(k):
            return k
    ks = sorted(glob.glob(os.path.join(d, "*.keys")))
    return ks[0] if ks else None


def run(cap, args, kl):
    cmd = [IMAPSCOPE, "-r", cap, "--color", "never"] + args + (["--keylog", kl] if kl else [])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode >= 128 or p.returncode < 0:
        raise RuntimeError("%s: killed by a signal (%d)" % (" ".join(args), p.returncode))
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    # file names are no secrets (this checkout may sit in ".../secrets/")
    for path in sorted({cap, os.path.abspath(cap), kl or cap, os.path.abspath(kl or cap)}, key=len, reverse=True):
        out, err = out.replace(path, "$PATH"), err.replace(path, "$PATH")
    return out, err


def json_pairs(red, shown, acc):
    """Walks two decoded events in step; where red is "<redacted>", the
    value of shown at the same place is a secret."""
    if isinstance(red, dict) and isinstance(shown, dict):
        for k, v in red.items():
            if k in shown:
                json_pairs(v, shown[k], acc)
    elif isinstance(red, list) and isinstance(shown, list):
        for a, b in zip(red, shown):
            json_pairs(a, b, acc)
    elif red == REDACTED and isinstance(shown, str) and shown != REDACTED:
        acc.add(shown)


def unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return s


def collect(cap, kl):
    acc = set()
    red, _ = run(cap, ["-T", "json"], kl)
    shown, _ = run(cap, ["-T", "json", "--show-credentials"], kl)
    rl, sl = red.splitlines(), shown.splitlines()
    if len(rl) != len(sl):
        raise RuntimeError("--show-credentials changed the number of JSON events (%d, %d)" % (len(rl), len(sl)))
    for a, b in zip(rl, sl):
        json_pairs(json.loads(a), json.loads(b), acc)
    # lines shown whole: a cut line's "[+N bytes]" tail differs with the secret's length
    red, _ = run(cap, ["-T", "text", "--max-text-line", "0"], kl)
    shown, _ = run(cap, ["-T", "text", "--max-text-line", "0", "--show-credentials"], kl)
    rl, sl = red.splitlines(), shown.splitlines()
    if len(rl) != len(sl):
        raise RuntimeError("--show-credentials changed the number of text lines (%d, %d)" % (len(rl), len(sl)))
    for a, b in zip(rl, sl):
        i = a.find(REDACTED)
        if i < 0 or a[:i] != b[:i]:
            continue
        rest = b[i:]
        tail = a[i + len(REDACTED):]
        if tail and rest.endswith(tail):
            rest = rest[:len(rest) - len(tail)]
        if rest != REDACTED:
            acc.add(rest)
            acc.add(unquote(rest))
            for w in rest.split():  # a password with an extra word: each one
                acc.add(unquote(w))
    # the base64 of a PLAIN response, decoded: its password part too
    for s in list(acc):
        try:
            raw = base64.b64decode(s, validate=True)
        except Exception:
            continue
        parts = raw.split(b"\0")
        if len(parts) == 3:
            acc.add(parts[2].decode("utf-8", "replace"))
    return {s for s in acc if len(s) >= MIN_SECRET}, shown


def check_streams(results):
    def case(name, ok, why=""):
        results.append(ok)
        print(("PASS streams-dir-%s" % name) if ok else ("FAIL streams-dir-%s: %s" % (name, why)))

    cap = os.path.join(REPO, "captures", "imaplib-main.pcap")
    top = tempfile.mkdtemp(prefix="imapscope-streams.")
    try:
        d = os.path.join(top, "new")
        # files are named by flow_id: the second run must use the same key
        p = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json", "--flow-id-seed", "1", "--streams-dir", d],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        files = sorted(os.listdir(d)) if os.path.isdir(d) else []
        modes = {stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode) for f in files}
        case("created", p.returncode == 0 and os.path.isdir(d) and stat.S_IMODE(os.stat(d).st_mode) == 0o700
             and len(files) > 0 and modes == {0o600},
             "rc %d, dir mode %s, files %d, modes %s" % (p.returncode, oct(stat.S_IMODE(os.stat(d).st_mode))
                                                         if os.path.isdir(d) else "-", len(files), modes))
        before = {f: os.path.getsize(os.path.join(d, f)) for f in files}
        p = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json", "--flow-id-seed", "1", "--streams-dir", d],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.decode()
        after = {f: os.path.getsize(os.path.join(d, f)) for f in files}
        case("existing-file", p.returncode == 1 and "File exists" in err and before == after,
             "rc %d, sizes kept %s, stderr %r" % (p.returncode, before == after, err[:200]))
        g = os.path.join(top, "groupw")
        os.mkdir(g)
        os.chmod(g, 0o770)
        p = subprocess.run([IMAPSCOPE, "-r", cap, "--streams-dir", g], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        case("group-writable", p.returncode == 1 and b"writable by group" in p.stderr and not os.listdir(g),
             "rc %d, stderr %r" % (p.returncode, p.stderr[:200]))
        ln = os.path.join(top, "link")
        os.symlink(d, ln)
        p = subprocess.run([IMAPSCOPE, "-r", cap, "--streams-dir", ln], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        case("symlink", p.returncode == 1 and b"symbolic link" in p.stderr, "rc %d, stderr %r" % (p.returncode, p.stderr[:200]))
        p = subprocess.run([IMAPSCOPE, "-r", cap, "--streams-dir", os.path.join(top, "no", "such")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        case("missing-parent", p.returncode == 1 and b"cannot create" in p.stderr,
             "rc %d, stderr %r" % (p.returncode, p.stderr[:200]))
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                nobody = None
            if nobody:
                # the parent must let nobody in: a fresh directory under a
                # world-writable sticky one, like /tmp
                z = tempfile.mktemp(prefix="imapscope-streams-z.", dir="/tmp")
                p = subprocess.run([IMAPSCOPE, "-r", cap, "-Z", "nobody", "-T", "json", "--streams-dir", z],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                st = os.stat(z) if os.path.isdir(z) else None
                owned = st is not None and st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o700
                fown = st is not None and all(os.stat(os.path.join(z, f)).st_uid == nobody.pw_uid
                                              for f in os.listdir(z)) and len(os.listdir(z)) > 0
                case("drop-privileges", p.returncode == 0 and owned and fown,
                     "rc %d, dir owner/mode ok %s, files owned %s, stderr %r" % (p.returncode, owned, fown, p.stderr[:200]))
                shutil.rmtree(z, ignore_errors=True)
                # a directory made by root before: refused by nobody
                r = os.path.join(top, "rootmade")
                os.mkdir(r, 0o700)
                os.chmod(top, 0o755)
                p = subprocess.run([IMAPSCOPE, "-r", cap, "-Z", "nobody", "--streams-dir", r],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                case("root-made-refused", p.returncode == 1 and p.stderr,
                     "rc %d, stderr %r" % (p.returncode, p.stderr[:200]))
    finally:
        shutil.rmtree(top, ignore_errors=True)


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL secrets-imapscope-missing: %s is not built" % IMAPSCOPE)
        return 1
    caps = captures()
    if len(caps) < 10:
        print("FAIL secrets-captures: only %d captures found (IMAPSCOPE_SHARED=%s)" % (len(caps), SHARED))
        return 1
    results = []
    seen_with_flag = {pw: False for pw, _, _ in HARD}
    nsecrets = 0
    for cap in caps:
        name = os.path.relpath(cap, REPO).replace("tests/data/", "").replace("/", "_")
        kl = keylog_for(cap)
        try:
            found, shown_text = collect(cap, kl)
            shown_json, _ = run(cap, ["-T", "json", "--show-credentials"], kl)
            for pw in seen_with_flag:
                if pw in shown_text or pw in shown_json:
                    seen_with_flag[pw] = True
            hard = {pw for pw, _, only in HARD if only is None or only in name}
            # the base64 PLAIN messages of the hard-listed passwords, as clients send them
            for pw in list(hard):
                for user in ("alice", "bob"):
                    hard.add(base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode())
            secrets = found | hard
            nsecrets += len(found)
            bad = None
            for form in FORMS:
                out, err = run(cap, form, kl)
                for s in sorted(secrets):
                    where = leak(out + err, s, form)
                    if where:
                        bad = "%s: %r in %r" % (" ".join(form), s, where)
                        break
                if bad:
                    break
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            bad = str(e)
        results.append(bad is None)
        print(("PASS secrets-%s (%d secrets)" % (name, len(found))) if bad is None
              else "FAIL secrets-%s: %s" % (name, bad))
    for pw, clear, _ in HARD:
        if clear:
            ok = seen_with_flag[pw]
            results.append(ok)
            print(("PASS secrets-hard-listed-%s" % pw.replace(" ", "_")) if ok else
                  "FAIL secrets-hard-listed-%s: never shown with --show-credentials (is the list stale?)" % pw)
    ok = nsecrets > 0
    results.append(ok)
    print("PASS secrets-collected (%d)" % nsecrets if ok else "FAIL secrets-collected: no secret found with --show-credentials")
    check_streams(results)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
