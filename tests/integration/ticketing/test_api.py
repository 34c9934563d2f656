"""The ticketing REST API through the whole app: roles, configuration collections with their
checks (problem+json with the field), assignment and presence endpoints."""

from __future__ import annotations

from typing import Any

from hub.models import Role

from .conftest import Kit

HOURS = {
    "name": "JHB office",
    "timezone": "Africa/Johannesburg",
    "week": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-16", "2026-12-25"],
}


async def test_configuration_roles_and_bad_input(kit: Kit) -> None:
    boss = await kit.agent(Role.supervisor, online=False)
    agent = await kit.agent(online=False)
    # Agents read configuration, supervisors write it.
    status, _ = await kit.call("POST", "/business-hours", agent, json=HOURS)
    assert status == 403
    status, hours = await kit.call("POST", "/business-hours", boss, json=HOURS)
    assert status == 201 and hours["week"]["mon"] == ["08:00-17:00"], hours
    status, listed = await kit.call("GET", "/business-hours", agent)
    assert (
        status == 200
        and [h["id"] for h in listed["items"]] == [hours["id"]]
        and listed["next_cursor"] is None
    )
    for bad, field in (
        (dict(HOURS, timezone="Africa/Atlantis"), "timezone"),
        (dict(HOURS, week={"mon": ["17:00-08:00"]}), "week"),
        (dict(HOURS, colour="blue"), "colour"),
    ):
        status, problem = await kit.call("POST", "/business-hours", boss, json=bad)
        assert status == 422 and field in problem["field"], problem
    # SLA targets must be positive; the policy's calendar must exist.
    policy = {
        "name": "std",
        "business_hours_id": hours["id"],
        "default": True,
        "targets": {"normal": {"first_response": 60, "resolution": 480}},
    }
    for bad_target in (0, -5):
        status, problem = await kit.call(
            "POST",
            "/sla-policies",
            boss,
            json={**policy, "targets": {"normal": {"first_response": bad_target}}},
        )
        assert status == 422 and "first_response" in problem["field"]
    status, problem = await kit.call(
        "POST", "/sla-policies", boss, json={**policy, "business_hours_id": "nope"}
    )
    assert status == 422 and problem["field"] == "business_hours_id"
    status, problem = await kit.call("POST", "/sla-policies", boss, json={**policy, "team_ids": ["nope"]})
    assert status == 422 and problem["field"] == "team_ids"
    status, created = await kit.call("POST", "/sla-policies", boss, json=policy)
    assert status == 201
    status, problem = await kit.call(
        "PATCH", f"/sla-policies/{created['id']}", boss, json={"warn_before_pct": 0}
    )
    assert status == 422
    status, patched = await kit.call(
        "PATCH", f"/sla-policies/{created['id']}", boss, json={"warn_before_pct": 10}
    )
    assert status == 200 and patched["warn_before_pct"] == 10
    status, problem = await kit.call("PATCH", f"/sla-policies/{created['id']}", boss, json={"id": "hijack"})
    assert status == 422
    status, _ = await kit.call("DELETE", f"/business-hours/{hours['id']}", boss)
    assert status == 409  # in use by the policy
    # Rules: unknown field, hostile regex, unknown canned response.
    rule: dict[str, Any] = {
        "name": "r",
        "trigger": {"type": "message.created"},
        "actions": [{"type": "add_tag", "params": {"tag": "x"}}],
    }
    for conditions, field in (
        ([{"field": "mood", "op": "eq", "value": "sad"}], "field"),
        ([{"field": "text", "op": "regex", "value": "(a|aa)+$"}], "value"),
    ):
        status, problem = await kit.call(
            "POST", "/automation-rules", boss, json={**rule, "conditions": conditions}
        )
        assert status == 422 and problem["field"] == field, problem
    status, problem = await kit.call(
        "POST",
        "/automation-rules",
        boss,
        json={**rule, "actions": [{"type": "canned_reply", "params": {"canned_id": "missing"}}]},
    )
    assert status == 422 and problem["field"] == "actions[0].params.canned_id"
    # the type alone as the trigger: a 422 that shows the object it takes
    status, problem = await kit.call("POST", "/automation-rules", boss,
                                     json={**rule, "trigger": "ticket.updated"})
    assert status == 422 and problem["field"] == "trigger", problem
    assert 'trigger must be an object like {"type": "ticket.updated"}' in problem["detail"]
    status, canned = await kit.call(
        "POST",
        "/canned-responses",
        boss,
        json={"shortcut": "hello", "title": "Hello", "text": "Hi {{contact.first_name|there}}!"},
    )
    assert status == 201
    status, _ = await kit.call(
        "POST", "/canned-responses", boss, json={"shortcut": "hello", "title": "Again", "text": "dup"}
    )
    assert status == 409
    status, problem = await kit.call(
        "POST",
        "/canned-responses",
        boss,
        json={"shortcut": "bad", "title": "x", "text": "{{contact.password}}"},
    )
    assert status == 422
    status, stored = await kit.call(
        "POST",
        "/automation-rules",
        boss,
        json={**rule, "actions": [{"type": "canned_reply", "params": {"canned_id": canned["id"]}}]},
    )
    assert status == 201
    status, log = await kit.call("GET", f"/automation-rules/{stored['id']}/executions", agent)
    assert status == 200 and log == []
    # A time rule saved through the API files timers for the tickets already in its status.
    waiting = (await kit.inbound("anyone there?", sender="+27820000555")).conversation.id
    status, _ = await kit.call("PATCH", f"/conversations/{waiting}", agent, json={"status": "pending"})
    assert status == 200
    assert await kit.t.rules.wheel.pending() == []
    status, _ = await kit.call(
        "POST",
        "/automation-rules",
        boss,
        json={**rule, "trigger": {"type": "time", "status": "pending", "after_minutes": 30}},
    )
    assert status == 201 and len(await kit.t.rules.wheel.pending()) == 1
    status, body = await kit.call(
        "POST",
        "/automation-rules",
        boss,
        data=b"{not json",
        headers={"Content-Type": "application/json", **boss["headers"]},
    )
    assert status == 422


async def test_teams_presence_assignment(kit: Kit) -> None:
    boss = await kit.agent(Role.supervisor, online=False)
    ann = await kit.agent(online=False)
    ben = await kit.agent(online=False)
    status, problem = await kit.call(
        "POST", "/teams", boss, json={"name": "t", "members": [{"user_id": "ghost"}]}
    )
    assert status == 422
    status, team = await kit.call(
        "POST",
        "/teams",
        boss,
        json={
            "name": "Venues",
            "default": True,
            "strategy": "least_loaded",
            "supervisor_id": boss["id"],
            "members": [{"user_id": ann["id"], "languages": ["en"], "capacity": 2}, {"user_id": ben["id"]}],
        },
    )
    assert status == 201, team
    status, _ = await kit.call("POST", "/teams", ann, json={"name": "mine"})
    assert status == 403
    # Presence: own status, or anyone's with teams:write; an agent may not set a colleague's.
    status, _ = await kit.call("PUT", f"/agents/{ben['id']}/status", ann, json={"status": "online"})
    assert status == 403
    status, body = await kit.call("PUT", f"/agents/{ann['id']}/status", ann, json={"status": "online"})
    assert status == 200 and body["status"] == "online"
    status, _ = await kit.call("PUT", f"/agents/{ann['id']}/status", ann, json={"status": "asleep"})
    assert status == 422
    result = await kit.inbound("hello, is the venue free on Saturday?")
    cid = result.conversation.id
    status, conversation = await kit.call("GET", f"/conversations/{cid}", ann)
    assert conversation["assignee_id"] == ann["id"] and conversation["team_id"] == team["id"]
    status, body = await kit.call(
        "POST", f"/conversations/{cid}/assign", ann, json={"assignee_id": ben["id"]}
    )
    assert status == 200 and body["assignee_id"] == ben["id"]
    status, body = await kit.call("POST", f"/conversations/{cid}/assign", ann, json={})
    assert status == 200 and body["assignee_id"] is None
    status, queue = await kit.call("GET", f"/teams/{team['id']}/queue", ann)
    assert [q["id"] for q in queue] == [cid]
    status, body = await kit.call("POST", f"/conversations/{cid}/assign", ann, json={"auto": True})
    assert body["assignee_id"] == ann["id"]
    status, statuses = await kit.call("GET", "/agents/status", boss)
    assert {s["user_id"]: s["load"] for s in statuses}[ann["id"]] == 1
    status, sla = await kit.call("GET", f"/conversations/{cid}/sla", ann)
    assert status == 200 and "sla" in sla
    status, _ = await kit.call(
        "PATCH", f"/teams/{team['id']}", boss, json={"members": [{"user_id": "ghost"}]}
    )
    assert status == 422
    status, patched = await kit.call("PATCH", f"/teams/{team['id']}", boss, json={"strategy": "round_robin"})
    assert status == 200 and patched["strategy"] == "round_robin"
    status, _ = await kit.call("PATCH", f"/teams/{team['id']}", boss, json={"strategy": "random"})
    assert status == 422
    status, doc = await kit.call("GET", "/openapi.json", boss)
    assert status == 200
    paths = set(doc["paths"])
    assert {p for p in paths if "sla-policies" in p or "automation-rules" in p or "/teams" in p}, sorted(
        paths
    )[:20]


async def test_periodic_jobs_run_through_the_app_handlers(kit: Kit) -> None:
    from hub import keys
    from hub.jobs import Worker

    mine = {k: v for k, v in kit.app[keys.JOB_HANDLERS].items() if k.startswith("ticketing.")}
    assert {"ticketing.tick", "ticketing.slow_tick", "ticketing.wake", "ticketing.csat_send"} <= set(mine)
    jobs = kit.app[keys.JOBS]
    await jobs.enqueue("ticketing.tick", key="tick-1")
    await jobs.enqueue("ticketing.slow_tick", key="slow-1")
    worker = Worker(jobs, mine)
    while await worker.run_once():
        pass
    done = kit.app[keys.STORE]["jobs"].find({"_id": {"$in": ["tick-1", "slow-1"]}})
    assert sorted([d["state"] async for d in done]) == ["done", "done"]
    # A job that fails every attempt is a dead letter, visible to admins (not to supervisors).
    await jobs.enqueue("ticketing.wake", {"conversation_id": "ghost"}, key="bad-wake", max_attempts=1)
    assert await worker.run_once()  # KeyError: no "until" in the payload
    admin, boss = await kit.agent(Role.admin, online=False), await kit.agent(Role.supervisor, online=False)
    status, page = await kit.call("GET", "/jobs/dead?kind=ticketing.wake", admin)
    dead = page["items"]
    assert status == 200 and [(d["id"], d["attempts"]) for d in dead] == [("bad-wake", 1)]
    assert "until" in dead[0]["last_error"]
    status, _ = await kit.call("GET", "/jobs/dead", boss)
    assert status == 403


async def test_rule_webhook_action_queues_a_signed_delivery_of_the_platform(kit: Kit) -> None:
    from hub import keys
    from hub.platform.appkeys import WEBHOOKS

    boss = await kit.agent(Role.supervisor, online=False)
    hook, _secret = await kit.app[WEBHOOKS].create(
        "https://hooks.example.com/berry", ["rule.webhook"], "crm", "test"
    )
    status, rule = await kit.call(
        "POST",
        "/automation-rules",
        boss,
        json={
            "name": "tell the CRM",
            "trigger": {"type": "ticket.created"},
            "actions": [
                {"type": "webhook", "params": {"webhook_id": hook["_id"] if "_id" in hook else hook["id"]}}
            ],
        },
    )
    assert status == 201, rule
    result = await kit.inbound("new booking enquiry")
    deliveries = [d async for d in kit.app[keys.STORE]["webhook_deliveries"].find({"event": "rule.webhook"})]
    assert len(deliveries) == 1 and result.conversation.id in deliveries[0]["body"]
    status, log = await kit.call("GET", f"/automation-rules/{rule['id']}/executions", boss)
    assert [a["ok"] for a in log[0]["actions"]] == [True]


async def test_macro_applies_its_actions_as_the_agent(kit: Kit) -> None:
    from hub import keys

    boss = await kit.agent(Role.supervisor, online=False)
    agent = await kit.agent(online=False)
    status, canned = await kit.call(
        "POST",
        "/canned-responses",
        boss,
        json={
            "shortcut": "refund-ok",
            "title": "Refund",
            "text": "Hi {{contact.first_name|there}}, refunded.",
        },
    )
    assert status == 201
    macro = {
        "name": "Refund done",
        "actions": [
            {"type": "canned_reply", "params": {"canned_id": canned["id"]}},
            {"type": "add_tag", "params": {"tag": "refund"}},
            {"type": "set_priority", "params": {"priority": "high"}},
            {"type": "resolve"},
        ],
    }
    for bad, field in (
        ({**macro, "actions": []}, "actions"),
        ({**macro, "actions": [{"type": "add_tag", "params": {"tag": "x", "colour": "red"}}]}, "colour"),
        ({**macro, "actions": [{"type": "canned_reply", "params": {"canned_id": "nope"}}]}, "canned_id"),
        ({**macro, "team_id": "ghost"}, "team_id"),
    ):
        status, problem = await kit.call("POST", "/macros", boss, json=bad)
        assert status == 422 and field in problem["field"], problem
    status, _ = await kit.call("POST", "/macros", agent, json=macro)
    assert status == 403  # agents use macros, supervisors write them
    status, created = await kit.call("POST", "/macros", boss, json=macro)
    assert status == 201
    status, listed = await kit.call("GET", "/macros", agent)
    assert status == 200 and [m["id"] for m in listed["items"]] == [created["id"]]

    cid = (await kit.inbound("I want my money back", sender="+27820000444")).conversation.id
    status, run = await kit.call("POST", f"/conversations/{cid}/macros/{created['id']}", agent)
    assert status == 200, run
    assert [a["ok"] for a in run["actions"]] == [True, True, True, True]
    ticket = run["conversation"]
    assert ticket["status"] == "resolved" and "refund" in ticket["tags"] and ticket["priority"] == "high"
    replies = [m for m in await kit.app[keys.CONVERSATIONS].messages(cid) if m.direction.value == "out"]
    reply = next(m for m in replies if m.meta.get("macro_id") == created["id"])
    assert reply.author_id == agent["id"] and reply.author_type.value == "agent"
    assert reply.text.endswith(", refunded.") and "{{" not in reply.text
    audit = [
        d async for d in kit.app[keys.STORE]["audit_log"].find({"action": "macro.run", "target_id": cid})
    ]
    assert len(audit) == 1 and audit[0]["actor_id"] == agent["id"]
    status, _ = await kit.call("POST", f"/conversations/{cid}/macros/nope", agent)
    assert status == 404


async def test_a_team_with_active_tickets_cannot_be_deleted(kit: Kit) -> None:
    """Deleting a team left its tickets with the deleted team's id: hidden from every agent (nobody
    is in that team) and still in the queue."""
    boss = await kit.agent(Role.supervisor, online=False)
    status, team = await kit.call("POST", "/teams", boss, json={"name": "Short-lived"})
    assert status == 201
    cid = (await kit.inbound("is anyone there?")).conversation.id
    status, _ = await kit.call("POST", f"/conversations/{cid}/assign", boss, json={"team_id": team["id"]})
    assert status == 200
    status, problem = await kit.call("DELETE", f"/teams/{team['id']}", boss)
    assert status == 409 and "1 open, pending or snoozed ticket" in problem["detail"]
    assert (await kit.conversation(cid)).team_id == team["id"]
    status, _ = await kit.call("PATCH", f"/conversations/{cid}", boss, json={"status": "resolved"})
    assert status == 200
    status, _ = await kit.call("DELETE", f"/teams/{team['id']}", boss)
    assert status == 204
    status, _ = await kit.call("DELETE", f"/teams/{team['id']}", boss)
    assert status == 404


async def test_dates_in_raw_answers_are_rfc3339(kit: Kit) -> None:
    """Routes that answer stored documents (consents here) wrote datetimes with str(): a space
    instead of the T that OpenAPI's date-time requires."""
    admin = await kit.agent(Role.admin, online=False)
    contact_id = (await kit.inbound("when is my DJ arriving?")).conversation.contact_id
    status, _ = await kit.call("POST", f"/contacts/{contact_id}/consents", admin,
                               json={"purpose": "marketing", "granted": True, "source": "web_form"})
    assert status in (200, 201)
    status, sla = await kit.call("GET", f"/contacts/{contact_id}/consents", admin)
    assert status == 200
    dates: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-" and len(value) > 10:
            dates.append(value)

    walk(sla)
    assert dates, sla
    assert all(d[10] == "T" for d in dates), dates


async def test_rule_and_macro_actions_a_run_would_refuse_are_refused_when_saved(kit: Kit) -> None:
    """Saved as they were, these failed on every run; now each is a 422 naming the parameter."""
    boss = await kit.agent(Role.supervisor, online=False)
    agent = await kit.agent(online=False)
    portal = await kit.api.user(Role.customer)
    status, venues = await kit.call("POST", "/teams", boss, json={"name": "Venues"})
    status, music = await kit.call("POST", "/teams", boss, json={"name": "Music"})
    assert status == 201
    status, music_canned = await kit.call(
        "POST", "/canned-responses", boss,
        json={"shortcut": "dj", "title": "DJ", "text": "Your DJ is booked.", "team_id": music["id"]},
    )
    assert status == 201
    rule = {"name": "r", "trigger": {"type": "message.created"}}
    for action, field in (
        ({"type": "add_tag", "params": {"tag": "vip!"}}, "tag"),
        ({"type": "add_tag", "params": {"tag": "x" * 51}}, "tag"),
        ({"type": "remove_tag", "params": {"tag": "  "}}, "tag"),
        ({"type": "assign", "params": {"assignee_id": "ghost"}}, "assignee_id"),
        ({"type": "assign", "params": {"assignee_id": portal["user"]["id"]}}, "assignee_id"),
        ({"type": "assign", "params": {"assignee_id": agent["id"], "team_id": venues["id"]}},
         "assignee_id"),
        ({"type": "escalate", "params": {"team_id": "ghost"}}, "team_id"),
        ({"type": "set_priority", "params": {"priority": "urgent", "reason": "r" * 201}}, "reason"),
    ):
        for path, body in (("/automation-rules", rule), ("/macros", {"name": "m"})):
            actions = [{"type": "add_tag", "params": {"tag": "ok"}}, action]  # named by its place
            status, problem = await kit.call("POST", path, boss, json={**body, "actions": actions})
            assert status == 422 and problem["field"] == f"actions[1].params.{field}", (path, action, problem)
            assert problem["detail"], problem
    # A macro's agents can send only shared canned responses and their team's; a rule may send any.
    macro = {"name": "m", "actions": [{"type": "canned_reply", "params": {"canned_id": music_canned["id"]}}]}
    for team_id in (None, venues["id"]):
        status, problem = await kit.call("POST", "/macros", boss, json={**macro, "team_id": team_id})
        assert status == 422 and problem["field"] == "actions[0].params.canned_id", problem
        assert "team" in problem["detail"], problem
    status, _ = await kit.call("POST", "/macros", boss, json={**macro, "team_id": music["id"]})
    assert status == 201
    status, _ = await kit.call("POST", "/automation-rules", boss, json={**rule, "actions": macro["actions"]})
    assert status == 201
    # …and a PATCH is checked as a POST is.
    tag = {"type": "add_tag", "params": {"tag": "VIP"}}
    status, ok = await kit.call("POST", "/automation-rules", boss, json={**rule, "actions": [tag]})
    assert status == 201
    untagged = {"actions": [{"type": "add_tag", "params": {"tag": ""}}]}
    status, problem = await kit.call("PATCH", f"/automation-rules/{ok['id']}", boss, json=untagged)
    assert status == 422 and problem["field"] == "actions[0].params.tag"


async def test_a_new_default_sla_policy_takes_the_flag_audited_and_only_once_saved(kit: Kit) -> None:
    from hub import keys

    boss = await kit.agent(Role.supervisor, online=False)
    status, hours = await kit.call("POST", "/business-hours", boss, json=HOURS)
    policy = {"name": "std", "business_hours_id": hours["id"], "default": True,
              "targets": {"normal": {"first_response": 60, "resolution": 480}}}
    status, first = await kit.call("POST", "/sla-policies", boss, json=policy)
    assert status == 201
    # a refused save (no such team) does not take the flag from the default
    status, _ = await kit.call("POST", "/sla-policies", boss,
                               json={**policy, "name": "vip", "team_ids": ["nope"]})
    assert status == 422
    status, still = await kit.call("GET", f"/sla-policies/{first['id']}", boss)
    assert still["default"] is True
    status, second = await kit.call("POST", "/sla-policies", boss, json={**policy, "name": "new"})
    assert status == 201
    status, old = await kit.call("GET", f"/sla-policies/{first['id']}", boss)
    assert old["default"] is False
    entry = await kit.app[keys.STORE]["audit_log"].find_one(
        {"action": "sla-policy.update", "target_id": first["id"]})
    assert entry is not None and entry["actor_id"] == boss["id"], entry
    assert entry["before"] == {"default": True} and entry["after"]["default"] is False


async def test_default_sla_policies_saved_together_leave_exactly_one_default(kit: Kit) -> None:
    """Four policies POSTed at once as the default (and then a PATCH): one of them is the default,
    the one the SLA clock uses, and it stays the only one."""
    import asyncio

    from hub import keys

    boss = await kit.agent(Role.supervisor, online=False)
    policy = {"name": "std", "default": True, "targets": {"normal": {"first_response": 60}}}

    async def defaults() -> list[str]:
        status, listed = await kit.call("GET", "/sla-policies?limit=100", boss)
        assert status == 200
        return [p["id"] for p in listed["items"] if p["default"]]

    for round in range(3):  # the race is a matter of timing: a few rounds
        answers = await asyncio.gather(*(
            kit.call("POST", "/sla-policies", boss, json={**policy, "name": f"p{round}.{i}"})
            for i in range(4)))
        assert [status for status, _ in answers] == [201] * 4
        [winner] = await defaults()
        assert winner in {p["id"] for _, p in answers}
        used = await kit.app[keys.EXTENSIONS]["ticketing"].sla.policy()
        assert used is not None and used.id == winner
    other = next(p["id"] for _, p in answers if p["id"] != winner)
    status, _ = await kit.call("PATCH", f"/sla-policies/{other}", boss, json={"default": True})
    assert status == 200 and await defaults() == [other]


async def test_a_macro_applied_again_with_the_same_idempotency_key_is_replayed(kit: Kit) -> None:
    """A retried (or double-clicked) macro with one Idempotency-Key: one run, one canned reply to the
    customer; the retries get the first answer with Idempotent-Replayed. Another key runs it again."""
    import asyncio

    from hub import keys

    boss = await kit.agent(Role.supervisor, online=False)
    agent = await kit.agent(online=False)
    status, canned = await kit.call("POST", "/canned-responses", boss,
                                    json={"shortcut": "on-it", "title": "On it", "text": "We are on it."})
    assert status == 201
    status, macro = await kit.call("POST", "/macros", boss, json={
        "name": "Ack", "actions": [{"type": "canned_reply", "params": {"canned_id": canned["id"]}}]})
    assert status == 201
    cid = (await kit.inbound("Where is my order?", sender="+27820000555")).conversation.id
    path = f"/api/v1/conversations/{cid}/macros/{macro['id']}"

    async def apply(key: str) -> tuple[int, str | None, Any]:
        resp = await kit.client.post(path, headers={**agent["headers"], "Idempotency-Key": key})
        return resp.status, resp.headers.get("Idempotent-Replayed"), await resp.json()

    first = await apply("apply-1")
    retries = await asyncio.gather(*(apply("apply-1") for _ in range(2)))
    assert first[0] == 200 and first[1] is None, first
    assert [(s, replayed, body) for s, replayed, body in retries] == [(200, "true", first[2])] * 2

    async def sent() -> int:
        return sum(1 for m in await kit.app[keys.CONVERSATIONS].messages(cid) if m.meta.get("macro_id"))

    assert await sent() == 1
    assert (
        await kit.app[keys.STORE]["audit_log"].count_documents({"action": "macro.run", "target_id": cid}) == 1
    )
    status, replayed, _ = await apply("apply-2")  # a new key: a new run
    assert status == 200 and replayed is None and await sent() == 2
