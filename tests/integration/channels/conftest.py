"""Channel fixtures: the Twilio stand-in server, settings pointing the hub at it (behind a
"reverse proxy" public URL), signed webhook posts, and running the outbox's jobs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from hub import keys
from hub.jobs import Worker
from hub.outbox import JOB_KIND
from hub.settings import Settings

from .standin import TwilioStandIn

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC = "https://support.berry.test"
SMS_FROM = "+27600000001"
WA_FROM = "+27600000002"
TEMPLATE_SID = "HX" + "a" * 32


@pytest.fixture(scope="session")
async def twilio_standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(mongodb_url: str, db_name: str, tmp_path: Path, twilio_standin: TwilioStandIn,
             smtp_sink: tuple[int, Any]) -> Settings:
    return Settings(  # type: ignore[call-arg]
        mongodb_url=mongodb_url,
        mongodb_db=db_name,
        var_dir=tmp_path / "var",
        bot_engine="off",
        inline_worker=False,
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio_standin.url,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WA_FROM,
        spool_retry_s=0.2,
        chat_identity_secret="host-site-secret",
        voice_business_hours="Mon-Sun 00:00-24:00",
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


def sign(url: str, params: dict[str, Any], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def sms_form(**overrides: Any) -> dict[str, str]:
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": "+27821234567",
            "To": SMS_FROM, "Body": "Is the venue still available on Saturday?", "NumMedia": "0",
            "FromCountry": "ZA"}
    form.update({k: str(v) for k, v in overrides.items()})
    return form


async def post_signed(
    client: TestClient[Any, Any],
    path: str,
    form: dict[str, str],
    *,
    signed_url: str | None = None,
    signature: str | None = None,
    fragment: str = "",
) -> Any:
    url = signed_url or PUBLIC + path + (f"#{fragment}" if fragment else "")
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature if signature is not None else sign(url, form)}
    return await client.post(path, data=urlencode(form), headers=headers)


async def run_jobs(client: TestClient[Any, Any], *, force_due: bool = True, all_kinds: bool = False) -> int:
    """Run every due job (outbox sends; with ``all_kinds`` the others too, e.g. CSAT surveys);
    ``force_due`` skips back-off waits."""
    app = client.server.app
    handlers = app[keys.JOB_HANDLERS]
    worker = Worker(app[keys.JOBS], dict(handlers) if all_kinds else {JOB_KIND: handlers[JOB_KIND]})
    ran = 0
    for _ in range(50):
        if force_due:
            await app[keys.STORE]["job_queue"].update_many({}, {"$set": {"next_at": _epoch()}})
        if not await worker.run_once():
            break
        ran += 1
    return ran


def _epoch() -> Any:
    from datetime import UTC, datetime
    return datetime(2000, 1, 1, tzinfo=UTC)


# --- mail servers -----------------------------------------------------------------------------
import asyncio  # noqa: E402

from aiosmtpd.smtp import SMTP  # noqa: E402

from .mailservers import Collector, Dovecot  # noqa: E402


@pytest.fixture(scope="session")
def dovecot() -> Any:
    import shutil
    import tempfile
    # dovecot's auth process runs as user "dovecot": pytest's 0700 tmp dirs are closed to it
    directory = Path(tempfile.mkdtemp(prefix="berry-dovecot-"))
    directory.chmod(0o755)
    server = Dovecot(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
async def smtp_sink() -> AsyncIterator[tuple[int, Collector]]:
    from hub.store import free_port
    collector = Collector()
    port = free_port()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(collector, hostname="sink"), "127.0.0.1", port
    )
    yield port, collector
    server.close()
    await server.wait_closed()
