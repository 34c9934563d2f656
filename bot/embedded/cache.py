"""The bot's model cache on disk: what is kept when new models arrive."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def prune(
    directory: Path, pattern: str, *, keep: int, current: Path, stale_tmp: float = 3600.0
) -> list[Path]:
    """Delete all but the ``keep`` most recently used files matching ``pattern`` (``current``
    always stays; users ``os.utime`` what they load), and leftovers of crashed writers
    (``<name>.*.tmp`` older than ``stale_tmp`` seconds). Each retraining writes new files; without
    this every one stayed forever. Deleting a file another process still uses is harmless: it
    was read when loaded, and what is missing is rebuilt."""
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # another process pruned it first
            return 0.0

    kept = sorted((p for p in directory.glob(pattern) if p != current), key=mtime, reverse=True)
    old = kept[max(0, keep - 1):]
    old += [p for p in directory.glob(f"{pattern}.*.tmp") if time.time() - mtime(p) > stale_tmp]
    for path in old:
        path.unlink(missing_ok=True)
    if old:
        log.info("pruned the bot's model cache", extra={"removed": [p.name for p in old]})
    return old
