"""MongoDB store (PyMongo async API), collection declarations and the embedded FerretDB server."""

from .collections import ASC, DESC, COLLECTIONS, Index, ix, register
from .db import Doc, Store
from .embedded import EmbeddedFerretDB, free_port

__all__ = ["ASC", "COLLECTIONS", "DESC", "Doc", "EmbeddedFerretDB", "Index", "Store", "free_port", "ix", "register"]
