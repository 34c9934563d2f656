"""Session fixtures for the real Rasa stack: the project's model (trained once per training-file
hash, cached in $BERRY_CACHE_DIR/rasa-models), one hub app on a real port with an API key, the
action server (``rasa run actions``) calling that hub, and ``rasa run --enable-api``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import rasa_runtime
from hub import keys
from hub.app import create_app
from hub.models import Role, new_id
from hub.settings import Settings
from hub.store import free_ports
from tests.conftest import running

from .kb import TinyKB


@dataclass
class RasaStack:
    client: TestClient[Any, Any]
    rasa_url: str
    kb: TinyKB
    actions_url: str  # the action server's webhook


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    if not rasa_runtime.available():
        pytest.fail(f"no Rasa venv at {rasa_runtime.venv()}: run scripts/setup.d/50-rasa.sh")
    model, _ = rasa_runtime.train_project()
    return model


@pytest.fixture(scope="session")
async def rasa_stack(rasa_model: Path, mongodb_url: str, tmp_path_factory: pytest.TempPathFactory,
                     ) -> AsyncIterator[RasaStack]:
    work = tmp_path_factory.mktemp("rasa")
    rasa_port, hub_port, actions_port = free_ports(3)
    settings = Settings(mongodb_url=mongodb_url, mongodb_db=f"t_rasa_{new_id()}", var_dir=work / "var",
                        bot_engine="rasa", rasa_url=f"http://127.0.0.1:{rasa_port}", inline_worker=False,
                        voice_business_hours="Mon-Sun 00:00-24:00", _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    kb = TinyKB()
    async with running(app, port=hub_port) as client:  # bounded shutdown: a stuck cleanup is reported
        app[keys.EXTENSIONS]["knowledge_base"] = kb
        _, api_key = await app[keys.API_KEYS].create("rasa actions", Role.agent, None)
        actions = rasa_runtime.action_server(actions_port, work, f"http://127.0.0.1:{hub_port}", api_key)
        rasa = rasa_runtime.rasa_server(rasa_model, rasa_port, work, f"http://127.0.0.1:{actions_port}/webhook")
        actions.start(timeout=300)
        try:
            rasa.start(timeout=400)
            try:
                yield RasaStack(client, settings.rasa_url, kb, f"http://127.0.0.1:{actions_port}/webhook")
            finally:
                rasa.stop()
        finally:
            actions.stop()
            await app[keys.BUS].drain()
