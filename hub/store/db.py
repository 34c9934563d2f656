"""The store: one ``AsyncMongoClient`` and the database, with typed access to collections."""

from __future__ import annotations

import logging
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from hub.errors import StoreUnavailable

from .collections import COLLECTIONS

log = logging.getLogger(__name__)

Doc = dict[str, Any]


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], db_name: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[db_name]

    @classmethod
    def connect(cls, url: str, db_name: str, **kwargs: Any) -> Store:
        kwargs.setdefault("serverSelectionTimeoutMS", 5000)
        kwargs.setdefault("tz_aware", True)
        return cls(AsyncMongoClient(url, **kwargs), db_name)

    def __getitem__(self, name: str) -> AsyncCollection[Doc]:
        return self.db[name]

    # The foundation's collections, typed for editors; packages use store["name"] for their own.
    @property
    def contacts(self) -> AsyncCollection[Doc]:
        return self.db["contacts"]

    @property
    def identities(self) -> AsyncCollection[Doc]:
        return self.db["identities"]

    @property
    def conversations(self) -> AsyncCollection[Doc]:
        return self.db["conversations"]

    @property
    def messages(self) -> AsyncCollection[Doc]:
        return self.db["messages"]

    @property
    def inbound_keys(self) -> AsyncCollection[Doc]:
        return self.db["inbound_keys"]

    @property
    def users(self) -> AsyncCollection[Doc]:
        return self.db["users"]

    @property
    def api_keys(self) -> AsyncCollection[Doc]:
        return self.db["api_keys"]

    @property
    def audit_log(self) -> AsyncCollection[Doc]:
        return self.db["audit_log"]

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
            return True
        except PyMongoError:
            return False

    async def ensure_indexes(self) -> None:
        """Create every declared collection and index; safe to run on every start."""
        existing = set(await self.db.list_collection_names())
        for spec in COLLECTIONS.values():
            if spec.name not in existing:
                try:
                    await self.db.create_collection(spec.name)
                except OperationFailure as exc:  # created concurrently by another node
                    if exc.code != 48:
                        raise
            for index in spec.indexes:
                await self.db[spec.name].create_index(list(index.keys), name=index.name, unique=index.unique)

    async def next_number(self, counter: str) -> int:
        """Next value of a named counter (ticket numbers): one atomic upsert."""
        try:
            doc = await self.db["counters"].find_one_and_update(
                {"_id": counter}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER
            )
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
        assert doc is not None
        return int(doc["value"])

    async def close(self) -> None:
        await self.client.close()
