"""REST API v1: thin handlers (parse, authorize, call a service, render)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import Principal, require
from hub.auth.visibility import can_see, with_current_contact, with_current_teams
from hub.conversations import conversation_filter
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.events import TeamMembershipChanged
from hub.models import ApiKey, Contact, Conversation, InboundMessage, Message, Role, User
from hub.platform.tickets import ConversationIn, delete_ticket, open_ticket

from . import pages
from .fields import keep_hidden, sees_restricted
from .routing import CONVERSATION, ApiRouter, visible_conversation
from .schemas import (
    API_KEY_SORTS,
    CONTACT_SORTS,
    CONVERSATION_SORTS,
    MESSAGE_SORTS,
    USER_SORTS,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyPage,
    ApiKeyPatch,
    ApiKeyQuery,
    Contact360,
    ContactIn,
    ContactPage,
    ContactPatch,
    ContactQuery,
    ConversationMoveIn,
    ConversationPage,
    ConversationPatch,
    ConversationQuery,
    IdentityIn,
    IngestOut,
    LoginIn,
    MergedFrom,
    MergeIn,
    MessagePage,
    MessageQuery,
    RefreshIn,
    ReplyIn,
    TokensOut,
    UnmergeOut,
    UserIn,
    UserOut,
    UserPage,
    UserPatch,
    UserQuery,
)

router = ApiRouter()
route = router.route


# --- auth ---------------------------------------------------------------------------------------

async def _tokens_for(app: web.Application, user_id: str, refresh: str) -> TokensOut:
    user = await app[keys.USERS].get(user_id)
    tokens = app[keys.TOKENS]
    return TokensOut(
        access_token=tokens.access_token(user, await tokens.session_of(refresh)),
        refresh_token=refresh,
        expires_in=int(tokens.access_ttl.total_seconds()),
        user=UserOut.of(user),
    )


@route("POST", "/auth/login", summary="Sign in with e-mail and password", tag="auth", body=LoginIn,
       response=TokensOut, public=True)
async def login(request: web.Request, _: Principal | None, body: LoginIn) -> TokensOut:
    user = await request.app[keys.USERS].authenticate(body.email, body.password)
    refresh = await request.app[keys.TOKENS].issue_refresh(user.id)
    return await _tokens_for(request.app, user.id, refresh)


@route("POST", "/auth/refresh", summary="Trade a refresh token for new tokens (rotation)", tag="auth",
       body=RefreshIn, response=TokensOut, public=True)
async def refresh(request: web.Request, _: Principal | None, body: RefreshIn) -> TokensOut:
    user_id, token = await request.app[keys.TOKENS].rotate(body.refresh_token)
    return await _tokens_for(request.app, user_id, token)


@route("GET", "/auth/me", summary="The signed-in user", tag="auth", response=UserOut)
async def me(request: web.Request, principal: Principal) -> UserOut:
    if principal.user_id is None:
        raise NotFound("an API key has no user")
    return UserOut.of(await request.app[keys.USERS].get(principal.user_id))


# --- users and API keys -------------------------------------------------------------------------

async def _with_mfa(request: web.Request, principal: Principal, users: list[UserOut]) -> list[UserOut]:
    """Fill the admin-only ``mfa_enabled`` (one query, and only for admins, who see it)."""
    if sees_restricted(principal.role) and users:
        enrolled = {d["_id"] async for d in request.app[keys.STORE]["user_totp"].find(
            {"_id": {"$in": [u.id for u in users]}, "confirmed": True}, {"_id": 1})}
        for user in users:
            user.mfa_enabled = user.id in enrolled
    return users


@route("GET", "/users", summary="List users", tag="users", permission="users:read", query=UserQuery,
       response=UserPage)
async def list_users(request: web.Request, principal: Principal, query: UserQuery) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if query.role is not None:
        flt["role"] = query.role.value
    if query.active is not None:
        flt["active"] = query.active
    docs, cursor = await pages.fetch(request.app[keys.STORE].users, flt, query, USER_SORTS)
    users = [UserOut.of(User.from_doc(d)) for d in docs]
    return {"items": await _with_mfa(request, principal, users), "next_cursor": cursor}


@route("POST", "/users", summary="Create a user", tag="users", permission="users:write", body=UserIn,
       response=UserOut, status=201)
async def create_user(request: web.Request, principal: Principal, body: UserIn) -> UserOut:
    user = await request.app[keys.USERS].create(
        body.email, body.password, body.role, body.name, body.team_ids, body.contact_id
    )
    await request.app[keys.AUDIT].record(principal.actor_id, "user.create", "user", user.id,
                                         after={"email": user.email, "role": user.role.value})
    return UserOut.of(user)


@route(
    "GET", "/users/{user_id}", summary="Get a user", tag="users", permission="users:read", response=UserOut
)
async def get_user(request: web.Request, principal: Principal) -> UserOut:
    user = UserOut.of(await request.app[keys.USERS].get(request.match_info["user_id"]))
    return (await _with_mfa(request, principal, [user]))[0]


ACTIVE_ADMINS = {"role": Role.admin.value, "active": {"$ne": False}}


def _last_admin(user: User) -> Conflict:
    return Conflict(f"{user.id} is the last active admin; make another admin first")


async def _change_user(request: web.Request, principal: Principal, user: User,
                       changes: dict[str, Any]) -> User:
    """Apply ``changes`` unless they lock the hub out (409): deactivating yourself, or deactivating
    or demoting the last active admin. The admins are counted before the write and again after it:
    two admins demoting each other at the same moment both pass the first count, then both find
    none left and both changes are undone (there are no transactions to put them in order)."""
    deactivating = changes.get("active") is False and user.active
    if deactivating and user.id == principal.user_id:
        raise Conflict("you cannot deactivate yourself")
    demoting = "role" in changes and changes["role"] != Role.admin
    losing_admin = user.role == Role.admin and user.active and (deactivating or demoting)
    users = request.app[keys.STORE].users
    if losing_admin and await users.count_documents(ACTIVE_ADMINS) <= 1:
        raise _last_admin(user)
    was = await users.find_one({"_id": user.id}) if losing_admin else None
    changed = await request.app[keys.USERS].update(user.id, dict(changes))
    if was is not None and await users.count_documents(ACTIVE_ADMINS) == 0:
        written = {"password_hash" if k == "password" else k for k in changes}
        await users.update_one({"_id": user.id}, {"$set": {k: was.get(k) for k in written}})
        raise _last_admin(user)
    return changed


def _answers_for_keys(user: User) -> bool:
    """Whether the user may hold API keys: active, in a role that may create them."""
    return user.active and Principal(role=user.role).can("api_keys:write")


async def _revoke_keys_of(request: web.Request, principal: Principal, user_id: str, why: str) -> int:
    """The API keys of a user who may no longer create them (deactivated, demoted) are revoked
    with that change, each recorded in the audit log: a key must not outrank the person answerable
    for it."""
    ids = await request.app[keys.API_KEYS].revoke_created_by(user_id)
    for key_id in ids:
        await request.app[keys.AUDIT].record(principal.actor_id, "api_key.revoke", "api_key", key_id,
                                             after={"reason": f"creator {user_id} {why}"})
    return len(ids)


@route("PATCH", "/users/{user_id}", summary="Update a user", tag="users", permission="users:write",
       body=UserPatch, response=UserOut)
async def update_user(request: web.Request, principal: Principal, body: UserPatch) -> UserOut:
    user_id = request.match_info["user_id"]
    changes = body.model_dump(exclude_unset=True)
    if nulls := sorted(k for k, v in changes.items() if v is None):  # "role": null stored a null role
        raise InvalidInput(f"{nulls[0]} cannot be null: leave it out to keep it", field=nulls[0])
    before = await request.app[keys.USERS].get(user_id)
    user = await _change_user(request, principal, before, changes)
    removed_teams = set(before.team_ids) - set(user.team_ids)
    if set(before.team_ids) != set(user.team_ids):  # the console moves their sockets
        await request.app[keys.BUS].publish(TeamMembershipChanged(
            user_ids=[user_id], team_ids=sorted(set(before.team_ids) ^ set(user.team_ids))))
    # what an access token carries (role, teams) or proves (password, active) changed: its sign-ins
    # end now, not when it expires; they sign in again with the new role. A team gained is no loss
    # of rights: the console joins its room live, so that alone signs no one out.
    reasons = [why for why, changed in (
        ("deactivated", before.active and not user.active), ("password changed", "password" in changes),
        ("role changed", before.role != user.role), ("removed from a team", bool(removed_teams))) if changed]
    if reasons:
        await request.app[keys.TOKENS].revoke_user(user_id, reason=", ".join(reasons))
    # the audit keeps what changed from what to what (JSON values; never the password)
    after: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True, exclude={"password"})
    was = before.model_dump(mode="json")
    if "password" in changes:
        after["password_changed"] = True
    if _answers_for_keys(before) and not _answers_for_keys(user):
        why = "deactivated" if not user.active else f"now {user.role.value}"
        after["api_keys_revoked"] = await _revoke_keys_of(request, principal, user_id, why)
    await request.app[keys.AUDIT].record(principal.actor_id, "user.update", "user", user_id,
                                         before={k: was.get(k) for k in after if k in was}, after=after)
    return (await _with_mfa(request, principal, [UserOut.of(user)]))[0]


@route(
    "DELETE",
    "/users/{user_id}",
    summary="Deactivate a user and sign them out everywhere (kept for history)",
    tag="users",
    permission="users:write",
)
async def delete_user(request: web.Request, principal: Principal) -> None:
    # Users are referenced by tickets, messages and the audit log: "delete" deactivates, so the
    # history keeps its names; GDPR erasure of a person is the contact erasure.
    user_id = request.match_info["user_id"]
    before = await request.app[keys.USERS].get(user_id)
    await _change_user(request, principal, before, {"active": False})
    await request.app[keys.TOKENS].revoke_user(user_id, reason="deactivated")
    revoked = await _revoke_keys_of(request, principal, user_id, "deactivated")
    await request.app[keys.AUDIT].record(principal.actor_id, "user.deactivate", "user", user_id,
                                         after={"active": False, "api_keys_revoked": revoked})


def _key_out(key: object) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@route("GET", "/api-keys", summary="List API keys", tag="api-keys", permission="api_keys:write",
       query=ApiKeyQuery, response=ApiKeyPage)
async def list_api_keys(request: web.Request, _: Principal, query: ApiKeyQuery) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if query.revoked is not None:
        flt["revoked_at"] = {"$ne": None} if query.revoked else None
    docs, cursor = await pages.fetch(request.app[keys.STORE].api_keys, flt, query, API_KEY_SORTS)
    return {"items": [_key_out(ApiKey.from_doc(d)) for d in docs], "next_cursor": cursor}


@route("GET", "/api-keys/{key_id}", summary="Get an API key (never its secret)", tag="api-keys",
       permission="api_keys:write", response=ApiKeyOut)
async def get_api_key(request: web.Request, _: Principal) -> ApiKeyOut:
    return _key_out(await request.app[keys.API_KEYS].get(request.match_info["key_id"]))


@route(
    "PATCH",
    "/api-keys/{key_id}",
    summary="Rename an API key",
    tag="api-keys",
    permission="api_keys:write",
    body=ApiKeyPatch,
    response=ApiKeyOut,
)
async def update_api_key(request: web.Request, principal: Principal, body: ApiKeyPatch) -> ApiKeyOut:
    key_id = request.match_info["key_id"]
    before = await request.app[keys.API_KEYS].get(key_id)
    key = await request.app[keys.API_KEYS].rename(key_id, body.name)
    await request.app[keys.AUDIT].record(principal.actor_id, "api_key.update", "api_key", key_id,
                                         before={"name": before.name}, after={"name": key.name})
    return _key_out(key)


@route("POST", "/api-keys", summary="Create an API key (the secret is shown once)", tag="api-keys",
       permission="api_keys:write", body=ApiKeyIn, response=ApiKeyCreated, status=201)
async def create_api_key(request: web.Request, principal: Principal, body: ApiKeyIn) -> ApiKeyCreated:
    key, secret = await request.app[keys.API_KEYS].create(body.name, body.role, principal.actor_id)
    await request.app[keys.AUDIT].record(principal.actor_id, "api_key.create", "api_key", key.id,
                                         after={"name": key.name, "role": key.role.value})
    return ApiKeyCreated(**_key_out(key).model_dump(), key=secret)


@route(
    "DELETE", "/api-keys/{key_id}", summary="Revoke an API key", tag="api-keys", permission="api_keys:write"
)
async def revoke_api_key(request: web.Request, principal: Principal) -> None:
    key_id = request.match_info["key_id"]
    await request.app[keys.API_KEYS].revoke(key_id)
    await request.app[keys.AUDIT].record(principal.actor_id, "api_key.revoke", "api_key", key_id)


# --- contacts -----------------------------------------------------------------------------------

@route("GET", "/contacts", summary="Search contacts by name, type or identity", tag="contacts",
       permission="contacts:read", query=ContactQuery, response=ContactPage)
async def list_contacts(request: web.Request, _: Principal, query: ContactQuery) -> dict[str, Any]:
    contacts = request.app[keys.CONTACTS]
    if bool(query.identity_kind) != bool(query.identity_value):  # one alone would list every contact
        missing = "identity_value" if query.identity_kind else "identity_kind"
        raise pages.BadQuery(f"identity_kind and identity_value go together: {missing} is missing",
                             field=missing)
    if query.identity_kind and query.identity_value:
        found = await contacts.find_by_identity(query.identity_kind, query.identity_value)
        return {"items": [found] if found else [], "next_cursor": None}
    flt = await contacts.search_filter(query.q, query.type)
    if query.after:  # deprecated alias of cursor: ids below it, in the default order
        if query.cursor or query.sort not in (None, CONTACT_SORTS.default):
            raise pages.BadQuery("after (deprecated) goes with neither cursor nor sort", field="after")
        flt["_id"] = {"$lt": query.after}
    docs, cursor = await pages.fetch(request.app[keys.STORE].contacts, flt, query, CONTACT_SORTS)
    return {"items": [Contact.from_doc(d) for d in docs], "next_cursor": cursor}


@route("POST", "/contacts", summary="Create a contact with its identities", tag="contacts",
       permission="contacts:write", body=ContactIn, response=Contact, status=201)
async def create_contact(request: web.Request, principal: Principal, body: ContactIn) -> Contact:
    contact = Contact(**body.model_dump(exclude={"identities"}))
    created = await request.app[keys.CONTACTS].create(contact, [(i.kind, i.value) for i in body.identities])
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.create", "contact", created.id)
    return created


@route("GET", "/contacts/{contact_id}", summary="The contact's 360° profile", tag="contacts",
       permission="contacts:read", response=Contact360)
async def get_contact(request: web.Request, principal: Principal) -> Contact360:
    contacts = request.app[keys.CONTACTS]
    contact = await contacts.get(request.match_info["contact_id"])
    history: dict[str, Any] = {"items": [], "next_cursor": None}
    if principal.can("conversations:read"):  # the list's own rule: another team's tickets stay hidden
        query = ConversationQuery(contact_id=contact.id, limit=100)
        history = await list_conversations(request, principal, query)
    merged_from = await contacts.merged_from(contact.id) if principal.can("contacts:merge") else []
    return Contact360(contact=contact, identities=await contacts.identities(contact.id),
                      conversations=history["items"], conversations_next_cursor=history["next_cursor"],
                      merged_from=[MergedFrom(**m) for m in merged_from])


@route("PATCH", "/contacts/{contact_id}", summary="Update a contact", tag="contacts",
       permission="contacts:write", body=ContactPatch, response=Contact)
async def update_contact(request: web.Request, principal: Principal, body: ContactPatch) -> Contact:
    changes = body.model_dump(exclude_unset=True)
    hidden = frozenset(request.app[keys.SETTINGS].restricted_contact_fields)
    if "custom_fields" in changes and hidden and not sees_restricted(principal.role):
        current = await request.app[keys.CONTACTS].get(request.match_info["contact_id"])
        changes["custom_fields"] = keep_hidden(current.custom_fields, changes["custom_fields"] or {}, hidden)
    contact = await request.app[keys.CONTACTS].update(request.match_info["contact_id"], changes)
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.update", "contact", contact.id,
                                         after=body.model_dump(mode="json", exclude_unset=True))
    return contact


@route("POST", "/contacts/{contact_id}/identities", summary="Add an identity to a contact", tag="contacts",
       permission="contacts:write", body=IdentityIn, status=201)
async def add_identity(request: web.Request, principal: Principal, body: IdentityIn) -> dict:
    identity = await request.app[keys.CONTACTS].add_identity(
        request.match_info["contact_id"], body.kind, body.value
    )
    await request.app[keys.AUDIT].record(
        principal.actor_id,
        "contact.identity.add",
        "contact",
        identity.contact_id,
        after={"identity": identity.id},
    )
    return identity.model_dump(mode="json")


@route("DELETE", "/contacts/{contact_id}", summary="Delete a contact without conversations", tag="contacts",
       permission="contacts:delete")
async def delete_contact(request: web.Request, principal: Principal) -> None:
    contact_id = request.match_info["contact_id"]
    await request.app[keys.CONTACTS].delete(contact_id)
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.delete", "contact", contact_id)


@route("POST", "/contacts/{contact_id}/merge", summary="Merge this contact into another", tag="contacts",
       permission="contacts:merge", body=MergeIn, response=Contact)
async def merge_contact(request: web.Request, principal: Principal, body: MergeIn) -> Contact:
    source_id = request.match_info["contact_id"]
    merged = await request.app[keys.CONTACTS].merge(source_id, body.into)
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.merge", "contact", source_id,
                                         after={"merged_into": merged.id})
    return merged


@route("DELETE", "/contacts/{contact_id}/identities/{kind}/{value}",
       summary="Remove an identity from a contact (its conversations stay; the address's next message "
               "resolves a contact like an unknown sender's)", tag="contacts", permission="contacts:write")
async def remove_identity(request: web.Request, principal: Principal) -> None:
    contact_id, kind, value = (request.match_info[k] for k in ("contact_id", "kind", "value"))
    identity = await request.app[keys.CONTACTS].remove_identity(contact_id, kind, value)
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.identity.remove", "contact",
                                         identity.contact_id, before={"identity": identity.id})


@route("POST", "/contacts/{contact_id}/unmerge", summary="Undo the merge of this contact into another",
       tag="contacts", permission="contacts:merge", response=UnmergeOut)
async def unmerge_contact(request: web.Request, principal: Principal) -> dict[str, Any]:
    source_id = request.match_info["contact_id"]
    result = await request.app[keys.CONTACTS].unmerge(source_id)
    await request.app[keys.AUDIT].record(principal.actor_id, "contact.unmerge", "contact", source_id, after={
        "unmerged_from": result["target_id"], "restored": result["restored"], "left": result["left"],
        "mixed": result["mixed"], "threads_detached": result["threads_detached"]})
    return result


# --- conversations and messages -----------------------------------------------------------------

async def _visible_conversation(request: web.Request, principal: Principal,
                                conversation_id: str | None = None) -> Conversation:
    """The conversation in the URL (checked by the router, ``hub/api/routing.py``), or another one
    if this principal may see it. A GET reuses the router's read; an update reads it again."""
    cached = request.get(CONVERSATION)
    if conversation_id is None and cached is not None and request.method == "GET":
        return cached  # type: ignore[no-any-return]
    return await visible_conversation(
        request, principal, conversation_id or request.match_info["conversation_id"]
    )


def _reader(principal: Principal) -> Principal:
    if principal.can("conversations:read") or principal.can("own:conversations"):
        return principal
    raise Forbidden(f"role {principal.role.value} may not read conversations")


@route(
    "GET",
    "/conversations",
    summary="List conversations (tickets), newest activity first",
    tag="conversations",
    query=ConversationQuery,
    response=ConversationPage,
)
async def list_conversations(
    request: web.Request, principal: Principal, query: ConversationQuery
) -> dict[str, Any]:
    principal = await with_current_teams(request.app[keys.STORE], _reader(principal))
    flt = conversation_filter(**query.model_dump(exclude=set(pages.PageQuery.model_fields)))
    if not principal.can("conversations:read"):  # a contact merged away since: the one that stayed
        principal = await with_current_contact(request.app[keys.CONTACTS], principal)
        flt["contact_id"] = principal.contact_id or "-"
    collection = request.app[keys.STORE].conversations
    docs, cursor = await pages.fetch(collection, flt, query, CONVERSATION_SORTS)
    visible = [d for d in docs if can_see(principal, Conversation.from_doc(d))]
    # Another team's tickets are left out after the query (FerretDB scans either way); a short
    # page is topped up from the next ones, so pages stay full while there are more.
    for _ in range(5):
        if len(visible) >= query.limit or cursor is None or len(visible) == len(docs):
            break
        docs, cursor = await pages.fetch(collection, flt, query.model_copy(update={"cursor": cursor}),
                                         CONVERSATION_SORTS)
        visible += [d for d in docs if can_see(principal, Conversation.from_doc(d))]
    if len(visible) > query.limit:
        visible = visible[:query.limit]
        cursor = pages.next_after(CONVERSATION_SORTS, query, visible[-1])
    return {"items": [Conversation.from_doc(d) for d in visible], "next_cursor": cursor}


@route("GET", "/conversations/{conversation_id}", summary="Get a conversation", tag="conversations",
       response=Conversation)
async def get_conversation(request: web.Request, principal: Principal) -> Conversation:
    return await _visible_conversation(request, _reader(principal))


@route(
    "POST",
    "/conversations",
    summary="Open an outbound ticket with a contact (optionally with a first message)",
    tag="conversations",
    permission="conversations:write",
    body=ConversationIn,
    response=Conversation,
    status=201,
)
async def create_conversation(
    request: web.Request, principal: Principal, body: ConversationIn
) -> Conversation:
    if body.team_id is not None or body.assignee_id not in (None, principal.user_id):
        require(principal, "conversations:assign")
    return await open_ticket(request.app, principal, body)


@route("DELETE", "/conversations/{conversation_id}",
       summary="Delete a ticket with its messages and attachments for good (admins; audited)",
       tag="conversations", permission="conversations:delete")
async def delete_conversation(request: web.Request, principal: Principal) -> None:
    await delete_ticket(request.app, principal, await _visible_conversation(request, principal))


@route("PATCH", "/conversations/{conversation_id}", summary="Change status, priority, assignee, team, tags",
       tag="conversations", permission="conversations:write", body=ConversationPatch, response=Conversation)
async def update_conversation(
    request: web.Request, principal: Principal, body: ConversationPatch
) -> Conversation:
    changes = body.model_dump(exclude_unset=True)
    if "assignee_id" in changes or "team_id" in changes:
        require(principal, "conversations:assign")
    await _visible_conversation(request, principal)
    return await request.app[keys.CONVERSATIONS].update(
        request.match_info["conversation_id"], changes, principal
    )


@route("POST", "/conversations/{conversation_id}/move",
       summary="Move the ticket (its messages and threads) to another contact (supervisors, admins; audited)",
       tag="conversations", permission="contacts:merge", body=ConversationMoveIn, response=Conversation)
async def move_conversation(request: web.Request, principal: Principal,
                            body: ConversationMoveIn) -> Conversation:
    # who a ticket belongs to decides whose portal shows it and where replies go: as merging contacts
    require(principal, "conversations:write")
    await _visible_conversation(request, principal)
    moved, before, detached = await request.app[keys.CONTACTS].move_conversation(
        request.match_info["conversation_id"], body.contact_id, actor_id=principal.actor_id)
    if before is not None:
        await request.app[keys.AUDIT].record(
            principal.actor_id, "conversation.move", "conversation", moved.id,
            before={"contact_id": before.contact_id},
            after={"contact_id": moved.contact_id, "threads_detached": detached})
    return moved


@route(
    "GET",
    "/conversations/{conversation_id}/messages",
    summary="The conversation's messages, oldest first",
    tag="messages",
    query=MessageQuery,
    response=MessagePage,
)
async def list_messages(request: web.Request, principal: Principal, query: MessageQuery) -> dict[str, Any]:
    conversation = await _visible_conversation(request, _reader(principal))
    flt: dict[str, Any] = {"conversation_id": conversation.id}
    if not principal.is_staff:
        flt["private"] = False
    if query.after:  # deprecated alias of cursor
        if query.cursor or query.sort not in (None, MESSAGE_SORTS.default):
            raise pages.BadQuery("after (deprecated) goes with neither cursor nor sort", field="after")
        flt["_id"] = {"$gt": query.after}
    docs, cursor = await pages.fetch(request.app[keys.STORE].messages, flt, query, MESSAGE_SORTS)
    return {"items": [Message.from_doc(d) for d in docs], "next_cursor": cursor}


@route("GET", "/messages/{message_id}", summary="Get a message", tag="messages", response=Message)
async def get_message(request: web.Request, principal: Principal) -> Message:
    message_id = request.match_info["message_id"]
    message = await request.app[keys.CONVERSATIONS].message(message_id)
    await _visible_conversation(request, _reader(principal), message.conversation_id)
    if message.private and not principal.is_staff:
        raise NotFound(f"message {message_id} not found")
    return message


@route("POST", "/conversations/{conversation_id}/messages", summary="Reply (or add a private note)",
       tag="messages", permission="messages:write", body=ReplyIn, response=Message, status=201)
async def reply(request: web.Request, principal: Principal, body: ReplyIn) -> Message:
    await _visible_conversation(request, principal)
    message = await request.app[keys.CONVERSATIONS].reply(
        request.match_info["conversation_id"],
        principal,
        body.text,
        private=body.private,
        subject=body.subject,
        cc=body.cc,
    )
    await request.app[keys.AUDIT].record(
        principal.actor_id,
        "message.create",
        "conversation",
        message.conversation_id,
        after={"message_id": message.id, "private": message.private},
    )
    return message


@route("POST", "/inbound", summary="Ingest a message from a custom channel (idempotent on external_id)",
       tag="messages", permission="inbound:write", body=InboundMessage, response=IngestOut, status=201)
async def ingest(
    request: web.Request, principal: Principal, body: InboundMessage
) -> web.Response | IngestOut:
    result = await request.app[keys.INBOX].ingest(body)
    out = IngestOut(message=result.message, conversation=result.conversation, duplicate=result.duplicate)
    if result.duplicate:
        return web.json_response(out.model_dump(mode="json"), status=200)
    await request.app[keys.AUDIT].record(
        principal.actor_id,
        "message.ingest",
        "conversation",
        result.conversation.id,
        after={"message_id": result.message.id},
    )
    return out


__all__ = ["router"]
