#!/usr/bin/env bash
# The encoder benchmark: leann's encoder and sentence-transformers (PyTorch, CPU) on the same texts, in the
# same run, at 1 and 2 threads, and a table of the ratios. Not part of CI.
#
#   bench/run_encoder_bench.sh            (after scripts/setup.sh)
#   PRECISIONS=fp32,bf16,int8 bench/run_encoder_bench.sh     leann's precision paths (default: fp32), each against
#                                                            the same run's sentence-transformers
#   BIN_DIR=/path/to/build/bin                               where encoder_bench is (default: build/bin)
#
# sentence-transformers runs from a throwaway virtual environment ($BENCH_VENV, default .cache/bench-venv; it is
# created with torch and sentence-transformers from PyPI when missing: several GB). Results: bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.cache/bench-venv}
model_dir=${LEANN_MINILM_DIR:-${LEANN_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/leann}/models/all-MiniLM-L6-v2}
export LEANN_MINILM_DIR=$model_dir
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch sentence-transformers numpy
fi
[ -f bench/data/chunks256.jsonl ] || "$venv/bin/python" bench/make_bench_texts.py --model "$model_dir"
mkdir -p bench/results
out=bench/results/encoder-$(date +%Y%m%d-%H%M%S).jsonl
bin=${BIN_DIR:-build/bin}
count=${COUNT:-128}
precisions=${PRECISIONS:-fp32}
# Alternate the two implementations so drift in machine load hits both alike.
for round in 1 2; do
    for threads in 1 2; do
        "$bin/encoder_bench" --model "$model_dir" --chunks bench/data/chunks256.jsonl \
            --queries bench/data/queries.jsonl --threads "$threads" --count "$count" --repeat 3 \
            --precision "$precisions" | tee -a "$out"
        "$venv/bin/python" bench/st_encoder_bench.py bench/data/chunks256.jsonl bench/data/queries.jsonl \
            --model "$model_dir" --threads "$threads" --chunks "$count" --repeat 3 | tee -a "$out"
    done
done
"$venv/bin/python" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(impl, t, m):
    v = [r["value"] for r in rows if r["impl"] == impl and r["threads"] == t and r["metric"] == m]
    return statistics.median(v) if v else float("nan")
impls = sorted({r["impl"] for r in rows if r["impl"].startswith("leann")})
print("\n| threads | metric | implementation | leann | sentence-transformers | ratio (leann advantage) |")
print("|---|---|---|---|---|---|")
for t in (1, 2):
    for impl in impls:
        a, b = med(impl, t, "chunks_per_s"), med("sentence-transformers", t, "chunks_per_s")
        print(f"| {t} | chunks/s (256 tokens) | {impl} | {a:.2f} | {b:.2f} | {a / b:.2f}x |")
        for m in ("query_ms_p50", "query_ms_p95"):
            a, b = med(impl, t, m), med("sentence-transformers", t, m)
            print(f"| {t} | {m.replace('_', ' ')} | {impl} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
PY
echo "raw results: $out"
