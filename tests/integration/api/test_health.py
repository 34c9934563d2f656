"""Health, readiness, metrics, request ids and JSON logs; the store going away gives 503s, not 500s."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hub.app import create_app
from hub.logs import JsonFormatter, request_id_var
from hub.models import Role
from hub.settings import Settings
from hub.store import EmbeddedFerretDB

from ...conftest import Api, running


async def test_health_metrics_and_request_id(api: Api) -> None:
    assert (await api.client.get("/healthz")).status == 200
    ready = await api.client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["store"] is True
    resp = await api.client.get("/api/v1/conversations", headers={"X-Request-Id": "req-123"})
    assert resp.headers["X-Request-Id"] == "req-123"
    assert (await api.client.get("/api/v1/conversations")).headers["X-Request-Id"]  # generated when absent
    metrics = await (await api.client.get("/metrics")).text()
    assert 'berry_http_requests_total{method="GET",route="/api/v1/conversations",status="401"}' in metrics


def test_json_log_lines_carry_the_request_id() -> None:
    token = request_id_var.set("abc")
    try:
        record = logging.LogRecord("hub.test", logging.INFO, __file__, 1, "stored %s", ("x",), None)
        record.conversation_id = "c1"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "stored x" and line["request_id"] == "abc" and line["conversation_id"] == "c1"
    assert line["level"] == "info"


async def test_store_down_gives_503_problem(own_ferretdb: EmbeddedFerretDB, tmp_path: Path) -> None:
    server = own_ferretdb
    settings = Settings(mongodb_url=server.url + "?serverSelectionTimeoutMS=500", mongodb_db="down",
                        bot_engine="off", inline_worker=False, var_dir=tmp_path / "var",
                        _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    async with running(app) as client:
        admin = await Api(client).user(Role.admin)
        server.stop()
        ready = await client.get("/readyz")
        assert ready.status == 503
        resp = await client.get("/api/v1/conversations", headers=admin["headers"])
        assert resp.status == 503 and resp.headers["Retry-After"]
        assert (await resp.json())["title"] == "Store unavailable"
        server.start()  # same port and files: the store is back
        assert (await client.get("/readyz")).status == 200
