"""Returns: units of shipped orders coming back, what the warehouse found of them, the
money, and the outbox of what the channel is told (core/returns.py drives them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from omnisync.core.clock import utcnow
from omnisync.core.models._columns import enum_column, json_column, text_column, utc_column
from omnisync.core.types import (
    PushState,
    RefundState,
    ReturnAction,
    ReturnDisposition,
    ReturnStatus,
)


class Return(SQLModel, table=True):
    """One return of an order: asked for on the channel (`external_id` is the channel's
    id of it) or created in the hub (`external_id` None).

    `status_changed_at` is when the status last changed: how long a return has waited in
    transit or received is what the return_waiting alert measures. `channel_updated_at`
    is the channel's own change time of the version the hub took in: an older or equal
    report changes nothing. The refund is a step of its own (`refund_state`), so a
    receipt never waits on money; `refund_note` says where the refund is issued when
    the hub cannot issue it (Amazon: Seller Central).
    """

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_return_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    status: ReturnStatus = Field(sa_column=enum_column(ReturnStatus, index=True))
    channel_status: str = Field(default="", max_length=64)
    reason: str | None = Field(default=None, sa_column=text_column())
    customer_note: str | None = Field(default=None, sa_column=text_column())
    tracking_number: str | None = Field(default=None, max_length=200)
    refund_state: RefundState = Field(default=RefundState.NONE, sa_column=enum_column(RefundState))
    refund_note: str | None = Field(default=None, sa_column=text_column())
    refund_error: str | None = Field(default=None, sa_column=text_column())
    requested_at: datetime = Field(sa_column=utc_column())
    status_changed_at: datetime = Field(sa_column=utc_column())
    channel_updated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    received_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    created_by: str | None = Field(default=None, max_length=200)
    """Who created it in the hub (None: it came from the channel)."""
    raw: dict[str, Any] | None = Field(default=None, sa_column=json_column())


class ReturnLine(SQLModel, table=True):
    """Units of one order line in a return, and what the inspection found of them.

    The four disposition counts only grow, and never exceed `quantity` together: what
    is still to inspect is `quantity` minus their sum."""

    __tablename__ = "return_lines"
    __table_args__ = (
        UniqueConstraint("return_id", "external_line_id", name="uq_return_line_external_id"),
        CheckConstraint("quantity > 0", name="ck_return_line_quantity"),
        CheckConstraint(
            "quantity_restocked >= 0 AND quantity_damaged >= 0 AND quantity_missing >= 0 "
            "AND quantity_not_returned >= 0 AND quantity_restocked + quantity_damaged "
            "+ quantity_missing + quantity_not_returned <= quantity",
            name="ck_return_line_inspected",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="returns.id", index=True)
    order_line_id: int = Field(foreign_key="order_lines.id", index=True)
    external_line_id: str = Field(max_length=200)
    """The channel's id of the return line; in a return made in the hub, the order line's."""
    channel_sku: str = Field(max_length=200)
    quantity: int
    reason: str | None = Field(default=None, sa_column=text_column())
    customer_note: str | None = Field(default=None, sa_column=text_column())
    quantity_restocked: int = 0
    quantity_damaged: int = 0
    quantity_missing: int = 0
    quantity_not_returned: int = 0

    @property
    def quantity_received(self) -> int:
        """Units that physically came back."""
        return self.quantity_restocked + self.quantity_damaged

    @property
    def quantity_inspected(self) -> int:
        return (
            self.quantity_restocked
            + self.quantity_damaged
            + self.quantity_missing
            + self.quantity_not_returned
        )

    @property
    def open_quantity(self) -> int:
        """Units not inspected yet."""
        return self.quantity - self.quantity_inspected


class ReturnInspection(SQLModel, table=True):
    """One receipt of units of a return line with their disposition: the history the
    line's counts sum up. A restock names its location and its stock movement."""

    __tablename__ = "return_inspections"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_return_inspection_quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    return_line_id: int = Field(foreign_key="return_lines.id", index=True)
    disposition: ReturnDisposition = Field(sa_column=enum_column(ReturnDisposition))
    quantity: int
    location_id: int | None = Field(default=None, foreign_key="locations.id")
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    by: str | None = Field(default=None, max_length=200)


class ReturnPush(SQLModel, table=True):
    """The outbox of what a channel is told of a return: written in the transaction that
    made the change, pushed after commit by the returns job (sync/jobs/returns.py), so
    a crash loses nothing. `lines` are ReturnUpdateLine fields as JSON; `refund` asks
    the channel to refund with it."""

    __tablename__ = "return_pushes"
    __table_args__ = (Index("ix_return_push_state_next", "push_state", "next_push_at"),)

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="returns.id", index=True)
    action: ReturnAction = Field(sa_column=enum_column(ReturnAction))
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column(nullable=False))
    refund: bool = False
    reason: str | None = Field(default=None, sa_column=text_column())
    push_state: PushState = Field(default=PushState.PENDING, sa_column=enum_column(PushState))
    push_attempts: int = 0
    push_error: str | None = Field(default=None, sa_column=text_column())
    next_push_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    pushed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
