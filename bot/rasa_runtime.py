"""Run Rasa from its own venv (see scripts/setup.d/50-rasa.sh): train a model cached by a hash of
its training files, start ``rasa run --enable-api`` and the action server as child processes.

The hub never imports Rasa; it only starts the processes and talks HTTP to them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parent / "rasa"


def cache_dir() -> Path:
    return Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry"))


def venv() -> Path:
    return Path(os.environ.get("BERRY_RASA_VENV", cache_dir() / "rasa-venv"))


def rasa_bin() -> Path:
    return venv() / "bin" / "rasa"


def available() -> bool:
    return rasa_bin().exists()


def env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}


def files_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.name).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def train(config: Path, data: list[Path], domain: Path | None = None, *, nlu_only: bool = False,
          out: Path | None = None, timeout: float = 3600) -> tuple[Path, float]:
    """Train (or reuse) a model; returns (model file, training seconds). A cached model comes with
    the seconds its training took (recorded beside it), so benchmarks can report them."""
    # rasa runs with cwd=out: every path must be absolute
    config, data = config.resolve(), [d.resolve() for d in data]
    domain = domain.resolve() if domain else None
    inputs = [config, *data] + ([domain] if domain else [])
    key = files_hash(inputs) + ("-nlu" if nlu_only else "")
    out = out or cache_dir() / "rasa-models"
    model = out / f"{key}.tar.gz"
    record = out / f"{key}.json"
    if model.exists():
        seconds = json.loads(record.read_text())["train_seconds"] if record.exists() else 0.0
        return model, seconds
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(rasa_bin()), "train", *(["nlu"] if nlu_only else []), "--config", str(config),
           "--out", str(out), "--fixed-model-name", key]
    for d in data:
        cmd += ["--nlu" if nlu_only else "--data", str(d)]
    if domain is not None:
        cmd += ["--domain", str(domain)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout, cwd=out)
    took = time.perf_counter() - started
    if proc.returncode != 0 or not model.exists():
        raise RuntimeError(f"rasa train failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    record.write_text(json.dumps({"train_seconds": round(took, 1), "cmd": cmd}))
    return model, took


def train_project() -> tuple[Path, float]:
    return train(PROJECT / "config.yml", [PROJECT / "data"], PROJECT / "domain.yml")


@dataclass
class Process:
    cmd: list[str]
    ready_url: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> None:
        logf = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.cmd, env={**env(), **self.extra_env}, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{' '.join(self.cmd)} exited {self.proc.returncode}:\n"
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"{' '.join(self.cmd)} not ready after {timeout}s:\n"
                           f"{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def rasa_server(model: Path, port: int, workdir: Path, actions_url: str | None = None) -> Process:
    cmd = [str(rasa_bin()), "run", "--enable-api", "--port", str(port), "-m", str(model),
           "--credentials", str(PROJECT / "credentials.yml")]
    if actions_url:
        # Rasa 3.6 does not expand ${VAR} in endpoints.yml's action_endpoint URL: write the real one
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(f'action_endpoint:\n  url: "{actions_url}"\n')
        cmd += ["--endpoints", str(endpoints)]
    return Process(cmd, f"http://127.0.0.1:{port}/version", workdir / "rasa.log", {}, cwd=workdir)


def action_server(port: int, workdir: Path, hub_url: str, api_key: str) -> Process:
    """``rasa run actions`` with the project's actions package; it reaches the hub over HTTP only."""
    cmd = [str(rasa_bin()), "run", "actions", "--port", str(port), "--actions", "actions"]
    extra = {"BERRY_HUB_URL": hub_url, "BERRY_HUB_API_KEY": api_key, "PYTHONPATH": str(PROJECT)}
    return Process(cmd, f"http://127.0.0.1:{port}/health", workdir / "actions.log", extra, cwd=PROJECT)
