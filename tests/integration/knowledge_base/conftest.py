"""Knowledge-base fixtures: the process's one MiniLM encoder, the fake Meilisearch, a backend of each kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from knowledge_base.search import Encoder, SearchBackend, shared_encoder
from knowledge_base.search.embedded import EmbeddedBackend
from knowledge_base.search.meili import MeilisearchBackend

from .fake_meilisearch import FakeMeilisearch


@pytest.fixture(scope="session")
async def encoder() -> Encoder:
    enc = shared_encoder()  # the same object create_app uses: the model loads once per session
    await enc.warm_up()
    return enc


@pytest.fixture
async def fake_meili() -> AsyncIterator[tuple[FakeMeilisearch, str]]:
    fake = FakeMeilisearch()
    server = TestServer(fake.app)
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture(params=["embedded", "meilisearch"])
async def backend(request: pytest.FixtureRequest, encoder: Encoder, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "embedded":
        yield EmbeddedBackend(tmp_path / "search", encoder)
        return
    fake = FakeMeilisearch()
    server = TestServer(fake.app)
    await server.start_server()
    b = MeilisearchBackend(str(server.make_url("")).rstrip("/"), "test-key", encoder)
    b.fake = fake  # type: ignore[attr-defined]
    yield b
    await b.close()
    await server.close()


def is_backend(obj: Any) -> bool:
    return isinstance(obj, SearchBackend)
