#!/usr/bin/env bash
# Runs every test: each cmocka binary in $BUILD/tests, then each script in
# tests/scripts/ (golden, oracle, vectors, live capture).  A script test
# prints "PASS name" / "FAIL name" lines; a cmocka binary prints its own
# report.  The last line is the plain summary "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
# Debian python (python3-jsonschema lives there)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export IMAPSCOPE="$PWD/$BUILD/imapscope" BUILD
passed=0 failed=0 failures=()

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || failures+=("$(basename "$t")")
done

for s in tests/scripts/*.sh tests/scripts/*.py; do
    [ -f "$s" ] || continue
    case "$s" in *.py) runner=$PY ;; *) runner=bash ;; esac
    out=$($runner "$s" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | grep -c '^PASS ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || failures+=("$(basename "$s")")
done

[ ${#failures[@]} -eq 0 ] || echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
