"""REST API of ticketing: teams and presence, assignment, lifecycle actions, and the configuration
collections (SLA policies, business hours, automation rules, canned responses). Supervisors and
admins configure (``ticketing:configure``, ``teams:write``); agents work tickets."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pymongo.errors import DuplicateKeyError

from hub import keys
from hub.api import pages
from hub.api.pages import PageQuery, Sorts, page_of
from hub.api.routing import ApiRouter, invalid, visible_conversation
from hub.auth import Principal, require
from hub.auth.users import check_assignable
from hub.auth.visibility import can_see, in_scope, sees_all, with_current_teams
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.models import Conversation, Message
from hub.store import upsert

from .business_hours import BusinessHours
from .canned import CannedResponse
from .macros import Macro
from .rules import Rule, action_error, compile_rule
from .service import Ticketing
from .sla import SlaPolicy
from .teams import Presence, Team

router = ApiRouter()
route = router.route


def svc(request: web.Request) -> Ticketing:
    return request.app[keys.EXTENSIONS]["ticketing"]  # type: ignore[no-any-return]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patch(BaseModel):
    """A JSON merge-patch of a configuration document: fields are checked by the document's model."""

    model_config = ConfigDict(extra="allow")


class StatusIn(Strict):
    status: Presence


class AssignIn(Strict):
    assignee_id: str | None = Field(None, max_length=100)
    team_id: str | None = Field(None, max_length=100)
    auto: bool = Field(False, description="Let routing pick an online agent of the (given) team")


class SnoozeIn(Strict):
    until: datetime


class MergeIn(Strict):
    into: str = Field(max_length=100, description="The ticket that stays")


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=20_000)


class TagsIn(Strict):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class FieldsIn(Strict):
    fields: dict[str, Any] = Field(description="Values to set; null deletes")


class PreviewIn(Strict):
    conversation_id: str = Field(max_length=100)


class Rendered(BaseModel):
    text: str


# --- teams and presence ---------------------------------------------------------------------------


TEAM_SORTS = Sorts({"id": "_id", "name": "name", "created_at": "created_at"}, "name")


class TeamQuery(PageQuery):
    sort: str | None = Field(None, max_length=64, description=TEAM_SORTS.describe())


@route("GET", "/teams", summary="List teams", tag="teams", permission="teams:read", query=TeamQuery,
       response=page_of(Team))
async def list_teams(request: web.Request, _: Principal, query: TeamQuery) -> dict[str, Any]:
    docs, cursor = await pages.fetch(request.app[keys.STORE]["teams"], {}, query, TEAM_SORTS)
    return {"items": [Team.from_doc(d) for d in docs], "next_cursor": cursor}


@route(
    "POST",
    "/teams",
    summary="Create a team",
    tag="teams",
    permission="teams:write",
    body=Team,
    response=Team,
    status=201,
)
async def create_team(request: web.Request, principal: Principal, body: Team) -> Team:
    team = await svc(request).teams.create(
        Team.model_validate({**body.model_dump(exclude={"id", "created_at"})})
    )
    await request.app[keys.AUDIT].record(
        principal.actor_id, "team.create", "team", team.id, after={"name": team.name}
    )
    return team


@route("GET", "/teams/{team_id}", summary="Get a team", tag="teams", permission="teams:read", response=Team)
async def get_team(request: web.Request, _: Principal) -> Team:
    return await svc(request).teams.get(request.match_info["team_id"])


@route(
    "PATCH",
    "/teams/{team_id}",
    summary="Change a team (members, skills, capacity, strategy)",
    tag="teams",
    permission="teams:write",
    body=Patch,
    response=Team,
)
async def update_team(request: web.Request, principal: Principal, body: Patch) -> Team:
    changes = _changes(body, Team)
    try:
        team = await svc(request).teams.update(request.match_info["team_id"], changes)
    except ValidationError as exc:
        raise invalid(exc, "body") from exc
    await request.app[keys.AUDIT].record(
        principal.actor_id,
        "team.update",
        "team",
        team.id,
        after={k: str(v)[:200] for k, v in changes.items()},
    )
    return team


@route("DELETE", "/teams/{team_id}", summary="Delete a team", tag="teams", permission="teams:write")
async def delete_team(request: web.Request, principal: Principal) -> None:
    team_id = request.match_info["team_id"]
    await svc(request).teams.delete(team_id)
    await request.app[keys.AUDIT].record(principal.actor_id, "team.delete", "team", team_id)


@route(
    "GET",
    "/teams/{team_id}/queue",
    summary="The team's unassigned open tickets, oldest first",
    tag="teams",
    permission="conversations:read",
    response=list[Conversation],
)
async def team_queue(request: web.Request, principal: Principal) -> list[Conversation]:
    principal = await with_current_teams(request.app[keys.STORE], principal)
    team = await svc(request).teams.get(request.match_info["team_id"])
    if not in_scope(principal, team.id):  # another team's tickets are private: as if it did not exist
        raise NotFound(f"team {team.id} not found")
    return await svc(request).routing.queue(team.id)


@route(
    "GET",
    "/queue",
    summary="All unassigned open tickets, oldest first",
    tag="teams",
    permission="conversations:read",
    response=list[Conversation],
)
async def queue(request: web.Request, principal: Principal) -> list[Conversation]:
    """What this staff member may see of it: another team's tickets are left out (``can_see``)."""
    principal = await with_current_teams(request.app[keys.STORE], principal)
    return [c for c in await svc(request).routing.queue() if can_see(principal, c)]


class DeadJob(BaseModel):
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None = None
    created_at: datetime | None = None
    failed_at: datetime | None = Field(None, description="When the last attempt failed (its next_at)")


DEAD_JOB_SORTS = Sorts({"id": "_id", "failed_at": "next_at", "created_at": "created_at"}, "-failed_at")
DeadJobQuery = pages.query_model(
    "DeadJobQuery",
    DEAD_JOB_SORTS,
    kind=(
        str | None,
        Field(None, max_length=64, pattern=r"^[a-z0-9_.:-]+$", description="Only jobs of this kind"),
    ),
)


def _dead_job(d: dict[str, Any]) -> DeadJob:
    return DeadJob(
        id=str(d["_id"]),
        kind=d["kind"],
        payload=d.get("payload") or {},
        attempts=d.get("attempts", 0),
        last_error=d.get("last_error"),
        created_at=d.get("created_at"),
        failed_at=d.get("next_at"),
    )


@route(
    "GET",
    "/jobs/dead",
    summary="Dead letters: jobs that failed every attempt (SLA sweeps, wake-ups, surveys, sends…)",
    tag="jobs",
    permission="jobs:read",
    query=DeadJobQuery,
    response=page_of(DeadJob),
)
async def dead_jobs(request: web.Request, _: Principal, query: Any) -> dict[str, Any]:
    flt: dict[str, Any] = {"state": "dead", **({"kind": query.kind} if query.kind else {})}
    return await pages.page(request.app[keys.JOBS].col, flt, query, DEAD_JOB_SORTS, _dead_job)


@route(
    "GET", "/agents/status", summary="Presence and load of every agent", tag="teams", permission="teams:read"
)
async def agent_statuses(request: web.Request, _: Principal) -> list[dict[str, Any]]:
    return [
        {
            "user_id": d["_id"],
            "status": d.get("status"),
            "load": d.get("load", 0),
            "last_assigned_at": d.get("last_assigned_at"),
            "updated_at": d.get("updated_at"),
        }
        for d in await svc(request).statuses.list()
    ]


@route(
    "PUT",
    "/agents/{user_id}/status",
    summary="Set an agent's presence (own, or any with teams:write)",
    tag="teams",
    body=StatusIn,
)
async def set_agent_status(request: web.Request, principal: Principal, body: StatusIn) -> dict[str, Any]:
    user_id = request.match_info["user_id"]
    if principal.user_id != user_id:
        require(principal, "teams:write")
    if not principal.is_staff:
        raise Forbidden("only staff have a presence")
    user = await request.app[keys.USERS].get(user_id)
    if user.role.value not in ("admin", "supervisor", "agent"):
        raise InvalidInput(f"{user_id} is not an agent", field="user_id")
    previous = await svc(request).statuses.set(user_id, body.status)
    return {"user_id": user_id, "status": body.status.value, "previous": previous}


# --- ticket actions -------------------------------------------------------------------------------


def _cid(request: web.Request) -> str:
    return request.match_info["conversation_id"]


@route(
    "POST",
    "/conversations/{conversation_id}/assign",
    summary="Assign or transfer: to an agent, to a team (routed), auto, or back to the queue",
    tag="conversations",
    permission="conversations:assign",
    body=AssignIn,
    response=Conversation,
)
async def assign(request: web.Request, principal: Principal, body: AssignIn) -> Conversation:
    routing = svc(request).routing
    if body.auto:
        await routing.auto_assign(_cid(request), team_id=body.team_id, reason=f"auto by {principal.actor_id}")
        return await request.app[keys.CONVERSATIONS].get(_cid(request))
    return await routing.assign(_cid(request), principal, assignee_id=body.assignee_id, team_id=body.team_id)


@route(
    "POST",
    "/conversations/{conversation_id}/snooze",
    summary="Snooze until a time (reopens then)",
    tag="conversations",
    permission="conversations:write",
    body=SnoozeIn,
    response=Conversation,
)
async def snooze(request: web.Request, principal: Principal, body: SnoozeIn) -> Conversation:
    return await svc(request).lifecycle.snooze(_cid(request), body.until, principal)


@route(
    "POST",
    "/conversations/{conversation_id}/merge",
    summary="Merge this ticket into another of the same contact",
    tag="conversations",
    permission="conversations:write",
    body=MergeIn,
    response=Conversation,
)
async def merge(request: web.Request, principal: Principal, body: MergeIn) -> Conversation:
    await visible_conversation(request, principal, body.into)  # the target is team-private too
    return await svc(request).lifecycle.merge(_cid(request), body.into, principal)


@route(
    "POST",
    "/conversations/{conversation_id}/notes",
    summary="Add a private note (@mentions notify)",
    tag="conversations",
    permission="messages:write",
    body=NoteIn,
    response=Message,
    status=201,
)
async def add_note(request: web.Request, principal: Principal, body: NoteIn) -> Message:
    return await svc(request).lifecycle.note(_cid(request), body.text, principal)


@route(
    "POST",
    "/conversations/{conversation_id}/tags",
    summary="Add and remove tags",
    tag="conversations",
    permission="conversations:write",
    body=TagsIn,
    response=Conversation,
)
async def change_tags(request: web.Request, principal: Principal, body: TagsIn) -> Conversation:
    return await svc(request).lifecycle.change_tags(_cid(request), body.add, body.remove, principal)


@route(
    "PATCH",
    "/conversations/{conversation_id}/custom-fields",
    summary="Set custom fields (null deletes)",
    tag="conversations",
    permission="conversations:write",
    body=FieldsIn,
    response=Conversation,
)
async def set_fields(request: web.Request, principal: Principal, body: FieldsIn) -> Conversation:
    return await svc(request).lifecycle.set_custom_fields(_cid(request), body.fields, principal)


@route(
    "GET",
    "/conversations/{conversation_id}/sla",
    summary="The ticket's SLA clock",
    tag="conversations",
    permission="conversations:read",
)
async def get_sla(request: web.Request, _: Principal) -> dict[str, Any]:
    doc = await request.app[keys.STORE].conversations.find_one(
        {"_id": _cid(request)}, {"sla": 1, "sla_next_at": 1}
    )
    if doc is None:
        raise NotFound(f"conversation {_cid(request)} not found")
    return {"sla": doc.get("sla") or {}, "next_check_at": doc.get("sla_next_at")}


async def _canned(request: web.Request, principal: Principal, canned_id: str) -> CannedResponse:
    """A canned response this staff member may use: shared, or one of their teams'."""
    canned = await svc(request).actions.canned(canned_id)
    if not in_scope(principal, canned.team_id) and not in_scope(
            await with_current_teams(request.app[keys.STORE], principal), canned.team_id):
        raise NotFound(f"canned response {canned_id} not found")
    return canned


@route(
    "POST",
    "/conversations/{conversation_id}/canned/{canned_id}",
    summary="Send a canned response",
    tag="conversations",
    permission="messages:write",
    response=Message,
    status=201,
)
async def send_canned(request: web.Request, principal: Principal) -> Message:
    t = svc(request)
    canned = await _canned(request, principal, request.match_info["canned_id"])
    conversation = await request.app[keys.CONVERSATIONS].get(_cid(request))
    text = await t.actions.render_for(canned.text, conversation, principal.user_id)
    return await request.app[keys.CONVERSATIONS].reply(
        conversation.id, principal, text, meta={"canned_id": canned.id}
    )


# --- notifications --------------------------------------------------------------------------------


class NotificationOut(BaseModel):
    id: str
    kind: str
    text: str
    conversation_id: str | None = None
    message_id: str | None = None
    read: bool
    created_at: datetime


NOTIFICATION_SORTS = Sorts({"id": "_id", "created_at": "created_at"}, "-created_at")
NotificationQuery = pages.query_model(
    "NotificationQuery", NOTIFICATION_SORTS, unread=(bool | None, Field(None, description="Only unread ones"))
)


@route("GET", "/notifications", summary="My notifications, newest first", tag="notifications",
       query=NotificationQuery, response=page_of(NotificationOut))
async def my_notifications(request: web.Request, principal: Principal, query: Any) -> dict[str, Any]:
    if principal.user_id is None:
        return {"items": [], "next_cursor": None}
    flt: dict[str, Any] = {"user_id": principal.user_id, **({"read": False} if query.unread else {})}
    return await pages.page(svc(request).notifications.col, flt, query, NOTIFICATION_SORTS, pages.with_id)


@route(
    "POST", "/notifications/{notification_id}/read", summary="Mark a notification read", tag="notifications"
)
async def read_notification(request: web.Request, principal: Principal) -> None:
    if not principal.user_id or not await svc(request).notifications.mark_read(
        principal.user_id, request.match_info["notification_id"]
    ):
        raise NotFound("notification not found")


# --- configuration collections --------------------------------------------------------------------


def _changes(body: BaseModel, model: type[BaseModel]) -> dict[str, Any]:
    changes = dict(body.model_extra or {})
    unknown = set(changes) - set(model.model_fields) | ({"id", "created_at"} & set(changes))
    if unknown:
        raise InvalidInput(f"unknown or read-only field(s) {sorted(unknown)}", field=sorted(unknown)[0])
    return changes


def _doc(item: BaseModel) -> dict[str, Any]:
    to_doc = getattr(item, "to_doc", None)
    if to_doc:
        return dict(to_doc())
    doc = item.model_dump(mode="python")
    doc["_id"] = doc.pop("id")
    return doc


def _audit(item: BaseModel) -> dict[str, Any]:
    """The stored form, JSON-safe (FerretDB v1 keeps no nested arrays, so neither may the audit)."""
    doc: dict[str, Any] = json.loads(json.dumps(_doc(item), default=str))
    return doc


def _item(model: type[BaseModel], doc: dict[str, Any]) -> BaseModel:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return model.model_validate(doc)


Check = Callable[[web.Request, BaseModel], Awaitable[None]]
AfterSave = Callable[[web.Request, BaseModel, Principal], Awaitable[None]]


def config_routes(
    path: str,
    collection: str,
    model: type[BaseModel],
    tag: str,
    check: Check | None = None,
    on_delete: Check | None = None,
    team_scoped: bool = False,
    after_save: AfterSave | None = None,
) -> None:
    """List/create/get/patch/delete for one configuration collection. ``team_scoped``: readers see
    only the shared items and their own teams' (``hub.auth.visibility.in_scope``)."""
    one = f"{path}/{{item_id}}"

    async def save(request: web.Request, principal: Principal, item: BaseModel,
                   current: BaseModel | None) -> None:
        """Check, store (a replace of ``current``, else an insert), run the hook, audit."""
        if check:
            await check(request, item)
        col = request.app[keys.STORE][collection]
        try:
            if current is not None:
                await col.replace_one({"_id": item.id}, _doc(item))  # type: ignore[attr-defined]
            else:
                await col.insert_one(_doc(item))
        except DuplicateKeyError as exc:
            raise Conflict(f"a {tag} with the same unique field exists") from exc
        svc(request).rules.invalidate()
        if isinstance(item, Rule):
            await svc(request).rules.rule_saved(item)  # a time rule: timers for tickets already waiting
        if after_save:
            await after_save(request, item, principal)
        await request.app[keys.AUDIT].record(
            principal.actor_id,
            f"{tag}.{'create' if current is None else 'update'}",
            tag,
            item.id,  # type: ignore[attr-defined]
            before=None if current is None else _audit(current),
            after=_audit(item),
        )

    async def get_one(request: web.Request) -> BaseModel:
        doc = await request.app[keys.STORE][collection].find_one({"_id": request.match_info["item_id"]})
        if doc is None:
            raise NotFound(f"{tag} {request.match_info['item_id']} not found")
        return _item(model, doc)

    def visible(principal: Principal, item: BaseModel) -> bool:
        return not team_scoped or in_scope(principal, getattr(item, "team_id", None))

    named: dict[str, str] = {f: f for f in ("name", "title", "shortcut") if f in model.model_fields}
    sorts = Sorts({"id": "_id", "created_at": "created_at", **named}, "id")
    query_model = create_model(f"{model.__name__}ListQuery", __base__=PageQuery,
                               sort=(str | None, Field(None, max_length=64, description=sorts.describe())))

    async def list_items(request: web.Request, principal: Principal, query: PageQuery) -> dict[str, Any]:
        flt: dict[str, Any] = {}
        if team_scoped:  # the token's teams date from sign-in; a small read of the teams as they are
            principal = await with_current_teams(request.app[keys.STORE], principal)
            if not sees_all(principal):
                flt = {"team_id": {"$in": [None, *principal.team_ids]}}
        docs, cursor = await pages.fetch(request.app[keys.STORE][collection], flt, query, sorts)
        return {"items": [i for d in docs if visible(principal, i := _item(model, d))], "next_cursor": cursor}

    async def create(request: web.Request, principal: Principal, body: BaseModel) -> BaseModel:
        item = model.model_validate(body.model_dump(exclude={"id", "created_at"}))
        await save(request, principal, item, None)
        return item

    async def get(request: web.Request, principal: Principal) -> BaseModel:
        item = await get_one(request)
        if not visible(principal, item) and not visible(
                await with_current_teams(request.app[keys.STORE], principal), item):  # another team's: 404
            raise NotFound(f"{tag} {request.match_info['item_id']} not found")
        return item

    async def patch(request: web.Request, principal: Principal, body: Patch) -> BaseModel:
        current = await get_one(request)
        changes = _changes(body, model)
        try:
            item = model.model_validate({**current.model_dump(), **changes})
        except ValidationError as exc:
            raise invalid(exc, "body") from exc
        await save(request, principal, item, current)
        return item

    async def delete(request: web.Request, principal: Principal) -> None:
        current = await get_one(request)
        if on_delete:
            await on_delete(request, current)
        await request.app[keys.STORE][collection].delete_one({"_id": current.id})  # type: ignore[attr-defined]
        svc(request).rules.invalidate()
        await request.app[keys.AUDIT].record(principal.actor_id, f"{tag}.delete", tag, current.id)  # type: ignore[attr-defined]

    for fn in (list_items, create, get, patch, delete):
        fn.__name__ = f"{fn.__name__}_{collection}"
    route("GET", path, summary=f"List {tag}s", tag=tag, permission="ticketing:read", query=query_model,
          response=page_of(model, f"{model.__name__}Page"))(list_items)
    route(
        "POST",
        path,
        summary=f"Create a {tag}",
        tag=tag,
        permission="ticketing:configure",
        body=model,
        response=model,
        status=201,
    )(create)
    route("GET", one, summary=f"Get a {tag}", tag=tag, permission="ticketing:read", response=model)(get)
    route(
        "PATCH",
        one,
        summary=f"Change a {tag} (merge patch)",
        tag=tag,
        permission="ticketing:configure",
        body=Patch,
        response=model,
    )(patch)
    route("DELETE", one, summary=f"Delete a {tag}", tag=tag, permission="ticketing:configure")(delete)


async def _check_policy(request: web.Request, item: BaseModel) -> None:
    assert isinstance(item, SlaPolicy)
    await svc(request).sla.check_policy(item)
    if item.escalation.team_id:
        try:
            await svc(request).teams.get(item.escalation.team_id)
        except NotFound as exc:
            raise InvalidInput(str(exc), field="escalation.team_id") from exc


DEFAULT_POLICY = "sla_policy"  # in ``defaults``: {_id, policy_id}, the policy saved as default last


async def _one_default(request: web.Request, item: BaseModel, principal: Principal) -> None:
    """One default policy: the last one saved as default wins. After the save, so a refused save
    leaves the old default in place; each policy that loses the flag gets its own audit entry.

    Concurrent saves each unsetting "every other default" left none (each unset the others), and
    FerretDB serializes no read-modify-write (see Store.claim). So the decision is one document,
    replaced by each save (the last write wins): ``defaults/sla_policy`` names the default. Every
    save then brings the flags in line with it, again if it changed meanwhile; the last save's pass
    sees every save before it, so exactly the named policy keeps the flag."""
    assert isinstance(item, SlaPolicy)
    store = request.app[keys.STORE]
    pointer = store["defaults"]
    if item.default:
        await upsert(pointer, {"_id": DEFAULT_POLICY}, {"_id": DEFAULT_POLICY, "policy_id": item.id},
                     replace=True)
    elif await pointer.find_one({"_id": DEFAULT_POLICY, "policy_id": item.id}):
        await pointer.delete_one({"_id": DEFAULT_POLICY, "policy_id": item.id})  # no default now
        return
    else:
        return
    col = store["sla_policies"]

    async def named() -> str | None:
        doc = await pointer.find_one({"_id": DEFAULT_POLICY})
        return str(doc["policy_id"]) if doc else None

    winner = await named()
    while True:
        async for doc in col.find({"default": True, "_id": {"$ne": winner}}, {"_id": 1}):
            await col.update_one({"_id": doc["_id"]}, {"$set": {"default": False}})
            await request.app[keys.AUDIT].record(
                principal.actor_id, "sla-policy.update", "sla-policy", doc["_id"], before={"default": True},
                after={"default": False, "reason": f"{winner} is the default now"})
        # a pass that read an older name may have unset it: the named one has the flag
        if winner and (await col.update_one({"_id": winner, "default": False},
                                            {"$set": {"default": True}})).matched_count:
            await request.app[keys.AUDIT].record(
                principal.actor_id, "sla-policy.update", "sla-policy", winner, before={"default": False},
                after={"default": True, "reason": "the default policy (saved as default last)"})
        now = await named()
        if now == winner:
            return
        winner = now


async def _check_rule(request: web.Request, item: BaseModel) -> None:
    assert isinstance(item, Rule)
    compile_rule(item, new=True)
    await _check_actions(request, item.actions)


async def _check_macro(request: web.Request, item: BaseModel) -> None:
    assert isinstance(item, Macro)
    item.check()
    if item.team_id:
        try:
            await svc(request).teams.get(item.team_id)
        except NotFound as exc:
            raise InvalidInput(str(exc), field="team_id") from exc
    await _check_actions(request, item.actions, {None, item.team_id})


async def _check_actions(
    request: web.Request, actions: list[Any], canned_teams: set[str | None] | None = None
) -> None:
    """What an action refers to must exist (canned response, webhook, team, agent), else every run
    would fail. ``canned_teams``: a macro's, whose agents may send only the canned responses of
    these teams (None: shared ones); a rule, acting as the system, may send any."""
    for index, action in enumerate(actions):
        try:
            await _check_action(request, action, canned_teams)
        except InvalidInput as exc:
            raise action_error(index, exc) from exc


async def _check_action(request: web.Request, action: Any, canned_teams: set[str | None] | None) -> None:
    store = request.app[keys.STORE]
    p = action.params
    if action.type == "canned_reply":
        canned = await store["canned_responses"].find_one({"_id": p["canned_id"]}, {"team_id": 1})
        if canned is None:
            raise InvalidInput(f"canned response {p['canned_id']} not found", field="canned_id")
        if canned_teams is not None and canned.get("team_id") not in canned_teams:
            raise InvalidInput(f"canned response {p['canned_id']} belongs to another team: the "
                               "macro's agents could not send it", field="canned_id")
    if action.type == "webhook" and not await store["webhooks"].find_one({"_id": p["webhook_id"]}):
        raise InvalidInput(f"webhook {p['webhook_id']} not found", field="webhook_id")
    team = None
    if p.get("team_id"):
        try:
            team = await svc(request).teams.get(p["team_id"])
        except NotFound as exc:
            raise InvalidInput(str(exc), field="team_id") from exc
    if p.get("assignee_id"):
        await check_assignable(store, p["assignee_id"])
        if team is not None and not team.member(p["assignee_id"]):
            raise InvalidInput(
                f"{p['assignee_id']} is not a member of team {team.name}", field="assignee_id"
            )


async def _hours_in_use(request: web.Request, item: BaseModel) -> None:
    if await request.app[keys.STORE]["sla_policies"].find_one({"business_hours_id": item.id}):  # type: ignore[attr-defined]
        raise Conflict("an SLA policy uses these business hours")


config_routes("/business-hours", "business_hours", BusinessHours, "business-hours", on_delete=_hours_in_use)
config_routes("/sla-policies", "sla_policies", SlaPolicy, "sla-policy", check=_check_policy,
              after_save=_one_default)
config_routes("/automation-rules", "automation_rules", Rule, "automation-rule", check=_check_rule)
config_routes("/canned-responses", "canned_responses", CannedResponse, "canned-response", team_scoped=True)
config_routes("/macros", "macros", Macro, "macro", check=_check_macro, team_scoped=True)


class MacroRun(BaseModel):
    conversation: Conversation
    actions: list[dict[str, Any]] = Field(description="Each action's outcome: type, ok, error")


@route(
    "POST",
    "/conversations/{conversation_id}/macros/{macro_id}",
    summary="Apply a macro to a ticket (as the calling agent)",
    tag="macro",
    permission="conversations:write",
    response=MacroRun,
    idempotent=True,  # answers 200, but its canned reply reaches the customer: a retry must not resend it
)
async def run_macro(request: web.Request, principal: Principal) -> MacroRun:
    cid = _cid(request)
    results = await svc(request).macros.run(request.match_info["macro_id"], cid, principal)
    return MacroRun(conversation=await request.app[keys.CONVERSATIONS].get(cid), actions=results)


@route(
    "GET",
    "/automation-rules/{item_id}/executions",
    summary="The rule's execution log, newest first",
    tag="automation-rule",
    permission="ticketing:read",
)
async def rule_executions(request: web.Request, _: Principal) -> list[dict[str, Any]]:
    return [
        {"id": d.pop("_id"), **d}
        for d in await svc(request).rules.executions(rule_id=request.match_info["item_id"])
    ]


@route(
    "POST",
    "/canned-responses/{item_id}/preview",
    summary="Render a canned response for a ticket",
    tag="canned-response",
    permission="messages:write",
    body=PreviewIn,
    response=Rendered,
)
async def preview_canned(request: web.Request, principal: Principal, body: PreviewIn) -> Rendered:
    t = svc(request)
    canned = await _canned(request, principal, request.match_info["item_id"])
    conversation = await visible_conversation(request, principal, body.conversation_id)
    return Rendered(text=await t.actions.render_for(canned.text, conversation, principal.user_id))


__all__ = ["router"]
