"""Sign-in and the ticket portal: a provider or customer signs in on the help center, sees their
own tickets and answers them.

Sign-in goes through the platform's one check (``hub/platform/security/signin.py``): the brute-force
lock per account and IP, the password, then the TOTP code when two-factor is on — the same rules as
``POST /api/v1/auth/login``. The ``berry_help`` cookie (HttpOnly, SameSite=Lax, path /help) holds
the access token of a recorded sign-in session: it is listed with the user's other sessions
(``GET /api/v1/auth/sessions``, user agent prefixed "Help center ·", and on the portal's tickets
page, where each can be ended) and revoking it signs the portal out at its next request; "Sign
out" here revokes it too. State-changing forms are covered by
the platform's Origin check (CSRF).

"Own tickets" is the foundation's rule: a portal user (role provider/customer, permission
``own:conversations``) sees the conversations of the contact their user is linked to. A reply is
an inbound message of that contact, ingested with the ticket's id and a form nonce as external id
(a resubmitted form is one message), so it lands in the conversation like any channel's message:
the ticket reopens if it was pending and agents see it live.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import Principal
from hub.auth.visibility import with_current_contact
from hub.conversations import decode_cursor
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import Channel, Conversation, IdentityKind, InboundMessage
from hub.models.inbound import SenderIdentity
from hub.platform.appkeys import SESSIONS
from hub.platform.ratelimit import client_ip

from .i18n import LANGUAGES, strings
from .views import COOKIE, PATH_LOCALE, locale_of, principal_of, render

MAX_REPLY = 10_000
MAX_SHOWN = 500  # messages on a ticket's page: the newest
TICKETS_PAGE = 100
MERGE_HOPS = 5  # a ticket merged into one merged on since
NONCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _safe_next(value: str | None) -> str:
    ok = value and value.startswith("/help") and "//" not in value and "\\" not in value
    return value if ok else "/help/en"  # type: ignore[return-value]


def _signin_page(next_url: str) -> dict[str, Any]:
    """The sign-in page speaks the language of the page it returns to, and switches it."""
    match = PATH_LOCALE.match(next_url)
    locale = match.group(1) if match and match.group(1) in LANGUAGES else "en"
    rest = next_url[len(f"/help/{locale}"):] if match else ""
    switch = {code: f"/help/signin?next=/help/{code}{rest}" for code in LANGUAGES}
    return {"locale": locale, "switch": switch, "next": next_url}


async def signin_form(request: web.Request) -> web.Response:
    page = _signin_page(_safe_next(request.query.get("next")))
    return render(request, "signin.html", error=None, email="", **page)


async def signin_submit(request: web.Request) -> web.Response:
    form = await request.post()
    email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))[:1000]
    otp = str(form.get("otp", "")).strip()[:10] or None
    next_url = _safe_next(str(form.get("next", "")))
    sign_in = request.app[keys.EXTENSIONS]["platform"]["sign_in"]
    page = _signin_page(next_url)
    t = strings(str(page["locale"]))
    try:
        user = await sign_in(request, email, password, otp)
    except HubError as exc:
        if exc.status == 429:  # locked out: too many failures for this account from this address
            error, status = t["locked_out"], 429
        elif getattr(exc, "field", None) == "otp":
            error, status = (t["otp_needed"] if otp is None else t["otp_wrong"]), 401
        else:
            error, status = t["bad_login"], 401
        response = render(
            request,
            "signin.html",
            status=status,
            error=error,
            email=email,
            otp_step=getattr(exc, "field", None) == "otp",
            **page,
        )
        if status == 429 and getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
        return response
    # a session like the API's, listed in the user's sessions and revocable there; its refresh token
    # never leaves the server and lives as long as the cookie: the session ends with its access token
    tokens = request.app[keys.TOKENS]
    refresh = await tokens.issue_refresh(user.id, ttl=tokens.access_ttl)
    session = await request.app[SESSIONS].record(
        refresh, user.id, client_ip(request), f"Help center · {request.headers.get('User-Agent', '')}"
    )
    token = tokens.access_token(user, session)
    response = web.HTTPSeeOther(next_url)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        path="/help",
        secure=request.secure,
        max_age=int(request.app[keys.TOKENS].access_ttl.total_seconds()),
    )
    raise response


async def signout(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if principal is not None and principal.session_id:  # the session ends, not only this cookie
        await request.app[keys.TOKENS].revoke_session(principal.session_id, principal.user_id)
    response = web.HTTPSeeOther("/help/en")
    response.del_cookie(COOKIE, path="/help")
    raise response


def _portal_user(request: web.Request, locale: str) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise web.HTTPSeeOther(f"/help/signin?next={request.path}")
    if not principal.can("own:conversations"):
        raise web.HTTPForbidden(
            text="the ticket portal is for providers and customers; staff use the console"
        )
    return principal


async def _portal_customer(request: web.Request, locale: str) -> Principal:
    """``_portal_user`` with the contact they are now (``with_current_contact``: a contact merged
    into another since is the one that stayed, whose tickets theirs are now)."""
    return await with_current_contact(request.app[keys.CONTACTS], _portal_user(request, locale))


async def _own_ticket(request: web.Request, principal: Principal) -> Conversation:
    try:
        conversation = await request.app[keys.CONVERSATIONS].get(request.match_info["ticket"][:64])
    except NotFound:
        conversation = None
    if conversation is None or not principal.contact_id or conversation.contact_id != principal.contact_id:
        raise web.HTTPNotFound(text="no such ticket")  # someone else's ticket does not exist for you
    # A ticket an agent merged into another is closed and its messages are there now: the page and
    # a reply go to the ticket that stayed (a reply stored here would reach no agent).
    for _ in range(MERGE_HOPS):
        if not conversation.merged_into:
            break
        try:
            target = await request.app[keys.CONVERSATIONS].get(conversation.merged_into)
        except NotFound:
            break
        if target.contact_id != principal.contact_id:
            break
        conversation = target
    return conversation


def _page_cursor(request: web.Request) -> str | None:
    """``?older=``: the cursor of the tickets page it continues; a forged one is the 404 page."""
    cursor = request.query.get("older")
    if cursor is None:
        return None
    try:
        _, last_id = decode_cursor(cursor[:200])
        if len(last_id) > 64:
            raise ValueError(last_id)
        last_id.encode()  # a lone surrogate would fail in the query
    except (InvalidInput, ValueError):
        raise web.HTTPNotFound(text="no such page") from None
    return cursor[:200]


async def tickets(request: web.Request) -> web.Response:
    locale = locale_of(request)
    principal = await _portal_customer(request, locale)
    items: list[Conversation] = []
    cursor, older = _page_cursor(request), None
    if principal.contact_id:  # a provider's tickets add up over the years: paged, newest first
        items, older = await request.app[keys.CONVERSATIONS].list(
            contact_id=principal.contact_id, limit=TICKETS_PAGE, cursor=cursor)
    sessions = await request.app[SESSIONS].list(principal.user_id) if principal.user_id else []
    return render(
        request,
        "tickets.html",
        locale=locale,
        tickets=items,
        older=older,
        paged=cursor is not None,
        sessions=[s for s in sessions if s["active"]],
        current_session=principal.session_id,
        switch={code: f"/help/{code}/tickets" for code in LANGUAGES},
    )


async def ticket(
    request: web.Request, *, error: str | None = None, status: int = 200, draft: str = ""
) -> web.Response:
    locale = locale_of(request)
    principal = await _portal_customer(request, locale)
    conversation = await _own_ticket(request, principal)
    if conversation.id != request.match_info["ticket"] and request.method == "GET":  # merged into it
        raise web.HTTPSeeOther(f"/help/{locale}/tickets/{conversation.id}")
    # the newest: a long thread's first 500 hid the answers the customer came for (and #latest)
    messages = await request.app[keys.CONVERSATIONS].messages(
        conversation.id, limit=MAX_SHOWN + 1, include_private=False, newest=True
    )
    return render(
        request,
        "ticket.html",
        status=status,
        locale=locale,
        ticket=conversation,
        messages=messages[-MAX_SHOWN:],
        earlier_hidden=len(messages) > MAX_SHOWN,
        nonce=secrets.token_urlsafe(18),
        error=error,
        draft=draft,
        switch={code: f"/help/{code}/tickets/{conversation.id}" for code in LANGUAGES},
    )


async def end_session(request: web.Request) -> web.Response:
    """Sign out one of my sessions (this one, the console's, an API client's) from the portal."""
    locale = locale_of(request)
    principal = _portal_user(request, locale)
    try:
        await request.app[SESSIONS].revoke(str(principal.user_id), request.match_info["session"][:64])
    except NotFound:
        raise web.HTTPNotFound(text="no such session") from None  # someone else's does not exist for you
    raise web.HTTPSeeOther(f"/help/{locale}/tickets#sessions")


async def _sender(request: web.Request, principal: Principal) -> SenderIdentity:
    """An identity of the signed-in user's contact, so ingest threads the reply to that contact."""
    contacts, contact_id = request.app[keys.CONTACTS], str(principal.contact_id)  # checked by _own_ticket
    identities = await contacts.identities(contact_id)
    if not identities:
        identity = await contacts.add_identity(
            contact_id, IdentityKind.external, f"portal-{principal.user_id}"
        )
        identities = [identity]
    preferred = sorted(identities, key=lambda i: i.kind != IdentityKind.email)[0]
    return SenderIdentity(kind=preferred.kind, value=preferred.value)


async def reply(request: web.Request) -> web.Response:
    locale = locale_of(request)
    principal = await _portal_customer(request, locale)
    conversation = await _own_ticket(request, principal)
    form = await request.post()
    text = str(form.get("text", "")).strip()
    nonce = str(form.get("nonce", ""))
    t = strings(locale)
    if not 16 <= len(nonce) <= 64 or not set(nonce) <= NONCE_CHARS:
        raise web.HTTPBadRequest(text="missing or malformed form nonce; reload the page")
    if not text or len(text) > MAX_REPLY:
        return await ticket(request, error=t["reply_invalid"], status=422, draft=text[:MAX_REPLY])
    inbound = InboundMessage(
        channel=Channel.api,
        external_id=f"portal:{conversation.id}:{nonce}",
        sender=await _sender(request, principal),
        sender_name=principal.name,
        text=text,
        conversation_id=conversation.id,
        language=locale,
        meta={"source": "help_center_portal", "user_id": principal.user_id},
    )
    await request.app[keys.INBOX].ingest(inbound)
    raise web.HTTPSeeOther(f"/help/{locale}/tickets/{conversation.id}#latest")


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/help/signin", signin_form)
    r.add_post("/help/signin", signin_submit)
    r.add_post("/help/signout", signout)
    r.add_get("/help/{locale:[a-z]{2}}/tickets", tickets)
    r.add_get("/help/{locale:[a-z]{2}}/tickets/{ticket}", ticket)
    r.add_post("/help/{locale:[a-z]{2}}/tickets/{ticket}/reply", reply)
    r.add_post("/help/{locale:[a-z]{2}}/sessions/{session}/end", end_session)


__all__ = ["install"]
