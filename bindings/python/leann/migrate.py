"""Migration from a Chroma persistent folder to a LEANN index:

    python -m leann.migrate chroma PATH [--collection NAME] [--to NAME | --output FILE] [--model MODEL]

Reads every record of the collection (ids, documents, metadatas, embeddings) with the ``chromadb`` package. When the
collection's stored embeddings come from the target model (cosine >= 0.999 with our embedding of the same
document, checked on a sample; Chroma's default embedding function is all-MiniLM-L6-v2, our default), the index is
built from them without re-embedding; otherwise every document is embedded again. Then it verifies: record count,
ids, metadata and text of every record, and the overlap of the top-10 ids with Chroma's own query results for
sample queries. The index is written to a temporary file next to the target and renamed only when all of that
passed: nothing appears under the target name unless the migration completes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import _core, models

_PAGE = 5000


@dataclass
class MigrationReport:
    collection: str
    target: str
    records: int = 0
    reused_embeddings: bool = False
    sample_cosine_min: Optional[float] = None
    chroma_bytes: int = 0
    index_bytes: int = 0
    seconds: float = 0.0
    top10_overlap: Optional[float] = None
    queries: int = 0
    checks: list[str] = field(default_factory=list)


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def open_chroma(path: Path, collection: Optional[str], command: str = "migrate"):
    """(name, chromadb collection) of ``collection`` (None: the only one) in the Chroma folder ``path``."""
    try:
        import chromadb
    except ImportError:
        raise _core.Error(f"{command}: the chromadb package is needed to read a Chroma folder (pip install "
                          f"chromadb)") from None
    client = chromadb.PersistentClient(path=str(path))
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    if collection is None:
        if len(names) != 1:
            raise _core.Error(f"{command}: {path} holds {len(names)} collections ({', '.join(names) or 'none'}); "
                              f"choose one with --collection")
        collection = names[0]
    elif collection not in names:
        raise _core.NotFoundError(f"{command}: no collection {collection!r} in {path} (it has: "
                                  f"{', '.join(names) or 'none'})")
    return collection, client.get_collection(collection)


def _read_chroma(path: Path, collection: Optional[str]):
    collection, chroma = open_chroma(path, collection)
    ids: list[str] = []
    documents: list[Optional[str]] = []
    metadatas: list[Optional[dict]] = []
    embeddings: list[np.ndarray] = []
    offset = 0
    while True:
        page = chroma.get(limit=_PAGE, offset=offset, include=["documents", "metadatas", "embeddings"])
        if not page["ids"]:
            break
        ids += page["ids"]
        documents += page["documents"]
        metadatas += page["metadatas"]
        if page.get("embeddings") is not None:
            embeddings.append(np.asarray(page["embeddings"], dtype=np.float32))
        offset += len(page["ids"])
    vectors = np.concatenate(embeddings) if embeddings else None
    return collection, chroma, ids, documents, metadatas, vectors


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def migrate_chroma(path: os.PathLike | str, collection: Optional[str] = None, to: Optional[str] = None,
                   output: Optional[os.PathLike | str] = None, model: Optional[str] = None, sample: int = 32,
                   queries: int = 20, log=print) -> MigrationReport:
    """Migrates one Chroma collection to a LEANN index (the index NAME ``to``, default the collection's name, or the
    file ``output``). Raises leann.Error when anything does not check out; the target is then left untouched."""
    start = time.perf_counter()
    path = Path(path)
    if not path.is_dir():
        raise _core.NotFoundError(f"migrate: {path} is not a folder")
    name, chroma, ids, documents, metadatas, vectors = _read_chroma(path, collection)
    target = Path(output) if output is not None else Path(_core.index_path_for_name(to or name))
    report = MigrationReport(collection=name, target=str(target), records=len(ids),
                             chroma_bytes=folder_bytes(path))
    if not ids:
        raise _core.Error(f"migrate: collection {name!r} is empty: nothing to migrate")
    missing = [i for i, d in zip(ids, documents) if not isinstance(d, str) or not d.strip()]
    if missing:
        raise _core.Error(f"migrate: {len(missing)} records have no document (LEANN recomputes embeddings from "
                          f"text), e.g. {', '.join(missing[:5])}")
    encoder = models.encoder(model)
    info = encoder.info
    log(f"read {len(ids)} records of {name!r} from {path}")

    # Reuse Chroma's vectors when they are the target model's: a sample spread over the collection must agree.
    picks = np.unique(np.linspace(0, len(ids) - 1, num=min(sample, len(ids))).astype(int))
    if vectors is not None and vectors.shape == (len(ids), encoder.dims):
        ours = _normalise(encoder.encode([documents[i] for i in picks], "passage"))
        report.sample_cosine_min = float(np.min(np.sum(ours * _normalise(vectors[picks]), axis=1)))
        report.reused_embeddings = report.sample_cosine_min >= 0.999
    log(f"stored embeddings: {'reused' if report.reused_embeddings else 're-embedding every document'} "
        f"(sample cosine min {report.sample_cosine_min})")

    docs = [_core.Document(i, d, json.dumps(m or {}, ensure_ascii=False)) for i, d, m in zip(ids, documents, metadatas)]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.migrating-{os.getpid()}")
    try:
        options = _core.BuildOptions()
        if report.reused_embeddings:
            _core.Index.build_from_vectors(temporary, docs, np.ascontiguousarray(vectors), info.name,
                                           info.content_hash, info.similarity, options)
        else:
            writer_options = _core.WriterOptions()
            writer_options.build = options
            with _core.IndexWriter(temporary, encoder, writer_options) as writer:
                writer.upsert(docs)
        _verify(report, temporary, encoder, chroma, ids, documents, metadatas, picks, queries, log)
        with _core.IndexWriter(target, encoder, _waiting()):  # no writer of the target is half-way through
            os.replace(temporary, target)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".lock")):
            if leftover.exists():
                leftover.unlink()
    report.index_bytes = target.stat().st_size
    report.seconds = time.perf_counter() - start
    log(f"migrated {report.records} records to {target}: {report.chroma_bytes / 1e6:.1f} MB in Chroma -> "
        f"{report.index_bytes / 1e6:.1f} MB, top-10 overlap {report.top10_overlap:.3f}, {report.seconds:.1f} s")
    return report


def _waiting() -> _core.WriterOptions:
    options = _core.WriterOptions()
    options.wait = True
    return options


def _verify(report: MigrationReport, index_path: Path, encoder, chroma, ids, documents, metadatas, picks,
            queries: int, log) -> None:
    index = _core.Index.open(index_path)
    index.attach_encoder(encoder)
    index.verify()
    stored = {d.id: d for _node, d in index.documents()}
    if len(stored) != len(ids) or set(stored) != set(ids):
        raise _core.Error(f"migrate: the index holds {len(stored)} records, the collection {len(ids)}")
    for i, text, metadata in zip(ids, documents, metadatas):
        d = stored[i]
        if d.text != text or json.loads(d.metadata) != (metadata or {}):
            raise _core.Error(f"migrate: record {i!r} differs after migration")
    report.checks += ["count", "ids", "documents", "metadatas", "checksums"]
    # Sample queries: the first words of sample documents, answered by Chroma (its stored vectors, exact or HNSW) and
    # by the index, both with our query embedding.
    texts = [" ".join(documents[i].split()[:8]) for i in picks[:queries]]
    vectors = encoder.encode(texts, "query")
    k = min(10, len(ids))
    theirs = chroma.query(query_embeddings=vectors.tolist(), n_results=k, include=[])["ids"]
    options = _core.SearchOptions()
    options.top_k = k
    overlap = []
    for vector, expected in zip(vectors, theirs):
        got = {h.id for h in index.search_vector(vector, options).hits}
        overlap.append(len(got & set(expected)) / k)
    report.queries = len(texts)
    report.top10_overlap = float(np.mean(overlap))
    report.checks.append("top-10 overlap")
    log(f"verified: {', '.join(report.checks)}; top-{k} overlap with Chroma {report.top10_overlap:.3f} over "
        f"{len(texts)} queries")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leann.migrate", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="source", required=True)
    chroma = sub.add_parser("chroma", help="a Chroma persistent folder")
    chroma.add_argument("path")
    chroma.add_argument("--collection", help="the collection (default: the only one)")
    chroma.add_argument("--to", help="the LEANN index name (default: the collection's name)")
    chroma.add_argument("--output", help="an index file instead of a name")
    chroma.add_argument("--model", help="the embedding model (default: all-MiniLM-L6-v2, Chroma's default)")
    chroma.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = migrate_chroma(args.path, args.collection, args.to, args.output, args.model,
                                log=(lambda *a: print(*a, file=sys.stderr)) if args.json else print)
    except (_core.Error, ValueError) as error:
        message = str(error)
        print(f"leann migrate: {message.removeprefix('migrate: ')}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
