"""b6_console: every page of the web console, timed on a 100,000-SKU catalogue.

`python -m bench.console_pages [--skus N] [--rounds N] [--output PATH] [--no-write]`

A hub is built as `omnisync run` builds it, but without its scheduler: a config folder
with two locations and three sandbox channels whose endpoint is a closed loopback port
(nothing is ever pushed), a migrated SQLite file filled by bench/console_data.py, the
hub's app (create_app) served by its own uvicorn runner on loopback. An httpx client
signs in as the admin through the login form and asks for every page:

- every GET route of the console's routers (hub/web/pages PAGE_ROUTERS, found in the
  app's routes, so a new screen is measured without editing this file; /login and
  /static left out), each path parameter filled with a real id or code chosen by its
  name and the screen it belongs to (the first candidate answering 200 is kept);
- the query variants that matter (`variants`) where their page exists;
- the second page of every list that has one (its `rel="next"` link);
- the live fragments the pages refresh (`data-refresh`), with `X-Omnisync-Fragment: 1`;
- the filtered lists the pages' counts link to (`<a class="count">`), such as late orders.

Each page gets a warm-up request, then up to `rounds` timed ones (p50, p95, max), within
a time budget per page and for the whole run; the status of every request must be 200.
SQL statements are counted and timed per request (their rows' fetching included), and
for a page over 300 ms at p95 the heaviest statements of its last request are kept with
SQLite's EXPLAIN QUERY PLAN of each.

By default the results go to bench/results.json as `b6_console` and docs/benchmarks.md
is written again (bench/report.py); `--output PATH` writes the section to PATH instead
(replacing the section there, or appending it), `--no-write` only prints.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import logging
import os
import platform
import re
import sqlite3
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, event

from bench.console_data import CHANNELS, LOCATIONS, ConsoleWorld, fill_console_world
from bench.process import peak_rss_mb, percentile, run_child
from bench.report_console import SECTION_TITLE, SLOW_MS, console_section, is_slow
from omnisync.hub.api import create_app
from omnisync.hub.bootstrap import bootstrap_with, engine_channels
from omnisync.hub.http_server import ServerRunner
from omnisync.hub.settings import load_settings
from omnisync.hub.web.console import FRAGMENT_HEADER
from omnisync.hub.web.pages import PAGE_ROUTERS
from omnisync.hub.web.passwords import hash_password
from omnisync.sync.engine import SyncEngine

SKUS = 100_000
QUICK_SKUS = 5_000
ROUNDS = 20
QUICK_ROUNDS = 5
WARMUP = 1
PAGE_BUDGET_S = 20.0
"""A page's timed rounds stop once they have taken this long together."""
RUN_BUDGET_S = 900.0
"""Pages not started by then are listed as not measured."""
MAX_PAGES = 300
SHOWN_STATEMENTS = 3
"""A slow page's heaviest statements kept, with their query plans."""
REQUEST_TIMEOUT_S = 120.0
SKIPPED_PATHS = ("/login", "/logout")
"""Signing in and out are not pages to time (and /logout would end the session)."""
CLOSED_PORT_URL = "http://127.0.0.1:9"
"""Nothing listens on the discard port: a push would fail, and none is made."""
SANDBOX_KEY_VARIABLE = "OMNISYNC_BENCH_SANDBOX_KEY"
PASSWORD = "bench console password"  # noqa: S105 (the throwaway hub's own user)

_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
_NEXT_LINK = re.compile(r"<a\b[^>]*\brel=\"next\"[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref=\"([^\"]*)\"")
_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_CLASS = re.compile(r"\bclass=\"([^\"]*)\"")
_REFRESH = re.compile(r"\bdata-refresh=\"([^\"]+)\"")
_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def variants(world: ConsoleWorld) -> list[tuple[str, dict[str, str]]]:
    """(page, query) pairs measured besides the bare pages, where the page exists."""
    return [
        ("/stock", {"q": world.title_word}),
        ("/stock", {"q": world.rare_word}),
        ("/stock", {"q": world.barcode}),
        ("/stock", {"q": world.sku_code}),
        ("/stock", {"low": "1"}),
        ("/orders", {"oversold": "1"}),
        ("/orders", {"ready": "1"}),
        ("/orders", {"channel": world.channel}),
        ("/listings", {"unlinked": "1"}),
        ("/reports", {"days": "90"}),
    ]


# -- the hub -------------------------------------------------------------------------


def write_config(folder: Path) -> Path:
    """hub.yaml with the locations, a sandbox channel file per channel."""
    (folder / "channels").mkdir(parents=True, exist_ok=True)
    locations = "".join(f"  - code: {code}\n" for code in LOCATIONS)
    (folder / "hub.yaml").write_text(f"http:\n  port: 0\nlocations:\n{locations}")
    for name in CHANNELS:
        (folder / "channels" / f"{name}.yaml").write_text(
            textwrap.dedent(
                f"""\
                type: sandbox
                endpoint: {CLOSED_PORT_URL}
                api_key: ${{{SANDBOX_KEY_VARIABLE}}}
                timeout_seconds: 1
                """
            )
        )
    return folder


@dataclass
class ServedConsole:
    url: str
    app: FastAPI
    engine: Engine
    world: ConsoleWorld
    set_up_s: float


@contextmanager
def served_console(folder: Path, skus: int) -> Iterator[ServedConsole]:
    """The hub on a new SQLite file under `folder`, filled, its app served on loopback."""
    started = time.perf_counter()
    config = write_config(folder / "config")
    settings = load_settings(
        config,
        env={SANDBOX_KEY_VARIABLE: "bench-sandbox-key"},
        database_url=f"sqlite:///{folder / 'omnisync.db'}",
    )
    hub = bootstrap_with(settings, create=True)  # migrated, as `omnisync init` leaves it
    try:
        world = fill_console_world(hub.engine, skus, hash_password(PASSWORD))
        sync = SyncEngine(
            hub.engine, engine_channels(settings), secrets=settings.secrets, clock=hub.clock
        )
        try:
            app = create_app(sync, settings=settings, scheduler_running=lambda: False)
            with ServerRunner(app) as server:
                yield ServedConsole(
                    server.url, app, hub.engine, world, round(time.perf_counter() - started, 1)
                )
        finally:
            sync.close()
    finally:
        hub.engine.dispose()


# -- what to ask for -----------------------------------------------------------------


@dataclass
class Answer:
    """What one request got: its status, its text, its size in bytes, how long it took."""

    status: int
    text: str
    size: int
    ms: float


@dataclass
class Target:
    label: str
    """What the table shows: the route's path with its parameters, or the URL asked."""
    url: str
    fragment: bool = False
    first: Answer | None = None
    """The answer to the first request (discovery's), which is the page's warm-up."""


@dataclass(frozen=True)
class PageRoute:
    path: str
    """As the app serves it: the include's prefix and the route's path, `{name}` and
    `{name:convertor}` for its parameters."""
    name: str


def page_routes(app: FastAPI) -> list[PageRoute]:
    """The console's GET pages as the app serves them, in the app's order: the routes of
    the routers in PAGE_ROUTERS, however FastAPI keeps an included router (copied into
    `app.routes`, or kept whole with its include's prefix, as FastAPI 0.16x does), the
    routers' own `include_in_schema=False` included."""
    pages = {id(router) for router in PAGE_ROUTERS}
    endpoints = {
        route.endpoint
        for router in PAGE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    found: list[PageRoute] = []
    for route in app.routes:
        original = getattr(route, "original_router", None)
        if original is not None and id(original) in pages:
            prefix = str(getattr(getattr(route, "include_context", None), "prefix", "") or "")
            found += [
                PageRoute(prefix + inner.path, inner.name)
                for inner in original.routes
                if isinstance(inner, APIRoute) and "GET" in (inner.methods or ())
            ]
        elif (
            isinstance(route, APIRoute)
            and route.endpoint in endpoints
            and "GET" in (route.methods or ())
        ):
            found.append(PageRoute(route.path, route.name))
    return [
        route
        for route in found
        if route.path not in SKIPPED_PATHS and not route.path.startswith("/static")
    ]


def candidates(path: str, parameter: str, world: ConsoleWorld) -> list[str]:
    """Values to try for `parameter` of `path`, the likeliest first: by the parameter's
    name, else by the screen (the path's first segment)."""
    name = parameter.lower()
    screen = path.strip("/").split("/", 1)[0].lower()
    order = [str(world.order_id), world.order_name]
    open_order = [str(world.open_order_id), str(world.order_id)]
    sku = [world.sku_code, str(world.sku_id)]
    channel = [world.channel, str(world.channel_id)]
    listing = [str(world.listing_id), world.unlinked_listing, str(world.unlinked_listing_id)]
    if "link" in path.lower():  # a page to link a listing: an unlinked one first
        listing = [str(world.unlinked_listing_id), world.unlinked_listing, str(world.listing_id)]
    by_name: list[tuple[tuple[str, ...], list[str]]] = [
        (("channel_sku", "listing_key"), [world.unlinked_listing, world.sku_code]),
        (("barcode", "scan"), [world.barcode]),
        (("channel",), channel),
        (("listing",), listing),
        (("return",), [str(world.return_id)]),
        (("pick",), [str(world.pick_list_id)]),
        (("shipment",), [str(world.shipment_id)]),
        (("alert",), [str(world.alert_id)]),
        (("run",), [str(world.run_id)]),
        (("location",), [world.location, str(world.location_id)]),
        (("user",), [world.user, str(world.user_id)]),
        (("order",), open_order if screen in ("pack", "pick") else order),
        (("sku", "code"), sku),
    ]
    for keys, values in by_name:
        if any(key in name for key in keys):
            return values
    by_screen = {
        "orders": order,
        "stock": sku,
        "skus": sku,
        "listings": listing,
        "channels": channel,
        "returns": [str(world.return_id)],
        "pick": [str(world.pick_list_id)],
        "picking": [str(world.pick_list_id)],
        "pack": open_order,
        "packing": open_order,
        "users": [world.user, str(world.user_id)],
        "alerts": [str(world.alert_id)],
        "runs": [str(world.run_id)],
        "shipments": [str(world.shipment_id)],
    }
    return by_screen.get(screen, [*order, *sku, *channel])


def filled_paths(path: str, world: ConsoleWorld) -> list[str]:
    """`path` with its parameters filled, one path per combination of candidates."""
    names = _PARAMETER.findall(path)
    if not names:
        return [path]
    options = [candidates(path, name, world) for name in names]
    filled = []
    for values in itertools.islice(itertools.product(*options), 12):
        parts = _PARAMETER.split(path)  # static text, name, static text, name, ...
        parts[1::2] = values
        filled.append("".join(parts))
    return filled


# -- timing --------------------------------------------------------------------------


class StatementLog:
    """The SQL statements the hub runs (the server's thread and ours share the engine),
    with their durations: a request's are those between `clear` and the next one.

    A statement's time is its execute plus every fetch of its rows: SQLite runs a query
    as its rows are fetched, so a query whose first row comes at once but whose LIMIT
    takes a scan to fill would look free by its execute alone. On SQLite the engine's
    connections are made again with cursors that time their fetches (`do_connect`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.statements: list[list[Any]] = []
        """[seconds, statement, parameters] each."""
        self.started: dict[int, float] = {}
        self.of_cursor: dict[int, list[Any]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "do_connect", self._connect)
            engine.dispose()  # the pooled connections are made again, timing fetches

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        if event.contains(self.engine, "do_connect", self._connect):
            event.remove(self.engine, "do_connect", self._connect)

    def clear(self) -> None:
        with self.lock:
            self.statements = []
            self.of_cursor = {}

    def taken(self) -> list[tuple[float, str, Any]]:
        with self.lock:
            return [
                (seconds, statement, parameters)
                for seconds, statement, parameters in self.statements
            ]

    def fetched(self, cursor: Any, seconds: float) -> None:
        with self.lock:
            entry = self.of_cursor.get(id(cursor))
            if entry is not None:
                entry[0] += seconds

    def _connect(self, dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        connection = dialect.loaded_dbapi.connect(
            *cargs, **{**cparams, "factory": _TimedConnection}
        )
        connection.statement_log = self
        return connection

    def _before(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        self.started[id(cursor)] = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        began = self.started.pop(id(cursor), None)
        if began is not None:
            entry = [time.perf_counter() - began, statement, parameters]
            with self.lock:
                self.statements.append(entry)
                self.of_cursor[id(cursor)] = entry


class _TimedCursor(sqlite3.Cursor):
    """A cursor that tells its connection's StatementLog how long each fetch took."""

    def fetchone(self) -> Any:
        return self._timed(super().fetchone)

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        rows: list[Any] = self._timed(lambda: super(_TimedCursor, self).fetchmany(size))
        return rows

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._timed(super().fetchall)
        return rows

    def _timed(self, fetch: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return fetch()
        finally:
            log = getattr(self.connection, "statement_log", None)
            if log is not None:
                log.fetched(self, time.perf_counter() - start)


class _TimedConnection(sqlite3.Connection):
    statement_log: StatementLog | None = None

    def cursor(self, factory: Any = _TimedCursor) -> Any:
        return super().cursor(factory)


@dataclass
class Measured:
    target: Target
    status: int
    times_ms: list[float] = field(default_factory=list)
    statements: list[tuple[float, str, Any]] = field(default_factory=list)
    size: int = 0
    error: str | None = None

    def row(self) -> dict[str, Any]:
        times = self.times_ms
        sql_ms = sum(duration for duration, _, _ in self.statements) * 1000
        row: dict[str, Any] = {
            "page": self.target.label,
            "url": self.target.url,
            "fragment": self.target.fragment,
            "status": self.status,
            "rounds": len(times),
            "p50_ms": round(percentile(times, 0.5), 1) if times else None,
            "p95_ms": round(percentile(times, 0.95), 1) if times else None,
            "max_ms": round(max(times), 1) if times else None,
            "queries": len(self.statements),
            "sql_ms": round(sql_ms, 1),
            "kb": round(self.size / 1024, 1),
        }
        if self.error:
            row["error"] = self.error
        return row


class Console:
    """A signed-in admin's client of the served console."""

    def __init__(self, served: ServedConsole) -> None:
        self.served = served
        self.http = httpx.Client(
            base_url=served.url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False
        )
        self.log = StatementLog(served.engine)
        self.errors = ServerErrors()

    def close(self) -> None:
        self.errors.close()
        self.log.close()
        self.http.close()

    def sign_in(self, name: str) -> None:
        form = self.http.get("/login", headers={"Accept": "text/html"})
        token = _LOGIN_CSRF.search(form.text)
        if form.status_code != 200 or token is None:
            raise RuntimeError(f"the login form answered {form.status_code} without a token")
        answer = self.http.post(
            "/login",
            data={"name": name, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
            headers={"Accept": "text/html"},
        )
        if answer.status_code != 303:
            raise RuntimeError(f"signing in as {name} answered {answer.status_code}")

    def get(self, target: Target) -> Answer:
        """The page, timed; a connection the server dropped is status 0, and an exception
        the server logged meanwhile is the answer's text."""
        headers = {"Accept": "text/html"}
        if target.fragment:
            headers[FRAGMENT_HEADER] = "1"
        self.log.clear()
        self.errors.clear()
        start = time.perf_counter()
        try:
            response = self.http.get(target.url, headers=headers)
        except httpx.HTTPError as error:
            answer = Answer(0, f"{type(error).__name__}: {error}", 0, 0.0)
        else:
            elapsed = (time.perf_counter() - start) * 1000
            answer = Answer(response.status_code, response.text, len(response.content), elapsed)
        if self.errors.messages and answer.status != 200:
            answer.text = "; ".join(self.errors.messages)
        return answer


class ServerErrors(logging.Handler):
    """The exceptions the served app raised, as one line each (uvicorn logs them on
    `uvicorn.error`), kept from the bench's output and shown with the page they broke."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.logger = logging.getLogger("uvicorn.error")
        self.logger.addHandler(self)
        self.was_propagating = self.logger.propagate
        self.logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.messages.append(f"{type(error).__name__}: {' '.join(str(error).split())}")
        else:
            self.messages.append(record.getMessage())

    def clear(self) -> None:
        self.messages = []

    def close(self) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self.was_propagating
        super().close()


def discover(console: Console, world: ConsoleWorld) -> tuple[list[Target], list[str]]:
    """Every target, each asked for once (the first warm-up): the routes' pages, the query
    variants, then the next pages and fragments those pages link to. Returns the targets
    and the variants without a page.

    A path keeps the first filling that answers 200. When none does, and no live
    fragment the pages refresh matches it (`/fragments/home/{part}` is measured through
    the fragments the home page names), the last filling tried is measured, and fails."""
    routes = page_routes(console.served.app)
    targets: list[Target] = []
    pages: dict[str, str] = {}

    def ask(target: Target) -> int:
        target.first = answer = console.get(target)
        pages[target.url] = answer.text if answer.status == 200 else ""
        return answer.status

    for route in routes:
        if not _PARAMETER.search(route.path):
            ask(target := Target(route.path, route.path))
            targets.append(target)
    paths = {route.path for route in routes}
    absent = []
    for path, query in variants(world):
        url = f"{path}?{urlencode(query)}"
        if path not in paths:
            absent.append(url)
            continue
        ask(target := Target(url, url))
        targets.append(target)
    unfilled: list[tuple[PageRoute, Target]] = []
    for route in routes:
        if not _PARAMETER.search(route.path):
            continue
        for url in filled_paths(route.path, world):
            target = Target(route.path, url)
            if ask(target) == 200:
                targets.append(target)
                break
        else:
            unfilled.append((route, target))
    found: list[Target] = []
    for target in list(targets):
        text = pages.get(target.url, "")
        following = _next_page(text)
        if following and following not in pages:
            found.append(Target(f"{target.label} → next page", following))
            pages[following] = ""
        for fragment in _REFRESH.findall(text):
            url = html.unescape(fragment)
            known = next((t for t in targets + found if t.url == url), None)
            if known is not None:
                known.fragment = True
            else:
                found.append(Target(f"{_path(url)} (fragment)", url, fragment=True))
                pages[url] = ""
    for route, target in unfilled:
        pattern = _route_pattern(route.path)
        if not any(pattern.fullmatch(_path(other.url)) for other in found if other.fragment):
            targets.append(target)  # measured, and reported as failing
    for target in found:
        ask(target)
    counted = []
    for target in targets + found:  # counts link to filtered lists: those too
        for url in _count_links(pages.get(target.url, "")):
            if url not in pages and _path(url) in paths:
                ask(counted_list := Target(url, url))
                counted.append(counted_list)
    return (targets + found + counted)[:MAX_PAGES], absent


def _route_pattern(path: str) -> re.Pattern[str]:
    """A regular expression for the paths `path` (with `{name}` parameters) serves."""
    parts = re.split(r"({[^}]+})", path)
    pattern = ""
    for part in parts:
        if part.startswith("{"):
            convertor = part[1:-1].partition(":")[2]
            pattern += {"path": ".+", "int": r"\d+"}.get(convertor, "[^/]+")
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _count_links(page: str) -> list[str]:
    """The links of the page's counts (macros.html `count_link`: `<a class="count ...">`),
    without their `#part`, each once."""
    links: list[str] = []
    for tag in _ANCHOR.findall(page):
        classes = _CLASS.search(tag)
        href = _HREF.search(tag)
        if classes and href and "count" in classes.group(1).split():
            url = html.unescape(href.group(1)).split("#", 1)[0]
            if url and url not in links:
                links.append(url)
    return links


def _next_page(page: str) -> str | None:
    link = _NEXT_LINK.search(page)
    if link is None:
        return None
    href = _HREF.search(link.group(0))
    return html.unescape(href.group(1)) if href else None


def _path(url: str) -> str:
    return urlsplit(url).path or url


def measure_target(console: Console, target: Target, rounds: int, budget_s: float) -> Measured:
    answer = target.first or console.get(target)  # the warm-up
    result = Measured(target, answer.status, size=answer.size)
    if answer.status != 200:
        result.error = _short(answer.text)
        return result
    spent = 0.0
    while len(result.times_ms) < rounds and spent < budget_s:
        answer = console.get(target)
        result.times_ms.append(answer.ms)
        spent += answer.ms / 1000
        if answer.status != 200:
            result.status = answer.status
            result.error = _short(answer.text)
            break
    result.statements = console.log.taken()
    return result


def _short(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())[:200]


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of a statement the page ran, as indented lines."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters if parameters else ()
            ).all()
    except Exception as error:  # a plan is a help, not the measure
        return [f"(no plan: {type(error).__name__})"]
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


# -- the measure ---------------------------------------------------------------------


def measure(
    skus: int,
    rounds: int,
    *,
    page_budget_s: float = PAGE_BUDGET_S,
    run_budget_s: float = RUN_BUDGET_S,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="omnisync-bench-console-") as folder,
        served_console(Path(folder), skus) as served,
    ):
        console = Console(served)
        try:
            console.sign_in(served.world.user)
            targets, absent = discover(console, served.world)
            measured: list[Measured] = []
            not_measured: list[str] = []
            deadline = time.monotonic() + run_budget_s
            for target in targets:
                if time.monotonic() > deadline:
                    not_measured.append(target.label)
                    continue
                result = measure_target(console, target, rounds, page_budget_s)
                measured.append(result)
                if progress:
                    progress(_progress_line(result))
        finally:
            console.close()
        rows = []
        for result in measured:
            row = result.row()
            if is_slow(row):
                row["slowest"] = [
                    {
                        "ms": round(seconds * 1000, 1),
                        "sql": " ".join(statement.split()),
                        "plan": explain(served.engine, statement, parameters),
                    }
                    for seconds, statement, parameters in _heaviest(result.statements)
                ]
            rows.append(row)
        world = served.world
    return {
        "skus": skus,
        "rows": world.rows,
        "rounds": rounds,
        "warmup": WARMUP,
        "page_budget_s": page_budget_s,
        "set_up_s": served.set_up_s,
        "wall_s": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cores": os.cpu_count(),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": peak_rss_mb(),
        "pages": rows,
        "slow": [row["page"] for row in rows if is_slow(row)],
        "failed": [row["page"] for row in rows if row["status"] != 200],
        "not_measured": not_measured,
        "variants": [f"{path}?{urlencode(query)}" for path, query in variants(world)],
        "absent_variants": absent,
    }


def _heaviest(statements: list[tuple[float, str, Any]]) -> list[tuple[float, str, Any]]:
    """The statements that took most of a request's SQL time: up to SHOWN_STATEMENTS of
    them, each a tenth of the total at least."""
    total = sum(seconds for seconds, _, _ in statements)
    ordered = sorted(statements, key=lambda statement: -statement[0])
    return [item for item in ordered[:SHOWN_STATEMENTS] if item[0] >= total / 10]


def _progress_line(result: Measured) -> str:
    row = result.row()
    mark = " SLOW" if is_slow(row) else ""
    fail = "" if row["status"] == 200 else f" FAILED {row['status']}"
    return (
        f"{row['page']}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, max {row['max_ms']} ms,"
        f" {row['queries']} queries{mark}{fail}"
    )


def table(result: dict[str, Any]) -> str:
    """The results as printed: one line per page, the slow and failed ones marked."""
    width = max([len(page["page"]) for page in result["pages"]] + [4])
    lines = [
        f"Console pages on a {result['skus']:,}-SKU catalogue "
        f"(Python {result['python']}, SQLite {result['sqlite']}, {result['cores']} cores, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        f"{'page':<{width}}  status  rounds   p50 ms   p95 ms   max ms  queries   sql ms",
    ]
    for page in result["pages"]:
        mark = f"  SLOW (over {SLOW_MS:g} ms at p95)" if is_slow(page) else ""
        if page["status"] != 200:
            mark = f"  FAILED: {page.get('error', '')}"
        lines.append(
            f"{page['page']:<{width}}  {page['status']:>6}  {page['rounds']:>6}  "
            f"{_ms(page['p50_ms'])}  {_ms(page['p95_ms'])}  {_ms(page['max_ms'])}  "
            f"{page['queries']:>7}  {_ms(page['sql_ms'])}{mark}"
        )
    for label in result["not_measured"]:
        lines.append(f"{label:<{width}}  not measured")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return f"{value:>7.1f}" if value is not None else f"{'-':>7}"


def write_section(result: dict[str, Any], output: Path, run: dict[str, Any]) -> None:
    """The section in `output`: the one there replaced (up to the next `## `), else added
    at the end. `run` is the run's commit, date and machine, as bench/report.py keeps them."""
    measure_row = {**result, "run": run}
    section = "\n".join(console_section(measure_row)).rstrip() + "\n"
    text = output.read_text() if output.exists() else ""
    start = _section_start(text)
    if start is None:
        joined = (text.rstrip() + "\n\n" if text.strip() else "") + section
    else:
        end = text.find("\n## ", start + 1)
        rest = "" if end < 0 else text[end + 1 :]
        joined = text[:start] + section + ("\n" + rest if rest else "")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(joined)


def _section_start(text: str) -> int | None:
    heading = SECTION_TITLE.split("{", 1)[0]
    index = text.find(heading)
    return None if index < 0 else index


def _run_stamp() -> dict[str, Any]:
    from bench.report import commit, machine

    return {
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }


def run(quick: bool) -> dict[str, Any]:
    """The measure as `python -m bench` runs it: in a child process of its own."""
    skus, rounds = (QUICK_SKUS, QUICK_ROUNDS) if quick else (SKUS, ROUNDS)
    return run_child("bench.console_pages", "--skus", str(skus), "--rounds", str(rounds), "--json")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__)
    parser.add_argument("--skus", type=int, default=SKUS, help="catalogue size (default 100,000)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed rounds per page")
    parser.add_argument("--output", type=Path, help="write the section to this file instead")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--budget", type=float, default=RUN_BUDGET_S, help="seconds for all pages' rounds"
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.skus < 20 or args.rounds < 1:
        parser.error("--skus takes at least 20, --rounds at least 1")
    result = measure(
        args.skus,
        args.rounds,
        run_budget_s=args.budget,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.json:  # for bench/runner.py: the table on stderr, the figures last on stdout
        print(table(result), file=sys.stderr)
        print(json.dumps(result))
        return result
    print(table(result))
    if args.output is not None:
        write_section(result, args.output, _run_stamp())
        print(f"written: {args.output}")
    elif not args.no_write:
        from bench.report import DOC, write_results

        write_results({"b6_console": result})
        print(f"written: {DOC}")
    return result


if __name__ == "__main__":
    main()
