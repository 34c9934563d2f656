"""The embedded MongoDB-compatible server: FerretDB v1 on SQLite, built once and run as a child process.

Used by ``python -m hub serve`` when ``BERRY_MONGODB_URL`` is unset, and by the test fixtures.
"""

from __future__ import annotations

import asyncio
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
# scripts/ferretdb/<level>.patch: indexed `_id`, equality (and null) and sort pushdown, safe drops
PATCH_LEVEL = "berry5"
INDEX_LEVEL = "berry3"  # the last patch level that changed the SQL expressions indexes are built on


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: all held open until the last is taken (two sockets bound and closed
    one after the other get the same port about once in 8,000 tries here)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def ferretdb_binary(version: str = "v1.24.2", cache_dir: Path | None = None) -> Path:
    """Path of the cached FerretDB binary, building it with ``scripts/build-ferretdb`` if missing."""
    cache = cache_dir or Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry"))
    binary = cache / "bin" / f"ferretdb-{version}-{PATCH_LEVEL}"
    if binary.exists():
        return binary
    env = {**os.environ, "BERRY_CACHE_DIR": str(cache), "BERRY_FERRETDB_VERSION": version}
    out = subprocess.run(
        [str(ROOT / "scripts" / "build-ferretdb")], env=env, check=True, capture_output=True, text=True
    )
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
        self._started_at = 0.0  # monotonic time of the latest start
        self._log_start = 0  # where the latest start's lines begin in the (appended) log

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "ferretdb.log"

    def start(self, timeout: float = 30.0) -> None:
        binary = self.binary or ferretdb_binary(self.version, self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._started_at = time.monotonic()
        logf = self.log_path.open("ab")
        self._log_start = logf.tell()
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
        report = self.exit_report()
        self.stop()
        raise RuntimeError(f"FerretDB did not answer on port {self.port} within {timeout}s:\n{report}")

    def _ping(self) -> bool:
        client: MongoClient = MongoClient(self.url, serverSelectionTimeoutMS=1000)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def exit_report(self, size: int = 4000) -> str:
        """What the log of the latest start says about how the server ended: from just before its
        first fatal error or panic, else its last lines."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(self._log_start)
            text = f.read().decode(errors="replace")
        starts = [i for i in (text.find("fatal error"), text.find("panic:")) if i >= 0]
        return text[max(min(starts) - 1500, 0):min(starts) + size] if starts else text[-size:]

    async def supervise(self, every: float = 1.0, give_up_after: int = 5) -> None:
        """Start the server again (same port, same files) whenever it exits, until cancelled: the
        store's clients reconnect by themselves and SQLite's WAL keeps what was acknowledged.
        Gives up after ``give_up_after`` restarts in a row that each lasted under a minute."""
        quick = 0
        while True:
            await asyncio.sleep(every)
            process = self.process
            if process is not None and process.poll() is None:
                continue
            lived = time.monotonic() - self._started_at
            quick = quick + 1 if lived < 60 else 0
            if process is not None:
                log.error("ferretdb exited", extra={"code": process.returncode, "lived_s": round(lived, 1),
                                                    "log": self.exit_report(2000)})
            if quick > give_up_after:
                log.critical("ferretdb keeps exiting; not restarted again", extra={"restarts": quick - 1})
                return
            try:
                await asyncio.to_thread(self.start)  # same port: the store's URL stays valid
            except (OSError, RuntimeError) as exc:  # start() stopped it again; the next round retries
                log.error("ferretdb restart failed", extra={"error": str(exc)[-2000:]})
            else:
                log.warning("ferretdb restarted", extra={"port": self.port})

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
