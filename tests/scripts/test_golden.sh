#!/usr/bin/env bash
# Golden tests: run imapscope on every case of tests/golden/TESTLIST and
# compare its standard output with tests/golden/<expected-file>.
#
#   tests/scripts/test_golden.sh [name...]     run all cases, or the named ones
#   GOLDEN_MODE=update ...                     rewrite the expected files
#                                              (use tests/update-golden.sh)
#
# Prints "PASS golden-<name>" or "FAIL golden-<name>" with the first lines of
# the diff; a missing expected file is a FAIL, so is a crash (exit status >=
# 128: a signal).  A damaged capture may make imapscope exit 1: only its
# output is compared.  "FAIL golden-coverage" names captures of captures/ or
# $SHARED/captures/public/ that no case uses.
#
# Environment: IMAPSCOPE (default ./build/imapscope), IMAPSCOPE_SHARED
# (default tests/data, relative to the repository root).  Output is made
# portable before comparing: the shared folder's path (absolute or as
# given) becomes "$SHARED" and the repository's absolute path "$REPO".
set -u
cd "$(dirname "$0")/../.." || exit 2
REPO=$PWD
LIST=tests/golden/TESTLIST
GOLDEN_DIR=tests/golden
MODE=${GOLDEN_MODE:-check}
SHARED=${IMAPSCOPE_SHARED:-tests/data}
SHARED_ABS=$(cd "$SHARED" 2>/dev/null && pwd -P || echo "$SHARED")
IMAPSCOPE=${IMAPSCOPE:-./build/imapscope}
DIFF_LINES=${GOLDEN_DIFF_LINES:-15}

if [ ! -x "$IMAPSCOPE" ]; then
    echo "FAIL imapscope-missing: $IMAPSCOPE is not built (make)"
    exit 1
fi
if [ ! -f "$LIST" ]; then
    echo "FAIL golden-testlist: $LIST is missing"
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/imapscope-golden.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

# sed-safe literal (for the s|||g below)
sed_lit() { printf '%s' "$1" | sed 's/[][\.*^$|/&]/\\&/g'; }
# the path as given first: "../../work/shared" contains "/work/shared"
NORM=()
if [ "$SHARED" != "$SHARED_ABS" ]; then
    NORM+=(-e "s|$(sed_lit "$SHARED")|\$SHARED|g")
fi
NORM+=(-e "s|$(sed_lit "$SHARED_ABS")|\$SHARED|g" -e "s|$(sed_lit "$REPO")|\$REPO|g")

# Expands $SHARED in one TESTLIST word.
expand() { printf '%s' "${1//\$SHARED/$SHARED}"; }

passed=0 failed=0 ran=0
declare -A wanted=()
for n in "$@"; do wanted[$n]=1; done
declare -A used_capture=()

while read -r name capture rest; do
    case "$name" in ''|'#'*) continue ;; esac
    used_capture[$capture]=1
    [ -z "${GOLDEN_ONLY_COVERAGE:-}" ] || continue
    [ $# -eq 0 ] || [ -n "${wanted[$name]:-}" ] || continue
    unset "wanted[$name]"
    # rest = flags... expected-file
    read -ra words <<<"$rest"
    if [ ${#words[@]} -lt 1 ]; then
        echo "FAIL golden-$name: bad TESTLIST line (no expected file)"
        failed=$((failed + 1)); continue
    fi
    expected=$GOLDEN_DIR/${words[${#words[@]}-1]}
    flags=()
    for ((i = 0; i < ${#words[@]} - 1; i++)); do flags+=("$(expand "${words[$i]}")"); done
    cap=$(expand "$capture")
    ran=$((ran + 1))
    if [ ! -f "$cap" ]; then
        echo "FAIL golden-$name: capture $cap not found"
        failed=$((failed + 1)); continue
    fi
    out=$TMP/$name.out err=$TMP/$name.err
    # a fixed flow_id key and sensor name: the same output on every run and machine
    "$IMAPSCOPE" -r "$cap" --flow-id-seed 1 --sensor-name golden "${flags[@]}" >"$out.raw" 2>"$err" </dev/null
    rc=$?
    sed "${NORM[@]}" "$out.raw" >"$out"
    if [ "$rc" -ge 128 ]; then
        echo "FAIL golden-$name: imapscope died (status $rc): $(head -c 300 "$err")"
        failed=$((failed + 1)); continue
    fi
    if [ "$MODE" = update ]; then
        if [ -f "$expected" ] && cmp -s "$out" "$expected"; then
            echo "same    $name"
        else
            [ -f "$expected" ] && what=changed || what=new
            cp "$out" "$expected"
            echo "$what $name ($(wc -l <"$expected") lines)"
        fi
        [ "$rc" -eq 0 ] || echo "        note: exit status $rc: $(head -n 1 "$err")"
        passed=$((passed + 1))
        continue
    fi
    if [ ! -f "$expected" ]; then
        echo "FAIL golden-$name: expected output $expected is missing (tests/update-golden.sh $name)"
        failed=$((failed + 1)); continue
    fi
    if cmp -s "$expected" "$out"; then
        echo "PASS golden-$name"
        passed=$((passed + 1))
    else
        echo "FAIL golden-$name: output differs from $expected (exit status $rc)"
        diff -u --label "expected/$name" --label "actual/$name" "$expected" "$out" | head -n "$DIFF_LINES" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done <"$LIST"

for n in "${!wanted[@]}"; do
    echo "FAIL golden-$n: no such case in $LIST"
    failed=$((failed + 1))
done

# Coverage: every capture must have a case (only when running everything).
if [ $# -eq 0 ]; then
    missing=()
    for p in captures/*.pcap captures/*.pcapng captures/*.cap; do
        [ -f "$p" ] && [ -z "${used_capture[$p]:-}" ] && missing+=("$p")
    done
    for p in "$SHARED"/captures/public/*.pcap "$SHARED"/captures/public/*.pcapng "$SHARED"/captures/public/*.cap; do
        [ -f "$p" ] || continue
        key="\$SHARED/captures/public/$(basename "$p")"
        [ -z "${used_capture[$key]:-}" ] && missing+=("$key")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$MODE" = update ] && [ -n "${GOLDEN_ADD_MISSING:-}" ]; then
            for key in "${missing[@]}"; do
                base=$(basename "$key"); stem=${base%.*}
                case "$key" in \$SHARED/*) stem=pub-$(printf '%s' "$stem" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9.]\{1,\}/-/g') ;; esac
                printf '%-44s %-68s %-11s %s\n' "$stem-json" "$key" "-T json" "$stem.json" >>"$LIST"
                printf '%-44s %-68s %-11s %s\n' "$stem-text" "$key" "-T text" "$stem.txt" >>"$LIST"
                echo "added   $stem-json, $stem-text to $LIST"
            done
        else
            echo "FAIL golden-coverage: not in $LIST: ${missing[*]} (tests/update-golden.sh --add-missing)"
            failed=$((failed + 1))
        fi
    elif [ "$MODE" != update ]; then
        echo "PASS golden-coverage"
        passed=$((passed + 1))
    fi
    if [ "$MODE" = update ]; then
        # expected files no case refers to
        declare -A refd=()
        while read -r name capture rest; do
            case "$name" in ''|'#'*) continue ;; esac
            read -ra words <<<"$rest"
            refd[${words[${#words[@]}-1]}]=1
        done <"$LIST"
        for f in "$GOLDEN_DIR"/*; do
            b=$(basename "$f")
            [ "$b" = TESTLIST ] || [ -n "${refd[$b]:-}" ] || echo "stale   $f (no case uses it; git rm it if so intended)"
        done
    fi
fi

[ "$MODE" = update ] && [ -z "${GOLDEN_ONLY_COVERAGE:-}" ] && echo "$ran cases run; review with: git diff --stat tests/golden && git diff tests/golden"
[ "$failed" -eq 0 ]
