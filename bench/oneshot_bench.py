#!/usr/bin/env python3
"""One-shot `leann search` (a new process per query, --no-daemon) on an existing index, re-rank policies side by side.

    python3 bench/oneshot_bench.py --index PATH --queries Q.tsv [--leann build/bin/leann] [--runs 30]
                                   [--rerank auto,64] [--top-k 5] [--mode vector] [--precision auto]
                                   [--baseline OTHER_LEANN] [--baseline-index OTHER_INDEX] [--out FILE.json]

For each of the first `--runs` queries (qid<TAB>text lines), one `leann search --index PATH QUERY --no-daemon --json
--top-k K --rerank R` process per policy, alternating which policy goes first so that load on the machine hits all
alike. Each time is the wall time of the whole process (start, model load, index open, query embedding, walk,
re-rank, printing), measured here. Reports p50/p95 seconds and the mean recomputations per query (from --json
stats: recomputed + cache_hits) per policy, and how often each policy's top hit equals the others'.
With --baseline, every policy also runs with that binary (labelled "baseline/POLICY"), alternating with --leann:
before/after figures from one run on the same machine. --baseline-index makes the baseline search another index
(the same corpus built another way, e.g. with other --pq-bytes), by --baseline's binary or else --leann's.
Index: e.g. the one bench/index_bench.cpp keeps with --keep PATH --query-texts (built from cached embeddings with
the default model's hash recorded, so the CLI can search it).
"""
import argparse
import json
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--leann", default="build/bin/leann")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--rerank", default="auto,64")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--mode", default="vector", help="vector | keyword | hybrid (leann search --mode)")
    ap.add_argument("--precision", default="auto", help="the encoder precision of the searches (leann search --precision)")
    ap.add_argument("--baseline", help="a second leann binary, run alternately with the same policies")
    ap.add_argument("--baseline-index", help="the index the baseline searches (default: --index); with it and "
                    "without --baseline, --leann searches both indexes alternately")
    ap.add_argument("--out")
    a = ap.parse_args()
    queries = [line.rstrip("\n").split("\t", 1)[-1] for line in open(a.queries, encoding="utf-8") if line.strip()]
    queries = queries[: a.runs]
    runs = [(p, a.leann, p, a.index) for p in a.rerank.split(",")]  # (label, binary, --rerank, index)
    if a.baseline or a.baseline_index:
        runs += [("baseline/" + p, a.baseline or a.leann, p, a.baseline_index or a.index) for p in a.rerank.split(",")]
    policies = [label for label, _, _, _ in runs]
    binary = {label: (b, r, i) for label, b, r, i in runs}
    times = {p: [] for p in policies}
    recomputed = {p: [] for p in policies}
    tops = {p: [] for p in policies}
    for i, q in enumerate(queries):
        order = policies[i % len(policies):] + policies[: i % len(policies)]
        for p in order:
            args = [binary[p][0], "search", "--index", binary[p][2], q, "--no-daemon", "--json", "--mode", a.mode,
                    "--top-k", str(a.top_k), "--rerank", binary[p][1], "--precision", a.precision]
            start = time.perf_counter()
            r = subprocess.run(args, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if r.returncode != 0:
                raise SystemExit(f"{' '.join(args)} failed ({r.returncode}): {r.stderr}")
            out = json.loads(r.stdout)
            times[p].append(elapsed)
            recomputed[p].append(out["stats"]["recomputed"] + out["stats"].get("cache_hits", 0))
            tops[p].append(out["results"][0]["id"] if out["results"] else None)

    def pct(v, x):
        v = sorted(v)
        return v[min(len(v) - 1, int(x * (len(v) - 1) + 0.5))]

    summary = {"index": a.index, "baseline_index": a.baseline_index or a.index, "queries": len(queries), "top_k": a.top_k, "precision": a.precision,
               "mode": a.mode, "policies": {}}
    for p in policies:
        same = sum(t == u for t, u in zip(tops[p], tops[policies[-1]])) / max(1, len(queries))
        summary["policies"][p] = {"p50_s": statistics.median(times[p]), "p95_s": pct(times[p], 0.95),
                                  "recomputed_per_query": statistics.mean(recomputed[p]),
                                  "top_hit_same_as_" + policies[-1]: same}
        print(f"rerank {p:>14}: p50 {statistics.median(times[p]):.3f} s  p95 {pct(times[p], 0.95):.3f} s  "
              f"recomputed/query {statistics.mean(recomputed[p]):.1f}  top hit as {policies[-1]}: {same:.2f}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
