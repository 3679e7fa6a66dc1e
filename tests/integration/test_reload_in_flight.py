"""Editing a channel file while one of its runs is in flight: the run finishes on the
connector it started with (succeeded, not failed with "the client has been closed"),
later runs use the new config, and the old connector closes once its run has ended."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from omnisync.core.db import make_engine
from omnisync.core.models import SyncRun
from omnisync.core.types import SyncRunStatus
from omnisync.hub.bootstrap import Hub
from omnisync.hub.runner import HubRunner
from omnisync.sync.channels import SyncChannel
from omnisync.sync.engine import SyncEngine
from tests.support.gated_connector import Gate, GatedConnector, GatedSettings
from tests.support.hub_setup import FAST_RETRIES, open_test_hub, write_config
from tests.support.polling import eventually


def gated_channel(label: str) -> str:
    return f"type: gated\nlabel: {label}\nschedule: {{orders: 1s}}\n"


@pytest.fixture
def gate() -> Iterator[Gate]:
    GatedConnector.reset()
    gate = GatedConnector.gate = Gate()
    yield gate
    gate.opened.set()  # a failed test leaves no pull waiting
    GatedConnector.reset()


@pytest.fixture
def hub(tmp_path: Path, migrated_database_url: str) -> Iterator[Hub]:
    config = write_config(tmp_path / "config", {"shop": gated_channel("first")})
    hub = open_test_hub(config, migrated_database_url)
    yield hub
    hub.engine.dispose()


def orders_runs(database_url: str) -> list[SyncRun]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        runs = list(session.exec(select(SyncRun).order_by(col(SyncRun.id))))
    engine.dispose()
    return [run for run in runs if run.job == "orders"]


def label_in_use(runner: HubRunner) -> str:
    settings = runner.sync.channels["shop"].settings
    assert isinstance(settings, GatedSettings)
    return settings.label


def test_a_run_in_flight_finishes_on_its_connector_across_a_reload(hub: Hub, gate: Gate) -> None:
    runner = HubRunner(hub, retry=FAST_RETRIES)
    thread = threading.Thread(target=runner.run, name="hub")
    thread.start()
    try:
        assert gate.reached.wait(20), "the first orders run never started"
        channel_file = hub.settings.config_dir / "channels" / "shop.yaml"
        channel_file.write_text(gated_channel("second"))
        assert eventually(lambda: label_in_use(runner) == "second"), "no reload happened"
        first = GatedConnector.made[0]
        assert first.label == "first"
        assert not first.closed  # its run is still using it

        gate.opened.set()
        assert eventually(lambda: "second" in GatedConnector.requests)
        assert eventually(lambda: first.closed)
    finally:
        gate.opened.set()
        runner.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    runs = orders_runs(hub.settings.database_url)
    assert runs, "no orders run was recorded"
    assert runs[0].status == SyncRunStatus.SUCCEEDED, runs[0].error
    assert [run.error for run in runs if run.status == SyncRunStatus.FAILED] == []
    assert GatedConnector.requests[:2] == ["first", "first"]  # both pages of the first run


def test_a_changed_channel_with_no_run_in_flight_closes_its_connector_at_once() -> None:
    GatedConnector.reset()
    database = make_engine("sqlite://")
    engine = SyncEngine(database, [sync_channel("first")])
    try:
        old = engine.connector("shop")
        assert isinstance(old, GatedConnector)
        with engine.borrowed("shop") as borrowed:
            assert borrowed is old
        engine.set_channels([sync_channel("second")])
        assert old.closed
        new = engine.connector("shop")
        assert isinstance(new, GatedConnector)
        assert new.label == "second"
        engine.set_channels([sync_channel("second")])  # unchanged: the connector stays
        assert engine.connector("shop") is new
        assert not new.closed
    finally:
        engine.close()
        database.dispose()
        GatedConnector.reset()


def sync_channel(label: str) -> SyncChannel:
    return SyncChannel("shop", "gated", True, GatedSettings(label=label))
