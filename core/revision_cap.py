"""The `revision_cap` warning: listings whose stock pushes are coalesced or held near
the channel's daily revision limit (eBay: 250 revisions per listing and day).

The stock job raises it where it holds a listing back (sync/jobs/stock.py); the alert
rules resolve it once no listing of the channel carries a `push_note` any more
(sync/alerts.py), which happens when the next day's pushes go as usual.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_REVISION_CAP, open_alert
from omnisync.core.clock import iso
from omnisync.core.db import count_where, exists_where
from omnisync.core.models import Alert, Listing
from omnisync.core.types import AlertSeverity

NAMED = 20
"""How many listings the alert names (the count says how many there are)."""


def _noted(channel_id: int | None) -> tuple[ColumnElement[bool], ...]:
    return (col(Listing.channel_id) == channel_id, col(Listing.push_note).is_not(None))


def raise_revision_cap_alert(session: Session, channel_id: int) -> Alert:
    """Open or refresh the channel's warning, naming the listings held back."""
    rows = session.exec(
        select(Listing.channel_sku, Listing.held_until)
        .where(*_noted(channel_id))
        .order_by(col(Listing.channel_sku))
        .limit(NAMED)
    ).all()
    total = count_where(session, Listing, *_noted(channel_id))
    named = [
        {"listing": sku, "held_until": iso(until) if until is not None else None}
        for sku, until in rows
    ]
    more = f" and {total - len(named)} more" if total > len(named) else ""
    return open_alert(
        session,
        RULE_REVISION_CAP,
        channel_id,
        f"{total} listing(s) near the channel's daily revision limit: their stock pushes are "
        "coalesced or held, and the latest quantity goes when the limit allows "
        f"(`omnisync listings list`): {', '.join(sku for sku, _ in rows)}{more}",
        severity=AlertSeverity.WARNING,
        details={"listings": named, "count": total},
        new_occurrence=False,
    )


def has_held_listings(session: Session, channel_id: int | None) -> bool:
    """Whether any listing of the channel is still coalesced or held."""
    return exists_where(session, *_noted(channel_id))


def count_held_listings(session: Session, channel_id: int | None) -> int:
    return count_where(session, Listing, *_noted(channel_id))
