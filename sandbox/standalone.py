"""One simulator on its own: ``python -m omnisync.sandbox KIND [options]``
(see :mod:`sandbox.__main__`).

A :class:`StandaloneKind` (the table is :mod:`sandbox.standalone_kinds`) says what is
particular to a simulator: its options, how it is built and stocked, and the hub
channel that talks to it. What every kind shares is here: the common options, the
stock to start with (``--listings FILE.json`` or ``--skus N``), starting the server,
the URL on stdout (its only line), on stderr how to configure a hub channel for it
and how to drive it with ``python -m omnisync.sandbox control``, then serving until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar

from omnisync.hub.http_server import DEFAULT_HOST, ServerError
from omnisync.sandbox.base import JSON, SimulatedMarketplace

if TYPE_CHECKING:
    SubCommands = argparse._SubParsersAction[argparse.ArgumentParser]

S = TypeVar("S", bound=SimulatedMarketplace)

INVENTED_QUANTITY: Final = 10
"""Units of each SKU ``--skus N`` makes up."""
CONTROL: Final = "python -m omnisync.sandbox control"


@dataclass(frozen=True)
class ChannelHint:
    """A hub channel file for a running simulator, and the environment it reads."""

    file_name: str
    body: str
    """The YAML, secrets as ``${VARIABLE}`` references."""
    environment: dict[str, str]
    """The made-up, loopback-only values of those variables."""


class StandaloneKind(ABC, Generic[S]):
    """What is particular to one simulator when it runs on its own."""

    name: ClassVar[str]
    """The sub-command: ``python -m omnisync.sandbox NAME``."""
    summary: ClassVar[str]
    default_name: ClassVar[str]
    """The simulator's (and the hub channel's) name unless ``--name`` says otherwise."""
    sells: ClassVar[bool] = True
    """Listings to buy from (``--listings``, ``--skus``) and the order control commands;
    False: parcels (the carriers)."""
    refusals: ClassVar[tuple[type[Exception], ...]] = ()
    """What ``seed`` raises for a listing the simulator refuses."""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The options only this kind takes."""

    @abstractmethod
    def build(self, args: argparse.Namespace) -> S:
        """The simulator, not started; ``args`` has the common options too."""

    def seed(self, simulator: S, listings: list[JSON]) -> None:
        """Stock the simulator: ``[{sku, title?, quantity, price?}]``. Only called for a
        kind that ``sells``; each of those overrides it."""
        raise TypeError(f"{self.name} sells nothing: it has no listings to seed")

    @abstractmethod
    def addresses(self, simulator: S) -> dict[str, str]:
        """What the simulator serves where, once started (API, state, ...)."""

    @abstractmethod
    def channels(self, simulator: S, args: argparse.Namespace) -> list[ChannelHint]:
        """Hub channel files that talk to the started simulator."""


def add_parser(commands: SubCommands, kind: StandaloneKind[Any]) -> argparse.ArgumentParser:
    """The sub-command of ``kind``, with the options every kind shares and its own."""
    parser = commands.add_parser(kind.name, help=kind.summary, description=kind.summary)
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to serve on")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) picks a free port")
    parser.add_argument("--name", default=kind.default_name, help="the simulator's name")
    parser.add_argument(
        "--rate-scale", type=float, default=1.0, help="multiplies the published rate limits"
    )
    if kind.sells:
        stock = parser.add_mutually_exclusive_group()
        stock.add_argument(
            "--listings",
            type=Path,
            metavar="FILE.json",
            help="listings to start with: [{sku, title?, quantity, price?}, ...]",
        )
        stock.add_argument(
            "--skus",
            type=int,
            metavar="N",
            help=f"start with N made-up SKUs (SKU-001, ...), {INVENTED_QUANTITY} units each",
        )
    kind.add_options(parser)
    parser.set_defaults(kind=kind)
    return parser


def starting_listings(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[JSON]:
    """``--listings FILE`` read, ``--skus N`` made up, or none."""
    if getattr(args, "skus", None) is not None:
        if args.skus < 0:
            parser.error("--skus must be 0 or more")
        return invented_listings(args.skus)
    path: Path | None = getattr(args, "listings", None)
    if path is None:
        return []
    try:
        listings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        parser.error(f"--listings {path}: {error}")
    if not isinstance(listings, list) or not all(isinstance(item, dict) for item in listings):
        parser.error(f"--listings {path}: not a JSON list of objects [{{sku, quantity}}, ...]")
    return listings


def invented_listings(count: int) -> list[JSON]:
    return [
        {"sku": f"SKU-{n:03d}", "title": f"Simulated product {n}", "quantity": INVENTED_QUANTITY}
        for n in range(1, count + 1)
    ]


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Build, stock and start ``args.kind``'s simulator, say where it is, serve until Ctrl-C."""
    kind: StandaloneKind[Any] = args.kind
    listings = starting_listings(args, parser) if kind.sells else []
    simulator = kind.build(args)
    if listings:
        try:
            kind.seed(simulator, listings)
        except kind.refusals as error:
            parser.error(f"--listings: {error}")
    try:
        url = simulator.start()
    except (OSError, ServerError) as error:
        parser.exit(1, f"{parser.prog}: cannot serve on {args.host}:{args.port}: {error}\n")

    def announce() -> None:
        print(url, flush=True)
        sys.stderr.write(how_to(kind, simulator, args, listings))
        sys.stderr.flush()

    simulator.serve_until_interrupted(announce)
    return 0


def how_to(
    kind: StandaloneKind[Any],
    simulator: SimulatedMarketplace,
    args: argparse.Namespace,
    listings: Sequence[JSON],
) -> str:
    """What stderr says once the simulator is up: addresses, a hub channel, control."""
    lines = [f"{kind.name} simulator {simulator.name!r} at {simulator.url}"]
    lines += _aligned(((f"{label}:", at) for label, at in kind.addresses(simulator).items()), " ")
    for hint in kind.channels(simulator, args):
        lines += ["", f"A hub channel for it, config/channels/{hint.file_name}:"]
        lines += [f"  {line}" for line in hint.body.splitlines()]
        if hint.environment:
            lines.append("with these made-up, loopback-only credentials in the environment:")
            lines += [f"  export {name}={value}" for name, value in hint.environment.items()]
    lines += ["", "Control it (from another terminal):"]
    if kind.sells and not listings:
        lines.append("  (no listings yet: start it with --skus N or --listings FILE.json)")
    commands = [
        (f"{CONTROL} {simulator.url} {command}", why) for command, why in _examples(kind, listings)
    ]
    lines += _aligned(commands, "  # ")
    lines += ["Ctrl-C stops it.", ""]
    return "\n".join(lines)


def _examples(kind: StandaloneKind[Any], listings: Sequence[JSON]) -> list[tuple[str, str]]:
    if not kind.sells:
        return [
            ("parcel --provider ups", "a new label: prints its tracking number"),
            ("advance [TRACKING_NUMBER]", "one step on (all parcels without a number)"),
            ("parcels", "every parcel and its status"),
            ("outcome TRACKING_NUMBER exception", "or returned_to_sender"),
        ]
    sku = str(listings[0].get("sku")) if listings else "SKU"
    return [
        ("stock", "the quantity offered, per SKU"),
        (f"order {sku}:2", "a buyer orders: prints the order id"),
        ("orders", "every order and its status"),
        ("cancel ORDER_ID", "the buyer cancels: the units come back"),
        ("ship ORDER_ID --tracking NUMBER", "the merchant ships what is left"),
    ]


def _aligned(rows: Iterable[tuple[str, str]], separator: str) -> list[str]:
    """``  left<separator>right`` with the rights in one column."""
    chosen = list(rows)
    width = max((len(left) for left, _ in chosen), default=0)
    return [f"  {left:<{width}}{separator}{right}" for left, right in chosen]
