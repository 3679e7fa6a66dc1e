"""Pure functions between Shopify's returns and core's: reading a return (a GraphQL node
or a ``returns/*`` webhook payload), and writing what the hub did with one (the inputs
of ``returnProcess`` and ``refundCreate``).

Statuses: REQUESTED -> requested, OPEN -> approved (in_transit once a reverse delivery
of the return carries a tracking number), CLOSED -> closed, DECLINED -> declined,
CANCELED -> cancelled. A return line names the order line its units came from by the
LineItem gid, the very string the order mapping (mapping.py) gives that line as its
``external_line_id``; an unverified return line item, which names no fulfilled line,
cannot be mapped and sinks its return (quarantined; the others go on).

Dispositions: restock -> RESTOCKED at the Shopify location the hub location maps to,
damaged -> NOT_RESTOCKED, missing -> MISSING, not_returned -> NOT_RESTOCKED. A unit the
buyer kept is processed, not left unprocessed: Shopify closes a return only once every
unit is processed, and refunds in ``returnProcess`` what it processes, so units left
unprocessed would keep the return open on Shopify for ever after the hub closed it,
and could not be refunded with the rest; NOT_RESTOCKED says what happened to the stock
(nothing came back to it), and MISSING stays what the hub calls missing (expected in
the parcel, and absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from omnisync.connectors.base import PayloadError
from omnisync.connectors.parsing import MAPPING_ERRORS, mapping_failure, timestamp
from omnisync.core.dto import NormalisedReturn, NormalisedReturnLine, ReturnUpdate
from omnisync.core.types import ReturnDisposition, ReturnStatus

RETURN_STATUSES: Final = {
    "REQUESTED": ReturnStatus.REQUESTED,
    "OPEN": ReturnStatus.APPROVED,
    "CLOSED": ReturnStatus.CLOSED,
    "DECLINED": ReturnStatus.DECLINED,
    "CANCELED": ReturnStatus.CANCELLED,
}
DISPOSITION_TYPES: Final = {
    ReturnDisposition.RESTOCK: "RESTOCKED",
    ReturnDisposition.DAMAGED: "NOT_RESTOCKED",
    ReturnDisposition.MISSING: "MISSING",
    ReturnDisposition.NOT_RETURNED: "NOT_RESTOCKED",
}
DECLINE_REASONS: Final = ("FINAL_SALE", "RETURN_PERIOD_ENDED")
"""Shopify's ReturnDeclineReason values an operator's words may name (else OTHER)."""
DECLINE_NOTE_LIMIT: Final = 500
RETURN_GID: Final = "gid://shopify/Return/"


def return_status(status: str, tracked: bool) -> ReturnStatus:
    """Ours for Shopify's ReturnStatus (any case); KeyError for one we do not know."""
    mapped = RETURN_STATUSES[status.upper()]
    if mapped == ReturnStatus.APPROVED and tracked:
        return ReturnStatus.IN_TRANSIT
    return mapped


# reading ------------------------------------------------------------------------------


def return_from_node(node: Any, line_nodes: Sequence[Any]) -> NormalisedReturn:
    """A GraphQL Return node (its ``order { id updatedAt }`` selected; its return line
    items gathered across pages). Its change time is its order's ``updatedAt``: a
    return has none of its own, and every change to one changes its order."""
    try:
        lines = tuple(_line_from_node(line) for line in line_nodes)
        tracking = tracking_number(node)
        requested_at = timestamp(node["createdAt"])
        order = node["order"]
        return NormalisedReturn(
            external_id=node["id"],
            order_external_id=order["id"],
            name=node.get("name") or None,
            status=return_status(node["status"], tracking is not None),
            channel_status=str(node["status"]),
            reason=_summary(line.reason for line in lines),
            customer_note=_summary(line.customer_note for line in lines),
            requested_at=requested_at,
            updated_at=max(timestamp(order["updatedAt"]), requested_at),
            tracking_number=tracking,
            lines=lines,
            raw=node,
        )
    except MAPPING_ERRORS as error:
        raise return_failure(node, error) from None


def _line_from_node(line: Any) -> NormalisedReturnLine:
    fulfilled = line.get("fulfillmentLineItem")
    if not isinstance(fulfilled, dict):
        raise ValueError(f"return line {line.get('id')} names no fulfilled order line")
    order_line = fulfilled["lineItem"]
    definition = line.get("returnReasonDefinition") or {}
    return NormalisedReturnLine(
        external_line_id=line["id"],
        quantity=int(line["quantity"]),
        order_external_line_id=order_line["id"],
        channel_sku=order_line.get("sku") or None,
        reason=_reason(definition.get("name") or definition.get("handle"), line),
        customer_note=line.get("customerNote") or None,
    )


def tracking_number(node: Any) -> str | None:
    """The first tracking number of the return's reverse deliveries, if any."""
    for reverse in ((node.get("reverseFulfillmentOrders") or {}).get("nodes")) or []:
        for delivery in ((reverse.get("reverseDeliveries") or {}).get("nodes")) or []:
            tracking = (delivery.get("deliverable") or {}).get("tracking") or {}
            if tracking.get("number"):
                return str(tracking["number"])
    return None


def return_from_webhook(payload: Any, triggered_at: datetime) -> NormalisedReturn:
    """A ``returns/request`` or ``returns/approve`` payload (REST-shaped, with its return
    line items); ``triggered_at`` (X-Shopify-Triggered-At) is when it changed."""
    try:
        owner = payload.get("order") or {}
        lines = tuple(_line_from_webhook(line) for line in payload["return_line_items"])
        return NormalisedReturn(
            external_id=_gid(payload, "Return"),
            order_external_id=_gid(owner, "Order"),
            name=payload.get("name") or None,
            status=return_status(str(payload["status"]), tracked=False),
            channel_status=str(payload["status"]).upper(),
            reason=_summary(line.reason for line in lines),
            customer_note=_summary(line.customer_note for line in lines),
            requested_at=triggered_at,
            updated_at=triggered_at,
            lines=lines,
            raw=payload,
        )
    except MAPPING_ERRORS as error:
        raise return_failure(payload, error) from None


def _line_from_webhook(line: Any) -> NormalisedReturnLine:
    order_line = line["fulfillment_line_item"]["line_item"]
    reason = line.get("return_reason")
    return NormalisedReturnLine(
        external_line_id=_gid(line, "ReturnLineItem"),
        quantity=int(line["quantity"]),
        order_external_line_id=_gid(order_line, "LineItem"),
        reason=_reason(str(reason).replace("_", " ") if reason else None, line),
        customer_note=line.get("customer_note") or None,
    )


def _gid(item: Mapping[str, Any], kind: str) -> str:
    """A REST-shaped item's gid: ``admin_graphql_api_id``, else made from its ``id``."""
    given = item.get("admin_graphql_api_id")
    if given:
        return str(given)
    return f"gid://shopify/{kind}/{int(item['id'])}"


def return_gid(payload: Any) -> str | None:
    """The Return gid a payload is about: a GraphQL Return node's ``id``, a ``returns/*``
    payload's ``admin_graphql_api_id``, or the ``return`` a ``reverse_deliveries/*``
    payload names; None for anything else (an order, an inventory level)."""
    if not isinstance(payload, dict):
        return None
    for named in (payload.get("id"), payload.get("admin_graphql_api_id")):
        if isinstance(named, str) and named.startswith(RETURN_GID):
            return named
    owner = payload.get("return")
    return return_gid(owner) if isinstance(owner, dict) else None


def _reason(name: str | None, line: Mapping[str, Any]) -> str | None:
    note = line.get("returnReasonNote") or line.get("return_reason_note")
    parts = [part.strip() for part in (name, note) if part and str(part).strip()]
    return ": ".join(parts) or None


def _summary(values: Iterable[str | None]) -> str | None:
    """The distinct values, in order, as one line (a return's reason over its lines)."""
    seen = list(dict.fromkeys(value for value in values if value))
    return "; ".join(seen)[:1000] or None


def return_failure(item: Any, error: Exception) -> PayloadError:
    """The PayloadError for a return that could not be mapped, with its raw JSON."""
    named = item.get("id") if isinstance(item, dict) else None
    if isinstance(item, dict) and item.get("admin_graphql_api_id"):
        named = item["admin_graphql_api_id"]
    failure = mapping_failure(item, error, named)
    return PayloadError(f"return {str(failure).removeprefix('order ')}", failure.raw, named)


# writing ------------------------------------------------------------------------------


def decline_reason(words: str | None) -> str:
    """The ReturnDeclineReason an operator's words name ("final sale" -> FINAL_SALE),
    else OTHER; the words themselves go to the buyer as the decline note."""
    joined = "_".join((words or "").upper().replace("-", " ").split())
    return next((reason for reason in DECLINE_REASONS if reason in joined), "OTHER")


@dataclass(frozen=True)
class ReverseLine:
    """A line of the return's reverse fulfillment order: what dispositions name."""

    id: str
    fulfillment_line: str
    undisposed: int
    disposed: tuple[tuple[str, int, str | None], ...]
    """(type, quantity, location gid) already recorded."""


@dataclass(frozen=True)
class ReturnState:
    """A Shopify return as a push needs it (the ReturnState query)."""

    id: str
    name: str
    status: str
    order_id: str
    processable: Mapping[str, int]
    """Return line gid -> units left to process."""
    refundable: Mapping[str, int]
    """Return line gid -> units processed and not refunded by the return."""
    order_lines: Mapping[str, str]
    """Return line gid -> the order's LineItem gid."""
    fulfillment_lines: Mapping[str, str]
    """Return line gid -> its FulfillmentLineItem gid."""
    reverse_lines: tuple[ReverseLine, ...]
    refund_notes: tuple[str, ...]
    """The notes of the order's refunds (a refund the hub made carries its key)."""


def return_state(node: Any) -> ReturnState:
    """Read the ReturnState query's ``return``."""
    processable: dict[str, int] = {}
    refundable: dict[str, int] = {}
    order_lines: dict[str, str] = {}
    fulfillment_lines: dict[str, str] = {}
    for line in node["returnLineItems"]["nodes"]:
        processable[line["id"]] = int(line["processableQuantity"])
        refundable[line["id"]] = int(line["processedQuantity"]) - int(line["refundedQuantity"])
        fulfilled = line.get("fulfillmentLineItem") or {}
        if fulfilled:
            order_lines[line["id"]] = fulfilled["lineItem"]["id"]
            fulfillment_lines[line["id"]] = fulfilled["id"]
    reverse: list[ReverseLine] = []
    for order in node["reverseFulfillmentOrders"]["nodes"]:
        for item in order["lineItems"]["nodes"]:
            disposed = tuple(
                (d["type"], int(d["quantity"]), (d.get("location") or {}).get("id"))
                for d in item["dispositions"]
            )
            reverse.append(
                ReverseLine(
                    id=item["id"],
                    fulfillment_line=(item.get("fulfillmentLineItem") or {}).get("id") or "",
                    undisposed=int(item["totalQuantity"]) - sum(q for _, q, _ in disposed),
                    disposed=disposed,
                )
            )
    order = node["order"]
    return ReturnState(
        id=node["id"],
        name=str(node.get("name") or node["id"]),
        status=str(node["status"]),
        order_id=order["id"],
        processable=processable,
        refundable=refundable,
        order_lines=order_lines,
        fulfillment_lines=fulfillment_lines,
        reverse_lines=tuple(reverse),
        refund_notes=tuple(str(r.get("note") or "") for r in order.get("refunds") or []),
    )


def units_by_line(update: ReturnUpdate) -> dict[str, int]:
    """Return line gid -> the units the update names on it."""
    units: dict[str, int] = {}
    for line in update.lines:
        units[line.external_line_id] = units.get(line.external_line_id, 0) + line.quantity
    return units


def already_processed(state: ReturnState, update: ReturnUpdate) -> bool:
    """Whether Shopify holds this PROCESS already, read before sending it (again).

    returnProcess takes no idempotency key. The hub says how many units of each line
    its earlier pushes told Shopify of (`told_before`): when the units Shopify holds
    disposed on every line the update names cover those and the update's own, with
    the dispositions it asks for, an earlier attempt of this push went through."""
    recorded = _recorded(state)
    done: dict[str, int] = {}
    for (fulfillment_line, _), quantity in recorded.items():
        done[fulfillment_line] = done.get(fulfillment_line, 0) + quantity
    told = {line.external_line_id: line.told_before for line in update.lines}
    units_covered = all(
        done.get(state.fulfillment_lines.get(line, ""), 0) >= told[line] + units
        for line, units in units_by_line(update).items()
    )
    return units_covered and all(
        recorded.get(key, 0) >= n for key, n in _asked(state, update).items()
    )


def process_landed(before: ReturnState, after: ReturnState, update: ReturnUpdate) -> bool:
    """Whether the return changed from `before` to `after` by exactly what `update`
    asks: its units processed and its dispositions recorded (a returnProcess that went
    through though its answer was lost, and whose retry Shopify then refused)."""
    for line, n in units_by_line(update).items():
        if before.processable.get(line, 0) - after.processable.get(line, 0) < n:
            return False
    was, now = _recorded(before), _recorded(after)
    return all(now.get(key, 0) - was.get(key, 0) >= n for key, n in _asked(before, update).items())


def _recorded(state: ReturnState) -> dict[tuple[str, str], int]:
    """(fulfillment line, disposition type) -> units Shopify holds disposed so."""
    recorded: dict[tuple[str, str], int] = {}
    for reverse in state.reverse_lines:
        for kind, quantity, _ in reverse.disposed:
            key = (reverse.fulfillment_line, kind)
            recorded[key] = recorded.get(key, 0) + quantity
    return recorded


def _asked(state: ReturnState, update: ReturnUpdate) -> dict[tuple[str, str], int]:
    """(fulfillment line, disposition type) -> units the update disposes so."""
    asked: dict[tuple[str, str], int] = {}
    for line in update.lines:
        key = (
            state.fulfillment_lines.get(line.external_line_id, ""),
            DISPOSITION_TYPES[line.disposition],
        )
        asked[key] = asked.get(key, 0) + line.quantity
    return asked


class ProcessRefused(ValueError):
    """What the hub asks cannot be put to Shopify (no such line, nothing left)."""


def process_lines(
    state: ReturnState, update: ReturnUpdate, location_of: Callable[[str | None], str]
) -> list[dict[str, Any]]:
    """returnProcess's ``returnLineItems``: per return line, its units and their
    dispositions, each on a line of the reverse fulfillment order that has units left
    (``location_of(hub code)``: the Shopify location gid a restock goes to)."""
    left = {reverse.id: reverse.undisposed for reverse in state.reverse_lines}
    by_line: dict[str, dict[str, Any]] = {}
    for line in update.lines:
        fulfilled = state.fulfillment_lines.get(line.external_line_id)
        if fulfilled is None:
            raise ProcessRefused(f"return {state.name} has no line {line.external_line_id}")
        entry = by_line.setdefault(
            line.external_line_id,
            {"id": line.external_line_id, "quantity": 0, "dispositions": []},
        )
        entry["quantity"] += line.quantity
        kind = DISPOSITION_TYPES[line.disposition]
        location = location_of(line.location) if kind == "RESTOCKED" else None
        wanted = line.quantity
        for reverse in state.reverse_lines:
            take = min(left[reverse.id], wanted) if reverse.fulfillment_line == fulfilled else 0
            if take <= 0:
                continue
            disposition: dict[str, Any] = {
                "reverseFulfillmentOrderLineItemId": reverse.id,
                "quantity": take,
                "dispositionType": kind,
            }
            if location is not None:
                disposition["locationId"] = location
            entry["dispositions"].append(disposition)
            left[reverse.id] -= take
            wanted -= take
        if wanted:
            raise ProcessRefused(
                f"return {state.name}, line {line.external_line_id}: Shopify has "
                f"{line.quantity - wanted} unit(s) left to dispose, not {line.quantity}"
            )
    return list(by_line.values())


def suggested_transactions(suggestion: Any) -> list[tuple[str, str, str, str | None]]:
    """(parent transaction gid, amount, currency, gateway) of each suggested refund
    transaction (a SuggestedReturnFinancialOutcome's or a SuggestedRefund's), in the
    order's presentment currency, as refunds are given."""
    found: list[tuple[str, str, str, str | None]] = []
    for entry in suggestion.get("suggestedTransactions") or []:
        parent = entry.get("parentTransaction") or {}
        money = entry["amountSet"]["presentmentMoney"]
        if parent.get("id"):
            gateway = entry.get("gateway")
            found.append((parent["id"], str(money["amount"]), money["currencyCode"], gateway))
    return found
