#!/usr/bin/env bash
# fuzz/run.sh [--ci] [TARGET...] - run the libFuzzer targets built by
# `make fuzz-build` (build-fuzz/fuzz_*), FUZZ_SECONDS each (default 60),
# FUZZ_JOBS at a time (default 1).
#
# Per target: the reproducers in fuzz/regressions/<target>/ are replayed
# first (each must pass), then the fuzzer runs on build-fuzz/corpus/<target>
# (kept between runs) seeded from build-fuzz/seeds/<target> (made by
# fuzz/make_seeds.py from captures/, tests/data/captures/public/,
# tests/data/vectors/ and fuzz/corpus/; also build-fuzz/corpus_<target> when
# an earlier manual run left one).  Findings go to
# build-fuzz/artifacts/<target>/; the log to build-fuzz/logs/<target>.log.
# Prints one line per target:  target execs=N cov=C ft=F corpus=K [FINDING]
# With --ci the exit status is 1 when any target found anything.
set -u
cd "$(dirname "$0")/.."
B=build-fuzz
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
CI=0
if [ "${1:-}" = "--ci" ]; then CI=1; shift; fi
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    for f in fuzz/fuzz_*.c; do t=$(basename "$f" .c); TARGETS+=("${t#fuzz_}"); done
fi

# Input size limits: stream targets get short inputs, pcap/decode longer ones.
max_len() {
    case "$1" in
        pcap) echo 32768 ;;
        decode) echo 16384 ;;
        inflate) echo 16384 ;;
        keylog) echo 8192 ;;
        dissector) echo 4096 ;;
        mime) echo 65536 ;;
        *) echo 8192 ;;
    esac
}

if [ ! -d $B/seeds ] || [ fuzz/make_seeds.py -nt $B/seeds ]; then
    rm -rf $B/seeds
    python3 fuzz/make_seeds.py $B/seeds >/dev/null || { echo "FAIL fuzz seeds"; exit 1; }
fi
mkdir -p $B/logs

run_one() {
    local t=$1 bin=$B/fuzz_$1 status=0 regs=()
    if [ ! -x "$bin" ]; then echo "$t: missing $bin (make fuzz-build)"; return 1; fi
    mkdir -p $B/corpus/$t $B/artifacts/$t $B/seeds/$t
    if [ -d fuzz/regressions/$t ] && [ -n "$(ls -A fuzz/regressions/$t 2>/dev/null)" ]; then
        regs=(fuzz/regressions/$t/*)
        if ! "$bin" -runs=1 "${regs[@]}" >$B/logs/$t.regressions.log 2>&1; then
            echo "$t: a regression input fails again (see $B/logs/$t.regressions.log)"
            status=1
        fi
    fi
    "$bin" -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix=$B/artifacts/$t/ \
        $B/corpus/$t $B/seeds/$t $([ -d $B/corpus_$t ] && echo $B/corpus_$t) >$B/logs/$t.log 2>&1 || status=1
    local execs cov ft n
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' $B/logs/$t.log | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' $B/logs/$t.log | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' $B/logs/$t.log | tail -1 | cut -d' ' -f2)
    n=$(ls $B/corpus/$t | wc -l)
    if ls $B/artifacts/$t/ 2>/dev/null | grep -q .; then status=1; fi
    echo "$t execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$n seconds=$SECS$([ $status -ne 0 ] && echo " FINDING: $B/artifacts/$t/ $B/logs/$t.log")"
    return $status
}

fail=0
running=0
pids=()
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    pids+=($!)
    running=$((running + 1))
    if [ $running -ge "$JOBS" ]; then
        wait "${pids[0]}" || fail=1
        pids=("${pids[@]:1}")
        running=$((running - 1))
    fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ $CI -eq 1 ]; then
    [ $fail -eq 0 ] && echo "PASS fuzz-ci" || echo "FAIL fuzz-ci"
    exit $fail
fi
exit 0
