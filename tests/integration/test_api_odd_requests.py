"""Requests a client may send by mistake or malice: no route of the hub's app answers
5xx to odd methods, bodies (empty, not JSON, large, of another content type) or path
values (naming nothing, unicode, NUL, very long), with or without the token; a body
that is not JSON is 400 and JSON that does not validate 422; the webhook route answers
a channel type that takes no webhooks with a one-line 404."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from omnisync.core.catalog import upsert_sku
from omnisync.core.db import transaction
from tests.support.api import ApiHub, api_hub, closed_channels
from tests.support.world import set_count

SHOPIFY = """\
type: shopify
shop: fuzz.myshopify.com
access_token: ${SHOP_TOKEN}
client_secret: ${SHOP_SECRET}
push_location: gid://shopify/Location/1
"""
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND")
BODY_METHODS = ("POST", "PUT", "PATCH")
ODD_VALUES = (
    "nope",
    "ñandú-☃-𝄞",
    "x" * 4000,
    "\x00",
    "99999999999999999999999",
    "²",
    "-1",
    " ",
    "../..",
)
KNOWN_VALUES = {
    "channel_type": ("sandbox", "shopify"),
    "channel": ("sbx", "shop"),
    "sku": ("A", "A/B"),
    "order_id": ("1",),
    "payload_id": ("1",),
}
QUERIES = ("", "?limit=abc&cursor=%ff%fe", "?cursor=" + "A" * 600, "?updated_after=yesterday")
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Body:
    name: str
    content: bytes | None
    content_type: str | None


NO_BODY = Body("none", None, None)
BODIES = (
    Body("empty", b"", "application/json"),
    Body("not json", b"{not json", "application/json"),
    Body("truncated", b'{"sku": "A", "delta"', "application/json"),
    Body("json null", b"null", "application/json"),
    Body("json list", b"[1, 2, 3]", "application/json"),
    Body("nested", b"[" * 5000 + b"]" * 5000, "application/json"),
    Body("binary", bytes(range(256)), "application/octet-stream"),
    Body("form", b"sku=A&delta=1", "application/x-www-form-urlencoded"),
    Body("text json", b'{"sku": "A", "delta": 1}', "text/plain"),
    Body("xml", b"<adjustment><sku>A</sku></adjustment>", "application/xml"),
    Body("nul", b'{"sku": "A\\u0000", "delta": 1, "reason": "\\u0000"}', "application/json"),
    Body(
        "huge",
        json.dumps({"sku": "A" * 100_000, "delta": 1, "reason": "r" * 100_000}).encode(),
        "application/json",
    ),
)


@pytest.fixture
def api(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiHub]:
    monkeypatch.setenv("SHOP_TOKEN", "shpat_fuzz_token")
    monkeypatch.setenv("SHOP_SECRET", "shpss_fuzz_secret")
    channels = {**closed_channels("sbx"), "shop": SHOPIFY}
    with api_hub(tmp_path, migrated_database_url, monkeypatch, channels=channels) as hub:
        with transaction(hub.hub.engine) as session:
            upsert_sku(session, "A")
        set_count(hub.hub.engine, "A", "main", 3)
        yield hub


def concrete_paths(template: str) -> list[str]:
    """The route's path with its parameters set to every combination of known values, and
    with each parameter in turn set to each odd value (the others known)."""
    names = PARAMETER.findall(template)
    known = [KNOWN_VALUES.get(name, ("1",)) for name in names]
    combinations = set(itertools.product(*known))
    for index, _name in enumerate(names):
        for odd in ODD_VALUES:
            values = [choices[0] for choices in known]
            values[index] = odd
            combinations.add(tuple(values))
    return sorted(_fill(template, values) for values in combinations)


def _fill(template: str, values: tuple[str, ...]) -> str:
    parts = iter(quote(value, safe="/") for value in values)
    return PARAMETER.sub(lambda _match: next(parts), template)


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[str]:
    """The path of every route, those of included routers (FastAPI 0.16x nests them) too."""
    for route in routes:
        if isinstance(route, Route):
            yield prefix + route.path
            continue
        if isinstance(route, Mount):  # the console's /static files: no route of ours
            continue
        included: Any = route  # fastapi.routing._IncludedRouter: no public type to name
        yield from route_templates(
            included.original_router.routes, prefix + included.include_context.prefix
        )


def requests_for(path: str) -> Iterator[tuple[str, str, Body]]:
    """(method, URL, body) to send to one path: every method; odd queries on GET; every
    body on POST, a JSON one on PUT and PATCH."""
    for query in QUERIES:
        yield "GET", path + query, NO_BODY
    for method in METHODS:
        if method == "POST":
            yield from ((method, path, body) for body in (NO_BODY, *BODIES))
        elif method != "GET":
            yield method, path, NO_BODY if method not in BODY_METHODS else BODIES[-1]


async def server_errors(app: ASGIApp, paths: list[str], token: str) -> list[str]:
    """Each path's first 5xx answer, with and without the token."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    found = []
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        for path, headers in itertools.product(paths, ({}, {"Authorization": f"Bearer {token}"})):
            for method, url, body in requests_for(path):
                sent = headers | ({"Content-Type": body.content_type} if body.content_type else {})
                response = await client.request(method, url, content=body.content, headers=sent)
                if response.status_code >= 500:
                    token_note = "with" if headers else "without"
                    found.append(
                        f"{method} {url[:100]} [{body.name}, {token_note} token]:"
                        f" {response.status_code} {response.text[:200]}"
                    )
                    break
    return found


@pytest.mark.slow
def test_no_route_answers_5xx_to_anything_a_client_sends(api: ApiHub) -> None:
    app = api.http.app
    assert isinstance(app, FastAPI)
    templates = sorted(set(route_templates(app.routes)))
    documented = api.http.get("/openapi.json").json()["paths"]
    assert {PARAMETER.sub(r"{\1}", path) for path in templates} >= set(documented)
    paths = [path for template in templates for path in concrete_paths(template)]
    found = asyncio.run(server_errors(app, paths, api.token))
    assert not found, "\n".join(found)


def test_a_channel_type_without_webhooks_is_404_in_one_line(api: ApiHub) -> None:
    client = TestClient(api.http.app, raise_server_exceptions=False)
    response = client.post("/webhooks/sandbox/sbx", content=b"{}")
    assert response.status_code == 404
    assert response.json() == {"error": "sandbox channels take no webhooks"}
    unknown = client.post("/webhooks/sandbox/nope", content=b"{}")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no such channel"}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"sku": "A", "delta"', "application/json"),
        (b"sku=A&delta=1", "application/json"),
        (b'{"sku": "A", "delta": 1}', "text/plain"),
        (b'{"sku": "A", "delta": 1}', "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_json_is_400_in_one_line(
    api: ApiHub, content: bytes, content_type: str
) -> None:
    for path in ("/api/v1/stock/adjustments", "/api/v1/orders/1/shipments"):
        headers = api.auth | {"Content-Type": content_type}
        response = api.http.post(path, content=content, headers=headers)
        assert response.status_code == 400, response.text
        message = response.json()["error"]
        assert message.startswith("body is not JSON: ")
        assert "\n" not in message


def test_json_that_does_not_validate_stays_422_naming_the_field(api: ApiHub) -> None:
    response = api.post("/api/v1/stock/adjustments", {"sku": "A", "delta": "many"})
    assert response.status_code == 422
    assert response.json()["error"].startswith("body.delta: ")
    assert api.post("/api/v1/stock/adjustments", [1, 2]).status_code == 422
