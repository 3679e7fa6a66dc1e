"""Lists of /api/v1: paged by key, never by offset, and filtered by channel.

A route reads one row more than `limit`; that row's presence means a next page, whose
URL (this request's, with `cursor` set after the last row served) goes in the
`Link: <...>; rel="next"` header. A cursor is opaque to clients (base64 of the key's
parts as a JSON list); one the API did not give out is a 422, never a guess. Rows
written meanwhile neither shift nor repeat a page, as an offset would.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Query, Request, Response, status

MAX_LIMIT = 500
BAD_CURSOR = "cursor: not a cursor this API gave out (take it from the Link header)"

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many rows (1 to {MAX_LIMIT}).")
]
CursorParam = Annotated[
    str | None,
    Query(max_length=400, description='From the `Link: <...>; rel="next"` of the page before.'),
]
ChannelFilter = Annotated[str | None, Query(max_length=100, description="Only this channel.")]

Row = TypeVar("Row")


def encode_cursor(*parts: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(text: str, *kinds: type) -> list[Any]:
    """The parts of a cursor made by encode_cursor, checked against `kinds`; 422 otherwise."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != len(kinds)
        or not all(
            isinstance(part, kind) and not isinstance(part, bool)
            for part, kind in zip(parts, kinds, strict=True)
        )
    ):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_CURSOR)
    return parts


def id_cursor(cursor: str | None) -> int | None:
    """The id a list of rows newest first continues below."""
    return None if cursor is None else int(decode_cursor(cursor, int)[0])


def time_id_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (time, id) a list of rows newest first continues below; 422 for a cursor this
    API did not give out."""
    if cursor is None:
        return None
    moment, row_id = decode_cursor(cursor, str, int)
    try:
        return datetime.fromisoformat(moment), row_id
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_CURSOR) from None


def page(
    rows: Sequence[Row],
    limit: int,
    request: Request,
    response: Response,
    cursor_of: Callable[[Row], tuple[str | int, ...]],
) -> Sequence[Row]:
    """Trim the one row read beyond `limit`; its presence means a next page (Link header)."""
    if len(rows) <= limit:
        return rows
    rows = rows[:limit]
    following = request.url.include_query_params(cursor=encode_cursor(*cursor_of(rows[-1])))
    response.headers["Link"] = f'<{following}>; rel="next"'
    return rows
