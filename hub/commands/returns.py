"""`omnisync returns`: units of shipped orders coming back, asked for on a channel or made
here; approving, declining, receiving them with a disposition per unit, refunding and
closing (hub/returns.py, the same steps as /api/v1/returns).

Each step changes one return in one transaction and says what it did (`--json`: the
return as `returns show --json` prints it). A refusal (an unknown return or order, a
line the return does not have, more units than are left, a return whose status does
not take the step) exits 1 naming what is wrong, and nothing is changed; a value that
cannot be read (`--line` not SKU:QTY:DISPOSITION) exits 2. What the channel is to be
told waits in the outbox: a running hub sends it on the channel's next returns run.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from omnisync.core.models import Location, Return, ReturnInspection, ReturnLine
from omnisync.core.returns import Receipt, find_return
from omnisync.core.types import PushState, ReturnDisposition, ReturnStatus
from omnisync.hub.commands.common import (
    ChannelFilterOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    console,
    hub_session,
    print_json,
    say,
)
from omnisync.hub.commands.orders import OrderArgument, line_units, parse_sku_lines
from omnisync.hub.commands.resolving import operator_name
from omnisync.hub.returns import NewReturn, approve, close, decline, open_return, receive, refund
from omnisync.hub.views.returns import order_return_summary, return_detail, return_list
from omnisync.hub.views.shapes import ReturnDetailOut

app = typer.Typer(
    help="Returns of shipped orders: received, inspected, restocked, refunded.",
    no_args_is_help=True,
)

ReturnArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="The hub's return id, the return's name (#1001-R1) or the channel's id of it.",
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who does it (default: your OS user); kept with the return."),
]
DISPOSITIONS = ", ".join(disposition.value for disposition in ReturnDisposition)
_DISPOSITION_WORDS = {
    ReturnDisposition.RESTOCK: "restocked",
    ReturnDisposition.DAMAGED: "damaged (no stock change)",
    ReturnDisposition.MISSING: "missing",
    ReturnDisposition.NOT_RETURNED: "not returned (the buyer keeps it)",
}


@app.command("list")
def list_returns(
    ctx: typer.Context,
    status: Annotated[ReturnStatus | None, typer.Option(help="Only this status.")] = None,
    channel: ChannelFilterOption = None,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Returns, newest requested first."""
    with hub_session(ctx, read_only=True) as (_, session):
        rows = return_list(session, channel=channel, status=status, limit=limit, offset=offset)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "channel", "return", "order", "status", "units", "back", "refund", "since")
    for row in rows:
        table.add_row(
            str(row.id),
            row.channel,
            row.name or row.external_id or "",
            row.order_name or row.order_external_id,
            row.status,
            str(row.units_requested),
            str(row.units_restocked + row.units_damaged),
            row.refund_state if row.refund_state != "none" else "",
            row.status_changed_at,
        )
    console.print(table)


@app.command("show")
def show_return(
    ctx: typer.Context, return_id: ReturnArgument, json_output: JsonOption = False
) -> None:
    """One return: its lines with what came back and what became of each unit, who
    inspected them and where restocked units went, the refund, what the channel was told,
    and the order it belongs to."""
    with hub_session(ctx, read_only=True) as (_, session):
        row, summary = _detail(session, find_return(session, return_id))
    if json_output:
        print_json(row)
        return
    _print_return(row, summary)


@app.command("create")
def create(
    ctx: typer.Context,
    order_id: OrderArgument,
    lines: Annotated[
        list[str],
        typer.Option(
            "--line",
            metavar="SKU:QTY",
            help="Units coming back, by the channel's or the hub's SKU; repeat per SKU.",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the buyer sends them back.")],
    note: Annotated[str | None, typer.Option("--note", help="The buyer's words, if any.")] = None,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make a return of a shipped order here (for a channel without a returns API): it
    starts approved; receive it when the parcel arrives."""
    units = parse_sku_lines(lines) or {}
    request = NewReturn(order=order_id, units=units, reason=reason, note=note)
    with hub_session(ctx) as (_, session):
        row, _ = _detail(session, open_return(session, request, by=by or operator_name()))
    if json_output:
        print_json(row)
        return
    asked = ", ".join(f"{line.requested} of {line.sku or line.channel_sku}" for line in row.lines)
    say(f"{_label(row)} made for {_order_label(row)}: {asked}; it is {row.status}")
    say(f"when the parcel arrives: `omnisync returns receive {row.id} --line SKU:QTY:DISPOSITION`")


@app.command("approve")
def approve_command(
    ctx: typer.Context, return_id: ReturnArgument, json_output: JsonOption = False
) -> None:
    """Agree to a requested return; the channel is told where it takes that (Shopify)."""
    with hub_session(ctx) as (_, session):
        row, _ = _detail(session, approve(session, return_id, by=operator_name()))
    _done(row, "approved", json_output)


@app.command("decline")
def decline_command(
    ctx: typer.Context,
    return_id: ReturnArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why, in words (the channel is told).")],
    json_output: JsonOption = False,
) -> None:
    """Refuse a requested return; the channel is told where it takes that."""
    with hub_session(ctx) as (_, session):
        ret = decline(session, return_id, reason=reason, by=operator_name())
        row, _ = _detail(session, ret)
    _done(row, f"declined ({reason.strip()})" if reason.strip() else "declined", json_output)


@app.command("receive")
def receive_command(
    ctx: typer.Context,
    return_id: ReturnArgument,
    lines: Annotated[
        list[str],
        typer.Option(
            "--line",
            metavar="SKU:QTY:DISPOSITION",
            help=f"Units inspected, by SKU, and what they are: one of {DISPOSITIONS}; "
            "repeat per SKU and disposition.",
        ),
    ],
    location: Annotated[
        str | None,
        typer.Option(
            "--location",
            help="Where the restock lines go back on the shelf (default: where they shipped from).",
        ),
    ] = None,
    refund_too: Annotated[
        bool,
        typer.Option(
            "--refund",
            help="Refund with the receipt (in the same call to a channel that refunds).",
        ),
    ] = False,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record what came back: restocked units go back on the shelf (and every channel is
    offered them within seconds), damaged, missing and kept units change no stock."""
    receipts = parse_receipts(lines, location)
    with hub_session(ctx) as (_, session):
        ret, inspections = receive(
            session, return_id, receipts, refund=refund_too, by=by or operator_name()
        )
        what = _inspected(session, inspections)
        row, summary = _detail(session, ret)
    if json_output:
        print_json(row)
        return
    say(f"{_label(row)}: {what}; it is {row.status}")
    if refund_too:
        say(_refund_words(row))
    if summary:
        say(f"{_order_label(row)} is {summary}")
    _say_outbox(row)


@app.command("refund")
def refund_command(
    ctx: typer.Context,
    return_id: ReturnArgument,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Refund the return: asked of a channel that refunds through its API (Shopify), else
    recorded as refunded where the channel's seller refunds (Amazon: Seller Central)."""
    with hub_session(ctx) as (_, session):
        row, _ = _detail(session, refund(session, return_id, by=by or operator_name()))
    if json_output:
        print_json(row)
        return
    say(f"{_label(row)}: {_refund_words(row)}")
    _say_outbox(row)


@app.command("close")
def close_command(
    ctx: typer.Context, return_id: ReturnArgument, json_output: JsonOption = False
) -> None:
    """End the return: units not inspected by now are not coming back."""
    with hub_session(ctx) as (_, session):
        row, _ = _detail(session, close(session, return_id, by=operator_name()))
    left = sum(line.left for line in row.lines)
    _done(row, f"closed; {left} unit(s) never inspected" if left else "closed", json_output)


def parse_receipts(values: list[str], location: str | None) -> list[Receipt]:
    """`--line SKU:QTY:DISPOSITION` values (a SKU may hold colons), `--location` on the
    restock ones; a value that cannot be read is bad usage (exit 2)."""
    receipts = []
    for value in values:
        sku, quantity, disposition = ([""] * 3 + value.rsplit(":", 2))[-3:]
        if not sku.strip():
            raise typer.BadParameter(f"{value!r} is not SKU:QTY:DISPOSITION", param_hint="'--line'")
        units = line_units(value, quantity)
        try:
            kind = ReturnDisposition(disposition.strip().lower().replace("-", "_"))
        except ValueError:
            raise typer.BadParameter(
                f"{value!r}: DISPOSITION must be one of {DISPOSITIONS}", param_hint="'--line'"
            ) from None
        where = location if kind == ReturnDisposition.RESTOCK else None
        receipts.append(Receipt(sku.strip(), units, kind, where))
    if location is not None and all(r.disposition != ReturnDisposition.RESTOCK for r in receipts):
        raise typer.BadParameter(
            "it names where restocked units go, and no --line is restock",
            param_hint="'--location'",
        )
    return receipts


def _detail(session: Session, ret: Return) -> tuple[ReturnDetailOut, str | None]:
    """The return's shape and how much of its order came back, in words."""
    row = return_detail(session, ret)
    return row, order_return_summary(session, row.order_id, row.order.return_state)


def _inspected(session: Session, inspections: list[ReturnInspection]) -> str:
    """ "1 of A restocked at main, 1 of A damaged (no stock change)"."""
    parts = []
    for inspection in inspections:
        line = session.get(ReturnLine, inspection.return_line_id)
        assert line is not None
        words = _DISPOSITION_WORDS[inspection.disposition]
        location = session.get(Location, inspection.location_id) if inspection.location_id else None
        if location is not None:
            words += f" at {location.code}"
        parts.append(f"{inspection.quantity} of {line.channel_sku} {words}")
    return ", ".join(parts)


def _label(row: ReturnDetailOut) -> str:
    name = row.name or row.external_id
    return f"return {row.id}" + (f" ({name})" if name else "")


def _order_label(row: ReturnDetailOut) -> str:
    return f"order {row.order_id} ({row.channel} {row.order_name or row.order_external_id})"


def _done(row: ReturnDetailOut, what: str, json_output: bool) -> None:
    if json_output:
        print_json(row)
        return
    say(f"{_label(row)} of {_order_label(row)}: {what}")
    _say_outbox(row)


def _refund_words(row: ReturnDetailOut) -> str:
    if row.refund_state == "pending":
        return f"refund asked of {row.channel}: pending until it answers"
    if row.refund_state == "refunded":
        return f"refund recorded: {row.refund_note}" if row.refund_note else "refunded"
    if row.refund_state == "failed":
        return f"the refund failed: {row.refund_error or 'refused'}"
    return "no refund yet"


def _say_outbox(row: ReturnDetailOut) -> None:
    waiting = sum(1 for push in row.pushes if push.state == PushState.PENDING)
    if waiting:
        say(
            f"{waiting} update(s) for {row.channel} wait in the outbox: a running hub sends "
            f"them on its next returns run (or run `omnisync sync returns --channel "
            f"{row.channel}`)"
        )


def _print_return(row: ReturnDetailOut, summary: str | None) -> None:
    named_apart = row.external_id and row.name and row.name != row.external_id
    channel_id = f", the channel's {row.external_id}" if named_apart else ""
    channel_status = f" (on {row.channel}: {row.channel_status})" if row.channel_status else ""
    say(f"{_label(row)} on {row.channel}{channel_id}: {row.status}{channel_status}")
    say(f"{_order_label(row)}: {row.order.status}" + (f"; {summary}" if summary else ""))
    times = [f"requested {row.requested_at}", f"{row.status} since {row.status_changed_at}"]
    if row.received_at:
        times.append(f"first received {row.received_at}")
    say(", ".join(times))
    facts = [
        text
        for text, value in (
            (f"reason: {row.reason}", row.reason),
            (f"buyer's note: {row.customer_note}", row.customer_note),
            (f"tracking: {row.tracking_number}", row.tracking_number),
            (f"made in the hub by {row.created_by}", row.created_by),
        )
        if value
    ]
    if facts:
        say("; ".join(facts))
    refund_line = f"refund: {row.refund_state}"
    if row.refund_error:
        refund_line += f" ({row.refund_error})"
    if row.refund_note:
        refund_line += f"; {row.refund_note}"
    say(refund_line)
    lines = Table(
        "line",
        "channel sku",
        "sku",
        "requested",
        "restocked",
        "damaged",
        "missing",
        "not returned",
        "left",
    )
    for line in row.lines:
        lines.add_row(
            line.external_line_id,
            line.channel_sku,
            line.sku or "(unmapped)",
            str(line.requested),
            str(line.restocked),
            str(line.damaged),
            str(line.missing),
            str(line.not_returned),
            str(line.left),
        )
    console.print(lines)
    inspections = Table("at", "channel sku", "disposition", "quantity", "location", "by")
    for line in row.lines:
        for inspection in line.inspections:
            inspections.add_row(
                inspection.at,
                line.channel_sku,
                inspection.disposition,
                str(inspection.quantity),
                inspection.location or "",
                inspection.by or "",
            )
    if inspections.row_count:
        console.print(inspections)
    if row.pushes:
        pushes = Table("queued", "told", "refund", "state", "attempts", "error")
        for push in row.pushes:
            pushes.add_row(
                push.created_at,
                push.action,
                "yes" if push.refund else "",
                push.state,
                str(push.attempts),
                push.error or "",
            )
        console.print(pushes)
