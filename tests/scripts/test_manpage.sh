#!/usr/bin/env bash
# The manual page docs/imapscope.1 (mdoc) formats without a warning and has
# an entry for every option `imapscope --help' lists (issue 12, part 4).
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
[ -x "$IMAPSCOPE" ] || { echo "FAIL manpage-imapscope-missing"; exit 1; }
page=docs/imapscope.1

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
    echo "SKIP manpage-warnings: man or groff not installed (man-db, groff-base)"
else
    warn=$(man --warnings -l "$page" 2>&1 >/dev/null)
    if [ -z "$warn" ]; then echo "PASS manpage-warnings"
    else echo "FAIL manpage-warnings: $(printf '%s' "$warn" | head -5)"; fi
fi

# every option of --help: "  -r FILE", "  -h, --help", "  --threads N"
opts=$("$IMAPSCOPE" --help | grep -E '^  -' | sed -E 's/^  //; s/  .*//; s/, /\n/g' | awk '{print $1}')
n=0 missing=()
for o in $opts; do
    n=$((n + 1))
    grep -qE "^\.It .*Fl ${o#-}( |$)" "$page" || missing+=("$o")
done
if [ "$n" -lt 30 ]; then echo "FAIL manpage-options: only $n options parsed from --help"
elif [ ${#missing[@]} -eq 0 ]; then echo "PASS manpage-options ($n options)"
else echo "FAIL manpage-options: not in $page: ${missing[*]}"; fi

# the sections the page promises
for s in SYNOPSIS OPTIONS 'JSON EVENTS' ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES 'SECURITY CONSIDERATIONS'; do
    grep -q "^\.Sh $s\$" "$page" || { echo "FAIL manpage-section: no .Sh $s"; continue; }
    echo "PASS manpage-section-${s// /-}"
done
# each exit status of capture.h is described
for rc in $(sed -n 's/^#define CAPTURE_EXIT_[A-Z]* *\([0-9]\).*/\1/p' src/capture.h); do
    if sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$page" | grep -q "^\.It $rc\$"; then echo "PASS manpage-exit-$rc"
    else echo "FAIL manpage-exit-$rc: exit status $rc of src/capture.h not in EXIT STATUS"; fi
done
