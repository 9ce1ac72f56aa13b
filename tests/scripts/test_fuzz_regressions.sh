#!/usr/bin/env bash
# Replays every fuzz finding kept in fuzz/regressions/<target>/ (and the
# committed seeds in fuzz/corpus/<target>/) through the fuzz target built
# WITHOUT libFuzzer: fuzz/fuzz_<target>.c + fuzz/replay_main.c, compiled
# with $CC (default cc) and ASan + UBSan against the build-san libraries
# (make SANITIZE=1), or the plain ones when those are missing.  Any trap or
# sanitizer report fails.  Prints PASS/FAIL fuzz-regressions-<target>.
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
LIBDIR=build-san
[ -f $LIBDIR/libimapscope.a ] && [ -f $LIBDIR/libimapdissect.a ] || LIBDIR=${BUILD:-build}
if [ ! -f "$LIBDIR/libimapscope.a" ] || [ ! -f "$LIBDIR/libimapdissect.a" ]; then
    echo "SKIP fuzz-regressions: no libraries in build-san/ or $LIBDIR/ (make first)"
    exit 0
fi
WORK=$(mktemp -d /tmp/imapscope-fuzzreg.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# src/mail.c's libraries (GMime 3, libmagic), as in the Makefile
MAIL_LIBS="$(pkg-config --libs gmime-3.0 2>/dev/null || echo -lgmime-3.0 -lgio-2.0 -lgobject-2.0 -lglib-2.0) -lmagic"
# the redis sink (src/netsink.c) of the output, which the engine-based targets pull in
MAIL_LIBS="$MAIL_LIBS $(pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)"
status=0
for dir in fuzz/regressions/* fuzz/corpus/*; do
    [ -d "$dir" ] || continue
    t=$(basename "$dir")
    [ -n "$(ls -A "$dir")" ] || continue
    src=fuzz/fuzz_$t.c
    [ -f "$src" ] || { echo "FAIL fuzz-regressions-$t: $dir has no target $src"; status=1; continue; }
    bin=$WORK/replay_$t
    if [ ! -x "$bin" ] && ! $CC -std=c11 -g -O1 -D_GNU_SOURCE -Idissector -Isrc $SAN -o "$bin" \
            "$src" fuzz/replay_main.c $LIBDIR/libimapscope.a $LIBDIR/libimapdissect.a \
            -lpcap -lssl -lcrypto -ljansson -lz -lpthread $MAIL_LIBS 2>"$WORK/cc_$t.err"; then
        echo "FAIL fuzz-regressions-$t: build failed: $(head -3 "$WORK/cc_$t.err" | tr '\n' ' ')"
        status=1
        continue
    fi
    kind=$([ "${dir#fuzz/corpus}" != "$dir" ] && echo seeds || echo regressions)
    if ASAN_OPTIONS=detect_leaks=1 "$bin" "$dir" >"$WORK/out" 2>"$WORK/err"; then
        echo "PASS fuzz-$kind-$t ($(cat "$WORK/out"))"
    else
        echo "FAIL fuzz-$kind-$t: $(grep "replay:.*bytes" "$WORK/err" | tail -1) $(grep -m1 "ERROR\|runtime error" "$WORK/err")"
        status=1
    fi
done
exit $status
