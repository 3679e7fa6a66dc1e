"""connectors/pagination.py on its own: the walk over a channel's pages by token, and the
guard that a channel repeating a token ends the walk with an error instead of a loop."""

from __future__ import annotations

from itertools import islice

import pytest

from omnisync.connectors.base import TransientError
from omnisync.connectors.pagination import Paginator, RepeatedPageToken, walk_pages

Page = tuple[str, str | None]
"""(the page's content, the token of the next page)."""


class Channel:
    """Answers `pages` by token and records the tokens it was asked for."""

    def __init__(self, pages: dict[str | None, Page]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    def fetch(self, token: str | None) -> Page:
        self.asked.append(token)
        return self.pages[token]

    def walk(self) -> list[str]:
        # At most a few more pages than there are: a walk that loops fails, never hangs.
        walked = walk_pages("listThings", self.fetch, lambda page: page[1])
        return [content for content, _ in islice(walked, len(self.pages) + 3)]


def test_the_walk_follows_each_token_until_there_is_none() -> None:
    shop = Channel({None: ("one", "t2"), "t2": ("two", "t3"), "t3": ("three", None)})
    assert shop.walk() == ["one", "two", "three"]
    assert shop.asked == [None, "t2", "t3"]


def test_a_single_page_is_asked_for_once() -> None:
    shop = Channel({None: ("only", None)})
    assert shop.walk() == ["only"]
    assert shop.asked == [None]


def test_a_token_repeated_at_once_raises_instead_of_looping() -> None:
    shop = Channel({None: ("one", "t2"), "t2": ("two", "t2")})
    with pytest.raises(
        RepeatedPageToken, match=r"listThings: the channel repeated the page token 't2'"
    ):
        shop.walk()
    assert shop.asked == [None, "t2"]


def test_a_channel_cycling_through_two_tokens_is_caught_too() -> None:
    shop = Channel({None: ("one", "a"), "a": ("two", "b"), "b": ("three", "a")})
    with pytest.raises(RepeatedPageToken) as raised:
        shop.walk()
    assert raised.value.token == "a"
    assert raised.value.operation == "listThings"
    assert shop.asked == [None, "a", "b"]


def test_a_repeated_token_is_the_channels_transient_fault() -> None:
    # The engine's failure policy: the run fails, is recorded and starts again later.
    assert issubclass(RepeatedPageToken, TransientError)


def test_the_next_page_is_asked_for_only_when_the_one_before_is_consumed() -> None:
    shop = Channel({None: ("one", "t2"), "t2": ("two", None)})

    walked = walk_pages("listThings", shop.fetch, lambda page: page[1])
    assert shop.asked == []
    assert next(walked) == ("one", "t2")
    assert shop.asked == [None]


def test_the_paginator_keeps_where_the_walk_is() -> None:
    paginator: Paginator[int] = Paginator("offsets")
    assert (paginator.token, paginator.finished) == (None, False)
    paginator.advance(50)
    paginator.advance(100)
    assert (paginator.token, paginator.finished) == (100, False)
    paginator.advance(None)
    assert paginator.finished
    with pytest.raises(RuntimeError, match="already finished"):
        paginator.advance(150)


def test_the_paginator_refuses_an_offset_it_has_been_at() -> None:
    paginator: Paginator[int] = Paginator("offsets")
    paginator.advance(50)
    with pytest.raises(RepeatedPageToken, match="offsets: the channel repeated the page token 50"):
        paginator.advance(50)
