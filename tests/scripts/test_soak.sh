#!/usr/bin/env bash
# Soak test (issue 5, item 4): imapscope -i lo for SOAK_SECONDS (default 60)
# against a private dovecot while a load generator runs many short
# connections (LOGIN/SELECT/FETCH/LOGOUT), some long ones (IDLE with NOOPs),
# some STARTTLS and some dropped without LOGOUT.
#
# Checks:
#   soak-rss        imapscope's RSS (/proc/PID/status VmRSS, sampled every
#                   2 s) does not grow: max of the last third <= max of the
#                   first third + 4 MiB;
#   soak-lost       every connection the generator opened has an
#                   imap_session event (by client port), and the number of
#                   sessions equals the connections in the tcpdump capture;
#   soak-bytes      byte counts per connection equal tcpdump's;
#   soak-pcap-stats the final stats event carries capture.received /
#                   dropped / if_dropped (pcap_stats), printed;
#   soak-exit       SIGINT ends it with status 0 within 10 s.
# Prints PASS/FAIL lines; SKIP when not root or a tool is missing.
# Ports: 36143 (STARTTLS) / 36993 (implicit TLS) or the next free pair.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
IMAPSCOPE=${IMAPSCOPE:-./$BUILD/imapscope}
[ -x "$IMAPSCOPE" ] || IMAPSCOPE=./imapscope
# The sanitizer pass runs half as long and does not judge RSS (ASan's
# quarantine keeps freed memory on purpose).
if [ "$BUILD" = "build-san" ]; then SOAK_SECONDS=${SOAK_SECONDS:-30}; else SOAK_SECONDS=${SOAK_SECONDS:-60}; fi
export PYTHONDONTWRITEBYTECODE=1

if [ "$(id -u)" -ne 0 ]; then echo "SKIP soak: not root (live capture needs CAP_NET_RAW)"; exit 0; fi
for t in dovecot tcpdump python3 openssl ss timeout; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP soak: $t not installed"; exit 0; }
done
[ -x "$IMAPSCOPE" ] || { echo "FAIL soak-imapscope-missing: no executable $IMAPSCOPE"; exit 1; }

# shellcheck source=../../captures/lib/dovecot.sh
. "$ROOT/captures/lib/dovecot.sh"
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

PORT=$(free_port 850 36143 37143 38143 39143)
[ -n "$PORT" ] || { echo "SKIP soak: no free loopback port pair"; exit 0; }
PTLS=$((PORT + 850))

WORK=$(mktemp -d /tmp/imapscope-soak.XXXXXX)
chmod 755 "$WORK"
SCOPE_PID="" TD_PID="" GEN_PID="" SAMPLER_PID=""
cleanup() {
    local p
    for p in $GEN_PID $SAMPLER_PID $SCOPE_PID $TD_PID; do kill_pid "$p"; done
    dc_stop
    [ -n "${SOAK_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

dc_setup "$WORK/dc" 127.0.0.1 "$PORT" "$PTLS" >/dev/null 2>&1 || { echo "FAIL soak-setup: dovecot setup failed"; exit 1; }
dc_start "$WORK/dc" 2>"$WORK/dc.err" || { echo "FAIL soak-setup: dovecot did not start"; exit 1; }

"$IMAPSCOPE" -i lo -f "tcp port $PORT or tcp port $PTLS" --server-port "$PORT" --server-port "$PTLS" \
    --tls-port "$PTLS" -T json -w "$WORK/out.jsonl" 2>"$WORK/scope.err" &
SCOPE_PID=$!
tcpdump -i lo -s 0 -B 16384 -w "$WORK/soak.pcap" "tcp port $PORT" 2>"$WORK/td.err" &
TD_PID=$!
for i in $(seq 1 100); do grep -q listening "$WORK/td.err" && break; sleep 0.05; done
sleep 1.5
kill -0 "$SCOPE_PID" 2>/dev/null || { echo "FAIL soak-start: imapscope exited: $(head -c 300 "$WORK/scope.err")"; exit 1; }

# RSS sampler: one "seconds kib" line every 2 s.
( t0=$(date +%s); while kill -0 "$SCOPE_PID" 2>/dev/null; do
      r=$(awk '/^VmRSS:/{print $2}' "/proc/$SCOPE_PID/status" 2>/dev/null) || break
      [ -n "$r" ] && echo "$(( $(date +%s) - t0 )) $r"
      sleep 2
  done ) >"$WORK/rss.txt" &
SAMPLER_PID=$!

cat >"$WORK/gen.py" <<'PY'
# Load generator: W workers for D seconds.  Each connection's client port is
# written to ports.txt when it connects ("port kind"); a summary to stdout.
import imaplib, random, socket, ssl, sys, threading, time
host, port, cafile, secs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
lock = threading.Lock()
ports = open(out, "w")
counts = {}
errors = []
end = time.time() + secs
# Every connection gets a client port of its own (never reused within the
# run), so connections can be matched by port across the generator,
# imapscope and tcpdump.
next_port = [41000]
def src():
    with lock:
        next_port[0] += 1
        return ("127.0.0.1", next_port[0])
def connect(timeout):
    for _ in range(50):
        try:
            return socket.create_connection((host, port), timeout, source_address=src())
        except OSError as e:
            if e.errno != 98:   # EADDRINUSE: try the next port
                raise
    raise OSError("no free client port")
class IMAP(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return connect(timeout)
def note(sock, kind):
    with lock:
        ports.write("%d %s\n" % (sock.getsockname()[1], kind))
        ports.flush()
        counts[kind] = counts.get(kind, 0) + 1
def short(rnd):
    c = IMAP(host, port, timeout=10); note(c.sock, "short")
    c.login("alice", "secret"); c.select("INBOX"); c.fetch("1", "(FLAGS BODY.PEEK[HEADER])"); c.logout()
def dropped(rnd):
    s = connect(10); note(s, "dropped")
    s.recv(4096); s.sendall(b"d1 CAPABILITY\r\n"); s.recv(4096); s.close()
def tls(rnd):
    c = IMAP(host, port, timeout=10); note(c.sock, "starttls")
    c.starttls(ssl.create_default_context(cafile=cafile)); c.login("bob", "hunter2"); c.list(); c.logout()
def idle(rnd):
    c = IMAP(host, port, timeout=20); note(c.sock, "idle")
    c.login("bob", "hunter2"); c.select("INBOX")
    stop = min(end, time.time() + rnd.uniform(4, 10))
    while time.time() < stop:
        tag = c._new_tag().decode()
        c.send(("%s IDLE\r\n" % tag).encode()); c.readline()          # "+ idling"
        time.sleep(rnd.uniform(0.5, 1.5))
        c.send(b"DONE\r\n")
        while not c.readline().startswith(tag.encode()):
            pass
        c.noop()
    c.logout()
def worker(i):
    rnd = random.Random(i)
    while time.time() < end:
        kind = rnd.random()
        f = idle if i == 0 else short if kind < 0.75 else dropped if kind < 0.9 else tls
        try:
            f(rnd)
        except Exception as e:   # noqa: BLE001 - counted, reported
            with lock:
                errors.append("%s: %s" % (f.__name__, e))
        time.sleep(rnd.uniform(0, 0.02))
ts = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
for t in ts: t.start()
for t in ts: t.join()
ports.close()
print("generator: %s errors=%d %s" % (counts, len(errors), errors[:3]))
PY
timeout $((SOAK_SECONDS + 40)) python3 "$WORK/gen.py" 127.0.0.1 "$PORT" "$WORK/dc/cert.pem" "$SOAK_SECONDS" "$WORK/ports.txt" \
    >"$WORK/gen.out" 2>&1 &
GEN_PID=$!
wait "$GEN_PID"; GEN_RC=$?; GEN_PID=""
sleep 1
cat "$WORK/gen.out"
[ $GEN_RC -eq 0 ] || echo "FAIL soak-generator: exit $GEN_RC: $(tail -3 "$WORK/gen.out" | tr '\n' ' ')"

kill -INT "$SCOPE_PID"
for i in $(seq 1 100); do kill -0 "$SCOPE_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SCOPE_PID" 2>/dev/null; then
    echo "FAIL soak-exit: still running 10 s after SIGINT"; kill_pid "$SCOPE_PID"; SCOPE_PID=""
else
    wait "$SCOPE_PID"; rc=$?; SCOPE_PID=""
    [ $rc -eq 0 ] && echo "PASS soak-exit" || echo "FAIL soak-exit: status $rc: $(head -c 300 "$WORK/scope.err")"
fi
kill -INT "$TD_PID" 2>/dev/null; wait "$TD_PID" 2>/dev/null; TD_PID=""
wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
grep -i "dropped\|captured" "$WORK/td.err" | sed 's/^/tcpdump: /' 

python3 - "$WORK" "$PORT" "$ROOT/captures/lib" "$BUILD" <<'PY'
import json, sys
work, port = sys.argv[1], int(sys.argv[2])
san = sys.argv[4] == "build-san"
sys.path.insert(0, sys.argv[3])
import pcapflows
ok = True
def res(name, good, why=""):
    global ok
    print(("PASS soak-%s" % name) if good else ("FAIL soak-%s: %s" % (name, why)))
    ok = ok and good
# memory
rss = [tuple(map(int, l.split())) for l in open(work + "/rss.txt") if l.strip()]
if san:
    print("SKIP soak-rss: sanitizer build (ASan quarantine grows on purpose); %d samples, max %d KiB"
          % (len(rss), max([r for _, r in rss] or [0])))
elif len(rss) < 6:
    res("rss", False, "only %d RSS samples" % len(rss))
else:
    third = len(rss) // 3
    first, last = max(r for _, r in rss[:third]), max(r for _, r in rss[-third:])
    print("soak rss KiB: first third max %d, last third max %d, samples %d, min %d, max %d"
          % (first, last, len(rss), min(r for _, r in rss), max(r for _, r in rss)))
    res("rss", last <= first + 4096, "grew from %d to %d KiB" % (first, last))
# connections: a client port may be reused (a connection ended by RST
# leaves no TIME_WAIT), so compare multisets keyed by client port.
from collections import Counter
gen, kinds = Counter(), {}
for l in open(work + "/ports.txt"):
    p, kind = l.split()
    gen[int(p)] += 1
    kinds[int(p)] = kind
sessions, stats = Counter(), None
for n, line in enumerate(open(work + "/out.jsonl", "rb"), 1):
    ev = json.loads(line)
    if ev["event_type"] == "imap_session" and ev["dest_port"] == port:
        s = ev["imap_session"]
        sessions[(ev["src_port"], s["client_bytes"], s["server_bytes"])] += 1
    elif ev["event_type"] == "stats":
        stats = ev["stats"]
want = Counter()
for c in pcapflows.connections(work + "/soak.pcap"):
    if c.server[1] == port:
        want[(c.client[1], len(c.stream(c.client)), len(c.stream(c.server)))] += 1
by_port = Counter()
for (p, _c, _s), n in sessions.items():
    by_port[p] += n
missing = sorted((gen - by_port).elements())
n_gen, n_ses, n_want = sum(gen.values()), sum(sessions.values()), sum(want.values())
print("soak: generator %d connections, imapscope %d sessions, tcpdump %d connections"
      % (n_gen, n_ses, n_want))
res("lost", n_gen and not missing and n_ses == n_want == n_gen,
    "%d of the generator's connections have no session (%s); sessions %d vs tcpdump %d"
    % (len(missing), missing[:5], n_ses, n_want))
diff = sorted((want - sessions).elements())
extra = sorted((sessions - want).elements())
res("bytes", not diff and not extra, "%d connections differ: tcpdump has %s, imapscope %s"
    % (len(diff), ["port %d (%s) %d/%d" % (p, kinds.get(p), a, b) for p, a, b in diff[:3]],
       ["port %d %d/%d" % x for x in extra[:3]]))
cap = (stats or {}).get("capture")
res("pcap-stats", isinstance(cap, dict) and all(k in cap for k in ("received", "dropped", "if_dropped")),
    "stats event without capture.received/dropped/if_dropped: %s" % cap)
if cap:
    print("soak pcap_stats: received %s dropped %s if_dropped %s" % (cap.get("received"), cap.get("dropped"), cap.get("if_dropped")))
sys.exit(0 if ok else 1)
PY
