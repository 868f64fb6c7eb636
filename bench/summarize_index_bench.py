#!/usr/bin/env python3
"""Summarise bench/results/index/*.jsonl (written by bench/run_index_bench.sh) into the Markdown tables of
bench/README.md. Recomputations "at recall@3 = 0.90" are interpolated linearly between the two complexity settings
that bracket the target (the sweep is dense enough that the bracket is tight); "-" means never reached.

    python3 bench/summarize_index_bench.py [defaults|scaling|ablation|fmnist|latency|faiss|adaptive]...
"""
import json
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "index")
FAISS = os.path.join(HERE, "results")
PER_CHUNK = ["G0OF", "G0NB", "GUPR", "PQCD", "PSGI", "TOMB", "INFO"]  # grow with the chunk count


def load(stage):
    path = os.path.join(RESULTS, stage + ".jsonl")
    builds, searches = {}, defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "build":
                builds[r["label"]] = r
            else:
                searches[r["label"]].append(r)
    return builds, searches


def at_recall(rows, target, key="recomputed_per_query"):
    """Least cost reaching recall@3 >= target over all settings (the Pareto frontier), interpolated linearly
    with the best cheaper setting."""
    pts = sorted((r[key], r["recall@3"]) for r in rows)
    best = None  # (cost, recall) of the best recall seen so far among cheaper settings
    for cost, rec in pts:
        if rec >= target:
            if best is None or best[1] >= target:
                return cost
            c0, r0 = best
            return c0 + (cost - c0) * (target - r0) / (rec - r0)
        if best is None or rec > best[1]:
            best = (cost, rec)
    return None


def fmt(x, digits=0):
    return "-" if x is None else f"{x:.{digits}f}"


def per_chunk(b):
    s = b["bytes_per_chunk"]
    return sum(s.get(t, 0) for t in PER_CHUNK)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def defaults():
    builds, searches = load("defaults")
    rows = []
    for label, b in builds.items():
        by_share = defaultdict(list)
        for r in searches[label]:
            by_share[r["share"]].append(r)
        best90 = min((x for x in (at_recall(v, 0.90) for v in by_share.values()) if x is not None), default=None)
        best95 = min((x for x in (at_recall(v, 0.95) for v in by_share.values()) if x is not None), default=None)
        rows.append([label, f"{b['graph']['edges'] / b['n']:.1f}", f"{per_chunk(b):.1f}",
                     f"{b['bytes_per_chunk']['PQCB']:.1f}", fmt(best90), fmt(best95)])
    print(table(["config", "avg degree", "bytes/chunk (graph+PQ codes+id map)", "+ codebook/chunk",
                 "recomputations @ R@3 0.90", "@ 0.95"], rows))


def sweep_table(stage):
    builds, searches = load(stage)
    for label, b in builds.items():
        print(f"\n**{label}** — n = {b['n']}, dim {b['dim']}, build {b['build_seconds']:.1f} s "
              f"({', '.join(f'{k} {v:.1f}' for k, v in b['stage_seconds'].items())}), peak RSS {b['peak_rss_mib']:.0f} MiB "
              f"(inputs {b['inputs_rss_mib']:.0f}, vectors {b['vectors_mib']:.0f}), avg degree "
              f"{b['graph']['edges'] / b['n']:.1f} (unpruned {b['graph']['edges_before_pruning'] / b['n']:.1f}), "
              f"{per_chunk(b):.1f} bytes/chunk + codebook {b['bytes_per_chunk']['PQCB']:.1f}, "
              f"passages {b['bytes_per_chunk'].get('PSGD', 0):.0f} bytes/chunk, "
              f"raw text {b['raw_text_bytes'] / b['n']:.0f} bytes/chunk\n")
        rows = []
        for r in sorted(searches[label], key=lambda r: (r["share"], r["batch"], r.get("rerank", 0), r["complexity"])):
            if r["source"] != "oracle":
                continue
            rows.append([r["share"], r.get("rerank", 0) if r["share"] == 0 else "-", r["batch"] if r["share"] else "-",
                         r["complexity"], f"{r['recall@3']:.3f}", f"{r['recall@10']:.3f}",
                         f"{r['recomputed_per_query']:.1f}", f"{r['batches_per_query']:.1f}",
                         f"{r['hub_hits_per_query']:.1f}", f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}"])
        print(table(["share", "rerank", "batch", "complexity", "recall@3", "recall@10", "recomputed/query", "encoder calls",
                     "hub hits", "p50 ms (oracle)", "p95 ms"], rows))


def mode(share):
    if share >= 1:
        return "recompute every visited node"
    if share > 0:
        return f"interleaved two-level, share {share:g}"
    return "PQ walk + exact re-rank"


def ablation(stage="ablation"):
    builds, searches = load(stage)
    groups = []
    for label, rows in searches.items():
        by = defaultdict(list)
        for r in rows:
            if r["share"] == 0 and r["batch"] == 1:
                continue  # one re-rank batch per query either way
            by[(r["share"], r["batch"])].append(r)
        for (share, batch), v in by.items():
            name = f"{label}, {mode(share)}" + (", no batching" if batch == 1 else "")
            groups.append((name, at_recall(v, 0.90), at_recall(v, 0.95),
                           at_recall(v, 0.90, "batches_per_query"), builds[label]))
    base = next((g[1] for g in groups if g[0].startswith("unpruned") and "every visited" in g[0]
                 and "no batching" not in g[0]), None) or next(
        (g[1] for g in groups if "every visited" in g[0] and "no batching" not in g[0]), None)
    rows = []
    for name, r90, r95, calls, b in groups:
        ratio = f"{base / r90:.2f}x" if base and r90 else "-"
        rows.append([name, f"{b['graph']['edges'] / b['n']:.1f}", fmt(r90), ratio, fmt(r95), fmt(calls, 1)])
    print(table(["configuration", "avg degree", "recomputations @ R@3 0.90", "fewer than every visited node",
                 "@ 0.95", "encoder calls @ 0.90"], rows))


def scaling():
    builds, searches = load("scaling")
    rows = []
    for label, b in builds.items():
        v = searches[label]
        rows.append([label, b["n"], f"{b['graph']['edges'] / b['n']:.1f}", fmt(at_recall(v, 0.90)),
                     fmt(at_recall(v, 0.95)), f"{max(r['recall@3'] for r in v):.3f}",
                     f"{max(r['recall@10'] for r in v):.3f}", f"{b['build_seconds']:.1f}",
                     f"{b['peak_rss_mib'] - b['inputs_rss_mib']:.0f}", f"{per_chunk(b):.1f}",
                     f"{100 * per_chunk(b) / (b['raw_text_bytes'] / b['n']):.1f}%"])
    print(table(["index", "chunks", "avg degree", "recomputations @ R@3 0.90", "@ 0.95", "best R@3", "best R@10",
                 "build s", "build RSS over inputs MiB", "bytes/chunk", "of raw text"], rows))


def complexity():
    builds, searches = load("scaling")
    rows = []
    for label in ("wordnet 117659", "pydoc 20000"):
        seen = set()
        for r in sorted(searches.get(label, []), key=lambda r: (r["share"], r["complexity"])):
            key = (r["share"], r["rerank"], r["complexity"])  # the sweep lists repeat a few complexities
            if key in seen:
                continue
            seen.add(key)
            default_walk = r["share"] == 0 and r["rerank"] == 64
            interleaved = r["share"] == 0.2 and r["complexity"] in (16, 32, 64, 128)
            if not (default_walk or interleaved):
                continue
            rows.append([label, mode(r["share"]) + (f" {r['rerank']}" if r["share"] == 0 else ""), r["complexity"],
                         f"{r['recall@3']:.3f}", f"{r['recall@10']:.3f}", f"{r['recomputed_per_query']:.1f}",
                         f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}"])
    print(table(["index", "mode", "complexity", "recall@3", "recall@10", "recomputed/query",
                 "p50 ms (oracle)", "p95 ms (oracle)"], rows))


def latency():
    builds, searches = load("latency")
    rows = []
    for label, v in searches.items():
        for r in v:
            if r["source"] == "encoder":
                rows.append([label, r["complexity"], r["share"], r["queries"], f"{r['recall@3']:.3f}",
                             f"{r['recomputed_per_query']:.1f}", f"{r['p50_ms'] / 1000:.2f}",
                             f"{r['p95_ms'] / 1000:.2f}"])
    print(table(["index", "complexity", "share", "queries", "recall@3", "recomputed/query", "p50 s", "p95 s"], rows))


def faiss():
    pairs = [("wordnet", "scaling", "wordnet 117659"), ("pydoc20k", "scaling", "pydoc 20000"),
             ("fmnist", "fmnist", "fmnist")]
    rows = []
    for name, stage, label in pairs:
        path = os.path.join(FAISS, f"faiss_{name}.json")
        if not os.path.exists(path) or not os.path.exists(os.path.join(RESULTS, stage + ".jsonl")):
            continue
        f = json.load(open(path))
        builds, searches = load(stage)
        if label not in builds:
            continue
        b = builds[label]
        ours = b["file_bytes"] - b["bytes_per_chunk"].get("PSGD", 0) * b["n"]
        ours_rows = [r for r in searches[label] if r["share"] == 0] or searches[label]
        best_ours = max(r["recall@3"] for r in ours_rows)
        h = f["hnsw"]
        best_h = max(r["recall@3"] for r in h["results"])
        ivf = f["ivfpq"]
        best_i = max(r["recall@3"] for r in ivf["results"])
        rows.append([name, f"{ours / 1e6:.1f} MB", f"{h['index_bytes'] / 1e6:.1f} MB ({h['index_bytes'] / ours:.1f}x)",
                     f"{ivf['index_bytes'] / 1e6:.1f} MB ({ivf['index_bytes'] / ours:.2f}x)",
                     f"{best_ours:.3f}", f"{best_h:.3f} ({best_h / best_ours:.2f}x)", f"{best_i:.3f} ({best_i / best_ours:.2f}x)"])
    print(table(["data", "leann (no passages)", "faiss HNSWFlat M=32", "faiss IVFPQ", "leann best R@3",
                 "HNSWFlat best R@3", "IVFPQ best R@3"], rows))


def adaptive():
    """Issue 12 item 1: adaptive re-rank (by confidence) against fixed re-rank sizes, per data set, PQ size, top-k."""
    builds, searches = load("adaptive")
    rows = []
    for label, recs in searches.items():
        b = builds[label]
        for r in sorted(recs, key=lambda r: (r["complexity"], r["top_k"], r["rerank"] != 0, -r.get("rerank_confidence", 0),
                                             r["rerank"])):
            if r["source"] != "oracle":
                continue
            policy = f"adaptive {r['rerank_confidence']}" if r["rerank"] == 0 else f"fixed {r['rerank']}"
            rows.append([label, f"{b['structure_bytes_per_chunk']:.1f}", r["complexity"], r["top_k"], policy,
                         f"{r['recall@3']:.3f}", f"{r['recall@10']:.3f}" if r["top_k"] >= 10 else "-",
                         f"{r['recomputed_per_query']:.1f}", f"{r['recomputed_p50']:.0f} / {r['recomputed_p95']:.0f}"])
    print(table(["index", "bytes/chunk", "complexity", "top-k", "re-rank", "recall@3", "recall@10",
                 "recomputed/query", "p50 / p95"], rows))
    enc = [(label, r) for label, recs in searches.items() for r in recs if r["source"] == "encoder"]
    if enc:
        print()
        print(table(["index", "complexity", "top-k", "re-rank", "queries", "recall@3", "recomputed/query", "p50 ms",
                     "p95 ms"],
                    [[label, r["complexity"], r.get("top_k", 10), "auto" if r["rerank"] == 0 else r["rerank"],
                      r["queries"], f"{r['recall@3']:.3f}", f"{r['recomputed_per_query']:.1f}", f"{r['p50_ms']:.0f}",
                      f"{r['p95_ms']:.0f}"] for label, r in enc]))


if __name__ == "__main__":
    for stage in sys.argv[1:] or ["defaults", "scaling", "ablation", "fmnist", "latency", "faiss"]:
        print(f"\n### {stage}\n")
        {"defaults": defaults, "scaling": scaling, "scaling-detail": lambda: sweep_table("scaling"), "ablation": ablation,
         "fmnist": lambda: ablation("fmnist"), "latency": latency, "faiss": faiss, "complexity": complexity,
         "adaptive": adaptive}[stage]()
