"""Indexes made by another FerretDB patch level are rebuilt once (their SQL expressions differ)."""

from __future__ import annotations

from hub.store import Store
from hub.store.embedded import INDEX_LEVEL


async def _index_names(store: Store, collection: str) -> set[str]:
    return {ix["name"] async for ix in await store.db[collection].list_indexes()}


async def test_indexes_of_an_older_build_are_rebuilt_once(store: Store) -> None:
    declared = await _index_names(store, "conversations")
    assert "last_message_at_-1__id_-1" in declared
    assert await store.db.store_meta.count_documents({"_id": f"indexes:{INDEX_LEVEL}"}) == 1

    # a database last opened by an older build: its marker is another level's, and it carries an
    # index the declarations no longer have
    await store.db.store_meta.delete_many({})
    await store.db.store_meta.insert_one({"_id": "indexes:berry2"})
    await store.conversations.create_index([("last_message_at", -1)], name="last_message_at_-1")

    await store.ensure_indexes()
    assert await _index_names(store, "conversations") == declared
    assert await store.db.store_meta.count_documents({"_id": f"indexes:{INDEX_LEVEL}"}) == 1

    # same level again: nothing is dropped (an operator's own index stays)
    await store.conversations.create_index([("subject", 1)], name="ops_subject")
    await store.ensure_indexes()
    assert await _index_names(store, "conversations") == declared | {"ops_subject"}
