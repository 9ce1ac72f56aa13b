#!/usr/bin/env bash
# Rebuild every capture in captures/ from scratch against a private dovecot.
#
#   sudo captures/make-captures.sh [OUTDIR]      (OUTDIR defaults to captures/)
#   sudo captures/make-captures.sh --only detect [OUTDIR]
#                only the captures of the detections across connections
#                (OUTDIR/detect/*.pcap, scenarios_detect.py); the others
#                are left alone
#   KEEP=1 ...   keep the temp dir (dovecot config, logs, maildirs)
# Every run holds /tmp/imapcap.lock (flock): other capture makers use the
# same ports.
#
# Needs root (tcpdump, ports 143/993, network namespaces) and the Debian
# packages dovecot-imapd, tcpdump, tshark, python3, openssl, curl, isync,
# fetchmail, iproute2, gcc + libssl-dev.  Nothing outside a temp dir is
# touched except the OUTDIR files and two network namespaces it creates and
# deletes (imapcap-srv, imapcap-cli: a veth pair 10.200.0.1 <-> 10.200.0.2
# that exists only inside them).  See captures/README.md.
set -euo pipefail
ONLY=""
if [ "${1:-}" = "--only" ]; then
    ONLY=${2:-}
    shift 2 || shift $#
    [ "$ONLY" = detect ] || { echo "make-captures.sh: --only takes \"detect\"" >&2; exit 2; }
fi
if [ -z "${IMAPCAP_LOCKED:-}" ]; then
    # one capture maker at a time on ports 143/993 (dovecot and tcpdump)
    export IMAPCAP_LOCKED=1
    exec flock /tmp/imapcap.lock "$0" ${ONLY:+--only "$ONLY"} "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mkdir -p "${1:-$HERE}" && cd "${1:-$HERE}" && pwd)
# shellcheck source=lib/dovecot.sh
. "$HERE/lib/dovecot.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "make-captures.sh: must run as root (tcpdump, ports 143/993, netns)" >&2
    exit 2
fi
dc_need_tools dovecot doveconf tcpdump tshark python3 openssl curl mbsync fetchmail ip ss cc timeout || exit 2
for m in lib30_imap_zlib_plugin lib10_quota_plugin lib11_imap_quota_plugin lib01_acl_plugin lib02_imap_acl_plugin; do
    if [ ! -f "/usr/lib/dovecot/modules/$m.so" ]; then
        echo "missing dovecot module $m (package dovecot-imapd / dovecot-core)" >&2
        exit 2
    fi
done
if [ ! -f /usr/include/openssl/ssl.h ]; then
    echo "missing OpenSSL headers (package libssl-dev)" >&2
    exit 2
fi
for p in 143 993; do
    if ss -ltn "sport = :$p" | grep -q LISTEN; then
        echo "port $p is already in use on this host; stop that listener first" >&2
        exit 2
    fi
done

export PYTHONDONTWRITEBYTECODE=1
# (--only detect: a name of its own, apart from other makers' temp dirs)
WORK=$(mktemp -d "/tmp/imapcap${ONLY:+-$ONLY}.XXXXXX")
chmod 755 "$WORK"
NS_S=imapcap-srv
NS_C=imapcap-cli
TD_PID=""
DC_MAIN=""
DC_NS=""

cleanup() {
    set +e
    if [ -n "$TD_PID" ]; then kill -INT "$TD_PID" 2>/dev/null; wait "$TD_PID" 2>/dev/null; fi
    if [ -n "$DC_NS" ]; then DC_PID=$DC_NS; dc_stop; fi
    if [ -n "$DC_MAIN" ]; then DC_PID=$DC_MAIN; dc_stop; fi
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# capture_start NAME [NETNS IFACE]: tcpdump into OUT/NAME.pcap, wait for
# "listening".
capture_start() {
    local name=$1 ns=${2:-} ifc=${3:-lo} i
    rm -f "$OUT/$name.pcap" "$OUT/$name.keys" "$OUT/$name.transcript.json"
    local cmd=(tcpdump -i "$ifc" -s 0 -U --immediate-mode -w "$OUT/$name.pcap" 'tcp port 143 or tcp port 993')
    if [ -n "$ns" ]; then cmd=(ip netns exec "$ns" "${cmd[@]}"); fi
    "${cmd[@]}" 2>"$WORK/$name.tcpdump.log" &
    TD_PID=$!
    for i in $(seq 1 100); do
        grep -q listening "$WORK/$name.tcpdump.log" && return 0
        sleep 0.05
    done
    echo "tcpdump did not start for $name" >&2
    cat "$WORK/$name.tcpdump.log" >&2
    return 1
}

capture_stop() {
    sleep 0.5  # let the last FIN/ACK reach the capture
    kill -INT "$TD_PID"
    wait "$TD_PID" || true
    TD_PID=""
}

# py NAME SCENARIO [HOST [NETNS]]: one python imaplib scenario.
py() {
    local name=$1 scen=$2 host=${3:-127.0.0.1} ns=${4:-}
    local pre=()
    if [ -n "$ns" ]; then pre=(ip netns exec "$ns"); fi
    log "$name (python imaplib: $scen)"
    "${pre[@]}" timeout 60 python3 "$HERE/scenarios.py" "$scen" "$host" 143 993 \
        "$OUT/$name" "$WORK/$(basename "${DCDIR:-dc}")/cert.pem"
}

# --- detections across connections (issue 15): OUT/detect/*.pcap ----------
# dpy SCENARIO: one scenario of scenarios_detect.py against 127.0.0.1:143.
dpy() {
    log "detect/$1 (python imaplib: $1)"
    timeout 120 python3 "$HERE/scenarios_detect.py" "$1" 127.0.0.1 143 "$CERT"
}

build_detect() {
    local n s
    mkdir -p "$OUT/detect" "$WORK/detect"
    # 30 more users for the spraying and stuffing runs
    for n in $(seq -w 1 30); do
        echo "user$n:{PLAIN}pw-user$n:65534:65534::$DCDIR/mail/user$n::" >>"$DCDIR/users"
    done
    for s in bruteforce after-failures spray stuffing stuffing-slow bulk massdelete massmove fingerprint; do
        capture_start "detect/$s"
        dpy "$s"
        capture_stop
    done
    # One address and port, two servers in turn: the first offers STARTTLS,
    # the second (ssl = no) does not, as a STARTTLS-stripping middlebox
    # would show it to some clients only.
    capture_start detect/starttls-mix
    dpy starttls-offered
    DC_PID=$DC_MAIN; dc_stop; DC_MAIN=""
    sed -e 's/^ssl = yes/ssl = no/' -e '/inet_listener imaps {/,/}/d' "$DCDIR/dovecot.conf" >"$DCDIR/nossl.conf"
    dovecot -F -c "$DCDIR/nossl.conf" >>"$DCDIR/log/stdout.log" 2>&1 &
    DC_MAIN=$!
    dc_wait_port 127.0.0.1 143
    dpy starttls-absent
    capture_stop
    DC_PID=$DC_MAIN; dc_stop; DC_MAIN=""
    for n in "$OUT"/detect/*.pcap; do
        printf '%-36s %s bytes\n' "detect/$(basename "$n")" "$(stat -c %s "$n")"
    done
}

DCDIR=$WORK/dc
log "private dovecot in $DCDIR"
dc_setup "$DCDIR" 127.0.0.1 143 993
dc_start "$DCDIR"
DC_MAIN=$DC_PID
CERT=$DCDIR/cert.pem
if [ "$ONLY" = detect ]; then
    build_detect
    exit 0
fi

# --- python imaplib ---------------------------------------------------------
for s in "imaplib-main main" "imaplib-auth auth" "imaplib-starttls-tls12 starttls12" \
         "imaplib-starttls-tls13 starttls13" "imaplib-imaps-tls13 imaps13" \
         "imaplib-compress compress" "imaplib-compress-tls13 compress-tls" "imaplib-idle idle"; do
    set -- $s
    capture_start "$1"
    py "$1" "$2"
    capture_stop
done

# --- curl -------------------------------------------------------------------
CURL=(timeout 20 curl -sS --max-time 15 -u alice:secret)
printf 'From: curl <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Uploaded by curl\r\nDate: Thu, 23 Nov 2023 10:00:00 +0000\r\nMessage-ID: <curl-1@example.org>\r\n\r\nHello from curl -T.\r\n' >"$WORK/curl.eml"
log "curl-imap"
capture_start curl-imap
"${CURL[@]}" 'imap://127.0.0.1:143/' >"$WORK/curl.list"
"${CURL[@]}" 'imap://127.0.0.1:143/INBOX;UID=2' >"$WORK/curl.fetch"
"${CURL[@]}" 'imap://127.0.0.1:143/INBOX' -X 'SEARCH FROM "bob"' >"$WORK/curl.search"
"${CURL[@]}" -T "$WORK/curl.eml" 'imap://127.0.0.1:143/Sent'
capture_stop
grep -q 'Sent' "$WORK/curl.list" && grep -q 'SEARCH' "$WORK/curl.search" && grep -q 'Subject' "$WORK/curl.fetch" \
    || { echo "curl-imap: unexpected output" >&2; exit 1; }

log "curl-imaps-tls13"
capture_start curl-imaps-tls13
SSLKEYLOGFILE=$OUT/curl-imaps-tls13.keys "${CURL[@]}" --cacert "$CERT" --tlsv1.3 'imaps://127.0.0.1:993/INBOX;UID=2' >/dev/null
SSLKEYLOGFILE=$OUT/curl-imaps-tls13.keys "${CURL[@]}" --cacert "$CERT" --tlsv1.3 'imaps://127.0.0.1:993/' -X 'STATUS INBOX (MESSAGES UNSEEN)' >/dev/null
capture_stop

log "curl-starttls-tls12"
capture_start curl-starttls-tls12
SSLKEYLOGFILE=$OUT/curl-starttls-tls12.keys "${CURL[@]}" --cacert "$CERT" --ssl-reqd --tls-max 1.2 \
    'imap://127.0.0.1:143/INBOX;UID=3;SECTION=1' >/dev/null
capture_stop

# --- mbsync -----------------------------------------------------------------
cc -Wall -Wextra -O2 -shared -fPIC -o "$WORK/keylog-preload.so" "$HERE/keylog-preload.c" -ldl
mkdir -p "$WORK/mbsync-plain/INBOX" "$WORK/mbsync-tls/INBOX" "$WORK/home"
cat >"$WORK/mbsyncrc" <<RC
IMAPAccount plain
Host 127.0.0.1
Port 143
User alice
Pass secret
SSLType None
AuthMechs LOGIN
Timeout 20

IMAPStore plain-remote
Account plain

MaildirStore plain-local
Path $WORK/mbsync-plain/
Inbox $WORK/mbsync-plain/INBOX
SubFolders Verbatim

Channel plain
Far :plain-remote:
Near :plain-local:
Patterns INBOX Archive
Create Near
Sync Pull
SyncState *

IMAPAccount tls
Host 127.0.0.1
Port 993
User alice
Pass secret
SSLType IMAPS
CertificateFile $CERT
Timeout 20

IMAPStore tls-remote
Account tls

MaildirStore tls-local
Path $WORK/mbsync-tls/
Inbox $WORK/mbsync-tls/INBOX
SubFolders Verbatim

Channel tls
Far :tls-remote:
Near :tls-local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
RC
log "mbsync-compress"
capture_start mbsync-compress
HOME=$WORK/home timeout 60 mbsync -c "$WORK/mbsyncrc" plain >"$WORK/mbsync-plain.log" 2>&1 \
    || { cat "$WORK/mbsync-plain.log" >&2; exit 1; }
capture_stop
log "mbsync-imaps (key log via LD_PRELOAD)"
capture_start mbsync-imaps
HOME=$WORK/home SSLKEYLOGFILE=$OUT/mbsync-imaps.keys LD_PRELOAD=$WORK/keylog-preload.so \
    timeout 60 mbsync -c "$WORK/mbsyncrc" tls >"$WORK/mbsync-tls.log" 2>&1 \
    || { cat "$WORK/mbsync-tls.log" >&2; exit 1; }
capture_stop
[ -s "$OUT/mbsync-imaps.keys" ] || { echo "mbsync-imaps: no key log written" >&2; exit 1; }

# --- fetchmail --------------------------------------------------------------
mkdir -p "$WORK/fm"
cat >"$WORK/fm/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 protocol IMAP port 143 auth password
  user "alice" there with password "secret" is "root" here
  sslproto ''
  folder INBOX
  mda "/bin/sh -c 'cat >> $WORK/fm/out.mbox'"
RC
chmod 600 "$WORK/fm/fetchmailrc"
log "fetchmail-plain"
capture_start fetchmail-plain
HOME=$WORK/fm timeout 60 fetchmail -f "$WORK/fm/fetchmailrc" -i "$WORK/fm/ids" --pidfile "$WORK/fm/pid" \
    --keep --fetchall --nosyslog >"$WORK/fm/log" 2>&1 || { cat "$WORK/fm/log" >&2; exit 1; }
capture_stop

# --- openssl s_client ---------------------------------------------------------
log "openssl-starttls-tls12"
capture_start openssl-starttls-tls12
{
    sleep 1
    for c in 'a1 CAPABILITY' 'a2 LOGIN alice secret' 'a3 SELECT INBOX' \
             'a4 FETCH 1 (FLAGS BODY.PEEK[HEADER])' 'a5 SEARCH UNSEEN' 'a6 LOGOUT'; do
        printf '%s\n' "$c"
        sleep 0.3
    done
    sleep 1
} | timeout 20 openssl s_client -starttls imap -connect 127.0.0.1:143 -CAfile "$CERT" \
        -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305 -keylogfile "$OUT/openssl-starttls-tls12.keys" \
        -quiet -ign_eof -crlf >"$WORK/openssl.out" 2>&1 || true
capture_stop
grep -q 'a6 OK' "$WORK/openssl.out" || { cat "$WORK/openssl.out" >&2; echo "openssl s_client session failed" >&2; exit 1; }

DC_PID=$DC_MAIN; dc_stop; DC_MAIN=""

# --- Ethernet-sized segments: veth pair between two namespaces --------------
log "network namespaces $NS_C <-> $NS_S (veth, MTU 1500)"
ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add vcap-c netns "$NS_C" type veth peer name vcap-s netns "$NS_S"
for pair in "$NS_C vcap-c 10.200.0.1" "$NS_S vcap-s 10.200.0.2"; do
    set -- $pair
    ip -n "$1" link set lo up
    # No GSO/TSO: the capture then sees wire-sized (<= 1500 byte) frames.
    ip -n "$1" link set "$2" mtu 1500 gso_max_size 1500 gso_max_segs 1
    ip -n "$1" addr add "$3/24" dev "$2"
    ip -n "$1" link set "$2" up
done
DCDIR=$WORK/dc-ns
dc_setup "$DCDIR" 10.200.0.2 143 993
dc_start "$DCDIR" "$NS_S"
DC_NS=$DC_PID
for s in "veth-imaplib-main main" "veth-imaplib-starttls-tls13 starttls13"; do
    set -- $s
    capture_start "$1" "$NS_C" vcap-c
    py "$1" "$2" 10.200.0.2 "$NS_C"
    capture_stop
done
DC_PID=$DC_NS; dc_stop; DC_NS=""

# --- checks -----------------------------------------------------------------
log "checks"
fail=0
for p in "$OUT"/*.pcap; do
    n=$(basename "$p" .pcap)
    conns=$(tshark -r "$p" -q -z conv,tcp 2>/dev/null | grep -c '<->' || true)
    if [ "$conns" -lt 1 ]; then echo "FAIL $n: no TCP conversation" >&2; fail=1; continue; fi
    if [ -f "$OUT/$n.keys" ]; then
        lines=$(tshark -r "$p" -o "tls.keylog_file:$OUT/$n.keys" -Y imap 2>/dev/null | wc -l)
    else
        lines=$(tshark -r "$p" -Y imap 2>/dev/null | wc -l)
    fi
    if [ "$lines" -lt 3 ]; then echo "FAIL $n: tshark sees $lines IMAP packets" >&2; fail=1; fi
    tr="ok"
    if [ -f "$OUT/$n.transcript.json" ]; then
        tr=$(python3 "$HERE/lib/pcapflows.py" --check-transcript "$p" "$OUT/$n.transcript.json") || { echo "FAIL $n: $tr" >&2; fail=1; }
    fi
    printf '%-30s %2d conns %4d imap pkts  transcript %s  %s bytes\n' "$n" "$conns" "$lines" "$tr" "$(stat -c %s "$p")"
done
du -ch "$OUT"/*.pcap | tail -1
exit $fail
