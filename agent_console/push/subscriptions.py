"""Web Push subscriptions, one per browser an agent enabled notifications in.

``POST /api/v1/console/push/subscriptions`` takes the browser's ``PushSubscription.toJSON()``;
``DELETE`` (same body, or just the endpoint) removes it; ``GET`` lists the caller's. The endpoint is
where the hub will POST, so it must be a push service named in ``BERRY_PUSH_SERVICES`` (https),
never an address of the agent's choosing; the keys must be a P-256 point and a 16-byte secret.
A subscription is keyed by its endpoint: the same browser subscribing again (or after another
agent signed in on it) replaces it. Dead endpoints (404/410 from the push service) are removed
by the sender.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field

from hub import keys
from hub.api.routing import ApiRouter
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.models import utcnow
from hub.store import Store, ix, register, upsert

COLLECTION = "console_push_subscriptions"
PER_USER = 10  # browsers per agent; the oldest goes when an 11th subscribes

register(COLLECTION, ix(("user_id", 1)))  # _id = sha256(endpoint)

router = ApiRouter()


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=32)


class SubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(min_length=10, max_length=2048)
    keys: SubscriptionKeys
    expirationTime: float | None = None  # noqa: N815 (the browser's name)


class EndpointIn(BaseModel):
    endpoint: str = Field(min_length=10, max_length=2048)


class SubscriptionOut(BaseModel):
    id: str
    push_service: str = Field(description="The endpoint's host (the endpoint itself is a bearer secret)")
    created_at: Any


class PushKey(BaseModel):
    public_key: str = Field(description="VAPID public key: PushManager.subscribe's applicationServerKey")


def _unb64(value: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("not base64url", field=field) from exc


def subscription_id(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()[:40]


def check_endpoint(endpoint: str, services: str) -> None:
    """The endpoint's host must be a listed push service (``*.`` matches subdomains), over https
    unless the entry says ``http://`` (a local stand-in)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise InvalidInput("endpoint must be an https URL of a push service", field="endpoint")
    for entry in (e.strip().lower() for e in services.split(",") if e.strip()):
        scheme, _, pattern = entry.rpartition("://")
        if parts.scheme != (scheme or "https"):
            continue
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return
    raise InvalidInput(f"{host} is not a known push service (BERRY_PUSH_SERVICES)", field="endpoint")


def check_keys(body: SubscriptionKeys) -> None:
    point = _unb64(body.p256dh, "keys.p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise InvalidInput("p256dh is not a P-256 public key", field="keys.p256dh") from exc
    if len(_unb64(body.auth, "keys.auth")) != 16:
        raise InvalidInput("auth must be 16 bytes", field="keys.auth")


class Subscriptions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.col = store[COLLECTION]

    async def add(self, user_id: str, body: SubscriptionIn, user_agent: str = "") -> str:
        sub_id = subscription_id(body.endpoint)
        await upsert(
            self.col,
            {"_id": sub_id},
            {
                "$set": {
                    "user_id": user_id,
                    "endpoint": body.endpoint,
                    "p256dh": body.keys.p256dh,
                    "auth": body.keys.auth,
                    "user_agent": user_agent[:300],
                    "created_at": utcnow(),
                }
            },
        )
        mine = [
            d["_id"] async for d in self.col.find({"user_id": user_id}, {"_id": 1}).sort("created_at", -1)
        ]
        if len(mine) > PER_USER:
            await self.col.delete_many({"_id": {"$in": mine[PER_USER:]}})
        return sub_id

    async def remove(self, user_id: str, endpoint: str) -> bool:
        result = await self.col.delete_one({"_id": subscription_id(endpoint), "user_id": user_id})
        return bool(result.deleted_count)

    async def of(self, user_ids: list[str]) -> list[dict[str, Any]]:
        return [
            d async for d in self.col.find({"user_id": {"$in": user_ids}}).limit(PER_USER * len(user_ids))
        ]

    async def get(self, sub_id: str) -> dict[str, Any] | None:
        return await self.col.find_one({"_id": sub_id})

    async def gone(self, sub_id: str) -> None:
        await self.col.delete_one({"_id": sub_id})


def _ext(request: web.Request) -> dict[str, Any]:
    return request.app[keys.EXTENSIONS]["agent_console"]


@router.route(
    "GET",
    "/console/push/key",
    summary="The VAPID public key to subscribe with",
    tag="console",
    permission="conversations:read",
    response=PushKey,
)
async def push_key(request: web.Request, principal: Principal) -> PushKey:
    return PushKey(public_key=await _ext(request)["vapid"].public_key())


@router.route(
    "POST",
    "/console/push/subscriptions",
    summary="Receive push notifications in this browser",
    tag="console",
    permission="conversations:read",
    body=SubscriptionIn,
    response=SubscriptionOut,
    status=201,
)
async def subscribe(request: web.Request, principal: Principal, body: SubscriptionIn) -> SubscriptionOut:
    if not principal.user_id:
        raise InvalidInput("push notifications are for signed-in staff, not API keys", field="endpoint")
    check_endpoint(body.endpoint, request.app[keys.SETTINGS].push_services)
    check_keys(body.keys)
    sub_id = await _ext(request)["subscriptions"].add(
        principal.user_id, body, request.headers.get("User-Agent", "")
    )
    return SubscriptionOut(
        id=sub_id, push_service=urlsplit(body.endpoint).hostname or "", created_at=utcnow()
    )


@router.route(
    "DELETE",
    "/console/push/subscriptions",
    summary="Stop push notifications in this browser",
    tag="console",
    permission="conversations:read",
    body=EndpointIn,
)
async def unsubscribe(request: web.Request, principal: Principal, body: EndpointIn) -> None:
    await _ext(request)["subscriptions"].remove(principal.user_id or "", body.endpoint)


@router.route(
    "GET",
    "/console/push/subscriptions",
    summary="The browsers I receive push notifications in",
    tag="console",
    permission="conversations:read",
    response=list[SubscriptionOut],
)
async def mine(request: web.Request, principal: Principal) -> list[SubscriptionOut]:
    return [
        SubscriptionOut(
            id=d["_id"], push_service=urlsplit(d["endpoint"]).hostname or "", created_at=d["created_at"]
        )
        for d in await _ext(request)["subscriptions"].of([principal.user_id or ""])
    ]


__all__ = ["Subscriptions", "check_endpoint", "router", "subscription_id"]
