"""Cancelling an order the way an operator asks for it: in the hub, then on the channel.

`omnisync orders cancel` and `POST /api/v1/orders/{id}/cancel` cancel the order in the
hub first (core/cancellation.py, in one transaction: its stock is released and its
listings go dirty). Only after that commit, and only when asked (`--push`, `"push":
true`), is the channel told, through its connector's ORDER_CANCEL capability and the
engine's call policy (throttling, retries). A channel that cannot be told, or that
fails, leaves the hub's cancellation standing: the answer says what the channel still
shows and where to cancel it. Asking again is safe: the hub changes nothing the
second time and the channel is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omnisync.connectors.base import Capability, ConnectorError
from omnisync.connectors.registry import connector_for
from omnisync.core.redaction import redact
from omnisync.sync.calls import Cancelled
from omnisync.sync.engine import SyncEngine


class ChannelAnswer(StrEnum):
    NOT_ASKED = "not_asked"
    """The channel was not told (no push): it still shows the order."""
    CANCELLED = "cancelled"
    """The channel cancelled the order (or had cancelled it already)."""
    REFUSED = "refused"
    """The channel said no; its words are in the message."""
    FAILED = "failed"
    """The channel could not be asked (unreachable, credentials, not configured)."""
    UNSUPPORTED = "unsupported"
    """The channel's API cannot cancel orders: an operator does it on the channel."""


@dataclass(frozen=True)
class ChannelCancellation:
    channel: str
    answer: ChannelAnswer
    message: str

    @property
    def settled(self) -> bool:
        """Whether the channel no longer shows the order as open."""
        return self.answer == ChannelAnswer.CANCELLED


def can_push_cancellation(channel_type: str | None) -> bool:
    connector = connector_for(channel_type) if channel_type else None
    return connector is not None and Capability.ORDER_CANCEL in connector.capabilities


def where_to_cancel(channel: str, channel_type: str | None, external_id: str) -> str:
    """Where an operator cancels the order on a channel the hub cannot tell."""
    connector = connector_for(channel_type) if channel_type else None
    hint = connector.manual_cancel_hint if connector is not None else ""
    return hint or f"cancel order {external_id} on {channel} itself"


def channel_not_told(
    channel: str, channel_type: str | None, external_id: str, push_how: str, *, already: bool
) -> ChannelCancellation:
    """The answer without a push; `push_how` says how to ask the hub to push instead.
    `already`: the hub had cancelled the order before (the channel may have been told)."""
    if can_push_cancellation(channel_type):
        how = f"cancel it there too, or {push_how}"
    else:
        how = where_to_cancel(channel, channel_type, external_id)
    if already:
        said = f"{channel} was not asked this time; if it still shows order {external_id} as open"
        return ChannelCancellation(channel, ChannelAnswer.NOT_ASKED, f"{said}, {how}")
    still = f"{channel} was not told and still shows order {external_id} as open"
    return ChannelCancellation(channel, ChannelAnswer.NOT_ASKED, f"{still}: {how}")


def push_cancellation(
    sync: SyncEngine, channel: str, external_id: str, reason: str | None
) -> ChannelCancellation:
    """Ask the order's channel to cancel it (after the hub's commit); never raises for
    what the channel does: the answer says it."""
    config = sync.channels.get(channel)
    if config is None:
        return ChannelCancellation(
            channel,
            ChannelAnswer.FAILED,
            f"channel {channel!r} is not in the configuration: cancel order {external_id} "
            "on the channel itself",
        )
    if not can_push_cancellation(config.type):
        still = f"{channel} still shows order {external_id} as open"
        hint = where_to_cancel(channel, config.type, external_id)
        return ChannelCancellation(channel, ChannelAnswer.UNSUPPORTED, f"{still}: {hint}")
    try:
        with sync.borrowed(channel) as connector:
            result = connector.cancel_order(external_id, reason)
    except (ConnectorError, Cancelled) as error:
        said = redact(f"{type(error).__name__}: {error}", sync.secrets)
        return ChannelCancellation(
            channel,
            ChannelAnswer.FAILED,
            f"{channel} could not be asked ({said}); it still shows order {external_id} as "
            "open: ask again later, or cancel it there",
        )
    if not result.ok:
        said = redact(result.error or "refused", sync.secrets)
        return ChannelCancellation(
            channel,
            ChannelAnswer.REFUSED,
            f"{channel} refused to cancel order {external_id}: {said}",
        )
    return ChannelCancellation(
        channel, ChannelAnswer.CANCELLED, f"{channel} cancelled order {external_id}"
    )
