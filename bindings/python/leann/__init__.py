"""LEANN: local-first semantic search. A pruned proximity graph with PQ codes and the passages' text; exact
embeddings are recomputed at query time by an in-process transformer encoder (no PyTorch).

Three layers, all in this package:

* the native API (``Index``, ``IndexWriter``, ``Encoder``, options and results), a thin binding of the C++ library
  whose calls run without the GIL;
* the reference package's API: ``LeannBuilder``, ``LeannSearcher``, ``LeannChat``;
* a Chroma-shaped vector store: ``PersistentClient`` and its collections; adapters for LangChain
  (``leann.langchain``) and LlamaIndex (``leann.llama_index``) are imported on demand.

Library errors are ``leann.Error`` (a RuntimeError) and its subclasses, carrying the library's message
(``leann.FilterError``, a bad filter, is also a ValueError).
Importing the package changes no process-wide state (BLAS threads, PDF handlers).
"""

from ._core import (
    BuildOptions,
    Document,
    Encoder,
    Error,
    Filter,
    FilterError,
    FormatError,
    GraphOptions,
    Hit,
    HybridFusion,
    Index,
    IndexLockedError,
    IndexModel,
    IndexStats,
    IndexWriter,
    Metric,
    ModelError,
    ModelInfo,
    NotFoundError,
    SearchMode,
    SearchOptions,
    SearchResult as NativeSearchResult,
    SearchStats,
    UpdateStats,
    WriterOptions,
    __version__,
    default_model_name,
    filter_from_json,
    glob_match,
    index_path_for_argument,
    index_path_for_name,
    index_root,
    installed_models,
    leann_home,
    model_cache_dir,
    read_model_info,
    resolve_model,
    where_from_expression,
    where_from_expressions,
)
from .api import LeannBuilder, LeannChat, LeannSearcher, SearchResult
from .models import encoder as load_encoder
from .store import Collection, DuplicateIDError, PersistentClient

__all__ = [
    "BuildOptions", "Collection", "Document", "DuplicateIDError", "Encoder", "Error", "Filter", "FilterError",
    "FormatError", "GraphOptions", "Hit", "HybridFusion", "Index", "IndexLockedError", "IndexModel", "IndexStats",
    "IndexWriter", "LeannBuilder", "LeannChat", "LeannSearcher", "Metric", "ModelError", "ModelInfo",
    "NativeSearchResult", "NotFoundError", "PersistentClient", "SearchMode", "SearchOptions", "SearchResult",
    "SearchStats", "UpdateStats", "WriterOptions", "__version__", "default_model_name", "filter_from_json",
    "glob_match", "index_path_for_argument", "index_path_for_name", "index_root", "installed_models", "leann_home",
    "load_encoder", "model_cache_dir", "read_model_info", "resolve_model", "where_from_expression",
    "where_from_expressions",
]
