#!/bin/sh
# Runs the libFuzzer targets, one after the other, each for MINUTES (default 1), or until FUZZ_RUNS executions
# when that is set (FUZZ_RUNS=1000000 tests/fuzz/run.sh 30: a million each, at most 30 minutes each).
#
#   tests/fuzz/run.sh [MINUTES] [NAME...]        NAME: index, safetensors, torch, tokenizer, jsonl, http, mcp, chat, daemon
#
# Needs the fuzz build (tests/fuzz/README.md):
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DLEANN_FUZZ=ON -DLEANN_BUILD_TESTS=OFF -DLEANN_BUILD_BENCH=OFF
#   cmake --build build-fuzz
# Each target starts from a working copy of its committed seeds (build-fuzz/fuzz-corpus/NAME, which grows; the
# committed corpus stays small) and writes crashes, leaks and timeouts to build-fuzz/fuzz-findings/NAME/. The last
# line per target says how many inputs ran and what was found. Exit status 1 when anything was found.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${LEANN_FUZZ_BUILD:-$here/../../build-fuzz}
minutes=${1:-1}
[ $# -gt 0 ] && shift
names=${*:-index safetensors torch tokenizer jsonl http mcp chat daemon}
found=0
for name in $names; do
    exe=$build/fuzz/fuzz_$name
    if [ ! -x "$exe" ]; then
        echo "run.sh: $exe is missing: build with -DLEANN_FUZZ=ON first (see tests/fuzz/README.md)" >&2
        exit 2
    fi
    corpus=$build/fuzz-corpus/$name
    findings=$build/fuzz-findings/$name
    mkdir -p "$corpus" "$findings"
    cp -n "$here/corpus/$name/"* "$corpus/" 2>/dev/null || true
    log=$build/fuzz-findings/$name.log
    # -timeout: an input running over 10 s is a hang; -rss_limit_mb: one over 2 GiB is a memory bomb.
    set +e
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$exe" "$corpus" -max_total_time=$((minutes * 60)) ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    seconds=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "?")
    artifacts=$(find "$findings" -type f | wc -l)
    echo "$name: $runs runs in ${seconds:-?} s (limit $minutes min), exit $status, $artifacts finding(s) in $findings (log: $log)"
    if [ "$status" -ne 0 ] || [ "$artifacts" -ne 0 ]; then found=1; fi
done
exit $found
