"""A vector store for RAG applications, shaped like Chroma's client and collections.

``PersistentClient(path)`` keeps collections in one folder: ``<path>/<name>/index.leann`` (a LEANN index) and
``<path>/<name>/collection.json`` (name, id, metadata, embedding model). Every write goes through the library's
``IndexWriter``: it takes the index's writer lock (waiting for another thread or process that holds it), appends a
new generation and returns when it is on disk. Readers need no lock: a collection reopens its index when the file
changed, so it sees writes made by other processes.

LEANN stores no embeddings: it recomputes them from the documents, so every record needs a document (text).
Embeddings passed in are checked (they must come from the collection's model) and not stored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from . import _core, filtered_search, models
from .where import compile_where, compile_where_document, library_where

OneOrMany = Union[str, Sequence[str]]
Include = Sequence[str]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
_INDEX_FILE = "index.leann"
_CONFIG_FILE = "collection.json"

# One lock per collection folder in this process: writers of one collection take turns (other processes wait on
# the index's OS lock inside IndexWriter).
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


class DuplicateIDError(ValueError):
    """The same id appears twice in one call."""


def _write_lock(folder: Path) -> threading.Lock:
    key = os.fspath(folder.resolve())
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def _as_list(value: Any, what: str) -> Optional[list]:
    if value is None:
        return None
    if isinstance(value, (str, Mapping)):
        return [value]
    if isinstance(value, np.ndarray) and what == "embeddings":
        return list(value.reshape(-1, value.shape[-1])) if value.ndim else None
    return list(value)


def _check_metadata(metadata: Any, where: str) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValueError(f"{where}: metadata must be a dict, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ValueError(f"{where}: metadata keys must be strings, got {key!r}")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{where}: metadata value of {key!r} must be a str, int, float, bool or None, "
                             f"got {type(value).__name__}")
    return dict(metadata)


def _distance(score: float, metric: _core.Metric) -> float:
    # Chroma reports distances, lower is better: 1 - similarity for cosine and inner product, squared L2 for l2.
    return -score if metric == _core.Metric.l2 else 1.0 - score


class _Snapshot:
    """One opened generation of a collection's index, with its records read on demand."""

    def __init__(self, index: _core.Index, key: tuple):
        self.index = index
        self.key = key
        self._records: Optional[dict[str, tuple[str, dict]]] = None
        self._lock = threading.Lock()

    def records(self) -> dict[str, tuple[str, dict]]:
        """id -> (text, metadata), in node order (insertion order for records never changed)."""
        with self._lock:
            if self._records is None:
                records = {}
                for _node, doc in self.index.documents():
                    records[doc.id] = (doc.text, json.loads(doc.metadata))
                self._records = records
            return self._records


class Collection:
    """A named set of records (id, document, metadata) with semantic search. Thread- and process-safe."""

    def __init__(self, client: "PersistentClient", name: str, config: dict):
        self._client = client
        self._name = name
        self._config = config
        self._folder = client._root / name
        self._index_path = self._folder / _INDEX_FILE
        self._snapshot: Optional[_Snapshot] = None
        self._snapshot_lock = threading.Lock()

    # ---- identity -------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def id(self) -> str:
        return self._config["id"]

    @property
    def metadata(self) -> Optional[dict]:
        return self._config.get("metadata")

    @property
    def embedding_model(self) -> str:
        """The model that embeds this collection's documents and queries."""
        return self._config["embedding_model"]

    def __repr__(self) -> str:
        return f"Collection(name={self._name!r})"

    def modify(self, name: Optional[str] = None, metadata: Optional[dict] = None) -> None:
        """Renames the collection and/or replaces its metadata."""
        if metadata is not None:
            self._config["metadata"] = _check_metadata(metadata, "modify")
        if name is not None and name != self._name:
            _check_name(name)
            target = self._client._root / name
            with _write_lock(self._folder):
                if target.exists():
                    raise ValueError(f"collection {name!r} already exists")
                self._folder.rename(target)
            self._name, self._folder = name, target
            self._index_path = target / _INDEX_FILE
            self._config["name"] = name
            self._snapshot = None
        _write_config(self._folder, self._config)

    # ---- reading --------------------------------------------------------------------------------------------
    def _encoder(self) -> _core.Encoder:
        return models.encoder(self._config["embedding_model"])

    def _current(self) -> Optional[_Snapshot]:
        """The newest generation on disk (reopened when the file changed), or None for an empty collection."""
        try:
            st = os.stat(self._index_path)
        except FileNotFoundError:
            return None
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._snapshot_lock:
            if self._snapshot is None or self._snapshot.key != key:
                index = _core.Index.open(self._index_path)
                index.attach_encoder(self._encoder())
                self._snapshot = _Snapshot(index, key)
            return self._snapshot

    def count(self) -> int:
        """Records in the collection."""
        snapshot = self._current()
        if snapshot is None:
            return 0
        stats = snapshot.index.stats()
        return stats.chunks - stats.deleted

    def get(self, ids: Optional[OneOrMany] = None, where: Optional[dict] = None, limit: Optional[int] = None,
            offset: Optional[int] = None, where_document: Optional[dict] = None,
            include: Include = ("metadatas", "documents")) -> dict:
        """Records by id and/or filter, in stored order (ids: in the order asked, unknown ids left out)."""
        include = _check_include(include, ("documents", "metadatas", "embeddings"))
        selected = self._select(_as_list(ids, "ids"), where, where_document)
        if offset:
            selected = selected[offset:]
        if limit is not None:
            selected = selected[:limit]
        result: dict[str, Any] = {
            "ids": [i for i, _, _ in selected],
            "documents": [t for _, t, _ in selected] if "documents" in include else None,
            "metadatas": [m or None for _, _, m in selected] if "metadatas" in include else None,
            "embeddings": None,
            "uris": None,
            "data": None,
            "included": list(include),
        }
        if "embeddings" in include:
            texts = [t for _, t, _ in selected]
            result["embeddings"] = (self._encoder().encode(texts, "passage") if texts
                                    else np.zeros((0, self._encoder().dims), np.float32))
        return result

    def peek(self, limit: int = 10) -> dict:
        return self.get(limit=limit)

    def _select(self, ids: Optional[list], where: Optional[dict],
                where_document: Optional[dict]) -> list[tuple[str, str, dict]]:
        keep_meta = compile_where(where)
        keep_text = compile_where_document(where_document)
        snapshot = self._current()
        if snapshot is None:
            return []
        records = snapshot.records()
        if ids is not None:
            candidates = [(i, *records[i]) for i in dict.fromkeys(ids) if i in records]
        else:
            candidates = [(i, t, m) for i, (t, m) in records.items()]
        return [(i, t, m) for i, t, m in candidates if keep_meta(m) and keep_text(t)]

    def query(self, query_embeddings: Any = None, query_texts: Optional[OneOrMany] = None, n_results: int = 10,
              where: Optional[dict] = None, where_document: Optional[dict] = None,
              include: Include = ("metadatas", "documents", "distances"), *, complexity: int = 0,
              mode: str = "vector", fusion: Optional[str] = None, vector_weight: Optional[float] = None) -> dict:
        """Nearest records of each query text (or query embedding, from this collection's model): lists of lists,
        one per query, best first. ``distances`` are 1 - cosine similarity (Chroma's cosine space).

        ``where`` is filtered by the library during the search (the top ``n_results`` of the matching records);
        ``where_document`` is checked in Python (docs/python.md, "Filters"). ``mode``: "vector" (default),
        "keyword" (BM25 over the index's keyword index; query texts only) or "hybrid" (both fused by ``fusion``,
        "rrf" or "convex", the vector side weighted ``vector_weight``; None: the library's measured defaults, convex
        at 0.6); their distances are 1 - the fused or BM25 score, for ordering only. Vector stays the default here
        (unlike `leann search`) so that distances are Chroma's."""
        include = _check_include(include, ("documents", "metadatas", "distances", "embeddings"))
        texts = _as_list(query_texts, "query_texts")
        vectors = None if query_embeddings is None else np.asarray(query_embeddings, dtype=np.float32)
        if (texts is None) == (vectors is None):
            raise ValueError("query: give exactly one of query_texts and query_embeddings")
        if vectors is not None and vectors.ndim == 1:
            vectors = vectors[None, :]
        if n_results < 1:
            raise ValueError(f"query: n_results must be at least 1, got {n_results}")
        keep_meta = compile_where(where)
        keep_text = compile_where_document(where_document)
        keep = (lambda m, t: keep_meta(m) and keep_text(t)) if (where or where_document) else None
        make_options = filtered_search.search_options(complexity, mode, fusion, vector_weight)
        if vectors is not None and make_options(1).mode != _core.SearchMode.vector:
            raise ValueError(f"query: mode {mode!r} needs query_texts (keyword search does not use embeddings)")
        library = library_where(where)
        snapshot = self._current()
        queries = texts if texts is not None else list(vectors)
        out: dict[str, Any] = {key: [] for key in ("ids", "documents", "metadatas", "distances", "embeddings")}
        for query in queries:
            hits = [] if snapshot is None else [
                (hit.id, hit.text, metadata, hit.score)
                for hit, metadata in filtered_search.search(
                    snapshot.index, query, n_results, make_options, keep, library,
                    lambda: ((m, t) for t, m in snapshot.records().values()))]
            out["ids"].append([h[0] for h in hits])
            out["documents"].append([h[1] for h in hits])
            out["metadatas"].append([h[2] or None for h in hits])
            out["distances"].append([_distance(h[3], snapshot.index.metric) for h in hits])
            if "embeddings" in include:  # recomputed: LEANN stores none
                out["embeddings"].append(self._encoder().encode([h[1] for h in hits], "passage") if hits else [])
        for key in ("documents", "metadatas", "distances", "embeddings"):
            if key not in include:
                out[key] = None
        out.update(uris=None, data=None, included=list(include))
        return out

    # ---- writing --------------------------------------------------------------------------------------------
    def _records_in(self, call: str, ids: Any, documents: Any, metadatas: Any, embeddings: Any,
                    need_documents: bool) -> tuple[list, Optional[list], Optional[list]]:
        ids = _as_list(ids, "ids")
        if not ids:
            raise ValueError(f"{call}: ids must be a non-empty list of strings")
        for i in ids:
            if not isinstance(i, str) or not i:
                raise ValueError(f"{call}: ids must be non-empty strings, got {i!r}")
        seen: set[str] = set()
        duplicates = sorted({i for i in ids if i in seen or seen.add(i)})
        if duplicates:
            raise DuplicateIDError(f"{call}: ids appear more than once: {', '.join(duplicates[:10])}")
        documents = _as_list(documents, "documents")
        metadatas = _as_list(metadatas, "metadatas")
        for what, values in (("documents", documents), ("metadatas", metadatas)):
            if values is not None and len(values) != len(ids):
                raise ValueError(f"{call}: {len(values)} {what} for {len(ids)} ids")
        if documents is None and need_documents:
            raise ValueError(f"{call}: documents are required: LEANN recomputes embeddings from the text and stores "
                             f"no vectors")
        if documents is not None:
            for i, text in zip(ids, documents):
                if not isinstance(text, str) or not text.strip():
                    raise ValueError(f"{call}: the document of id {i!r} must be a non-empty string")
        if metadatas is not None:
            metadatas = [_check_metadata(m, f"{call}: id {i!r}") for i, m in zip(ids, metadatas)]
        if embeddings is not None and documents is not None:
            self._check_embeddings(call, documents, embeddings, len(ids))
        return ids, documents, metadatas

    def _check_embeddings(self, call: str, documents: list, embeddings: Any, count: int) -> None:
        given = np.asarray(embeddings, dtype=np.float32)
        if given.ndim != 2 or given.shape[0] != count:
            raise ValueError(f"{call}: embeddings must be {count} vectors, got shape {given.shape}")
        encoder = self._encoder()
        if given.shape[1] != encoder.dims:
            raise ValueError(f"{call}: embeddings have {given.shape[1]} dims, the collection's model "
                             f"{self.embedding_model!r} {encoder.dims}")
        # They are not stored (search recomputes from the text); a sample must agree with our model, or the caller
        # is mixing models and would get results that do not match their vectors.
        sample = min(count, 4)
        ours = encoder.encode(documents[:sample], "passage")
        theirs = given[:sample] / np.maximum(np.linalg.norm(given[:sample], axis=1, keepdims=True), 1e-12)
        ours = ours / np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
        worst = float(np.min(np.sum(ours * theirs, axis=1)))
        if worst < 0.99:
            raise ValueError(f"{call}: the embeddings given do not come from the collection's model "
                             f"{self.embedding_model!r} (cosine {worst:.3f} with ours on a sample); LEANN recomputes "
                             f"embeddings from the documents: pass documents only")

    def _write(self, fn) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        options = _core.WriterOptions()
        options.wait = True
        with _write_lock(self._folder):
            with _core.IndexWriter(self._index_path, self._encoder(), options) as writer:
                fn(writer)

    def add(self, ids: OneOrMany, documents: Optional[OneOrMany] = None, metadatas: Any = None,
            embeddings: Any = None, uris: Any = None, images: Any = None) -> None:
        """Adds records; ids already in the collection are left as they are (with a warning), as in Chroma."""
        _refuse_media("add", uris, images)
        ids, documents, metadatas = self._records_in("add", ids, documents, metadatas, embeddings, True)

        def write(writer: _core.IndexWriter) -> None:
            existing = self._existing_ids()
            new = [k for k, i in enumerate(ids) if i not in existing]
            if len(new) < len(ids):
                skipped = [i for i in ids if i in existing]
                warnings.warn(f"add: {len(skipped)} ids already exist and were left as they are "
                              f"(use upsert or update): {', '.join(skipped[:5])}", stacklevel=4)
            if new:
                writer.upsert([_core.Document(ids[k], documents[k],
                                              json.dumps(metadatas[k] if metadatas else {}, ensure_ascii=False))
                               for k in new])

        self._write(write)

    def upsert(self, ids: OneOrMany, documents: Optional[OneOrMany] = None, metadatas: Any = None,
               embeddings: Any = None, uris: Any = None, images: Any = None) -> None:
        """Adds new ids and replaces existing ones (a missing document or metadata keeps the stored one)."""
        _refuse_media("upsert", uris, images)
        ids, documents, metadatas = self._records_in("upsert", ids, documents, metadatas, embeddings, False)

        def write(writer: _core.IndexWriter) -> None:
            records = self._existing_records()
            docs = []
            for k, i in enumerate(ids):
                old = records.get(i)
                if old is None and documents is None:
                    raise ValueError(f"upsert: id {i!r} is new and has no document")
                text = documents[k] if documents is not None else old[0]
                metadata = metadatas[k] if metadatas is not None else (old[1] if old else {})
                docs.append(_core.Document(i, text, json.dumps(metadata, ensure_ascii=False)))
            writer.upsert(docs)

        self._write(write)

    def update(self, ids: OneOrMany, documents: Optional[OneOrMany] = None, metadatas: Any = None,
               embeddings: Any = None, uris: Any = None, images: Any = None) -> None:
        """Changes existing records: a new document is re-embedded; metadata keys are merged into the stored ones
        (a key set to None is removed). Unknown ids are skipped with a warning."""
        _refuse_media("update", uris, images)
        ids, documents, metadatas = self._records_in("update", ids, documents, metadatas, embeddings, False)

        def write(writer: _core.IndexWriter) -> None:
            records = self._existing_records()
            missing = [i for i in ids if i not in records]
            if missing:
                warnings.warn(f"update: {len(missing)} ids do not exist and were skipped: {', '.join(missing[:5])}",
                              stacklevel=4)
            docs = []
            for k, i in enumerate(ids):
                if i not in records:
                    continue
                text, metadata = records[i]
                if documents is not None:
                    text = documents[k]
                if metadatas is not None:
                    metadata = {**metadata, **metadatas[k]}
                    metadata = {key: v for key, v in metadata.items() if v is not None}
                docs.append(_core.Document(i, text, json.dumps(metadata, ensure_ascii=False)))
            if docs:
                writer.upsert(docs)

        self._write(write)

    def delete(self, ids: Optional[OneOrMany] = None, where: Optional[dict] = None,
               where_document: Optional[dict] = None) -> None:
        """Removes the records with these ids and/or matching the filters (unknown ids are ignored)."""
        ids = _as_list(ids, "ids")
        if ids is None and not where and not where_document:
            raise ValueError("delete: give ids, where or where_document (delete_collection removes everything)")

        def write(writer: _core.IndexWriter) -> None:
            doomed = [i for i, _, _ in self._select(ids, where, where_document)]
            if not doomed:
                return
            if len(doomed) >= self._count_now():
                # The library keeps no empty index: removing every record removes the file (under the lock).
                os.unlink(self._index_path)
                return
            writer.remove(doomed)

        self._write(write)

    # The writer lock is held in these: they read the newest generation.
    def _existing_records(self) -> dict:
        snapshot = self._current()
        return {} if snapshot is None else snapshot.records()

    def _existing_ids(self) -> set:
        return set(self._existing_records())

    def _count_now(self) -> int:
        return self.count()


def _check_include(include: Include, allowed: Iterable[str]) -> tuple:
    include = tuple(include)
    allowed = tuple(allowed)
    for item in include:
        if item not in allowed:
            raise ValueError(f"include: {item!r} is not one of {', '.join(allowed)}")
    return include


def _refuse_media(call: str, uris: Any, images: Any) -> None:
    if uris is not None or images is not None:
        raise ValueError(f"{call}: uris and images are not supported (LEANN indexes text)")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ValueError(f"collection name {name!r}: expected 3-512 characters [A-Za-z0-9._-], starting and ending "
                         f"with a letter or digit")


def _write_config(folder: Path, config: dict) -> None:
    tmp = folder / (_CONFIG_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / _CONFIG_FILE)


def _read_config(folder: Path) -> dict:
    path = folder / _CONFIG_FILE
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as error:
        raise _core.Error(f"{path}: cannot read the collection's configuration: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("id"), str) or \
            not isinstance(config.get("embedding_model"), str):
        raise _core.Error(f"{path}: expected an object with 'id' and 'embedding_model' strings")
    return config


class PersistentClient:
    """Collections kept in the folder ``path`` (created when missing), as with ``chromadb.PersistentClient``.

    ``embedding_model``: the model of new collections (a name from ``leann.installed_models()`` such as
    "all-MiniLM-L6-v2" — Chroma's default embedding model —, "sentence-transformers/...", or a model folder).
    """

    def __init__(self, path: Union[str, os.PathLike] = "./leann_data", settings: Any = None,
                 embedding_model: Optional[str] = None, **kwargs: Any):
        if settings is not None or kwargs:
            warnings.warn(f"PersistentClient: settings {sorted(kwargs) or ['settings']} are Chroma's and are "
                          f"ignored", stacklevel=2)
        self._root = Path(path)
        self._root.mkdir(parents=True, exist_ok=True)
        self._default_model = embedding_model or _core.default_model_name

    def heartbeat(self) -> int:
        return time.time_ns()

    def list_collections(self, limit: Optional[int] = None, offset: Optional[int] = None) -> list[Collection]:
        names = sorted(p.name for p in self._root.iterdir() if (p / _CONFIG_FILE).is_file())
        names = names[offset or 0:]
        if limit is not None:
            names = names[:limit]
        return [self.get_collection(n) for n in names]

    def count_collections(self) -> int:
        return len(self.list_collections())

    def create_collection(self, name: str, metadata: Optional[dict] = None, embedding_function: Any = None,
                          get_or_create: bool = False, embedding_model: Optional[str] = None) -> Collection:
        _check_name(name)
        if embedding_function is not None:
            warnings.warn("embedding_function is ignored: LEANN embeds with its in-process model "
                          "(pass embedding_model=...)", stacklevel=2)
        folder = self._root / name
        with _write_lock(folder):
            if (folder / _CONFIG_FILE).is_file():
                if get_or_create:
                    return Collection(self, name, _read_config(folder))
                raise ValueError(f"collection {name!r} already exists")
            model = embedding_model or self._default_model
            models.resolve(model)  # refuse a model that is not installed now, not at the first add
            config = {"name": name, "id": str(uuid.uuid4()), "metadata": _check_metadata(metadata, "metadata") or None,
                      "embedding_model": model}
            folder.mkdir(parents=True, exist_ok=True)
            _write_config(folder, config)
            return Collection(self, name, config)

    def get_collection(self, name: str, embedding_function: Any = None) -> Collection:
        _check_name(name)
        folder = self._root / name
        if not (folder / _CONFIG_FILE).is_file():
            raise _core.NotFoundError(f"collection {name!r} does not exist in {self._root}")
        return Collection(self, name, _read_config(folder))

    def get_or_create_collection(self, name: str, metadata: Optional[dict] = None, embedding_function: Any = None,
                                 embedding_model: Optional[str] = None) -> Collection:
        return self.create_collection(name, metadata, embedding_function, get_or_create=True,
                                      embedding_model=embedding_model)

    def delete_collection(self, name: str) -> None:
        """Removes the collection's folder (after waiting for a writer of it to finish)."""
        _check_name(name)
        folder = self._root / name
        if not (folder / _CONFIG_FILE).is_file():
            raise _core.NotFoundError(f"collection {name!r} does not exist in {self._root}")
        with _write_lock(folder):
            options = _core.WriterOptions()
            options.wait = True
            # Holding the index's writer lock: no other process is half-way through a write.
            writer = _core.IndexWriter(folder / _INDEX_FILE, models.encoder(_read_config(folder)["embedding_model"]),
                                       options)
            try:
                trash = self._root / f".{name}.deleted-{uuid.uuid4().hex}"
                folder.rename(trash)
            finally:
                writer.close()
            shutil.rmtree(trash, ignore_errors=True)

    def reset(self) -> None:
        for collection in self.list_collections():
            self.delete_collection(collection.name)
