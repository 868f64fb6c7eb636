"""Filtered Collection.query (issue 13): the library's filter during the search vs the Python widening loop the
package used before it (the loop is still its path for filters the library cannot apply).

    build/pyenv/bin/python bench/python_filter_bench.py [--docs 5000] [--buckets 500] [--queries 20] [-k 5]

A collection of WordNet noun glosses (wordnet-base, scripts/setup.sh) with the default model, each record in one
of --buckets buckets (metadata "bucket"): a where {"bucket": b} matches docs/buckets records (5000/500: 10
records, 0.2%). Per query (the first 8 words of a random gloss, a random bucket), in a warm process: wall time of
Collection.query(where=...) and of the widening loop (filtered_search with no library part: 4x more candidates,
at least 32, until k pass or every record was ranked), how many results each returned, and their recall@k against
the exact top-k among the matching records (brute force over their embeddings).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import leann
from leann import filtered_search
from leann.where import compile_where

sys.path.insert(0, str(Path(__file__).resolve().parent))
from python_bench import glosses  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--buckets", type=int, default=500)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    texts = glosses(args.docs)
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as folder:
        client = leann.PersistentClient(Path(folder) / "db")
        notes = client.create_collection("glosses")
        started = time.perf_counter()
        for start in range(0, len(texts), 1000):
            chunk = range(start, min(start + 1000, len(texts)))
            notes.add(ids=[f"g{i}" for i in chunk], documents=[texts[i] for i in chunk],
                      metadatas=[{"n": i, "bucket": i % args.buckets} for i in chunk])
        print(f"collection of {notes.count()} records built in {time.perf_counter() - started:.0f} s", flush=True)
        snapshot = notes._current()
        index = snapshot.index
        encoder = leann.load_encoder(notes.embedding_model)
        passages = encoder.encode(texts, "passage")

        rows = {"library": [], "widening": []}
        for q in range(args.queries + 1):  # the first query warms both paths and is not counted
            query = " ".join(texts[rng.randrange(len(texts))].split()[:8])
            bucket = rng.randrange(args.buckets)
            where = {"bucket": bucket}
            members = [i for i in range(len(texts)) if i % args.buckets == bucket]
            qv = encoder.encode([query], "query")[0]
            exact = {f"g{i}" for i in sorted(members, key=lambda i: -float(passages[i] @ qv))[:args.k]}

            t = time.perf_counter()
            got = notes.query(query_texts=[query], n_results=args.k, where=where)["ids"][0]
            library_s = time.perf_counter() - t

            keep_meta = compile_where(where)
            make = filtered_search.search_options(0, "vector")
            t = time.perf_counter()
            old = [h.id for h, _ in filtered_search._widening(index, query, args.k, make,
                                                              lambda m, _t: keep_meta(m), None)]
            widening_s = time.perf_counter() - t
            if q == 0:
                continue
            want = min(args.k, len(members))
            rows["library"].append((library_s, len(got), len(set(got) & exact) / want))
            rows["widening"].append((widening_s, len(old), len(set(old) & exact) / want))

        matches = args.docs // args.buckets
        print(f"{args.docs} records, where matches {matches} ({100 * matches / args.docs:.1f}%), k={args.k}, "
              f"{args.queries} queries")
        print(f"{'path':<10} {'median ms':>10} {'p95 ms':>8} {'results (min)':>14} {'recall@k':>9}")
        for name, values in rows.items():
            seconds = sorted(v[0] for v in values)
            print(f"{name:<10} {1000 * statistics.median(seconds):>10.1f} "
                  f"{1000 * float(np.percentile(seconds, 95)):>8.1f} {min(v[1] for v in values):>14} "
                  f"{statistics.mean(v[2] for v in values):>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
