#!/usr/bin/env python3
"""The progress line (issue 16): shown on standard error when it is a
terminal (a pseudo-terminal here), the input a regular file and the events
go elsewhere; cleared at the end; never in a pipe, never with CI set, never
when the events go to the same terminal, never with --no-progress;
--progress forces it into a pipe.  Its numbers are checked: the percentage
never exceeds 100, the total is the file's size, and the events count
never exceeds the events written."""
import json
import os
import pty
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
CAP = os.path.join(ROOT, "captures", "imaplib-main.pcap")
failures = 0
LINE = re.compile(rb"\rimapscope: ([\d.]+ [kMGT]?B)(?: / ([\d.]+ [kMGT]?B)  ([\d.]+)%)?  [\d.]+ [kMGT]?B/s(?:  ETA [\d:]+)?"
                  rb"  conns ([\d,]+)  events ([\d,]+)")


def result(ok, name, detail=""):
    global failures
    if ok:
        print("PASS %s" % name)
    else:
        failures += 1
        print("FAIL %s%s" % (name, ": " + detail if detail else ""))


def env(ci=False):
    e = dict(os.environ)
    e.pop("CI", None)
    if ci:
        e["CI"] = "true"
    return e


def run_pty(args, stdout_tty=False, ci=False, stdin=None):
    """Runs imapscope with stderr on a pseudo-terminal; returns (pty bytes, stdout bytes)."""
    m, s = pty.openpty()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([IMAPSCOPE] + args, stdout=s if stdout_tty else out, stderr=s, env=env(ci),
                             stdin=stdin if stdin is not None else subprocess.DEVNULL)
        os.close(s)
        buf = b""
        while True:
            try:
                d = os.read(m, 65536)
            except OSError:
                break
            if not d:
                break
            buf += d
        p.wait()
        os.close(m)
        out.seek(0)
        return buf, out.read()


def fmt_size(v):
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while v >= 1000 and i < 4:
        v /= 1000.0
        i += 1
    return "%.0f B" % v if i == 0 else "%.1f %s" % (v, units[i])


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL imapscope-missing")
        return 1
    size = fmt_size(os.path.getsize(CAP)).encode()

    err, out = run_pty(["-r", CAP, "-T", "json"])
    lines = LINE.findall(err)
    result(len(lines) >= 1, "tty-shows-progress", repr(err[:200]))
    result(all(l[1] == size for l in lines), "tty-total-is-file-size", "%r vs %r" % ([l[1] for l in lines], size))
    result(all(float(l[2]) <= 100 for l in lines), "tty-percent-at-most-100")
    nev = len(out.splitlines())
    result(all(int(l[4].replace(b",", b"")) <= nev for l in lines), "tty-events-at-most-written")
    tail = err[err.rfind(b"\r", 0, len(err) - 1):]
    result(err.endswith(b"\r") and tail.strip() == b"", "tty-line-cleared", repr(err[-80:]))
    try:
        for l in out.splitlines():
            json.loads(l)
        result(True, "tty-stdout-json-untouched")
    except ValueError as e:
        result(False, "tty-stdout-json-untouched", str(e))

    err, _ = run_pty(["-r", CAP, "-T", "json"], ci=True)
    result(not LINE.search(err), "tty-ci-no-progress", repr(err[:100]))
    err, _ = run_pty(["-r", CAP, "-T", "json"], stdout_tty=True)
    result(not LINE.search(err), "tty-events-on-same-terminal-no-progress")
    err, _ = run_pty(["-r", CAP, "-T", "json", "-w", os.devnull], stdout_tty=True)
    result(LINE.search(err) is not None, "tty-events-to-file-progress")
    err, _ = run_pty(["-r", CAP, "-T", "json", "--no-progress"])
    result(not LINE.search(err), "tty-no-progress-option")
    with open(CAP, "rb") as f:
        err, _ = run_pty(["-r", "-", "-T", "json"], stdin=f)
    result(not LINE.search(err), "tty-stdin-no-progress")
    cat = subprocess.Popen(["cat", CAP], stdout=subprocess.PIPE)  # a pipe: no size known
    err, _ = run_pty(["-r", "-", "-T", "json", "--progress"], stdin=cat.stdout)
    cat.stdout.close()
    cat.wait()
    m = LINE.search(err)
    result(m is not None and m.group(2) is None, "tty-stdin-forced-no-percent", repr(err[:120]))
    err, _ = run_pty(["-r", CAP, "-T", "json", "--threads", "2"])
    result(LINE.search(err) is not None, "tty-threads2-progress")

    p = subprocess.run([IMAPSCOPE, "-r", CAP, "-T", "json"], capture_output=True, env=env())
    result(b"\r" not in p.stderr and not LINE.search(p.stderr), "pipe-no-progress", repr(p.stderr[:100]))
    p = subprocess.run([IMAPSCOPE, "-r", CAP, "-T", "json", "--progress"], capture_output=True, env=env(ci=True))
    result(LINE.search(p.stderr) is not None and p.stderr.endswith(b"\r"), "pipe-forced-progress", repr(p.stderr[:100]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
