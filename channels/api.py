"""Channel API: configured channels with the webhook URLs to hand to providers (secrets never
returned), WhatsApp templates, sending a template, and attachments for agents."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import pages
from hub.api.pages import Sorts, page_of, query_model
from hub.api.routing import ApiRouter
from hub.auth import Principal
from hub.errors import InvalidInput, NotFound
from hub.models import Channel, Message
from hub.platform.blobs import content_disposition

from .inboxes import ChannelInboxIn, ChannelInboxOut

router = ApiRouter()


class ChannelInfo(BaseModel):
    channel: Channel
    configured: bool
    address: str = ""
    webhooks: dict[str, str] = Field(default_factory=dict)


class WhatsAppTemplate(BaseModel):
    name: str
    content_sid: str
    body: str = ""


class WhatsAppTemplateSend(BaseModel):
    content_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: dict[str, str] = Field(default_factory=dict, max_length=20)


@router.route("GET", "/channels", summary="Configured channels and the webhook URLs to give the provider",
              tag="channels", permission="channels:admin", response=list[ChannelInfo])
async def list_channels(request: web.Request, _: Principal) -> list[ChannelInfo]:
    from .wiring import webhook_url
    services = request.app[keys.EXTENSIONS]["channels"]
    settings = services.settings
    out = []
    for channel, number in (
        (Channel.sms, settings.twilio_sms_from),
        (Channel.whatsapp, settings.twilio_whatsapp_from),
    ):
        adapter = services.registry.get(channel)
        out.append(ChannelInfo(channel=channel, configured=adapter is not None,
                               address=adapter.from_number if adapter else number, webhooks={
            "inbound": webhook_url(settings, f"/webhooks/twilio/{channel.value}"),
            "status": webhook_url(settings, f"/webhooks/twilio/status/{channel.value}")}))
    out.append(ChannelInfo(channel=Channel.voice, configured=bool(settings.twilio_account_sid),
                           address=settings.twilio_sms_from,
                           webhooks={"voice": webhook_url(settings, "/webhooks/twilio/voice"),
                                     "status": webhook_url(settings, "/webhooks/twilio/voice/status")}))
    out.append(ChannelInfo(channel=Channel.email, configured=Channel.email in services.registry,
                           address=settings.email_address))
    out.append(ChannelInfo(channel=Channel.webchat, configured=Channel.webchat in services.registry,
                           webhooks={"widget": settings.base_url + "/chat/widget.js"}))
    return out


@router.route(
    "GET",
    "/channels/whatsapp/templates",
    summary="Approved WhatsApp templates (for outside the 24-hour window)",
    tag="channels",
    permission="messages:write",
    response=list[WhatsAppTemplate],
)
async def whatsapp_templates(request: web.Request, _: Principal) -> list[WhatsAppTemplate]:
    return [WhatsAppTemplate.model_validate(t) for t in request.app[keys.SETTINGS].whatsapp_templates]


@router.route(
    "POST",
    "/conversations/{conversation_id}/whatsapp-template",
    summary="Send an approved WhatsApp template",
    tag="channels",
    permission="messages:write",
    body=WhatsAppTemplateSend,
    response=Message,
    status=201,
)
async def send_template(request: web.Request, principal: Principal, body: WhatsAppTemplateSend) -> Message:
    conversations = request.app[keys.CONVERSATIONS]
    conversation = await conversations.get(request.match_info["conversation_id"])
    text, meta = template_reply(request.app[keys.SETTINGS].whatsapp_templates, conversation.channel,
                                body.content_sid, body.variables)
    return await conversations.reply(conversation.id, principal, text, meta=meta)


def template_reply(approved: list[dict[str, str]], channel: Channel, content_sid: str,
                   variables: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The text and message meta of an approved template (also used by the agent console)."""
    template = {t["content_sid"]: t for t in approved}.get(content_sid)
    if template is None:
        raise InvalidInput("not one of the approved templates", field="content_sid")
    if channel != Channel.whatsapp:
        raise InvalidInput("templates are for WhatsApp conversations", field="conversation_id")
    text = template.get("body", "")
    for name, value in variables.items():
        text = text.replace("{{" + name + "}}", value)
    return text, {
        "template": {"content_sid": content_sid, "variables": variables, "name": template.get("name", "")}
    }


@router.route("GET", "/blobs/{blob_id}", summary="Download an attachment (media, e-mail part, recording)",
              tag="channels", permission="messages:read")
async def get_blob(request: web.Request, principal: Principal) -> web.StreamResponse:
    services, blob_id = request.app[keys.EXTENSIONS]["channels"], request.match_info["blob_id"]
    # another team's attachment is answered like a missing one (channels/blob_access.py)
    allowed = await services.blob_access.may_download(principal, blob_id)
    found = await services.blobs.get(blob_id) if allowed else None
    if found is None:
        raise NotFound("no such attachment")
    data, meta = found
    return web.Response(body=data, content_type=meta.get("content_type", "application/octet-stream"),
                        headers={"Content-Disposition": content_disposition(str(meta.get("filename") or "")),
                                 "X-Content-Type-Options": "nosniff"})


class ChannelDeadLetter(BaseModel):
    id: str
    source: str
    key: str = ""
    error: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: Any = None


DEAD_LETTER_SORTS = Sorts({"id": "_id", "created_at": "created_at"}, "-created_at")
DeadLetterQuery = query_model(
    "DeadLetterQuery",
    DEAD_LETTER_SORTS,
    source=(
        str | None,
        Field(None, max_length=64, pattern=r"^[a-z0-9_.:-]+$", description="Only this source"),
    ),
)


def _dead_letter(d: dict[str, Any]) -> ChannelDeadLetter:
    return ChannelDeadLetter(
        id=str(d["_id"]), **{k: v for k, v in d.items() if k in ChannelDeadLetter.model_fields and k != "id"}
    )


@router.route(
    "GET",
    "/channels/dead-letters",
    summary="Inbound payloads that could not be ingested (newest first)",
    tag="channels",
    permission="channels:admin",
    query=DeadLetterQuery,
    response=page_of(ChannelDeadLetter),
)
async def dead_letters(request: web.Request, _: Principal, query: Any) -> dict[str, Any]:
    flt = {"source": query.source} if query.source else {}
    return await pages.page(
        request.app[keys.STORE]["dead_letters"], flt, query, DEAD_LETTER_SORTS, _dead_letter
    )


@router.route(
    "GET",
    "/channels/inboxes",
    summary="Channel inboxes as configured by admins (credentials never returned)",
    tag="channels",
    permission="channels:admin",
    response=list[ChannelInboxOut],
)
async def list_channel_inboxes(request: web.Request, _: Principal) -> list[ChannelInboxOut]:
    services = request.app[keys.EXTENSIONS]["channels"]
    docs = await services.inboxes.all()
    return [_with_status(services, services.inboxes.public(Channel(c), docs.get(Channel(c))))
            for c in ("sms", "whatsapp", "voice", "email", "webchat")]


def _with_status(services: Any, out: ChannelInboxOut) -> ChannelInboxOut:
    mailbox, listener = services.extra.get("mailbox"), services.extra.get("smtp_listener")
    if out.channel == Channel.email and mailbox is not None:
        out.status = mailbox.status()
    if out.channel == Channel.email and listener is not None:
        out.status["smtp_listener"] = listener.status()  # this node's
    return out


def _configurable(request: web.Request) -> Channel:
    name = request.match_info["channel"]
    if name not in ("sms", "whatsapp", "voice", "email", "webchat"):
        raise NotFound(f"no configurable channel {name!r}")
    return Channel(name)


@router.route("GET", "/channels/inboxes/{channel}", summary="One channel inbox (credentials never returned)",
              tag="channels", permission="channels:admin", response=ChannelInboxOut)
async def get_channel_inbox(request: web.Request, _: Principal) -> ChannelInboxOut:
    channel = _configurable(request)
    services = request.app[keys.EXTENSIONS]["channels"]
    return _with_status(services, services.inboxes.public(channel, await services.inboxes.get(channel)))


@router.route("DELETE", "/channels/inboxes/{channel}",
              summary="Remove a channel inbox's configuration and credentials (back to the BERRY_ settings)",
              tag="channels", permission="channels:admin")
async def delete_channel_inbox(request: web.Request, principal: Principal) -> None:
    from . import configure
    channel = _configurable(request)
    services = request.app[keys.EXTENSIONS]["channels"]
    if not await services.inboxes.delete(channel):
        raise NotFound(f"channel inbox {channel.value} is not configured")
    await configure.reload(services)
    await request.app[keys.AUDIT].record(
        principal.actor_id, "channel.inbox.delete", "channel_inbox", channel.value
    )


@router.route(
    "PUT",
    "/channels/inboxes/{channel}",
    summary="Configure a channel inbox (credentials are write-only)",
    tag="channels",
    permission="channels:admin",
    body=ChannelInboxIn,
    response=ChannelInboxOut,
)
async def put_channel_inbox(
    request: web.Request, principal: Principal, body: ChannelInboxIn
) -> ChannelInboxOut:
    from . import configure
    name = request.match_info["channel"]
    if name not in ("sms", "whatsapp", "voice", "email", "webchat"):
        raise NotFound(f"no configurable channel {name!r}")
    services = request.app[keys.EXTENSIONS]["channels"]
    previous = await services.inboxes.get(Channel(name))  # the audit's "before" (credentials: names only)
    before = services.inboxes.public(Channel(name), previous).model_dump(mode="json") if previous else None
    doc = await services.inboxes.save(Channel(name), body)
    await configure.reload(services)
    out = _with_status(services, services.inboxes.public(Channel(name), doc))
    after = out.model_dump(mode="json", exclude={"status"})
    await request.app[keys.AUDIT].record(principal.actor_id, "channel.inbox.update", "channel_inbox", name,
                                         before=before and {k: v for k, v in before.items() if k != "status"},
                                         after=after)
    return out
