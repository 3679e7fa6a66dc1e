from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnisync.hub.bootstrap import Hub
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config

TOKEN = "sb-test-token-5f1c9a"


@pytest.fixture
def marketplace() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(TOKEN, rate=1000, burst=1000, name="sb") as server:
        yield server


@pytest.fixture
def hub(
    tmp_path: Path,
    migrated_database_url: str,
    marketplace: SandboxMarketplace,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    monkeypatch.setenv("SB_KEY", TOKEN)
    config = write_config(tmp_path / "config", {"sb": sandbox_channel(marketplace.url)})
    hub = open_test_hub(config, migrated_database_url)
    yield hub
    hub.engine.dispose()


@pytest.fixture
def sync_engine(hub: Hub) -> Iterator[SyncEngine]:
    engine = engine_for(hub)
    yield engine
    engine.close()
