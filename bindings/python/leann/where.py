"""Metadata and document filters evaluated in Python over stored records.

Two dialects:

* Chroma's ``where`` (``{"source": "a.md"}``, ``{"year": {"$gte": 2020}}``, ``{"$and": [...]}``, ``$or``; operators
  ``$eq $ne $gt $gte $lt $lte $in $nin``) and ``where_document`` (``{"$contains": "x"}``, ``$not_contains``,
  ``$and``, ``$or``);
* the reference package's ``metadata_filters`` (``{"field": {"==": v}}`` with ``== != < <= > >= in not_in contains
  starts_with ends_with is_true is_false``; several fields are combined with AND).

A malformed filter raises ``ValueError`` naming the part that is wrong. A comparison between values of different
types (a string against a number) is false, never an error. In the reference's dialect a record without the field
(or with null) fails every operator on it, ``!=``, ``not_in`` and ``is_false`` included, as in the reference.

Searches do not evaluate these over every record: ``library_where`` and ``metadata_filters_where`` translate a
filter into the library's ``where`` (leann/filter.h), which filters during the search; the predicates here then
check the few hits (filtered_search.py), so the dialect's semantics hold where the library's differ.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional

Metadata = Mapping[str, Any]

_MISSING = object()


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    return type(a) is type(b)


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, operand: Any) -> bool:
        return value is not _MISSING and _comparable(value, operand) and op(value, operand)

    return compare


def _equal(value: Any, operand: Any) -> bool:
    return value is not _MISSING and _comparable(value, operand) and value == operand


def _list_operand(name: str, operand: Any) -> list:
    if not isinstance(operand, (list, tuple)):
        raise ValueError(f"where: {name} expects a list, got {operand!r}")
    return list(operand)


_CHROMA_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _equal,
    "$ne": lambda v, o: not _equal(v, o),
    "$gt": _ordered(lambda v, o: v > o),
    "$gte": _ordered(lambda v, o: v >= o),
    "$lt": _ordered(lambda v, o: v < o),
    "$lte": _ordered(lambda v, o: v <= o),
    "$in": lambda v, o: any(_equal(v, x) for x in _list_operand("$in", o)),
    "$nin": lambda v, o: not any(_equal(v, x) for x in _list_operand("$nin", o)),
}


def compile_where(where: Mapping[str, Any] | None) -> Callable[[Metadata], bool]:
    """A predicate over a record's metadata for a Chroma ``where`` filter (None or {} accepts everything)."""
    if not where:
        return lambda metadata: True
    if not isinstance(where, Mapping):
        raise ValueError(f"where: expected a dict, got {type(where).__name__}")
    clauses: list[Callable[[Metadata], bool]] = []
    for key, condition in where.items():
        if key in ("$and", "$or"):
            parts = [compile_where(p) for p in _list_operand(key, condition)]
            if not parts:
                raise ValueError(f"where: {key} needs at least one condition")
            combine = all if key == "$and" else any
            clauses.append(lambda m, parts=parts, combine=combine: combine(p(m) for p in parts))
        elif key.startswith("$"):
            raise ValueError(f"where: unknown operator {key!r} (expected a field name, $and or $or)")
        elif isinstance(condition, Mapping):
            if len(condition) != 1:
                raise ValueError(f"where: field {key!r} needs exactly one operator, got {list(condition)}")
            (op_name, operand), = condition.items()
            op = _CHROMA_OPS.get(op_name)
            if op is None:
                raise ValueError(f"where: unknown operator {op_name!r} for field {key!r} "
                                 f"(expected one of {', '.join(_CHROMA_OPS)})")
            if op_name in ("$in", "$nin"):
                _list_operand(op_name, operand)
            clauses.append(lambda m, key=key, op=op, operand=operand: op(m.get(key, _MISSING), operand))
        else:
            clauses.append(lambda m, key=key, operand=condition: _equal(m.get(key, _MISSING), operand))
    return lambda metadata: all(c(metadata) for c in clauses)


def compile_where_document(where_document: Mapping[str, Any] | None) -> Callable[[str], bool]:
    """A predicate over a record's text for a Chroma ``where_document`` filter."""
    if not where_document:
        return lambda text: True
    if not isinstance(where_document, Mapping) or len(where_document) != 1:
        raise ValueError(f"where_document: expected a dict with one operator, got {where_document!r}")
    (op, operand), = where_document.items()
    if op in ("$and", "$or"):
        parts = [compile_where_document(p) for p in _list_operand(op, operand)]
        combine = all if op == "$and" else any
        return lambda text: combine(p(text) for p in parts)
    if op in ("$contains", "$not_contains"):
        if not isinstance(operand, str):
            raise ValueError(f"where_document: {op} expects a string, got {operand!r}")
        if op == "$contains":
            return lambda text: operand in text
        return lambda text: operand not in text
    raise ValueError(f"where_document: unknown operator {op!r} (expected $contains, $not_contains, $and, $or)")


# Called only for a field that is present and not null (the reference: a missing field fails every filter).
_REFERENCE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda v, o: not _equal(v, o),
    "<": _CHROMA_OPS["$lt"],
    "<=": _CHROMA_OPS["$lte"],
    ">": _CHROMA_OPS["$gt"],
    ">=": _CHROMA_OPS["$gte"],
    "in": lambda v, o: any(_equal(v, x) for x in _list_operand("in", o)),
    "not_in": lambda v, o: not any(_equal(v, x) for x in _list_operand("not_in", o)),
    "contains": lambda v, o: isinstance(v, (str, list)) and o in v,
    "starts_with": lambda v, o: isinstance(v, str) and isinstance(o, str) and v.startswith(o),
    "ends_with": lambda v, o: isinstance(v, str) and isinstance(o, str) and v.endswith(o),
    "is_true": lambda v, o: bool(v),
    "is_false": lambda v, o: not bool(v),
}

# The library's where for each operator that has one. The library's result must hold every record the predicate
# above accepts (the predicate then drops the rest): its equality also finds the string "2020" for the number 2020,
# so "!=" and "not_in" miss such a record, the one case where the two differ (docs/python.md, "Filters").
# is_true / is_false: the falsy scalars are false, 0 and ""; an empty list or object value is missed by is_false.
_REFERENCE_WHERE: dict[str, Callable[[Any], dict]] = {
    "==": lambda o: {"$eq": o},
    "!=": lambda o: {"$ne": o},
    "<": lambda o: {"$lt": o},
    "<=": lambda o: {"$lte": o},
    ">": lambda o: {"$gt": o},
    ">=": lambda o: {"$gte": o},
    "in": lambda o: {"$in": list(o)},
    "not_in": lambda o: {"$nin": list(o)},
    "is_true": lambda o: {"$nin": [False, 0, ""]},
    "is_false": lambda o: {"$in": [False, 0, ""]},
}


def compile_metadata_filters(filters: Mapping[str, Any] | None) -> Callable[[Metadata], bool]:
    """A predicate for the reference package's ``metadata_filters`` (every field's every operator must hold)."""
    if not filters:
        return lambda metadata: True
    if not isinstance(filters, Mapping):
        raise ValueError(f"metadata_filters: expected a dict, got {type(filters).__name__}")
    clauses: list[Callable[[Metadata], bool]] = []
    for field, conditions in filters.items():
        if not isinstance(conditions, Mapping):
            conditions = {"==": conditions}
        for op_name, operand in conditions.items():
            op = _REFERENCE_OPS.get(op_name)
            if op is None:
                raise ValueError(f"metadata_filters: unknown operator {op_name!r} for field {field!r} "
                                 f"(expected one of {', '.join(_REFERENCE_OPS)})")
            if op_name in ("in", "not_in"):
                _list_operand(op_name, operand)
            clauses.append(lambda m, f=field, op=op, o=operand: m.get(f) is not None and op(m[f], o))
    return lambda metadata: all(c(metadata) for c in clauses)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _library_operand(op_name: str, operand: Any) -> bool:
    """Whether the library takes this operand (else the condition stays in Python)."""
    if op_name in ("$in", "$nin", "in", "not_in"):
        return bool(operand) and all(_scalar(x) for x in operand)
    if op_name in ("$gt", "$gte", "$lt", "$lte", "<", "<=", ">", ">="):
        return _scalar(operand) and not isinstance(operand, bool)
    return _scalar(operand)


def metadata_filters_where(filters: Mapping[str, Any] | None) -> Optional[str]:
    """The library's where (JSON text) for the reference's ``metadata_filters``: every condition with a library
    equivalent (== != < <= > >= in not_in is_true is_false), ANDed; the others (contains, starts_with, ends_with)
    are left to the Python check of the hits. None when no condition has one."""
    compile_metadata_filters(filters)  # the dialect's own checks first: ValueError naming the part
    clauses = []
    for field, conditions in (filters or {}).items():
        if not isinstance(conditions, Mapping):
            conditions = {"==": conditions}
        for op_name, operand in conditions.items():
            translate = _REFERENCE_WHERE.get(op_name)
            if translate is not None and (op_name in ("is_true", "is_false") or _library_operand(op_name, operand)):
                clauses.append({field: translate(operand)})
    if not clauses:
        return None
    return json.dumps(clauses[0] if len(clauses) == 1 else {"$and": clauses}, ensure_ascii=False)


def _relax(where: Mapping[str, Any]) -> Optional[dict]:
    """The part of a Chroma where the library can filter on with Chroma's answer or more (None: no part). $ne and
    $nin match records without the field in Chroma and not in the library: they are left out, as is every operand
    the library does not take; under $and that drops one condition, under $or the whole $or."""
    parts = []
    for key, condition in where.items():
        if key in ("$and", "$or"):
            subs = [_relax(p) for p in condition]
            if key == "$or" and any(sub is None for sub in subs):
                continue
            subs = [sub for sub in subs if sub is not None]
            if subs:
                parts.append(subs[0] if len(subs) == 1 else {key: subs})
        elif isinstance(condition, Mapping):
            (op_name, operand), = condition.items()
            if op_name not in ("$ne", "$nin") and _library_operand(op_name, operand):
                parts.append({key: {op_name: operand}})
        elif _scalar(condition):
            parts.append({key: condition})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def library_where(where: Mapping[str, Any] | None) -> Optional[str]:
    """Chroma's ``where`` as the library's where (JSON text, the same syntax): the conditions the library can
    apply with Chroma's answer or more (the Python check of the hits drops the rest), or None when none can."""
    compile_where(where)  # ValueError naming the part
    relaxed = _relax(where) if where else None
    return None if relaxed is None else json.dumps(relaxed, ensure_ascii=False)
