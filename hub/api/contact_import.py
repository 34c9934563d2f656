"""``POST /api/v1/contacts/import``: a CSV file of contacts (``hub/contact_import.py`` says what a
row does). The body is the file itself (``text/csv``; ``text/plain`` and Windows browsers'
``application/vnd.ms-excel`` are read the same) or a ``multipart/form-data`` form with a ``file``
field. ``?dry_run=true`` reads and matches every row and reports, writing nothing.

At most ``API_MAX_ROWS`` rows a request: the report comes back in one response, which must come
well before a reverse proxy's 60 s timeout; a larger file is split, or imported on the server with
``python -m hub contacts import`` (``MAX_ROWS``).

Supervisors and admins only (``contacts:import``): a bulk write of people's data is not an agent's
everyday task, and an agent can still create contacts one by one.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict, Field

from hub import keys
from hub.auth import Principal
from hub.contact_import import API_MAX_ROWS, CLI_HINT, MAX_BYTES, ImportReport, UnsupportedMedia, import_csv
from hub.errors import InvalidInput, PayloadTooLarge

from .fields import sees_restricted
from .routing import ApiRouter, read_limited

router = ApiRouter()
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")
MULTIPART = "multipart/form-data"
TOO_MANY = f" (the API takes {API_MAX_ROWS} a request, answered before a proxy's 60 s timeout){CLI_HINT}"
TOO_LARGE = f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES} bytes); split it"


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(False, description="Read, check and match every row, report, write nothing")


@router.route("POST", "/contacts/import", summary="Import contacts from a CSV file (created, updated, "
              "errors per row)", tag="contacts", permission="contacts:import", query=ImportQuery,
              response=ImportReport, uploads=("text/csv", MULTIPART))
async def import_contacts(request: web.Request, principal: Principal, query: ImportQuery) -> ImportReport:
    data = await _file(request)
    hidden = (frozenset() if sees_restricted(principal.role)
              else frozenset(request.app[keys.SETTINGS].restricted_contact_fields))
    return await import_csv(request.app[keys.CONTACTS], request.app[keys.AUDIT], data,
                            actor=principal.actor_id, dry_run=query.dry_run, hidden=hidden,
                            max_rows=API_MAX_ROWS, too_many=TOO_MANY)


async def _file(request: web.Request) -> bytes:
    if request.content_type == MULTIPART:
        if request.content_length is not None and request.content_length > MAX_BYTES + 65_536:
            raise PayloadTooLarge(TOO_LARGE)
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.name == "file":
                    data = bytearray()
                    while chunk := await part.read_chunk(65_536):
                        data += chunk
                        if len(data) > MAX_BYTES:
                            raise PayloadTooLarge(TOO_LARGE)
                    return bytes(data)
        except (ValueError, HttpProcessingError) as exc:  # a malformed multipart body (aiohttp's words)
            raise InvalidInput(f"malformed multipart body: {exc}", field="body") from exc
        raise InvalidInput("the form has no 'file' field", field="file")
    if request.content_type not in CSV_TYPES:
        raise UnsupportedMedia(f"expected text/csv (or multipart/form-data with a 'file' field), got "
                               f"{request.content_type or 'nothing'}", field="Content-Type")
    return await read_limited(request, MAX_BYTES, TOO_LARGE)


__all__ = ["router"]
