"""Console lists page by key, as the API does (hub/api/paging.py): a page reads one row
more than it shows, and that row's presence gives the "next page" link, which carries
the key of the last row shown. Never by offset: on 100,000 SKUs page 900 costs what
page 1 costs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import Request

from omnisync.hub.api.paging import encode_cursor

Row = TypeVar("Row")
PAGE_SIZE = 50


def console_page(
    rows: Sequence[Row],
    limit: int,
    request: Request,
    key_of: Callable[[Row], tuple[str | int, ...]],
) -> tuple[Sequence[Row], str | None]:
    """The rows to show and the next page's URL (None on the last page)."""
    if len(rows) <= limit:
        return rows, None
    shown = rows[:limit]
    following = request.url.include_query_params(cursor=encode_cursor(*key_of(shown[-1])))
    return shown, f"{following.path}?{following.query}"
