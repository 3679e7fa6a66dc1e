"""The API docs pages (/docs: Swagger UI, /redoc: ReDoc) load nothing from outside the
machine: every script, stylesheet and icon they name is served by the hub itself from an
installed package, the description they render is the hub's own /openapi.json, and
Swagger UI is told not to send that description to its online validator. The pages and
their assets stay public, like /openapi.json, while /api/v1 keeps asking for the token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiHub, api_hub
from tests.support.databases import sqlite_url

HUB = "http://testserver"
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""", re.IGNORECASE)
CONTENT_TYPES = {
    "script": ("text/javascript", "application/javascript"),
    "stylesheet": ("text/css",),
    "icon": ("image/png", "image/x-icon", "image/vnd.microsoft.icon", "image/svg+xml"),
}


class References(HTMLParser):
    """The URLs a page makes the browser load, each with what it is: scripts' src,
    stylesheets' and icons' href, images' src, and ReDoc's spec-url."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if tag == "script" and "src" in values:
            self.found.append(("script", values["src"]))
        elif tag == "link" and "href" in values:
            rel = values.get("rel", "").lower()
            self.found.append(("stylesheet" if "stylesheet" in rel else "icon", values["href"]))
        elif tag == "img" and "src" in values:
            self.found.append(("icon", values["src"]))
        elif tag == "redoc" and "spec-url" in values:
            self.found.append(("openapi", values["spec-url"]))


def references(page: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(page)
    parser.close()
    return parser.found


def swagger_openapi_url(page: str) -> str:
    match = re.search(r"""\burl:\s*['"]([^'"]+)['"]""", page)
    assert match, page
    return match.group(1)


def assert_only_the_hub(page: str, found: list[tuple[str, str]]) -> None:
    """No absolute URL anywhere in the page (markup or inline script) names another host,
    and every referenced URL resolves to the hub."""
    foreign = [url for url in ABSOLUTE_URL.findall(page) if not url.startswith(HUB + "/")]
    assert not foreign, foreign
    for _kind, url in found:
        assert urlsplit(urljoin(HUB + "/docs", url)).netloc == "testserver", url


def assert_served(http: TestClient, kind: str, url: str) -> None:
    response = http.get(urljoin(HUB + "/docs", url))  # no token: the docs are public
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    assert response.content, url
    media_type = response.headers["content-type"].split(";")[0].strip().lower()
    assert media_type in CONTENT_TYPES[kind], f"{url}: {media_type}"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHub]:
    with api_hub(tmp_path, sqlite_url(tmp_path), monkeypatch) as hub:
        yield hub


def test_swagger_ui_loads_its_assets_from_the_hub_only(api: ApiHub) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    found = references(page.text)
    assert_only_the_hub(page.text, found)
    kinds = {kind for kind, _url in found}
    assert {"script", "stylesheet", "icon"} <= kinds, found
    for kind, url in found:
        assert_served(api.http, kind, url)
    openapi = api.http.get(urljoin(HUB + "/docs", swagger_openapi_url(page.text)))
    assert openapi.status_code == 200
    assert openapi.json()["info"]["title"] == "omnisync"


def test_swagger_ui_sends_the_description_to_no_online_validator(api: ApiHub) -> None:
    page = api.http.get("/docs").text
    # Swagger UI's default validatorUrl is a public service that gets the spec's URL.
    assert re.search(r"""["']?validatorUrl["']?\s*:\s*null""", page), page


def test_redoc_loads_its_script_and_the_description_from_the_hub_only(api: ApiHub) -> None:
    page = api.http.get("/redoc")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    found = references(page.text)
    assert_only_the_hub(page.text, found)
    assert {"script", "openapi"} <= {kind for kind, _url in found}, found
    for kind, url in found:
        if kind == "openapi":
            document = api.http.get(urljoin(HUB + "/redoc", url))
            assert document.status_code == 200
            assert document.json()["info"]["title"] == "omnisync"
        else:
            assert_served(api.http, kind, url)


def test_the_pages_let_the_browser_load_from_the_hub_only(api: ApiHub) -> None:
    """What a script asks for at run time (ReDoc's sidebar logo sits on Redocly's CDN)
    is held back by the page's Content-Security-Policy: no directive names a host."""
    local_sources = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}
    for path in ("/docs", "/redoc"):
        policy = api.http.get(path).headers.get("content-security-policy", "")
        directives = {
            name: sources
            for name, *sources in (part.split() for part in policy.split(";") if part.strip())
        }
        assert "default-src" in directives, (path, policy)
        for name, sources in directives.items():
            assert set(sources) <= local_sources, (path, name, sources)


def test_the_docs_stay_public_while_the_api_asks_for_the_token(api: ApiHub) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert api.http.get(path).status_code == 200, path
    assert api.http.get("/api/v1/orders").status_code == 401


def test_an_asset_the_docs_do_not_name_is_a_json_404(api: ApiHub) -> None:
    page = api.http.get("/docs").text
    script = next(url for kind, url in references(page) if kind == "script")
    folder = urljoin(HUB + "/docs", script).rsplit("/", 1)[0]
    assert urlsplit(folder).netloc == "testserver", folder
    for name in ("nope.js", "..%2F..%2Fpyproject.toml", "%00", "swagger-ui-bundle.js.map"):
        response = api.http.get(f"{folder}/{name}")
        assert response.status_code == 404, name
        assert "error" in response.json()


def test_behind_a_path_prefix_the_docs_name_urls_under_it(api: ApiHub) -> None:
    with TestClient(api.http.app, root_path="/omnisync") as http:
        page = http.get("/docs").text
        found = [*references(page), ("openapi", swagger_openapi_url(page))]
        for _kind, url in found:
            assert urlsplit(url).path.startswith("/omnisync/"), url
