"""Finding SKUs by what a person types or scans: a SKU code or a barcode (the SKU's own
or a packaging's), whole or its beginning, or a word of the title; for the console's
Stock screen and its "link a listing" search.

Paged by SKU code with a limit, never the whole catalogue in Python: the code and
barcode prefixes are index ranges (`code >= 'AB' AND code < 'AC'`, checked with the
exact prefix so no collation can widen them) gathered first, the title a
case-insensitive contains (the one part that reads every title: about 50 ms on 100,000
SKUs on SQLite).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, func, or_, union_all
from sqlmodel import Session, col, select

from omnisync.core.models import PackagingBarcode, Sku

MAX_SEARCH = 200
"""A search text is cut to this many characters (no code or title is longer to match)."""


def search_skus(
    session: Session,
    text: str,
    *,
    limit: int,
    after_code: str | None = None,
    include_retired: bool = True,
) -> list[Sku]:
    """Up to `limit` SKUs matching `text` (every SKU when it is blank), by code, from
    after `after_code` when given."""
    query = select(Sku).order_by(col(Sku.code)).limit(max(limit, 0))
    wanted = text.strip()[:MAX_SEARCH]
    if wanted:
        by_code_or_barcode: CompoundSelect[Any] = union_all(
            select(Sku.id).where(_starts_with(Sku.code, wanted)),
            select(Sku.id).where(_starts_with(Sku.barcode, wanted)),
            select(PackagingBarcode.sku_id).where(PackagingBarcode.barcode == wanted),
        )
        pattern = f"%{_like_escaped(wanted)}%"
        title = col(Sku.title)
        # SQLite's LIKE ignores case (ASCII) by itself; lower() on each of 100,000 titles
        # would double the scan. PostgreSQL's LIKE does not: ILIKE there.
        if session.get_bind().dialect.name == "sqlite":
            in_title = title.like(pattern, escape="\\")
        else:
            in_title = title.ilike(pattern, escape="\\")
        query = query.where(or_(col(Sku.id).in_(by_code_or_barcode), in_title))
    if after_code is not None:
        query = query.where(col(Sku.code) > after_code)
    if not include_retired:
        query = query.where(col(Sku.retired_at).is_(None))
    return list(session.exec(query))


def _starts_with(column: Any, prefix: str) -> Any:
    """`column` begins with `prefix` (case as typed): an index range, then the check."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters: skip over them
        following = 0xE000
    bound = prefix[:-1] + chr(following) if following <= 0x10FFFF else None
    ranged = col(column) >= prefix
    if bound is not None:
        ranged = ranged & (col(column) < bound)
    return ranged & (func.substr(col(column), 1, len(prefix)) == prefix)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
