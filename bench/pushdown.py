"""Filter and sort pushdown: two FerretDB builds side by side, same data, one run.

The inbox's views, a conversation's thread and a contact's history are equality filters; the
inbox's pages are sorted newest-first and continued with a keyset cursor (hub/api/pages.py).
Stock FerretDB v1.24 (and berry1, which only fixed `_id` look-ups) decodes every document in Go
for each of them; berry2 pushes top-level string equality and `$in` down to SQLite; berry3 also
pushes the sort (and a page's range on the sort key) down, so SQLite walks an index in order and
FerretDB stops after the page; berry5 pushes `{field: null}` down (unassigned tickets). Both
servers get the same documents and indexes
(``Store.ensure_indexes``); queries alternate between them so the shared machine's load hits both
alike. Prints JSON (medians in ms and baseline/candidate ratios), and the writes' cost (one
conversation inserted, then updated by `_id`, on both, interleaved: the indexes' maintenance).

    python -P bench/pushdown.py [--conversations 100000] [--messages 300000] [--rounds 5]
        [--baseline ~/.cache/berry/bin/ferretdb-v1.24.2-berry2]
        [--candidate <ours: hub.store.embedded.PATCH_LEVEL>]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hub.app  # noqa: F401  (registers the hub's collections and indexes)
import hub.ticketing  # noqa: F401
from hub.api import pages
from hub.api.schemas import CONVERSATION_SORTS
from hub.store import EmbeddedFerretDB, Store
from hub.store.embedded import PATCH_LEVEL

STATUSES = ["open"] * 5 + ["pending"] * 3 + ["resolved"] * 40 + ["closed"] * 52


def start(binary: Path | None) -> EmbeddedFerretDB:
    server = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-pushdown-")), binary=binary)
    server.start()
    return server


async def load(store: Store, n_conv: int, n_msg: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    convs = [{"_id": f"c{i:07d}", "number": i + 1, "contact_id": f"ct{rng.randrange(n_conv // 5):06d}",
              "channel": rng.choice(["sms", "whatsapp", "email", "webchat", "voice"]),
              "status": rng.choice(STATUSES), "priority": "normal", "team_id": f"team{rng.randrange(8)}",
              "assignee_id": None if rng.random() < 0.3 else f"agent{rng.randrange(40)}",
              "tags": rng.sample(["vip", "refund", "venue", "late"], 1),
              "subject": "Booking question", "last_message_at": t0 + timedelta(minutes=i),
              "created_at": t0 + timedelta(minutes=i)} for i in range(n_conv)]
    for i in range(0, n_conv, 5000):
        await store.conversations.insert_many(convs[i:i + 5000], ordered=False)
    msgs = ({"_id": f"m{i:08d}", "conversation_id": f"c{rng.randrange(n_conv):07d}", "contact_id": "x",
             "direction": "in", "text": "Is the venue still available on Saturday?",
             "created_at": t0 + timedelta(seconds=i)} for i in range(n_msg))
    batch: list[dict] = []
    for m in msgs:
        batch.append(m)
        if len(batch) == 5000:
            await store.messages.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await store.messages.insert_many(batch, ordered=False)


def queries(n_conv: int) -> dict:
    rng = random.Random(11)
    cid = f"c{rng.randrange(n_conv):07d}"
    newest = [("last_message_at", -1), ("_id", -1)]
    return {
        "thread_100": ("messages", {"conversation_id": cid}, [("created_at", 1), ("_id", 1)], 100),
        "inbox_open_50": ("conversations", {"status": "open"}, newest, 50),
        "team_active_50": (
            "conversations",
            {"team_id": "team3", "status": {"$in": ["open", "pending"]}},
            newest,
            50,
        ),
        "contact_history": (
            "conversations",
            {"contact_id": f"ct{rng.randrange(n_conv // 5):06d}"},
            newest,
            50,
        ),
        "id_and_status": ("conversations", {"_id": cid, "status": "open"}, None, 1),
        # berry5: `{assignee_id: null}`, the console's Unassigned view and GET /queue (oldest first)
        "unassigned_300": ("conversations", {"assignee_id": None}, newest, 300),
        "queue_100": (
            "conversations",
            {"assignee_id": None, "status": "open"},
            [("created_at", 1), ("_id", 1)],
            100,
        ),
        "all_newest_50": ("conversations", {}, newest, 50),
        # hub/api/pages.py: the 10th page of 50 (keyset cursor), the inbox's and the unfiltered list's
        "inbox_open_page10": ("page", {"status": "open"}, 10, 50),
        "all_page10": ("page", {}, 10, 50),
    }


async def cursor_before(store: Store, flt: dict, page: int, limit: int) -> str | None:
    cursor = None
    for _ in range(page - 1):
        _, cursor = await pages.fetch(store.conversations, flt, pages.PageQuery(limit=limit, cursor=cursor),
                                      CONVERSATION_SORTS)
    return cursor


async def timed(store: Store, spec: tuple, cursors: dict) -> float:
    col, flt, sort, limit = spec
    t = time.perf_counter()
    if col == "page":
        query = pages.PageQuery(limit=limit, cursor=cursors[json.dumps(flt)])
        await pages.fetch(store.conversations, flt, query, CONVERSATION_SORTS)
        return (time.perf_counter() - t) * 1000
    cur = store[col].find(flt)
    if sort:
        cur = cur.sort(sort)
    _ = [d async for d in cur.limit(limit)]
    return (time.perf_counter() - t) * 1000


async def writes(stores: dict[str, Store], names: dict[str, str], rounds: int) -> dict:
    """The index maintenance cost: the same inserts and updates on both, interleaved."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    res: dict[str, dict[str, list[float]]] = {k: {"insert_1": [], "update_1": []} for k in stores}
    for r in range(rounds * 40):
        doc = {"_id": f"w{r:07d}", "number": 10**9 + r, "contact_id": f"ct{r:06d}", "channel": "sms",
               "status": "open", "priority": "normal", "team_id": "team1", "assignee_id": None, "tags": [],
               "subject": "Booking question", "last_message_at": t0, "created_at": t0}
        for name, store in (stores.items() if r % 2 == 0 else reversed(stores.items())):
            t = time.perf_counter()
            await store.conversations.insert_one(dict(doc))
            res[name]["insert_1"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await store.conversations.update_one({"_id": doc["_id"]}, {"$set": {
                "status": "pending", "last_message_at": t0 + timedelta(seconds=r)}})
            res[name]["update_1"].append((time.perf_counter() - t) * 1000)
    return {names[k]: {q: round(statistics.median(v), 2) for q, v in qs.items()} for k, qs in res.items()}


async def main(args: argparse.Namespace) -> dict:
    # exempt from ASYNC240 below: path-string handling at start-up, before any server runs
    candidate = Path(args.candidate).expanduser() if args.candidate else None  # noqa: ASYNC240
    names = {"baseline": Path(args.baseline).name.rsplit("-", 1)[-1],
             "candidate": candidate.name.rsplit("-", 1)[-1] if candidate else PATCH_LEVEL}
    servers = {"baseline": start(Path(args.baseline).expanduser()),  # noqa: ASYNC240  start-up, as above
               "candidate": start(candidate)}
    stores = {k: Store.connect(server.url, "bench") for k, server in servers.items()}
    try:
        for name, store in stores.items():
            t = time.perf_counter()
            await store.ensure_indexes()
            await load(store, args.conversations, args.messages)
            print(f"{names[name]}: loaded in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        specs = queries(args.conversations)
        # same data, so the same cursors; made once (with the candidate, the faster)
        cursors = {json.dumps(flt): await cursor_before(stores["candidate"], flt, page, limit)
                   for col, flt, page, limit in specs.values() if col == "page"}
        results: dict[str, dict[str, list[float]]] = {k: {q: [] for q in specs} for k in stores}
        for r in range(args.rounds):
            for q, spec in specs.items():
                for name, store in (stores.items() if r % 2 == 0 else reversed(stores.items())):
                    results[name][q].append(await timed(store, spec, cursors))
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        med = {
            names[k]: {q: round(statistics.median(v), 2) for q, v in qs.items()} for k, qs in results.items()
        }
        base, cand = names["baseline"], names["candidate"]
        written = await writes(stores, names, args.rounds)
        return {"bench": "pushdown", "date": datetime.now(UTC).date().isoformat(),
                "conversations": args.conversations, "messages": args.messages, "rounds": args.rounds,
                "loadavg": os.getloadavg()[0], "median_ms": med,
                f"{base}_over_{cand}": {q: round(med[base][q] / max(med[cand][q], 0.01), 1) for q in specs},
                "writes_median_ms": written}
    finally:
        for s in stores.values():
            await s.close()
        for server in servers.values():
            server.stop()
            server.remove_data()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=str(Path.home() / ".cache/berry/bin/ferretdb-v1.24.2-berry2"))
    parser.add_argument("--candidate", default=None, help="another build (default: ours, built if missing)")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
