"""A local stand-in for the Twilio REST endpoints the hub calls, in Twilio's documented wire format
(2010-04-01 Messages resource, JSON error bodies with ``code``/``message``/``more_info``/``status``,
HTTP basic auth with the Account SID and Auth Token, media behind the same auth).

Test-only "magic" recipients mirror Twilio's test credentials:
    +15005550001 → 400 code 21211 (invalid 'To')      +15005550004 → 400 code 21610 (unsubscribed)
    whatsapp:+15005550016 → 400 code 63016 (outside the 24-hour window, unless ContentSid)
``fail_next(n)`` answers the next n creates with 503 (a Twilio outage).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

from hub.store import free_port

MAGIC = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "whatsapp:+15005550016": (
        63016,
        "Failed to send freeform message because you are outside the allowed window.",
    ),
}


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                              "status": status}, status=status)


@dataclass
class TwilioStandIn:
    account_sid: str
    auth_token: str
    port: int = field(default_factory=free_port)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    _fail: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, n: int, status: int = 503) -> None:
        self._fail.extend([status] * n)

    def add_media(self, data: bytes, content_type: str) -> str:
        media_id = "ME" + secrets.token_hex(16)
        self.media[media_id] = (data, content_type)
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM0/Media/{media_id}"

    def add_recording(self, data: bytes) -> str:
        """A recording; like Twilio's RecordingUrl, the returned URL has no extension (add .mp3)."""
        rid = "RE" + secrets.token_hex(16)
        self.media[rid] = (data, "audio/mpeg")
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{rid}"

    async def _recording(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        found = self.media.get(request.match_info["rid"])
        if found is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.Response(body=found[0], content_type=found[1])

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (
            request.headers.get("Authorization") == expected
            and request.match_info.get("sid", self.account_sid) == self.account_sid
        )

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        form = await request.post()
        self.requests.append({k: form.getall(k) for k in set(form.keys())})
        if self._fail:
            return _error(self._fail.pop(0), 20500, "Internal Server Error")
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
            return _error(400, 21619, "A text message body or media urls must be specified.")
        magic = MAGIC.get(str(to)) or MAGIC.get(str(to).removeprefix("whatsapp:"))
        if magic and not (to in MAGIC and str(to).startswith("whatsapp:") and form.get("ContentSid")):
            return _error(400, *magic)
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": str(len(form.getall("MediaUrl", []))),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "to": to,
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "content_sid": form.get("ContentSid"),
            "status_callback": form.get("StatusCallback"),
        }
        self.messages[sid] = resource
        return web.json_response(resource, status=201)

    async def _fetch(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        resource = self.messages.get(request.match_info["msid"])
        if resource is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.json_response(resource)

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        found = self.media.get(request.match_info["media_id"])
        if found is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.Response(body=found[0], content_type=found[1])

    async def start(self) -> None:
        app = web.Application()
        base = "/2010-04-01/Accounts/{sid}/Messages"
        app.router.add_post(base + ".json", self._create)
        app.router.add_get(base + "/{msid}.json", self._fetch)
        app.router.add_get(base + "/{msid}/Media/{media_id}", self._media)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Recordings/{rid}.mp3", self._recording)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
