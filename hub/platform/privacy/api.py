"""Privacy routes: consent records, data-subject export and erasure, retention, the register."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api.pages import page_of, query_model
from hub.api.routing import ApiRouter
from hub.api.schemas import Strict
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.models import ACTIVE_VALUES, Status

from ..appkeys import PRIVACY
from .consent import CONSENT_SORTS, PURPOSE
from .erase import erase_contact
from .export import export_zip
from .register import processing_register


async def _close_tickets_of(app: web.Application, contact_id: str, actor: Principal) -> int:
    """An erased person's open tickets are closed: left open they waited in the agents' queue with
    nothing to answer (a reply fails: the contact has no address left), and their SLA clocks ran on.
    Through ``Conversations.update``, after the erasure, so ticketing stops the clocks and frees the
    agent's slot, and the events carry only erased data."""
    ids = [d["_id"] async for d in app[keys.STORE].conversations.find(
        {"contact_id": contact_id, "status": {"$in": ACTIVE_VALUES}}, {"_id": 1})]
    for conversation_id in ids:
        await app[keys.CONVERSATIONS].update(conversation_id, {"status": Status.closed.value}, actor)
    return len(ids)


class ConsentIn(Strict):
    purpose: str = Field(pattern=PURPOSE, description="e.g. marketing, surveys, whatsapp_updates")
    granted: bool
    source: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9 _.:/@-]+$",
        description="Where consent was given or withdrawn: web_form, whatsapp, agent, import…",
    )
    note: str = Field("", max_length=500)


class ConsentOut(BaseModel):
    id: str
    contact_id: str
    purpose: str
    granted: bool
    source: str
    note: str
    recorded_by: str
    at: datetime


ConsentQuery = query_model(
    "ConsentQuery",
    CONSENT_SORTS,
    purpose=(str | None, Field(None, pattern=PURPOSE, description="Only this purpose")),
)


class EraseIn(Strict):
    confirm: str = Field(max_length=64, description="The contact id again, to confirm")


class ErasureOut(BaseModel):
    contact_id: str
    counts: dict[str, int]


class RetentionPolicies(BaseModel):
    messages: int
    webhook_deliveries: int
    audit: int
    dead_letters: int
    search_queries: int


class RetentionPatch(Strict):
    messages: int | None = Field(None, ge=0, le=36_500)
    webhook_deliveries: int | None = Field(None, ge=0, le=36_500)
    audit: int | None = Field(None, ge=0, le=36_500)
    dead_letters: int | None = Field(None, ge=0, le=36_500)
    search_queries: int | None = Field(None, ge=0, le=36_500)


class RetentionRun(BaseModel):
    done: dict[str, int]


def install(router: ApiRouter) -> None:
    route = router.route

    @route(
        "POST",
        "/contacts/{contact_id}/consents",
        summary="Record consent given or withdrawn for a purpose",
        tag="privacy",
        permission="contacts:write",
        body=ConsentIn,
        response=ConsentOut,
        status=201,
    )
    async def record_consent(request: web.Request, principal: Principal, body: ConsentIn) -> dict[str, Any]:
        doc = await request.app[PRIVACY].consents.record(
            request.match_info["contact_id"],
            body.purpose,
            body.granted,
            body.source,
            principal.actor_id,
            body.note,
        )
        await request.app[keys.AUDIT].record(
            principal.actor_id,
            "contact.consent",
            "contact",
            doc["contact_id"],
            after={"purpose": body.purpose, "granted": body.granted, "source": body.source},
        )
        return doc

    @route("GET", "/contacts/{contact_id}/consents", summary="Consent history of a contact, newest first",
           tag="privacy", permission="contacts:read", query=ConsentQuery, response=page_of(ConsentOut))
    async def list_consents(request: web.Request, _: Principal, query: Any) -> dict[str, Any]:
        return await request.app[PRIVACY].consents.history(
            request.match_info["contact_id"], query, query.purpose
        )

    @route(
        "GET",
        "/contacts/{contact_id}/export",
        summary="Everything held about a contact, as a zip of JSON",
        tag="privacy",
        permission="privacy:export",
        response=bytes,
        media_type="application/zip",
    )
    async def export_contact(request: web.Request, principal: Principal) -> web.Response:
        contact = await request.app[keys.CONTACTS].get(request.match_info["contact_id"])
        data, counts = await export_zip(request.app[keys.STORE], contact.id)
        await request.app[keys.AUDIT].record(principal.actor_id, "contact.export", "contact", contact.id,
                                             after={"counts": counts})
        return web.Response(body=data, content_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="contact-{contact.id}.zip"'})

    @route("POST", "/contacts/{contact_id}/erase", summary="Erase a contact's personal data (irreversible)",
           tag="privacy", permission="privacy:erase", body=EraseIn, response=ErasureOut)
    async def erase(request: web.Request, principal: Principal, body: EraseIn) -> dict[str, Any]:
        requested = request.match_info["contact_id"]
        if body.confirm != requested:
            raise InvalidInput("confirm must repeat the contact id", field="confirm")
        contact = await request.app[keys.CONTACTS].get(requested)
        app = request.app
        counts = await erase_contact(app[keys.STORE], app[keys.BUS], app[keys.AUDIT], contact.id,
                                     principal.actor_id, app[keys.TOKENS])
        counts["tickets_closed"] = await _close_tickets_of(app, contact.id, principal)
        return {"contact_id": contact.id, "counts": counts}

    @route("GET", "/privacy/retention", summary="Retention policies (days; 0 = keep)", tag="privacy",
           permission="privacy:manage", response=RetentionPolicies)
    async def get_retention(request: web.Request, _: Principal) -> dict[str, int]:
        return await request.app[PRIVACY].retention.policies()

    @route("PATCH", "/privacy/retention", summary="Change retention policies", tag="privacy",
           permission="privacy:manage", body=RetentionPatch, response=RetentionPolicies)
    async def set_retention(
        request: web.Request, principal: Principal, body: RetentionPatch
    ) -> dict[str, int]:
        changes = body.model_dump(exclude_none=True)
        return await request.app[PRIVACY].retention.set_policies(changes, principal.actor_id)

    @route("POST", "/privacy/retention/run", tag="privacy",
           summary="Apply the retention policies now (counts per data type; 409 while a run is going)",
           permission="privacy:manage", response=RetentionRun)
    async def run_retention(request: web.Request, principal: Principal) -> dict[str, Any]:
        done = await request.app[PRIVACY].retention.run()  # deletes data: who ran it is audited
        await request.app[keys.AUDIT].record(principal.actor_id, "privacy.retention.run", "retention",
                                             "manual", after={"done": done})
        return {"done": done}

    @route(
        "GET",
        "/privacy/register",
        summary="The processing register (GDPR art. 30 / POPIA)",
        tag="privacy",
        permission="privacy:manage",
        response=dict[str, Any],
    )
    async def get_register(request: web.Request, _: Principal) -> dict[str, Any]:
        return await processing_register(
            request.app[keys.STORE], await request.app[PRIVACY].retention.policies()
        )

    @route(
        "GET",
        "/privacy/register.html",
        summary="The processing register as a printable page",
        tag="privacy",
        permission="privacy:manage",
        response=str,
        media_type="text/html",
    )
    async def get_register_page(request: web.Request, _: Principal) -> web.Response:
        reg = await processing_register(
            request.app[keys.STORE], await request.app[PRIVACY].retention.policies()
        )
        return web.Response(text=render_register(reg), content_type="text/html")


def render_register(reg: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(a['purpose'])}</td><td>{e(a['legal_basis'])}</td><td>{e(', '.join(a['subjects']))}</td>"
        f"<td>{e(', '.join(a['data']))}</td><td>{e(', '.join(a.get('processors', [])))}</td>"
        f"<td>{e(a['retention'])}</td></tr>" for a in reg["activities"])
    hooks = (
        "".join(
            f"<li>{e(h['url'])} ({e(', '.join(h['events']))}){'' if h['active'] else ' — disabled'}</li>"
            for h in reg["webhook_recipients"]
        )
        or "<li>none</li>"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Processing register</title></head>"
        "<body>"
        f"<h1>Processing register</h1><p>Controller: {e(reg['controller'])}. "
        f"Generated {e(reg['generated_at'])}.</p>"
        "<table border=1><tr><th>Purpose</th><th>Legal basis</th><th>Subjects</th><th>Data</th>"
        f"<th>Processors</th><th>Retention</th></tr>{rows}</table><h2>Webhook recipients</h2><ul>{hooks}</ul>"
        "</body></html>"
    )
