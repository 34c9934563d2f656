"""The help center's sign-in (the platform's lock-out and TOTP) and the ticket portal over HTTP:
own tickets only, replies landing in the conversation once, hostile and malformed input."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp

from hub import keys
from hub.models import Channel, InboundMessage, Role, new_id
from hub.models.inbound import SenderIdentity
from hub.platform.appkeys import TOTP

PASSWORD = "correct horse battery"


async def ticket_of(app: Any, email: str, subject: str) -> Any:
    result = await app[keys.INBOX].ingest(
        InboundMessage(
            channel=Channel.email,
            external_id=f"<{new_id()}@mail>",
            sender=SenderIdentity(kind="email", value=email),
            sender_name="Lerato",
            subject=subject,
            text=f"About {subject}",
        )
    )
    return result.conversation


async def portal_user(app: Any, conversation: Any, role: Role = Role.customer) -> str:
    email = f"portal-{new_id()}@example.com"
    await app[keys.USERS].create(email, PASSWORD, role, name="Lerato", contact_id=conversation.contact_id)
    return email


async def sign_in(client: Any, email: str, password: str = PASSWORD, otp: str = "") -> Any:
    return await client.post(
        "/help/signin",
        data={"email": email, "password": password, "otp": otp, "next": "/help/en/tickets"},
        allow_redirects=False,
    )


async def test_portal_lists_only_own_tickets_and_a_reply_lands_once(client: Any) -> None:
    app = client.server.app
    mine = await ticket_of(app, "lerato@example.co.za", "Venue cancelled")
    other = await ticket_of(app, "sipho@example.co.za", "Someone else's refund")
    await app[keys.CONVERSATIONS].reply(mine.id, _agent(), "We are on it.", private=False)
    await app[keys.CONVERSATIONS].reply(mine.id, _agent(), "secret internal note", private=True)
    email = await portal_user(app, mine)

    assert (
        (await client.get("/help/en/tickets", allow_redirects=False))
        .headers["Location"]
        .startswith("/help/signin?next=/help/en/tickets")
    )
    resp = await sign_in(client, email)
    assert resp.status == 303 and resp.headers["Location"] == "/help/en/tickets"

    listing = await (await client.get("/help/en/tickets")).text()
    assert "Venue cancelled" in listing and "Someone else" not in listing
    assert (await client.get(f"/help/en/tickets/{other.id}")).status == 404
    assert (await client.get("/help/en/tickets/../../api")).status == 404
    page = await (await client.get(f"/help/en/tickets/{mine.id}")).text()
    assert "We are on it." in page and "secret internal note" not in page
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    hostile = "<script>alert(1)</script> Thanks, the new date is 12 May."
    for _ in range(2):  # a resubmitted form (same nonce) is one message
        resp = await client.post(
            f"/help/en/tickets/{mine.id}/reply", data={"text": hostile, "nonce": nonce}, allow_redirects=False
        )
        assert resp.status == 303
    messages = await app[keys.CONVERSATIONS].messages(mine.id)
    replies = [m for m in messages if m.text == hostile]
    assert len(replies) == 1 and replies[0].direction.value == "in"
    assert replies[0].contact_id == mine.contact_id and replies[0].meta["source"] == "help_center_portal"
    page = await (await client.get(f"/help/en/tickets/{mine.id}")).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page

    bad = await client.post(f"/help/en/tickets/{other.id}/reply", data={"text": "hi", "nonce": nonce + "x"})
    assert bad.status == 404  # not yours: nothing written
    assert len(await app[keys.CONVERSATIONS].messages(other.id)) == 1
    assert (
        await client.post(f"/help/en/tickets/{mine.id}/reply", data={"text": "  ", "nonce": new_id() + "abc"})
    ).status == 422
    assert (
        await client.post(
            f"/help/en/tickets/{mine.id}/reply", data={"text": "x" * 10_001, "nonce": new_id() + "abc"}
        )
    ).status == 422
    assert (
        await client.post(f"/help/en/tickets/{mine.id}/reply", data={"text": "hi", "nonce": "<bad>"})
    ).status == 400
    cross_site = await client.post(
        f"/help/en/tickets/{mine.id}/reply",
        data={"text": "hi", "nonce": new_id() + "a"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status == 403
    assert (
        len(await app[keys.CONVERSATIONS].messages(mine.id)) == 4
    )  # first, agent reply + note, one portal reply


async def test_staff_are_sent_to_the_console_and_unlinked_users_see_nothing(client: Any, api: Any) -> None:
    app = client.server.app
    agent = await api.user(Role.agent, password=PASSWORD)
    assert (await sign_in(client, agent["user"]["email"])).status == 303
    assert (await client.get("/help/en/tickets")).status == 403
    await client.post("/help/signout")
    email = f"nocontact-{new_id()}@example.com"
    await app[keys.USERS].create(email, PASSWORD, Role.provider, name="New provider")
    assert (await sign_in(client, email)).status == 303
    assert "You have no tickets yet." in await (await client.get("/help/en/tickets")).text()


async def test_sign_in_uses_the_platform_lock_out(client: Any) -> None:
    app = client.server.app
    email = await portal_user(app, await ticket_of(app, "thandi@example.co.za", "Lock-out"))
    for _ in range(5):  # BERRY_LOGIN_MAX_FAILURES defaults to 5
        assert (await sign_in(client, email, "wrong password!")).status == 401
    locked = await sign_in(client, email)  # even the right password is refused while locked
    assert locked.status == 429 and "Too many failed sign-ins" in await locked.text()
    assert int(locked.headers["Retry-After"]) > 0
    assert "berry_help" not in locked.cookies


async def test_sign_in_asks_for_the_totp_code_when_two_factor_is_on(client: Any) -> None:
    app = client.server.app
    email = await portal_user(app, await ticket_of(app, "naledi@example.co.za", "2FA"))
    user = (await app[keys.USERS].list(Role.customer))[0]
    secret = (await app[TOTP].setup(user.id, email))["secret"]
    await app[TOTP].confirm(user.id, pyotp.TOTP(secret).now())

    no_code = await sign_in(client, email)
    assert no_code.status == 401 and "Enter the 6-digit code" in await no_code.text()
    assert "berry_help" not in no_code.cookies
    wrong = await sign_in(client, email, otp="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status == 401 and "wrong or was already used" in await wrong.text()
    ok = await sign_in(
        client, email, otp=pyotp.TOTP(secret).at(time.time() + 30)
    )  # the next step: not a replay
    assert ok.status == 303 and "berry_help" in ok.cookies
    assert (await client.get("/help/en/tickets")).status == 200


def _agent() -> Any:
    from hub.auth import Principal

    return Principal(role=Role.agent, user_id="agent-1", name="Agent")


async def test_portal_sign_in_is_a_session_listed_and_revocable_with_the_others(client: Any) -> None:
    app = client.server.app
    email = await portal_user(app, await ticket_of(app, "naledi@example.co.za", "Deposit"))
    resp = await client.post(
        "/help/signin",
        data={"email": email, "password": PASSWORD, "next": "/help/en/tickets"},
        headers={"User-Agent": "PortalBrowser/1.0"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert (await client.get("/help/en/tickets", allow_redirects=False)).status == 200
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": "<script>alert(1)</script>"},
    )
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}

    sessions = (await (await client.get("/api/v1/auth/sessions", headers=bearer)).json())["items"]
    assert len(sessions) == 2 and all(s["active"] for s in sessions)
    portal = next(s for s in sessions if s["user_agent"] == "Help center · PortalBrowser/1.0")
    api_session = next(s for s in sessions if s["id"] != portal["id"])

    # the portal lists both (its own marked) and ends the other one: that bearer token stops working
    page = await (await client.get("/help/en/tickets")).text()
    assert "Where you are signed in" in page and "this browser" in page and "&lt;script&gt;" in page
    assert "<script>alert" not in page  # the hostile user agent of the API sign-in, escaped
    ended = await client.post(f"/help/en/sessions/{api_session['id']}/end", allow_redirects=False)
    assert ended.status == 303 and ended.headers["Location"] == "/help/en/tickets#sessions"
    assert (await client.get("/api/v1/auth/sessions", headers=bearer)).status == 401
    assert (await client.post("/help/en/sessions/nope/end", allow_redirects=False)).status == 404
    other = await portal_user(app, await ticket_of(app, "sipho@example.co.za", "Other"))
    other_login = await client.post("/api/v1/auth/login", json={"email": other, "password": PASSWORD})
    other_bearer = {"Authorization": f"Bearer {(await other_login.json())['access_token']}"}
    other_session = (await (await client.get("/api/v1/auth/sessions", headers=other_bearer)).json())["items"][
        0
    ]
    resp = await client.post(f"/help/en/sessions/{other_session['id']}/end", allow_redirects=False)
    assert resp.status == 404  # someone else's session does not exist for you, and lives on
    assert (await client.get("/api/v1/auth/sessions", headers=other_bearer)).status == 200

    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    revoked = await client.delete(f"/api/v1/auth/sessions/{portal['id']}", headers=bearer)
    assert revoked.status == 204
    resp = await client.get("/help/en/tickets", allow_redirects=False)  # the same cookie, now dead
    assert resp.status == 303 and resp.headers["Location"].startswith("/help/signin")
    assert "Sign out" not in await (await client.get("/help/en")).text()
    assert (await client.get("/api/v1/auth/sessions", headers=bearer)).status == 200  # the other lives on


async def test_portal_sign_out_ends_the_session_and_bad_cookies_are_signed_out(client: Any) -> None:
    app = client.server.app
    email = await portal_user(app, await ticket_of(app, "thabo@example.co.za", "Payout"))
    assert (await sign_in(client, email)).status == 303
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/help/en"))["berry_help"].value
    assert (await client.post("/help/signout", allow_redirects=False)).status == 303
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    sessions = (await (await client.get("/api/v1/auth/sessions", headers=bearer)).json())["items"]
    assert [s["active"] for s in sessions if s["user_agent"].startswith("Help center")] == [False]
    # the signed-out token replayed (copied before sign-out) no longer opens the portal
    for value in (cookie, "not-a-jwt", "x" * 5000, cookie[:-4] + "AAAA"):
        client.session.cookie_jar.update_cookies({"berry_help": value})
        resp = await client.get("/help/en/tickets", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/help/signin"), value[:20]


async def test_someone_elses_ticket_is_the_same_404_page_as_a_missing_one(client: Any) -> None:
    app = client.server.app
    mine = await ticket_of(app, "lerato@example.co.za", "Venue cancelled")
    other = await ticket_of(app, "sipho@example.co.za", "Someone else's refund")
    assert (await sign_in(client, await portal_user(app, mine))).status == 303
    pages = []
    for ticket_id in (other.id, new_id()):
        resp = await client.get(f"/help/af/tickets/{ticket_id}")
        assert resp.status == 404 and resp.content_type == "text/html"
        pages.append(await resp.text())
    assert pages[0] == pages[1]  # nothing tells the two apart
    assert "<h1>Bladsy nie gevind nie</h1>" in pages[0] and "Someone else" not in pages[0]
    assert 'href="/help/af"' in pages[0] and 'role="search"' in pages[0]
    assert "Ingeteken as" in pages[0] and "My versoeke" in pages[0]  # still signed in, in Afrikaans
    listing = await (await client.get("/help/af/tickets")).text()
    for text in ("Waar jy ingeteken is", "hierdie blaaier", "Teken daar uit", "Oop"):
        assert text in listing, text
    page = await (await client.get(f"/help/zu/tickets/{mine.id}")).text()
    assert "Thumela impendulo" in page and "Impendulo yakho" in page and "Send reply" not in page


async def test_a_long_ticket_shows_its_newest_messages_and_says_earlier_ones_are_left_out(
        client: Any) -> None:
    """A ticket page shows 500 messages: the newest, where support's latest answer is (it showed the
    first 500, so on a longer thread the customer never saw the answers, and #latest was not the
    latest). Private notes still never count or show."""
    from datetime import timedelta

    from hub.models import AuthorType, Direction, Message, utcnow

    app = client.server.app
    short = await ticket_of(app, "thabo@example.co.za", "Short one")
    mine = await ticket_of(app, "lerato@example.co.za", "Long chat")
    start = utcnow() + timedelta(seconds=1)  # after the ticket's first message
    docs = [Message(conversation_id=mine.id, contact_id=mine.contact_id, channel=Channel.email,
                    direction=Direction.inbound if i % 2 else Direction.outbound,
                    author_type=AuthorType.customer if i % 2 else AuthorType.agent,
                    text=f"line-{i:04d}.", created_at=start + timedelta(seconds=i)).to_doc()
            for i in range(520)]
    docs.append(Message(conversation_id=mine.id, contact_id=mine.contact_id, channel=Channel.email,
                        direction=Direction.outbound, author_type=AuthorType.agent, private=True,
                        text="note-newest.", created_at=start + timedelta(seconds=600)).to_doc())
    await app[keys.STORE].messages.insert_many(docs)
    assert (await sign_in(client, await portal_user(app, mine))).status == 303

    page = await (await client.get(f"/help/en/tickets/{mine.id}")).text()
    shown = re.findall(r"line-(\d{4})\.", page)
    assert shown == [f"{i:04d}" for i in range(20, 520)]  # the newest 500, oldest first
    assert re.search(r'id="latest">.*?line-0519\.', page, re.S)
    assert "note-newest" not in page and "About Long chat" not in page
    assert "Earlier messages of this ticket are not shown here" in page

    client.session.cookie_jar.clear()
    assert (await sign_in(client, await portal_user(app, short))).status == 303
    page = await (await client.get(f"/help/en/tickets/{short.id}")).text()
    assert "About Short one" in page and "Earlier messages" not in page


async def test_a_provider_with_many_tickets_pages_through_all_of_them(client: Any) -> None:
    """My tickets lists 100 at a time, newest first, with a link to the older ones (it listed the
    newest 100 and nothing led to the rest). A forged page link is the 404 page."""
    from datetime import timedelta

    from hub.models import Conversation, utcnow

    app = client.server.app
    first = await ticket_of(app, "provider@example.co.za", "Booking 000")
    start = utcnow() - timedelta(days=30)
    docs = [Conversation(number=10_000 + i, contact_id=first.contact_id, channel=Channel.email,
                         thread_key=f"email|x{i}", status="resolved", subject=f"Booking {i:03d}",
                         created_at=start + timedelta(hours=i), updated_at=start + timedelta(hours=i),
                         last_message_at=start + timedelta(hours=i)).to_doc() for i in range(1, 130)]
    await app[keys.STORE].conversations.insert_many(docs)
    assert (await sign_in(client, await portal_user(app, first, Role.provider))).status == 303

    seen: list[str] = []
    url = "/help/af/tickets"
    for _ in range(5):
        resp = await client.get(url)
        assert resp.status == 200
        page = await resp.text()
        seen += re.findall(r"Booking (\d{3})", page)
        found = re.search(r'href="(/help/af/tickets\?older=[^"]+)"[^>]*>Ouer versoeke<', page)
        if found is None:
            break
        assert "Nuutste versoeke" in page or url == "/help/af/tickets"
        url = found.group(1).replace("&amp;", "&")
    assert seen == ["000", *[f"{i:03d}" for i in range(129, 0, -1)]]  # each once, newest first
    assert "Nuutste versoeke" in page

    for forged in ("x", "%%%", "W10", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIlx1ZDgwMCJd"):  # [..., "\ud800"]
        resp = await client.get(f"/help/en/tickets?older={forged}")
        assert resp.status == 404 and "Page not found" in await resp.text(), forged


async def test_a_merged_ticket_leads_to_the_ticket_it_was_merged_into_and_replies_land_there(
        client: Any, api: Any) -> None:
    """An agent merged two of the customer's tickets: the merged one is closed and its messages
    moved. Its portal page showed an empty thread with a reply form, and a reply there was stored
    in the closed, merged ticket, where no agent looks. Both now go to the ticket that stayed."""
    app = client.server.app
    source, target = [(await app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.email, external_id=f"<{new_id()}@mail>", thread_key=f"mail:<{new_id()}@mail>",
        sender=SenderIdentity(kind="email", value="lerato@example.co.za"), subject=subject,
        text=f"About {subject}"))).conversation for subject in ("Deposit question", "Deposit again")]
    assert source.id != target.id and source.contact_id == target.contact_id
    admin = await api.user(Role.admin)
    resp = await api.client.post(f"/api/v1/conversations/{source.id}/merge", headers=admin["headers"],
                                 json={"into": target.id})
    assert resp.status == 200, await resp.text()
    assert (await sign_in(client, await portal_user(app, source))).status == 303

    resp = await client.get(f"/help/af/tickets/{source.id}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/help/af/tickets/{target.id}"
    page = await (await client.get(f"/help/af/tickets/{target.id}")).text()
    assert "About Deposit question" in page and "About Deposit again" in page
    resp = await client.post(f"/help/en/tickets/{source.id}/reply",
                             data={"text": "Any news on my deposit?", "nonce": "merged-reply-nonce-01"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/help/en/tickets/{target.id}#latest"
    texts = [m.text for m in await app[keys.CONVERSATIONS].messages(target.id)]
    assert "Any news on my deposit?" in texts
    assert await app[keys.STORE].messages.count_documents({"conversation_id": source.id}) == 0


async def test_a_customer_whose_contact_was_merged_away_sees_and_answers_their_tickets(
        client: Any, api: Any) -> None:
    """Signed in as a duplicate contact that an agent then merged into another (twice: a chain):
    the portal follows ``merged_into`` to the contact that stayed, so My tickets lists the tickets
    (the duplicate's, moved there, and the survivor's), their pages open and a reply lands there."""
    app = client.server.app
    duplicate = await ticket_of(app, "lerato.old@example.co.za", "Tent booking")
    middle = await ticket_of(app, "lerato.work@example.co.za", "Catering invoice")
    survivor = await ticket_of(app, "lerato@example.co.za", "Venue deposit")
    assert (await sign_in(client, await portal_user(app, duplicate))).status == 303
    contacts = app[keys.CONTACTS]
    await contacts.merge(duplicate.contact_id, middle.contact_id)
    await contacts.merge(middle.contact_id, survivor.contact_id)

    page = await (await client.get("/help/en/tickets")).text()
    for ticket in (duplicate, middle, survivor):
        assert f"/help/en/tickets/{ticket.id}" in page, ticket.subject
    resp = await client.get(f"/help/en/tickets/{duplicate.id}", allow_redirects=False)
    assert resp.status == 200 and "About Tent booking" in await resp.text()
    resp = await client.post(f"/help/en/tickets/{duplicate.id}/reply",
                             data={"text": "Is the tent still booked?", "nonce": "merged-contact-nonce-1"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/help/en/tickets/{duplicate.id}#latest"
    reply = await app[keys.STORE].messages.find_one({"text": "Is the tent still booked?"}) or {}
    assert reply.get("conversation_id") == duplicate.id and reply.get("contact_id") == survivor.contact_id
