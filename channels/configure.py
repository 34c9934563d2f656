"""The effective configuration of each channel: settings (``BERRY_…``) overlaid by the admin's
inbox document (``channels/inboxes.py``), and (re)building the adapters from it."""

from __future__ import annotations

import logging
from typing import Any

from hub.models import Channel

from .email.adapter import EmailAdapter
from .email.mailbox import MailboxConfig, effective_config
from .twilio.messaging import TwilioMessagingAdapter

log = logging.getLogger(__name__)


def _doc(services: Any, channel: Channel) -> dict[str, Any]:
    return services.inbox_docs.get(channel, {})


def _secret(services: Any, doc: dict[str, Any], name: str) -> str | None:
    return services.inboxes.secret(doc, name) if services.inboxes is not None and doc else None


def hours_for(services: Any, channel: Channel) -> tuple[str, str]:
    doc, settings = _doc(services, channel), services.settings
    return doc.get("business_hours") or settings.voice_business_hours, doc.get(
        "timezone"
    ) or settings.voice_timezone


def greeting_for(services: Any, channel: Channel, default: str) -> str:
    return str(_doc(services, channel).get("greeting") or default)


def twilio_credentials(services: Any, channel: Channel) -> tuple[str, str]:
    doc, settings = _doc(services, channel), services.settings
    sid = str(doc.get("settings", {}).get("account_sid") or settings.twilio_account_sid)
    token = _secret(services, doc, "auth_token") or settings.twilio_auth_token.get_secret_value()
    return sid, token


async def build_adapters(services: Any) -> None:
    """Replace the Twilio messaging and e-mail adapters from the current configuration."""
    from .wiring import webhook_url
    settings = services.settings
    for channel, number in (
        (Channel.sms, settings.twilio_sms_from),
        (Channel.whatsapp, settings.twilio_whatsapp_from),
    ):
        doc = _doc(services, channel)
        sid, token = twilio_credentials(services, channel)
        old = services.twilio.pop(channel, None)
        services.registry.remove(channel)
        if old is not None:
            await old.close()
        if not sid or doc.get("enabled") is False:
            continue
        adapter = TwilioMessagingAdapter(
            channel=channel, account_sid=sid, auth_token=token, from_number=doc.get("address") or number,
            status_callback=webhook_url(settings, f"/webhooks/twilio/status/{channel.value}"),
            overrides=settings.twilio_webhook_overrides, api_base=settings.twilio_api_base,
            media_links=services.media_links)
        services.twilio[channel] = adapter  # the same dict TwilioInbound reads
        services.registry.add(adapter)
    doc = _doc(services, Channel.email)
    conf = doc.get("settings", {})
    services.registry.remove(Channel.email)
    host = str(conf.get("smtp_host") or settings.smtp_host)
    if host and doc.get("enabled") is not False:
        services.registry.add(
            EmailAdapter(
                from_address=doc.get("address") or settings.email_address,
                smtp_host=host,
                from_name=settings.email_from_name,
                smtp_port=int(conf.get("smtp_port") or settings.smtp_port),
                smtp_user=str(conf.get("smtp_user") or settings.smtp_user),
                smtp_password=_secret(services, doc, "smtp_password")
                or settings.smtp_password.get_secret_value(),
                starttls=bool(conf.get("smtp_starttls", settings.smtp_starttls)),
                max_bytes=settings.email_max_bytes,
                blobs=services.blobs,
            )
        )


def listener_config(services: Any) -> tuple[int, str]:
    """(port, accepted domain) of the inbound SMTP listener; port 0 = off."""
    doc, settings = _doc(services, Channel.email), services.settings
    conf = doc.get("settings", {})
    port = int(conf["smtp_listen_port"]) if "smtp_listen_port" in conf else settings.smtp_listen_port
    address = support_address(services)
    return (0 if doc.get("enabled") is False else port), address.rsplit("@", 1)[-1].lower()


def support_address(services: Any) -> str:
    """The e-mail inbox's address: the admin's, else ``BERRY_EMAIL_ADDRESS``."""
    return str(_doc(services, Channel.email).get("address") or services.settings.email_address)


def mailbox_config(services: Any) -> MailboxConfig | None:
    doc = _doc(services, Channel.email)
    return effective_config(services.settings, doc, _secret(services, doc, "imap_password"))


async def reload(services: Any) -> None:
    if services.inboxes is not None:
        services.inbox_docs = await services.inboxes.all()
    await build_adapters(services)
    mailbox = services.extra.get("mailbox")  # started by extra_ctx once the e-mail ingest exists
    if mailbox is not None:
        await mailbox.apply(mailbox_config(services))
    listener = services.extra.get("smtp_listener")
    if listener is not None:
        await listener.apply(*listener_config(services))
    log.info("channel adapters rebuilt", extra={"channels": sorted(c.value for c in services.registry)})
