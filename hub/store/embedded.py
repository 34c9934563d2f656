"""The embedded MongoDB-compatible server: FerretDB v1 on SQLite, built once and run as a child process.

Used by ``python -m hub serve`` when ``BERRY_MONGODB_URL`` is unset, and by the test fixtures.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
PATCH_LEVEL = "berry4"  # scripts/ferretdb/<level>.patch: indexed `_id`, equality and sort pushdown, safe drops
INDEX_LEVEL = "berry3"  # the last patch level that changed the SQL expressions indexes are built on


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ferretdb_binary(version: str = "v1.24.2", cache_dir: Path | None = None) -> Path:
    """Path of the cached FerretDB binary, building it with ``scripts/build-ferretdb`` if missing."""
    cache = cache_dir or Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry"))
    binary = cache / "bin" / f"ferretdb-{version}-{PATCH_LEVEL}"
    if binary.exists():
        return binary
    env = {**os.environ, "BERRY_CACHE_DIR": str(cache), "BERRY_FERRETDB_VERSION": version}
    out = subprocess.run([str(ROOT / "scripts" / "build-ferretdb")], env=env, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


class EmbeddedFerretDB:
    """One FerretDB process listening on loopback, its SQLite files in ``data_dir``."""

    def __init__(self, data_dir: Path, *, port: int | None = None, version: str = "v1.24.2",
                 cache_dir: Path | None = None, binary: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary  # another build (benchmarks); default: ours, built if missing
        self.port = port or free_port()
        self.version = version
        self.cache_dir = cache_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "ferretdb.log"

    def start(self, timeout: float = 30.0) -> None:
        binary = self.binary or ferretdb_binary(self.version, self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logf = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(binary), "--handler=sqlite", f"--sqlite-url=file:{self.data_dir}/",
             f"--listen-addr=127.0.0.1:{self.port}", "--debug-addr=-", f"--state-dir={self.data_dir}",
             "--telemetry=disable", "--log-level=warn"],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if self._ping():
                    log.info("ferretdb started", extra={"port": self.port, "data_dir": str(self.data_dir)})
                    return
            except OSError:
                time.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        self.stop()
        raise RuntimeError(f"FerretDB did not answer on port {self.port} within {timeout}s:\n{tail}")

    def _ping(self) -> bool:
        client: MongoClient = MongoClient(self.url, serverSelectionTimeoutMS=1000)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
