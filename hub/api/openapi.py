"""OpenAPI 3.1 built from the route declarations and their pydantic models, and the docs page
(Swagger UI, its assets served by the hub from the ``swagger-ui-bundle-v2`` package, no CDN)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from .routing import ApiRouter, Route

PROBLEM = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "field": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}},
    "required": ["title", "status"],
}


def _schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(tp).json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    components.update(schema.pop("$defs", {}))
    return schema


def _input_schema(tp: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = tp.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    components.update(schema.pop("$defs", {}))
    name = tp.__name__
    components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry-safe create: the same key and request replay the first answer (24 h)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "description": "ETag of your last read; 412 if the resource changed since",
            "schema": {"type": "string", "maxLength": 1000}}


def _operation(route: Route, components: dict[str, Any], conditional: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary, "tags": [route.tag],
                          "operationId": route.handler.__name__, "responses": {}}
    params: list[dict[str, Any]] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for n in re.findall(r"{(\w+)}", route.path)]
    if route.honours_idempotency_key:
        params.append(IDEMPOTENCY_KEY)
    if conditional:
        params.append(IF_MATCH)
        op["responses"]["412"] = {
            "description": "If-Match names an outdated ETag",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        op["responses"]["428"] = {
            "description": "If-Match required (BERRY_API_REQUIRE_IF_MATCH)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    if route.query is not None:
        for name, field in route.query.model_fields.items():
            prop = route.query.model_json_schema()["properties"][name]
            params.append({"name": name, "in": "query", "required": field.is_required(),
                           "schema": prop, **({"explode": True} if prop.get("type") == "array" else {})})
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _input_schema(route.body, components)}},
        }
    elif route.uploads:  # a raw body (a file); multipart/form-data carries it as its "file" part
        file = {"type": "string", "format": "binary"}
        op["requestBody"] = {"required": True, "content": {
            m: {"schema": {"type": "object", "properties": {"file": file}, "required": ["file"]}
                if m == "multipart/form-data" else file} for m in route.uploads}}
    if route.response is not None:
        op["responses"][str(route.status)] = {
            "description": "OK",
            "content": {route.media_type: {"schema": _schema(route.response, components)}},
        }
        if route.status == 201:  # an idempotent create replayed (same external id / key) answers 200
            op["responses"]["200"] = {"description": "Already created (idempotent replay)",
                                      "content": op["responses"]["201"]["content"]}
    else:
        op["responses"]["204" if route.status == 200 else str(route.status)] = {"description": "Done"}
        if route.status == 200:  # a handler without a declared response model may still return JSON
            op["responses"]["200"] = {"description": "OK (body not declared)",
                                      "content": {"application/json": {"schema": {}}}}
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for code, text in (
        ("400", "Bad request"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "Not found"),
        ("409", "Conflict"),
        ("413", "Payload too large"),
        ("415", "Unsupported media type"),
        ("422", "Invalid input"),
        ("429", "Too many requests (see Retry-After)"),
        ("503", "Store unavailable"),
    ):
        op["responses"].setdefault(code, {"description": text, "content": problem_ref})
    if not route.public:
        op["security"] = [{"bearer": []}, {"apiKey": []}]
    return op


def build_openapi(routers: list[ApiRouter], *, title: str, version: str, server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, Any] = {}
    readable = {router.prefix + r.path for router in routers for r in router.routes if r.method == "GET"}
    for router in routers:
        for route in router.routes:
            conditional = (route.conditional is not False and route.method in ("PATCH", "PUT", "DELETE")
                           and router.prefix + route.path in readable)
            op = _operation(route, components, conditional)
            if route.method == "GET" and route.status == 200 and route.media_type == "application/json":
                op["responses"]["304"] = {
                    "description": "Not modified (If-None-Match names the current ETag)"
                }
            paths.setdefault(router.prefix + route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Berry Support Hub REST API. Errors are RFC 9457 problem+json."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}},
    }


SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berry Support Hub API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>"""
INIT_JS = """window.ui = SwaggerUIBundle({url: '/api/v1/openapi.json', dom_id: '#swagger-ui',
  deepLinking: true, persistAuthorization: true});"""


def install_docs(app: web.Application, spec: Any) -> None:
    async def openapi_json(_: web.Request) -> web.Response:
        return web.json_response(spec())

    async def docs(_: web.Request) -> web.Response:
        return web.Response(text=DOCS_HTML, content_type="text/html")

    async def init_js(_: web.Request) -> web.Response:
        return web.Response(text=INIT_JS, content_type="application/javascript")

    app.router.add_get("/api/v1/openapi.json", openapi_json)
    app.router.add_get("/api/docs", docs)
    app.router.add_get("/api/docs/init.js", init_js)
    app.router.add_static("/api/docs/assets", SWAGGER_DIR)
