"""The daily revision budget as a property: whatever a day's changes are, the pushes it
lets through never pass the limit, a sell-out always goes while a revision is left, and
the next day's first push carries the latest quantity. The stock job's bookkeeping is
replayed here on a Listing in memory (tests/integration/test_revision_budget.py runs the
job itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.core.models import Listing
from omnisync.sync.jobs.revision_budget import RevisionBudget, next_day

DAY_START = datetime(2026, 5, 4, tzinfo=UTC)

changes = st.lists(
    st.tuples(st.integers(min_value=1, max_value=600), st.integers(min_value=0, max_value=50)),
    min_size=1,
    max_size=400,
)
"""(seconds since the change before, the new quantity)."""


def replay(budget: RevisionBudget, steps: list[tuple[int, int]]) -> tuple[Listing, list[int]]:
    listing = Listing(channel_id=1, channel_sku="X", last_ack_quantity=None)
    pushed: list[int] = []
    now = DAY_START
    for gap, quantity in steps:
        now = min(now + timedelta(seconds=gap), next_day(DAY_START) - timedelta(seconds=1))
        if quantity == listing.last_ack_quantity:
            continue  # the stock job never sends a quantity the channel has
        decision = budget.decide(listing, quantity, now)
        if quantity == 0 and budget.used_today(listing, now.date()) < budget.limit:
            assert decision.push, "a sell-out waits while a revision is left"
        if decision.push:
            pushed.append(quantity)
            used = budget.used_today(listing, now.date())
            listing.revisions, listing.revision_day = used + 1, now.date()
            listing.last_ack_quantity, listing.last_ack_at = quantity, now
    return listing, pushed


@settings(max_examples=150, deadline=None)
@given(steps=changes, limit=st.integers(min_value=5, max_value=250))
def test_a_day_never_spends_more_than_the_limit(steps: list[tuple[int, int]], limit: int) -> None:
    budget = RevisionBudget(limit)
    listing, pushed = replay(budget, steps)
    assert len(pushed) <= limit
    assert listing.revisions <= limit


@settings(max_examples=100, deadline=None)
@given(steps=changes, limit=st.integers(min_value=5, max_value=30))
def test_the_next_day_carries_the_latest_quantity(steps: list[tuple[int, int]], limit: int) -> None:
    budget = RevisionBudget(limit)
    listing, _ = replay(budget, steps)
    latest = steps[-1][1]
    tomorrow = next_day(DAY_START) + timedelta(seconds=1)
    if latest != listing.last_ack_quantity:
        assert budget.decide(listing, latest, tomorrow).push
