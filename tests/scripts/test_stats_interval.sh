#!/usr/bin/env bash
# --stats-interval on a live capture (issue 14, item 4): imapscope -i lo
# against a private dovecot, with --stats-interval 1, while a client logs
# in now and then for about 4 s.  Checks:
#   stats-interval-periodic   >= 2 "stats" events with "periodic": true, each
#                             with the kernel's counters capture.received,
#                             capture.dropped, capture.if_dropped (integers),
#                             received never going down and > 0 in the last;
#                             the final stats (end_reason, no periodic)
#                             comes last and the sessions are there too
#   stats-interval-spacing    periodic events about 1 s apart (0.5 to 3 s)
#   stats-interval-envelope   host = --sensor-name, no pcap_filename (live),
#                             every session has app_proto imap and a pcap_cnt
#   stats-interval-threads    the same with --threads 2 (dispatcher counters)
#   stats-interval-ecs        -T ecs: periodic stats as event.kind metric with
#                             imap.stats.capture.received
# SKIP (exit 0) when not root or dovecot is missing.  Bounded: under 60 s.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
IMAPSCOPE=${IMAPSCOPE:-./build/imapscope}
export PYTHONDONTWRITEBYTECODE=1

if [ "$(id -u)" -ne 0 ]; then echo "SKIP stats-interval: not root (live capture needs CAP_NET_RAW)"; exit 0; fi
for t in dovecot python3 openssl ss timeout; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP stats-interval: $t not installed"; exit 0; }
done
[ -x "$IMAPSCOPE" ] || { echo "FAIL stats-interval-imapscope-missing: $IMAPSCOPE"; exit 1; }

# shellcheck source=../../captures/lib/dovecot.sh
. "$ROOT/captures/lib/dovecot.sh"
# shellcheck source=../lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

PORT=$(free_port 850 36143 37143 38143 39143)
[ -n "$PORT" ] || { echo "SKIP stats-interval: no free loopback port pair"; exit 0; }
PTLS=$((PORT + 850))
WORK=$(mktemp -d /tmp/imapscope-stats-interval.XXXXXX)
chmod 755 "$WORK"
SCOPE_PID=""
WATCHDOG=""
cleanup() {
    kill_pid "$SCOPE_PID"
    kill_pid "$WATCHDOG"
    dc_stop
    [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "FAIL stats-interval-timeout: still running after 55 s"; exit 1' USR1
( sleep 55 & sp=$!; trap 'kill $sp 2>/dev/null; exit 0' TERM; wait $sp && kill -USR1 $$ ) 2>/dev/null &
WATCHDOG=$!

dc_setup "$WORK/dc" 127.0.0.1 "$PORT" "$PTLS" >/dev/null 2>&1 || { echo "FAIL stats-interval-setup: dovecot setup"; exit 1; }
dc_start "$WORK/dc" 2>"$WORK/dc.err" || { echo "FAIL stats-interval-setup: dovecot did not start"; exit 1; }

status=0
# run TAG ARGS...: capture with --stats-interval 1 while logging in 4 times
# over about 4 s, then SIGINT.
run() {
    local tag=$1 i rc
    shift
    "$IMAPSCOPE" -i lo -f "tcp port $PORT" --stats-interval 1 --sensor-name live-sensor "$@" \
        >"$WORK/$tag.out" 2>"$WORK/$tag.err" &
    SCOPE_PID=$!
    sleep 1.2
    if ! kill -0 "$SCOPE_PID" 2>/dev/null; then
        echo "FAIL stats-interval-$tag: imapscope exited at start: $(head -c 300 "$WORK/$tag.err")"
        SCOPE_PID=""
        status=1
        return 1
    fi
    timeout 20 python3 - 127.0.0.1 "$PORT" >"$WORK/$tag.client" 2>&1 <<'PY'
import imaplib, sys, time
for i in range(4):
    c = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]), timeout=10)
    c.login("alice", "secret")
    c.select("INBOX")
    c.logout()
    time.sleep(0.9)
PY
    sleep 0.5
    kill -INT "$SCOPE_PID"
    for i in $(seq 1 100); do kill -0 "$SCOPE_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$SCOPE_PID"; rc=$?
    SCOPE_PID=""
    if [ "$rc" -ne 0 ]; then
        echo "FAIL stats-interval-$tag: exit status $rc: $(head -c 300 "$WORK/$tag.err")"
        status=1
        return 1
    fi
}

check() {
    python3 - "$WORK/$1.out" "$1" <<'PY'
import json, sys, datetime
path, tag = sys.argv[1], sys.argv[2]
ecs = tag == "ecs"
evs = [json.loads(l) for l in open(path)]
ok = True
def res(name, good, why=""):
    global ok
    print(("PASS stats-interval-%s" % name) if good else ("FAIL stats-interval-%s: %s" % (name, why)))
    ok = ok and good
def ts(e):
    t = e["@timestamp"] if ecs else e["timestamp"]
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
if ecs:
    stats = [e for e in evs if e["event"]["dataset"] == "imapscope.stats"]
    body = lambda e: e["imap"]["stats"]
    sessions = [e for e in evs if e["event"]["dataset"] == "imapscope.imap_session"]
else:
    stats = [e for e in evs if e["event_type"] == "stats"]
    body = lambda e: e["stats"]
    sessions = [e for e in evs if e["event_type"] == "imap_session"]
periodic = [e for e in stats if body(e).get("periodic") is True]
final = [e for e in stats if "periodic" not in body(e)]
why = []
if len(periodic) < 2:
    why.append("%d periodic stats" % len(periodic))
recv = []
for e in periodic:
    cap = body(e).get("capture", {})
    for k in ("received", "dropped", "if_dropped"):
        v = cap.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            why.append("capture.%s = %r" % (k, v))
    recv.append(cap.get("received", -1))
    if "end_reason" in body(e):
        why.append("a periodic stats has end_reason")
if recv != sorted(recv):
    why.append("received went down: %s" % recv)
if recv and recv[-1] <= 0:
    why.append("no packet received in the last periodic stats: %s" % recv)
if len(final) != 1 or stats[-1] is not final[0] or evs[-1] is not final[0]:
    why.append("the final stats is not the one last line")
elif "capture" not in body(final[0]) or "end_reason" not in body(final[0]):
    why.append("the final stats lacks capture or end_reason")
if len(sessions) != 4:
    why.append("%d sessions, 4 expected" % len(sessions))
res("periodic-" + tag, not why, "; ".join(why) + " (%d periodic, received %s)" % (len(periodic), recv))
gaps = [ts(b) - ts(a) for a, b in zip(periodic, periodic[1:])]
res("spacing-" + tag, bool(gaps) and all(0.5 <= g <= 3.0 for g in gaps), "gaps %s" % gaps)
if ecs:
    env_ok = all(e.get("observer", {}).get("hostname") == "live-sensor" for e in evs) and \
        all(e["event"]["kind"] == "metric" for e in stats) and \
        all("pcap_filename" not in e.get("imapscope", {}) for e in evs) and \
        all(e["network"]["protocol"] == "imap" and e["imapscope"].get("pcap_cnt", 0) > 0 for e in sessions)
else:
    env_ok = all(e.get("host") == "live-sensor" and "pcap_filename" not in e for e in evs) and \
        all(e.get("app_proto") == "imap" and e.get("proto") == "TCP" and e.get("pcap_cnt", 0) > 0 for e in sessions) and \
        all("pcap_cnt" not in e for e in stats)
res("envelope-" + tag, env_ok, "host/pcap_filename/app_proto/pcap_cnt wrong")
if tag == "threads":
    res("threads-count", all(body(e).get("threads") == 2 for e in stats), "threads missing")
sys.exit(0 if ok else 1)
PY
}

run json -T json && { check json || status=1; }
run threads -T json --threads 2 && { check threads || status=1; }
run ecs -T ecs && { check ecs || status=1; }
exit $status
