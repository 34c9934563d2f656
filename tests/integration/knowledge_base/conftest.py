"""Knowledge-base fixtures: the process's one MiniLM encoder, the fake Meilisearch, a backend of each kind."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from hub.models import new_id
from knowledge_base.search import Encoder, shared_encoder
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
    real = os.environ.get("BERRY_TEST_MEILISEARCH_URL")  # run the same suite against a real server
    if real:
        b = MeilisearchBackend(
            real, os.environ.get("BERRY_TEST_MEILISEARCH_KEY"), encoder, index_uid=f"contract_{new_id()}"
        )
        yield b
        await b.clear()
        await b.close()
        return
    fake = FakeMeilisearch()
    server = TestServer(fake.app)
    await server.start_server()
    b = MeilisearchBackend(str(server.make_url("")).rstrip("/"), "test-key", encoder)
    yield b
    await b.close()
    await server.close()
