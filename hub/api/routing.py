"""Declarative API routes: each route names its permission and its pydantic models once, and the
same declaration drives request parsing, the permission check and the OpenAPI 3.1 document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub import keys
from hub.auth import Principal, require
from hub.errors import InvalidInput, PayloadTooLarge, Unauthorized

Handler = Callable[..., Awaitable[Any]]


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    permission: str | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    public: bool
    media_type: str = "application/json"  # of the success response (e.g. text/csv for exports)


def _field_of(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "body"


def invalid(exc: ValidationError, where: str) -> InvalidInput:
    first = exc.errors()[0]
    error = InvalidInput(f"{where}: {_field_of(first)}: {first['msg']}", field=_field_of(first))
    error.errors = [{"field": _field_of(e), "message": e["msg"]} for e in exc.errors()]  # type: ignore[attr-defined]
    return error


class ApiRouter:
    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(self, method: str, path: str, *, summary: str, tag: str, permission: str | None = None,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, response: Any = None,
              status: int = 200, public: bool = False,
              media_type: str = "application/json") -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, summary, tag, permission, body, query, response,
                                     status, public, media_type))
            return handler
        return decorate

    def install(self, app: web.Application) -> None:
        for route in self.routes:
            app.router.add_route(route.method, self.prefix + route.path, self._wrap(route))

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            principal: Principal | None = request.get(keys.PRINCIPAL)
            if not route.public:
                principal = require(principal, route.permission) if route.permission else _signed_in(principal)
            kwargs: dict[str, Any] = {}
            if route.query is not None:
                try:
                    kwargs["query"] = route.query.model_validate(_query_dict(request, route.query))
                except ValidationError as exc:
                    raise invalid(exc, "query") from exc
            if route.body is not None:
                kwargs["body"] = await parse_body(request, route.body)
            result = await route.handler(request, principal, **kwargs)
            if isinstance(result, web.StreamResponse):
                return result
            if result is None:
                return web.Response(status=204)
            return web.json_response(dump(result), status=route.status, dumps=_dumps)
        endpoint.__name__ = route.handler.__name__
        return endpoint


def _signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("sign in or send an API key")
    return principal


def _query_dict(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.query.keys():
        values = request.query.getall(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        out[key] = values if is_list else values[-1]
    return out


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    settings = request.app.get(keys.SETTINGS)
    limit = settings.max_body_bytes if settings else 1_048_576
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    if request.content_type not in ("application/json", "application/merge-patch+json"):
        raise InvalidInput(f"expected application/json, got {request.content_type or 'nothing'}",
                           field="Content-Type")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed JSON: {exc}", field="body") from exc
    except RecursionError as exc:
        raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    check_storable(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "body") from exc


MAX_DEPTH = 32


def check_storable(data: Any, path: str = "", depth: int = 0) -> None:
    """Refuse what the store cannot or must not hold, before any model sees it: nesting deeper than
    ``MAX_DEPTH``, arrays directly inside arrays (FerretDB v1), strings with lone surrogates (not
    encodable as UTF-8), and object keys that are
    empty, start with ``$`` or contain ``.`` or NUL (operator/field-path injection via free-form
    fields such as ``custom_fields``)."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels", field=path or "body")
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput("text contains invalid Unicode (lone surrogates)",
                               field=path or "body") from exc
    elif isinstance(data, dict):
        for key, value in data.items():
            if not key or key.startswith("$") or "." in key or "\x00" in key:
                raise InvalidInput(f"invalid key {key[:50]!r}: empty, $-prefixed, dotted or NUL",
                                   field=path or "body")
            check_storable(key, path, depth + 1)
            check_storable(value, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, list):  # FerretDB v1 refuses arrays directly inside arrays
                raise InvalidInput("arrays nested directly in arrays are not supported", field=f"{path}.{i}")
            check_storable(value, f"{path}.{i}" if path else str(i), depth + 1)


def dump(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [dump(r) for r in result]
    if isinstance(result, dict):
        return {k: dump(v) for k, v in result.items()}
    return result


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
