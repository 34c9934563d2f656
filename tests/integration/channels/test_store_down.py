"""Store outage during a Twilio webhook: 503 (Twilio retries when the URL has connection
overrides) and the verified payload is spooled; nothing is lost and nothing is stored twice,
whether Twilio retries or not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from aiohttp.test_utils import TestClient

from hub import keys
from hub.settings import Settings

from .conftest import post_signed, sms_form
from .tcpproxy import TcpProxy

SMS = "/webhooks/twilio/sms"


@pytest.fixture
async def proxy(mongodb_url: str) -> AsyncIterator[TcpProxy]:
    parsed = urlparse(mongodb_url)
    p = TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 27017)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
def settings(settings: Settings, proxy: TcpProxy, mongodb_url: str) -> Settings:
    parsed = urlparse(mongodb_url)
    url = mongodb_url.replace(parsed.netloc.split("@")[-1], f"127.0.0.1:{proxy.port}")
    return settings.model_copy(update={"mongodb_url": url})


def _spooled(client: TestClient[Any, Any]) -> list[Path]:
    return list(client.server.app[keys.EXTENSIONS]["channels"].spool.directory.glob("*.json"))


async def _wait_spool_empty(client: TestClient[Any, Any], timeout: float = 15) -> None:  # noqa: ASYNC109  polls
    for _ in range(int(timeout / 0.1)):
        if not _spooled(client):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("spool not drained")


async def test_store_down_then_twilio_retries(client: TestClient[Any, Any], proxy: TcpProxy) -> None:
    form = sms_form(Body="retried one")
    proxy.down()
    resp = await post_signed(client, SMS, form, fragment="rc=5&rp=all")
    assert resp.status == 503 and resp.headers["Retry-After"] == "5"
    assert len(_spooled(client)) == 1
    proxy.up()
    retry = await post_signed(client, SMS, form, fragment="rc=5&rp=all")
    assert retry.status == 200, await retry.text()
    await _wait_spool_empty(client)
    await asyncio.sleep(0.5)  # give the drainer a round with the retried copy gone
    store = client.server.app[keys.STORE]
    assert await store.messages.count_documents({"external_id": form["MessageSid"]}) == 1


async def test_store_down_and_never_retried_is_still_ingested(
    client: TestClient[Any, Any], proxy: TcpProxy
) -> None:
    form = sms_form(Body="never retried")
    proxy.down()
    resp = await post_signed(client, SMS, form)
    assert resp.status == 503
    proxy.up()
    await _wait_spool_empty(client)
    store = client.server.app[keys.STORE]
    docs = [d async for d in store.messages.find({})]
    assert [d["text"] for d in docs] == ["never retried"]
