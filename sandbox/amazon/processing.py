"""How a job Amazon processes in its own time moves along the simulator's clock: a feed
(createFeed) or a report (createReport) is IN_QUEUE for the first half of its delay,
IN_PROGRESS for the second, and then finished as its desk decides (DONE, FATAL or
CANCELLED). Time is looked at lazily: the desks advance their jobs before every API
answer and control read, so a frozen test clock freezes them too.

What the two desks (:mod:`sandbox.amazon.feeds`, :mod:`sandbox.amazon.reports`) share
lives here too: the create request's checks, looking a job up, cancelling it, and the
processing times of its get answer. ``kind`` names the job in messages and fields
(``"Feed"``: ``feedType``, "Feed 5... was not found.").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeVar

from omnisync.sandbox.amazon.http import JSON, invalid_input, not_found

IN_QUEUE: Final = "IN_QUEUE"
IN_PROGRESS: Final = "IN_PROGRESS"
DONE: Final = "DONE"
FATAL: Final = "FATAL"
CANCELLED: Final = "CANCELLED"
FINISHED: Final = frozenset({DONE, FATAL, CANCELLED})
MAX_MARKETPLACES: Final = 25


class Processed(Protocol):
    """What a job processed in Amazon's own time keeps of its progress."""

    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


Job = TypeVar("Job", bound=Processed)


def due(job: Processed, now: datetime, delay: timedelta) -> bool:
    """Move `job` to IN_PROGRESS once half its delay has passed; True once all of it has
    (the desk finishes it then). A finished job is never due."""
    if job.status in FINISHED:
        return False
    start = job.created_at + delay / 2
    if job.status == IN_QUEUE and now >= start:
        job.status, job.started_at = IN_PROGRESS, start
    return job.status == IN_PROGRESS and now >= job.created_at + delay


def advance(
    jobs: Iterable[Job], now: datetime, delay: timedelta, finish: Callable[[Job], None]
) -> list[Job]:
    """Move ``jobs`` along the clock; ``finish`` the ones whose time came. Those finished
    now."""
    finished: list[Job] = []
    for job in jobs:
        if due(job, now, delay):
            finish(job)
            finished.append(job)
    return finished


def check_create_request(
    body: Any, kind: str, supported: Collection[str], marketplaces: Collection[str]
) -> tuple[JSON, str, list[str]]:
    """``(body, type, marketplaceIds)`` of a create request as Amazon's model checks it:
    a JSON object, the type (``feedType`` / ``reportType``) one of ``supported``, and 1
    to 25 ``marketplaceIds``, each one of ``marketplaces``. InvalidInput otherwise."""
    if not isinstance(body, dict):
        raise invalid_input("Request body is missing or is not a JSON object.")
    type_field = f"{kind.lower()}Type"
    job_type, markets = body.get(type_field), body.get("marketplaceIds")
    if not isinstance(job_type, str) or not job_type:
        raise invalid_input(f"Missing required parameter '{type_field}'.")
    if job_type not in supported:
        only = ", ".join(sorted(supported))
        raise invalid_input(f"{kind} type {job_type} is not supported here (only {only}).")
    if (
        not isinstance(markets, list)
        or not 1 <= len(markets) <= MAX_MARKETPLACES
        or not all(isinstance(m, str) for m in markets)
    ):
        raise invalid_input(f"'marketplaceIds' must list 1 to {MAX_MARKETPLACES} marketplace ids.")
    unknown = sorted(set(markets) - set(marketplaces))
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
    return body, job_type, list(markets)


def find(jobs: Mapping[str, Job], job_id: str, kind: str) -> Job:
    """The job ``job_id``; NotFound when there is none."""
    job = jobs.get(job_id)
    if job is None:
        raise not_found(f"{kind} {job_id} was not found.")
    return job


def cancel(job: Processed, job_id: str, kind: str, now: datetime) -> None:
    """Cancel a job still IN_QUEUE (as Amazon cancels only those); InvalidInput otherwise."""
    if job.status != IN_QUEUE:
        raise invalid_input(
            f"{kind} {job_id} is {job.status}: only IN_QUEUE {kind.lower()}s can be cancelled."
        )
    job.status, job.ended_at = CANCELLED, now


def processing_times(job: Processed, written: Callable[[datetime], str]) -> JSON:
    """``processingStartTime`` and ``processingEndTime`` of a get answer, as far as the job
    got, each time as ``written`` writes it."""
    times: JSON = {}
    if job.started_at is not None:
        times["processingStartTime"] = written(job.started_at)
    if job.ended_at is not None:
        times["processingEndTime"] = written(job.ended_at)
    return times
