"""The audit log API: search (``audit:read``) and export as CSV or JSON (``audit:export``, admins).

There is no route that changes or deletes an entry: the log is append-only (erasure scrubs the
personal data inside entries about an erased contact and records that it did, see ``privacy``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from hub import keys
from hub.api import pages
from hub.api.pages import PageQuery, Sorts, page_of
from hub.api.routing import ApiRouter
from hub.auth import Principal
from hub.spreadsheet import formula_safe

NAME = r"^[A-Za-z0-9_.:\-]+$"
EXPORT_MAX = 100_000


AUDIT_SORTS = Sorts({"id": "_id", "at": "at", "action": "action", "actor_id": "actor_id",
                     "target_type": "target_type"}, "-id")  # ids grow with time: -id is newest first


class AuditQuery(PageQuery):
    actor_id: str | None = Field(None, max_length=100, pattern=NAME)
    actor_type: Literal["user", "api_key", "rule", "bot", "system", "contact"] | None = None
    action: str | None = Field(
        None, max_length=100, pattern=NAME, description="Exact action, or a prefix ending in ."
    )
    target_type: str | None = Field(None, max_length=50, pattern=NAME)
    target_id: str | None = Field(None, max_length=100, pattern=NAME)
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = Field(None, max_length=100, description="Substring of the action, actor or target id")
    limit: int = Field(100, ge=1, le=500)
    sort: str | None = Field(None, max_length=64, description=AUDIT_SORTS.describe())

    @model_validator(mode="after")
    def _range(self) -> AuditQuery:
        def utc(at: datetime) -> datetime:  # a time without a zone is UTC, as the store's are
            return at if at.tzinfo else at.replace(tzinfo=UTC)

        if self.since and self.until and utc(self.since) >= utc(self.until):  # was an empty 200
            raise ValueError("since must be before until")
        return self


class ExportQuery(AuditQuery):
    limit: int = Field(EXPORT_MAX, ge=1, le=EXPORT_MAX)


class AuditEntry(BaseModel):
    id: str
    at: datetime
    actor_id: str
    actor_type: str = "user"
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


AuditPage = page_of(AuditEntry, "AuditPage")


def audit_filter(query: AuditQuery) -> dict[str, Any]:
    """Every value is a validated string or datetime, so no operator can be smuggled in."""
    flt: dict[str, Any] = {}
    for name in ("actor_id", "actor_type", "target_type", "target_id"):
        value = getattr(query, name)
        if value is not None:
            flt[name] = value
    if query.action:
        flt["action"] = ({"$regex": "^" + re.escape(query.action)} if query.action.endswith(".")
                         else query.action)
    if query.since or query.until:
        flt["at"] = {
            **({"$gte": query.since} if query.since else {}),
            **({"$lt": query.until} if query.until else {}),
        }
    if query.q:
        pattern = {"$regex": re.escape(query.q), "$options": "i"}
        flt["$or"] = [{"action": pattern}, {"actor_id": pattern}, {"target_id": pattern}]
    return flt


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    doc.setdefault("actor_type", "user")
    return AuditEntry.model_validate(doc).model_dump(mode="json")


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value, default=str))
    return formula_safe(text)  # CSV/formula injection: see hub.spreadsheet


COLUMNS = ["id", "at", "actor_type", "actor_id", "action", "target_type", "target_id", "before", "after"]


def install(router: ApiRouter) -> None:
    route = router.route

    @route(
        "GET",
        "/audit",
        summary="Search the audit log (newest first unless sorted)",
        tag="audit",
        permission="audit:read",
        query=AuditQuery,
        response=AuditPage,
    )
    async def search_audit(request: web.Request, _: Principal, query: AuditQuery) -> dict[str, Any]:
        return await pages.page(
            request.app[keys.STORE].audit_log, audit_filter(query), query, AUDIT_SORTS, _entry
        )

    @route("GET", "/audit/export.json", summary="Export the audit log as a JSON array", tag="audit",
           permission="audit:export", query=ExportQuery, response=list[AuditEntry])
    async def export_audit_json(
        request: web.Request, principal: Principal, query: ExportQuery
    ) -> web.StreamResponse:
        return await _export(request, principal, query, "json")

    @route("GET", "/audit/export.csv", summary="Export the audit log as CSV", tag="audit",
           permission="audit:export", query=ExportQuery, response=str, media_type="text/csv")
    async def export_audit_csv(
        request: web.Request, principal: Principal, query: ExportQuery
    ) -> web.StreamResponse:
        return await _export(request, principal, query, "csv")


async def _export(
    request: web.Request, principal: Principal, query: AuditQuery, fmt: str
) -> web.StreamResponse:
    app = request.app
    # a bad cursor or sort is a 400 only before the stream starts: after it, the client would get a
    # broken chunked body with an error page in the middle
    where, order, _, _ = pages.where_and_order(audit_filter(query), query, AUDIT_SORTS)
    await app[keys.AUDIT].record(principal.actor_id, "audit.export", "audit_log", fmt,
                                 after={k: str(v) for k, v in query.model_dump(exclude_none=True).items()})
    response = web.StreamResponse(headers={
        "Content-Type": "application/json" if fmt == "json" else "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="audit.{fmt}"'})
    await response.prepare(request)
    cursor = app[keys.STORE].audit_log.find(where).sort(order).limit(query.limit)
    if fmt == "json":
        await response.write(b"[")
        first = True
        async for doc in cursor:
            await response.write((b"" if first else b",") + json.dumps(_entry(doc)).encode())
            first = False
        await response.write(b"]")
    else:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        async for doc in cursor:
            entry = _entry(doc)
            writer.writerow([_cell(entry.get(c)) for c in COLUMNS])
            if buf.tell() > 64_000:
                await response.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
        await response.write(buf.getvalue().encode())
    await response.write_eof()
    return response
