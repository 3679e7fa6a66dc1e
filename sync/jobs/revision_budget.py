"""A channel's daily revision limit per listing (eBay: 250 a day), spent so that the
listing is never refused and never left far behind.

Every acknowledged push that changes a listing's quantity is one revision; the stock job
counts them per listing and UTC day (`listings.revision_day`, `listings.revisions`). The
stock job never sends a quantity the channel acknowledged last; reconcile, the backstop
against drift, sends every listing's figure again, which the hub counts as no revision
(on a listing that had drifted it is one, unseen: the channel's refusal at its limit
is the backstop for that). As the count nears the limit the listing's pushes are
coalesced:

- below `coalesce_from` (80 % of the limit) every change goes at once;
- from there, a listing is pushed at most once per interval: the rest of the day after
  its last push, divided evenly by the revisions left before the reserve (plus one, the
  slice that ends at midnight); the pushes it skips are not lost, the next one carries
  the latest quantity (dirty stays set, `held_until` says when);
- the last `reserve` revisions of the day are kept for sell-outs: a quantity of 0 goes
  at once while any revision is left, since that is the push that prevents overselling;
- at the limit nothing is sent until the next UTC day, when the latest quantity goes.

While a listing is held or coalesced its `push_note` says so in words (`listings list`),
and the channel's `revision_cap` alert (a warning) lists it; the note clears, and the
alert resolves, once the listing is pushed below the threshold again: the next day, by
its next change or at the latest by reconcile, which pushes every listing.
A channel that still refuses for the limit (the seller revised the listing by hand on
the channel too) is held until the next day the same way, not retried and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from omnisync.core.models import Listing

COALESCE_FROM = 0.8
"""Coalescing starts when this share of the day's revisions is used."""
RESERVE_SHARE = 0.04
"""The share of the limit kept for sell-outs (250: the last 10)."""
MIN_INTERVAL = timedelta(minutes=1)


def next_day(now: datetime) -> datetime:
    """The start of the UTC day after `now`'s."""
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)


@dataclass(frozen=True)
class Decision:
    """Push now (`hold_until` None) or hold the listing until `hold_until`; `note` is what
    the listing's state says (None: nothing to say, well within the budget)."""

    hold_until: datetime | None
    note: str | None

    @property
    def push(self) -> bool:
        return self.hold_until is None


@dataclass(frozen=True)
class RevisionBudget:
    limit: int

    @property
    def coalesce_from(self) -> int:
        return int(self.limit * COALESCE_FROM)

    @property
    def reserve(self) -> int:
        return max(int(self.limit * RESERVE_SHARE), 1)

    @staticmethod
    def used_today(listing: Listing, today: date) -> int:
        return listing.revisions if listing.revision_day == today else 0

    def decide(self, listing: Listing, quantity: int, now: datetime) -> Decision:
        used = self.used_today(listing, now.date())
        counted = f"{used} of {self.limit} revisions used today (UTC)"
        midnight = next_day(now)
        if used >= self.limit:
            return Decision(
                midnight,
                f"at the channel's daily revision limit: {counted}; held until "
                f"{midnight:%Y-%m-%d %H:%M} UTC, then the latest quantity goes",
            )
        if used < self.coalesce_from:
            return Decision(None, None)
        if quantity == 0:
            return Decision(
                None, f"coalescing: {counted}; a sell-out still goes at once (reserved)"
            )
        spendable = self.limit - self.reserve - used
        if spendable <= 0:
            return Decision(
                midnight,
                f"near the channel's daily revision limit: {counted}; the last "
                f"{self.reserve} are kept for a sell-out, other changes wait until "
                f"{midnight:%Y-%m-%d %H:%M} UTC",
            )
        last = listing.last_ack_at or now
        # The rest of the day after the last push, in equal slices: one push per slice,
        # the last slice ending when the count starts again. Measured from the last push,
        # not from now, so that waiting does not shrink the wait.
        interval = max((midnight - last) / (spendable + 1), MIN_INTERVAL)
        earliest = last + interval
        note = (
            f"coalescing: {counted}; pushed at most every "
            f"{_minutes(interval)} until {midnight:%Y-%m-%d %H:%M} UTC"
        )
        if earliest > now:
            return Decision(min(earliest, midnight), note)
        return Decision(None, note)

    def refused_for_limit(self, now: datetime) -> Decision:
        """The channel refused the push for its daily limit: held until tomorrow."""
        midnight = next_day(now)
        return Decision(
            midnight,
            "the channel refused the push: the listing's daily revision limit is used up "
            f"(revised elsewhere too); held until {midnight:%Y-%m-%d %H:%M} UTC",
        )


def _minutes(interval: timedelta) -> str:
    minutes = interval.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{interval.total_seconds():.0f} s"
