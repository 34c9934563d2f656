"""Real processes for the multi-node tests and the fan-out bench: a redis-server on a free port and
hub nodes started as ``python -m hub serve`` subprocesses sharing one store and that Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hub.store import free_port

ROOT = Path(__file__).resolve().parents[3]
JWT_SECRET = "multi-node-test-secret-multi-node-test-secret"


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server missing: run scripts/setup (scripts/setup.d/10-redis.sh)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _tcp_ok(self.port), 10, "redis-server")
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class HubNode:
    def __init__(self, name: str, workdir: Path, mongodb_url: str, db: str, redis_url: str | None,
                 profile: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.profile = profile  # cProfile output of the node (bench --profile), written on a clean exit
        self.port = free_port()
        self.workdir = workdir
        self.env = {
            **os.environ,
            "BERRY_HOST": "127.0.0.1",
            "BERRY_PORT": str(self.port),
            "BERRY_MONGODB_URL": mongodb_url,
            "BERRY_MONGODB_DB": db,
            "BERRY_VAR_DIR": str(workdir / "var"),
            "BERRY_BOT_ENGINE": "off",
            "BERRY_INLINE_WORKER": "false",
            "BERRY_JWT_SECRET": JWT_SECRET,
            "BERRY_LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
        }
        if redis_url:
            self.env["BERRY_REDIS_URL"] = redis_url
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubNode:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.workdir / f"{self.name}.log", "wb")  # noqa: SIM115 - closed in stop()
        prefix = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        self.proc = subprocess.Popen(
            [sys.executable, *prefix, "-m", "hub", "serve"],
            cwd=self.workdir,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait(lambda: self._ready(), 180, f"hub node {self.name}")
        return self

    def _ready(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError(
                f"hub node {self.name} exited: {(self.workdir / f'{self.name}.log').read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:  # a node warming a model in a thread can take long to exit; the tests need no more
                self.proc.wait(30 if self.profile else 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.log.close()


def _tcp_ok(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout}s")
