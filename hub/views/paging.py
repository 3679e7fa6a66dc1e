"""Lists read a page by key, newest first: the key is a row's time and then its id, and a
page goes on below the (time, id) of the last row of the page before (`before`). Rows
written meanwhile neither shift nor repeat a page, as an offset alone would make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.orm import Mapped


class Ordered(Protocol):
    """A select statement, as far as paging needs it."""

    def where(self, *clauses: Any) -> Self: ...
    def order_by(self, *clauses: Any) -> Self: ...


Query = TypeVar("Query", bound=Ordered)


def newest_first(
    query: Query,
    at: Mapped[datetime],
    row_id: Mapped[int | None],
    before: tuple[datetime, int] | None,
) -> Query:
    """`query` ordered by `at` then `row_id`, newest first, and kept below `before` (time,
    id) when given."""
    if before is not None:
        moment, below_id = before
        query = query.where(or_(at < moment, and_(at == moment, row_id < below_id)))
    return query.order_by(at.desc(), row_id.desc())
