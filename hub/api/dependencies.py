"""What the routes are given, as FastAPI dependencies: the hub, its settings, a
database session, the redaction of bodies, and the checks every /api/v1 route runs.

The app factory puts one `ApiContext` on `app.state`; every dependency reads it from
there, so the routers are plain module-level objects and two apps (two hubs in one
test) never share anything. Sessions close when the route function returns, before
the response is sent (`scope="function"`): a write is committed before the client
hears of it, and a failed commit is answered as an error, never as a success.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from omnisync.core.db import transaction
from omnisync.core.redaction import redact_data
from omnisync.hub.settings import Settings
from omnisync.hub.views.shapes import json_data
from omnisync.sync.engine import SyncEngine

SettingsSource = Callable[[], Settings | None]
DISABLED = "the REST API is disabled until http.api_token is set in hub.yaml"
API_RESOLVER = "api"
"""`resolved_by` of what is resolved through the API (its one token has no name)."""


@dataclass(frozen=True)
class ApiContext:
    """One hub process as its HTTP app sees it."""

    sync: SyncEngine
    settings: SettingsSource
    """The current settings (a reload applies); None: the REST API stays disabled."""
    scheduler_running: Callable[[], bool] | None
    metrics: CollectorRegistry

    def secrets(self) -> frozenset[str]:
        current = self.settings()
        return self.sync.secrets | (current.secrets if current is not None else frozenset())


def api_context(request: Request) -> ApiContext:
    context = request.app.state.omnisync
    assert isinstance(context, ApiContext)
    return context


Context = Annotated[ApiContext, Depends(api_context)]


def sync_engine(context: Context) -> SyncEngine:
    return context.sync


Hub = Annotated[SyncEngine, Depends(sync_engine)]


def configured(context: Context) -> Settings:
    current = context.settings()
    if current is None:  # the token check answered 503 already; this keeps mypy informed
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DISABLED)
    return current


Config = Annotated[Settings, Depends(configured)]


def read_session(sync: Hub) -> Iterator[Session]:
    with transaction(sync.database, read_only=True) as session:
        yield session


def write_session(sync: Hub) -> Iterator[Session]:
    with transaction(sync.database) as session:
        yield session


Reading = Annotated[Session, Depends(read_session, scope="function")]
Writing = Annotated[Session, Depends(write_session, scope="function")]
"""One transaction for the whole route, committed when it returns."""


@dataclass(frozen=True)
class Redactor:
    """A body as JSON, with every configured secret value masked, whatever row it
    might have slipped into."""

    secrets: frozenset[str]

    def __call__(self, body: object) -> Any:
        return redact_data(json_data(body), self.secrets)


def redactor(context: Context, _settings: Config) -> Redactor:
    return Redactor(context.secrets())


Clean = Annotated[Redactor, Depends(redactor)]

_bearer = HTTPBearer(auto_error=False, description="The `http.api_token` of hub.yaml.")


def require_token(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The bearer token of every /api/v1 route: 503 while none is configured."""
    current = context.settings()
    expected = current.hub.http.api_token if current is not None else None
    if expected is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DISABLED)
    given = credentials.credentials if credentials is not None else ""
    # Compared as bytes in constant time: how far a guess matches must not show.
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token" if given else "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def reject_unknown_query(request: Request) -> None:
    """A misspelt filter (`?chanel=shop`) would silently widen a list: refuse it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "; ".join(f"query.{name}: not a parameter of this route" for name in unknown),
        )
