"""One way to list a collection: ``limit``, ``sort`` and an opaque ``cursor`` in, a page
``{"items": [...], "next_cursor": "…" | null}`` out — for every list endpoint of the API.

- ``sort``: one of the resource's sortable fields, ``-`` first for descending (``-created_at``);
  ties are broken by id, so the order is total and a page boundary never skips or repeats an item.
- ``cursor``: the ``next_cursor`` of the previous page, unchanged. It holds the sort it was made
  for and the last item's sort value and id (keyset pagination: no offsets, stable while items
  are added). A cursor of another sort, or anything that is not a cursor, is a 400.
- filters stay each resource's own query parameters, declared on its query model.

Unknown sort fields and bad cursors are 400 (a mistake in the request line, not in a body). The
same holds for every query parameter of every route (``hub/api/routing.py``): a value the query
model refuses (an unknown enum member, ``limit=0``, a pattern) is 400 ``Bad request``; 422 is kept
for a well-formed JSON body whose values are wrong. See docs/api.md, "Errors".
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from hub.errors import InvalidInput

MAX_CURSOR = 1000


class BadQuery(InvalidInput):
    """A query parameter the endpoint cannot use (unknown sort field, foreign or broken cursor)."""

    status = 400
    title = "Bad request"


class PageQuery(BaseModel):
    """The paging parameters every list endpoint takes (its query model subclasses this)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=200, description="Items per page")
    cursor: str | None = Field(
        None, max_length=MAX_CURSOR, description="The next_cursor of the previous page (opaque)"
    )
    sort: str | None = Field(
        None, max_length=64, description="A sortable field, '-' first for descending (see the endpoint)"
    )


def page_of(model: Any, name: str | None = None) -> type[BaseModel]:
    """The page model of ``model`` (``ContactPage``: items + next_cursor), named for OpenAPI."""
    return create_model(
        name or f"{model.__name__}Page",
        items=(list[model], ...),
        next_cursor=(str | None, Field(None, description="Pass as ?cursor= for the next page")),
    )


@dataclass(frozen=True)
class Sorts:
    """A resource's sortable fields (API name -> stored field) and its default order."""

    fields: Mapping[str, str]
    default: str

    def parse(self, sort: str | None) -> tuple[str, str, int]:
        """(normalized sort, stored field, direction) for ``sort`` (None: the default)."""
        sort = sort or self.default
        name = sort[1:] if sort.startswith("-") else sort
        if name not in self.fields:
            raise BadQuery(f"cannot sort by {name[:64]!r}: one of {sorted(self.fields)}", field="sort")
        return sort, self.fields[name], -1 if sort.startswith("-") else 1

    def describe(self) -> str:
        return f"One of {', '.join(sorted(self.fields))}; '-' first for descending. Default: {self.default}"


def _plain(value: Any) -> Any:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


INT64 = 2**63


def _storable(value: Any) -> Any:
    """A scalar the store can take in a filter: a forged cursor's 10**30 (not an 8-byte int), NaN
    or an infinity (FerretDB closed the connection on NaN) or a lone surrogate (not UTF-8) would
    fail in the query, a 500 or 503 instead of this 400."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise ValueError("cursor number out of range")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("cursor number not finite")
    if isinstance(value, str):
        value.encode()  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"$dt"} or not isinstance(value["$dt"], str):
            raise ValueError("unknown cursor value")
        return datetime.fromisoformat(value["$dt"])
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError("unknown cursor value")
    return _storable(value)


def encode_cursor(sort: str, value: Any, doc_id: Any) -> str:
    raw = json.dumps({"s": sort, "k": [_plain(value), str(doc_id)]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    """(last sort value, last id) of a cursor made for ``sort``; 400 for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or set(data) != {"s", "k"}:
            raise ValueError("bad cursor")
        value, doc_id = data["k"]
        made_for = data["s"]
        if not isinstance(doc_id, str) or not isinstance(made_for, str):
            raise ValueError("bad cursor")
        _storable(doc_id), _storable(made_for)
        value = _typed(value)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise BadQuery("malformed cursor: pass next_cursor back unchanged", field="cursor") from exc
    if made_for != sort:
        raise BadQuery(f"this cursor continues sort={made_for[:64]}, not sort={sort}", field="cursor")
    return value, doc_id


def after(field: str, direction: int, value: Any, doc_id: str) -> dict[str, Any]:
    """The filter for "after (value, id)" in the order (field, _id) × direction."""
    op = "$lt" if direction < 0 else "$gt"
    if field == "_id":
        return {"_id": {op: doc_id}}
    return {"$or": [{field: {op: value}}, {field: value, "_id": {op: doc_id}}]}


def query_model(name: str, sorts: Sorts, base: type[PageQuery] = PageQuery, **fields: Any) -> type[PageQuery]:
    """A list endpoint's query model: the paging parameters, ``sort`` described with ``sorts``, and
    the resource's own filters (``fields`` as for ``pydantic.create_model``)."""
    model: type[PageQuery] = create_model(  # type: ignore[call-overload]
        name, __base__=base, sort=(str | None, Field(None, max_length=64, description=sorts.describe())),
        **fields)
    return model


def where_and_order(flt: Mapping[str, Any], query: PageQuery,
                    sorts: Sorts) -> tuple[dict[str, Any], list[tuple[str, int]], str, str]:
    """The filter (``flt`` past the cursor), the order, the normalized sort and its stored field."""
    sort, field, direction = sorts.parse(query.sort)
    where = dict(flt)
    if query.cursor:
        keyset = after(field, direction, *decode_cursor(query.cursor, sort))
        where = {"$and": [where, keyset]} if where else keyset
    order = [("_id", direction)] if field == "_id" else [(field, direction), ("_id", direction)]
    return where, order, sort, field


async def fetch(
    collection: Any,
    flt: Mapping[str, Any],
    query: PageQuery,
    sorts: Sorts,
    projection: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of raw documents matching ``flt`` in the query's order, and the next cursor."""
    where, order, sort, field = where_and_order(flt, query, sorts)
    docs = [d async for d in collection.find(where, projection).sort(order).limit(query.limit + 1)]
    if len(docs) <= query.limit:
        return docs, None
    docs = docs[: query.limit]
    return docs, encode_cursor(sort, docs[-1].get(field), docs[-1]["_id"])


async def page(
    collection: Any,
    flt: Mapping[str, Any],
    query: PageQuery,
    sorts: Sorts,
    out: Callable[[dict[str, Any]], Any] = lambda doc: doc,
    projection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The response of a list endpoint: ``{"items": [out(doc)...], "next_cursor": ...}``."""
    docs, cursor = await fetch(collection, flt, query, sorts, projection)
    return {"items": [out(d) for d in docs], "next_cursor": cursor}


def with_id(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as the API shows it: ``_id`` renamed ``id``."""
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc


def next_after(sorts: Sorts, query: PageQuery, doc: Mapping[str, Any]) -> str:
    """The cursor continuing after ``doc`` (a page cut short after the query, e.g. by privacy)."""
    sort, field, _ = sorts.parse(query.sort)
    return encode_cursor(sort, doc.get(field), doc["_id"])


__all__ = [
    "BadQuery",
    "PageQuery",
    "Sorts",
    "decode_cursor",
    "encode_cursor",
    "fetch",
    "next_after",
    "page",
    "page_of",
    "query_model",
    "where_and_order",
    "with_id",
]
