"""The README's first command, as a real process: `python -m hub serve --demo` on the embedded
FerretDB it starts itself, demo data, a working sign-in, the API docs page, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import uvloop
from pydantic import ValidationError

from hub.cli import _loop_factory
from hub.settings import Settings
from hub.store import free_port

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str, data: dict | None = None) -> tuple[int, bytes]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_help_explains_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hub", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("serve", "worker", "migrate", "seed-demo", "create-user"):
        assert command in out


def test_serve_demo_on_embedded_ferretdb(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "BERRY_PORT": str(port), "BERRY_VAR_DIR": str(tmp_path / "var"),
           "BERRY_BOT_ENGINE": "off", "BERRY_LOG_LEVEL": "WARNING"}
    env.pop("BERRY_MONGODB_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--demo"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            time.sleep(0.3)
        else:
            raise AssertionError("hub did not become ready")
        status, body = _get(
            base + "/api/v1/auth/login", {"email": "admin@berry.events", "password": "berry-demo-2026"}
        )
        assert status == 200, body
        token = json.loads(body)["access_token"]
        req = urllib.request.Request(
            base + "/api/v1/conversations?limit=100", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            page = json.loads(resp.read())
        assert {c["channel"] for c in page["items"]} >= {"sms", "whatsapp", "email", "webchat", "voice"}
        status, html = _get(base + "/api/docs")
        assert status == 200 and b"swagger-ui" in html
        assert _get(base + "/api/docs/assets/swagger-ui-bundle.js")[0] == 200
        assert (tmp_path / "var" / "ferretdb").is_dir()
        assert "uvloop" in Path(f"/proc/{proc.pid}/maps").read_text()  # BERRY_EVENT_LOOP's default
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "admin@berry.events / berry-demo-2026" in out
    assert f"{base}/api/docs" in out


def test_the_event_loop_setting_chooses_the_loop() -> None:
    assert _loop_factory(Settings(_env_file=None, event_loop="asyncio")) is None
    with pytest.raises(ValidationError, match="event_loop"):  # a typo stops the start, clearly
        Settings(_env_file=None, event_loop="gevent")
    factory = _loop_factory(Settings(_env_file=None, event_loop="uvloop"))
    assert factory is uvloop.new_event_loop
    loop = factory()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop) and type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
