"""b5's section of docs/benchmarks.md: the intake-paths replay against the 20x target,
where the oversold units were, and older results without that replay."""

from __future__ import annotations

from typing import Any

from bench.report import machine, render


def replay(units: int, by_channel: dict[str, int] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "oversold_units": units,
        "oversold_orders": units,
        "orders": 300,
        "refused_buyers": 200,
        "orders_runs": 300,
        "stock_runs": 900,
        "stale_raises": 0,
    }
    if by_channel is not None:
        row["oversold_by_channel"] = by_channel
    return row


def b5_results(paths_units: int | None) -> dict[str, Any]:
    replays = {"hub": replay(18), "hub_webhooks": replay(1), "baseline": replay(88)}
    measure: dict[str, Any] = {
        "seed": 8,
        "hours": 8.0,
        "channels": 4,
        "skus": 200,
        "scarce_skus": 80,
        "buyers": 574,
        "bursts": 77,
        "stream": {
            "scarce_units": [1, 5],
            "buyers_per_hour": 30.0,
            "scarce_share": 0.2,
            "bursts_per_hour": 8.0,
            "burst_buyers": [3, 6],
            "burst_window_s": 240.0,
        },
        "hub_units": 18,
        "baseline_units": 88,
        "ratio": 4.89,
        "webhooks_units": 1,
        "webhooks_ratio": 88.0,
        "replays": replays,
        "pull_interval_s": 60.0,
        "webhook_delay_s": 2.0,
        "push_delay_s": 1.0,
        "baseline_push_every_s": 900.0,
        "push_real_ms_p95": 40.0,
        "wall_s": 60.0,
        "run": {"commit": "abc1234", "date": "2026-12-01 10:00 UTC"},
    }
    if paths_units is not None:
        replays["hub_intake_paths"] = replay(
            paths_units, {"ch-1": 0, "ch-2": 0, "ch-3": paths_units, "ch-4": 0}
        )
        measure.update(
            intake_paths_units=paths_units,
            intake_paths_ratio=round(88 / paths_units, 2) if paths_units else None,
            target_ratio=20.0,
            intake_delays={"webhook_s": 0.006, "notification_s": 0.018, "source": "b3 here"},
            intake_paths="ch-1 by webhook 0.006 s after the sale",
        )
    return measure


def section(measure: dict[str, Any]) -> str:
    return " ".join(render({"machine": machine(), "b5_oversell": measure}).split())


def test_the_intake_paths_replay_is_judged_against_twenty_times_fewer_oversold_units() -> None:
    met = section(b5_results(0))
    assert "| hub_intake_paths | ch-1 by webhook 0.006 s after the sale |" in met
    assert "the ratio is unbounded, which meets the target of at least 20" in met
    assert "delays are 0.006 s and 0.018 s (b3 here)" in met

    missed = section(b5_results(8))
    assert "8 units where the 15-minute baseline oversold 88 units: 11.0 times fewer" in missed
    assert "misses the target of at least 20 by a factor of 1.8" in missed
    assert "Oversold units by the channel of the order: ch-1 0, ch-2 0, ch-3 8, ch-4 0." in missed


def test_an_older_result_without_the_intake_paths_replay_still_renders() -> None:
    text = section(b5_results(None))
    assert "hub_intake_paths" not in text
    assert "the hub oversold 18 units (4.89 times fewer) against the baseline's 88 units" in text
