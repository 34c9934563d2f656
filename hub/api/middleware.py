"""HTTP middlewares: request id + access log, errors → problem+json, credentials → principal."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from hub import keys
from hub.errors import HubError, Unauthorized
from hub.logs import request_id_var

from .problem import from_error, problem

log = logging.getLogger("hub.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    token = request_id_var.set(rid)
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - start
        metrics = request.app.get(keys.METRICS)
        if metrics is not None:
            route = (
                request.match_info.route.resource.canonical
                if request.match_info.route.resource
                else "unmatched"
            )
            metrics.observe_request(request.method, route, status, elapsed)
        log.info("request", extra={"method": request.method, "path": request.path, "status": status,
                                   "ms": round(elapsed * 1000, 2)})
        request_id_var.reset(token)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        response = from_error(exc)
        if getattr(exc, "errors", None) and exc.status == 422:
            response = problem(exc.status, exc.title, exc.detail, field=exc.field, errors=exc.errors)  # type: ignore[attr-defined]
        return response
    except ValidationError as exc:
        first = exc.errors()[0]
        return problem(422, "Invalid input", first["msg"], field=".".join(map(str, first["loc"])))
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        return problem(exc.status, exc.reason, exc.text or exc.reason, headers={
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")})
    except PyMongoError:
        log.exception("store error")
        return problem(503, "Store unavailable", "the database did not answer; retry later",
                       headers={"Retry-After": "5"})
    except Exception:
        log.exception("unhandled error")
        return problem(500, "Internal error", "an unexpected error was logged")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ``Authorization: Bearer <jwt | api key>`` or ``X-Api-Key`` into ``request[keys.PRINCIPAL]``.
    A credential that is present but wrong is refused here, even on public routes."""
    header = request.headers.get("Authorization", "")
    api_key = request.headers.get("X-Api-Key", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use Authorization: Bearer <token>")
        token = token.strip()
        if token.startswith("bk_"):
            api_key = token
        else:
            tokens = request.app[keys.TOKENS]
            request[keys.PRINCIPAL] = await tokens.check_live(tokens.verify_access(token))
    if api_key:
        request[keys.PRINCIPAL] = await request.app[keys.API_KEYS].verify(api_key)
    return await handler(request)
