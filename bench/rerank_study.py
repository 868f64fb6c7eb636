#!/usr/bin/env python3
"""Offline study of re-rank stopping rules on the PQ walk's candidate lists (how the adaptive re-rank was designed).

    build/bin/index_bench --base B.npy --queries Q.npy --docs D.jsonl --metric ip --share 0 --rerank 64 \
        --top-k 3 --complexity 1600 [--pq-bytes 32] --dump-lists LISTS.jsonl --label x > /dev/null
    build/pyenv/bin/python bench/rerank_study.py B.npy Q.npy LISTS.jsonl [K]

Reads each query's walk list (nodes with PQ distances, best first), computes the exact distances with numpy (inner
product), and prints: the recall@K ceiling of the list; recall@K of a fixed re-rank of N; the query's PQ bias
(mean PQ minus exact distance over its best 16 candidates: mean and sd over queries); quantiles of the deviation
from that bias; and recall / recomputations of the stopping rule "recompute 8 at a time while the next PQ distance
< k-th exact + margin", with the bias estimated per query from the candidates recomputed so far and without it.
Needs numpy (the set-up's build/pyenv has it).
"""
import json
import sys

import numpy as np


def main():
    base, queries = np.load(sys.argv[1]), np.load(sys.argv[2])
    lists = [json.loads(line) for line in open(sys.argv[3])]
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    rows = []
    for qi, entry in enumerate(lists):
        q = queries[qi]
        nodes, pq = np.array(entry["nodes"]), np.array(entry["pq"])
        exact = -(base[nodes] @ q)
        truth = np.argsort(-(base @ q))[:k]
        where = {int(v): i for i, v in enumerate(nodes)}
        rows.append((pq, exact, truth, [where.get(int(t), -1) for t in truth], nodes))
    found = sum(1 for r in rows for p in r[3] if p >= 0)
    print(f"recall@{k} ceiling of the list: {found / (k * len(rows)):.3f}")
    for n in (8, 16, 24, 32, 48, 64, 128, 256):
        r = np.mean([sum(1 for p in pos if 0 <= p < n) / k for _, _, _, pos, _ in rows])
        print(f"  fixed re-rank {n}: recall@{k} {r:.3f}")
    bias = [np.mean((p - e)[:16]) for p, e, *_ in rows]
    print(f"PQ bias over the best 16 candidates: mean {np.mean(bias):.3f} sd {np.std(bias):.3f} over queries")
    dev = np.concatenate([(p - e)[:64] - np.mean((p - e)[:16]) for p, e, *_ in rows])
    print("deviation from it, quantiles 0.5/0.9/0.95/0.99/0.999:", np.quantile(dev, [.5, .9, .95, .99, .999]).round(3))

    def stop_rule(margin, with_bias, first=8, step=8, limit=384):
        total = hits = 0
        for p, e, truth, _, nodes in rows:
            n = min(len(p), limit)
            done = min(n, max(k, first))
            while done < n:
                kth = np.sort(e[:done])[k - 1]
                bound = kth + (np.mean((p - e)[:done]) if with_bias else 0.0) + margin
                if p[done] >= bound:
                    break
                end = done
                while end < n and end - done < step and p[end] < bound:
                    end += 1
                done = end
            total += done
            top = set(nodes[np.argsort(e[:done])[:k]].tolist())
            hits += len(top & set(truth.tolist())) / k
        return total / len(rows), hits / len(rows)

    for with_bias in (True, False):
        for m in (-0.05, 0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2):
            rec, r = stop_rule(m, with_bias)
            print(f"  stop rule, bias {'estimated' if with_bias else 'ignored  '}, margin {m:5.2f}: "
                  f"{rec:6.1f} recomputations, recall@{k} {r:.3f}")


if __name__ == "__main__":
    main()
