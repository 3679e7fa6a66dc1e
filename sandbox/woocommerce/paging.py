"""Listing pages the WordPress way: ``page`` and ``per_page`` in, ``X-WP-Total``,
``X-WP-TotalPages`` and a ``Link`` header out.

``per_page`` is 1 to 100 (default 10) and ``page`` 1 or more; anything else is refused
as WordPress refuses it (400 ``rest_invalid_param``). ``Link`` names the previous and
next pages (``<URL>; rel="prev", <URL>; rel="next"``) with the request's own query, only
``page`` changed. A page past the last is empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import urlencode

from omnisync.sandbox.woocommerce.model import invalid_param

T = TypeVar("T")

DEFAULT_PER_PAGE: Final = 10
MAX_PER_PAGE: Final = 100


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def page_of(query: Mapping[str, str]) -> Page:
    size = _whole(query, "per_page", DEFAULT_PER_PAGE)
    if not 1 <= size <= MAX_PER_PAGE:
        raise invalid_param(
            "per_page", f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)"
        )
    number = _whole(query, "page", 1)
    if number < 1:
        raise invalid_param("page", "page must be greater than or equal to 1")
    return Page(number, size)


def paginate(
    items: Sequence[T], page: Page, url: str, query: Mapping[str, str]
) -> tuple[list[T], dict[str, str]]:
    """One page of ``items`` and the headers WordPress sends with it."""
    total = len(items)
    pages = math.ceil(total / page.size) if total else 0
    start = (page.number - 1) * page.size
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    if page.number > 1 and pages > 0:
        links.append(f'<{_page_url(url, query, min(page.number - 1, pages))}>; rel="prev"')
    if page.number < pages:
        links.append(f'<{_page_url(url, query, page.number + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return list(items[start : start + page.size]), headers


def _page_url(url: str, query: Mapping[str, str], number: int) -> str:
    return f"{url}?{urlencode({**query, 'page': str(number)})}"


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None
