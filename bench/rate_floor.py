"""The floor of a propagation: how soon channels' published rate limits alone would let
each change through, with no hub and no time spent on calls (b3_propagation).

Each channel is a token bucket (`Limit`), full at the start. A push is wanted at the
moment of its change; a call goes out as soon as the bucket holds the call's cost,
and carries every push wanted by then, oldest first, up to the channel's batch size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """A channel's published limit as the floor model plays it."""

    per_second: float
    burst: float
    cost: float
    """What one call takes from the bucket."""
    per_call: int
    """How many quantities one call carries."""


def floor_send_times(wanted_at: Sequence[float], limit: Limit) -> list[float]:
    """When a client with no overhead could have each push accepted: calls go out as
    soon as the bucket (full at the start) holds their cost, each carrying every push
    wanted by then, oldest first, up to `per_call`."""
    order = sorted(range(len(wanted_at)), key=lambda index: wanted_at[index])
    sent = [0.0] * len(wanted_at)
    tokens, last_call = limit.burst, None
    position = 0
    while position < len(order):
        start = wanted_at[order[position]]
        if last_call is not None:
            start = max(start, last_call)
            tokens = min(limit.burst, tokens + (start - last_call) * limit.per_second)
        if tokens < limit.cost:
            start += (limit.cost - tokens) / limit.per_second
            tokens = limit.cost
        tokens -= limit.cost
        last_call = start
        carried = 0
        while (
            position < len(order)
            and carried < limit.per_call
            and wanted_at[order[position]] <= start
        ):
            sent[order[position]] = start
            position += 1
            carried += 1
    return sent


def floor_delays(
    committed: Sequence[tuple[str, float]], limits: Mapping[str, Limit]
) -> list[float]:
    """Per change (the channel it came from, when it was committed): seconds until the
    last of the other channels could have accepted it, by `floor_send_times`."""
    done = [t0 for _, t0 in committed]
    for channel, limit in limits.items():
        wanted = [index for index, (origin, _) in enumerate(committed) if origin != channel]
        sent = floor_send_times([committed[index][1] for index in wanted], limit)
        for index, moment in zip(wanted, sent, strict=True):
            done[index] = max(done[index], moment)
    return [finish - t0 for finish, (_, t0) in zip(done, committed, strict=True)]
