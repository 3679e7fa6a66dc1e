"""hub/demo/watch.FailureWatch: while the demo's buyers buy, a job that keeps failing ends
the demo once it has failed for the allowed time. Run records on real databases; the
watch's clock is a number the test moves."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from omnisync.hub.demo.watch import DemoFailed, FailureWatch
from tests.support.runs import add_runs
from tests.support.world import build_world

LIMIT = 30.0
ERROR = "TransientError: getOrders: HTTP 500 InternalFailure"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def watch(engine: Engine, clock: ManualClock) -> FailureWatch:
    build_world(engine, channels={"amazon-b": None, "shopify-a": None})
    add_runs(engine, "shopify-a", "orders", ["succeeded"] * 3)
    return FailureWatch(engine, LIMIT, clock=clock)


def test_a_job_failing_for_the_allowed_time_fails_the_demo(
    engine: Engine, clock: ManualClock, watch: FailureWatch
) -> None:
    add_runs(engine, "amazon-b", "orders", ["succeeded", "failed"], error=ERROR)
    watch.check()  # seen failing from now on
    clock.now += LIMIT - 1
    add_runs(engine, "amazon-b", "orders", ["failed"], error=ERROR)
    watch.check()
    clock.now += 1
    with pytest.raises(DemoFailed) as raised:
        watch.check()
    assert (raised.value.channel, raised.value.job) == ("amazon-b", "orders")
    assert str(raised.value) == f"channel amazon-b, job orders: {ERROR} (failing for 30s)"


def test_a_success_ends_the_failure_streak(
    engine: Engine, clock: ManualClock, watch: FailureWatch
) -> None:
    add_runs(engine, "amazon-b", "stock", ["failed"], error=ERROR)
    watch.check()
    clock.now += LIMIT - 5
    add_runs(engine, "amazon-b", "stock", ["succeeded"])
    watch.check()
    clock.now += 5
    add_runs(engine, "amazon-b", "stock", ["failed"], error=ERROR)
    watch.check()  # failing again, but only from now on
    clock.now += LIMIT - 1
    watch.check()


def test_healthy_channels_never_fail_the_demo(
    engine: Engine, clock: ManualClock, watch: FailureWatch
) -> None:
    add_runs(engine, "amazon-b", "orders", ["failed", "succeeded", "partial"], error=ERROR)
    for _ in range(3):
        watch.check()
        clock.now += LIMIT
