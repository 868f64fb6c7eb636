#!/usr/bin/env bash
# The index benchmark (issue 3): every figure of the "Index" part of bench/README.md comes from this script.
#
#   bench/run_index_bench.sh [STAGE...]     stages: defaults scaling ablation fmnist latency faiss adaptive
#                                           (default: scaling ablation fmnist defaults latency)
#
# Inputs (made once, cached under bench/data/, gitignored):
#   apt-get install wordnet-base python3.11-doc python-pandas-doc dataset-fashion-mnist
#   python3 bench/make_wordnet.py && python3 bench/make_pydoc.py && python3 bench/make_fmnist.py
#   bench/embed_cache.sh ...   (the embeddings of passages and queries; see the commands at the end of this file)
#   bench/setup_bench_venv.sh && bench/.venv/bin/python bench/faiss_compare.py ...   (faiss and ground truth)
# Output: bench/results/index/STAGE.jsonl (one JSON object per measurement), summarised by
# bench/summarize_index_bench.py into the tables of bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${INDEX_BENCH:-build/bin/index_bench}   # INDEX_BENCH: another build's binary
out=bench/results/index
mkdir -p "$out"
W=bench/data/wordnet
P=bench/data/pydoc
F=bench/data/fmnist
R=bench/results
sweep="4,6,8,12,16,24,32,48,64,96,128"   # complexity, for the interleaved walk (share > 0)
rr="16,24,32,48,64,96,128,192,256,384"     # re-rank sizes, for the default PQ walk (share 0)
cx="64,128,200,300,500,800"                # complexity, for the default PQ walk
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(scaling ablation fmnist defaults latency)

wordnet() { $bin --base $W/passages.npy --queries $W/queries.npy --docs $W/passages.jsonl --metric ip "$@"; }
pydoc() { $bin --base $P/passages_20k.npy --queries $P/queries.npy --docs $P/passages_20k.jsonl --metric ip "$@"; }

for stage in "${stages[@]}"; do
    echo "== $stage" >&2
    case $stage in
    defaults)  # choosing hub/ordinary degree and PQ bytes: recomputations at recall@3 0.90 against bytes per chunk
        : > "$out/defaults.jsonl"
        for hub in 16 32; do
            for m in 3 4 6 8 10; do
                for pq in 16 24 32 48; do
                    [ $hub = 32 ] && [ $m != 8 ] && continue
                    pydoc --gt $R/faiss_pydoc20k.gt.npy --hub-degree $hub --pruned-degree $m --pq-bytes $pq \
                        --share 0 --rerank $rr --complexity $cx --label "M=$hub m=$m pq=$pq" >> "$out/defaults.jsonl"
                done
            done
        done ;;
    scaling)  # recomputations per query as the corpus grows (WordNet 5K/20K/117K, pydoc 5K/20K), defaults
        : > "$out/scaling.jsonl"
        for n in 5000 20000 117659; do
            wordnet --limit $n --gt $R/faiss_wordnet.gt.npy --share 0,0.2 --rerank $rr --complexity $sweep,$cx \
                --label "wordnet $n" >> "$out/scaling.jsonl"
        done
        for n in 5000 20000; do
            pydoc --limit $n --gt $R/faiss_pydoc20k.gt.npy --share 0,0.2 --rerank $rr --complexity $sweep,$cx \
                --label "pydoc $n" >> "$out/scaling.jsonl"
        done ;;
    ablation)  # pydoc 20K: pruning; every visited node vs interleaved two-level vs PQ walk + re-rank; batching; hub cache
        : > "$out/ablation.jsonl"
        gt="--gt $R/faiss_pydoc20k.gt.npy"
        pydoc $gt --no-prune --share 1,0.2,0 --rerank $rr --complexity $sweep,200,300 --label "unpruned" >> "$out/ablation.jsonl"
        pydoc $gt --share 1,0.2,0 --batch 64,1 --rerank $rr --complexity $sweep,200,300 --label "pruned" >> "$out/ablation.jsonl"
        pydoc $gt --share 0.2,0 --rerank $rr --hub-cache-mb 3 --complexity $sweep,200,300 --label "pruned, hub cache 3 MiB" >> "$out/ablation.jsonl"
        ;;
    fmnist)  # model-free check: Fashion-MNIST pixels, L2, oracle recompute
        : > "$out/fmnist.jsonl"
        $bin --base $F/base.npy --queries $F/queries.npy --gt $R/faiss_fmnist.gt.npy --metric l2 --share 0,0.2,1 \
            --rerank $rr --complexity $sweep,200,300 --label "fmnist" >> "$out/fmnist.jsonl" ;;
    latency)  # end to end with the encoder (MiniLM-L6, 2 threads), warm process, no cross-query cache, defaults
        : > "$out/latency.jsonl"
        wordnet --gt $R/faiss_wordnet.gt.npy --complexity 200,800 --rerank 32,64 --query-texts $W/queries.tsv \
            --encoder-complexity 200,800 --encoder-queries 50 --label "wordnet 117659" >> "$out/latency.jsonl"
        pydoc --gt $R/faiss_pydoc20k.gt.npy --complexity 200,800 --rerank 32,64 --query-texts $P/queries.tsv \
            --encoder-complexity 200,800 --encoder-queries 30 --label "pydoc 20000" >> "$out/latency.jsonl" ;;
    adaptive)  # issue 12 item 1: adaptive re-rank (per confidence) vs fixed sizes; PQ 32 vs 48 (the default) bytes;
               # then end to end with the encoder, auto vs 64 alternating (top-k 5, the CLI's default)
        : > "$out/adaptive.jsonl"
        for pq in 48 32; do
            wordnet --pq-bytes $pq --share 0 --rerank 0,16,24,32,64 --confidence 0.95,0.9,0.98,0.99 --top-k 5,3,10 \
                --complexity 800,1600 --label "wordnet 117659 pq=$pq" >> "$out/adaptive.jsonl"
            pydoc --pq-bytes $pq --share 0 --rerank 0,16,24,32,64 --confidence 0.95,0.9,0.98,0.99 --top-k 5,3,10 \
                --complexity 800,1600 --label "pydoc 20000 pq=$pq" >> "$out/adaptive.jsonl"
        done
        pydoc --share 0 --rerank 0,64 --top-k 5 --complexity 1600 --query-texts $P/queries.tsv --encoder-complexity 1600 \
            --encoder-queries 40 --label "pydoc 20000 encoder" >> "$out/adaptive.jsonl" ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
    esac
done

# The inputs, for reference (run once):
#   bench/embed_cache.sh $W/passages.jsonl $W/passages.npy;  bench/embed_cache.sh $W/queries.tsv $W/queries.npy
#   bench/embed_cache.sh $P/passages_20k.jsonl $P/passages_20k.npy;  bench/embed_cache.sh $P/queries.tsv $P/queries.npy
#   bench/.venv/bin/python bench/faiss_compare.py --base $W/passages.npy --queries $W/queries.npy --metric ip --out $R/faiss_wordnet.json
#   bench/.venv/bin/python bench/faiss_compare.py --base $P/passages_20k.npy --queries $P/queries.npy --metric ip --out $R/faiss_pydoc20k.json
#   bench/.venv/bin/python bench/faiss_compare.py --base $F/base.npy --queries $F/queries.npy --metric l2 --out $R/faiss_fmnist.json
