"""``python -m omnisync.sandbox control URL COMMAND ...``: drive a running simulator by hand.

It speaks HTTP to the simulator's ``/_control`` routes (:mod:`sandbox.control_api`),
having first asked ``GET /_control/kind`` which simulator it is, so a command that
simulator has not is refused with the list of those it has.

A marketplace (``marketplace``, ``shopify``, ``amazon``, ``ebay``)::

    order SKU[:QTY] ...                   a buyer orders (one order, a line per SKU)
    orders                                every order
    cancel ORDER_ID                       the buyer cancels: the units come back
    ship ORDER_ID [--tracking N] [--carrier C]   the merchant ships what is left
    stock [SKU ...]                       the quantity offered, per SKU

The carriers::

    parcel [--provider ups|fedex|dhl_universal] [--tracking N]   a new label
    parcels                               every parcel and its stage
    advance [TRACKING_NUMBER] [--seconds S]   parcels one step (or S seconds) on
    outcome TRACKING_NUMBER exception|returned_to_sender

Any: ``kind``. Output: one line per order (id, status, lines, tracking), SKU
(sku, quantity) or parcel (tracking number, provider, stage), tab-separated; with
``--json``, the simulator's JSON answer. Exit codes: 0 done, 1 refused or
unreachable, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import httpx

from omnisync.sandbox.base import JSON
from omnisync.sandbox.control_api import PREFIX

if TYPE_CHECKING:
    from omnisync.sandbox.standalone import SubCommands

TIMEOUT_S: Final = 10.0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2


@dataclass(frozen=True)
class Command:
    """One control command: its arguments, the request it makes, how the answer prints."""

    name: str
    help: str
    method: str
    path: str
    arguments: Callable[[argparse.ArgumentParser], None]
    body: Callable[[argparse.Namespace], JSON | None]
    render: Callable[[JSON, argparse.Namespace], list[str]]


class ControlError(Exception):
    """The simulator refused, or could not be reached: one line to print, an exit code."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.code = code


def order_line(text: str) -> tuple[str, int]:
    """``SKU`` or ``SKU:QTY`` (argparse type)."""
    sku, separator, quantity = text.rpartition(":")
    if not separator or not quantity.isdigit():
        sku, quantity = text, "1"
    if not sku or int(quantity) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: want SKU or SKU:QTY, QTY 1 or more")
    return sku, int(quantity)


def _order_row(order: JSON) -> str:
    lines = ", ".join(f"{line['sku']} x{line['quantity']}" for line in order["lines"])
    row = [order["order_id"], order["status"], lines]
    if order.get("tracking_number"):
        row.append(f"tracking {order['tracking_number']}")
    return "\t".join(row)


def _parcel_row(parcel: JSON) -> str:
    return "\t".join((parcel["tracking_number"], parcel["provider"], parcel["status"]))


def _stock_rows(answer: JSON, args: argparse.Namespace) -> list[str]:
    stock: dict[str, int] = answer["stock"]
    unknown = [sku for sku in args.skus if sku not in stock]
    if unknown:
        raise ControlError(f"no listing for {', '.join(unknown)}")
    chosen = args.skus or sorted(stock)
    return [f"{sku}\t{stock[sku]}" for sku in chosen]


def _nothing(parser: argparse.ArgumentParser) -> None:
    pass


def _no_body(args: argparse.Namespace) -> JSON | None:
    return None


def _with_order_lines(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lines", nargs="+", type=order_line, metavar="SKU[:QTY]")


def _with_order_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order_id", metavar="ORDER_ID")


def _with_shipment(parser: argparse.ArgumentParser) -> None:
    _with_order_id(parser)
    parser.add_argument("--tracking", help="the parcel's tracking number")
    parser.add_argument("--carrier", help="the carrier (tracking company)")


def _with_skus(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("skus", nargs="*", metavar="SKU", help="only these (default: all)")


def _with_label(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", default="ups", help="ups, fedex or dhl_universal")
    parser.add_argument("--tracking", help="the tracking number (default: a made-up one)")


def _with_move(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tracking", nargs="?", metavar="TRACKING_NUMBER", help="default: all")
    parser.add_argument("--seconds", type=float, help="how far on (default: one step)")


def _with_outcome(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tracking", metavar="TRACKING_NUMBER")
    parser.add_argument("outcome", choices=("exception", "returned_to_sender"))


COMMANDS: Final[tuple[Command, ...]] = (
    Command(
        "order",
        "a buyer places one order, a line per SKU[:QTY]",
        "POST",
        "/orders",
        _with_order_lines,
        lambda args: {"lines": [{"sku": sku, "quantity": qty} for sku, qty in args.lines]},
        lambda answer, args: [_order_row(answer["order"])],
    ),
    Command(
        "orders",
        "every order: id, status, lines",
        "GET",
        "/orders",
        _nothing,
        _no_body,
        lambda answer, args: [_order_row(order) for order in answer["orders"]],
    ),
    Command(
        "cancel",
        "the order is cancelled; unshipped units go back on sale",
        "POST",
        "/cancel",
        _with_order_id,
        lambda args: {"order_id": args.order_id},
        lambda answer, args: [_order_row(answer["order"])],
    ),
    Command(
        "ship",
        "the merchant ships every unit not shipped yet",
        "POST",
        "/ship",
        _with_shipment,
        lambda args: {
            "order_id": args.order_id,
            "tracking_number": args.tracking,
            "carrier": args.carrier,
        },
        lambda answer, args: [_order_row(answer["order"])],
    ),
    Command(
        "stock",
        "the quantity the channel offers, per SKU",
        "GET",
        "/stock",
        _with_skus,
        _no_body,
        _stock_rows,
    ),
    Command(
        "parcel",
        "a new label: prints its tracking number",
        "POST",
        "/parcels",
        _with_label,
        lambda args: {"provider": args.provider, "tracking_number": args.tracking},
        lambda answer, args: [_parcel_row(answer["parcel"])],
    ),
    Command(
        "parcels",
        "every parcel: tracking number, provider, stage",
        "GET",
        "/parcels",
        _nothing,
        _no_body,
        lambda answer, args: [_parcel_row(parcel) for parcel in answer["parcels"]],
    ),
    Command(
        "advance",
        "parcels (one, or all) move one step, or --seconds, on",
        "POST",
        "/advance",
        _with_move,
        lambda args: {"tracking_number": args.tracking, "seconds": args.seconds},
        lambda answer, args: [_parcel_row(parcel) for parcel in answer["parcels"]],
    ),
    Command(
        "outcome",
        "the parcel stops with an exception, or goes back to the sender",
        "POST",
        "/outcome",
        _with_outcome,
        lambda args: {"tracking_number": args.tracking, "outcome": args.outcome},
        lambda answer, args: [_parcel_row(answer["parcel"])],
    ),
    Command(
        "kind",
        "which simulator this is, and its commands",
        "GET",
        "/kind",
        _nothing,
        _no_body,
        lambda answer, args: [
            f"{answer['kind']}\t{answer['type']}\t{answer['name']}\t{' '.join(answer['commands'])}"
        ],
    ),
)
BY_NAME: Final = {command.name: command for command in COMMANDS}


def add_parser(commands: SubCommands) -> argparse.ArgumentParser:
    """``control URL COMMAND ...`` under the ``python -m omnisync.sandbox`` parser."""
    parser = commands.add_parser(
        "control",
        help="drive a running simulator: place, cancel and ship orders, read stock",
        description="Drive a running simulator through its /_control routes.",
    )
    parser.add_argument("url", metavar="URL", help="the simulator's URL (what it printed)")
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--json", action="store_true", help="print the JSON answer")
    actions = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.arguments(actions.add_parser(command.name, help=command.help, parents=[shared]))
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    command = BY_NAME[args.command]
    try:
        answer = _ask(args.url, command, args)
        lines = [json.dumps(answer, indent=2)] if args.json else command.render(answer, args)
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    for line in lines:
        print(line)
    return 0


def _ask(url: str, command: Command, args: argparse.Namespace) -> JSON:
    """The simulator's answer to ``command``, once it said it has that command."""
    try:
        with httpx.Client(base_url=url.rstrip("/") + PREFIX, timeout=TIMEOUT_S) as client:
            kind = _call(client, "GET", "/kind", None)
            if command.name == "kind":
                return kind
            if command.name not in kind["commands"]:
                raise ControlError(
                    f"this {kind['kind']} simulator has no {command.name!r} command "
                    f"(it has: {', '.join(kind['commands'])})",
                    EXIT_USAGE,
                )
            return _call(client, command.method, command.path, command.body(args))
    except httpx.HTTPError as error:
        raise ControlError(f"cannot reach {url}: {error}") from None


def _call(client: httpx.Client, method: str, path: str, body: JSON | None) -> JSON:
    response = client.request(method, path, json=body)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or (path == "/kind" and "commands" not in answer):
        raise ControlError(
            f"{response.request.url} answered HTTP {response.status_code}, not a simulator's "
            "control (is the URL the one the simulator printed?)"
        )
    if response.is_error:
        raise ControlError(f"{answer.get('message', answer)} ({answer.get('error', 'refused')})")
    return answer
