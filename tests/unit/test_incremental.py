"""sync/incremental.py alone: where a read starts, which items it takes, where the
cursor moves. No database: the rules are tested as values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from omnisync.sync.incremental import Incremental, moves_forward

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CURSOR = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
LAG = timedelta(minutes=2)
BACKFILL = timedelta(days=7)


def read_from(committed: datetime | None) -> Incremental:
    return Incremental.from_cursor(committed, lag=LAG, backfill=BACKFILL, now=NOW)


def test_a_read_starts_the_lag_window_before_the_committed_cursor() -> None:
    read = read_from(CURSOR)
    assert read.start == CURSOR - LAG
    assert read.committed == CURSOR


def test_the_first_read_of_a_stream_goes_back_the_backfill_from_now() -> None:
    read = read_from(None)
    assert read.start == NOW - BACKFILL
    assert read.committed is None


def test_an_item_is_taken_once_per_read_by_identity_and_version() -> None:
    read = read_from(CURSOR)
    assert read.take("1001", CURSOR)
    assert not read.take("1001", CURSOR)  # the boundary item, served again
    assert read.take("1001", CURSOR + timedelta(seconds=1))  # a newer version is new
    assert read.take("1002", CURSOR)  # another item at the same instant


def test_a_new_read_takes_again_what_the_last_one_took() -> None:
    first, second = read_from(CURSOR), read_from(CURSOR)
    assert first.take("1001", CURSOR)
    assert second.take("1001", CURSOR)


def test_two_spellings_of_one_instant_are_two_versions_as_stored() -> None:
    read = read_from(CURSOR)
    elsewhere = CURSOR.astimezone(timezone(timedelta(hours=2)))
    assert elsewhere == CURSOR
    assert read.take("1001", CURSOR)
    assert read.take("1001", elsewhere)


def test_the_cursor_moves_to_the_highest_value_the_pages_complete() -> None:
    later = CURSOR + timedelta(minutes=5)
    assert Incremental.end_of([CURSOR, None, later, CURSOR]) == later
    assert Incremental.end_of([None, None]) is None
    assert Incremental.end_of([]) is None


def test_the_cursor_only_moves_forward() -> None:
    assert moves_forward(None, CURSOR)
    assert moves_forward(CURSOR, CURSOR + timedelta(microseconds=1))
    assert not moves_forward(CURSOR, CURSOR)
    assert not moves_forward(CURSOR, CURSOR - LAG)
