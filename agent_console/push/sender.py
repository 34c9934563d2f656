"""Web Push notifications from the hub (the console tab may be closed): which events notify whom,
and the job that sends one push.

Notified: the agent a ticket is assigned to (not when they took it themselves), the assignee of a
ticket the customer's message reopened (pending, snoozed or resolved: "#N reopened by the customer",
the message as the body; not if routing handed it to a colleague, who is told it was assigned), a colleague
@mentioned in a note (and the escalation notices ticketing stores), the assignee of a ticket
nearing its SLA (its team's agents when nobody has it), and a team's agents when the bot hands a
conversation to that team. A ticket with neither team nor assignee sits in the shared inbox,
where nobody in particular is watching: its handoff and SLA warning go to the supervisors (the
admins when there is no supervisor). Each push is one job per browser subscription
(``console.push`` on the hub's job queue, retried with back-off): the payload is encrypted for
that browser (RFC 8291, aes128gcm, by pywebpush) and signed for the push service (VAPID, RFC 8292).
The push service's answer decides: 201/202 done; 404/410 the subscription is gone and removed;
429/5xx/network retried; another 4xx is logged and dropped (it would fail again).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import aiohttp
from pywebpush import WebPusher

from hub.models import Role
from hub.store import Store

from .subscriptions import Subscriptions
from .vapid import VapidKeys

log = logging.getLogger(__name__)
JOB_KIND = "console.push"
TTL_S = 4 * 3600  # a notification older than a shift is noise
MAX_PAYLOAD = 3000  # bytes of JSON; push services take 4096 after encryption
TEAM_FAN_OUT = 50  # agents of one team notified at most
AGENT_ROLES = [Role.agent.value, Role.supervisor.value, Role.admin.value]


class PushFailed(Exception):
    """Retried by the job queue (429, 5xx, network)."""


class PushNotifier:
    def __init__(
        self,
        store: Store,
        jobs: Any,
        subscriptions: Subscriptions,
        vapid: VapidKeys,
        http: aiohttp.ClientSession,
    ) -> None:
        self.store, self.jobs, self.subscriptions, self.vapid, self.http = (
            store,
            jobs,
            subscriptions,
            vapid,
            http,
        )
        self.sent = 0
        self.gone = 0

    # --- who is told what -----------------------------------------------------------------------

    async def on_conversation_updated(self, event: Any) -> None:
        conversation, previous = event.conversation, event.previous or {}
        if "assignee_id" not in previous or not conversation.assignee_id:
            return
        if conversation.assignee_id == previous["assignee_id"] or conversation.assignee_id == event.actor_id:
            return  # unchanged, or they took it themselves
        await self.push(
            [conversation.assignee_id],
            {
                "kind": "assigned",
                "title": f"#{conversation.number} assigned to you",
                "body": conversation.subject or f"{conversation.channel.value} conversation",
                "conversation_id": conversation.id,
            },
            urgency="high",
            key=f"assigned:{conversation.id}:{conversation.assignee_id}:{conversation.updated_at.isoformat()}",
        )

    async def on_message_created(self, event: Any) -> None:
        """A customer's message reopened the ticket (``reopened_from``): its assignee is told, once per
        message. Subscribed after ticketing (``hub/app.py`` sets it up first), so routing has had its
        say: a ticket an offline agent held went to a colleague, whose assignment push says so."""
        if getattr(event, "reopened_from", None) is None or not event.conversation.assignee_id:
            return  # no reopen; or in the queue, where routing's assignment is pushed
        doc = await self.store.conversations.find_one({"_id": event.conversation.id}, {"assignee_id": 1})
        if doc is None or doc.get("assignee_id") != event.conversation.assignee_id:
            return  # erased, or handed to someone else meanwhile
        conversation, text = event.conversation, " ".join((event.message.text or "").split())[:200]
        await self.push(
            [conversation.assignee_id],
            {
                "kind": "reopened",
                "title": f"#{conversation.number} reopened by the customer",
                "body": text or conversation.subject or f"{conversation.channel.value} conversation",
                "conversation_id": conversation.id,
            },
            urgency="high",
            key=f"reopened:{conversation.id}:{event.message.id}",
        )

    async def on_notification(self, event: Any) -> None:
        n = event.notification
        if n.get("kind") not in ("mention", "escalation") or not n.get("user_id"):
            return
        title = "You were mentioned" if n["kind"] == "mention" else "Ticket escalated"
        await self.push(
            [n["user_id"]],
            {
                "kind": n["kind"],
                "title": title,
                "body": n.get("text", ""),
                "conversation_id": n.get("conversation_id"),
            },
            urgency="high",
            key=f"note:{n['_id']}",
        )

    async def on_sla_warning(self, event: Any) -> None:
        conversation = await self.store.conversations.find_one(
            {"_id": event.conversation_id}, {"number": 1, "assignee_id": 1, "team_id": 1, "subject": 1}
        )
        if conversation is None:
            return
        people = (
            [conversation["assignee_id"]]
            if conversation.get("assignee_id")
            else await self.responsible(conversation.get("team_id"))
        )
        metric = str(event.metric).replace("_", " ")
        await self.push(
            people,
            {
                "kind": "sla_warning",
                "title": f"#{conversation['number']}: {metric} due soon",
                "body": conversation.get("subject") or "",
                "conversation_id": event.conversation_id,
            },
            urgency="high",
            key=f"sla:{event.conversation_id}:{event.metric}:{event.due_at.isoformat()}",
        )

    async def on_handoff(self, event: Any) -> None:
        conversation = event.conversation
        # the assignee, and the team's agents too (supervisors if neither team nor assignee)
        people = {conversation.assignee_id} if conversation.assignee_id else set()
        if conversation.team_id or not conversation.assignee_id:
            people |= set(await self.responsible(conversation.team_id))
        await self.push(
            sorted(people),
            {
                "kind": "handoff",
                "title": f"#{conversation.number} handed over by the bot",
                "body": str(event.reason or "")[:200],
                "conversation_id": conversation.id,
            },
            urgency="normal",
            key=f"handoff:{conversation.id}:{conversation.updated_at.isoformat()}",
        )

    async def responsible(self, team_id: str | None) -> list[str]:
        """Who answers for an unassigned ticket: its team's agents, or the supervisors if it has no team."""
        return await self.team_agents(team_id) if team_id else await self.supervisors()

    async def supervisors(self) -> list[str]:
        """Active supervisors; the admins if there are none."""
        for role in (Role.supervisor.value, Role.admin.value):
            people = [d["_id"] async for d in self.store.users.find(
                {"role": role, "active": {"$ne": False}}, {"_id": 1}).sort("_id", 1).limit(TEAM_FAN_OUT)]
            if people:
                return people
        return []

    async def team_agents(self, team_id: str | None) -> list[str]:
        """A team's active agents: by their ``team_ids`` and by the team's member list."""
        if not team_id:
            return []
        people = {
            d["_id"]
            async for d in self.store.users.find(
                {"team_ids": team_id, "role": {"$in": AGENT_ROLES}, "active": {"$ne": False}}, {"_id": 1}
            ).limit(TEAM_FAN_OUT)
        }
        team = await self.store["teams"].find_one({"_id": team_id}, {"members": 1, "supervisor_id": 1})
        if team:
            people |= {m["user_id"] for m in team.get("members", [])}
        return sorted(people)[:TEAM_FAN_OUT]

    async def push(self, user_ids: list[str], notification: dict[str, Any], *, urgency: str, key: str) -> int:
        """Queue one push job per browser of these users."""
        if not user_ids:
            return 0
        notification["tag"] = f"{notification['kind']}:{notification.get('conversation_id') or ''}"
        count = 0
        for sub in await self.subscriptions.of(sorted(set(user_ids))):
            await self.jobs.enqueue(
                JOB_KIND,
                {"subscription_id": sub["_id"], "notification": notification, "urgency": urgency},
                key=f"push:{hashlib.sha256(key.encode()).hexdigest()[:24]}:{sub['_id']}",
                max_attempts=6,
            )
            count += 1
        return count

    # --- sending ----------------------------------------------------------------------------------

    async def send_job(self, payload: dict[str, Any]) -> None:
        sub = await self.subscriptions.get(payload["subscription_id"])
        if sub is None:
            return  # unsubscribed (or found dead) since
        data = json.dumps(payload["notification"], ensure_ascii=False).encode()[:MAX_PAYLOAD]
        body = WebPusher(
            {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
        ).encode(data, "aes128gcm")["body"]
        tag = payload["notification"].get("tag", "")
        headers = {
            "TTL": str(TTL_S),
            "Urgency": payload.get("urgency", "normal"),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            # Topic: a newer push about the same ticket replaces one still undelivered
            "Topic": hashlib.sha256(tag.encode()).hexdigest()[:32],
            "Authorization": await self.vapid.authorization(sub["endpoint"]),
        }
        try:
            async with self.http.post(
                sub["endpoint"],
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=15),
                allow_redirects=False,
            ) as resp:
                status, text = resp.status, (await resp.text(errors="replace"))[:300]
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PushFailed(f"push service unreachable: {exc!r}") from exc
        if status in (200, 201, 202):
            self.sent += 1
        elif status in (404, 410):
            self.gone += 1
            await self.subscriptions.gone(sub["_id"])
            log.info("push subscription gone; removed", extra={"user_id": sub["user_id"], "status": status})
        elif status == 429 or status >= 500:
            raise PushFailed(f"push service answered {status}: {text}")
        else:
            log.warning("push refused", extra={"user_id": sub["user_id"], "status": status, "detail": text})


__all__ = ["JOB_KIND", "PushFailed", "PushNotifier"]
