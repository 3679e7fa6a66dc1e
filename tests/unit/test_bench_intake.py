"""b5's intake model: when the hub hears of each channel's sales in a replay, and where
the webhook and notification delays come from."""

from __future__ import annotations

from typing import Any

import pytest

from bench import intake
from bench.intake import (
    NOTIFICATION,
    POLLED,
    WEBHOOK,
    Intake,
    IntakeDelays,
    intake_paths,
    measured_delays,
    pull_moments,
)
from bench.oversell import run as run_oversell
from bench.runner import MEASURES


def b3_intake(shopify_ms: float, amazon_ms: float) -> dict[str, Any]:
    def origin(p50: float) -> dict[str, Any]:
        return {"intake": {"p50_ms": p50, "p95_ms": p50 * 40, "max_ms": p50 * 50, "count": 9}}

    return {"by_origin": {"shopify": origin(shopify_ms), "amazon": origin(amazon_ms)}}


def test_the_channels_pulls_are_spread_over_one_interval() -> None:
    assert pull_moments(60.0, 0, 4, 130.0) == [0.0, 60.0, 120.0]
    assert pull_moments(60.0, 1, 4, 130.0) == [15.0, 75.0]
    assert pull_moments(1.0, 3, 4, 2.0) == [0.75, 1.75]
    with pytest.raises(ValueError, match="positive"):
        pull_moments(0.0, 0, 4, 10.0)


def test_an_event_comes_its_delay_after_the_sale_and_a_polled_channel_sends_none() -> None:
    assert Intake(WEBHOOK, 60.0, 0.25).event_at(100.0) == 100.25
    assert Intake(POLLED, 1.0).event_at(100.0) is None


def test_the_demos_intake_paths_are_one_webhook_one_notification_two_polled_each_second() -> None:
    paths = intake_paths(IntakeDelays(0.006, 0.017, "b3"))
    assert [(path.kind, path.delay) for path in paths] == [
        (WEBHOOK, 0.006),
        (NOTIFICATION, 0.017),
        (POLLED, None),
        (POLLED, None),
    ]
    assert [path.poll_every for path in paths] == [60.0, 180.0, 1.0, 1.0]


def test_the_delays_are_b3s_medians_when_b3_ran_else_the_stated_constants() -> None:
    measured = measured_delays(b3_intake(5.7, 17.0))
    assert (measured.webhook_s, measured.notification_s) == (0.0057, 0.017)
    assert "b3_propagation of this run" in measured.source

    for missing in (None, {}, {"by_origin": {"shopify": b3_intake(1, 1)["by_origin"]["shopify"]}}):
        fallback = measured_delays(missing)
        assert (fallback.webhook_s, fallback.notification_s) == (
            intake.MEASURED_WEBHOOK_S,
            intake.MEASURED_NOTIFICATION_S,
        )
        assert fallback.source == intake.DELAYS_SOURCE


def test_b5_runs_after_b3_and_hands_its_delays_to_the_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sorted(MEASURES).index("b3_propagation") < sorted(MEASURES).index("b5_oversell")
    called: list[tuple[str, ...]] = []

    def child(module: str, *args: str) -> dict[str, Any]:
        called.append((module, *args))
        return {}

    monkeypatch.setattr("bench.oversell.run_child", child)
    run_oversell(True, {"b3_propagation": b3_intake(5.7, 17.0)})
    [(module, *args)] = called
    assert module == "bench.oversell"
    given = dict(zip(args[::2], args[1::2], strict=True))
    assert given["--webhook-delay"] == "0.0057"
    assert given["--notification-delay"] == "0.017"
    assert given["--delays-source"] == "b3_propagation of this run, intake p50"
