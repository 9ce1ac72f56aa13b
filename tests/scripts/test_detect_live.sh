#!/usr/bin/env bash
# Detections across connections, live and from the pcap of the same run
# (issue 15: "reading the same traffic from a pcap and live on loopback
# gives the same alerts").  A real imaplib client against a private
# dovecot on loopback: 12 failed logins of alice, a spray over 11 users, a
# success for alice, a whole-mailbox fetch; imapscope -i lo captures it
# live (--user-interval 1: imap_user events during the run too) while
# tcpdump writes the pcap; imapscope -r PCAP must then give the same
# detection alerts (name, endpoints, time, detail, evidence) and the same
# final imap_user records.  Prints PASS/FAIL detect-live-*; SKIP when not
# root or dovecot/tcpdump is missing.  Bounded: well under 60 s.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
IMAPSCOPE=${IMAPSCOPE:-./build/imapscope}
export PYTHONDONTWRITEBYTECODE=1

if [ "$(id -u)" -ne 0 ]; then echo "SKIP detect-live: not root (live capture needs CAP_NET_RAW)"; exit 0; fi
for t in dovecot tcpdump python3 openssl ss timeout; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP detect-live: $t not installed"; exit 0; }
done
[ -x "$IMAPSCOPE" ] || { echo "FAIL detect-live-imapscope-missing: no executable $IMAPSCOPE"; exit 1; }

# shellcheck source=../../captures/lib/dovecot.sh
. "$ROOT/captures/lib/dovecot.sh"
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

PORT=$(free_port 850 31243 32243 33243 34243 35243)
[ -n "$PORT" ] || { echo "SKIP detect-live: no free loopback port pair"; exit 0; }
PTLS=$((PORT + 850))
WORK=$(mktemp -d /tmp/imapscope-detect-live.XXXXXX)
chmod 755 "$WORK"
SCOPE_PID="" TD_PID="" WATCHDOG=""
cleanup() {
    local p
    for p in $SCOPE_PID $TD_PID $WATCHDOG; do kill_pid "$p"; done
    dc_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "FAIL detect-live-timeout: still running after 55 s"; exit 1' USR1
trap 'exit 1' INT TERM
( sleep 55 & sp=$!; trap 'kill $sp 2>/dev/null; exit 0' TERM; wait $sp && kill -USR1 $$ ) 2>/dev/null &
WATCHDOG=$!

dc_setup "$WORK/dc" 127.0.0.1 "$PORT" "$PTLS" >/dev/null 2>&1 || { echo "FAIL detect-live-setup: dovecot setup"; exit 1; }
dc_start "$WORK/dc" 2>"$WORK/dc.err" || { echo "FAIL detect-live-setup: dovecot did not start"; exit 1; }

"$IMAPSCOPE" -i lo -f "tcp port $PORT" -T json --user-interval 1 >"$WORK/live.jsonl" 2>"$WORK/live.err" &
SCOPE_PID=$!
tcpdump -i lo -s 0 -U --immediate-mode -w "$WORK/run.pcap" "tcp port $PORT" 2>"$WORK/td.err" &
TD_PID=$!
for i in $(seq 1 100); do grep -q listening "$WORK/td.err" 2>/dev/null && break; sleep 0.05; done
sleep 1.5
kill -0 "$SCOPE_PID" 2>/dev/null || { echo "FAIL detect-live-start: $(head -c 300 "$WORK/live.err")"; exit 1; }

timeout 40 python3 - 127.0.0.1 "$PORT" >"$WORK/client.out" 2>&1 <<'PY' || { echo "FAIL detect-live-client: $(tail -3 "$WORK/client.out" | tr '\n' ' ')"; exit 1; }
import imaplib, sys, time
host, port = sys.argv[1], int(sys.argv[2])
def attempt(user, pw):
    c = imaplib.IMAP4(host, port, timeout=10)
    try:
        c.login(user, pw)
        ok = True
    except c.error:
        ok = False
    c.logout()
    return ok
for i in range(12):
    assert not attempt("alice", "guess-%d" % i)
for i in range(11):
    assert not attempt("user%02d" % i, "Winter2024")
time.sleep(1.2)     # a periodic imap_user round during the run
c = imaplib.IMAP4(host, port, timeout=10)
c.login("alice", "secret")
c.select("INBOX")
c.fetch("1:*", "(BODY.PEEK[])")
c.logout()
time.sleep(1.2)
PY
sleep 0.5
kill -INT "$SCOPE_PID" 2>/dev/null
kill -INT "$TD_PID" 2>/dev/null
for i in $(seq 1 100); do kill -0 "$SCOPE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SCOPE_PID"; rc=$?
wait "$TD_PID" 2>/dev/null
SCOPE_PID="" TD_PID=""
[ "$rc" -eq 0 ] || { echo "FAIL detect-live-exit: imapscope exit $rc: $(head -c 300 "$WORK/live.err")"; exit 1; }
"$IMAPSCOPE" -r "$WORK/run.pcap" -T json >"$WORK/file.jsonl" 2>"$WORK/file.err" ||
    { echo "FAIL detect-live-file: $(head -c 300 "$WORK/file.err")"; exit 1; }

python3 - "$WORK/live.jsonl" "$WORK/file.jsonl" <<'PY'
import json, sys
from datetime import datetime
# Two capture handles (imapscope's and tcpdump's) stamp the same packet a
# few microseconds apart: times are compared within 2 ms, the rest exactly.
TIME_KEYS = ("window_start", "first_seen")
def us(t):
    return int(datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1e6)
def split_times(ev_time, obj):
    obj = dict(obj)
    times = [us(ev_time)] if ev_time else []
    for k in TIME_KEYS:
        if k in obj:
            times.append(us(obj.pop(k)))
    return times, obj
def load(p):
    alerts, users = [], {}
    for line in open(p):
        ev = json.loads(line)
        if ev["event_type"] == "alert" and ev["alert"].get("category") == "detect":
            a = ev["alert"]
            times, evid = split_times(ev["timestamp"], a["evidence"])
            alerts.append((json.dumps([a["name"], ev["src_ip"], ev["src_port"], ev["dest_port"], a["detail"], evid],
                                      sort_keys=True), times))
        elif ev["event_type"] == "imap_user":
            # (its timestamp: the time the user was last seen)
            users.setdefault(ev["imap_user"]["user"], []).append(split_times(ev["timestamp"], ev["imap_user"])[::-1])
    return sorted(alerts), users
def same(x, y):
    """Lists of (content, times): equal content, times within 2 ms."""
    if len(x) != len(y):
        return False
    for (cx, tx), (cy, ty) in zip(x, y):
        if cx != cy or len(tx) != len(ty) or any(abs(a - b) > 2000 for a, b in zip(tx, ty)):
            return False
    return True
la, lu = load(sys.argv[1])
fa, fu = load(sys.argv[2])
ok = True
def res(name, good, why=""):
    global ok
    print("PASS detect-live-%s" % name if good else "FAIL detect-live-%s: %s" % (name, why))
    ok = ok and good
names = sorted(json.loads(a[0])[0] for a in fa)
res("file-alerts", {"auth_bruteforce", "password_spraying", "login_after_failures", "bulk_download"} <= set(names),
    names)
res("same-alerts", same(la, fa), "live %s; file %s" % (la[:2], fa[:2]))
res("same-users", sorted(lu) == sorted(fu) and all(same([lu[u][-1]], [fu[u][-1]]) for u in fu),
    "differ: %s" % [(lu.get(u, [None])[-1], fu[u][-1]) for u in fu if u not in lu or not same([lu[u][-1]], [fu[u][-1]])][:1])
res("periodic-users", len(lu.get("alice", [])) >= 2 and len(fu.get("alice", [])) == 1,
    "alice: %d live imap_user events, %d from the file" % (len(lu.get("alice", [])), len(fu.get("alice", []))))
print("detect-live: %d alerts, %d users" % (len(fa), len(fu)))
sys.exit(0 if ok else 1)
PY
