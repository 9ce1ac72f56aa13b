#!/usr/bin/env bash
# The tests read nothing outside the checkout (issue 12): no test, fuzz or
# bench script names the shared folder beside the repository, and every
# file the golden TESTLIST names is in the repository.
set -u
cd "$(dirname "$0")/../.."
fails=0
hits=$(grep -rnE '\.\./shared|"\.\.", *"shared"|'"'"'\.\.'"'"', *'"'"'shared'"'" \
        tests/scripts tests/unit tests/lib tests/gen tests/attack tests/bench tests/run-all.sh \
        fuzz Makefile .ci 2>/dev/null | grep -v 'test_self_contained.sh')
if [ -n "$hits" ]; then
    echo "FAIL self-contained-no-shared: references outside the checkout:"; printf '%s\n' "$hits" | head -5
    fails=$((fails+1))
else
    echo "PASS self-contained-no-shared"
fi
missing=0
while read -r name capture rest; do
    case "$name" in ''|'#'*) continue ;; esac
    f=${capture//\$SHARED/tests/data}
    if ! git ls-files --error-unmatch "$f" >/dev/null 2>&1; then
        echo "# not in the repository: $f"; missing=$((missing+1))
    fi
done <tests/golden/TESTLIST
if [ "$missing" -eq 0 ]; then echo "PASS self-contained-golden-inputs"
else echo "FAIL self-contained-golden-inputs: $missing capture(s) of TESTLIST not tracked"; fails=$((fails+1)); fi
[ "$fails" -eq 0 ]
