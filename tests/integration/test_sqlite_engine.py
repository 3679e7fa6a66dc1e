"""The SQLite engine's settings: WAL, busy timeout, foreign keys, immediate writers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from omnisync.core.db import SQLITE_BUSY_TIMEOUT_MS, transaction
from omnisync.core.models import OrderLine, Sku
from tests.support.databases import fresh_engine, sqlite_url


def test_pragmas(tmp_path: Path) -> None:
    engine = fresh_engine(sqlite_url(tmp_path))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
    orphan = OrderLine(order_id=424242, external_line_id="x", channel_sku="x", quantity=1)
    with transaction(engine) as session:
        session.add(orphan)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    engine.dispose()


def test_a_reader_is_not_held_up_by_a_writer_holding_the_write_lock(tmp_path: Path) -> None:
    engine = fresh_engine(sqlite_url(tmp_path))
    with transaction(engine) as writer:
        writer.add(Sku(code="NEW"))
        writer.flush()  # BEGIN IMMEDIATE: this transaction holds the write lock
        with transaction(engine, read_only=True) as reader:
            assert reader.exec(select(Sku)).all() == []  # the uncommitted row is not visible
    with transaction(engine, read_only=True) as reader:
        assert [sku.code for sku in reader.exec(select(Sku))] == ["NEW"]
    engine.dispose()
