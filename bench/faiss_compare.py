#!/usr/bin/env python3
"""Reference ANN numbers from faiss (HNSW and IVF-PQ) on a cached embedding matrix, plus exact ground truth.

    bench/setup_bench_venv.sh
    bench/.venv/bin/python bench/faiss_compare.py --base X.npy --queries Q.npy --metric ip|l2 \\
        [--k 10] --out bench/results/NAME.json

Inputs: float32 .npy matrices (rows = vectors), e.g. bench/data/fmnist/base.npy (make_fmnist.py) or
the embedding caches written by bench/embed_cache.sh. For --metric ip the vectors should be L2
normalised (all-MiniLM-L6-v2's are); faiss then uses METRIC_INNER_PRODUCT.

Does:
  exact    brute-force top-100 per query (numpy, float64 dot products, base in blocks); ties broken by
           the smaller id. Written as int32 (queries x 100) to <out without .json>.gt.npy, and the
           scores (inner product, or squared L2 distance) as float32 to <out without .json>.gt_scores.npy,
           so the C++ benchmark can reuse them.
  hnsw     faiss.IndexHNSWFlat(M=--hnsw-m, efConstruction=--ef-construction); efSearch in --ef.
  ivfpq    faiss.IndexIVFPQ, nlist = round(4 sqrt(n)), m = largest divisor of dim <= 32, 8 bits,
           trained on the base itself; nprobe in --nprobe.
For each setting: recall@3 and recall@k against the exact top lists (|found ∩ true| / k, averaged
over queries), and single-thread latency per query (one query per search call, after a warm-up
pass; p50, p95, mean). For each index: build time (train + add, --build-threads threads) and index
size in bytes (len(faiss.serialize_index)). Results go to --out as JSON.
"""
import argparse
import json
import os
import platform
import time

import faiss
import numpy as np

GT_DEPTH = 100


def exact_topk(base, queries, metric, depth, block=16384):
    """Exact top-`depth` ids and scores per query; ip: largest first, l2: smallest squared distance first."""
    q64 = queries.astype(np.float64)
    nq, n = len(queries), len(base)
    depth = min(depth, n)
    best_ids = np.empty((nq, 0), dtype=np.int64)
    best_key = np.empty((nq, 0), dtype=np.float64)  # sort key: smaller is better
    for start in range(0, n, block):
        b = base[start:start + block].astype(np.float64)
        dots = q64 @ b.T
        if metric == "ip":
            key = -dots
        else:
            key = (b * b).sum(axis=1)[None, :] - 2.0 * dots + (q64 * q64).sum(axis=1)[:, None]
        ids = np.broadcast_to(np.arange(start, start + len(b)), key.shape)
        key = np.concatenate([best_key, key], axis=1)
        ids = np.concatenate([best_ids, ids], axis=1)
        if key.shape[1] > depth:
            part = np.argpartition(key, depth - 1, axis=1)[:, :depth]
            # keep every candidate tied with the depth-th key so id tie-breaking stays exact
            kth = np.take_along_axis(key, part, axis=1).max(axis=1, keepdims=True)
            keep = key <= kth
            rows = []
            for i in range(nq):
                sel = np.nonzero(keep[i])[0]
                order = np.lexsort((ids[i, sel], key[i, sel]))[:depth]
                rows.append(sel[order])
            sel = np.stack(rows)
            key = np.take_along_axis(key, sel, axis=1)
            ids = np.take_along_axis(ids, sel, axis=1)
        best_key, best_ids = key, ids
    order = np.lexsort((best_ids, best_key), axis=1)
    best_ids = np.take_along_axis(best_ids, order, axis=1)
    best_key = np.take_along_axis(best_key, order, axis=1)
    scores = -best_key if metric == "ip" else np.maximum(best_key, 0.0)
    return best_ids.astype(np.int32), scores.astype(np.float32)


def recall(found, truth, k):
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth)]
    return float(np.mean(hits)) / k


def time_queries(index, queries, k):
    """Latency of one query per search call, single thread, after a warm-up pass."""
    faiss.omp_set_num_threads(1)
    for i in range(min(20, len(queries))):
        index.search(queries[i:i + 1], k)
    times = []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        index.search(queries[i:i + 1], k)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean())}


def evaluate(index, queries, gt, k, label, param, values, set_param):
    rows = []
    for v in values:
        set_param(v)
        faiss.omp_set_num_threads(1)
        _, found = index.search(queries, k)
        row = {param: v, "recall@3": recall(found, gt, 3), f"recall@{k}": recall(found, gt, k)}
        row.update(time_queries(index, queries, k))
        rows.append(row)
        print(f"  {label} {param}={v}: recall@3 {row['recall@3']:.4f} recall@{k} {row[f'recall@{k}']:.4f} "
              f"p50 {row['p50_ms']:.3f} ms", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--metric", choices=["ip", "l2"], required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--out", required=True, help="results JSON; the ground truth goes next to it")
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=128)
    ap.add_argument("--ef", default="16,32,64,128,256")
    ap.add_argument("--nprobe", default="1,4,16,64")
    ap.add_argument("--build-threads", type=int, default=1,
                    help="OpenMP threads for building (1: deterministic, comparable with a 1-thread build)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    base = np.ascontiguousarray(np.load(args.base, mmap_mode="r"), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(args.queries), dtype=np.float32)
    n, d = base.shape
    metric = faiss.METRIC_INNER_PRODUCT if args.metric == "ip" else faiss.METRIC_L2
    stem = args.out[:-5] if args.out.endswith(".json") else args.out
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    print(f"{args.base}: {n} x {d}, {len(queries)} queries, metric {args.metric}", flush=True)
    result = {"base": args.base, "queries": args.queries, "n": n, "dim": d, "nq": len(queries),
              "metric": args.metric, "k": args.k, "faiss": faiss.__version__, "numpy": np.__version__,
              "build_threads": args.build_threads, "search_threads": 1, "machine": platform.processor()
              or platform.machine(), "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    if args.metric == "ip":
        norms = np.linalg.norm(base[:1000], axis=1)
        result["base_norm_range_first_1000"] = [float(norms.min()), float(norms.max())]

    t0 = time.perf_counter()
    gt, gt_scores = exact_topk(base, queries, args.metric, GT_DEPTH)
    result["exact_seconds"] = time.perf_counter() - t0
    np.save(stem + ".gt.npy", gt)
    np.save(stem + ".gt_scores.npy", gt_scores)
    result["ground_truth"] = {"ids": stem + ".gt.npy", "scores": stem + ".gt_scores.npy",
                              "depth": int(gt.shape[1])}
    print(f"exact top-{gt.shape[1]}: {result['exact_seconds']:.1f} s -> {stem}.gt.npy", flush=True)

    # HNSW
    faiss.omp_set_num_threads(args.build_threads)
    index = faiss.IndexHNSWFlat(d, args.hnsw_m, metric)
    index.hnsw.efConstruction = args.ef_construction
    t0 = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - t0
    size = len(faiss.serialize_index(index))
    print(f"hnsw M={args.hnsw_m} efC={args.ef_construction}: build {build:.1f} s, {size} bytes", flush=True)

    def set_ef(v):
        index.hnsw.efSearch = v

    rows = evaluate(index, queries, gt, args.k, "hnsw", "efSearch",
                    [int(x) for x in args.ef.split(",")], set_ef)
    result["hnsw"] = {"M": args.hnsw_m, "efConstruction": args.ef_construction, "build_seconds": build,
                      "index_bytes": size, "results": rows}
    del index

    # IVF-PQ
    nlist = max(1, int(round(4 * np.sqrt(n))))
    m = max(x for x in range(1, 33) if d % x == 0)
    faiss.omp_set_num_threads(args.build_threads)
    quantizer = faiss.IndexFlatIP(d) if args.metric == "ip" else faiss.IndexFlatL2(d)
    index = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, metric)
    index.cp.seed = args.seed
    index.pq.cp.seed = args.seed
    t0 = time.perf_counter()
    index.train(base)
    train = time.perf_counter() - t0
    index.add(base)
    build = time.perf_counter() - t0
    size = len(faiss.serialize_index(index))
    print(f"ivfpq nlist={nlist} m={m}x8: build {build:.1f} s (train {train:.1f}), {size} bytes", flush=True)

    def set_nprobe(v):
        index.nprobe = v

    rows = evaluate(index, queries, gt, args.k, "ivfpq", "nprobe",
                    [int(x) for x in args.nprobe.split(",")], set_nprobe)
    result["ivfpq"] = {"nlist": nlist, "m": m, "nbits": 8, "train_seconds": train, "build_seconds": build,
                       "index_bytes": size, "results": rows}
    result["raw_float32_bytes"] = n * d * 4
    result["loadavg_end"] = os.getloadavg()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
