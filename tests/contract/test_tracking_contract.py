"""The contract of tracking-only connectors (carriers), on recorded carrier answers served
over real HTTP, and on every kind of failure a carrier produces."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from omnisync.connectors.base import (
    CAPABILITY_METHODS,
    AuthError,
    Capability,
    Connector,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)
from omnisync.connectors.registry import connector_for
from omnisync.core.dto import TrackingInfo
from omnisync.hub.http_server import ServerRunner
from tests.contract.kits import TRACKING_KITS, TrackingKit


@dataclass
class RecordedCarrier:
    """Answers a kit's recorded payloads; ``failure`` replaces its tracking answers."""

    kit: TrackingKit
    failure: str | None = None

    async def respond(self, request: Request) -> Response:
        path = request.url.path
        if self.failure is not None and path.startswith(self.kit.track_path):
            return await self._fail(self.failure)
        status, body = self.kit.answer(request.method, path, dict(request.query_params))
        return JSONResponse(body, status_code=status)

    async def _fail(self, failure: str) -> Response:
        if failure == "timeout":
            await asyncio.sleep(1.0)
            return JSONResponse({}, status_code=200)
        if failure == "not json":
            return PlainTextResponse("<html>gateway</html>")
        headers = {"Retry-After": "2"} if failure == "429" else None
        return JSONResponse({"errors": [{"code": failure}]}, int(failure), headers=headers)


@pytest.fixture(params=sorted(TRACKING_KITS))
def kit(request: pytest.FixtureRequest) -> TrackingKit:
    return TRACKING_KITS[request.param]


@pytest.fixture
def carrier(kit: TrackingKit) -> Iterator[tuple[RecordedCarrier, str]]:
    recorded = RecordedCarrier(kit)
    app = Router(routes=[Route("/{path:path}", recorded.respond, methods=["GET", "POST"])])
    with ServerRunner(app) as runner:
        yield recorded, runner.url


def test_tracking_kit_types_declare_and_implement_tracking(kit: TrackingKit) -> None:
    cls = connector_for(kit.type)
    assert cls is not None
    assert Capability.TRACKING in cls.capabilities
    for capability in cls.capabilities:
        method = CAPABILITY_METHODS[capability]
        assert getattr(cls, method) is not getattr(Connector, method)


def test_recorded_answers_give_one_result_per_number_in_order(
    kit: TrackingKit, carrier: tuple[RecordedCarrier, str]
) -> None:
    _, url = carrier
    infos = kit.connector(url).track(kit.numbers)
    assert all(isinstance(info, TrackingInfo) for info in infos)
    assert [info.tracking_number for info in infos] == kit.numbers
    assert [info.found for info in infos] == kit.expected_found
    for info in infos:
        if info.found:
            assert info.events
            assert [event.at for event in info.events] == sorted(e.at for e in info.events)
        else:
            assert info.message  # the carrier's words, not a silent miss


FAILURES: list[tuple[str, type[ConnectorError] | None]] = [
    ("429", RateLimited),
    ("500", TransientError),
    ("503", TransientError),
    ("timeout", TransientError),
    ("not json", TransientError),
    ("401", AuthError),
    ("403", AuthError),
    ("400", None),  # the carrier refused: an error, or each number with the carrier's words
]


@pytest.mark.parametrize(("failure", "expected"), FAILURES, ids=[f[0] for f in FAILURES])
def test_failures_become_the_right_errors(
    kit: TrackingKit,
    carrier: tuple[RecordedCarrier, str],
    failure: str,
    expected: type[ConnectorError] | None,
) -> None:
    recorded, url = carrier
    recorded.failure = failure
    connector = kit.connector(url, timeout_seconds=0.3)
    if expected is None:
        outcome: list[TrackingInfo] | PermanentError
        try:
            outcome = connector.track(kit.numbers)
        except PermanentError as error:
            outcome = error
        if isinstance(outcome, PermanentError):
            assert all(secret not in str(outcome) for secret in kit.secrets)
        else:
            assert not any(info.found for info in outcome)
            assert all(info.message for info in outcome)
        return
    with pytest.raises(expected) as raised:
        connector.track(kit.numbers)
    if expected is RateLimited:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == 2.0
    assert all(secret not in str(raised.value) for secret in kit.secrets)


def test_a_carrier_that_cannot_be_reached_is_transient(kit: TrackingKit) -> None:
    with pytest.raises(TransientError):
        kit.connector("http://127.0.0.1:9").track(kit.numbers)
