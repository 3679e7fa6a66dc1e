"""b5_oversell's order stream: one seeded sequence of buyers on 4 channels, the same for
every replay, so the replays differ only in how the hub hears of sales and pushes.

8 simulated hours by default: buyers arrive at random (Poisson, BUYERS_PER_HOUR), a
fifth of them after scarce SKUs (1 to 5 units), the rest after plenty; and bursts (a
drop, a mention) send 3 to 6 buyers on different channels after one scarce SKU within
4 minutes, each burst on a scarce SKU no burst had before. A buyer may be refused by
the channel it buys on (it shows too few); that is decided by the replay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEED = 8
HOURS = 8.0
CHANNELS = 4
SKUS = 200
SCARCE = 80
SCARCE_UNITS = (1, 5)
PLENTY_UNITS = (20, 60)
BUYERS_PER_HOUR = 30.0
SCARCE_SHARE = 0.2
BURSTS_PER_HOUR = 8.0
BURST_BUYERS = (3, 6)
BURST_WINDOW_S = 240.0


@dataclass(frozen=True, order=True)
class Sale:
    at: float
    """Seconds of simulated time from the start of the stream."""
    channel: int
    sku: str
    quantity: int
    burst: int = -1
    """Which burst the buyer belongs to (-1: none)."""


@dataclass(frozen=True)
class OrderStream:
    seed: int
    seconds: float
    channels: int
    stock: dict[str, int]
    """Units on hand per SKU at the start (one location)."""
    scarce: tuple[str, ...]
    sales: tuple[Sale, ...]
    """Buyers in time order; each may be refused by a channel that shows too few."""


def generate_stream(seed: int = SEED, *, hours: float = HOURS) -> OrderStream:
    rnd = random.Random(seed)  # noqa: S311 (a reproducible stream, not secrets)
    codes = [f"B5-{n:04d}" for n in range(SKUS)]
    scarce = codes[:SCARCE]
    stock = {
        code: rnd.randint(*SCARCE_UNITS) if code in scarce else rnd.randint(*PLENTY_UNITS)
        for code in codes
    }
    span = hours * 3600
    sales: list[Sale] = []
    at = rnd.expovariate(BUYERS_PER_HOUR / 3600)
    while at < span:
        sku = rnd.choice(scarce) if rnd.random() < SCARCE_SHARE else rnd.choice(codes)
        quantity = 1 if sku in scarce or rnd.random() < 0.9 else 2
        sales.append(Sale(at, rnd.randrange(CHANNELS), sku, quantity))
        at += rnd.expovariate(BUYERS_PER_HOUR / 3600)
    at = rnd.expovariate(BURSTS_PER_HOUR / 3600)
    for burst, burst_sku in enumerate(rnd.sample(scarce, len(scarce))):
        if at >= span:
            break
        channels = rnd.sample(range(CHANNELS), CHANNELS)  # different channels first
        for index in range(rnd.randint(*BURST_BUYERS)):
            moment = min(at + rnd.uniform(0, BURST_WINDOW_S), span)
            sales.append(Sale(moment, channels[index % CHANNELS], burst_sku, 1, burst))
        at += rnd.expovariate(BURSTS_PER_HOUR / 3600)
    return OrderStream(seed, span, CHANNELS, stock, tuple(scarce), tuple(sorted(sales)))
