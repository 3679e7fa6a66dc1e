"""What every simulated marketplace shares: lifecycle, throttling, faults, counters.

A concrete marketplace (``sandbox``, later Shopify and Amazon) subclasses
:class:`SimulatedMarketplace`, keeps its state under ``self._lock``, builds its
ASGI app in :meth:`build_app`, says how a request authenticates in
:meth:`is_authorised`, and starts each API handler with :meth:`admit`, which
counts the request and answers for it when it is unauthorised, throttled or
faulted. The error bodies are hooks, so each simulator can speak its channel's
dialect.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, TypedDict, Unpack

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from omnisync.hub.http_server import DEFAULT_HOST, ServerError, ServerRunner
from omnisync.sandbox.clock import Clock, MonotonicStamper, SystemClock
from omnisync.sandbox.faults import HTTP_FAULTS, Fault, FaultQueue
from omnisync.sandbox.ratelimit import TokenBucket, format_retry_after
from omnisync.sandbox.served import Served

JSON = dict[str, Any]

PAUSE_SLICE_S = 0.05


class Serving(TypedDict, total=False):
    """The keywords of :class:`SimulatedMarketplace` that a simulator takes as they are
    and passes on: its name, token bucket, clock and address (``**serving:
    Unpack[Serving]``, then :func:`serving_with` its own defaults)."""

    name: str
    rate: float
    burst: int
    rate_scale: float
    clock: Clock | None
    host: str
    port: int


def serving_with(given: Serving, **defaults: Unpack[Serving]) -> Serving:
    """``given`` over a simulator's own ``defaults`` (the base class has the rest)."""
    return {**defaults, **given}


class SimulatedMarketplace(Served):
    """A stateful fake channel served over real HTTP on loopback (a context manager:
    :class:`Served`)."""

    type: ClassVar[str]

    def __init__(
        self,
        *,
        name: str,
        rate: float,
        burst: int,
        rate_scale: float = 1.0,
        clock: Clock | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.stamper = MonotonicStamper(self.clock)
        # Rate limits measure time on the simulator's clock (a test passes a ManualClock
        # and steps it); fault pauses (slow, timeout) stay on real time: they are about
        # the network, and a client's timeout measures them in real seconds.
        self.limiter = TokenBucket(rate, burst, scale=rate_scale, monotonic=self.clock.monotonic)
        self.faults = FaultQueue()
        # One lock for the whole state of this marketplace: handlers (uvicorn's
        # thread) and control calls (any thread) both take it.
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._requests: Counter[str] = Counter()
        self._responses_429 = 0
        self._faults_served: Counter[str] = Counter()
        self._host, self._port = host, port
        self._runner: ServerRunner | None = None
        self._app: ASGIApp | None = None

    # lifecycle --------------------------------------------------------------

    @abstractmethod
    def build_app(self) -> ASGIApp:
        """The ASGI app serving this marketplace (called once, through :attr:`app`)."""

    @property
    def app(self) -> ASGIApp:
        """The marketplace's ASGI app, built on first use: what ``start`` serves on
        loopback, and what a test drives in-process (Starlette's ``TestClient``) when the
        network is not the point. Both see the same state."""
        with self._lock:
            if self._app is None:
                self._app = self.build_app()
            return self._app

    def start(self) -> str:
        """Serve on loopback; returns the base URL once the server answers.

        After a ``stop()``, ``start()`` serves the same state again, on the same
        port when it is still free.
        """
        with self._lock:
            if self._runner is None:
                self._runner = ServerRunner(self.app, host=self._host, port=self._port)
                self._runner.before_stop.append(self._closing.set)
            runner = self._runner
        self._closing.clear()
        return runner.start()

    def serve_until_interrupted(self, announce: Callable[[], None] | None = None) -> None:
        """Call `announce` (say where the server is), then block until Ctrl-C, and stop (for
        the command-line entry points). A Ctrl-C that comes while announcing stops too."""
        try:
            if announce is not None:
                announce()
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()

    @property
    def url(self) -> str:
        return self._started_runner().url

    @property
    def port(self) -> int:
        return self._started_runner().port

    @property
    def running(self) -> bool:
        return self._runner is not None and self._runner.running

    def _started_runner(self) -> ServerRunner:
        if self._runner is None:
            raise ServerError(f"marketplace {self.name!r} is not started")
        return self._runner

    # control ----------------------------------------------------------------

    def inject(
        self, endpoint: str, kind: str | int, count: int = 1, seconds: float | None = None
    ) -> None:
        """Queue ``count`` faults of ``kind`` for ``endpoint`` (``"*"``: every endpoint)."""
        self.faults.inject(endpoint, kind, count, seconds)

    def set_rate_limit(
        self, *, rate: float | None = None, burst: int | None = None, scale: float | None = None
    ) -> None:
        self.limiter.configure(rate=rate, burst=burst, scale=scale)

    def reset(self) -> None:
        """Forget all state, queued faults and counters; refill the rate limiter."""
        with self._lock:
            self.faults.clear()
            self.limiter.refill()
            self._requests.clear()
            self._responses_429 = 0
            self._faults_served.clear()
            self._reset_state()

    @abstractmethod
    def _reset_state(self) -> None:
        """Forget the marketplace's own state (called under the lock)."""

    def traffic(self) -> JSON:
        """Request counts per endpoint, 429s served, faults served, faults queued."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "responses_429": self._responses_429,
                "faults_served": dict(self._faults_served),
                "faults_pending": self.faults.pending(),
            }

    # request pipeline -------------------------------------------------------

    @abstractmethod
    def is_authorised(self, request: Request) -> bool:
        """Whether the request carries valid credentials."""

    async def admit(self, request: Request, endpoint: str) -> Response | None:
        """Count the request, then authenticate, throttle and apply any HTTP fault.

        Returns the response to send instead of the normal one, or None to go on.
        An unauthenticated request is refused before it costs a token.
        """
        with self._lock:
            self._requests[endpoint] += 1
        if not self.is_authorised(request):
            return self.unauthorised_response()
        wait = self.limiter.try_acquire()
        if wait is not None:
            self._count_429()
            return self.rate_limited_response(wait)
        fault = self.faults.take(endpoint, HTTP_FAULTS)
        if fault is None:
            return None
        with self._lock:
            self._faults_served[fault.kind] += 1
        return await self.apply_http_fault(fault)

    async def apply_http_fault(self, fault: Fault) -> Response | None:
        seconds = fault.seconds or 0.0
        if fault.kind == "429":
            self._count_429()
            return self.rate_limited_response(seconds)
        if fault.kind == "500":
            return self.server_error_response()
        if fault.kind == "503":
            return self.service_unavailable_response()
        if fault.kind == "malformed_json":
            return self.malformed_json_response()
        await self.pause(seconds)  # slow and timeout: late, then normal
        return None

    async def pause(self, seconds: float) -> None:
        """Sleep without blocking the server; cut short when the server stops."""
        deadline = time.monotonic() + seconds
        while not self._closing.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(PAUSE_SLICE_S, left))

    def rate_limit_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": self.limiter.describe(),
            "X-RateLimit-Remaining": str(self.limiter.remaining()),
        }

    def _count_429(self) -> None:
        with self._lock:
            self._responses_429 += 1

    # responses (override to speak a channel's dialect) ------------------------

    def json_response(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A JSON API response, with the rate limit headers every API answer carries."""
        all_headers = {**self.rate_limit_headers(), **(headers or {})}
        return JSONResponse(body, status_code=status, headers=all_headers)

    def unauthorised_response(self) -> Response:
        return self.json_response({"error": "unauthorized"}, 401)

    def rate_limited_response(self, wait_s: float) -> Response:
        return self.json_response(
            {"error": "rate_limited"}, 429, {"Retry-After": format_retry_after(wait_s)}
        )

    def server_error_response(self) -> Response:
        return self.json_response({"error": "internal_error"}, 500)

    def service_unavailable_response(self) -> Response:
        return self.json_response({"error": "service_unavailable"}, 503)

    def malformed_json_response(self) -> Response:
        return Response(
            b'{"error": "this body is cut sh',
            status_code=200,
            media_type="application/json",
            headers=self.rate_limit_headers(),
        )
