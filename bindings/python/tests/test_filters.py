"""Metadata filters applied by the library during the search (SearchOptions.filter), through the native API,
Collection.query(where=) and LeannSearcher.search(metadata_filters=), with each dialect's own semantics kept."""

from __future__ import annotations

import json

import pytest

import leann
from leann.where import compile_metadata_filters, compile_where, library_where, metadata_filters_where

N = 500
WORDS = ["fox", "dog", "index", "search", "brown", "lazy", "quick", "jumps", "over", "graph", "node", "river",
         "stone", "cloud", "lamp", "paper"]


def _records(n=N):
    ids, texts, metadatas = [], [], []
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(6)]
        ids.append(f"r{i}")
        texts.append(" ".join(words) + f" record {i}")
        metadata = {"n": i, "group": f"g{i % 50}", "even": i % 2 == 0}
        if i % 10 == 0:
            metadata["tag"] = "ten"
        if i == 137:
            metadata["rare"] = "yes"
        if i in (3, 4):
            metadata["year"] = "2020" if i == 3 else 2020  # a string and a number
        metadatas.append(metadata)
    return ids, texts, metadatas


@pytest.fixture(scope="module")
def collection(tmp_path_factory, tiny_model):
    client = leann.PersistentClient(tmp_path_factory.mktemp("filters") / "db", embedding_model=tiny_model)
    notes = client.create_collection("notes")
    ids, texts, metadatas = _records()
    notes.add(ids=ids, documents=texts, metadatas=metadatas)
    return notes


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, tiny_model):
    path = tmp_path_factory.mktemp("reference") / "notes.leann"
    builder = leann.LeannBuilder(embedding_model=tiny_model)
    ids, texts, metadatas = _records()
    for i, text, metadata in zip(ids, texts, metadatas):
        builder.add_text(text, {**metadata, "id": i})
    builder.build_index(path)
    return leann.LeannSearcher(path)


def test_filter_binding_and_filter_error(collection):
    flt = leann.Filter(where='{"n": 5}', types=["jsonl"])
    assert flt.where == '{"n": 5}' and flt.types == ["jsonl"] and not flt.empty() and leann.Filter().empty()
    options = leann.SearchOptions()
    options.filter.where = '{"rare": "yes"}'
    options.top_k = 3
    assert options.filter.where == '{"rare": "yes"}'
    assert options.mode == leann.SearchMode.hybrid and options.fusion == leann.HybridFusion.convex
    index = collection._current().index
    hits = index.search("fox dog", options).hits
    assert [h.id for h in hits] == ["r137"]
    nodes = index.matching(leann.Filter(where='{"tag": "ten"}'))
    assert nodes == sorted(nodes) and {index.document(v).id for v in nodes} == {f"r{i}" for i in range(0, N, 10)}
    # A field no record has: the library refuses it, naming the field; FilterError is both kinds of error.
    options.filter.where = '{"colour": "red"}'
    with pytest.raises(leann.FilterError, match="unknown field 'colour'") as raised:
        index.search("fox", options)
    assert isinstance(raised.value, leann.Error) and isinstance(raised.value, ValueError)
    with pytest.raises(leann.FilterError, match="unknown operator"):
        leann.Filter(where='{"n": {"$regex": "x"}}').check()
    assert json.loads(leann.where_from_expression("n>=3")) == {"n": {"$gte": 3}}


def test_selective_filter_returns_the_one_match(collection, searcher):
    found = collection.query(query_texts=["lazy river stone"], n_results=5, where={"rare": "yes"})
    assert found["ids"] == [["r137"]] and found["metadatas"][0][0]["n"] == 137
    assert [r.id for r in searcher.search("lazy river stone", top_k=5,
                                          metadata_filters={"rare": {"==": "yes"}})] == ["r137"]


@pytest.mark.parametrize("k", [1, 5, 10])
def test_k_results_when_k_match(collection, searcher, k):
    # Ten records per group (2% of the collection): a k-of-10 filter is answered with k, each matching.
    found = collection.query(query_texts=["quick brown fox"], n_results=k, where={"group": "g7"})
    assert len(found["ids"][0]) == k and all(m["group"] == "g7" for m in found["metadatas"][0])
    distances = found["distances"][0]
    assert distances == sorted(distances)
    results = searcher.search("quick brown fox", top_k=k, metadata_filters={"group": {"==": "g7"}})
    assert len(results) == k and all(r.metadata["group"] == "g7" for r in results)


CHROMA_FILTERS = [
    {"n": {"$lt": 7}},
    {"$or": [{"group": "g1"}, {"n": {"$gte": 495}}]},
    {"$and": [{"even": True}, {"n": {"$in": [2, 3, 4, 5, 6, 400]}}]},
    {"tag": {"$ne": "ten"}},                                   # Python only: matches records without the field
    {"$and": [{"group": "g3"}, {"tag": {"$nin": ["ten"]}}]},   # library part {"group": "g3"}, $nin checked after
    {"year": 2020},                                            # the number only, not the string "2020"
    {"colour": "red"},                                         # a field no record has: nothing, as in Chroma
    {"$or": [{"colour": "red"}, {"n": 42}]},
]


@pytest.mark.parametrize("where", CHROMA_FILTERS)
def test_query_matches_the_python_evaluation(collection, where):
    keep = compile_where(where)
    expected = {i for i, m in zip(*(_records()[0], _records()[2])) if keep(m)}
    assert set(collection.get(where=where)["ids"]) == expected
    # Asking for more results than match returns exactly the matching records.
    found = collection.query(query_texts=["graph node paper"], n_results=min(N, len(expected) + 5), where=where)
    assert set(found["ids"][0]) == expected
    if len(expected) >= 3:
        top = collection.query(query_texts=["graph node paper"], n_results=3, where=where)["ids"][0]
        assert len(top) == 3 and set(top) <= expected


REFERENCE_FILTERS = [
    {"n": {"<": 12, ">=": 3}},
    {"group": {"in": ["g2", "g9"]}, "even": {"is_true": True}},
    {"even": {"is_false": True}, "n": {"<=": 20}},
    {"tag": {"!=": "x"}},                  # records without tag fail, as in the reference
    {"n": {"not_in": list(range(10, 500))}},
    {"group": {"starts_with": "g4"}},      # Python only
    {"group": {"ends_with": "7"}, "n": {"<": 100}},  # library part n < 100, ends_with checked after
    {"year": {"==": 2020}},
    {"colour": {"==": "red"}},
]


@pytest.mark.parametrize("filters", REFERENCE_FILTERS)
def test_search_matches_the_python_evaluation(searcher, filters):
    keep = compile_metadata_filters(filters)
    ids, _, metadatas = _records()
    expected = {i for i, m in zip(ids, metadatas) if keep(m)}
    results = searcher.search("graph node paper", top_k=min(N, len(expected) + 5), metadata_filters=filters)
    assert {r.id for r in results} == expected


def test_translations():
    assert library_where({"tag": {"$ne": "x"}}) is None
    assert json.loads(library_where({"$and": [{"a": 1}, {"b": {"$nin": [2]}}]})) == {"a": 1}
    assert library_where({"$or": [{"a": 1}, {"b": {"$ne": 2}}]}) is None
    assert json.loads(metadata_filters_where({"a": {"==": 1, "contains": "x"}})) == {"a": {"$eq": 1}}
    assert metadata_filters_where({"a": {"starts_with": "x"}}) is None
    with pytest.raises(ValueError, match="unknown operator"):
        metadata_filters_where({"a": {"~": 1}})


def test_modes(collection, searcher):
    # "record 321" appears word for word in one record only: keyword search finds it first.
    keyword = collection.query(query_texts=["321"], n_results=3, mode="keyword")
    assert keyword["ids"][0][0] == "r321"
    # Hybrid, keyword side weighted 0.7: the one keyword match outranks anything the vector side alone can rank.
    hybrid = collection.query(query_texts=["321"], n_results=3, mode="hybrid", vector_weight=0.3,
                              where={"n": {"$gte": 300}})
    assert hybrid["ids"][0][0] == "r321" and all(m["n"] >= 300 for m in hybrid["metadatas"][0])
    filtered = collection.query(query_texts=["record"], n_results=4, mode="keyword", where={"group": "g5"})
    assert len(filtered["ids"][0]) == 4 and all(m["group"] == "g5" for m in filtered["metadatas"][0])
    assert searcher.search("321", top_k=2, mode="keyword")[0].id == "r321"
    assert searcher.search("321", top_k=2, mode="hybrid", fusion="convex", vector_weight=0.3)[0].id == "r321"
    with pytest.raises(ValueError, match="mode must be one of"):
        collection.query(query_texts=["x"], mode="fuzzy")
    with pytest.raises(ValueError, match="needs query_texts"):
        collection.query(query_embeddings=[[0.0] * 32], mode="keyword")
