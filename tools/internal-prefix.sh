#!/bin/bash
# Renames the dissector's internal functions from the public prefix imap_
# to imapi_ (issue 10: only the API of dissector/imap.h is exported under
# imap_).  The list is computed: every global function of the built
# libimapdissect.a named imap_* that dissector/imap.h (with imap_anomaly.h)
# does not declare.  Run after `make` from the repository root; rewrites
# dissector/, src/, tests/unit/, tests/tools/, fuzz/ in place.
set -eu
LIB=${LIB:-build/libimapdissect.a}
pub=$(grep -oh '\bimap_[a-z_0-9]*\s*(' dissector/imap.h dissector/imap_anomaly.h | tr -d ' (' | sort -u)
internal=$(nm -g --defined-only "$LIB" | awk '$2 ~ /[TDBR]/ {print $3}' | grep '^imap_' | sort -u |
           comm -23 - <(echo "$pub"))
[ -n "$internal" ] || { echo "nothing to rename"; exit 0; }
alt=$(echo "$internal" | sed 's/^imap_//' | paste -sd'|')
files=$(ls dissector/*.[ch] src/*.[ch] tests/unit/*.[ch] tests/unit/*.cc tests/tools/*.c fuzz/*.c docs/*.md 2>/dev/null)
sed -i -E "s/\bimap_($alt)\b/imapi_\1/g" $files
echo "renamed $(echo "$internal" | wc -l) functions"
