"""Walking WooCommerce's lists, which page by number and say in response headers where
the list ends.

A list answers one page (`page`, `per_page`) with `X-WP-Total`/`X-WP-TotalPages` and a
`Link` header naming the `next` page while there is one. The next page is the one
`Link` names when the shop sends that header (a repeated one fails the walk through
connectors/pagination.py's guard, like any channel's repeated page token); without it,
page N+1 while N is below `X-WP-TotalPages` as the page just read says, so a total that
shrinks while the walk goes on (orders changed meanwhile move to the end) stops it
early instead of asking for pages beyond the end; without either header, the next page
while the page was full. An empty page always ends the walk.

One guard more, where the walk counts pages itself (the shop sent no `Link`): a page
holding exactly the items (id and modification time) of a page read before means the
shop, or a proxy caching its answers, ignores `page`; counting on would read that page
until the total runs out (or forever, should it keep growing), so the walk fails at
once with a TransientError, and the next run starts again from the last committed
cursor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from omnisync.connectors.base import TransientError
from omnisync.connectors.pagination import walk_pages

TOTAL_PAGES = "X-WP-TotalPages"
LINK = "Link"
_LINK_PART = re.compile(r"<(?P<url>[^>]*)>\s*;(?P<params>[^,]*)")
_REL = re.compile(r"""rel\s*=\s*"?(?P<rel>[^";]+)"?""")


class RepeatedPage(TransientError):
    """The shop answered a page with the very items of a page before it."""

    def __init__(self, operation: str, page: str, earlier: str) -> None:
        super().__init__(
            f"{operation}: page {page} holds the same items as page {earlier}: the shop "
            "(or a cache in front of it) ignores the page asked for"
        )


@dataclass(frozen=True)
class Page:
    number: str
    """The `page` asked for (WooCommerce's numbers; whatever a Link header named)."""
    items: Sequence[Any]
    headers: Mapping[str, str]


def walk_numbered_pages(
    operation: str,
    fetch: Callable[[str], tuple[Sequence[Any], Mapping[str, str]]],
    page_size: int,
) -> Iterator[Sequence[Any]]:
    """The items of each page in turn; `fetch(page)` reads one page: (its items, the
    response headers). Lazy, like walk_pages."""
    seen: dict[tuple[Hashable, ...], str] = {}
    linked = False
    """Whether the shop sent a Link header on this walk: a repeated Link is then
    walk_pages' guard to catch (WooCommerce's last page links only to the previous)."""

    def page_at(token: str | None) -> Page:
        nonlocal linked
        number = token or "1"
        items, headers = fetch(number)
        linked = linked or _header(headers, LINK) is not None
        fingerprint = tuple(_identity(item) for item in items)
        if not linked and fingerprint and fingerprint in seen:
            raise RepeatedPage(operation, number, seen[fingerprint])
        seen.setdefault(fingerprint, number)
        return Page(number, items, headers)

    for page in walk_pages(operation, page_at, lambda page: next_page(page, page_size)):
        yield page.items


def next_page(page: Page, page_size: int) -> str | None:
    """The `page` to ask for after `page`; None when it was the last."""
    if not page.items:
        return None
    link = _header(page.headers, LINK)
    if link is not None:
        return _linked_next(link)
    current = _number(page.number)
    if current is None:
        return None
    total = _number(_header(page.headers, TOTAL_PAGES))
    if total is not None:
        return str(current + 1) if current < total else None
    return str(current + 1) if len(page.items) >= page_size else None


def _linked_next(link: str) -> str | None:
    for part in _LINK_PART.finditer(link):
        rel = _REL.search(part["params"])
        if rel is None or "next" not in rel["rel"].split():
            continue
        number = dict(parse_qsl(urlsplit(part["url"]).query)).get("page")
        if not number:
            raise TransientError(f"the shop named a next page without a page number: {link}")
        return number
    return None


def _identity(item: Any) -> Hashable:
    if isinstance(item, dict):
        return (str(item.get("id")), str(item.get("date_modified_gmt")))
    return repr(item)


def _number(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)
