"""Ticketing figures against a real FerretDB (issue #4). Prints one JSON line.

- routing: assignment decisions per second with 500 online agents (one team) and 10,000 open
  tickets already assigned (their capacity claims in place); both strategies; ``choose`` (decide
  + claim a slot) and the full ``auto_assign`` (also updates the ticket: audit + events).
- SLA sweep over 100,000 open tickets (goal < 2 s): a share of them (default 0.1 %, i.e. 100; a 30 s
  tick sees about that many when 100k tickets have 8 h targets) reach their warning now; the time
  of that sweep pass, of a quiet pass, and side by side the field query the wheel replaces.
- rule evaluation per message with 200 active rules (goal p95 < 2 ms): the in-memory evaluation
  (``Rules.matching``), over varied messages; wall time and this process's CPU time (on a shared,
  overloaded box the wall-clock tail is the scheduler's, not the code's).

    python bench/routing.py [--agents 500] [--open 10000] [--sweep-tickets 100000] [--rules 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hub.audit import Audit
from hub.contacts import Contacts
from hub.conversations import Conversations
from hub.events import EventBus
from hub.jobs import Jobs
from hub.models import (
    Channel,
    Contact,
    Conversation,
    Direction,
    Message,
    Priority,
    Role,
    User,
    new_id,
    utcnow,
)
from hub.store import EmbeddedFerretDB, Store
from hub.ticketing.clock import ManualClock
from hub.ticketing.conditions import Facts
from hub.ticketing.context import Ctx
from hub.ticketing.rules import Rule, compile_rule
from hub.ticketing.service import Ticketing
from hub.ticketing.settings import TicketingSettings
from hub.ticketing.sla import SlaPolicy, Targets
from hub.ticketing.teams import Member, Team
from hub.ticketing.timers import minute_key

WORDS = [
    "refund",
    "booking",
    "venue",
    "catering",
    "photographer",
    "dj",
    "cancel",
    "invoice",
    "deposit",
    "wedding",
    "urgent",
    "late",
    "broken",
    "menu",
    "guests",
    "parking",
    "music",
    "lights",
    "date",
    "change",
    "thanks",
    "hello",
    "please",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def insert_batches(col: Any, docs: list[dict[str, Any]], label: str, size: int = 1000) -> None:
    for i in tqdm(range(0, len(docs), size), desc=label, unit="batch", leave=False):
        await col.insert_many(docs[i : i + size], ordered=False)


def ticket(n: int, **kw: Any) -> Conversation:
    return Conversation(number=n, contact_id=f"c{n}", channel=Channel.sms, thread_key=f"t{n}", **kw)


async def bench_routing(
    t: Ticketing, store: Store, agents: int, open_tickets: int, decisions: int, full: int
) -> dict[str, Any]:
    users = [User(email=f"a{i}@bench.test", role=Role.agent, name=f"Agent {i}") for i in range(agents)]
    await insert_batches(store.users, [u.to_doc() for u in users], "users")
    now = utcnow()
    await insert_batches(
        store["agent_status"],
        [
            {"_id": u.id, "status": "online", "updated_at": now, "load": 0, "last_assigned_at": None}
            for u in users
        ],
        "presence",
    )
    per_agent = open_tickets // agents
    capacity = per_agent + decisions // agents + 10
    out: dict[str, Any] = {"agents": agents, "open_tickets": open_tickets}
    for strategy in ("round_robin", "least_loaded"):
        team = Team(
            name=f"bench-{strategy}",
            strategy=strategy,  # type: ignore[arg-type]
            members=[Member(user_id=u.id, capacity=capacity) for u in users],
        )
        await store["teams"].insert_one(team.to_doc())
        await store["agent_load"].delete_many({})
        existing = [ticket(i, assignee_id=users[i % agents].id, team_id=team.id) for i in range(open_tickets)]
        await store.conversations.delete_many({})
        await insert_batches(store.conversations, [c.to_doc() for c in existing], f"tickets ({strategy})")
        await insert_batches(
            store["agent_load"],
            [
                {
                    "_id": f"slot:{c.assignee_id}:{i // agents}",
                    "agent_id": c.assignee_id,
                    "conversation_id": c.id,
                }
                for i, c in enumerate(existing)
            ],
            "capacity claims",
        )
        await store["agent_holds"].delete_many({})
        await insert_batches(
            store["agent_holds"],
            [
                {
                    "_id": f"{c.id}:{c.assignee_id}",
                    "slot": f"slot:{c.assignee_id}:{i // agents}",
                    "agent_id": c.assignee_id,
                    "conversation_id": c.id,
                }
                for i, c in enumerate(existing)
            ],
            "holds",
        )
        await store["agent_status"].update_many({}, {"$set": {"load": per_agent}})
        fresh = [ticket(open_tickets + i, team_id=team.id) for i in range(decisions + full)]
        await insert_batches(store.conversations, [c.to_doc() for c in fresh], "new tickets")
        lat: list[float] = []
        start = time.perf_counter()
        for c in fresh[:decisions]:
            t0 = time.perf_counter()
            assert await t.routing.choose(team, c) is not None
            lat.append(time.perf_counter() - t0)
        choose_s = time.perf_counter() - start
        full_lat: list[float] = []
        start = time.perf_counter()
        for c in fresh[decisions:]:
            t0 = time.perf_counter()
            assert await t.routing.auto_assign(c.id, team_id=team.id) is not None
            full_lat.append(time.perf_counter() - t0)
        full_s = time.perf_counter() - start
        out[strategy] = {
            "decisions_per_s": round(decisions / choose_s, 1),
            "decision_p50_ms": round(statistics.median(lat) * 1000, 2),
            "decision_p95_ms": round(pct(lat, 0.95) * 1000, 2),
            "auto_assign_per_s": round(full / full_s, 1),
            "auto_assign_p95_ms": round(pct(full_lat, 0.95) * 1000, 2),
        }
    return out


async def bench_sweep(
    t: Ticketing, store: Store, clock: ManualClock, n: int, due_share: float, breaches: int
) -> dict[str, Any]:
    """100k open tickets with running SLA clocks; ``due_share`` of them reach their warning now, and
    ``breaches`` of those breach a few minutes later (a breach reads and updates its ticket and
    escalates it: on FerretDB v1 SQLite each of those is a scan of ``conversations``)."""
    await store.conversations.delete_many({})
    policy = SlaPolicy(
        name="bench", default=True, targets={Priority.normal: Targets(first_response=60, resolution=480)}
    )
    await store["sla_policies"].insert_one(policy.to_doc())
    now = clock.now().replace(second=30, microsecond=0)
    clock.set(now)
    due = int(n * due_share)
    docs: list[dict[str, Any]] = []
    timers: dict[str, list[dict[str, Any]]] = {}
    for i in range(n):
        created = (
            now - timedelta(minutes=59, seconds=i % 50)
            if i < due
            else now - timedelta(minutes=random.randint(0, 40))
        )
        warn_at = created + timedelta(minutes=48)
        metrics = {
            "first_response": {
                "started_at": created,
                "target_s": 3600,
                "paused_s": 0.0,
                "warned": False,
                "breached": False,
                "met_at": None,
                "due_at": created + timedelta(minutes=60),
                "warn_at": warn_at,
            }
        }
        doc = ticket(i, created_at=created).to_doc()
        minute = minute_key(warn_at)  # the wheel's layout, written in bulk instead of 100k add() calls
        doc["sla"] = {
            "policy_id": policy.id,
            "paused_at": None,
            "metrics": metrics,
            "filed": {"first_response:warning": minute},
        }
        doc["sla_next_at"] = warn_at
        docs.append(doc)
        timers.setdefault(minute, []).append(
            {
                "_id": new_id(),
                "at": warn_at,
                "conversation_id": doc["_id"],
                "metric": "first_response",
                "kind": "warning",
                "due_at": warn_at + timedelta(minutes=12),
            }
        )
        if i < breaches:
            due_at = metrics["first_response"]["due_at"]
            timers.setdefault(minute_key(due_at), []).append(
                {
                    "_id": new_id(),
                    "at": due_at,
                    "conversation_id": doc["_id"],
                    "metric": "first_response",
                    "kind": "breach",
                    "due_at": due_at,
                }
            )
    await insert_batches(store.conversations, docs, "sweep tickets")
    for minute, batch in tqdm(sorted(timers.items()), desc="timer minutes", leave=False):
        await store[f"wheel.sla.{minute}"].insert_many(batch)
    clock.set(now - timedelta(minutes=15))
    t0 = time.perf_counter()
    empty = await t.sla.sweep()
    probe_s = time.perf_counter() - t0
    clock.set(now)
    t0 = time.perf_counter()
    counts = await t.sla.sweep(limit=10 * due + 100)
    sweep_s = time.perf_counter() - t0
    clock.set(now + timedelta(minutes=3))
    t0 = time.perf_counter()
    breach_counts = await t.sla.sweep()
    breach_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scanned = await store.conversations.count_documents({"sla_next_at": {"$lte": now}})
    scan_s = time.perf_counter() - t0
    return {
        "open_tickets": n,
        "due": due,
        "sweep_s": round(sweep_s, 3),
        "counts": counts,
        "per_due_ticket_ms": round(sweep_s / max(1, counts["checked"]) * 1000, 2),
        "quiet_sweep_ms": round(probe_s * 1000, 2),
        "quiet_sweep_timers": empty["timers"],
        "timer_minutes_pending": len(timers),
        "breach_sweep_s": round(breach_s, 3),
        "breach_counts": breach_counts,
        "per_breach_s": round(breach_s / max(1, breach_counts["breaches"]), 2),
        "compare_field_query_s": round(scan_s, 3),
        "compare_field_query_found": scanned,
    }


def make_rules(n: int) -> list[Any]:
    rng = random.Random(7)
    rules = []
    for i in range(n):
        conds: list[dict[str, Any]] = [{"field": "direction", "op": "eq", "value": "in"}]
        kind = i % 5
        if kind == 0:
            conds.append({"field": "text", "op": "contains", "value": rng.choice(WORDS) + "x"})
        elif kind == 1:
            conds.append({"field": "text", "op": "regex", "value": rf"\b{rng.choice(WORDS)}\w*\s+\d{{3,}}"})
        elif kind == 2:
            conds += [
                {"field": "channel", "op": "in", "value": ["email", "webchat"]},
                {"field": "tags", "op": "contains", "value": f"tag{i}"},
            ]
        elif kind == 3:
            conds += [
                {"field": "priority", "op": "eq", "value": "urgent"},
                {"field": "contact.type", "op": "eq", "value": "provider"},
            ]
        else:
            conds.append({"field": "contact.attributes.tier", "op": "eq", "value": f"tier{i}"})
        rules.append(
            compile_rule(
                Rule.model_validate(
                    {
                        "name": f"r{i}",
                        "order": i,
                        "trigger": {"type": "message.created"},
                        "conditions": conds,
                        "actions": [{"type": "add_tag", "params": {"tag": f"t{i}"}}],
                    }
                )
            )
        )
    return rules


def bench_rules(t: Ticketing, n_rules: int, messages: int) -> dict[str, Any]:
    rules = make_rules(n_rules)
    rng = random.Random(3)
    contact = Contact(name="Zanele Dube", custom_fields={"tier": "gold"})
    conversation = ticket(1, tags=["vip", "billing"])
    lat: list[float] = []
    cpu: list[float] = []
    matched = 0
    for i in range(messages):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) + f" {rng.randint(100, 99999)}"
        message = Message(
            conversation_id=conversation.id,
            contact_id="c",
            direction=Direction.inbound,
            author_type="customer",
            text=text,
            channel=Channel.sms,
            id=new_id(),
        )  # type: ignore[arg-type]
        facts = Facts(conversation=conversation, message=message, contact=contact, now=utcnow())
        t0, c0 = time.perf_counter(), time.process_time()
        matched += len(t.rules.matching(rules, "message.created", facts))
        cpu.append(time.process_time() - c0)
        lat.append(time.perf_counter() - t0)
        del i
    return {
        "rules": n_rules,
        "messages": messages,
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p95_ms": round(pct(lat, 0.95) * 1000, 3),
        "p99_ms": round(pct(lat, 0.99) * 1000, 3),
        "cpu_p50_ms": round(statistics.median(cpu) * 1000, 3),
        "cpu_p95_ms": round(pct(cpu, 0.95) * 1000, 3),
        "matches_per_message": round(matched / messages, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    server = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-routing-")))
    await asyncio.to_thread(server.start)
    try:
        store = Store.connect(server.url, "bench")
        await store.ensure_indexes()
        bus = EventBus()
        audit = Audit(store)
        contacts = Contacts(store, bus)
        clock = ManualClock(utcnow())
        ctx = Ctx(
            store=store,
            bus=bus,
            conversations=Conversations(store, bus, audit),
            contacts=contacts,
            audit=audit,
            jobs=Jobs(store),
            clock=clock,
        )
        settings = TicketingSettings(_env_file=None, auto_assign=False)  # type: ignore[call-arg]
        t = Ticketing(ctx, settings)
        parts = set(args.parts.split(","))
        rules = bench_rules(t, args.rules, args.messages) if "rules" in parts else None
        routing = (
            await bench_routing(t, store, args.agents, args.open, args.decisions, args.full)
            if "routing" in parts
            else None
        )
        sweep = (
            await bench_sweep(t, store, clock, args.sweep_tickets, args.due_share, args.breaches)
            if "sweep" in parts
            else None
        )
        await store.close()
    finally:
        await asyncio.to_thread(server.stop)
    return {
        "bench": "routing",
        "machine": f"{platform.machine()} {platform.python_version()}",
        "routing": routing,
        "sla_sweep": sweep,
        "rule_eval": rules,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--full", type=int, default=20, help="full auto_assign calls (update, audit, events)")
    parser.add_argument("--sweep-tickets", type=int, default=100_000)
    parser.add_argument("--due-share", type=float, default=0.001, help="share of tickets due in one sweep")
    parser.add_argument("--breaches", type=int, default=5, help="of the due tickets, how many breach")
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--parts", default="rules,routing,sweep", help="comma-separated subset to run")
    print(json.dumps(asyncio.run(main(parser.parse_args())), default=str))
