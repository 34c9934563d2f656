"""MongoDB store (PyMongo async API), collection declarations and the embedded FerretDB server."""

from .collections import ASC, COLLECTIONS, DESC, Index, ix, register
from .db import Doc, Store, upsert
from .embedded import EmbeddedFerretDB, free_port, free_ports
from .open import open_store
from .snapshot import Snapshot

__all__ = ["ASC", "COLLECTIONS", "DESC", "Doc", "EmbeddedFerretDB", "Index", "Snapshot", "Store", "free_port",
           "free_ports", "ix", "open_store", "register", "upsert"]
