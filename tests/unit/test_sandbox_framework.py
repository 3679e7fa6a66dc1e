"""The sandbox framework pieces: token bucket, fault queue, clocks, server runner."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omnisync.hub.http_server import ServerError, ServerRunner
from omnisync.sandbox.clock import (
    ManualClock,
    ManualTimer,
    MonotonicStamper,
    SystemClock,
    isoformat,
    parse_iso,
)
from omnisync.sandbox.faults import HTTP_FAULTS, ORDER_PAGE_FAULTS, Fault, FaultQueue
from omnisync.sandbox.marketplace import SandboxMarketplace
from omnisync.sandbox.ratelimit import TokenBucket, format_retry_after

# token bucket -------------------------------------------------------------------


def test_bucket_allows_the_burst_then_says_how_long_to_wait():
    clock = ManualTimer(100.0)
    bucket = TokenBucket(rate=4, burst=3, monotonic=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [None, None, None]
    assert bucket.try_acquire() == pytest.approx(0.25)
    assert bucket.remaining() == 0
    clock.advance(0.25)
    assert bucket.try_acquire() is None
    assert bucket.try_acquire() == pytest.approx(0.25)


def test_bucket_refills_up_to_the_burst_only():
    clock = ManualTimer(100.0)
    bucket = TokenBucket(rate=10, burst=2, monotonic=clock)
    bucket.drain()
    clock.advance(60)
    assert bucket.remaining() == 2


def test_refused_acquire_takes_nothing_and_cost_counts():
    clock = ManualTimer(100.0)
    bucket = TokenBucket(rate=1, burst=5, monotonic=clock)
    assert bucket.try_acquire(cost=4) is None
    assert bucket.try_acquire(cost=3) == pytest.approx(2.0)
    assert bucket.remaining() == 1


def test_scale_runs_the_same_limit_faster():
    clock = ManualTimer(100.0)
    bucket = TokenBucket(rate=2, burst=1, scale=10, monotonic=clock)
    assert bucket.try_acquire() is None
    assert bucket.try_acquire() == pytest.approx(0.05)
    assert bucket.describe() == "20/s burst 1"


def test_bucket_configure_keeps_tokens_within_the_new_burst():
    clock = ManualTimer(100.0)
    bucket = TokenBucket(rate=1, burst=10, monotonic=clock)
    bucket.configure(burst=3, rate=2.5)
    assert bucket.remaining() == 3
    assert bucket.describe() == "2.5/s burst 3"
    with pytest.raises(ValueError, match="rate"):
        bucket.configure(rate=0)


def test_bucket_is_thread_safe():
    bucket = TokenBucket(rate=0.001, burst=500, monotonic=ManualTimer())
    granted: list[int] = []

    def worker() -> None:
        granted.extend(1 for _ in range(200) if bucket.try_acquire() is None)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 500


def test_retry_after_is_rounded_up_to_the_millisecond():
    assert format_retry_after(0.35) == "0.35"
    assert format_retry_after(0.3501) == "0.351"
    assert format_retry_after(2) == "2"
    assert format_retry_after(0) == "0.001"


# fault queue -----------------------------------------------------------------------


def test_faults_come_out_in_order_and_are_used_up():
    queue = FaultQueue()
    queue.inject("orders", "500", count=2)
    queue.inject("orders", 429, seconds=0.5)
    assert queue.take("orders") == Fault("500")
    assert queue.take("orders") == Fault("500")
    assert queue.take("orders") == Fault("429", 0.5)
    assert queue.take("orders") is None


def test_star_matches_every_endpoint_and_others_match_their_own():
    queue = FaultQueue()
    queue.inject("inventory", "500")
    queue.inject("*", "slow")
    assert queue.take("listings") == Fault("slow", 1.0)
    assert queue.take("listings") is None
    assert queue.take("inventory") == Fault("500")


def test_a_fault_waits_for_a_handler_that_can_apply_it():
    queue = FaultQueue()
    queue.inject("*", "stale_update")
    assert queue.take("listings", HTTP_FAULTS) is None
    assert queue.pending() == [
        {"endpoint": "*", "kind": "stale_update", "count": 1, "seconds": None}
    ]
    assert queue.take("orders", ORDER_PAGE_FAULTS) == Fault("stale_update")


def test_fault_defaults_and_validation():
    queue = FaultQueue()
    assert queue.inject("x", "429") == Fault("429", 1.0)
    assert queue.inject("x", "timeout") == Fault("timeout", 30.0)
    with pytest.raises(ValueError, match="unknown fault kind"):
        queue.inject("x", "explode")
    with pytest.raises(ValueError, match="count"):
        queue.inject("x", "500", count=0)
    queue.clear()
    assert queue.pending() == []


# clocks -----------------------------------------------------------------------------


def test_stamper_is_strictly_increasing_on_a_frozen_clock():
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    stamper = MonotonicStamper(ManualClock(start))
    stamps = [stamper.stamp() for _ in range(3)]
    assert stamps == [start + timedelta(microseconds=n) for n in range(3)]
    stamper.observe(start + timedelta(hours=1))
    assert stamper.stamp() == start + timedelta(hours=1, microseconds=1)


def test_manual_clock_ticks_and_advances():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(start, tick=timedelta(seconds=1))
    assert clock.now() == start
    assert clock.now() == start + timedelta(seconds=1)
    clock.advance(timedelta(days=1))
    assert clock.now() == start + timedelta(days=1, seconds=2)


def test_a_manual_clocks_monotonic_counts_every_step_forward_and_only_those():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(start, tick=timedelta(seconds=1))
    assert clock.monotonic() == 0.0
    assert clock.monotonic() == 0.0  # reading it moves nothing
    clock.now()  # a tick is time going by
    assert clock.monotonic() == 1.0
    clock.advance(timedelta(seconds=0.25))
    assert clock.monotonic() == 1.25
    clock.set(start)  # the wall time stepped back: elapsed seconds stand
    assert clock.monotonic() == 1.25
    clock.set(start + timedelta(seconds=3))
    assert clock.monotonic() == 4.25


def test_the_system_clock_is_utc_and_time_monotonic():
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_a_simulators_rate_limit_refills_on_the_clock_it_was_made_with():
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    market = SandboxMarketplace(rate=2, burst=4, clock=clock)
    market.limiter.drain()
    assert market.limiter.remaining() == 0
    clock.advance(timedelta(seconds=1))
    assert market.limiter.remaining() == 2
    clock.now()  # reading the time (a stamp, a report) refills nothing
    assert market.limiter.remaining() == 2


def test_iso_format_is_utc_with_microseconds():
    moment = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    assert isoformat(moment) == "2026-11-22T11:00:00.000000+00:00"
    assert parse_iso("2026-11-22T12:00:00+01:00") == moment
    assert parse_iso("2026-11-22T11:00:00Z") == moment


# server runner ------------------------------------------------------------------------


def _app(label: str) -> Starlette:
    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"label": label, "thread": threading.current_thread().name})

    return Starlette(routes=[Route("/", hello)])


def test_runner_starts_on_a_free_port_and_answers():
    with ServerRunner(_app("one")) as runner:
        assert runner.url.startswith("http://127.0.0.1:")
        body = httpx.get(runner.url + "/").json()
        assert body["label"] == "one"
        assert body["thread"] != threading.current_thread().name
    assert not runner.running


def test_two_servers_run_at_once_on_different_ports():
    with ServerRunner(_app("one")) as first, ServerRunner(_app("two")) as second:
        assert first.port != second.port
        assert httpx.get(first.url).json()["label"] == "one"
        assert httpx.get(second.url).json()["label"] == "two"


def test_stop_frees_the_port():
    runner = ServerRunner(_app("one"))
    runner.start()
    with httpx.Client() as client:
        assert client.get(runner.url).status_code == 200  # leaves a keep-alive open
        port = runner.port
        runner.stop()
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/")
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
        probe.listen()
    finally:
        probe.close()


def test_a_restarted_runner_takes_its_port_back():
    runner = ServerRunner(_app("one"))
    url = runner.start()
    runner.stop()
    assert runner.start() == url
    assert httpx.get(url).status_code == 200
    runner.stop()
    runner.stop()  # stopping twice is harmless


def test_a_busy_port_fails_in_start():
    with ServerRunner(_app("one")) as runner:
        clash = ServerRunner(_app("two"), port=runner.port)
        with pytest.raises(OSError, match="in use"):
            clash.start()
        with pytest.raises(ServerError):
            _ = clash.url


def test_the_listener_is_made_for_tcp_so_responses_skip_the_delayed_ack():
    # A listener made without proto=IPPROTO_TCP gets no TCP_NODELAY from asyncio on the
    # sockets it accepts, and every response then waits ~40 ms for a delayed ACK on
    # Linux. The latency itself is a benchmark's business; here, the cause.
    with ServerRunner(_app("one")) as runner:
        listener = runner._socket
        assert listener is not None
        assert listener.proto == socket.IPPROTO_TCP
        assert httpx.get(runner.url + "/").json()["label"] == "one"
