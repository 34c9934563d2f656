"""Upserts that race on one ``_id``: FerretDB answers E11000 where MongoDB retries; ``upsert`` absorbs it."""

from __future__ import annotations

import asyncio

from hub.store import Store, upsert


async def test_racing_upserts_of_one_document_all_land(store: Store) -> None:
    col = store["race"]
    # 8 bare ``update_one(..., upsert=True)`` at once, 5 rounds: 17 of 40 raised E11000 (measured)
    for round_ in range(5):
        await asyncio.gather(
            *(
                upsert(col, {"_id": f"safe{round_}"}, {"$set": {"n": i}, "$addToSet": {"by": i}})
                for i in range(8)
            )
        )
        doc = await col.find_one({"_id": f"safe{round_}"})
        assert doc is not None and doc["n"] in range(8) and doc["by"]  # one document, a writer's value
    await asyncio.gather(*(upsert(col, {"_id": "replaced"}, {"v": i}, replace=True) for i in range(8)))
    assert (await col.find_one({"_id": "replaced"}))["v"] in range(8)
    assert await col.count_documents({}) == 5 + 1
