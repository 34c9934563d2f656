"""Outgoing webhooks: subscriptions, fan-out of domain events into deliveries, and delivery.

    event on the bus ──> fan_out(): one ``webhook_deliveries`` doc per matching active webhook
                         + one job ``webhook.deliver`` (key = delivery id, so queued once)
    job ──> deliver(): sign, POST, log the attempt; a failure raises so the job queue retries
            it with back-off; after ``webhook_max_attempts`` the delivery is ``dead``;
            ``webhook_disable_after`` consecutive dead deliveries disable the webhook and
            publish ``webhook.disabled``.

Delivery logs keep the signed body (what was sent) and each attempt's status, so an integrator
sees what happened, and an admin can redeliver.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from datetime import UTC, timedelta
from typing import Any

import aiohttp

from hub.audit import Audit
from hub.errors import Conflict, NotFound
from hub.events import Event, EventBus
from hub.jobs import Jobs
from hub.models import json_default, new_id, utcnow
from hub.store import DESC, Snapshot, Store, ix, register

from ..events import WebhookDisabled
from ..secrets import SecretBox
from ..settings import PlatformSettings
from .signing import HEADER, sign
from .urls import check_resolved, check_url

log = logging.getLogger(__name__)
register("webhooks", ix(("active", 1)))
# _id = "disable:<webhook id>:<updated_at>": one disable (and one notice) per enabled spell
CLAIMS = "webhook_claims"
register(CLAIMS, expire=("created_at", timedelta(days=30)))
register("webhook_deliveries", ix(("webhook_id", 1), ("created_at", DESC)), ix(("created_at", DESC)))

JOB_KIND = "webhook.deliver"
USER_AGENT = "Berry-Webhooks/1"
MAX_LOGGED_RESPONSE = 2048
ROTATION_OVERLAP = timedelta(hours=24)  # after a secret rotation, the old secret signs too for this long


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("_id", "secret_enc", "previous_secret_enc")}
    return {"id": doc["_id"], **out}


class Webhooks:
    def __init__(self, store: Store, bus: EventBus, jobs: Jobs, audit: Audit, box: SecretBox,
                 settings: PlatformSettings, http: aiohttp.ClientSession) -> None:
        self.store, self.bus, self.jobs, self.audit, self.box = store, bus, jobs, audit, box
        self.settings = settings
        self.http = http
        self.col = store["webhooks"]
        self.deliveries = store["webhook_deliveries"]
        # every bus event asks which subscriptions want it; they change a few times a day
        self._active = Snapshot(self._load_active)

    # --- subscriptions -------------------------------------------------------------------------

    async def create(
        self, url: str, events: list[str], description: str, actor: str
    ) -> tuple[dict[str, Any], str]:
        check_url(url, allow_private=self.settings.webhook_allow_private)
        secret = new_secret()
        now = utcnow()
        webhook_id = new_id()
        doc = {"_id": webhook_id, "url": url, "events": sorted(set(events)), "description": description,
               "secret_enc": self.box.encrypt(secret), "active": True, "disabled_reason": None,
               "created_by": actor, "created_at": now, "updated_at": now}
        await self.col.insert_one(doc)
        self._active.invalidate()
        await self.audit.record(actor, "webhook.create", "webhook", webhook_id,
                                after={"url": url, "events": doc["events"]})
        return public(doc), secret

    async def get(self, webhook_id: str) -> dict[str, Any]:
        doc = await self.col.find_one({"_id": webhook_id})
        if doc is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return doc

    async def update(self, webhook_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
        current = await self.get(webhook_id)
        if "url" in changes:
            check_url(changes["url"], allow_private=self.settings.webhook_allow_private)
        if "events" in changes:
            changes["events"] = sorted(set(changes["events"]))
        if changes.get("active") is True:
            changes["disabled_reason"] = None
        before = {k: current.get(k) for k in changes}
        await self.col.update_one({"_id": webhook_id}, {"$set": {**changes, "updated_at": utcnow()}})
        self._active.invalidate()
        await self.audit.record(actor, "webhook.update", "webhook", webhook_id, before=before, after=changes)
        return public(await self.get(webhook_id))

    async def rotate_secret(self, webhook_id: str, actor: str) -> str:
        """A new secret; for ``ROTATION_OVERLAP`` the deliveries are signed with the old one too, so a
        receiver keeps accepting them until it has the new one (no dead deliveries meanwhile)."""
        current = await self.col.find_one({"_id": webhook_id}, {"secret_enc": 1})
        if current is None:
            raise NotFound(f"webhook {webhook_id} not found")
        secret = new_secret()
        await self.col.update_one({"_id": webhook_id}, {"$set": {
            "secret_enc": self.box.encrypt(secret), "previous_secret_enc": current["secret_enc"],
            "previous_until": utcnow() + ROTATION_OVERLAP, "updated_at": utcnow()}})
        await self.audit.record(actor, "webhook.secret.rotate", "webhook", webhook_id)
        return secret

    async def delete(self, webhook_id: str, actor: str) -> None:
        result = await self.col.delete_one({"_id": webhook_id})
        self._active.invalidate()
        if result.deleted_count == 0:
            raise NotFound(f"webhook {webhook_id} not found")
        await self.audit.record(actor, "webhook.delete", "webhook", webhook_id)

    async def reencrypt(self) -> int:
        """Re-encrypt every stored webhook secret under the newest key."""
        n = 0
        async for doc in self.col.find({}, {"secret_enc": 1, "previous_secret_enc": 1}):
            fields = {k: self.box.rotate(doc[k]) for k in ("secret_enc", "previous_secret_enc") if doc.get(k)}
            await self.col.update_one({"_id": doc["_id"]}, {"$set": fields})
            n += 1
        return n

    # --- fan-out -------------------------------------------------------------------------------

    async def _load_active(self) -> list[tuple[str, frozenset[str]]]:
        return [(d["_id"], frozenset(d.get("events") or ())) async for d in self.col.find(
            {"active": True}, {"_id": 1, "events": 1}).sort("_id", 1)]

    async def subscribers(self, event_name: str) -> list[str]:
        """Ids of the active subscriptions to ``event_name`` (or ``*``)."""
        return [i for i, events in await self._active.get() if event_name in events or "*" in events]

    async def on_event(self, event: Event) -> None:
        if await self.subscribers(event.name):  # no subscriber: not even the serialization
            await self.fan_out(event.name, event.model_dump(mode="json", exclude={"at"}))

    async def fan_out(self, event_name: str, data: dict[str, Any], only: str | None = None) -> list[str]:
        event_id = new_id()
        ids: list[str] = []
        targets = [d["_id"] async for d in self.col.find({"_id": only}, {"_id": 1})] if only else \
            await self.subscribers(event_name)
        for hook_id in targets:
            body = json.dumps({"id": event_id, "type": event_name, "created_at": utcnow().isoformat(),
                               "data": data}, separators=(",", ":"), default=json_default)
            delivery_id = new_id()
            delivery: dict[str, Any] = {
                "_id": delivery_id, "webhook_id": hook_id, "event": event_name, "event_id": event_id,
                "body": body, "status": "pending", "attempts": [], "created_at": utcnow()}
            await self.deliveries.insert_one(delivery)
            await self.jobs.enqueue(JOB_KIND, {"delivery_id": delivery_id}, key=f"whd:{delivery_id}",
                                    max_attempts=self.settings.webhook_max_attempts + 2)
            ids.append(delivery_id)
        return ids

    async def sendable(self, webhook_id: str) -> dict[str, Any]:
        """The webhook, if a delivery queued for it now would be sent: a deleted one is 404 and a
        disabled one 409, not a 202 for a delivery that deliver() then only marks skipped."""
        hook = await self.get(webhook_id)
        if not hook.get("active"):
            reason = f" ({hook['disabled_reason']})" if hook.get("disabled_reason") else ""
            raise Conflict(f"webhook {webhook_id} is disabled{reason}: nothing would be sent; "
                           "re-enable it first (PATCH active: true)")
        return hook

    async def redeliver(self, webhook_id: str, delivery_id: str, actor: str) -> str:
        old = await self.deliveries.find_one({"_id": delivery_id})  # a lone _id uses the index
        if old is None or old.get("webhook_id") != webhook_id:
            raise NotFound(f"delivery {delivery_id} not found")
        await self.sendable(webhook_id)  # its deliveries outlive a deleted webhook
        new = {**old, "_id": new_id(), "status": "pending", "attempts": [], "created_at": utcnow(),
               "redelivery_of": delivery_id}
        await self.deliveries.insert_one(new)
        await self.jobs.enqueue(JOB_KIND, {"delivery_id": new["_id"]}, key=f"whd:{new['_id']}",
                                max_attempts=self.settings.webhook_max_attempts + 2)
        await self.audit.record(
            actor, "webhook.redeliver", "webhook", webhook_id, after={"delivery": new["_id"]}
        )
        return str(new["_id"])

    # --- delivery (job handler) ----------------------------------------------------------------

    async def deliver(self, payload: dict[str, Any]) -> None:
        delivery = await self.deliveries.find_one({"_id": payload.get("delivery_id")})
        if delivery is None or delivery["status"] in ("succeeded", "dead", "skipped"):
            return
        hook = await self.col.find_one({"_id": delivery["webhook_id"]})
        if hook is None or not hook["active"]:
            await self.deliveries.update_one({"_id": delivery["_id"]}, {"$set": {"status": "skipped"}})
            return
        attempt, ok = await self._attempt(hook, delivery)
        attempts = [*delivery["attempts"], attempt]
        if ok:
            await self.deliveries.update_one({"_id": delivery["_id"]},
                                             {"$set": {"status": "succeeded", "attempts": attempts}})
            return
        if len(attempts) >= self.settings.webhook_max_attempts:
            await self.deliveries.update_one({"_id": delivery["_id"]},
                                             {"$set": {"status": "dead", "attempts": attempts}})
            await self._maybe_disable(hook)
            return
        await self.deliveries.update_one(
            {"_id": delivery["_id"]}, {"$set": {"status": "failed", "attempts": attempts}}
        )
        raise RuntimeError(f"webhook delivery failed: {attempt.get('error') or attempt.get('status_code')}")

    def _previous(self, hook: dict[str, Any]) -> tuple[str, ...]:
        """The secret replaced by a rotation, while its overlap lasts."""
        until = hook.get("previous_until")
        if not hook.get("previous_secret_enc") or until is None or until.replace(tzinfo=UTC) <= utcnow():
            return ()
        return (self.box.decrypt(hook["previous_secret_enc"]),)

    async def _attempt(self, hook: dict[str, Any], delivery: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        body = delivery["body"].encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   HEADER: sign(self.box.decrypt(hook["secret_enc"]), body, also=self._previous(hook)),
                   "Berry-Event": delivery["event"], "Berry-Delivery": delivery["_id"]}
        attempt: dict[str, Any] = {
            "at": utcnow(),
            "status_code": None,
            "error": None,
            "ms": None,
            "response": None,
        }
        start = time.perf_counter()
        try:
            # the whole attempt, the host's resolution too, within the timeout (bounded by the job's lease)
            async with asyncio.timeout(self.settings.webhook_timeout_s):
                await check_resolved(hook["url"], allow_private=self.settings.webhook_allow_private)
                async with self.http.post(hook["url"], data=body, headers=headers,
                                          allow_redirects=False) as resp:
                    attempt["status_code"] = resp.status
                    attempt["response"] = (await resp.content.read(MAX_LOGGED_RESPONSE)).decode(
                        "utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError, OSError, PermissionError, ValueError) as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"[:500]
        attempt["ms"] = round((time.perf_counter() - start) * 1000, 1)
        ok = attempt["status_code"] is not None and 200 <= attempt["status_code"] < 300
        return attempt, ok

    async def _maybe_disable(self, hook: dict[str, Any]) -> None:
        n = self.settings.webhook_disable_after
        recent = [d["status"] async for d in self.deliveries.find(
            {"webhook_id": hook["_id"], "status": {"$in": ["succeeded", "dead"]}}, {"status": 1}
        ).sort("_id", -1).limit(n)]
        if len(recent) < n or any(s != "dead" for s in recent):
            return
        reason = f"{n} consecutive deliveries failed"
        current = await self.col.find_one({"_id": hook["_id"]}, {"active": 1, "updated_at": 1})
        if current is None or not current.get("active"):
            return
        # One disabler per enabled spell (a re-enable changes updated_at): a claim, not a filtered
        # update, which FerretDB neither serializes nor pushes down ({_id, active} scans).
        spell = current.get("updated_at")
        if not await self.store.claim(CLAIMS, f"disable:{hook['_id']}:{spell.isoformat() if spell else '-'}",
                                      {"created_at": utcnow()}):
            return
        result = await self.col.update_one({"_id": hook["_id"]}, {"$set": {
            "active": False, "disabled_reason": reason, "updated_at": utcnow()}})
        self._active.invalidate()
        if result.modified_count:
            log.warning("webhook disabled", extra={"webhook": hook["_id"], "url": hook["url"]})
            await self.audit.record("system:webhooks", "webhook.disable", "webhook", hook["_id"],
                                    after={"reason": reason})
            await self.bus.publish(WebhookDisabled(webhook_id=hook["_id"], url=hook["url"], reason=reason))
