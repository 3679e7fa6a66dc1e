"""Who resolved a row by hand, and why: shared by quarantined payloads and alerts.

Both keep `resolved_at`, `resolved_by` (an operator's name, or "api") and an optional
`resolution_note`. A row resolved by the hub itself has no `resolved_by`.
"""

from __future__ import annotations

from datetime import datetime

from omnisync.core.errors import Conflict

RESOLVER_LENGTH = 200
"""Longest `resolved_by` kept (the columns' length)."""


def resolver(by: str) -> str:
    """`by` as the `resolved_by` column keeps it."""
    return by[:RESOLVER_LENGTH]


def already_resolved(what: str, resolved_at: datetime | None, resolved_by: str | None) -> Conflict:
    """The error for resolving `what` ("alert 7") a second time."""
    by = f" by {resolved_by}" if resolved_by else ""
    at = f" at {resolved_at.isoformat(timespec='seconds')}" if resolved_at else ""
    return Conflict(f"{what} was resolved{by}{at}")
