"""b7_workers' channel server: one loopback HTTP server that plays many `sandbox` channels.

`python -m bench.queue_server --channels FILE --port-file FILE [--seed N]`

FILE (JSON) is {channel name: {sku: quantity}}. Each channel's connector points its
`endpoint` at `http://127.0.0.1:PORT/c/<channel>`, so it speaks the sandbox marketplace's
`/api/v1` (orders, listings, inventory) under that prefix. Every request waits 30-100 ms;
each channel has a token-bucket quota (429 with Retry-After when spent); 1% of the
requests that pass the quota answer 503 before doing anything.

The server records what the benchmark measures, read at `GET /_bench/stats`
(`/_bench/counts` the status counts only; `POST /_bench/behind` {sku: quantity} how many
listings hold another quantity): every
quantity it received (channel, sku, quantity, time), the updates per inventory call, the
most inventory calls in flight at once for any one channel, and each orders pull (first
page only) with its time and status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

LATENCY = (0.03, 0.1)
"""Seconds each API request takes, uniformly."""
QUOTA_RATE = 4.0
"""Requests per second each channel allows (a token bucket)..."""
QUOTA_BURST = 8.0
"""... holding this many."""
ERROR_SHARE = 0.01
"""Requests within the quota answered 503."""


@dataclass
class ChannelState:
    listings: dict[str, int]
    tokens: float = QUOTA_BURST
    refilled: float = field(default_factory=time.monotonic)
    pushing: int = 0

    def admit(self) -> float:
        """0.0 when the quota has room (a token is spent), else the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(QUOTA_BURST, self.tokens + (now - self.refilled) * QUOTA_RATE)
        self.refilled = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / QUOTA_RATE


class ChannelServer:
    def __init__(self, listings: dict[str, dict[str, int]], seed: int) -> None:
        self.channels = {name: ChannelState(dict(skus)) for name, skus in listings.items()}
        self.random = random.Random(seed)  # noqa: S311 - simulated latency and faults
        self.receipts: list[tuple[str, str, int, float]] = []
        self.batches: list[int] = []
        self.pulls: list[tuple[str, float, int]] = []
        self.most_pushing: dict[str, int] = defaultdict(int)
        self.overlaps: list[tuple[str, float]] = []
        self.statuses: dict[str, int] = defaultdict(int)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/c/{channel}/api/v1/orders", self.orders, methods=["GET"]),
                Route("/c/{channel}/api/v1/listings", self.listings, methods=["GET"]),
                Route("/c/{channel}/api/v1/inventory", self.inventory, methods=["POST"]),
                Route("/_bench/stats", self.stats, methods=["GET"]),
                Route("/_bench/counts", self.counts, methods=["GET"]),
                Route("/_bench/behind", self.behind, methods=["POST"]),
            ]
        )

    async def _refusal(self, request: Request, endpoint: str) -> Response | None:
        """Wait the request's latency; a refusal (unknown channel, 429, 503) or None."""
        await asyncio.sleep(self.random.uniform(*LATENCY))
        state = self.channels.get(request.path_params["channel"])
        if state is None:
            return self._answer(endpoint, {"error": "not_found"}, 404)
        wait = state.admit()
        if wait:
            headers = {"Retry-After": str(max(1, round(wait + 0.5)))}
            return self._answer(endpoint, {"error": "rate_limited"}, 429, headers)
        if self.random.random() < ERROR_SHARE:
            return self._answer(endpoint, {"error": "unavailable"}, 503)
        return None

    def _answer(
        self, endpoint: str, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        self.statuses[f"{endpoint} {status}"] += 1
        return JSONResponse(body, status_code=status, headers=headers)

    async def orders(self, request: Request) -> Response:
        first_page = "page_token" not in request.query_params
        refused = await self._refusal(request, "orders")
        status = 200 if refused is None else refused.status_code
        if first_page:
            self.pulls.append((request.path_params["channel"], time.time(), status))
        if refused is not None:
            return refused
        return self._answer("orders", {"orders": [], "next_page_token": None})

    async def listings(self, request: Request) -> Response:
        refused = await self._refusal(request, "listings")
        if refused is not None:
            return refused
        state = self.channels[request.path_params["channel"]]
        items = [
            {"id": f"L-{sku}", "sku": sku, "title": sku, "quantity": quantity, "barcode": None}
            for sku, quantity in sorted(state.listings.items())
        ]
        return self._answer("listings", {"listings": items, "next_page_token": None})

    async def inventory(self, request: Request) -> Response:
        name = request.path_params["channel"]
        state = self.channels.get(name)
        if state is not None:
            state.pushing += 1
            self.most_pushing[name] = max(self.most_pushing[name], state.pushing)
            if state.pushing > 1:
                self.overlaps.append((name, time.time()))
        try:
            refused = await self._refusal(request, "inventory")
            if refused is not None:
                return refused
            assert state is not None
            updates = (await request.json())["updates"]
            now = time.time()
            results = []
            for update in updates:
                sku, quantity = update["sku"], int(update["quantity"])
                state.listings[sku] = quantity
                self.receipts.append((name, sku, quantity, now))
                results.append({"sku": sku, "status": "ok", "quantity": quantity})
            self.batches.append(len(updates))
            return self._answer("inventory", {"results": results})
        finally:
            if state is not None:
                state.pushing -= 1

    async def counts(self, request: Request) -> Response:
        return JSONResponse({"statuses": self.statuses, "batches": len(self.batches)})

    async def behind(self, request: Request) -> Response:
        """POST {sku: quantity}: how many listings hold another quantity than asked."""
        expected = await request.json()
        behind = sum(
            1
            for state in self.channels.values()
            for sku, quantity in state.listings.items()
            if quantity != expected.get(sku, quantity)
        )
        return JSONResponse({"behind": behind})

    async def stats(self, request: Request) -> Response:
        return JSONResponse(
            {
                "receipts": self.receipts,
                "batches": self.batches,
                "pulls": self.pulls,
                "most_pushing": self.most_pushing,
                "overlaps": self.overlaps,
                "statuses": self.statuses,
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue_server", description=__doc__)
    parser.add_argument("--channels", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    server = ChannelServer(json.loads(args.channels.read_text()), args.seed)
    config = uvicorn.Config(
        server.app(), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    runner = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(runner.serve())
        while not runner.started:
            await asyncio.sleep(0.05)
        port = runner.servers[0].sockets[0].getsockname()[1]
        args.port_file.write_text(str(port))
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
