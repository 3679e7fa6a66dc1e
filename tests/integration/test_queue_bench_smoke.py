"""b7_workers' pieces that decide its figures, without the hub's processes: the channel
server (bench/queue_server.py) refuses beyond a channel's quota with 429 and Retry-After,
sees two inventory calls of one channel in flight at once, records what it received and
counts the listings behind; the analysis (bench/queue_scale.py) finds when a channel first
held a change, and tells a double orders pull from a retry. The section renders from
figures. The full run is `python -m bench.queue_scale`; no timing is asserted here."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.queue_report import workers_section
from bench.queue_scale import Delivery, Layout, _pulls, channel_server
from bench.runner import MEASURES


def _push(url: str, channel: str, sku: str, quantity: int) -> httpx.Response:
    return httpx.post(
        f"{url}/c/{channel}/api/v1/inventory",
        json={"updates": [{"sku": sku, "quantity": quantity}]},
        timeout=10,
    )


def test_channel_server_quota_overlap_receipts_and_behind(tmp_path: Path) -> None:
    layout = Layout.make(channels=2, skus=4, per_channel=2, seed=1)
    hot, quiet = layout.channels
    sku = layout.listed[hot][0]
    with channel_server(layout, tmp_path, dict(os.environ)) as (url, _pid):
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda n: _push(url, hot, sku, 200 + n), range(20)))
        refused = [a for a in answers if a.status_code == 429]
        accepted = [a for a in answers if a.status_code == 200]
        # A burst of 8 and 4/s: 20 calls at once cannot all pass.
        assert refused
        assert accepted
        assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
        stats = httpx.get(f"{url}/_bench/stats", timeout=10).json()
        assert stats["most_pushing"][hot] > 1  # the calls overlapped, and it saw that
        assert {name for name, _at in stats["overlaps"]} == {hot}
        received = {(r[0], r[1], r[2]) for r in stats["receipts"]}
        sent = {(hot, sku, a.json()["results"][0]["quantity"]) for a in accepted}
        assert received == sent
        # A quantity no one pushed: every listing of those SKUs, on any channel, is behind.
        expected = dict.fromkeys(layout.listed[quiet], 999)
        listing_them = sum(len(set(codes) & set(expected)) for codes in layout.listed.values())
        behind = httpx.post(f"{url}/_bench/behind", json=expected, timeout=10).json()
        assert behind["behind"] == listing_them >= len(layout.listed[quiet])


def test_delivery_finds_the_first_receipt_of_a_change_or_a_later_one() -> None:
    delivery = Delivery([["a", "S1", 101, 10.0], ["a", "S1", 103, 12.0], ["a", "S1", 103, 13.0]])
    assert delivery.first_at_least("a", "S1", 101, 9.0) == 10.0
    assert delivery.first_at_least("a", "S1", 102, 9.0) == 12.0  # coalesced into 103
    assert delivery.first_at_least("a", "S1", 104, 9.0) is None  # lost
    assert delivery.first_at_least("b", "S1", 101, 9.0) is None
    assert delivery.duplicates() == (1, [("a", "S1", 103, 2)])


def test_a_second_successful_pull_within_half_the_period_is_a_double_run() -> None:
    pulls = [
        ["a", 0.0, 200],
        ["a", 61.0, 503],
        ["a", 62.0, 200],  # a retry after a refusal: not a double run
        ["b", 0.0, 200],
        ["b", 5.0, 200],  # twice in one period
    ]
    figures = _pulls(pulls)
    assert figures["double_runs"] == 1
    assert figures["refused"] == 1
    assert figures["shortest_gap_s"] == 5.0


def test_a_pull_run_again_after_its_worker_was_killed_is_not_a_double_run() -> None:
    pulls = [
        ["a", 0.0, 200],  # answered, then its worker was killed
        ["a", 4.0, 200],  # run again once the task was found stalled at 3.5
        ["a", 9.0, 200],  # a second pull in the period: a double run
        ["b", 0.0, 200],
        ["b", 20.0, 200],  # b's task was never found stalled
    ]
    figures = _pulls(pulls, {"a": 3.5})
    assert figures["stalled_runs_again"] == 1
    assert figures["double_runs"] == 2


def test_the_section_renders_and_the_measure_is_registered() -> None:
    result = {
        "workers": 1,
        "warm_up_s": 1.0,
        "burst": {"pushes": 10, "pushes_per_s": 5.0, "drain_s": 2.0},
        "steady": {"changes": 3, "drain_s": 0.5, "pushes": 4, "pushes_per_s": 2.0},
        "change_to_channel_s": {"p50": 0.1, "p95": 2.5, "p99": 3.0, "max": 3.0},
        "changes_per_push": 1.0,
        "most_concurrent_pushes_per_channel": 1,
        "overlapping_pushes": {"whole_run": 0, "after_warm_up": 0},
        "duplicate_quantities": 0,
        "listings_not_final": 0,
        "lost_changes": 0,
        "orders_pulls": {"ok": 2, "channels": 2, "refused": 0, "double_runs": 0},
        "cpu_s": {
            "postgres": 1.0,
            "run": 1.0,
            "workers": 1.0,
            "channel_server": 0.1,
            "this_driver": 0.1,
            "outside_the_benchmark": 0.0,
            "machine_busy_share": 0.5,
            "wall_s": 2.0,
        },
        "connections": {"max": 10, "median": 8},
        "notes": [],
        "light": {
            "changes": 6,
            "offered_s": 2.0,
            "pushes_per_s": 3.0,
            "change_to_channel_s": {"p50": 0.2, "p95": 0.4, "p99": 0.5, "max": 0.6},
            "lost_changes": 0,
        },
    }
    measure = {"channels": 2, "configs": {"single": result, "w1": result}}
    text = "\n".join(workers_section(measure))
    flowing = " ".join(text.split())
    assert "b7_workers" in text
    assert "missed by single process" in flowing  # p95 2.5 s is over the 2 s target
    assert "| 1 worker | 6 | 3.0 | 0.2 | 0.4 | 0.5 | 0.6 | 0 |" in text
    assert "In the light phase (? changes/s), met by single process" in flowing
    assert "b7_workers" in MEASURES
