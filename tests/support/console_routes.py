"""Every route of the console and of /api/v1, found on the app itself (a page added later
is tested without an edit here), with real values for their path parameters, and a
snapshot of every table to prove that a refused request changed nothing.

- `seed_everything(engine)`: seed_console_world plus what the other pages need to show
  something: a shipped order with a return, a pick list, an open alert, a quarantined
  body, a failed run.
- `console_routes(app, method)`, `api_routes(app)`: the routes, by method.
- `fill(path, values)`: a route's path with each `{parameter}` replaced.
- `crawl(client, starts, app)`: every console page reachable by links from `starts`.
- `snapshot(engine)`: every row of every table.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel
from sqlmodel import select as sql_select
from starlette.routing import compile_path

from omnisync.core.alerting import open_alert, quarantine_payload
from omnisync.core.channels import channel_by_name
from omnisync.core.db import transaction
from omnisync.core.models import Listing, Order
from omnisync.core.picking import create_pick_list
from omnisync.core.return_state import ChannelReturns
from omnisync.core.returns import create_return
from omnisync.core.types import OrderStatus, SyncRunStatus
from omnisync.sync.runs import finish_run, start_run
from tests.support.console import ConsoleClient, seed_console_world
from tests.support.world import ingest, make_order

PAGES_MODULE = "omnisync.hub.web.pages"
NOT_PAGES: tuple[str, ...] = ("/static", "/api/", "/logout", "/login", "/docs", "/redoc")
NOT_PAGES += ("/openapi", "/metrics", "/webhooks", "/healthz", "/readyz")
_LINK = re.compile(r'(?:href|data-refresh)="(/[^"#]*)')
PER_KIND = 2
"""Pages crawled per route and set of query parameters (per live part): filters and pages
of a list are the same code once they have been seen twice."""
MAX_PAGES = 250


@dataclass(frozen=True)
class Seeded:
    """Real values for path parameters, by name."""

    values: dict[str, str]

    def fill(self, path: str, *, user: str = "otto") -> str:
        """`path` with every `{name}` or `{name:convertor}` replaced; `{name}` under
        /users is a user (`user`), elsewhere a channel."""
        values = dict(self.values)
        values["name"] = user if path.startswith("/users") else values["channel"]

        def value(found: re.Match[str]) -> str:
            name = found.group(1)
            return values.get(name, "1")

        return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def seed_everything(engine: Engine, channel: str = "shop") -> Seeded:
    """seed_console_world, a shipped order `1004` (A x1) with a return of it, a pick list
    at main, an open alert, a quarantined body and a failed run of `channel`."""
    seed_console_world(engine, channel)
    ingest(engine, channel, make_order("1004", [("A", 1)], minutes=4, status=OrderStatus.SHIPPED))
    with transaction(engine) as session:
        shipped = session.exec(sql_select(Order).where(Order.external_id == "1004")).one()
        returned = create_return(session, shipped, {"A": 1}, ChannelReturns(), reason="too big")
        picked = create_pick_list(session, "main")
        channel_id = channel_by_name(session, channel).id
        alert = open_alert(session, "consecutive_failures", channel_id, f"{channel} failed 3 times")
        payload = quarantine_payload(session, channel_id, "order", '{"id": "X9"}', "no lines")
        order = session.exec(sql_select(Order).where(Order.external_id == "1001")).one()
        unlinked = session.exec(sql_select(Listing).where(Listing.channel_sku == "NEW-1")).one()
    assert channel_id is not None
    run = start_run(engine, channel_id, "orders")
    finish_run(engine, run, SyncRunStatus.FAILED, Counter(), "boom")
    values = {
        "order_id": str(order.id),
        "sku": "A",
        "location": "main",
        "listing_id": str(unlinked.id),
        "listing": "A",
        "channel": channel,
        "return_id": str(returned.id),
        "pick_list_id": str(picked.pick_list.id if picked.pick_list else 1),
        "alert_id": str(alert.id),
        "payload_id": str(payload.id),
        "part": "backlog",
    }
    return Seeded(values)


@dataclass(frozen=True)
class Route:
    """A route of the app as a request finds it: its full path (prefixes included), its
    methods and the route as declared (its endpoint, its own dependencies)."""

    path: str
    methods: frozenset[str]
    declared: APIRoute

    @property
    def regex(self) -> re.Pattern[str]:
        return compile_path(self.path)[0]


def app_routes(app: object) -> list[Route]:
    """Every APIRoute of the app (a FastAPI app, as TestClient.app gives it), whether
    FastAPI keeps included routers flat (before 0.16x) or nested (`iter_route_contexts`)."""
    assert isinstance(app, FastAPI), app
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: app.routes holds the included routes
        return [
            Route(route.path, frozenset(route.methods or ()), route)
            for route in app.routes
            if isinstance(route, APIRoute)
        ]
    found = []
    for context in iter_route_contexts(app.routes):
        declared = context.original_route
        if isinstance(declared, APIRoute) and context.path is not None:
            found.append(Route(context.path, frozenset(context.methods or ()), declared))
    return found


def console_routes(app: object, method: str) -> list[Route]:
    """The console's routes (hub/web/pages) that answer `method`."""
    return [
        route
        for route in app_routes(app)
        if route.declared.endpoint.__module__.startswith(PAGES_MODULE) and method in route.methods
    ]


def api_routes(app: object) -> list[tuple[str, Route]]:
    """(method, route) of every /api/v1 route."""
    return [
        (method, route)
        for route in app_routes(app)
        if route.path.startswith("/api/v1")
        for method in sorted(route.methods)
    ]


def route_of(path: str, routes: Iterable[Route]) -> Route | None:
    for route in routes:
        if route.regex.match(path):
            return route
    return None


@dataclass
class Crawl:
    """What `crawl` saw: each page's URL and its answer, and the route it belongs to."""

    pages: dict[str, Any] = field(default_factory=dict)
    """URL -> httpx.Response."""
    routes: dict[str, str] = field(default_factory=dict)
    """URL -> the route's path."""


def crawl(client: ConsoleClient, starts: Iterable[str], app: object) -> Crawl:
    """Every console page reachable from `starts` by the links (and live parts) of the
    pages, as `client` sees them; at most PER_KIND pages per route and query parameters,
    MAX_PAGES in all. Live parts are fetched as console.js fetches them."""
    routes = console_routes(app, "GET")
    seen = Crawl()
    kinds: Counter[tuple[str, frozenset[str]]] = Counter()
    queue = list(dict.fromkeys(starts))
    while queue and len(seen.pages) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        route = route_of(parts.path, routes)
        if url in seen.pages or route is None or parts.path.startswith(NOT_PAGES):
            continue
        fragment = parts.path.startswith("/fragments/")
        # Each live part is its own code; other pages of one route share theirs.
        kind = (parts.path if fragment else route.path, frozenset(_query_names(parts.query)))
        if kinds[kind] >= PER_KIND:
            continue
        kinds[kind] += 1
        if fragment:
            response = client.http.get(
                url, headers={"X-Omnisync-Fragment": "1"}, follow_redirects=False
            )
        else:
            response = client.get(url)
        seen.pages[url] = response
        seen.routes[url] = route.path
        if response.status_code == 200:
            queue.extend(html.unescape(link) for link in _LINK.findall(response.text))
    return seen


def _query_names(query: str) -> list[str]:
    return [pair.split("=", 1)[0] for pair in query.split("&") if pair]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary key order."""
    with Session(engine) as session:
        return {
            table.name: [
                tuple(row)
                for row in session.execute(select(table).order_by(*table.primary_key.columns)).all()
            ]
            for table in SQLModel.metadata.sorted_tables
        }


def path_parameters(route: Route) -> list[str]:
    return re.findall(r"\{(\w+)", route.path)


__all__ = [
    "Crawl",
    "Route",
    "Seeded",
    "api_routes",
    "app_routes",
    "console_routes",
    "crawl",
    "path_parameters",
    "route_of",
    "seed_everything",
    "snapshot",
]
