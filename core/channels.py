"""Channel rows: the config mirrored into the database, and where each channel sells from.

A channel is paused when it refuses our credentials, and its `auth_failure` alert
is open exactly as long: pause_channel and resume_channel are the only places that
change `paused_reason`, and each changes the alert with it.

An admin may also pause a channel by hand (pause_channel_by_hand: `paused_by` names
them, and no alert opens). What lifts the hub's own pause (a changed config, a run that
succeeds: lift_automatic_pause) leaves a pause by hand in place; only resume_channel,
a resume by hand, ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from omnisync.core.alerting import RULE_AUTH, open_alert, open_alert_condition, resolve_alert
from omnisync.core.clock import clock_of
from omnisync.core.errors import NotFound
from omnisync.core.models import Channel, Location
from omnisync.core.routing import RouteLocation
from omnisync.core.types import AlertSeverity, LocationKind


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    type: str
    enabled: bool
    locations: Sequence[str] | None
    stock_rules: dict[str, Any]
    fingerprint: str = ""
    """Digest of the channel's whole config: a change un-pauses a paused channel."""
    routing: dict[str, Any] | None = None
    """hub.yaml's `routing:` as it applies to the channel (core/routing.py RoutingRules)."""


def sync_channels(
    session: Session, specs: Sequence[ChannelSpec], *, disable_unlisted: bool = True
) -> list[Channel]:
    """Upsert a Channel row per configured channel; channels no longer configured are
    disabled (with `disable_unlisted`, else left as they are)."""
    existing = {channel.name: channel for channel in session.exec(select(Channel))}
    configured = []
    now = clock_of(session).now()
    for spec in specs:
        channel = existing.pop(spec.name, None) or Channel(
            name=spec.name, type=spec.type, created_at=now, updated_at=now
        )
        wanted = {
            "type": spec.type,
            "enabled": spec.enabled,
            "locations": list(spec.locations) if spec.locations is not None else None,
            "stock_rules": dict(spec.stock_rules),
            "config_fingerprint": spec.fingerprint,
            "routing": spec.routing,
        }
        if channel.id is None or any(getattr(channel, k) != v for k, v in wanted.items()):
            if channel.config_fingerprint != spec.fingerprint and channel.id is not None:
                lift_automatic_pause(session, channel)  # new config: let it try again
            for key, value in wanted.items():
                setattr(channel, key, value)
            channel.updated_at = now
            session.add(channel)
        configured.append(channel)
    for orphan in existing.values() if disable_unlisted else ():
        if orphan.enabled:
            orphan.enabled = False
            orphan.updated_at = now
            session.add(orphan)
    session.flush()
    return configured


def pause_channel(session: Session, channel: Channel, reason: str) -> None:
    """Stop the channel's jobs until its config changes or a run succeeds; alert on it.
    A pause by hand keeps its own words (and stays until a resume by hand)."""
    if channel.paused_by is None:
        channel.paused_reason = reason
        session.add(channel)
    open_alert(
        session,
        RULE_AUTH,
        channel.id,
        f"{channel.name}: the channel refused our credentials; its jobs are paused ({reason})",
        severity=AlertSeverity.CRITICAL,
    )


def resume_channel(session: Session, channel: Channel) -> None:
    """Let the channel's jobs run again (a pause by hand ends too); its auth_failure alert
    resolves."""
    channel.paused_reason = None
    channel.paused_by = None
    session.add(channel)
    resolve_alert(session, RULE_AUTH, channel.id)


REASON_LENGTH = 500
"""The most of a reason for a pause by hand that is kept."""


def pause_channel_by_hand(session: Session, channel: Channel, by: str, reason: str | None) -> None:
    """Stop the channel's jobs until someone resumes it by hand: `paused_reason` reads
    "paused by NAME: REASON". No alert opens (someone chose it); an auth_failure alert
    already open stays open until the resume."""
    who = by.strip()[:100] or "unknown"
    words = " ".join((reason or "").split())[:REASON_LENGTH]
    channel.paused_by = who
    channel.paused_reason = f"paused by {who}: {words}" if words else f"paused by {who}"
    session.add(channel)


def lift_automatic_pause(session: Session, channel: Channel) -> bool:
    """What a changed config or a successful run does: resume a channel the hub paused
    itself. A channel paused by hand stays paused (only its auth_failure alert, if one is
    open, resolves: the credentials work or changed). Returns whether it resumed."""
    if channel.paused_by is not None:
        resolve_alert(session, RULE_AUTH, channel.id)
        return False
    resume_channel(session, channel)
    return True


def channel_by_name(session: Session, name: str) -> Channel:
    channel = session.exec(select(Channel).where(Channel.name == name)).first()
    if channel is None:
        raise NotFound(f"unknown channel {name!r}")
    return channel


@dataclass(frozen=True)
class RunState:
    """What decides whether a channel's job may run now, read in one statement."""

    channel_id: int
    paused_reason: str | None
    auth_alert_open: bool
    """Its auth_failure alert is open (a success resolves it, with any pause)."""


_RUN_STATE = select(
    Channel.id, Channel.paused_reason, open_alert_condition(RULE_AUTH, Channel.id)
).where(Channel.name == bindparam("name"))
"""Built once: every run of every job asks it."""


def channel_run_state(session: Session, name: str) -> RunState:
    row = session.connection().execute(_RUN_STATE, {"name": name}).first()
    if row is None or row[0] is None:
        raise NotFound(f"unknown channel {name!r}")
    return RunState(row[0], row[1], bool(row[2]))


def take_over_orders(session: Session, channel: Channel, at: datetime) -> datetime:
    """Record `at` as the moment the hub took the channel's orders over, unless a moment
    is recorded already (the first one stays, whoever races for it); returns the one
    that holds and leaves it on `channel`.

    The orders job takes a channel over at the start of its first run, a webhook
    delivery that comes before any run at the change it reports. Shipments the
    channel dates before that moment are history (core/order_intake.py).
    """
    if channel.live_since is None:
        session.execute(
            update(Channel)
            .where(col(Channel.id) == channel.id, col(Channel.live_since).is_(None))
            .values(live_since=at)
            .execution_options(synchronize_session=False)
        )
        session.refresh(channel, ["live_since"])
    assert channel.live_since is not None
    return channel.live_since


# Built once: every push of stock asks one of them.
_OWN_LOCATIONS = (
    select(Location.id, Location.code)
    .where(Location.kind != LocationKind.CHANNEL_MANAGED)
    .order_by(col(Location.id))
)
_LOCATIONS_NAMED = select(Location.id, Location.code).where(
    col(Location.code).in_(bindparam("codes", expanding=True))
)


def selling_location_ids(session: Session, channel: Channel) -> list[int]:
    """Ids of the locations the channel sells from, in the channel's order of preference."""
    return [location.id for location in selling_locations(session, channel)]


def selling_locations(session: Session, channel: Channel) -> list[RouteLocation]:
    """The locations the channel sells from (id and code), in its order of preference."""
    if channel.locations is None:
        rows = session.connection().execute(_OWN_LOCATIONS)
        return [RouteLocation(location_id, code) for location_id, code in rows if location_id]
    by_code = {
        code: location_id
        for location_id, code in session.connection().execute(
            _LOCATIONS_NAMED, {"codes": list(channel.locations)}
        )
    }
    return [
        RouteLocation(location_id, code)
        for code in channel.locations
        if (location_id := by_code.get(code)) is not None
    ]
