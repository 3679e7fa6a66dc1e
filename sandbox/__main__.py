"""``python -m omnisync.sandbox [KIND] [options]``: one simulator, standalone;
``python -m omnisync.sandbox control URL COMMAND``: drive a running one.

KIND is ``marketplace`` (the default: ``python -m omnisync.sandbox --port 8701 --token T`` runs
the ``sandbox`` marketplace, as it always did), ``shopify``, ``amazon``, ``ebay`` or
``carriers`` (:mod:`sandbox.standalone_kinds`). Each prints its URL on stdout, and on
stderr a hub channel for it and how to control it (:mod:`sandbox.standalone`); the
``control`` commands are in :mod:`sandbox.control_client`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence

from omnisync.sandbox import control_client
from omnisync.sandbox.standalone import add_parser, serve
from omnisync.sandbox.standalone_kinds import DEFAULT_KIND, KINDS

EXAMPLES = """\
examples:
  python -m omnisync.sandbox shopify --port 8702 --skus 5
  python -m omnisync.sandbox control http://127.0.0.1:8702 order SKU-001:2
  python -m omnisync.sandbox control http://127.0.0.1:8702 stock
  python -m omnisync.sandbox --port 8701 --token T    (the marketplace, as before)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m omnisync.sandbox",
        description="Run one simulator on loopback, or control a running one.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for kind in KINDS.values():
        served = add_parser(commands, kind)
        served.set_defaults(run=functools.partial(serve, parser=served))
    control_client.add_parser(commands)
    return parser


def with_default_kind(argv: Sequence[str]) -> list[str]:
    """No sub-command (only options, or nothing): the marketplace, as before sub-commands."""
    chosen = list(argv)
    known = {*KINDS, "control", "-h", "--help"}
    if not chosen or chosen[0] not in known:
        return [DEFAULT_KIND, *chosen]
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_default_kind(sys.argv[1:] if argv is None else argv))
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
