"""The SQLAlchemy ``Table`` behind a SQLModel table class, typed.

Core statements (``insert(...).on_conflict_do_update``, ``update(table).where(table.c...)``)
need the ``Table``; SQLModel sets ``__table__`` on every ``table=True`` class at run time but
does not declare it, so reading it directly needs a ``type: ignore`` at every use. This one
helper reads it once, checks it, and returns it typed: a class that is not a table model
fails here with a clear error instead of an ``AttributeError`` deep inside a statement.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The ``Table`` SQLModel built for ``model`` (a class declared with ``table=True``)."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model (declare it with table=True)")
    return table


QUEUE_TABLE_PREFIX = "procrastinate_"
"""procrastinate's own tables (migration 0019): not described by our models."""


def is_hub_table(name: str | None, type_: str, *_: object) -> bool:
    """Alembic's include_name: compare only the hub's own tables with the models."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_TABLE_PREFIX))
