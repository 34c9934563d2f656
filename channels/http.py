"""Reading provider webhooks safely: size limit, form decoding, the public URL they were sent to,
and channel errors → problem+json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict

from channels.base import ChannelError, InboundTooLarge, MalformedInbound, RawInbound
from hub.api.problem import problem
from hub.api.routing import read_limited
from hub.errors import PayloadTooLarge

MAX_FORM_BYTES = 64 * 1024  # Twilio's largest form (1600-char body, 10 media URLs) is a few KiB
MAX_FIELDS = 200


def public_url(request: web.Request, public_base: str) -> str:
    """The URL the provider signed: the configured public base (reverse proxy) + path and query."""
    base = public_base.rstrip("/") or f"{request.scheme}://{request.host}"
    return base + request.path_qs


async def read_form(request: web.Request, public_base: str, limit: int = MAX_FORM_BYTES) -> RawInbound:
    """A form body, or a flat JSON object when the URL carries ``bodySHA256`` (Twilio's signature
    variant for JSON bodies: the body is covered by its hash, the signature by the URL alone)."""
    try:
        body = await read_limited(request, limit, f"body larger than {limit} bytes")
    except PayloadTooLarge as exc:  # the platform's one bounded read, in this package's error tree
        raise InboundTooLarge(exc.detail) from exc
    if "bodySHA256" in request.query:
        if request.content_type != "application/json":
            raise MalformedInbound("bodySHA256 is for JSON bodies", field="Content-Type")
        pairs = _json_pairs(body)
    elif request.content_type != "application/x-www-form-urlencoded":
        raise MalformedInbound(
            f"expected a form body, got {request.content_type or 'nothing'}", field="Content-Type"
        )
    else:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS,
                              errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedInbound(f"malformed form body: {exc}".splitlines()[0], field="body") from exc
    return RawInbound(url=public_url(request, public_base), headers=request.headers, body=body,
                      form=MultiDict(pairs))


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedInbound("malformed JSON body", field="body") from exc
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise MalformedInbound(f"expected a JSON object of at most {MAX_FIELDS} fields", field="body")
    pairs = []
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise MalformedInbound(f"{key}: nested values are not accepted", field=str(key)[:100])
        pairs.append(
            (key, "" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
        )
    return pairs


def channel_problem(exc: ChannelError) -> web.Response:
    titles = {400: "Malformed webhook", 403: "Forbidden", 413: "Payload too large"}
    return problem(exc.status, titles.get(exc.status, "Bad request"), exc.detail, field=exc.field)


def first_values(form: Mapping[str, str]) -> dict[str, str]:
    """One value per field: the first of a repeated field in a ``MultiDict``."""
    getone = getattr(form, "getone", None)
    return {k: (getone(k) if getone else form[k]) for k in form}
