#!/usr/bin/env bash
# Signals and privileges (issue 5, item 4), live on loopback against a tiny
# IMAP server written here (port 36543 or the next free one).
#
#   sighup-*   imapscope -i lo -w FILE: after `mv FILE FILE.1` and SIGHUP the
#              output goes to a new FILE; the connections ended before the
#              signal are in FILE.1, those after it in FILE, none lost, none
#              twice, every line a complete JSON object; a SIGHUP without
#              a rename keeps appending to the same file.
#   drop-*     -Z nobody: while it runs, /proc/PID/status shows Uid and Gid
#              65534 (real, effective, saved, fs), no supplementary group
#              but 65534, no effective capability; it still reports the
#              connections; -Z with an unknown user fails with one line;
#              started as nobody with CAP_SETUID kept (setpriv), it could
#              regain root after -Z, and must refuse to continue.
# Prints PASS/FAIL lines; SKIP when not root.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
IMAPSCOPE=${IMAPSCOPE:-$PWD/$BUILD/imapscope}
[ -x "$IMAPSCOPE" ] || IMAPSCOPE=$PWD/imapscope
export PYTHONDONTWRITEBYTECODE=1

if [ "$(id -u)" -ne 0 ]; then echo "SKIP signals: not root (live capture and -Z need root)"; exit 0; fi
for t in python3 ss; do command -v "$t" >/dev/null 2>&1 || { echo "SKIP signals: $t not installed"; exit 0; }; done
[ -x "$IMAPSCOPE" ] || { echo "FAIL signals-imapscope-missing: no executable $IMAPSCOPE"; exit 1; }
getent passwd nobody >/dev/null || { echo "SKIP signals: no user nobody"; exit 0; }

# shellcheck source=../lib/proc.sh
. "$PWD/tests/lib/proc.sh"
PORT=$(free_port 0 36543 37543 38543 39543)
[ -n "$PORT" ] || { echo "SKIP signals: no free loopback port"; exit 0; }

WORK=$(mktemp -d /tmp/imapscope-signals.XXXXXX)
chmod 755 "$WORK"
SRV_PID="" SCOPE_PID=""
status=0
cleanup() { kill_pid "$SCOPE_PID"; kill_pid "$SRV_PID"; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; status=1; }

# A minimal IMAP server: greeting, OK to every tagged command, BYE+OK to LOGOUT.
cat >"$WORK/server.py" <<'PY'
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1] test server ready\r\n")
        for line in self.rfile:
            parts = line.split(b" ", 2)
            if len(parts) < 2:
                continue
            tag, cmd = parts[0], parts[1].strip().upper()
            if cmd == b"LOGOUT":
                self.wfile.write(b"* BYE bye\r\n" + tag + b" OK LOGOUT done\r\n")
                return
            self.wfile.write(tag + b" OK " + cmd + b" done\r\n")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat >"$WORK/client.py" <<'PY'
# client.py PORT N OUT: N connections (NOOP, LOGOUT), client ports to OUT.
import imaplib, sys
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "a") as f:
    for i in range(n):
        c = imaplib.IMAP4("127.0.0.1", port, timeout=5)
        f.write("%d\n" % c.sock.getsockname()[1])
        c.noop()
        c.logout()
PY
python3 "$WORK/server.py" "$PORT" 2>"$WORK/server.err" &
SRV_PID=$!
for i in $(seq 1 50); do ss -ltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.1; done

# start_scope OUTFILE ARGS...: imapscope on lo in the background.
start_scope() {
    local out=$1; shift
    "$IMAPSCOPE" -i lo -f "tcp port $PORT" --server-port "$PORT" -T json -w "$out" "$@" 2>"$WORK/scope.err" &
    SCOPE_PID=$!
    sleep 1.5
    kill -0 "$SCOPE_PID" 2>/dev/null
}
stop_scope() {
    local i rc
    kill -INT "$SCOPE_PID" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$SCOPE_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SCOPE_PID" 2>/dev/null; then kill_pid "$SCOPE_PID"; SCOPE_PID=""; return 99; fi
    wait "$SCOPE_PID"; rc=$?; SCOPE_PID=""
    return $rc
}
# sessions FILE: client ports of the imap_session events; exits 1 on a bad line.
sessions() {
    python3 - "$1" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    print("PARTIAL-LAST-LINE"); sys.exit(1)
for n, line in enumerate(data.splitlines(), 1):
    try:
        ev = json.loads(line)
    except ValueError:
        print("BAD-LINE-%d" % n); sys.exit(1)
    if ev.get("event_type") == "imap_session":
        print(ev["src_port"])
    if ev.get("event_type") == "stats":
        print("stats")
PY
}

# ---- SIGHUP: log rotation ------------------------------------------------------------
OUT=$WORK/out.jsonl
if start_scope "$OUT"; then
    python3 "$WORK/client.py" "$PORT" 15 "$WORK/batch1" || fail sighup-client "client failed"
    sleep 1.5
    mv "$OUT" "$OUT.1"
    kill -HUP "$SCOPE_PID"
    sleep 0.5
    python3 "$WORK/client.py" "$PORT" 15 "$WORK/batch2" || fail sighup-client "client failed"
    sleep 1.5
    kill -HUP "$SCOPE_PID"          # no rename: the same file again, appended to
    sleep 0.5
    python3 "$WORK/client.py" "$PORT" 5 "$WORK/batch2" || fail sighup-client "client failed"
    sleep 1
    stop_scope; rc=$?
    [ $rc -eq 0 ] && pass sighup-exit || fail sighup-exit "exit status $rc: $(head -c 200 "$WORK/scope.err")"
    if [ ! -f "$OUT" ]; then
        fail sighup-reopen "no new $OUT after SIGHUP"
    else
        pass sighup-reopen
        old=$(sessions "$OUT.1") || fail sighup-lines "rotated file: $old"
        new=$(sessions "$OUT") || fail sighup-lines "new file: $new"
        [ -n "${old##*BAD*}" ] && [ -n "${new##*BAD*}" ] && pass sighup-lines
        want1=$(sort -n "$WORK/batch1" | tr '\n' ' ')
        want2=$(sort -n "$WORK/batch2" | tr '\n' ' ')
        got1=$(echo "$old" | grep -v stats | sort -n | tr '\n' ' ')
        got2=$(echo "$new" | grep -v stats | sort -n | tr '\n' ' ')
        if [ "$got1" = "$want1" ] && [ "$got2" = "$want2" ]; then
            pass sighup-split
        else
            fail sighup-split "before the signal want [$want1] got [$got1]; after want [$want2] got [$got2]"
        fi
        echo "$new" | grep -q stats && pass sighup-stats-in-new-file || fail sighup-stats-in-new-file "no stats event in $OUT"
    fi
else
    fail sighup-start "imapscope exited: $(head -c 300 "$WORK/scope.err")"
fi

# ---- -Z nobody: privileges dropped after opening the interface ----------------------------
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
: >"$WORK/batch3"
if start_scope "$WORK/z.jsonl" -Z nobody; then
    st=/proc/$SCOPE_PID/status
    uid=$(awk '/^Uid:/{print $2,$3,$4,$5}' "$st")
    gid=$(awk '/^Gid:/{print $2,$3,$4,$5}' "$st")
    groups=$(awk '/^Groups:/{$1=""; print}' "$st" | xargs)
    capeff=$(awk '/^CapEff:/{print $2}' "$st")
    echo "# -Z nobody: Uid: $uid / Gid: $gid / Groups: $groups / CapEff: $capeff"
    [ "$uid" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] && pass drop-uid || fail drop-uid "Uid: $uid"
    [ "$gid" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ] && pass drop-gid || fail drop-gid "Gid: $gid"
    bad_groups=$(for g in $groups; do [ "$g" = "$NOBODY_GID" ] || echo "$g"; done)
    [ -z "$bad_groups" ] && pass drop-groups || fail drop-groups "Groups: $groups"
    [ "$capeff" = "0000000000000000" ] && pass drop-caps || fail drop-caps "CapEff: $capeff"
    python3 "$WORK/client.py" "$PORT" 5 "$WORK/batch3" || fail drop-client "client failed"
    sleep 1
    stop_scope; rc=$?
    [ $rc -eq 0 ] && pass drop-exit || fail drop-exit "exit status $rc: $(head -c 200 "$WORK/scope.err")"
    got=$(sessions "$WORK/z.jsonl" | grep -v stats | sort -n | tr '\n' ' ')
    want=$(sort -n "$WORK/batch3" | tr '\n' ' ')
    [ "$got" = "$want" ] && pass drop-still-captures || fail drop-still-captures "want [$want] got [$got]"
else
    fail drop-start "imapscope -Z nobody exited: $(head -c 300 "$WORK/scope.err")"
fi

"$IMAPSCOPE" -i lo -f "tcp port $PORT" -Z no-such-user-imapscope -T json >/dev/null 2>"$WORK/nouser.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c . "$WORK/nouser.err")" -eq 1 ] && grep -q "no such user" "$WORK/nouser.err"; then
    pass drop-unknown-user
else
    fail drop-unknown-user "exit $rc, stderr: $(head -c 200 "$WORK/nouser.err")"
fi

# Started as nobody but with CAP_SETUID/CAP_SETGID/CAP_NET_RAW kept: after
# -Z nobody, setuid(0) would still succeed, so imapscope must refuse.
if command -v setpriv >/dev/null 2>&1 && setpriv --help 2>&1 | grep -q ambient-caps; then
    # a copy nobody can execute (the checkout may sit in a 0700 /root)
    chmod 755 "$WORK"; cp "$IMAPSCOPE" "$WORK/imapscope-nobody"; chmod 755 "$WORK/imapscope-nobody"
    timeout 10 setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
        --inh-caps=+net_raw,+setuid,+setgid --ambient-caps=+net_raw,+setuid,+setgid \
        "$WORK/imapscope-nobody" -i lo -f "tcp port $PORT" -Z nobody -T json >"$WORK/regain.out" 2>"$WORK/regain.err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "could be regained; refusing" "$WORK/regain.err"; then
        pass drop-refuses-regainable-root
    else
        fail drop-refuses-regainable-root "exit $rc, stderr: $(head -c 300 "$WORK/regain.err")"
    fi
else
    echo "SKIP drop-refuses-regainable-root: setpriv with --ambient-caps not available"
fi
exit $status
