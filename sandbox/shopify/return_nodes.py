"""The simulated shop's returns and money as GraphQL nodes (see :mod:`sandbox.shopify.nodes`).

A mixin of :class:`sandbox.shopify.nodes.NodeBuilder`. Nodes of an interface or a union
(``ReturnLineItemType``, ``ReverseDeliveryDeliverable``, ``ReturnOutcomeFinancialTransfer``)
carry ``__typename``, which graphql-core's default type resolver reads. Suggested refunds
are the lines' unit prices times the units (the simulated shop charges no tax, shipping
or duties), taken from the order's payments oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError, GraphQLResolveInfo

from omnisync.sandbox.shopify.model import (
    JSON,
    LineItem,
    Location,
    Order,
    Transaction,
    connection,
    gid,
    gid_number,
    graphql_time,
    money,
    money_bag,
)
from omnisync.sandbox.shopify.return_records import (
    RETURN_REASONS,
    Disposition,
    Refund,
    ReturnLine,
    ReturnRecord,
    ReverseDelivery,
    ReverseLine,
    ReverseOrder,
    reason_handle,
)

if TYPE_CHECKING:
    from omnisync.sandbox.shopify.state import ShopState

    Info = GraphQLResolveInfo[Any]

ZERO: Final = Decimal("0")


def _number(item: Any) -> list[Any]:
    return [item.number]


class ReturnNodes:
    """Nodes of returns, refunds and payments over one shop state."""

    if TYPE_CHECKING:
        state: ShopState

        def _guarded(self, resolve: Callable[..., Any]) -> Callable[..., Any]: ...
        def order_node(self, order: Order) -> JSON: ...
        def line_node(self, line: LineItem) -> JSON: ...
        def location_node(self, location: Location) -> JSON: ...

    def _money(self, amount: Decimal) -> JSON:
        return money_bag(amount, self.state.currency)

    # returns ------------------------------------------------------------------------

    def return_node(self, record: ReturnRecord) -> JSON:
        order = self.state.orders[record.order_number]

        def lines(info: Info, processingStatus: str | None = None, **arguments: Any) -> JSON:
            chosen = [
                line
                for line in record.lines
                if processingStatus is None
                or (processingStatus == "PROCESSABLE" and line.processable > 0)
                or (processingStatus == "PROCESSED" and line.processed > 0)
            ]
            return connection(chosen, self.return_line_node, _number, arguments)

        reverse = [record.reverse] if record.reverse else []
        return {
            "id": record.gid,
            "name": record.name,
            "status": record.status,
            "createdAt": graphql_time(record.created_at),
            "requestApprovedAt": graphql_time(record.approved_at),
            "closedAt": graphql_time(record.closed_at),
            "totalQuantity": sum(line.quantity for line in record.lines),
            "order": lambda info: self.order_node(order),
            "decline": (
                {"reason": record.decline[0], "note": record.decline[1]} if record.decline else None
            ),
            "staffMember": None,
            "returnShippingFees": [],
            "returnLineItems": lines,
            "exchangeLineItems": lambda info, **arguments: connection(
                [], self.return_line_node, _number, arguments
            ),
            "reverseFulfillmentOrders": lambda info, **arguments: connection(
                reverse, lambda rfo: self.reverse_order_node(rfo, record), _number, arguments
            ),
            "refunds": lambda info, **arguments: connection(
                record.refunds, self.refund_node, _number, arguments
            ),
            "transactions": lambda info, **arguments: connection(
                [t for refund in record.refunds for t in refund.transactions],
                self.transaction_node,
                _number,
                arguments,
            ),
            "suggestedFinancialOutcome": lambda info, returnLineItems, **_: self._suggested_outcome(
                record, returnLineItems
            ),
        }

    def return_line_node(self, line: ReturnLine) -> JSON:
        price = line.line_item.price
        return {
            "__typename": "ReturnLineItem",
            "id": line.gid,
            "quantity": line.quantity,
            "processableQuantity": line.processable,
            "processedQuantity": line.processed,
            "unprocessedQuantity": line.processable,
            "refundableQuantity": line.processed - line.refunded,
            "refundedQuantity": line.refunded,
            "customerNote": line.customer_note,
            "returnReason": line.reason,
            "returnReasonNote": line.reason_note,
            "returnReasonDefinition": {
                "id": gid("ReturnReasonDefinition", sorted(RETURN_REASONS).index(line.reason) + 1),
                "handle": reason_handle(line.reason),
                "name": RETURN_REASONS[line.reason],
                "deleted": False,
            },
            "restockingFee": None,
            "totalWeight": None,
            "withCodeDiscountedTotalPriceSet": self._money(price * line.quantity),
            "fulfillmentLineItem": self.fulfillment_line_node(line),
        }

    def fulfillment_line_node(self, line: ReturnLine) -> JSON:
        item = line.line_item
        shipped = line.fulfillment.lines[line.position][1]
        return {
            "id": line.fulfillment_line_gid,
            "quantity": shipped,
            "lineItem": self.line_node(item),
            "originalTotalSet": self._money(item.price * shipped),
            "discountedTotalSet": self._money(item.price * shipped),
        }

    def reverse_order_node(self, reverse: ReverseOrder, record: ReturnRecord) -> JSON:
        order = self.state.orders[record.order_number]
        return {
            "id": reverse.gid,
            "status": reverse.status,
            "thirdPartyConfirmation": None,
            "order": lambda info: self.order_node(order),
            "lineItems": lambda info, **arguments: connection(
                reverse.lines, self.reverse_line_node, _number, arguments
            ),
            "reverseDeliveries": lambda info, **arguments: connection(
                reverse.deliveries,
                lambda delivery: self.reverse_delivery_node(delivery, reverse, record),
                _number,
                arguments,
            ),
        }

    def reverse_line_node(self, reverse_line: ReverseLine) -> JSON:
        return {
            "id": reverse_line.gid,
            "totalQuantity": reverse_line.return_line.quantity,
            "fulfillmentLineItem": self.fulfillment_line_node(reverse_line.return_line),
            "dispositions": [self.disposition_node(d) for d in reverse_line.dispositions],
        }

    def disposition_node(self, disposition: Disposition) -> JSON:
        location = disposition.location
        return {
            "id": disposition.gid,
            "type": disposition.type,
            "quantity": disposition.quantity,
            "location": self.location_node(location) if location else None,
            "createdAt": graphql_time(disposition.created_at),
        }

    def reverse_delivery_node(
        self, delivery: ReverseDelivery, reverse: ReverseOrder, record: ReturnRecord
    ) -> JSON:
        tracking = None
        if delivery.tracking_number is not None:
            tracking = {"number": delivery.tracking_number, "carrierName": delivery.carrier}
            tracking["url"] = None
        items = [
            {
                "id": gid("ReverseDeliveryLineItem", line.number),
                "quantity": line.return_line.quantity,
                "dispositions": [self.disposition_node(d) for d in line.dispositions],
                "reverseFulfillmentOrderLineItem": self.reverse_line_node(line),
            }
            for line in reverse.lines
        ]
        return {
            "id": delivery.gid,
            "deliverable": {
                "__typename": "ReverseDeliveryShippingDeliverable",
                "tracking": tracking,
                "label": None,
            },
            "reverseFulfillmentOrder": lambda info: self.reverse_order_node(reverse, record),
            "reverseDeliveryLineItems": lambda info, **arguments: connection(
                items, lambda entry: entry, lambda entry: [entry["id"]], arguments
            ),
        }

    # money --------------------------------------------------------------------------

    def transaction_node(self, transaction: Transaction) -> JSON:
        order = self.state.orders[transaction.order_number]
        parent = transaction.parent
        left = self.state.refundable(transaction) if transaction.kind != "REFUND" else ZERO
        return {
            "id": transaction.gid,
            "kind": transaction.kind,
            "status": "SUCCESS",
            "gateway": transaction.gateway,
            "formattedGateway": transaction.gateway.title(),
            "amount": money(transaction.amount),
            "amountSet": self._money(transaction.amount),
            "amountV2": {"amount": money(transaction.amount), "currencyCode": order.currency},
            "maximumRefundableV2": {"amount": money(left), "currencyCode": order.currency},
            "createdAt": graphql_time(transaction.created_at),
            "processedAt": graphql_time(transaction.created_at),
            "test": True,
            "manualPaymentGateway": False,
            "manuallyCapturable": False,
            "multiCapturable": False,
            "fees": [],
            "errorCode": None,
            "paymentId": transaction.gid.rsplit("/", 1)[-1],
            "parentTransaction": (lambda info: self.transaction_node(parent)) if parent else None,
            "order": lambda info: self.order_node(order),
        }

    def refund_node(self, refund: Refund) -> JSON:
        order = self.state.orders[refund.order_number]
        record = self.state.returns.get(refund.return_number or 0)
        lines = [
            {
                "id": gid("RefundLineItem", refund.number * 1000 + index),
                "quantity": quantity,
                "restockType": "NO_RESTOCK",
                "restocked": False,
                "lineItem": self.line_node(line),
                "priceSet": self._money(line.price),
                "subtotalSet": self._money(line.price * quantity),
                "totalTaxSet": self._money(ZERO),
                "location": None,
            }
            for index, (line, quantity) in enumerate(refund.lines)
        ]
        return {
            "id": refund.gid,
            "legacyResourceId": str(refund.number),
            "createdAt": graphql_time(refund.created_at),
            "processedAt": graphql_time(refund.created_at),
            "updatedAt": graphql_time(refund.created_at),
            "note": refund.note,
            "duties": [],
            "staffMember": None,
            "totalRefundedSet": self._money(refund.total),
            "order": lambda info: self.order_node(order),
            "return": (lambda info: self.return_node(record)) if record else None,
            "refundLineItems": lambda info, **arguments: connection(
                lines, lambda entry: entry, lambda entry: [entry["id"]], arguments
            ),
            "transactions": lambda info, **arguments: connection(
                refund.transactions, self.transaction_node, _number, arguments
            ),
        }

    def _suggested_transactions(self, order: Order, amount: Decimal) -> list[JSON]:
        return [
            {
                "kind": "SUGGESTED_REFUND",
                "gateway": payment.gateway,
                "formattedGateway": payment.gateway.title(),
                "accountNumber": None,
                "paymentDetails": None,
                "amount": money(share),
                "amountSet": self._money(share),
                "maximumRefundable": money(self.state.refundable(payment)),
                "maximumRefundableSet": self._money(self.state.refundable(payment)),
                "parentTransaction": self.transaction_node(payment),
            }
            for payment, share in self.state.refund_allocation(order, amount)
        ]

    def _suggested_outcome(self, record: ReturnRecord, lines: Sequence[Mapping[str, Any]]) -> JSON:
        """``Return.suggestedFinancialOutcome``: a refund of the units' prices."""
        order = self.state.orders[record.order_number]
        amount = ZERO
        for entry in lines:
            line = record.line(entry.get("id"))
            if line is None:
                raise GraphQLError(f"Return line item {entry.get('id')} not found.")
            quantity = min(int(entry["quantity"]), line.quantity)
            amount += line.line_item.price * quantity
        return {
            "discountedSubtotal": self._money(amount),
            "maximumRefundable": self._money(_left_to_refund(self.state, order)),
            "refundDuties": [],
            "totalAdditionalFees": self._money(ZERO),
            "totalCartDiscountAmount": self._money(ZERO),
            "totalDuties": self._money(ZERO),
            "totalTax": self._money(ZERO),
            "financialTransfer": {
                "__typename": "RefundReturnOutcome",
                "amount": self._money(amount),
                "suggestedRefundMethods": [],
                "suggestedTransactions": self._suggested_transactions(order, amount),
            },
        }

    def suggested_refund_node(self, order: Order, arguments: Mapping[str, Any]) -> JSON:
        """``Order.suggestedRefund``: the listed units (or every refundable one)."""
        wanted: Iterable[tuple[LineItem, int]]
        if arguments.get("suggestFullRefund"):
            wanted = [(line, line.current_quantity) for line in order.lines]
        else:
            wanted = []
            for entry in arguments.get("refundLineItems") or []:
                number = gid_number(entry.get("lineItemId"), "LineItem")
                line = next((li for li in order.lines if li.number == number), None)
                if line is None:
                    raise GraphQLError(f"Line item {entry.get('lineItemId')} not found.")
                wanted.append((line, min(int(entry["quantity"]), line.current_quantity)))
        amount = sum((line.price * quantity for line, quantity in wanted), ZERO)
        left = _left_to_refund(self.state, order)
        return {
            "amount": money(amount),
            "amountSet": self._money(amount),
            "subtotal": money(amount),
            "subtotalSet": self._money(amount),
            "discountedSubtotalSet": self._money(amount),
            "maximumRefundable": money(left),
            "maximumRefundableSet": self._money(left),
            "totalTaxes": money(ZERO),
            "totalTaxSet": self._money(ZERO),
            "totalDutiesSet": self._money(ZERO),
            "totalCartDiscountAmountSet": self._money(ZERO),
            "refundDuties": [],
            "refundLineItems": [],
            "suggestedRefundMethods": [],
            "suggestedTransactions": self._suggested_transactions(order, amount),
        }


def _left_to_refund(state: ShopState, order: Order) -> Decimal:
    return sum((state.refundable(payment) for payment in state.payments_of(order)), ZERO)
