"""FerretDB v1.24 on SQLite (the embedded default) beside FerretDB on PostgreSQL 15, in one run.

The question it answers: would the PostgreSQL backend fix the scans that miss the listing,
SLA-sweep and dashboard goals? FerretDB's PostgreSQL backend pushes top-level equality filters
down (``_jsonb->'f' @> value``) but not ``$in``, ranges or sorts, so a sorted listing still decodes
and sorts every match in FerretDB. Operations are interleaved between the two servers so the
shared machine's load hits both alike. Needs Debian's postgresql-15 and root (PostgreSQL is run as
the ``postgres`` user).

    python -P bench/backends.py [--docs 50000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from hub.store import EmbeddedFerretDB
from hub.store.embedded import ferretdb_binary, free_port  # the patched build (see scripts/build-ferretdb)

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresFerretDB:
    """PostgreSQL cluster in a temporary directory plus FerretDB on it."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.pg_port, self.port = free_port(), free_port()
        self.ferret: subprocess.Popen[bytes] | None = None

    def _pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    def start(self) -> str:
        shutil.chown(self.dir, "postgres")
        self._pg(str(PG_BIN / "initdb"), "-D", f"{self.dir}/data", "-U", "berry", "--auth=trust")
        self._pg(str(PG_BIN / "pg_ctl"), "-D", f"{self.dir}/data", "-l", f"{self.dir}/pg.log", "-w", "-o",
                 f"-p {self.pg_port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        self._pg(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "berry", "ferretdb"
        )
        self.ferret = subprocess.Popen(
            [str(ferretdb_binary()), "--handler=postgresql",
             f"--postgresql-url=postgres://berry@127.0.0.1:{self.pg_port}/ferretdb",
             f"--listen-addr=127.0.0.1:{self.port}", "--debug-addr=-", f"--state-dir={self.dir}",
             "--telemetry=disable", "--log-level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.ferret:
            self.ferret.terminate()
            self.ferret.wait()
        self._pg(str(PG_BIN / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def doc(i: int, rnd: random.Random) -> dict:
    return {
        "_id": f"conv{i}",
        "number": i,
        "status": rnd.choice(["open", "pending", "resolved", "resolved", "closed"]),
        "channel": rnd.choice(["sms", "whatsapp", "email", "webchat", "voice"]),
        "assignee_id": rnd.choice([f"agent{a}" for a in range(40)] + [None] * 10),
        "last_message_at": rnd.randint(0, 10**9),
        "subject": f"Booking question {i}",
    }


async def timed(op) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    await op()
    return (time.perf_counter() - t) * 1000


async def main(args: argparse.Namespace) -> dict:
    sqlite = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-sqlite-")))
    sqlite.start()
    pg = PostgresFerretDB()
    urls = {"sqlite": sqlite.url, "postgresql": pg.start()}
    cols = {name: AsyncMongoClient(url)["bench"]["conversations"] for name, url in urls.items()}
    ops = {
        "insert_one": lambda c, i: c.insert_one(doc(10**7 + i, random.Random(i))),
        "find_by_id": lambda c, i: c.find_one({"_id": f"conv{random.Random(i).randrange(args.docs)}"}),
        "filter_eq_status_open": lambda c, i: c.find({"status": "open", "channel": "sms"}).to_list(None),
        "list50_open_sorted": lambda c, i: (
            c.find({"status": "open"}).sort("last_message_at", -1).limit(50).to_list()
        ),
        "list50_all_sorted": lambda c, i: c.find({}).sort("last_message_at", -1).limit(50).to_list(),
    }
    results: dict[str, dict[str, list[float]]] = {name: {op: [] for op in ops} for name in cols}
    try:
        rnd = random.Random(7)
        docs = [doc(i, rnd) for i in range(args.docs)]
        for col in cols.values():
            for start in range(0, len(docs), 1000):
                await col.insert_many(docs[start:start + 1000])
        for r in range(args.rounds):
            for op_name, op in ops.items():
                repeat = 20 if op_name in ("insert_one", "find_by_id") else 1
                for name, col in cols.items():  # interleaved: both servers see the same load
                    for k in range(repeat):
                        # exempt from B023 below: the lambda runs inside timed(), awaited in this iteration
                        results[name][op_name].append(await timed(lambda: op(col, r * 100 + k)))  # noqa: B023
    finally:
        for col in cols.values():
            await col.database.client.close()
        sqlite.stop()
        sqlite.remove_data()
        pg.stop()
    medians = {
        name: {op: round(statistics.median(v), 2) for op, v in per.items()} for name, per in results.items()
    }
    return {
        "bench": "backends",
        "date": time.strftime("%Y-%m-%d"),
        "docs": args.docs,
        "rounds": args.rounds,
        "loadavg": os.getloadavg()[0],
        "median_ms": medians,
        "sqlite_over_postgresql": {
            op: round(medians["sqlite"][op] / medians["postgresql"][op], 2) for op in ops
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
