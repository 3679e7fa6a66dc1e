"""hub/demo/watch.py: the runs `omnisync demo` waits for end by a deadline, and say why.

The runner is a fake with the engine's stop event; a run that "hangs" waits on that
event, as the call policy's backoff and the jobs' checkpoints do. Deadlines are small or
expired by hand; nothing measures how long anything took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import pytest

from omnisync.core.types import SyncRunStatus
from omnisync.hub.demo.watch import Deadline, DemoFailed, run_until_done
from omnisync.sync.engine import RunOutcome
from omnisync.sync.runs import outcome_status

HANG = "hang"
SAFETY_NET_S = 60.0
"""How long a hanging fake run waits for the stop event at most (never reached)."""


class FakeRunner:
    """Answers runs with the given statuses in turn; a `hang` waits for the stop event."""

    def __init__(self, statuses: Iterable[str], *, supported: bool = True) -> None:
        self.statuses = list(statuses)
        self.supported = supported
        self.stop = threading.Event()
        self.runs: list[tuple[str, str]] = []

    def supports(self, name: str, job: str) -> bool:
        return self.supported

    def run(self, name: str, job: str) -> RunOutcome:
        self.runs.append((name, job))
        text = self.statuses.pop(0)
        if text == HANG:
            stopped = self.stop.wait(SAFETY_NET_S)
            assert stopped, "the deadline never set the stop event"
            return RunOutcome(name, job, SyncRunStatus.CANCELLED, error="stopped by shutdown")
        status = outcome_status(text)
        if status == "failed":
            return RunOutcome(name, job, status, error="TransientError: getOrders: HTTP 500")
        if status == "skipped":
            return RunOutcome(name, job, status, error="paused: AuthError: HTTP 403")
        return RunOutcome(name, job, status)


@pytest.mark.parametrize("done", ["succeeded", "partial"])
def test_a_run_is_repeated_after_a_failure_until_it_is_done(done: str) -> None:
    runner = FakeRunner(["failed", done])
    outcome = run_until_done(runner, "amazon-b", "orders", timeout=SAFETY_NET_S)
    assert outcome is not None
    assert outcome.status == done
    assert runner.runs == [("amazon-b", "orders")] * 2
    assert not runner.stop.is_set()  # the next step starts with the engine free to run


def test_a_job_failing_every_run_fails_the_demo_with_its_channel_job_and_error() -> None:
    runner = FakeRunner(["failed"] * 10)
    with pytest.raises(DemoFailed) as raised:
        run_until_done(runner, "amazon-b", "orders", timeout=SAFETY_NET_S, attempts=3)
    assert str(raised.value) == (
        "channel amazon-b, job orders: TransientError: getOrders: HTTP 500 (3 runs failed)"
    )
    assert len(runner.runs) == 3


def test_a_run_that_does_not_end_is_stopped_by_the_deadline() -> None:
    runner = FakeRunner([HANG])
    with pytest.raises(DemoFailed) as raised:
        run_until_done(runner, "sandbox-c", "orders", timeout=0.05)
    assert str(raised.value) == "channel sandbox-c, job orders: not done within 0.05s"
    assert not runner.stop.is_set()


def test_the_deadline_message_keeps_the_last_error_seen() -> None:
    runner = FakeRunner(["failed", HANG])
    with pytest.raises(DemoFailed) as raised:
        run_until_done(runner, "amazon-b", "stock", timeout=0.5)
    assert str(raised.value) == (
        "channel amazon-b, job stock: not done within 0.5s; "
        "last error: TransientError: getOrders: HTTP 500"
    )


def test_a_skipped_run_fails_at_once_since_running_it_again_changes_nothing() -> None:
    runner = FakeRunner(["skipped", "succeeded"])
    with pytest.raises(DemoFailed, match=r"^channel shopify-a, job listings: paused: AuthError"):
        run_until_done(runner, "shopify-a", "listings", timeout=SAFETY_NET_S)
    assert len(runner.runs) == 1


def test_a_job_the_channel_type_does_not_have_is_not_run() -> None:
    runner = FakeRunner([], supported=False)
    assert run_until_done(runner, "sandbox-c", "tracking", timeout=SAFETY_NET_S) is None
    assert runner.runs == []


def test_a_deadline_expired_by_hand_stops_and_one_left_stops_nothing_more() -> None:
    stop = threading.Event()
    with Deadline(SAFETY_NET_S, stop) as deadline:
        assert not deadline.wait(0)
        deadline.expire()
        assert stop.is_set()
        assert deadline.wait(SAFETY_NET_S)  # returns at once: the deadline has passed
    assert not stop.is_set()
    deadline.expire()  # its timer firing late, during the next step
    assert not stop.is_set()


def test_the_failure_is_one_line_and_can_be_masked() -> None:
    failure = DemoFailed("amazon-b", "orders", "AuthError: refused\nAtzr|sekrit-token\n")
    assert str(failure) == "channel amazon-b, job orders: AuthError: refused Atzr|sekrit-token"
    masked = failure.masked(["sekrit-token"])
    assert str(masked) == "channel amazon-b, job orders: AuthError: refused Atzr|***"
    assert (masked.channel, masked.job) == ("amazon-b", "orders")
