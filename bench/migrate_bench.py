"""Chroma -> LEANN migration at scale (issue 13): time, size before/after, top-10 overlap.

    build/pyenv/bin/python bench/migrate_bench.py [--docs 20000]

Makes a Chroma persistent collection (cosine space) of WordNet noun glosses (wordnet-base) holding the default
model's embeddings (all-MiniLM-L6-v2, Chroma's default embedding function; computed here with LEANN's encoder, which
gives sentence-transformers' vectors, so that no model is downloaded), then runs leann.migrate.migrate_chroma on it
and prints the report. Time to embed the corpus for Chroma is reported apart: it is not part of the migration.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import chromadb

import leann
from leann.migrate import migrate_chroma

sys.path.insert(0, str(Path(__file__).parent))
from python_bench import glosses  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    args = parser.parse_args()
    texts = glosses(args.docs)
    encoder = leann.load_encoder()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vectors = encoder.encode(texts, "passage")
        print(f"embedded {len(texts)} glosses for Chroma in {time.perf_counter() - t0:.1f} s")
        client = chromadb.PersistentClient(path=f"{tmp}/chroma")
        collection = client.create_collection("wordnet", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        t0 = time.perf_counter()
        for start in range(0, len(texts), 5000):
            end = min(len(texts), start + 5000)
            collection.add(ids=[f"g{i}" for i in range(start, end)], documents=texts[start:end],
                           metadatas=[{"n": i, "pos": "noun"} for i in range(start, end)],
                           embeddings=vectors[start:end].tolist())
        print(f"chroma add: {time.perf_counter() - t0:.1f} s")
        del client, collection
        report = migrate_chroma(f"{tmp}/chroma", output=Path(tmp) / "wordnet.leann", queries=100, sample=100)
        print(json.dumps(asdict(report), indent=1))


if __name__ == "__main__":
    main()
