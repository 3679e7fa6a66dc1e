"""Retry a quarantined payload: its kept raw text through the channel's mapping again.

For a payload that failed because of the mapping (since fixed) or of data the
channel has since corrected. As a webhook delivery (sync/webhooks.py): mapped
outside any transaction, then, in one, what it carries goes through order
intake and the payload is resolved. A payload that still does not map stays as
it is, and the error says why.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import Session, select

from omnisync.connectors.base import Connector, ConnectorError, PayloadError
from omnisync.core.db import transaction
from omnisync.core.dto import QUARANTINED_UNMATCHED_RETURN, NormalisedReturn, WebhookEvents
from omnisync.core.errors import InvalidRequest
from omnisync.core.models import Channel, Return
from omnisync.core.quarantine import Resolution, mark_resolved, open_payload
from omnisync.core.redaction import redact
from omnisync.core.users import Actor, record_action
from omnisync.sync.engine import SyncEngine
from omnisync.sync.returns import channel_returns
from omnisync.sync.webhooks import ingest_events


def retry_payload(
    sync: SyncEngine, payload_id: int, *, by: str, audit: Actor | None = None
) -> Resolution:
    """Map the unresolved payload again and take it in; InvalidRequest if it still fails.
    With `audit`, the user's action (`quarantine.retry`) is recorded in the transaction
    that takes the payload in and resolves it (a retry that fails records nothing)."""
    with transaction(sync.database, read_only=True) as session:
        payload = open_payload(session, payload_id)
        channel = _configured_channel(session, sync, payload_id, payload.channel_id)
        kind, raw = payload.kind, payload.raw
    connector = sync.connector(channel)
    try:
        events = _mapped(connector, kind, raw)
    except ConnectorError as error:
        reason = redact(f"{type(error).__name__}: {error}", sync.secrets)
        raise InvalidRequest(
            f"quarantined payload {payload_id} still does not map ({reason}); it stays quarantined"
        ) from None
    with transaction(sync.database) as session:
        payload = open_payload(session, payload_id)  # locked: resolved meanwhile, it stops here
        row = session.get(Channel, payload.channel_id)
        assert row is not None
        ingest_events(session, row, events, channel_returns(connector))
        if kind == QUARANTINED_UNMATCHED_RETURN and not _placed(session, row, events):
            raise InvalidRequest(
                f"quarantined payload {payload_id}: its order is still not in the hub; "
                "it stays quarantined"
            )
        taken = tuple(order.external_id for order in events.orders)
        resolution = mark_resolved(
            session, payload, by=by, note=_retried_note(events), orders=taken
        )
        if audit is not None:
            record_action(session, audit, "quarantine.retry", f"payload {payload_id}")
        return resolution


def _mapped(connector: Connector, kind: str, raw: str) -> WebhookEvents:
    """What the payload carries: a return the hub could not place was read already and
    is kept as read; anything else goes through the channel's mapping again."""
    if kind == QUARANTINED_UNMATCHED_RETURN:
        try:
            return WebhookEvents(returns=(NormalisedReturn.model_validate_json(raw),))
        except ValidationError as error:
            raise PayloadError(f"the kept return does not read: {error}") from None
    return connector.map_quarantined(kind, raw)


def _placed(session: Session, channel: Channel, events: WebhookEvents) -> bool:
    """Whether every return of `events` is in the hub now."""
    return all(
        session.exec(
            select(Return.id).where(
                Return.channel_id == channel.id, Return.external_id == ret.external_id
            )
        ).first()
        is not None
        for ret in events.returns
    )


def _configured_channel(
    session: Session, sync: SyncEngine, payload_id: int, channel_id: int | None
) -> str:
    """The name of the payload's channel, which the config must still have."""
    channel = session.get(Channel, channel_id) if channel_id is not None else None
    if channel is None:
        raise InvalidRequest(f"quarantined payload {payload_id} has no channel to map it")
    if channel.name not in sync.channels:
        raise InvalidRequest(
            f"quarantined payload {payload_id} is of channel {channel.name}, which is no "
            "longer configured"
        )
    return channel.name


def _retried_note(events: WebhookEvents) -> str:
    taken = [f"order {order.external_id}" for order in events.orders]
    taken += [f"return {ret.external_id}" for ret in events.returns]
    taken += [f"quantity of {seen.value}" for seen in events.quantities]
    if not taken:
        return "retried: it carries nothing to take in"
    return "retried: took in " + ", ".join(taken)
