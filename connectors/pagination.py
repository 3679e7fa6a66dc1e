"""Walking a channel's pages by token, where a channel that repeats a token cannot loop us.

Every paged read of a channel (Shopify's `endCursor`, Amazon's `NextToken`, the sandbox
marketplace's `next_page_token`) is the same walk: ask for the first page, read the
token of the next one from the answer, ask again with it, stop when there is none. The
walk goes through one `Paginator` so that it is written once and the one guard it needs
is never forgotten: a channel that answers with a token it gave before (a bug on its
side, or a proxy caching the first answer) would otherwise have the job fetch the same
pages forever, holding its lease and never failing. A token seen twice raises
`RepeatedPageToken`, a TransientError: the run fails and is recorded, the cursor stays
where the last committed page left it, and the next run starts again from there.

Tokens are compared for the whole walk, not only with the previous one: a channel
cycling through two tokens loops just as surely.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from omnisync.connectors.base import TransientError

Page = TypeVar("Page")
Token = TypeVar("Token", bound=Hashable)


class RepeatedPageToken(TransientError):
    """The channel gave a page token it had given before in the same walk."""

    def __init__(self, operation: str, token: Hashable) -> None:
        super().__init__(f"{operation}: the channel repeated the page token {token!r}")
        self.operation = operation
        self.token = token


class Paginator(Generic[Token]):
    """Where one walk over a channel's pages is: the token of the page to ask for next
    (None for the first), and every token given so far."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        """The channel's name of the paged call, for the error."""
        self.token: Token | None = None
        self.finished = False
        self._seen: set[Token] = set()

    def advance(self, next_token: Token | None) -> None:
        """Move to the page `next_token` names; None (no next page) finishes the walk.
        Raises RepeatedPageToken when the channel gave this token before."""
        if self.finished:
            raise RuntimeError(f"{self.operation}: the walk is already finished")
        if next_token is None:
            self.finished = True
            return
        if next_token in self._seen:
            raise RepeatedPageToken(self.operation, next_token)
        self._seen.add(next_token)
        self.token = next_token


def walk_pages(
    operation: str,
    fetch: Callable[[Token | None], Page],
    next_token: Callable[[Page], Token | None],
) -> Iterator[Page]:
    """Each page in turn: `fetch(None)` first, then `fetch(token)` with the token
    `next_token` reads from the page before, until it reads None. Lazy: a page is asked
    for only when the one before it has been consumed."""
    paginator: Paginator[Token] = Paginator(operation)
    while not paginator.finished:
        page = fetch(paginator.token)
        yield page
        paginator.advance(next_token(page))
