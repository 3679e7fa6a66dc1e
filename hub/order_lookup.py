"""Finding the order an operator names: by the hub's id, the channel's order id, or the
channel's order name or number, in every command and route that takes an order.

How a reference is read:

- `id:N` is the hub's id N and nothing else;
- anything else is looked up three ways at once: as the hub's id (when it is a whole
  number), as the channel's order id (`gid://shopify/Order/1001`, an Amazon order id)
  and as the channel's order name or number (`#1001`, `1001`), with or without the
  leading `#` (`#1001` is never a hub id).

One order found, whichever way or ways, is the answer: precedence never picks between
two orders. A reference that names several orders (hub order 1001 and Shopify order
#1001, or #1001 on two channels) is refused with every candidate listed, each with
the `id:N` that names it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from omnisync.core.errors import InvalidRequest, NotFound
from omnisync.core.models import Channel, Order

HUB_ID_PREFIX = "id:"
NAME_MARK = "#"
MAX_ROW_ID = 2**63 - 1
"""The largest id a row can have (a signed 64-bit integer on every backend)."""


class AmbiguousOrder(InvalidRequest):
    """The reference names more than one order."""


@dataclass(frozen=True)
class OrderReference:
    """What an operator typed, read as each way it may name an order."""

    text: str
    hub_id: int | None
    """The hub id it names, if it can be one."""
    hub_id_only: bool
    """`id:N`: the hub id and nothing else."""
    channel_forms: tuple[str, ...]
    """The channel order ids and names it may be (`1001` and `#1001` alike)."""


@dataclass(frozen=True)
class OrderCandidate:
    """An order a reference may name, as the refusal of an ambiguous one lists it."""

    order_id: int
    channel: str
    external_id: str
    display_name: str | None

    @property
    def label(self) -> str:
        """The channel's name for the order, else its order id."""
        return self.display_name or self.external_id


def read_order_reference(text: str) -> OrderReference:
    text = text.strip()
    if not text:
        return OrderReference(text, None, False, ())
    if text.startswith(HUB_ID_PREFIX):
        return OrderReference(text, as_row_id(text.removeprefix(HUB_ID_PREFIX)), True, ())
    bare = text.removeprefix(NAME_MARK)
    forms = (text, bare) if bare != text else (text, NAME_MARK + text)
    return OrderReference(text, as_row_id(text), False, tuple(form for form in forms if form))


def as_row_id(text: str) -> int | None:
    """`text` as a row id, if it can be one: ASCII digits within a 64-bit integer."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


def ways_it_matches(reference: OrderReference, candidate: OrderCandidate) -> list[str]:
    """How the reference names the candidate: hub id, channel order id, order name."""
    ways = []
    if candidate.order_id == reference.hub_id:
        ways.append("hub id")
    if not reference.hub_id_only:
        if candidate.external_id in reference.channel_forms:
            ways.append("channel order id")
        if candidate.display_name in reference.channel_forms:
            ways.append("order name")
    return ways


def choose_order(reference: OrderReference, candidates: Sequence[OrderCandidate]) -> OrderCandidate:
    """The one order the reference names; NotFound or AmbiguousOrder otherwise."""
    matching = {
        candidate.order_id: candidate
        for candidate in candidates
        if ways_it_matches(reference, candidate)
    }
    if not matching:
        raise NotFound(_not_found(reference))
    if len(matching) > 1:
        raise AmbiguousOrder(_ambiguous(reference, sorted(matching.values(), key=_by_id)))
    (chosen,) = matching.values()
    return chosen


def find_order(session: Session, reference: str) -> tuple[Order, str]:
    """The order `reference` names (see the module), with its channel's name."""
    wanted = read_order_reference(reference)
    conditions = _conditions(wanted)
    if not conditions:
        raise NotFound(_not_found(wanted))
    rows = session.exec(
        select(Order, Channel.name)
        .join(Channel, col(Channel.id) == Order.channel_id)
        .where(or_(*conditions))
        .order_by(col(Order.id))
    ).all()
    candidates = {order.id: (order, name) for order, name in rows if order.id is not None}
    chosen = choose_order(
        wanted,
        [
            OrderCandidate(order_id, name, order.external_id, order.display_name)
            for order_id, (order, name) in candidates.items()
        ],
    )
    return candidates[chosen.order_id]


def _conditions(reference: OrderReference) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if reference.hub_id is not None:
        conditions.append(col(Order.id) == reference.hub_id)
    if not reference.hub_id_only and reference.channel_forms:
        forms = list(reference.channel_forms)
        conditions.append(col(Order.external_id).in_(forms))
        conditions.append(col(Order.display_name).in_(forms))
    return conditions


def _by_id(candidate: OrderCandidate) -> int:
    return candidate.order_id


def _not_found(reference: OrderReference) -> str:
    if reference.hub_id_only:
        return f"no order with hub id {reference.text.removeprefix(HUB_ID_PREFIX)!r}"
    return (
        f"no order with id or channel order id {reference.text!r}, "
        "nor with that order name or number"
    )


def _ambiguous(reference: OrderReference, candidates: Sequence[OrderCandidate]) -> str:
    listed = "; ".join(
        f"{HUB_ID_PREFIX}{candidate.order_id}: {candidate.channel} order {candidate.label}"
        + (f" ({candidate.external_id})" if candidate.label != candidate.external_id else "")
        + f", by its {' and '.join(ways_it_matches(reference, candidate))}"
        for candidate in candidates
    )
    return (
        f"{reference.text!r} names {len(candidates)} orders: {listed}. "
        f"Name one by its hub id as {HUB_ID_PREFIX}N"
    )
