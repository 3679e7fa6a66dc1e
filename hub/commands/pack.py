"""`omnisync pack ORDER`: pack an order by scanning every unit into its parcel, then buy
its label.

With `--scan CODE ...` the codes are applied in order, each in its own transaction; a
refused one is said on stderr and the next goes on. With no `--scan` on a terminal, the
packer scans (a USB scanner types the code and Enter) until the parcel is packed. Once
it is packed (by these scans, or before them: hub/packing.py `ScanRun.label_due`),
`--carrier` buys the label for exactly the units scanned (hub/labels.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from omnisync.core.db import transaction
from omnisync.core.errors import DomainError
from omnisync.core.packing import PackingState, ScanOutcome, ScanRefused
from omnisync.hub.bootstrap import Hub, sync_engine
from omnisync.hub.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    JsonOption,
    console,
    errors,
    fail,
    failing_on_domain_errors,
    open_hub,
    print_json,
    say,
)
from omnisync.hub.commands.orders import (
    DimensionsOption,
    LabelFormatChoice,
    OrderArgument,
    parse_dimensions,
    parse_weight,
)
from omnisync.hub.labels import LabelOptions, may_ask_again
from omnisync.hub.packing import (
    PackingOrder,
    Refusal,
    ScanRun,
    buy_parcel_label,
    check_label_carrier,
    packing_order,
)
from omnisync.hub.shipping import UnknownCarrier
from omnisync.hub.views.labels import label_view
from omnisync.hub.views.packing import pack_view
from omnisync.hub.views.shapes import LabelOut

STOP_WORDS = frozenset({"", "q", "quit"})
RESET_WORD = "reset"
ACTOR = "cli"


def pack(
    ctx: typer.Context,
    order_id: OrderArgument,
    scans: Annotated[
        list[str] | None,
        typer.Option(
            "--scan",
            metavar="CODE",
            help="A barcode scanned (a SKU's, its code, or a packaging's); repeat in the "
            "order scanned. A refused one is said on stderr and the others go on.",
        ),
    ] = None,
    carrier: Annotated[
        str | None,
        typer.Option(
            help="Once packed, buy the label from this carrier channel (UPS, FedEx) for "
            "the units scanned, and record the parcel as `orders label` does."
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="The service as `orders rates` names it (default: the cheapest)."),
    ] = None,
    weight: Annotated[
        str | None, typer.Option(help="The parcel's weight in kg (with --carrier).")
    ] = None,
    dimensions: DimensionsOption = None,
    label_format: Annotated[
        LabelFormatChoice, typer.Option("--format", help="The label's file format.")
    ] = LabelFormatChoice.PDF,
    location: Annotated[
        str | None,
        typer.Option(help="Pack only the lines reserved at this location (a split order)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Pack an order: every unit is scanned into the parcel, and a wrong item or one too
    many is refused with nothing counted. Without --scan, on a terminal, scan one code
    per line until the order is packed (Enter or q stops, keeping the scans; `reset`
    starts over). Once packed, --carrier buys the label. Exit code 1 when any --scan was
    refused (the others still count) or the label could not be bought."""
    options = _label_options(carrier, service, weight, dimensions, label_format)
    hub = open_hub(ctx, channel=carrier)
    try:
        with failing_on_domain_errors():
            if options is not None:
                try:
                    check_label_carrier(hub.settings, options)
                except UnknownCarrier as error:
                    fail(str(error), EXIT_USAGE)
            order = packing_order(hub.engine, order_id, location=location)
            if scans:
                run = _scan_codes(hub.engine, order, scans, quiet=json_output)
            elif _stdin_is_terminal() and not json_output:
                run = _scanner_loop(hub.engine, order, _read_line)
            else:
                state = order.state(hub.engine)
                run = ScanRun(state, packed_before=state.packed)
        label = None
        if options is not None and run.state.packed:
            if not run.label_due:
                fail(run.why_no_label)
            label = _buy_label(hub, run, options, quiet=json_output)
    finally:
        hub.engine.dispose()
    if json_output:
        print_json(pack_view(run, label))
    elif label is None:
        _say_outcome(run.state, label_asked=options is not None)
    if label is not None and label.file_error is not None:
        fail(label.file_error)
    if scans and run.refused:
        raise typer.Exit(EXIT_FAILED)


def _label_options(
    carrier: str | None,
    service: str | None,
    weight: str | None,
    dimensions: str | None,
    label_format: LabelFormatChoice,
) -> LabelOptions | None:
    """The label to buy once packed; None without --carrier. Label options without a
    carrier, or a carrier without a weight, are bad usage (exit 2)."""
    if carrier is None:
        if weight is not None or service is not None or dimensions is not None:
            raise typer.BadParameter(
                "--weight, --service and --dimensions describe the label: give --carrier too",
                param_hint="'--carrier'",
            )
        return None
    if weight is None:
        raise typer.BadParameter("the label needs the parcel's weight", param_hint="'--weight'")
    return LabelOptions(
        carrier=carrier,
        service=service,
        weight_kg=parse_weight(weight),
        dimensions_cm=parse_dimensions(dimensions),
        label_format=label_format.value,
    )


def _buy_label(hub: Hub, run: ScanRun, options: LabelOptions, *, quiet: bool) -> LabelOut:
    """The packed parcel's label, bought and recorded; a failure is exit 1, the scans
    kept (and a retry suggested only when the carrier certainly sold nothing)."""
    state = run.state
    engine = sync_engine(hub)
    try:
        outcome = buy_parcel_label(engine, hub.settings, state, options, actor=ACTOR)
    except DomainError as error:
        fail(_not_bought(state, options, error))
    finally:
        engine.close()
    with transaction(hub.engine, read_only=True) as session:
        bought = label_view(session, outcome)
    if not quiet:
        price = f", {outcome.price} {outcome.currency or ''}".rstrip() if outcome.price else ""
        say(
            f"order {state.order_id} ({state.order_name}) is packed: label "
            f"{outcome.tracking_number} bought from {outcome.carrier} "
            f"({outcome.service or 'default service'}{price}), the parcel recorded"
        )
        if outcome.label_path is not None:
            say(f"label file ({outcome.label_format}): {outcome.label_path}")
    return bought


def _not_bought(state: PackingState, options: LabelOptions, error: DomainError) -> str:
    """Why the packed parcel has no label; how to buy it again only when asking again
    cannot buy a second one (hub/labels.py `may_ask_again`)."""
    said = (
        f"order {state.order_id} ({state.order_name}) is packed, but its label was not "
        f"bought: {error}. The scans are kept"
    )
    if not may_ask_again(error):
        return said
    where = f" --location {state.location}" if state.location is not None else ""
    again = f"`omnisync pack {state.order_id}{where} --carrier {options.carrier} --weight ...`"
    return f"{said}: buy it again with {again}"


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_line() -> str | None:
    """One line the packer (or the scanner) typed; None at the end of input."""
    console.print("scan> ", end="", markup=False, highlight=False)
    line = sys.stdin.readline()
    return line.strip() if line else None


def _scan_codes(engine: Engine, order: PackingOrder, codes: list[str], *, quiet: bool) -> ScanRun:
    run = order.scan_all(engine, codes, actor=ACTOR)
    for refusal in run.refused:
        _say_refused(refusal)
    if not quiet:
        for outcome in run.accepted:
            _say_ok(outcome)
    return run


def _scanner_loop(engine: Engine, order: PackingOrder, read: Callable[[], str | None]) -> ScanRun:
    """Scan until the parcel is packed, the packer stops (Enter, q, end of input) or
    resets; every scan is committed as it is made."""
    state = order.state(engine)
    run = ScanRun(state, packed_before=state.packed)
    _print_state(state)
    if not state.packed:
        say("scan a barcode per line (Enter or q: stop, keeping the scans; reset: start over)")
    while not state.packed:
        code = read()
        if code is None or code.lower() in STOP_WORDS:
            break
        if code.lower() == RESET_WORD:
            state = order.reset(engine)
            say("started over: no unit is scanned")
            _print_state(state)
            continue
        try:
            outcome = order.scan(engine, code, actor=ACTOR)
        except ScanRefused as refusal:
            _say_refused(Refusal(code, refusal.message))
            run.refused.append(Refusal(code, refusal.message))
            state = refusal.state
            say(f"still to scan: {_remaining(state)}")
            continue
        run.accepted.append(outcome)
        state = outcome.state
        _say_ok(outcome)
    run.state = state
    return run


def _say_ok(outcome: ScanOutcome) -> None:
    counted = f" ({outcome.units} units)" if outcome.units > 1 else ""
    console.print(
        f"OK: {outcome.sku} {outcome.scanned}/{outcome.needed}{counted}",
        style="green",
        markup=False,
        highlight=False,
    )


def _say_refused(refusal: Refusal) -> None:
    errors.print(
        f"REFUSED {refusal.code}: {refusal.message}",
        style="bold red",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _remaining(state: PackingState) -> str:
    left = [
        f"{line.sku or line.channel_sku} {line.remaining}" for line in state.lines if line.remaining
    ]
    return ", ".join(left) or "nothing"


def _print_state(state: PackingState) -> None:
    where = f" at {state.location}" if state.location else ""
    units = sum(line.needed for line in state.lines)
    say(f"order {state.order_id} ({state.order_name}){where}: {units} unit(s) to pack")
    table = Table("sku", "title", "needed", "scanned", "remaining")
    for line in state.lines:
        table.add_row(
            line.sku or f"{line.channel_sku} (no hub SKU: cannot be scanned)",
            line.title,
            str(line.needed),
            str(line.scanned),
            str(line.remaining),
        )
    console.print(table)


def _say_outcome(state: PackingState, *, label_asked: bool) -> None:
    if not state.packed:
        scanned = sum(line.scanned for line in state.lines)
        needed = sum(line.needed for line in state.lines)
        say(
            f"order {state.order_id} ({state.order_name}): {scanned} of {needed} unit(s) "
            f"scanned; still to scan: {_remaining(state)}"
            + ("; no label is bought until it is packed" if label_asked else "")
        )
        return
    say(
        f"order {state.order_id} ({state.order_name}) is packed: ship it with `omnisync "
        f"orders label {state.order_id} --carrier C --weight KG` (buys the label) or "
        f"`omnisync orders ship {state.order_id} --carrier C --tracking N`"
    )
