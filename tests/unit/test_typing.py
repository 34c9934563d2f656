"""The packages type-check: mypy (pinned in constraints.txt, configured in pyproject.toml) reports no
error. It was at 41 for many sessions because nothing ran it; this keeps it at 0 (~70 s cold)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["hub", "bot", "agent_console", "knowledge_base", "channels"]


def test_mypy_finds_no_error() -> None:
    cache = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry")) / "mypy"
    run = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), *PACKAGES],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
