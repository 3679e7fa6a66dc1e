"""``python -m sandbox.amazon_standalone --port 8702``: one Amazon simulator, standalone.

Prints the SP-API endpoint on stdout, and on stderr the LWA URL, seller id and the
simulator's (made-up, loopback-only) LWA credentials to configure a channel with.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sandbox.amazon import DEFAULT_SELLER_ID, AmazonSimulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.amazon_standalone",
        description="Run one simulated Amazon seller account (SP-API and LWA).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seller-id", default=DEFAULT_SELLER_ID)
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument("--orders-lag", type=float, default=120.0, help="seconds (Amazon: 120)")
    parser.add_argument("--feed-delay", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--listings", type=Path, help="a JSON file with [{sku, asin?, productType?, quantity?}]"
    )
    args = parser.parse_args(argv)
    sim = AmazonSimulator(
        seller_id=args.seller_id,
        rate_scale=args.rate_scale,
        orders_lag=timedelta(seconds=args.orders_lag),
        feed_delay=args.feed_delay,
        host=args.host,
        port=args.port,
    )
    if args.listings is not None:
        sim.add_listings(json.loads(args.listings.read_text()))
    url = sim.start()

    def announce() -> None:
        print(url, flush=True)
        credentials = sim.credentials
        print(
            f"amazon: SP-API {sim.endpoint}, LWA {sim.lwa_url}, seller {sim.seller_id}, "
            f"marketplace {sim.marketplace_id}\n"
            f"  lwa_app_id={credentials.client_id}\n"
            f"  lwa_client_secret={credentials.client_secret}\n"
            f"  refresh_token={credentials.refresh_token}\n"
            f"state: {url}/_simulator/state; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )

    sim.serve_until_interrupted(announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
