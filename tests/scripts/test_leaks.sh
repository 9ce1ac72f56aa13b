#!/usr/bin/env bash
# Leak check (issue 5, item 5): imapscope over every capture in captures/,
# tests/data/captures/public/ and tests/data/vectors/ (with --keylog where a
# key log sits beside the capture: NAME.keys, keylog.txt, premaster.txt,
# *.keys), failing on any leak or memory error.
#
#   LSan:     when build-san/imapscope exists (make SANITIZE=1), every
#             capture, JSON (--all-tcp --hash-literals) and text (-v), under
#             ASan + LeakSanitizer: any report fails.
#   valgrind: build/imapscope under valgrind --leak-check=full (the json
#             pool off: IMAPSCOPE_JSON_POOL=0, so each block is seen)
#             --error-exitcode=1 over the captures up to 150 KB (every
#             capture with IMAPSCOPE_SLOW=1); not in the sanitizer pass
#             (BUILD=build-san), where only LSan runs.
# Prints PASS/FAIL per capture that fails and one summary line per tool;
# SKIP for a tool that is missing.  Bounded: about a minute without
# IMAPSCOPE_SLOW.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${IMAPSCOPE_SHARED:-$ROOT/tests/data}
BUILD=${BUILD:-build}
PLAIN=$ROOT/build/imapscope
[ "$BUILD" != "build-san" ] && [ -x "$ROOT/$BUILD/imapscope" ] && PLAIN=$ROOT/$BUILD/imapscope
SAN=$ROOT/build-san/imapscope
SLOW=${IMAPSCOPE_SLOW:-0}
WORK=$(mktemp -d /tmp/imapscope-leaks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
status=0

mapfile -t CAPS < <(find captures "$SHARED/captures/public" "$SHARED/vectors" -type f \
    \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) 2>/dev/null | sort)
[ ${#CAPS[@]} -gt 0 ] || { echo "FAIL leaks: no captures found"; exit 1; }

# keylog_for CAPTURE: the key log beside it, if any.
keylog_for() {
    local c=$1 d b k
    d=$(dirname "$c"); b=$(basename "$c"); b=${b%.*}
    for k in "$d/$b.keys" "$d/keylog.txt" "$d/premaster.txt"; do
        [ -f "$k" ] && { echo "$k"; return; }
    done
    k=$(ls "$d"/*.keys 2>/dev/null | head -1)
    [ -n "$k" ] && echo "$k"
}
name_of() { echo "${1#"$SHARED/"}" | tr '/' '_'; }

# ---- LeakSanitizer ------------------------------------------------------------------
if [ -x "$SAN" ]; then
    n=0 bad=0
    for c in "${CAPS[@]}"; do
        kl=$(keylog_for "$c")
        for mode in "-T json --all-tcp --hash-literals" "-T text -v"; do
            # shellcheck disable=SC2086
            ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=99 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                timeout 120 "$SAN" -r "$c" $mode ${kl:+--keylog "$kl"} >/dev/null 2>"$WORK/err"
            rc=$?
            n=$((n + 1))
            if [ $rc -ge 3 ] || grep -q "LeakSanitizer\|AddressSanitizer\|runtime error" "$WORK/err"; then
                bad=$((bad + 1))
                echo "FAIL leaks-lsan-$(name_of "$c"): exit $rc ($mode): $(grep -m1 "ERROR\|runtime error\|SUMMARY" "$WORK/err")"
            fi
        done
    done
    if [ $bad -eq 0 ]; then echo "PASS leaks-lsan ($n runs over ${#CAPS[@]} captures)"; else status=1; echo "FAIL leaks-lsan: $bad of $n runs"; fi
else
    echo "SKIP leaks-lsan: build-san/imapscope not built (make SANITIZE=1)"
fi

# ---- valgrind -------------------------------------------------------------------------
if [ "$BUILD" = "build-san" ]; then
    echo "SKIP leaks-valgrind: sanitizer pass (valgrind runs in the plain pass)"
elif ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP leaks-valgrind: valgrind not installed"
elif [ ! -x "$PLAIN" ]; then
    echo "SKIP leaks-valgrind: $PLAIN not built"
else
    n=0 bad=0 skipped=0
    for c in "${CAPS[@]}"; do
        if [ "$SLOW" != 1 ] && [ "$(stat -c %s "$c")" -gt 153600 ]; then skipped=$((skipped + 1)); continue; fi
        kl=$(keylog_for "$c")
        IMAPSCOPE_JSON_POOL=0 timeout 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=42 \
            --suppressions=tests/valgrind.supp \
            "$PLAIN" -r "$c" -T json --all-tcp --hash-literals ${kl:+--keylog "$kl"} >/dev/null 2>"$WORK/vg"
        rc=$?
        n=$((n + 1))
        if [ $rc -eq 42 ] || [ $rc -ge 124 ] || grep -q "==[0-9]*==" "$WORK/vg"; then
            bad=$((bad + 1))
            echo "FAIL leaks-valgrind-$(name_of "$c"): exit $rc: $(grep -m2 "==[0-9]*== [A-Z]" "$WORK/vg" | tr '\n' ' ')"
        fi
    done
    msg="$n captures"
    [ $skipped -gt 0 ] && msg="$msg; $skipped larger ones skipped (IMAPSCOPE_SLOW=1 runs them)"
    if [ $bad -eq 0 ]; then echo "PASS leaks-valgrind ($msg)"; else status=1; echo "FAIL leaks-valgrind: $bad of $msg"; fi
fi
exit $status
