"""A hub and its HTTP app in-process: hub.yaml with an API token from the environment,
and a client that sends it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import Hub
from omnisync.sync.engine import SyncEngine
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config

API_TOKEN = "api-token-7d1e0c55b2a94f38"
SANDBOX_KEY = "sandbox-key-93ab71e2"
CLOSED_PORT_URL = "http://127.0.0.1:9"
"""Nothing listens on the discard port: a channel pointed there fails every call."""


def write_api_config(
    folder: Path, channels: dict[str, str], *, token_variable: str | None = "OMNISYNC_API_TOKEN"
) -> Path:
    """write_config, with `http.api_token: ${token_variable}` (none when None)."""
    config = write_config(folder, channels)
    token = f"  api_token: ${{{token_variable}}}\n" if token_variable else ""
    (config / "hub.yaml").write_text(
        "http:\n  port: 0\n" + token + "locations:\n  - code: main\n  - code: backup\n"
    )
    return config


def closed_channels(*names: str) -> dict[str, str]:
    """Sandbox channels that point at a closed port (their jobs fail)."""
    return {name: sandbox_channel(CLOSED_PORT_URL, key_var="SB_KEY") for name in names}


@dataclass
class ApiHub:
    hub: Hub
    sync: SyncEngine
    http: TestClient
    scheduler: dict[str, bool] = field(default_factory=lambda: {"running": True})
    token: str = API_TOKEN

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        response: httpx.Response = self.http.get(path, params=params, headers=self.auth)
        return response

    def follow(self, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
        """Every row of a paged list, following Link rel=next; and how many pages it took."""
        response = self.get(path, **params)
        rows, pages = [], 0
        while True:
            assert response.status_code == 200, response.text
            rows += response.json()
            pages += 1
            following = response.links.get("next")
            if following is None:
                return rows, pages
            response = self.http.get(following["url"], headers=self.auth)

    def post(self, path: str, body: Any) -> httpx.Response:
        response: httpx.Response = self.http.post(path, json=body, headers=self.auth)
        return response


@contextmanager
def api_hub(
    folder: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    channels: dict[str, str] | None = None,
    with_token: bool = True,
) -> Iterator[ApiHub]:
    monkeypatch.setenv("SB_KEY", SANDBOX_KEY)
    monkeypatch.setenv("OMNISYNC_API_TOKEN", API_TOKEN)
    config = write_api_config(
        folder / "config",
        closed_channels("shop", "market") if channels is None else channels,
        token_variable="OMNISYNC_API_TOKEN" if with_token else None,
    )
    hub = open_test_hub(config, database_url)
    sync = engine_for(hub)
    scheduler = {"running": True}
    app = create_app(sync, settings=hub.settings, scheduler_running=lambda: scheduler["running"])
    with TestClient(app) as client:
        yield ApiHub(hub, sync, client, scheduler)
    sync.close()
    hub.engine.dispose()
