"""Every collection the hub uses, with its indexes, declared next to its name.

Other packages add their own collections with ``register()`` at import time, so ``ensure_indexes``
creates every index at start-up (idempotently). Only index kinds FerretDB v1 implements are used:
single and compound, unique; uniqueness that matters for correctness is on ``_id``.

Bookkeeping that is useless after a while (claims, leases, idempotency records) declares
``expire=(time field, age)``: a TTL index on MongoDB, and ``Store.expire()`` (run hourly by the
retention job) on FerretDB, which has no TTL indexes. Documents without the field never expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

ASC, DESC = 1, -1


@dataclass(frozen=True)
class Index:
    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    @property
    def name(self) -> str:
        return "_".join(f"{k}_{d}" for k, d in self.keys)


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    indexes: tuple[Index, ...] = field(default_factory=tuple)
    expire: tuple[str, timedelta] | None = None  # (time field, age after which a document goes)


def ix(*keys: tuple[str, int], unique: bool = False) -> Index:
    return Index(tuple(keys), unique)


COLLECTIONS: dict[str, CollectionSpec] = {}


def register(name: str, *indexes: Index, expire: tuple[str, timedelta] | None = None) -> CollectionSpec:
    spec = CollectionSpec(name, tuple(indexes), expire)
    COLLECTIONS[name] = spec
    return spec


register("contacts", ix(("merged_into", ASC)), ix(("type", ASC), ("created_at", DESC)), ix(("name", ASC)))
register("identities", ix(("contact_id", ASC)),  # _id = normalized identity key
         ix(("kind", ASC), ("value", ASC)))  # contact search: a prefix of an address is a range on it
register(
    "conversations",
    ix(("number", ASC), unique=True),
    ix(("contact_id", ASC), ("channel", ASC), ("status", ASC)),
    # `_id` last: the inbox's pages sort by (last_message_at, _id), and the embedded FerretDB then walks
    # the index in that order (see scripts/build-ferretdb) instead of sorting every match
    ix(("status", ASC), ("last_message_at", DESC), ("_id", DESC)),
    ix(("assignee_id", ASC), ("status", ASC), ("last_message_at", DESC), ("_id", DESC)),
    ix(("team_id", ASC), ("status", ASC), ("last_message_at", DESC), ("_id", DESC)),
    ix(("channel", ASC), ("status", ASC), ("last_message_at", DESC), ("_id", DESC)),
    ix(("last_message_at", DESC), ("_id", DESC)),
    ix(("thread_key", ASC)),
)
register("messages", ix(("conversation_id", ASC), ("created_at", ASC), ("_id", ASC)), ix(("contact_id", ASC)),
         ix(("external_id", ASC)))
register("store_meta")  # _id = "indexes:<FerretDB patch level>": indexes rebuilt for that build
register("inbound_keys")  # _id = "<channel>:<provider message id>"
register("counters")  # _id = counter name; value = a hint of the last number
register("counter_claims")  # _id = "<counter>:<n>": who got number n (kept: numbers are never reissued)
register("turn_claims", expire=("at", timedelta(days=1)))  # same, for counters where only "next" matters
register("users", ix(("email", ASC), unique=True), ix(("role", ASC)))
register("api_keys", ix(("prefix", ASC), unique=True))
register("refresh_tokens", ix(("user_id", ASC)), ix(("family", ASC)))
register("audit_log", ix(("at", DESC)), ix(("target_type", ASC), ("target_id", ASC)), ix(("actor_id", ASC)))
register("dead_letters", ix(("created_at", DESC)), ix(("source", ASC)))
