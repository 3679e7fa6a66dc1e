from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import typer

from omnisync.hub.bootstrap import Hub, engine_channels
from omnisync.hub.commands import sync as sync_command
from omnisync.hub.commands.common import EXIT_FAILED, print_json
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.engine import SyncEngine
from omnisync.sync.jobs.names import JobName
from omnisync.sync.queue.targets import Targets
from tests.support.databases import POSTGRES_URL
from tests.support.hub_setup import engine_for, open_test_hub, sandbox_channel, write_config
from tests.support.queue_mode import QUEUE_MODE, QueueSyncEngine

TOKEN = "sb-test-token-5f1c9a"
E2E = Path(__file__).parent
DATABASE_FIXTURES = ("database_url", "migrated_database_url", "empty_database_url")
"""The fixtures parametrized by backend (tests/conftest.py BACKENDS)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "single_runner(reason): a test of the single runner by design (SQLite, the demo);"
        " left out under OMNISYNC_TEST_RUNNER=procrastinate",
    )
    if QUEUE_MODE and not POSTGRES_URL:
        raise pytest.UsageError(
            "OMNISYNC_TEST_RUNNER=procrastinate runs on PostgreSQL: set OMNISYNC_TEST_POSTGRES_URL"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under runner `procrastinate` (PostgreSQL only) the SQLite parameter of every database
    fixture, and the tests of the single runner by design, are deselected: not skipped, as
    they are not tests of this mode (`make test` runs them)."""
    if not QUEUE_MODE:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        mine = E2E in item.path.parents
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_sqlite = any(params.get(name) == "sqlite" for name in DATABASE_FIXTURES)
        (
            dropped if mine and (on_sqlite or item.get_closest_marker("single_runner")) else kept
        ).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _sync_command_runs_on_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under runner `procrastinate`, `omnisync sync` (run in this process by invoke_cli)
    defers the tasks as in production (and refuses what production refuses), its own
    output left out; then a procrastinate worker in this process runs them
    (queue_mode.QueueSyncEngine) and the outcomes are printed as the single runner prints
    them, for the tests that read them."""
    if not QUEUE_MODE:
        return
    defer_to_workers = sync_command._defer_to_workers

    def defer_then_work(
        hub: Hub, targets: Targets, names: list[str], job: JobName, **options: Any
    ) -> None:
        with redirect_stdout(io.StringIO()):
            defer_to_workers(hub, targets, names, job, **options)
        engine = QueueSyncEngine(
            hub.settings.database_url,
            targets,
            hub.engine,
            engine_channels(hub.settings),
            secrets=hub.settings.secrets,
            clock=hub.clock,
            unlinked_after=hub.settings.hub.alert_rules.unlinked_after,
        )
        try:
            outcomes = [engine.run(name, job.value) for name in names]
        finally:
            engine.close()
        if options.get("json_output"):
            print_json([sync_command._outcome_view(outcome) for outcome in outcomes])
        else:
            sync_command._print_table(outcomes)
        if any(outcome.failed for outcome in outcomes):
            raise typer.Exit(EXIT_FAILED)

    monkeypatch.setattr(sync_command, "_defer_to_workers", defer_then_work)


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
