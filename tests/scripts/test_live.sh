#!/usr/bin/env bash
# Live capture test: imapscope -i lo against a private dovecot, checked
# against tcpdump capturing the same traffic.
#
# Contract under test (docs / DESIGN.md "Command line"):
#   imapscope -i IFACE -f BPF -T json   prints one JSON object per line; on
#   SIGINT or SIGTERM it flushes every open connection and exits 0; each TCP
#   connection ends in {"event_type":"imap_session", "src_ip", "src_port",
#   "dest_ip", "dest_port", "imap_session": {"client_bytes", "server_bytes"}}
#   (src = client; bytes = TCP payload bytes each way, each byte once).
#
# The same connections and byte counts must come out of the tcpdump pcap
# (captures/lib/pcapflows.py reassembles it by sequence number).
# Prints PASS live-* / FAIL live-*: reason; SKIP live: reason (exit 0) when
# not root or dovecot/tcpdump is missing.  Bounded: well under 60 s.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
IMAPSCOPE=${IMAPSCOPE:-./build/imapscope}
export PYTHONDONTWRITEBYTECODE=1

if [ "$(id -u)" -ne 0 ]; then echo "SKIP live: not root (live capture needs CAP_NET_RAW)"; exit 0; fi
for t in dovecot tcpdump python3 openssl ss timeout; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP live: $t not installed"; exit 0; }
done
if [ ! -x "$IMAPSCOPE" ]; then echo "FAIL live-imapscope-missing: no executable $IMAPSCOPE"; exit 1; fi

# shellcheck source=../../captures/lib/dovecot.sh
. "$ROOT/captures/lib/dovecot.sh"
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

# An unusual port pair that is free on loopback.
PORT=$(free_port 850 31143 32143 33143 34143 35143)
[ -n "$PORT" ] || { echo "SKIP live: no free loopback port pair"; exit 0; }
PTLS=$((PORT + 850))

WORK=$(mktemp -d /tmp/imapscope-live.XXXXXX)
chmod 755 "$WORK"
SCOPE_PID=""
TD_PID=""
CLIENT_PID=""
WATCHDOG=""
# kill_pid PID: TERM, then KILL after 2 s; reaps it.
cleanup() {
    local p
    for p in $CLIENT_PID $SCOPE_PID $TD_PID $WATCHDOG; do kill_pid "$p"; done
    dc_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "FAIL live-timeout: still running after 55 s"; exit 1' USR1
trap 'exit 1' INT TERM
# The whole test is bounded: after 55 s the watchdog stops it.
( sleep 55 & sp=$!; trap 'kill $sp 2>/dev/null; exit 0' TERM; wait $sp && kill -USR1 $$ ) 2>/dev/null &
WATCHDOG=$!

fail_all() { echo "FAIL live-$1: $2"; exit 1; }

dc_setup "$WORK/dc" 127.0.0.1 "$PORT" "$PTLS" >/dev/null 2>&1 || fail_all setup "dovecot setup failed"
dc_start "$WORK/dc" 2>"$WORK/dc.err" || fail_all setup "dovecot did not start: $(tail -3 "$WORK/dc.err" | tr '\n' ' ')"

# start_capture TAG: imapscope and tcpdump on the same filter.
start_capture() {
    local tag=$1 i
    "$IMAPSCOPE" -i lo -f "tcp port $PORT" -T json >"$WORK/$tag.jsonl" 2>"$WORK/$tag.err" &
    SCOPE_PID=$!
    tcpdump -i lo -s 0 -U --immediate-mode -w "$WORK/$tag.pcap" "tcp port $PORT" 2>"$WORK/$tag.td" &
    TD_PID=$!
    for i in $(seq 1 100); do
        grep -q listening "$WORK/$tag.td" && break
        sleep 0.05
    done
    # imapscope has no ready message in its contract: give it time to open
    # the interface, and make sure it did not die.
    sleep 1.5
    if ! kill -0 "$SCOPE_PID" 2>/dev/null; then
        wait "$SCOPE_PID"; local rc=$?
        fail_all start "imapscope exited ($rc) at start: $(head -c 300 "$WORK/$tag.err")"
    fi
}

# stop_capture TAG SIGNAL: signal both, check imapscope's exit status.
stop_capture() {
    local tag=$1 sig=$2 rc i
    sleep 0.3
    kill -"$sig" "$SCOPE_PID" 2>/dev/null
    kill -INT "$TD_PID" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$SCOPE_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SCOPE_PID" 2>/dev/null; then
        echo "FAIL live-exit-$tag: imapscope still running 10 s after SIG$sig"
        kill_pid "$SCOPE_PID"; kill_pid "$TD_PID"
        SCOPE_PID="" TD_PID=""
        return 1
    fi
    wait "$SCOPE_PID"; rc=$?
    wait "$TD_PID" 2>/dev/null
    SCOPE_PID="" TD_PID=""
    if [ "$rc" -eq 0 ]; then
        echo "PASS live-exit-$tag"
    else
        echo "FAIL live-exit-$tag: imapscope exit status $rc after SIG$sig: $(head -c 300 "$WORK/$tag.err")"
    fi
}

# compare TAG OPEN_PORT: connections and byte counts, imapscope vs pcap.
compare() {
    python3 - "$WORK/$1.jsonl" "$WORK/$1.pcap" "$1" "$2" "$ROOT/captures/lib" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[5])
import pcapflows
jsonl, pcap, tag, open_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ok = True
def res(name, good, why=""):
    global ok
    print(("PASS live-%s-%s" % (name, tag)) if good else ("FAIL live-%s-%s: %s" % (name, tag, why)))
    ok = ok and good
sessions, bad = {}, []
with open(jsonl, "rb") as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict):
                raise ValueError("not an object")
        except ValueError as e:
            bad.append("line %d: %s" % (n, e))
            continue
        if ev.get("event_type") == "imap_session":
            try:
                key = (ev["src_ip"], int(ev["src_port"]), ev["dest_ip"], int(ev["dest_port"]))
                s = ev["imap_session"]
                val = (int(s["client_bytes"]), int(s["server_bytes"]))
            except (KeyError, TypeError, ValueError) as e:
                bad.append("line %d: imap_session without %s" % (n, e))
                continue
            if key in sessions:
                bad.append("line %d: second imap_session for %s" % (n, key))
            sessions[key] = val
res("json", not bad, "; ".join(bad[:3]))
want = {}
for c in pcapflows.connections(pcap):
    want[(c.client[0], c.client[1], c.server[0], c.server[1])] = (
        len(c.stream(c.client)), len(c.stream(c.server)))
if not want:
    res("connections", False, "tcpdump saw no connection")
    sys.exit(1)
missing = sorted(set(want) - set(sessions))
extra = sorted(set(sessions) - set(want))
res("connections", not missing and not extra and len(want) >= 1,
    "pcap has %d, imapscope %d; missing %s; extra %s" % (len(want), len(sessions), missing[:3], extra[:3]))
diff = ["%s:%d client %d/%d server %d/%d" % (k[0], k[1], sessions[k][0], want[k][0], sessions[k][1], want[k][1])
        for k in sorted(want) if k in sessions and sessions[k] != want[k]]
both = [k for k in want if k in sessions]
res("bytes", both and not diff and any(want[k][0] > 0 and want[k][1] > 0 for k in both),
    ("imapscope/pcap: " + "; ".join(diff[:4])) if diff else "no connection to compare")
if open_port:
    k = [k for k in want if k[1] == open_port]
    res("open-flush", bool(k) and k[0] in sessions,
        "connection from port %d still open at the signal has no imap_session" % open_port)
print("live %s: %d connections, %d client bytes, %d server bytes" % (
    tag, len(want), sum(v[0] for v in want.values()), sum(v[1] for v in want.values())))
sys.exit(0 if ok else 1)
PY
}

# The client: sessions that end normally, a failed login, STARTTLS, a
# dropped connection; the last one stays open until $WORK/release exists
# (it must be flushed by the signal).
cat >"$WORK/client.py" <<'PY'
import imaplib, os, socket, ssl, sys, time
host, port, cafile, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
T = 10
c = imaplib.IMAP4(host, port, timeout=T)
c.login("alice", "secret")
c.select("INBOX")
c.fetch("1:*", "(FLAGS ENVELOPE BODY.PEEK[])")   # ~30 KB from the server
c.append("Drafts", "(\\Draft)", None, b"Subject: live\r\n\r\n" + b"x" * 3000 + b"\r\n")
c.logout()
c = imaplib.IMAP4(host, port, timeout=T)
try:
    c.login("alice", "wrong")
except c.error:
    pass
c.logout()
c = imaplib.IMAP4(host, port, timeout=T)
c.starttls(ssl.create_default_context(cafile=cafile))
c.login("bob", "hunter2")
c.select("INBOX")
c.fetch("1", "(BODY[])")
c.logout()
# Dropped without LOGOUT: the client just closes.
s = socket.create_connection((host, port), timeout=T)
s.recv(4096)
s.sendall(b"x1 CAPABILITY\r\n")
time.sleep(0.2)
s.close()
# Left open across the signal.
c = imaplib.IMAP4(host, port, timeout=T)
c.login("alice", "secret")
c.noop()
with open(os.path.join(work, "open_port"), "w") as f:
    f.write(str(c.sock.getsockname()[1]))
for _ in range(200):
    if os.path.exists(os.path.join(work, "release")):
        break
    time.sleep(0.05)
c.logout()
PY

status=0
# Run 1: SIGINT, with a connection still open when the signal arrives.
start_capture int
timeout 30 python3 "$WORK/client.py" 127.0.0.1 "$PORT" "$WORK/dc/cert.pem" "$WORK" >"$WORK/client.out" 2>&1 &
CLIENT_PID=$!
for i in $(seq 1 200); do [ -s "$WORK/open_port" ] && break; kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.05; done
if [ ! -s "$WORK/open_port" ]; then
    echo "FAIL live-client: python client failed: $(tail -3 "$WORK/client.out" | tr '\n' ' ')"
    exit 1
fi
stop_capture int INT
touch "$WORK/release"
wait "$CLIENT_PID" || { echo "FAIL live-client: $(tail -3 "$WORK/client.out" | tr '\n' ' ')"; status=1; }
CLIENT_PID=""
compare int "$(cat "$WORK/open_port")" || status=1

# Run 2: SIGTERM after two complete sessions.
start_capture term
timeout 20 python3 - 127.0.0.1 "$PORT" >"$WORK/client2.out" 2>&1 <<'PY' || { echo "FAIL live-client-term: $(tail -3 "$WORK/client2.out" | tr '\n' ' ')"; status=1; }
import imaplib, sys
for user, pw in (("alice", "secret"), ("bob", "hunter2")):
    c = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]), timeout=10)
    c.login(user, pw)
    c.list()
    c.logout()
PY
stop_capture term TERM
compare term 0 || status=1
exit $status
