"""Webhook intake: the same upsert path as polling, at once, each delivery taken once.

The signature is checked before anything is stored. A delivery the channel
sends again (same delivery id) changes nothing; an order that cannot be mapped
is quarantined with its raw body. A quantity the channel reports (Shopify's
``inventory_levels/update``) is checked for drift (core/drift.py). Polling and
reconcile stay the backstop for anything a webhook missed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from omnisync.connectors.base import PayloadError
from omnisync.core.alerting import quarantine_payload
from omnisync.core.channels import channel_by_name, take_over_orders
from omnisync.core.clock import clock_of
from omnisync.core.db import insert_ignoring_conflict, transaction
from omnisync.core.drift import observe_quantity
from omnisync.core.dto import QUARANTINED_WEBHOOK, WebhookEvents
from omnisync.core.erasure import erase_buyers
from omnisync.core.models import Channel, WebhookReceipt
from omnisync.core.models.tables import table_of
from omnisync.core.order_intake import upsert_order
from omnisync.core.return_state import ChannelReturns
from omnisync.sync.engine import SyncEngine
from omnisync.sync.returns import channel_returns, take_in_returns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    status: str
    """accepted, duplicate or quarantined."""
    orders: int = 0
    drifted: int = 0
    """Listings whose channel quantity the hub did not push (pushed again)."""


def accept_webhook(
    sync: SyncEngine, channel_name: str, headers: Mapping[str, str], body: bytes
) -> WebhookOutcome:
    """Verify, deduplicate and ingest one delivery; raises InvalidSignature on a bad one."""
    connector = sync.connector(channel_name)
    delivery, topic = connector.webhook_delivery(headers, body)
    events = WebhookEvents()
    rejected: PayloadError | None = None
    try:
        events = connector.parse_webhook(headers, body)  # verifies the signature first
    except PayloadError as error:
        rejected = error
    with transaction(sync.database) as session:
        channel = channel_by_name(session, channel_name)
        if delivery and not insert_ignoring_conflict(
            session,
            table_of(WebhookReceipt),
            {
                "channel_id": channel.id,
                "delivery_id": delivery,
                "topic": topic[:100],
                "received_at": clock_of(session).now(),
            },
            ("channel_id", "delivery_id"),
        ):
            return WebhookOutcome("duplicate")
        if rejected is not None:
            quarantine_payload(
                session,
                channel.id,
                QUARANTINED_WEBHOOK,
                rejected.raw or body,
                str(rejected),
                external_id=rejected.external_id,
            )
            return WebhookOutcome("quarantined")
        drifted = ingest_events(session, channel, events, channel_returns(connector))
    return WebhookOutcome("accepted", len(events.orders), drifted)


def ingest_events(
    session: Session,
    channel: Channel,
    events: WebhookEvents,
    returns: ChannelReturns | None = None,
) -> int:
    """Take in what a delivery carries, in the caller's transaction: its orders through
    order intake, then its returns (sync/returns.py; `returns` is what the channel's type
    takes of them), the buyers whose data the channel asks to erase (core/erasure.py), its
    quantities checked for drift. How many listings drifted.

    Orders delivered before any orders run took the channel over take it over at the
    earliest change they report: the hub heard of those changes, so they are live."""
    if events.orders and channel.live_since is None:
        first_change = min(order.updated_at for order in events.orders)
        take_over_orders(session, channel, min(first_change, clock_of(session).now()))
    for order in events.orders:
        upsert_order(session, channel, order)
    if events.returns:
        take_in_returns(session, channel, events.returns, returns or ChannelReturns())
    if events.erased_buyers:
        assert channel.id is not None
        erased = erase_buyers(session, channel.id, events.erased_buyers)
        # The buyer's name stays out of the log too: it is the data being erased.
        log.info(
            "%s asked to erase %d buyer(s)' personal data: %d order(s) erased",
            channel.name,
            len(events.erased_buyers),
            erased,
        )
    drifted = 0
    for seen in events.quantities:
        drift = observe_quantity(session, channel, seen)
        if drift is not None:
            drifted += 1
            log.warning(
                "stock drift on %s: %s holds %d, the hub offers %d (last pushed %s);"
                " pushing the hub's figure again",
                channel.name,
                drift.channel_sku,
                drift.channel_quantity,
                drift.hub_quantity,
                drift.last_acknowledged,
            )
    return drifted
