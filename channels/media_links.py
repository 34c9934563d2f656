"""Signed, expiring links to a stored file, for those who cannot sign in: Twilio fetching the media
of an outgoing MMS/WhatsApp message (``MediaUrl``), a web-chat visitor opening a file an agent
sent. ``GET /media/{blob_id}?e=<unix expiry>&s=<HMAC>``: the HMAC (SHA-256, key derived from the
JWT secret) covers the blob id and the expiry, so a link opens that one file until it expires and
nothing else; a forged, altered or expired link gets the same 404 as a missing file.

Per-channel media limits (what the provider documents) are here too, checked when an agent
attaches files and again when the adapter sends.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from hub import keys
from hub.models import Attachment, Channel, is_digits
from hub.platform.blobs import content_disposition

TWILIO_TTL_S = 24 * 3600  # Twilio fetches at send time; a day covers its retries
CHAT_TTL_S = 7 * 24 * 3600  # a visitor's history re-signs links each time it is shown
MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """What a channel's provider accepts in one message."""

    max_files: int
    max_total: int
    types: tuple[str, ...]  # exact types, or "prefix/" for a family
    per_type: tuple[tuple[str, int], ...] = ()  # (prefix, bytes): a tighter limit for a family

    def problem(self, files: list[Attachment]) -> str | None:
        """Why these files cannot go out on the channel (None: they can)."""
        if len(files) > self.max_files:
            return f"at most {self.max_files} file{'s' if self.max_files > 1 else ''} per message"
        if sum(f.size or 0 for f in files) > self.max_total:
            return f"files are limited to {self.max_total // MB} MB per message"
        for f in files:
            kind = (f.content_type or "").lower()
            if not any(kind == t or (t.endswith("/") and kind.startswith(t)) for t in self.types):
                return f"{f.filename}: {kind or 'this type'} cannot be sent here"
            for prefix, limit in self.per_type:
                if kind.startswith(prefix) and (f.size or 0) > limit:
                    return f"{f.filename}: {prefix.rstrip('/')} files are limited to {limit // MB} MB"
        return None


# Twilio MMS: up to 10 media, 5 MB in all; JPEG/PNG/GIF are formatted for handsets, a few other
# types pass through (https://www.twilio.com/docs/messaging/guides/accepted-mime-types).
# WhatsApp through Twilio: one media per message, 16 MB, images at most 5 MB; images, audio,
# video, PDF (https://www.twilio.com/docs/whatsapp/guidance-whatsapp-media-messages).
LIMITS: dict[Channel, MediaLimits] = {
    Channel.sms: MediaLimits(
        10,
        5 * MB,
        ("image/jpeg", "image/png", "image/gif", "application/pdf", "text/vcard", "audio/mpeg", "video/mp4"),
    ),
    Channel.whatsapp: MediaLimits(
        1,
        16 * MB,
        (
            "image/jpeg",
            "image/png",
            "audio/mpeg",
            "audio/ogg",
            "audio/amr",
            "audio/mp4",
            "video/mp4",
            "application/pdf",
        ),
        per_type=(("image/", 5 * MB),),
    ),
    Channel.webchat: MediaLimits(5, 10 * MB, ("image/", "application/pdf", "text/plain", "audio/", "video/")),
}


class MediaLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self.key = hashlib.sha256(b"berry-media-links:" + secret.encode()).digest()
        self.base_url = base_url.rstrip("/")

    def _sig(self, blob_id: str, expires: int) -> str:
        return hmac.new(self.key, f"{blob_id}.{expires}".encode(), hashlib.sha256).hexdigest()[:40]

    def url(self, blob_id: str, ttl_s: int, now: float | None = None) -> str:
        expires = int((now or time.time()) + ttl_s)
        return f"{self.base_url}/media/{quote(blob_id, safe='')}?e={expires}&s={self._sig(blob_id, expires)}"

    def valid(self, blob_id: str, expires: str, sig: str, now: float | None = None) -> bool:
        if not is_digits(expires) or len(expires) > 12 or len(sig) != 40:
            return False
        if int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(self._sig(blob_id, int(expires)), sig)

    def signed(self, attachment: Attachment, ttl_s: int) -> Attachment:
        """The attachment with a link that opens without signing in (files stored by the hub)."""
        if not attachment.blob_id:
            return attachment
        return attachment.model_copy(update={"url": self.url(attachment.blob_id, ttl_s)})


async def serve(request: web.Request) -> web.StreamResponse:
    services = request.app[keys.EXTENSIONS]["channels"]
    blob_id = request.match_info["blob_id"]
    if not services.media_links.valid(blob_id, request.query.get("e", ""), request.query.get("s", "")):
        raise web.HTTPNotFound(text="no such file")
    found = await services.blobs.get(blob_id)
    if found is None:
        raise web.HTTPNotFound(text="no such file")
    data, meta = found
    return web.Response(
        body=data,
        content_type=meta.get("content_type") or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(str(meta.get("filename") or "file")),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
        },
    )


def install(app: web.Application) -> None:
    app.router.add_get("/media/{blob_id}", serve)


__all__ = ["CHAT_TTL_S", "LIMITS", "MediaLimits", "MediaLinks", "TWILIO_TTL_S", "install"]
