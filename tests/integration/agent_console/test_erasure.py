"""Erasure and the console forwarder's flush window: an event still waiting to be forwarded when
its contact is erased must not be logged after the erasure dropped the console log."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hub import keys
from hub.models import Role


async def _logged_text(client: Any) -> str:
    docs = [d async for d in client.server.app[keys.STORE]["console_events"].find({}, {"data": 1})]
    return json.dumps([d["data"] for d in docs], default=str)


async def test_an_event_waiting_in_the_window_is_not_logged_after_erasure(client, api, ingest) -> None:
    admin = await api.user(Role.admin)
    forwarder = client.server.app[keys.EXTENSIONS]["agent_console"]["forwarder"]
    first = await ingest("My ID number is 8001015009087", phone="+27821110001")
    contact_id = first["conversation"]["contact_id"]
    await forwarder.drain()
    assert "8001015009087" in await _logged_text(client)

    # The forwarder is held mid-window: the next events wait in it while the contact is erased.
    await forwarder.lock.acquire()
    try:
        await ingest("and my card ends 4242", phone="+27821110001")
        await ingest("Unrelated: is the hall free?", phone="+27821110002")
        erase = asyncio.create_task(
            client.post(
                f"/api/v1/contacts/{contact_id}/erase", headers=admin["headers"], json={"confirm": contact_id}
            )
        )
        deadline = asyncio.get_running_loop().time() + 30
        while not erase.done() and contact_id not in forwarder.erased:  # the erasure reached the console
            assert asyncio.get_running_loop().time() < deadline, "contact.erased never reached the forwarder"
            await asyncio.sleep(0.01)
    finally:
        forwarder.lock.release()
    resp = await erase
    assert resp.status == 200, await resp.text()
    await forwarder.drain()

    logged = await _logged_text(client)
    assert "4242" not in logged and "8001015009087" not in logged and contact_id not in logged
    assert "is the hall free?" in logged  # another contact's event in the same window is kept
    # later events about the erased contact's conversations are not logged either
    await client.server.app[keys.CONVERSATIONS].update(
        first["conversation"]["id"], {"priority": "high"}, (await _principal(client, admin))
    )
    await forwarder.drain()
    assert first["conversation"]["id"] not in await _logged_text(client)


async def _principal(client: Any, who: dict[str, Any]) -> Any:
    token = who["headers"]["Authorization"].split()[1]
    return client.server.app[keys.TOKENS].verify_access(token)
