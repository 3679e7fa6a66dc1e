"""RETURNS over Admin GraphQL: Shopify's returns read, and what the hub did told back.

A mixin of the connector (connector.py), which lends it its client, settings and
location mapping.

Reading. Shopify has no query of returns changed since a time, but every change to a
return changes its order: the orders updated since the cursor are read (sorted by
UPDATED_AT, paged) with their returns, and each page completes the ``updatedAt`` of its
newest order. An order's further returns and a return's further lines are read on
(MoreOrderReturns, ReturnLines), as an order's further line items are. A return that
cannot be mapped is rejected with its raw node; the rest of the page goes on.

Webhooks. ``returns/request`` and ``returns/approve`` carry the return line items with
their order lines, and are mapped as they come. The other topics (decline, cancel,
close, reopen, process, update, and ``reverse_deliveries/attach_deliverable``) carry
too little to take a return in (no lines, often no status): their return is read by
its gid and mapped whole, as a poll would, so the delivery reports the return as it
is now instead of a return without lines the hub could not match.

Telling. Every push reads the return first (ReturnState): an approve or decline of a
return already in that state changes nothing, and ``returnProcess``, which takes no
idempotency key, is not sent again when the dispositions Shopify holds show the first
attempt went through (a retry after a lost answer). A refund asked with a PROCESS goes
in the same ``returnProcess`` (its amount from ``suggestedFinancialOutcome``); a
refund asked later goes through ``refundCreate`` (``returnRefund`` is deprecated since
2025-07), which carries the hub's key in ``@idempotent`` and in its note, so a retry is
replayed by Shopify, or found on the order and not sent. Shopify's userErrors come back
as a refusal (ok=False, not retriable); throttling and outages raise, as every call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from omnisync.connectors.base import PayloadError, TransientError
from omnisync.connectors.pagination import walk_pages
from omnisync.connectors.parsing import MAPPING_ERRORS, timestamp
from omnisync.connectors.shopify import documents
from omnisync.connectors.shopify.client import connection_nodes, end_cursor, updated_since
from omnisync.connectors.shopify.mapping import user_errors
from omnisync.connectors.shopify.return_mapping import (
    DECLINE_NOTE_LIMIT,
    ProcessRefused,
    ReturnState,
    already_processed,
    decline_reason,
    process_landed,
    process_lines,
    return_failure,
    return_from_node,
    return_from_webhook,
    return_gid,
    return_state,
    suggested_transactions,
    units_by_line,
)
from omnisync.core.dto import (
    QUARANTINED_RETURN,
    NormalisedReturn,
    PushResult,
    RejectedPayload,
    ReturnPage,
    ReturnUpdate,
    WebhookEvents,
)
from omnisync.core.types import ReturnAction

if TYPE_CHECKING:
    from omnisync.connectors.shopify.client import ShopifyClient
    from omnisync.connectors.shopify.settings import ShopifySettings

RETURN_ORDERS_PER_PAGE: Final = 5  # with 3 returns of 5 lines each: ~590 of the 1,000 cost
RETURN_TOPICS: Final = frozenset(
    {
        "returns/request",
        "returns/approve",
        "returns/decline",
        "returns/cancel",
        "returns/close",
        "returns/reopen",
        "returns/process",
        "returns/update",
        "reverse_deliveries/attach_deliverable",
    }
)
MAPPED_AS_DELIVERED: Final = frozenset({"returns/request", "returns/approve"})
"""The topics whose payload carries the return line items with their order lines."""


class ShopifyReturns:
    """fetch_returns, push_return and the returns webhooks of the Shopify connector."""

    if TYPE_CHECKING:
        client: ShopifyClient

        @property
        def settings(self) -> ShopifySettings: ...
        def push_location(self) -> str: ...
        def location_mapping(self, shop: Mapping[str, str]) -> dict[str, str | None]: ...
        def _shop_locations(self) -> dict[str, str]: ...

    # reading ------------------------------------------------------------------------

    def fetch_returns(self, since: datetime | None) -> Iterator[ReturnPage]:
        query = updated_since(since)

        def orders_after(after: str | None) -> Any:
            variables = {"first": RETURN_ORDERS_PER_PAGE, "after": after, "query": query}
            return self.client.execute("OrderReturns", documents.ORDER_RETURNS, variables)["orders"]

        for connection in walk_pages("OrderReturns", orders_after, end_cursor):
            yield self._return_page(connection["nodes"])

    def _return_page(self, orders: list[Any]) -> ReturnPage:
        returns: list[NormalisedReturn] = []
        rejected: list[RejectedPayload] = []
        moments: list[datetime] = []
        for order in orders:
            try:
                moments.append(timestamp(order["updatedAt"]))
                nodes = self._returns_of(order)
            except MAPPING_ERRORS as error:
                raw = json.dumps(order, sort_keys=True, default=str)
                reason = f"order {order.get('id')}: its returns do not read: {error!r}"
                rejected.append(RejectedPayload(kind=QUARANTINED_RETURN, raw=raw, reason=reason))
                continue
            for node in nodes:
                try:
                    returns.append(self.map_return(node))
                except PayloadError as error:
                    rejected.append(
                        RejectedPayload(
                            kind=QUARANTINED_RETURN,
                            raw=error.raw,
                            reason=str(error),
                            external_id=error.external_id,
                        )
                    )
        return ReturnPage(
            returns=tuple(returns), rejected=tuple(rejected), cursor=max(moments, default=None)
        )

    def _returns_of(self, order: Any) -> list[Any]:
        """The order's returns: the first page came with it, the rest are read."""

        def returns_after(after: str) -> Any:
            variables = {"id": order["id"], "after": after}
            data = self.client.execute("MoreOrderReturns", documents.MORE_ORDER_RETURNS, variables)
            return data["order"]["returns"]

        return connection_nodes("MoreOrderReturns", order["returns"], returns_after)

    def map_return(self, node: Any) -> NormalisedReturn:
        """A Return node (with ``order { id updatedAt }``), its further lines read."""

        def lines_after(after: str) -> Any:
            variables = {"id": node["id"], "after": after}
            data = self.client.execute("ReturnLines", documents.RETURN_LINES, variables)
            return data["return"]["returnLineItems"]

        try:
            lines = connection_nodes("ReturnLines", node["returnLineItems"], lines_after)
        except MAPPING_ERRORS as error:
            raise return_failure(node, error) from None
        return return_from_node(node, lines)

    def read_return(self, gid: str) -> NormalisedReturn:
        """One return as it is now; PayloadError when Shopify does not know it."""
        node = self.client.execute("Return", documents.RETURN, {"id": gid}).get("return")
        if node is None:
            raise PayloadError(f"Shopify has no return {gid}", json.dumps({"id": gid}), gid)
        return self.map_return(node)

    def returns_webhook(
        self, topic: str, payload: Any, triggered_at: datetime | None, raw: str
    ) -> WebhookEvents:
        """The return a ``returns/*`` delivery is about (see the module's docstring): as
        delivered when it carries its lines and its time, else read by its gid."""
        carries_lines = isinstance(payload, dict) and "return_line_items" in payload
        if topic in MAPPED_AS_DELIVERED and carries_lines and triggered_at is not None:
            return WebhookEvents(returns=(return_from_webhook(payload, triggered_at),))
        named = return_gid(payload)
        if named is None:
            raise PayloadError(f"{topic} names no return", raw)
        try:
            return WebhookEvents(returns=(self.read_return(named),))
        except PayloadError as error:
            # Keep the delivery as it came: retrying it reads the return again.
            raise PayloadError(str(error), raw, named) from None

    def quarantined_return(self, kind: str, payload: Any) -> WebhookEvents | None:
        """A kept return mapped again: a page's Return node, a returns delivery (its
        return read again) or an order whose returns could not be read (read again);
        None when the payload is no return."""
        named = return_gid(payload)
        if named is not None and isinstance(payload, dict) and "returnLineItems" in payload:
            return WebhookEvents(returns=(self.map_return(payload),))
        if named is not None:
            return WebhookEvents(returns=(self.read_return(named),))
        if kind == QUARANTINED_RETURN and isinstance(payload, dict) and "returns" in payload:
            try:
                nodes = self._returns_of(payload)
            except MAPPING_ERRORS as error:
                raise return_failure(payload, error) from None
            return WebhookEvents(returns=tuple(self.map_return(node) for node in nodes))
        return None

    # telling ------------------------------------------------------------------------

    def push_return(self, update: ReturnUpdate) -> PushResult:
        state = self._state(update)
        if state is None:
            return _refused(update, "the return does not exist on Shopify")
        if update.action == ReturnAction.APPROVE:
            return self._approve(update, state)
        if update.action == ReturnAction.DECLINE:
            return self._decline(update, state)
        if update.action == ReturnAction.PROCESS:
            return self._process(update, state)
        return self._refund(update, state)

    def _state(self, update: ReturnUpdate) -> ReturnState | None:
        """The return as Shopify holds it now; None when Shopify does not know it."""
        data = self.client.execute(
            "ReturnState", documents.RETURN_STATE, {"id": update.return_external_id}
        )
        node = data.get("return")
        if node is None:
            return None
        try:
            return return_state(node)
        except MAPPING_ERRORS as error:
            raise TransientError(f"ReturnState: unreadable answer: {error!r}") from None

    def _approve(self, update: ReturnUpdate, state: ReturnState) -> PushResult:
        if state.status in ("OPEN", "CLOSED"):
            return _done(update)
        if state.status != "REQUESTED":
            return _refused(update, f"return {state.name} is {state.status} on Shopify")
        notify = self.settings.notify_customer_on_return
        data = self.client.execute(
            "ReturnApprove",
            documents.RETURN_APPROVE,
            {"input": {"id": state.id, "notifyCustomer": notify}},
        )
        return self._changed(update, data.get("returnApproveRequest"), ("OPEN", "CLOSED"))

    def _decline(self, update: ReturnUpdate, state: ReturnState) -> PushResult:
        if state.status == "DECLINED":
            return _done(update)
        if state.status != "REQUESTED":
            return _refused(update, f"return {state.name} is {state.status} on Shopify")
        request: dict[str, Any] = {
            "id": state.id,
            "declineReason": decline_reason(update.reason),
            "notifyCustomer": self.settings.notify_customer_on_return,
        }
        if update.reason:
            request["declineNote"] = update.reason[:DECLINE_NOTE_LIMIT]
        data = self.client.execute("ReturnDecline", documents.RETURN_DECLINE, {"input": request})
        return self._changed(update, data.get("returnDeclineRequest"), ("DECLINED",))

    def _changed(self, update: ReturnUpdate, payload: Any, wanted: tuple[str, ...]) -> PushResult:
        """Done, or refused with the userErrors, unless the return is in a `wanted` status
        now (an attempt of this call went through and its retry was refused)."""
        refused = user_errors(payload)
        if refused is None:
            return _done(update)
        now = self._state(update)
        if now is not None and now.status in wanted:
            return _done(update)
        return _refused(update, refused)

    def _process(self, update: ReturnUpdate, state: ReturnState) -> PushResult:
        if state.status == "REQUESTED":
            return _refused(update, f"return {state.name} is not approved on Shopify yet")
        if already_processed(state, update):
            return _done(update)
        if state.status != "OPEN":
            return _refused(update, f"return {state.name} is {state.status} on Shopify")
        locations: dict[str, str | None] = {}
        try:
            lines = process_lines(state, update, lambda code: self._restock_at(code, locations))
        except ProcessRefused as refusal:
            return _refused(update, str(refusal))
        request: dict[str, Any] = {
            "returnId": state.id,
            "returnLineItems": lines,
            "notifyCustomer": self.settings.notify_customer_on_return,
            "note": f"omnisync {update.idempotency_key}",
        }
        if update.refund:
            outcome = self._refund_outcome(state, update)
            if not outcome:
                return _refused(update, f"Shopify suggests no refund for return {state.name}")
            request["financialTransfer"] = {
                "issueRefund": {
                    "orderTransactions": [
                        {
                            "parentId": parent,
                            "transactionAmount": {"amount": amount, "currencyCode": currency},
                        }
                        for parent, amount, currency, _ in outcome
                    ]
                }
            }
        data = self.client.execute("ReturnProcess", documents.RETURN_PROCESS, {"input": request})
        refused = user_errors(data.get("returnProcess"))
        if refused is None:
            return _done(update)
        now = self._state(update)
        if now is not None and process_landed(state, now, update):
            return _done(update)  # an attempt of this call went through; its retry was refused
        return _refused(update, refused)

    def _restock_at(self, code: str | None, known: dict[str, str | None]) -> str:
        """The Shopify location gid units restocked at hub location `code` go to: where it
        maps to, else (no code, or a shop without a `location_map` whose stock goes to one
        location) where stock is pushed; ProcessRefused when a mapped code maps to none."""
        if code is None:
            return self.push_location()
        if not known:
            known.update(self.location_mapping(self._shop_locations()))
        gid = known.get(code)
        if gid is None and self.settings.location_map is None:
            return self.push_location()
        if gid is None:
            raise ProcessRefused(
                f"hub location {code!r} maps to no active Shopify location to restock at; "
                "name it in location_map"
            )
        return gid

    def _refund_outcome(
        self, state: ReturnState, update: ReturnUpdate
    ) -> list[tuple[str, str, str, str | None]]:
        lines = [{"id": line, "quantity": n} for line, n in units_by_line(update).items()]
        data = self.client.execute(
            "ReturnRefundOutcome",
            documents.RETURN_REFUND_OUTCOME,
            {"id": state.id, "lines": lines},
        )
        outcome = ((data.get("return") or {}).get("suggestedFinancialOutcome") or {}).get(
            "financialTransfer"
        )
        return suggested_transactions(outcome or {})

    def _refund(self, update: ReturnUpdate, state: ReturnState) -> PushResult:
        if any(update.idempotency_key in note for note in state.refund_notes):
            return _done(update)  # refunded by an attempt whose answer was lost
        units = units_by_line(update) or {line: n for line, n in state.refundable.items() if n > 0}
        refund_lines = [
            {"lineItemId": state.order_lines[line], "quantity": n, "restockType": "NO_RESTOCK"}
            for line, n in units.items()
            if line in state.order_lines
        ]
        if not refund_lines:
            return _refused(update, f"return {state.name}: nothing processed is left to refund")
        data = self.client.execute(
            "SuggestedRefund",
            documents.SUGGESTED_REFUND,
            {"id": state.order_id, "lines": refund_lines},
        )
        suggestion = (data.get("order") or {}).get("suggestedRefund") or {}
        transactions = [
            {
                "orderId": state.order_id,
                "parentId": parent,
                "amount": amount,
                "gateway": gateway or "",
                "kind": "REFUND",
            }
            for parent, amount, _, gateway in suggested_transactions(suggestion)
        ]
        if not transactions:
            return _refused(update, f"Shopify suggests no refund for return {state.name}")
        request = {
            "orderId": state.order_id,
            "refundLineItems": refund_lines,
            "transactions": transactions,
            "notify": self.settings.notify_customer_on_return,
            "note": f"Return {state.name} ({update.idempotency_key})",
        }
        data = self.client.execute(
            "RefundCreate",
            documents.REFUND_CREATE,
            {"input": request, "key": update.idempotency_key},
        )
        return _outcome(update, data.get("refundCreate"))


def _done(update: ReturnUpdate) -> PushResult:
    return PushResult(key=update.return_external_id, ok=True)


def _refused(update: ReturnUpdate, why: str) -> PushResult:
    return PushResult(key=update.return_external_id, ok=False, error=why)


def _outcome(update: ReturnUpdate, payload: Any) -> PushResult:
    """Done, or refused with the mutation's userErrors."""
    refused = user_errors(payload)
    return _refused(update, refused) if refused else _done(update)
