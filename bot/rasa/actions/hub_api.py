"""A tiny client of the hub's REST API (stdlib + requests, both in the Rasa venv)."""

from __future__ import annotations

import logging
import os
from typing import Any

import requests

log = logging.getLogger(__name__)
TIMEOUT = float(os.environ.get("BERRY_HUB_TIMEOUT", "5"))


class HubError(Exception):
    pass


class HubApi:
    def __init__(self, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base = (base_url or os.environ.get("BERRY_HUB_URL", "http://127.0.0.1:8080")).rstrip("/")
        self.key = api_key or os.environ.get("BERRY_HUB_API_KEY", "")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = requests.request(method, f"{self.base}/api/v1{path}", timeout=TIMEOUT,
                                    headers={"Authorization": f"Bearer {self.key}"}, **kwargs)
        except requests.RequestException as exc:
            raise HubError(f"{method} {path}: {exc}") from exc
        if resp.status_code >= 400:
            raise HubError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def search(self, text: str, limit: int = 3, audience: str = "consumer") -> list[dict[str, Any]]:
        params = {"q": text[:500], "limit": limit, "audience": audience}
        return list(self._call("GET", "/bot/kb-search", params=params) or [])

    def ticket(self, conversation_id: str) -> dict[str, Any]:
        return self._call("GET", f"/conversations/{conversation_id}")

    def update_ticket(self, conversation_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", f"/conversations/{conversation_id}", json=changes)

    def note(self, conversation_id: str, text: str) -> dict[str, Any]:
        return self._call("POST", f"/conversations/{conversation_id}/messages",
                          json={"text": text, "private": True})
