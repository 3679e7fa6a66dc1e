"""The scheduler wakes at once on its own hub's commits that mark listings dirty, and
on nobody else's: another engine in the same process (a second hub, a test, a tool)
commits into another outbox (sync/scheduler.py, CommitWake)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from omnisync.core.db import make_engine, transaction
from omnisync.core.outbox import LISTINGS_MARKED
from omnisync.sync.scheduler import CommitWake


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    ours = make_engine(f"sqlite:///{tmp_path / 'ours.db'}")
    theirs = make_engine(f"sqlite:///{tmp_path / 'theirs.db'}")
    yield ours, theirs
    ours.dispose()
    theirs.dispose()


@pytest.fixture
def woken(engines: tuple[Engine, Engine]) -> Iterator[threading.Event]:
    wake = threading.Event()
    commits = CommitWake(engines[0], wake)
    commits.attach()
    yield wake
    commits.detach()


def commit_marking_listings(engine: Engine) -> None:
    """A transaction that marked listings dirty, as core/outbox.py flags it."""
    with transaction(engine) as session:
        session.execute(text("SELECT 1"))
        session.info[LISTINGS_MARKED] = True


def test_a_commit_on_another_engine_does_not_wake_this_hubs_scheduler(
    engines: tuple[Engine, Engine], woken: threading.Event
) -> None:
    commit_marking_listings(engines[1])
    assert not woken.is_set()  # after_commit runs in the committing thread: no wait needed


def test_the_hubs_own_commit_still_wakes_it(
    engines: tuple[Engine, Engine], woken: threading.Event
) -> None:
    commit_marking_listings(engines[0])
    assert woken.is_set()


def test_a_read_only_transaction_of_the_hub_is_its_own_too(
    engines: tuple[Engine, Engine], woken: threading.Event
) -> None:
    with transaction(engines[0], read_only=True) as session:
        session.execute(text("SELECT 1"))
        session.info[LISTINGS_MARKED] = True
    assert woken.is_set()


def test_a_commit_that_marked_nothing_does_not_wake_it(
    engines: tuple[Engine, Engine], woken: threading.Event
) -> None:
    with transaction(engines[0]) as session:
        session.execute(text("SELECT 1"))
    assert not woken.is_set()
