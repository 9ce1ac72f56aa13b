#!/usr/bin/env bash
# tests/bench/run.sh - the benchmark (`make bench`, issue 6).
#
# Builds the corpora from the real captures (cached in $BUILD/bench by a
# hash of the generator, its inputs and its parameters), then times, on the
# same files and in the same run, the libpcap floor, imapscope (-T json,
# -T text, default settings, -T json --threads 2) and tshark (-Y imap,
# -Y imap -T json) when it is installed, and prints the table and the target
# checks (tests/bench/report.py).
#
# Corpora: lo-1x, mtu-1x, lo-4x (body-heavy: real sessions of every size),
# c100/c100k (the concurrency pair), dense (issue 10: many short sessions of
# many server dialects, tests/bench/mkdense.py).  tshark is timed on the
# slices (BENCH_TSHARK_MB, generated like lo-1x, mtu-1x and dense), and
# imapscope again on the same slices: the tshark ratios are taken there.
#
# Times are CPU times (user + system, from wait4's rusage) because this
# machine is shared; wall times are shown beside them.  Each figure is the
# median of BENCH_RUNS runs.
#
# Environment:
#   BENCH_RUNS=3          runs per measurement (median)
#   BENCH_HEAVY_RUNS=1    runs of the slow ones (the 100 vs 100,000 pair, tshark),
#                         to stay under 10 minutes on a 2-core machine
#   BENCH_MB=50           size of the 1x corpora (MB); the 4x corpus is 4 times it
#   BENCH_CONC=1000       connections open at once in the main corpora
#   BENCH_CONC_CONNS=100000  connections in the 100 vs 100,000 concurrent pair
#   BENCH_DENSE_MB=30     size of the dense corpus (MB)
#   BENCH_DENSE_CONC=500  connections open at once in it
#   BENCH_TSHARK_MB=20    size of the slices tshark is compared on (0: skip tshark)
#   BENCH_UPDATE_DOC=1    also write the results into docs/performance.md
#   IMAPSCOPE=path        the binary to time (default $BUILD/imapscope)
#   IMAPSCOPE_SHARED=dir  shared data (default tests/data)
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
OUT=$BUILD/bench
SHARED=${IMAPSCOPE_SHARED:-tests/data}
RUNS=${BENCH_RUNS:-3}
HEAVY=${BENCH_HEAVY_RUNS:-1}
MB=${BENCH_MB:-50}
CONC=${BENCH_CONC:-1000}
CONC_CONNS=${BENCH_CONC_CONNS:-100000}
TSHARK_MB=${BENCH_TSHARK_MB:-20}
DENSE_MB=${BENCH_DENSE_MB:-30}
DENSE_CONC=${BENCH_DENSE_CONC:-500}
IMAPSCOPE=${IMAPSCOPE:-$BUILD/imapscope}
CC=${CC:-cc}
T0=$(date +%s)

mkdir -p "$OUT"
[ -x "$IMAPSCOPE" ] || { echo "bench: $IMAPSCOPE not built (make first)" >&2; exit 2; }

# ---- helpers -----------------------------------------------------------------
CFLAGS_BENCH="-std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -D_GNU_SOURCE"
$CC $CFLAGS_BENCH -o "$OUT/floor" tests/bench/floor.c -lpcap
$CC $CFLAGS_BENCH -o "$OUT/measure" tests/bench/measure.c

# The real plaintext captures the corpora replay (complete port-143
# connections only; mkcorpus skips the rest).
INPUTS=(captures/imaplib-main.pcap captures/imaplib-auth.pcap captures/imaplib-idle.pcap
        captures/imaplib-compress.pcap captures/fetchmail-plain.pcap captures/curl-imap.pcap
        captures/mbsync-compress.pcap)
for f in arkime__imap.pcap bruteshark__IMAP_-_Authenticate_CRAM-MD5.cap \
         bruteshark__IMAP_-_Authenticate_Digest-MD5.pcap \
         bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap; do
    if [ -f "$SHARED/captures/public/$f" ]; then
        INPUTS+=("$SHARED/captures/public/$f")
    else
        echo "bench: $SHARED/captures/public/$f missing, not used" >&2
    fi
done
INPUT_HASH=$( (cat tests/bench/mkcorpus.py; cat "${INPUTS[@]}") | sha256sum | cut -c1-16)

# The dense corpus's sources: every capture with complete plaintext IMAP
# connections (mkdense.py keeps the short ones, skips TLS and the rest).
DENSE_INPUTS=()
for f in captures/*.pcap "$SHARED"/captures/public/*.pcap "$SHARED"/captures/public/*.cap \
         "$SHARED"/vectors/generated-imap/*.pcap; do
    [ -f "$f" ] && DENSE_INPUTS+=("$f")
done
DENSE_HASH=$( (cat tests/bench/mkcorpus.py tests/bench/mkdense.py; cat "${DENSE_INPUTS[@]}") | sha256sum | cut -c1-16)

# corpus NAME MKCORPUS-ARGS...: prints the path of the cached corpus,
# generating it when the generator, the inputs or the arguments changed.
corpus() {
    local name=$1; shift
    local key path
    key=$(printf '%s %s' "$INPUT_HASH" "$*" | sha256sum | cut -c1-12)
    path=$OUT/corpus-$name-$key.pcap
    if [ ! -s "$path" ]; then
        rm -f "$OUT"/corpus-"$name"-*.pcap
        python3 tests/bench/mkcorpus.py "$@" -o "$path.tmp" "${INPUTS[@]}" >&2 || exit 1
        mv "$path.tmp" "$path" || exit 1
    fi
    echo "$path"
}

# dense NAME MKDENSE-ARGS...: the same for the dense corpus.
dense() {
    local name=$1; shift
    local key path
    key=$(printf '%s %s' "$DENSE_HASH" "$*" | sha256sum | cut -c1-12)
    path=$OUT/corpus-$name-$key.pcap
    if [ ! -s "$path" ]; then
        rm -f "$OUT"/corpus-"$name"-*.pcap
        python3 tests/bench/mkdense.py "$@" -o "$path.tmp" "${DENSE_INPUTS[@]}" >&2 || exit 1
        mv "$path.tmp" "$path" || exit 1
    fi
    echo "$path"
}

RAW=$OUT/raw.tsv
FILES=$OUT/files.tsv
: > "$RAW"
: > "$FILES"

# describe ID FILE: file size and packets (the floor counts them; this also
# brings the file into the page cache before anything is timed).
describe() {
    local id=$1 file=$2 counts
    counts=$("$OUT/floor" "$file")
    printf '%s\t%s\t%s\t%s\n' "$id" "$file" "$(stat -c %s "$file")" "${counts%% *}" >> "$FILES"
}

# timeit FILE-ID LABEL OUTFILE CMD...: $N (default BENCH_RUNS) runs, one
# raw line each.
timeit() {
    local fid=$1 label=$2 outf=$3; shift 3
    local i line n=${N:-$RUNS}
    for ((i = 1; i <= n; i++)); do
        line=$("$OUT/measure" "$outf" "$@")
        printf '%s\t%s\t%s\t%s\n' "$fid" "$label" "$i" "$line" >> "$RAW"
        # after the first run, to /dev/null (the first may be kept for checks)
        outf=/dev/null
    done
}

# check_stats FILE-ID JSON-OUTPUT: the corpus decoded cleanly, and the
# size of the JSON output (for the report).
check_stats() {
    tail -n 1 "$2" | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
c = {x["name"]: x["count"] for x in s["counters"]}
f = [x for x in s["limits"] if x["name"] == "flows.table"][0]
print("%s\t%d\t%d\t%d\t%d\t%d\t%s" % (sys.argv[1], c["events.imap_session"], f["peak"], f["evicted"],
      c["reassembly.gaps"], c["events.imap"], sys.argv[2]))' "$1" "$(stat -c %s "$2")" >> "$OUT/checks.tsv"
}
: > "$OUT/checks.tsv"

# imapscope_set FILE-ID FILE: the four imapscope settings.
imapscope_set() {
    local fid=$1 file=$2
    timeit "$fid" "imapscope -T json" "$OUT/last.json" "$IMAPSCOPE" -r "$file" -T json
    check_stats "$fid" "$OUT/last.json"
    rm -f "$OUT/last.json"
    timeit "$fid" "imapscope -T text" /dev/null "$IMAPSCOPE" -r "$file" -T text
    timeit "$fid" "imapscope (default)" /dev/null "$IMAPSCOPE" -r "$file"
    timeit "$fid" "imapscope -T json --threads 2" /dev/null "$IMAPSCOPE" -r "$file" -T json --threads 2
}

# ---- corpora -------------------------------------------------------------------
echo "bench: corpora (cached in $OUT)" >&2
LO1=$(corpus lo-1x --shape lo --concurrency "$CONC" --mb "$MB")
MTU1=$(corpus mtu-1x --shape mtu --concurrency "$CONC" --mb "$MB")
LO4=$(corpus lo-4x --shape lo --concurrency "$CONC" --mb "$((MB * 4))")
# The concurrency pair: the same connections (short sessions, so that
# 100,000 of them fit in a few hundred MB), 100 or 100,000 open at once.
C100=$(corpus c100 --shape lo --concurrency 100 --conns "$CONC_CONNS" --max-template-bytes 4000)
C100K=$(corpus c100k --shape lo --concurrency "$CONC_CONNS" --conns "$CONC_CONNS" --max-template-bytes 4000)
DENSE=$(dense dense --concurrency "$DENSE_CONC" --mb "$DENSE_MB")
HAVE_TSHARK=0
if [ "$TSHARK_MB" != 0 ] && command -v tshark > /dev/null; then
    HAVE_TSHARK=1
    SLO=$(corpus slice-lo --shape lo --concurrency "$CONC" --mb "$TSHARK_MB")
    SMTU=$(corpus slice-mtu --shape mtu --concurrency "$CONC" --mb "$TSHARK_MB")
    SDENSE=$(dense slice-dense --concurrency "$DENSE_CONC" --mb "$TSHARK_MB")
fi

# ---- measurements ------------------------------------------------------------------
echo "bench: timing, $RUNS runs each" >&2
# --threads 2 on every corpus: wall time is what a second core buys; CPU
# time grows with the hand-over between threads.
for pair in "dense $DENSE" "lo-1x $LO1" "mtu-1x $MTU1"; do
    set -- $pair
    describe "$1" "$2"
    timeit "$1" floor /dev/null "$OUT/floor" "$2"
    imapscope_set "$1" "$2"
done
describe lo-4x "$LO4"
timeit lo-4x floor /dev/null "$OUT/floor" "$LO4"
timeit lo-4x "imapscope -T json" "$OUT/last.json" "$IMAPSCOPE" -r "$LO4" -T json
check_stats lo-4x "$OUT/last.json"
timeit lo-4x "imapscope -T text" /dev/null "$IMAPSCOPE" -r "$LO4" -T text
timeit lo-4x "imapscope -T json --threads 2" /dev/null "$IMAPSCOPE" -r "$LO4" -T json --threads 2
for pair in "c100 $C100" "c100k $C100K"; do
    set -- $pair
    describe "$1" "$2"
    timeit "$1" floor /dev/null "$OUT/floor" "$2"
    N=$HEAVY timeit "$1" "imapscope -T json" "$OUT/last.json" "$IMAPSCOPE" -r "$2" -T json
    check_stats "$1" "$OUT/last.json"
    N=$HEAVY timeit "$1" "imapscope -T text" /dev/null "$IMAPSCOPE" -r "$2" -T text
    N=$HEAVY timeit "$1" "imapscope -T json --threads 2" /dev/null "$IMAPSCOPE" -r "$2" -T json --threads 2
done
rm -f "$OUT/last.json"
if [ "$HAVE_TSHARK" = 1 ]; then
    for pair in "slice-dense $SDENSE" "slice-lo $SLO" "slice-mtu $SMTU"; do
        set -- $pair
        describe "$1" "$2"
        timeit "$1" floor /dev/null "$OUT/floor" "$2"
        imapscope_set "$1" "$2"
        N=$HEAVY timeit "$1" "tshark -Y imap" /dev/null tshark -r "$2" -Y imap
        N=$HEAVY timeit "$1" "tshark -Y imap -T json" /dev/null tshark -r "$2" -Y imap -T json
    done
fi

# ---- report ------------------------------------------------------------------------
{
    echo "date	$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu	$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
    echo "kernel	$(uname -sr)"
    echo "imapscope	$("$IMAPSCOPE" --version 2>&1 | head -1) ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "cc	$($CC --version | head -1)"
    echo "libpcap	$("$OUT/floor" --version)"
    if [ "$HAVE_TSHARK" = 1 ]; then
        echo "tshark	$(tshark --version 2>/dev/null | head -1)"
    fi
    echo "runs	$RUNS ($HEAVY for the c100/c100k pair and tshark)"
    echo "load	$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min load average at the end)"
    echo "elapsed	$(( $(date +%s) - T0 ))"
} > "$OUT/meta.tsv"
python3 tests/bench/report.py "$OUT" ${BENCH_UPDATE_DOC:+--doc docs/performance.md}
