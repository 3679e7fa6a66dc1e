"""The resolvers of the return queries and mutations (a mixin of
:class:`sandbox.shopify.graph.ShopGraph`).

``return(id:)`` reads a return; ``returnApproveRequest``, ``returnDeclineRequest`` and
``returnProcess`` hand over to :class:`sandbox.shopify.state.ShopState` and answer with
the return or Shopify's ``ReturnUserError`` list; ``refundCreate`` needs its
``@idempotent`` key (mandatory from 2026-04, as for ``inventorySetQuantities``) and is
replayed by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from omnisync.sandbox.shopify.model import JSON, gid_number
from omnisync.sandbox.shopify.return_nodes import ReturnNodes
from omnisync.sandbox.shopify.return_records import ReturnRecord
from omnisync.sandbox.shopify.schema import idempotency_key

if TYPE_CHECKING:
    Info = GraphQLResolveInfo[Any]


class ReturnResolvers(ReturnNodes):
    if TYPE_CHECKING:

        def _guard(self, info: Info) -> None: ...

    def return_roots(self) -> tuple[JSON, JSON]:
        """(query root fields, mutation root fields) of returns and refunds."""
        queries = {"return": self._return}
        mutations = {
            "returnApproveRequest": self._return_approve,
            "returnDeclineRequest": self._return_decline,
            "returnProcess": self._return_process,
            "refundCreate": self._refund_create,
        }
        return queries, mutations

    def _return(self, info: Info, id: str) -> JSON | None:
        self._guard(info)
        record = self.state.returns.get(gid_number(id, "Return") or 0)
        return self.return_node(record) if record else None

    def _answer(
        self,
        info: Info,
        change: Callable[[Mapping[str, Any]], tuple[ReturnRecord | None, list[JSON]]],
        request: Mapping[str, Any],
    ) -> JSON:
        self._guard(info)
        record, errors = change(request)
        return {"return": self.return_node(record) if record else None, "userErrors": errors}

    def _return_approve(self, info: Info, input: Mapping[str, Any]) -> JSON:
        return self._answer(info, self.state.approve_return, input)

    def _return_decline(self, info: Info, input: Mapping[str, Any]) -> JSON:
        return self._answer(info, self.state.decline_return, input)

    def _return_process(self, info: Info, input: Mapping[str, Any]) -> JSON:
        return self._answer(info, self.state.process_return, input)

    def _refund_create(self, info: Info, input: Mapping[str, Any]) -> JSON:
        self._guard(info)
        payload = self.state.create_refund(input, idempotency_key(info))
        refund = self.state.refunds.get(payload["refund"] or 0)
        order = self.state.orders.get(refund.order_number) if refund else None
        return {
            "refund": self.refund_node(refund) if refund else None,
            "order": self.order_node(order) if order else None,
            "userErrors": payload["userErrors"],
        }
