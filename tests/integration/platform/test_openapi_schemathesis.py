"""schemathesis against the running hub (a real ``python -m hub serve`` process on FerretDB):
every operation of /api/v1/openapi.json, a bounded number of generated examples each, signed in
with an admin API key. Checks: no 5xx, status codes, content types and bodies match the schema."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from hub.auth import ApiKeys
from hub.models import Role, new_id
from hub.platform.secrets import SecretBox
from hub.store import Store, free_port

# What the issue asks: no 5xx, and every response (status, content type, headers, body) as
# documented. Not positive_data_acceptance: a schema-valid request may still break a business rule
# (unknown id, status transition) and a 4xx is then the right answer.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("BERRY_SCHEMATHESIS_EXAMPLES", "2"))
# Known mismatches in other packages, reported to their owners (remove when fixed):
KNOWN: set[str] = set()


@dataclass
class LiveHub:
    url: str
    db: str
    key: str = ""


@pytest.fixture(scope="module")
def live_hub_process(mongodb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    port = free_port()
    db = f"t_st_{new_id()}"
    env = {
        **os.environ,
        "BERRY_MONGODB_URL": mongodb_url,
        "BERRY_MONGODB_DB": db,
        "BERRY_PORT": str(port),
        "BERRY_HOST": "127.0.0.1",
        "BERRY_BOT_ENGINE": "off",
        "BERRY_INLINE_WORKER": "false",
        "BERRY_VAR_DIR": str(tmp_path_factory.mktemp("live-hub")),
        "BERRY_SECRET_KEYS": SecretBox.new_key(),
        "BERRY_RATELIMIT_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    log = tmp_path_factory.mktemp("live-hub-log") / "hub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[3],
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"hub exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("hub did not start")
    yield LiveHub(url, db)
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
async def live_hub(live_hub_process: LiveHub, mongodb_url: str) -> AsyncIterator[LiveHub]:
    store = Store.connect(mongodb_url, live_hub_process.db)
    _, live_hub_process.key = await ApiKeys(store).create("schemathesis", Role.admin, None)
    yield live_hub_process
    await store.client.drop_database(live_hub_process.db)
    await store.close()


def test_api_conforms_to_its_openapi(live_hub: LiveHub) -> None:
    """Each operation gets its own hypothesis run; failures are collected so one report lists all."""
    schema = schemathesis.openapi.from_url(live_hub.url + "/api/v1/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if f"{operation.method.upper()} {operation.path}" in KNOWN:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case: Any) -> None:
            case.call_and_validate(headers={"X-Api-Key": live_hub.key}, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported below
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
