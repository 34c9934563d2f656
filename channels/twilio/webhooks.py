"""Twilio webhook endpoints (thin): read → verify → spool → process → answer.

    POST /webhooks/twilio/{sms|whatsapp}          inbound message   (TwiML <Response/>)
    POST /webhooks/twilio/status/{sms|whatsapp}   delivery status callback
    POST /webhooks/twilio/status/voice            … of a voice ticket's reply, sent as SMS (voice_replies)

A bad or missing signature is 403 before anything is written; a malformed form is 400; a store
outage is 503 with the verified payload kept in the spool (ingested when the store is back).
"""

from __future__ import annotations

import logging

from aiohttp import web
from pymongo.errors import PyMongoError

from channels.base import ChannelError, MalformedInbound
from channels.http import channel_problem, first_values, read_form
from hub import keys
from hub.api.problem import problem
from hub.errors import Conflict, HubError, NotFound, StoreUnavailable
from hub.models import Channel, utcnow

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _services(request: web.Request):  # type: ignore[no-untyped-def]
    return request.app[keys.EXTENSIONS]["channels"]


def _configured(request: web.Request):  # type: ignore[no-untyped-def]
    """(services, channel, adapter) of the URL's channel; 404 problem+json when not configured."""
    services = _services(request)
    channel = Channel(request.match_info["channel"])
    adapter = services.twilio.get(channel)
    if adapter is None:
        raise NotFound(f"the {channel.value} channel is not configured")
    return services, channel, adapter


async def inbound_message(request: web.Request) -> web.StreamResponse:
    services, channel, adapter = _configured(request)
    try:
        raw = await read_form(request, services.settings.public_url)
        adapter.verify(raw)
    except ChannelError as exc:
        if exc.status == 403:
            log.warning("twilio webhook refused", extra={"reason": exc.detail, "path": request.path})
        return channel_problem(exc)  # unverified: nothing is kept
    form = first_values(raw.form)
    try:
        inbound = adapter.normalize(form)
    except ChannelError as exc:  # genuine Twilio, but unusable: kept for an admin, 400 to Twilio
        await services.dead_letter(
            f"twilio:{channel.value}:malformed", {"channel": channel.value, "form": form}, exc.detail
        )
        return channel_problem(exc)
    key = f"twilio:{channel.value}:{inbound.external_id}"
    # received_at: the drainer of any node drops it if the sender is erased after this moment
    payload = {"channel": channel.value, "form": form, "received_at": utcnow().isoformat()}
    await services.spool.hold(key, payload)
    try:
        await services.twilio_inbound.process(payload, inbound)
    except (PyMongoError, StoreUnavailable) as exc:
        log.warning("store down: webhook spooled", extra={"key": key, "error": repr(exc)})
        return problem(503, "Store unavailable", "kept in the spool; will be ingested when the store is back",
                       headers={"Retry-After": "5"})
    except Conflict:  # another request (or the spool drainer) is ingesting this MessageSid right now;
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")  # the spooled copy covers it
    except HubError as exc:
        await services.spool.drain_one(key, payload, exc)  # can never be ingested: dead letter
        return problem(exc.status, exc.title, exc.detail, field=exc.field)
    else:
        await services.spool.done(key)  # stored: the copy goes before the drainer may see it
    finally:
        services.spool.release(key)  # whatever is still on disk is the drainer's now
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def status_callback(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    channel = Channel(request.match_info["channel"])
    adapter = services.registry.get(channel) if channel == Channel.voice else services.twilio.get(channel)
    if adapter is None:
        raise NotFound(f"the {channel.value} channel is not configured")
    try:
        raw = await read_form(request, services.settings.public_url)
        update = adapter.parse_status(raw)
    except ChannelError as exc:
        return channel_problem(exc)
    except ValueError as exc:
        return channel_problem(MalformedInbound(str(exc)))
    if update is not None:
        try:
            await services.outbox.on_provider_status(
                channel, update.external_id, update.status, error=update.error
            )
        except PyMongoError:
            return problem(503, "Store unavailable", "retry later", headers={"Retry-After": "5"})
    return web.Response(status=204)


def install(app: web.Application) -> None:
    app.router.add_post("/webhooks/twilio/status/{channel:sms|whatsapp|voice}", status_callback)
    app.router.add_post("/webhooks/twilio/{channel:sms|whatsapp}", inbound_message)
