#!/usr/bin/env python3
"""Summarize `leann eval --json` runs: mean nDCG@10 per set and mode, and paired-bootstrap 95% confidence intervals.

    python3 bench/summarize_eval.py bench/results/eval/*.jsonl [--resamples 10000] [--seed 1] [--markdown]

Each input file holds the JSON objects (one per line) that `leann eval --json` printed for one query set, one
object per mode ({"mode", "ndcg@10", "per_query": [{"query_id", "ndcg@10", ...}], ...}); the set is named by the
file name without its extension. For each set the table shows nDCG@10 of every mode present with a bootstrap 95%
interval of the mean (queries resampled with replacement), then the differences hybrid - vector and
hybrid - keyword, paired: the same resampled queries for both modes (percentile interval over --resamples draws).
A difference whose interval excludes 0 is marked "*".

Files from a fusion sweep (`leann eval --mode hybrid --fusion rrf,convex --vector-weight 0.3,0.5,...`) hold several
hybrid objects; the main table uses the one given by --hybrid ("rrf:0.5"; default: the first in each file), and
--sweep adds a table of every hybrid variant per set (nDCG@10, and its paired difference to vector).
"""
import argparse
import json
import os
import random
import sys

MODES = ["vector", "keyword", "hybrid"]
PAIRS = [("hybrid", "vector"), ("hybrid", "keyword"), ("keyword", "vector")]


def variant(obj):
    """'rrf:0.5' for a hybrid object that names its fusion, else None."""
    if obj["mode"] != "hybrid" or "fusion" not in obj:
        return None
    return f"{obj['fusion']}:{obj['vector_weight']:g}"


def load(path, hybrid=None, variants=None):
    """{mode: {query_id: nDCG@10}}. hybrid: the variant to use as "hybrid" (None: the file's first hybrid object);
    variants, when a dict, receives every named hybrid variant."""
    runs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            scores = {q["query_id"]: q["ndcg@10"] for q in obj["per_query"]}
            name = variant(obj)
            if variants is not None and name is not None:
                variants[name] = scores
            if obj["mode"] != "hybrid":
                runs[obj["mode"]] = scores
            elif hybrid is None:
                runs.setdefault("hybrid", scores)
            elif name == hybrid:
                runs["hybrid"] = scores
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
    ap.add_argument("--hybrid", default=None, help="the hybrid variant of the main table, e.g. rrf:0.5")
    ap.add_argument("--sweep", action="store_true", help="also print every hybrid variant per set")
    args = ap.parse_args()

    header = "| set | queries | " + " | ".join(f"{m} nDCG@10" for m in MODES) + " | " + \
        " | ".join(f"{a} - {b}" for a, b in PAIRS) + " |"
    print(header)
    print("|" + "---|" * (2 + len(MODES) + len(PAIRS)))
    for path in args.files:
        name = os.path.splitext(os.path.basename(path))[0]
        runs = load(path, args.hybrid)
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
    if args.sweep:
        print_sweep(args)


def print_sweep(args):
    names, tables = [], []
    for path in args.files:
        variants = {}
        runs = load(path, None, variants)
        names.append(os.path.splitext(os.path.basename(path))[0])
        tables.append((runs, variants))
    keys = sorted({k for _, v in tables for k in v}, key=lambda k: (k.split(":")[0], float(k.split(":")[1])))
    print()
    print("| hybrid variant | " + " | ".join(f"{n} (- vector)" for n in names) + " | mean |")
    print("|" + "---|" * (len(names) + 2))
    for key in keys:
        cells, means = [key], []
        for runs, variants in tables:
            if key not in variants or "vector" not in runs:
                cells.append("-")
                continue
            v = variants[key]
            qids = sorted(set(v) & set(runs["vector"]))
            n = len(qids)
            d = [v[q] - runs["vector"][q] for q in qids]
            rng = random.Random(args.seed)
            lo, hi = bootstrap(lambda idx: [d[i] for i in idx], n, args.resamples, rng)
            mean = sum(v[q] for q in qids) / n
            means.append(mean)
            cells.append(f"{mean:.3f} ({sum(d) / n:+.3f} [{lo:+.3f}, {hi:+.3f}])")
        cells.append(f"{sum(means) / len(means):.4f}" if len(means) == len(tables) else "-")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
