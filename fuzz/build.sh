#!/bin/sh
# Builds every fuzz target (fuzz/fuzz_*.c) into build-fuzz/ with libFuzzer,
# ASan and UBSan: the same as `make fuzz-build` (see fuzz/README.md).
set -e
cd "$(dirname "$0")/.."
exec make fuzz-build "$@"
