#!/usr/bin/env bash
# Chunking never changes the answer (STYLE.md): every capture's reassembled
# bytes are fed to the dissector as delivered, one byte at a time, and in
# random pieces (three seeds); the JSON events must be identical.
set -u
cd "$(dirname "$0")/../.."
IMAPSCOPE=${IMAPSCOPE:-$PWD/build/imapscope}
SHARED=${IMAPSCOPE_SHARED:-$PWD/tests/data}
[ -x "$IMAPSCOPE" ] || { echo "FAIL imapscope-missing"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
shopt -s nullglob
for f in captures/*.pcap captures/*.pcapng "$SHARED"/captures/public/*.pcap* "$SHARED"/captures/public/*.cap \
         "$SHARED"/vectors/generated-imap/*.pcap; do
    name=$(basename "$f")
    "$IMAPSCOPE" -r "$f" -T json --hash-literals --flow-id-seed 1 >"$tmp/whole" 2>/dev/null
    ok=1
    for mode in 1 random:1 random:7 random:4242; do
        "$IMAPSCOPE" -r "$f" -T json --hash-literals --flow-id-seed 1 --feed-chunk "$mode" >"$tmp/split" 2>/dev/null
        if ! cmp -s "$tmp/whole" "$tmp/split"; then
            echo "FAIL chunking-$name ($mode): $(diff "$tmp/whole" "$tmp/split" | head -3 | cut -c1-300)"
            ok=0; fails=$((fails+1)); break
        fi
    done
    n=$(grep -c '"event_type":"imap"' "$tmp/whole")
    [ $ok -eq 1 ] && echo "PASS chunking-$name ($n transactions)"
done
[ "$fails" -eq 0 ]
