"""REST routes of outgoing webhooks (admins: permission ``webhooks:manage``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from hub.api import pages
from hub.api.pages import PageQuery, Sorts, page_of
from hub.api.routing import ApiRouter
from hub.api.schemas import Strict
from hub.auth import Principal
from hub.events import published_names

from ..appkeys import WEBHOOKS

PERMISSION = "webhooks:manage"
PING = "webhook.ping"  # sent by POST /webhooks/{id}/ping, not a domain event


def catalog() -> list[str]:
    """The event types a webhook can subscribe to: every domain event the hub publishes, and the ping."""
    return sorted(published_names() | {PING})


def _check_events(events: list[str]) -> list[str]:
    # against the catalog, not a pattern: a misspelt "message.craeted" matched the pattern and
    # the subscription then silently never fired
    known = set(catalog())
    for name in events:
        if name != "*" and name not in known:
            raise ValueError(f"{name[:100]!r} is not an event the hub publishes; GET /webhooks/events "
                             "lists them (or use *)")
    return events


class WebhookIn(Strict):
    url: str = Field(max_length=2048, description="http(s) URL receiving POSTs")
    events: list[str] = Field(min_length=1, max_length=50, description="Event names, or * for all")
    description: str = Field("", max_length=500)

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        return _check_events(v)


class WebhookPatch(Strict):
    url: str | None = Field(None, max_length=2048)
    events: list[str] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=500)
    active: bool | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_events(v)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signing secret: shown once, store it now")


class SecretOut(BaseModel):
    secret: str


class Attempt(BaseModel):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    ms: float | None = None
    response: str | None = None


DeliveryStatus = Literal["pending", "failed", "succeeded", "dead", "skipped"]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event: str
    event_id: str
    body: str
    status: str
    attempts: list[Attempt]
    created_at: datetime
    redelivery_of: str | None = None


WEBHOOK_SORTS = Sorts({"id": "_id", "url": "url", "created_at": "created_at"}, "-id")
DELIVERY_SORTS = Sorts({"id": "_id", "created_at": "created_at"}, "-id")


class WebhookQuery(PageQuery):
    active: bool | None = None
    event: str | None = Field(None, max_length=100, description="Subscribed to this event type")
    sort: str | None = Field(None, max_length=64, description=WEBHOOK_SORTS.describe())


class DeliveryQuery(PageQuery):
    before: str | None = Field(
        None,
        max_length=64,
        json_schema_extra={"deprecated": True},
        description="Deprecated: use cursor. Deliveries with a smaller id (default sort)",
    )
    status: DeliveryStatus | None = Field(None, description=(
        "Only deliveries in this state: pending (not attempted yet), failed (an attempt failed, "
        "tried again later), succeeded, dead (every attempt failed), skipped (the webhook was "
        "deleted or disabled before it was sent)"))
    sort: str | None = Field(None, max_length=64, description=DELIVERY_SORTS.describe())


class Queued(BaseModel):
    delivery_ids: list[str]


class EventTypes(BaseModel):
    items: list[str] = Field(description="Event types to subscribe to (docs/events.md describes them)")


def install(router: ApiRouter) -> None:
    route = router.route

    @route("GET", "/webhooks", summary="List webhooks", tag="webhooks", permission=PERMISSION,
           query=WebhookQuery, response=page_of(WebhookOut))
    async def list_webhooks(request: web.Request, _: Principal, query: WebhookQuery) -> dict[str, Any]:
        flt: dict[str, Any] = {}
        if query.active is not None:
            flt["active"] = query.active
        if query.event:
            flt["events"] = query.event
        from .service import public
        docs, cursor = await pages.fetch(request.app[WEBHOOKS].col, flt, query, WEBHOOK_SORTS)
        return {"items": [public(d) for d in docs], "next_cursor": cursor}

    @route("GET", "/webhooks/events", summary="The event types a webhook can subscribe to", tag="webhooks",
           permission=PERMISSION, response=EventTypes)
    async def event_types(request: web.Request, _: Principal) -> dict[str, Any]:
        return {"items": catalog()}

    @route("POST", "/webhooks", summary="Subscribe a URL to events (the signing secret is shown once)",
           tag="webhooks", permission=PERMISSION, body=WebhookIn, response=WebhookCreated, status=201)
    async def create_webhook(request: web.Request, principal: Principal, body: WebhookIn) -> dict[str, Any]:
        doc, secret = await request.app[WEBHOOKS].create(
            body.url, body.events, body.description, principal.actor_id
        )
        return {**doc, "secret": secret}

    @route("GET", "/webhooks/{webhook_id}", summary="Get a webhook", tag="webhooks", permission=PERMISSION,
           response=WebhookOut)
    async def get_webhook(request: web.Request, _: Principal) -> dict[str, Any]:
        from .service import public
        return public(await request.app[WEBHOOKS].get(request.match_info["webhook_id"]))

    @route("PATCH", "/webhooks/{webhook_id}", summary="Change a webhook; active=true re-enables it",
           tag="webhooks", permission=PERMISSION, body=WebhookPatch, response=WebhookOut)
    async def update_webhook(
        request: web.Request, principal: Principal, body: WebhookPatch
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        return await request.app[WEBHOOKS].update(
            request.match_info["webhook_id"], changes, principal.actor_id
        )

    @route(
        "DELETE", "/webhooks/{webhook_id}", summary="Delete a webhook", tag="webhooks", permission=PERMISSION
    )
    async def delete_webhook(request: web.Request, principal: Principal) -> None:
        await request.app[WEBHOOKS].delete(request.match_info["webhook_id"], principal.actor_id)

    @route("POST", "/webhooks/{webhook_id}/secret", summary="Rotate the signing secret (shown once)",
           tag="webhooks", permission=PERMISSION, response=SecretOut)
    async def rotate_webhook_secret(request: web.Request, principal: Principal) -> dict[str, str]:
        return {"secret": await request.app[WEBHOOKS].rotate_secret(request.match_info["webhook_id"],
                                                                    principal.actor_id)}

    @route("POST", "/webhooks/{webhook_id}/ping", summary="Queue a webhook.ping delivery", tag="webhooks",
           permission=PERMISSION, response=Queued, status=202)
    async def ping_webhook(request: web.Request, principal: Principal) -> dict[str, Any]:
        hooks = request.app[WEBHOOKS]
        hook = await hooks.sendable(request.match_info["webhook_id"])
        ids = await hooks.fan_out("webhook.ping", {"webhook_id": hook["_id"], "by": principal.actor_id},
                                  only=hook["_id"])
        return {"delivery_ids": ids}

    @route("GET", "/webhooks/{webhook_id}/deliveries", summary="The delivery log, newest first",
           tag="webhooks", permission=PERMISSION, query=DeliveryQuery, response=page_of(DeliveryOut))
    async def list_webhook_deliveries(
        request: web.Request, _: Principal, query: DeliveryQuery
    ) -> dict[str, Any]:
        hooks = request.app[WEBHOOKS]
        hook = await hooks.get(request.match_info["webhook_id"])
        flt: dict[str, Any] = {"webhook_id": hook["_id"]}
        if query.status:
            flt["status"] = query.status
        if query.before:  # deprecated alias of cursor
            if query.cursor or query.sort not in (None, DELIVERY_SORTS.default):
                raise pages.BadQuery("before (deprecated) goes with neither cursor nor sort", field="before")
            flt["_id"] = {"$lt": query.before}
        docs, cursor = await pages.fetch(hooks.deliveries, flt, query, DELIVERY_SORTS)
        return {"items": [{"id": d.pop("_id"), **d} for d in docs], "next_cursor": cursor}

    @route(
        "POST",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        summary="Send a delivery again",
        tag="webhooks",
        permission=PERMISSION,
        response=Queued,
        status=202,
    )
    async def redeliver_webhook(request: web.Request, principal: Principal) -> dict[str, Any]:
        new_id = await request.app[WEBHOOKS].redeliver(request.match_info["webhook_id"],
                                                       request.match_info["delivery_id"], principal.actor_id)
        return {"delivery_ids": [new_id]}
