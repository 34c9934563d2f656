"""One node polls a mailbox at a time (the holder of its lease), against the real dovecot: a
standby shows who polls, takes over when the holder dies (after the lease) or stops (at once),
and no mail is ingested twice or lost on the way."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from channels.email.mailbox import MailboxConfig, MailboxSupervisor
from channels.lease import EXPIRED, Lease
from hub import keys
from hub.models import utcnow
from tests.conftest import until

from .mailservers import PASSWORD, Dovecot
from .test_email import append, mail


async def test_one_node_polls_and_a_standby_takes_over(
    client: TestClient[Any, Any], dovecot: Dovecot
) -> None:
    app = client.server.app
    store, ingest = app[keys.STORE], app[keys.EXTENSIONS]["channels"].extra["ingest_mail"]
    user = dovecot.add_user()
    config = MailboxConfig(host="127.0.0.1", port=dovecot.port, user=user, password=PASSWORD)
    by_node: list[tuple[str, bytes]] = []

    def node(name: str) -> MailboxSupervisor:
        async def ingest_as(raw: bytes, size: int) -> None:
            by_node.append((name, raw))
            await ingest(raw, size)
        # a long lease would only slow the take-over below; renewals come often so a loaded
        # machine never lets a live holder's lease run out
        return MailboxSupervisor(
            store, ingest_as, poll_s=0.5, max_bytes=1 << 20, lease_s=6, renew_s=0.3, node=name
        )

    a, b, c = node("a"), node("b"), node("c")
    overlap: list[str] = []

    async def watch() -> None:  # at no moment do two nodes run a poller for the mailbox
        while True:
            if sum(n.poller is not None for n in (a, b, c)) > 1:
                overlap.append(",".join(n.node for n in (a, b, c) if n.poller is not None))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())

    async def stored(subject: str) -> bool:
        return await store.messages.count_documents({"subject": subject}) == 1

    try:
        await a.apply(config)
        await b.apply(config)
        assert a.status()["this_node"] is True and a.poller is not None
        standby = b.status()
        assert b.poller is None and standby["polling"] is True and standby["node"] == "a"
        assert standby["this_node"] is False
        await append(dovecot, user, mail(subject="First"))
        await until(lambda: stored("First"), 30, "node a to ingest the first mail")

        # a dies without a word (no release): b takes over once the lease has run out
        assert a._lead_task and a._task and a.poller
        a._lead_task.cancel()
        a.poller.stop()
        a._task.cancel()
        await asyncio.gather(a._lead_task, a._task, return_exceptions=True)
        a.poller = a._task = a._lead_task = None
        lease_id = f"imap:{user}@127.0.0.1:{dovecot.port}/INBOX"
        last = await store["leases"].find_one({"_id": lease_id})  # a's last renewal: nobody renews it now
        assert last["owner"] == "a" and last["term"] == 1
        await append(dovecot, user, mail(subject="While a was dead"))
        await until(lambda: stored("While a was dead"), 30, "node b to take over")
        assert utcnow() >= last["until"]  # b took over only once a's lease had run out
        lease = await store["leases"].find_one({"_id": lease_id})
        assert lease["owner"] == "b" and lease["term"] == 2 and b.status()["this_node"] is True

        # b stops gracefully: the lease is handed back at once, c needs no wait
        await c.apply(config)
        assert c.poller is None and c.status()["node"] == "b"
        await b.stop()
        lease = await store["leases"].find_one({"_id": lease["_id"]})
        assert lease["until"] == EXPIRED or lease["owner"] == "c"
        await append(dovecot, user, mail(subject="After b stopped"))
        await until(lambda: stored("After b stopped"), 30, "node c to take over")
        who = {subject: sorted({n for n, raw in by_node if subject.encode() in raw})
               for subject in ("First", "While a was dead", "After b stopped")}
        # b may fetch "First" again if a died between ingesting it and moving the UID cursor: ingest
        # is idempotent on Message-ID, so it is still stored once (counted below)
        assert who in ({"First": ["a"], "While a was dead": ["b"], "After b stopped": ["c"]},
                       {"First": ["a", "b"], "While a was dead": ["b"], "After b stopped": ["c"]}), who
        assert await store.messages.count_documents({"channel": "email"}) == 3
        assert overlap == []
    finally:
        watcher.cancel()
        for n in (a, b, c):
            await n.stop()


async def test_lease_takeover_has_one_winner_and_a_stalled_holder_steps_down(
    client: TestClient[Any, Any],
) -> None:
    from datetime import timedelta
    store = client.server.app[keys.STORE]
    holder = Lease(store, "imap:test", "old", timedelta(seconds=30))
    assert await holder.acquire({"polls": 3})
    assert await holder.acquire()  # renewing
    rivals = [Lease(store, "imap:test", f"n{i}", timedelta(seconds=30)) for i in range(8)]
    assert not any(await asyncio.gather(*(r.acquire() for r in rivals)))  # live: nobody takes it
    assert rivals[0].holder and rivals[0].holder.owner == "old"
    # the holder stalls past its lease: of eight concurrent takers exactly one wins
    await store["leases"].update_one(
        {"_id": "imap:test"}, {"$set": {"until": utcnow() - timedelta(seconds=1)}}
    )
    won = await asyncio.gather(*(r.acquire() for r in rivals))
    assert sum(won) == 1
    assert not await holder.acquire()  # the stalled holder finds the new owner and steps down
    doc = await store["leases"].find_one({"_id": "imap:test"})
    assert doc["term"] == 2 and doc["owner"] == rivals[won.index(True)].owner
    await holder.release()  # not the holder any more: changes nothing
    assert (await store["leases"].find_one({"_id": "imap:test"}))["until"] == doc["until"]
