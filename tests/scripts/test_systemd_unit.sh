#!/usr/bin/env bash
# The live-sensor unit contrib/systemd/imapscope@.service: systemd accepts it
# (systemd-analyze verify, on an instance), it runs the sensor command with
# -Z, its capability bounding set is the four it needs, and its exposure
# score stays low (systemd-analyze security --offline) (issue 12, part 4).
# As root, the unit's privileges are rebuilt with setpriv (no systemd needed):
# root with only the four capabilities, NoNewPrivileges, the unit's Group= and
# UMask=, a log directory root:GROUP 0770; imapscope -i lo -w ... -Z nobody
# must drop to nobody with no capability left, decode a loopback IMAP
# exchange into the file, and after the file is renamed and SIGHUP sent,
# write the next connection to a new file.
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
unit=contrib/systemd/imapscope@.service
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
if [ "$exec_line" = "/usr/bin/imapscope -i %i -T json -w /var/log/imapscope/%i.json -Z imapscope" ]; then
    echo "PASS unit-execstart"
else
    echo "FAIL unit-execstart: $exec_line"
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')
if [ "$caps" = "CAP_NET_ADMIN CAP_NET_RAW CAP_SETGID CAP_SETUID " ]; then echo "PASS unit-capabilities"
else echo "FAIL unit-capabilities: $caps"; fi
for k in NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure LogsDirectory=imapscope \
         ReadWritePaths=/var/log/imapscope Group=imapscope; do
    if grep -qx "$k" "$unit"; then echo "PASS unit-has-$k"; else echo "FAIL unit-has-$k: missing"; fi
done

[ -x "$IMAPSCOPE" ] || { echo "FAIL unit-imapscope-missing"; exit 1; }

# ---- the unit's privileges, rebuilt with setpriv --------------------------
# one loopback IMAP connection to port $1 logging in as $2
imap_exchange() {
    timeout 10 python3 - "$1" "$2" <<'PY'
import socket, sys, threading, time
port, user = int(sys.argv[1]), sys.argv[2].encode()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(1)
def serve():
    c, _ = srv.accept()
    c.sendall(b"* OK ready\r\n"); c.recv(100)
    c.sendall(b"a1 OK logged in\r\n"); c.recv(100)
    c.sendall(b"* BYE bye\r\na2 OK done\r\n"); time.sleep(0.2); c.close()
t = threading.Thread(target=serve); t.start()
k = socket.create_connection(("127.0.0.1", port))
k.recv(100); k.sendall(b"a1 LOGIN " + user + b" secret\r\n"); k.recv(100)
k.sendall(b"a2 LOGOUT\r\n"); time.sleep(0.3); k.close(); t.join()
PY
}
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP unit-privileges: not root"
elif ! command -v setpriv >/dev/null || ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
    echo "SKIP unit-privileges: setpriv, user nobody or group nogroup missing"
else
    # shellcheck source=../lib/proc.sh
    . tests/lib/proc.sh
    chmod 755 "$tmp"
    log=$tmp/log; mkdir "$log"; chown root:nogroup "$log"; chmod 0770 "$log"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
    umask_unit=$(sed -n 's/^UMask=//p' "$unit")
    (umask "$umask_unit"; exec setpriv --bounding-set=-all,"$caps" --inh-caps=-all --no-new-privs \
        --regid=nogroup --clear-groups "$IMAPSCOPE" -i lo -f "tcp port $port" --server-port "$port" \
        -T json -w "$log/lo.json" -Z nobody 2>"$tmp/sensor.err") &
    pid=$!
    for _ in $(seq 1 30); do [ -s "$tmp/sensor.err" ] || grep -q '^Uid:[[:space:]]*65534' "/proc/$pid/status" 2>/dev/null && break; sleep 0.1; done
    st=$(cat "/proc/$pid/status" 2>/dev/null)
    if printf '%s\n' "$st" | grep -Eq '^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534' &&
       printf '%s\n' "$st" | grep -Eq '^CapEff:[[:space:]]+0+$' && printf '%s\n' "$st" | grep -Eq '^CapPrm:[[:space:]]+0+$' &&
       printf '%s\n' "$st" | grep -Eq '^NoNewPrivs:[[:space:]]+1'; then
        echo "PASS unit-privileges-dropped (uid nobody, no capability, NoNewPrivs)"
    else
        echo "FAIL unit-privileges-dropped: $(printf '%s\n' "$st" | grep -E '^(Uid|CapEff|NoNewPrivs)' | tr '\n' ' ') $(head -c 200 "$tmp/sensor.err")"
    fi
    sleep 0.3
    imap_exchange "$port" bob >/dev/null 2>&1
    sleep 1.5
    mv "$log/lo.json" "$log/lo.json.1" 2>/dev/null
    kill -HUP "$pid" 2>/dev/null; sleep 0.5
    imap_exchange "$port" carol >/dev/null 2>&1
    sleep 1.5
    kill_pid "$pid"
    if grep -q '"event_type":"imap_session".*"user":"bob"' "$log/lo.json.1" 2>/dev/null; then
        echo "PASS unit-privileges-writes (root:nogroup 0770 log directory, no CAP_DAC_OVERRIDE)"
    else
        echo "FAIL unit-privileges-writes: $(head -c 200 "$log/lo.json.1" 2>&1) $(head -c 200 "$tmp/sensor.err")"
    fi
    if grep -q '"user":"carol"' "$log/lo.json" 2>/dev/null && ! grep -q '"user":"carol"' "$log/lo.json.1" &&
       [ "$(stat -c %U "$log/lo.json")" = nobody ]; then
        echo "PASS unit-privileges-reopen (SIGHUP after the rename: a new file, written as nobody)"
    else
        echo "FAIL unit-privileges-reopen: $(ls -l "$log" | tr '\n' ' ') $(head -c 200 "$tmp/sensor.err")"
    fi
fi

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP unit-verify: systemd-analyze not installed"
    exit 0
fi
# an instance (a template cannot run), ExecStart pointing at the build so the
# binary exists
sed "s|/usr/bin/imapscope|$IMAPSCOPE|" "$unit" >"$tmp/imapscope@lo.service"
if out=$(cd "$tmp" && systemd-analyze verify --man=no ./imapscope@lo.service 2>&1) && [ -z "$out" ]; then
    echo "PASS unit-verify"
else
    echo "FAIL unit-verify: $(printf '%s' "$out" | head -5)"
fi
# exposure 0-10 (x10 for --threshold); 2.8 when written
if out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=35 ./imapscope@lo.service 2>&1); then
    echo "PASS unit-exposure ($(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'))"
else
    echo "FAIL unit-exposure: $(printf '%s\n' "$out" | grep -i 'overall')"
fi
