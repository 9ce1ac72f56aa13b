#!/usr/bin/env python3
"""Sinks (issue 14, item 3), each against a real receiver on loopback
started here in a temp dir and stopped at the end: every event of the run
(the lines of -w FILE of the same run) arrives exactly once.

  unix-stream-*, unix-dgram-*   a python listener: the lines, in order
  syslog-{udp,tcp,unix}-*       a real rsyslogd (imudp, imtcp with RFC 6587
                                octet counting, imuxsock on a temp socket),
                                three --syslog sinks and -w at once: MSG is
                                the line, facility local5 (or
                                --syslog-facility), severity warning for
                                alerts and info otherwise, APP-NAME
                                imapscope, PROCID the pid, MSGID event_type
  redis-{list,channel,stream}-* a real redis-server: RPUSH, PUBLISH (a
                                subscriber here), XADD field "event"
  redis-restart-*               redis stopped in the middle of a run fed
                                through a pipe, started again: the sink
                                reconnects; unique received + dropped ==
                                emitted, duplicates <= resent, drops counted
                                and exit status 3
  multi-*                       -w, redis, syslog tcp and a unix socket at
                                once; the stats event's "sinks" array and
                                the stderr line of each sink
  slow-*                        a listener that never reads: capture goes on,
                                drops counted, delivered + dropped == emitted
  dead-*                        a redis that is not there: the run ends after
                                --sink-drain, everything counted dropped
  rotate-*                      --rotate size= and a SIGHUP after mv on a run
                                fed through a pipe: every line in exactly one
                                file, each line whole, files within the size
Prints PASS/FAIL lines; SKIP when redis-server or rsyslogd is missing.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import sinklib  # noqa: E402

IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
CAPS = os.path.join(ROOT, "tests", "data", "captures", "public")
CAP = os.path.join(CAPS, "arkime__imap.pcap")              # one connection: imap, alert, email events
CAP2 = os.path.join(CAPS, "bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap")
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


SINK_LINE = re.compile(r"^imapscope: sink (.*) \((\w+)\): (\d+) events, (\d+) bytes, (\d+) dropped, "
                       r"(\d+) errors, (\d+) (?:reconnects|reopens), (\d+) (?:resent|rotations)$")


def sink_lines(stderr):
    out = {}
    for ln in stderr.splitlines():
        m = SINK_LINE.match(ln)
        if m:
            out[m.group(1)] = {"type": m.group(2), "events": int(m.group(3)), "bytes": int(m.group(4)),
                               "dropped": int(m.group(5)), "errors": int(m.group(6)),
                               "reconnects": int(m.group(7)), "last": int(m.group(8))}
    return out


def canon(line):
    """A line without what differs between two runs of the same packets:
    flow_id (a per-run random seed) and pcap_filename ("-" has none)."""
    e = json.loads(line)
    e.pop("flow_id", None)
    e.pop("pcap_filename", None)
    return json.dumps(e, sort_keys=True)


_counts = {}


def n_events(cap):
    """The events of a plain run of cap (-T json), counted once."""
    if cap not in _counts:
        r = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json"], capture_output=True, text=True, timeout=120)
        _counts[cap] = len(r.stdout.splitlines())
    return _counts[cap]


def run(args, timeout=120, **kw):
    return subprocess.run([IMAPSCOPE] + args, capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------- unix sockets
def listener(path, kind, store, ready, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM if kind == "stream" else socket.SOCK_DGRAM)
    s.bind(path)
    if kind == "stream":
        s.listen(1)
        ready.set()
        c, _ = s.accept()
        if not read:
            store["conn"] = c  # held open, never read (until the test says)
            store["listen"] = s
            return
        data = b""
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            data += b
        store["data"] = data
        c.close()
    else:
        s.settimeout(0.5)
        ready.set()
        got = []
        idle = 0
        while idle < 6 and not store.get("stop"):
            try:
                got.append(s.recv(1 << 20))
                idle = 0
            except socket.timeout:
                idle += 1 if store.get("done") else 0
        store["data"] = got
    s.close()


def test_unix(work):
    for kind in ("stream", "dgram"):
        path = os.path.join(work, "u-%s.sock" % kind)
        out = os.path.join(work, "u-%s.json" % kind)
        store, ready = {}, threading.Event()
        t = threading.Thread(target=listener, args=(path, kind, store, ready), daemon=True)
        t.start()
        ready.wait(5)
        r = run(["-r", CAP2, "-T", "json", "-w", out, "--unix-socket", "%s:%s" % (kind, path)])
        store["done"] = True
        t.join(15)
        want = lines_of(out)
        if kind == "stream":
            got = store.get("data", b"").decode().splitlines()
        else:
            got = [d.decode() for d in store.get("data", [])]
        result(r.returncode == 0, "unix-%s-exit" % kind, r.stderr)
        result(len(want) > 50 and got == want, "unix-%s-every-event-once-in-order" % kind,
               "got %d lines, want %d" % (len(got), len(want)))
        sl = sink_lines(r.stderr).get("--unix-socket %s:%s" % (kind, path), {})
        result(sl.get("events") == len(want) and sl.get("dropped") == 0 and sl.get("type") == "unix",
               "unix-%s-stderr-counts" % kind, sl)


# ---------------------------------------------------------------- syslog
def test_syslog(work):
    if not sinklib.have("rsyslogd"):
        print("SKIP syslog: rsyslogd not installed")
        return
    d = os.path.join(work, "rsyslog")
    os.mkdir(d)
    rs = sinklib.Rsyslog(d).start()
    try:
        out = os.path.join(work, "syslog.json")
        p = subprocess.Popen([IMAPSCOPE, "-r", CAP, "-T", "json", "-w", out,
                              "--syslog", "udp:127.0.0.1:%d" % rs.udp, "--syslog", "tcp:127.0.0.1:%d" % rs.tcp,
                              "--syslog", "unix:%s" % rs.sock], stderr=subprocess.PIPE, text=True)
        _, err = p.communicate(timeout=60)
        want = lines_of(out)
        types = [json.loads(w)["event_type"] for w in want]
        result(p.returncode == 0, "syslog-exit", err)
        for key in ("udp", "tcp", "unix"):
            recs = rs.read(key, want=len(want))
            msgs = [m for _, m in recs]
            ordered = msgs == want if key != "udp" else Counter(msgs) == Counter(want)
            result(ordered and len(msgs) == len(want), "syslog-%s-every-event-once" % key,
                   "got %d, want %d" % (len(msgs), len(want)))
            bad = []
            by_msg = {m: h for h, m in recs}
            for w, ty in zip(want, types):
                h = by_msg.get(w)
                sev = "warning" if ty == "alert" else "info"
                if not h or h[0] != "local5." + sev or h[1] != "imapscope" or h[2] != str(p.pid) or h[3] != ty:
                    bad.append((ty, h))
            result(not bad and "alert" in types, "syslog-%s-rfc5424-fields" % key, bad[:3])
        sl = sink_lines(err)
        result(all(sl.get(n, {}).get("events") == len(want) and sl[n]["type"] == "syslog"
                   for n in ("--syslog udp:127.0.0.1:%d" % rs.udp, "--syslog tcp:127.0.0.1:%d" % rs.tcp,
                             "--syslog unix:%s" % rs.sock)), "syslog-stderr-counts", err)
        # --syslog-facility
        for key in ("udp",):
            before = len(rs.read(key))
        r = run(["-r", CAP, "-T", "json", "--syslog", "udp:127.0.0.1:%d" % rs.udp, "--syslog-facility", "daemon"])
        recs = rs.read("udp", want=before + len(want))[before:]
        result(r.returncode == 0 and r.stdout == "" and len(recs) == len(want) and
               all(h[0].startswith("daemon.") for h, _ in recs), "syslog-facility-daemon-and-no-stdout",
               (r.returncode, len(r.stdout), len(recs)))
    finally:
        rs.stop()


# ---------------------------------------------------------------- redis
def test_redis(work):
    d = os.path.join(work, "redis")
    os.mkdir(d)
    rd = sinklib.Redis(d).start()
    try:
        for mode in ("list", "channel", "stream"):
            out = os.path.join(work, "redis-%s.json" % mode)
            key = "k-" + mode
            sub, got = None, []
            if mode == "channel":
                sub = rd.client()
                sub.call("SUBSCRIBE", key)
            r = run(["-r", CAP2, "-T", "json", "-w", out, "--redis", "127.0.0.1:%d" % rd.port,
                     "--redis-mode", mode, "--redis-key", key])
            want = lines_of(out)
            c = rd.client()
            if mode == "list":
                got = [x.decode() for x in c.call("LRANGE", key, 0, -1)]
            elif mode == "stream":
                entries = c.call("XRANGE", key, "-", "+")
                got = [dict(zip(e[1][::2], e[1][1::2]))[b"event"].decode() for e in entries]
                result(all(e[1][0] == b"event" and len(e[1]) == 2 for e in entries), "redis-stream-field-event")
            else:
                sub.s.settimeout(5)
                try:
                    while len(got) < len(want):
                        m = sub.read()
                        if m[0] == b"message" and m[1] == key.encode():
                            got.append(m[2].decode())
                except (socket.timeout, ConnectionError):
                    pass
                sub.close()
            c.close()
            result(r.returncode == 0, "redis-%s-exit" % mode, r.stderr)
            result(len(want) > 50 and got == want, "redis-%s-every-event-once-in-order" % mode,
                   "got %d, want %d" % (len(got), len(want)))
            sl = sink_lines(r.stderr).get("--redis 127.0.0.1:%d" % rd.port, {})
            result(sl.get("events") == len(want) and sl.get("dropped") == 0, "redis-%s-stderr-counts" % mode, sl)
        # default key "imapscope", default mode list
        r = run(["-r", CAP, "-T", "json", "--redis", "127.0.0.1:%d" % rd.port])
        c = rd.client()
        n = c.call("LLEN", "imapscope")
        c.close()
        result(r.returncode == 0 and n == n_events(CAP) > 20, "redis-default-list-imapscope", (r.returncode, n))
    finally:
        rd.stop()


def test_redis_auth(work):
    """IMAPSCOPE_REDIS_PASSWORD: AUTH on every connection; a wrong one is a
    connect failure (reported, retried, the events counted dropped)."""
    d = os.path.join(work, "redis-auth")
    os.mkdir(d)
    rd = sinklib.Redis(d, password="s3cret pass").start()
    try:
        env = dict(os.environ, IMAPSCOPE_REDIS_PASSWORD="s3cret pass")
        r = run(["-r", CAP, "-T", "json", "--redis", "127.0.0.1:%d" % rd.port, "--redis-key", "a"], env=env)
        c = rd.client()
        n = c.call("LLEN", "a")
        c.close()
        result(r.returncode == 0 and n == n_events(CAP) > 20, "redis-auth-password", (r.returncode, n, r.stderr[-200:]))
        env["IMAPSCOPE_REDIS_PASSWORD"] = "wrong"
        r = run(["-r", CAP, "-T", "json", "--redis", "127.0.0.1:%d" % rd.port, "--redis-key", "b",
                 "--sink-drain", "1"], env=env)
        c = rd.client()
        n = c.call("LLEN", "b")
        c.close()
        sl = sink_lines(r.stderr).get("--redis 127.0.0.1:%d" % rd.port, {})
        result(r.returncode == 3 and n == 0 and "AUTH refused" in r.stderr and sl.get("dropped") == n_events(CAP),
               "redis-auth-wrong-password-counted", (r.returncode, n, sl))
        # without a password: the server refuses the commands (NOAUTH): dropped, counted
        env.pop("IMAPSCOPE_REDIS_PASSWORD")
        r = run(["-r", CAP, "-T", "json", "--redis", "127.0.0.1:%d" % rd.port, "--redis-key", "c",
                 "--sink-drain", "1"], env=env)
        sl = sink_lines(r.stderr).get("--redis 127.0.0.1:%d" % rd.port, {})
        result(r.returncode == 3 and sl.get("dropped") == n_events(CAP) and "NOAUTH" in r.stderr,
               "redis-noauth-refusals-counted", (r.returncode, sl, r.stderr[-300:]))
    finally:
        rd.stop()


def feed(proc, recs, lo, hi):
    proc.stdin.write(b"".join(recs[lo:hi]))
    proc.stdin.flush()


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_redis_restart(work):
    d = os.path.join(work, "redis-restart")
    os.mkdir(d)
    rd = sinklib.Redis(d, persist=True).start()
    hdr, recs = sinklib.copies(CAP, 4167, 240)
    n = len(recs)
    out = os.path.join(work, "restart.json")
    errp = os.path.join(work, "restart.err")
    key = "restart"
    try:
        with open(errp, "w") as ef:
            p = subprocess.Popen([IMAPSCOPE, "-r", "-", "-T", "json", "-w", out, "--redis", "127.0.0.1:%d" % rd.port,
                                  "--redis-key", key, "--sink-buffer", "256K", "--sink-drain", "20"],
                                 stdin=subprocess.PIPE, stderr=ef)
            p.stdin.write(hdr)
            feed(p, recs, 0, n // 3)

            def llen():
                try:
                    c = rd.client()
                    v = c.call("LLEN", key)
                    c.close()
                    return v
                except (OSError, RuntimeError, ConnectionError):
                    return -1
            # part 1 delivered (all that was flushed), then redis goes away
            result(wait_for(lambda: llen() > 50, 30), "redis-restart-part1-arrives", llen())
            last = -2
            while llen() != last:  # until part 1 stopped arriving
                last = llen()
                time.sleep(0.5)
            rd.stop(graceful=True)
            feed(p, recs, n // 3, 2 * n // 3)   # while redis is down: queued, then dropped
            time.sleep(1.0)
            rd.start()
            ok = wait_for(lambda: "connected again" in open(errp).read(), 20)
            result(ok, "redis-restart-reconnects", open(errp).read()[-500:])
            feed(p, recs, 2 * n // 3, n)
            p.stdin.close()
            rc = p.wait(timeout=120)
        err = open(errp).read()
        want = lines_of(out)
        c = rd.client()
        got = [x.decode() for x in c.call("LRANGE", key, 0, -1)]
        c.close()
        sl = sink_lines(err).get("--redis 127.0.0.1:%d" % rd.port, {})
        uniq = set(got)
        result(uniq <= set(want), "redis-restart-nothing-foreign")
        result(sl.get("dropped", 0) > 0 and len(uniq) + sl["dropped"] == len(want),
               "redis-restart-received-plus-dropped-is-emitted",
               "unique received %d + dropped %s != emitted %d" % (len(uniq), sl.get("dropped"), len(want)))
        result(sl.get("events") == len(uniq), "redis-restart-events-counted-once", (sl.get("events"), len(uniq)))
        result(len(got) - len(uniq) <= sl.get("last", 0), "redis-restart-duplicates-within-resent",
               (len(got) - len(uniq), sl.get("last")))
        result(sl.get("reconnects", 0) >= 1 and rc == 3, "redis-restart-reconnects-counted-exit-3", (sl, rc))
        stats = json.loads(want[-1])["stats"]["sinks"]
        result(stats[0]["type"] == "file" and stats[1]["type"] == "redis" and stats[1]["reconnects"] >= 1 and
               stats[1]["dropped"] > 0, "redis-restart-stats-event-sinks", stats)
    finally:
        rd.stop()


def test_syslog_tcp_restart(work):
    """rsyslogd stopped in the middle of a run and started again on the same
    port: the TCP sink reconnects; every message received is a whole line of
    the run, none twice; every event after the restart arrives; what is
    neither received nor counted dropped is at most what sat in the socket
    buffers when rsyslogd stopped (plain TCP syslog has no acknowledgement)."""
    if not sinklib.have("rsyslogd"):
        print("SKIP syslog-tcp-restart: rsyslogd not installed")
        return
    d = os.path.join(work, "rs-restart")
    os.mkdir(d)
    rs = sinklib.Rsyslog(d).start()
    hdr, recs = sinklib.copies(CAP, 4167, 150)
    n = len(recs)
    out = os.path.join(work, "rs-restart.json")
    errp = os.path.join(work, "rs-restart.err")
    try:
        with open(errp, "w") as ef:
            p = subprocess.Popen([IMAPSCOPE, "-r", "-", "-T", "json", "-w", out, "--syslog",
                                  "tcp:127.0.0.1:%d" % rs.tcp, "--sink-drain", "20"], stdin=subprocess.PIPE, stderr=ef)
            p.stdin.write(hdr)
            feed(p, recs, 0, n // 3)
            first = rs.read("tcp", want=500, timeout=20)
            last = -1
            while len(rs.read("tcp")) != last:
                last = len(rs.read("tcp"))
                time.sleep(0.5)
            rs.stop()
            feed(p, recs, n // 3, 2 * n // 3)
            time.sleep(1.0)
            rs.start()
            ok = wait_for(lambda: "connected again" in open(errp).read(), 30)
            feed(p, recs, 2 * n // 3, n)
            p.stdin.close()
            rc = p.wait(timeout=120)
        err = open(errp).read()
        want = lines_of(out)
        time.sleep(1)
        got = [m for _, m in rs.read("tcp")]
        sl = sink_lines(err).get("--syslog tcp:127.0.0.1:%d" % rs.tcp, {})
        result(ok and sl.get("reconnects", 0) >= 1 and len(first) >= 500, "syslog-tcp-restart-reconnects",
               (ok, sl, len(first), err[-300:]))
        wset = set(want)
        result(all(g in wset for g in got) and len(set(got)) == len(got), "syslog-tcp-restart-whole-and-once",
               [g[:60] for g in got if g not in wset][:2])
        # the last third was sent after the reconnect: every event of it arrived
        tail_ports = set(range(20000 + 2 * 150 // 3 + 1, 20000 + 150))
        tail = [w for w in want if json.loads(w).get("src_port") in tail_ports]
        gset = set(got)
        result(len(tail) > 100 and all(t in gset for t in tail), "syslog-tcp-restart-after-reconnect-all-arrive",
               sum(1 for t in tail if t not in gset))
        lost = len(want) - len(got) - sl.get("dropped", 0)
        result(0 <= lost <= 300 and sl.get("events", 0) + sl.get("dropped", 0) == len(want),
               "syslog-tcp-restart-accounting", "emitted %d, received %d, dropped %s, unacknowledged loss %d"
               % (len(want), len(got), sl.get("dropped"), lost))
    finally:
        rs.stop()


# ---------------------------------------------------------------- several at once
def test_multi(work):
    if not sinklib.have("rsyslogd"):
        print("SKIP multi: rsyslogd not installed")
        return
    d = os.path.join(work, "multi")
    os.mkdir(d)
    rd = sinklib.Redis(d).start()
    rs = sinklib.Rsyslog(d).start()
    upath = os.path.join(d, "m.sock")
    store, ready = {}, threading.Event()
    t = threading.Thread(target=listener, args=(upath, "stream", store, ready), daemon=True)
    t.start()
    ready.wait(5)
    try:
        out = os.path.join(d, "m.json")
        r = run(["-r", CAP2, "-T", "json", "-w", out, "--threads", "2", "--redis", "127.0.0.1:%d" % rd.port,
                 "--redis-mode", "stream", "--syslog", "tcp:127.0.0.1:%d" % rs.tcp, "--unix-socket",
                 "stream:" + upath])
        t.join(15)
        want = lines_of(out)
        c = rd.client()
        got_r = [dict(zip(e[1][::2], e[1][1::2]))[b"event"].decode() for e in c.call("XRANGE", "imapscope", "-", "+")]
        c.close()
        got_s = [m for _, m in rs.read("tcp", want=len(want))]
        got_u = store.get("data", b"").decode().splitlines()
        result(r.returncode == 0, "multi-exit", r.stderr)
        result(got_r == want and got_s == want and got_u == want and len(want) > 50, "multi-every-sink-every-event",
               (len(want), len(got_r), len(got_s), len(got_u)))
        sinks = json.loads(want[-1])["stats"]["sinks"]
        names = [s["name"] for s in sinks]
        result(names == [out, "--redis 127.0.0.1:%d" % rd.port, "--syslog tcp:127.0.0.1:%d" % rs.tcp,
                         "--unix-socket stream:" + upath], "multi-stats-sinks-names", names)
        # at the stats event: every event before it written or queued, none dropped
        result(all(set(s) >= {"name", "type", "events", "bytes", "dropped", "errors", "reconnects"} for s in sinks)
               and sinks[0]["events"] == len(want) - 1 and
               all(s["events"] + s["queued"] == len(want) - 1 and s["dropped"] == 0 for s in sinks[1:]),
               "multi-stats-sinks-counts", sinks)
        try:
            import jsonschema
            with open(os.path.join(ROOT, "docs", "schema", "imapscope-events.schema.json")) as f:
                schema = json.load(f)
            v = jsonschema.validators.validator_for(schema)(schema)
            errs = [e.message for e in v.iter_errors(json.loads(want[-1]))]
            result(not errs, "multi-stats-sinks-schema", errs[:3])
        except ImportError:
            print("SKIP multi-stats-sinks-schema: python3-jsonschema not installed")
        sl = sink_lines(r.stderr)
        result(len(sl) == 4 and all(v["events"] == len(want) and v["dropped"] == 0 for v in sl.values()),
               "multi-stderr-line-per-sink", r.stderr)
    finally:
        rs.stop()
        rd.stop()


# ---------------------------------------------------------------- slow and dead sinks
def test_slow(work):
    upath = os.path.join(work, "slow.sock")
    store, ready = {}, threading.Event()
    t = threading.Thread(target=listener, args=(upath, "stream", store, ready, False), daemon=True)
    t.start()
    ready.wait(5)
    hdr, recs = sinklib.copies(CAP, 4167, 120)
    cap = os.path.join(work, "slow.pcap")
    with open(cap, "wb") as f:
        f.write(hdr + b"".join(recs))
    out = os.path.join(work, "slow.json")
    t0 = time.monotonic()
    r = run(["-r", cap, "-T", "json", "-w", out, "--unix-socket", "stream:" + upath, "--sink-buffer", "64K",
             "--sink-drain", "1"], timeout=60)
    took = time.monotonic() - t0
    t.join(5)
    want = lines_of(out)
    # now read what the socket holds
    c = store.get("conn")
    data = b""
    if c:
        c.settimeout(2)
        try:
            while True:
                b = c.recv(1 << 20)
                if not b:
                    break
                data += b
        except socket.timeout:
            pass
        c.close()
    got = data.decode(errors="replace").splitlines()
    sl = sink_lines(r.stderr).get("--unix-socket stream:" + upath, {})
    result(r.returncode == 3 and took < 30, "slow-capture-goes-on-exit-3", (r.returncode, took, r.stderr[-300:]))
    result(sl.get("dropped", 0) > 0 and sl["events"] + sl["dropped"] == len(want),
           "slow-delivered-plus-dropped-is-emitted", (sl, len(want)))
    # what was delivered arrived whole and in the order of the file
    result(len(got) == sl.get("events") and all(g in set(want) for g in got), "slow-delivered-arrive-whole",
           (len(got), sl.get("events")))


def test_dead(work):
    port = sinklib.free_port()
    t0 = time.monotonic()
    r = run(["-r", CAP, "-T", "json", "--redis", "127.0.0.1:%d" % port, "--sink-drain", "1", "-w",
             os.path.join(work, "dead.json")], timeout=60)
    took = time.monotonic() - t0
    sl = sink_lines(r.stderr).get("--redis 127.0.0.1:%d" % port, {})
    result(r.returncode == 3 and took < 10 and "cannot connect" in r.stderr, "dead-redis-ends-exit-3",
           (r.returncode, took, r.stderr))
    result(sl.get("dropped") == n_events(CAP) and sl.get("events") == 0 and sl.get("errors", 0) >= 1,
           "dead-redis-everything-dropped-counted", sl)


# ---------------------------------------------------------------- rotation
def test_rotate(work):
    d = os.path.join(work, "rot")
    os.mkdir(d)
    hdr, recs = sinklib.copies(CAP, 4167, 150)
    n = len(recs)
    ref = os.path.join(d, "ref.pcap")
    with open(ref, "wb") as f:
        f.write(hdr + b"".join(recs))
    r = run(["-r", ref, "-T", "json", "-w", os.path.join(d, "..", "rot-ref.json")])
    want = [ln for ln in lines_of(os.path.join(work, "rot-ref.json")) if '"event_type":"stats"' not in ln]
    out = os.path.join(d, "ev.json")
    limit = 256 * 1024
    p = subprocess.Popen([IMAPSCOPE, "-r", "-", "-T", "json", "-w", out, "--rotate", "size=256K"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(hdr)
    feed(p, recs, 0, n // 2)
    ok = wait_for(lambda: len([f for f in os.listdir(d) if f.startswith("ev.json.")]) >= 2, 20)
    time.sleep(0.3)
    os.rename(out, os.path.join(d, "moved.json"))
    p.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    feed(p, recs, n // 2, n)
    p.stdin.close()
    err = p.stderr.read().decode()
    rc = p.wait(timeout=60)
    files = sorted(f for f in os.listdir(d) if f.startswith("ev.json") or f == "moved.json")
    allines, whole, sizes = [], True, {}
    for f in files:
        ls = lines_of(os.path.join(d, f))
        sizes[f] = os.path.getsize(os.path.join(d, f))
        for ln in ls:
            try:
                json.loads(ln)
            except ValueError:
                whole = False
        allines += ls
    stats = [ln for ln in allines if '"event_type":"stats"' in ln]
    evs = [ln for ln in allines if '"event_type":"stats"' not in ln]
    result(rc == 0 and ok and "moved.json" in files and os.path.exists(out), "rotate-size-and-sighup-files",
           (rc, files, err[-300:]))
    result(whole and len(stats) == 1, "rotate-every-line-whole")
    result(Counter(map(canon, evs)) == Counter(map(canon, want)) and len(evs) == len(want),
           "rotate-every-event-in-one-file",
           "%d lines, %d in the reference" % (len(evs), len(want)))
    rotated = [f for f in files if f.startswith("ev.json.")]
    result(len(rotated) >= 4 and all(sizes[f] <= limit for f in rotated) and
           all(re.match(r"^ev\.json\.\d{8}T\d{6}Z(-\d+)?$", f) for f in rotated), "rotate-files-within-size",
           sizes)
    sk = json.loads(stats[0])["stats"]["sinks"][0] if stats else {}
    sl = sink_lines(err).get(out, {})
    # the stats event counts the rotations made before it was written; when
    # writing it rotated the file once more, it is the live file's first line
    live = lines_of(out) if os.path.exists(out) else []
    before_stats = len(rotated) - (1 if live and '"event_type":"stats"' in live[0] else 0)
    result(sk.get("rotations") == before_stats and sk.get("reconnects") == 1 and sl.get("reconnects") == 1 and
           sl.get("last") == len(rotated) and sl.get("events") == len(evs) + 1, "rotate-counted", (sk, sl))
    # time=: a 1 s period on a slow feed rotates at least once
    out2 = os.path.join(d, "t.json")
    p = subprocess.Popen([IMAPSCOPE, "-r", "-", "-T", "json", "-w", out2, "--rotate", "time=1s"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(hdr)
    feed(p, recs, 0, n // 3)
    time.sleep(2.2)
    feed(p, recs, n // 3, n)
    p.stdin.close()
    p.stderr.read()
    rc = p.wait(timeout=60)
    tfiles = [f for f in os.listdir(d) if f.startswith("t.json")]
    tl = []
    for f in tfiles:
        tl += [ln for ln in lines_of(os.path.join(d, f)) if '"event_type":"stats"' not in ln]
    result(rc == 0 and len(tfiles) >= 2 and Counter(map(canon, tl)) == Counter(map(canon, want)),
           "rotate-time-every-event-once",
           (rc, tfiles, len(tl), len(want)))
    r = run(["-r", CAP, "--rotate", "size=1M"])
    result(r.returncode == 1 and "--rotate needs -w FILE" in r.stderr, "rotate-needs-file", r.stderr)
    r = run(["-r", CAP, "-w", os.path.join(d, "x"), "--rotate", "size=12Q"])
    result(r.returncode == 1 and "--rotate" in r.stderr, "rotate-bad-spec", r.stderr)


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL sinks-imapscope-missing: %s" % IMAPSCOPE)
        return 1
    if not sinklib.have("redis-server"):
        print("SKIP sinks: redis-server not installed")
        return 0
    work = tempfile.mkdtemp(prefix="imapscope-sinks.")
    try:
        test_unix(work)
        test_syslog(work)
        test_redis(work)
        test_redis_auth(work)
        test_multi(work)
        test_slow(work)
        test_dead(work)
        test_rotate(work)
        test_redis_restart(work)
        test_syslog_tcp_restart(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
