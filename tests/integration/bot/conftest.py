"""Bot fixtures: the project's embedded classifier (trained once, cached by a hash of the data under
$BERRY_CACHE_DIR/bot-models), a small real knowledge base, and the whole hub app with the bot on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub import keys
from hub.app import create_app
from hub.models import Channel, IdentityKind, InboundMessage, SenderIdentity, new_id
from hub.settings import Settings
from tests.conftest import running

from .kb import TinyKB


def whatsapp(text: str, phone: str = "+27821234567", external_id: str | None = None) -> InboundMessage:
    """An inbound WhatsApp message as the Twilio adapter normalizes one."""
    return InboundMessage(channel=Channel.whatsapp, external_id=external_id or new_id(),
                          sender=SenderIdentity(kind=IdentityKind.whatsapp, value=phone), text=text)


@pytest.fixture(scope="session")
def classifier() -> Any:
    from bot import factory
    from bot.settings import BotSettings

    # the classifier the app uses (trained here first, so the app never starts on the fallback)
    return factory.project_classifier(Settings(_env_file=None).cache_dir, factory.DATA,  # type: ignore[call-arg]
                                      BotSettings(_env_file=None).tune_epochs)  # type: ignore[call-arg]


@pytest.fixture
def kb() -> TinyKB:
    return TinyKB()


ALL_DAY = "Mon-Sun 00:00-24:00"  # the inboxes' support hours: tests that want "after hours" set their own


@pytest.fixture
async def bot_client(settings: Settings, classifier: Any, kb: TinyKB,
                     tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(settings.model_copy(update={"bot_engine": "embedded", "voice_business_hours": ALL_DAY}))
    async with running(app) as client:  # bounded shutdown: a stuck cleanup is reported
        app[keys.EXTENSIONS]["knowledge_base"] = kb
        yield client
        await app[keys.BUS].drain()


# The real Rasa stack, registered here once so every module shares one session instance.
from .rasa_fixtures import rasa_model, rasa_stack  # noqa: E402, F401
