"""GET /metrics against the database: after a scripted sequence of real runs (a sandbox
marketplace over HTTP, a channel on a closed port), every value equals what the
tables say, computed here straight from the rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from omnisync.core.catalog import location_by_code, sku_by_code, upsert_sku
from omnisync.core.clock import utcnow
from omnisync.core.db import transaction
from omnisync.core.ledger import adjust_stock, count_stock
from omnisync.core.models import (
    Alert,
    Channel,
    Listing,
    Order,
    OrderEventIntake,
    QuarantinedPayload,
    SyncRun,
)
from omnisync.core.order_events import event_taken
from omnisync.core.types import AlertState, SyncRunStatus
from omnisync.hub.metrics import DURATION_BUCKETS, RunHistory, metrics_registry
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sync.jobs.counts import RunCount
from omnisync.sync.runs import finish_run, start_run
from tests.support.api import ApiHub, api_hub, closed_channels
from tests.support.hub_setup import sandbox_channel

MARKET_TOKEN = "metrics-market-token-41c2"
SKUS = ("A", "B", "C")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def marketplace() -> Iterator[SandboxMarketplace]:
    with SandboxMarketplace(MARKET_TOKEN, name="sb", rate=1000, burst=1000) as server:
        server.set_listings([{"sku": code, "title": code, "quantity": 0} for code in SKUS])
        yield server


@pytest.fixture
def api(
    tmp_path: Path,
    migrated_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    marketplace: SandboxMarketplace,
) -> Iterator[ApiHub]:
    monkeypatch.setenv("SB_MARKET_KEY", MARKET_TOKEN)
    channels = {
        "sb": sandbox_channel(marketplace.url, key_var="SB_MARKET_KEY"),
        **closed_channels("down"),
    }
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as hub:
        yield hub


def scrape(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


@dataclass
class Expected:
    samples: Samples
    oldest_dirty: dict[str, float | None]
    """Per channel, the oldest dirty_since as a Unix time (None: nothing dirty)."""


def from_the_database(engine: Engine) -> Expected:
    """Every /metrics value, computed from the rows without the exporter's code."""
    samples: Samples = defaultdict(float)
    with Session(engine) as session:
        names = {channel.id: channel.name for channel in session.exec(select(Channel))}
        for run in session.exec(select(SyncRun).where(SyncRun.status != SyncRunStatus.RUNNING)):
            channel = names[run.channel_id]
            assert run.finished_at is not None
            duration = (run.finished_at - run.started_at).total_seconds()
            per_job = labels(channel=channel, job=run.job)
            samples[
                (
                    "omnisync_sync_runs_total",
                    labels(channel=channel, job=run.job, status=run.status.value),
                )
            ] += 1
            samples[("omnisync_sync_run_duration_seconds_count", per_job)] += 1
            samples[("omnisync_sync_run_duration_seconds_sum", per_job)] += duration
            for bound in (*DURATION_BUCKETS, float("inf")):
                le = "+Inf" if bound == float("inf") else str(bound)
                key = ("omnisync_sync_run_duration_seconds_bucket", per_job | {("le", le)})
                samples[key] += 1 if duration <= bound else 0
            if run.status in (SyncRunStatus.SUCCEEDED, SyncRunStatus.PARTIAL):
                key = ("omnisync_last_success_timestamp_seconds", per_job)
                samples[key] = max(samples[key], run.finished_at.timestamp())
            for result in ("acknowledged", "failed"):
                key = ("omnisync_stock_pushes_total", labels(channel=channel, result=result))
                samples[key] += (
                    (run.counts or {}).get(result, 0) if run.job in ("stock", "reconcile") else 0
                )
        oldest: dict[str, float | None] = {}
        for channel_id, channel in names.items():
            dirty = session.exec(
                select(Listing).where(Listing.channel_id == channel_id, col(Listing.dirty))
            ).all()
            samples[("omnisync_dirty_listings", labels(channel=channel))] = len(dirty)
            for result in ("acknowledged", "failed"):  # shown for every channel, 0 or more
                samples[
                    ("omnisync_stock_pushes_total", labels(channel=channel, result=result))
                ] += 0
            since = [row.dirty_since for row in dirty if row.dirty_since is not None]
            oldest[channel] = min(since).timestamp() if since else None
            for name, model in (
                ("omnisync_orders_ingested_total", Order),
                ("omnisync_quarantined_payloads_total", QuarantinedPayload),
            ):
                rows = session.exec(select(model).where(model.channel_id == channel_id)).all()
                samples[(name, labels(channel=channel))] = len(rows)
        orders = session.exec(select(Order)).all()
        samples[("omnisync_oversold_orders_total", frozenset())] = sum(
            1 for order in orders if order.oversold_at is not None
        )
        names = dict(session.exec(select(Channel.id, Channel.name)).all())
        for intake in session.exec(select(OrderEventIntake)).all():
            channel_label = labels(channel=names[intake.channel_id])
            samples[("omnisync_order_events_taken_total", channel_label)] = intake.events_taken
            if intake.last_event_at is not None:
                samples[("omnisync_last_order_event_timestamp_seconds", channel_label)] = (
                    intake.last_event_at.timestamp()
                )
        alerts = session.exec(select(Alert)).all()
        samples[("omnisync_alerts_open", frozenset())] = sum(
            1 for alert in alerts if alert.state == AlertState.OPEN
        )
    return Expected(dict(samples), oldest)


def check_against_the_database(text: str, engine: Engine, before: float, after: float) -> None:
    """`text` was scraped between the Unix times `before` and `after`."""
    scraped = scrape(text)
    expected = from_the_database(engine)
    ages = {
        dict(key[1])["channel"]: value
        for key, value in scraped.items()
        if key[0] == "omnisync_oldest_dirty_age_seconds"
    }
    assert ages.keys() == expected.oldest_dirty.keys()
    for channel, since in expected.oldest_dirty.items():
        if since is None:
            assert ages[channel] == 0
        else:  # the age is taken at scrape time, somewhere between before and after
            assert before - since - 0.001 <= ages[channel] <= after - since + 0.001
    scraped = {
        key: value
        for key, value in scraped.items()
        if key[0] != "omnisync_oldest_dirty_age_seconds" and not key[0].endswith("_created")
    }
    assert scraped.keys() == expected.samples.keys()
    for key, value in expected.samples.items():
        assert scraped[key] == pytest.approx(value, abs=1e-6), key


def run(api: ApiHub, channel: str, job: str, status: str) -> None:
    outcome = api.sync.run(channel, job, force=True)
    assert outcome.status == status, outcome


def test_metrics_match_the_database_after_a_sequence_of_runs(
    api: ApiHub, marketplace: SandboxMarketplace
) -> None:
    engine = api.hub.engine
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        for code in SKUS:
            count_stock(session, upsert_sku(session, code), main, 5)
    run(api, "sb", "listings", "succeeded")
    run(api, "sb", "stock", "succeeded")  # 3 acknowledged
    marketplace.lock_sku("B")
    with transaction(engine) as session:
        main = location_by_code(session, "main")
        for code in ("A", "B"):
            adjust_stock(session, sku_by_code(session, code), main, -1)
    run(api, "sb", "stock", "partial")  # A acknowledged, B refused
    run(api, "down", "orders", "failed")
    run(api, "down", "orders", "failed")
    # The hub knows of 1 C; the marketplace still offers 5: a buyer takes 3 (oversold).
    with transaction(engine) as session:
        adjust_stock(session, sku_by_code(session, "C"), location_by_code(session, "main"), -4)
    marketplace.buy("A", 1)  # first on the page: the one the fault breaks (quarantined)
    marketplace.buy("C", 3)
    marketplace.inject("orders", "malformed_order")
    run(api, "sb", "orders", "succeeded")
    with transaction(engine) as session:  # two order events heard on the channel
        channel_id = session.exec(select(Channel.id).where(Channel.name == "sb")).one()
        assert channel_id is not None
        event_taken(session, channel_id)
        event_taken(session, channel_id)
    with Session(engine) as session:
        assert session.exec(select(Order).where(col(Order.oversold))).one()
        assert session.exec(select(QuarantinedPayload)).one()
        assert session.exec(select(Listing).where(col(Listing.dirty))).all()  # B and C wait
        open_alerts = session.exec(select(Alert).where(Alert.state == AlertState.OPEN)).all()
        assert {alert.rule for alert in open_alerts} >= {"oversold_order", "quarantined_payload"}

    before = utcnow().timestamp()
    response = api.http.get("/metrics")
    after = utcnow().timestamp()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    check_against_the_database(response.text, engine, before, after)
    scraped = scrape(response.text)
    # Spot checks, in case the two computations shared a mistake.
    assert (
        scraped[("omnisync_sync_runs_total", labels(channel="down", job="orders", status="failed"))]
        == 2
    )
    assert (
        scraped[("omnisync_stock_pushes_total", labels(channel="sb", result="acknowledged"))] == 4
    )
    assert scraped[("omnisync_stock_pushes_total", labels(channel="sb", result="failed"))] == 1
    assert scraped[("omnisync_oversold_orders_total", frozenset())] == 1
    assert scraped[("omnisync_orders_ingested_total", labels(channel="sb"))] == 1
    assert scraped[("omnisync_orders_ingested_total", labels(channel="down"))] == 0
    assert scraped[("omnisync_quarantined_payloads_total", labels(channel="sb"))] == 1
    assert scraped[("omnisync_order_events_taken_total", labels(channel="sb"))] == 2
    assert ("omnisync_order_events_taken_total", labels(channel="down")) not in scraped
    assert (
        "omnisync_last_success_timestamp_seconds",
        labels(channel="down", job="orders"),
    ) not in scraped


def test_settled_runs_are_folded_once_and_a_running_one_waits(api: ApiHub) -> None:
    """With no settling delay the exporter keeps a fold of the settled runs; values stay
    those of the database while runs start and finish around a long-running one."""
    engine = api.hub.engine
    registry = metrics_registry(engine, RunHistory(settle_seconds=0))
    with Session(engine) as session:
        sb, down = (
            session.exec(select(Channel.id).where(Channel.name == name)).one() or 0
            for name in ("sb", "down")
        )

    def scrape_and_check() -> None:
        before = utcnow().timestamp()
        text = generate_latest(registry).decode()
        check_against_the_database(text, engine, before, utcnow().timestamp())

    def finished(channel_id: int, job: str, status: SyncRunStatus, **counts: int) -> None:
        recorded = Counter({RunCount(name): value for name, value in counts.items()})
        finish_run(engine, start_run(engine, channel_id, job), status, recorded, None)

    finished(sb, "stock", SyncRunStatus.SUCCEEDED, acknowledged=4)
    finished(down, "orders", SyncRunStatus.FAILED)
    scrape_and_check()
    long_running = start_run(engine, sb, "listings")
    finished(sb, "stock", SyncRunStatus.PARTIAL, acknowledged=1, failed=2)
    scrape_and_check()  # the fold stops before the running run; the rest is read each time
    scrape_and_check()
    finish_run(engine, long_running, SyncRunStatus.SUCCEEDED, Counter(), None)
    finished(down, "orders", SyncRunStatus.CANCELLED)
    scrape_and_check()
    scrape_and_check()
    runs = scrape(generate_latest(registry).decode())
    assert (
        runs[("omnisync_sync_runs_total", labels(channel="sb", job="stock", status="partial"))] == 1
    )
    assert runs[("omnisync_stock_pushes_total", labels(channel="sb", result="failed"))] == 2
    assert (
        runs[("omnisync_sync_run_duration_seconds_count", labels(channel="sb", job="listings"))]
        == 1
    )


def test_a_run_committed_late_below_settled_ids_is_still_counted(api: ApiHub) -> None:
    """PostgreSQL hands out ids before commit: run 5 may become visible after runs 10
    and 11. Ids settle only once seen finished for settle_seconds, and never past a run
    that is still running, so run 5 is counted when it finishes."""
    engine = api.hub.engine
    now = {"t": 0.0}
    registry = metrics_registry(engine, RunHistory(settle_seconds=60, clock=lambda: now["t"]))
    started = utcnow()
    with transaction(engine) as session:
        sb = session.exec(select(Channel.id).where(Channel.name == "sb")).one()
        for run_id in (10, 11):
            session.add(
                SyncRun(
                    id=run_id,
                    channel_id=sb,
                    job="stock",
                    status=SyncRunStatus.SUCCEEDED,
                    started_at=started,
                    finished_at=started,
                    counts={"acknowledged": 1},
                )
            )

    def scrape_at(moment: float) -> None:
        now["t"] = moment
        before = utcnow().timestamp()
        text = generate_latest(registry).decode()
        check_against_the_database(text, engine, before, utcnow().timestamp())

    scrape_at(0)  # 11 is a candidate: everything up to it looks finished
    with transaction(engine) as session:  # ... but run 5 commits now, still running
        session.add(SyncRun(id=5, channel_id=sb, job="orders", started_at=started))
    scrape_at(61)  # 11 is old enough, yet run 5 holds the settled fold before it
    finish_run(engine, 5, SyncRunStatus.FAILED, Counter(), "late")
    scrape_at(62)
    scrape_at(200)
    runs = scrape(generate_latest(registry).decode())
    assert (
        runs[("omnisync_sync_runs_total", labels(channel="sb", job="orders", status="failed"))] == 1
    )
