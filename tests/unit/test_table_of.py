"""core/models/tables.table_of: the typed Table behind a SQLModel table class."""

from __future__ import annotations

import pytest
from sqlalchemy import Table
from sqlmodel import SQLModel

from omnisync.core.models import StockLevel
from omnisync.core.models.tables import table_of


class NotATable(SQLModel):
    name: str


def test_a_table_model_gives_its_table() -> None:
    table = table_of(StockLevel)
    assert isinstance(table, Table)
    assert table.name == "stock_levels"
    assert "on_hand" in table.c


def test_a_model_without_a_table_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="NotATable is not a table model"):
        table_of(NotATable)
