#!/usr/bin/env bash
# Build throughput of two or more leann binaries (or precisions) on the same corpora, alternating within each
# round so that drift in machine load hits them alike. Not part of CI.
#
#   CONFIGS="before:/path/old/leann:fp32 after:build/bin/leann:bf16" bench/build_ab.sh ROUNDS CORPUS...
#
# Each CONFIGS entry is NAME:BINARY:PRECISION. A corpus is whatever `leann build --docs` takes (a file or a
# folder). Prints one line per build: round, corpus, name, chunks, embed-stage chunks/s, whole-build chunks/s
# (from the build's JSON summary), and the medians per corpus and configuration at the end.
set -euo pipefail
rounds=${1:?rounds}
shift
[ $# -gt 0 ] || { echo "usage: CONFIGS=... $0 ROUNDS CORPUS..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
    for corpus in "$@"; do
        for cfg in $CONFIGS; do
            IFS=: read -r name bin precision <<<"$cfg"
            "$bin" build --index "$work/index.leann" --docs "$corpus" --precision "$precision" --force \
                >"$work/summary.json" 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
            python3 - "$work/summary.json" "$round" "$(basename "$corpus")" "$name" <<'PY' | tee -a "$work/lines"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
n = s["chunks"]
print(sys.argv[2], sys.argv[3], sys.argv[4], n, round(n / s["stage_seconds"]["embed"], 1), round(n / s["seconds"], 1))
PY
        done
    done
done
python3 - "$work/lines" <<'PY'
import collections, statistics, sys
rates = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, corpus, name, _, embed, whole = line.split()
    rates[(corpus, name)].append((float(embed), float(whole)))
print("\ncorpus config: median embed chunks/s, median whole-build chunks/s")
for (corpus, name), r in rates.items():
    print(corpus, name, statistics.median(e for e, _ in r), statistics.median(w for _, w in r))
PY
