"""RFC 9457 problem+json: the one shape every API error takes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.errors import HubError

CONTENT_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status, content_type=CONTENT_TYPE, headers=headers)


def from_error(exc: HubError) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if (retry_after := getattr(exc, "retry_after", None)) is not None:
        headers = {**(headers or {}), "Retry-After": str(retry_after)}
    return problem(exc.status, exc.title, exc.detail, field=exc.field, headers=headers)
