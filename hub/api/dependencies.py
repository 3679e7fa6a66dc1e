"""What the routes are given, as FastAPI dependencies: the hub, its settings, a
database session, the redaction of bodies, and the checks every /api/v1 route runs.

The app factory puts one `ApiContext` on `app.state`; every dependency reads it from
there, so the routers are plain module-level objects and two apps (two hubs in one
test) never share anything. Sessions close when the route function returns, before
the response is sent (`scope="function"`): a write is committed before the client
hears of it, and a failed commit is answered as an error, never as a success.
"""

from __future__ import annotations

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
from omnisync.core.types import UserRole
from omnisync.core.users import Actor
from omnisync.hub.settings import Settings
from omnisync.hub.views.shapes import json_data
from omnisync.hub.web.identity import API_DISABLED, api_actor, needed_role, refuse_unless
from omnisync.sync.engine import SyncEngine

SettingsSource = Callable[[], Settings | None]
DISABLED = API_DISABLED


@dataclass(frozen=True)
class ApiContext:
    """One hub process as its HTTP app sees it."""

    sync: SyncEngine
    settings: SettingsSource
    """The current settings (a reload applies); None: the REST API stays disabled."""
    scheduler_running: Callable[[], bool] | None
    metrics: CollectorRegistry
    run_now: Callable[[str], list[str]] | None = None
    """The scheduler's "sync now" (Scheduler.run_now) of the process serving; None: no
    scheduler runs in this process, and syncing now is refused."""

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

_bearer = HTTPBearer(
    auto_error=False,
    description="hub.yaml's `http.api_token` (an admin), or a user's own token "
    "(`omnisync users token NAME`), which has that user's role.",
)


def require_token(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The bearer token of every /api/v1 route and the role its method needs (reading:
    viewer; changing: operator). 503 while no token of any kind exists; the actor is kept
    on `request.state.actor` for the routes (`CurrentActor`)."""
    current = context.settings()
    expected = current.hub.http.api_token if current is not None else None
    actor = api_actor(
        request,
        context.sync.database,
        expected.get_secret_value() if expected is not None else None,
        credentials.credentials if credentials is not None else "",
    )
    refuse_unless(actor, needed_role(request.method))
    request.state.actor = actor
    return actor


def current_actor(request: Request) -> Actor:
    actor = getattr(request.state, "actor", None)
    assert isinstance(actor, Actor), "require_token runs before every /api/v1 route"
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
"""Who calls: record what they change under `actor.name`."""


def admin_only(actor: CurrentActor) -> None:
    """Routes for admins alone: users, pausing, resuming and syncing channels."""
    refuse_unless(actor, UserRole.ADMIN)


AdminOnly = Depends(admin_only)


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
