"""Declarative API routes: each route names its permission and its pydantic models once, and the
same declaration drives request parsing, the permission check, the OpenAPI 3.1 document and the
HTTP semantics every resource shares:

- ``idempotent`` (default: a ``POST`` answering 201, i.e. a create): honours ``Idempotency-Key``
  (``hub/api/idempotency.py``);
- ``conditional`` (default: ``PATCH``/``PUT``/``DELETE`` on a path that also has a ``GET``):
  ``If-Match`` against the ETag of that GET's representation (``hub/api/conditional.py``);
- every ``GET`` answering JSON carries a strong ``ETag`` and answers ``If-None-Match`` with 304;
- responses are serialized for the caller's role: admin-only fields are left out for others
  (``hub/api/fields.py``);
- a path naming ``{conversation_id}`` answers 404 when the caller may not see that conversation
  (team privacy, portal users' own tickets: ``hub/auth/visibility.py``), whatever package
  declares the route; the handler finds the conversation in ``request[CONVERSATION]``.

Pass ``idempotent=``/``conditional=`` to a route only to override the default.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hub import keys
from hub.auth import Principal, require
from hub.auth.visibility import can_see, with_current_contact, with_current_teams
from hub.errors import HubError, InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from hub.models import Conversation, json_default

from . import conditional, idempotency
from .fields import exclusions, sees_restricted
from .pages import BadQuery

Handler = Callable[..., Awaitable[Any]]
# The request's JSON body as parsed, before the model filled in defaults (idempotency fingerprint).
RAW_BODY: web.RequestKey[Any] = web.RequestKey("api_raw_body")
# The conversation named by the path, read (and checked visible) before the handler runs.
CONVERSATION: web.RequestKey[Any] = web.RequestKey("api_conversation")


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
    idempotent: bool | None = None  # None: a POST answering 201
    conditional: bool | None = None  # None: PATCH/PUT/DELETE on a path that has a GET
    uploads: tuple[str, ...] = ()  # media types of a raw request body the handler reads (OpenAPI only)

    @property
    def honours_idempotency_key(self) -> bool:
        return (
            self.idempotent if self.idempotent is not None else (self.method == "POST" and self.status == 201)
        )


# Every installed route by (method, full path): a conditional update finds its resource's GET here.
ROUTE_INDEX: web.AppKey[dict[tuple[str, str], Route]] = web.AppKey("api_route_index")


def _field_of(err: ErrorDetails) -> str:
    """The error's path; a validator of a whole dict names the key it refuses with
    ``PydanticCustomError(..., {"key": name})`` (``settings.smtp_listen_port``, not ``settings``)."""
    key = (err.get("ctx") or {}).get("key")
    return ".".join(str(p) for p in (*err.get("loc", ()), *([key] if key else []))) or "body"


def invalid(exc: ValidationError, where: str) -> InvalidInput:
    """The problem for a refused request part: 400 for the query string (like a bad sort or cursor:
    the request line is wrong), 422 for a well-formed body with wrong values."""
    first = exc.errors()[0]
    error = (BadQuery if where == "query" else InvalidInput)(
        f"{where}: {_field_of(first)}: {first['msg']}", field=_field_of(first)
    )
    error.errors = [{"field": _field_of(e), "message": e["msg"]} for e in exc.errors()]  # type: ignore[attr-defined]
    return error


class ApiRouter:
    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(self, method: str, path: str, *, summary: str, tag: str, permission: str | None = None,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, response: Any = None,
              status: int = 200, public: bool = False, media_type: str = "application/json",
              idempotent: bool | None = None, conditional: bool | None = None,
              uploads: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, summary, tag, permission, body, query, response,
                                     status, public, media_type, idempotent, conditional, uploads))
            return handler
        return decorate

    def install(self, app: web.Application) -> None:
        if ROUTE_INDEX not in app:
            app[ROUTE_INDEX] = {}
        for route in self.routes:
            app[ROUTE_INDEX][(route.method, self.prefix + route.path)] = route
            app.router.add_route(route.method, self.prefix + route.path, self._wrap(route))

    def reader_of(self, app: web.Application, route: Route) -> Route | None:
        """The GET route of the resource a conditional route changes (None: not conditional)."""
        if route.conditional is False or route.method not in ("PATCH", "PUT", "DELETE"):
            return None
        return app.get(ROUTE_INDEX, {}).get(("GET", self.prefix + route.path))

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            principal: Principal | None = request.get(keys.PRINCIPAL)
            if not route.public:
                principal = (
                    require(principal, route.permission) if route.permission else _signed_in(principal)
                )
                if "conversation_id" in request.match_info:
                    request[CONVERSATION] = await visible_conversation(
                        request, principal, request.match_info["conversation_id"])
            kwargs: dict[str, Any] = {}
            if route.query is not None:
                try:
                    kwargs["query"] = route.query.model_validate(_query_dict(request, route.query))
                except ValidationError as exc:
                    raise invalid(exc, "query") from exc
            if route.body is not None:
                kwargs["body"] = await parse_body(request, route.body)
            attempt = None
            key = request.headers.get("Idempotency-Key")
            # Raw (non-JSON) bodies are read by the handler after this point, so they cannot be
            # fingerprinted: the key is ignored there rather than replaying for another upload.
            fingerprintable = route.body is not None or not request.body_exists
            if (
                key is not None
                and principal is not None
                and route.honours_idempotency_key
                and fingerprintable
            ):
                attempt = await idempotency.begin(request, principal.actor_id, key,
                                                  idempotency.fingerprint(request, request.get(RAW_BODY)))
                if attempt.replay is not None:
                    return attempt.replay
            reader = self.reader_of(request.app, route)
            claim = None
            try:
                if reader is not None:
                    before = (await representation(request, principal, reader)
                              if request.headers.get("If-Match") is not None else None)
                    claim = await conditional.check(request, conditional.etag_of(before) if before else None)
                result = await route.handler(request, principal, **kwargs)
                response = render(request, route, principal, result)
                if reader is not None and route.method != "DELETE" and response.status < 300:
                    await _tag_update(request, principal, route, reader, response)
                    if claim is not None and response.headers.get("ETag") == claim.etag:
                        await claim.release()  # nothing changed: the version is still current
            except BaseException:
                if claim is not None:
                    await claim.release()
                if attempt is not None:
                    await attempt.abandon()
                raise
            if attempt is not None:
                await attempt.finish(response)
            return response
        endpoint.__name__ = route.handler.__name__
        return endpoint


def render(
    request: web.Request, route: Route, principal: Principal | None, result: Any
) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=204)
    body = _dumps(dump(result, principal, _contact_fields(request))).encode()
    response = web.Response(body=body, status=route.status, content_type="application/json")
    if route.method == "GET" and route.status == 200:
        etag = conditional.etag_of(body)
        if conditional.not_modified(request, etag):
            return web.Response(status=304, headers={"ETag": etag})
        response.headers["ETag"] = etag
    return response


async def _tag_update(request: web.Request, principal: Principal | None, route: Route, reader: Route,
                      response: web.StreamResponse) -> None:
    """The ETag a GET would now answer, on the update's response (for the next If-Match). When the
    GET answers something else (a contact's 360 view), it costs that GET: only for callers who
    use If-Match."""
    if (
        route.response is not None
        and route.response == reader.response
        and isinstance(response, web.Response)
        and isinstance(response.body, bytes)
    ):
        response.headers["ETag"] = conditional.etag_of(response.body)  # same representation as the GET
        return
    if request.headers.get("If-Match") is None:
        return
    try:
        after = await representation(request, principal, reader)
    except HubError:
        return
    if after is not None:
        response.headers["ETag"] = conditional.etag_of(after)


async def representation(request: web.Request, principal: Principal | None, reader: Route) -> bytes | None:
    """What ``reader`` (a GET route) answers this caller for the request's path, as bytes."""
    if principal is not None and reader.permission and not principal.can(reader.permission):
        return None
    kwargs: dict[str, Any] = {}
    if reader.query is not None:
        kwargs["query"] = reader.query.model_validate({})
    result = await reader.handler(request, principal, **kwargs)
    if isinstance(result, web.StreamResponse) or result is None:
        return None
    return _dumps(dump(result, principal, _contact_fields(request))).encode()


def _contact_fields(request: web.Request) -> frozenset[str]:
    settings = request.app.get(keys.SETTINGS)
    return frozenset(getattr(settings, "restricted_contact_fields", None) or ())


async def visible_conversation(
    request: web.Request, principal: Principal, conversation_id: str
) -> Conversation:
    """The conversation, or 404 (not 403: its existence is not disclosed) if the caller may not see it."""
    conversation = await request.app[keys.CONVERSATIONS].get(conversation_id)
    if not can_see(principal, conversation) and (
            conversation.team_id is None
            or not can_see(await with_current_teams(request.app[keys.STORE], principal), conversation)) and (
            # a portal user whose contact was merged away since: the contact that stayed
            not principal.contact_id
            or not can_see(await with_current_contact(request.app[keys.CONTACTS], principal), conversation)):
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def _signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("sign in or send an API key")
    return principal


def _query_dict(request: web.Request, model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        out[key] = values if is_list else values[-1]
    return out


async def read_limited(request: web.Request, limit: int, too_large: str) -> bytes:
    """The request body, refused with 413 ``too_large`` past ``limit`` bytes (declared or sent)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(too_large)
    # StreamReader.read(n) returns what has arrived, up to n: read until the end (or past the limit)
    raw = bytearray()
    while len(raw) <= limit:
        chunk = await request.content.read(limit + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > limit:
        raise PayloadTooLarge(too_large)
    return bytes(raw)


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    settings = request.app.get(keys.SETTINGS)
    limit = settings.max_body_bytes if settings else 1_048_576
    raw = await read_limited(request, limit, f"body larger than {limit} bytes")
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
    request[RAW_BODY] = data
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


def dump(
    result: Any, principal: Principal | None = None, contact_fields: frozenset[str] = frozenset()
) -> Any:
    """JSON-ready ``result``; for a caller who is not an admin, without the admin-only fields."""
    if isinstance(result, BaseModel):
        hide = None if principal is None or sees_restricted(principal.role) else exclusions(
            result, contact_fields, principal.role)
        return result.model_dump(mode="json", exclude=hide)
    if isinstance(result, list):
        return [dump(r, principal, contact_fields) for r in result]
    if isinstance(result, dict):
        return {k: dump(v, principal, contact_fields) for k, v in result.items()}
    return result


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=json_default)
