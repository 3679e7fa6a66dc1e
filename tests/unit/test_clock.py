"""The hub's clock: SystemClock by default, a ManualClock that moves only when told, and
the clock an engine (and so each of its sessions) carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session

from omnisync.core.clock import (
    SYSTEM_CLOCK,
    Clock,
    ManualClock,
    SystemClock,
    clock_of,
    engine_clock,
)
from omnisync.core.db import HubSession, make_engine, transaction

T0 = datetime(2021, 6, 1, 8, 30, tzinfo=UTC)


def test_the_system_clock_is_timezone_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert isinstance(SYSTEM_CLOCK, Clock)
    assert isinstance(ManualClock(T0), Clock)


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(timedelta(seconds=90)) == T0 + timedelta(seconds=90)
    assert clock.now() == T0 + timedelta(seconds=90)
    clock.set(datetime(2021, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2021, 6, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_a_manual_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2021, 6, 1))
    with pytest.raises(ValueError, match="naive"):
        ManualClock(T0).set(datetime(2021, 6, 1))


def test_an_engine_carries_its_clock_to_every_session(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'clock.db'}", clock=clock)
    try:
        assert engine_clock(engine) is clock
        with transaction(engine) as session:
            assert isinstance(session, HubSession)
            assert session.clock is clock
            assert clock_of(session).now() == T0
        with transaction(engine, read_only=True) as session:
            assert clock_of(session) is clock
        with Session(engine) as session:
            assert clock_of(session) is clock
    finally:
        engine.dispose()


def test_an_engine_made_without_a_clock_reads_the_system_clock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        assert engine_clock(engine) is SYSTEM_CLOCK
        with transaction(engine) as session:
            assert clock_of(session) is SYSTEM_CLOCK
    finally:
        engine.dispose()
