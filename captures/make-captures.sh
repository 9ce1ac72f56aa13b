#!/usr/bin/env bash
# Rebuild every capture in captures/ from scratch against a private dovecot.
#
#   sudo captures/make-captures.sh [OUTDIR]      (OUTDIR defaults to captures/)
#   sudo captures/make-captures.sh --only mail [OUTDIR]
#                only the mail-* captures (known-bytes messages of user carol,
#                captures/scenarios_mail.py) and captures/mail-manifest.json;
#                every other capture is left as it is
#   sudo captures/make-captures.sh --only detect [OUTDIR]
#                only the captures of the detections across connections
#                (OUTDIR/detect/*.pcap, captures/scenarios_detect.py); every
#                other capture is left as it is
#   KEEP=1 ...   keep the temp dir (dovecot config, logs, maildirs)
#
# Runs under flock /tmp/imapcap.lock (another run waits), since every run
# uses the ports 143/993 of loopback.
#
# Needs root (tcpdump, ports 143/993, network namespaces) and the Debian
# packages dovecot-imapd, tcpdump, tshark, python3, openssl, curl, isync,
# fetchmail, iproute2, gcc + libssl-dev.  Nothing outside a temp dir is
# touched except the OUTDIR files and two network namespaces it creates and
# deletes (imapcap-srv, imapcap-cli: a veth pair 10.200.0.1 <-> 10.200.0.2
# that exists only inside them).  See captures/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ONLY=""
if [ "${1:-}" = --only ]; then
    ONLY=${2:-}
    [ "$ONLY" = mail ] || [ "$ONLY" = detect ] || { echo "make-captures.sh: --only takes: mail, detect" >&2; exit 2; }
    shift 2
fi
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
# One capture run at a time on this host (ports 143/993, tcpdump on lo).
exec 9>/tmp/imapcap.lock
flock 9
# A run that does not take the lock (test_live.sh) may hold the ports a
# while: wait up to PORT_WAIT seconds (default 120) for them.
for p in 143 993; do
    waited=0
    while ss -ltn "sport = :$p" | grep -q LISTEN; do
        if [ "$waited" -ge "${PORT_WAIT:-120}" ]; then
            echo "port $p is already in use on this host; stop that listener first" >&2
            exit 2
        fi
        sleep 1; waited=$((waited + 1))
    done
done

export PYTHONDONTWRITEBYTECODE=1
WORK=$(mktemp -d /tmp/imapcap.XXXXXX)
chmod 755 "$WORK"
NS_S=imapcap-srv
NS_C=imapcap-cli
TD_PID=""
DC_MAIN=""
DC_NS=""
DC_MAIL=""

cleanup() {
    set +e
    if [ -n "$DC_MAIL" ]; then DC_PID=$DC_MAIL; dc_stop; fi
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

# mail_captures: the known-bytes captures of issue 13 (mail-*.pcap) and
# OUT/mail-manifest.json, against a dovecot of their own whose user carol
# holds captures/lib/seed_mail_known.py's messages.  The expectations are
# written from the seed (captures/scenarios_mail.py), and checked against
# the pcaps by lib/mailproof.py at the end.
mail_captures() {
    local d=$WORK/dc-mail exp=$WORK/mail-expect s
    log "private dovecot for the mail captures in $d (user carol)"
    dc_setup "$d" 127.0.0.1 143 993
    python3 "$HERE/lib/seed_mail_known.py" "$d/mail"
    printf 'carol:{PLAIN}carol-pw:65534:65534::%s/mail/carol::\n' "$d" >>"$d/users"
    chown -R 65534:65534 "$d/mail"
    dc_start "$d"
    DC_MAIL=$DC_PID
    mkdir -p "$exp"
    python3 "$HERE/scenarios_mail.py" probe 127.0.0.1 143 "$exp/uids.json"
    for s in "mail-imaplib plain" "mail-starttls-tls13 starttls13" "mail-compress compress"; do
        set -- $s
        capture_start "$1"
        log "$1 (python imaplib: $2)"
        timeout 60 python3 "$HERE/scenarios_mail.py" "$2" 127.0.0.1 143 993 "$OUT/$1" \
            "$d/cert.pem" "$exp/uids.json" "$exp/$1.json"
        capture_stop
    done

    # mbsync: whole messages (UID FETCH BODY.PEEK[]), COMPRESS by its own choice.
    mkdir -p "$WORK/mail-mbsync/INBOX" "$WORK/mail-home"
    cat >"$WORK/mail-mbsyncrc" <<RC
IMAPAccount carol
Host 127.0.0.1
Port 143
User carol
Pass carol-pw
SSLType None
AuthMechs LOGIN
Timeout 20

IMAPStore carol-remote
Account carol

MaildirStore carol-local
Path $WORK/mail-mbsync/
Inbox $WORK/mail-mbsync/INBOX
SubFolders Verbatim

Channel carol
Far :carol-remote:
Near :carol-local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
RC
    log "mail-mbsync"
    capture_start mail-mbsync
    HOME=$WORK/mail-home timeout 60 mbsync -c "$WORK/mail-mbsyncrc" carol >"$WORK/mail-mbsync.log" 2>&1 \
        || { cat "$WORK/mail-mbsync.log" >&2; exit 1; }
    capture_stop
    python3 "$HERE/scenarios_mail.py" client mbsync "$exp/uids.json" "$exp/mail-mbsync.json"

    # curl: one message by URL.
    local uid1
    uid1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["<q3-report@example.net>"])' "$exp/uids.json")
    log "mail-curl"
    capture_start mail-curl
    timeout 20 curl -sS --max-time 15 -u carol:carol-pw "imap://127.0.0.1:143/INBOX;UID=$uid1" >"$WORK/mail-curl.eml"
    capture_stop
    python3 "$HERE/scenarios_mail.py" client curl "$exp/uids.json" "$exp/mail-curl.json"

    # fetchmail: RFC822.HEADER + BODY.PEEK[TEXT] per message (header-only events).
    mkdir -p "$WORK/mail-fm"
    cat >"$WORK/mail-fm/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 protocol IMAP port 143 auth password
  user "carol" there with password "carol-pw" is "root" here
  sslproto ''
  folder INBOX
  mda "/bin/sh -c 'cat >> $WORK/mail-fm/out.mbox'"
RC
    chmod 600 "$WORK/mail-fm/fetchmailrc"
    log "mail-fetchmail"
    capture_start mail-fetchmail
    HOME=$WORK/mail-fm timeout 60 fetchmail -f "$WORK/mail-fm/fetchmailrc" -i "$WORK/mail-fm/ids" \
        --pidfile "$WORK/mail-fm/pid" --keep --fetchall --nosyslog >"$WORK/mail-fm/log" 2>&1 \
        || { cat "$WORK/mail-fm/log" >&2; exit 1; }
    capture_stop
    python3 "$HERE/scenarios_mail.py" client fetchmail "$exp/uids.json" "$exp/mail-fetchmail.json"

    DC_PID=$DC_MAIL; dc_stop; DC_MAIL=""
    python3 "$HERE/scenarios_mail.py" manifest "$OUT/mail-manifest.json" \
        mail-imaplib="$exp/mail-imaplib.json" mail-starttls-tls13="$exp/mail-starttls-tls13.json" \
        mail-compress="$exp/mail-compress.json" mail-mbsync="$exp/mail-mbsync.json" \
        mail-curl="$exp/mail-curl.json" mail-fetchmail="$exp/mail-fetchmail.json"
    python3 "$HERE/lib/seed_mail_known.py" --charsets "$HERE/../tests/data/mail/charset-subjects.json"
}

# --- detections across connections (issue 15): OUT/detect/*.pcap ----------
# dpy SCENARIO: one scenario of scenarios_detect.py against 127.0.0.1:143.
dpy() {
    log "detect/$1 (python imaplib: $1)"
    timeout 120 python3 "$HERE/scenarios_detect.py" "$1" 127.0.0.1 143 "$CERT"
}

# build_detect: against the dovecot of DCDIR (DC_MAIN), which it stops.
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

if [ "$ONLY" = detect ]; then
    DCDIR=$WORK/dc
    log "private dovecot in $DCDIR"
    dc_setup "$DCDIR" 127.0.0.1 143 993
    dc_start "$DCDIR"
    DC_MAIN=$DC_PID
    CERT=$DCDIR/cert.pem
    build_detect
    exit 0
fi

if [ -z "$ONLY" ]; then   # (not indented: the full run, unchanged)
DCDIR=$WORK/dc
log "private dovecot in $DCDIR"
dc_setup "$DCDIR" 127.0.0.1 143 993
dc_start "$DCDIR"
DC_MAIN=$DC_PID
CERT=$DCDIR/cert.pem

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

# --- detections across connections: last on this dovecot (it stops it) -----
build_detect

DC_PID=$DC_MAIN; dc_stop; DC_MAIN=""
fi

# --- mail captures with known bytes (issue 13) ------------------------------
mail_captures

if [ -z "$ONLY" ]; then

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
fi

# --- checks -----------------------------------------------------------------
log "checks"
fail=0
GLOB="*"
[ "$ONLY" = mail ] && GLOB="mail-*"
for p in "$OUT"/$GLOB.pcap; do
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
if ! python3 "$HERE/lib/mailproof.py" "$OUT/mail-manifest.json"; then
    echo "FAIL mail-manifest: the pcaps do not carry the manifest's bytes" >&2; fail=1
fi
du -ch "$OUT"/$GLOB.pcap | tail -1
exit $fail
