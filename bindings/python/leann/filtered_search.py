"""Filtered search for the Python front ends (``Collection.query``, ``LeannSearcher.search``).

The library filters during the search (``SearchOptions.filter.where``): the top-k of the matching records, found
without ranking the others. It gets the part of the filter it can apply with the dialect's answer or more
(where.py: ``library_where``, ``metadata_filters_where``); the dialect's own predicate then checks the few hits, so
its semantics hold where the library's differ, and conditions the library has no equivalent for (Chroma's
``$ne``/``$nin``, which match records without the field; the reference's ``contains``, ``starts_with``,
``ends_with``; ``where_document``) are checked there too. A dropped hit makes the search ask the library for more,
until k hits pass or every match was seen.

Without a library part, the predicate runs over the hits of ever wider unfiltered searches (the cost grows as the
filter gets more selective). That is also the answer when the library refuses the filter (``FilterError``: a field
no record has, or holding other types), which in Chroma and the reference matches nothing: the records are checked
once first, so an empty answer costs no search.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Optional

import numpy as np

from . import _core

Keep = Callable[[dict, str], bool]  # (metadata, text) -> bool
MakeOptions = Callable[[int], "_core.SearchOptions"]  # top_k -> options (mode, complexity ... set)


def search_options(complexity: int, mode: str, fusion: Optional[str] = None,
                   vector_weight: Optional[float] = None) -> MakeOptions:
    """top_k -> SearchOptions with these settings (ValueError naming a bad one); fusion and vector_weight None keep
    the library's defaults (SearchOptions(): chosen by measurement, bench/README.md)."""
    modes = {"vector": _core.SearchMode.vector, "keyword": _core.SearchMode.keyword,
             "hybrid": _core.SearchMode.hybrid}
    fusions = {"rrf": _core.HybridFusion.rrf, "convex": _core.HybridFusion.convex}
    if mode not in modes:
        raise ValueError(f"mode must be one of {', '.join(modes)}, got {mode!r}")
    if fusion is not None and fusion not in fusions:
        raise ValueError(f"fusion must be one of {', '.join(fusions)}, got {fusion!r}")
    if vector_weight is not None and not 0.0 <= vector_weight <= 1.0:
        raise ValueError(f"vector_weight must be in [0, 1], got {vector_weight!r}")
    if complexity < 0:
        raise ValueError(f"complexity must be at least 0, got {complexity}")

    def make(top_k: int) -> _core.SearchOptions:
        options = _core.SearchOptions()
        options.top_k = top_k
        options.complexity = max(complexity, top_k) if complexity else 0
        options.mode = modes[mode]
        if fusion is not None:
            options.fusion = fusions[fusion]
        if vector_weight is not None:
            options.vector_weight = vector_weight
        return options

    return make


def _run(index: _core.Index, query: Any, options: _core.SearchOptions) -> _core.SearchResult:
    if isinstance(query, str):
        return index.search(query, options)
    if options.mode != _core.SearchMode.vector:
        raise ValueError(f"mode {options.mode.name!r} needs a query text (keyword search does not use vectors)")
    return index.search_vector(np.ascontiguousarray(query, dtype=np.float32), options)


def search(index: _core.Index, query: Any, top_k: int, make_options: MakeOptions, keep: Optional[Keep] = None,
           where: Optional[str] = None,
           records: Optional[Callable[[], Iterable[tuple[dict, str]]]] = None) -> list[tuple[_core.Hit, dict]]:
    """The best ``top_k`` hits (with their metadata parsed) for ``query`` (text, or a vector of the index's model).

    ``keep``: the filter's predicate (None: no filter). ``where``: the library's where (JSON text) for it, whose
    matches include every record ``keep`` accepts; None when the filter has none. ``records``: every live record's
    (metadata, text), read only when the library refuses ``where``.
    """
    if keep is None:
        return [(hit, json.loads(hit.metadata)) for hit in _run(index, query, make_options(top_k)).hits]
    if where is not None:
        try:
            return _widening(index, query, top_k, make_options, keep, where)
        except _core.FilterError:
            # A field no record has (or holding other types): no match in the dialects, an error in the library.
            if records is not None and not any(keep(metadata, text) for metadata, text in records()):
                return []
    return _widening(index, query, top_k, make_options, keep, None)


def _widening(index: _core.Index, query: Any, top_k: int, make_options: MakeOptions, keep: Keep,
              where: Optional[str]) -> list[tuple[_core.Hit, dict]]:
    nodes = max(1, len(index))
    # The library's filter returns only matches, nearly all of which pass `keep`: ask for k. Without it, ask for more
    # at once: most hits may fail.
    want = top_k if where is not None else min(nodes, max(4 * top_k, 32))
    while True:
        options = make_options(want)
        if where is not None:
            options.filter.where = where
        hits = _run(index, query, options).hits
        kept = []
        for hit in hits:
            metadata = json.loads(hit.metadata)
            if keep(metadata, hit.text):
                kept.append((hit, metadata))
                if len(kept) == top_k:
                    return kept
        if want >= nodes or len(hits) < want:  # every match (or record) was ranked
            return kept
        want = min(nodes, want * 4)
