"""The reference package's API (``LeannBuilder``, ``LeannSearcher``, ``LeannChat``), so that its users can switch.

Differences, decided per option (docs/python.md lists them):

* one backend: "hnsw" (the reference's default) is ours; "diskann" is accepted with a warning (same kind of graph
  index, built our way); any other backend name is refused;
* models run in-process (no PyTorch): embedding_mode "sentence-transformers" only; the default model is ours
  (all-MiniLM-L6-v2); a model that is not installed is refused with the list of installed ones;
* ZeroMQ ports, warm-up, beam width, pruning strategy and the like concern the reference's embedding server and
  are accepted and ignored with a warning when set to anything but their default;
* LLMs: "ollama", "openai" (any OpenAI-compatible server) and "simulated"; "hf" and "mlx" are refused (PyTorch).
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from . import _core, filtered_search, models
from .chat import chat_model
from .where import compile_metadata_filters, metadata_filters_where

PathLike = Union[str, os.PathLike]

_BACKENDS = {"hnsw"}
_SIMILAR_BACKENDS = {"diskann"}
_METRICS = {"mips": _core.Metric.inner_product, "ip": _core.Metric.inner_product,
            "inner_product": _core.Metric.inner_product, "cosine": _core.Metric.cosine, "l2": _core.Metric.l2}


@dataclass
class SearchResult:
    """One hit: ``id`` (the record's id), ``score`` (higher is better), ``text``, ``metadata`` (dict)."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _ignored(where: str, **options: Any) -> None:
    for name, value in options.items():
        warnings.warn(f"{where}: {name}={value!r} concerns the reference's embedding server and is ignored",
                      stacklevel=3)


def _index_file(index_path: PathLike) -> Path:
    return Path(os.fspath(_core.index_path_for_argument(os.fspath(index_path))))


class LeannBuilder:
    """Collects texts and builds an index (``build_index``) or adds them to one (``update_index``)."""

    def __init__(self, backend_name: str = "hnsw", embedding_model: Optional[str] = None,
                 dimensions: Optional[int] = None, embedding_mode: str = "sentence-transformers",
                 embedding_options: Optional[dict] = None, **backend_kwargs: Any):
        if backend_name in _SIMILAR_BACKENDS:
            warnings.warn(f"backend_name={backend_name!r}: LEANN in C++ has one backend (a pruned HNSW-style graph "
                          f"with PQ codes); building that", stacklevel=2)
        elif backend_name not in _BACKENDS:
            raise ValueError(f"backend_name={backend_name!r} is not supported: LEANN in C++ has one backend, 'hnsw'")
        if embedding_mode not in ("sentence-transformers", None):
            raise ValueError(f"embedding_mode={embedding_mode!r} is not supported: embeddings are computed "
                             f"in-process from sentence-transformers model folders ('sentence-transformers')")
        if embedding_options:
            _ignored("LeannBuilder", embedding_options=embedding_options)
        self.backend_name = "hnsw"
        self.embedding_model = embedding_model or _core.default_model_name
        self._encoder = models.encoder(self.embedding_model)
        if dimensions is not None and dimensions != self._encoder.dims:
            raise ValueError(f"dimensions={dimensions}: the model {self.embedding_model!r} gives "
                             f"{self._encoder.dims}-dimensional embeddings")
        self.dimensions = self._encoder.dims
        self._options = _build_options(backend_kwargs)
        self.chunks: list[dict[str, Any]] = []
        self._positional: set[int] = set()  # chunks whose id is their position (no id given)

    def add_text(self, text: str, metadata: Optional[dict[str, Any]] = None) -> None:
        """Adds one text. Its id is metadata["id"] when given, else its position ("0", "1", ...)."""
        if not isinstance(text, str):
            raise TypeError(f"add_text: text must be a str, got {type(text).__name__}")
        metadata = dict(metadata or {})
        if "id" not in metadata:
            self._positional.add(len(self.chunks))
            metadata["id"] = str(len(self.chunks))
        self.chunks.append({"text": text, "metadata": metadata})

    def _documents(self) -> list[_core.Document]:
        documents = []
        seen: set[str] = set()
        for chunk in self.chunks:
            doc_id = str(chunk["metadata"]["id"])
            if doc_id in seen:
                raise ValueError(f"add_text: id {doc_id!r} was given twice")
            seen.add(doc_id)
            documents.append(_core.Document(doc_id, chunk["text"], json.dumps(chunk["metadata"], ensure_ascii=False)))
        return documents

    def build_index(self, index_path: PathLike) -> None:
        """Embeds every text added and writes a new index at ``index_path`` (a file; a folder means
        <folder>/index.leann). The GIL is released while it runs."""
        if not self.chunks:
            raise ValueError("build_index: no texts were added (add_text)")
        path = _index_file(index_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        documents = self._documents()
        # Built by the index writer, so that update_index can add to it in place (a new generation).
        with _core.IndexWriter(path, self._encoder, self._writer_options()) as writer:
            if path.exists():
                os.unlink(path)  # build_index replaces what was there; readers keep the file they mapped
            writer.upsert(documents)

    def _writer_options(self) -> _core.WriterOptions:
        options = _core.WriterOptions()
        options.build = self._options
        options.wait = True
        return options

    def build_index_from_embeddings(self, index_path: PathLike, embeddings_file: Any) -> None:
        """Builds from precomputed embeddings: ``embeddings_file`` is a pickle of ``(ids, embeddings)`` as the
        reference writes it, an .npy file, or an ``(ids, embeddings)`` tuple. The texts come from add_text (by id,
        else by position): LEANN recomputes embeddings from text at search time, so the vectors must come from
        this builder's model (checked on a sample)."""
        ids, vectors = _load_embeddings(embeddings_file)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"build_index_from_embeddings: expected a 2-d array, got shape {vectors.shape}")
        if vectors.shape[1] != self._encoder.dims:
            raise ValueError(f"build_index_from_embeddings: {vectors.shape[1]}-dimensional embeddings, the model "
                             f"{self.embedding_model!r} gives {self._encoder.dims}")
        if not self.chunks:
            raise ValueError("build_index_from_embeddings: LEANN stores text, not vectors: add the texts the "
                             "embeddings were made from with add_text first")
        by_id = {str(c["metadata"]["id"]): c for c in self.chunks}
        if ids is None:
            ids = [str(c["metadata"]["id"]) for c in self.chunks]
        ids = [str(i) for i in ids]
        if len(ids) != len(vectors):
            raise ValueError(f"build_index_from_embeddings: {len(ids)} ids for {len(vectors)} embeddings")
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ValueError(f"build_index_from_embeddings: no text was added for ids {missing[:5]}")
        chunks = [by_id[i] for i in ids]
        sample = min(len(chunks), 4)
        ours = self._encoder.encode([c["text"] for c in chunks[:sample]], "passage")
        theirs = vectors[:sample] / np.maximum(np.linalg.norm(vectors[:sample], axis=1, keepdims=True), 1e-12)
        ours = ours / np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
        worst = float(np.min(np.sum(ours * theirs, axis=1)))
        if worst < 0.99:
            raise ValueError(f"build_index_from_embeddings: the embeddings do not come from {self.embedding_model!r} "
                             f"(cosine {worst:.3f} with its embedding of the same text); search recomputes with "
                             f"that model, so the index would be inconsistent")
        documents = [_core.Document(i, c["text"], json.dumps(c["metadata"], ensure_ascii=False))
                     for i, c in zip(ids, chunks)]
        info = self._encoder.info
        metric = self._options.metric if self._options.metric is not None else info.similarity
        path = _index_file(index_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _core.Index.build_from_vectors(path, documents, vectors, info.name, info.content_hash, metric, self._options)

    def update_index(self, index_path: PathLike) -> None:
        """Adds the texts added since to an existing index (embedding only them), as one new generation. Ids
        already in the index are replaced."""
        if not self.chunks:
            raise ValueError("update_index: no texts were added (add_text)")
        path = _index_file(index_path)
        if not path.exists():
            raise _core.NotFoundError(f"update_index: {path} does not exist (build_index first)")
        existing = {doc.id for _node, doc in _core.Index.open(path).documents()}
        # Texts added without an id continue the index's numbering, as in the reference; given ids replace.
        next_id = len(existing)
        for position in sorted(self._positional):
            while str(next_id) in existing:
                next_id += 1
            self.chunks[position]["metadata"]["id"] = str(next_id)
            next_id += 1
        documents = self._documents()
        with _core.IndexWriter(path, self._encoder, self._writer_options()) as writer:
            current = _core.Index.open(path)
            if not current.sources():
                # Built from vectors (or by an older version): no record manifest to update. Rebuilt once from its
                # texts with these added; later updates are in place.
                added = {d.id for d in documents}
                documents = [d for _node, d in current.documents() if d.id not in added] + documents
                del current
                os.unlink(path)
            writer.upsert(documents)
        self.chunks = []
        self._positional = set()


def _build_options(kwargs: dict[str, Any]) -> _core.BuildOptions:
    options = _core.BuildOptions()
    kwargs = dict(kwargs)
    if "graph_degree" in kwargs:
        options.graph.max_degree = int(kwargs.pop("graph_degree"))
    if "M" in kwargs:
        options.graph.max_degree = int(kwargs.pop("M"))
    for name in ("complexity", "build_complexity", "efConstruction", "ef_construction"):
        if name in kwargs:
            options.graph.ef_construction = int(kwargs.pop(name))
    if "num_threads" in kwargs:
        options.threads = int(kwargs.pop("num_threads"))
    if "distance_metric" in kwargs:
        metric = kwargs.pop("distance_metric")
        if metric not in _METRICS:
            raise ValueError(f"distance_metric={metric!r}: expected one of {', '.join(_METRICS)}")
        options.metric = _METRICS[metric]
    for name in ("pq_bytes", "hub_cache_bytes", "encode_batch"):
        if name in kwargs:
            setattr(options, name, int(kwargs.pop(name)))
    for name in ("hub_degree", "pruned_degree"):
        if name in kwargs:
            setattr(options.graph, name, int(kwargs.pop(name)))
    if "prune" in kwargs:
        options.graph.prune = bool(kwargs.pop("prune"))
    # The reference's storage switches: our index is always compact and always recomputes.
    if kwargs.pop("is_compact", True) is not True or kwargs.pop("is_recompute", True) is not True:
        warnings.warn("is_compact/is_recompute=False: LEANN in C++ always stores the compact graph and no "
                      "embeddings; ignored", stacklevel=3)
    if kwargs:
        _ignored("LeannBuilder", **kwargs)
    return options


def _load_embeddings(source: Any) -> tuple[Optional[list], np.ndarray]:
    if isinstance(source, tuple) and len(source) == 2:
        return list(source[0]), np.asarray(source[1])
    if isinstance(source, np.ndarray):
        return None, source
    path = Path(os.fspath(source))
    if path.suffix == ".npy":
        return None, np.load(path, allow_pickle=False)
    # The reference's format: a pickle of (ids, embeddings). Pickles run code: load only files you made.
    with open(path, "rb") as f:
        data = pickle.load(f)
    if not (isinstance(data, tuple) and len(data) == 2):
        raise ValueError(f"{path}: expected a pickle of (ids, embeddings)")
    return list(data[0]), np.asarray(data[1])


class LeannSearcher:
    """Searches one index. ``search`` is thread-safe and releases the GIL."""

    def __init__(self, index_path: PathLike, enable_warmup: bool = False, recompute_embeddings: bool = True,
                 embedding_model: Optional[str] = None, **backend_kwargs: Any):
        self.index_path = _index_file(index_path)
        if not self.index_path.exists():
            raise _core.NotFoundError(f"{self.index_path}: no index there (LeannBuilder.build_index makes one)")
        self._index = _core.Index.open(self.index_path)
        models.encoder_for_index(self._index, embedding_model)
        self._recompute = recompute_embeddings
        backend_kwargs.pop("backend_name", None)
        if enable_warmup:
            _ignored("LeannSearcher", enable_warmup=enable_warmup)
        if backend_kwargs:
            _ignored("LeannSearcher", **backend_kwargs)

    @property
    def index(self) -> _core.Index:
        """The open index (leann.Index) for the native API."""
        return self._index

    def search(self, query: str, top_k: int = 5, complexity: Optional[int] = None, beam_width: int = 1,
               prune_ratio: float = 0.0, recompute_embeddings: Optional[bool] = None,
               pruning_strategy: str = "global", expected_zmq_port: Optional[int] = None,
               metadata_filters: Optional[dict] = None, batch_size: int = 0, use_grep: bool = False,
               mode: str = "vector", fusion: Optional[str] = None, vector_weight: Optional[float] = None,
               **kwargs: Any) -> list[SearchResult]:
        """The ``top_k`` best texts for ``query``. ``complexity``: search list size (None: the library's automatic
        choice). ``metadata_filters``: the reference's filter dict ({"field": {"==": value}}, ...); the library
        applies its conditions during the search, contains/starts_with/ends_with are checked in Python
        (docs/python.md, "Filters").
        ``mode``: "vector" (default, as the reference), "keyword" (BM25 over the index's keyword index) or "hybrid"
        (both, fused by ``fusion``, "rrf" or "convex", the vector side weighted ``vector_weight``; None: the
        library's measured defaults, convex at 0.6)."""
        if use_grep:
            raise ValueError("use_grep=True is not supported by LeannSearcher.search")
        if beam_width != 1 or prune_ratio != 0.0 or pruning_strategy != "global" or expected_zmq_port is not None:
            _ignored("search", **{k: v for k, v in (("beam_width", beam_width), ("prune_ratio", prune_ratio),
                                                     ("pruning_strategy", pruning_strategy),
                                                     ("expected_zmq_port", expected_zmq_port))
                                  if v not in (1, 0.0, "global", None)})
        if kwargs:
            _ignored("search", **kwargs)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        recompute = self._recompute if recompute_embeddings is None else recompute_embeddings
        keep_metadata = compile_metadata_filters(metadata_filters) if metadata_filters else None
        keep = (lambda metadata, _text: keep_metadata(metadata)) if keep_metadata else None
        where = metadata_filters_where(metadata_filters) if metadata_filters else None
        base = filtered_search.search_options(complexity or 0, mode, fusion, vector_weight)

        def make_options(want: int) -> _core.SearchOptions:
            options = base(want)
            options.recompute = recompute
            if batch_size > 0:
                options.batch_size = batch_size
            return options

        def records():
            return ((json.loads(doc.metadata), doc.text) for _node, doc in self._index.documents())

        hits = filtered_search.search(self._index, query, top_k, make_options, keep, where, records)
        return [SearchResult(hit.id, hit.score, hit.text, metadata) for hit, metadata in hits]

    def cleanup(self) -> None:
        """Nothing to stop (no embedding server); kept for the reference's API."""

    def __enter__(self) -> "LeannSearcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


class LeannChat:
    """Retrieval-augmented answers: searches the index, then asks a chat model with the passages as context."""

    def __init__(self, index_path: PathLike, llm_config: Optional[dict] = None, enable_warmup: bool = False,
                 searcher: Optional[LeannSearcher] = None, system_prompt: Optional[str] = None, **kwargs: Any):
        self.llm = chat_model(llm_config)
        self.searcher = searcher or LeannSearcher(index_path, enable_warmup=enable_warmup, **kwargs)
        self.system_prompt = system_prompt or (
            "Answer the question using the numbered passages below. Say so when they do not contain the answer.")

    def ask(self, question: str, top_k: int = 5, complexity: Optional[int] = None, beam_width: int = 1,
            prune_ratio: float = 0.0, recompute_embeddings: Optional[bool] = None,
            pruning_strategy: str = "global", llm_kwargs: Optional[dict] = None,
            expected_zmq_port: Optional[int] = None, metadata_filters: Optional[dict] = None,
            batch_size: int = 0, **search_kwargs: Any) -> str:
        """Searches for ``question`` and returns the chat model's answer (``llm_kwargs``: temperature,
        max_tokens ... passed to the server)."""
        results = self.searcher.search(question, top_k=top_k, complexity=complexity, beam_width=beam_width,
                                       prune_ratio=prune_ratio, recompute_embeddings=recompute_embeddings,
                                       pruning_strategy=pruning_strategy, expected_zmq_port=expected_zmq_port,
                                       metadata_filters=metadata_filters, batch_size=batch_size, **search_kwargs)
        context = "\n\n".join(f"[{n}] {r.text}" for n, r in enumerate(results, 1))
        messages = [{"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": f"Passages:\n\n{context}\n\nQuestion: {question}"}]
        return self.llm.complete(messages, **(llm_kwargs or {}))

    def start_interactive(self) -> None:
        """A question-and-answer loop on the terminal (empty line or 'quit' ends it)."""
        while True:
            try:
                question = input("You: ").strip()
            except EOFError:
                return
            if not question or question.lower() in ("quit", "exit"):
                return
            print("LEANN:", self.ask(question))

    def cleanup(self) -> None:
        self.searcher.cleanup()

    def __enter__(self) -> "LeannChat":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()
