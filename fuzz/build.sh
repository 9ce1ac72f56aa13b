#!/bin/sh
# Builds fuzz/fuzz_dissector (libFuzzer + ASan + UBSan) against the dissector sources.
set -e
cd "$(dirname "$0")/.."
mkdir -p build-fuzz
clang -std=c11 -g -O1 -D_GNU_SOURCE -Idissector -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -o build-fuzz/fuzz_dissector \
    fuzz/fuzz_dissector.c dissector/*.c -lssl -lcrypto -ljansson
