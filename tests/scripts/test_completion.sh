#!/usr/bin/env bash
# Bash completion contrib/bash-completion/imapscope: offers every option of
# `imapscope --help', the values of -T and --color, files after -r/-w/--keylog
# and interfaces after -i (issue 12, part 4).
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
[ -x "$IMAPSCOPE" ] || { echo "FAIL completion-imapscope-missing"; exit 1; }
# shellcheck source=/dev/null
source contrib/bash-completion/imapscope

# comp NAME EXPECTED -- WORD...: completes the last word, compares the sorted
# candidates with EXPECTED (space separated)
comp() {
    local name=$1 want=$2; shift 3
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    _imapscope
    local got; got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$want" ]; then echo "PASS completion-$name"
    else echo "FAIL completion-$name: got '$got', want '$want'"; fi
}

comp T-values "ecs json text" -- imapscope -T ""
comp types-first "imap imap_session imap_user" -- imapscope --types im
comp types-after-comma "alert,tls" -- imapscope --types alert,t
comp T-prefix "json" -- imapscope -r x.pcap -T j
comp color-values "always auto never" -- imapscope --color ""
comp color-equals "always" -- imapscope --color = al
comp long-prefix "--threads" -- imapscope --thr
comp read-file "captures/imaplib-main.pcap captures/imaplib-main.transcript.json" -- imapscope -r captures/imaplib-main
comp keylog-file "captures/curl-imaps-tls13.keys captures/curl-imaps-tls13.pcap" -- imapscope --keylog captures/curl-imaps-tls13
comp write-file "docs/imapscope.1" -- imapscope -w docs/imapscope.
comp number-nothing "" -- imapscope --max-flows ""
if [ -e /sys/class/net/lo ]; then comp iface-lo "lo" -- imapscope -i l; fi

# every option of --help is offered after "-"
COMP_WORDS=(imapscope -); COMP_CWORD=1; COMPREPLY=(); _imapscope
offered=" ${COMPREPLY[*]} "
missing=() n=0
for o in $("$IMAPSCOPE" --help | grep -E '^  -' | sed -E 's/^  //; s/  .*//; s/, /\n/g' | awk '{print $1}'); do
    n=$((n + 1))
    case $offered in *" $o "*) ;; *) missing+=("$o") ;; esac
done
if [ "$n" -lt 30 ]; then echo "FAIL completion-options: only $n options parsed from --help"
elif [ ${#missing[@]} -eq 0 ]; then echo "PASS completion-options ($n options)"
else echo "FAIL completion-options: not offered: ${missing[*]}"; fi
