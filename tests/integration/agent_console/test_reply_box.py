"""The reply box knows the channel: e-mail Cc and attached files reach a real SMTP server, WhatsApp
templates outside the 24-hour window, transfers tell the team that lost the ticket; and every new
input (socket reply fields, the upload endpoint) refuses bad input clearly without losing anything."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.models import Role, new_id
from hub.settings import Settings
from tests.integration.channels.conftest import TEMPLATE_SID, run_jobs, smtp_sink, twilio_standin  # noqa: F401

from .conftest import team_agent

pytestmark = pytest.mark.usefixtures("smtp_sink")


@pytest.fixture
def settings(mongodb_url: str, db_name: str, tmp_path: Path, smtp_sink: tuple[int, Any]) -> Settings:  # noqa: F811
    return Settings(  # type: ignore[call-arg]
        mongodb_url=mongodb_url,
        mongodb_db=db_name,
        var_dir=tmp_path / "var",
        bot_engine="off",
        inline_worker=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink[0],
        email_address="support@berry.test",
        whatsapp_templates=[
            {
                "name": "follow_up",
                "content_sid": TEMPLATE_SID,
                "body": "Hi {{1}}, we have an update on your booking.",
            }
        ],
        _env_file=None,
    )


async def _inbound(
    client: Any, admin: dict[str, Any], channel: str, kind: str, value: str, **extra: Any
) -> str:
    body = {
        "channel": channel,
        "external_id": new_id(),
        "sender": {"kind": kind, "value": value},
        "text": "Hello",
        **extra,
    }
    resp = await client.post("/api/v1/inbound", json=body, headers=admin["headers"])
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["conversation"]["id"])


async def _upload(
    client: Any,
    headers: dict[str, str],
    data: bytes,
    filename: str = "quote.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return await client.post(
        f"/api/v1/console/attachments?filename={filename}",
        data=data,
        headers={**headers, "Content-Type": content_type},
    )


async def test_email_reply_with_cc_and_a_file_reaches_smtp_once(client, api, agents, smtp_sink) -> None:  # noqa: F811
    admin, agent = await api.user(Role.admin), await api.user(Role.agent)
    conversation_id = await _inbound(client, admin, "email", "email", "lerato@example.co.za", subject="Quote")
    upload = await _upload(client, agent["headers"], b"%PDF-1.4 quote", filename="../../etc/Quote\x00.pdf")
    assert upload.status == 201, await upload.text()
    attachment = await upload.json()
    assert attachment["filename"] == "Quote.pdf" and attachment["size"] == 14  # no path, no control chars
    console = await agents(agent["access_token"])
    reply = {
        "conversation_id": conversation_id,
        "text": "Quote attached.",
        "client_id": "mail-reply-1",
        "subject": "Your quote",
        "cc": ["Planner@Example.com", "planner@example.com"],
        "attachments": [attachment["blob_id"]],
    }
    first = await console.call("reply", reply)
    assert first["ok"], first
    again = await console.call("reply", reply)  # a retry after a lost ack: stored once
    assert again["ok"] and again["duplicate"] and again["message"]["id"] == first["message"]["id"]
    assert first["message"]["meta"]["cc"] == ["planner@example.com"]
    _, collector = smtp_sink
    before = len(collector.mails)
    await run_jobs(client)
    assert len(collector.mails) == before + 1
    _, rcpts, raw = collector.mails[-1]
    mail = message_from_bytes(raw, policy=policy.default)
    assert sorted(rcpts) == ["lerato@example.co.za", "planner@example.com"]
    assert mail["Cc"] == "planner@example.com" and mail["Subject"].startswith("Your quote")
    files = [(p.get_filename(), p.get_content()) for p in mail.iter_attachments()]
    assert files == [("Quote.pdf", b"%PDF-1.4 quote")]


async def test_rest_reply_accepts_cc_for_email_only(client, api) -> None:
    admin, agent = await api.user(Role.admin), await api.user(Role.agent)
    mail_id = await _inbound(client, admin, "email", "email", "thabo@example.com")
    sms_id = await _inbound(client, admin, "sms", "phone", "+27821110000")
    ok = await client.post(
        f"/api/v1/conversations/{mail_id}/messages",
        json={"text": "Hi", "cc": ["a@example.com"]},
        headers=agent["headers"],
    )
    assert ok.status == 201 and (await ok.json())["meta"]["cc"] == ["a@example.com"]
    for conversation_id, cc in (
        (sms_id, ["a@example.com"]),
        (mail_id, ["not an address"]),
        (mail_id, [f"a{i}@example.com" for i in range(11)]),
        (mail_id, "a@example.com"),
    ):
        resp = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": "Hi", "cc": cc},
            headers=agent["headers"],
        )
        assert resp.status == 422, (cc, await resp.text())
    assert await client.server.app[keys.STORE].messages.count_documents({"direction": "out"}) == 1


async def test_whatsapp_template_reply_over_the_socket(client, api, agents) -> None:
    admin, agent = await api.user(Role.admin), await api.user(Role.agent)
    wa_id = await _inbound(client, admin, "whatsapp", "whatsapp", "+27825550000")
    sms_id = await _inbound(client, admin, "sms", "phone", "+27825550001")
    console = await agents(agent["access_token"])
    template = {"content_sid": TEMPLATE_SID, "variables": {"1": "Naledi"}}
    sent = await console.call(
        "reply", {"conversation_id": wa_id, "template": template, "client_id": "wa-template-1"}
    )
    assert sent["ok"], sent
    assert sent["message"]["text"] == "Hi Naledi, we have an update on your booking."
    assert sent["message"]["meta"]["template"]["content_sid"] == TEMPLATE_SID
    unknown = await console.call(
        "reply",
        {
            "conversation_id": wa_id,
            "client_id": "wa-template-2",
            "template": {"content_sid": "HX" + "b" * 32},
        },
    )
    assert unknown["error"] == {"code": "invalidinput", "detail": "not one of the approved templates"}
    wrong_channel = await console.call(
        "reply", {"conversation_id": sms_id, "template": template, "client_id": "wa-template-3"}
    )
    assert wrong_channel["error"]["code"] == "invalidinput"
    # refused as a whole, so the same client id can be sent again once corrected
    fixed = await console.call(
        "reply", {"conversation_id": wa_id, "template": template, "client_id": "wa-template-2"}
    )
    assert fixed["ok"] and not fixed["duplicate"]


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"text": ""}, "invalid"),  # nothing to send
        ({"cc": ["a@example.com"]}, "invalidinput"),  # Cc on SMS
        ({"cc": ["x" * 300 + "@example.com"]}, "invalid"),  # oversized address
        ({"cc": "a@example.com"}, "invalid"),  # wrong shape
        ({"attachments": ["../../etc/passwd"]}, "invalid"),  # not a blob id
        ({"attachments": ["0" * 24] * 11}, "invalid"),  # too many
        ({"attachments": ["0" * 24]}, "invalidinput"),  # files on SMS
        ({"private": True, "attachments": ["0" * 24]}, "invalidinput"),  # not an upload of mine
        ({"template": {"content_sid": "HX1"}}, "invalid"),  # malformed template
        ({"template": {"content_sid": TEMPLATE_SID, "variables": {"1": 5}}}, "invalid"),
        ({"template": {"content_sid": TEMPLATE_SID, "extra": 1}}, "invalid"),
    ],
)
async def test_bad_reply_fields_are_refused_and_nothing_is_stored(
    client, api, agents, ingest, changes, code
) -> None:
    agent = await api.user(Role.agent)
    conversation_id = (await ingest("hello"))["conversation"]["id"]
    console = await agents(agent["access_token"])
    answer = await console.call(
        "reply", {"conversation_id": conversation_id, "text": "hi", "client_id": "bad-input-1", **changes}
    )
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert await client.server.app[keys.STORE].messages.count_documents({"direction": "out"}) == 0


async def test_another_agents_upload_cannot_be_attached(client, api, agents, ingest) -> None:
    owner, other = await api.user(Role.agent), await api.user(Role.agent)
    blob_id = (await (await _upload(client, owner["headers"], b"secret")).json())["blob_id"]
    conversation_id = (await ingest("hello"))["conversation"]["id"]
    console = await agents(other["access_token"])
    answer = await console.call(
        "reply",
        {
            "conversation_id": conversation_id,
            "text": "see file",
            "private": True,
            "attachments": [blob_id],
            "client_id": "steal-upload",
        },
    )
    assert (
        answer["error"]["code"] == "invalidinput" and "not a file you uploaded" in answer["error"]["detail"]
    )
    mine = await agents(owner["access_token"])
    note = await mine.call(
        "reply",
        {
            "conversation_id": conversation_id,
            "text": "see file",
            "private": True,
            "attachments": [blob_id],
            "client_id": "own-upload",
        },
    )
    assert note["ok"] and note["message"]["attachments"][0]["blob_id"] == blob_id


async def test_upload_refuses_bad_input(client, api) -> None:
    agent, customer = await api.user(Role.agent), await api.user(Role.customer)
    assert (await _upload(client, {}, b"x")).status == 401
    assert (await _upload(client, agent["headers"], b"")).status == 422
    assert (await _upload(client, agent["headers"], b"x" * (10 * 1024 * 1024 + 1))).status == 413
    assert (
        await _upload(client, agent["headers"], b"--b\r\n", content_type="multipart/form-data; boundary=b")
    ).status == 422
    assert (await _upload(client, agent["headers"], b"x", content_type="not a type")).status == 422
    forged = {"Authorization": "Bearer " + agent["access_token"][:-4] + "AAAA"}
    assert (await _upload(client, forged, b"x")).status == 401
    assert (await _upload(client, customer["headers"], b"x")).status == 403
    files = client.server.app[keys.STORE]["blobs.files"]
    assert await files.count_documents({}) == 0


async def test_transfer_tells_the_old_team_and_routes_to_the_new_one(client, api, agents, ingest) -> None:
    from hub.ticketing.teams import Team

    teams = client.server.app[keys.EXTENSIONS]["ticketing"].teams
    for team_id in ("venues", "catering"):
        await teams.create(Team(id=team_id, name=team_id.title()))
    tokens = {
        "vera@example.com": await team_agent(client, "Vera", ["venues"]),
        "carl@example.com": await team_agent(client, "Carl", ["catering"]),
    }
    admin = await api.user(Role.admin)
    conversation_id = (await ingest("a wedding for 120"))["conversation"]["id"]
    resp = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"team_id": "venues"}, headers=admin["headers"]
    )
    assert resp.status == 200
    vera, carl = await agents(tokens["vera@example.com"]), await agents(tokens["carl@example.com"])
    moved = await vera.call(
        "update", {"conversation_id": conversation_id, "changes": {"team_id": "catering"}}
    )
    assert moved == {"ok": True, "conversation": None, "transferred": True}  # Vera no longer sees it
    # (the move out of the shared inbox may reach Vera too, if it was forwarded after she connected)
    notice = await vera.wait_for(lambda: [e for e in vera.events("conversation.transferred")
                                          if e["data"]["team_id"] == "catering"], timeout=15)
    data = notice[0]["data"]
    assert data.pop("actor_id")
    assert data == {
        "conversation_id": conversation_id,
        "number": 1,
        "team_id": "catering",
        "previous_team_id": "venues",
    }  # nothing of the ticket's content
    await carl.wait_for(
        lambda: [
            e
            for e in carl.events("conversation.updated")
            if e["data"]["conversation"]["team_id"] == "catering"
        ],
        timeout=15,
    )
    # Carl gains the ticket: no transfer notice for this move (the earlier move of the ticket out of
    # the shared inbox, which Carl could see, may reach him if it was forwarded after he connected)
    assert not [e for e in carl.events("conversation.transferred") if e["data"]["team_id"] == "catering"]
    bad = await vera.call("update", {"conversation_id": conversation_id, "changes": {"team_id": "x" * 65}})
    assert bad["error"]["code"] == "invalid"
