#!/usr/bin/env bash
# Retrieval quality (nDCG@10) on relevance-judged sets: builds the sets and their indexes with the default model
# (all-MiniLM-L6-v2), runs `leann eval` in each mode, and prints the table of bench/README.md
# ("Retrieval quality (nDCG@10)") with paired-bootstrap 95% intervals.
#
#   bench/run_eval_bench.sh [BUILD_DIR]          (default BUILD_DIR: build)
#   MODE=vector bench/run_eval_bench.sh build    only one mode (vector | keyword | hybrid | all; default: all)
#   THREADS=2                                    encoder threads for builds and queries (default: 2)
#
# Inputs (Debian packages, see scripts/setup.sh): python3.11 (/usr/lib/python3.11), wordnet-base. Everything
# generated goes under bench/data/eval (sets, indexes) and bench/results/eval (one JSONL file per query set: the
# `leann eval --json` objects, one per mode). Indexes are built once and reused; delete bench/data/eval/SET/index.leann
# to rebuild. Keyword and hybrid modes need a library with keyword search (issue 11); before it, --mode is ignored
# by the library and every mode gives the vector ranking.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
leann="$build/bin/leann"
mode=${MODE:-all}
threads=${THREADS:-2}
data=bench/data/eval
results=bench/results/eval
mkdir -p "$data" "$results"

[ -f "$data/pycode/corpus.jsonl" ] || python3 bench/make_pycode_eval.py --out "$data/pycode"
[ -f "$data/wordnet/corpus.jsonl" ] || python3 bench/make_wordnet_eval.py --out "$data/wordnet"

for set in pycode wordnet; do
    if [ ! -f "$data/$set/index.leann" ]; then
        echo "building $set ..." >&2
        "$leann" build --index "$data/$set/index.leann" --docs "$data/$set/corpus.jsonl" --threads "$threads" \
            > "$results/build_$set.json"   # the build summary (seconds, stage_seconds, bytes)
    fi
done

# query set name, index, queries, qrels
runs=(
    "pycode-docstring pycode $data/pycode/docstring/queries.tsv $data/pycode/docstring/qrels.tsv"
    "pycode-identifier pycode $data/pycode/identifier/queries.tsv $data/pycode/identifier/qrels.tsv"
    "wordnet-examples wordnet $data/wordnet/queries.tsv $data/wordnet/qrels.tsv"
)
files=()
for run in "${runs[@]}"; do
    read -r name set queries qrels <<< "$run"
    out="$results/$name.jsonl"
    echo "eval $name ($mode) ..." >&2
    "$leann" eval --index "$data/$set/index.leann" --queries "$queries" --qrels "$qrels" --mode "$mode" -k 10,100 \
        --json --threads "$threads" > "$out.tmp"
    if [ "$mode" != all ] && [ -f "$out" ]; then
        # Keep the other modes' lines of an earlier run; replace this mode's.
        python3 - "$out" "$out.tmp" "$mode" <<'EOF'
import json, sys
old, new, mode = sys.argv[1:]
keep = [l for l in open(old) if l.strip() and json.loads(l)["mode"] != mode]
open(new, "a").writelines(keep)
EOF
    fi
    mv "$out.tmp" "$out"
    files+=("$out")
done
grep -h "" /proc/cpuinfo | grep -m1 "model name" >&2
python3 bench/summarize_eval.py "${files[@]}"
