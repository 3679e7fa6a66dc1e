"""Waiting for Amazon to finish something it processes on its own time: a feed (getFeed)
or a report (getReport), both of which end DONE, FATAL or CANCELLED.

The status is asked again after a pause that is short at first and then a tenth of the
time waited so far, up to `longest` (poll_wait): a job done after T seconds is seen at
most about T/10 late, where a fixed 15 s poll added 7.5 s on average to every small
one. Every pause goes through the call policy (`CallPolicy.pause`, which ends early on
shutdown) and the time is the connector's monotonic clock, so a test moves both by
hand and no test sleeps. Past `timeout_seconds` the last answer is returned as it is:
the caller says what an unfinished job means for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FINAL_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})
FIRST_POLL_SECONDS = 1.0
POLL_GROWTH = 0.1


def poll_wait(waited: float, longest: float) -> float:
    """The pause before the next status call: short at first, then a tenth of the time
    waited so far, up to `longest`."""
    return min(longest, max(FIRST_POLL_SECONDS, waited * POLL_GROWTH))


def wait_until_processed(
    status_of: Callable[[], dict[str, Any]],
    *,
    pause: Callable[[float], None],
    clock: Callable[[], float],
    poll_seconds: float,
    timeout_seconds: float,
) -> dict[str, Any]:
    """Ask `status_of` until its `processingStatus` is final or `timeout_seconds` passed;
    the last answer."""
    started = clock()
    deadline = started + timeout_seconds
    while True:
        answer = status_of()
        now = clock()
        if answer.get("processingStatus") in FINAL_STATUSES or now >= deadline:
            return answer
        pause(poll_wait(now - started, poll_seconds))
