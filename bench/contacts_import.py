"""Contact CSV import throughput (``hub/contact_import.py``): rows/s for a file of new contacts, the
same file again (every row unchanged: the idempotent re-import), a dry run, and a file that updates
every contact (a new tag each), on the embedded FerretDB.

    python -P bench/contacts_import.py [--rows 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from hub.audit import Audit
from hub.contact_import import import_csv
from hub.contacts import Contacts
from hub.events import EventBus
from hub.store import EmbeddedFerretDB, Store


def make_csv(rows: int, tag: str) -> bytes:
    lines = ["name,type,email,phone,language,tags,custom.booking_ref"]
    for i in range(rows):
        lines.append(f"Contact {i},{'provider' if i % 5 == 0 else 'consumer'},c{i}@example.com,"
                     f"+2782{i:07d},en,{tag};imported,BK-{i}")
    return ("\n".join(lines) + "\n").encode()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    server = EmbeddedFerretDB(Path(tempfile.mkdtemp(prefix="bench-import-")))
    server.start()
    try:
        store = Store.connect(server.url, "bench")
        await store.ensure_indexes()
        contacts, audit = Contacts(store, EventBus()), Audit(store)
        out: dict[str, Any] = {"bench": "contacts_import", "date": date.today().isoformat(),
                               "rows": args.rows, "load_before": round(os.getloadavg()[0], 1)}
        for name, data, dry in (("create", make_csv(args.rows, "a"), False),
                                ("reimport_unchanged", make_csv(args.rows, "a"), False),
                                ("dry_run", make_csv(args.rows, "b"), True),
                                ("update_new_tag", make_csv(args.rows, "b"), False)):
            started = time.perf_counter()
            report = await import_csv(contacts, audit, data, actor="system:bench", dry_run=dry)
            elapsed = time.perf_counter() - started
            out[name] = {"seconds": round(elapsed, 2), "rows_per_s": round(args.rows / elapsed, 1),
                         **report.model_dump(include={"created", "updated", "unchanged", "errors"})}
        out["contacts"] = await store.contacts.count_documents({})
        out["identities"] = await store.identities.count_documents({})
        out["load_after"] = round(os.getloadavg()[0], 1)
        await store.close()
        return out
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    print(json.dumps(asyncio.run(main(parser.parse_args()))), flush=True)
