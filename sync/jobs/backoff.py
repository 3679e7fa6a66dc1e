"""How long an item the channel refused waits before it is tried again."""

from __future__ import annotations

from datetime import timedelta

MAX_ITEM_BACKOFF = timedelta(hours=1)
_MAX_DOUBLINGS = 20  # past this the cap holds anyway; keeps 2**n from overflowing timedelta


def item_backoff(base: timedelta, attempts: int) -> timedelta:
    """`base` doubled per failed attempt after the first, at most MAX_ITEM_BACKOFF."""
    doublings = min(max(attempts - 1, 0), _MAX_DOUBLINGS)
    return min(base * (1 << doublings), MAX_ITEM_BACKOFF)
