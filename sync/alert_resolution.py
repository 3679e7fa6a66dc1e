"""An operator resolves an alert (`omnisync alerts resolve`, POST /api/v1/alerts/{id}/resolve),
recorded with who and why, and is told what its rule does next.

The rule's condition is read at once where a condition function of the rules can
read it (sync/alerts.py REOPENED_HERE, core/tracking.py); if it still holds the
alert opens again as a new row, so notifiers hear `resolved` of this one once and
`open` of the new one:

- `oversold_order`, `quarantined_payload`, `buyer_cancel_request`, `auth_failure`:
  on the running hub's next evaluation;
- `tracking_unknown`: on the carrier channel's next tracking run;
- `consecutive_failures`, `stale`, `push_backlog`, `unlinked_listings`: their
  condition needs the running hub's schedules, thresholds and clock; it
  re-evaluates them and opens them again if they still hold;
- `carrier_exception`: stays resolved. A returned parcel is final and never
  listed again; a parcel that enters exception or is returned afterwards opens a
  new alert.
- `pick_short`: stays resolved. A short pick is a past event (its orders are oversold
  alerts of their own while they lack stock); the next short pick opens a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from omnisync.core.alerting import RULE_PICK_SHORT, resolve_alert_by_hand
from omnisync.core.models import Alert, Channel
from omnisync.core.tracking import (
    RULE_CARRIER_EXCEPTION,
    RULE_TRACKING_UNKNOWN,
    still_unknown_count,
)
from omnisync.sync.alerts import REOPENED_HERE

NEXT_EVALUATION = "the running hub will open it again on its next evaluation"
NEXT_TRACKING_RUN = "the tracking job will open it again on its next run"
REEVALUATED = (
    "the running hub re-evaluates it and opens it again on its next evaluation "
    "if its condition still holds"
)
GONE = "its condition no longer holds"
STAYS_RESOLVED = (
    "it stays resolved: the parcels it lists raise no alert again unless their status "
    "changes, and a parcel that enters exception or is returned to the sender opens a new one"
)

PICK_SHORT_STAYS_RESOLVED = (
    "it stays resolved: a short pick is a past event (orders left without stock are "
    "oversold alerts of their own); the next short pick opens a new one"
)


@dataclass(frozen=True)
class Outlook:
    """What the alert's rule does after a resolve by hand."""

    opens_again: bool | None
    """True: its condition still holds and it will open again; False: it stays resolved
    until its condition arises anew; None: only the running hub's evaluation can tell."""
    says: str
    """The same for the operator, after "resolved; "."""


@dataclass(frozen=True)
class HandResolution:
    alert: Alert
    channel: str | None
    """The name of the alert's channel."""
    outlook: Outlook


def resolve_by_hand(
    session: Session, alert_id: int, *, by: str, note: str | None = None
) -> HandResolution:
    """Resolve the open alert; NotFound for an unknown id, Conflict if resolved already."""
    alert = resolve_alert_by_hand(session, alert_id, by=by, note=note)
    channel = session.get(Channel, alert.channel_id) if alert.channel_id is not None else None
    return HandResolution(
        alert, channel.name if channel is not None else None, outlook(session, alert)
    )


def outlook(session: Session, alert: Alert) -> Outlook:
    """Read the resolved alert's condition as its rule reads it."""
    condition = REOPENED_HERE.get(alert.rule)
    if condition is not None:
        if not condition.holds(session, alert):
            return Outlook(False, GONE)
        return _still_holds(condition.evidence(session, alert), NEXT_EVALUATION)
    if alert.rule == RULE_TRACKING_UNKNOWN:
        unknown = still_unknown_count(session, alert)
        if not unknown:
            return Outlook(False, GONE)
        numbers = "tracking number" if unknown == 1 else "tracking numbers"
        return _still_holds(f"{unknown} {numbers} still unknown to the carrier", NEXT_TRACKING_RUN)
    if alert.rule == RULE_CARRIER_EXCEPTION:
        return Outlook(False, STAYS_RESOLVED)
    if alert.rule == RULE_PICK_SHORT:
        return Outlook(False, PICK_SHORT_STAYS_RESOLVED)
    return Outlook(None, REEVALUATED)


def _still_holds(evidence: str, who_reopens: str) -> Outlook:
    return Outlook(True, f"its condition still holds ({evidence}), so {who_reopens}")
