#!/usr/bin/env bash
# Encoder precision (issue 12): build throughput and retrieval quality per precision, alternating in one run.
# Not part of CI.
#
#   bench/run_precision_bench.sh          (after scripts/setup.sh; needs Debian's wordnet-base)
#
# 1. `leann build` of two fixed corpora, ROUNDS times, the precisions alternating within each round (fp32 is
#    today's code path: the fp32 linear layers are unchanged OpenBLAS): 2,000 WordNet glosses as JSON-lines
#    records (short texts, ~20 tokens) and /usr/share/common-licenses (plain text, chunks of up to 256 tokens).
#    Reported: chunks per second of the embed stage and of the whole build, and peak RSS (/usr/bin/time).
# 2. build/bin/precision_bench: exact-search quality of each precision's vectors against fp32 on WordNet
#    (COUNT passages + the 300 queries' source synsets; recall@3 against fp32's top-3, nDCG@10 against the
#    judgements).
# Raw JSON lines go to bench/results/precision-*.jsonl; the tables are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN_DIR:-build/bin}  # where leann and precision_bench are
leann=$bin/leann
precisions=${PRECISIONS:-fp32 bf16 int8}
rounds=${ROUNDS:-3}
count=${COUNT:-20000}
[ -f bench/data/wordnet/passages.jsonl ] || python3 bench/make_wordnet.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n 2000 bench/data/wordnet/passages.jsonl >"$work/wordnet2000.jsonl"
mkdir -p bench/results
out=bench/results/precision-$(date +%Y%m%d-%H%M%S).jsonl

for round in $(seq "$rounds"); do
    for corpus in wordnet2000 licenses; do
        docs=$work/wordnet2000.jsonl
        [ "$corpus" = licenses ] && docs=/usr/share/common-licenses
        for p in $precisions; do
            rm -f "$work/$corpus-$p.leann"
            /usr/bin/time -f '%M' -o "$work/rss" "$leann" build --index "$work/$corpus-$p.leann" --docs "$docs" \
                --precision "$p" --force >"$work/summary" 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
            python3 - "$work/summary" "$work/rss" "$corpus" "$p" "$round" <<'PY' | tee -a "$out"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
rss_kib = int(open(sys.argv[2]).read().split()[-1])
print(json.dumps({"kind": "build", "corpus": sys.argv[3], "precision": sys.argv[4], "round": int(sys.argv[5]),
                  "chunks": s["chunks"], "seconds": s["seconds"], "embed_s": s["stage_seconds"]["embed"],
                  "embed_chunks_per_s": s["chunks"] / s["stage_seconds"]["embed"],
                  "build_chunks_per_s": s["chunks"] / s["seconds"], "peak_rss_mib": rss_kib / 1024}))
PY
        done
    done
done

"$bin/precision_bench" --passages bench/data/wordnet/passages.jsonl --queries bench/data/wordnet/queries.tsv \
    --qrels bench/data/wordnet/queries_source.tsv --count "$count" --precision "$(echo $precisions | tr ' ' ,)" |
    sed 's/^{/{"kind": "quality", /' | tee -a "$out"

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
builds = [r for r in rows if r["kind"] == "build"]
print("\n| corpus | chunks | precision | embed chunks/s (median) | vs fp32 | whole build chunks/s | vs fp32 | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for corpus in sorted({r["corpus"] for r in builds}, reverse=True):
    def med(p, key):
        return statistics.median(r[key] for r in builds if r["corpus"] == corpus and r["precision"] == p)
    for p in [p for p in ("fp32", "bf16", "int8") if any(r["precision"] == p and r["corpus"] == corpus for r in builds)]:
        chunks = next(r["chunks"] for r in builds if r["corpus"] == corpus)
        e, b = med(p, "embed_chunks_per_s"), med(p, "build_chunks_per_s")
        print(f"| {corpus} | {chunks} | {p} | {e:.1f} | {e / med('fp32', 'embed_chunks_per_s'):.2f}x | {b:.1f} | "
              f"{b / med('fp32', 'build_chunks_per_s'):.2f}x | {max(r['peak_rss_mib'] for r in builds if r['corpus'] == corpus and r['precision'] == p):.0f} |")
print("\n| precision | passages | queries | recall@3 vs fp32 exact | nDCG@10 | min cosine to fp32 | mean cosine | chunks/s |")
print("|---|---|---|---|---|---|---|---|")
for r in (r for r in rows if r["kind"] == "quality"):
    print(f"| {r['precision']} | {r['passages']} | {r['queries']} | {r['recall_at_3']:.4f} | {r['ndcg_at_10']:.4f} | "
          f"{r['min_cosine']:.5f} | {r['mean_cosine']:.6f} | {r['chunks_per_s']:.1f} |")
PY
echo "raw results: $out"
