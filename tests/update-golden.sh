#!/usr/bin/env bash
# Regenerates the expected outputs of the golden tests (tests/golden/).
#
#   tests/update-golden.sh                 every case of tests/golden/TESTLIST
#   tests/update-golden.sh NAME...         only these cases
#   tests/update-golden.sh --add-missing   first append cases for captures
#                                          that have none, then regenerate all
#
# Builds nothing: run `make` first (or set IMAPSCOPE).  Then review the
# change like code: `git diff tests/golden`.  The run itself is the one in
# tests/scripts/test_golden.sh (GOLDEN_MODE=update), so what is written is
# exactly what the test compares.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --add-missing ]; then
    shift
    GOLDEN_MODE=update GOLDEN_ADD_MISSING=1 GOLDEN_ONLY_COVERAGE=1 bash "$here/scripts/test_golden.sh"
fi
GOLDEN_MODE=update exec bash "$here/scripts/test_golden.sh" "$@"
