"""The filter dialects (Chroma's where/where_document, the reference's metadata_filters)."""

from __future__ import annotations

import pytest

from leann.where import compile_metadata_filters, compile_where, compile_where_document

RECORD = {"source": "a.md", "year": 2021, "score": 0.5, "draft": False}


@pytest.mark.parametrize("where, expected", [
    ({}, True),
    ({"source": "a.md"}, True),
    ({"source": "b.md"}, False),
    ({"year": {"$gt": 2020}}, True),
    ({"year": {"$lte": 2020}}, False),
    ({"year": {"$gt": "2020"}}, False),  # a string against a number: false, not an error
    ({"missing": {"$ne": 1}}, True),
    ({"missing": 1}, False),
    ({"draft": False}, True),
    ({"draft": 0}, False),  # bool is not a number here
    ({"source": {"$in": ["a.md", "c.md"]}}, True),
    ({"source": {"$nin": ["a.md"]}}, False),
    ({"$and": [{"year": 2021}, {"score": {"$gte": 0.5}}]}, True),
    ({"$or": [{"year": 1999}, {"source": "a.md"}]}, True),
    ({"$or": [{"year": 1999}, {"source": "z"}]}, False),
    ({"source": "a.md", "year": 1999}, False),
])
def test_chroma_where(where, expected):
    assert compile_where(where)(RECORD) is expected


@pytest.mark.parametrize("where, message", [
    ({"year": {"$foo": 1}}, "unknown operator"),
    ({"$not": []}, "unknown operator"),
    ({"year": {"$in": 3}}, "expects a list"),
    ({"year": {"$gt": 1, "$lt": 3}}, "exactly one operator"),
    ({"$and": []}, "at least one"),
])
def test_chroma_where_errors(where, message):
    with pytest.raises(ValueError, match=message):
        compile_where(where)


def test_where_document():
    keep = compile_where_document({"$and": [{"$contains": "fox"}, {"$not_contains": "dog"}]})
    assert keep("a fox") and not keep("a fox and a dog") and not keep("a cat")
    assert compile_where_document({"$or": [{"$contains": "cat"}, {"$contains": "fox"}]})("fox")
    with pytest.raises(ValueError, match="unknown operator"):
        compile_where_document({"$regex": "x"})


@pytest.mark.parametrize("filters, expected", [
    ({"year": {"==": 2021}}, True),
    ({"year": {">=": 2022}}, False),
    ({"source": {"starts_with": "a."}}, True),
    ({"source": {"ends_with": ".txt"}}, False),
    ({"source": {"contains": ".m"}}, True),
    ({"draft": {"is_false": True}}, True),
    ({"draft": {"is_true": True}}, False),
    ({"year": {"in": [2020, 2021]}, "score": {"<": 1}}, True),
    ({"year": {"not_in": [2021]}}, False),
    ({"source": "a.md"}, True),
    # A field the record lacks (or holds null) fails every operator, as in the reference.
    ({"missing": {"!=": 1}}, False),
    ({"missing": {"not_in": [1]}}, False),
    ({"missing": {"is_false": True}}, False),
    ({"none": {"is_false": True}}, False),
])
def test_reference_metadata_filters(filters, expected):
    assert compile_metadata_filters(filters)({**RECORD, "none": None}) is expected


def test_reference_metadata_filters_errors():
    with pytest.raises(ValueError, match="unknown operator"):
        compile_metadata_filters({"year": {"~": 1}})
