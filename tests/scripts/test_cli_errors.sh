#!/usr/bin/env bash
# Bad input gets a one-line error naming the problem and the input, and a
# non-zero exit; a damaged capture still reports what was read (issue 2).
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
SHARED=${IMAPSCOPE_SHARED:-$PWD/tests/data}
[ -x "$IMAPSCOPE" ] || { echo "FAIL imapscope-missing"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0

# check NAME EXPECTED_RC STDERR_REGEX -- command...
check() {
    local name=$1 want=$2 re=$3; shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    local lines; lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL cli-$name: exit $rc, want $want; stderr: $(head -c 300 "$tmp/err")"; fails=$((fails+1)); return
    fi
    if ! grep -Eq -e "$re" "$tmp/err"; then
        echo "FAIL cli-$name: stderr does not match /$re/: $(head -c 300 "$tmp/err")"; fails=$((fails+1)); return
    fi
    if [ "$lines" -ne 1 ] && [ "$name" != "live-noperm" ]; then
        echo "FAIL cli-$name: $lines lines on stderr, want one"; fails=$((fails+1)); return
    fi
    echo "PASS cli-$name"
}

check missing-file 1 "cannot read $tmp/nope.pcap: .*No such file" -- "$IMAPSCOPE" -r "$tmp/nope.pcap"
printf 'this is not a capture file at all\n' >"$tmp/text.pcap"
check not-a-capture 1 "cannot read $tmp/text.pcap: .*(unknown file format|bad dump file format)" -- "$IMAPSCOPE" -r "$tmp/text.pcap"
: >"$tmp/empty.pcap"
check empty-file 1 "cannot read $tmp/empty.pcap" -- "$IMAPSCOPE" -r "$tmp/empty.pcap"
check no-such-iface 1 "cannot capture on nosuchif0: .*(no such|No such|doesn't exist)" -- "$IMAPSCOPE" -i nosuchif0
check bad-filter 1 "bad filter \"tcp port banana\"" -- "$IMAPSCOPE" -r "$SHARED/captures/public/arkime__imap.pcap" -f "tcp port banana"
check bad-format 1 "-T: \"xml\" is not a format" -- "$IMAPSCOPE" -r x -T xml
check bad-number 1 "--max-flows: \"lots\" is not a number" -- "$IMAPSCOPE" -r x --max-flows lots
check two-inputs 1 "give one input" -- "$IMAPSCOPE" -r a -i b

# A truncated capture: what was read is still reported, exit 2.
src="$SHARED/captures/public/arkime__imap.pcap"
head -c 20000 "$src" >"$tmp/trunc.pcap"
check truncated 2 "trunc.pcap: .*truncated.*input ends here" -- "$IMAPSCOPE" -r "$tmp/trunc.pcap" -T json
if grep -q '"event_type":"imap_session"' "$tmp/out" && grep -q '"command":"LOGIN"' "$tmp/out"; then
    echo "PASS cli-truncated-reported"
else
    echo "FAIL cli-truncated-reported: no session/LOGIN in the output of a truncated capture"; fails=$((fails+1))
fi

# The damaged public capture (record length wrong after packet 8).
check damaged-peafowl 2 "peafowl__imap.cap: .*input ends here" -- "$IMAPSCOPE" -r "$SHARED/captures/public/peafowl__imap.cap" -T json
if grep -q '"command":"CAPABILITY"' "$tmp/out"; then echo "PASS cli-damaged-reported"
else echo "FAIL cli-damaged-reported: the packets before the damage were not decoded"; fails=$((fails+1)); fi

# Standard input.
if "$IMAPSCOPE" -r - -T json <"$src" 2>/dev/null | grep -q '"command":"LOGIN"'; then echo "PASS cli-stdin"
else echo "FAIL cli-stdin: -r - did not decode the capture"; fails=$((fails+1)); fi

# No permission: an unprivileged user can neither capture nor read a 0600 file of root's.
# The binary is copied where nobody can execute it: the checkout may sit in
# a 0700 directory (/root).
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
    chmod 755 "$tmp"; cp "$IMAPSCOPE" "$tmp/imapscope-nobody"; chmod 755 "$tmp/imapscope-nobody"
    check live-noperm 1 "cannot capture on lo: .*(ermission|not permitted)" -- runuser -u nobody -- "$tmp/imapscope-nobody" -i lo -c 1
    cp "$src" "$tmp/secret.pcap"; chmod 600 "$tmp/secret.pcap"
    check file-noperm 1 "cannot read $tmp/secret.pcap: .*Permission denied" -- runuser -u nobody -- "$tmp/imapscope-nobody" -r "$tmp/secret.pcap"
else
    echo "SKIP cli-noperm: needs root and runuser"
fi
[ "$fails" -eq 0 ]
