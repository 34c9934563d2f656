"""The ``twilio`` SDK's async client, optionally pointed at another base URL (a local stand-in in
tests), and the translation of Twilio REST errors into the outbox's send errors."""

from __future__ import annotations

import base64
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hub.outbox import PermanentSendError, SendError, TransientSendError

TWILIO_API = "https://api.twilio.com"

# Twilio error codes the agent should read in plain words (https://www.twilio.com/docs/api/errors).
KNOWN_ERRORS: dict[int, str] = {
    21211: "invalid 'To' phone number",
    21408: "sending to this region is not enabled on the Twilio account",
    21610: "the recipient has unsubscribed (replied STOP); they must text START to receive messages again",
    21614: "the number cannot receive SMS (not a mobile number)",
    21617: "the text is longer than Twilio's 1,600-character limit: shorten it or send it in parts",
    63016: "outside the WhatsApp 24-hour window: only an approved template can be sent",
    63018: "WhatsApp rate limit exceeded",
    30003: "unreachable destination handset",
    30004: "message blocked by the carrier or the recipient",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "message filtered by the carrier as spam",
    30008: "unknown delivery error",
}


class RebasedHttpClient(AsyncTwilioHttpClient):
    """Sends the SDK's requests to ``base`` instead of https://api.twilio.com (tests, proxies)."""

    def __init__(self, base: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109  twilio's HttpClient.request signature
                      allow_redirects: bool = False) -> Response:
        if self.base and url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API):]
        if auth is not None:  # aiohttp >= 3.14 deprecates BasicAuth objects: send the header itself
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, url, params, data, headers, None, timeout, allow_redirects)


def make_client(account_sid: str, auth_token: str, api_base: str = "") -> Client:
    return Client(account_sid, auth_token, http_client=RebasedHttpClient(api_base))


def describe_code(code: int | str | None, fallback: str = "") -> str:
    try:
        return KNOWN_ERRORS.get(int(code or 0), fallback or f"Twilio error {code}")
    except ValueError:
        return fallback or f"Twilio error {code}"


def translate(exc: TwilioRestException) -> SendError:
    """Twilio's 4xx are permanent (the same request fails again); 429 and 5xx are worth a retry."""
    detail = describe_code(exc.code, str(exc.msg or "Twilio refused the message"))
    if exc.status == 429 or exc.status >= 500:
        return TransientSendError(f"Twilio is unavailable ({exc.status}): {exc.msg}", code=exc.code)
    return PermanentSendError(detail, code=exc.code)
