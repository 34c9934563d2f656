"""The issue's name for the knowledge-base search benchmark: runs bench/search.py."""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("search.py")), run_name="__main__")
