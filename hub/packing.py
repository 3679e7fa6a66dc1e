"""Packing as `omnisync pack` and `/api/v1/orders/{id}/pack` both do it: the order named
as an operator names it (hub/order_lookup.py), each scan in its own transaction (a
refused scan records nothing and stops none of the others), and the label bought once
the parcel is packed (hub/labels.py), for exactly the units scanned into it.

A label asked with a batch of scans is bought only for a parcel those scans packed, or
one packed before them (`ScanRun.label_due`): a batch that finds the parcel packed by
another packer's scans meanwhile leaves its label to that packer's request. Two requests
that both buy are settled by the label claim (hub/labels.py): one buys, the other is
refused, and no parcel is paid for twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from omnisync.core.db import run_in_transaction, transaction
from omnisync.core.models import Order
from omnisync.core.packing import PackingState, ScanOutcome, ScanRefused, packing_state, reset, scan
from omnisync.core.users import Actor, record_action
from omnisync.hub.labels import LabelOptions, LabelOutcome, ParcelScope, buy_label
from omnisync.hub.order_lookup import HUB_ID_PREFIX, find_order
from omnisync.hub.settings import Settings
from omnisync.hub.shipping import carrier_channel
from omnisync.sync.engine import SyncEngine


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass
class ScanRun:
    """What a batch of scans did: accepted in order, refused with why, and the parcel after."""

    state: PackingState
    packed_before: bool
    """The parcel was packed before the batch's first scan."""
    accepted: list[ScanOutcome] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def label_due(self) -> bool:
        """A label asked with the batch is bought: its scans packed the parcel, or it was
        packed before them."""
        packed_now = any(outcome.packed_now for outcome in self.accepted)
        return self.state.packed and (self.packed_before or packed_now)

    @property
    def why_no_label(self) -> str:
        """Why a label asked is not bought although the parcel is packed (not label_due)."""
        return (
            f"order {self.state.order_name}'s parcel was packed meanwhile by scans of "
            "another request, which buys its label if it asked for one: no label is bought "
            "by this one (ask again once that request is done)"
        )


@dataclass(frozen=True)
class PackingOrder:
    """The order being packed, found once by the reference an operator gave."""

    order_id: int
    location: str | None = None

    def state(self, engine: Engine) -> PackingState:
        with transaction(engine, read_only=True) as session:
            return packing_state(session, self._order(session), location=self.location)

    def scan(
        self, engine: Engine, code: str, *, actor: str, audit: Actor | None = None
    ) -> ScanOutcome:
        """One scan in its own transaction; raises ScanRefused (nothing recorded), or the
        domain error of an order that cannot ship. With `audit`, the user's action
        (`pack.scan`) is recorded in that same transaction."""

        def scanned(session: Session) -> ScanOutcome:
            outcome = scan(session, self._order(session), code, actor=actor, location=self.location)
            if audit is not None:
                detail = {
                    "code": outcome.code,
                    "sku": outcome.sku,
                    "units": outcome.units,
                    "location": self.location,
                }
                target = f"order {outcome.state.order_name}"
                record_action(session, audit, "pack.scan", target, detail)
            return outcome

        return run_in_transaction(engine, scanned)

    def scan_all(
        self, engine: Engine, codes: Iterable[str], *, actor: str, audit: Actor | None = None
    ) -> ScanRun:
        """Each code in turn; a refused one is kept with its message and the next goes on.
        With `audit`, each accepted scan is recorded in its own transaction."""
        before = self.state(engine)
        accepted: list[ScanOutcome] = []
        refused: list[Refusal] = []
        for code in codes:
            try:
                accepted.append(self.scan(engine, code, actor=actor, audit=audit))
            except ScanRefused as refusal:
                refused.append(Refusal(code, refusal.message))
        after = self.state(engine) if accepted or refused else before
        return ScanRun(after, before.packed, accepted, refused)

    def reset(self, engine: Engine, *, audit: Actor | None = None) -> PackingState:
        """Drop the parcel's scans; with `audit`, the user's action (`pack.reset`) is
        recorded in the same transaction."""
        with transaction(engine) as session:
            state = reset(session, self._order(session), location=self.location)
            if audit is not None:
                detail = {"location": self.location}
                record_action(session, audit, "pack.reset", f"order {state.order_name}", detail)
            return state

    def _order(self, session: Session) -> Order:
        order = session.get(Order, self.order_id)
        assert order is not None  # orders are never deleted
        return order


def packing_order(engine: Engine, reference: str, *, location: str | None = None) -> PackingOrder:
    """The order `reference` names (NotFound, or InvalidRequest when it names several),
    and the location checked (NotFound)."""
    with transaction(engine, read_only=True) as session:
        order, _ = find_order(session, reference.strip())
        assert order.id is not None
        found = PackingOrder(order.id, location)
        packing_state(session, order, location=location)  # an unknown location fails here
    return found


def check_label_carrier(settings: Settings, options: LabelOptions) -> None:
    """Refuse a carrier that is no carrier channel (UnknownCarrier) before any scan is
    counted: bad input changes nothing."""
    carrier_channel(settings, options.carrier.strip())


def buy_parcel_label(
    engine: SyncEngine,
    settings: Settings,
    state: PackingState,
    options: LabelOptions,
    *,
    actor: str,
) -> LabelOutcome:
    """The label for exactly the units scanned into the packed parcel (hub/labels.py),
    refused (InvalidRequest) unless it is packed still: recording its shipment claims the
    scans (core/shipping.py)."""
    return buy_label(
        engine,
        settings,
        f"{HUB_ID_PREFIX}{state.order_id}",
        options,
        ParcelScope(location=state.location, packed=True),
        actor=actor,
    )
