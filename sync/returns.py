"""Reported returns into the hub, from a page of the returns job, a webhook delivery or
a quarantine retry alike: each return in a savepoint of the caller's transaction, so one
the hub cannot place (its order is not in the hub) is quarantined with what was read of
it, and the rest goes on (invariant 7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from sqlmodel import Session

from omnisync.connectors.base import Connector
from omnisync.core.alerting import quarantine_payload
from omnisync.core.db import exists_where
from omnisync.core.dto import QUARANTINED_UNMATCHED_RETURN, NormalisedReturn, RejectedPayload
from omnisync.core.models import Channel, QuarantinedPayload
from omnisync.core.return_intake import UnmatchedReturn, intake_return
from omnisync.core.return_state import ChannelReturns


class Taken(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STALE = "stale"
    QUARANTINED = "quarantined"


def channel_returns(connector: type[Connector] | Connector) -> ChannelReturns:
    """What a connector's channel type takes of returns, for core/returns.py."""
    return ChannelReturns(actions=connector.return_actions, refund_hint=connector.refund_hint)


def take_in_returns(
    session: Session,
    channel: Channel,
    returns: Iterable[NormalisedReturn],
    taken: ChannelReturns,
) -> Counter[Taken]:
    """Take each return in (core/return_intake.py); how many went which way."""
    counts: Counter[Taken] = Counter()
    for incoming in returns:
        savepoint = session.begin_nested()
        try:
            result = intake_return(session, channel, incoming, taken)
        except UnmatchedReturn as error:
            savepoint.rollback()
            rejected = RejectedPayload(
                kind=QUARANTINED_UNMATCHED_RETURN,
                raw=incoming.model_dump_json(),
                reason=str(error),
                external_id=incoming.external_id,
            )
            if quarantine_once(session, channel, rejected):
                counts[Taken.QUARANTINED] += 1
            continue
        savepoint.commit()
        if result.created:
            counts[Taken.CREATED] += 1
        elif result.updated:
            counts[Taken.UPDATED] += 1
        else:
            counts[Taken.STALE] += 1
    return counts


def quarantine_once(session: Session, channel: Channel, rejected: RejectedPayload) -> bool:
    """Quarantine `rejected` unless the same payload is kept already (a re-read of it);
    one an operator dismissed stays dismissed. True when it was kept now."""
    assert channel.id is not None
    if exists_where(
        session,
        QuarantinedPayload.channel_id == channel.id,
        QuarantinedPayload.kind == rejected.kind,
        QuarantinedPayload.raw == rejected.raw,
    ):
        return False
    quarantine_payload(
        session,
        channel.id,
        rejected.kind,
        rejected.raw,
        rejected.reason,
        external_id=rejected.external_id,
    )
    return True
