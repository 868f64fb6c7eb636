#!/usr/bin/env python3
"""Summarize `leann eval --json` runs: mean nDCG@10 per set and mode, and paired-bootstrap 95% confidence intervals.

    python3 bench/summarize_eval.py bench/results/eval/*.jsonl [--resamples 10000] [--seed 1] [--markdown]

Each input file holds the JSON objects (one per line) that `leann eval --json` printed for one query set, one
object per mode ({"mode", "ndcg@10", "per_query": [{"query_id", "ndcg@10", ...}], ...}); the set is named by the
file name without its extension. For each set the table shows nDCG@10 of every mode present with a bootstrap 95%
interval of the mean (queries resampled with replacement), then the differences hybrid - vector and
hybrid - keyword, paired: the same resampled queries for both modes (percentile interval over --resamples draws).
A difference whose interval excludes 0 is marked "*".
"""
import argparse
import json
import os
import random
import sys

MODES = ["vector", "keyword", "hybrid"]
PAIRS = [("hybrid", "vector"), ("hybrid", "keyword"), ("keyword", "vector")]


def load(path):
    runs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            runs[obj["mode"]] = {q["query_id"]: q["ndcg@10"] for q in obj["per_query"]}
    return runs


def bootstrap(values_by_draw, n, resamples, rng):
    """Percentile 95% interval of the mean of f(sample) where values_by_draw(indexes) gives the sample's values."""
    means = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        vals = values_by_draw(idx)
        means.append(sum(vals) / n)
    means.sort()
    return means[int(0.025 * resamples)], means[min(resamples - 1, int(0.975 * resamples))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--resamples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    header = "| set | queries | " + " | ".join(f"{m} nDCG@10" for m in MODES) + " | " + \
        " | ".join(f"{a} - {b}" for a, b in PAIRS) + " |"
    print(header)
    print("|" + "---|" * (2 + len(MODES) + len(PAIRS)))
    for path in args.files:
        name = os.path.splitext(os.path.basename(path))[0]
        runs = load(path)
        if not runs:
            print(f"{path}: no runs", file=sys.stderr)
            continue
        qids = sorted(set.intersection(*(set(r) for r in runs.values())))
        n = len(qids)
        rng = random.Random(args.seed)
        cells = [name, str(n)]
        for m in MODES:
            if m not in runs:
                cells.append("pending")
                continue
            v = [runs[m][q] for q in qids]
            lo, hi = bootstrap(lambda idx: [v[i] for i in idx], n, args.resamples, rng)
            cells.append(f"{sum(v) / n:.3f} [{lo:.3f}, {hi:.3f}]")
        for a, b in PAIRS:
            if a not in runs or b not in runs:
                cells.append("pending")
                continue
            d = [runs[a][q] - runs[b][q] for q in qids]
            lo, hi = bootstrap(lambda idx: [d[i] for i in idx], n, args.resamples, rng)
            mark = "*" if lo > 0 or hi < 0 else ""
            cells.append(f"{sum(d) / n:+.3f} [{lo:+.3f}, {hi:+.3f}]{mark}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
