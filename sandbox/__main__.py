"""``python -m sandbox --port 8701 --token T``: one sandbox marketplace, standalone."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.marketplace import SandboxMarketplace


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Run one simulated 'sandbox' marketplace."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="sandbox-token")
    parser.add_argument("--name", default="sandbox")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument(
        "--listings",
        type=Path,
        help="a JSON file with [{sku, title, quantity, price?}, ...] to start with",
    )
    args = parser.parse_args(argv)

    market = SandboxMarketplace(
        args.token,
        name=args.name,
        rate=args.rate,
        burst=args.burst,
        rate_scale=args.rate_scale,
        host=args.host,
        port=args.port,
    )
    if args.listings is not None:
        market.set_listings(json.loads(args.listings.read_text()))
    url = market.start()

    def announce() -> None:
        print(url, flush=True)
        print(
            f"{args.name}: API {url}/api/v1, control {url}/_sandbox/state; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )

    market.serve_until_interrupted(announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
