"""A Chroma collection and a LEANN index of the same records, side by side:

    python -m leann.compare chroma PATH [--collection NAME] --index NAME|PATH [-k 10] [--queries N] [--json]

Size on disk (the Chroma folder; the index file), recall@k of the index's results against Chroma's own results
for sample queries, and p50/p95 latency of one query on each. The sample queries are the first words of documents
spread over the collection; both sides get the same query embedding (ours: the index's model, which must be the
one Chroma's stored embeddings come from, checked on a sample), so latency counts the search alone, not the
query's embedding. Chroma's results are the reference of recall: its HNSW is itself approximate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from . import _core, models
from .migrate import folder_bytes, open_chroma

_QUERY_WORDS = 8


@dataclass
class Comparison:
    collection: str
    index: str
    records: int
    index_records: int
    k: int
    queries: int
    chroma_bytes: int
    index_bytes: int
    recall_at_k: float  # mean |ours & Chroma's| / k
    chroma_p50_ms: float
    chroma_p95_ms: float
    leann_p50_ms: float
    leann_p95_ms: float
    sample_cosine_min: Optional[float]  # our embedding vs Chroma's stored one, over a sample of documents


def _index_path(index: str) -> Path:
    candidate = Path(index)
    if os.sep in index or candidate.suffix == ".leann" or candidate.exists():
        return Path(os.fspath(_core.index_path_for_argument(index)))
    return Path(os.fspath(_core.index_path_for_name(index)))


def _percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def compare_chroma(path: os.PathLike | str, index: str, collection: Optional[str] = None, k: int = 10,
                   queries: int = 50, model: Optional[str] = None) -> Comparison:
    """Compares the Chroma collection with the index (a name or a path). Raises leann.Error when they cannot be
    compared (no such collection or index, or Chroma's embeddings from another model)."""
    if k < 1 or queries < 1:
        raise ValueError(f"compare: k and queries must be at least 1, got {k} and {queries}")
    path = Path(path)
    if not path.is_dir():
        raise _core.NotFoundError(f"compare: {path} is not a folder")
    index_path = _index_path(index)
    if not index_path.is_file():
        raise _core.NotFoundError(f"compare: no index at {index_path}")
    name, chroma = open_chroma(path, collection, "compare")
    records = chroma.count()
    if records == 0:
        raise _core.Error(f"compare: collection {name!r} is empty")
    leann_index = _core.Index.open(index_path)
    encoder = models.encoder_for_index(leann_index, model)
    stats = leann_index.stats()

    # Sample documents spread over the collection; their stored embeddings must be our model's for Chroma to answer
    # our query vectors meaningfully.
    offsets = np.unique(np.linspace(0, records - 1, num=min(queries, records)).astype(int))
    documents, stored = [], []
    for offset in offsets:
        page = chroma.get(offset=int(offset), limit=1, include=["documents", "embeddings"])
        if page["documents"] and isinstance(page["documents"][0], str):
            documents.append(page["documents"][0])
            stored.append(np.asarray(page["embeddings"][0], dtype=np.float32))
    if not documents:
        raise _core.Error(f"compare: collection {name!r} has no documents to make queries from")
    ours = encoder.encode(documents, "passage")
    theirs = np.stack(stored)
    if theirs.shape[1] != ours.shape[1]:
        raise _core.Error(f"compare: Chroma's embeddings have {theirs.shape[1]} dims, the index's model "
                          f"{leann_index.model.name!r} {ours.shape[1]}: not the same model, recall would compare "
                          f"two models")
    normalise = lambda v: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # noqa: E731
    cosine_min = float(np.min(np.sum(normalise(ours) * normalise(theirs), axis=1)))
    if cosine_min < 0.99:
        raise _core.Error(f"compare: Chroma's stored embeddings do not come from the index's model "
                          f"{leann_index.model.name!r} (cosine {cosine_min:.3f} on a sample): recall would compare "
                          f"two models")

    texts = [" ".join(d.split()[:_QUERY_WORDS]) for d in documents]
    vectors = encoder.encode(texts, "query")
    k = min(k, records)
    options = _core.SearchOptions()
    options.top_k = k
    # One query each first, untimed: the first touches cold pages and caches on both sides.
    chroma.query(query_embeddings=vectors[:1].tolist(), n_results=k, include=[])
    leann_index.search_vector(vectors[0], options)
    chroma_seconds, leann_seconds, recall = [], [], []
    for vector in vectors:
        started = time.perf_counter()
        expected = chroma.query(query_embeddings=[vector.tolist()], n_results=k, include=[])["ids"][0]
        chroma_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        hits = leann_index.search_vector(vector, options).hits
        leann_seconds.append(time.perf_counter() - started)
        recall.append(len({h.id for h in hits} & set(expected)) / k)
    return Comparison(
        collection=name, index=str(index_path), records=records, index_records=stats.chunks - stats.deleted, k=k,
        queries=len(texts), chroma_bytes=folder_bytes(path), index_bytes=index_path.stat().st_size,
        recall_at_k=float(np.mean(recall)),
        chroma_p50_ms=_percentile_ms(chroma_seconds, 50), chroma_p95_ms=_percentile_ms(chroma_seconds, 95),
        leann_p50_ms=_percentile_ms(leann_seconds, 50), leann_p95_ms=_percentile_ms(leann_seconds, 95),
        sample_cosine_min=cosine_min)


def format_table(c: Comparison) -> str:
    mb = lambda n: f"{n / 1e6:.2f} MB"  # noqa: E731
    rows = [
        ("", "Chroma", "LEANN"),
        ("records", str(c.records), str(c.index_records)),
        ("size on disk", mb(c.chroma_bytes), mb(c.index_bytes)),
        (f"recall@{c.k} vs Chroma", "1.000 (reference)", f"{c.recall_at_k:.3f}"),
        ("latency p50", f"{c.chroma_p50_ms:.2f} ms", f"{c.leann_p50_ms:.2f} ms"),
        ("latency p95", f"{c.chroma_p95_ms:.2f} ms", f"{c.leann_p95_ms:.2f} ms"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows]
    lines.append(f"({c.queries} queries: the first {_QUERY_WORDS} words of sample documents, the same query "
                 f"embedding on both sides; latency excludes embedding the query)")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leann.compare", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="source", required=True)
    chroma = sub.add_parser("chroma", help="a Chroma persistent folder")
    chroma.add_argument("path")
    chroma.add_argument("--collection", help="the collection (default: the only one)")
    chroma.add_argument("--index", required=True, help="the LEANN index: a name or a path")
    chroma.add_argument("-k", "--top-k", type=int, default=10, dest="k", help="results per query (default 10)")
    chroma.add_argument("--queries", type=int, default=50, help="sample queries (default 50)")
    chroma.add_argument("--model", help="the model folder, when the index's model is not in the model cache")
    chroma.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args(argv)
    try:
        comparison = compare_chroma(args.path, args.index, args.collection, args.k, args.queries, args.model)
    except (_core.Error, ValueError) as error:
        message = str(error)
        print(f"leann compare: {message.removeprefix('compare: ')}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(comparison)) if args.json else format_table(comparison))
    return 0


if __name__ == "__main__":
    sys.exit(main())
