"""The unit of every report: a *group* — the conversations created in one quarter hour (``SLOT_S``)
that share a team, channel, agent, contact type and priority — with mergeable partial figures.

Why a quarter hour: every IANA zone's offset today is a whole number of quarter hours (Asia/Kolkata
+05:30, Asia/Kathmandu +05:45, Australia/Eucla +08:45), so a slot lies in one local hour and one local
day in every zone, and a range of whole local days (or hours) is a whole number of slots. The group's
``hour`` field (named before the grain was refined, kept so stored buckets still decode) is the slot's start.

Groups are what a roll-up bucket stores and what the on-the-fly path computes, from the same
``group_conversations`` function, so both paths agree by construction and ``rebuild`` can compare
them field by field. Response times are kept as lists of seconds (not sums) so that medians and
p90s of a merged range are exact, not averages of averages.

Counting rules (docs/reports.md):
- a ticket counts in the quarter hour it was *created* (cohort reporting); merged tickets
  (``merged_into``) are left out, they are duplicates of the ticket they were merged into;
- first response = ``first_response_at`` − ``created_at`` (agent replies only; bot replies don't count);
- next response = after the first response, each wait from a customer's first unanswered message to
  the next public agent reply (``reply_gaps``; bot and private messages don't count, nor do automatic
  inbound ones — ``meta.no_auto_reply`` — and a wait still unanswered is not counted yet);
- resolution = ``resolved_at`` − ``created_at`` for tickets whose status is resolved/closed now, so a
  reopened ticket counts as unresolved until it is resolved again, then with its latest resolve;
- business-hours variants use the calendar of the ticket's SLA policy (else the default policy,
  else 24/7);
- bot engaged = a non-empty ``conversation.bot``; deflected = engaged, never handed off and never
  answered by an agent;
- CSAT surveyed = ``csat.sent_at`` set; answered = ``csat.score`` set (the latest in-window score);
- contact type of the surviving contact (``merged_into`` followed).

Agents are credited with the work they did, not with whoever holds the ticket now (``credit``): the
first response to the author of the first public agent reply, each next response to the agent who
answered, the resolution to ``resolved_by`` (the user who resolved it). The ticket itself — its count
("handled"), CSAT, SLA, bot and contact figures — goes to its *owner*: whoever resolved it, else its
assignee now, else the last agent who answered it (a ticket handed back to the queue stays with the
agent who worked it). Where the data is missing (no author on a message, a ticket resolved by the
system, before ``resolved_by`` existed) the owner gets the credit. So one ticket can add to several
agents' groups, each figure in exactly one, and the totals are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from hub.models import bot_deflected, bot_engaged

DIMS = ("team_id", "channel", "agent_id", "contact_type", "priority")
LISTS = ("frt", "frt_bh", "res", "res_bh", "nrt", "nrt_bh")
COUNTS = ("n", "resolved", "csat_sent", "bot_engaged", "bot_deflected")
DICTS = ("csat", "handoffs", "sla")  # str → int (sla: "<metric>:met|breached" → int)
RESOLVED = frozenset({"resolved", "closed"})
SLOT_S = 900  # a group's span: a quarter hour (see the module docstring)

BetweenFn = Callable[[dict[str, Any], datetime, datetime], float]


def empty_stats() -> dict[str, Any]:
    return {**{k: 0 for k in COUNTS}, **{k: [] for k in LISTS}, **{k: {} for k in DICTS}, "contacts": []}


def _bump(d: dict[str, int], key: str, by: int = 1) -> None:
    d[key] = d.get(key, 0) + by


def owner(conv: dict[str, Any]) -> str | None:
    """The agent a ticket counts for: who resolved it, else its assignee now, else the last agent
    who answered it (``_last_by``, from its messages)."""
    resolved_by = conv.get("resolved_by") if conv.get("status") in RESOLVED else None
    return resolved_by or conv.get("assignee_id") or conv.get("_last_by")


def conversation_stats(conv: dict[str, Any], stats_for: Callable[[str | None], dict[str, Any]],
                       business_between: BetweenFn, contact_id: str | None) -> None:
    """Add one conversation's figures to the stats of the agents credited (``stats_for(agent)``)."""
    created: datetime = conv["created_at"]
    agent = owner(conv)
    stats = stats_for(agent)
    stats["n"] += 1
    first = conv.get("first_response_at")
    if first is not None:
        by = stats_for(conv.get("_first_by") or agent)
        by["frt"].append(round((first - created).total_seconds(), 3))
        by["frt_bh"].append(round(business_between(conv, created, first), 3))
    for waited, answered, *answerer in conv.get("_gaps", ()):
        by = stats_for((answerer[0] if answerer else None) or agent)
        by["nrt"].append(round((answered - waited).total_seconds(), 3))
        by["nrt_bh"].append(round(business_between(conv, waited, answered), 3))
    resolved_at = conv.get("resolved_at")
    if conv.get("status") in RESOLVED and resolved_at is not None:
        stats["resolved"] += 1
        stats["res"].append(round((resolved_at - created).total_seconds(), 3))
        stats["res_bh"].append(round(business_between(conv, created, resolved_at), 3))
    csat = conv.get("csat") or {}
    if csat.get("sent_at") is not None:
        stats["csat_sent"] += 1
        score = csat.get("score")
        if isinstance(score, int) and 1 <= score <= 5:
            _bump(stats["csat"], str(score))
    bot = conv.get("bot") or {}
    if bot_engaged(bot):
        stats["bot_engaged"] += 1
        reason = (bot.get("handoff") or {}).get("reason")
        if reason:
            _bump(stats["handoffs"], str(reason))
        elif bot_deflected(bot, first):
            stats["bot_deflected"] += 1
    for metric, state in ((conv.get("sla") or {}).get("metrics") or {}).items():
        if state.get("breached"):
            _bump(stats["sla"], f"{metric}:breached")
        elif state.get("met_at") is not None:
            _bump(stats["sla"], f"{metric}:met")
    if contact_id and contact_id not in stats["contacts"]:
        stats["contacts"].append(contact_id)


class AgentWork(NamedTuple):
    gaps: list[tuple[datetime, datetime, str | None]]  # (waited since, answered at, by whom)
    first_by: str | None  # the author of the first public agent reply
    last_by: str | None  # … and of the last


def agent_work(messages: Iterable[dict[str, Any]]) -> AgentWork:
    """Who answered one conversation, and every next response with the agent who gave it.

    ``messages``: its messages in any order (``direction``, ``author_type``, ``author_id``, ``private``,
    ``created_at``, ``meta.no_auto_reply``). The wait before the first agent reply is the first response,
    not a next response. An automatic inbound message (an auto-reply, bulk mail, an SMS keyword:
    ``meta.no_auto_reply``) starts no wait: nobody wrote it (hub/ticketing starts no SLA clock either).
    """
    gaps: list[tuple[datetime, datetime, str | None]] = []
    first_by = last_by = None
    answered_once = False
    waiting: datetime | None = None
    for m in sorted(messages, key=lambda m: m["created_at"]):
        if m.get("private"):
            continue
        if m.get("direction") == "in":
            if answered_once and waiting is None and not (m.get("meta") or {}).get("no_auto_reply"):
                waiting = m["created_at"]
        elif m.get("author_type") == "agent":
            by = m.get("author_id")
            if waiting is not None:
                gaps.append((waiting, m["created_at"], by))
            if not answered_once:
                first_by = by
            last_by = by or last_by
            answered_once, waiting = True, None
    return AgentWork(gaps, first_by, last_by)


def reply_gaps(messages: Iterable[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """(customer waited since, agent answered at) for every next response of one conversation."""
    return [(waited, answered) for waited, answered, _ in agent_work(messages).gaps]


def slot_of(at: datetime) -> datetime:
    """The start of the quarter hour holding ``at``."""
    return at.replace(minute=at.minute - at.minute % (SLOT_S // 60), second=0, microsecond=0)


def group_key(conv: dict[str, Any], contact_type: str | None) -> tuple[Any, ...]:
    return (slot_of(conv["created_at"]), conv.get("team_id"), str(conv.get("channel")),
            owner(conv), contact_type,
            str(conv.get("priority") or "normal"))


def group_conversations(convs: Iterable[dict[str, Any]], contacts: dict[str, tuple[str, str]],
                        business_between: BetweenFn) -> list[dict[str, Any]]:
    """Conversations → groups. ``contacts``: contact id → (surviving contact id, type)."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for conv in convs:
        if conv.get("merged_into"):
            continue
        survivor, ctype = contacts.get(conv.get("contact_id") or "", (conv.get("contact_id"), "consumer"))
        key = group_key(conv, ctype)

        def stats_for(agent: str | None, key: tuple[Any, ...] = key) -> dict[str, Any]:
            at = (*key[:3], agent, *key[4:])  # DIMS: agent_id is the third
            if at not in groups:
                groups[at] = {"hour": at[0], **dict(zip(DIMS, at[1:], strict=True)), **empty_stats()}
            return groups[at]
        conversation_stats(conv, stats_for, business_between, survivor)
    return [_sorted(g) for g in sorted(groups.values(), key=_order)]


def _order(group: dict[str, Any]) -> tuple[Any, ...]:
    return (group["hour"], *(str(group[d]) for d in DIMS))


def _sorted(group: dict[str, Any]) -> dict[str, Any]:
    for name in LISTS:
        group[name] = sorted(group[name])
    group["contacts"] = sorted(group["contacts"])
    for name in DICTS:
        group[name] = dict(sorted(group[name].items()))
    return group


def merge(groups: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum groups into one set of figures (contacts become a set of distinct ids)."""
    total = empty_stats()
    contacts: set[str] = set()
    for g in groups:
        for k in COUNTS:
            total[k] += g.get(k, 0)
        for k in LISTS:
            total[k].extend(g.get(k, ()))
        for k in DICTS:
            for key, value in (g.get(k) or {}).items():
                _bump(total[k], key, value)
        contacts.update(g.get("contacts", ()))
    for k in LISTS:
        total[k].sort()
    total["contacts"] = contacts
    return total


def median(values: Sequence[float]) -> float | None:
    """Median of sorted values (mean of the middle two for an even count)."""
    n = len(values)
    if not n:
        return None
    mid = n // 2
    return float(values[mid]) if n % 2 else (float(values[mid - 1]) + float(values[mid])) / 2


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile of sorted values: the ⌈0.9·n⌉-th smallest."""
    if not len(values):
        return None
    return float(values[max(0, math.ceil(0.9 * len(values)) - 1)])


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


__all__ = ["DIMS", "LISTS", "SLOT_S", "empty_stats", "group_conversations", "hours", "median", "merge", "p90",
           "ratio",
           "agent_work", "owner", "reply_gaps", "slot_of"]
